/**
 * EBS volumes: the root volume every instance has (derived from its record) and data volumes
 * (CreateVolume, stored records of kind `volume`), side by side in DescribeVolumes.
 *
 * Root volumes: each instance that is not terminated has exactly one (its image's size and gp3 unless
 * BlockDeviceMappings said otherwise, `in-use` and attached, stopped instances included). It goes away
 * with its instance unless its DeleteOnTermination was false: then it stays, `available` and detached,
 * until DeleteVolume (its instance's record is kept for it). Their tags are kept under the volume ID.
 *
 * Data volumes: CreateVolume answers `creating` and the volume is `available` from the next call on
 * (nestbox makes nothing slow to make: a disk file is made when a VM first needs it). AttachVolume
 * answers `attaching` and DetachVolume `detaching`, as EC2 does; the next DescribeVolumes shows the
 * result. An attachment lives on the volume's record and counts while its instance is not terminated
 * (AttachVolume's DeleteOnTermination is false, EC2's default), so a terminated instance's data volumes
 * are `available` again. ModifyVolume completes at once (DescribeVolumesModifications: `completed`).
 * Under the qemu driver a VM sees its data volumes from its next start (see README "Data volumes").
 */
import type {
  AttachVolumeRequest,
  CreateVolumeRequest,
  DeleteVolumeRequest,
  DescribeVolumeStatusRequest,
  DescribeVolumeStatusResult,
  DescribeVolumesModificationsRequest,
  DescribeVolumesModificationsResult,
  DescribeVolumesRequest,
  DescribeVolumesResult,
  DetachVolumeRequest,
  ModifyVolumeRequest,
  ModifyVolumeResult,
  Volume,
  VolumeAttachment,
  VolumeModification,
  VolumeStatusItem,
} from '@aws-sdk/client-ec2';
import { rootDeviceName, rootVolumeOf, volumeIops } from '../domain/block-devices.js';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId, newId } from '../domain/ids.js';
import { rootSnapshotId } from '../domain/images.js';
import { type InstanceRecord, rootVolumeAttached, rootVolumeId } from '../domain/instance.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import { zoneNamed, zonesIn } from '../domain/regions.js';
import {
  MAX_DATA_VOLUMES,
  type VolumeRecord,
  attachmentPoint,
  checkAttachDevice,
  checkVolumeSettings,
  liveAttachment,
} from '../domain/volumes.js';
import { launchLock } from '../services/context.js';
import { findInstances } from '../services/instances.js';
import { NO_TAGS, tagList, tagMapOf, tagRecordsOf, tagsFromSpecifications } from '../services/tags.js';
import {
  type FoundVolume,
  attachedInstances,
  dataVolume,
  dataVolumesOf,
  findAnyVolumes,
  findSnapshots,
  volumeOwners,
} from '../services/volumes.js';
import type { Revisioned, StoreReader, VmTask } from '../store/types.js';
import type { Services } from '../services/context.js';
import { type Handler, type RequestContext, checkDryRun, requestFingerprint, required } from './context.js';

/** EC2 pages at most this many volumes; a larger MaxResults is answered with this many. */
const MAX_VOLUMES_PER_PAGE = 500;

/** The API's view of an instance's root volume, given the volume's tags. */
export function toVolume(rec: InstanceRecord, tags: ReadonlyMap<string, string>): Volume {
  const settings = rootVolumeOf(rec);
  const id = rootVolumeId(rec);
  const created = new Date(rec.launchTime);
  const zoneId = zonesIn(rec.region).find((z) => z.name === rec.availabilityZone)?.id;
  const iops = volumeIops(settings);
  const attached = rootVolumeAttached(rec);
  return {
    VolumeId: id,
    Size: settings.sizeGiB,
    // a user image's instance: its image's root snapshot (recorded at launch)
    SnapshotId: settings.snapshotId ?? rootSnapshotId(rec.imageId),
    AvailabilityZone: rec.availabilityZone,
    ...(zoneId ? { AvailabilityZoneId: zoneId } : {}),
    State: attached ? 'in-use' : 'available',
    CreateTime: created,
    Attachments: attached
      ? [
          {
            AttachTime: created,
            Device: rootDeviceName(rec),
            InstanceId: rec.id,
            State: 'attached',
            VolumeId: id,
            DeleteOnTermination: settings.deleteOnTermination,
          },
        ]
      : [],
    Encrypted: settings.encrypted,
    ...(settings.kmsKeyId !== undefined ? { KmsKeyId: settings.kmsKeyId } : {}),
    VolumeType: settings.volumeType,
    ...(iops !== undefined ? { Iops: iops } : {}),
    ...(settings.throughputMiBps !== undefined ? { Throughput: settings.throughputMiBps } : {}),
    MultiAttachEnabled: false,
    ...(tags.size > 0 ? { Tags: tagList(tags) } : {}),
  };
}

const attachment = (v: Volume) => v.Attachments?.[0];

/** `tagsOf`: the volumes' tags, read beforehand. */
function volumeFilterTable(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<Volume> {
  return {
    tags: (v) => tagsOf(v.VolumeId!),
    fields: {
      'volume-id': (v) => v.VolumeId,
      'attachment.instance-id': (v) => attachment(v)?.InstanceId,
      'attachment.device': (v) => attachment(v)?.Device,
      'attachment.status': (v) => attachment(v)?.State,
      'attachment.attach-time': (v) => attachment(v)?.AttachTime?.toISOString(),
      'attachment.delete-on-termination': (v) => attachment(v)?.DeleteOnTermination,
      'availability-zone': (v) => v.AvailabilityZone,
      'availability-zone-id': (v) => v.AvailabilityZoneId,
      'create-time': (v) => v.CreateTime?.toISOString(),
      encrypted: (v) => v.Encrypted,
      'fast-restored': () => false,
      'multi-attach-enabled': (v) => v.MultiAttachEnabled,
      size: (v) => v.Size,
      'snapshot-id': (v) => v.SnapshotId,
      status: (v) => v.State,
      'volume-type': (v) => v.VolumeType,
    },
  };
}

type InstancesById = ReadonlyMap<string, InstanceRecord>;

/** The API's view of a data volume; `instances`: those its attachment may name. */
export function toDataVolume(v: VolumeRecord, instances: InstancesById, tags: ReadonlyMap<string, string>): Volume {
  const a = liveAttachment(v, (id) => instances.get(id));
  const zoneId = zonesIn(v.region).find((z) => z.name === v.availabilityZone)?.id;
  return {
    VolumeId: v.id,
    Size: v.sizeGiB,
    SnapshotId: v.snapshotId ?? '',
    AvailabilityZone: v.availabilityZone,
    ...(zoneId ? { AvailabilityZoneId: zoneId } : {}),
    State: a ? 'in-use' : 'available',
    CreateTime: new Date(v.createTime),
    Attachments: a ? [attachmentView(v.id, a, 'attached')] : [],
    Encrypted: v.encrypted,
    VolumeType: v.volumeType,
    ...(volumeIops(settingsOf(v)) !== undefined ? { Iops: volumeIops(settingsOf(v)) } : {}),
    ...(v.throughputMiBps !== undefined ? { Throughput: v.throughputMiBps } : {}),
    MultiAttachEnabled: false,
    ...(tags.size > 0 ? { Tags: tagList(tags) } : {}),
  };
}

const settingsOf = (v: VolumeRecord) => ({
  sizeGiB: v.sizeGiB,
  volumeType: v.volumeType,
  iops: v.iops,
  throughputMiBps: v.throughputMiBps,
  deleteOnTermination: false,
  encrypted: v.encrypted,
});

function attachmentView(
  volumeId: string,
  a: NonNullable<VolumeRecord['attachment']>,
  state: 'attaching' | 'attached' | 'detaching',
): VolumeAttachment {
  return {
    AttachTime: new Date(a.attachTime),
    Device: a.device,
    InstanceId: a.instanceId,
    State: state,
    VolumeId: volumeId,
    DeleteOnTermination: a.deleteOnTermination,
  };
}

/** Every volume a Describe call shows, in the caller's scope: root volumes (by instance) then data volumes (by creation). */
async function describedVolumes(s: Services, ctx: RequestContext, ids: readonly string[]): Promise<Volume[]> {
  const found: FoundVolume[] =
    ids.length > 0
      ? await findAnyVolumes(s, ctx, ids)
      : [
          ...(await volumeOwners(s, ctx)).map((instance) => ({ kind: 'root' as const, id: rootVolumeId(instance), instance })),
          ...(await dataVolumesOf(s, ctx)).map((rec) => ({ kind: 'data' as const, id: rec.id, rec })),
        ];
  const data = found.flatMap((f) => (f.kind === 'data' ? [f.rec] : []));
  const [tags, instances] = await Promise.all([s.store.tagsOfMany(found.map((f) => f.id)), attachedInstances(s, ctx, data)]);
  return found.map((f) =>
    f.kind === 'root' ? toVolume(f.instance, tags.get(f.id) ?? NO_TAGS) : toDataVolume(f.rec, instances, tags.get(f.id) ?? NO_TAGS),
  );
}

export const describeVolumes: Handler<DescribeVolumesRequest, DescribeVolumesResult> = async (input, ctx, s) => {
  const ids = input.VolumeIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter volumeSet cannot be used with the parameter maxResults');
  }
  for (const id of ids) if (!isWellFormedId('volume', id)) throw Errors.volumeIdMalformed(id);
  let tagsById: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();
  const predicate = compileFilters(volumeFilterTable((id) => tagsById.get(id)), input.Filters);
  const volumes = await describedVolumes(s, ctx, ids);
  checkDryRun(input);
  tagsById = new Map(volumes.map((v) => [v.VolumeId!, tagMapOf((v.Tags ?? []).map((t) => ({ key: t.Key!, value: t.Value ?? '' })))]));
  const matching = volumes.filter(predicate);
  const max = input.MaxResults === undefined ? undefined : Math.min(input.MaxResults, MAX_VOLUMES_PER_PAGE);
  const page = paginate(
    matching,
    { MaxResults: max, NextToken: input.NextToken },
    { min: 5, max: MAX_VOLUMES_PER_PAGE },
    { f: input.Filters, ids },
  );
  return { Volumes: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- CreateVolume -------------------------------------------------------------------------------------

/** CreateVolume members nestbox cannot honour, refused by name. */
const REFUSED_CREATE_MEMBERS: Readonly<Record<string, string>> = {
  OutpostArn: 'nestbox has no Outposts',
  VolumeInitializationRate: 'a restored volume is ready at once; there is no initialization rate to provision',
  Operator: 'nestbox has no managed resources',
  SourceVolumeId: 'volume copies are not implemented; snapshot the volume and restore the snapshot',
};

export const createVolume: Handler<CreateVolumeRequest, Volume> = async (input, ctx, s) => {
  for (const [member, why] of Object.entries(REFUSED_CREATE_MEMBERS)) {
    if ((input as Record<string, unknown>)[member] !== undefined) throw Errors.parameterNotImplemented('CreateVolume', member, why);
  }
  if (input.MultiAttachEnabled === true) {
    throw Errors.parameterNotImplemented('CreateVolume', 'MultiAttachEnabled=true', 'a volume attaches to one instance at a time here');
  }
  if (input.KmsKeyId !== undefined) {
    if (input.Encrypted !== true) throw Errors.kmsKeyWithoutEncryption();
    throw Errors.kmsNotImplemented('CreateVolume', `KmsKeyId ${input.KmsKeyId}`);
  }
  const zone = zoneNamed(ctx.region, input.AvailabilityZone, input.AvailabilityZoneId);
  if (zone === undefined) throw Errors.missingParameter('AvailabilityZone');
  const tags = tagsFromSpecifications(input.TagSpecifications, 'volume', ['volume']);
  const snapshot = input.SnapshotId !== undefined ? (await findSnapshots(s, ctx, [input.SnapshotId]))[0] : undefined;
  if (snapshot && snapshot.state !== 'completed') throw Errors.snapshotNotReady(snapshot.id, snapshot.state);
  const settings = checkVolumeSettings(
    { size: input.Size, type: input.VolumeType, iops: input.Iops, throughput: input.Throughput },
    { snapshot: snapshot && { id: snapshot.id, sizeGiB: snapshot.volumeSizeGiB } },
  );
  const token = input.ClientToken;
  if (token !== undefined && token.length > 64) throw Errors.invalidValueFor('clientToken', token, 'The client token must be at most 64 ASCII characters.');
  checkDryRun(input);
  const hash = requestFingerprint(input);
  const rec: VolumeRecord = {
    id: newId('volume'),
    account: ctx.account,
    region: ctx.region,
    availabilityZone: zone,
    sizeGiB: settings.sizeGiB,
    volumeType: settings.volumeType,
    iops: settings.iops,
    throughputMiBps: settings.throughputMiBps,
    // A volume restored from an encrypted snapshot is encrypted.
    encrypted: input.Encrypted === true || snapshot?.encrypted === true,
    ...(snapshot ? { snapshotId: snapshot.id } : {}),
    // its data is on the host that keeps the snapshot's
    ...(snapshot?.host !== undefined ? { host: snapshot.host } : {}),
    createTime: s.now().toISOString(),
    ...(token !== undefined ? { clientToken: token, requestHash: hash } : {}),
  };
  const made = await s.store.transaction(
    async (tx) => {
      if (token !== undefined) {
        const earlier = (await dataVolumesOf(s, ctx, tx)).find((v) => v.clientToken === token);
        if (earlier) {
          if (earlier.requestHash !== hash) throw Errors.idempotentParameterMismatch(token);
          return earlier;
        }
      }
      tx.write({
        putResources: [{ kind: 'volume', doc: rec }],
        putTags: tagRecordsOf(ctx, rec.id, 'volume', tags),
        ...(snapshot?.host !== undefined ? { tasks: [{ host: snapshot.host, target: rec.id, kind: 'restore-volume' as const }] } : {}),
      });
      return rec;
    },
    { lock: launchLock(ctx) },
  );
  if (made !== rec) {
    const [again] = await describedVolumes(s, ctx, [made.id]);
    return again!;
  }
  return { ...toDataVolume(rec, new Map(), tagMapOf(tags)), State: 'creating' };
};

// --- AttachVolume / DetachVolume ----------------------------------------------------------------------

/** The data volumes attached to an instance now, and its root device. */
async function devicesOf(s: Services, ctx: RequestContext, instance: InstanceRecord, reader: StoreReader): Promise<VolumeRecord[]> {
  const instances = new Map([[instance.id, instance]]);
  return (await dataVolumesOf(s, ctx, reader)).filter((v) => liveAttachment(v, (id) => instances.get(id))?.instanceId === instance.id);
}

export const attachVolume: Handler<AttachVolumeRequest, VolumeAttachment> = async (input, ctx, s) => {
  const device = required(input.Device, 'Device');
  const instanceId = required(input.InstanceId, 'InstanceId');
  const volumeId = required(input.VolumeId, 'VolumeId');
  const [found] = (await findAnyVolumes(s, ctx, [volumeId])) as [FoundVolume];
  await findInstances(s, ctx, [instanceId]);
  checkAttachDevice(device);
  checkDryRun(input);
  if (found.kind === 'root') {
    if (rootVolumeAttached(found.instance)) throw Errors.volumeAlreadyAttached(volumeId);
    throw Errors.parameterNotImplemented('AttachVolume', `the root volume ${volumeId} of a terminated instance`, 'a kept root volume is not attached again');
  }
  const now = s.now().toISOString();
  return s.store.transaction(
    async (tx) => {
      const vol = await dataVolume(s, ctx, volumeId, tx);
      const [instance] = await tx.instances({ account: ctx.account, region: ctx.region, ids: [instanceId] });
      if (!vol) throw Errors.volumeNotFound([volumeId]);
      if (!instance) throw Errors.instanceIdNotFound([instanceId]);
      if (instance.state !== 'running' && instance.state !== 'stopped') throw Errors.instanceNotAttachable(instanceId, instance.state);
      if (instance.availabilityZone !== vol.availabilityZone) throw Errors.volumeZoneMismatch(volumeId, instanceId);
      const current = vol.attachment ? (await attachedInstances(s, ctx, [vol], tx)).get(vol.attachment.instanceId) : undefined;
      if (liveAttachment(vol, () => current)) throw Errors.volumeAlreadyAttached(volumeId);
      const attached = await devicesOf(s, ctx, instance, tx);
      const point = attachmentPoint(device);
      const taken = [rootDeviceName(instance), ...attached.map((v) => v.attachment!.device)];
      if (taken.some((d) => attachmentPoint(d) === point)) throw Errors.attachmentPointInUse(device);
      if (attached.length >= MAX_DATA_VOLUMES) throw Errors.tooManyDataVolumes(instanceId, MAX_DATA_VOLUMES);
      const attachment = { instanceId, device, attachTime: now, deleteOnTermination: false };
      const host = vol.host ?? instance.vmHost;
      tx.write({ putResources: [{ kind: 'volume', doc: { ...vol, attachment, ...(host !== undefined ? { host } : {}) } }] });
      return attachmentView(volumeId, attachment, 'attaching');
    },
    { lock: launchLock(ctx) },
  );
};

export const detachVolume: Handler<DetachVolumeRequest, VolumeAttachment> = async (input, ctx, s) => {
  const volumeId = required(input.VolumeId, 'VolumeId');
  const [found] = (await findAnyVolumes(s, ctx, [volumeId])) as [FoundVolume];
  if (input.InstanceId !== undefined) await findInstances(s, ctx, [input.InstanceId]);
  checkDryRun(input);
  if (found.kind === 'root') {
    const rec = found.instance;
    if (!rootVolumeAttached(rec)) throw Errors.volumeInState(volumeId, 'available');
    if (input.InstanceId !== undefined && input.InstanceId !== rec.id) throw Errors.volumeNotAttachedTo(volumeId, input.InstanceId);
    if (rec.state !== 'stopped') throw Errors.rootVolumeDetach(volumeId, rec.id);
    throw Errors.parameterNotImplemented('DetachVolume', `the root volume ${volumeId} of a stopped instance`, 'every instance keeps its root volume');
  }
  return s.store.transaction(
    async (tx) => {
      const vol = await dataVolume(s, ctx, volumeId, tx);
      if (!vol) throw Errors.volumeNotFound([volumeId]);
      const instances = await attachedInstances(s, ctx, [vol], tx);
      const a = liveAttachment(vol, (id) => instances.get(id));
      if (!a) throw Errors.volumeInState(volumeId, 'available');
      if (input.InstanceId !== undefined && input.InstanceId !== a.instanceId) throw Errors.volumeNotAttachedTo(volumeId, input.InstanceId);
      if (input.Device !== undefined && attachmentPoint(input.Device) !== attachmentPoint(a.device)) {
        throw Errors.volumeNotAttachedAs(volumeId, a.instanceId, input.Device);
      }
      // Force changes nothing here: a detach never hangs on a guest that keeps the device busy.
      tx.write({ putResources: [{ kind: 'volume', doc: { ...vol, attachment: undefined } }] });
      return attachmentView(volumeId, a, 'detaching');
    },
    { lock: launchLock(ctx) },
  );
};

// --- ModifyVolume / DescribeVolumesModifications -----------------------------------------------------

function modificationView(v: VolumeRecord, state: 'modifying' | 'completed'): VolumeModification {
  const m = v.modification!;
  return {
    VolumeId: v.id,
    ModificationState: state,
    TargetSize: v.sizeGiB,
    TargetVolumeType: v.volumeType,
    ...(v.iops !== undefined ? { TargetIops: v.iops } : {}),
    ...(v.throughputMiBps !== undefined ? { TargetThroughput: v.throughputMiBps } : {}),
    TargetMultiAttachEnabled: false,
    OriginalSize: m.originalSizeGiB,
    OriginalVolumeType: m.originalVolumeType,
    ...(m.originalIops !== undefined ? { OriginalIops: m.originalIops } : {}),
    ...(m.originalThroughputMiBps !== undefined ? { OriginalThroughput: m.originalThroughputMiBps } : {}),
    OriginalMultiAttachEnabled: false,
    Progress: state === 'completed' ? 100 : 0,
    StartTime: new Date(m.startTime),
    ...(state === 'completed' ? { EndTime: new Date(m.startTime) } : {}),
  };
}

export const modifyVolume: Handler<ModifyVolumeRequest, ModifyVolumeResult> = async (input, ctx, s) => {
  const volumeId = required(input.VolumeId, 'VolumeId');
  const [found] = (await findAnyVolumes(s, ctx, [volumeId])) as [FoundVolume];
  if (input.MultiAttachEnabled === true) {
    throw Errors.parameterNotImplemented('ModifyVolume', 'MultiAttachEnabled=true', 'a volume attaches to one instance at a time here');
  }
  if (found.kind === 'root') throw Errors.volumeModificationNotImplemented(volumeId);
  const vol = found.rec;
  const next = checkVolumeSettings(
    { size: input.Size, type: input.VolumeType, iops: input.Iops, throughput: input.Throughput },
    { previous: { sizeGiB: vol.sizeGiB, volumeType: vol.volumeType, iops: vol.iops, throughputMiBps: vol.throughputMiBps } },
  );
  if (
    next.sizeGiB === vol.sizeGiB &&
    next.volumeType === vol.volumeType &&
    next.iops === vol.iops &&
    next.throughputMiBps === vol.throughputMiBps
  ) {
    throw Errors.volumeModificationNoChange(volumeId);
  }
  checkDryRun(input);
  const changed: VolumeRecord & Revisioned = {
    ...vol,
    sizeGiB: next.sizeGiB,
    volumeType: next.volumeType,
    iops: next.iops,
    throughputMiBps: next.throughputMiBps,
    modification: {
      startTime: s.now().toISOString(),
      originalSizeGiB: vol.sizeGiB,
      originalVolumeType: vol.volumeType,
      originalIops: vol.iops,
      originalThroughputMiBps: vol.throughputMiBps,
    },
  };
  // Conditional on the volume's revision: of two concurrent modifications one is decided again.
  await s.store.commit({ putResources: [{ kind: 'volume', doc: changed }] });
  return { VolumeModification: modificationView(changed, 'modifying') };
};

export const describeVolumesModifications: Handler<DescribeVolumesModificationsRequest, DescribeVolumesModificationsResult> = async (input, ctx, s) => {
  const ids = input.VolumeIds ?? [];
  const found = ids.length > 0 ? await findAnyVolumes(s, ctx, ids) : (await dataVolumesOf(s, ctx)).map((rec) => ({ kind: 'data' as const, id: rec.id, rec }));
  const predicate = compileFilters<VolumeModification>(
    {
      fields: {
        'volume-id': (m) => m.VolumeId,
        'modification-state': (m) => m.ModificationState,
        'target-size': (m) => m.TargetSize,
        'target-volume-type': (m) => m.TargetVolumeType,
        'target-iops': (m) => m.TargetIops,
        'target-throughput': (m) => m.TargetThroughput,
        'original-size': (m) => m.OriginalSize,
        'original-volume-type': (m) => m.OriginalVolumeType,
        'original-iops': (m) => m.OriginalIops,
        'start-time': (m) => m.StartTime?.toISOString(),
      },
    },
    input.Filters,
  );
  checkDryRun(input);
  const mods = found.flatMap((f) => (f.kind === 'data' && f.rec.modification ? [modificationView(f.rec, 'completed')] : [])).filter(predicate);
  const page = paginate(mods, input, { min: 5, max: 500 }, { f: input.Filters, ids });
  return { VolumesModifications: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- DescribeVolumeStatus -----------------------------------------------------------------------------

/** Every volume's I/O is enabled and its status `ok`: nestbox has no impaired volumes. */
export const describeVolumeStatus: Handler<DescribeVolumeStatusRequest, DescribeVolumeStatusResult> = async (input, ctx, s) => {
  const ids = input.VolumeIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter volumeSet cannot be used with the parameter maxResults');
  }
  const predicate = compileFilters<VolumeStatusItem>(
    {
      fields: {
        'availability-zone': (v) => v.AvailabilityZone,
        'volume-status.status': (v) => v.VolumeStatus?.Status,
        'volume-status.details-name': (v) => v.VolumeStatus?.Details?.map((d) => d.Name),
        'volume-status.details-status': (v) => v.VolumeStatus?.Details?.map((d) => d.Status),
        'action.code': () => [],
        'action.description': () => [],
        'action.event-id': () => [],
        'event.description': () => [],
        'event.event-id': () => [],
        'event.event-type': () => [],
        'event.not-after': () => [],
        'event.not-before': () => [],
      },
    },
    input.Filters,
  );
  const volumes = await describedVolumes(s, ctx, ids);
  checkDryRun(input);
  const items: VolumeStatusItem[] = volumes.map((v) => ({
    VolumeId: v.VolumeId,
    AvailabilityZone: v.AvailabilityZone,
    ...(v.AvailabilityZoneId ? { AvailabilityZoneId: v.AvailabilityZoneId } : {}),
    VolumeStatus: {
      Status: 'ok',
      Details: [
        { Name: 'io-enabled', Status: 'passed' },
        { Name: 'io-performance', Status: 'not-applicable' },
      ],
    },
    Actions: [],
    Events: [],
    AttachmentStatuses: (v.Attachments ?? []).map((a) => ({ InstanceId: a.InstanceId, IoPerformance: 'normal' })),
  }));
  const page = paginate(items.filter(predicate), input, DESCRIBE_PAGE_LIMITS, { f: input.Filters, ids });
  return { VolumeStatuses: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- DeleteVolume -------------------------------------------------------------------------------------

/**
 * DeleteVolume of a volume that is not attached: a data volume (its record and tags go; the VM host that
 * keeps its disk file deletes it: a `delete-volume` task written with the change), or a root volume kept
 * after its instance was terminated (DeleteOnTermination false): the instance's record goes at the next
 * purge once its own hour of visibility is over. Writes are conditional, so of two concurrent calls one
 * runs again and finds the volume gone. An attached volume is VolumeInUse.
 */
export const deleteVolume: Handler<DeleteVolumeRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.VolumeId, 'VolumeId');
  const [found] = (await findAnyVolumes(s, ctx, [id])) as [FoundVolume];
  checkDryRun(input);
  if (found.kind === 'data') {
    await s.store.transaction(
      async (tx) => {
        const vol = await dataVolume(s, ctx, id, tx);
        if (!vol) throw Errors.volumeNotFound([id]);
        const instances = await attachedInstances(s, ctx, [vol], tx);
        const a = liveAttachment(vol, (i) => instances.get(i));
        if (a) throw Errors.volumeInUse(id, a.instanceId);
        const tasks: VmTask[] = vol.host !== undefined ? [{ host: vol.host, target: id, kind: 'delete-volume' }] : [];
        tx.write({ deleteResources: [{ kind: 'volume', id }], tasks });
      },
      { lock: launchLock(ctx) },
    );
    return {};
  }
  const rec = found.instance;
  if (rootVolumeAttached(rec)) throw Errors.volumeInUse(id, rec.id);
  const settings = rootVolumeOf(rec);
  const tags = await s.store.tagsOf(id);
  await s.store.commit({
    instances: [{ ...rec, rootVolume: { ...settings, deleted: true } }],
    deleteTags: [...tags.keys()].map((key) => ({ resourceId: id, key })),
    ...(rec.vmHost ? { tasks: [{ host: rec.vmHost, target: id, kind: 'delete-volume' as const }] } : {}),
  });
  return {};
};
