/**
 * Actions → Instance settings → Edit user data, for a stopped instance: the current user data
 * (DescribeInstanceAttribute userData, decoded) in a text box, saved with ModifyInstanceAttribute.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { ApiErrorAlert } from '../../components/Alert.js';
import { FormDialog } from '../../components/FormDialog.js';
import { useApi } from '../../context.js';
import { useSettingForm } from './useSettingForm.js';

export function EditUserData(props: { instance: Instance; onClose: () => void; onChanged: () => void }) {
  const api = useApi();
  const id = props.instance.InstanceId ?? '';
  const form = useSettingForm(() => api.userData(id), [api, id], props.onChanged);
  const { current, draft: text } = form;
  const save = () =>
    form.saveDraft(
      (data) => api.modifyUserData(id, data),
      (data) => `User data of ${id} saved (${new TextEncoder().encode(data).length} bytes). It runs at the next boot.`,
    );

  return (
    <FormDialog
      title="Edit user data"
      wide
      onClose={props.onClose}
      onSubmit={save}
      ready={form.changed}
      state={form}
      errorTitle="ModifyInstanceAttribute failed"
    >
      <p class="muted">
        <code>{id}</code> is stopped: the new user data is given to the instance at its next start.
      </p>
      {current.error && <ApiErrorAlert title="Could not read the user data" error={current.error} />}
      <div class="field">
        <label for="user-data-text">User data</label>
        <textarea
          id="user-data-text"
          rows={8}
          class="mono"
          disabled={text === undefined}
          placeholder={text === undefined ? 'Loading…' : '#!/bin/sh'}
          value={text ?? ''}
          onInput={(e) => form.setDraft(e.currentTarget.value)}
        />
        <p class="hint">As text; it is base64-encoded for the API. A script starting with #! runs as root at boot.</p>
      </div>
    </FormDialog>
  );
}
