/** Display helpers: pure functions of the API's values (no DOM), shared by the pages and the unit tests. */
import type { Instance, InstanceTypeInfo, Tag } from '@aws-sdk/client-ec2';
import { findRegion } from '../../domain/regions.js';

export const tagValue = (tags: readonly Tag[] | undefined, key: string): string | undefined =>
  tags?.find((t) => t.Key === key)?.Value;

export const nameOf = (i: Instance): string => tagValue(i.Tags, 'Name') ?? '';

export function gib(mib: number | undefined): string {
  if (mib === undefined) return '—';
  const g = mib / 1024;
  return Number.isInteger(g) ? String(g) : g.toFixed(g < 1 ? 3 : 2).replace(/0+$/, '');
}

export const plural = (n: number | undefined, noun: string): string => `${n ?? '?'} ${n === 1 ? noun : `${noun}s`}`;

/** 5000 → "5,000" */
export const count = (n: number): string => n.toLocaleString('en-US');

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export const when = (d: Date | undefined): string => (d ? dateTime.format(d) : '—');
const shortDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });
/** The same, shorter, for a table column. */
export const whenShort = (d: Date | undefined): string => (d ? shortDateTime.format(d) : '—');

/** Family and size of a type name: 'c8i.large' → ['c8i', 'large']. */
export function familyAndSize(info: InstanceTypeInfo): [string, string] {
  const type = info.InstanceType ?? '';
  const dot = type.indexOf('.');
  return dot === -1 ? [type, ''] : [type.slice(0, dot), type.slice(dot + 1)];
}

/** Case-insensitive match of every word of `query` somewhere in `fields`. */
export function matches(query: string, fields: readonly (string | number | undefined)[]): boolean {
  const words = query.toLowerCase().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return true;
  const text = fields.filter((f) => f !== undefined).join(' ').toLowerCase();
  return words.every((w) => text.includes(w));
}

/** A few of many IDs, for a message: at most `shown` of them, and how many more there are. */
export function someOf<T>(all: readonly T[], shown = 3): { readonly shown: readonly T[]; readonly more: number } {
  return { shown: all.slice(0, shown), more: Math.max(0, all.length - shown) };
}

/** "i-1, i-2, i-3 and 97 more" */
export function idList(ids: readonly string[], shown = 3): string {
  const some = someOf(ids, shown);
  return some.more > 0 ? `${some.shown.join(', ')} and ${count(some.more)} more` : some.shown.join(', ');
}

/**
 * The instance's state transition, as EC2's console shows it: the reason (`User initiated (… GMT)`) and
 * the message (`Client.UserInitiatedShutdown: User initiated shutdown`). EC2's message already starts
 * with its code; the code is written in front only of a message that lacks it, so it is never shown twice.
 */
export function stateTransition(i: Instance): { readonly reason?: string; readonly message?: string } {
  const code = i.StateReason?.Code ?? '';
  const raw = i.StateReason?.Message ?? '';
  // 'pending' is EC2's code and message for a launch in progress: nothing to explain.
  const message = raw === '' || raw === code ? (code && code !== 'pending' ? code : '') : raw.startsWith(code) ? raw : `${code}: ${raw}`;
  return {
    ...(i.StateTransitionReason ? { reason: i.StateTransitionReason } : {}),
    ...(message ? { message } : {}),
  };
}

/** "US East (N. Virginia)", as the AWS SDKs' partition data names the Region; the code for any other. */
export const regionName = (region: string): string => findRegion(region)?.description ?? region;
