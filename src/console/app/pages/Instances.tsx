/**
 * Instances: EC2's list at any size. All instances the API filters let through are kept (list/store.ts)
 * and sorted, filtered and paged here; only one page of rows is drawn, and only that page is polled
 * (by ID) every POLL_MS. The header, the filter and the Actions bar stay in view: the rows scroll in
 * their own box under a sticky column header.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
import { NestedBadge, StateBadge } from '../components/Badges.js';
import { Pagination } from '../components/Pagination.js';
import { PropertyFilter } from '../components/PropertyFilter.js';
import { ListStatus, NoRows, SelectAllCell, SelectCell } from '../components/ListParts.js';
import { SortableHeader } from '../components/SortableHeader.js';
import { useApi, useInstanceStore, useTitle } from '../context.js';
import { count, nameOf, regionName, when, whenShort } from '../format.js';
import { usePolling, useStoredState, useSubscription } from '../hooks.js';
import {
  COLUMNS,
  type ColumnId,
  DEFAULT_COLUMNS,
  DEFAULT_PAGE_SIZE,
  DEFAULT_SORT,
  PAGE_SIZES,
  type PageSize,
  type Row,
  nextSort,
  platformName,
  securityGroupNames,
  sortRows,
  statusChecks,
} from '../list/model.js';
import { INSTANCE_FILTER } from '../list/property-filter.js';
import { useFilterTokens, useListView } from '../list/useListView.js';
import { href } from '../router.js';
import { InstanceActions } from './InstanceActions.js';
import { InstancePreferences, type ListPreferences } from './InstancePreferences.js';

/** The page on screen is read again this often. */
export const POLL_MS = 2000;
/** The whole list is read again this often in the background (and on Refresh, and when the API filters change). */
export const RELOAD_MS = 60_000;

const DEFAULT_PREFERENCES: ListPreferences = { columns: DEFAULT_COLUMNS, pageSize: DEFAULT_PAGE_SIZE };

function readPreferences(raw: unknown): ListPreferences | undefined {
  const p = raw as Partial<ListPreferences> | null;
  if (!p || !Array.isArray(p.columns) || !PAGE_SIZES.includes(p.pageSize as PageSize)) return undefined;
  const columns = COLUMNS.map((c) => c.id).filter((id) => (p.columns as unknown[]).includes(id));
  return { columns, pageSize: p.pageSize as PageSize };
}

const none = <span class="muted">–</span>;

function Cell(props: { column: ColumnId; row: Row }) {
  const i = props.row.instance;
  switch (props.column) {
    case 'name':
      return <td>{nameOf(i) || none}</td>;
    case 'id':
      return (
        <td class="nowrap">
          <a href={href({ page: 'instance', id: props.row.id })} class="mono">
            {props.row.id}
          </a>
        </td>
      );
    case 'state':
      return (
        <td data-col="state">
          <StateBadge state={i.State?.Name} />
        </td>
      );
    case 'type':
      return <td class="mono">{i.InstanceType}</td>;
    case 'status':
      return <td data-col="status">{statusChecks(props.row.status) ?? none}</td>;
    case 'zone':
      return <td class="nowrap">{i.Placement?.AvailabilityZone}</td>;
    case 'public-ip':
      return (
        <td class="mono" data-col="public-ip">
          {i.PublicIpAddress || none}
        </td>
      );
    case 'private-ip':
      return (
        <td class="mono" data-col="private-ip">
          {i.PrivateIpAddress || none}
        </td>
      );
    case 'nested':
      return (
        <td data-col="nested">
          <NestedBadge instance={i} />
        </td>
      );
    case 'key':
      return <td data-col="key">{i.KeyName || none}</td>;
    case 'groups':
      return <td data-col="groups">{securityGroupNames(i).join(', ') || none}</td>;
    case 'image':
      return <td class="mono">{i.ImageId}</td>;
    case 'platform':
      return <td>{platformName(i)}</td>;
    case 'launch':
      return (
        <td class="nowrap" title={when(i.LaunchTime)}>
          {whenShort(i.LaunchTime)}
        </td>
      );
  }
}

export function Instances() {
  useTitle('Instances');
  const api = useApi();
  const store = useInstanceStore();
  const list = useSubscription(store);
  const [preferences, setPreferences] = useStoredState('nestbox.console.instances', readPreferences, DEFAULT_PREFERENCES);
  const [editingPreferences, setEditingPreferences] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const filter = useFilterTokens(INSTANCE_FILTER);
  const lv = useListView({ rows: list.rows, filter, sortRows, defaultSort: DEFAULT_SORT, pageSize: preferences.pageSize });
  const { filters, filtersKey } = filter;
  const { shown, view, selection, sort } = lv;
  const columns = COLUMNS.filter((c) => preferences.columns.includes(c.id));
  const selected = useMemo(() => lv.selected.map((r) => r.instance), [lv.selected]);

  // A new page starts at its first row.
  useEffect(() => scroller.current?.scrollTo({ top: 0 }), [view.page]);

  // The whole list: at once, then every RELOAD_MS, and again whenever the API filters change.
  usePolling(() => store.reload(filters), RELOAD_MS, [store, filtersKey]);
  // The page on screen, by ID, every POLL_MS.
  const visible = useRef<readonly string[]>([]);
  visible.current = view.items.map((r) => r.id);
  usePolling(() => store.refresh(visible.current), POLL_MS, [store, filtersKey], undefined, true);

  const loadingFirst = list.rows.length === 0 && (list.loading || !list.complete) && !list.error;
  return (
    <section class="page list-page" aria-labelledby="instances-title">
      <div class="list-head">
        <div class="page-header">
          <h1 id="instances-title">
            Instances <span class="count">({list.complete ? count(list.rows.length) : '…'})</span>
          </h1>
          <div class="toolbar">
            <button
              type="button"
              class="button"
              onClick={() => void store.reload(filters)}
              disabled={list.loading}
              aria-label="Refresh instances"
              title="Refresh"
            >
              ↻
            </button>
            <button type="button" class="button" onClick={() => setEditingPreferences(true)} aria-label="Preferences" title="Preferences">
              ⚙
            </button>
            <InstanceActions instances={selected} />
            <a class="button button-primary" href={href({ page: 'launch' })}>
              Launch instances
            </a>
          </div>
        </div>
        {list.error && <ApiErrorAlert title="Could not list instances" error={list.error} />}
        <div class="list-toolbar">
          <PropertyFilter
            filter={filter}
            label="Filter instances"
            placeholder="Find instance by attribute or tag (case-sensitive), e.g. Instance state = running"
            rows={list.rows}
          />
          <div class="list-meta">
            <ListStatus
              testId="list-status"
              selected={selection.size}
              view={view}
              total={shown.length}
              loading={loadingFirst ? `Loading instances… ${list.progress > 0 ? `${count(list.progress)} read` : ''}` : undefined}
              refreshing={list.loading}
            />
            <Pagination label="Instances pages" page={view.page} pageCount={view.pageCount} onPage={lv.setPage} />
          </div>
        </div>
      </div>
      <div class="card table-scroll" ref={scroller}>
        <table class="table" aria-labelledby="instances-title" aria-rowcount={shown.length + 1}>
          <thead>
            <tr>
              <SelectAllCell label="Select all instances" state={lv.allState} disabled={shown.length === 0} onSelectAll={lv.selectAll} />
              {columns.map((c) => {
                const sorted = sort.column === c.id ? sort.direction : undefined;
                return (
                  <SortableHeader
                    key={c.id}
                    label={c.label}
                    sorted={sorted}
                    wrap={c.label.length > 16}
                    onSort={() => lv.setSort(nextSort(sort, c.id, c.id === 'launch' ? 'descending' : 'ascending'))}
                  />
                );
              })}
            </tr>
          </thead>
          <tbody>
            {view.items.map((row, n) => {
              const isSelected = selection.has(row.id);
              return (
                <tr
                  key={row.id}
                  data-instance-id={row.id}
                  aria-rowindex={(view.page - 1) * preferences.pageSize + n + 2}
                  class={isSelected ? 'selected' : undefined}
                  onClick={lv.rowClick(row.id)}
                >
                  <SelectCell id={row.id} checked={isSelected} onToggle={lv.toggle} />
                  {columns.map((c) => (
                    <Cell key={c.id} column={c.id} row={row} />
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
        {!loadingFirst && shown.length === 0 && (
          <NoRows filtered={list.rows.length > 0 || filter.filtered} noMatch="No instance matches the filters." onClear={filter.clear}>
            <p>
              No instances in {regionName(api.region)} ({api.region}).
            </p>
            <a class="button button-primary" href={href({ page: 'launch' })}>
              Launch instances
            </a>
          </NoRows>
        )}
        {loadingFirst && <p class="empty muted">Loading instances…</p>}
      </div>
      {editingPreferences && (
        <InstancePreferences
          value={preferences}
          onClose={() => setEditingPreferences(false)}
          onSave={(p) => {
            setPreferences(p);
            setEditingPreferences(false);
          }}
        />
      )}
    </section>
  );
}
