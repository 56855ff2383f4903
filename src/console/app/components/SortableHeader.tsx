/** A column header that sorts its table: a button, with the order announced through aria-sort. */
import type { SortDirection } from '../list/model.js';

export function SortableHeader(props: {
  label: string;
  /** this column's direction when the table is sorted by it */
  sorted: SortDirection | undefined;
  onSort: () => void;
  /** a long label over short values: two lines rather than a wider table */
  wrap?: boolean;
  numeric?: boolean;
}) {
  const classes = [props.wrap ? 'th-wrap' : '', props.numeric ? 'num' : ''].filter((c) => c !== '').join(' ');
  return (
    <th aria-sort={props.sorted ?? 'none'} class={classes || undefined}>
      <button type="button" class="sort-button" onClick={props.onSort}>
        {props.label}
        <span class={props.sorted ? 'sort-mark sort-active' : 'sort-mark'} aria-hidden="true">
          {props.sorted === 'descending' ? '▼' : '▲'}
        </span>
      </button>
    </th>
  );
}
