/**
 * Instance types: the server's catalog with a nested-virtualization filter and each type's facts, in a
 * table that sorts by any column and fits a 1440 px window.
 */
import type { InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { useMemo, useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
import { SupportBadge } from '../components/Badges.js';
import { SortableHeader } from '../components/SortableHeader.js';
import { architectureOf, supportsNestedVirtualization } from '../capabilities.js';
import { useApi, useTitle } from '../context.js';
import { familyAndSize, gib, matches } from '../format.js';
import { useResource } from '../hooks.js';
import { type Sort, naturalKey, nextSort, sortByKey } from '../list/model.js';
import { href } from '../router.js';

type NestedFilter = 'all' | 'supported' | 'unsupported';

const yesNo = (b: boolean | undefined) => (b ? 'Yes' : 'No');

interface TypeColumn {
  readonly id: string;
  readonly label: string;
  readonly numeric?: boolean;
  readonly key: (t: InstanceTypeInfo) => string | number;
}

const TYPE_COLUMNS: readonly TypeColumn[] = [
  { id: 'type', label: 'Instance type', key: (t) => naturalKey(t.InstanceType ?? '') },
  { id: 'family', label: 'Family', key: (t) => naturalKey(familyAndSize(t)[0]) },
  { id: 'vcpus', label: 'vCPUs', numeric: true, key: (t) => t.VCpuInfo?.DefaultVCpus ?? '' },
  { id: 'cores', label: 'Cores × threads', numeric: true, key: (t) => t.VCpuInfo?.DefaultCores ?? '' },
  { id: 'memory', label: 'Memory (GiB)', numeric: true, key: (t) => t.MemoryInfo?.SizeInMiB ?? '' },
  { id: 'arch', label: 'Architecture', key: architectureOf },
  { id: 'nested', label: 'Nested virtualization', key: (t) => (supportsNestedVirtualization(t) ? 0 : 1) },
  { id: 'hibernation', label: 'Hibernation', key: (t) => yesNo(t.HibernationSupported) },
  { id: 'metal', label: 'Bare metal', key: (t) => yesNo(t.BareMetal) },
];

function nestedFamilies(types: readonly InstanceTypeInfo[]): string[] {
  return [...new Set(types.filter(supportsNestedVirtualization).map((t) => familyAndSize(t)[0]))].sort();
}

export function InstanceTypes() {
  useTitle('Instance types');
  const api = useApi();
  const types = useResource(() => api.instanceTypes(), [api]);
  const [query, setQuery] = useState('');
  const [nested, setNested] = useState<NestedFilter>('all');
  const [arch, setArch] = useState('all');
  const [sort, setSort] = useState<Sort<string>>({ column: 'type', direction: 'ascending' });

  const all = types.data ?? [];
  const sorted = useMemo(() => {
    const column = TYPE_COLUMNS.find((c) => c.id === sort.column) ?? (TYPE_COLUMNS[0] as TypeColumn);
    return sortByKey(all, column.key, sort.direction);
  }, [all, sort]);
  const shown = sorted.filter((t) => {
    const supported = supportsNestedVirtualization(t);
    if (nested === 'supported' && !supported) return false;
    if (nested === 'unsupported' && supported) return false;
    if (arch !== 'all' && architectureOf(t) !== arch) return false;
    return matches(query, [t.InstanceType]);
  });
  const families = nestedFamilies(all);
  const supportedCount = all.filter(supportsNestedVirtualization).length;

  return (
    <section class="page" aria-labelledby="types-title">
      <div class="page-header">
        <h1 id="types-title">
          Instance types <span class="count">({all.length})</span>
        </h1>
      </div>
      {types.error && <ApiErrorAlert title="Could not describe instance types" error={types.error} />}
      {all.length > 0 && (
        <div class="callout">
          <strong>{supportedCount}</strong> of {all.length} types support nested virtualization (
          <code>ProcessorInfo.SupportedFeatures</code> has <code>nested-virtualization</code>): the{' '}
          {families.map((f, i) => (
            <span key={f}>
              {i > 0 && (i === families.length - 1 ? ' and ' : ', ')}
              <strong>{f}</strong>
            </span>
          ))}{' '}
          families.
        </div>
      )}
      <div class="card">
        <div class="card-toolbar">
          <input
            type="search"
            class="filter"
            aria-label="Find instance type"
            placeholder="Find instance type, e.g. m8i or 4xlarge"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
          <label class="inline-field">
            Nested virtualization
            <select value={nested} onChange={(e) => setNested(e.currentTarget.value as NestedFilter)}>
              <option value="all">All types</option>
              <option value="supported">Supported</option>
              <option value="unsupported">Not supported</option>
            </select>
          </label>
          <label class="inline-field">
            Architecture
            <select value={arch} onChange={(e) => setArch(e.currentTarget.value)}>
              <option value="all">All</option>
              <option value="x86_64">x86_64</option>
              <option value="arm64">arm64</option>
            </select>
          </label>
          <span class="muted small" aria-live="polite">
            {shown.length} shown
          </span>
        </div>
        <div class="table-wrap">
          <table class="table table-compact" aria-labelledby="types-title" data-testid="types-table">
            <thead>
              <tr>
                {TYPE_COLUMNS.map((c) => (
                  <SortableHeader
                    key={c.id}
                    label={c.label}
                    numeric={c.numeric}
                    wrap={c.label.length > 12}
                    sorted={sort.column === c.id ? sort.direction : undefined}
                    onSort={() => setSort(nextSort(sort, c.id))}
                  />
                ))}
                <th>
                  <span class="visually-hidden">Launch</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((t) => {
                const [family] = familyAndSize(t);
                const cpu = t.VCpuInfo ?? {};
                return (
                  <tr key={t.InstanceType} data-type={t.InstanceType}>
                    <td class="mono">{t.InstanceType}</td>
                    <td class="nowrap">{family}</td>
                    <td class="num">{cpu.DefaultVCpus}</td>
                    <td class="num">
                      {cpu.DefaultCores} × {cpu.DefaultThreadsPerCore}
                    </td>
                    <td class="num">{gib(t.MemoryInfo?.SizeInMiB)}</td>
                    <td>{architectureOf(t)}</td>
                    <td data-col="nested">
                      <SupportBadge supported={supportsNestedVirtualization(t)} />
                    </td>
                    <td>{yesNo(t.HibernationSupported)}</td>
                    <td>{yesNo(t.BareMetal)}</td>
                    <td>
                      <a href={href({ page: 'launch', instanceType: t.InstanceType ?? '' })} aria-label={`Launch ${t.InstanceType}`}>
                        Launch
                      </a>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {types.loading && all.length === 0 && <p class="empty muted">Loading instance types…</p>}
        </div>
      </div>
    </section>
  );
}
