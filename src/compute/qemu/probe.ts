/**
 * What this host can run: the QEMU binary, the host's CPUs and memory, and whether KVM actually works.
 *
 * /dev/kvm existing proves little (on some hosts it is backed by something that stock guest kernels
 * cannot use: `-accel kvm` then hangs or aborts), so the honest probe is a real boot of the image under
 * KVM with a short deadline. Its result is cached in memory and in a file keyed by the host's boot id
 * and the QEMU binary, so it runs once per host boot.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { HostFacts } from './argv.js';
import { VM_FILES, buildQemuPlan } from './argv.js';
import { run, which } from './exec.js';
import type { ImageInfo } from './image.js';

export const QEMU_BINARY = 'qemu-system-x86_64';

/** qemu-system-x86_64 from $NESTBOX_QEMU or PATH, or undefined. */
export function findQemu(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return which(env.NESTBOX_QEMU || QEMU_BINARY, env.PATH ?? '');
}

const versions = new Map<string, Promise<string>>();
/** e.g. "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"; asked once per binary. */
export function qemuVersion(qemu: string): Promise<string> {
  let v = versions.get(qemu);
  if (v === undefined) {
    v = run(qemu, ['--version'], { timeoutMs: 5000 }).then(
      (r) => /version\s+(.+)/.exec(r.stdout)?.[1]?.trim() ?? 'unknown',
      () => 'unknown',
    );
    versions.set(qemu, v);
  }
  return v;
}

function meminfo(): Map<string, number> {
  const m = new Map<string, number>();
  try {
    for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
      const r = /^(\w+):\s+(\d+)\s*kB/.exec(line);
      if (r) m.set(r[1] as string, Number(r[2]) / 1024);
    }
  } catch {
    // not Linux
  }
  return m;
}

/** Memory the host could give to new processes now (MemAvailable), in MiB. */
export function memAvailableMiB(): number {
  return Math.floor(meminfo().get('MemAvailable') ?? totalmem() / 1048576);
}

export function hostFacts(): HostFacts {
  let virtExtension: HostFacts['virtExtension'];
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    virtExtension = /\bvmx\b/.test(flags) ? 'vmx' : /\bsvm\b/.test(flags) ? 'svm' : undefined;
  } catch {
    virtExtension = undefined;
  }
  return { cpus: availableParallelism(), memTotalMiB: Math.floor(totalmem() / 1048576), virtExtension };
}

export interface AccelChoice {
  readonly accel: 'kvm' | 'tcg';
  /** why, for the runtime info and the log */
  readonly reason: string;
}

export interface KvmProbeOptions {
  readonly qemu: string;
  readonly image: ImageInfo;
  /** where the result is kept across nestbox runs (one host boot) */
  readonly cacheFile?: string;
  /** a KVM boot of the image takes well under a second where KVM works */
  readonly timeoutMs?: number;
}

interface CachedProbe {
  readonly key: string;
  readonly usable: boolean;
  readonly reason: string;
  readonly at: string;
}

const inFlight = new Map<string, Promise<AccelChoice>>();

function probeKey(qemu: string): string {
  let boot = 'unknown-boot';
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // keep the placeholder: the cache then never matches a different boot by accident only if the file is absent everywhere
  }
  let qemuStamp = qemu;
  try {
    const st = statSync(qemu);
    qemuStamp = `${qemu}:${st.size}:${st.mtimeMs}`;
  } catch {
    // a missing binary fails the probe anyway
  }
  // KVM's usability is the host's and QEMU's, not the image's: a new image does not probe again
  return `${boot}|${qemuStamp}`;
}

/** Whether /dev/kvm can be used, without booting anything (cheap); undefined when it can. */
export function kvmDeviceProblem(): string | undefined {
  if (!existsSync('/dev/kvm')) return 'no /dev/kvm on this host';
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'no permission to open /dev/kvm';
  }
  return undefined;
}

/** KVM when a real boot under KVM reaches the image's boot marker, else TCG (with the reason). */
export function probeAccel(opts: KvmProbeOptions): Promise<AccelChoice> {
  const device = kvmDeviceProblem();
  if (device) return Promise.resolve({ accel: 'tcg', reason: device });
  const key = probeKey(opts.qemu);
  const running = inFlight.get(key);
  if (running) return running;
  if (opts.cacheFile) {
    try {
      const cached = JSON.parse(readFileSync(opts.cacheFile, 'utf8')) as CachedProbe;
      if (cached.key === key) {
        return Promise.resolve(
          cached.usable ? { accel: 'kvm', reason: cached.reason } : { accel: 'tcg', reason: `KVM probe (cached ${cached.at}): ${cached.reason}` },
        );
      }
    } catch {
      // no cache yet
    }
  }
  const probe = bootUnderKvm(opts).then((result) => {
    if (opts.cacheFile) {
      const entry: CachedProbe = { key, usable: result.usable, reason: result.reason, at: new Date().toISOString() };
      try {
        writeFileSync(opts.cacheFile, `${JSON.stringify(entry, null, 2)}\n`);
      } catch {
        // an unwritable cache only costs another probe
      }
    }
    return result.usable ? ({ accel: 'kvm', reason: result.reason } as const) : ({ accel: 'tcg', reason: `KVM probe: ${result.reason}` } as const);
  });
  inFlight.set(key, probe);
  void probe.finally(() => inFlight.delete(key));
  return probe;
}

/** Boots the image's kernel and initramfs (no disk) under KVM in a scratch directory and waits for `nestbox: booted` on its console. */
function bootUnderKvm(opts: KvmProbeOptions): Promise<{ usable: boolean; reason: string }> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-kvm-probe-'));
  const plan = buildQemuPlan({
    spec: {
      instanceId: 'kvm-probe',
      imageId: 'probe',
      instanceType: 'probe',
      platform: 'linux',
      architecture: 'x86_64',
      vcpus: 1,
      memoryMiB: 256,
      coreCount: 1,
      threadsPerCore: 1,
      nestedVirtualization: false,
      // no disk and no network: the probe boots the initramfs alone (`nestbox.probe=1`)
      network: { eniId: 'probe', mac: '02:00:00:00:00:01', privateIp: '10.0.2.15', subnetCidr: '10.0.2.0/24', privateDnsName: 'probe', openTcpPorts: [] },
      rootVolume: { volumeId: 'probe', sizeGiB: 1, deleteOnTermination: true },
    },
    accel: 'kvm',
    host: hostFacts(),
    limits: { maxVcpus: 1, maxMemoryMiB: 256, minMemoryMiB: 128 },
    image: { vmlinux: opts.image.vmlinux, initrd: opts.image.initramfs, hash: opts.image.hash, kernelRelease: opts.image.manifest.kernel.release },
  });
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(opts.qemu, plan.argv, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    let done = false;
    const finish = (usable: boolean, reason: string) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(deadline);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const cleanup = () => rmSync(dir, { recursive: true, force: true });
      if (child.exitCode === null && child.signalCode === null) child.once('close', cleanup);
      else cleanup();
      resolve({ usable, reason });
    };
    const poll = setInterval(() => {
      try {
        if (/(^|\n)nestbox: booted/.test(readFileSync(join(dir, VM_FILES.serial), 'utf8'))) {
          finish(true, `a test boot under KVM reached the boot marker in ${Date.now() - started} ms`);
        }
      } catch {
        // no console output yet
      }
    }, 50);
    const deadline = setTimeout(() => finish(false, `a test boot under KVM did not reach the boot marker within ${timeoutMs} ms`), timeoutMs);
    child.on('error', (err) => finish(false, `cannot run ${opts.qemu}: ${err.message}`));
    child.on('close', (code, signal) => {
      const last = stderr.trim().split('\n').filter((l) => !/warning:/.test(l)).slice(-1)[0];
      finish(false, `QEMU exited (${signal ?? `code ${code}`}) during a test boot under KVM${last ? `: ${last}` : ''}`);
    });
  });
}
