/**
 * How nestbox's costs grow with the number of instances (`npm run bench:scale`), timed at the HTTP
 * level against a nestbox server started here (simulated driver, raw signed requests, no XML parsing).
 *
 * For each store (SQLite, and PostgreSQL in a throwaway cluster: test/pg.ts) and each size (1k and 100k
 * instances, spread over every region, as the per-region instance quota requires), it measures:
 *   - DescribeInstances by ID (p50 of REPEATS calls),
 *   - DescribeInstances with a `tag:Name` filter that matches one instance (p50),
 *   - a page of 1,000 (DescribeInstances MaxResults=1000 in the most populated region, p50),
 *   - the time a restart takes to answer again, and the restarted server's RSS after those reads,
 * on a server restarted once the fill has settled (every VM booted: settle()).
 * It prints each size's figures and the ratio of the largest size to the smallest: the goals are ≤ 2×
 * for by-ID and the one-hit filter, a page of 1,000 ≤ 60 ms at 100k on SQLite, RSS ≤ 300 MiB and a
 * restart ≤ 3 s at 100k.
 *
 * Options: --sizes 1000,100000   --stores sqlite,postgres   --repeats N (50)
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REGIONS } from '../src/domain/regions.js';
import { startPostgres } from '../test/pg.js';
import { Ec2QueryClient, countElements } from './http.js';
import { median, readFlags } from './options.js';
import { type RunningServer, ensureBuilt, startNestboxServer } from './servers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const AMI = 'ami-0b5e4a1f2c3d40001';
/** instances per RunInstances call while filling */
const BATCH = 500;
const NEEDLE = 'scale-needle';

interface Options {
  sizes: number[];
  stores: ('sqlite' | 'postgres')[];
  repeats: number;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { sizes: [1000, 100_000], stores: ['sqlite', 'postgres'], repeats: 50 };
  readFlags(argv, (r) => {
    switch (r.flag) {
      case '--sizes': o.sizes = r.value().split(',').map(Number); break;
      case '--stores': o.stores = r.value().split(',') as Options['stores']; break;
      case '--repeats': o.repeats = r.int(); break;
      default: throw new Error(`unknown option ${r.flag}`);
    }
  });
  return o;
}

interface Figures {
  readonly byIdMs: number;
  readonly tagOneHitMs: number;
  readonly pageMs: number;
  readonly rssMiB: number;
  readonly restartMs: number;
  readonly fillS: number;
}

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

async function timed(n: number, call: () => Promise<{ ms: number }>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push((await call()).ms);
  return median(times);
}

/** Instances in the first region: room for a page of 1,000 under the per-region quota of 5,000. */
const FIRST_REGION = 4000;

/** Fills `size` instances over the regions (up to FIRST_REGION in the first, the rest spread), one tagged as the needle. */
async function fill(endpoint: string, size: number, log: (s: string) => void): Promise<{ needleId: string; region: string }> {
  const regions = REGIONS.map((r) => r.name);
  const first = Math.min(size, FIRST_REGION);
  const perRegion = Math.ceil((size - first) / (regions.length - 1));
  let made = 0;
  let needle: { needleId: string; region: string } | undefined;
  for (const [i, region] of regions.entries()) {
    const client = new Ec2QueryClient(endpoint, region);
    try {
      let left = Math.min(i === 0 ? first : perRegion, size - made);
      while (left > 0) {
        const count = Math.min(BATCH, left);
        const r = await client.ok('RunInstances', {
          ImageId: AMI,
          InstanceType: 't3.micro',
          MinCount: count,
          MaxCount: count,
          'TagSpecification.1.ResourceType': 'instance',
          'TagSpecification.1.Tag.1.Key': 'Name',
          'TagSpecification.1.Tag.1.Value': `bulk-${made}`,
        });
        if (!needle) {
          const id = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(r.body)?.[1];
          if (!id) throw new Error('RunInstances returned no instance ID');
          await client.ok('CreateTags', { 'ResourceId.1': id, 'Tag.1.Key': 'Name', 'Tag.1.Value': NEEDLE });
          needle = { needleId: id, region };
        }
        made += count;
        left -= count;
      }
    } finally {
      client.close();
    }
    if (made % 10_000 < Math.max(perRegion, 1)) log(`  ${made} instances`);
    if (made >= size) break;
  }
  if (!needle) throw new Error('nothing was launched');
  return needle;
}

/**
 * Waits until the VM host has booted every instance the fill launched (none `pending` in any Region):
 * launches answer before their VMs start, and a backlog of boots left at the restart would be worked
 * through while the reads are timed. Returns the seconds waited.
 */
async function settle(endpoint: string, log: (s: string) => void): Promise<number> {
  const started = Date.now();
  for (const { name } of REGIONS) {
    const client = new Ec2QueryClient(endpoint, name);
    try {
      for (;;) {
        const r = await client.ok('DescribeInstances', { 'Filter.1.Name': 'instance-state-name', 'Filter.1.Value.1': 'pending', MaxResults: 5 });
        if (countElements(r.body, 'instanceId') === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      client.close();
    }
  }
  const s = (Date.now() - started) / 1000;
  if (s >= 1) log(`  waited ${s.toFixed(1)} s for the last boots`);
  return s;
}

async function measure(store: 'sqlite' | 'postgres', size: number, o: Options, log: (s: string) => void): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'nestbox-scale-'));
  const pg = store === 'postgres' ? await startPostgres() : undefined;
  const serveArgs = pg ? ['--database', pg.url] : [];
  let server: RunningServer | undefined = await startNestboxServer({ root: ROOT, dataDir, simDelayMs: 0, serveArgs });
  try {
    const started = Date.now();
    const { needleId, region } = await fill(server.endpoint, size, log);
    const fillS = (Date.now() - started) / 1000;
    await settle(server.endpoint, log);
    // Measured on a restarted server: the restart's own time, then reads and memory as they are in use.
    await server.stop();
    const restarted = Date.now();
    server = await startNestboxServer({ root: ROOT, dataDir, simDelayMs: 0, serveArgs });
    const restartMs = Date.now() - restarted;
    const client = new Ec2QueryClient(server.endpoint, region);
    const byIdMs = await timed(o.repeats, () => client.ok('DescribeInstances', { 'InstanceId.1': needleId }));
    const tagOneHitMs = await timed(o.repeats, async () => {
      const r = await client.ok('DescribeInstances', { 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': NEEDLE });
      if (countElements(r.body, 'instanceId') !== 1) throw new Error('the tag filter did not find exactly the needle');
      return r;
    });
    const pageMs = await timed(Math.max(5, Math.floor(o.repeats / 5)), () => client.ok('DescribeInstances', { MaxResults: 1000 }));
    client.close();
    const rss = rssMiB(server.child.pid!);
    return { byIdMs, tagOneHitMs, pageMs, rssMiB: rss, restartMs, fillS };
  } finally {
    await server?.stop();
    await pg?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  ensureBuilt(ROOT, log);
  for (const store of o.stores) {
    const rows: [number, Figures][] = [];
    for (const size of o.sizes) {
      log(`${store}: filling ${size} instances…`);
      rows.push([size, await measure(store, size, o, log)]);
    }
    console.log(`\n${store} (p50 of ${o.repeats} calls; restart = stop, start, first answer; RSS of the restarted server after the reads)`);
    console.log('| instances | by ID | tag:Name, 1 hit | page of 1,000 | RSS | restart | fill |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [size, f] of rows) {
      console.log(
        `| ${size.toLocaleString('en')} | ${fmt(f.byIdMs)} ms | ${fmt(f.tagOneHitMs)} ms | ${fmt(f.pageMs, 1)} ms | ${fmt(f.rssMiB, 0)} MiB | ${f.restartMs} ms | ${fmt(f.fillS, 1)} s |`,
      );
    }
    if (rows.length > 1) {
      const [, small] = rows[0]!;
      const [size, large] = rows[rows.length - 1]!;
      console.log(
        `ratio ${size.toLocaleString('en')}/${rows[0]![0].toLocaleString('en')}: by ID ${fmt(large.byIdMs / small.byIdMs)}x (goal ≤ 2), tag one-hit ${fmt(large.tagOneHitMs / small.tagOneHitMs)}x (goal ≤ 2)`,
      );
    }
  }
}

await main();
