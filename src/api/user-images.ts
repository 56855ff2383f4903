/**
 * The accounts' own images (AMIs): CreateImage, RegisterImage, CopyImage, DeregisterImage and
 * Describe/Modify/ResetImageAttribute. Stored records of kind `image` (src/domain/images.ts
 * UserImageRecord), owned by the account, private until their launch permission says otherwise; their
 * data are EBS snapshots made with the snapshot machinery (src/api/snapshots.ts: `snapshot-volume` and
 * `copy-snapshot` tasks for the VM host, real qcow2 copies under the qemu driver), and an image is
 * `pending` until all of its snapshots are completed. DescribeImages lists them with the built-in
 * images (src/api/images.ts); RunInstances launches them (src/services/launch.ts: the root volume is
 * restored from the root snapshot, the other EBS mappings become data volumes attached at launch).
 *
 * EC2 behaviours followed (the EC2 API reference for each operation; moto 5 ec2/models/amis.py and
 * ec2/exceptions.py for the codes):
 * - CreateImage: the instance must be running or stopped; one snapshot per EBS volume attached (root and
 *   data), described `Created by CreateImage(<instance>) for <image>`; TagSpecifications `image` and
 *   `snapshot`; BlockDeviceMappings may drop a volume (NoDevice), change its size (not below its
 *   snapshot), type or DeleteOnTermination, or add an instance store or an empty EBS volume. A running
 *   instance is not rebooted here whatever NoReboot says (nestbox cannot stop the guest's file system
 *   around the copy): the snapshot is crash-consistent, as EC2's is with NoReboot.
 * - Names: 3–128 characters of EC2's set (InvalidAMIName.Malformed), unique per account and Region
 *   (InvalidAMIName.Duplicate "AMI name … is already in use by AMI ami-…").
 * - Launch permissions: an account ID (12 digits) or the group `all` (public); anything else is
 *   InvalidAMIAttributeItemValue (moto's words). Only the owner describes or changes attributes; an
 *   account it is shared with sees and launches it (AuthFailure on its attributes).
 * - DeregisterImage: the image goes (InvalidAMIID.NotFound after); its snapshots stay unless
 *   DeleteAssociatedSnapshots; instances launched from it are not affected.
 * - A snapshot an image uses cannot be deleted: InvalidSnapshot.InUse (src/api/snapshots.ts).
 */
import type {
  BlockDeviceMapping,
  CopyImageRequest,
  CopyImageResult,
  CreateImageRequest,
  CreateImageResult,
  DeregisterImageRequest,
  DeregisterImageResult,
  DescribeImageAttributeRequest,
  ImageAttribute,
  LaunchPermission,
  ModifyImageAttributeRequest,
  RegisterImageRequest,
  RegisterImageResult,
  ResetImageAttributeRequest,
} from '@aws-sdk/client-ec2';
import { VOLUME_TYPES, type VolumeType, rootDeviceName, rootVolumeOf } from '../domain/block-devices.js';
import { Errors } from '../domain/errors.js';
import { isWellFormedId, newId } from '../domain/ids.js';
import {
  AMI_NAME,
  type ImageBlockDevice,
  type UserImageRecord,
  findImage,
  userImageInfo,
} from '../domain/images.js';
import { type Scope, instanceIdOfRootVolume, rootVolumeId } from '../domain/instance.js';
import { findRegion } from '../domain/regions.js';
import type { SnapshotRecord } from '../domain/volumes.js';
import { imageState, ownedImage, snapshotsOf, visibleUserImage } from '../services/images.js';
import { findInstances } from '../services/instances.js';
import { tagRecordsOf, tagsFromSpecifications } from '../services/tags.js';
import { dataVolumesAttachedTo, findSnapshots } from '../services/volumes.js';
import type { StoreReader, VmTask } from '../store/types.js';
import { type Handler, checkDryRun, required } from './context.js';

const DESCRIPTION_MAX = 255;

function checkName(name: string): string {
  if (!AMI_NAME.test(name)) throw Errors.amiNameMalformed(name);
  return name;
}

function checkDescription(description: string | undefined): string | undefined {
  if (description !== undefined && description.length > DESCRIPTION_MAX) {
    throw Errors.invalidValueFor('Description', description, `Descriptions are at most ${DESCRIPTION_MAX} characters.`);
  }
  return description;
}

/** Under the account's image lock in the Region: the name still free (InvalidAMIName.Duplicate otherwise). */
async function checkNameFree(reader: StoreReader, scope: Scope, name: string): Promise<void> {
  const [taken] = await reader.resources('image', { account: scope.account, region: scope.region, names: [name] });
  if (taken) throw Errors.amiNameDuplicate(name, taken.id);
}

const imageLock = (scope: Scope) => `images:${scope.account}:${scope.region}`;


const isVolumeType = (v: string): v is VolumeType => Object.hasOwn(VOLUME_TYPES, v);

/** `xvdf` for `/dev/xvdf`: one device whichever way it is written. */
const deviceKey = (name: string): string => name.replace(/^\/dev\//, '');

/**
 * BlockDeviceMappings members that change an image's mapping of one device (CreateImage overrides,
 * RegisterImage's non-root mappings): NoDevice drops it, VirtualName makes it an instance store volume,
 * Ebs changes (or, for a new device, makes) an EBS volume. `base`: what the device is without the override.
 */
function applyMapping(mapping: BlockDeviceMapping, param: string, base: ImageBlockDevice | undefined): ImageBlockDevice | undefined {
  const device = mapping.DeviceName;
  if (device === undefined || device === '') throw Errors.missingParameter(`${param}.DeviceName`);
  if (mapping.NoDevice !== undefined) return undefined;
  if (mapping.VirtualName !== undefined) {
    if (!/^ephemeral[0-9]{1,2}$/.test(mapping.VirtualName)) {
      throw Errors.invalidValueFor(`${param}.VirtualName`, mapping.VirtualName, 'Instance store volumes are named ephemeral0, ephemeral1, …');
    }
    return { device, virtualName: mapping.VirtualName };
  }
  const ebs = mapping.Ebs;
  if (!ebs) throw Errors.invalidBlockDeviceMapping(`The block device mapping for ${device} specifies none of Ebs, VirtualName and NoDevice.`);
  if (ebs.KmsKeyId !== undefined) throw Errors.kmsNotImplemented('CreateImage', `${param}.Ebs.KmsKeyId`);
  const rawType = ebs.VolumeType as string | undefined;
  if (rawType !== undefined && !isVolumeType(rawType)) {
    throw Errors.invalidValueFor(`${param}.Ebs.VolumeType`, rawType, `Valid values: ${Object.keys(VOLUME_TYPES).join(', ')}.`);
  }
  const prev = base?.ebs;
  const size = ebs.VolumeSize ?? prev?.sizeGiB;
  if (size === undefined) throw Errors.invalidBlockDeviceMapping(`The block device mapping for ${device} must specify a volume size or a snapshot ID.`);
  if (!Number.isInteger(size) || size < 1) throw Errors.invalidValueFor(`${param}.Ebs.VolumeSize`, size, 'Specify a whole number of GiB.');
  if (prev?.snapshotId !== undefined && size < prev.sizeGiB) throw Errors.volumeSmallerThanSnapshot(size, prev.snapshotId, prev.sizeGiB);
  const type = (rawType as VolumeType | undefined) ?? prev?.volumeType ?? 'gp2';
  const limits = VOLUME_TYPES[type];
  if (size > limits.maxGiB) throw Errors.volumeTooLarge(size, type, limits.maxGiB);
  if (size < limits.minGiB) throw Errors.volumeTooSmall(size, type, limits.minGiB);
  const iops = ebs.Iops ?? (type === prev?.volumeType ? prev.iops : limits.iops?.baseline);
  if (limits.iops?.required && iops === undefined) throw Errors.iopsRequired(type);
  const throughput = limits.throughput ? (ebs.Throughput ?? (type === prev?.volumeType ? prev.throughputMiBps : limits.throughput.baseline)) : undefined;
  return {
    device,
    ebs: {
      ...(prev?.snapshotId !== undefined ? { snapshotId: prev.snapshotId } : {}),
      sizeGiB: size,
      volumeType: type,
      ...(limits.iops && iops !== undefined ? { iops } : {}),
      ...(throughput !== undefined ? { throughputMiBps: throughput } : {}),
      deleteOnTermination: ebs.DeleteOnTermination ?? prev?.deleteOnTermination ?? true,
      encrypted: prev?.encrypted ?? ebs.Encrypted === true,
    },
  };
}

function checkBootMode(mode: string | undefined, param: string): UserImageRecord['bootMode'] {
  if (mode === undefined) return undefined;
  if (mode !== 'uefi' && mode !== 'uefi-preferred' && mode !== 'legacy-bios') {
    throw Errors.invalidValueFor(param, mode, 'Valid values: legacy-bios, uefi, uefi-preferred.');
  }
  return mode;
}

// --- CreateImage ----------------------------------------------------------------------------------------

export const createImage: Handler<CreateImageRequest, CreateImageResult> = async (input, ctx, s) => {
  const instanceId = required(input.InstanceId, 'InstanceId');
  const name = checkName(required(input.Name, 'Name'));
  const description = checkDescription(input.Description);
  if (input.SnapshotLocation !== undefined && input.SnapshotLocation !== 'regional') {
    throw Errors.parameterNotImplemented('CreateImage', `SnapshotLocation ${input.SnapshotLocation}`, 'snapshots are regional here (no Local Zones or Outposts)');
  }
  const bootModeOverride = checkBootMode(input.BootModeOverride, 'BootModeOverride');
  const imageTags = tagsFromSpecifications(input.TagSpecifications, 'image', ['image', 'snapshot']);
  const snapshotTags = tagsFromSpecifications(input.TagSpecifications, 'snapshot', ['image', 'snapshot']);
  const [instance] = await findInstances(s, ctx, [instanceId]);
  const rec = instance!;
  if (rec.state !== 'running' && rec.state !== 'stopped') throw Errors.createImageState(instanceId, rec.state);

  // The instance's EBS volumes, root first, each as the image will map it before the overrides.
  const root = rootVolumeOf(rec);
  const rootDevice = rootDeviceName(rec);
  const attached = (await dataVolumesAttachedTo(s, ctx, [rec])).get(rec.id) ?? [];
  const sources = [
    {
      volumeId: rootVolumeId(rec),
      host: rec.vmHost,
      device: {
        device: rootDevice,
        ebs: {
          sizeGiB: root.sizeGiB,
          volumeType: root.volumeType,
          ...(root.iops !== undefined ? { iops: root.iops } : {}),
          ...(root.throughputMiBps !== undefined ? { throughputMiBps: root.throughputMiBps } : {}),
          deleteOnTermination: true,
          encrypted: root.encrypted,
        },
      } as ImageBlockDevice,
    },
    ...[...attached]
      .sort((a, b) => a.attachment!.attachTime.localeCompare(b.attachment!.attachTime))
      .map((v) => ({
        volumeId: v.id,
        host: v.host,
        device: {
          device: v.attachment!.device,
          ebs: {
            sizeGiB: v.sizeGiB,
            volumeType: v.volumeType,
            ...(v.iops !== undefined ? { iops: v.iops } : {}),
            ...(v.throughputMiBps !== undefined ? { throughputMiBps: v.throughputMiBps } : {}),
            deleteOnTermination: v.attachment!.deleteOnTermination,
            encrypted: v.encrypted,
          },
        } as ImageBlockDevice,
      })),
  ];
  // Overrides: by device; the root volume may grow or change type, not go.
  const overrides = new Map<string, { mapping: BlockDeviceMapping; param: string }>();
  (input.BlockDeviceMappings ?? []).forEach((mapping, i) => {
    const param = `BlockDeviceMapping.${i + 1}`;
    if (mapping.DeviceName === undefined || mapping.DeviceName === '') throw Errors.missingParameter(`${param}.DeviceName`);
    const key = deviceKey(mapping.DeviceName);
    if (overrides.has(key)) throw Errors.duplicateDevice(key);
    overrides.set(key, { mapping, param });
  });
  const rootOverride = overrides.get(deviceKey(rootDevice));
  if (rootOverride && (rootOverride.mapping.NoDevice !== undefined || rootOverride.mapping.VirtualName !== undefined)) {
    throw Errors.invalidBlockDeviceMapping(`The root device ${rootDevice} of the image must be an EBS volume.`);
  }

  const imageId = newId('image');
  const now = s.now().toISOString();
  const snapshots: SnapshotRecord[] = [];
  const devices: ImageBlockDevice[] = [];
  for (const src of sources) {
    const key = deviceKey(src.device.device);
    const over = overrides.get(key);
    overrides.delete(key);
    const snapshotId = newId('snapshot');
    const withSnapshot: ImageBlockDevice = { ...src.device, ebs: { ...src.device.ebs!, snapshotId } };
    const mapped = over ? applyMapping({ ...over.mapping, DeviceName: src.device.device }, over.param, withSnapshot) : withSnapshot;
    if (!mapped) continue; // NoDevice: that volume is left out of the image
    devices.push(mapped);
    if (mapped.ebs?.snapshotId !== snapshotId) continue;
    snapshots.push({
      id: snapshotId,
      account: ctx.account,
      region: ctx.region,
      volumeId: src.volumeId,
      volumeSizeGiB: src.device.ebs!.sizeGiB,
      description: `Created by CreateImage(${instanceId}) for ${imageId}`,
      encrypted: src.device.ebs!.encrypted,
      startTime: now,
      state: src.host !== undefined ? 'pending' : 'completed',
      ...(src.host !== undefined ? { host: src.host } : {}),
    });
  }
  for (const { mapping, param } of overrides.values()) {
    const added = applyMapping(mapping, param, undefined);
    if (added) devices.push(added);
  }
  checkDryRun(input);

  const variant = root.bootVariant ?? findImage(rec.imageId)?.variant;
  const sourceImage = findImage(rec.imageId);
  const image: UserImageRecord = {
    id: imageId,
    account: ctx.account,
    region: ctx.region,
    name,
    ...(description !== undefined ? { description } : {}),
    architecture: rec.architecture,
    platform: rec.platform,
    creationDate: now,
    rootDeviceName: rootDevice,
    blockDevices: devices,
    bootable: variant !== undefined,
    ...(variant !== undefined ? { variant } : {}),
    ...(bootModeOverride ?? sourceImage?.bootMode ? { bootMode: bootModeOverride ?? sourceImage?.bootMode } : {}),
    public: false,
    launchUsers: [],
    sourceInstanceId: instanceId,
  };
  const tasks: VmTask[] = snapshots.flatMap((snap) => (snap.host !== undefined ? [{ host: snap.host, target: snap.id, kind: 'snapshot-volume' as const }] : []));
  await s.store.transaction(
    async (tx) => {
      await checkNameFree(tx, ctx, name);
      tx.write({
        putResources: [...snapshots.map((doc) => ({ kind: 'snapshot' as const, doc })), { kind: 'image' as const, doc: image }],
        putTags: [...tagRecordsOf(ctx, imageId, 'image', imageTags), ...snapshots.flatMap((snap) => tagRecordsOf(ctx, snap.id, 'snapshot', snapshotTags))],
        tasks,
      });
    },
    { lock: imageLock(ctx) },
  );
  return { ImageId: imageId };
};

// --- RegisterImage ----------------------------------------------------------------------------------------

/** RegisterImage members nestbox cannot honour, with the reason. */
const REGISTER_REFUSED: Readonly<Partial<Record<keyof RegisterImageRequest, string>>> = {
  ImageLocation: 'nestbox registers EBS-backed images from snapshots only (no S3 bundles)',
  BillingProducts: 'nestbox has no billing products',
  KernelId: 'the images are HVM images, which boot their own kernel',
  RamdiskId: 'the images are HVM images, which boot their own RAM disk',
  UefiData: 'nestbox keeps no UEFI variable store',
  TpmSupport: 'nestbox has no NitroTPM',
  ImdsSupport: "instances launched from a registered image get IMDS's account defaults",
};

export const registerImage: Handler<RegisterImageRequest, RegisterImageResult> = async (input, ctx, s) => {
  const name = checkName(required(input.Name, 'Name'));
  const description = checkDescription(input.Description);
  for (const [member, why] of Object.entries(REGISTER_REFUSED)) {
    if ((input as unknown as Record<string, unknown>)[member] !== undefined) throw Errors.parameterNotImplemented('RegisterImage', member, why!);
  }
  if (input.VirtualizationType !== undefined && input.VirtualizationType !== 'hvm') {
    throw Errors.invalidValueFor('VirtualizationType', input.VirtualizationType, 'Only hvm images are supported.');
  }
  const architecture = (input.Architecture as string | undefined) ?? 'x86_64';
  if (architecture !== 'x86_64' && architecture !== 'arm64') {
    throw Errors.invalidValueFor('Architecture', architecture, 'Valid values here: x86_64, arm64.');
  }
  const bootMode = checkBootMode(input.BootMode, 'BootMode');
  const rootDeviceName = required(input.RootDeviceName, 'RootDeviceName');
  if (rootDeviceName !== '/dev/xvda' && rootDeviceName !== '/dev/sda1') {
    throw Errors.invalidValueFor('RootDeviceName', rootDeviceName, 'The root device is /dev/xvda or /dev/sda1.');
  }
  const mappings = required(input.BlockDeviceMappings, 'BlockDeviceMapping');
  const tags = tagsFromSpecifications(input.TagSpecifications, 'image', ['image']);
  // The snapshots named: the caller's own, completed.
  const named = [...new Set(mappings.flatMap((m) => (m.Ebs?.SnapshotId !== undefined ? [m.Ebs.SnapshotId] : [])))];
  const snaps = new Map((await findSnapshots(s, ctx, named)).map((x) => [x.id, x]));
  for (const snap of snaps.values()) if (snap.state !== 'completed') throw Errors.snapshotNotReady(snap.id, snap.state);
  const devices: ImageBlockDevice[] = [];
  const seen = new Set<string>();
  mappings.forEach((mapping, i) => {
    const param = `BlockDeviceMapping.${i + 1}`;
    const device = mapping.DeviceName;
    if (device === undefined || device === '') throw Errors.missingParameter(`${param}.DeviceName`);
    if (seen.has(deviceKey(device))) throw Errors.duplicateDevice(deviceKey(device));
    seen.add(deviceKey(device));
    const snap = mapping.Ebs?.SnapshotId !== undefined ? snaps.get(mapping.Ebs.SnapshotId) : undefined;
    const base: ImageBlockDevice | undefined = snap && {
      device,
      ebs: { snapshotId: snap.id, sizeGiB: snap.volumeSizeGiB, volumeType: 'gp2', deleteOnTermination: true, encrypted: snap.encrypted },
    };
    const mapped = applyMapping(mapping, param, base);
    if (mapped) devices.push(mapped);
  });
  const rootMapping = devices.find((d) => deviceKey(d.device) === deviceKey(rootDeviceName));
  if (!rootMapping?.ebs?.snapshotId) {
    throw Errors.invalidBlockDeviceMapping(`The root device ${rootDeviceName} must be mapped to an EBS snapshot (BlockDeviceMapping.N.Ebs.SnapshotId).`);
  }
  checkDryRun(input);
  // Which built image's kernel boots it: the one of the instance whose root volume the snapshot was taken
  // of, when that is still known; else nestbox's Debian image (x86_64 only; arm64 is simulated here).
  const rootSnap = snaps.get(rootMapping.ebs.snapshotId)!;
  const source = isWellFormedId('volume', rootSnap.volumeId) ? await s.store.instance(instanceIdOfRootVolume(rootSnap.volumeId)) : undefined;
  const variant =
    source && source.account === ctx.account
      ? (rootVolumeOf(source).bootVariant ?? findImage(source.imageId)?.variant)
      : architecture === 'x86_64'
        ? ('base' as const)
        : undefined;
  const image: UserImageRecord = {
    id: newId('image'),
    account: ctx.account,
    region: ctx.region,
    name,
    ...(description !== undefined ? { description } : {}),
    architecture,
    platform: 'linux',
    creationDate: s.now().toISOString(),
    rootDeviceName,
    blockDevices: devices.map((d) => (d === rootMapping ? { ...d, device: rootDeviceName } : d)),
    bootable: variant !== undefined,
    ...(variant !== undefined ? { variant } : {}),
    ...(bootMode ? { bootMode } : {}),
    public: false,
    launchUsers: [],
  };
  await s.store.transaction(
    async (tx) => {
      await checkNameFree(tx, ctx, name);
      tx.write({ putResources: [{ kind: 'image', doc: image }], putTags: tagRecordsOf(ctx, image.id, 'image', tags) });
    },
    { lock: imageLock(ctx) },
  );
  return { ImageId: image.id };
};

// --- DeregisterImage --------------------------------------------------------------------------------------

export const deregisterImage: Handler<DeregisterImageRequest, DeregisterImageResult> = async (input, ctx, s) => {
  const id = required(input.ImageId, 'ImageId');
  const rec = await ownedImage(s, ctx, id);
  checkDryRun(input);
  const snapshotIds = input.DeleteAssociatedSnapshots === true ? snapshotsOf(rec) : [];
  const snaps = (await Promise.all(snapshotIds.map((sid) => s.store.resource('snapshot', sid)))).filter((x) => x !== undefined);
  await s.store.commit({
    deleteResources: [{ kind: 'image', id }, ...snaps.map((x) => ({ kind: 'snapshot' as const, id: x.id }))],
    tasks: snaps.flatMap((x) => (x.host !== undefined ? [{ host: x.host, target: x.id, kind: 'delete-snapshot' as const }] : [])),
  });
  return {
    Return: true,
    ...(input.DeleteAssociatedSnapshots === true ? { DeleteSnapshotResults: snaps.map((x) => ({ SnapshotId: x.id, ReturnCode: 'success' as const })) } : {}),
  };
};

// --- CopyImage --------------------------------------------------------------------------------------------

export const copyImage: Handler<CopyImageRequest, CopyImageResult> = async (input, ctx, s) => {
  const sourceRegion = required(input.SourceRegion, 'SourceRegion');
  const sourceId = required(input.SourceImageId, 'SourceImageId');
  const name = checkName(required(input.Name, 'Name'));
  const description = checkDescription(input.Description);
  if (input.KmsKeyId !== undefined) throw Errors.kmsNotImplemented('CopyImage', `KmsKeyId ${input.KmsKeyId}`);
  for (const member of ['DestinationOutpostArn', 'SnapshotCopyCompletionDurationMinutes', 'DestinationAvailabilityZone', 'DestinationAvailabilityZoneId'] as const) {
    if (input[member] !== undefined) throw Errors.parameterNotImplemented('CopyImage', member, 'copies are regional and not time-based here');
  }
  if (!findRegion(sourceRegion)) throw Errors.invalidValueFor('SourceRegion', sourceRegion, 'It is not a Region nestbox serves.');
  const tags = tagsFromSpecifications(input.TagSpecifications, 'image', ['image']);
  if (!isWellFormedId('image', sourceId)) throw Errors.amiIdMalformed(sourceId);
  if (findImage(sourceId)) throw Errors.builtInImage(sourceId, 'CopyImage');
  // The source: an image the caller may launch in the source Region (its own, shared with it, or public).
  const source = await visibleUserImage(s, { account: ctx.account, region: sourceRegion }, sourceId);
  if (!source) throw Errors.amiIdNotFound([sourceId]);
  const state = await imageState(s, source);
  if (state !== 'available') throw Errors.amiUnavailable(sourceId, state);
  const sourceTags = input.CopyImageTags === true && source.account === ctx.account ? await s.store.tagsOf(sourceId) : new Map<string, string>();
  checkDryRun(input);

  const imageId = newId('image');
  const now = s.now().toISOString();
  const snapshots: SnapshotRecord[] = [];
  const devices = await Promise.all(
    source.blockDevices.map(async (d): Promise<ImageBlockDevice> => {
      if (!d.ebs?.snapshotId) return d;
      const from = await s.store.resource('snapshot', d.ebs.snapshotId);
      const snapshotId = newId('snapshot');
      snapshots.push({
        id: snapshotId,
        account: ctx.account,
        region: ctx.region,
        volumeId: 'vol-ffffffff',
        volumeSizeGiB: d.ebs.sizeGiB,
        description: `Copied for DestinationAmi ${imageId} from SourceAmi ${sourceId} for SourceSnapshot ${d.ebs.snapshotId}`,
        encrypted: d.ebs.encrypted || input.Encrypted === true,
        startTime: now,
        state: from?.host !== undefined ? 'pending' : 'completed',
        ...(from?.host !== undefined ? { host: from.host } : {}),
        sourceRegion,
        sourceSnapshotId: d.ebs.snapshotId,
      });
      return { ...d, ebs: { ...d.ebs, snapshotId, encrypted: d.ebs.encrypted || input.Encrypted === true } };
    }),
  );
  const image: UserImageRecord = {
    ...source,
    id: imageId,
    account: ctx.account,
    region: ctx.region,
    name,
    description: description ?? source.description,
    creationDate: now,
    blockDevices: devices,
    public: false,
    launchUsers: [],
    sourceImageId: sourceId,
    sourceRegion,
    sourceInstanceId: undefined,
  };
  delete (image as { rev?: number }).rev;
  const allTags = [...[...sourceTags].filter(([k]) => !k.startsWith('aws:')).map(([key, value]) => ({ key, value })), ...tags];
  await s.store.transaction(
    async (tx) => {
      await checkNameFree(tx, ctx, name);
      tx.write({
        putResources: [...snapshots.map((doc) => ({ kind: 'snapshot' as const, doc })), { kind: 'image' as const, doc: image }],
        putTags: tagRecordsOf(ctx, imageId, 'image', allTags),
        tasks: snapshots.flatMap((x) => (x.host !== undefined ? [{ host: x.host, target: x.id, kind: 'copy-snapshot' as const }] : [])),
      });
    },
    { lock: imageLock(ctx) },
  );
  return { ImageId: imageId };
};

// --- image attributes ------------------------------------------------------------------------------------

const ATTRIBUTES = [
  'description',
  'kernel',
  'ramdisk',
  'launchPermission',
  'productCodes',
  'blockDeviceMapping',
  'sriovNetSupport',
  'bootMode',
  'tpmSupport',
  'uefiData',
  'lastLaunchedTime',
  'imdsSupport',
  'deregistrationProtection',
] as const;

const launchPermissionsOf = (rec: UserImageRecord): LaunchPermission[] => [
  ...(rec.public ? [{ Group: 'all' as const }] : []),
  ...rec.launchUsers.map((UserId) => ({ UserId })),
];

export const describeImageAttribute: Handler<DescribeImageAttributeRequest, ImageAttribute> = async (input, ctx, s) => {
  const attribute = required(input.Attribute, 'Attribute') as string;
  const id = required(input.ImageId, 'ImageId');
  if (!(ATTRIBUTES as readonly string[]).includes(attribute)) {
    throw Errors.invalidValueFor('Attribute', attribute, `Valid values: ${ATTRIBUTES.join(', ')}.`);
  }
  const rec = await ownedImage(s, ctx, id);
  checkDryRun(input);
  const info = userImageInfo(rec, 'available');
  const value = (v: string | undefined) => (v === undefined ? {} : { Value: v });
  switch (attribute) {
    case 'description':
      return { ImageId: id, Description: value(rec.description) };
    case 'launchPermission':
      return { ImageId: id, LaunchPermissions: launchPermissionsOf(rec) };
    case 'productCodes':
      return { ImageId: id, ProductCodes: [] };
    case 'blockDeviceMapping':
      return { ImageId: id, BlockDeviceMappings: info.BlockDeviceMappings ?? [] };
    case 'sriovNetSupport':
      return { ImageId: id, SriovNetSupport: value('simple') };
    case 'bootMode':
      return { ImageId: id, BootMode: value(rec.bootMode) };
    case 'deregistrationProtection':
      return { ImageId: id, DeregistrationProtection: value('disabled') };
    case 'kernel':
      return { ImageId: id, KernelId: {} };
    case 'ramdisk':
      return { ImageId: id, RamdiskId: {} };
    case 'tpmSupport':
      return { ImageId: id, TpmSupport: {} };
    case 'uefiData':
      return { ImageId: id, UefiData: {} };
    case 'imdsSupport':
      return { ImageId: id, ImdsSupport: value(rec.imdsSupport) };
    default:
      return { ImageId: id, LastLaunchedTime: {} };
  }
};

/** Launch permission items: a 12-digit account ID or the group `all` (moto validate_permission_targets). */
function checkPermissions(items: readonly LaunchPermission[]): void {
  for (const p of items) {
    if (p.OrganizationArn !== undefined || p.OrganizationalUnitArn !== undefined) {
      throw Errors.parameterNotImplemented('ModifyImageAttribute', 'LaunchPermission organization ARNs', 'nestbox has no AWS Organizations');
    }
    if (p.UserId !== undefined && !/^\d{12}$/.test(p.UserId)) throw Errors.amiAttributeItemValue('userId', p.UserId);
    if (p.Group !== undefined && p.Group !== 'all') throw Errors.amiAttributeItemValue('UserGroup', p.Group);
  }
}

export const modifyImageAttribute: Handler<ModifyImageAttributeRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.ImageId, 'ImageId');
  if (input.OrganizationArns?.length || input.OrganizationalUnitArns?.length) {
    throw Errors.parameterNotImplemented('ModifyImageAttribute', 'OrganizationArns', 'nestbox has no AWS Organizations');
  }
  if (input.ProductCodes?.length) throw Errors.parameterNotImplemented('ModifyImageAttribute', 'ProductCodes', 'nestbox has no product codes');
  if (input.ImdsSupport !== undefined) throw Errors.parameterNotImplemented('ModifyImageAttribute', 'ImdsSupport', REGISTER_REFUSED.ImdsSupport!);
  const attribute = input.Attribute;
  // The two forms: the structures (LaunchPermission, Description), or Attribute with OperationType/UserIds/UserGroups/Value.
  let add: LaunchPermission[] = [...(input.LaunchPermission?.Add ?? [])];
  let remove: LaunchPermission[] = [...(input.LaunchPermission?.Remove ?? [])];
  let description = input.Description?.Value;
  if (attribute !== undefined && attribute !== 'launchPermission' && attribute !== 'description') {
    throw Errors.invalidValueFor('Attribute', attribute, 'ModifyImageAttribute changes launchPermission or description here.');
  }
  if (attribute === 'launchPermission' || input.UserIds?.length || input.UserGroups?.length) {
    const op = input.OperationType as string | undefined;
    if (op !== 'add' && op !== 'remove') throw Errors.invalidValueFor('OperationType', op ?? '', 'Valid values: add, remove.');
    const items: LaunchPermission[] = [
      ...(input.UserIds ?? []).map((UserId) => ({ UserId })),
      ...(input.UserGroups ?? []).map((Group) => ({ Group: Group as LaunchPermission['Group'] })),
    ];
    if (op === 'add') add = [...add, ...items];
    else remove = [...remove, ...items];
  }
  if (attribute === 'description') description = input.Value ?? description;
  if (add.length === 0 && remove.length === 0 && description === undefined) throw Errors.missingParameter('LaunchPermission or Description');
  checkPermissions(add);
  checkPermissions(remove);
  checkDescription(description);
  const rec = await ownedImage(s, ctx, id);
  checkDryRun(input);
  const users = new Set(rec.launchUsers);
  let isPublic = rec.public;
  for (const p of add) {
    if (p.Group === 'all') isPublic = true;
    if (p.UserId !== undefined) users.add(p.UserId);
  }
  for (const p of remove) {
    if (p.Group === 'all') isPublic = false;
    if (p.UserId !== undefined) users.delete(p.UserId);
  }
  await s.store.commit({
    putResources: [{ kind: 'image', doc: { ...rec, public: isPublic, launchUsers: [...users], ...(description !== undefined ? { description } : {}) } }],
  });
  return {};
};

export const resetImageAttribute: Handler<ResetImageAttributeRequest, Record<string, never>> = async (input, ctx, s) => {
  const attribute = required(input.Attribute, 'Attribute') as string;
  const id = required(input.ImageId, 'ImageId');
  if (attribute !== 'launchPermission') throw Errors.invalidValueFor('Attribute', attribute, 'Valid values: launchPermission.');
  const rec = await ownedImage(s, ctx, id);
  checkDryRun(input);
  await s.store.commit({ putResources: [{ kind: 'image', doc: { ...rec, public: false, launchUsers: [] } }] });
  return {};
};

