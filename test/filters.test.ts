/** Unit tests of the Describe* filter engine (src/domain/filters.ts) and paging (src/domain/paging.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ec2Error } from '../src/domain/errors.js';
import { type FilterInput, type FilterTable, compileFilters } from '../src/domain/filters.js';
import { paginate } from '../src/domain/paging.js';

interface Item {
  id: string;
  name: string;
  size: number;
  on: boolean;
  zones: string[];
  note?: string | undefined;
  tags?: Map<string, string>;
}

const ITEMS: Item[] = [
  { id: 'a-1', name: 'web-1', size: 1, on: true, zones: ['z1', 'z2'], tags: new Map([['Name', 'Web'], ['env', 'prod']]) },
  { id: 'a-2', name: 'web-22', size: 2, on: false, zones: ['z2'], tags: new Map([['Name', 'web*'], ['team', 'prod']]) },
  { id: 'a-3', name: 'db?', size: 3, on: true, zones: [], note: 'x.y', tags: new Map([['env', '']]) },
  { id: 'a-4', name: 'a.c', size: 10, on: false, zones: ['z3'] },
  { id: 'a-5', name: 'back\\slash', size: 1, on: true, zones: ['z1'], note: 'line\nbreak' },
];

const TABLE: FilterTable<Item> = {
  fields: {
    id: (i) => i.id,
    name: (i) => i.name,
    size: (i) => i.size,
    on: (i) => i.on,
    zone: (i) => i.zones,
    note: (i) => i.note,
  },
  tags: (i) => i.tags,
};

/** Ids of the items the filters select. */
const select = (filters: FilterInput[] | undefined, table: FilterTable<Item> = TABLE) =>
  ITEMS.filter(compileFilters(table, filters)).map((i) => i.id);
const by = (Name: string, ...Values: string[]): FilterInput => ({ Name, Values });

function assertEc2Error(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Ec2Error, `expected an Ec2Error, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.status, 400);
    assert.match(err.message, message);
    return true;
  });
}

// --- filters ----------------------------------------------------------------------------------------

test('no filters (undefined or []) select everything', () => {
  assert.deepEqual(select(undefined), ['a-1', 'a-2', 'a-3', 'a-4', 'a-5']);
  assert.deepEqual(select([]), ['a-1', 'a-2', 'a-3', 'a-4', 'a-5']);
});

test('exact values match the whole value only', () => {
  assert.deepEqual(select([by('name', 'web-1')]), ['a-1']);
  assert.deepEqual(select([by('name', 'web')]), []);
  assert.deepEqual(select([by('name', 'eb-1')]), []);
});

test('* matches any run of characters (also none), ? exactly one', () => {
  assert.deepEqual(select([by('name', 'web-*')]), ['a-1', 'a-2']);
  assert.deepEqual(select([by('name', '*')]), ['a-1', 'a-2', 'a-3', 'a-4', 'a-5']);
  assert.deepEqual(select([by('name', 'web-?')]), ['a-1']);
  assert.deepEqual(select([by('name', 'web-??')]), ['a-2']);
  assert.deepEqual(select([by('name', '*-*2')]), ['a-2']);
  assert.deepEqual(select([by('name', 'web-1*')]), ['a-1']);
  // wildcards cross line breaks too
  assert.deepEqual(select([by('note', 'line*')]), ['a-5']);
  assert.deepEqual(select([by('note', 'line?break')]), ['a-5']);
});

test('regular-expression characters are literal', () => {
  assert.deepEqual(select([by('name', 'a.c')]), ['a-4']);
  assert.deepEqual(select([by('name', 'a.*')]), ['a-4']);
  assert.deepEqual(select([by('note', 'x.y')]), ['a-3']);
  assert.deepEqual(select([by('note', 'x?y')]), ['a-3']);
  assert.deepEqual(select([by('name', '[aw]*')]), []);
  assert.deepEqual(select([by('name', '(web)*')]), []);
  assert.deepEqual(select([by('name', '^web*')]), []);
});

test('a backslash escapes * and ? (and itself)', () => {
  assert.deepEqual(select([by('name', 'db\\?')]), ['a-3']);
  assert.deepEqual(select([by('name', 'db?')]), ['a-3'], 'unescaped ? also matches a literal ?');
  assert.deepEqual(select([by('name', 'd\\?')]), []);
  assert.deepEqual(select([by('tag:Name', 'web\\*')]), ['a-2']);
  assert.deepEqual(select([by('tag:Name', 'web*')]), ['a-2'], 'case-sensitive: Web does not match web*');
  assert.deepEqual(select([by('name', 'back\\\\slash')]), ['a-5']);
  assert.deepEqual(select([by('name', 'back\\slash')]), [], '\\s is an escaped s, not a backslash');
  assert.deepEqual(select([by('name', 'back*')]), ['a-5']);
});

test('matching is case-sensitive, for values and for filter names', () => {
  assert.deepEqual(select([by('name', 'WEB-1')]), []);
  assert.deepEqual(select([by('name', 'Web-*')]), []);
  assert.deepEqual(select([by('tag:Name', 'Web')]), ['a-1']);
  assert.deepEqual(select([by('tag:name', 'Web')]), [], 'tag keys are case-sensitive');
  assertEc2Error(() => compileFilters(TABLE, [by('Name', 'web-1')]), 'InvalidParameterValue', /^The filter 'Name' is invalid$/);
});

test('values within a filter are ORed, filters are ANDed', () => {
  assert.deepEqual(select([by('name', 'web-1', 'db?', 'nope')]), ['a-1', 'a-3']);
  assert.deepEqual(select([by('name', 'web-*'), by('on', 'true')]), ['a-1']);
  assert.deepEqual(select([by('name', 'web-*', 'db?'), by('on', 'true')]), ['a-1', 'a-3']);
  assert.deepEqual(select([by('name', 'web-*'), by('on', 'true'), by('size', '2')]), []);
  // the same filter name twice is ANDed too
  assert.deepEqual(select([by('name', 'web-*'), by('name', '*2')]), ['a-2']);
});

test('numbers and booleans compare as their text; a list-valued field matches if any element does', () => {
  assert.deepEqual(select([by('size', '1')]), ['a-1', 'a-5']);
  assert.deepEqual(select([by('size', '1*')]), ['a-1', 'a-4', 'a-5']);
  assert.deepEqual(select([by('on', 'false')]), ['a-2', 'a-4']);
  assert.deepEqual(select([by('on', 'False')]), []);
  assert.deepEqual(select([by('zone', 'z2')]), ['a-1', 'a-2']);
  assert.deepEqual(select([by('zone', '*')]), ['a-1', 'a-2', 'a-4', 'a-5'], 'an empty list has no value to match');
  assert.deepEqual(select([by('note', '*')]), ['a-3', 'a-5'], 'an undefined value never matches, not even *');
});

test('tag:KEY matches the value of that tag; items without the tag never match', () => {
  assert.deepEqual(select([by('tag:env', 'prod')]), ['a-1']);
  assert.deepEqual(select([by('tag:env', '*')]), ['a-1', 'a-3']);
  assert.deepEqual(select([by('tag:env', '')]), ['a-3'], 'an empty tag value matches an empty filter value');
  assert.deepEqual(select([by('tag:team', 'prod'), by('tag:env', 'prod')]), []);
  assert.deepEqual(select([by('tag:missing', '*')]), []);
  // a tag key with a colon and spaces
  const table: FilterTable<Item> = { ...TABLE, tags: () => new Map([['aws:cloudformation:stack name', 'my stack']]) };
  assert.deepEqual(select([by('tag:aws:cloudformation:stack name', 'my *')], table).length, 5);
});

test('tag-key and tag-value match any tag of the item', () => {
  assert.deepEqual(select([by('tag-key', 'env')]), ['a-1', 'a-3']);
  assert.deepEqual(select([by('tag-key', 'team', 'Name')]), ['a-1', 'a-2']);
  assert.deepEqual(select([by('tag-key', 'e*')]), ['a-1', 'a-3']);
  assert.deepEqual(select([by('tag-value', 'prod')]), ['a-1', 'a-2']);
  assert.deepEqual(select([by('tag-value', 'Web', 'web\\*')]), ['a-1', 'a-2']);
  assert.deepEqual(select([by('tag-value', '')]), ['a-3']);
  // tag-key and tag-value are independent: env=prod OR team=prod both satisfy this pair
  assert.deepEqual(select([by('tag-key', 'team'), by('tag-value', 'prod')]), ['a-2']);
});

test('tag filters on a resource without tags are unknown filters', () => {
  const untagged: FilterTable<Item> = { fields: TABLE.fields };
  for (const name of ['tag:Name', 'tag-key', 'tag-value']) {
    assertEc2Error(() => compileFilters(untagged, [by(name, 'x')]), 'InvalidParameterValue', new RegExp(`^The filter '${name}' is invalid$`));
  }
});

test('an unknown filter name is refused, naming it — at compile time, even with no items', () => {
  assertEc2Error(() => compileFilters(TABLE, [by('colour', 'red')]), 'InvalidParameterValue', /^The filter 'colour' is invalid$/);
  // the unknown one is found after a valid one too
  assertEc2Error(() => compileFilters(TABLE, [by('name', 'x'), by('nope', 'y')]), 'InvalidParameterValue', /'nope'/);
  // a filter without a name: EC2's own wording
  assertEc2Error(() => compileFilters(TABLE, [{ Values: ['x'] }]), 'InvalidParameterValue', /^The filter 'null' is invalid$/);
  assertEc2Error(() => compileFilters(TABLE, [by('', 'x')]), 'InvalidParameterValue', /^The filter 'null' is invalid$/);
});

test('Object.prototype names are unknown filters, not fields', () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    assertEc2Error(() => compileFilters(TABLE, [by(name, '*')]), 'InvalidParameterValue', /is invalid$/);
  }
});

test('a filter with no values (absent or empty) matches nothing, as EC2 does', () => {
  assert.deepEqual(select([{ Name: 'name' }]), []);
  assert.deepEqual(select([{ Name: 'name', Values: [] }]), []);
  assert.deepEqual(select([{ Name: 'tag:env' }]), []);
  assert.deepEqual(select([{ Name: 'tag-key', Values: [] }]), []);
  // the name is still checked
  assertEc2Error(() => compileFilters(TABLE, [{ Name: 'nope' }]), 'InvalidParameterValue', /'nope'/);
});

test('an empty-string value matches only an empty value', () => {
  const table: FilterTable<Item> = { fields: { v: (i) => (i.id === 'a-1' ? '' : i.id) } };
  assert.deepEqual(select([by('v', '')], table), ['a-1']);
  assert.deepEqual(select([by('v', '*')], table), ['a-1', 'a-2', 'a-3', 'a-4', 'a-5']);
});

// --- paging -----------------------------------------------------------------------------------------

const LIMITS = { min: 5, max: 1000 };
const numbers = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Every page of a listing, following NextToken. */
function allPages<T>(items: readonly T[], maxResults: number | undefined, query: unknown, limits = LIMITS): T[][] {
  const pages: T[][] = [];
  let token: string | undefined;
  do {
    const page = paginate(items, { MaxResults: maxResults, NextToken: token }, limits, query);
    pages.push(page.items);
    token = page.nextToken;
    assert.ok(pages.length <= items.length + 1, 'paging does not terminate');
  } while (token !== undefined);
  return pages;
}

test('without MaxResults everything comes back at once, with no token', () => {
  const page = paginate(numbers(1500), {}, LIMITS, { f: undefined });
  assert.equal(page.items.length, 1500);
  assert.equal(page.nextToken, undefined);
});

test('MaxResults cuts pages; the last page has no token; the pages cover every item once, in order', () => {
  const items = numbers(12);
  const pages = allPages(items, 5, { f: 'x' });
  assert.deepEqual(pages.map((p) => p.length), [5, 5, 2]);
  assert.deepEqual(pages.flat(), items);
  // an exact multiple ends without an empty extra page
  assert.deepEqual(allPages(numbers(10), 5, {}).map((p) => p.length), [5, 5]);
  // fewer items than MaxResults: one page, no token
  const one = paginate(numbers(3), { MaxResults: 5 }, LIMITS, {});
  assert.deepEqual(one, { items: [0, 1, 2], nextToken: undefined });
  // nothing at all
  assert.deepEqual(paginate([], { MaxResults: 5 }, LIMITS, {}), { items: [], nextToken: undefined });
});

test('MaxResults outside the limits, or not an integer, is InvalidParameterValue naming the range', () => {
  for (const bad of [4, 1001, 0, -5, 5.5, Number.NaN]) {
    assertEc2Error(
      () => paginate(numbers(10), { MaxResults: bad }, LIMITS, {}),
      'InvalidParameterValue',
      /Expecting a value between 5 and 1000/,
    );
  }
  assert.equal(paginate(numbers(10), { MaxResults: 5 }, LIMITS, {}).items.length, 5);
  assert.equal(paginate(numbers(2000), { MaxResults: 1000 }, LIMITS, {}).items.length, 1000);
  // other operations have other limits
  assertEc2Error(() => paginate(numbers(10), { MaxResults: 101 }, { min: 5, max: 100 }, {}), 'InvalidParameterValue', /between 5 and 100/);
});

test('a NextToken without MaxResults continues with pages of the maximum size', () => {
  const first = paginate(numbers(30), { MaxResults: 5 }, { min: 5, max: 10 }, {});
  const second = paginate(numbers(30), { NextToken: first.nextToken }, { min: 5, max: 10 }, {});
  assert.deepEqual(second.items, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  assert.ok(second.nextToken);
});

test('a token from one query is refused in another (InvalidNextToken naming it)', () => {
  const items = numbers(20);
  const q1 = { f: [{ Name: 'instance-state-name', Values: ['running'] }], ids: [] };
  const q2 = { f: [{ Name: 'instance-state-name', Values: ['stopped'] }], ids: [] };
  const token = paginate(items, { MaxResults: 5 }, LIMITS, q1).nextToken;
  assert.ok(token);
  // the same query continues
  assert.deepEqual(paginate(items, { MaxResults: 5, NextToken: token }, LIMITS, q1).items, [5, 6, 7, 8, 9]);
  // an equal query, built anew, continues too
  assert.deepEqual(paginate(items, { MaxResults: 5, NextToken: token }, LIMITS, structuredClone(q1)).items, [5, 6, 7, 8, 9]);
  // MaxResults may change between pages
  assert.deepEqual(paginate(items, { MaxResults: 10, NextToken: token }, LIMITS, q1).items, numbers(15).slice(5));
  for (const other of [q2, {}, undefined, { ...q1, ids: ['i-1'] }]) {
    assertEc2Error(
      () => paginate(items, { MaxResults: 5, NextToken: token }, LIMITS, other),
      'InvalidNextToken',
      new RegExp(`^The token '${token}' is invalid or has expired\\.$`),
    );
  }
});

test('forged, garbled and out-of-range tokens are refused', () => {
  const items = numbers(20);
  const query = { f: 'q' };
  const token = paginate(items, { MaxResults: 5 }, LIMITS, query).nextToken;
  assert.ok(token);
  const [position, print] = Buffer.from(token, 'base64url').toString().split('.') as [string, string];
  assert.equal(position, '5');
  const forge = (text: string) => Buffer.from(text).toString('base64url');
  // a forged position within range is accepted (the token is a cursor, not a secret) …
  assert.deepEqual(paginate(items, { MaxResults: 5, NextToken: forge(`15.${print}`) }, LIMITS, query).items, [15, 16, 17, 18, 19]);
  // … but not past the end, nor with a wrong fingerprint, nor garbage
  for (const bad of [forge(`21.${print}`), forge(`5.${'x'.repeat(10)}`), forge(`-1.${print}`), forge(`5.${print}.x`), 'garbage', '%%%']) {
    assertEc2Error(() => paginate(items, { MaxResults: 5, NextToken: bad }, LIMITS, query), 'InvalidNextToken', /is invalid or has expired/);
  }
});

test('an empty NextToken is no token: the first page', () => {
  const items = numbers(20);
  assert.deepEqual(paginate(items, { MaxResults: 5, NextToken: '' }, LIMITS, { f: 'q' }).items, [0, 1, 2, 3, 4]);
});

test('a token stays valid when items are removed before it is used (the page may be shorter, never wrong)', () => {
  const query = {};
  const token = paginate(numbers(12), { MaxResults: 5 }, LIMITS, query).nextToken;
  assert.ok(token);
  // the listing shrank to 7: the cursor at 5 still points inside it
  assert.deepEqual(paginate(numbers(7), { MaxResults: 5, NextToken: token }, LIMITS, query), { items: [5, 6], nextToken: undefined });
  // shrank to exactly 5: an empty last page
  assert.deepEqual(paginate(numbers(5), { MaxResults: 5, NextToken: token }, LIMITS, query), { items: [], nextToken: undefined });
});
