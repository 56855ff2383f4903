/**
 * Actions → Instance settings → Change termination protection: the instance's DisableApiTermination
 * (DescribeInstanceAttribute), changed with ModifyInstanceAttribute. While it is on, TerminateInstances
 * refuses the instance.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { useEffect, useState } from 'preact/hooks';
import type { ApiError } from '../../api.js';
import { ApiErrorAlert } from '../../components/Alert.js';
import { Modal } from '../../components/Modal.js';
import { useNotify } from '../../components/Notifications.js';
import { useApi } from '../../context.js';
import { asApiError, useResource } from '../../hooks.js';

export function TerminationProtection(props: { instance: Instance; onClose: () => void; onChanged: () => void }) {
  const api = useApi();
  const notify = useNotify();
  const id = props.instance.InstanceId ?? '';
  const current = useResource(() => api.terminationProtection(id), [api, id]);
  const [on, setOn] = useState<boolean>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  useEffect(() => {
    if (current.data !== undefined && on === undefined) setOn(current.data);
  }, [current.data]);

  const changed = on !== undefined && on !== current.data;
  const save = async () => {
    if (!changed || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.setTerminationProtection(id, on);
      notify.success(`Termination protection of ${id} is ${on ? 'on' : 'off'}.`);
      props.onChanged();
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Change termination protection"
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
      <p>
        With termination protection on, <code>{id}</code> cannot be terminated through the API or this console until it is
        turned off again.
      </p>
      {current.error && <ApiErrorAlert title="Could not read the termination protection" error={current.error} />}
      <label class="checkbox">
        <input type="checkbox" checked={on === true} disabled={on === undefined} onChange={(e) => setOn(e.currentTarget.checked)} />
        Enable termination protection
      </label>
      {error && <ApiErrorAlert title="ModifyInstanceAttribute failed" error={error} />}
    </Modal>
  );
}
