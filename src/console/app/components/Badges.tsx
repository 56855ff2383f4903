import type { Instance } from '@aws-sdk/client-ec2';
import { nestedVirtualizationOf } from '../capabilities.js';

const STATE_TONE: Record<string, string> = {
  pending: 'progress',
  running: 'ok',
  stopping: 'progress',
  stopped: 'off',
  'shutting-down': 'progress',
  terminated: 'gone',
  // volumes
  creating: 'progress',
  available: 'ok',
  'in-use': 'ok',
  deleting: 'progress',
  deleted: 'gone',
  error: 'gone',
};

/** An instance's or a volume's state. */
export function StateBadge(props: { state: string | undefined }) {
  const state = props.state ?? 'unknown';
  return (
    <span class={`state state-${STATE_TONE[state] ?? 'off'}`} data-state={state}>
      <span class="state-dot" aria-hidden="true" />
      {state}
    </span>
  );
}

/** enabled / disabled / — (never set: EC2 shows no NestedVirtualization key). */
export function NestedBadge(props: { instance: Instance }) {
  const value = nestedVirtualizationOf(props.instance);
  if (!value) {
    return (
      <span class="nested nested-unset" data-nested="unset" title="Never set for this instance">
        —
      </span>
    );
  }
  return (
    <span class={`nested nested-${value}`} data-nested={value}>
      {value}
    </span>
  );
}

export function SupportBadge(props: { supported: boolean; label?: string }) {
  return props.supported ? (
    <span class="pill pill-yes">{props.label ?? 'Supported'}</span>
  ) : (
    <span class="pill pill-no">Not supported</span>
  );
}
