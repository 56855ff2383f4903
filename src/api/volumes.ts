/**
 * DescribeVolumes: the root EBS volume of every instance. Each instance that is not terminated has
 * exactly one (gp3, its image's size, `in-use` and attached, stopped instances included); it goes away
 * with its instance (DeleteOnTermination). Volumes are derived from instance records, not stored; their
 * tags (RunInstances' `volume` tag specifications, CreateTags) are kept under the volume ID.
 */
import type { DescribeVolumesRequest, DescribeVolumesResult, Volume } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId } from '../domain/ids.js';
import { ROOT_VOLUME, rootSnapshotId } from '../domain/images.js';
import { type InstanceRecord, type Scope, hasRootVolume, instanceIdOfRootVolume, rootVolumeId } from '../domain/instance.js';
import { paginate } from '../domain/paging.js';
import { zonesIn } from '../domain/regions.js';
import { type Handler, type Services, checkDryRun } from './context.js';
import { visibleInstances } from './instances.js';
import { tagList } from './tags.js';

/** EC2 pages at most this many volumes; a larger MaxResults is answered with this many. */
const MAX_VOLUMES_PER_PAGE = 500;

/** The instance whose root volume `volumeId` is, when that volume exists in the caller's scope. */
export function rootVolumeOwner(s: Services, scope: Scope, volumeId: string): InstanceRecord | undefined {
  const rec = s.store.instance(instanceIdOfRootVolume(volumeId));
  return rec && rec.account === scope.account && rec.region === scope.region && hasRootVolume(rec) ? rec : undefined;
}

/** Every volume ID well-formed, then every volume found — or the EC2 error naming the offenders; their instances, in order. */
export function findRootVolumes(s: Services, scope: Scope, ids: readonly string[]): InstanceRecord[] {
  for (const id of ids) if (!isWellFormedId('volume', id)) throw Errors.volumeIdMalformed(id);
  const found: InstanceRecord[] = [];
  const missing: string[] = [];
  for (const id of new Set(ids)) {
    const rec = rootVolumeOwner(s, scope, id);
    if (rec) found.push(rec);
    else missing.push(id);
  }
  if (missing.length > 0) throw Errors.volumeNotFound(missing);
  return found;
}

export function rootVolumeOf(rec: InstanceRecord, s: Services): Volume {
  const root = ROOT_VOLUME[rec.platform];
  const id = rootVolumeId(rec);
  const created = new Date(rec.launchTime);
  const tags = s.store.tagsOf(id);
  const zoneId = zonesIn(rec.region).find((z) => z.name === rec.availabilityZone)?.id;
  return {
    VolumeId: id,
    Size: root.sizeGiB,
    SnapshotId: rootSnapshotId(rec.imageId),
    AvailabilityZone: rec.availabilityZone,
    ...(zoneId ? { AvailabilityZoneId: zoneId } : {}),
    State: 'in-use',
    CreateTime: created,
    Attachments: [
      {
        AttachTime: created,
        Device: root.device,
        InstanceId: rec.id,
        State: 'attached',
        VolumeId: id,
        DeleteOnTermination: true,
      },
    ],
    Encrypted: false,
    VolumeType: ROOT_VOLUME.volumeType,
    Iops: ROOT_VOLUME.iops,
    Throughput: ROOT_VOLUME.throughputMiBps,
    MultiAttachEnabled: false,
    ...(tags && tags.size > 0 ? { Tags: tagList(tags) } : {}),
  };
}

const attachment = (v: Volume) => v.Attachments?.[0];

function volumeFilterTable(s: Services): FilterTable<Volume> {
  return {
    tags: (v) => s.store.tagsOf(v.VolumeId!),
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

export const describeVolumes: Handler<DescribeVolumesRequest, DescribeVolumesResult> = (input, ctx, s) => {
  const ids = input.VolumeIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter volumeSet cannot be used with the parameter maxResults');
  }
  for (const id of ids) if (!isWellFormedId('volume', id)) throw Errors.volumeIdMalformed(id);
  const predicate = compileFilters(volumeFilterTable(s), input.Filters);
  const recs = ids.length > 0 ? findRootVolumes(s, ctx, ids) : visibleInstances(s, ctx).filter(hasRootVolume);
  checkDryRun(input);
  const matching = recs.map((r) => rootVolumeOf(r, s)).filter(predicate);
  const max = input.MaxResults === undefined ? undefined : Math.min(input.MaxResults, MAX_VOLUMES_PER_PAGE);
  const page = paginate(
    matching,
    { MaxResults: max, NextToken: input.NextToken },
    { min: 5, max: MAX_VOLUMES_PER_PAGE },
    { f: input.Filters, ids },
  );
  return { Volumes: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
