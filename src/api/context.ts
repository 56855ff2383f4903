/** What every handler gets: the services it may use and the request's own context. */
import type { Reconciler } from '../compute/reconciler.js';
import { Errors } from '../domain/errors.js';
import type { Catalog } from '../domain/instance-types.js';
import type { Scope } from '../domain/instance.js';
import type { Store } from '../store/store.js';

export interface Services {
  readonly store: Store;
  readonly catalog: Catalog;
  readonly reconciler: Reconciler;
  readonly now: () => Date;
  /** terminated instances stay visible this long */
  readonly terminatedRetentionMs: number;
  /** the next creation sequence number (monotonic across restarts) */
  nextSeq(): number;
}

export interface RequestContext extends Scope {
  readonly requestId: string;
  readonly action: string;
}

export type Handler<I, O> = (input: I, ctx: RequestContext, services: Services) => O | Promise<O>;

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

/** The availability zones of a region: `<region>a` … `<region>c`. */
export const zonesOf = (region: string): readonly string[] => ['a', 'b', 'c'].map((z) => `${region}${z}`);
