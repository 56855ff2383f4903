/**
 * EBS snapshots of data and root volumes: CreateSnapshot, DescribeSnapshots, DeleteSnapshot,
 * CopySnapshot (within a Region or from another of nestbox's Regions). Stored records of kind
 * `snapshot`. A snapshot of a volume whose disk file a VM host keeps is `pending` until that host has
 * made a point-in-time copy of the file (a `snapshot-volume` task written with the record), then
 * `completed`; a volume that never had a disk (never attached to a started instance) has no data to
 * copy and its snapshot is `completed` at once. CreateVolume with SnapshotId restores the copy.
 *
 * Only the caller's own snapshots exist here: no public or shared snapshots (an image's root snapshot
 * `snap-<image hex>` is not listed), so DescribeSnapshots' OwnerIds / RestorableByUserIds other than
 * `self` or the caller's account find nothing.
 */
import type {
  CopySnapshotRequest,
  CopySnapshotResult,
  CreateSnapshotRequest,
  DeleteSnapshotRequest,
  DescribeSnapshotsRequest,
  DescribeSnapshotsResult,
  Snapshot,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { newId } from '../domain/ids.js';
import { rootVolumeOf } from '../domain/block-devices.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import { findRegion } from '../domain/regions.js';
import type { SnapshotRecord } from '../domain/volumes.js';
import { NO_TAGS, tagList, tagMapOf, tagRecordsOf, tagsFromSpecifications } from '../services/tags.js';
import { type FoundVolume, findAnyVolumes, findSnapshots } from '../services/volumes.js';
import { imageUsingSnapshot } from '../services/images.js';
import type { VmTask } from '../store/types.js';
import { type Handler, checkDryRun, required } from './context.js';

/** EC2 gives copied snapshots this arbitrary volume ID (CopySnapshot's API reference). */
const COPIED_VOLUME_ID = 'vol-ffffffff';

export function toSnapshot(rec: SnapshotRecord, tags: ReadonlyMap<string, string>): Snapshot {
  return {
    SnapshotId: rec.id,
    VolumeId: rec.volumeId,
    State: rec.state,
    StartTime: new Date(rec.startTime),
    Progress: rec.state === 'completed' ? '100%' : '0%',
    OwnerId: rec.account,
    Description: rec.description,
    VolumeSize: rec.volumeSizeGiB,
    Encrypted: rec.encrypted,
    StorageTier: 'standard',
    ...(tags.size > 0 ? { Tags: tagList(tags) } : {}),
  };
}

function snapshotFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<Snapshot> {
  return {
    tags: (v) => tagsOf(v.SnapshotId!),
    fields: {
      description: (v) => v.Description,
      encrypted: (v) => v.Encrypted,
      'owner-alias': () => undefined,
      'owner-id': (v) => v.OwnerId,
      progress: (v) => v.Progress,
      'snapshot-id': (v) => v.SnapshotId,
      'start-time': (v) => v.StartTime?.toISOString(),
      status: (v) => v.State,
      'storage-tier': (v) => v.StorageTier,
      'volume-id': (v) => v.VolumeId,
      'volume-size': (v) => v.VolumeSize,
    },
  };
}

/** The VM host that keeps a volume's disk file, if any host does. */
function hostOfVolume(found: FoundVolume): string | undefined {
  return found.kind === 'data' ? found.rec.host : found.instance.vmHost;
}

export const createSnapshot: Handler<CreateSnapshotRequest, Snapshot> = async (input, ctx, s) => {
  const volumeId = required(input.VolumeId, 'VolumeId');
  if (input.OutpostArn !== undefined) throw Errors.parameterNotImplemented('CreateSnapshot', 'OutpostArn', 'nestbox has no Outposts');
  if (input.Location !== undefined && input.Location !== 'regional') {
    throw Errors.parameterNotImplemented('CreateSnapshot', `Location ${input.Location}`, 'snapshots are regional here');
  }
  const description = input.Description ?? '';
  if (description.length > 255) throw Errors.invalidValueFor('Description', description, 'Descriptions are at most 255 characters.');
  const tags = tagsFromSpecifications(input.TagSpecifications, 'snapshot', ['snapshot']);
  const [found] = (await findAnyVolumes(s, ctx, [volumeId])) as [FoundVolume];
  checkDryRun(input);
  const host = hostOfVolume(found);
  const size = found.kind === 'data' ? found.rec.sizeGiB : rootVolumeOf(found.instance).sizeGiB;
  const encrypted = found.kind === 'data' ? found.rec.encrypted : rootVolumeOf(found.instance).encrypted;
  const rec: SnapshotRecord = {
    id: newId('snapshot'),
    account: ctx.account,
    region: ctx.region,
    volumeId,
    volumeSizeGiB: size,
    description,
    encrypted,
    startTime: s.now().toISOString(),
    state: host !== undefined ? 'pending' : 'completed',
    ...(host !== undefined ? { host } : {}),
  };
  const tasks: VmTask[] = host !== undefined ? [{ host, target: rec.id, kind: 'snapshot-volume' }] : [];
  await s.store.commit({
    putResources: [{ kind: 'snapshot', doc: rec }],
    putTags: tagRecordsOf(ctx, rec.id, 'snapshot', tags),
    tasks,
  });
  return toSnapshot(rec, tagMapOf(tags));
};

/** `self` and the caller's account name the caller; nestbox has no other owners' snapshots to show. */
const namesCaller = (ids: readonly string[] | undefined, account: string): boolean =>
  ids === undefined || ids.length === 0 || ids.some((id) => id === 'self' || id === account);

export const describeSnapshots: Handler<DescribeSnapshotsRequest, DescribeSnapshotsResult> = async (input, ctx, s) => {
  const ids = input.SnapshotIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter snapshotSet cannot be used with the parameter maxResults');
  }
  let tags: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();
  const predicate = compileFilters(snapshotFilters((id) => tags.get(id)), input.Filters);
  const recs = ids.length > 0 ? await findSnapshots(s, ctx, ids) : await s.store.resources('snapshot', { account: ctx.account, region: ctx.region });
  checkDryRun(input);
  const visible = namesCaller(input.OwnerIds, ctx.account) && namesCaller(input.RestorableByUserIds, ctx.account) ? recs : [];
  tags = await s.store.tagsOfMany(visible.map((r) => r.id));
  const matching = visible.map((r) => toSnapshot(r, tags.get(r.id) ?? NO_TAGS)).filter(predicate);
  const max = input.MaxResults === undefined ? undefined : Math.min(input.MaxResults, DESCRIBE_PAGE_LIMITS.max);
  const page = paginate(matching, { MaxResults: max, NextToken: input.NextToken }, DESCRIBE_PAGE_LIMITS, {
    f: input.Filters,
    ids,
    o: input.OwnerIds,
    r: input.RestorableByUserIds,
  });
  return { Snapshots: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

/**
 * DeleteSnapshot: its record and tags go, and the VM host that keeps its file deletes it. Volumes
 * restored from it keep their data (theirs is a copy). A snapshot one of the caller's images uses
 * (CreateImage, RegisterImage, CopyImage) is InvalidSnapshot.InUse until the image is deregistered.
 */
export const deleteSnapshot: Handler<DeleteSnapshotRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.SnapshotId, 'SnapshotId');
  const [rec] = await findSnapshots(s, ctx, [id]);
  const image = await imageUsingSnapshot(s, ctx, id);
  if (image) throw Errors.snapshotInUse(id, image.id);
  checkDryRun(input);
  const tasks: VmTask[] = rec!.host !== undefined ? [{ host: rec!.host, target: id, kind: 'delete-snapshot' }] : [];
  // Conditional on the record's revision: of two concurrent deletes one runs again and finds it gone.
  await s.store.commit({ deleteResources: [{ kind: 'snapshot', id }], tasks });
  return {};
};

/**
 * CopySnapshot, sent to the destination Region: the source is the caller's snapshot in SourceRegion (any
 * Region nestbox serves, this one included). The copy is `pending` until the host keeping the source's
 * file has copied it (`completed` at once when the source has no data).
 */
export const copySnapshot: Handler<CopySnapshotRequest, CopySnapshotResult> = async (input, ctx, s) => {
  const sourceRegion = required(input.SourceRegion, 'SourceRegion');
  const sourceId = required(input.SourceSnapshotId, 'SourceSnapshotId');
  if (input.KmsKeyId !== undefined) throw Errors.kmsNotImplemented('CopySnapshot', `KmsKeyId ${input.KmsKeyId}`);
  if (input.DestinationOutpostArn !== undefined) throw Errors.parameterNotImplemented('CopySnapshot', 'DestinationOutpostArn', 'nestbox has no Outposts');
  if (input.CompletionDurationMinutes !== undefined) {
    throw Errors.parameterNotImplemented('CopySnapshot', 'CompletionDurationMinutes', 'copies are not time-based here');
  }
  if (!findRegion(sourceRegion)) throw Errors.snapshotRegion(sourceRegion);
  const description = input.Description ?? `[Copied ${sourceId} from ${sourceRegion}]`;
  if (description.length > 255) throw Errors.invalidValueFor('Description', description, 'Descriptions are at most 255 characters.');
  const tags = tagsFromSpecifications(input.TagSpecifications, 'snapshot', ['snapshot']);
  const [source] = await findSnapshots(s, { account: ctx.account, region: sourceRegion }, [sourceId]);
  if (source!.state !== 'completed') throw Errors.snapshotNotReady(sourceId, source!.state);
  checkDryRun(input);
  const host = source!.host;
  const rec: SnapshotRecord = {
    id: newId('snapshot'),
    account: ctx.account,
    region: ctx.region,
    volumeId: COPIED_VOLUME_ID,
    volumeSizeGiB: source!.volumeSizeGiB,
    description,
    encrypted: source!.encrypted || input.Encrypted === true,
    startTime: s.now().toISOString(),
    state: host !== undefined ? 'pending' : 'completed',
    ...(host !== undefined ? { host } : {}),
    sourceRegion,
    sourceSnapshotId: sourceId,
  };
  const tasks: VmTask[] = host !== undefined ? [{ host, target: rec.id, kind: 'copy-snapshot' }] : [];
  await s.store.commit({
    putResources: [{ kind: 'snapshot', doc: rec }],
    putTags: tagRecordsOf(ctx, rec.id, 'snapshot', tags),
    tasks,
  });
  return { SnapshotId: rec.id, ...(tags.length > 0 ? { Tags: tagList(tagMapOf(tags)) } : {}) };
};
