/**
 * A Dedicated Host as nestbox records it. What is running on it is not recorded here: the capacity in
 * use is derived from the instance records each time (see host-capacity.ts), so it cannot drift.
 */
import { Errors } from './errors.js';
import type { InstanceRecord, Scope } from './instance.js';

export type OnOff = 'on' | 'off';
export type Affinity = 'default' | 'host';
export type Tenancy = 'default' | 'dedicated' | 'host';

export interface HostRecord extends Scope {
  /** `h-…` */
  readonly id: string;
  readonly availabilityZone: string;
  /** exactly one of instanceFamily / instanceType is set, as AllocateHosts (or ModifyHosts) asked */
  readonly instanceFamily?: string | undefined;
  readonly instanceType?: string | undefined;
  /** `on`: the host takes untargeted `Tenancy=host` launches; `off`: only launches naming its ID */
  readonly autoPlacement: OnOff;
  readonly hostRecovery: OnOff;
  readonly hostMaintenance: OnOff;
  readonly state: 'available' | 'released';
  readonly allocationTime: string;
  readonly releaseTime?: string | undefined;
  readonly clientToken?: string | undefined;
  /** a hash of the AllocateHosts request, so a ClientToken replay with other parameters is refused */
  readonly requestHash?: string | undefined;
}

/**
 * A released host stays visible (state `released`) for the same time as a terminated instance, then
 * it is gone. `cutoffMs` is now minus that retention.
 */
export const hostExpired = (host: Pick<HostRecord, 'releaseTime'>, cutoffMs: number): boolean =>
  host.releaseTime !== undefined && Date.parse(host.releaseTime) < cutoffMs;

// --- instances on hosts -----------------------------------------------------------------------------

export function parseAffinity(value: string, param: string): Affinity {
  if (value !== 'default' && value !== 'host') throw Errors.invalidValueFor(param, value, 'Valid values: default, host.');
  return value;
}

export function parseTenancy(value: string, param: string): Tenancy {
  if (value !== 'default' && value !== 'dedicated' && value !== 'host') {
    throw Errors.invalidValueFor(param, value, 'Valid values: default, dedicated, host.');
  }
  return value;
}

/**
 * nestbox has no placement groups: out of any group (`GroupName` empty) is all a placement may say.
 * RunInstances and ModifyInstancePlacement share the rule.
 */
export function checkNoPlacementGroup(p: {
  readonly GroupName?: string | undefined;
  readonly GroupId?: string | undefined;
  readonly PartitionNumber?: number | undefined;
}): void {
  if (p.GroupName) throw Errors.placementGroupUnknown(p.GroupName);
  if (p.GroupId !== undefined) throw Errors.placementGroupUnknown(p.GroupId);
  if (p.PartitionNumber !== undefined) {
    throw Errors.invalidParameterCombination('The parameter PartitionNumber can be used only with a partition placement group.');
  }
}

/**
 * The host affinity EC2 shows for an instance: only instances with tenancy `host` have one, `default`
 * unless it was set to `host`.
 */
export const affinityOf = (rec: Pick<InstanceRecord, 'tenancy' | 'affinity'>): Affinity | undefined =>
  rec.tenancy === 'host' ? (rec.affinity ?? 'default') : undefined;

/** The placement an instance record keeps: `host` affinity only (absent is EC2's `default`). */
const placementFields = (tenancy: Tenancy, hostId: string | undefined, affinity: Affinity | undefined) => ({
  tenancy,
  hostId,
  affinity: affinity === 'host' ? ('host' as const) : undefined,
});

/** What a ModifyInstancePlacement request asks to change, its syntax checked. */
export interface PlacementChange {
  readonly affinity?: Affinity | undefined;
  readonly hostId?: string | undefined;
  readonly tenancy?: Tenancy | undefined;
  /** `''`: out of any placement group (nestbox has none, so it changes nothing but needs a stop like a real move) */
  readonly groupName?: string | undefined;
}

/**
 * An instance after ModifyInstancePlacement (the same record when nothing changes), or the EC2 error.
 *
 * - The host, tenancy and placement group change only while the instance is stopped; its affinity also
 *   while it runs (EC2's API reference asks for a stop for the former only). Never once it is shutting down.
 * - Naming a host implies tenancy `host`, as at launch. Tenancy is exchanged between `dedicated` and
 *   `host` only (EC2: never to or from `default`), and not at all for T3, which must be launched on a host.
 * - Affinity and a host need tenancy `host`; leaving it drops both. Affinity `host` binds the instance to
 *   its host — the one given here, its current one, or (none yet) the one it next starts on.
 *
 * Whether a named host can take the instance is the caller's check: it needs the catalog.
 */
export function changePlacement(rec: InstanceRecord, change: PlacementChange, family: string): InstanceRecord {
  if (rec.state === 'shutting-down' || rec.state === 'terminated') throw Errors.placementNotModifiable(rec.id, rec.state);
  const needsStop = change.hostId !== undefined || change.tenancy !== undefined || change.groupName !== undefined;
  if (needsStop && rec.state !== 'stopped') throw Errors.placementNeedsStopped(rec.id, rec.state);

  const from = rec.tenancy as Tenancy;
  const to = change.tenancy ?? (change.hostId !== undefined ? 'host' : from);
  if (to !== from) {
    if (from === 'default' || to === 'default') throw Errors.invalidTenancyChange(rec.id, from, to);
    if (family === 't3') throw Errors.t3TenancyChange(rec.id, from, to);
  }
  if (to !== 'host') {
    if (change.hostId !== undefined) throw Errors.parameterNeedsHostTenancy('hostId');
    if (change.affinity !== undefined) throw Errors.parameterNeedsHostTenancy('affinity');
  }
  // From dedicated to host the instance has no host yet: its next start places it.
  const kept = from === 'host' ? rec : undefined;
  const next =
    to === 'host'
      ? placementFields(to, change.hostId ?? kept?.hostId, change.affinity ?? kept?.affinity)
      : placementFields(to, undefined, undefined);
  const current = placementFields(from, rec.hostId, rec.affinity);
  const unchanged = next.tenancy === current.tenancy && next.hostId === current.hostId && next.affinity === current.affinity;
  return unchanged ? rec : { ...rec, ...next };
}
