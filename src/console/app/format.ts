/** Display helpers. */
import type { Instance, InstanceTypeInfo, Tag } from '@aws-sdk/client-ec2';

export const tagValue = (tags: readonly Tag[] | undefined, key: string): string | undefined =>
  tags?.find((t) => t.Key === key)?.Value;

export const nameOf = (i: Instance): string => tagValue(i.Tags, 'Name') ?? '';

export function gib(mib: number | undefined): string {
  if (mib === undefined) return '—';
  const g = mib / 1024;
  return Number.isInteger(g) ? String(g) : g.toFixed(g < 1 ? 3 : 2).replace(/0+$/, '');
}

export const plural = (n: number | undefined, noun: string): string => `${n ?? '?'} ${n === 1 ? noun : `${noun}s`}`;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export const when = (d: Date | undefined): string => (d ? dateTime.format(d) : '—');

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

/** Saves text as a file through the browser's download (nothing leaves the page). */
export function download(filename: string, text: string, type = 'application/x-pem-file'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
