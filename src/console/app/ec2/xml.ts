/**
 * A small XML reader for EC2's Query-protocol answers: elements, their text and their children. EC2's
 * documents have no attributes the console needs, no mixed content and no DTD; comments, CDATA and the
 * XML declaration are read past. Runs the same in the browser and in Node (the unit tests), with no
 * DOM: the console parses thousands of instances with it, so it scans with indexOf and keeps one
 * small object per element.
 */

export interface XmlElement {
  readonly name: string;
  /** the element's children, in document order (empty for a leaf) */
  readonly children: XmlElement[];
  /** the element's own text, entities decoded ('' when it has children or is empty) */
  text: string;
}

const ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(raw: string): string {
  if (raw.indexOf('&') === -1) return raw;
  return raw.replace(ENTITY, (_, hex: string | undefined, dec: string | undefined, named: string | undefined) =>
    named !== undefined ? (NAMED[named] as string) : String.fromCodePoint(parseInt(hex ?? dec ?? '0', hex ? 16 : 10)),
  );
}

export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
}

export interface ParseOptions {
  /**
   * Elements read past without building them (with everything inside): the list of instances skips the
   * members it never shows, which is most of a DescribeInstances answer. Such an element must not contain
   * another of the same name.
   */
  readonly skip?: ReadonlySet<string>;
}

/** The document's root element. Throws XmlSyntaxError when the text is not well-formed enough to read. */
export function parseXml(source: string, options: ParseOptions = {}): XmlElement {
  const skip = options.skip;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let pos = 0;
  let textStart = -1;
  const n = source.length;
  while (pos < n) {
    const lt = source.indexOf('<', pos);
    if (lt === -1) break;
    if (textStart !== -1 && lt > textStart) {
      const top = stack[stack.length - 1];
      if (top && top.children.length === 0) top.text += decodeEntities(source.slice(textStart, lt));
    }
    textStart = -1;
    const next = source.charCodeAt(lt + 1);
    if (next === 0x3f /* ? */) {
      pos = skipPast(source, '?>', lt);
      continue;
    }
    if (next === 0x21 /* ! */) {
      if (source.startsWith('<![CDATA[', lt)) {
        const end = source.indexOf(']]>', lt + 9);
        if (end === -1) throw new XmlSyntaxError('unterminated CDATA section');
        const top = stack[stack.length - 1];
        if (top) top.text += source.slice(lt + 9, end);
        pos = end + 3;
      } else {
        pos = skipPast(source, source.startsWith('<!--', lt) ? '-->' : '>', lt);
      }
      continue;
    }
    const gt = source.indexOf('>', lt + 1);
    if (gt === -1) throw new XmlSyntaxError('unterminated tag');
    if (next === 0x2f /* / */) {
      const name = source.slice(lt + 2, gt).trim();
      const open = stack.pop();
      if (!open || open.name !== name) throw new XmlSyntaxError(`unexpected </${name}>`);
      if (open.children.length > 0) open.text = '';
    } else {
      const selfClosing = source.charCodeAt(gt - 1) === 0x2f;
      const name = source.slice(lt + 1, nameEnd(source, lt + 1, selfClosing ? gt - 1 : gt));
      if (skip?.has(name)) {
        pos = selfClosing ? gt + 1 : skipPast(source, `</${name}>`, gt);
        continue;
      }
      const element: XmlElement = { name, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) throw new XmlSyntaxError('more than one root element');
      else root = element;
      if (!selfClosing) stack.push(element);
      textStart = gt + 1;
    }
    pos = gt + 1;
  }
  if (!root || stack.length > 0) throw new XmlSyntaxError(root ? `unclosed <${stack[stack.length - 1]?.name}>` : 'no root element');
  return root;
}

/** Where the element name starting at `from` ends: at whitespace or at `end` (the tag's `>` or `/>`). */
function nameEnd(source: string, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) return i;
  }
  return end;
}

function skipPast(source: string, end: string, from: number): number {
  const at = source.indexOf(end, from);
  if (at === -1) throw new XmlSyntaxError(`expected ${end}`);
  return at + end.length;
}

// --- reading ----------------------------------------------------------------------------------------

/** The first child named `name`. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  if (!el) return undefined;
  for (const c of el.children) if (c.name === name) return c;
  return undefined;
}

/** The element at a path of child names. */
export function at(el: XmlElement | undefined, ...path: string[]): XmlElement | undefined {
  let cur = el;
  for (const name of path) cur = child(cur, name);
  return cur;
}

/** The text of the child at `path`, or undefined when there is no such element. */
export function text(el: XmlElement | undefined, ...path: string[]): string | undefined {
  return at(el, ...path)?.text;
}

/** The `<item>` members of the list at `path` (EC2's non-flattened lists). */
export function items(el: XmlElement | undefined, ...path: string[]): XmlElement[] {
  return at(el, ...path)?.children.filter((c) => c.name === 'item') ?? [];
}
