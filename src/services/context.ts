/**
 * What handlers and the services they share are given: the server's services (store, catalog,
 * reconciler, clock, …), an account's quotas, and the Region helpers that need no request.
 */
import { type AccountQuotas, DEFAULT_QUOTAS } from '../accounts.js';
import type { Reconciler } from '../compute/reconciler.js';
import type { Catalog } from '../domain/instance-types.js';
import type { PublicIpAllocator } from '../domain/public-ip.js';
import { zonesIn } from '../domain/regions.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';

export interface Services {
  readonly store: Store;
  readonly catalog: Catalog;
  readonly reconciler: Reconciler;
  readonly now: () => Date;
  /** for what a handler changed on its own that the caller should hear about (e.g. a setting a type change turned off) */
  readonly log: Logger;
  /** terminated instances stay visible this long */
  readonly terminatedRetentionMs: number;
  /** the next creation sequence number (monotonic across restarts) */
  nextSeq(): number;
  /** hands out instances' public IPv4 addresses (loopback addresses of this host: src/domain/public-ip.ts) */
  readonly publicIps: PublicIpAllocator;
  /** an account's quotas (src/accounts.ts); absent: EC2's defaults for every account */
  readonly quotas?: (account: string) => AccountQuotas;
}

/** The quotas of the request's account. */
export const quotasOf = (s: Services, account: string): AccountQuotas => s.quotas?.(account) ?? DEFAULT_QUOTAS;

/** The availability zone names of a region, in letter order (the first is RunInstances' default). */
export const zonesOf = (region: string): readonly string[] => zonesIn(region).map((z) => z.name);
