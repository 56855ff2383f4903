/** What every handler gets: the services it may use and the request's own context. */
import { createHash } from 'node:crypto';
import { type AccountQuotas, DEFAULT_QUOTAS, type Permission } from '../accounts.js';
import type { Reconciler } from '../compute/reconciler.js';
import { Errors } from '../domain/errors.js';
import type { Catalog } from '../domain/instance-types.js';
import type { Scope } from '../domain/instance.js';
import type { PublicIpAllocator } from '../domain/public-ip.js';
import type { Logger } from '../logger.js';
import { zonesIn } from '../domain/regions.js';
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

export interface RequestContext extends Scope {
  readonly requestId: string;
  readonly action: string;
  /** what the caller's key may do (src/accounts.ts; the server refuses the rest before a handler runs); absent: full */
  readonly permission?: Permission;
}

export type Handler<I, O> = (input: I, ctx: RequestContext, services: Services) => O | Promise<O>;

/**
 * A request as it matters for ClientToken idempotency: everything but the token itself and DryRun. A
 * replay with the same token and another fingerprint is IdempotentParameterMismatch.
 */
export function requestFingerprint(input: { readonly ClientToken?: string | undefined; readonly DryRun?: boolean | undefined }): string {
  const { ClientToken: _token, DryRun: _dryRun, ...rest } = input;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

/** DryRun: the request was valid and permitted, so EC2 answers DryRunOperation and changes nothing. */
export function checkDryRun(input: { readonly DryRun?: boolean | undefined }): void {
  if (input.DryRun) throw Errors.dryRun();
}

export function required<T>(value: T | undefined | null, name: string): T {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    throw Errors.missingParameter(name);
  }
  return value;
}

/** The availability zone names of a region, in letter order (the first is RunInstances' default). */
export const zonesOf = (region: string): readonly string[] => zonesIn(region).map((z) => z.name);
