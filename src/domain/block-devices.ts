/**
 * Block device mappings at launch (RunInstances' and launch templates' BlockDeviceMappings): the EBS
 * volume types with their limits, and the root volume a mapping of the image's root device makes.
 *
 * Every instance has its root volume, derived from the instance record (see `rootVolumeId`). A mapping
 * of the root device sets its size, type, IOPS, throughput, encryption and DeleteOnTermination; a
 * mapping that names an instance store volume (VirtualName: NVMe instance store is enumerated by the
 * instance, so EC2 ignores such mappings too) changes nothing; every other EBS mapping (and a user
 * image's own) becomes a data volume made and attached at launch (resolveDataVolumes).
 */
import type { BlockDeviceMapping } from '@aws-sdk/client-ec2';
import { Errors } from './errors.js';
import { type ImageFacts, ROOT_VOLUME, imageRoot, isUserImage } from './images.js';

export type VolumeType = 'standard' | 'io1' | 'io2' | 'gp2' | 'sc1' | 'st1' | 'gp3';

interface IopsLimits {
  readonly min: number;
  readonly max: number;
  /** IOPS per GiB of volume size, above the baseline */
  readonly perGiB: number;
  /** io1 and io2 must be given their IOPS; gp3 has a baseline that any size may have */
  readonly required: boolean;
  readonly baseline?: number;
}

interface ThroughputLimits {
  readonly min: number;
  readonly max: number;
  readonly baseline: number;
  /** MiB/s per provisioned IOPS */
  readonly perIops: number;
}

interface VolumeTypeLimits {
  readonly minGiB: number;
  readonly maxGiB: number;
  readonly iops?: IopsLimits;
  readonly throughput?: ThroughputLimits;
  /** st1 and sc1 cannot be boot volumes */
  readonly boot: boolean;
}

/**
 * The EBS User Guide's limits per volume type, with gp3 and io2 at 64 TiB and gp3 at up to 80,000
 * IOPS and 2,000 MiB/s (raised in September 2025).
 */
export const VOLUME_TYPES: Readonly<Record<VolumeType, VolumeTypeLimits>> = {
  gp3: {
    minGiB: 1,
    maxGiB: 65536,
    iops: { min: 3000, max: 80000, perGiB: 500, required: false, baseline: 3000 },
    throughput: { min: 125, max: 2000, baseline: 125, perIops: 0.25 },
    boot: true,
  },
  gp2: { minGiB: 1, maxGiB: 16384, boot: true },
  io1: { minGiB: 4, maxGiB: 16384, iops: { min: 100, max: 64000, perGiB: 50, required: true }, boot: true },
  io2: { minGiB: 4, maxGiB: 65536, iops: { min: 100, max: 256000, perGiB: 1000, required: true }, boot: true },
  st1: { minGiB: 125, maxGiB: 16384, boot: false },
  sc1: { minGiB: 125, maxGiB: 16384, boot: false },
  standard: { minGiB: 1, maxGiB: 1024, boot: true },
};

export const isVolumeType = (v: string): v is VolumeType => Object.hasOwn(VOLUME_TYPES, v);

/** What every EBS volume is: its size, type, and what it is provisioned with. */
export interface VolumeSettings {
  readonly sizeGiB: number;
  readonly volumeType: VolumeType;
  /** provisioned IOPS (gp3, io1, io2) */
  readonly iops?: number | undefined;
  /** provisioned throughput (gp3) */
  readonly throughputMiBps?: number | undefined;
}

/** What an instance records about its root volume when the launch set anything of it. */
export interface RootVolumeSettings extends VolumeSettings {
  readonly deleteOnTermination: boolean;
  readonly encrypted: boolean;
  readonly kmsKeyId?: string | undefined;
  /** DeleteVolume removed it (possible once its instance was terminated and it was kept) */
  readonly deleted?: true | undefined;
  /** launched from a user image: the snapshot its disk is restored from (under qemu, a copy of that snapshot's file) */
  readonly snapshotId?: string | undefined;
  /** launched from a user image: the built image whose kernel boots it (the image's source's variant) */
  readonly bootVariant?: 'base' | 'cloud-init' | undefined;
  /** the image's root device name when it is not the platform's (`/dev/sda1` on a Linux image registered so) */
  readonly device?: string | undefined;
}

/** An extra EBS volume a launch's BlockDeviceMappings (or its user image's) ask for: a data volume attached at launch. */
export interface LaunchDataVolume extends VolumeSettings {
  readonly device: string;
  readonly encrypted: boolean;
  readonly deleteOnTermination: boolean;
  readonly snapshotId?: string | undefined;
}

/** The root volume an image gives when the launch says nothing of it. */
export function imageRootVolume(platform: 'linux' | 'windows'): RootVolumeSettings {
  return {
    sizeGiB: ROOT_VOLUME[platform].sizeGiB,
    volumeType: ROOT_VOLUME.volumeType,
    iops: ROOT_VOLUME.iops,
    throughputMiBps: ROOT_VOLUME.throughputMiBps,
    deleteOnTermination: true,
    encrypted: false,
  };
}

/** An instance's root volume settings: recorded at launch, or the image's. */
export const rootVolumeOf = (rec: {
  readonly platform: 'linux' | 'windows';
  readonly rootVolume?: RootVolumeSettings | undefined;
}): RootVolumeSettings => rec.rootVolume ?? imageRootVolume(rec.platform);

/** An instance's root device name: its image's (RootDeviceName), which is the platform's unless a user image says otherwise. */
export const rootDeviceName = (rec: { readonly platform: 'linux' | 'windows'; readonly rootVolume?: RootVolumeSettings | undefined }): string =>
  rec.rootVolume?.device ?? ROOT_VOLUME[rec.platform].device;

/** The IOPS a volume has: provisioned, or gp2's baseline of 3 per GiB (100 to 16,000); none for the others. */
export function volumeIops(v: RootVolumeSettings): number | undefined {
  if (v.iops !== undefined) return v.iops;
  return v.volumeType === 'gp2' ? Math.min(16000, Math.max(100, 3 * v.sizeGiB)) : undefined;
}

// --- RunInstances ---------------------------------------------------------------------------------

/** `/dev/sdf`, `/dev/xvdba`, `xvdh`, `/dev/sda1`: the forms EC2 takes for a device on an HVM instance. */
const DEVICE_NAME = /^(?:\/dev\/)?(?:sd|xvd|hd)[a-z]{1,2}[0-9]{0,2}$/;
const VIRTUAL_NAME = /^ephemeral[0-9]{1,2}$/;
/** `xvda` for `/dev/xvda`: the device, whichever way it is written. */
const deviceKey = (name: string): string => name.replace(/^\/dev\//, '');

/** EbsBlockDevice members RunInstances does not take, or nestbox cannot honour, with the reason. */
const REFUSED_EBS_MEMBERS: Readonly<Record<string, string>> = {
  OutpostArn: 'nestbox has no Outposts',
  AvailabilityZone: "a launched volume is always in its instance's zone",
  AvailabilityZoneId: "a launched volume is always in its instance's zone",
  VolumeInitializationRate: "the root volume is ready as soon as its instance is; nestbox keeps no snapshot data to initialise it from",
};

export function wholeNumber(value: number | undefined, param: string): number | undefined {
  if (value !== undefined && !Number.isInteger(value)) throw Errors.invalidValueFor(param, value, 'Specify a whole number.');
  return value;
}

/**
 * The root volume a launch's BlockDeviceMappings ask for, or undefined when none maps the image's root
 * device (the image's root volume then). Every mapping is checked: device names, no device twice, one
 * of Ebs / VirtualName / NoDevice each, and no EBS volume but the root.
 */
export function resolveRootVolume(mappings: readonly BlockDeviceMapping[] | undefined, image: ImageFacts): RootVolumeSettings | undefined {
  const rootKey = deviceKey(imageRoot(image).device);
  const seen = new Set<string>();
  let root: { readonly mapping: BlockDeviceMapping; readonly param: string } | undefined;
  (mappings ?? []).forEach((mapping, i) => {
    const param = `BlockDeviceMapping.${i + 1}`;
    const device = mapping.DeviceName;
    if (device === undefined || device === '') throw Errors.missingParameter(`${param}.DeviceName`);
    if (!DEVICE_NAME.test(device)) throw Errors.invalidDeviceName(device);
    const key = deviceKey(device);
    if (seen.has(key)) throw Errors.duplicateDevice(key);
    seen.add(key);
    const given = [mapping.Ebs && 'Ebs', mapping.VirtualName !== undefined && 'VirtualName', mapping.NoDevice !== undefined && 'NoDevice'].filter(
      (x): x is string => typeof x === 'string',
    );
    if (given.length > 1) {
      throw Errors.invalidBlockDeviceMapping(`The block device mapping for ${device} may specify only one of Ebs, VirtualName and NoDevice; it specifies ${given.join(' and ')}.`);
    }
    if (mapping.VirtualName !== undefined && !VIRTUAL_NAME.test(mapping.VirtualName)) {
      throw Errors.invalidValueFor(`${param}.VirtualName`, mapping.VirtualName, 'Instance store volumes are named ephemeral0, ephemeral1, …');
    }
    if (key === rootKey) {
      if (mapping.NoDevice !== undefined) throw Errors.invalidBlockDeviceMapping(`The root device ${device} cannot be suppressed with NoDevice.`);
      if (mapping.VirtualName !== undefined) {
        throw Errors.invalidBlockDeviceMapping(`The root device ${device} must be an EBS volume, not the instance store volume ${mapping.VirtualName}.`);
      }
      root = { mapping, param };
    } else if (mapping.Ebs) {
      // An extra EBS volume: a data volume made and attached at launch (resolveDataVolumes).
    } else if (given.length === 0) {
      throw Errors.invalidBlockDeviceMapping(`The block device mapping for ${device} specifies none of Ebs, VirtualName and NoDevice.`);
    }
  });
  // A user image's root volume is always recorded: its size and snapshot are the image's, not the platform's.
  if (!root && isUserImage(image)) root = { mapping: { DeviceName: imageRoot(image).device, Ebs: {} }, param: 'BlockDeviceMapping' };
  return root && rootVolumeFrom(root.mapping, root.param, image);
}

/**
 * A mapping's EBS members checked for syntax, as every EBS mapping's are, root or data: members nestbox
 * cannot honour are refused by name, then the type, then the numbers.
 */
function ebsMembers(mapping: BlockDeviceMapping, param: string, cardWhy: string) {
  const ebs = mapping.Ebs ?? {};
  for (const [member, why] of Object.entries(REFUSED_EBS_MEMBERS)) {
    if ((ebs as Record<string, unknown>)[member] !== undefined) throw Errors.launchOptionNotImplemented(`${param}.Ebs.${member}`, why);
  }
  if (ebs.EbsCardIndex !== undefined && ebs.EbsCardIndex !== 0) {
    throw Errors.launchOptionNotImplemented(`${param}.Ebs.EbsCardIndex ${ebs.EbsCardIndex}`, cardWhy);
  }
  const rawType = ebs.VolumeType as string | undefined;
  if (rawType !== undefined && !isVolumeType(rawType)) {
    throw Errors.invalidValueFor(`${param}.Ebs.VolumeType`, rawType, `Valid values: ${Object.keys(VOLUME_TYPES).join(', ')}.`);
  }
  return {
    ebs,
    rawType: rawType as VolumeType | undefined,
    givenSize: wholeNumber(ebs.VolumeSize, `${param}.Ebs.VolumeSize`),
    givenIops: wholeNumber(ebs.Iops, `${param}.Ebs.Iops`),
    givenThroughput: wholeNumber(ebs.Throughput, `${param}.Ebs.Throughput`),
  };
}

/** The root volume one mapping of the root device makes, checked against EBS's rules in EC2's order. */
function rootVolumeFrom(mapping: BlockDeviceMapping, param: string, image: ImageFacts): RootVolumeSettings {
  const device = mapping.DeviceName!;
  const { ebs, rawType, givenSize, givenIops, givenThroughput } = ebsMembers(mapping, param, 'the root volume is on EBS card 0');
  const imageRootDevice = imageRoot(image);
  const snapshotId = imageRootDevice.snapshotId;
  if (ebs.SnapshotId !== undefined && ebs.SnapshotId !== snapshotId) {
    throw Errors.launchOptionNotImplemented(
      `${param}.Ebs.SnapshotId ${ebs.SnapshotId}`,
      `the root volume is always made from the image's snapshot ${snapshotId}`,
    );
  }

  const type: VolumeType = rawType ?? imageRootDevice.volumeType;
  const limits = VOLUME_TYPES[type];
  if (!limits.boot) throw Errors.notABootVolumeType(type, device);
  const snapshotSize = imageRootDevice.sizeGiB;
  const size = givenSize ?? snapshotSize;
  if (size < snapshotSize) throw Errors.volumeSmallerThanSnapshot(size, snapshotId, snapshotSize);
  if (size > limits.maxGiB) throw Errors.volumeTooLarge(size, type, limits.maxGiB);

  // A user image's gp3/io root keeps the IOPS and throughput it was imaged with unless the launch says otherwise.
  const sameType = type === imageRootDevice.volumeType && isUserImage(image);
  const iops = checkIops(type, limits.iops, givenIops ?? (sameType && limits.iops ? imageRootDevice.iops : undefined), size);
  const throughput = checkThroughput(limits.throughput, givenThroughput ?? (sameType ? imageRootDevice.throughputMiBps : undefined), iops, () => Errors.throughputNotSupported(device));

  const encrypted = ebs.Encrypted === true || imageRootDevice.encrypted;
  if (ebs.KmsKeyId !== undefined && !encrypted) throw Errors.kmsKeyWithoutEncryption();
  return {
    sizeGiB: size,
    volumeType: type,
    ...(iops !== undefined ? { iops } : {}),
    ...(throughput !== undefined ? { throughputMiBps: throughput } : {}),
    deleteOnTermination: ebs.DeleteOnTermination ?? imageRootDevice.deleteOnTermination,
    encrypted,
    ...(ebs.KmsKeyId !== undefined ? { kmsKeyId: ebs.KmsKeyId } : {}),
    ...(isUserImage(image) ? { snapshotId, ...(image.variant !== undefined ? { bootVariant: image.variant } : {}) } : {}),
    ...(imageRootDevice.device !== ROOT_VOLUME[image.platform].device ? { device: imageRootDevice.device } : {}),
  };
}

/**
 * The data volumes a launch makes and attaches (EC2: every EBS mapping but the root's, the image's own
 * mappings first, each overridden by the launch's mapping of the same device or suppressed by its
 * NoDevice). A launch's mapping of a device the image does not map needs VolumeSize or SnapshotId;
 * DeleteOnTermination is true unless said otherwise (EC2's default for volumes made at launch, unlike
 * AttachVolume's). `snapshotSize`: the size of a snapshot a launch's mapping names (the caller's; looked
 * up by the service, which has already answered InvalidSnapshot.NotFound for unknown ones).
 */
export function resolveDataVolumes(
  mappings: readonly BlockDeviceMapping[] | undefined,
  image: ImageFacts,
  snapshotSize: (id: string) => number | undefined,
): LaunchDataVolume[] {
  const rootKey = deviceKey(imageRoot(image).device);
  const given = new Map<string, { readonly mapping: BlockDeviceMapping; readonly param: string }>();
  (mappings ?? []).forEach((mapping, i) => {
    if (mapping.DeviceName) given.set(deviceKey(mapping.DeviceName), { mapping, param: `BlockDeviceMapping.${i + 1}` });
  });
  const out: LaunchDataVolume[] = [];
  const imageDevices = isUserImage(image) ? image.user.blockDevices.filter((b) => b.ebs && deviceKey(b.device) !== rootKey) : [];
  for (const b of imageDevices) {
    const key = deviceKey(b.device);
    const over = given.get(key);
    given.delete(key);
    if (over?.mapping.NoDevice !== undefined || over?.mapping.VirtualName !== undefined) continue;
    const e = b.ebs!;
    out.push(
      dataVolumeFrom(over?.mapping ?? { DeviceName: b.device, Ebs: {} }, over?.param ?? 'BlockDeviceMapping', {
        snapshotId: e.snapshotId,
        sizeGiB: e.sizeGiB,
        volumeType: e.volumeType,
        iops: e.iops,
        throughputMiBps: e.throughputMiBps,
        encrypted: e.encrypted,
        deleteOnTermination: e.deleteOnTermination,
      }, snapshotSize),
    );
  }
  for (const [key, { mapping, param }] of given) {
    if (key === rootKey || !mapping.Ebs) continue;
    out.push(dataVolumeFrom(mapping, param, undefined, snapshotSize));
  }
  return out;
}

type ImageDataDefaults = Omit<LaunchDataVolume, 'device'>;

function dataVolumeFrom(
  mapping: BlockDeviceMapping,
  param: string,
  fromImage: ImageDataDefaults | undefined,
  snapshotSize: (id: string) => number | undefined,
): LaunchDataVolume {
  const device = mapping.DeviceName!;
  const { ebs, rawType, givenSize, givenIops, givenThroughput } = ebsMembers(mapping, param, 'every volume is on EBS card 0');
  const snapshotId = ebs.SnapshotId ?? fromImage?.snapshotId;
  const snapSize = ebs.SnapshotId !== undefined ? snapshotSize(ebs.SnapshotId) : fromImage?.snapshotId !== undefined ? fromImage.sizeGiB : undefined;
  const size = givenSize ?? fromImage?.sizeGiB ?? snapSize;
  if (size === undefined) throw Errors.invalidBlockDeviceMapping(`The block device mapping for ${device} must specify a volume size or a snapshot ID.`);
  if (snapshotId !== undefined && snapSize !== undefined && size < snapSize) throw Errors.volumeSmallerThanSnapshot(size, snapshotId, snapSize);
  const type: VolumeType = rawType ?? fromImage?.volumeType ?? 'gp2';
  const limits = VOLUME_TYPES[type];
  if (size < limits.minGiB) throw Errors.volumeTooSmall(size, type, limits.minGiB);
  if (size > limits.maxGiB) throw Errors.volumeTooLarge(size, type, limits.maxGiB);
  const sameType = fromImage !== undefined && type === fromImage.volumeType;
  const iops = checkIops(type, limits.iops, givenIops ?? (sameType && limits.iops ? fromImage.iops : undefined), size);
  const throughput = checkThroughput(limits.throughput, givenThroughput ?? (sameType ? fromImage.throughputMiBps : undefined), iops, () => Errors.throughputNotSupported(device));
  const encrypted = ebs.Encrypted === true || fromImage?.encrypted === true;
  if (ebs.KmsKeyId !== undefined && !encrypted) throw Errors.kmsKeyWithoutEncryption();
  return {
    device,
    sizeGiB: size,
    volumeType: type,
    ...(iops !== undefined ? { iops } : {}),
    ...(throughput !== undefined ? { throughputMiBps: throughput } : {}),
    encrypted,
    deleteOnTermination: ebs.DeleteOnTermination ?? fromImage?.deleteOnTermination ?? true,
    ...(snapshotId !== undefined ? { snapshotId } : {}),
  };
}

/** A volume's IOPS against its type's limits: the given ones, or the type's baseline (IopsRequired for io1/io2). */
export function checkIops(type: VolumeType, limits: IopsLimits | undefined, given: number | undefined, sizeGiB: number): number | undefined {
  if (!limits) {
    if (given !== undefined) throw Errors.iopsNotSupported(type);
    return undefined;
  }
  if (given === undefined) {
    if (limits.required) throw Errors.iopsRequired(type);
    return limits.baseline;
  }
  if (given < limits.min) throw Errors.iopsOutOfRange(given, type, 'minimum', limits.min);
  if (given > limits.max) throw Errors.iopsOutOfRange(given, type, 'maximum', limits.max);
  // Any size may have the baseline; more IOPS need the size to carry them.
  if (given > (limits.baseline ?? 0) && given / sizeGiB > limits.perGiB) throw Errors.iopsToSizeRatio(given / sizeGiB, limits.perGiB);
  return given;
}

/** A volume's throughput against its type's limits (gp3 only); `notSupported`: the error for another type given one. */
export function checkThroughput(
  limits: ThroughputLimits | undefined,
  given: number | undefined,
  iops: number | undefined,
  notSupported: () => Error,
): number | undefined {
  if (!limits) {
    if (given !== undefined) throw notSupported();
    return undefined;
  }
  if (given === undefined) return limits.baseline;
  if (given < limits.min) throw Errors.throughputOutOfRange(given, 'minimum', limits.min);
  if (given > limits.max) throw Errors.throughputOutOfRange(given, 'maximum', limits.max);
  if (iops !== undefined && given > limits.baseline && given / iops > limits.perIops) {
    throw Errors.throughputToIopsRatio(given / iops, limits.perIops);
  }
  return given;
}
