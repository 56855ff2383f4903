/**
 * Free text that nestbox stores and sends back: what XML 1.0 can carry, and the checks that refuse
 * the rest at the door.
 *
 * XML 1.0 has no way at all to write U+0000–U+001F other than tab, line feed and carriage return,
 * nor U+FFFE, U+FFFF or an unpaired surrogate: not even as a character reference (`&#1;` is not
 * well-formed). A tag value with one of them could never be answered as EC2 answers it, so a member
 * that is stored and echoed refuses them with InvalidParameterValue naming the member, as EC2 does
 * for tags with characters it does not allow. Everything else (any other Unicode, tab, CR, LF, `<`,
 * `&` …) is kept exactly and escaped by the XML writer.
 */
import { Errors } from './errors.js';

/** One character XML 1.0 cannot carry (code units; the surrogate halves only when unpaired). */
export const NOT_XML_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NOT_XML_CHAR_ALL = new RegExp(NOT_XML_CHAR.source, 'g');

/** The text with each character XML 1.0 cannot carry replaced by U+FFFD (the replacement character). */
export const xmlSafeText = (s: string): string => (NOT_XML_CHAR.test(s) ? s.replace(NOT_XML_CHAR_ALL, '\uFFFD') : s);

/** `U+0001` for the first character XML cannot carry, or undefined when there is none. */
export function firstNonXmlChar(s: string): string | undefined {
  const m = NOT_XML_CHAR.exec(s);
  return m ? `U+${(m[0].charCodeAt(0)).toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}

/** Refuses a stored free-text member with a character XML cannot carry (InvalidParameterValue naming it). */
export function checkText(value: string | undefined, param: string): void {
  if (value === undefined) return;
  const bad = firstNonXmlChar(value);
  if (bad !== undefined) throw Errors.invalidCharacter(param, xmlSafeText(value), bad);
}

/**
 * checkText over every string in a structure kept as given (launch-template data), naming the member
 * by its path, e.g. `launchTemplateData.TagSpecifications.1.Tags.1.Value`. Map keys are checked too.
 */
export function checkTextDeep(value: unknown, path: string): void {
  if (typeof value === 'string') checkText(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => checkTextDeep(v, `${path}.${i + 1}`));
  else if (value !== null && typeof value === 'object' && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    for (const [k, v] of Object.entries(value)) {
      checkText(k, path);
      checkTextDeep(v, `${path}.${k}`);
    }
  }
}

/** EC2's idempotency tokens: "a unique, case-sensitive string of up to 64 ASCII characters" (printable ones). */
export const CLIENT_TOKEN_SYNTAX = /^[\x20-\x7e]*$/;
