/**
 * The list of instances as data: its rows, columns, sorting, paging and selection (sorting, paging and
 * selection serve every list). Pure functions over plain values (no DOM, no Preact), so the unit tests
 * run them in Node and the page only renders what they answer.
 */
import type { Instance, InstanceStatus } from '@aws-sdk/client-ec2';
import { nameOf } from '../format.js';

export interface Row {
  readonly instance: Instance;
  readonly id: string;
  /** status checks (DescribeInstanceStatus), when known */
  readonly status: InstanceStatus | undefined;
  /** everything the free-text filter searches, lower-cased */
  readonly search: string;
}

export type ColumnId =
  | 'name'
  | 'id'
  | 'state'
  | 'type'
  | 'status'
  | 'zone'
  | 'public-ip'
  | 'private-ip'
  | 'nested'
  | 'key'
  | 'groups'
  | 'image'
  | 'platform'
  | 'launch';

export type SortDirection = 'ascending' | 'descending';

export interface Sort<C extends string = ColumnId> {
  readonly column: C;
  readonly direction: SortDirection;
}

/** Newest first: what was just launched is on the first page, at the top. */
export const DEFAULT_SORT: Sort = { column: 'launch', direction: 'descending' };

export const nestedOf = (i: Instance): 'enabled' | 'disabled' | undefined =>
  i.CpuOptions?.NestedVirtualization as 'enabled' | 'disabled' | undefined;

export const securityGroupNames = (i: Instance): string[] =>
  (i.SecurityGroups ?? []).map((g) => g.GroupName ?? g.GroupId ?? '').filter((n) => n !== '');

export const platformName = (i: Instance): string =>
  i.PlatformDetails ?? (i.Platform?.toLowerCase() === 'windows' ? 'Windows' : 'Linux/UNIX');

/** "3/3 checks passed", "Initializing", or undefined when the checks do not apply (the instance is not running). */
export function statusChecks(status: InstanceStatus | undefined): string | undefined {
  if (!status) return undefined;
  const checks = [status.SystemStatus?.Status, status.InstanceStatus?.Status, status.AttachedEbsStatus?.Status].filter(
    (s): s is NonNullable<typeof s> => s !== undefined,
  );
  if (checks.length === 0 || checks.every((s) => s === 'not-applicable')) return undefined;
  if (checks.some((s) => s === 'initializing')) return 'Initializing';
  if (checks.some((s) => s === 'insufficient-data')) return 'Insufficient data';
  const passed = checks.filter((s) => s === 'ok').length;
  return `${passed}/${checks.length} checks passed`;
}

export function toRow(instance: Instance, status: InstanceStatus | undefined): Row {
  const i = instance;
  const search = [
    nameOf(i),
    i.InstanceId,
    i.State?.Name,
    i.InstanceType,
    i.Placement?.AvailabilityZone,
    `nested-${nestedOf(i) ?? 'unset'}`,
    i.ImageId,
    i.KeyName,
    i.PublicIpAddress,
    i.PublicDnsName,
    i.PrivateIpAddress,
    i.PrivateDnsName,
    platformName(i),
    ...securityGroupNames(i),
    ...(i.Tags ?? []).flatMap((t) => [t.Key, t.Value]),
  ]
    .filter((x) => x !== undefined && x !== '')
    .join(' ')
    .toLowerCase();
  return { instance, id: i.InstanceId ?? '', status, search };
}

// --- columns ----------------------------------------------------------------------------------------

export interface Column {
  readonly id: ColumnId;
  readonly label: string;
  /** shown until the user's preferences say otherwise */
  readonly visibleByDefault: boolean;
  /** the value sorted on ('' sorts last either way) */
  readonly sortKey: (row: Row) => string | number;
}

/** Digits compare as numbers: web-2 before web-10. */
export const naturalKey = (s: string): string => s.toLowerCase().replace(/\d+/g, (d) => d.padStart(12, '0'));

/** 10.0.0.9 before 10.0.0.10. */
const ipKey = (ip: string | undefined): string => (ip ? ip.split('.').map((n) => n.padStart(3, '0')).join('.') : '');

const STATE_ORDER = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];

export const COLUMNS: readonly Column[] = [
  { id: 'name', label: 'Name', visibleByDefault: true, sortKey: (r) => naturalKey(nameOf(r.instance)) },
  { id: 'id', label: 'Instance ID', visibleByDefault: true, sortKey: (r) => r.id },
  {
    id: 'state',
    label: 'Instance state',
    visibleByDefault: true,
    sortKey: (r) => STATE_ORDER.indexOf(r.instance.State?.Name ?? '') + 1 || '',
  },
  { id: 'type', label: 'Instance type', visibleByDefault: true, sortKey: (r) => naturalKey(r.instance.InstanceType ?? '') },
  { id: 'status', label: 'Status check', visibleByDefault: true, sortKey: (r) => statusChecks(r.status) ?? '' },
  { id: 'zone', label: 'Availability Zone', visibleByDefault: true, sortKey: (r) => r.instance.Placement?.AvailabilityZone ?? '' },
  { id: 'public-ip', label: 'Public IPv4 address', visibleByDefault: true, sortKey: (r) => ipKey(r.instance.PublicIpAddress) },
  { id: 'private-ip', label: 'Private IPv4 address', visibleByDefault: true, sortKey: (r) => ipKey(r.instance.PrivateIpAddress) },
  { id: 'nested', label: 'Nested virtualization', visibleByDefault: true, sortKey: (r) => nestedOf(r.instance) ?? '' },
  { id: 'key', label: 'Key name', visibleByDefault: false, sortKey: (r) => naturalKey(r.instance.KeyName ?? '') },
  { id: 'groups', label: 'Security group name', visibleByDefault: false, sortKey: (r) => securityGroupNames(r.instance).join(', ').toLowerCase() },
  { id: 'image', label: 'AMI ID', visibleByDefault: false, sortKey: (r) => r.instance.ImageId ?? '' },
  { id: 'platform', label: 'Platform', visibleByDefault: false, sortKey: (r) => platformName(r.instance) },
  { id: 'launch', label: 'Launch time', visibleByDefault: true, sortKey: (r) => r.instance.LaunchTime?.getTime() ?? '' },
];

export const columnById = (id: ColumnId): Column => COLUMNS.find((c) => c.id === id) as Column;

export const DEFAULT_COLUMNS: readonly ColumnId[] = COLUMNS.filter((c) => c.visibleByDefault).map((c) => c.id);

// --- sorting ----------------------------------------------------------------------------------------

/**
 * `items` ordered by `key`. Empty keys ('') go last whichever the direction; items whose keys tie keep
 * their given order, reversed when descending (so among instances launched together, in the API's
 * order, the last one launched comes first).
 */
export function sortByKey<T>(items: readonly T[], key: (item: T) => string | number, direction: SortDirection): T[] {
  const sign = direction === 'ascending' ? 1 : -1;
  const keyed = items.map((item, index) => ({ item, index, key: key(item) }));
  keyed.sort((a, b) => {
    if (a.key !== b.key) {
      if (a.key === '') return 1;
      if (b.key === '') return -1;
      return (a.key < b.key ? -1 : 1) * sign;
    }
    return (a.index - b.index) * sign;
  });
  return keyed.map((k) => k.item);
}

/** The rows in `sort` order. */
export const sortRows = (rows: readonly Row[], sort: Sort): Row[] => sortByKey(rows, columnById(sort.column).sortKey, sort.direction);

/** The next sort when a column's header is activated: ascending first (newest first for a time), then the other way. */
export function nextSort<C extends string>(current: Sort<C>, column: C, firstDirection: SortDirection = 'ascending'): Sort<C> {
  if (current.column === column) return { column, direction: current.direction === 'ascending' ? 'descending' : 'ascending' };
  return { column, direction: firstDirection };
}

// --- paging -----------------------------------------------------------------------------------------

export const PAGE_SIZES = [10, 25, 50, 100] as const;
export type PageSize = (typeof PAGE_SIZES)[number];
export const DEFAULT_PAGE_SIZE: PageSize = 50;

export interface PageView<T> {
  /** 1-based, clamped to the pages there are */
  readonly page: number;
  readonly pageCount: number;
  readonly items: readonly T[];
  /** 1-based positions of the first and last item shown (0, 0 when there is none) */
  readonly from: number;
  readonly to: number;
}

export function pageOf<T>(all: readonly T[], page: number, size: number): PageView<T> {
  const pageCount = Math.max(1, Math.ceil(all.length / size));
  const p = Math.min(Math.max(1, Math.floor(page)), pageCount);
  const start = (p - 1) * size;
  const items = all.slice(start, start + size);
  return { page: p, pageCount, items, from: items.length > 0 ? start + 1 : 0, to: start + items.length };
}

/** Page numbers to offer around the current one: 1 … 4 5 [6] 7 8 … 100 (undefined: a gap). */
export function pageLinks(page: number, pageCount: number): (number | undefined)[] {
  const wanted = new Set([1, pageCount, page - 2, page - 1, page, page + 1, page + 2].filter((p) => p >= 1 && p <= pageCount));
  const sorted = [...wanted].sort((a, b) => a - b);
  const out: (number | undefined)[] = [];
  sorted.forEach((p, i) => {
    const prev = sorted[i - 1];
    if (prev !== undefined && p - prev > 1) out.push(undefined);
    out.push(p);
  });
  return out;
}

// --- selection --------------------------------------------------------------------------------------

/** A row that can be selected: by its ID. */
interface Identified {
  readonly id: string;
}

/**
 * The selection kept to the rows that the filter shows: a row the filter hides is no longer selected
 * (so no action reaches it), and does not come back selected when the filter changes again. Answers
 * `selected` itself when nothing changes.
 */
export function pruneSelection(selected: ReadonlySet<string>, shown: readonly Identified[]): ReadonlySet<string> {
  if (selected.size === 0) return selected;
  const kept = new Set<string>();
  for (const row of shown) if (selected.has(row.id)) kept.add(row.id);
  return kept.size === selected.size ? selected : kept;
}

/** The "select all" checkbox over the rows the filter shows: checked, mixed (indeterminate) or unchecked. */
export function selectAllState(selected: ReadonlySet<string>, shown: readonly Identified[]): 'checked' | 'mixed' | 'unchecked' {
  if (shown.length === 0 || selected.size === 0) return 'unchecked';
  let count = 0;
  for (const row of shown) if (selected.has(row.id)) count++;
  if (count === 0) return 'unchecked';
  return count === shown.length ? 'checked' : 'mixed';
}

/** The set with one checkbox's value ticked (`on`) or cleared. */
export function toggled<T>(selected: ReadonlySet<T>, id: T, on: boolean): ReadonlySet<T> {
  const next = new Set(selected);
  if (on) next.add(id);
  else next.delete(id);
  return next;
}
