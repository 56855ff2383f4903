/**
 * "Nested virtualization: Enable / Disable", as in the launch wizard's Advanced details and in
 * Change CPU options. Enable is disabled, with the API's reason, when this type, platform and
 * hibernation setting cannot have it; a Windows choice says what enabling it turns off.
 */
import { useId } from 'preact/hooks';
import type { Platform, Toggle } from '../capabilities.js';

export const WINDOWS_VSM_NOTE =
  'Windows: with nested virtualization enabled, Virtual Secure Mode (VSM) is turned off, so Credential Guard will be unavailable.';

export function NestedVirtualizationField(props: {
  value: Toggle | '';
  onChange: (value: Toggle | '') => void;
  /** why Enable is not possible here (the API's message), if it is not */
  blocker: string | undefined;
  /** set while the facts that decide it are still being read: Enable waits, and this says why */
  checking?: string | undefined;
  platform: Platform;
  /** offers "not set" under this label (the instance has no setting, or the launch sends none) */
  unsetLabel: string | undefined;
}) {
  const id = useId();
  const { value, blocker, checking } = props;
  const describedBy = [`${id}-hint`, blocker || checking ? `${id}-blocker` : '', props.platform === 'windows' ? `${id}-windows` : '']
    .filter((x) => x !== '')
    .join(' ');
  return (
    <div class="field">
      <label for={`${id}-select`}>Nested virtualization</label>
      <select
        id={`${id}-select`}
        name="nested-virtualization"
        value={value}
        aria-describedby={describedBy}
        aria-invalid={blocker !== undefined && value === 'enabled'}
        onChange={(e) => props.onChange(e.currentTarget.value as Toggle | '')}
      >
        {props.unsetLabel !== undefined && <option value="">{props.unsetLabel}</option>}
        <option value="enabled" disabled={(blocker !== undefined || checking !== undefined) && value !== 'enabled'}>
          Enable
        </option>
        <option value="disabled">Disable</option>
      </select>
      <p class="hint" id={`${id}-hint`}>
        Exposes the processor's virtualization extensions (Intel VT-x, AMD SVM) so the instance can run its own
        hypervisor — KVM or Hyper-V — and virtual machines inside it.
      </p>
      {checking && !blocker && (
        <p class="field-note" id={`${id}-blocker`} data-testid="nested-checking">
          {checking}
        </p>
      )}
      {blocker && (
        <p class={value === 'enabled' ? 'field-error' : 'field-note'} id={`${id}-blocker`} data-testid="nested-blocker">
          {value === 'enabled' ? "Can't be combined: " : 'Enable is not available: '}
          {blocker}
        </p>
      )}
      {props.platform === 'windows' && (
        <p class={value === 'enabled' ? 'field-warning' : 'field-note'} id={`${id}-windows`}>
          {WINDOWS_VSM_NOTE}
        </p>
      )}
    </div>
  );
}
