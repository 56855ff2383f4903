/**
 * Actions → Instance settings → Manage tags: the instance's tags as rows to edit, add and remove. Save
 * sends what changed: CreateTags for new and changed values, DeleteTags for removed keys.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import type { ApiError, TagInput } from '../../api.js';
import { ApiErrorAlert } from '../../components/Alert.js';
import { Modal } from '../../components/Modal.js';
import { useNotify } from '../../components/Notifications.js';
import { useApi } from '../../context.js';
import { asApiError } from '../../hooks.js';
import { TagsField } from '../launch/TagsField.js';
import { tagChanges } from '../../tags.js';

export function ManageTags(props: { instance: Instance; onClose: () => void; onChanged: () => void }) {
  const api = useApi();
  const notify = useNotify();
  const id = props.instance.InstanceId ?? '';
  // The console's own tags (nestbox:…) are shown like any other: EC2 lets you change them too.
  const before: TagInput[] = (props.instance.Tags ?? []).map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
  const [tags, setTags] = useState<readonly TagInput[]>(before);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const { put, remove } = tagChanges(before, tags);
  const duplicate = tags.map((t) => t.key.trim()).find((k, i, all) => k !== '' && all.indexOf(k) !== i);
  const unchanged = put.length === 0 && remove.length === 0;

  const save = async () => {
    if (unchanged || busy || duplicate) return;
    setBusy(true);
    setError(undefined);
    try {
      if (remove.length > 0) await api.deleteTags([id], remove);
      if (put.length > 0) await api.createTags([id], put);
      notify.success(`Tags of ${id} saved: ${put.length} added or changed, ${remove.length} removed.`);
      props.onChanged();
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Manage tags"
      wide
      onClose={props.onClose}
      onSubmit={save}
      footer={
        <>
          <button type="button" class="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={unchanged || busy || duplicate !== undefined}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </>
      }
    >
      <p class="muted">
        Tags of <code>{id}</code>. The Name tag is the name the console shows.
      </p>
      <TagsField tags={tags} onChange={setTags} legend="Tags" hint="No tags: add one." />
      {duplicate && (
        <p class="field-error" role="alert">
          The key “{duplicate}” is used twice: each key can have one value.
        </p>
      )}
      {error && <ApiErrorAlert title="Saving the tags failed" error={error} />}
    </Modal>
  );
}
