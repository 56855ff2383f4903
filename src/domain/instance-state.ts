/**
 * An instance record's state change: the lifecycle table (lifecycle.ts) applied to a record, for API
 * actions, the driver's reports and host failures alike.
 */
import type { InstanceRecord } from './instance.js';
import { type Trigger, transition } from './lifecycle.js';
import { type PublicIpSource, withPublicIp } from './public-ip.js';

/**
 * The record after `trigger`, or undefined when the lifecycle table does not allow it. The one place
 * where an instance's state changes — and so where its public IPv4 address follows the state
 * (`withPublicIp`): released on `stopped` and `terminated`, a new one from `publicIps` on entering
 * `pending` (StartInstances; a trigger that can lead to `pending` needs the source, the others do not).
 * Entering `pending` clears a failed host's impaired system status: the instance starts on a live host.
 */
export function applyTrigger(
  rec: InstanceRecord,
  trigger: Trigger,
  at: Date,
  patch: Partial<Pick<InstanceRecord, 'stateReason' | 'stateTransitionReason' | 'runtime' | 'launchTime' | 'hasRun' | 'vmHost'>> = {},
  publicIps?: PublicIpSource,
): InstanceRecord | undefined {
  const t = transition(rec.state, trigger);
  if (!t) return undefined;
  if (!t.changed) return rec;
  const { systemStatus: _cleared, ...rest } = rec;
  return withPublicIp(
    {
      ...(t.to === 'pending' ? rest : rec),
      ...patch,
      state: t.to,
      ...(t.to === 'terminated' ? { terminatedAt: at.toISOString() } : {}),
    },
    publicIps,
  );
}
