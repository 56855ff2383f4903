/**
 * The list of EBS volumes as data, as EC2's console has it (Elastic Block Store → Volumes): its rows,
 * columns, property filter (whose `=` tokens become DescribeVolumes filters) and the Actions' reasons.
 * Pure functions over plain values, like ./model.ts.
 */
import type { Volume } from '@aws-sdk/client-ec2';
import { count, tagValue } from '../format.js';
import { type Sort, naturalKey, sortByKey } from './model.js';
import { one, propertyFilter } from './property-filter.js';

export interface VolumeRow {
  readonly id: string;
  readonly volume: Volume;
  /** everything the free-text filter searches, lower-cased */
  readonly search: string;
}

export const volumeName = (v: Volume): string => tagValue(v.Tags, 'Name') ?? '';

/** The volume's attachment (a volume attaches to one instance at a time). */
export const attachmentOf = (v: Volume) => v.Attachments?.[0];

export function toVolumeRow(volume: Volume): VolumeRow {
  const a = attachmentOf(volume);
  const search = [
    volumeName(volume),
    volume.VolumeId,
    volume.VolumeType,
    volume.State,
    volume.AvailabilityZone,
    volume.SnapshotId,
    a?.InstanceId,
    a?.Device,
    ...(volume.Tags ?? []).flatMap((t) => [t.Key, t.Value]),
  ]
    .filter((x) => x !== undefined && x !== '')
    .join(' ')
    .toLowerCase();
  return { id: volume.VolumeId ?? '', volume, search };
}

// --- columns ----------------------------------------------------------------------------------------

export type VolumeColumnId = 'name' | 'id' | 'type' | 'size' | 'iops' | 'state' | 'zone' | 'created' | 'attached';

export interface VolumeColumn {
  readonly id: VolumeColumnId;
  readonly label: string;
  readonly numeric?: boolean;
  /** the value sorted on ('' sorts last either way) */
  readonly sortKey: (row: VolumeRow) => string | number;
}

export const VOLUME_COLUMNS: readonly VolumeColumn[] = [
  { id: 'name', label: 'Name', sortKey: (r) => naturalKey(volumeName(r.volume)) },
  { id: 'id', label: 'Volume ID', sortKey: (r) => r.id },
  { id: 'type', label: 'Type', sortKey: (r) => r.volume.VolumeType ?? '' },
  { id: 'size', label: 'Size', numeric: true, sortKey: (r) => r.volume.Size ?? '' },
  { id: 'iops', label: 'IOPS', numeric: true, sortKey: (r) => r.volume.Iops ?? '' },
  { id: 'state', label: 'Volume state', sortKey: (r) => r.volume.State ?? '' },
  { id: 'zone', label: 'Availability Zone', sortKey: (r) => r.volume.AvailabilityZone ?? '' },
  { id: 'created', label: 'Created', sortKey: (r) => r.volume.CreateTime?.getTime() ?? '' },
  { id: 'attached', label: 'Attached resources', sortKey: (r) => attachmentOf(r.volume)?.InstanceId ?? '' },
];

/** Newest first: a volume just created is at the top. */
export const DEFAULT_VOLUME_SORT: Sort<VolumeColumnId> = { column: 'created', direction: 'descending' };

export const sortVolumeRows = (rows: readonly VolumeRow[], sort: Sort<VolumeColumnId>): VolumeRow[] =>
  sortByKey(rows, (VOLUME_COLUMNS.find((c) => c.id === sort.column) ?? (VOLUME_COLUMNS[0] as VolumeColumn)).sortKey, sort.direction);

// --- the property filter ----------------------------------------------------------------------------

/** EBS's volume types, as EC2's console names them; `iops`: whether CreateVolume takes (or needs) provisioned IOPS. */
export const VOLUME_TYPES: readonly { readonly type: string; readonly label: string; readonly iops?: 'optional' | 'required' }[] = [
  { type: 'gp3', label: 'General Purpose SSD (gp3)', iops: 'optional' },
  { type: 'gp2', label: 'General Purpose SSD (gp2)' },
  { type: 'io1', label: 'Provisioned IOPS SSD (io1)', iops: 'required' },
  { type: 'io2', label: 'Provisioned IOPS SSD (io2)', iops: 'required' },
  { type: 'st1', label: 'Throughput Optimized HDD (st1)' },
  { type: 'sc1', label: 'Cold HDD (sc1)' },
  { type: 'standard', label: 'Magnetic (standard)' },
];

export const VOLUME_FILTER = propertyFilter<VolumeRow, Volume>({
  properties: [
    { key: 'name', label: 'Name', apiFilter: 'tag:Name', values: (v) => one(volumeName(v)) },
    { key: 'volume-id', label: 'Volume ID', apiFilter: 'volume-id', values: (v) => one(v.VolumeId) },
    { key: 'volume-type', label: 'Volume type', apiFilter: 'volume-type', values: (v) => one(v.VolumeType), known: VOLUME_TYPES.map((t) => t.type) },
    {
      key: 'volume-state',
      label: 'Volume state',
      apiFilter: 'status',
      values: (v) => one(v.State),
      known: ['creating', 'available', 'in-use', 'deleting', 'deleted', 'error'],
    },
    { key: 'size', label: 'Size', apiFilter: 'size', values: (v) => one(v.Size?.toString()) },
    { key: 'availability-zone', label: 'Availability Zone', apiFilter: 'availability-zone', values: (v) => one(v.AvailabilityZone) },
    { key: 'instance-id', label: 'Attached instance', apiFilter: 'attachment.instance-id', values: (v) => one(attachmentOf(v)?.InstanceId) },
    { key: 'device', label: 'Device name', apiFilter: 'attachment.device', values: (v) => one(attachmentOf(v)?.Device) },
    { key: 'snapshot-id', label: 'Snapshot ID', apiFilter: 'snapshot-id', values: (v) => one(v.SnapshotId) },
  ],
  item: (r) => r.volume,
  tags: (v) => v.Tags,
  example: 'Volume state',
});

// --- the Actions' reasons ---------------------------------------------------------------------------

export type VolumeAction = 'attach' | 'detach' | 'delete';

export const NO_VOLUME_SELECTED = 'Select one or more volumes.';

/** The state each action needs, and what it says when a volume is in another. */
const NEEDS: Record<VolumeAction, { readonly state: string; readonly why: string }> = {
  attach: { state: 'available', why: 'Only an available volume can be attached' },
  detach: { state: 'in-use', why: 'Only an attached (in-use) volume can be detached' },
  delete: { state: 'available', why: 'Only available volumes can be deleted' },
};

/** Why the action is not available for the selected volumes, or undefined when it is. */
export function volumeActionReason(action: VolumeAction, selected: readonly Volume[]): string | undefined {
  if (selected.length === 0) return NO_VOLUME_SELECTED;
  if (action !== 'delete' && selected.length > 1) return 'Select a single volume.';
  const need = NEEDS[action];
  const bad = selected.filter((v) => v.State !== need.state);
  if (bad.length === 0) return undefined;
  const first = bad[0] as Volume;
  const who =
    selected.length === 1
      ? `${first.VolumeId} is ${first.State}`
      : `${count(bad.length)} of the ${count(selected.length)} selected volumes ${bad.length === 1 ? 'is' : 'are'} not ${need.state}`;
  return `${need.why}: ${who}.`;
}
