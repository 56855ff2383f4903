/**
 * nestbox vs moto, timed at the HTTP level (`npm run bench`).
 *
 * Both servers run on 127.0.0.1 as child processes started here; each gets the same workload, one
 * server at a time, over one keep-alive connection with SigV4-signed EC2 Query requests:
 *   (a) N × RunInstances (MaxCount=1), half c8i.large and half m8i.large, each tagged, nested
 *       virtualization enabled: total wall time and per-call p50/p99;
 *   (b) DescribeInstances over all N, repeated: median;
 *   (c) DescribeInstances filtered on instance-type=c8i.large (N/2 match) and on a tag (N/4 match): median;
 *   (d) the launch-template path the feature's tools use: a template asking for nested virtualization
 *       with TEMPLATE_VERSIONS versions, then TEMPLATE_LAUNCHES × RunInstances from it (p50), and
 *       DescribeLaunchTemplateVersions over all versions (median).
 * Times run from the request's first byte written to the response's last byte received.
 *
 * Options: --instances N (1000)  --repeats N (20)  --sim-delay-ms N (100)  --only nestbox|moto  --store sqlite|postgres
 *          --cpu-prof-dir DIR (run nestbox under `node --cpu-prof`, profile written there on exit)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type QueryParams, Ec2QueryClient, countElements } from './http.js';
import { type RunningServer, ensureBuilt, startMotoServer, startNestboxServer } from './servers.js';
import { median, quantile, readFlags } from './options.js';
import { startPostgres } from '../test/pg.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NESTBOX_AMI = 'ami-0b5e4a1f2c3d40001';
/** The goals: on SQLite ≥ 20× moto on RunInstances and ≥ 50× on describes; on PostgreSQL ≥ 5× on every row. */
const goalFor = (store: Options['store'], label: string): number =>
  store === 'postgres' ? 5 : /^\((b|c)\)|Describe/.test(label) ? 50 : 20;
const TEMPLATE_VERSIONS = 50;
const TEMPLATE_LAUNCHES = 200;

interface Options {
  instances: number;
  repeats: number;
  simDelayMs: number;
  only: 'nestbox' | 'moto' | undefined;
  cpuProfDir: string | undefined;
  /** the store nestbox runs on: SQLite in a temporary data dir, or PostgreSQL in a throwaway cluster (test/pg.ts) */
  store: 'sqlite' | 'postgres';
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { instances: 1000, repeats: 20, simDelayMs: 100, only: undefined, cpuProfDir: undefined, store: 'sqlite' };
  readFlags(argv, (r) => {
    switch (r.flag) {
      case '--instances': o.instances = r.int(); break;
      case '--repeats': o.repeats = r.int(); break;
      case '--sim-delay-ms': o.simDelayMs = r.int(); break;
      case '--cpu-prof-dir': o.cpuProfDir = resolve(r.value()); break;
      case '--store': {
        const v = r.value();
        if (v !== 'sqlite' && v !== 'postgres') throw new Error('--store takes sqlite or postgres');
        o.store = v;
        break;
      }
      case '--only': {
        const v = r.value();
        if (v !== 'nestbox' && v !== 'moto') throw new Error('--only takes nestbox or moto');
        o.only = v;
        break;
      }
      default:
        throw new Error(`unknown option ${r.flag}`);
    }
  });
  return o;
}

// --- the workload -----------------------------------------------------------------------------------

interface Measured {
  readonly ms: number;
  /** response body bytes */
  readonly bytes: number;
  /** instances in the response */
  readonly count: number;
}

interface Results {
  readonly server: RunningServer;
  readonly amiId: string;
  readonly runTotalMs: number;
  /** the per-call times summed: the wall time less the client's own work (signing, bookkeeping) */
  readonly runSumMs: number;
  readonly runP50: number;
  readonly runP99: number;
  readonly runBytes: number;
  readonly describeAll: Measured;
  readonly byType: Measured;
  readonly byTag: Measured;
  readonly templateRunP50: number;
  readonly templateVersions: Measured;
}

const launchParams = (amiId: string, i: number): QueryParams => ({
  ImageId: amiId,
  InstanceType: i % 2 === 0 ? 'c8i.large' : 'm8i.large',
  MinCount: 1,
  MaxCount: 1,
  'CpuOptions.NestedVirtualization': 'enabled',
  'TagSpecification.1.ResourceType': 'instance',
  'TagSpecification.1.Tag.1.Key': 'Name',
  'TagSpecification.1.Tag.1.Value': `bench-${i}`,
  'TagSpecification.1.Tag.2.Key': 'Purpose',
  'TagSpecification.1.Tag.2.Value': i % 4 === 0 ? 'android-emulator' : 'ci',
});

const templateData = (amiId: string, i: number): QueryParams => ({
  'LaunchTemplateData.ImageId': amiId,
  'LaunchTemplateData.InstanceType': i % 2 === 0 ? 'c8i.large' : 'm8i.large',
  'LaunchTemplateData.CpuOptions.NestedVirtualization': 'enabled',
  'LaunchTemplateData.TagSpecification.1.ResourceType': 'instance',
  'LaunchTemplateData.TagSpecification.1.Tag.1.Key': 'Purpose',
  'LaunchTemplateData.TagSpecification.1.Tag.1.Value': `template-${i}`,
});

/** (d): a template with TEMPLATE_VERSIONS versions, launches from it, and a listing of its versions. */
async function launchTemplates(client: Ec2QueryClient, amiId: string, repeats: number) {
  const name = { LaunchTemplateName: 'bench-nested' };
  await client.ok('CreateLaunchTemplate', { ...name, ...templateData(amiId, 0) });
  for (let v = 2; v <= TEMPLATE_VERSIONS; v++) await client.ok('CreateLaunchTemplateVersion', { ...name, ...templateData(amiId, v) });
  const times: number[] = [];
  for (let i = 0; i < TEMPLATE_LAUNCHES; i++) {
    const version = String((i % TEMPLATE_VERSIONS) + 1);
    const r = await client.ok('RunInstances', {
      'LaunchTemplate.LaunchTemplateName': name.LaunchTemplateName,
      'LaunchTemplate.Version': version,
      MinCount: 1,
      MaxCount: 1,
    });
    // Both launch an instance; only nestbox applies the template's CpuOptions (moto 5.2.1 leaves them out).
    if (countElements(r.body, 'instanceId') !== 1) throw new Error(`RunInstances from the template: ${r.body.slice(0, 300)}`);
    times.push(r.ms);
  }
  const runs: Measured[] = [];
  for (let i = 0; i < repeats; i++) {
    // MaxResults=200 (EC2's largest page) and any further pages followed, as listAll does.
    let run = { ms: 0, bytes: 0, count: 0 };
    let token: string | undefined;
    do {
      const r = await client.ok('DescribeLaunchTemplateVersions', { ...name, MaxResults: 200, ...(token ? { NextToken: token } : {}) });
      run = { ms: run.ms + r.ms, bytes: run.bytes + r.bytes, count: run.count + countElements(r.body, 'versionNumber') };
      token = /<nextToken>([^<]+)<\/nextToken>/.exec(r.body)?.[1];
    } while (token);
    runs.push(run);
  }
  const last = runs[runs.length - 1]!;
  if (last.count !== TEMPLATE_VERSIONS) throw new Error(`DescribeLaunchTemplateVersions: expected ${TEMPLATE_VERSIONS}, got ${last.count}`);
  return { runP50: quantile(times, 0.5), versions: { ms: median(runs.map((r) => r.ms)), bytes: last.bytes, count: last.count } };
}

const TYPE_FILTER: QueryParams = { 'Filter.1.Name': 'instance-type', 'Filter.1.Value.1': 'c8i.large' };
const TAG_FILTER: QueryParams = { 'Filter.1.Name': 'tag:Purpose', 'Filter.1.Value.1': 'android-emulator' };

/** An x86_64 Linux AMI the server knows: moto validates image IDs against its own catalogue. */
async function pickAmi(server: RunningServer, client: Ec2QueryClient): Promise<string> {
  if (server.name === 'nestbox') return NESTBOX_AMI;
  const r = await client.ok('DescribeImages', { 'Filter.1.Name': 'name', 'Filter.1.Value.1': 'amzn2-ami-hvm-*x86_64*' });
  const id = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(r.body)?.[1];
  if (!id) throw new Error(`${server.name}: no Amazon Linux 2 x86_64 image in DescribeImages`);
  return id;
}

async function warmUp(client: Ec2QueryClient, amiId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await client.ok('DescribeInstances');
    await client.ok('DescribeInstances', i % 2 ? TYPE_FILTER : TAG_FILTER);
    // DryRun walks RunInstances' validation without launching anything: 412 DryRunOperation.
    const dry = await client.call('RunInstances', { ...launchParams(amiId, i), DryRun: true });
    if (!dry.body.includes('DryRunOperation')) throw new Error(`RunInstances DryRun: HTTP ${dry.status} ${dry.body.slice(0, 300)}`);
  }
}

/**
 * One full listing: MaxResults=1000 (EC2's largest page; moto's default page is 100 reservations), and
 * any further NextToken pages followed, their times and sizes summed.
 */
async function listAll(client: Ec2QueryClient, filter: QueryParams): Promise<Measured> {
  let ms = 0;
  let bytes = 0;
  let count = 0;
  let token: string | undefined;
  do {
    const r = await client.ok('DescribeInstances', { ...filter, MaxResults: 1000, ...(token ? { NextToken: token } : {}) });
    ms += r.ms;
    bytes += r.bytes;
    count += countElements(r.body, 'instanceId');
    token = /<nextToken>([^<]+)<\/nextToken>/.exec(r.body)?.[1];
  } while (token);
  return { ms, bytes, count };
}

async function describe(client: Ec2QueryClient, repeats: number, filter: QueryParams, expected: number, what: string): Promise<Measured> {
  const runs: Measured[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await listAll(client, filter));
  const last = runs[runs.length - 1]!;
  if (last.count !== expected) throw new Error(`${what}: expected ${expected} instances, got ${last.count}`);
  return { ms: median(runs.map((r) => r.ms)), bytes: last.bytes, count: last.count };
}

/** Waits until no instance is pending, so every server describes settled (running) instances. */
async function settle(client: Ec2QueryClient, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = { 'Filter.1.Name': 'instance-state-name', 'Filter.1.Value.1': 'pending' };
  while (countElements((await client.ok('DescribeInstances', pending)).body, 'instanceId') > 0) {
    if (Date.now() > deadline) throw new Error('instances still pending');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function measure(server: RunningServer, o: Options, log: (s: string) => void): Promise<Results> {
  const client = new Ec2QueryClient(server.endpoint);
  try {
    const amiId = await pickAmi(server, client);
    log(`${server.name}: warming up (AMI ${amiId})`);
    await warmUp(client, amiId);

    log(`${server.name}: ${o.instances} × RunInstances`);
    const runTimes: number[] = [];
    let runBytes = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < o.instances; i++) {
      const r = await client.ok('RunInstances', launchParams(amiId, i));
      runTimes.push(r.ms);
      runBytes = r.bytes;
    }
    const runTotalMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await settle(client);

    log(`${server.name}: DescribeInstances × ${o.repeats} (all, by type, by tag)`);
    const describeAll = await describe(client, o.repeats, {}, o.instances, 'all');
    const byType = await describe(client, o.repeats, TYPE_FILTER, Math.ceil(o.instances / 2), 'instance-type filter');
    const byTag = await describe(client, o.repeats, TAG_FILTER, Math.ceil(o.instances / 4), 'tag filter');

    log(`${server.name}: launch template with ${TEMPLATE_VERSIONS} versions, ${TEMPLATE_LAUNCHES} × RunInstances from it`);
    const template = await launchTemplates(client, amiId, o.repeats);
    return {
      server,
      amiId,
      runTotalMs,
      runSumMs: runTimes.reduce((a, b) => a + b, 0),
      runP50: quantile(runTimes, 0.5),
      runP99: quantile(runTimes, 0.99),
      runBytes,
      describeAll,
      byType,
      byTag,
      templateRunP50: template.runP50,
      templateVersions: template.versions,
    };
  } finally {
    client.close();
  }
}

// --- the report -------------------------------------------------------------------------------------

const fmtMs = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`);
const fmtBytes = (b: number) => (b >= 10_000 ? `${(b / 1024).toFixed(0)} KiB` : `${b} B`);

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('   ')}` : line;
    })
    .join('\n');
}

function report(o: Options, nb: Results | undefined, moto: Results | undefined): string {
  const n = o.instances;
  const rows: string[][] = [['measurement', 'nestbox', 'moto', 'moto/nestbox', 'goal', 'met']];
  const line = (label: string, pick: (r: Results) => number, format = fmtMs) => {
    const a = nb ? pick(nb) : undefined;
    const b = moto ? pick(moto) : undefined;
    const ratio = a !== undefined && b !== undefined ? b / a : undefined;
    const goal = goalFor(o.store, label);
    rows.push([
      label,
      a !== undefined ? format(a) : '-',
      b !== undefined ? format(b) : '-',
      ratio !== undefined ? `${ratio.toFixed(1)}x` : '-',
      `≥${goal}x`,
      ratio !== undefined ? (ratio >= goal ? 'yes' : 'NO') : '-',
    ]);
  };
  line(`(a) RunInstances ×${n}, total wall`, (r) => r.runTotalMs);
  line(`(a) RunInstances ×${n}, sum of per-call times`, (r) => r.runSumMs);
  line('(a) RunInstances per call p50', (r) => r.runP50);
  line('(a) RunInstances per call p99', (r) => r.runP99);
  line(`(b) DescribeInstances all ${n}, median`, (r) => r.describeAll.ms);
  line(`(c) … instance-type=c8i.large (${Math.ceil(n / 2)}), median`, (r) => r.byType.ms);
  line(`(c) … tag:Purpose=android-emulator (${Math.ceil(n / 4)}), median`, (r) => r.byTag.ms);
  line('(d) RunInstances from a launch template, p50', (r) => r.templateRunP50);
  line(`(d) DescribeLaunchTemplateVersions (${TEMPLATE_VERSIONS}), median`, (r) => r.templateVersions.ms);

  const sizes: string[][] = [['response body size', 'nestbox', 'moto']];
  const size = (label: string, pick: (r: Results) => number) =>
    sizes.push([label, nb ? fmtBytes(pick(nb)) : '-', moto ? fmtBytes(pick(moto)) : '-']);
  size('RunInstances (1 instance)', (r) => r.runBytes);
  size(`DescribeInstances all ${n}`, (r) => r.describeAll.bytes);
  size('DescribeInstances instance-type', (r) => r.byType.bytes);
  size('DescribeInstances tag', (r) => r.byTag.bytes);
  size(`DescribeLaunchTemplateVersions (${TEMPLATE_VERSIONS})`, (r) => r.templateVersions.bytes);

  const versions = [nb, moto]
    .filter((r): r is Results => r !== undefined)
    .map((r) => `${r.server.name} ${r.server.version}, AMI ${r.amiId}`)
    .join('; ');
  return [
    `nestbox vs moto — ${n} instances, ${o.repeats} repeats per Describe (MaxResults=1000), one keep-alive connection, 127.0.0.1`,
    `versions: ${versions}; nestbox --sim-delay-ms ${o.simDelayMs}, store ${o.store}`,
    'time = request write → last body byte; ratio > 1 means nestbox is faster',
    '',
    table(rows),
    '',
    table(sizes),
  ].join('\n');
}

// --- main -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  const dataDir = mkdtempSync(join(tmpdir(), 'nestbox-bench-'));
  const servers: RunningServer[] = [];
  let stopPg: () => Promise<void> | undefined = () => undefined;
  const stopAll = async () => {
    await Promise.all(servers.map((s) => s.stop(5000)));
    await stopPg();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping servers`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const wantNestbox = o.only !== 'moto';
    const wantMoto = o.only !== 'nestbox';
    if (wantNestbox) ensureBuilt(ROOT, log);
    log('starting servers');
    const pg = wantNestbox && o.store === 'postgres' ? await startPostgres() : undefined;
    stopPg = () => pg?.stop();
    // allSettled: if one fails to start, the other has finished starting (and is stopped below).
    const [nbStart, motoStart] = await Promise.allSettled([
      wantNestbox
        ? startNestboxServer({
            root: ROOT,
            dataDir,
            simDelayMs: o.simDelayMs,
            nodeFlags: o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [],
            serveArgs: pg ? ['--database', pg.url] : [],
          })
        : undefined,
      wantMoto ? startMotoServer() : undefined,
    ]);
    for (const s of [nbStart, motoStart]) if (s.status === 'fulfilled' && s.value) servers.push(s.value);
    for (const s of [nbStart, motoStart]) if (s.status === 'rejected') throw s.reason;
    const nbServer = nbStart.status === 'fulfilled' ? nbStart.value : undefined;
    const motoServer = motoStart.status === 'fulfilled' ? motoStart.value : undefined;
    // One server at a time, so neither competes with the other for CPU.
    const nb = nbServer ? await measure(nbServer, o, log) : undefined;
    const moto = motoServer ? await measure(motoServer, o, log) : undefined;
    process.stdout.write(`\n${report(o, nb, moto)}\n`);
  } finally {
    log('stopping servers');
    await stopAll();
    rmSync(dataDir, { recursive: true, force: true });
    if (o.cpuProfDir && existsSync(o.cpuProfDir)) log(`nestbox CPU profile in ${o.cpuProfDir}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
