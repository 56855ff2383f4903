/**
 * A list's property filter, as in EC2's console: tokens such as `Instance state = running`,
 * `Instance type = c8i.large` or `tag:Name = web`, and free text. An `=` token on a property the API
 * can filter on becomes a Describe call's filter (values of one property are ORed, properties ANDed,
 * `*` and `?` are wildcards — the API's own rules), so only matching items are fetched; everything
 * is also checked here, on the rows, so that a row the poll has just updated follows the filter too.
 * Free text and the other operators (`!=`, `:` contains, `!:` does not contain) are matched here only.
 *
 * propertyFilter() makes one for a list from its properties; the instance list's is below
 * (INSTANCE_FILTER, whose functions are also exported by name).
 */
import type { Instance, Tag } from '@aws-sdk/client-ec2';
import type { Filter } from '../ec2/query.js';
import { nameOf, tagValue } from '../format.js';
import { type Row, nestedOf, platformName, securityGroupNames } from './model.js';

export type Operator = '=' | '!=' | ':' | '!:';
export const OPERATORS: readonly Operator[] = ['=', '!=', ':', '!:'];

export interface Token {
  /** a key of the list's properties, or `tag:<key>` */
  readonly property: string;
  readonly operator: Operator;
  readonly value: string;
}

export interface Property<T> {
  readonly key: string;
  readonly label: string;
  /** the Describe call's filter name, when the API has one */
  readonly apiFilter?: string;
  /** the values an item has for this property (several for security groups) */
  readonly values: (item: T) => readonly string[];
  /** values worth suggesting besides those the loaded rows have */
  readonly known?: readonly string[];
}

/** What a list's filter needs to know: its properties, the item of a row, and the item's tags. */
export interface FilterSchema<R, T> {
  readonly properties: readonly Property<T>[];
  readonly item: (row: R) => T;
  readonly tags: (item: T) => readonly Tag[] | undefined;
  /** a property the field's help names as an example, e.g. "Instance state" */
  readonly example: string;
}

/** A row of a filtered list: `search` is everything the free text searches, lower-cased. */
export interface FilterableRow {
  readonly search: string;
}

export type Suggestion =
  /** completes the input to `<label> = ` (a value is asked next) */
  | { readonly kind: 'property'; readonly label: string; readonly text: string }
  /** adds this token */
  | { readonly kind: 'value'; readonly label: string; readonly token: Token };

export const one = (v: string | undefined): readonly string[] => (v ? [v] : []);

const TAG = 'tag:';
const OPERATOR = /!=|!:|=|:/g;
const MAX_SUGGESTIONS = 12;

export const sameToken = (a: Token, b: Token): boolean => a.property === b.property && a.operator === b.operator && a.value === b.value;

/** EC2's filter wildcards: `*` any run of characters, `?` one character, `\` escapes the next one. */
export function wildcardMatch(pattern: string, value: string): boolean {
  if (!/[*?\\]/.test(pattern)) return pattern === value;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern[++i] as string);
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += escapeRegExp(c);
  }
  return new RegExp(`^${re}$`, 's').test(value);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The filter of one list: parsing what is typed, the API filters, matching rows and suggestions. */
export function propertyFilter<R extends FilterableRow, T>(schema: FilterSchema<R, T>) {
  const { properties, item } = schema;

  /** The property of a token: one of the properties, or a tag (`tag:<key>`, filtered with the API's `tag:<key>`). */
  function propertyOf(key: string): Property<T> | undefined {
    const known = properties.find((p) => p.key === key);
    if (known) return known;
    if (!key.startsWith(TAG) || key.length === TAG.length) return undefined;
    const tagKey = key.slice(TAG.length);
    return { key, label: key, apiFilter: key, values: (i) => one(tagValue(schema.tags(i), tagKey)) };
  }

  /** What the user may type before the operator: a property's label, its key, its API filter name, or tag:<key>. */
  function findProperty(name: string): Property<T> | undefined {
    const lower = name.trim().toLowerCase();
    if (lower === '') return undefined;
    if (lower.startsWith(TAG)) return propertyOf(`${TAG}${name.trim().slice(TAG.length)}`);
    return properties.find((p) => p.label.toLowerCase() === lower || p.key === lower || p.apiFilter === lower);
  }

  /**
   * `Instance state = running` → a token; undefined when the text does not start with a known property
   * and an operator (then it is free text). The operator is the first one after which the text before it
   * names a property, so `tag:Name = web` reads as the tag Name, `=`, web. The value may be empty while it
   * is being typed.
   */
  function parseTokenText(text: string): { property: Property<T>; operator: Operator; value: string } | undefined {
    for (const m of text.matchAll(OPERATOR)) {
      const property = findProperty(text.slice(0, m.index));
      if (property) return { property, operator: m[0] as Operator, value: text.slice(m.index + m[0].length).trim() };
    }
    return undefined;
  }

  function parseToken(text: string): Token | undefined {
    const parsed = parseTokenText(text);
    if (!parsed || parsed.value === '') return undefined;
    return { property: parsed.property.key, operator: parsed.operator, value: parsed.value };
  }

  const tokenLabel = (t: Token): string => `${propertyOf(t.property)?.label ?? t.property} ${t.operator} ${t.value}`;

  /** The Describe call's filters for the tokens the API can apply: `=` tokens on a property it filters. */
  function apiFilters(tokens: readonly Token[]): Filter[] {
    const byName = new Map<string, string[]>();
    for (const t of tokens) {
      const name = t.operator === '=' ? propertyOf(t.property)?.apiFilter : undefined;
      if (!name) continue;
      const values = byName.get(name) ?? [];
      if (!values.includes(t.value)) values.push(t.value);
      byName.set(name, values);
    }
    return [...byName].map(([name, values]) => ({ name, values }));
  }

  /**
   * Whether a row passes every token and the free text. `=` tokens of one property are ORed (one of the
   * values), as the API does; `!=` and `!:` exclude, `:` must contain (case-insensitive); the free text's
   * words must each appear somewhere in the row.
   */
  function rowMatcher(tokens: readonly Token[], freeText: string): (row: R) => boolean {
    // Grouped as the API groups them: by filter name (Name and tag:Name are one), else by property.
    const equals = new Map<string, { property: Property<T> | undefined; patterns: string[] }>();
    const others: Token[] = [];
    for (const t of tokens) {
      if (t.operator !== '=') {
        others.push(t);
        continue;
      }
      const property = propertyOf(t.property);
      const key = property?.apiFilter ?? t.property;
      const group = equals.get(key) ?? { property, patterns: [] };
      group.patterns.push(t.value);
      equals.set(key, group);
    }
    const words = freeText.toLowerCase().split(/\s+/).filter((w) => w !== '');
    const groups = [...equals.values()];
    return (row) => {
      for (const w of words) if (!row.search.includes(w)) return false;
      for (const g of groups) {
        const values = g.property?.values(item(row)) ?? [];
        if (!g.patterns.some((p) => values.some((v) => wildcardMatch(p, v)))) return false;
      }
      for (const t of others) {
        const values = (propertyOf(t.property)?.values(item(row)) ?? []).map((v) => v.toLowerCase());
        const value = t.value.toLowerCase();
        const hit = t.operator === '!=' ? values.includes(value) : values.some((v) => v.includes(value));
        if (t.operator === ':' ? !hit : hit) return false;
      }
      return true;
    };
  }

  /**
   * What to offer for the text being typed: properties (and tag keys) whose name contains it, or, once a
   * property and an operator are typed, the values the loaded rows have (and the property's known ones).
   */
  function suggestions(text: string, rows: readonly R[]): Suggestion[] {
    const typed = parseTokenText(text);
    if (typed) {
      const seen = new Set<string>(typed.property.known ?? []);
      for (const row of rows) {
        for (const v of typed.property.values(item(row))) seen.add(v);
        if (seen.size > 500) break;
      }
      const wanted = typed.value.toLowerCase();
      return [...seen]
        .filter((v) => v.toLowerCase().includes(wanted))
        .sort()
        .slice(0, MAX_SUGGESTIONS)
        .map((value) => {
          const token = { property: typed.property.key, operator: typed.operator, value };
          return { kind: 'value' as const, label: tokenLabel(token), token };
        });
    }
    const wanted = text.trim().toLowerCase();
    const tagKeys = new Set<string>();
    for (const row of rows) {
      for (const t of schema.tags(item(row)) ?? []) if (t.Key && t.Key !== 'Name') tagKeys.add(t.Key);
      if (tagKeys.size > 50) break;
    }
    const offered: { label: string }[] = [...properties, ...[...tagKeys].sort().map((k) => ({ label: `${TAG}${k}` }))];
    return offered
      .filter((p) => p.label.toLowerCase().includes(wanted))
      .slice(0, MAX_SUGGESTIONS)
      .map((p) => ({ kind: 'property' as const, label: p.label, text: `${p.label} = ` }));
  }

  return { example: schema.example, propertyOf, parseTokenText, parseToken, tokenLabel, apiFilters, rowMatcher, suggestions };
}

/** A list's filter as the list page and its filter field use it (what propertyFilter() makes). */
export interface ListFilter<R> {
  readonly example: string;
  parseTokenText(text: string): unknown;
  parseToken(text: string): Token | undefined;
  tokenLabel(token: Token): string;
  apiFilters(tokens: readonly Token[]): Filter[];
  rowMatcher(tokens: readonly Token[], freeText: string): (row: R) => boolean;
  suggestions(text: string, rows: readonly R[]): Suggestion[];
}

// --- the list of instances ----------------------------------------------------------------------------

export const PROPERTIES: readonly Property<Instance>[] = [
  { key: 'name', label: 'Name', apiFilter: 'tag:Name', values: (i) => one(nameOf(i)) },
  { key: 'instance-id', label: 'Instance ID', apiFilter: 'instance-id', values: (i) => one(i.InstanceId) },
  {
    key: 'instance-state',
    label: 'Instance state',
    apiFilter: 'instance-state-name',
    values: (i) => one(i.State?.Name),
    known: ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'],
  },
  { key: 'instance-type', label: 'Instance type', apiFilter: 'instance-type', values: (i) => one(i.InstanceType) },
  { key: 'availability-zone', label: 'Availability Zone', apiFilter: 'availability-zone', values: (i) => one(i.Placement?.AvailabilityZone) },
  { key: 'public-ip', label: 'Public IPv4 address', apiFilter: 'ip-address', values: (i) => one(i.PublicIpAddress) },
  { key: 'private-ip', label: 'Private IPv4 address', apiFilter: 'private-ip-address', values: (i) => one(i.PrivateIpAddress) },
  { key: 'key-name', label: 'Key name', apiFilter: 'key-name', values: (i) => one(i.KeyName) },
  { key: 'security-group', label: 'Security group name', apiFilter: 'instance.group-name', values: securityGroupNames },
  { key: 'image-id', label: 'AMI ID', apiFilter: 'image-id', values: (i) => one(i.ImageId) },
  { key: 'platform', label: 'Platform', apiFilter: 'platform-details', values: (i) => [platformName(i)], known: ['Linux/UNIX', 'Windows'] },
  // No DescribeInstances filter exists for it: matched on the rows.
  { key: 'nested', label: 'Nested virtualization', values: (i) => [nestedOf(i) ?? 'not set'], known: ['enabled', 'disabled', 'not set'] },
];

export const INSTANCE_FILTER = propertyFilter<Row, Instance>({
  properties: PROPERTIES,
  item: (r) => r.instance,
  tags: (i) => i.Tags,
  example: 'Instance state',
});
export const { propertyOf, parseTokenText, parseToken, tokenLabel, apiFilters, rowMatcher, suggestions } = INSTANCE_FILTER;
