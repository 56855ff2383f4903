/**
 * Instance state changes: the shared core of Start/Stop/Reboot/Terminate (every instance must exist and
 * allow the action, or nothing changes; one commit), and TerminateInstances' core, which DeleteFleets
 * shares.
 */
import type { InstanceStateChange } from '@aws-sdk/client-ec2';
import { applyTrigger } from '../compute/reconciler.js';
import { Errors } from '../domain/errors.js';
import type { InstanceRecord, Scope } from '../domain/instance.js';
import { checkApiProtection } from '../domain/instance-attributes.js';
import { ACTION_PARTICIPLE, STATE_CODES, STATE_REASONS, type UserAction, userInitiated } from '../domain/lifecycle.js';
import { checkDryRun, required } from '../domain/request.js';
import type { Services } from './context.js';
import { findInstances, publicIpSource } from './instances.js';

export interface StateChangeOptions {
  readonly action: UserAction;
  readonly reason?: Partial<Pick<InstanceRecord, 'stateReason' | 'stateTransitionReason' | 'launchTime'>>;
  /** extra per-instance checks after the state check, given the record after the action (protection, hibernation) */
  readonly check?: (rec: InstanceRecord, after: InstanceRecord) => void;
  /**
   * a last check over the instances that will change, before anything is recorded (capacity); it may
   * return them amended (a Dedicated Host chosen again), and those are recorded
   */
  readonly admit?: (changed: readonly InstanceRecord[]) => readonly InstanceRecord[] | void;
}

/**
 * The shared core of Start/Stop/Reboot/Terminate: all instances must exist and allow the action, or
 * nothing changes. One commit for all of them, then the VM work.
 */
export function changeStates(
  ids: readonly string[],
  ctx: Scope,
  s: Services,
  dryRun: boolean | undefined,
  opts: StateChangeOptions,
): { changes: InstanceStateChange[]; changed: InstanceRecord[]; previous: InstanceRecord[] } {
  const recs = findInstances(s, ctx, required(ids, 'InstanceId'));
  checkDryRun({ DryRun: dryRun });
  const now = s.now();
  const publicIps = publicIpSource(s);
  const next: InstanceRecord[] = [];
  for (const rec of recs) {
    const after = applyTrigger(rec, opts.action, now, opts.reason, publicIps);
    if (!after) throw Errors.incorrectInstanceState(rec.id, ACTION_PARTICIPLE[opts.action], rec.state);
    opts.check?.(rec, after);
    next.push(after);
  }
  const changing = next.filter((r, i) => r !== recs[i]);
  const changed = [...(opts.admit?.(changing) ?? changing)];
  if (changed.length > 0) s.store.commit({ instances: changed });
  return {
    changes: recs.map((rec, i) => ({
      InstanceId: rec.id,
      PreviousState: { Code: STATE_CODES[rec.state], Name: rec.state },
      CurrentState: { Code: STATE_CODES[next[i]!.state], Name: next[i]!.state },
    })),
    changed,
    previous: recs,
  };
}

/** TerminateInstances' core, which DeleteFleets shares: every instance must allow it, or nothing changes. */
export function terminate(ids: readonly string[], ctx: Scope, s: Services, dryRun?: boolean): InstanceStateChange[] {
  const { changes, changed } = changeStates(ids, ctx, s, dryRun, {
    action: 'terminate',
    reason: { stateReason: STATE_REASONS.userTerminate, stateTransitionReason: userInitiated(s.now()) },
    // One protected instance refuses the whole call; one already shutting down or terminated has nothing to protect.
    check: (rec, after) => {
      if (after !== rec) checkApiProtection(rec, 'terminate');
    },
  });
  for (const rec of changed) s.reconciler.terminate(rec);
  return changes;
}
