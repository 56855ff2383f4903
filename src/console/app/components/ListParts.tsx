/**
 * The pieces every list page has: the selection's checkboxes (the header's "select all", over the rows
 * the filter shows, and each row's), the status line (selected, which rows of how many), and what is
 * said when no row is shown.
 */
import type { ComponentChildren } from 'preact';
import { count } from '../format.js';
import type { PageView } from '../list/model.js';

export function SelectAllCell(props: { label: string; state: 'checked' | 'mixed' | 'unchecked'; disabled: boolean; onSelectAll: (on: boolean) => void }) {
  return (
    <th class="col-check">
      <input
        type="checkbox"
        aria-label={props.label}
        checked={props.state === 'checked'}
        indeterminate={props.state === 'mixed'}
        disabled={props.disabled}
        onChange={() => props.onSelectAll(props.state === 'unchecked')}
      />
    </th>
  );
}

export function SelectCell(props: { id: string; checked: boolean; onToggle: (id: string, on: boolean) => void }) {
  return (
    <td class="col-check">
      <input type="checkbox" aria-label={`Select ${props.id}`} checked={props.checked} onChange={(e) => props.onToggle(props.id, e.currentTarget.checked)} />
    </td>
  );
}

/** "2 selected · 1–50 of 120", or what is being loaded; " · refreshing" while the list is read again. */
export function ListStatus(props: {
  testId: string;
  selected: number;
  view: PageView<unknown>;
  /** rows shown (the filter lets through) */
  total: number;
  /** said instead of the range until the first read is done */
  loading?: string | undefined;
  refreshing: boolean;
}) {
  const { view } = props;
  return (
    <span class="muted small" role="status" data-testid={props.testId}>
      {props.selected > 0 ? `${count(props.selected)} selected · ` : ''}
      {props.loading ?? `${count(view.from)}–${count(view.to)} of ${count(props.total)}`}
      {props.refreshing && props.loading === undefined ? ' · refreshing' : ''}
    </span>
  );
}

/** Under a list that shows no row: that there is none (and what to do), or that the filters let none through. */
export function NoRows(props: { filtered: boolean; noMatch: string; onClear: () => void; children: ComponentChildren }) {
  return (
    <div class="empty">
      {props.filtered ? (
        <>
          <p>{props.noMatch}</p>
          <button type="button" class="button" onClick={props.onClear}>
            Clear filters
          </button>
        </>
      ) : (
        props.children
      )}
    </div>
  );
}
