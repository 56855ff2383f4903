/**
 * Soak (`npm run bench:soak`): not a timed test, a durability check under load with crashes.
 *
 * A built nestbox runs as a child process on 127.0.0.1 (simulated driver, its own temporary data dir).
 * CLIENTS clients (each one keep-alive connection, SigV4-signed EC2 Query requests) loop for DURATION
 * seconds over a mix of RunInstances (each with its own ClientToken), DescribeInstances of their own
 * instances, CreateTags on them and Stop/StartInstances (and TerminateInstances of its oldest once a client
 * has 20, so the vCPU quota is never reached). KILLS times during the run the server gets
 * SIGKILL and is started again on the same data dir and port; clients retry through the outage, and a
 * launch or tag write whose answer they did not get is sent again — a launch with the same ClientToken.
 *
 * Afterwards every instance is read back (AWS SDK, paginated) and checked:
 *   acknowledged-then-lost   a launch or tag write the server answered 200 that is not found (must be 0)
 *   duplicates               instances beyond one per ClientToken (must be 0)
 * and it reports requests answered, p50/p99 latency of answered requests, errors by code, and the
 * server's RSS at start and at the end. Exit status 1 when anything acknowledged was lost or duplicated.
 *
 * Options: --clients N (20)  --duration-s N (60)  --kills N (2)  --sim-delay-ms N (200)
 *          --max-launches-per-client N (150)
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2Client, type Instance, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { Ec2QueryClient, type QueryParams } from './http.js';
import { quantile, readFlags } from './options.js';
import { ensureBuilt, freePort } from './servers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const AMI = 'ami-0b5e4a1f2c3d40001';

interface Options {
  clients: number;
  durationS: number;
  kills: number;
  simDelayMs: number;
  maxLaunchesPerClient: number;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { clients: 20, durationS: 60, kills: 2, simDelayMs: 200, maxLaunchesPerClient: 150 };
  readFlags(argv, (r) => {
    switch (r.flag) {
      case '--clients': o.clients = Math.min(r.int(), 500); break;
      case '--duration-s': o.durationS = Math.min(r.int(), 3600); break;
      case '--kills': o.kills = Math.min(r.int(0), 20); break;
      case '--sim-delay-ms': o.simDelayMs = r.int(0); break;
      case '--max-launches-per-client': o.maxLaunchesPerClient = r.int(); break;
      default:
        throw new Error(`unknown option ${r.flag}`);
    }
  });
  return o;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the server -----------------------------------------------------------------------------------

class Server {
  child: ChildProcess | undefined;
  private tail = '';
  readonly endpoint: string;
  constructor(
    readonly port: number,
    readonly dataDir: string,
    readonly simDelayMs: number,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'dist', 'cli', 'main.js'),
        'serve',
        '--host', '127.0.0.1',
        '--port', String(this.port),
        '--data-dir', this.dataDir,
        '--driver', 'simulated',
        '--sim-delay-ms', String(this.simDelayMs),
        '--quiet',
      ],
      { cwd: ROOT, env: { ...process.env, NESTBOX_ACCESS_KEY_ID: 'test', NESTBOX_SECRET_ACCESS_KEY: 'test' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (c: Buffer) => {
      this.tail = (this.tail + c.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nestbox exited (${child.exitCode ?? child.signalCode}):\n${this.tail}`);
      try {
        const r = await fetch(`${this.endpoint}/_health`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`nestbox did not answer within 30 s:\n${this.tail}`);
      await sleep(50);
    }
  }

  /** kill -9, and wait for the process to be gone. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    if (await Promise.race([gone.then(() => false), sleep(5000).then(() => true)])) {
      child.kill('SIGKILL');
      await Promise.race([gone, sleep(2000)]);
    }
  }

  rssMiB(): number {
    const pid = this.child?.pid;
    if (pid === undefined) return Number.NaN;
    try {
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      return kb === undefined ? Number.NaN : Number(kb) / 1024;
    } catch {
      return Number.NaN;
    }
  }
}

// --- the clients ----------------------------------------------------------------------------------

interface Stats {
  answered: number;
  retries: number;
  /** re-sent calls by action (a launch re-sent carries the same ClientToken) */
  resent: Map<string, number>;
  latencies: number[];
  errors: Map<string, number>;
}

const countError = (s: Stats, code: string) => s.errors.set(code, (s.errors.get(code) ?? 0) + 1);

/** Tag writes per (instance, key): the last value acknowledged, and values sent after it without an answer. */
interface TagExpectation {
  acked: string | undefined;
  unacked: Set<string>;
}

interface ClientState {
  readonly n: number;
  /** ClientToken → the instance ID the server acknowledged */
  readonly launches: Map<string, string>;
  /** ClientTokens sent whose answer never came (the run ended first) */
  readonly unanswered: Set<string>;
  readonly running: Map<string, boolean>;
  /** instances not yet terminated, oldest first (kept to LIVE_PER_CLIENT so the vCPU quota is never reached) */
  readonly live: string[];
  readonly tags: Map<string, TagExpectation>;
}

const SERVER_ERROR = /^5\d\d$/;
const LIVE_PER_CLIENT = 20;

/**
 * One call, retried through outages (no connection, a reset, 5xx) until it is answered with anything
 * else or `stopAt` passes: the answer, or undefined when none came.
 */
async function callRetrying(
  client: Ec2QueryClient,
  stats: Stats,
  action: string,
  params: QueryParams,
  stopAt: number,
): Promise<{ status: number; body: string } | undefined> {
  let attempt = 0;
  for (;;) {
    try {
      const r = await client.call(action, params);
      stats.answered++;
      stats.latencies.push(r.ms);
      if (r.status === 200) return r;
      const code = /<Code>([^<]*)<\/Code>/.exec(r.body)?.[1] ?? `HTTP ${r.status}`;
      countError(stats, `${action}: ${code}`);
      if (!SERVER_ERROR.test(String(r.status))) return r;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      countError(stats, `(no answer) ${code}`);
    }
    if (Date.now() > stopAt) return undefined;
    stats.retries++;
    stats.resent.set(action, (stats.resent.get(action) ?? 0) + 1);
    attempt++;
    await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
  }
}

async function clientLoop(c: ClientState, endpoint: string, stats: Stats, o: Options, endAt: number): Promise<void> {
  const client = new Ec2QueryClient(endpoint);
  // a launch or tag write in flight at the end may keep retrying a little past it
  const retryUntil = endAt + 5000;
  let seq = 0;
  try {
    while (Date.now() < endAt) {
      seq++;
      const own = c.live;
      const pick = Math.random();
      if (own.length === 0 || (pick < 0.25 && c.launches.size < o.maxLaunchesPerClient)) {
        if (own.length >= LIVE_PER_CLIENT) {
          // the oldest goes first (it stays visible, terminated, and is still checked)
          const oldest = own[0] as string;
          const r = await callRetrying(client, stats, 'TerminateInstances', { 'InstanceId.1': oldest }, endAt);
          if (r?.status === 200) own.shift();
          continue;
        }
        const token = `soak-${c.n}-${seq}`;
        const r = await callRetrying(client, stats, 'RunInstances', { ImageId: AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ClientToken: token }, retryUntil);
        const id = r?.status === 200 ? /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(r.body)?.[1] : undefined;
        if (id) {
          c.launches.set(token, id);
          c.running.set(id, true);
          c.live.push(id);
        } else if (!r) c.unanswered.add(token);
      } else if (pick < 0.6) {
        const ids = own.slice(-5);
        const params: Record<string, string> = {};
        ids.forEach((id, i) => (params[`InstanceId.${i + 1}`] = id));
        await callRetrying(client, stats, 'DescribeInstances', params, endAt);
      } else if (pick < 0.8) {
        const id = own[Math.floor(Math.random() * own.length)] as string;
        const key = `k${seq % 4}`;
        const value = `c${c.n}-s${seq}`;
        const slot = `${id}\n${key}`;
        const exp = c.tags.get(slot) ?? { acked: undefined, unacked: new Set<string>() };
        c.tags.set(slot, exp);
        const r = await callRetrying(client, stats, 'CreateTags', { 'ResourceId.1': id, 'Tag.1.Key': key, 'Tag.1.Value': value }, retryUntil);
        if (r?.status === 200) {
          exp.acked = value;
          exp.unacked.clear();
        } else if (!r) exp.unacked.add(value);
      } else {
        const id = own[Math.floor(Math.random() * own.length)] as string;
        const running = c.running.get(id) ?? true;
        const r = await callRetrying(client, stats, running ? 'StopInstances' : 'StartInstances', { 'InstanceId.1': id }, endAt);
        if (r?.status === 200) c.running.set(id, !running);
        else if (r && /IncorrectInstanceState/.test(r.body)) c.running.set(id, !running);
      }
    }
  } finally {
    client.close();
  }
}

// --- the check ------------------------------------------------------------------------------------

async function readBack(endpoint: string): Promise<Instance[]> {
  const sdk = new EC2Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    const all: Instance[] = [];
    for await (const page of paginateDescribeInstances({ client: sdk, pageSize: 1000 }, { MaxResults: 1000 })) {
      for (const r of page.Reservations ?? []) all.push(...(r.Instances ?? []));
    }
    return all;
  } finally {
    sdk.destroy();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const log = (s: string) => process.stdout.write(`${s}\n`);
  ensureBuilt(ROOT, log);
  const dataDir = mkdtempSync(join(tmpdir(), 'nestbox-soak-'));
  const server = new Server(await freePort(), dataDir, o.simDelayMs);
  const cleanup = () => {
    server.child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    await server.start();
    log(`soak: ${o.clients} clients for ${o.durationS} s against ${server.endpoint} (data dir ${dataDir}), ${o.kills} × kill -9`);
    const rssStart = server.rssMiB();
    const stats: Stats = { answered: 0, retries: 0, resent: new Map(), latencies: [], errors: new Map() };
    const started = Date.now();
    const endAt = started + o.durationS * 1000;
    const clients: ClientState[] = Array.from({ length: o.clients }, (_, n) => ({
      n,
      launches: new Map(),
      unanswered: new Set(),
      running: new Map(),
      live: [],
      tags: new Map(),
    }));
    const loops = clients.map((c) => clientLoop(c, server.endpoint, stats, o, endAt));

    const killLog: string[] = [];
    const killer = (async () => {
      for (let k = 1; k <= o.kills; k++) {
        await sleep(Math.max(0, started + (o.durationS * 1000 * k) / (o.kills + 1) - Date.now()));
        const rss = server.rssMiB();
        await server.kill9();
        const down = Date.now();
        await server.start();
        killLog.push(`kill -9 #${k} at ${((down - started) / 1000).toFixed(1)} s (RSS ${rss.toFixed(0)} MiB); answering again after ${Date.now() - down} ms`);
      }
    })();
    await Promise.all([killer, ...loops]);
    const elapsed = (Date.now() - started) / 1000;
    const rssEnd = server.rssMiB();

    // --- read everything back
    const instances = await readBack(server.endpoint);
    const byToken = new Map<string, Instance[]>();
    for (const i of instances) {
      const t = i.ClientToken ?? '';
      if (!t.startsWith('soak-')) continue;
      byToken.set(t, [...(byToken.get(t) ?? []), i]);
    }
    const byId = new Map(instances.map((i) => [i.InstanceId, i]));
    let lostLaunches = 0;
    let lostTags = 0;
    let acknowledgedLaunches = 0;
    let acknowledgedTags = 0;
    const problems: string[] = [];
    for (const c of clients) {
      for (const [token, id] of c.launches) {
        acknowledgedLaunches++;
        const found = byId.get(id);
        if (!found || found.ClientToken !== token) {
          lostLaunches++;
          problems.push(`launch ${token} → ${id} acknowledged, not found`);
        }
      }
      for (const [slot, exp] of c.tags) {
        if (exp.acked === undefined) continue;
        acknowledgedTags++;
        const [id, key] = slot.split('\n') as [string, string];
        const value = byId.get(id)?.Tags?.find((t) => t.Key === key)?.Value;
        if (value !== exp.acked && !(value !== undefined && exp.unacked.has(value))) {
          lostTags++;
          problems.push(`tag ${key}=${exp.acked} on ${id} acknowledged, found ${value ?? 'nothing'}`);
        }
      }
    }
    const duplicates = [...byToken.values()].reduce((n, list) => n + list.length - 1, 0);
    const unanswered = clients.reduce((n, c) => n + c.unanswered.size, 0);

    log('');
    for (const line of killLog) log(line);
    log(`duration                 ${elapsed.toFixed(1)} s, ${o.clients} clients`);
    log(`requests answered        ${stats.answered} (${(stats.answered / elapsed).toFixed(0)}/s), retries ${stats.retries} (${[...stats.resent].map(([a, n]) => `${a} ${n}`).join(', ') || 'none'})`);
    log(`latency (answered)       p50 ${quantile(stats.latencies, 0.5).toFixed(1)} ms, p99 ${quantile(stats.latencies, 0.99).toFixed(1)} ms, max ${Math.max(...stats.latencies).toFixed(1)} ms`);
    log(`launches acknowledged    ${acknowledgedLaunches} (instances found: ${instances.length}; launches never answered: ${unanswered})`);
    log(`tag writes checked       ${acknowledgedTags} (instance, key) pairs`);
    log(`acknowledged-then-lost   ${lostLaunches + lostTags} (launches ${lostLaunches}, tags ${lostTags})`);
    log(`duplicates on retry      ${duplicates}`);
    log(`server RSS               ${rssStart.toFixed(0)} MiB at start → ${rssEnd.toFixed(0)} MiB at the end (the last incarnation)`);
    log('errors by code:');
    for (const [code, n] of [...stats.errors].sort((a, b) => b[1] - a[1])) log(`  ${String(n).padStart(6)}  ${code}`);
    for (const p of problems.slice(0, 20)) log(`  PROBLEM: ${p}`);
    if (lostLaunches + lostTags + duplicates > 0) process.exitCode = 1;
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
