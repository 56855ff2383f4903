/**
 * The QEMU command line for one VM, and nothing else: a pure function of the VM's spec, the host's
 * facts, the chosen accelerator and the image (Lima's `Cmdline()` split). Supervising the process lives
 * in driver.ts.
 *
 * What it encodes (measured with QEMU 7.2 and the Debian 12 kernel 6.1):
 *   - `-M microvm` booting the uncompressed kernel through PVH with a tiny initramfs that mounts the
 *     root disk: the fastest boot under TCG. microvm's ACPI (on by default, made explicit here) gives
 *     the guest a power button (QMP system_powerdown) and a working power-off (QEMU exits on its own).
 *   - The root disk: the instance's root volume, a qcow2 overlay over the image (virtio-blk, /dev/vda);
 *     then its data volumes, qcow2 files, as virtio-blk disks whose serial is the volume ID without its
 *     hyphen (/dev/disk/by-id/virtio-vol…, as EC2's NVMe serials name the volume).
 *   - The primary network interface: QEMU user networking (slirp) whose virtual network IS the
 *     instance's subnet, so the guest's DHCP lease is exactly the ENI's private address (`dhcpstart`)
 *     with the ENI's MAC. `restrict=on` isolates the guest: nothing leaves the VM but what is forwarded
 *     explicitly — the public address's TCP ports (hostfwd on a 127.x.y.z address of this host,
 *     forwards.ts; changed in place while the VM runs when the store changes them) and the
 *     instance metadata service (guestfwd: each TCP connection to <subnet base + 3>:80, an address AWS
 *     reserves in every subnet, spawns `socat` to this instance's own IMDS socket, so one instance can
 *     never reach another's metadata). slirp refuses a guestfwd outside its network, so the guest maps
 *     169.254.169.254 to that address itself (an nftables DNAT its init sets up from `nestbox.imds=`).
 *   - Nested virtualization: enabled ⇒ the L1 CPU model carries the virtualization extension
 *     (KVM: `-cpu host`; TCG: `-cpu EPYC`, which exposes svm + npt), disabled ⇒ the same model without it.
 *   - No `-no-reboot`: a guest reboot and QMP system_reset reset the VM and it stays up (with
 *     -no-reboot QEMU would exit on both).
 *   - All paths are relative to the instance directory, which is QEMU's working directory: argv stays
 *     short and the QMP socket path never hits the 108-byte limit of unix socket names.
 */
import type { VmSpec } from '../driver.js';
import { type PublicForward, USER_NETDEV, hostfwdRule } from './forwards.js';

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
  /** the image's initramfs, which mounts the root disk (or, for the KVM probe, only prints the boot marker) */
  readonly initrd: string;
  readonly hash: string;
  readonly kernelRelease: string;
}

/** How the VM is wired: its root disk and its network interface. Absent only for the KVM probe. */
export interface VmAttachments {
  /** the root volume's qcow2 file (absolute) */
  readonly disk: string;
  /** the abstract unix socket (without the leading NUL) of this instance's metadata service */
  readonly imdsSocket: string;
  /** the TCP ports forwarded from the instance's public address (forwards.ts publicForwards) */
  readonly forwards: readonly PublicForward[];
  /** data volumes' qcow2 files (absolute), each a virtio disk whose serial names its volume (vdb, vdc … in the guest) */
  readonly dataDisks?: readonly { readonly file: string; readonly serial: string }[] | undefined;
  /**
   * the tap device on the VPC's bridge (vpc-network.ts), made beforehand: the guest's second NIC (eth1),
   * which its init gives the private address and the VPC's routes (images/rc.sh, `nestbox.vpc=`)
   */
  readonly tap?: string | undefined;
}

export interface ArgvInput {
  readonly spec: VmSpec;
  readonly accel: Accel;
  readonly host: HostFacts;
  readonly limits: VmLimits;
  readonly image: VmImage;
  /** the root disk and network; undefined boots the initramfs alone (the KVM probe) */
  readonly attach?: VmAttachments | undefined;
  /** TCG translation-block cache size (MiB); bounds QEMU's own memory beyond the guest's */
  readonly tcgTbSizeMiB?: number;
}

/** The file names QEMU uses, relative to the instance directory (its working directory). */
export const VM_FILES = {
  serial: 'serial.log',
  qmp: 'qmp.sock',
  pid: 'pid',
  qemuLog: 'qemu.log',
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

/** No `quiet`: the console output shows the whole kernel boot log, as EC2's does. */
const BASE_CMDLINE = ['console=ttyS0', 'panic=-1', 'reboot=t', 'mitigations=off', 'nokaslr'];
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

/** `a.b.c.d/n` → the address `offset` places after the network address. */
export function subnetAddress(cidr: string, offset: number): string {
  const [ip = '', bits = '32'] = cidr.split('/');
  const n = ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  const base = n - (n % size);
  const v = base + offset;
  return [24, 16, 8, 0].map((shift) => Math.floor(v / 2 ** shift) % 256).join('.');
}

/** The private network NIC's MAC: the ENI's with its first octet 0x0a (still locally administered, unicast). */
export const privateMac = (mac: string): string => `0a${mac.slice(2)}`;

/** Where the guest reaches the metadata service: the subnet's fourth address, which AWS reserves. */
export const imdsAddress = (subnetCidr: string): string => subnetAddress(subnetCidr, 3);

/**
 * The `-netdev user` option: the subnet as slirp's network (router = base + 1, DNS = base + 2, as in a
 * VPC), the ENI's address as the only DHCP lease, the public address's forwards, and the metadata
 * service. Values come from the API's records (addresses, a MAC, a socket name), never free text.
 */
export function netdevOption(spec: VmSpec, attach: VmAttachments): string {
  const net = spec.network;
  const parts = [
    'user',
    `id=${USER_NETDEV}`,
    `net=${net.subnetCidr}`,
    `host=${subnetAddress(net.subnetCidr, 1)}`,
    `dns=${subnetAddress(net.subnetCidr, 2)}`,
    `dhcpstart=${net.privateIp}`,
    'restrict=on',
    `hostname=${net.privateDnsName.split('.')[0]}`,
  ];
  for (const f of attach.forwards) parts.push(`hostfwd=${hostfwdRule(f)}`);
  // QEMU's option parser splits on commas: the command has none.
  parts.push(`guestfwd=tcp:${imdsAddress(net.subnetCidr)}:80-cmd:socat - ABSTRACT-CONNECT:${attach.imdsSocket}`);
  return parts.join(',');
}

export function buildQemuPlan(input: ArgvInput): QemuPlan {
  const { spec, accel, host, limits, image, attach } = input;
  const topology = scaleTopology(spec.coreCount, spec.threadsPerCore, limits.maxVcpus);
  const vcpus = topology.cores * topology.threads;
  const memoryMiB = scaleMemory(spec.memoryMiB, limits);
  const model = cpuModel(accel, spec.nestedVirtualization);
  const id = safeId(spec.instanceId);
  const cmdline = [
    ...BASE_CMDLINE,
    ...(accel === 'tcg' ? TCG_CMDLINE : []),
    ...(attach ? ['root=/dev/vda', 'rw', `nestbox.imds=${imdsAddress(spec.network.subnetCidr)}`] : ['nestbox.probe=1']),
    ...(attach?.tap && spec.network.vpcCidr ? [`nestbox.vpc=${spec.network.vpcCidr}`] : []),
    `nestbox.instance=${id}`,
  ].join(' ');
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
    ...(attach
      ? [
          '-drive', `file=${attach.disk},if=none,id=root,format=qcow2,cache=writeback,discard=unmap`,
          '-device', 'virtio-blk-device,drive=root',
          // QMP names each data disk's drive by its serial (snapshots of a running VM: drive-backup).
          ...(attach.dataDisks ?? []).flatMap((d) => [
            '-drive', `file=${d.file},if=none,id=${safeId(d.serial)},format=qcow2,cache=writeback,discard=unmap`,
            '-device', `virtio-blk-device,drive=${safeId(d.serial)},serial=${safeId(d.serial)}`,
          ]),
          '-netdev', netdevOption(spec, attach),
          '-device', `virtio-net-device,netdev=${USER_NETDEV},mac=${spec.network.mac}`,
          // the private network's NIC (eth1): the tap on the VPC's bridge
          ...(attach.tap
            ? ['-netdev', `tap,id=p0,ifname=${attach.tap},script=no,downscript=no`, '-device', `virtio-net-device,netdev=p0,mac=${privateMac(spec.network.mac)}`]
            : []),
        ]
      : []),
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
  const ssh = attach?.forwards.find((f) => f.guestPort === 22);
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
    ...(ssh ? { sshPort: String(ssh.hostPort) } : {}),
  };
  return { argv, cpuModel: model, topology, vcpus, memoryMiB, runtime };
}
