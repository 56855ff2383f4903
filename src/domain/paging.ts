/**
 * MaxResults / NextToken paging, shared by every Describe* call. The token is opaque to callers: it
 * carries the position and a fingerprint of the query, so a token from another query is refused.
 */
import { createHash } from 'node:crypto';
import { Errors } from './errors.js';

export interface PageRequest {
  readonly MaxResults?: number | undefined;
  readonly NextToken?: string | undefined;
}

export interface PageLimits {
  readonly min: number;
  readonly max: number;
}

/** What most Describe calls take: MaxResults 5 to 1000 (without it, everything at once). */
export const DESCRIBE_PAGE_LIMITS: PageLimits = { min: 5, max: 1000 };

export interface Page<T> {
  readonly items: T[];
  readonly nextToken: string | undefined;
}

function fingerprint(query: unknown): string {
  return createHash('sha1').update(JSON.stringify(query ?? null)).digest('base64url').slice(0, 10);
}

/**
 * Cuts one page out of `items`. Without MaxResults everything is returned (as EC2 does for most
 * Describe calls); `query` is whatever identifies the listing (filters, ids) apart from the paging.
 */
export function paginate<T>(items: readonly T[], req: PageRequest, limits: PageLimits, query: unknown): Page<T> {
  const max = req.MaxResults;
  checkMaxResults(max, limits);
  const print = fingerprint(query);
  let start = 0;
  // An empty token is no token: the first page.
  const token = req.NextToken === '' ? undefined : req.NextToken;
  if (token !== undefined) {
    const m = /^([0-9]+)\.([A-Za-z0-9_-]{10})$/.exec(Buffer.from(token, 'base64url').toString());
    if (!m || m[2] !== print || Number(m[1]) > items.length) throw Errors.invalidNextToken(token);
    start = Number(m[1]);
  }
  if (max === undefined && token === undefined) return { items: items.slice(), nextToken: undefined };
  const size = max ?? limits.max;
  const end = Math.min(items.length, start + size);
  const nextToken = end < items.length ? Buffer.from(`${end}.${print}`).toString('base64url') : undefined;
  return { items: items.slice(start, end), nextToken };
}

function checkMaxResults(max: number | undefined, limits: PageLimits): void {
  if (max !== undefined && (!Number.isInteger(max) || max < limits.min || max > limits.max)) {
    throw Errors.invalidParameterValue(
      `Value (${max}) for parameter maxResults is invalid. Expecting a value between ${limits.min} and ${limits.max}.`,
    );
  }
}

/** Paging that the store does by position (e.g. an instance's creation `seq`): what to ask it for. */
export interface KeysetPaging {
  /** items per page; undefined: no paging was asked for, everything is returned */
  readonly size: number | undefined;
  /** the position the page starts after (from NextToken) */
  readonly after: number | undefined;
  /** the NextToken for a page whose last item is at `position` */
  tokenAfter(position: number): string;
}

/**
 * paginate's rules (limits, messages, an opaque token refused for another query) for listings the
 * store pages itself: the token carries the last item's position instead of an index, so a page
 * costs what it holds, not what comes before it.
 */
export function keysetPaging(req: PageRequest, limits: PageLimits, query: unknown): KeysetPaging {
  const max = req.MaxResults;
  checkMaxResults(max, limits);
  // The query's fingerprint only when a token is read or written (most calls do neither).
  let print: string | undefined;
  const printOf = () => (print ??= fingerprint(query));
  // An empty token is no token: the first page.
  const token = req.NextToken === '' ? undefined : req.NextToken;
  let after: number | undefined;
  if (token !== undefined) {
    const m = /^@([0-9]{1,15})\.([A-Za-z0-9_-]{10})$/.exec(Buffer.from(token, 'base64url').toString());
    if (!m || m[2] !== printOf()) throw Errors.invalidNextToken(token);
    after = Number(m[1]);
  }
  return {
    size: max === undefined && token === undefined ? undefined : (max ?? limits.max),
    after,
    tokenAfter: (position) => Buffer.from(`@${position}.${printOf()}`).toString('base64url'),
  };
}
