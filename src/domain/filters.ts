/**
 * The one filter engine behind every Describe* call.
 *
 * A resource declares its filters once, as a table from filter name to the value(s) an item has for
 * it. EC2 semantics: values within one filter are ORed, filters are ANDed, `*` and `?` are wildcards
 * (a backslash escapes them), matching is case-sensitive. `tag:KEY`, `tag-key` and `tag-value` come
 * for free for any resource that has tags. An unknown filter name is refused, naming it.
 */
import { Errors } from './errors.js';

export type FilterValue = string | number | boolean | undefined | null;
export type FilterAccessor<T> = (item: T) => FilterValue | readonly FilterValue[];

export interface FilterTable<T> {
  readonly fields: Readonly<Record<string, FilterAccessor<T>>>;
  /** When the resource has tags: its tags as key → value. */
  readonly tags?: (item: T) => ReadonlyMap<string, string> | undefined;
}

export interface FilterInput {
  readonly Name?: string | undefined;
  readonly Values?: readonly string[] | undefined;
}

export type Predicate<T> = (item: T) => boolean;

const cache = new Map<string, RegExp | string>();

/** A literal string, or a RegExp when the pattern has unescaped wildcards. */
function matcherOf(pattern: string): RegExp | string {
  let m = cache.get(pattern);
  if (m !== undefined) return m;
  if (!/[*?\\]/.test(pattern)) {
    m = pattern;
  } else {
    let re = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i] as string;
      if (c === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern[++i] as string);
      else if (c === '*') re += '[\\s\\S]*';
      else if (c === '?') re += '[\\s\\S]';
      else re += escapeRegExp(c);
    }
    m = new RegExp(`^${re}$`);
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(pattern, m);
  return m;
}

const escapeRegExp = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function matchesAny(value: string, matchers: readonly (RegExp | string)[]): boolean {
  for (const m of matchers) if (typeof m === 'string' ? m === value : m.test(value)) return true;
  return false;
}

function valuesOf(v: FilterValue | readonly FilterValue[]): string[] {
  const list = Array.isArray(v) ? (v as readonly FilterValue[]) : [v as FilterValue];
  const out: string[] = [];
  for (const x of list) if (x !== undefined && x !== null) out.push(String(x));
  return out;
}

/** Compiles Describe* filters into one predicate. No filters → everything matches. */
export function compileFilters<T>(table: FilterTable<T>, filters: readonly FilterInput[] | undefined): Predicate<T> {
  if (!filters || filters.length === 0) return () => true;
  const tests: Predicate<T>[] = filters.map((f) => {
    const name = f.Name;
    // EC2's own wording for a filter without a name.
    if (!name) throw Errors.invalidFilter('null');
    const matchers = (f.Values ?? []).map(matcherOf);
    if (name.startsWith('tag:') && table.tags) {
      const key = name.slice(4);
      const tags = table.tags;
      return (item) => {
        const value = tags(item)?.get(key);
        return value !== undefined && matchesAny(value, matchers);
      };
    }
    if ((name === 'tag-key' || name === 'tag-value') && table.tags) {
      const tags = table.tags;
      const pick = name === 'tag-key' ? 0 : 1;
      return (item) => {
        const map = tags(item);
        if (!map) return false;
        for (const entry of map) if (matchesAny(entry[pick], matchers)) return true;
        return false;
      };
    }
    // hasOwn: '__proto__', 'constructor' … are unknown filters, not Object.prototype members.
    const accessor = Object.hasOwn(table.fields, name) ? table.fields[name] : undefined;
    if (!accessor) throw Errors.invalidFilter(name);
    return (item) => {
      for (const v of valuesOf(accessor(item))) if (matchesAny(v, matchers)) return true;
      return false;
    };
  });
  return (item) => {
    for (const t of tests) if (!t(item)) return false;
    return true;
  };
}
