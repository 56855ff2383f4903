/**
 * A Dedicated Host as nestbox records it. What is running on it is not recorded here: the capacity in
 * use is derived from the instance records each time (see host-capacity.ts), so it cannot drift.
 */
import type { Scope } from './instance.js';

export type OnOff = 'on' | 'off';

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
