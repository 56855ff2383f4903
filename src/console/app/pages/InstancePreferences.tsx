/** Preferences of the list of instances: its page size and its columns (kept in this browser). */
import { useState } from 'preact/hooks';
import { Modal } from '../components/Modal.js';
import { COLUMNS, type ColumnId, PAGE_SIZES, type PageSize, toggled } from '../list/model.js';

export interface ListPreferences {
  readonly columns: readonly ColumnId[];
  readonly pageSize: PageSize;
}

export function InstancePreferences(props: { value: ListPreferences; onClose: () => void; onSave: (p: ListPreferences) => void }) {
  const [columns, setColumns] = useState<ReadonlySet<ColumnId>>(new Set(props.value.columns));
  const [pageSize, setPageSize] = useState<PageSize>(props.value.pageSize);
  const toggle = (id: ColumnId, on: boolean) => setColumns((c) => toggled(c, id, on));
  return (
    <Modal
      title="Preferences"
      onClose={props.onClose}
      onSubmit={() => props.onSave({ columns: COLUMNS.map((c) => c.id).filter((id) => columns.has(id)), pageSize })}
      footer={
        <>
          <button type="button" class="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={columns.size === 0}>
            Confirm
          </button>
        </>
      }
    >
      <div class="preferences">
        <fieldset class="field">
          <legend>Page size</legend>
          {PAGE_SIZES.map((n) => (
            <label class="radio" key={n}>
              <input type="radio" name="page-size" value={n} checked={pageSize === n} onChange={() => setPageSize(n)} />
              {n} instances
            </label>
          ))}
        </fieldset>
        <fieldset class="field">
          <legend>Columns</legend>
          {COLUMNS.map((c) => (
            <label class="checkbox" key={c.id}>
              <input type="checkbox" checked={columns.has(c.id)} onChange={(e) => toggle(c.id, e.currentTarget.checked)} />
              {c.label}
            </label>
          ))}
        </fieldset>
      </div>
    </Modal>
  );
}
