/**
 * What handlers and the services they share are given: the server's services (store, catalog, VMs,
 * clock, …), an account's quotas, and the Region helpers that need no request.
 */
import { type AccountQuotas, DEFAULT_QUOTAS } from '../accounts.js';
import type { VmSpec } from '../compute/driver.js';
import type { Catalog } from '../domain/instance-types.js';
import type { InstanceRecord } from '../domain/instance.js';
import type { PublicIpAllocator, PublicIpSource } from '../domain/public-ip.js';
import { publicIpPositionsFor } from '../domain/public-ip.js';
import { zonesIn } from '../domain/regions.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/types.js';
import type { PlacementSettings } from './vm-placement.js';

/**
 * The API's side of the VMs. State changes reach the VM hosts as tasks written with them (Changes.tasks);
 * what needs this process's own host goes through here.
 */
export interface VmControl {
  /** what a driver needs to run an instance's VM, derived from its record */
  specOf(rec: InstanceRecord): VmSpec;
  /** throws InsufficientInstanceCapacity when this process's host cannot take those of `recs` placed on it */
  admit(recs: readonly InstanceRecord[]): void;
  /** the VM's serial console output, when this process's host runs it */
  consoleOutput(rec: InstanceRecord): Promise<string | undefined>;
}

export interface Services {
  readonly store: Store;
  readonly catalog: Catalog;
  readonly vms: VmControl;
  /** how instances are placed on VM hosts (src/services/vm-placement.ts) */
  readonly placement: PlacementSettings;
  readonly now: () => Date;
  /** for what a handler changed on its own that the caller should hear about (e.g. a setting a type change turned off) */
  readonly log: Logger;
  /** terminated instances stay visible this long */
  readonly terminatedRetentionMs: number;
  /** turns positions of the database's `public-ip` sequence into addresses (src/domain/public-ip.ts) */
  readonly publicIps: PublicIpAllocator;
  /** an account's quotas (src/accounts.ts); absent: EC2's defaults for every account */
  readonly quotas?: (account: string) => AccountQuotas;
}

/** The quotas of the request's account. */
export const quotasOf = (s: Services, account: string): AccountQuotas => s.quotas?.(account) ?? DEFAULT_QUOTAS;

/**
 * The lock of an account's Region that launches hold, and with them every change they must not
 * interleave with: quotas, Dedicated Hosts, and the network (VPCs, subnets, groups, gateways, routes).
 */
export const launchLock = (scope: { readonly account: string; readonly region: string }): string => `launch:${scope.account}:${scope.region}`;

/** The availability zone names of a region, in letter order (the first is RunInstances' default). */
export const zonesOf = (region: string): readonly string[] => zonesIn(region).map((z) => z.name);

/** Creation sequence numbers for `count` new records, issued by the database (unique across servers). */
export async function nextSeqs(s: Services, count: number): Promise<number[]> {
  const first = await s.store.sequence('instance', count);
  return Array.from({ length: count }, (_, i) => first + i);
}

/** Public IPv4 addresses for up to `count` instances entering `pending` in one change. */
export async function publicIpSource(s: Services, count: number): Promise<PublicIpSource> {
  const positions = publicIpPositionsFor(count);
  return s.publicIps.sourceAt(await s.store.sequence('public-ip', positions), positions);
}
