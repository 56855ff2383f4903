/**
 * EC2 response XML, written from the operation's output schema.
 *
 * Each output shape is compiled once into a writer (a closure per member with its element names
 * precomputed), so a response costs one pass over the data and string concatenation — no schema walk
 * per response and no per-operation templates.
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

const writeString: Writer = (v) => escapeXml(String(v));
const writeNumber: Writer = (v) => String(v);
const writeBoolean: Writer = (v) => (v === true || v === 'true' ? 'true' : 'false');
const writeTimestamp: Writer = (v) => (v instanceof Date ? v.toISOString() : escapeXml(String(v)));
const writeBlob: Writer = (v) =>
  v instanceof Uint8Array ? Buffer.from(v).toString('base64') : escapeXml(String(v));

const SCALAR_WRITERS = {
  string: writeString,
  number: writeNumber,
  boolean: writeBoolean,
  timestamp: writeTimestamp,
  blob: writeBlob,
} as const;

/** Writers of a shape's content (what goes between its open and close tags), by shape identity. */
const contentWriters = new Map<string, Writer>();

function contentWriterOf(schema: NormalizedSchema): Writer {
  if (schema.isStructSchema()) return structWriter(schema);
  if (schema.isListSchema()) {
    // Non-flattened list content: one element per item.
    const itemName = xmlItemName(schema);
    const item = lazy(() => contentWriterOf(schema.getValueSchema()));
    const open = `<${itemName}>`;
    const close = `</${itemName}>`;
    return (v) => {
      let out = '';
      for (const x of v as readonly unknown[]) if (x != null) out += open + item()(x) + close;
      return out;
    };
  }
  if (schema.isMapSchema()) {
    const value = lazy(() => contentWriterOf(schema.getValueSchema()));
    return (v) => {
      let out = '';
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (x != null) out += `<entry><key>${escapeXml(k)}</key><value>${value()(x)}</value></entry>`;
      }
      return out;
    };
  }
  return SCALAR_WRITERS[scalarKind(schema)];
}

function lazy<T>(make: () => T): () => T {
  let memo: T | undefined;
  return () => (memo ??= make());
}

function structWriter(schema: NormalizedSchema): Writer {
  const id = schema.getName(true) ?? '';
  const cached = contentWriters.get(id);
  if (cached) return cached;
  // Registered before the members are compiled, so recursive shapes terminate.
  const members: ((obj: Record<string, unknown>) => string)[] = [];
  const writer: Writer = (v) => {
    const obj = v as Record<string, unknown>;
    let out = '';
    for (const m of members) out += m(obj);
    return out;
  };
  contentWriters.set(id, writer);
  for (const [name, member] of schema.structIterator()) members.push(memberWriter(name, member));
  return writer;
}

function memberWriter(name: string, member: NormalizedSchema): (obj: Record<string, unknown>) => string {
  const element = xmlElementName(name, member);
  const open = `<${element}>`;
  const close = `</${element}>`;
  const content = lazy(() => contentWriterOf(member));
  if (member.isListSchema() && isFlattened(member)) {
    return (obj) => {
      const v = obj[name] as readonly unknown[] | undefined;
      if (v == null) return '';
      let out = '';
      for (const x of v) if (x != null) out += open + content()(x) + close;
      return out;
    };
  }
  if (member.isListSchema()) {
    // An empty list is written as an empty element: the SDK reads it as [] (omitted would be undefined).
    const empty = `<${element}/>`;
    return (obj) => {
      const v = obj[name] as readonly unknown[] | undefined;
      if (v == null) return '';
      return v.length === 0 ? empty : open + content()(v) + close;
    };
  }
  return (obj) => {
    const v = obj[name];
    return v == null ? '' : open + content()(v) + close;
  };
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
