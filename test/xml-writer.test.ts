/**
 * The compiled XML writer (src/protocol/xml-writer.ts) against what it must write: hand-made shapes for
 * what EC2's output shapes never use (recursion, maps, flattened lists, lists of lists, odd names), and
 * a plain schema-walking reference writer over seeded random values of real EC2 shapes. No timings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NormalizedSchema } from '@smithy/core/schema';
import {
  isFlattened,
  operationSchema,
  scalarKind,
  shapeSchema,
  xmlElementName,
  xmlItemName,
} from '../src/protocol/schema.js';
import { escapeXml, successDocument, writeOutputMembers } from '../src/protocol/xml-writer.js';
import { rng } from './fixtures.js';

/** A NormalizedSchema of a static schema literal ([3, ns, name, traits, names, members] for a struct …). */
const shape = (s: unknown): NormalizedSchema => NormalizedSchema.of(s as Parameters<typeof NormalizedSchema.of>[0]);
// Shape names are unique to this file: the writer caches compiled shapes by name for the process.
const NS = 'nestbox.xmlwritertest';
const STRING = 0;
const NUMBER = 1;
const BOOLEAN = 2;
const TIMESTAMP = 4;
const BLOB = 21;

test('recursive shapes: a struct that holds itself, directly and through a list', () => {
  const Node: unknown[] = [3, NS, 'Node', 0, ['Name', 'Parent', 'Children'], []];
  const NodeList = [1, NS, 'NodeList', 0, () => Node];
  (Node[5] as unknown[]).push([STRING, { xmlName: 'name' }], () => Node, [() => NodeList, { xmlName: 'childSet' }]);
  const value = {
    Name: 'root',
    Parent: { Name: 'up', Parent: { Name: 'top' } },
    Children: [{ Name: 'a', Children: [] }, null, { Name: 'b', Children: [{ Name: 'b1' }] }],
  };
  assert.equal(
    writeOutputMembers(shape(Node), value),
    '<name>root</name><Parent><name>up</name><Parent><name>top</name></Parent></Parent>' +
      '<childSet><member><name>a</name><childSet/></member>' +
      '<member><name>b</name><childSet><member><name>b1</name></member></childSet></member></childSet>',
  );
});

test('lists: empty list an empty element, null items skipped, item names, lists of lists', () => {
  const Tag = [3, NS, 'Tag', 0, ['Key', 'Value'], [[STRING, { xmlName: 'key' }], [STRING, { xmlName: 'value' }]]];
  const TagList = [1, NS, 'TagList', 0, [() => Tag, { xmlName: 'item' }]];
  const Strings = [1, NS, 'Strings', 0, STRING];
  const Grid = [1, NS, 'Grid', 0, [() => Strings, { xmlName: 'row' }]];
  const Out = [3, NS, 'ListsOut', 0, ['Tags', 'Names', 'Grid'], [[() => TagList, { xmlName: 'tagSet' }], () => Strings, () => Grid]];
  const out = shape(Out);
  assert.equal(
    writeOutputMembers(out, { Tags: [{ Key: 'k', Value: '' }, null, undefined, { Key: 'only' }], Names: ['a', null, 'b'], Grid: [['x'], [], null] }),
    '<tagSet><item><key>k</key><value></value></item><item><key>only</key></item></tagSet>' +
      '<Names><member>a</member><member>b</member></Names><Grid><row><member>x</member></row><row></row></Grid>',
  );
  assert.equal(writeOutputMembers(out, { Tags: [], Names: [], Grid: [] }), '<tagSet/><Names/><Grid/>');
  // Not empty, but nothing to write: the element stays, with nothing in it.
  assert.equal(writeOutputMembers(out, { Tags: [null], Names: [undefined] }), '<tagSet></tagSet><Names></Names>');
  assert.equal(writeOutputMembers(out, { Tags: null, Names: undefined }), '');
});

test('flattened lists: one element per item, no wrapper, null items skipped', () => {
  const Leaf = [3, NS, 'FlatLeaf', 0, ['Name'], [STRING]];
  const Leaves = [1, NS, 'FlatLeaves', 0, [() => Leaf, { xmlName: 'leaf' }]];
  const Strings = [1, NS, 'FlatStrings', 0, [STRING, { xmlName: 'item' }]];
  const Out = [3, NS, 'FlatOut', 0, ['Names', 'Leaves'], [[() => Strings, { xmlFlattened: 1, xmlName: 'name' }], [() => Leaves, { xmlFlattened: 1 }]]];
  const out = shape(Out);
  assert.equal(
    writeOutputMembers(out, { Names: ['a', null, 'b&c'], Leaves: [{ Name: 'x' }, null, { Name: 'y' }] }),
    '<name>a</name><name>b&amp;c</name><Leaves><Name>x</Name></Leaves><Leaves><Name>y</Name></Leaves>',
  );
  assert.equal(writeOutputMembers(out, { Names: [], Leaves: [] }), '');
});

test('maps: an entry per non-null value, keys escaped, struct and list values', () => {
  const Leaf = [3, NS, 'MapLeaf', 0, ['N'], [NUMBER]];
  const Strings = [1, NS, 'MapStrings', 0, STRING];
  const Out = [3, NS, 'MapOut', 0, ['Plain', 'Leaves', 'Lists'], [
    [2, NS, 'PlainMap', 0, STRING, STRING],
    [2, NS, 'LeafMap', 0, STRING, () => Leaf],
    [2, NS, 'ListMap', 0, STRING, () => Strings],
  ]];
  assert.equal(
    writeOutputMembers(shape(Out), {
      Plain: { a: 'x<', 'k&"': '', gone: null },
      Leaves: { one: { N: 1 }, none: undefined },
      Lists: { l: ['p'], e: [] },
    }),
    '<Plain><entry><key>a</key><value>x&lt;</value></entry><entry><key>k&amp;&quot;</key><value></value></entry></Plain>' +
      '<Leaves><entry><key>one</key><value><N>1</N></value></entry></Leaves>' +
      '<Lists><entry><key>l</key><value><member>p</member></value></entry><entry><key>e</key><value></value></entry></Lists>',
  );
  assert.equal(writeOutputMembers(shape(Out), { Plain: {} }), '<Plain></Plain>');
});

test('scalars: strings escaped, numbers, booleans, timestamps, blobs, values of the wrong type', () => {
  const Out = [3, NS, 'ScalarOut', 0, ['S', 'N', 'B', 'T', 'X'], [STRING, NUMBER, BOOLEAN, TIMESTAMP, BLOB]];
  const out = shape(Out);
  const write = (value: object) => writeOutputMembers(out, value);
  assert.equal(write({ S: `a&b<c>"d'e\rf\u0001g\uD800h😀` }), `<S>a&amp;b&lt;c&gt;&quot;d&apos;e&#13;f\uFFFDg\uFFFDh😀</S>`);
  assert.equal(write({ S: 42, N: 2.5 }), '<S>42</S><N>2.5</N>');
  assert.equal(write({ N: -0 }), '<N>0</N>');
  assert.equal(write({ N: 1e21 }), '<N>1e+21</N>');
  assert.equal(write({ N: '7' }), '<N>7</N>');
  assert.equal(write({ B: true }), '<B>true</B>');
  assert.equal(write({ B: 'true' }), '<B>true</B>');
  assert.equal(write({ B: false }), '<B>false</B>');
  assert.equal(write({ B: 1 }), '<B>false</B>');
  assert.equal(write({ T: new Date(Date.UTC(2026, 1, 16, 10, 0, 0, 7)) }), '<T>2026-02-16T10:00:00.007Z</T>');
  assert.equal(write({ T: '2026-02-16T10:00:00Z&' }), '<T>2026-02-16T10:00:00Z&amp;</T>');
  assert.equal(write({ X: new Uint8Array([0, 1, 2, 250, 255]) }), '<X>AAEC+v8=</X>');
  assert.equal(write({ X: Buffer.from('hello') }), '<X>aGVsbG8=</X>');
  assert.equal(write({ X: 'a<b' }), '<X>a&lt;b</X>');
  assert.throws(() => write({ T: new Date(Number.NaN) }), RangeError);
});

test('timestamps: every date written as Date#toISOString writes it', () => {
  const out = shape([3, NS, 'TimeOut', 0, ['T'], [TIMESTAMP]]);
  const iso = (t: number) => writeOutputMembers(out, { T: new Date(t) }).slice('<T>'.length, -'</T>'.length);
  const MAX = 8.64e15;
  const edges = [0, -1, 1, -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000, MAX, -MAX];
  // Leap days and century years (2000 is a leap year, 1900 and 2100 are not), both sides of 1970.
  for (const [y, m, d] of [[2000, 1, 29], [2024, 1, 29], [1900, 1, 28], [1900, 2, 1], [2100, 1, 28], [2100, 2, 1], [1969, 11, 31], [0, 0, 1], [9999, 11, 31]] as const) {
    const t = new Date(0).setUTCFullYear(y, m, d);
    edges.push(t, t - 1, t + 86_399_999);
  }
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const samples = Array.from({ length: 20_000 }, () => Math.floor((random() * 2 - 1) * 320_000_000_000_000));
  for (const t of [...edges, ...samples]) assert.equal(iso(t), new Date(t).toISOString(), String(t));
  // The same time twice in a row (the writer remembers the last one), then another.
  for (const t of [5, 5, 6, 5]) assert.equal(iso(t), new Date(t).toISOString());
});

test('member and element names go into generated code as literals, whatever they hold', () => {
  const odd = `a"b'c\\d\`\${x}\u2028e`;
  const OddList = [1, NS, 'OddList', 0, [STRING, { xmlName: "i'j" }]];
  const Out = [3, NS, 'OddNames', 0, [odd, 'plain'], [[STRING, { xmlName: 'x"y' }], () => OddList]];
  assert.equal(writeOutputMembers(shape(Out), { [odd]: 'v', plain: ['1'] }), `<x"y>v</x"y><plain><i'j>1</i'j></plain>`);
});

test('a shape shared by several parents writes the same everywhere', () => {
  const Shared = [3, NS, 'Shared', 0, ['V'], [STRING]];
  const A = [3, NS, 'ParentA', 0, ['S'], [() => Shared]];
  const B = [3, NS, 'ParentB', 0, ['S', 'T'], [() => Shared, [() => Shared, { xmlName: 'other' }]]];
  assert.equal(writeOutputMembers(shape(A), { S: { V: 'a' } }), '<S><V>a</V></S>');
  assert.equal(writeOutputMembers(shape(B), { S: { V: 'b' }, T: { V: 'c' } }), '<S><V>b</V></S><other><V>c</V></other>');
  assert.equal(writeOutputMembers(shape(A), { S: { V: 'd' } }), '<S><V>d</V></S>');
});

test('an output that is not a struct, and no value at all', () => {
  const schema = operationSchema('DescribeInstances');
  assert.ok(schema);
  assert.equal(writeOutputMembers(shape(STRING), { x: 1 }), '<return>true</return>');
  assert.equal(writeOutputMembers(schema.output, undefined), '');
  assert.equal(writeOutputMembers(schema.output, null), '');
  assert.match(successDocument('DescribeInstances', 'req-1', schema.output, {}), /<requestId>req-1<\/requestId><\/DescribeInstancesResponse>$/);
});

// --- the reference writer ------------------------------------------------------------------------

/** The content of `value` as `schema` says, by walking the schema: what the compiled writers must match. */
function reference(schema: NormalizedSchema, value: unknown): string {
  if (schema.isStructSchema()) {
    let out = '';
    for (const [name, member] of schema.structIterator()) {
      const v = (value as Record<string, unknown>)[name];
      if (v == null) continue;
      const el = xmlElementName(name, member);
      if (member.isListSchema() && isFlattened(member)) {
        for (const x of v as unknown[]) if (x != null) out += `<${el}>${reference(member.getValueSchema(), x)}</${el}>`;
      } else if (member.isListSchema() && (v as unknown[]).length === 0) out += `<${el}/>`;
      else out += `<${el}>${reference(member, v)}</${el}>`;
    }
    return out;
  }
  if (schema.isListSchema()) {
    const item = xmlItemName(schema);
    return (value as unknown[]).filter((x) => x != null).map((x) => `<${item}>${reference(schema.getValueSchema(), x)}</${item}>`).join('');
  }
  if (schema.isMapSchema()) {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, x]) => x != null)
      .map(([k, x]) => `<entry><key>${escapeXml(k)}</key><value>${reference(schema.getValueSchema(), x)}</value></entry>`)
      .join('');
  }
  switch (scalarKind(schema)) {
    case 'number':
      return String(value);
    case 'boolean':
      return value === true || value === 'true' ? 'true' : 'false';
    case 'timestamp':
      return value instanceof Date ? value.toISOString() : escapeXml(String(value));
    case 'blob':
      return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : escapeXml(String(value));
    default:
      return escapeXml(String(value));
  }
}


const TEXTS = ['', 'i-0123456789abcdef0', 'running', 'a & b', '<x>', `"q" 'a'`, 'line\r\nnext', 'bad\u0000\uFFFE', '\uDC00lone', 'emoji 😀', 'é'];

/** A random value of `schema`: members present or absent (null, undefined), lists empty or with null items. */
function randomValue(schema: NormalizedSchema, random: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  if (schema.isStructSchema()) {
    const out: Record<string, unknown> = {};
    for (const [name, member] of schema.structIterator()) {
      const r = random();
      if (r < 0.35) continue;
      out[name] = r < 0.4 ? pick([null, undefined]) : randomValue(member, random, depth + 1);
    }
    return out;
  }
  if (schema.isListSchema()) {
    if (depth > 6) return [];
    return Array.from({ length: pick([0, 1, 2, 3]) }, () => (random() < 0.1 ? null : randomValue(schema.getValueSchema(), random, depth + 1)));
  }
  if (schema.isMapSchema()) {
    return Object.fromEntries(TEXTS.slice(0, pick([0, 1, 3])).map((k) => [k, randomValue(schema.getValueSchema(), random, depth + 1)]));
  }
  switch (scalarKind(schema)) {
    case 'number':
      return pick([0, 1, -5, 2.5, 1e21, Number.NaN]);
    case 'boolean':
      return pick([true, false, 'true', 'false']);
    case 'timestamp':
      return random() < 0.8 ? new Date(Math.floor((random() * 2 - 1) * 4e14)) : pick(TEXTS);
    case 'blob':
      return random() < 0.8 ? new Uint8Array([Math.floor(random() * 256), 1, 2]) : pick(TEXTS);
    default:
      return random() < 0.9 ? pick(TEXTS) : pick([7, true]);
  }
}

test('real EC2 shapes: the compiled writers write what the reference writer writes', () => {
  const random = rng(20261203);
  for (const action of ['DescribeInstances', 'RunInstances', 'DescribeInstanceTypes', 'DescribeLaunchTemplateVersions', 'DescribeImages', 'DescribeRegions']) {
    const schema = operationSchema(action);
    assert.ok(schema, action);
    for (let i = 0; i < 40; i++) {
      const value = randomValue(schema.output, random, 0);
      assert.equal(writeOutputMembers(schema.output, value), reference(schema.output, value), `${action} #${i}`);
    }
  }
  const instance = shapeSchema('Instance');
  assert.ok(instance);
  const value = randomValue(instance, random, 0);
  assert.equal(writeOutputMembers(instance, value), reference(instance, value));
});

test('escapeXml: each UTF-16 code unit, alone and between others', () => {
  const expected = (c: number): string => {
    const ch = String.fromCharCode(c);
    const named: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };
    if (named[ch]) return named[ch];
    const notXml = (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff || (c >= 0xd800 && c <= 0xdfff);
    return notXml ? '\uFFFD' : ch;
  };
  for (let c = 0; c < 0x10000; c++) {
    const ch = String.fromCharCode(c);
    assert.equal(escapeXml(`ab${ch}cd`), `ab${expected(c)}cd`, `U+${c.toString(16)}`);
  }
  assert.equal(escapeXml('😀 \uD83D\uDE00'), '😀 😀');
});
