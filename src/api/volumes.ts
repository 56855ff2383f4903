/**
 * DescribeVolumes: the root EBS volume of every instance. Each instance that is not terminated has
 * exactly one (gp3, its image's size, `in-use` and attached, stopped instances included); it goes away
 * with its instance (DeleteOnTermination). Volumes are derived from instance records, not stored.
 */
import type { DescribeVolumesRequest, DescribeVolumesResult, Volume } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId } from '../domain/ids.js';
import { ROOT_VOLUME, rootSnapshotId } from '../domain/images.js';
import { type InstanceRecord, rootVolumeId } from '../domain/instance.js';
import { paginate } from '../domain/paging.js';
import { zonesIn } from '../domain/regions.js';
import { type Handler, type Services, checkDryRun } from './context.js';
import { visibleInstances } from './instances.js';
import { tagList } from './tags.js';

/** EC2 pages at most this many volumes; a larger MaxResults is answered with this many. */
const MAX_VOLUMES_PER_PAGE = 500;

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
  const byId = new Map<string, InstanceRecord>();
  for (const rec of visibleInstances(s, ctx)) if (rec.state !== 'terminated') byId.set(rootVolumeId(rec), rec);
  const wanted = [...new Set(ids)];
  const missing = wanted.filter((id) => !byId.has(id));
  if (missing.length > 0) throw Errors.volumeNotFound(missing);
  checkDryRun(input);
  const recs = wanted.length > 0 ? wanted.map((id) => byId.get(id)!) : [...byId.values()];
  const matching = recs.map((r) => rootVolumeOf(r, s)).filter(predicate);
  const max = input.MaxResults === undefined ? undefined : Math.min(input.MaxResults, MAX_VOLUMES_PER_PAGE);
  const page = paginate(
    matching,
    { MaxResults: max, NextToken: input.NextToken },
    { min: 5, max: MAX_VOLUMES_PER_PAGE },
    { f: input.Filters, ids: wanted },
  );
  return { Volumes: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
