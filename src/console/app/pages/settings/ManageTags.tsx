/**
 * Actions → Instance settings → Manage tags: the instance's tags as rows to edit, add and remove. Save
 * sends what changed: CreateTags for new and changed values, DeleteTags for removed keys.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import type { TagInput } from '../../api.js';
import { FormDialog } from '../../components/FormDialog.js';
import { useApi } from '../../context.js';
import { TagsField } from '../launch/TagsField.js';
import { tagChanges } from '../../tags.js';
import { useSettingSave } from './useSettingForm.js';

export function ManageTags(props: { instance: Instance; onClose: () => void; onChanged: () => void }) {
  const api = useApi();
  const id = props.instance.InstanceId ?? '';
  // The console's own tags (nestbox:…) are shown like any other: EC2 lets you change them too.
  const before: TagInput[] = (props.instance.Tags ?? []).map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
  const [tags, setTags] = useState<readonly TagInput[]>(before);
  const form = useSettingSave(props.onChanged);
  const { put, remove } = tagChanges(before, tags);
  const duplicate = tags.map((t) => t.key.trim()).find((k, i, all) => k !== '' && all.indexOf(k) !== i);
  const unchanged = put.length === 0 && remove.length === 0;

  const apply = async () => {
    if (remove.length > 0) await api.deleteTags([id], remove);
    if (put.length > 0) await api.createTags([id], put);
  };

  return (
    <FormDialog
      title="Manage tags"
      wide
      onClose={props.onClose}
      onSubmit={() => form.save(apply, `Tags of ${id} saved: ${put.length} added or changed, ${remove.length} removed.`)}
      ready={!unchanged && duplicate === undefined}
      state={form}
      errorTitle="Saving the tags failed"
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
    </FormDialog>
  );
}
