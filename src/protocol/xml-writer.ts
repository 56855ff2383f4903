/**
 * EC2 response XML, written from the operation's output schema.
 *
 * Each struct shape is compiled once into a straight-line JavaScript function, generated with
 * `new Function` the way fast-json-stringify and ajv compile schemas. For `Instance` it reads:
 *
 *     let o = ''; let v;
 *     v = obj["InstanceId"]; if (v != null) { o += "<instanceId>" + (… ? v : S(v)) + "</instanceId>"; }
 *     v = obj["State"]; if (v != null) { o += "<instanceState>" + W[0](v) + "</instanceState>"; }
 *     v = obj["Tags"]; if (v != null) { if (v.length === 0) o += "<tagSet/>"; else { o += "<tagSet>";
 *       for (const x0 of v) if (x0 != null) { o += "<item>" + W[1](x0) + "</item>"; } o += "</tagSet>"; } }
 *     …
 *     return o;
 *
 * S, N, T and X write scalars (string, number, timestamp, blob; a boolean element is one of two
 * constants), lists and maps become loops in place, and `W` is the array of the nested structs'
 * writers, handed to the generated code. So a response is one pass over the data and string
 * concatenation: no schema walk and no closure call per member. Element and member names enter the
 * generated code only as JSON.stringify'd literals.
 *
 * Writers are cached by shape name. A nested struct is compiled on first use (see Unit), so compiling
 * never recurses: recursive shapes terminate, and only shapes that data reaches are compiled.
 */
import { NOT_XML_CHAR } from '../domain/text.js';
import { type NormalizedSchema, isFlattened, scalarKind, xmlElementName, xmlItemName } from './schema.js';

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

type Writer = (value: unknown) => string;

/**
 * Every text node goes through escapeXml. The five markup characters become entities and CR becomes
 * `&#13;` (so it survives XML's line-end normalisation). Characters XML 1.0 cannot carry at all — not
 * even as a character reference: U+0000–U+001F other than tab, LF and CR, U+FFFE, U+FFFF and unpaired
 * surrogates — are REPLACED by U+FFFD, so every document nestbox writes is well-formed whatever was
 * sent. Stored members refuse such characters at the door (src/domain/text.ts), so the replacement only
 * shows where input is echoed (an error naming a bad action, parameter or value) or in text stored
 * before that check existed.
 */
const NEEDS_WORK = /[&<>"'\r\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };
const ESCAPE_ALL = new RegExp(`[&<>"'\\r]|${NOT_XML_CHAR.source}`, 'g');

export function escapeXml(s: string): string {
  // Valid surrogate pairs (emoji …) take the slow path too, and come out of it unchanged.
  return NEEDS_WORK.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPES[c] ?? '\uFFFD') : s;
}

/** The last date written: a response often repeats one (an instance's launch, attach and usage times). */
let lastTime = NaN;
let lastIso = '';

/** `d.toISOString()` (RangeError for an invalid date), remembering the last one. */
function isoTime(d: Date): string {
  const t = d.getTime();
  if (t !== lastTime) {
    lastIso = d.toISOString();
    lastTime = t;
  }
  return lastIso;
}

/** What generated code refers to, by name: the scalar writers, and the escape check it inlines. */
const SCALARS = {
  S: (v: unknown): string => escapeXml(String(v)),
  N: (v: unknown): string => String(v),
  T: (v: unknown): string => (v instanceof Date ? isoTime(v) : escapeXml(String(v))),
  X: (v: unknown): string => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : escapeXml(String(v))),
  /** map keys */
  E: escapeXml,
  R: NEEDS_WORK,
} as const;
const SCALAR_NAMES = Object.keys(SCALARS);
const SCALAR_VALUES = Object.values(SCALARS);
const SCALAR_CALL = { string: 'S', number: 'N', timestamp: 'T', blob: 'X' } as const;

/** A string as a JavaScript literal: the only way a schema string enters generated code. */
const lit = (s: string): string => JSON.stringify(s);

/** Writers of a struct shape's content (what goes between its open and close tags), by shape name. */
const contentWriters = new Map<string, Writer>();

const shapeId = (schema: NormalizedSchema): string => schema.getName(true) ?? '';

function structWriter(schema: NormalizedSchema): Writer {
  const id = shapeId(schema);
  let writer = contentWriters.get(id);
  if (!writer) {
    writer = compileStruct(schema);
    contentWriters.set(id, writer);
  }
  return writer;
}

/**
 * One generated function in the making: its dependencies `W[0]`, `W[1]`, … and loop variable names.
 * A nested struct not compiled yet is a stub that compiles it on first call and puts the writer in its
 * place. So compiling a struct never compiles another: recursive shapes terminate, and a response
 * compiles only the shapes its data reaches.
 */
class Unit {
  readonly writers: Writer[] = [];
  private readonly slots = new Map<string, number>();
  private vars = 0;

  /** The expression generated code calls the content writer of struct `schema` by. */
  struct(schema: NormalizedSchema): string {
    const id = shapeId(schema);
    let slot = this.slots.get(id);
    if (slot === undefined) {
      const writers = this.writers;
      const i = writers.length;
      writers.push(contentWriters.get(id) ?? ((v) => (writers[i] = structWriter(schema))(v)));
      this.slots.set(id, (slot = i));
    }
    return `W[${slot}]`;
  }

  /** A variable name not used before in this function. */
  fresh(prefix: 'x' | 'k'): string {
    return `${prefix}${this.vars++}`;
  }
}

function compileStruct(schema: NormalizedSchema): Writer {
  const unit = new Unit();
  const members = [...schema.structIterator()].map(([name, member]) => memberCode(name, member, unit));
  // \W keeps [A-Za-z0-9_]: the function's name in stack traces and profiles.
  const fnName = `xml_${(schema.getName() ?? 'struct').replace(/\W/g, '_')}`;
  const source = [`return function ${fnName}(obj) {`, `let o = ''; let v;`, ...members, 'return o;', '};'].join('\n');
  const factory = new Function(...SCALAR_NAMES, 'W', source) as (...deps: unknown[]) => Writer;
  return factory(...SCALAR_VALUES, unit.writers);
}

/** Statements appending a member of `obj` (absent: nothing) to `o`. */
function memberCode(name: string, member: NormalizedSchema, unit: Unit): string {
  const element = xmlElementName(name, member);
  const open = `<${element}>`;
  const close = `</${element}>`;
  const read = `v = obj[${lit(name)}];`;
  if (member.isListSchema() && isFlattened(member)) {
    // One element per item, no wrapper.
    const x = unit.fresh('x');
    return `${read} if (v != null) for (const ${x} of v) if (${x} != null) { ${elementCode(member.getValueSchema(), x, open, close, unit)} }`;
  }
  if (member.isListSchema()) {
    // An empty list is written as an empty element: the SDK reads it as [] (omitted would be undefined).
    const empty = `o += ${lit(`<${element}/>`)};`;
    return `${read} if (v != null) { if (v.length === 0) ${empty} else { ${elementCode(member, 'v', open, close, unit)} } }`;
  }
  return `${read} if (v != null) { ${elementCode(member, 'v', open, close, unit)} }`;
}

/** Statements appending `open`, the content of the value in variable `x`, and `close` to `o`. */
function elementCode(schema: NormalizedSchema, x: string, open: string, close: string, unit: Unit): string {
  if (schema.isListSchema()) return `o += ${lit(open)}; ${listCode(schema, x, unit)} o += ${lit(close)};`;
  if (schema.isMapSchema()) return `o += ${lit(open)}; ${mapCode(schema, x, unit)} o += ${lit(close)};`;
  if (schema.isStructSchema()) return `o += ${lit(open)} + ${unit.struct(schema)}(${x}) + ${lit(close)};`;
  const kind = scalarKind(schema);
  if (kind === 'boolean') {
    // The whole element is one of two constants.
    return `o += ${x} === true || ${x} === "true" ? ${lit(`${open}true${close}`)} : ${lit(`${open}false${close}`)};`;
  }
  if (kind === 'string') {
    // Most strings have nothing to escape: escapeXml's check, inline.
    return `o += ${lit(open)} + (typeof ${x} === "string" && !R.test(${x}) ? ${x} : S(${x})) + ${lit(close)};`;
  }
  return `o += ${lit(open)} + ${SCALAR_CALL[kind]}(${x}) + ${lit(close)};`;
}

/** A list's content: one element per item, null items skipped. */
function listCode(list: NormalizedSchema, x: string, unit: Unit): string {
  const itemName = xmlItemName(list);
  const item = unit.fresh('x');
  const itemCode = elementCode(list.getValueSchema(), item, `<${itemName}>`, `</${itemName}>`, unit);
  return `for (const ${item} of ${x}) if (${item} != null) { ${itemCode} }`;
}

/** A map's content: `<entry><key>k</key><value>v</value></entry>` per entry, null values skipped. */
function mapCode(map: NormalizedSchema, x: string, unit: Unit): string {
  const key = unit.fresh('k');
  const value = unit.fresh('x');
  const valueCode = elementCode(map.getValueSchema(), value, '<value>', '</value>', unit);
  return (
    `for (const ${key} of Object.keys(${x})) { const ${value} = ${x}[${key}]; if (${value} != null) { ` +
    `o += "<entry><key>" + E(${key}) + "</key>"; ${valueCode} o += "</entry>"; } }`
  );
}

/** Members of the output shape, written directly under the response root (EC2 has no …Result wrapper). */
export function writeOutputMembers(output: NormalizedSchema, value: unknown): string {
  if (!output.isStructSchema()) return '<return>true</return>';
  return structWriter(output)((value ?? {}) as Record<string, unknown>);
}

export function successDocument(action: string, requestId: string, output: NormalizedSchema, value: unknown): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}">` +
    `<requestId>${requestId}</requestId>${writeOutputMembers(output, value)}</${action}Response>`
  );
}

/** The EC2 error envelope: no namespace, `RequestID` with a capital ID, as real EC2 answers. */
export function errorDocument(code: string, message: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
  );
}
