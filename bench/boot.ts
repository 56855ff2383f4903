/**
 * Issue #4's boot benchmark (`npm run bench:boot`): RunInstances → `running` for a real instance of the
 * qemu driver, against starting the same image with a plain QEMU command, in the same run.
 *
 *   baseline  qemu-system-x86_64 spawned directly with the argv the driver would use (the pure builder
 *             in src/compute/qemu/argv.ts, the image from findImage, the accelerator the driver would
 *             choose), timed from the spawn until `nestbox: booted` shows in its serial output.
 *   nestbox   the built nestbox (dist/) as a child process with --driver qemu; a SigV4-signed
 *             RunInstances (bench/http.ts), then DescribeInstances every 50 ms until the instance is
 *             `running`; the instance is terminated (and its VM gone) before the next run.
 *
 * The two alternate (baseline, nestbox, baseline, …) after one discarded warm-up of each; the table
 * shows medians. nestbox's extra time is split into: the RunInstances answer, the request until QEMU
 * was spawned (vm.json's startedAt), the guest's own boot (its serial log watched here every 5 ms, as
 * for the baseline) and the marker until a DescribeInstances first said `running` (the driver's serial
 * polling, SERIAL_POLL_MS, plus this benchmark's 50 ms polling and a DescribeInstances answer).
 *
 * Options: --runs N (5)  --warmup N (1)  --images-dir DIR (NESTBOX_IMAGE_DATA_DIR or ./.nestbox)
 *          --poll-ms N (50)  --vm-max-vcpus N (1)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VmSpec } from '../src/compute/driver.js';
import { VM_FILES, buildQemuPlan } from '../src/compute/qemu/argv.js';
import { type ImageInfo, findImage } from '../src/compute/qemu/image.js';
import { findQemu, hostFacts, probeAccel } from '../src/compute/qemu/probe.js';
import { loadCatalog } from '../src/domain/instance-types.js';
import { Ec2QueryClient } from './http.js';
import { ensureBuilt, freePort } from './servers.js';
import { median, readFlags } from './options.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NESTBOX_AMI = 'ami-0b5e4a1f2c3d40001';
const INSTANCE_TYPE = 'c8i.large';
const TARGET_RATIO = 1.2;
/** as the driver's DEFAULTS: --vm-memory-mib 256 */
const VM_MEMORY_MIB = 256;
const BOOT_MARKER = /(?:^|\n)nestbox: booted/;
/** how often this benchmark looks at a serial log (baseline and nestbox alike) */
const SERIAL_WATCH_MS = 5;
const BOOT_TIMEOUT_MS = 60_000;

interface Options {
  runs: number;
  warmup: number;
  imagesDir: string;
  pollMs: number;
  vmMaxVcpus: number;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = {
    runs: 5,
    warmup: 1,
    imagesDir: resolve(process.env.NESTBOX_IMAGE_DATA_DIR ?? join(ROOT, '.nestbox')),
    pollMs: 50,
    vmMaxVcpus: 1,
  };
  readFlags(argv, (r) => {
    switch (r.flag) {
      case '--runs': o.runs = r.int(1); break;
      case '--warmup': o.warmup = r.int(0); break;
      case '--images-dir': o.imagesDir = resolve(r.value()); break;
      case '--poll-ms': o.pollMs = r.int(1); break;
      case '--vm-max-vcpus': o.vmMaxVcpus = r.int(1); break;
      default:
        throw new Error(`unknown option ${r.flag}`);
    }
  });
  return o;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves with the time (Date.now()) `nestbox: booted` was first seen in `file`, polled every 5 ms. */
async function watchForMarker(file: string, timeoutMs: number, alive: () => boolean = () => true): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (BOOT_MARKER.test(readFileSync(file, 'latin1'))) return Date.now();
    } catch {
      // not created yet
    }
    if (!alive()) throw new Error(`QEMU exited before ${file} showed the boot marker`);
    if (Date.now() > deadline) throw new Error(`no boot marker in ${file} within ${timeoutMs} ms`);
    await sleep(SERIAL_WATCH_MS);
  }
}

/** Live qemu-system processes whose working directory is under `dir`. */
function qemusUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('qemu-system')) continue;
      if (readlinkSync(`/proc/${name}/cwd`).replace(/ \(deleted\)$/, '').startsWith(`${dir}/`)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** argv with the instance id made neutral, for comparing a baseline's argv with a nestbox VM's. */
const neutral = (argv: readonly string[], id: string) => argv.map((a) => a.split(id).join('<id>'));

// --- baseline: plain QEMU ---------------------------------------------------------------------------

interface BaselineRun {
  readonly totalMs: number;
}

function baselineSpec(id: string): VmSpec {
  const facts = loadCatalog().facts(INSTANCE_TYPE);
  if (!facts) throw new Error(`${INSTANCE_TYPE} is not in the catalog`);
  return {
    instanceId: id,
    imageId: NESTBOX_AMI,
    instanceType: INSTANCE_TYPE,
    platform: 'linux',
    architecture: 'x86_64',
    vcpus: facts.vcpus,
    memoryMiB: facts.memoryMiB,
    coreCount: facts.defaultCores,
    threadsPerCore: facts.defaultThreadsPerCore,
    nestedVirtualization: true,
  };
}

function baselineArgv(image: ImageInfo, accel: 'kvm' | 'tcg', o: Options, id: string): readonly string[] {
  return buildQemuPlan({
    spec: baselineSpec(id),
    accel,
    host: hostFacts(),
    limits: { maxVcpus: o.vmMaxVcpus, maxMemoryMiB: VM_MEMORY_MIB, minMemoryMiB: 128 },
    // no user data: the driver then boots the image's own initramfs, as here
    image: { vmlinux: image.vmlinux, initrd: image.initramfs, hash: image.hash, kernelRelease: image.manifest.kernel.release },
  }).argv;
}

async function runBaseline(qemu: string, argv: readonly string[], workDir: string, n: number): Promise<BaselineRun> {
  const dir = join(workDir, `baseline-${n}`);
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess | undefined;
  try {
    const t0 = Date.now();
    child = spawn(qemu, argv, { cwd: dir, stdio: 'ignore' });
    const c = child;
    const marker = await watchForMarker(join(dir, VM_FILES.serial), BOOT_TIMEOUT_MS, () => c.exitCode === null && c.signalCode === null);
    return { totalMs: marker - t0 };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- nestbox ----------------------------------------------------------------------------------------

interface NestboxRun {
  readonly totalMs: number;
  /** RunInstances request → answer */
  readonly runInstancesMs: number;
  /** request → QEMU spawned (vm.json startedAt) */
  readonly toSpawnMs: number;
  /** QEMU spawned → boot marker seen in its serial log */
  readonly guestMs: number;
  /** boot marker → the first DescribeInstances saying running */
  readonly reportMs: number;
  /** DescribeInstances polls and their median answer time */
  readonly polls: number;
  readonly describeMs: number;
  readonly argv: readonly string[];
  readonly id: string;
}

interface NestboxServer {
  readonly endpoint: string;
  readonly child: ChildProcess;
  output(): string;
}

async function startServer(o: Options, dataDir: string): Promise<NestboxServer> {
  const port = await freePort();
  const args = [
    join(ROOT, 'dist', 'cli', 'main.js'),
    'serve',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--driver', 'qemu',
    '--images-dir', o.imagesDir,
    '--data-dir', dataDir,
    '--vm-max-vcpus', String(o.vmMaxVcpus),
    '--vm-memory-mib', String(VM_MEMORY_MIB),
    '--quiet',
  ];
  const env = { ...process.env, NESTBOX_ACCESS_KEY_ID: 'test', NESTBOX_SECRET_ACCESS_KEY: 'test' };
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (b: Buffer) => (tail = (tail + b.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const server: NestboxServer = { endpoint: `http://127.0.0.1:${port}`, child, output: () => tail };
  const client = new Ec2QueryClient(server.endpoint);
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nestbox exited (${child.exitCode}):\n${tail}`);
      try {
        if ((await client.call('DescribeInstances')).status === 200) return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`nestbox did not answer within 30 s:\n${tail}`);
      await sleep(100);
    }
  } finally {
    client.close();
  }
}

const stateOf = (xml: string): string | undefined => /<instanceState>\s*<code>\d+<\/code>\s*<name>([a-z-]+)<\/name>/.exec(xml)?.[1];

async function runNestbox(client: Ec2QueryClient, dataDir: string, o: Options): Promise<NestboxRun> {
  const t0 = Date.now();
  const run = await client.ok('RunInstances', {
    ImageId: NESTBOX_AMI,
    InstanceType: INSTANCE_TYPE,
    MinCount: 1,
    MaxCount: 1,
    'CpuOptions.NestedVirtualization': 'enabled',
  });
  const id = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(run.body)?.[1];
  if (!id) throw new Error(`RunInstances answered without an instance id: ${run.body.slice(0, 300)}`);
  const vmDir = join(dataDir, 'vms', id);
  // the guest's own boot, watched as the baseline's is (a side measurement: it does not gate the polling)
  const marker = watchForMarker(join(vmDir, VM_FILES.serial), BOOT_TIMEOUT_MS);
  marker.catch(() => undefined);
  const describeTimes: number[] = [];
  let runningAt: number;
  for (;;) {
    const d = await client.ok('DescribeInstances', { 'InstanceId.1': id });
    describeTimes.push(d.ms);
    const state = stateOf(d.body);
    if (state === 'running') {
      runningAt = Date.now();
      break;
    }
    if (state !== 'pending') throw new Error(`${id} went ${state} instead of running`);
    if (Date.now() - t0 > BOOT_TIMEOUT_MS) throw new Error(`${id} not running within ${BOOT_TIMEOUT_MS} ms`);
    await sleep(o.pollMs);
  }
  const markerAt = await marker;
  const state = JSON.parse(readFileSync(join(vmDir, VM_FILES.state), 'utf8')) as { pid: number; startedAt: string };
  const spawnedAt = Date.parse(state.startedAt);
  let argv: string[] = [];
  try {
    argv = readFileSync(`/proc/${state.pid}/cmdline`, 'utf8').split('\0').slice(1, -1);
  } catch {
    // gone: the comparison is skipped
  }
  return {
    totalMs: runningAt - t0,
    runInstancesMs: run.ms,
    toSpawnMs: spawnedAt - t0,
    guestMs: markerAt - spawnedAt,
    reportMs: runningAt - markerAt,
    polls: describeTimes.length,
    describeMs: median(describeTimes),
    argv,
    id,
  };
}

async function terminate(client: Ec2QueryClient, id: string, dataDir: string): Promise<void> {
  await client.ok('TerminateInstances', { 'InstanceId.1': id });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = stateOf((await client.ok('DescribeInstances', { 'InstanceId.1': id })).body);
    if (state === 'terminated' && !existsSync(join(dataDir, 'vms', id))) return;
    if (Date.now() > deadline) throw new Error(`${id} not terminated within 20 s (state ${state})`);
    await sleep(50);
  }
}

// --- the run ----------------------------------------------------------------------------------------

const fmt = (ms: number) => `${Math.round(ms)}`.padStart(6);

/** The driver's serial polling interval (SERIAL_POLL_MS in src/compute/qemu/driver.ts), for the table. */
function serialPollMs(): string {
  try {
    return /const SERIAL_POLL_MS = (\d+)/.exec(readFileSync(join(ROOT, 'src', 'compute', 'qemu', 'driver.ts'), 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const qemu = findQemu();
  if (!qemu) throw new Error('qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');
  const image = findImage(o.imagesDir);
  if (!image) throw new Error(`no built-in image in ${o.imagesDir}/images (build it with: nestbox images build --data-dir ${o.imagesDir})`);
  ensureBuilt(ROOT, log);
  // the accelerator the driver chooses: the same probe, the same cache file
  const accel = await probeAccel({ qemu, image, cacheFile: join(dirname(image.dir), 'kvm-probe.json') });
  log(`image ${image.hash} (${image.manifest.kernel.release}), ${accel.accel.toUpperCase()}: ${accel.reason}`);

  const work = mkdtempSync(join(tmpdir(), 'nestbox-bench-boot-'));
  const dataDir = join(work, 'nestbox');
  mkdirSync(dataDir);
  let server: NestboxServer | undefined;
  let client: Ec2QueryClient | undefined;
  const launchedIds: string[] = [];
  const onSignal = () => {
    for (const pid of qemusUnder(work)) process.kill(pid, 'SIGKILL');
    server?.child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    server = await startServer(o, dataDir);
    client = new Ec2QueryClient(server.endpoint);
    log(`nestbox at ${server.endpoint} (data dir ${dataDir}); ${o.warmup} warm-up + ${o.runs} measured runs of each, alternating`);

    const base: BaselineRun[] = [];
    const nest: NestboxRun[] = [];
    let argvChecked = false;
    for (let i = 0; i < o.warmup + o.runs; i++) {
      const measured = i >= o.warmup;
      const tag = measured ? `run ${i - o.warmup + 1}/${o.runs}` : `warm-up ${i + 1}/${o.warmup}`;
      const b = await runBaseline(qemu, baselineArgv(image, accel.accel, o, `i-bench${String(i).padStart(10, '0')}`), work, i);
      const n = await runNestbox(client, dataDir, o);
      launchedIds.push(n.id);
      await terminate(client, n.id, dataDir);
      log(`${tag}: plain QEMU ${Math.round(b.totalMs)} ms, nestbox ${Math.round(n.totalMs)} ms (${n.polls} polls)`);
      if (!argvChecked && n.argv.length > 0) {
        // the baseline must be what the driver runs: the same argv but for the instance id
        const expected = neutral(baselineArgv(image, accel.accel, o, n.id), n.id);
        const actual = neutral(n.argv, n.id);
        if (JSON.stringify(expected) !== JSON.stringify(actual)) {
          throw new Error(`the baseline's argv differs from the driver's:\n  baseline: ${expected.join(' ')}\n  driver:   ${actual.join(' ')}`);
        }
        log('the baseline runs the same QEMU argv as the driver (instance id aside)');
        argvChecked = true;
      }
      if (measured) {
        base.push(b);
        nest.push(n);
      }
    }

    const mBase = median(base.map((r) => r.totalMs));
    const mNest = median(nest.map((r) => r.totalMs));
    const ratio = mNest / mBase;
    const col = (f: (r: NestboxRun) => number) => fmt(median(nest.map(f)));
    const rows: [string, string][] = [
      ['plain QEMU: spawn → boot marker', fmt(mBase)],
      ["nestbox: RunInstances sent → DescribeInstances 'running'", fmt(mNest)],
      [`ratio nestbox / plain QEMU (target ≤ ${TARGET_RATIO})`, ratio.toFixed(3).padStart(6)],
      ['nestbox, part by part (the median of each):', ''],
      ['  RunInstances answer', col((r) => r.runInstancesMs)],
      ['  request sent → QEMU spawned (vm.json startedAt)', col((r) => r.toSpawnMs)],
      ['  QEMU spawned → boot marker (the guest itself)', col((r) => r.guestMs)],
      [`  boot marker → 'running' seen (driver's ${serialPollMs()} ms serial poll, ${o.pollMs} ms client poll)`, col((r) => r.reportMs)],
      ['  DescribeInstances answer (per call)', fmt(median(nest.map((r) => r.describeMs)))],
    ];
    const w = Math.max(...rows.map(([label]) => label.length));
    const lines = [
      '',
      `boot: RunInstances → running vs plain QEMU → \`nestbox: booted\` (${INSTANCE_TYPE}, nested enabled, ${accel.accel.toUpperCase()}, ` +
        `${o.vmMaxVcpus} vCPU, ${VM_MEMORY_MIB} MiB; medians of ${o.runs} alternating runs, ms)`,
      '',
      `| ${'measure'.padEnd(w)} |     ms |`,
      `|${'-'.repeat(w + 2)}|-------:|`,
      ...rows.map(([label, v]) => `| ${label.padEnd(w)} | ${v.padStart(6)} |`),
      '',
      'per run (ms):  plain QEMU | nestbox total = to-spawn + guest + report',
      ...base.map((b, i) => {
        const n = nest[i] as NestboxRun;
        return `  ${String(i + 1).padStart(2)}: ${fmt(b.totalMs)} | ${fmt(n.totalMs)} = ${fmt(n.toSpawnMs)} + ${fmt(n.guestMs)} + ${fmt(n.reportMs)}`;
      }),
      '',
      ratio <= TARGET_RATIO ? `ratio ${ratio.toFixed(2)}x: within the ${TARGET_RATIO}x target` : `ratio ${ratio.toFixed(2)}x: OVER the ${TARGET_RATIO}x target`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (ratio > TARGET_RATIO) process.exitCode = 1;
  } finally {
    if (client && server && server.child.exitCode === null) {
      for (const id of launchedIds) await client.call('TerminateInstances', { 'InstanceId.1': id }).catch(() => undefined);
    }
    client?.close();
    if (server && server.child.exitCode === null) {
      const exited = new Promise((r) => server?.child.once('exit', r));
      server.child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
    // nestbox leaves QEMUs running when it stops (they are detached): none of this run's may stay
    for (const pid of qemusUnder(work)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:boot: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
