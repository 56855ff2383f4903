/** Instances: the live list (polled), a filter, selection and the Actions menu. */
import type { Instance } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
import { NestedBadge, StateBadge } from '../components/Badges.js';
import { nestedVirtualizationOf } from '../capabilities.js';
import { useApi, useTitle } from '../context.js';
import { matches, nameOf, when } from '../format.js';
import { useResource } from '../hooks.js';
import { href } from '../router.js';
import { InstanceActions } from './InstanceActions.js';

export const POLL_MS = 1500;

const searchable = (i: Instance) => [
  nameOf(i),
  i.InstanceId,
  i.State?.Name,
  i.InstanceType,
  `nested-${nestedVirtualizationOf(i) ?? 'unset'}`,
  i.ImageId,
  i.PublicIpAddress,
  i.PublicDnsName,
  i.PrivateIpAddress,
  i.PrivateDnsName,
  ...(i.Tags ?? []).flatMap((t) => [t.Key, t.Value]),
];

export function Instances() {
  useTitle('Instances');
  const api = useApi();
  const list = useResource(() => api.listInstances(), [api], POLL_MS);
  const [query, setQuery] = useState('');
  const [selectedIds, setSelectedIds] = useState<ReadonlySet<string>>(new Set());

  const all = list.data ?? [];
  const shown = all.filter((i) => matches(query, searchable(i)));
  // The selection follows the list: an instance that is gone (or filtered out) is no longer selected.
  const selected = shown.filter((i) => selectedIds.has(i.InstanceId ?? ''));
  const allShownSelected = shown.length > 0 && selected.length === shown.length;

  const toggle = (id: string, on: boolean) =>
    setSelectedIds((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  return (
    <section class="page" aria-labelledby="instances-title">
      <div class="page-header">
        <h1 id="instances-title">
          Instances <span class="count">({all.length})</span>
        </h1>
        <div class="toolbar">
          <button type="button" class="button" onClick={list.reload} aria-label="Refresh instances" title="Refresh">
            ↻
          </button>
          <InstanceActions instances={selected} onChanged={list.reload} />
          <a class="button button-primary" href={href({ page: 'launch' })}>
            Launch instance
          </a>
        </div>
      </div>
      {list.error && <ApiErrorAlert title="Could not list instances" error={list.error} />}
      <div class="card">
        <div class="card-toolbar">
          <input
            type="search"
            class="filter"
            placeholder="Filter instances by name, ID, state, type, IP address, tag…"
            aria-label="Filter instances"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
          <span class="muted small" aria-live="polite">
            {selected.length > 0 ? `${selected.length} selected · ` : ''}
            {shown.length} of {all.length} · updates live
          </span>
        </div>
        <div class="table-wrap">
          <table class="table" aria-labelledby="instances-title">
            <thead>
              <tr>
                <th class="col-check">
                  <input
                    type="checkbox"
                    aria-label="Select all instances"
                    checked={allShownSelected}
                    disabled={shown.length === 0}
                    onChange={(e) =>
                      setSelectedIds(e.currentTarget.checked ? new Set(shown.map((i) => i.InstanceId ?? '')) : new Set())
                    }
                  />
                </th>
                <th>Name</th>
                <th>Instance ID</th>
                <th>Instance state</th>
                <th>Instance type</th>
                <th class="th-wrap">Nested virtualization</th>
                <th class="th-wrap">Public IPv4 address</th>
                <th class="th-wrap">Private IPv4 address</th>
                <th>AMI ID</th>
                <th>Launch time</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((i) => {
                const id = i.InstanceId ?? '';
                const isSelected = selectedIds.has(id);
                return (
                  <tr
                    key={id}
                    data-instance-id={id}
                    class={isSelected ? 'selected' : undefined}
                    onClick={(e) => {
                      // A click on the row (not on its link or checkbox) selects that row alone.
                      if ((e.target as HTMLElement).closest('a, input, button')) return;
                      setSelectedIds(new Set([id]));
                    }}
                  >
                    <td class="col-check">
                      <input
                        type="checkbox"
                        aria-label={`Select ${id}`}
                        checked={isSelected}
                        onChange={(e) => toggle(id, e.currentTarget.checked)}
                      />
                    </td>
                    <td>{nameOf(i) || <span class="muted">–</span>}</td>
                    <td class="nowrap">
                      <a href={href({ page: 'instance', id })} class="mono">
                        {id}
                      </a>
                    </td>
                    <td data-col="state">
                      <StateBadge state={i.State?.Name} />
                    </td>
                    <td class="mono">{i.InstanceType}</td>
                    <td data-col="nested">
                      <NestedBadge instance={i} />
                    </td>
                    <td class="mono" data-col="public-ip">
                      {i.PublicIpAddress || <span class="muted">–</span>}
                    </td>
                    <td class="mono" data-col="private-ip">
                      {i.PrivateIpAddress || <span class="muted">–</span>}
                    </td>
                    <td class="mono">{i.ImageId}</td>
                    <td class="nowrap">{when(i.LaunchTime)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {!list.loading && shown.length === 0 && (
            <div class="empty">
              {all.length === 0 ? (
                <>
                  <p>
                    No instances in <strong>{api.region}</strong>.
                  </p>
                  <a class="button button-primary" href={href({ page: 'launch' })}>
                    Launch instance
                  </a>
                </>
              ) : (
                <p>No instance matches “{query}”.</p>
              )}
            </div>
          )}
          {list.loading && all.length === 0 && <p class="empty muted">Loading instances…</p>}
        </div>
      </div>
    </section>
  );
}
