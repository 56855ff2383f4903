/** A Dedicated Host as nestbox records it. Capacity in use is derived from the instances placed on it. */
import type { Scope } from './instance.js';

export interface HostRecord extends Scope {
  /** `h-…` */
  readonly id: string;
  readonly availabilityZone: string;
  /** exactly one of instanceFamily / instanceType is set, as AllocateHosts asked */
  readonly instanceFamily?: string | undefined;
  readonly instanceType?: string | undefined;
  readonly autoPlacement: 'on' | 'off';
  readonly hostRecovery: 'on' | 'off';
  readonly state: 'available' | 'released';
  readonly allocationTime: string;
  readonly releaseTime?: string | undefined;
  readonly clientToken?: string | undefined;
}
