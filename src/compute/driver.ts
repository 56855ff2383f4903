/**
 * The L0 side: one interface every VM driver implements (simulated, qemu), checked by one contract
 * suite (test/driver-contract.ts). The API never touches a VM: the reconciler calls a driver, and the
 * driver reports what happened to the VM through its event sink; the lifecycle table decides what
 * each report means for the instance.
 */
import type { SecurityGroupRecord } from '../domain/vpc.js';

export interface VmSpec {
  readonly instanceId: string;
  readonly imageId: string;
  readonly instanceType: string;
  readonly platform: 'linux' | 'windows';
  readonly architecture: 'x86_64' | 'arm64';
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly coreCount: number;
  readonly threadsPerCore: number;
  /** the L1 CPU exposes the host's virtualization extension (VT-x / SVM) exactly when true */
  readonly nestedVirtualization: boolean;
  /** raw user data (decoded from base64) */
  readonly userData?: string | undefined;
  /** the key pair's OpenSSH public key line (RunInstances KeyName); a real guest reads it from IMDS */
  readonly publicKey?: string | undefined;
  /** the primary network interface (device index 0) */
  readonly network: VmNetwork;
  /** the root EBS volume, which a real VM boots from */
  readonly rootVolume: VmRootVolume;
  /** the image variant a real VM boots (`base`, `cloud-init`); undefined: `base` */
  readonly imageVariant?: string | undefined;
  /** data EBS volumes attached to the instance (AttachVolume), in attachment order; the VM has them from its start */
  readonly dataVolumes?: readonly VmDataVolume[] | undefined;
}

/** A data volume as a VM sees it: a virtio disk whose serial names the volume, as EC2's NVMe serials do. */
export interface VmDataVolume {
  /** `vol-…`; a real VM's disk is <dataDir>/ebs/<volumeId>.qcow2 */
  readonly volumeId: string;
  /** the AttachVolume device name (`/dev/sdf`); the guest names the disk itself (/dev/vdb …) */
  readonly device: string;
  /** the disk grows to this at start when ModifyVolume made the volume bigger */
  readonly sizeGiB: number;
  /** the volume ID without its hyphen (`vol0123456789abcdef0`, 20 characters): /dev/disk/by-id/virtio-<serial> */
  readonly serial: string;
}

/** The instance's primary network interface, as the API records it. */
export interface VmNetwork {
  readonly eniId: string;
  /** e.g. `0e:1a:2b:3c:4d:5e` */
  readonly mac: string;
  /** the ENI's primary private IPv4 address, inside `subnetCidr` */
  readonly privateIp: string;
  /** e.g. `172.31.0.0/20` */
  readonly subnetCidr: string;
  /** the VPC the subnet is in (the qemu driver's private network: one bridge per VPC) */
  readonly vpcId?: string | undefined;
  /** the VPC's CIDR block (the guest routes it on its private network NIC) */
  readonly vpcCidr?: string | undefined;
  /** the private DNS name, e.g. `ip-172-31-0-8.ec2.internal` */
  readonly privateDnsName: string;
  /** the public IPv4 address: a loopback address of this host (127.x.y.z), unique among running instances */
  readonly publicIp?: string | undefined;
  /** TCP ports the instance's security groups open to the world (0.0.0.0/0): forwarded from `publicIp` */
  readonly openTcpPorts: readonly number[];
}

/** One VM's network as the store has it now: its primary interface (public address, open ports) and its security groups. */
export interface DesiredVmNetwork {
  readonly network: VmNetwork;
  readonly securityGroupIds: readonly string[];
}

/**
 * The network the store wants now for the VMs of one host (src/compute/network.ts hostNetworkOf): what
 * VmHost hands its driver's `applyNetwork` on every pass.
 */
export interface HostNetwork {
  /** by instance ID */
  readonly vms: ReadonlyMap<string, DesiredVmNetwork>;
  /** every security group of these instances' accounts and Regions, by ID */
  readonly groups: ReadonlyMap<string, SecurityGroupRecord>;
}

export interface VmRootVolume {
  /** `vol-…`; a real VM's disk is <dataDir>/volumes/<volumeId>.qcow2 */
  readonly volumeId: string;
  readonly sizeGiB: number;
  /** false: the disk outlives the instance (the volume becomes `available`) */
  readonly deleteOnTermination: boolean;
  /** launched from a user image: the disk is first made as a copy of this snapshot's (its image's root snapshot) */
  readonly snapshotId?: string | undefined;
}

export type VmEvent =
  | { readonly kind: 'booted'; readonly runtime?: Readonly<Record<string, string>> }
  /** the guest powered itself off, or a requested stop completed */
  | { readonly kind: 'halted'; readonly requested: boolean }
  /** the VM died without being asked */
  | { readonly kind: 'crashed'; readonly detail: string }
  | { readonly kind: 'launch-failed'; readonly detail: string }
  | { readonly kind: 'destroyed' };

export type VmEventSink = (instanceId: string, event: VmEvent) => void;

export interface VmDriver {
  readonly name: string;
  /**
   * Throws InsufficientInstanceCapacity when the host cannot take these VMs on top of the ones it
   * runs. Synchronous, so the API can refuse a launch before it records anything. Optional: a driver
   * without limits (simulated) admits everything.
   */
  admit?(specs: readonly VmSpec[]): void;
  /** Starts booting the VM; resolves once the launch is under way. Reports `booted` when the guest is up. */
  start(spec: VmSpec): Promise<void>;
  /** ACPI power-down with a deadline, then kill; `force` kills at once. Reports `halted` (requested). */
  stop(instanceId: string, opts: { readonly force: boolean }): Promise<void>;
  /** A hardware-style reset; the VM stays up. */
  reboot(instanceId: string): Promise<void>;
  /**
   * Kills the VM and deletes its root disk unless the root volume outlives the instance
   * (`rootVolume.deleteOnTermination` false; without `rootVolume`, what the VM was last started with).
   * Reports `destroyed`.
   */
  destroy(instanceId: string, rootVolume?: VmRootVolume): Promise<void>;
  /** Deletes a root volume that outlived its instance, or a data volume's disk (DeleteVolume). Optional: drivers without disks have none. */
  deleteVolume?(volumeId: string): Promise<void>;
  /**
   * EBS files (optional: drivers without disks have none). snapshotVolume makes a point-in-time copy of a
   * volume's disk (a running VM's through QEMU, without stopping it) and resolves false when the volume
   * has no disk yet (nothing was ever written: the snapshot is empty). restoreVolume makes a volume's disk
   * from a snapshot's copy (none: the disk starts empty at the VM's start).
   */
  snapshotVolume?(volumeId: string, snapshotId: string): Promise<boolean>;
  copySnapshot?(fromSnapshotId: string, toSnapshotId: string): Promise<void>;
  deleteSnapshot?(snapshotId: string): Promise<void>;
  restoreVolume?(snapshotId: string, volumeId: string, sizeGiB: number): Promise<void>;
  /**
   * After a nestbox restart: takes over a VM that was running. Resolves true when it is still up (the
   * driver watches it again), false when it is gone and must be started anew.
   */
  adopt(spec: VmSpec): Promise<boolean>;
  /**
   * True when a VM the driver does not know after a restart behaves as a running one (stop, reboot,
   * destroy work on it), so running instances need no adopt() at start-up — only before their console
   * output is read (the simulated driver: nothing survives its restart anyway).
   */
  readonly adoptsLazily?: boolean;
  /**
   * After a restart, once every recorded VM was adopted or started: stops any VM of this driver whose
   * instance is not in `live`, and deletes what is left of instances not in `known` at all, so no VM
   * is left orphaned. Optional: a driver that keeps nothing across restarts has nothing to sweep.
   */
  sweep?(live: ReadonlySet<string>, known: ReadonlySet<string>): Promise<void>;
  /**
   * Brings the network of the VMs it runs in line with `desired` without restarting them: a running VM's
   * public address (its own, or an Elastic IP associated or disassociated meanwhile) and the ports its
   * security groups open now, and the rules between VMs. VmHost calls it every NETWORK_POLL_MS; VMs it
   * does not run, and VMs `desired` does not name, are left as they are; it reports no event. Optional:
   * a driver whose VMs nothing can reach (simulated) has nothing to change.
   */
  applyNetwork?(desired: HostNetwork): Promise<void>;
  /** The VM's serial console output so far, or undefined when the driver has none for it. */
  consoleOutput(instanceId: string): Promise<string | undefined>;
  /** Stops watching; VMs are left as they are so a restart can adopt them. */
  close(): Promise<void>;
}

export type DriverFactory = (events: VmEventSink) => VmDriver;
