/**
 * Data volumes and snapshots: the stored records and EBS's pure rules for them (sizes, IOPS and
 * throughput per volume type, device names, what an attachment is while its instance lives).
 *
 * A volume's attachment is kept on the volume's record only; it counts while its instance exists and is
 * not terminated. A terminated instance's volumes are therefore `available` again without any write
 * (AttachVolume's DeleteOnTermination is false, as EC2's default for volumes attached after launch).
 *
 * Sources: the EBS User Guide's volume-type limits (src/domain/block-devices.ts VOLUME_TYPES), the
 * CreateVolume / AttachVolume / ModifyVolume API references, and moto 5's
 * ec2/models/elastic_block_store.py for the order of its checks.
 */
import { VOLUME_TYPES, type VolumeSettings, type VolumeType, checkIops, checkThroughput, isVolumeType, wholeNumber } from './block-devices.js';
import { Errors } from './errors.js';

export interface VolumeAttachmentRecord {
  readonly instanceId: string;
  /** as given, e.g. `/dev/sdf` */
  readonly device: string;
  readonly attachTime: string;
  readonly deleteOnTermination: boolean;
}

export interface VolumeModificationRecord {
  readonly startTime: string;
  readonly originalSizeGiB: number;
  readonly originalVolumeType: VolumeType;
  readonly originalIops?: number | undefined;
  readonly originalThroughputMiBps?: number | undefined;
}

export interface VolumeRecord extends VolumeSettings {
  /** `vol-` + 17 hex digits, drawn at random: never the ID of an instance's root volume (`vol-<instance hex>`) */
  readonly id: string;
  readonly account: string;
  readonly region: string;
  readonly availabilityZone: string;
  readonly encrypted: boolean;
  /** the snapshot it was restored from */
  readonly snapshotId?: string | undefined;
  readonly createTime: string;
  readonly attachment?: VolumeAttachmentRecord | undefined;
  /** the VM host that keeps its disk file, once one does (the host of the first instance it was attached to) */
  readonly host?: string | undefined;
  /** the latest ModifyVolume (completed at once) */
  readonly modification?: VolumeModificationRecord | undefined;
  readonly clientToken?: string | undefined;
  readonly requestHash?: string | undefined;
}

export interface SnapshotRecord {
  /** `snap-` + 17 hex digits */
  readonly id: string;
  readonly account: string;
  readonly region: string;
  readonly volumeId: string;
  readonly volumeSizeGiB: number;
  readonly description: string;
  readonly encrypted: boolean;
  readonly startTime: string;
  /** pending until its VM host has copied the data; completed at once when there is no data to copy */
  readonly state: 'pending' | 'completed' | 'error';
  /** the VM host that keeps its file, when it has one */
  readonly host?: string | undefined;
  /** CopySnapshot: where it was copied from */
  readonly sourceRegion?: string | undefined;
  readonly sourceSnapshotId?: string | undefined;
}

/** A volume's attachment while its instance exists and is not terminated. */
export function liveAttachment(
  vol: Pick<VolumeRecord, 'attachment'>,
  instanceOf: (id: string) => { readonly state: string } | undefined,
): VolumeAttachmentRecord | undefined {
  const a = vol.attachment;
  if (!a) return undefined;
  const rec = instanceOf(a.instanceId);
  return rec && rec.state !== 'terminated' ? a : undefined;
}

// --- CreateVolume / ModifyVolume ----------------------------------------------------------------------

export type { VolumeSettings } from './block-devices.js';

export function volumeTypeOf(raw: string | undefined, fallback: VolumeType): VolumeType {
  if (raw === undefined) return fallback;
  if (!isVolumeType(raw)) throw Errors.invalidValueFor('VolumeType', raw, `Valid values: ${Object.keys(VOLUME_TYPES).join(', ')}.`);
  return raw;
}

/**
 * A volume's size, type, IOPS and throughput, checked in EC2's order: type, size against the type's
 * range (and the snapshot's size), IOPS (required for io1/io2, refused for gp2/st1/sc1/standard, the
 * per-GiB ratio above gp3's baseline), throughput (gp3 only, at most 0.25 MiB/s per IOPS). `previous`:
 * ModifyVolume keeps what it does not change (a gp3 that stays gp3 keeps its IOPS and throughput).
 */
export function checkVolumeSettings(
  given: { readonly size?: number | undefined; readonly type?: string | undefined; readonly iops?: number | undefined; readonly throughput?: number | undefined },
  opts: { readonly snapshot?: { readonly id: string; readonly sizeGiB: number } | undefined; readonly previous?: VolumeSettings | undefined },
): VolumeSettings {
  const prev = opts.previous;
  const type = volumeTypeOf(given.type, prev?.volumeType ?? 'gp2');
  const limits = VOLUME_TYPES[type];
  const givenSize = wholeNumber(given.size, 'Size');
  const givenIops = wholeNumber(given.iops, 'Iops');
  const givenThroughput = wholeNumber(given.throughput, 'Throughput');
  const size = givenSize ?? prev?.sizeGiB ?? opts.snapshot?.sizeGiB;
  if (size === undefined) throw Errors.volumeSizeOrSnapshot();
  if (size < 1) throw Errors.invalidValueFor('Size', size, 'Volume size must be at least 1 GiB.');
  if (opts.snapshot && size < opts.snapshot.sizeGiB) throw Errors.volumeSmallerThanItsSnapshot(size, opts.snapshot.id, opts.snapshot.sizeGiB);
  if (prev && size < prev.sizeGiB) throw Errors.volumeShrink();
  if (size < limits.minGiB) throw Errors.volumeTooSmall(size, type, limits.minGiB);
  if (size > limits.maxGiB) throw Errors.volumeTooLarge(size, type, limits.maxGiB);

  // IOPS and throughput: a type that keeps its type keeps them unless new ones are given.
  const sameType = prev?.volumeType === type;
  const iops = checkIops(type, limits.iops, givenIops ?? (sameType && limits.iops ? prev?.iops : undefined), size);
  const throughput = checkThroughput(limits.throughput, givenThroughput ?? (sameType ? prev?.throughputMiBps : undefined), iops, () =>
    Errors.throughputNotSupportedFor(type),
  );
  return { sizeGiB: size, volumeType: type, iops, throughputMiBps: throughput };
}

// --- AttachVolume devices -----------------------------------------------------------------------------

/**
 * The device names AttachVolume takes on a Linux HVM instance (the EC2 User Guide's "Device names on
 * Linux instances": /dev/sd[b-z], /dev/xvd[b-z] and the two-letter /dev/xvd[b-c][a-z] / /dev/xvd[a-d][a-z]
 * forms; the `/dev/` prefix may be left out, as EC2 accepts `xvdh`); `/dev/sda1` for Windows' root.
 */
const ATTACH_DEVICE = /^(?:\/dev\/)?(?:sd[a-z][0-9]{0,2}|xvd[a-z]|xvd[a-d][a-z]|hd[a-z])$/;

export function checkAttachDevice(device: string): void {
  if (!ATTACH_DEVICE.test(device)) throw Errors.invalidEbsDeviceName(device);
}

/**
 * The attachment point a device name takes: `sdf`, `/dev/sdf` and `/dev/xvdf` are one (the kernel names
 * /dev/sdf xvdf); a partition suffix names its disk (`/dev/sda1` → `xvda`).
 */
export function attachmentPoint(device: string): string {
  return device
    .replace(/^\/dev\//, '')
    .replace(/^(?:sd|hd)/, 'xvd')
    .replace(/[0-9]+$/, '');
}

/** The data volumes one instance may have attached here: virtio-mmio slots of QEMU's microvm, less the root disk and the NIC. */
export const MAX_DATA_VOLUMES = 6;

/** `vol-0123456789abcdef0` → `vol0123456789abcdef0`: EC2's NVMe serial of a volume, 20 characters (virtio-blk's limit too). */
export const volumeSerial = (volumeId: string): string => volumeId.replace('-', '');
