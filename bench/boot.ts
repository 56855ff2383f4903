/**
 * The boot benchmark (`npm run bench:boot`): how long until a user can use an instance. RunInstances →
 * the first successful `ssh admin@PublicIpAddress true`, for a real instance of the qemu driver, against
 * starting the same image with a plain QEMU command until its SSH server sends its banner, in the same
 * run. Then `l2-linux` once inside a nestbox instance (an L2 Linux VM booted through nested KVM).
 *
 *   baseline  qemu-system-x86_64 spawned directly with the argv the driver would use (the pure builder
 *             in src/compute/qemu/argv.ts, a fresh qcow2 overlay over the image, the accelerator the
 *             driver would choose, user networking with the SSH port forwarded and the same metadata
 *             service, src/imds/, so the guest does the same first-boot work), timed from the spawn
 *             until a TCP connection to the forwarded port reads `SSH-2.0-`.
 *   nestbox   the built nestbox (dist/) as a child process with --driver qemu; CreateKeyPair, then a
 *             SigV4-signed RunInstances (bench/http.ts) with that key, DescribeInstances every 50 ms
 *             until it is `running`, then `ssh` every 250 ms until a command succeeds; the instance is
 *             terminated (and its VM gone) before the next run.
 *
 * The two alternate (baseline, nestbox, baseline, …) after one discarded warm-up of each; the table
 * shows medians, and nestbox's time split into RunInstances → running and running → first ssh.
 *
 * Options: --runs N (3)  --warmup N (1)  --images-dir DIR (NESTBOX_IMAGE_DATA_DIR or ./.nestbox)
 *          --poll-ms N (50)  --vm-max-vcpus N (1)  --no-l2
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { ssh } from '../test/ssh.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VmSpec } from '../src/compute/driver.js';
import { VM_FILES, buildQemuPlan } from '../src/compute/qemu/argv.js';
import { type ImageInfo, findImage } from '../src/compute/qemu/image.js';
import { findQemu, hostFacts, probeAccel } from '../src/compute/qemu/probe.js';
import { loadCatalog } from '../src/domain/instance-types.js';
import { type ImdsInstanceView, createImdsService } from '../src/imds/index.js';
import { Ec2QueryClient } from './http.js';
import { ensureBuilt, freePort } from './servers.js';
import { median, readFlags } from './options.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NESTBOX_AMI = 'ami-0b5e4a1f2c3d40001';
const INSTANCE_TYPE = 'c8i.large';
const TARGET_RATIO = 1.2;
/** as the driver's default (--vm-memory-mib 512) */
const VM_MEMORY_MIB = 512;
const BOOT_TIMEOUT_MS = 120_000;
/** the baseline's addresses: a subnet like a default one, a loopback address nestbox's pool (127.64/10) never uses */
const BASE_SUBNET = '172.31.0.0/20';
const BASE_PRIVATE_IP = '172.31.0.8';
const BASE_PUBLIC_IP = '127.32.0.8';

interface Options {
  runs: number;
  warmup: number;
  imagesDir: string;
  pollMs: number;
  vmMaxVcpus: number;
  l2: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = {
    runs: 3,
    warmup: 1,
    imagesDir: resolve(process.env.NESTBOX_IMAGE_DATA_DIR ?? join(ROOT, '.nestbox')),
    pollMs: 50,
    vmMaxVcpus: 1,
    l2: true,
  };
  readFlags(argv, (r) => {
    switch (r.flag) {
      case '--runs': o.runs = r.int(1); break;
      case '--warmup': o.warmup = r.int(0); break;
      case '--images-dir': o.imagesDir = resolve(r.value()); break;
      case '--poll-ms': o.pollMs = r.int(1); break;
      case '--vm-max-vcpus': o.vmMaxVcpus = r.int(1); break;
      case '--no-l2': o.l2 = false; break;
      default:
        throw new Error(`unknown option ${r.flag}`);
    }
  });
  return o;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

/** The options of an argv (flags and the values of the ones that do not name this VM), to compare a baseline with the driver's VM. */
const shape = (argv: readonly string[]) =>
  argv.map((a, i) => (a.startsWith('-') || ['-M', '-accel', '-cpu', '-smp', '-m', '-kernel', '-initrd'].includes(argv[i - 1] ?? '') ? a : '<value>'));

/** Resolves once a TCP connection to host:port reads an SSH banner; retries while nothing listens. */
async function sshBanner(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await new Promise<boolean>((res) => {
      const sock = connect({ host, port });
      let buf = '';
      const done = (ok: boolean) => {
        sock.destroy();
        res(ok);
      };
      sock.setTimeout(2000, () => done(false));
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        if (buf.includes('SSH-2.0-')) done(true);
      });
      sock.on('error', () => done(false));
      sock.on('close', () => done(buf.includes('SSH-2.0-')));
    });
    if (got) return Date.now();
    if (!alive()) throw new Error('QEMU exited before its SSH server answered');
    if (Date.now() > deadline) throw new Error(`no SSH banner on ${host}:${port} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

// --- baseline: plain QEMU ---------------------------------------------------------------------------

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
    network: {
      eniId: 'eni-0bench00000000000',
      mac: '0e:00:00:00:00:08',
      privateIp: BASE_PRIVATE_IP,
      subnetCidr: BASE_SUBNET,
      privateDnsName: 'ip-172-31-0-8.ec2.internal',
      publicIp: BASE_PUBLIC_IP,
      openTcpPorts: [22],
    },
    rootVolume: { volumeId: 'vol-0bench00000000000', sizeGiB: 8, deleteOnTermination: true },
  };
}

function baselinePlan(image: ImageInfo, accel: 'kvm' | 'tcg', o: Options, id: string, disk: string, imdsSocket: string, sshPort: number) {
  return buildQemuPlan({
    spec: baselineSpec(id),
    accel,
    host: hostFacts(),
    limits: { maxVcpus: o.vmMaxVcpus, maxMemoryMiB: VM_MEMORY_MIB, minMemoryMiB: 256 },
    image: { vmlinux: image.vmlinux, initrd: image.initramfs, hash: image.hash, kernelRelease: image.manifest.kernel.release },
    attach: { disk, imdsSocket, forwards: [{ hostIp: BASE_PUBLIC_IP, hostPort: sshPort, guestIp: BASE_PRIVATE_IP, guestPort: 22 }] },
  });
}

/** The metadata the baseline's guest reads at its first boot: what nestbox's would serve. */
function baselineView(id: string, publicKey: string): ImdsInstanceView {
  const spec = baselineSpec(id);
  return {
    instanceId: id,
    imageId: NESTBOX_AMI,
    instanceType: INSTANCE_TYPE,
    account: '000000000000',
    region: 'us-east-1',
    availabilityZone: 'us-east-1a',
    architecture: 'x86_64',
    reservationId: 'r-0bench00000000000',
    amiLaunchIndex: 0,
    pendingTime: new Date().toISOString(),
    instanceLifeCycle: 'on-demand',
    privateIp: BASE_PRIVATE_IP,
    privateDnsName: spec.network.privateDnsName,
    publicIp: BASE_PUBLIC_IP,
    publicDnsName: 'ec2-127-32-0-8.compute-1.amazonaws.com',
    mac: spec.network.mac,
    eniId: spec.network.eniId,
    subnetId: 'subnet-0bench0000000000',
    subnetCidr: BASE_SUBNET,
    vpcId: 'vpc-0bench00000000000',
    vpcCidrs: ['172.31.0.0/16'],
    securityGroups: [{ id: 'sg-0bench00000000000', name: 'default' }],
    publicKeys: [{ name: 'bench', openssh: publicKey }],
    tags: new Map(),
    metadataOptions: { httpTokens: 'optional', httpEndpoint: 'enabled', hopLimit: 2, instanceMetadataTags: 'disabled' },
    rootDeviceName: '/dev/xvda',
  };
}

async function runBaseline(qemu: string, image: ImageInfo, accel: 'kvm' | 'tcg', o: Options, workDir: string, n: number, publicKey: string): Promise<{ totalMs: number; argv: readonly string[] }> {
  const dir = join(workDir, `baseline-${n}`);
  mkdirSync(dir, { recursive: true });
  const id = `i-0bench${String(n).padStart(10, '0')}`;
  const imds = createImdsService({ namespace: `bench${process.pid}`, lookup: async () => baselineView(id, publicKey) });
  let child: ChildProcess | undefined;
  try {
    const disk = join(dir, 'root.qcow2');
    await new Promise<void>((res, rej) =>
      execFile('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.rootfs, disk, '8G'], (err) => (err ? rej(err) : res())),
    );
    const socket = await imds.open(id);
    const port = await freePort();
    const { argv } = baselinePlan(image, accel, o, id, disk, socket, port);
    const t0 = Date.now();
    child = spawn(qemu, argv, { cwd: dir, stdio: 'ignore' });
    const c = child;
    const banner = await sshBanner(BASE_PUBLIC_IP, port, BOOT_TIMEOUT_MS, () => c.exitCode === null && c.signalCode === null);
    return { totalMs: banner - t0, argv };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await imds.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- nestbox ----------------------------------------------------------------------------------------

interface NestboxRun {
  readonly totalMs: number;
  /** RunInstances sent → DescribeInstances says running */
  readonly toRunningMs: number;
  /** running → the first ssh command that succeeded */
  readonly toSshMs: number;
  readonly sshAttempts: number;
  readonly argv: readonly string[];
  readonly id: string;
  readonly host: string;
  readonly port: number;
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
const unescapeXml = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#13;/g, '\r').replace(/&amp;/g, '&');

async function runNestbox(client: Ec2QueryClient, dataDir: string, o: Options, key: string): Promise<NestboxRun> {
  const t0 = Date.now();
  const run = await client.ok('RunInstances', {
    ImageId: NESTBOX_AMI,
    InstanceType: INSTANCE_TYPE,
    MinCount: 1,
    MaxCount: 1,
    KeyName: 'bench',
    'CpuOptions.NestedVirtualization': 'enabled',
  });
  const id = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(run.body)?.[1];
  if (!id) throw new Error(`RunInstances answered without an instance id: ${run.body.slice(0, 300)}`);
  let runningAt: number;
  let body: string;
  for (;;) {
    body = (await client.ok('DescribeInstances', { 'InstanceId.1': id })).body;
    const state = stateOf(body);
    if (state === 'running') {
      runningAt = Date.now();
      break;
    }
    if (state !== 'pending') throw new Error(`${id} went ${state} instead of running`);
    if (Date.now() - t0 > BOOT_TIMEOUT_MS) throw new Error(`${id} not running within ${BOOT_TIMEOUT_MS} ms`);
    await sleep(o.pollMs);
  }
  const host = /<ipAddress>([0-9.]+)<\/ipAddress>/.exec(body)?.[1];
  if (!host) throw new Error(`${id} is running without a public IP address`);
  const tagged = /<key>nestbox:ssh-port<\/key>\s*<value>(\d+)<\/value>/.exec(body)?.[1];
  const port = tagged ? Number(tagged) : 22;
  let attempts = 0;
  for (;;) {
    attempts++;
    const r = await ssh({ host, port, key }, 'true');
    if (r.code === 0) break;
    if (Date.now() - t0 > BOOT_TIMEOUT_MS) throw new Error(`no ssh to ${id} (${host}:${port}) within ${BOOT_TIMEOUT_MS} ms: ${r.stdout}${r.stderr}`);
    await sleep(250);
  }
  const sshAt = Date.now();
  const state = JSON.parse(readFileSync(join(dataDir, 'vms', id, VM_FILES.state), 'utf8')) as { pid: number };
  let argv: string[] = [];
  try {
    argv = readFileSync(`/proc/${state.pid}/cmdline`, 'utf8').split('\0').slice(1, -1);
  } catch {
    // gone: the comparison is skipped
  }
  return { totalMs: sshAt - t0, toRunningMs: runningAt - t0, toSshMs: sshAt - runningAt, sshAttempts: attempts, argv, id, host, port };
}

async function terminate(client: Ec2QueryClient, id: string, dataDir: string): Promise<void> {
  await client.ok('TerminateInstances', { 'InstanceId.1': id });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = stateOf((await client.ok('DescribeInstances', { 'InstanceId.1': id })).body);
    if (state === 'terminated' && !existsSync(join(dataDir, 'vms', id))) return;
    if (Date.now() > deadline) throw new Error(`${id} not terminated within 30 s (state ${state})`);
    await sleep(50);
  }
}

// --- the run ----------------------------------------------------------------------------------------

const fmt = (ms: number) => `${Math.round(ms)}`.padStart(6);

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
    const created = await client.ok('CreateKeyPair', { KeyName: 'bench', KeyType: 'ed25519' });
    const key = join(work, 'bench.pem');
    writeFileSync(key, `${unescapeXml(/<keyMaterial>([\s\S]*?)<\/keyMaterial>/.exec(created.body)?.[1] ?? '').trim()}\n`, { mode: 0o600 });
    const publicKey = await new Promise<string>((res, rej) =>
      execFile('ssh-keygen', ['-y', '-f', key], (err, out) => (err ? rej(err) : res(out.trim()))),
    );
    log(`nestbox at ${server.endpoint} (data dir ${dataDir}); ${o.warmup} warm-up + ${o.runs} measured runs of each, alternating`);

    const base: number[] = [];
    const nest: NestboxRun[] = [];
    let argvChecked = false;
    let last: NestboxRun | undefined;
    for (let i = 0; i < o.warmup + o.runs; i++) {
      const measured = i >= o.warmup;
      const tag = measured ? `run ${i - o.warmup + 1}/${o.runs}` : `warm-up ${i + 1}/${o.warmup}`;
      const b = await runBaseline(qemu, image, accel.accel, o, work, i, publicKey);
      if (last) await terminate(client, last.id, dataDir);
      const n = await runNestbox(client, dataDir, o, key);
      launchedIds.push(n.id);
      log(`${tag}: plain QEMU to SSH banner ${Math.round(b.totalMs)} ms, nestbox to first ssh ${Math.round(n.totalMs)} ms (running after ${Math.round(n.toRunningMs)} ms)`);
      if (!argvChecked && n.argv.length > 0) {
        // the baseline must be what the driver runs: the same options, only this VM's names and addresses differ
        if (JSON.stringify(shape(b.argv)) !== JSON.stringify(shape(n.argv))) {
          throw new Error(`the baseline's argv differs from the driver's:\n  baseline: ${b.argv.join(' ')}\n  driver:   ${n.argv.join(' ')}`);
        }
        log('the baseline runs the same QEMU options as the driver (names and addresses aside)');
        argvChecked = true;
      }
      if (measured) {
        base.push(b.totalMs);
        nest.push(n);
      }
      last = n;
    }

    let l2 = '';
    if (o.l2 && last) {
      const t0 = Date.now();
      const r = await ssh({ host: last.host, port: last.port, key }, 'l2-linux');
      const ms = Date.now() - t0;
      const ok = r.code === 0 && /^L2 LINUX OK/m.test(r.stdout + r.stderr);
      l2 = ok ? `l2-linux (an L2 Linux VM through nested KVM, inside the TCG L1): ${ms} ms, L2 LINUX OK` : `l2-linux FAILED (${r.code}) after ${ms} ms:\n${(r.stdout + r.stderr).slice(-2000)}`;
      if (!ok) process.exitCode = 1;
    }
    if (last) await terminate(client, last.id, dataDir);

    const mBase = median(base);
    const mNest = median(nest.map((r) => r.totalMs));
    const ratio = mNest / mBase;
    const rows: [string, string][] = [
      ['plain QEMU: spawn → SSH banner on the forwarded port', fmt(mBase)],
      ['nestbox: RunInstances sent → first successful `ssh admin@PublicIpAddress true`', fmt(mNest)],
      [`ratio nestbox / plain QEMU (target ≤ ${TARGET_RATIO})`, ratio.toFixed(3).padStart(6)],
      ['nestbox, part by part (the median of each):', ''],
      ["  RunInstances sent → DescribeInstances 'running'", fmt(median(nest.map((r) => r.toRunningMs)))],
      ["  'running' → first ssh command done", fmt(median(nest.map((r) => r.toSshMs)))],
    ];
    const w = Math.max(...rows.map(([label]) => label.length));
    const lines = [
      '',
      `boot: RunInstances → first ssh vs plain QEMU → SSH banner (${INSTANCE_TYPE}, nested enabled, ${accel.accel.toUpperCase()}, ` +
        `${o.vmMaxVcpus} vCPU, ${VM_MEMORY_MIB} MiB; medians of ${o.runs} alternating runs, ms)`,
      '',
      `| ${'measure'.padEnd(w)} |     ms |`,
      `|${'-'.repeat(w + 2)}|-------:|`,
      ...rows.map(([label, v]) => `| ${label.padEnd(w)} | ${v.padStart(6)} |`),
      '',
      'per run (ms):  plain QEMU | nestbox total = to running + to ssh (ssh attempts)',
      ...base.map((b, i) => {
        const n = nest[i] as NestboxRun;
        return `  ${String(i + 1).padStart(2)}: ${fmt(b)} | ${fmt(n.totalMs)} = ${fmt(n.toRunningMs)} + ${fmt(n.toSshMs)} (${n.sshAttempts})`;
      }),
      '',
      ...(l2 ? [l2, ''] : []),
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
