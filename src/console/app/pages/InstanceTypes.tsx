/** Instance types: the server's catalog with a nested-virtualization filter and each type's facts. */
import type { InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
import { SupportBadge } from '../components/Badges.js';
import { architectureOf, supportsNestedVirtualization } from '../capabilities.js';
import { useApi, useTitle } from '../context.js';
import { familyAndSize, gib, matches } from '../format.js';
import { useResource } from '../hooks.js';
import { href } from '../router.js';

type NestedFilter = 'all' | 'supported' | 'unsupported';

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

  const all = types.data ?? [];
  const shown = all.filter((t) => {
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
          <table class="table" aria-labelledby="types-title">
            <thead>
              <tr>
                <th>Instance type</th>
                <th>Family</th>
                <th>Size</th>
                <th class="num">vCPUs</th>
                <th class="num">Cores × threads</th>
                <th class="num">Memory (GiB)</th>
                <th>Architecture</th>
                <th>Nested virtualization</th>
                <th>Hibernation</th>
                <th>Bare metal</th>
                <th>
                  <span class="visually-hidden">Launch</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((t) => {
                const [family, size] = familyAndSize(t);
                const cpu = t.VCpuInfo ?? {};
                return (
                  <tr key={t.InstanceType} data-type={t.InstanceType}>
                    <td class="mono">{t.InstanceType}</td>
                    <td class="nowrap">{family}</td>
                    <td>{size}</td>
                    <td class="num">{cpu.DefaultVCpus}</td>
                    <td class="num">
                      {cpu.DefaultCores} × {cpu.DefaultThreadsPerCore}
                    </td>
                    <td class="num">{gib(t.MemoryInfo?.SizeInMiB)}</td>
                    <td>{architectureOf(t)}</td>
                    <td data-col="nested">
                      <SupportBadge supported={supportsNestedVirtualization(t)} />
                    </td>
                    <td>{t.HibernationSupported ? 'Yes' : 'No'}</td>
                    <td>{t.BareMetal ? 'Yes' : 'No'}</td>
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
