/**
 * The instance lifecycle: one transition table for everything that moves an instance — the API's
 * actions and the driver's reports. Nothing else decides which state follows which.
 *
 *   pending(0) → running(16) → stopping(64) → stopped(80) → pending …
 *   any but terminated → shutting-down(32) → terminated(48)
 */
export type StateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const STATE_CODES: Readonly<Record<StateName, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export const STATE_NAMES = Object.keys(STATE_CODES) as readonly StateName[];

/** The states in which an instance has (or is getting, or losing) a VM: it takes its share of a host. */
export const OCCUPYING_STATES: readonly StateName[] = ['pending', 'running', 'stopping', 'shutting-down'];

/** What an API caller asks for. */
export type UserAction = 'start' | 'stop' | 'reboot' | 'terminate';
/** What the driver (L0) reports about the VM. */
export type DriverEvent = 'booted' | 'halted' | 'destroyed' | 'crashed' | 'launch-failed';
/** The guest powered itself off and its InstanceInitiatedShutdownBehavior is `terminate`. */
export type GuestTerminate = 'halted-terminate';
/** The VM host running the instance stopped heartbeating (src/compute/vm-host.ts: declareDeadHosts). */
export type HostFailure = 'host-failed';
export type Trigger = UserAction | DriverEvent | GuestTerminate | HostFailure;

/**
 * For each trigger: the states it is allowed from and the state it leads to. `same` means the call is
 * accepted and changes nothing (EC2 answers StopInstances on a stopped instance with stopped → stopped).
 * A state missing from a row means the trigger is refused there (IncorrectInstanceState for a user
 * action; ignored as stale for a driver event).
 */
const TABLE: Readonly<Record<Trigger, Partial<Record<StateName, StateName | 'same'>>>> = {
  start: { stopped: 'pending', pending: 'same', running: 'same' },
  stop: { pending: 'stopping', running: 'stopping', stopping: 'same', stopped: 'same' },
  reboot: { running: 'same' },
  terminate: {
    pending: 'shutting-down',
    running: 'shutting-down',
    stopping: 'shutting-down',
    stopped: 'shutting-down',
    'shutting-down': 'same',
    terminated: 'same',
  },
  booted: { pending: 'running' },
  halted: { pending: 'stopped', running: 'stopped', stopping: 'stopped' },
  // A stop already under way still ends in stopped; otherwise the VM is destroyed next ('destroyed').
  'halted-terminate': { pending: 'shutting-down', running: 'shutting-down', stopping: 'stopped' },
  crashed: { pending: 'stopped', running: 'stopped', stopping: 'stopped' },
  'launch-failed': { pending: 'terminated' },
  destroyed: { 'shutting-down': 'terminated' },
  // The VM is gone with its host: a stop becomes stopped, a terminate terminated, a running one stopped.
  'host-failed': { pending: 'stopped', running: 'stopped', stopping: 'stopped', 'shutting-down': 'terminated' },
};

export interface Transition {
  readonly from: StateName;
  readonly to: StateName;
  /** false when the trigger is accepted but leaves the state as it is */
  readonly changed: boolean;
}

/** The transition a trigger makes from a state, or undefined when the table does not allow it. */
export function transition(from: StateName, trigger: Trigger): Transition | undefined {
  const to = TABLE[trigger][from];
  if (to === undefined) return undefined;
  return to === 'same' ? { from, to: from, changed: false } : { from, to, changed: true };
}

/**
 * What a guest's own power-off (a halt nobody asked for) does to its instance: its
 * InstanceInitiatedShutdownBehavior decides, and EC2's default is `stop`.
 */
export const guestHaltTrigger = (behavior: 'stop' | 'terminate' | undefined): 'halted' | GuestTerminate =>
  behavior === 'terminate' ? 'halted-terminate' : 'halted';

/** Words for IncorrectInstanceState messages: "… is not in a state from which it can be stopped." */
export const ACTION_PARTICIPLE: Readonly<Record<UserAction, string>> = {
  start: 'started',
  stop: 'stopped',
  reboot: 'rebooted',
  terminate: 'terminated',
};

export interface StateReason {
  readonly code: string;
  readonly message: string;
}

/** The StateReason EC2 reports for each cause, keyed by its code. */
export const STATE_REASONS = {
  pending: { code: 'pending', message: 'pending' },
  userStop: { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' },
  userHibernate: { code: 'Client.UserInitiatedHibernate', message: 'Client.UserInitiatedHibernate: User initiated hibernate' },
  userTerminate: { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' },
  instanceShutdown: {
    code: 'Client.InstanceInitiatedShutdown',
    message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown',
  },
  internalError: { code: 'Server.InternalError', message: 'Server.InternalError: Internal error on launch' },
  crashed: { code: 'Server.InternalError', message: 'Server.InternalError: The instance stopped unexpectedly' },
  hostFailure: {
    code: 'Server.InternalError',
    message: 'Server.InternalError: The instance was stopped because the host it ran on stopped responding',
  },
  insufficientCapacity: {
    code: 'Server.InsufficientInstanceCapacity',
    message: 'Server.InsufficientInstanceCapacity: Insufficient capacity to satisfy the request',
  },
} as const satisfies Record<string, StateReason>;

/** `User initiated (2026-02-16 10:00:00 GMT)`, as EC2 writes StateTransitionReason. */
export function userInitiated(at: Date): string {
  return `User initiated (${at.toISOString().slice(0, 19).replace('T', ' ')} GMT)`;
}
