/**
 * The qemu driver: every instance is a real QEMU process (L1) booting the built-in image, supervised
 * from real events only.
 *
 *   booted   the guest printed `nestbox: booted` on its serial console (serial.log, tailed)
 *   halted   QEMU exited after a requested stop (requested: true), or after the guest powered itself
 *            off (QMP SHUTDOWN guest=true, requested: false)
 *   crashed  QEMU exited without being asked and without a guest power-off (kill -9, a QEMU abort)
 *   launch-failed  QEMU exited with an error before the guest booted (bad image, bad argv)
 *
 * stop = QMP system_powerdown (the guest's ACPI power button; re-pressed every few seconds) with a
 * deadline, then SIGKILL; a VM that has not booted yet has nothing to shut down and is killed at once.
 * reboot = QMP system_reset. destroy = SIGKILL + delete the instance directory.
 *
 * QEMU runs detached in its own session, with the instance directory <dataDir>/vms/<id>/ as its
 * working directory (serial.log, qmp.sock, pid, qemu.log, vm.json), so it outlives a nestbox restart;
 * adopt() finds it again by its pid file (checked against /proc/<pid>/cwd) and reconnects to QMP.
 *
 * The root volume is <dataDir>/volumes/<vol-id>.qcow2, a copy-on-write overlay over the image's root
 * filesystem made at the first boot: it lives as long as the volume (stop/start, restarts), and goes
 * with the instance unless DeleteOnTermination is false (then DeleteVolume removes it). Data volumes are
 * qcow2 files in <dataDir>/ebs/ (made empty, or from a snapshot, when first needed; grown at start when
 * ModifyVolume made them bigger), snapshots standalone qcow2 copies in <dataDir>/snapshots/; a VM gets
 * the data volumes attached to its instance when it starts (microvm's virtio-mmio has no hotplug). The instance's
 * metadata service (IMDS) is opened before QEMU starts and closed when the VM is gone; the guest
 * reaches it through QEMU's user networking (see argv.ts). So does the world reach the ports its security
 * groups open, on its public address: forwarded by QEMU from the start, and changed in place while it
 * runs when the store changes them (applyNetwork, VmHost's network pass: forwards.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Errors } from '../../domain/errors.js';
import type { HostNetwork, VmDriver, VmEventSink, VmRootVolume, VmSpec } from '../driver.js';
import { type Accel, type HostFacts, type QemuPlan, VM_FILES, type VmLimits, buildQemuPlan, scaleMemory } from './argv.js';
import { lastLines, run } from './exec.js';
import {
  HIGH_PORT_OFFSET,
  LOW_PORT_LIMIT,
  type PublicForward,
  forwardChanges,
  hostfwdAdd,
  hostfwdRemove,
  hostfwdRule,
  parseUsernetForwards,
  publicForwards,
  removedOutput,
} from './forwards.js';
import type { ImageInfo } from './image.js';
import { type AccelChoice, hostFacts, memAvailableMiB, probeAccel, qemuVersion } from './probe.js';
import { QmpClient, type QmpEvent } from './qmp.js';
import type { PrivateNetwork } from './vpc-network.js';

/** The instance metadata service, one endpoint per instance (src/imds/). */
export interface ImdsEndpoints {
  /** Serves `instanceId`'s metadata; resolves with its abstract socket name once listening. */
  open(instanceId: string): Promise<string>;
  close(instanceId: string): Promise<void>;
}

export interface QemuDriverOptions {
  /** VMs live in <dataDir>/vms/<instanceId>/, root volumes in <dataDir>/volumes/ */
  readonly dataDir: string;
  /** the base image (booted by the KVM probe, and by instances of the `base` variant) */
  readonly image: ImageInfo;
  /** the built image of a variant (`cloud-init`, …); default: only the base image */
  readonly imageOf?: (variant: string) => ImageInfo | undefined;
  /** the qemu-system-x86_64 binary (see probe.ts findQemu) */
  readonly qemu: string;
  /** qemu-img, which makes the root volumes (default: `qemu-img` on PATH) */
  readonly qemuImg?: string;
  /** where guests find their metadata; without it the guests' metadata requests fail */
  readonly imds?: ImdsEndpoints;
  /** the host may bind TCP ports below 1024 (default: root, or the kernel's unprivileged port start allows it) */
  readonly canBindLowPorts?: boolean;
  /** auto (default): KVM when a probe boot under KVM works, else TCG */
  readonly accel?: 'auto' | Accel;
  /** vCPUs of one VM at most (default: the host's CPU count) */
  readonly maxVcpus?: number;
  /** guest memory of one VM at most, MiB (default 512: room for an L2 guest) */
  readonly maxMemoryMiB?: number;
  /** guest memory + QEMU overhead of all VMs together, MiB (default 75% of the host's memory) */
  readonly memoryBudgetMiB?: number;
  /** VMs at once at most (default: no limit beyond the memory budget) */
  readonly maxVms?: number;
  /** how long a guest gets to power off after the power button before it is killed (default 30 s) */
  readonly stopTimeoutMs?: number;
  /** the KVM probe's deadline (default 10 s) */
  readonly probeTimeoutMs?: number;
  /** where the KVM probe's result is cached (default: kvm-probe.json beside the image's directory) */
  readonly probeCacheFile?: string;
  /** TCG translation cache per VM, MiB (default 64) */
  readonly tcgTbSizeMiB?: number;
  /** host facts (tests) */
  readonly host?: HostFacts;
  /** private networking between the VMs of a VPC, with security groups (vpc-network.ts); absent: none */
  readonly privateNetwork?: PrivateNetwork | undefined;
  readonly log?: { info(line: string): void; warn(line: string): void };
}

/** The qemu driver: a VmDriver plus the admission check the API runs before it records a launch. */
export interface QemuDriver extends VmDriver {
  /**
   * Throws InsufficientInstanceCapacity when the host cannot take these VMs on top of the ones it runs
   * (memory budget, VM count, host memory available now, or an architecture it cannot run). Synchronous.
   */
  admit(specs: readonly VmSpec[]): void;
  sweep(live: ReadonlySet<string>, known: ReadonlySet<string>): Promise<void>;
  deleteVolume(volumeId: string): Promise<void>;
  snapshotVolume(volumeId: string, snapshotId: string): Promise<boolean>;
  copySnapshot(fromSnapshotId: string, toSnapshotId: string): Promise<void>;
  deleteSnapshot(snapshotId: string): Promise<void>;
  restoreVolume(snapshotId: string, volumeId: string, sizeGiB: number): Promise<void>;
  applyNetwork(desired: HostNetwork): Promise<void>;
  capacity(): { readonly vms: number; readonly reservedMiB: number; readonly budgetMiB: number; readonly maxVms: number | undefined };
}

/** QEMU's own memory beyond the guest's (TCG translation cache, device state, the binary itself). */
const OVERHEAD_MIB = 64;
/** admit() leaves at least this much of the host's available memory to everything else */
const HOST_RESERVE_MIB = 256;
const MIN_GUEST_MIB = 256;
const BOOT_MARKER = /(?:^|\n)nestbox: booted/;
const SERIAL_POLL_MS = 100;
const ALIVE_POLL_MS = 1000;
const POWER_BUTTON_REPEAT_MS = 3000;
const QMP_CONNECT_MS = 10_000;
/** consoleOutput returns at most this much of the end of the serial log */
const CONSOLE_MAX_BYTES = 1024 * 1024;

type Phase = 'launching' | 'running' | 'gone';

interface Vm {
  readonly id: string;
  readonly dir: string;
  spec: VmSpec;
  phase: Phase;
  pid?: number;
  child?: ChildProcess;
  qmp?: QmpClient;
  plan?: QemuPlan;
  accel?: AccelChoice;
  /** the boot marker was seen since the last (re)boot */
  guestReady: boolean;
  bootedReported: boolean;
  stopRequested: boolean;
  destroyRequested: boolean;
  /** QMP SHUTDOWN's data, when QEMU said why it is going down */
  shutdown?: { guest: boolean; reason: string };
  /** what QEMU forwards from the public address now (forwards.ts); undefined while not known (no QEMU yet, or an adopted one not asked) */
  forwards?: PublicForward[];
  /** the last problem changing the forwards, said once until it changes */
  forwardProblem?: string;
  spawnedAt: number;
  serialOffset: number;
  serialCarry: string;
  readonly timers: Set<NodeJS.Timeout>;
  reservedMiB: number;
  exited: Promise<void>;
  markExited: () => void;
}

interface VmState {
  readonly instanceId: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly runtime: Readonly<Record<string, string>>;
  /** what the VM was started with: a destroy after a restart still knows the root volume's fate */
  readonly rootVolume?: VmRootVolume;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A function, not an inline comparison: the phase changes behind TypeScript's back across awaits. */
const gone = (vm: { phase: Phase }) => vm.phase === 'gone';

/** 'alive', 'zombie' (exited, not yet reaped) or 'gone'. */
function procState(pid: number): 'alive' | 'zombie' | 'gone' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X' ? 'zombie' : 'alive';
  } catch {
    return 'gone';
  }
}

/** The live QEMU of instance directory `dir`, from its pid file, checked against /proc (a pid may be reused). */
function livePidOf(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(dir, VM_FILES.pid), 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  if (procState(pid) !== 'alive') return undefined;
  try {
    // /proc shows the canonical path: a data dir reached through a symlink must still match
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    if (cwd !== dir && cwd !== realpathSync(dir)) return undefined;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('qemu-system')) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

/** A unix socket path must fit in 108 bytes; /proc/<pid>/cwd/ reaches the same file by a short path. */
function qmpPath(vm: Vm): string {
  const full = join(vm.dir, VM_FILES.qmp);
  return full.length < 100 || vm.pid === undefined ? full : `/proc/${vm.pid}/cwd/${VM_FILES.qmp}`;
}

export function createQemuDriver(events: VmEventSink, opts: QemuDriverOptions): QemuDriver {
  const dataDir = resolve(opts.dataDir);
  const vmsDir = join(dataDir, 'vms');
  const volumesDir = join(dataDir, 'volumes');
  const ebsDir = join(dataDir, 'ebs');
  const snapshotsDir = join(dataDir, 'snapshots');
  const qemuImg = opts.qemuImg ?? 'qemu-img';
  const imageOf = opts.imageOf ?? ((variant: string) => (variant === 'base' ? opts.image : undefined));
  const host = opts.host ?? hostFacts();
  const limits: VmLimits = {
    maxVcpus: Math.max(1, opts.maxVcpus ?? host.cpus),
    maxMemoryMiB: Math.max(MIN_GUEST_MIB, opts.maxMemoryMiB ?? 512),
    minMemoryMiB: MIN_GUEST_MIB,
  };
  const budgetMiB = opts.memoryBudgetMiB ?? Math.floor(host.memTotalMiB * 0.75);
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const log = opts.log ?? { info: () => undefined, warn: () => undefined };
  const lowPorts = opts.canBindLowPorts ?? canBindLowPorts();
  if (!lowPorts) {
    log.warn(
      `qemu driver: this process may not bind ports below ${LOW_PORT_LIMIT} (not root, no CAP_NET_BIND_SERVICE), so a public address's port p < ${LOW_PORT_LIMIT} is forwarded from p + ${HIGH_PORT_OFFSET} (ssh -p ${22 + HIGH_PORT_OFFSET}); the instance's nestbox:ssh-port tag says which`,
    );
  }
  const vms = new Map<string, Vm>();
  /** timers not tied to one VM (destroy of a VM this driver does not track) */
  const looseTimers = new Set<NodeJS.Timeout>();
  let closed = false;
  /** aborts QMP connections in progress at close() */
  const closing = new AbortController();
  let accelChoice: Promise<AccelChoice> | undefined;

  const emit: VmEventSink = (id, event) => {
    if (!closed) events(id, event);
  };

  const chooseAccel = (): Promise<AccelChoice> => {
    if (opts.accel === 'tcg') return Promise.resolve({ accel: 'tcg', reason: 'TCG was chosen in the configuration' });
    if (opts.accel === 'kvm') return Promise.resolve({ accel: 'kvm', reason: 'KVM was chosen in the configuration' });
    accelChoice ??= probeAccel({
      qemu: opts.qemu,
      image: opts.image,
      cacheFile: opts.probeCacheFile ?? join(dirname(opts.image.dir), 'kvm-probe.json'),
      timeoutMs: opts.probeTimeoutMs,
    }).then((choice) => {
      log.info(`qemu driver: ${choice.accel.toUpperCase()} (${choice.reason})`);
      return choice;
    });
    return accelChoice;
  };

  const costOf = (spec: VmSpec) => scaleMemory(spec.memoryMiB, limits) + OVERHEAD_MIB;
  const reservedMiB = () => [...vms.values()].reduce((sum, vm) => sum + vm.reservedMiB, 0);
  const liveCount = () => [...vms.values()].filter((vm) => !gone(vm)).length;

  function admit(specs: readonly VmSpec[]): void {
    if (specs.length === 0) return;
    const type = specs[0]?.instanceType ?? 'this';
    const arm = specs.find((s) => s.architecture !== 'x86_64');
    if (arm) throw Errors.insufficientCapacity(arm.instanceType, `This nestbox host runs x86_64 VMs only (QEMU driver).`);
    const need = specs.reduce((sum, s) => sum + costOf(s), 0);
    const reserved = reservedMiB();
    if (opts.maxVms !== undefined && liveCount() + specs.length > opts.maxVms) {
      throw Errors.insufficientCapacity(type, `This nestbox host runs at most ${opts.maxVms} VMs (${liveCount()} running).`);
    }
    if (reserved + need > budgetMiB) {
      throw Errors.insufficientCapacity(
        type,
        `This nestbox host's VM memory budget is ${budgetMiB} MiB; ${reserved} MiB are in use and ${need} MiB more were asked for.`,
      );
    }
    const available = memAvailableMiB();
    if (available - need < HOST_RESERVE_MIB) {
      throw Errors.insufficientCapacity(type, `This nestbox host has ${available} MiB of memory available; ${need} MiB were asked for.`);
    }
  }

  function newVm(spec: VmSpec): Vm {
    let markExited!: () => void;
    const exited = new Promise<void>((r) => (markExited = r));
    return {
      id: spec.instanceId,
      dir: join(vmsDir, safeDirName(spec.instanceId)),
      spec,
      phase: 'launching',
      guestReady: false,
      bootedReported: false,
      stopRequested: false,
      destroyRequested: false,
      spawnedAt: Date.now(),
      serialOffset: 0,
      serialCarry: '',
      timers: new Set(),
      reservedMiB: 0,
      exited,
      markExited,
    };
  }

  function every(vm: Vm, ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    vm.timers.add(t);
  }

  function after(vm: Vm, ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      vm.timers.delete(t);
      fn();
    }, ms);
    vm.timers.add(t);
    return t;
  }

  function clearTimers(vm: Vm): void {
    for (const t of vm.timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    vm.timers.clear();
  }

  /** Reads new serial output; reports 'booted' at the first boot marker. */
  function readSerial(vm: Vm): void {
    let fd: number;
    try {
      fd = openSync(join(vm.dir, VM_FILES.serial), 'r');
    } catch {
      return;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < vm.serialOffset) vm.serialOffset = 0;
      while (vm.serialOffset < size) {
        const buf = Buffer.alloc(Math.min(65536, size - vm.serialOffset));
        const n = readSync(fd, buf, 0, buf.length, vm.serialOffset);
        if (n <= 0) break;
        vm.serialOffset += n;
        const text = vm.serialCarry + buf.subarray(0, n).toString('latin1');
        if (!vm.guestReady && BOOT_MARKER.test(text)) onGuestReady(vm);
        vm.serialCarry = text.slice(-64);
      }
    } finally {
      closeSync(fd);
    }
  }

  function onGuestReady(vm: Vm): void {
    vm.guestReady = true;
    if (vm.bootedReported || vm.stopRequested || vm.destroyRequested || gone(vm)) return;
    vm.bootedReported = true;
    vm.phase = 'running';
    const runtime = { ...(vm.plan?.runtime ?? {}), bootMs: String(Date.now() - vm.spawnedAt), pid: String(vm.pid ?? '') };
    emit(vm.id, { kind: 'booted', runtime });
  }

  /** Tails the serial log until the guest is up (again, after a reset). */
  function watchSerial(vm: Vm): void {
    every(vm, SERIAL_POLL_MS, () => {
      if (vm.guestReady) return;
      readSerial(vm);
    });
  }

  function onQmpEvent(vm: Vm, e: QmpEvent): void {
    if (e.event === 'SHUTDOWN') {
      vm.shutdown = { guest: e.data?.guest === true, reason: String(e.data?.reason ?? 'unknown') };
    } else if (e.event === 'RESET') {
      // a new boot: what the console printed so far belongs to the old one
      readSerial(vm);
      vm.serialCarry = '';
      vm.guestReady = false;
    }
  }

  /** Connects to the VM's QMP socket, retrying while QEMU starts; undefined when it never answered. */
  async function connectQmp(vm: Vm, deadlineMs: number): Promise<QmpClient | undefined> {
    const deadline = Date.now() + deadlineMs;
    while (!closed && !gone(vm) && Date.now() < deadline) {
      if (existsSync(join(vm.dir, VM_FILES.qmp))) {
        try {
          const client = await QmpClient.connect(qmpPath(vm), Math.max(500, deadline - Date.now()), closing.signal);
          if (closed || gone(vm)) {
            client.close();
            return undefined;
          }
          return client;
        } catch {
          // not listening yet (or aborted by close())
        }
      }
      // close() may have run while the connection was tried: no new timer after it.
      if (closed || gone(vm)) break;
      await new Promise<void>((r) => after(vm, 50, r));
    }
    return undefined;
  }

  function attachQmp(vm: Vm, client: QmpClient): void {
    vm.qmp = client;
    client.onEvent((e) => onQmpEvent(vm, e));
    client.onClose(() => {
      if (vm.qmp === client) vm.qmp = undefined;
      // our own child reports its exit (with its code or signal); an adopted QEMU is checked here
      if (!vm.child) checkAlive(vm);
    });
  }

  function checkAlive(vm: Vm): void {
    if (gone(vm) || vm.pid === undefined) return;
    if (procState(vm.pid) !== 'alive') onExit(vm, { code: null, signal: null });
  }

  /** QEMU is gone: report what that means, once. */
  function onExit(vm: Vm, how: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (gone(vm)) return;
    const wasBooted = vm.bootedReported;
    vm.phase = 'gone';
    clearTimers(vm);
    vm.qmp?.close();
    vm.qmp = undefined;
    vm.reservedMiB = 0;
    vm.guestReady = false;
    rmSync(join(vm.dir, VM_FILES.qmp), { force: true });
    rmSync(join(vm.dir, VM_FILES.pid), { force: true });
    vm.markExited();
    if (closed) return;
    void opts.imds?.close(vm.id);
    opts.privateNetwork?.unplug(vm.id).catch((err: unknown) => log.warn(`instance ${vm.id}: private network: ${errorText(err)}`));
    if (vm.destroyRequested) return;
    if (vm.stopRequested) {
      emit(vm.id, { kind: 'halted', requested: true });
    } else if (vm.shutdown?.guest) {
      emit(vm.id, { kind: 'halted', requested: false });
    } else if (!wasBooted && how.signal === null && how.code !== null && how.code !== 0) {
      emit(vm.id, { kind: 'launch-failed', detail: `QEMU exited with code ${how.code} before the guest booted: ${qemuLogTail(vm)}` });
    } else {
      const why = how.signal
        ? `QEMU was killed by ${how.signal}`
        : vm.shutdown
          ? `QEMU shut down (${vm.shutdown.reason}) without being asked`
          : how.code !== null
            ? `QEMU exited with code ${how.code} without being asked`
            : 'the QEMU process disappeared';
      emit(vm.id, { kind: 'crashed', detail: `${why}${how.code ? `: ${qemuLogTail(vm)}` : ''}` });
    }
  }

  function qemuLogTail(vm: Vm): string {
    try {
      const text = readFileSync(join(vm.dir, VM_FILES.qemuLog), 'utf8')
        .split('\n')
        .filter((l) => !/warning: TCG doesn't support requested feature/.test(l))
        .join('\n');
      return lastLines(text, 3) || '(no output)';
    } catch {
      return '(no output)';
    }
  }

  function kill(vm: Vm): void {
    if (gone(vm)) return;
    try {
      if (vm.child && vm.child.exitCode === null && vm.child.signalCode === null) vm.child.kill('SIGKILL');
      else if (vm.pid !== undefined && livePidOf(vm.dir) === vm.pid) process.kill(vm.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    // an adopted QEMU is not our child: no 'exit' event, so look
    if (!vm.child) after(vm, 50, () => checkAlive(vm));
  }

  /** A fresh instance directory (0700: the QMP socket in it controls the VM), without an earlier boot's files. */
  function prepareDir(vm: Vm): void {
    mkdirSync(vm.dir, { recursive: true, mode: 0o700 });
    for (const f of [VM_FILES.serial, VM_FILES.qmp, VM_FILES.pid, VM_FILES.qemuLog, VM_FILES.state]) {
      rmSync(join(vm.dir, f), { force: true });
    }
  }

  /**
   * The root volume's disk, made at the first boot over the image's root filesystem — or, for an
   * instance of a user image, as a standalone copy of the image's root snapshot (grown to the volume's
   * size), so it holds what the imaged instance's disk held.
   */
  async function rootDisk(spec: VmSpec, image: ImageInfo): Promise<string> {
    const file = volumeFile(spec.rootVolume.volumeId);
    if (existsSync(file)) return file;
    mkdirSync(volumesDir, { recursive: true, mode: 0o700 });
    const snapshot = spec.rootVolume.snapshotId !== undefined ? snapshotFile(spec.rootVolume.snapshotId) : undefined;
    if (snapshot !== undefined && existsSync(snapshot)) {
      const sizeGiB = spec.rootVolume.sizeGiB;
      await madeAs(file, async (partial) => {
        await run(qemuImg, ['convert', '-q', '-O', 'qcow2', snapshot, partial]);
        if ((await virtualSize(partial)) < sizeGiB * 1024 ** 3) await run(qemuImg, ['resize', '-q', partial, `${sizeGiB}G`]);
      });
      return file;
    }
    const size = Math.max(spec.rootVolume.sizeGiB, image.rootfsSizeGiB);
    const partial = `${file}.${process.pid}.partial`;
    await run(opts.qemuImg ?? 'qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.rootfs, partial, `${size}G`]);
    renameSync(partial, file);
    return file;
  }

  const volumeFile = (volumeId: string) => join(volumesDir, `${safeDirName(volumeId)}.qcow2`);
  const dataFile = (volumeId: string) => join(ebsDir, `${safeDirName(volumeId)}.qcow2`);
  const snapshotFile = (snapshotId: string) => join(snapshotsDir, `${safeDirName(snapshotId)}.qcow2`);

  /** A file made under a temporary name and renamed into place, so a crash never leaves half a disk. */
  async function madeAs(file: string, make: (partial: string) => Promise<void>): Promise<void> {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const partial = `${file}.${process.pid}.partial`;
    try {
      await make(partial);
      renameSync(partial, file);
    } finally {
      rmSync(partial, { force: true });
    }
  }

  /** The virtual size of a qcow2 file, in bytes (-U: a running VM may hold it). */
  async function virtualSize(file: string): Promise<number> {
    const out = await run(qemuImg, ['info', '-U', '--output=json', file]);
    return Number((JSON.parse(out.stdout) as { 'virtual-size': number })['virtual-size']);
  }

  /** A data volume's disk: made empty (sparse) when it has none yet, grown when ModifyVolume made the volume bigger. */
  async function dataDisk(volumeId: string, sizeGiB: number): Promise<string> {
    const file = dataFile(volumeId);
    if (!existsSync(file)) {
      await madeAs(file, (partial) => run(qemuImg, ['create', '-q', '-f', 'qcow2', partial, `${sizeGiB}G`]).then(() => undefined));
    } else if ((await virtualSize(file)) < sizeGiB * 1024 ** 3) {
      await run(qemuImg, ['resize', '-q', file, `${sizeGiB}G`]);
    }
    return file;
  }

  /** The live VM that has `volumeId` open, and the QMP name of its drive. */
  function vmHolding(volumeId: string): { vm: Vm; drive: string } | undefined {
    for (const vm of vms.values()) {
      if (gone(vm) || !vm.qmp) continue;
      if (vm.spec.rootVolume.volumeId === volumeId) return { vm, drive: 'root' };
      const data = vm.spec.dataVolumes?.find((v) => v.volumeId === volumeId);
      if (data) return { vm, drive: data.serial.replace(/[^A-Za-z0-9_-]/g, '_') };
    }
    return undefined;
  }

  /**
   * A point-in-time copy of a volume's disk: QMP drive-backup (sync=full) while a VM has it open, so the
   * guest runs on and the copy is what the disk held when the job started; `qemu-img convert` otherwise.
   * The copy is a standalone qcow2 (a root volume's is flattened off its image).
   */
  async function snapshotVolume(volumeId: string, snapshotId: string): Promise<boolean> {
    const source = [dataFile(volumeId), volumeFile(volumeId)].find((f) => existsSync(f));
    if (!source) return false;
    const target = snapshotFile(snapshotId);
    const holder = vmHolding(volumeId);
    if (holder) {
      await madeAs(target, (partial) => driveBackup(holder.vm, holder.drive, partial));
    } else {
      await madeAs(target, (partial) => run(qemuImg, ['convert', '-q', '-O', 'qcow2', source, partial]).then(() => undefined));
    }
    return true;
  }

  /** QMP drive-backup of one drive to `target`, resolved when the block job completes. */
  function driveBackup(vm: Vm, drive: string, target: string): Promise<void> {
    const qmp = vm.qmp!;
    const jobId = `backup-${drive}-${Date.now()}`;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        if (err) reject(err);
        else resolve();
      };
      qmp.onEvent((e) => {
        if ((e.event === 'BLOCK_JOB_COMPLETED' || e.event === 'BLOCK_JOB_CANCELLED') && e.data?.device === jobId) {
          const error = e.data?.error;
          finish(e.event === 'BLOCK_JOB_CANCELLED' || error ? new Error(`drive-backup of ${drive}: ${String(error ?? 'cancelled')}`) : undefined);
        }
      });
      qmp.onClose(() => finish(new Error(`drive-backup of ${drive}: QEMU exited`)));
      qmp
        .execute('drive-backup', { 'job-id': jobId, device: drive, target, sync: 'full', format: 'qcow2', mode: 'absolute-paths' })
        .catch((err: Error) => finish(err));
    });
  }

  async function copySnapshot(fromSnapshotId: string, toSnapshotId: string): Promise<void> {
    const source = snapshotFile(fromSnapshotId);
    if (!existsSync(source)) return; // an empty snapshot: so is its copy
    await madeAs(snapshotFile(toSnapshotId), (partial) => run('cp', ['--reflink=auto', '--sparse=always', source, partial]).then(() => undefined));
  }

  async function deleteSnapshot(snapshotId: string): Promise<void> {
    rmSync(snapshotFile(snapshotId), { force: true });
  }

  /** A restored volume's disk: a copy of the snapshot's, grown to the volume's size. */
  async function restoreVolume(snapshotId: string, volumeId: string, sizeGiB: number): Promise<void> {
    const source = snapshotFile(snapshotId);
    if (!existsSync(source) || existsSync(dataFile(volumeId))) return;
    await madeAs(dataFile(volumeId), async (partial) => {
      await run(qemuImg, ['convert', '-q', '-O', 'qcow2', source, partial]);
      if ((await virtualSize(partial)) < sizeGiB * 1024 ** 3) await run(qemuImg, ['resize', '-q', partial, `${sizeGiB}G`]);
    });
  }

  async function launch(vm: Vm): Promise<void> {
    const [accel, version] = await Promise.all([chooseAccel(), qemuVersion(opts.qemu)]);
    vm.accel = accel;
    if (closed || vm.destroyRequested || vm.stopRequested) {
      // stopped or destroyed before QEMU was started: nothing to kill
      vm.phase = 'gone';
      vm.reservedMiB = 0;
      vm.markExited();
      if (!closed && !vm.destroyRequested) emit(vm.id, { kind: 'halted', requested: true });
      return;
    }
    const variant = vm.spec.imageVariant ?? 'base';
    const image = imageOf(variant);
    if (!image) throw new Error(`the ${variant} image is not built on this host (run: nestbox images build --variant ${variant})`);
    prepareDir(vm);
    const [disk, imdsSocket, dataDisks] = await Promise.all([
      rootDisk(vm.spec, image),
      opts.imds ? opts.imds.open(vm.id) : Promise.resolve(`nestbox-imds/none/${vm.id}`),
      Promise.all((vm.spec.dataVolumes ?? []).map(async (v) => ({ file: await dataDisk(v.volumeId, v.sizeGiB), serial: v.serial }))),
    ]);
    if (closed || vm.destroyRequested || vm.stopRequested) {
      vm.phase = 'gone';
      vm.reservedMiB = 0;
      vm.markExited();
      void opts.imds?.close(vm.id);
      if (!closed && !vm.destroyRequested) emit(vm.id, { kind: 'halted', requested: true });
      return;
    }
    const net = opts.privateNetwork;
    let tap: string | undefined;
    if (net && vm.spec.network.vpcId !== undefined) {
      tap = await net.prepare(vm.spec).catch((err: unknown) => {
        log.warn(`instance ${vm.id}: no private network: ${errorText(err)}`);
        return undefined;
      });
    }
    vm.forwards = publicForwards(vm.spec.network, lowPorts);
    const plan = buildQemuPlan({
      spec: vm.spec,
      accel: accel.accel,
      host,
      limits,
      image: { vmlinux: image.vmlinux, initrd: image.initramfs, hash: image.hash, kernelRelease: image.manifest.kernel.release },
      attach: { disk, imdsSocket, forwards: vm.forwards, dataDisks, tap },
      tcgTbSizeMiB: opts.tcgTbSizeMiB,
    });
    vm.plan = { ...plan, runtime: { ...plan.runtime, accelReason: accel.reason, qemu: version } };
    const out = openSync(join(vm.dir, VM_FILES.qemuLog), 'w');
    let child: ChildProcess;
    try {
      // detached: its own session, so it outlives nestbox (adopt) and a Ctrl-C at nestbox's terminal
      child = spawn(opts.qemu, plan.argv, { cwd: vm.dir, detached: true, stdio: ['ignore', out, out] });
    } finally {
      closeSync(out);
    }
    child.unref();
    vm.child = child;
    vm.pid = child.pid;
    vm.spawnedAt = Date.now();
    child.on('error', (err) => {
      // the process could not be started at all (no 'exit' follows)
      if (gone(vm) || vm.pid !== undefined) return;
      vm.phase = 'gone';
      clearTimers(vm);
      vm.reservedMiB = 0;
      vm.markExited();
      if (vm.destroyRequested) return;
      if (vm.stopRequested) emit(vm.id, { kind: 'halted', requested: true });
      else emit(vm.id, { kind: 'launch-failed', detail: `cannot run ${opts.qemu}: ${err.message}` });
    });
    child.on('exit', (code, signal) => {
      if (closed) return;
      readSerial(vm);
      onExit(vm, { code, signal });
    });
    if (vm.pid === undefined) return; // 'error' follows
    const state: VmState = {
      instanceId: vm.id,
      pid: vm.pid,
      startedAt: new Date().toISOString(),
      runtime: vm.plan.runtime,
      rootVolume: vm.spec.rootVolume,
    };
    writeFileSync(join(vm.dir, VM_FILES.state), `${JSON.stringify(state, null, 2)}\n`);
    watchSerial(vm);
    const client = await connectQmp(vm, QMP_CONNECT_MS);
    if (client) attachQmp(vm, client);
    else if (!gone(vm) && !closed) log.warn(`instance ${vm.id}: no QMP connection to QEMU (pid ${vm.pid})`);
    // QEMU answers on QMP once its devices are made: it has opened the tap, which now goes onto the bridge
    if (net && tap && client && !gone(vm) && !closed) {
      await net.plug(vm.spec).catch((err: unknown) => log.warn(`instance ${vm.id}: no private network: ${errorText(err)}`));
    }
  }

  async function start(spec: VmSpec): Promise<void> {
    if (closed) throw new Error('the qemu driver is closed');
    const existing = vms.get(spec.instanceId);
    if (existing && !gone(existing)) {
      if (!existing.stopRequested && !existing.destroyRequested) return; // already up
      await existing.exited;
    }
    if (spec.architecture !== 'x86_64') {
      throw Errors.insufficientCapacity(spec.instanceType, 'This nestbox host runs x86_64 VMs only (QEMU driver).');
    }
    if (spec.platform !== 'linux') log.warn(`instance ${spec.instanceId}: a ${spec.platform} AMI boots the built-in Linux image`);
    const vm = newVm(spec);
    const cost = costOf(spec);
    // admission and reservation happen before the first await, so concurrent starts cannot overbook
    if (opts.maxVms !== undefined && liveCount() + 1 > opts.maxVms) {
      throw Errors.insufficientCapacity(spec.instanceType, `This nestbox host runs at most ${opts.maxVms} VMs.`);
    }
    if (reservedMiB() + cost > budgetMiB) {
      throw Errors.insufficientCapacity(spec.instanceType, `This nestbox host's VM memory budget of ${budgetMiB} MiB is used up.`);
    }
    vm.reservedMiB = cost;
    vms.set(spec.instanceId, vm);
    // A QEMU an earlier nestbox left for this instance (one that never finished booting: a running
    // one is adopted instead) goes first.
    const leftover = livePidOf(vm.dir);
    if (leftover !== undefined) {
      log.warn(`instance ${spec.instanceId}: killing the QEMU (pid ${leftover}) an earlier nestbox left behind`);
      await killPid(leftover);
    }
    // The launch goes on in the background; its failures are reported as events.
    launch(vm).catch((err: unknown) => {
      if (gone(vm)) return;
      vm.phase = 'gone';
      clearTimers(vm);
      vm.reservedMiB = 0;
      vm.markExited();
      if (vm.child && vm.child.exitCode === null) vm.child.kill('SIGKILL');
      if (!vm.destroyRequested) emit(vm.id, { kind: 'launch-failed', detail: errorText(err) });
    });
  }

  async function stop(id: string, { force }: { readonly force: boolean }): Promise<void> {
    const vm = vms.get(id);
    if (!vm || gone(vm)) {
      // not ours: a QEMU left behind by an earlier nestbox is stopped too
      const pid = livePidOf(join(vmsDir, safeDirName(id)));
      if (pid !== undefined) await killPid(pid);
      emit(id, { kind: 'halted', requested: true });
      return;
    }
    vm.stopRequested = true;
    if (vm.pid === undefined) return; // still launching: launch() sees the request and never spawns
    if (force || !vm.guestReady || !vm.qmp) {
      kill(vm);
      return;
    }
    const press = () => {
      vm.qmp?.execute('system_powerdown').catch(() => undefined);
    };
    press();
    every(vm, POWER_BUTTON_REPEAT_MS, press);
    after(vm, stopTimeoutMs, () => {
      log.warn(`instance ${id}: the guest did not power off within ${stopTimeoutMs} ms; killing it`);
      kill(vm);
    });
  }

  async function reboot(id: string): Promise<void> {
    const vm = vms.get(id);
    if (!vm || gone(vm)) throw new Error(`instance ${id} has no running VM`);
    if (!vm.qmp) throw new Error(`instance ${id}: no QMP connection to its QEMU`);
    await vm.qmp.execute('system_reset');
  }

  /** `p`, or nothing after `ms` — without leaving a timer behind. */
  function within(p: Promise<void>, ms: number): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => {
      t = setTimeout(r, ms);
      looseTimers.add(t);
    });
    return Promise.race([p, timeout]).finally(() => {
      if (t) {
        clearTimeout(t);
        looseTimers.delete(t);
      }
    });
  }

  /** Kills a QEMU this driver does not track and waits (up to 5 s) until it is gone. */
  async function killPid(pid: number): Promise<void> {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 100 && procState(pid) === 'alive'; i++) {
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          looseTimers.delete(t);
          r();
        }, 50);
        looseTimers.add(t);
      });
    }
  }

  /** The root volume an instance's VM was last started with (vm.json), for a destroy after a restart. */
  function recordedRootVolume(dir: string): VmRootVolume | undefined {
    try {
      return (JSON.parse(readFileSync(join(dir, VM_FILES.state), 'utf8')) as VmState).rootVolume;
    } catch {
      return undefined;
    }
  }

  async function destroy(id: string, rootVolume?: VmRootVolume): Promise<void> {
    const vm = vms.get(id);
    const dir = join(vmsDir, safeDirName(id));
    const volume = rootVolume ?? vm?.spec.rootVolume ?? recordedRootVolume(dir);
    if (vm && !gone(vm)) {
      vm.destroyRequested = true;
      if (vm.pid !== undefined) {
        kill(vm);
        await within(vm.exited, 5000);
      } else {
        await vm.exited;
      }
    } else {
      const pid = livePidOf(dir);
      if (pid !== undefined) await killPid(pid);
    }
    if (vm) clearTimers(vm);
    if (vms.get(id) === vm) vms.delete(id);
    await opts.imds?.close(id);
    await opts.privateNetwork?.unplug(id).catch((err: unknown) => log.warn(`instance ${id}: private network: ${errorText(err)}`));
    rmSync(dir, { recursive: true, force: true });
    // The disk goes with the instance unless its volume outlives it (DeleteOnTermination false).
    if (volume && volume.deleteOnTermination) rmSync(volumeFile(volume.volumeId), { force: true });
    emit(id, { kind: 'destroyed' });
  }

  async function deleteVolume(volumeId: string): Promise<void> {
    rmSync(volumeFile(volumeId), { force: true });
    rmSync(dataFile(volumeId), { force: true });
  }

  /** VMs left behind by an earlier nestbox that no instance accounts for: stopped, and removed when unknown. */
  async function sweep(live: ReadonlySet<string>, known: ReadonlySet<string>): Promise<void> {
    await opts.privateNetwork?.sweep(live).catch((err: unknown) => log.warn(`private network: ${errorText(err)}`));
    let names: string[];
    try {
      names = readdirSync(vmsDir);
    } catch {
      return; // no VM was ever started here
    }
    for (const id of names) {
      if (live.has(id)) continue;
      const dir = join(vmsDir, id);
      const pid = livePidOf(dir);
      if (pid !== undefined) {
        log.warn(`instance ${id}: a QEMU (pid ${pid}) was left running for an instance that is not running; stopping it`);
        await killPid(pid);
      }
      if (!known.has(id)) rmSync(dir, { recursive: true, force: true });
    }
    // Root disks of instances no record knows any more (a volume's ID is its instance's, see rootVolumeId)
    let disks: string[] = [];
    try {
      disks = readdirSync(volumesDir);
    } catch {
      // no disk was ever made here
    }
    for (const name of disks) {
      const m = /^vol-([0-9a-f]+)\.qcow2(?:\.\d+\.partial)?$/.exec(name);
      if (m && (!known.has(`i-${m[1]}`) || name.endsWith('.partial'))) {
        log.warn(`removing ${name}: no instance accounts for it`);
        rmSync(join(volumesDir, name), { force: true });
      }
    }
  }

  async function adopt(spec: VmSpec): Promise<boolean> {
    if (closed) return false;
    const existing = vms.get(spec.instanceId);
    if (existing && !gone(existing)) return !existing.stopRequested && !existing.destroyRequested;
    const vm = newVm(spec);
    const pid = livePidOf(vm.dir);
    if (pid === undefined) {
      rmSync(join(vm.dir, VM_FILES.qmp), { force: true });
      rmSync(join(vm.dir, VM_FILES.pid), { force: true });
      return false;
    }
    vm.pid = pid;
    vm.phase = 'running';
    vm.guestReady = true;
    vm.bootedReported = true;
    vm.reservedMiB = costOf(spec);
    try {
      const state = JSON.parse(readFileSync(join(vm.dir, VM_FILES.state), 'utf8')) as VmState;
      vm.plan = { argv: [], cpuModel: '', topology: { cores: 1, threads: 1 }, vcpus: 0, memoryMiB: 0, runtime: state.runtime };
      vm.reservedMiB = Number(state.runtime.memoryMiB ?? vm.reservedMiB - OVERHEAD_MIB) + OVERHEAD_MIB;
    } catch {
      // vm.json is informational
    }
    vms.set(spec.instanceId, vm);
    const client = await connectQmp(vm, 3000);
    if (!client) {
      // alive but unreachable: it cannot be controlled, so it is ended and booted anew
      log.warn(`instance ${spec.instanceId}: QEMU (pid ${pid}) does not answer on QMP; killing it`);
      vms.delete(spec.instanceId);
      clearTimers(vm);
      await killPid(pid);
      return false;
    }
    attachQmp(vm, client);
    // What it forwards from its public address is what QEMU says (the store may have changed it since)
    vm.forwards = await client
      .humanMonitor('info usernet')
      .then(parseUsernetForwards)
      .catch((err: unknown) => {
        log.warn(`instance ${vm.id}: cannot tell what its QEMU forwards (${errorText(err)}); its public forwards stay as they are`);
        return undefined;
      });
    // The guest reaches its metadata through the same socket name as before the restart.
    await opts.imds?.open(vm.id);
    if (opts.privateNetwork && spec.network.vpcId !== undefined) {
      const back = await opts.privateNetwork.adopt(spec).catch(() => false);
      if (!back) log.warn(`instance ${spec.instanceId}: its tap is gone from ${opts.privateNetwork.namespace}; it has no private network until it is stopped and started`);
    }
    // the console so far is an earlier boot's; the watch only matters after a reset
    try {
      vm.serialOffset = statSync(join(vm.dir, VM_FILES.serial)).size;
    } catch {
      vm.serialOffset = 0;
    }
    watchSerial(vm);
    every(vm, ALIVE_POLL_MS, () => checkAlive(vm));
    checkAlive(vm);
    return !gone(vm);
  }

  /**
   * The network the store wants now: the private network's rules, and each running VM's public forwards
   * changed in place where they differ (hostfwd_remove / hostfwd_add through QMP). What fails is tried
   * again at the next pass, and said once.
   */
  async function applyNetwork(desired: HostNetwork): Promise<void> {
    await opts.privateNetwork?.apply(desired).catch((err: unknown) => log.warn(`private network: ${errorText(err)}`));
    const changes = [...vms.values()].flatMap((vm) => {
      const wanted = desired.vms.get(vm.id);
      if (!wanted || gone(vm) || !vm.qmp || vm.forwards === undefined) return [];
      const { remove, add } = forwardChanges(vm.forwards, publicForwards(wanted.network, lowPorts));
      return remove.length + add.length > 0 ? [{ vm, qmp: vm.qmp, forwards: vm.forwards, remove, add, problems: [] as string[] }] : [];
    });
    // All removals first, on every VM: an address (an Elastic IP reassociated) or a port may move from one VM to another.
    await Promise.all(
      changes.map(async (c) => {
        for (const f of c.remove) {
          const problem = await hostfwd(c.qmp, hostfwdRemove(f), removedOutput);
          if (problem) c.problems.push(problem);
          else c.forwards.splice(c.forwards.indexOf(f), 1);
        }
      }),
    );
    await Promise.all(
      changes.map(async (c) => {
        for (const f of c.add) {
          const problem = await hostfwd(c.qmp, hostfwdAdd(f), (output) => output.trim() === '');
          if (problem) c.problems.push(problem);
          else c.forwards.push(f);
        }
        const problem = c.problems.join('; ');
        if (problem === '') log.info(`instance ${c.vm.id}: public forwards now ${c.forwards.map(hostfwdRule).join(', ') || 'none'}`);
        else if (problem !== c.vm.forwardProblem) log.warn(`instance ${c.vm.id}: its public forwards could not all be changed: ${problem}`);
        c.vm.forwardProblem = problem;
      }),
    );
  }

  /** One hostfwd monitor command; the problem, when it did not do what `worked` says of its output. */
  async function hostfwd(qmp: QmpClient, command: string, worked: (output: string) => boolean): Promise<string | undefined> {
    try {
      const output = await qmp.humanMonitor(command);
      return worked(output) ? undefined : `${command}: ${output.trim()}`;
    } catch (err) {
      return `${command}: ${errorText(err)}`;
    }
  }

  async function consoleOutput(id: string): Promise<string | undefined> {
    const file = join(vmsDir, safeDirName(id), VM_FILES.serial);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return vms.has(id) ? '' : undefined;
    }
    try {
      const size = fstatSync(fd).size;
      const from = Math.max(0, size - CONSOLE_MAX_BYTES);
      const buf = Buffer.alloc(size - from);
      const n = readSync(fd, buf, 0, buf.length, from);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  }

  async function close(): Promise<void> {
    closed = true;
    closing.abort();
    for (const vm of vms.values()) {
      clearTimers(vm);
      vm.qmp?.close();
      vm.qmp = undefined;
      // the child keeps running; Node still reaps it when it exits, and nothing more is reported
      vm.child?.removeAllListeners('exit');
    }
    for (const t of looseTimers) clearTimeout(t);
    looseTimers.clear();
    vms.clear();
    await opts.privateNetwork?.close();
  }

  return {
    name: 'qemu',
    start,
    stop,
    reboot,
    destroy,
    adopt,
    deleteVolume,
    snapshotVolume,
    copySnapshot,
    deleteSnapshot,
    restoreVolume,
    applyNetwork,
    consoleOutput,
    sweep,
    close,
    admit,
    capacity: () => ({ vms: liveCount(), reservedMiB: reservedMiB(), budgetMiB, maxVms: opts.maxVms }),
  };
}

/** Instance IDs are i-<hex>; anything else is made safe for a directory name. */
const safeDirName = (id: string) => id.replace(/[^A-Za-z0-9_-]/g, '_');

/** Root may bind any port; others only from the kernel's unprivileged port start (often 1024). */
function canBindLowPorts(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) <= 22;
  } catch {
    return false;
  }
}
