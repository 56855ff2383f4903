/**
 * Which actions the selected instances allow, and why not when they do not — the reasons the Actions
 * menu shows beside its greyed-out items. Instance state changes follow the server's own lifecycle
 * table (src/domain/lifecycle.ts), so the console offers exactly what the API would accept; the API
 * still decides, and whatever it refuses is shown as it answered.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { type StateName, type UserAction, transition } from '../../../domain/lifecycle.js';
import { count } from '../format.js';
import { nestedOf } from './model.js';

export type StateAction = 'start' | 'stop' | 'force-stop' | 'hibernate' | 'reboot' | 'terminate';
export type SettingsAction = 'cpu-options' | 'instance-type' | 'user-data' | 'tags' | 'termination-protection';
export type InstanceAction = 'connect' | 'details' | StateAction | SettingsAction;

const stateOf = (i: Instance): StateName => (i.State?.Name ?? 'pending') as StateName;
const idOf = (i: Instance): string => i.InstanceId ?? '';

const ALLOWED_FROM: Record<StateAction, string> = {
  start: 'Only stopped instances can be started',
  stop: 'Only running instances can be stopped',
  'force-stop': 'Only running or stopping instances can be force-stopped',
  hibernate: 'Only running instances can be hibernated',
  reboot: 'Only running instances can be rebooted',
  terminate: 'Terminated (or terminating) instances cannot be terminated again',
};

/** Whether one instance in `state` may take the action: allowed by the lifecycle table, and changing something. */
function stateAllows(action: StateAction, i: Instance): boolean {
  const state = stateOf(i);
  switch (action) {
    case 'reboot':
      return transition(state, 'reboot') !== undefined;
    case 'stop':
      // A pending instance may be stopped only if it ran before (a restart): the console cannot tell, so it waits for running.
      return state === 'running';
    case 'force-stop':
      // Force also cuts a slow shutdown short.
      return state === 'running' || state === 'stopping';
    case 'hibernate':
      return state === 'running';
    default:
      return transition(state, action as UserAction)?.changed === true;
  }
}

/** "i-0abc is running" for one instance; "3 of the 5 selected instances are running or pending" for several. */
function offenders(selected: readonly Instance[], bad: readonly Instance[]): string {
  if (selected.length === 1) return `${idOf(bad[0] as Instance)} is ${stateOf(bad[0] as Instance)}`;
  const states = [...new Set(bad.map(stateOf))];
  return `${count(bad.length)} of the ${count(selected.length)} selected instances ${bad.length === 1 ? 'is' : 'are'} ${states.join(' or ')}`;
}

export const NOTHING_SELECTED = 'Select one or more instances.';

/** Why the action is not available for the selection, or undefined when it is. */
export function unavailableReason(action: InstanceAction, selected: readonly Instance[]): string | undefined {
  if (selected.length === 0) return NOTHING_SELECTED;
  switch (action) {
    case 'connect':
    case 'details':
      return selected.length === 1 ? undefined : 'Select a single instance.';
    case 'start':
    case 'stop':
    case 'force-stop':
    case 'reboot':
    case 'terminate':
    case 'hibernate': {
      const bad = selected.filter((i) => !stateAllows(action, i));
      if (bad.length > 0) return `${ALLOWED_FROM[action]}: ${offenders(selected, bad)}.`;
      if (action !== 'hibernate') return undefined;
      const notConfigured = selected.filter((i) => i.HibernationOptions?.Configured !== true);
      if (notConfigured.length > 0) {
        return selected.length === 1
          ? `${idOf(selected[0] as Instance)} was not launched with hibernation enabled.`
          : `${count(notConfigured.length)} of the selected instances were not launched with hibernation enabled.`;
      }
      const nested = selected.filter((i) => nestedOf(i) === 'enabled');
      if (nested.length > 0) return 'Hibernation is not supported on instances with nested virtualization enabled.';
      return undefined;
    }
    case 'cpu-options':
    case 'instance-type':
    case 'user-data':
      return settingWhileStopped(action, selected);
    case 'tags':
    case 'termination-protection': {
      if (selected.length !== 1) return 'Select a single instance.';
      const i = selected[0] as Instance;
      const state = stateOf(i);
      if (action === 'tags' ? state === 'terminated' : state === 'terminated' || state === 'shutting-down') {
        return `${idOf(i)} is ${state}: it can no longer be changed.`;
      }
      return undefined;
    }
  }
}

const SETTING: Record<'cpu-options' | 'instance-type' | 'user-data', string> = {
  'cpu-options': 'Its CPU options',
  'instance-type': 'Its instance type',
  'user-data': 'Its user data',
};

/** CPU options, the instance type and user data change only while the instance is stopped. */
function settingWhileStopped(action: 'cpu-options' | 'instance-type' | 'user-data', selected: readonly Instance[]): string | undefined {
  if (selected.length !== 1) return 'Select a single instance.';
  const i = selected[0] as Instance;
  const state = stateOf(i);
  if (state === 'stopped') return undefined;
  if (state === 'terminated' || state === 'shutting-down') return `${idOf(i)} is ${state}: ${SETTING[action].toLowerCase()} can no longer be changed.`;
  return `${SETTING[action]} can be changed only while the instance is stopped; ${idOf(i)} is ${state}. Stop it first.`;
}
