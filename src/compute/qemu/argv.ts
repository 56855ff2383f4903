/**
 * The QEMU command line for one VM, and nothing else: a pure function of the VM's spec, the host's
 * facts, the chosen accelerator and the image (Lima's `Cmdline()` split). Supervising the process lives
 * in driver.ts.
 *
 * What it encodes (measured with QEMU 7.2 and the Debian 12 kernel 6.1):
 *   - `-M microvm` booting the uncompressed kernel through PVH with an uncompressed initramfs: the
 *     fastest boot under TCG. microvm's ACPI (on by default, made explicit here) gives the guest a power
 *     button (QMP system_powerdown) and a working power-off (QEMU exits on its own).
 *   - Nested virtualization: enabled ⇒ the L1 CPU model carries the virtualization extension
 *     (KVM: `-cpu host`; TCG: `-cpu EPYC`, which exposes svm + npt), disabled ⇒ the same model without it.
 *   - No `-no-reboot`: a guest reboot and QMP system_reset reset the VM and it stays up (with
 *     -no-reboot QEMU would exit on both).
 *   - All paths are relative to the instance directory, which is QEMU's working directory: argv stays
 *     short and the QMP socket path never hits the 108-byte limit of unix socket names.
 */
import type { VmSpec } from '../driver.js';

export type Accel = 'kvm' | 'tcg';

export interface HostFacts {
  /** logical CPUs nestbox may use */
  readonly cpus: number;
  readonly memTotalMiB: number;
  /** the host CPU's own virtualization extension (what `-cpu host` passes through under KVM) */
  readonly virtExtension: 'vmx' | 'svm' | undefined;
}

export interface VmLimits {
  /** vCPUs of one VM at most (default: the host's CPU count) */
  readonly maxVcpus: number;
  /** guest memory of one VM at most */
  readonly maxMemoryMiB: number;
  /** guest memory of one VM at least (the image needs about 100 MiB) */
  readonly minMemoryMiB: number;
}

export interface VmImage {
  readonly vmlinux: string;
  /** the initramfs QEMU loads: the image's, or a per-instance copy with user data appended */
  readonly initrd: string;
  readonly hash: string;
  readonly kernelRelease: string;
}

export interface ArgvInput {
  readonly spec: VmSpec;
  readonly accel: Accel;
  readonly host: HostFacts;
  readonly limits: VmLimits;
  readonly image: VmImage;
  /** TCG translation-block cache size (MiB); bounds QEMU's own memory beyond the guest's */
  readonly tcgTbSizeMiB?: number;
}

/** The file names QEMU uses, relative to the instance directory (its working directory). */
export const VM_FILES = {
  serial: 'serial.log',
  qmp: 'qmp.sock',
  pid: 'pid',
  qemuLog: 'qemu.log',
  initrd: 'initramfs.cpio',
  state: 'vm.json',
} as const;

export interface Topology {
  readonly cores: number;
  readonly threads: number;
}

export interface QemuPlan {
  readonly argv: readonly string[];
  readonly cpuModel: string;
  readonly topology: Topology;
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** what the instance runs with, for VmEvent 'booted' (a string map) */
  readonly runtime: Readonly<Record<string, string>>;
}

const BASE_CMDLINE = ['console=ttyS0', 'quiet', 'panic=-1', 'reboot=t', 'mitigations=off', 'nokaslr'];
/** microvm hangs under TCG without an early TSC frequency */
const TCG_CMDLINE = ['tsc_early_khz=2000000', 'tsc=reliable'];

/**
 * CpuOptions → a topology that fits `maxVcpus`: threads per core first (kept when possible), then as
 * many cores as still fit; never below 1 × 1.
 */
export function scaleTopology(cores: number, threads: number, maxVcpus: number): Topology {
  const cap = Math.max(1, Math.floor(maxVcpus));
  const t = Math.max(1, Math.min(Math.floor(threads), cap));
  const c = Math.max(1, Math.min(Math.floor(cores), Math.floor(cap / t)));
  return { cores: c, threads: t };
}

/** The instance type's memory, capped per VM (and rounded down to 2 MiB), never below the image's minimum. */
export function scaleMemory(memoryMiB: number, limits: VmLimits): number {
  const capped = Math.min(memoryMiB, limits.maxMemoryMiB);
  return Math.max(limits.minMemoryMiB, Math.floor(capped / 2) * 2);
}

export function cpuModel(accel: Accel, nested: boolean): string {
  if (accel === 'kvm') return nested ? 'host' : 'host,-vmx,-svm';
  return nested ? 'EPYC' : 'EPYC,-svm';
}

/** Only characters that are safe in a kernel command line and a QEMU option value. */
const safeId = (id: string) => id.replace(/[^A-Za-z0-9_-]/g, '_');

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const topologyText = (t: Topology) => `${plural(t.cores, 'core')} x ${plural(t.threads, 'thread')}`;

export function buildQemuPlan(input: ArgvInput): QemuPlan {
  const { spec, accel, host, limits, image } = input;
  const topology = scaleTopology(spec.coreCount, spec.threadsPerCore, limits.maxVcpus);
  const vcpus = topology.cores * topology.threads;
  const memoryMiB = scaleMemory(spec.memoryMiB, limits);
  const model = cpuModel(accel, spec.nestedVirtualization);
  const id = safeId(spec.instanceId);
  const cmdline = [...BASE_CMDLINE, ...(accel === 'tcg' ? TCG_CMDLINE : []), `nestbox.instance=${id}`].join(' ');
  const accelArg = accel === 'kvm' ? 'kvm' : `tcg,tb-size=${input.tcgTbSizeMiB ?? 64}`;
  const argv = [
    '-name', `${id},debug-threads=off`,
    '-M', 'microvm,acpi=on',
    '-accel', accelArg,
    '-cpu', model,
    '-smp', `${vcpus},sockets=1,cores=${topology.cores},threads=${topology.threads}`,
    '-m', `${memoryMiB}M`,
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-kernel', image.vmlinux,
    '-initrd', image.initrd,
    '-append', cmdline,
    '-serial', `file:${VM_FILES.serial}`,
    '-monitor', 'none',
    '-qmp', `unix:${VM_FILES.qmp},server=on,wait=off`,
    '-pidfile', VM_FILES.pid,
  ];

  const requestedVcpus = spec.coreCount * spec.threadsPerCore;
  const scaled: string[] = [];
  if (vcpus !== requestedVcpus || topology.threads !== spec.threadsPerCore) {
    scaled.push(`vCPUs ${requestedVcpus} (${topologyText({ cores: spec.coreCount, threads: spec.threadsPerCore })}) -> ${vcpus} (${topologyText(topology)}), at most ${limits.maxVcpus} per VM on this ${plural(host.cpus, 'CPU')} host`);
  }
  if (memoryMiB !== spec.memoryMiB) {
    scaled.push(`memory ${spec.memoryMiB} MiB -> ${memoryMiB} MiB (at most ${limits.maxMemoryMiB} MiB per VM)`);
  }
  const extension = spec.nestedVirtualization ? (accel === 'kvm' ? (host.virtExtension ?? 'none on this host') : 'svm') : 'none';
  const runtime: Record<string, string> = {
    driver: 'qemu',
    accel,
    machine: 'microvm',
    cpuModel: model,
    virtualizationExtension: extension,
    vcpus: String(vcpus),
    topology: topologyText(topology),
    memoryMiB: String(memoryMiB),
    requestedVcpus: String(requestedVcpus),
    requestedMemoryMiB: String(spec.memoryMiB),
    scaling: scaled.length > 0 ? scaled.join('; ') : 'none',
    image: image.hash,
    kernel: image.kernelRelease,
  };
  return { argv, cpuModel: model, topology, vcpus, memoryMiB, runtime };
}
