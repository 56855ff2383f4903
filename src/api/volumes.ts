/**
 * DescribeVolumes and DeleteVolume: the root EBS volume of every instance. Each instance that is not
 * terminated has exactly one (its image's size and gp3 unless BlockDeviceMappings said otherwise,
 * `in-use` and attached, stopped instances included). It goes away with its instance unless its
 * DeleteOnTermination was false: then it stays, `available` and detached, until DeleteVolume (its
 * instance's record is kept for it, past the terminated instance's hour of visibility). Volumes are
 * derived from instance records, not stored; their tags (RunInstances' `volume` tag specifications,
 * CreateTags) are kept under the volume ID.
 */
import type { DeleteVolumeRequest, DescribeVolumesRequest, DescribeVolumesResult, Volume } from '@aws-sdk/client-ec2';
import { rootVolumeOf, volumeIops } from '../domain/block-devices.js';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId } from '../domain/ids.js';
import { ROOT_VOLUME, rootSnapshotId } from '../domain/images.js';
import { type InstanceRecord, rootVolumeAttached, rootVolumeId } from '../domain/instance.js';
import { paginate } from '../domain/paging.js';
import { zonesIn } from '../domain/regions.js';
import { type Handler, checkDryRun, required } from './context.js';
import { NO_TAGS, tagList } from '../services/tags.js';
import { findRootVolumes, volumeOwners } from '../services/volumes.js';

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
    SnapshotId: rootSnapshotId(rec.imageId),
    AvailabilityZone: rec.availabilityZone,
    ...(zoneId ? { AvailabilityZoneId: zoneId } : {}),
    State: attached ? 'in-use' : 'available',
    CreateTime: created,
    Attachments: attached
      ? [
          {
            AttachTime: created,
            Device: ROOT_VOLUME[rec.platform].device,
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

export const describeVolumes: Handler<DescribeVolumesRequest, DescribeVolumesResult> = async (input, ctx, s) => {
  const ids = input.VolumeIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter volumeSet cannot be used with the parameter maxResults');
  }
  for (const id of ids) if (!isWellFormedId('volume', id)) throw Errors.volumeIdMalformed(id);
  let tags: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();
  const predicate = compileFilters(volumeFilterTable((id) => tags.get(id)), input.Filters);
  const recs = ids.length > 0 ? await findRootVolumes(s, ctx, ids) : await volumeOwners(s, ctx);
  checkDryRun(input);
  tags = await s.store.tagsOfMany(recs.map(rootVolumeId));
  const matching = recs.map((r) => toVolume(r, tags.get(rootVolumeId(r)) ?? NO_TAGS)).filter(predicate);
  const max = input.MaxResults === undefined ? undefined : Math.min(input.MaxResults, MAX_VOLUMES_PER_PAGE);
  const page = paginate(
    matching,
    { MaxResults: max, NextToken: input.NextToken },
    { min: 5, max: MAX_VOLUMES_PER_PAGE },
    { f: input.Filters, ids },
  );
  return { Volumes: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- DeleteVolume -------------------------------------------------------------------------------------

/**
 * DeleteVolume: only a volume that is not attached, i.e. a root volume kept after its instance was
 * terminated (DeleteOnTermination false); an attached one is VolumeInUse. Its tags go with it; its
 * instance's record goes at the next purge once the instance's own hour of visibility is over; the
 * VM host its instance ran on deletes its disk (a real VM's qcow2 file): a `delete-volume` task written
 * with the change. The instance's record is written back conditionally, so of two concurrent calls one
 * runs again and finds the volume gone.
 */
export const deleteVolume: Handler<DeleteVolumeRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.VolumeId, 'VolumeId');
  const [rec] = (await findRootVolumes(s, ctx, [id])) as [InstanceRecord];
  checkDryRun(input);
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
