/**
 * Actions → Instance settings → Change instance type, for a stopped instance: ModifyInstanceAttribute
 * (InstanceType). What the change would do is told before it is made, by the server's own rule: a type of
 * another architecture is refused, and the CPU options go to the new type's defaults, which turns nested
 * virtualization off.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import { ApiErrorAlert } from '../../components/Alert.js';
import { FormDialog } from '../../components/FormDialog.js';
import { architectureOf, instanceTypeChange } from '../../capabilities.js';
import { useApi } from '../../context.js';
import { useResource } from '../../hooks.js';
import { TypePicker } from '../launch/TypePicker.js';
import { useSettingSave } from './useSettingForm.js';

export function ChangeInstanceType(props: { instance: Instance; onClose: () => void; onChanged: () => void }) {
  const api = useApi();
  const { instance } = props;
  const id = instance.InstanceId ?? '';
  const current = instance.InstanceType ?? '';
  const types = useResource(() => api.instanceTypes(), [api]);
  const [type, setType] = useState(current);
  const form = useSettingSave(props.onChanged);

  const arch = instance.Architecture ?? 'x86_64';
  const candidates = (types.data ?? []).filter((t) => architectureOf(t) === arch);
  const info = candidates.find((t) => t.InstanceType === type);
  const outcome = info && type !== current ? instanceTypeChange(instance, info) : undefined;

  return (
    <FormDialog
      title="Change instance type"
      wide
      onClose={props.onClose}
      onSubmit={() => form.save(() => api.modifyInstanceType(id, type), `Instance type of ${id} changed: ${current} → ${type}.`)}
      ready={outcome !== undefined && outcome.refused === undefined}
      state={form}
      errorTitle="ModifyInstanceAttribute failed"
      submitLabel="Apply"
      busyLabel="Applying…"
    >
      <p class="muted">
        <code>{id}</code> · current type <strong class="mono">{current}</strong> · {arch}. The new type takes effect at the
        next start.
      </p>
      {types.error && <ApiErrorAlert title="Could not read the instance types" error={types.error} />}
      {types.data ? <TypePicker types={candidates} value={type} onChange={setType} /> : <p class="muted">Loading instance types…</p>}
      {outcome?.refused && (
        <p class="field-error" role="alert">
          {outcome.refused}
        </p>
      )}
      {outcome?.nestedTurnedOff && (
        <p class="field-warning" data-testid="type-change-nested">
          Nested virtualization is enabled on this instance. Changing the instance type resets the CPU options to the new
          type's defaults and turns nested virtualization off; turn it on again with Change CPU options.
        </p>
      )}
    </FormDialog>
  );
}
