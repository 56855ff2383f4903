/**
 * Volumes (Elastic Block Store), as EC2's console lists them: the instances' root volumes and the data
 * volumes, from DescribeVolumes, with the property filter (its `=` tokens become DescribeVolumes
 * filters), sorting by any column and pages; Create volume, and Actions — Attach volume (to an instance
 * of the volume's zone), Detach volume, Delete volume — each refusal shown in place as EC2 gave it.
 * `id`: the list opens filtered to that volume (the instance page's Storage tab links here).
 */
import type { Volume } from '@aws-sdk/client-ec2';
import { useMemo, useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
import { StateBadge } from '../components/Badges.js';
import { DeleteDialog } from '../components/DeleteDialog.js';
import { Facts, mono } from '../components/Details.js';
import { FormDialog } from '../components/FormDialog.js';
import { ListStatus, NoRows, SelectAllCell, SelectCell } from '../components/ListParts.js';
import { type MenuItem, MenuButton } from '../components/Menu.js';
import { Pagination } from '../components/Pagination.js';
import { PropertyFilter } from '../components/PropertyFilter.js';
import { SortableHeader } from '../components/SortableHeader.js';
import { useApi, useTitle } from '../context.js';
import { count, nameOf, regionName, when, whenShort } from '../format.js';
import { useResource } from '../hooks.js';
import { DEFAULT_PAGE_SIZE, nextSort } from '../list/model.js';
import { useFilterTokens, useListView } from '../list/useListView.js';
import {
  DEFAULT_VOLUME_SORT,
  NO_VOLUME_SELECTED,
  VOLUME_COLUMNS,
  VOLUME_FILTER,
  VOLUME_TYPES,
  type VolumeAction,
  type VolumeColumnId,
  attachmentOf,
  sortVolumeRows,
  toVolumeRow,
  volumeActionReason,
  volumeName,
} from '../list/volumes.js';
import { href } from '../router.js';
import { nameTags } from '../tags.js';
import { useSettingSave } from './settings/useSettingForm.js';

/** The device name Attach volume offers, as EC2's console does. */
export const DEFAULT_DEVICE = '/dev/sdf';
/** The instances Attach volume lists: those of the volume's zone that are not terminated (AttachVolume takes running or stopped ones). */
const ATTACHABLE_STATES = ['pending', 'running', 'stopping', 'stopped'];

const none = <span class="muted">–</span>;

function Cell(props: { column: VolumeColumnId; volume: Volume }) {
  const v = props.volume;
  switch (props.column) {
    case 'name':
      return <td>{volumeName(v) || none}</td>;
    case 'id':
      return <td class="mono nowrap">{v.VolumeId}</td>;
    case 'type':
      return <td data-col="type">{v.VolumeType}</td>;
    case 'size':
      return (
        <td class="num nowrap" data-col="size">
          {v.Size} GiB
        </td>
      );
    case 'iops':
      return <td class="num">{v.Iops ?? none}</td>;
    case 'state':
      return (
        <td data-col="state">
          <StateBadge state={v.State} />
        </td>
      );
    case 'zone':
      return <td class="nowrap">{v.AvailabilityZone}</td>;
    case 'created':
      return (
        <td class="nowrap" title={when(v.CreateTime)}>
          {whenShort(v.CreateTime)}
        </td>
      );
    case 'attached': {
      const a = attachmentOf(v);
      return (
        <td class="nowrap" data-col="attached">
          {a ? (
            <>
              <a class="mono" href={href({ page: 'instance', id: a.InstanceId ?? '' })}>
                {a.InstanceId}
              </a>
              : <span class="mono">{a.Device}</span> <span class="muted">({a.State})</span>
            </>
          ) : (
            none
          )}
        </td>
      );
    }
  }
}

type Dialog = 'create' | VolumeAction;

export function Volumes(props: { id?: string | undefined }) {
  useTitle('Volumes');
  const api = useApi();
  const filter = useFilterTokens(VOLUME_FILTER, props.id ? [{ property: 'volume-id', operator: '=', value: props.id }] : []);
  const volumes = useResource(() => api.volumes(filter.filters), [api, filter.filtersKey]);
  const rows = useMemo(() => (volumes.data ?? []).map(toVolumeRow), [volumes.data]);
  const lv = useListView({ rows, filter, sortRows: sortVolumeRows, defaultSort: DEFAULT_VOLUME_SORT, pageSize: DEFAULT_PAGE_SIZE });
  const { shown, view, selection, sort } = lv;
  const selected = useMemo(() => lv.selected.map((r) => r.volume), [lv.selected]);
  const [dialog, setDialog] = useState<Dialog>();
  const close = () => setDialog(undefined);
  /** after a change went through: the dialog closes and the list is read again */
  const done = () => {
    close();
    volumes.reload();
  };
  const one = selected[0];

  const item = (action: VolumeAction, label: string): MenuItem => ({
    label,
    onSelect: () => setDialog(action),
    disabledReason: volumeActionReason(action, selected),
  });
  const loadingFirst = !volumes.data && !volumes.error;

  return (
    <section class="page list-page" aria-labelledby="volumes-title">
      <div class="list-head">
        <div class="page-header">
          <h1 id="volumes-title">
            Volumes <span class="count">({volumes.data ? count(rows.length) : '…'})</span>
          </h1>
          <div class="toolbar">
            <button type="button" class="button" onClick={volumes.reload} disabled={volumes.loading} aria-label="Refresh volumes" title="Refresh">
              ↻
            </button>
            <MenuButton
              label="Actions"
              groups={[{ items: [item('attach', 'Attach volume'), item('detach', 'Detach volume'), item('delete', 'Delete volume')] }]}
              note={selected.length === 0 ? NO_VOLUME_SELECTED : undefined}
            />
            <button type="button" class="button button-primary" onClick={() => setDialog('create')}>
              Create volume
            </button>
          </div>
        </div>
        {volumes.error && <ApiErrorAlert title="Could not describe volumes" error={volumes.error} />}
        <div class="list-toolbar">
          <PropertyFilter
            filter={filter}
            label="Filter volumes"
            placeholder="Find volume by attribute or tag (case-sensitive), e.g. Volume state = available"
            rows={rows}
          />
          <div class="list-meta">
            <ListStatus
              testId="volumes-status"
              selected={selection.size}
              view={view}
              total={shown.length}
              loading={loadingFirst ? 'Loading volumes…' : undefined}
              refreshing={volumes.loading}
            />
            <Pagination label="Volumes pages" page={view.page} pageCount={view.pageCount} onPage={lv.setPage} />
          </div>
        </div>
      </div>
      <div class="card table-scroll">
        <table class="table" aria-labelledby="volumes-title" data-testid="volumes-table">
          <thead>
            <tr>
              <SelectAllCell label="Select all volumes" state={lv.allState} disabled={shown.length === 0} onSelectAll={lv.selectAll} />
              {VOLUME_COLUMNS.map((c) => (
                <SortableHeader
                  key={c.id}
                  label={c.label}
                  numeric={c.numeric}
                  sorted={sort.column === c.id ? sort.direction : undefined}
                  onSort={() => lv.setSort(nextSort(sort, c.id, c.id === 'created' ? 'descending' : 'ascending'))}
                />
              ))}
            </tr>
          </thead>
          <tbody>
            {view.items.map((row) => {
              const isSelected = selection.has(row.id);
              return (
                <tr key={row.id} data-volume-id={row.id} class={isSelected ? 'selected' : undefined} onClick={lv.rowClick(row.id)}>
                  <SelectCell id={row.id} checked={isSelected} onToggle={lv.toggle} />
                  {VOLUME_COLUMNS.map((c) => (
                    <Cell key={c.id} column={c.id} volume={row.volume} />
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
        {volumes.data && shown.length === 0 && (
          <NoRows filtered={rows.length > 0 || filter.filtered} noMatch="No volume matches the filters." onClear={filter.clear}>
            <p>
              No volumes in {regionName(api.region)} ({api.region}).
            </p>
          </NoRows>
        )}
        {loadingFirst && <p class="empty muted">Loading volumes…</p>}
      </div>
      {dialog === 'create' && <CreateVolume onClose={close} onDone={done} />}
      {dialog === 'attach' && one && <AttachVolume volume={one} onClose={close} onDone={done} />}
      {dialog === 'detach' && one && <DetachVolume volume={one} onClose={close} onDone={done} />}
      {dialog === 'delete' && (
        <DeleteDialog
          noun={['volume', 'volumes']}
          items={selected.map((v) => ({ id: v.VolumeId ?? '', label: volumeName(v) }))}
          remove={api.deleteVolume}
          intro="These volumes and their data are deleted for good:"
          hint="EC2 refuses to delete a volume that is attached to an instance."
          onClose={close}
          onDeleted={volumes.reload}
        />
      )}
    </section>
  );
}

/** Create volume: type, size, IOPS where the type takes them, Availability Zone and a Name tag (CreateVolume). */
function CreateVolume(props: { onClose: () => void; onDone: () => void }) {
  const api = useApi();
  const zones = useResource(() => api.availabilityZones(), [api]);
  const [type, setType] = useState('gp3');
  const [size, setSize] = useState('100');
  const [iops, setIops] = useState('');
  const [zone, setZone] = useState('');
  const [name, setName] = useState('');
  const action = useSettingSave(props.onDone);
  const takesIops = VOLUME_TYPES.find((t) => t.type === type)?.iops;
  const chosenZone = zone || zones.data?.[0]?.ZoneName || '';
  const whole = (s: string) => /^\d+$/.test(s.trim());
  const iopsReady = takesIops === 'required' ? whole(iops) : !takesIops || iops.trim() === '' || whole(iops);

  const create = () =>
    action.save(
      () =>
        api.createVolume({
          zone: chosenZone,
          sizeGiB: Number(size),
          volumeType: type,
          iops: takesIops && iops.trim() !== '' ? Number(iops) : undefined,
          tags: nameTags(name),
        }),
      (v) => `Volume ${v.VolumeId} created in ${v.AvailabilityZone} (${v.State}).`,
    );

  return (
    <FormDialog
      title="Create volume"
      onClose={props.onClose}
      onSubmit={create}
      ready={chosenZone !== '' && whole(size) && iopsReady}
      state={action}
      errorTitle="CreateVolume failed"
      submitLabel="Create volume"
      busyLabel="Creating…"
    >
      <div class="field">
        <label for="volume-type">Volume type</label>
        <select id="volume-type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
          {VOLUME_TYPES.map((t) => (
            <option key={t.type} value={t.type}>
              {t.label}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="volume-size">Size (GiB)</label>
        <input id="volume-size" inputMode="numeric" value={size} onInput={(e) => setSize(e.currentTarget.value)} />
        <p class="field-note">A whole number of GiB, within the range of the volume type (EC2 says which).</p>
      </div>
      {takesIops && (
        <div class="field">
          <label for="volume-iops">IOPS{takesIops === 'optional' ? ' - optional' : ''}</label>
          <input id="volume-iops" inputMode="numeric" value={iops} onInput={(e) => setIops(e.currentTarget.value)} />
          <p class="field-note">{takesIops === 'optional' ? 'Left empty: the baseline, 3,000.' : `Required for ${type}.`}</p>
        </div>
      )}
      <div class="field">
        <label for="volume-zone">Availability Zone</label>
        <select id="volume-zone" value={chosenZone} disabled={!zones.data} onChange={(e) => setZone(e.currentTarget.value)}>
          {!zones.data && <option value="">Loading zones…</option>}
          {(zones.data ?? []).map((z) => (
            <option key={z.ZoneName} value={z.ZoneName}>
              {z.ZoneName} ({z.ZoneId})
            </option>
          ))}
        </select>
        <p class="field-note">A volume attaches only to instances in its own zone.</p>
        {zones.error && <ApiErrorAlert title="Could not describe Availability Zones" error={zones.error} />}
      </div>
      <div class="field">
        <label for="volume-name">Name tag - optional</label>
        <input id="volume-name" value={name} onInput={(e) => setName(e.currentTarget.value)} autoComplete="off" />
      </div>
    </FormDialog>
  );
}

/** Attach volume: an instance of the volume's zone that is not terminated (DescribeInstances), and a device name (AttachVolume). */
function AttachVolume(props: { volume: Volume; onClose: () => void; onDone: () => void }) {
  const api = useApi();
  const volumeId = props.volume.VolumeId ?? '';
  const zone = props.volume.AvailabilityZone ?? '';
  const instances = useResource(
    () =>
      api.allInstances([
        { name: 'availability-zone', values: [zone] },
        { name: 'instance-state-name', values: ATTACHABLE_STATES },
      ]),
    [api, zone],
  );
  const [instanceId, setInstanceId] = useState('');
  const [device, setDevice] = useState(DEFAULT_DEVICE);
  const action = useSettingSave(props.onDone);
  const attach = () =>
    action.save(
      () => api.attachVolume(volumeId, instanceId, device.trim()),
      (a) => `Attaching ${volumeId} to ${a.InstanceId} as ${a.Device} (${a.State}).`,
    );

  return (
    <FormDialog
      title="Attach volume"
      onClose={props.onClose}
      onSubmit={attach}
      ready={instanceId !== '' && device.trim() !== ''}
      state={action}
      errorTitle="AttachVolume failed"
      submitLabel="Attach volume"
      busyLabel="Attaching…"
    >
      <Facts
        items={[
          ['Volume ID', mono(volumeId)],
          ['Availability Zone', zone],
        ]}
      />
      <div class="field">
        <label for="attach-instance">Instance</label>
        <select id="attach-instance" value={instanceId} disabled={!instances.data} onChange={(e) => setInstanceId(e.currentTarget.value)}>
          <option value="">{instances.data ? 'Choose an instance' : 'Loading instances…'}</option>
          {(instances.data ?? []).map((i) => (
            <option key={i.InstanceId} value={i.InstanceId}>
              {i.InstanceId}
              {nameOf(i) ? ` (${nameOf(i)})` : ''} · {i.State?.Name}
            </option>
          ))}
        </select>
        <p class="field-note">
          {instances.data?.length === 0 ? `No instance in ${zone} that is not terminated.` : `The instances in ${zone} that are not terminated.`}
        </p>
        {instances.error && <ApiErrorAlert title="Could not describe instances" error={instances.error} />}
      </div>
      <div class="field">
        <label for="attach-device">Device name</label>
        <input id="attach-device" class="mono" value={device} onInput={(e) => setDevice(e.currentTarget.value)} autoComplete="off" />
        <p class="field-note">Linux: /dev/sdf to /dev/sdp (or /dev/xvdf …).</p>
      </div>
      <p class="hint">With the qemu driver the guest sees the volume from the instance’s next start: nestbox’s QEMU microvm cannot hot-add disks.</p>
    </FormDialog>
  );
}

/** Detach volume, after confirmation (DetachVolume). */
function DetachVolume(props: { volume: Volume; onClose: () => void; onDone: () => void }) {
  const api = useApi();
  const volumeId = props.volume.VolumeId ?? '';
  const attachment = attachmentOf(props.volume);
  const action = useSettingSave(props.onDone);
  const detach = () => action.save(() => api.detachVolume(volumeId), (a) => `Detaching ${volumeId} from ${a.InstanceId} (${a.State}).`);

  return (
    <FormDialog
      title="Detach volume?"
      onClose={props.onClose}
      onSubmit={detach}
      ready
      state={action}
      errorTitle="DetachVolume failed"
      submitLabel="Detach"
      busyLabel="Detaching…"
    >
      <p>
        Detach <code>{volumeId}</code> from <code>{attachment?.InstanceId}</code> (<code>{attachment?.Device}</code>)?
      </p>
      <p class="hint">Unmount it in the guest first, as on EC2.</p>
    </FormDialog>
  );
}
