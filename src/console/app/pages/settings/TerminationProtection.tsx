/**
 * Actions → Instance settings → Change termination protection: the instance's DisableApiTermination
 * (DescribeInstanceAttribute), changed with ModifyInstanceAttribute. While it is on, TerminateInstances
 * refuses the instance.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { ApiErrorAlert } from '../../components/Alert.js';
import { FormDialog } from '../../components/FormDialog.js';
import { useApi } from '../../context.js';
import { useSettingForm } from './useSettingForm.js';

export function TerminationProtection(props: { instance: Instance; onClose: () => void; onChanged: () => void }) {
  const api = useApi();
  const id = props.instance.InstanceId ?? '';
  const form = useSettingForm(() => api.terminationProtection(id), [api, id], props.onChanged);
  const { current, draft: on } = form;

  return (
    <FormDialog
      title="Change termination protection"
      onClose={props.onClose}
      onSubmit={() =>
        form.saveDraft(
          (value) => api.setTerminationProtection(id, value),
          (value) => `Termination protection of ${id} is ${value ? 'on' : 'off'}.`,
        )
      }
      ready={form.changed}
      state={form}
      errorTitle="ModifyInstanceAttribute failed"
    >
      <p>
        With termination protection on, <code>{id}</code> cannot be terminated through the API or this console until it is
        turned off again.
      </p>
      {current.error && <ApiErrorAlert title="Could not read the termination protection" error={current.error} />}
      <label class="checkbox">
        <input type="checkbox" checked={on === true} disabled={on === undefined} onChange={(e) => form.setDraft(e.currentTarget.checked)} />
        Enable termination protection
      </label>
    </FormDialog>
  );
}
