/**
 * Delete resources, after confirmation: each one is asked of the API in turn; what it refuses is listed
 * with EC2's code and message, and what went is reported in a notice.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { asApiError } from '../hooks.js';
import { Alert, ApiErrorAlert } from './Alert.js';
import { Modal } from './Modal.js';
import { useNotify } from './Notifications.js';

export function DeleteDialog(props: {
  /** what is deleted, singular and plural: ['volume', 'volumes'] */
  noun: readonly [string, string];
  items: readonly { readonly id: string; readonly label?: string | undefined }[];
  remove: (id: string) => Promise<void>;
  /** what deleting means, above the list */
  intro: string;
  /** EC2's refusals to expect, below the list */
  hint: ComponentChildren;
  onClose: () => void;
  onDeleted: (ids: string[]) => void;
  /** the page the notice of what was deleted goes to (default: this one) */
  noticeOn?: string;
}) {
  const notify = useNotify();
  const [busy, setBusy] = useState(false);
  const [failures, setFailures] = useState<readonly { id: string; error: ApiError }[]>([]);
  const ids = props.items.map((i) => i.id);
  const [singular, plural] = props.noun;

  const run = async () => {
    setBusy(true);
    const deleted: string[] = [];
    const failed: { id: string; error: ApiError }[] = [];
    for (const id of ids) {
      try {
        await props.remove(id);
        deleted.push(id);
      } catch (err) {
        failed.push({ id, error: asApiError(err) });
      }
    }
    setBusy(false);
    if (deleted.length > 0) {
      notify.success(
        <>
          Deleted {deleted.length === 1 ? singular : `${deleted.length} ${plural}`}: <code>{deleted.join(', ')}</code>.
        </>,
        props.noticeOn ? { on: props.noticeOn } : undefined,
      );
      props.onDeleted(deleted);
    }
    if (failed.length === 0) props.onClose();
    else setFailures(failed);
  };

  return (
    <Modal
      title={ids.length === 1 ? `Delete ${singular}?` : `Delete ${ids.length} ${plural}?`}
      onClose={props.onClose}
      onSubmit={() => void (!busy && failures.length === 0 && run())}
      footer={
        <>
          <button type="button" class="button" onClick={props.onClose}>
            {failures.length > 0 ? 'Close' : 'Cancel'}
          </button>
          {failures.length === 0 && (
            <button type="submit" class="button button-danger" disabled={busy}>
              {busy ? 'Deleting…' : 'Delete'}
            </button>
          )}
        </>
      }
    >
      {failures.length === 0 ? (
        <>
          <p>{props.intro}</p>
          <ul class="id-list">
            {props.items.map((i) => (
              <li key={i.id}>
                <code>{i.id}</code> {i.label}
              </li>
            ))}
          </ul>
          <p class="hint">{props.hint}</p>
        </>
      ) : (
        <>
          {failures.length < ids.length && <Alert kind="success">The others were deleted.</Alert>}
          {failures.map((f) => (
            <ApiErrorAlert key={f.id} title={`Could not delete ${f.id}`} error={f.error} />
          ))}
        </>
      )}
    </Modal>
  );
}
