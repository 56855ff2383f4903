/**
 * Instance type: the catalog (DescribeInstanceTypes) for the image's architecture, searchable, with a
 * "supports nested virtualization" filter and vCPU / memory columns. A radio group, so ↑ ↓ move the
 * choice from one row to the next.
 */
import type { InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { useEffect, useRef, useState } from 'preact/hooks';
import { SupportBadge } from '../../components/Badges.js';
import { supportsNestedVirtualization } from '../../capabilities.js';
import { gib, matches } from '../../format.js';

export function TypePicker(props: { types: readonly InstanceTypeInfo[]; value: string; onChange: (type: string) => void }) {
  const [query, setQuery] = useState('');
  const [onlyNested, setOnlyNested] = useState(false);
  const shown = props.types.filter(
    (t) => (!onlyNested || supportsNestedVirtualization(t)) && matches(query, [t.InstanceType]),
  );
  const selected = props.types.find((t) => t.InstanceType === props.value);
  const list = useRef<HTMLDivElement>(null);

  // Bring the chosen type into view when the picker opens — by scrolling the list's own box only:
  // scrollIntoView would scroll the page too, and the page would open scrolled down.
  const shownOnce = useRef(false);
  useEffect(() => {
    const box = list.current;
    const row = box?.querySelector<HTMLElement>('tr.selected');
    if (!box || !row || shownOnce.current) return;
    shownOnce.current = true;
    const offset = row.getBoundingClientRect().top - box.getBoundingClientRect().top;
    if (offset < 0 || offset + row.offsetHeight > box.clientHeight) box.scrollTop += offset - box.clientHeight / 2;
  }, [props.types]);

  return (
    <div class="type-picker">
      <p class="selected-type" aria-live="polite">
        {selected ? (
          <>
            <strong class="mono">{selected.InstanceType}</strong> · {selected.VCpuInfo?.DefaultVCpus} vCPU ·{' '}
            {gib(selected.MemoryInfo?.SizeInMiB)} GiB memory ·{' '}
            {supportsNestedVirtualization(selected) ? 'supports nested virtualization' : 'no nested virtualization'}
          </>
        ) : (
          <span class="field-error">Choose an instance type.</span>
        )}
      </p>
      <div class="card-toolbar">
        <input
          type="search"
          class="filter"
          aria-label="Find instance type"
          placeholder="Find instance type, e.g. c8i or 4xlarge"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        <label class="checkbox">
          <input type="checkbox" checked={onlyNested} onChange={(e) => setOnlyNested(e.currentTarget.checked)} />
          Supports nested virtualization
        </label>
      </div>
      <div class="table-wrap type-list" ref={list}>
        <table class="table table-compact">
          <caption class="visually-hidden">Instance types</caption>
          <thead>
            <tr>
              <th class="col-check">
                <span class="visually-hidden">Choose</span>
              </th>
              <th>Instance type</th>
              <th class="num">vCPUs</th>
              <th class="num">Memory (GiB)</th>
              <th>Nested virtualization</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((t) => {
              const type = t.InstanceType ?? '';
              const checked = type === props.value;
              return (
                <tr key={type} class={checked ? 'selected' : undefined} onClick={() => props.onChange(type)}>
                  <td class="col-check">
                    <input
                      type="radio"
                      name="instance-type"
                      value={type}
                      aria-label={type}
                      checked={checked}
                      onChange={() => props.onChange(type)}
                    />
                  </td>
                  <td class="mono">{type}</td>
                  <td class="num">{t.VCpuInfo?.DefaultVCpus}</td>
                  <td class="num">{gib(t.MemoryInfo?.SizeInMiB)}</td>
                  <td>
                    <SupportBadge supported={supportsNestedVirtualization(t)} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {shown.length === 0 && <p class="empty muted">No instance type matches.</p>}
      </div>
      <p class="muted small">
        {shown.length} of {props.types.length} types for this image's architecture.
      </p>
    </div>
  );
}
