/**
 * Actions → Instance settings → Edit user data, for a stopped instance: the current user data
 * (DescribeInstanceAttribute userData, decoded) in a text box, saved with ModifyInstanceAttribute.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { useEffect, useState } from 'preact/hooks';
import type { ApiError } from '../../api.js';
import { ApiErrorAlert } from '../../components/Alert.js';
import { Modal } from '../../components/Modal.js';
import { useNotify } from '../../components/Notifications.js';
import { useApi } from '../../context.js';
import { asApiError, useResource } from '../../hooks.js';

export function EditUserData(props: { instance: Instance; onClose: () => void; onChanged: () => void }) {
  const api = useApi();
  const notify = useNotify();
  const id = props.instance.InstanceId ?? '';
  const current = useResource(() => api.userData(id), [api, id]);
  const [text, setText] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  useEffect(() => {
    if (current.data !== undefined && text === undefined) setText(current.data);
  }, [current.data]);

  const changed = text !== undefined && text !== current.data;
  const save = async () => {
    if (!changed || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.modifyUserData(id, text);
      notify.success(`User data of ${id} saved (${new TextEncoder().encode(text).length} bytes). It runs at the next boot.`);
      props.onChanged();
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Edit user data"
      wide
      onClose={props.onClose}
      onSubmit={save}
      footer={
        <>
          <button type="button" class="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={!changed || busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </>
      }
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
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <p class="hint">As text; it is base64-encoded for the API. A script starting with #! runs as root at boot.</p>
      </div>
      {error && <ApiErrorAlert title="ModifyInstanceAttribute failed" error={error} />}
    </Modal>
  );
}
