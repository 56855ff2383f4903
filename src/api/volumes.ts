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
import type { Services } from '../services/context.js';
import { type Handler, checkDryRun, required } from './context.js';
import { tagList } from '../services/tags.js';
import { findRootVolumes, volumeOwners } from '../services/volumes.js';

/** EC2 pages at most this many volumes; a larger MaxResults is answered with this many. */
const MAX_VOLUMES_PER_PAGE = 500;

export function toVolume(rec: InstanceRecord, s: Services): Volume {
  const settings = rootVolumeOf(rec);
  const id = rootVolumeId(rec);
  const created = new Date(rec.launchTime);
  const tags = s.store.tagsOf(id);
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
  const recs = ids.length > 0 ? findRootVolumes(s, ctx, ids) : volumeOwners(s, ctx);
  checkDryRun(input);
  const matching = recs.map((r) => toVolume(r, s)).filter(predicate);
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
 * driver deletes its disk (a real VM's qcow2 file), after the commit.
 */
export const deleteVolume: Handler<DeleteVolumeRequest, Record<string, never>> = (input, ctx, s) => {
  const id = required(input.VolumeId, 'VolumeId');
  const [rec] = findRootVolumes(s, ctx, [id]) as [InstanceRecord];
  checkDryRun(input);
  if (rootVolumeAttached(rec)) throw Errors.volumeInUse(id, rec.id);
  const settings = rootVolumeOf(rec);
  s.store.commit({
    instances: [{ ...rec, rootVolume: { ...settings, deleted: true } }],
    deleteTags: [...(s.store.tagsOf(id)?.keys() ?? [])].map((key) => ({ resourceId: id, key })),
  });
  s.reconciler.deleteVolume(id);
  return {};
};
