/**
 * Instance state changes: the shared core of Start/Stop/Reboot/Terminate (every instance must exist and
 * allow the action, or nothing changes; one conditional write with the VM hosts' tasks), where
 * StartInstances' instances run again (their VM host, or another), and TerminateInstances' core, which
 * DeleteFleets shares.
 */
import type { InstanceStateChange } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import type { InstanceRecord, Scope } from '../domain/instance.js';
import { checkApiProtection } from '../domain/instance-attributes.js';
import { applyTrigger } from '../domain/instance-state.js';
import { ACTION_PARTICIPLE, STATE_CODES, STATE_REASONS, type UserAction, transition, userInitiated } from '../domain/lifecycle.js';
import { wantsPublicIp } from '../domain/public-ip.js';
import { checkDryRun, required } from '../domain/request.js';
import type { Changes, VmTask, VmTaskKind } from '../store/types.js';
import { type Services, launchLock, publicIpSource } from './context.js';
import { avoidingElasticIps } from './elastic-ips.js';
import { findInstances } from './instances.js';
import { isLiveVmHost, placeOnVmHosts } from './vm-placement.js';

export interface StateChangeOptions {
  readonly action: UserAction;
  readonly reason?: Partial<Pick<InstanceRecord, 'stateReason' | 'stateTransitionReason' | 'launchTime'>>;
  /** extra per-instance checks after the state check, given the record after the action (protection, hibernation) */
  readonly check?: (rec: InstanceRecord, after: InstanceRecord) => void;
  /**
   * a last check over the instances that will change, before anything is recorded (capacity); it may
   * return them amended (a Dedicated Host or VM host chosen again), and those are recorded
   */
  readonly admit?: (changed: readonly InstanceRecord[]) => Promise<readonly InstanceRecord[] | void> | readonly InstanceRecord[] | void;
  /** the VM hosts' work, written with the change: given the records as recorded and as they were read */
  readonly tasks?: (changed: readonly InstanceRecord[], previous: readonly InstanceRecord[]) => readonly VmTask[];
  /**
   * Decide and write under the account's launch lock in the Region (`launch:<account>:<region>`), as a
   * launch does: a start that takes capacity (a Dedicated Host's, a VM host's) must not interleave with
   * a launch or another start deciding on the same capacity.
   */
  readonly underLaunchLock?: boolean;
}

/** A task of `kind` for each record's VM host (records on none have no VM to act on). */
export const tasksFor = (recs: readonly InstanceRecord[], kind: VmTaskKind): VmTask[] =>
  recs.flatMap((r) => (r.vmHost !== undefined ? [{ host: r.vmHost, target: r.id, kind }] : []));

/**
 * The shared core of Start/Stop/Reboot/Terminate: all instances must exist and allow the action, or
 * nothing changes. One conditional write for all of them, with the VM hosts' tasks: a record changed
 * by someone else since it was read fails it (StoreConflict), and the request is decided again.
 */
export async function changeStates(
  ids: readonly string[],
  ctx: Scope,
  s: Services,
  dryRun: boolean | undefined,
  opts: StateChangeOptions,
): Promise<{ changes: InstanceStateChange[]; changed: InstanceRecord[]; previous: InstanceRecord[] }> {
  if (!opts.underLaunchLock) return decideStates(ids, ctx, s, dryRun, opts, (c) => s.store.commit(c));
  // Everything is read after the lock is taken, so what another holder wrote is seen.
  return s.store.transaction((tx) => decideStates(ids, ctx, s, dryRun, opts, (c) => tx.write(c)), {
    lock: launchLock(ctx),
  });
}

async function decideStates(
  ids: readonly string[],
  ctx: Scope,
  s: Services,
  dryRun: boolean | undefined,
  opts: StateChangeOptions,
  write: (changes: Changes) => void | Promise<void>,
): Promise<{ changes: InstanceStateChange[]; changed: InstanceRecord[]; previous: InstanceRecord[] }> {
  const recs = await findInstances(s, ctx, required(ids, 'InstanceId'));
  checkDryRun({ DryRun: dryRun });
  const now = s.now();
  // Public addresses for those entering `pending` that want one (StartInstances).
  const entering = recs.filter((r) => {
    const t = transition(r.state, opts.action);
    return t?.changed === true && t.to === 'pending' && r.publicIp === undefined && wantsPublicIp(r);
  }).length;
  const publicIps = entering > 0 ? await avoidingElasticIps(s, await publicIpSource(s, entering)) : undefined;
  const next: InstanceRecord[] = [];
  for (const rec of recs) {
    const after = applyTrigger(rec, opts.action, now, opts.reason, publicIps);
    if (!after) throw Errors.incorrectInstanceState(rec.id, ACTION_PARTICIPLE[opts.action], rec.state);
    opts.check?.(rec, after);
    next.push(after);
  }
  const changing = next.filter((r, i) => r !== recs[i]);
  const changed = [...((await opts.admit?.(changing)) ?? changing)];
  const tasks = opts.tasks?.(changed, recs) ?? [];
  if (changed.length > 0 || tasks.length > 0) await write({ instances: changed, tasks });
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

/**
 * StartInstances: each instance about to start runs on a VM host again — its own when that host is
 * alive and heartbeating (within the placement's deadAfterMs), otherwise one placement chooses (its
 * host failed: it starts elsewhere). Returns the records with their host.
 */
export async function placeVmStarts(s: Services, starting: readonly InstanceRecord[]): Promise<InstanceRecord[]> {
  if (starting.length === 0) return [];
  const now = s.now();
  const fresh = new Set(
    (await s.store.vmHosts()).filter((h) => isLiveVmHost(h, now, s.placement.deadAfterMs)).map((h) => h.id),
  );
  const homeless = starting.filter((r) => r.vmHost === undefined || !fresh.has(r.vmHost));
  const hosts = await placeOnVmHosts(s.store, homeless, now, s.placement);
  const chosen = new Map(homeless.map((r, i) => [r.id, hosts[i]!]));
  return starting.map((r) => {
    const vmHost = chosen.get(r.id);
    return vmHost === undefined ? r : { ...r, vmHost };
  });
}

/**
 * TerminateInstances' core, which DeleteFleets shares: every instance must allow it, or nothing
 * changes. An instance whose VM host holds its VM goes to `shutting-down` with a `terminate` task for
 * that host; one no live host holds (its host failed, or it never had one) has no VM to destroy and is
 * recorded `terminated` at once — the answer still shows `shutting-down`, as EC2's does.
 */
export async function terminate(ids: readonly string[], ctx: Scope, s: Services, dryRun?: boolean): Promise<InstanceStateChange[]> {
  const now = s.now();
  const { changes } = await changeStates(ids, ctx, s, dryRun, {
    action: 'terminate',
    reason: { stateReason: STATE_REASONS.userTerminate, stateTransitionReason: userInitiated(now) },
    // One protected instance refuses the whole call; one already shutting down or terminated has nothing to protect.
    check: (rec, after) => {
      if (after !== rec) checkApiProtection(rec, 'terminate');
    },
    admit: async (ending) => {
      if (ending.length === 0) return ending;
      const alive = new Set((await s.store.vmHosts()).filter((h) => h.state === 'alive').map((h) => h.id));
      return ending.map((r) =>
        r.vmHost !== undefined && alive.has(r.vmHost) ? r : (applyTrigger(r, 'destroyed', now) ?? r),
      );
    },
    tasks: (changed) => tasksFor(changed.filter((r) => r.state === 'shutting-down'), 'terminate'),
  });
  return changes;
}
