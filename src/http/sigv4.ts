/**
 * AWS Signature Version 4 verification (node:crypto only), in both forms the SDK and CLI produce:
 * the `Authorization: AWS4-HMAC-SHA256 …` header and the presigned query (`X-Amz-Algorithm=…`).
 *
 * The canonical request is rebuilt from the request exactly as received and follows what
 * `@smithy/signature-v4` signs, which is the SigV4 spec for every service but S3. Checks run much
 * as AWS orders them: shape of the signature (IncompleteSignature), freshness (RequestExpired),
 * scope and signed headers (SignatureDoesNotMatch), access key (AuthFailure), then the signature
 * itself (SignatureDoesNotMatch).
 */
import * as crypto from 'node:crypto';
import { createHash, createHmac } from 'node:crypto';
import { Errors } from '../domain/errors.js';
import { findRegion } from '../domain/regions.js';
import type { Permission } from '../accounts.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
  /** what the key may call (src/accounts.ts); absent: everything */
  permission?: Permission | undefined;
  /** the IAM user name the key stands for, in UnauthorizedOperation messages; absent: the access key ID */
  user?: string | undefined;
}

export interface SignedRequest {
  method: string;
  /** Raw path without the query, as received (still percent-encoded), e.g. '/'. */
  path: string;
  /** Raw query string without '?', as received ('' if none). */
  rawQuery: string;
  /** node IncomingMessage.headers: lower-case names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

/** What arrives before the body: enough to check the credential scope without reading a byte of it. */
export type RequestHead = Omit<SignedRequest, 'body'>;

export interface VerifyOptions {
  lookup(accessKeyId: string): Credentials | undefined;
  /** Service the credential scope must name; default 'ec2'. */
  service?: string;
  now?: () => Date;
  /** Largest accepted distance between the signature's timestamp and now; default 15 minutes. */
  maxSkewMs?: number;
  /** Whether the scope's region is one this endpoint serves; default: a Region of the catalog (src/domain/regions.ts). */
  isKnownRegion?: (region: string) => boolean;
}

export interface VerifiedCaller {
  accessKeyId: string;
  accountId: string;
  region: string;
  permission?: Permission | undefined;
  user?: string | undefined;
}

/** The `date/region/service` part of a credential scope (the terminator is always aws4_request). */
export interface CredentialScope {
  date: string;
  region: string;
  service: string;
}

/** A query parameter, percent-decoded. */
export type QueryParam = readonly [key: string, value: string];

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const DEFAULT_SERVICE = 'ec2';
const DEFAULT_MAX_SKEW_MS = 15 * 60_000;
/** AWS refuses presigned requests meant to live longer than a week. */
const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;

/** Everything a signature check needs, whichever form carried it. */
export interface SignatureParts {
  accessKeyId: string;
  scope: CredentialScope;
  terminator: string;
  /** Timestamp of the signature in ISO 8601 basic format, YYYYMMDDTHHMMSSZ. */
  amzDate: string;
  timeMs: number;
  /** The SignedHeaders list exactly as sent, and split on ';'. */
  signedHeaders: string;
  signedHeaderNames: readonly string[];
  signature: string;
  /** Presigned only: X-Amz-Expires in seconds, when given. */
  expiresSeconds: number | undefined;
}

/** What checkCredential found in a request's head: the signature's parts, the key's credentials, the decoded query. */
export interface CheckedCredential {
  readonly parts: SignatureParts;
  readonly credentials: Credentials;
  readonly query: readonly QueryParam[];
}

/**
 * `checked`: checkCredential's answer for this same request's head (the server checks the head before
 * reading the body). Its checks are not run again, except freshness: time has passed while the body arrived.
 */
export function verifySigV4(req: SignedRequest, opts: VerifyOptions, checked?: CheckedCredential): VerifiedCaller {
  let parts: SignatureParts, credentials: Credentials, query: readonly QueryParam[];
  if (checked === undefined) ({ parts, credentials, query } = checkCredential(req, opts));
  else {
    ({ parts, credentials, query } = checked);
    checkFreshness(parts, nowMs(opts), opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS);
  }

  const canonical = buildCanonicalRequest(req, parts.signedHeaderNames, parts.signedHeaders, payloadHash(req), query);
  const expected = signatureHex(credentials.secretAccessKey, parts.scope, parts.amzDate, canonical);
  if (!signatureMatches(parts.signature, expected)) throw Errors.signatureDoesNotMatch();

  // Built without spreads; permission and user only when the key has them.
  const caller: VerifiedCaller = { accessKeyId: parts.accessKeyId, accountId: credentials.accountId, region: parts.scope.region };
  if (credentials.permission !== undefined) caller.permission = credentials.permission;
  if (credentials.user !== undefined) caller.user = credentials.user;
  return caller;
}

/**
 * Everything that can be checked before the body is read: the signature's shape, its freshness, its
 * scope (region, service, terminator, date) and that the access key is known. The server runs this
 * on the headers alone, so a request that can never authenticate is answered without its body being
 * read; verifySigV4 runs it again, then checks the signature over the whole request.
 */
export function checkCredential(
  req: RequestHead,
  opts: VerifyOptions,
  query: readonly QueryParam[] = parseQuery(req.rawQuery),
): CheckedCredential {
  const authorization = headerValue(req.headers, 'authorization');
  const parts =
    authorization !== undefined ? fromAuthorizationHeader(authorization, req.headers) : fromPresignedQuery(query);

  checkFreshness(parts, nowMs(opts), opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS);
  checkScope(parts, opts.service ?? DEFAULT_SERVICE, opts.isKnownRegion ?? isCatalogRegion);
  // nestbox issues no temporary credentials, so a session token (header, or presigned query) is one it
  // did not issue: refused as EC2 refuses an invalid token, with AuthFailure (401).
  if (hasSessionToken(req.headers, query)) throw Errors.authFailure();

  const credentials = opts.lookup(parts.accessKeyId);
  if (!credentials) throw Errors.authFailure();
  return { parts, credentials, query };
}

/**
 * Regions are the catalog's. AWS refuses a signature scoped to a region the endpoint does not serve
 * as it refuses any other wrong scope: HTTP 403 SignatureDoesNotMatch-style, "Credential should be
 * scoped to a valid region, not '<region>'." (IAM User Guide, "Troubleshoot signed requests for AWS
 * APIs" → Credential scope errors → Region: "If the credential scope does not specify the same
 * Region as the request, the signature verification step fails with … Credential should be scoped to
 * a valid Region, not region-code"; SDK issues such as aws/aws-sdk-ruby#508 and aws/aws-sdk-java-v2#988
 * quote the same text). nestbox serves every Region of the catalog at one endpoint, so any catalog
 * Region is "the request's" and anything else (`us-east-9`, `..`, markup, 300 characters) is refused
 * before a resource can be created or even looked up in it.
 */
export const isCatalogRegion = (region: string): boolean => findRegion(region) !== undefined;

/** The refusal for a scope naming a region nestbox does not serve (also used with authentication off). */
export function invalidRegionScope(region: string) {
  const shown = region.length > 64 ? `${region.slice(0, 64)}…` : region;
  return Errors.signatureDoesNotMatch(`Credential should be scoped to a valid region, not '${shown}'.`);
}

/** `X-Amz-Security-Token` with a value, as a header (signed requests) or a query parameter (presigned). */
function hasSessionToken(headers: RequestHead['headers'], query: readonly QueryParam[]): boolean {
  return !!headerValue(headers, 'x-amz-security-token') || !!queryValue(query, 'X-Amz-Security-Token');
}

// --- the two forms ------------------------------------------------------------------------------

/** `AWS4-HMAC-SHA256 Credential=AKID/20260216/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=…` */
function fromAuthorizationHeader(authorization: string, headers: SignedRequest['headers']): SignatureParts {
  const space = authorization.indexOf(' ');
  const algorithm = space === -1 ? authorization : authorization.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw Errors.incompleteSignature(
      `Unsupported AWS 'algorithm': '${algorithm}' (only ${ALGORITHM} for now). Authorization=${authorization}`,
    );
  }

  let credential: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  if (space !== -1) {
    for (const field of authorization.slice(space + 1).split(',')) {
      const item = field.trim();
      if (item === '') continue;
      const eq = item.indexOf('=');
      if (eq === -1) {
        throw Errors.incompleteSignature(
          `'${item}' not a valid key=value pair (missing equal-sign) in Authorization header: '${authorization}'.`,
        );
      }
      const value = item.slice(eq + 1);
      switch (item.slice(0, eq)) {
        case 'Credential':
          credential = value;
          break;
        case 'SignedHeaders':
          signedHeaders = value;
          break;
        case 'Signature':
          signature = value;
          break;
      }
    }
  }

  // The signature's timestamp: X-Amz-Date, else the HTTP Date header.
  const amzDate = headerValue(headers, 'x-amz-date');
  const rawDate = amzDate ?? headerValue(headers, 'date');
  if (!credential || !signature || !signedHeaders || rawDate === undefined) {
    let missing = '';
    if (!credential) missing += "Authorization header requires 'Credential' parameter. ";
    if (!signature) missing += "Authorization header requires 'Signature' parameter. ";
    if (!signedHeaders) missing += "Authorization header requires 'SignedHeaders' parameter. ";
    if (rawDate === undefined) {
      missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
    }
    throw Errors.incompleteSignature(`${missing}Authorization=${authorization}`);
  }

  return assemble(credential, signedHeaders, signature, parseTimestamp(rawDate, amzDate === undefined), undefined);
}

/** `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…&X-Amz-Date=…&X-Amz-SignedHeaders=…&X-Amz-Signature=…` */
function fromPresignedQuery(query: readonly QueryParam[]): SignatureParts {
  const algorithm = queryValue(query, 'X-Amz-Algorithm');
  if (algorithm === undefined) throw Errors.missingAuthenticationToken();
  if (algorithm !== ALGORITHM) {
    throw Errors.incompleteSignature(`Unsupported AWS 'algorithm': '${algorithm}' (only ${ALGORITHM} for now).`);
  }

  const credential = queryValue(query, 'X-Amz-Credential');
  const rawDate = queryValue(query, 'X-Amz-Date');
  const signedHeaders = queryValue(query, 'X-Amz-SignedHeaders');
  const signature = queryValue(query, 'X-Amz-Signature');
  if (!credential || !rawDate || !signedHeaders || !signature) {
    throw Errors.incompleteSignature(
      "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', " +
        "'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.",
    );
  }

  const rawExpires = queryValue(query, 'X-Amz-Expires');
  if (rawExpires !== undefined && (!/^\d+$/.test(rawExpires) || Number(rawExpires) > MAX_PRESIGN_EXPIRES_SECONDS)) {
    throw Errors.incompleteSignature(
      `X-Amz-Expires must be a whole number of seconds no greater than ${MAX_PRESIGN_EXPIRES_SECONDS} (one week), got '${rawExpires}'.`,
    );
  }
  const expiresSeconds = rawExpires === undefined ? undefined : Number(rawExpires);

  return assemble(credential, signedHeaders, signature, parseTimestamp(rawDate, false), expiresSeconds);
}

function assemble(
  credential: string,
  signedHeaders: string,
  signature: string,
  time: { amzDate: string; timeMs: number },
  expiresSeconds: number | undefined,
): SignatureParts {
  const elements = credential.split('/');
  if (elements.length !== 5) {
    throw Errors.incompleteSignature(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = elements as [string, string, string, string, string];
  return {
    accessKeyId,
    scope: { date, region, service },
    terminator,
    amzDate: time.amzDate,
    timeMs: time.timeMs,
    signedHeaders,
    signedHeaderNames: signedHeaders.split(';'),
    signature,
    expiresSeconds,
  };
}

// --- checks -------------------------------------------------------------------------------------

const BASIC_FORMAT = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** The last timestamp read in basic format (callers only read it). */
let lastBasicTimestamp: { readonly amzDate: string; readonly timeMs: number } | undefined;

/**
 * Reads a timestamp in ISO 8601 basic format (YYYYMMDDTHHMMSSZ). The HTTP `Date` header may instead
 * carry an RFC 7231 date; the string to sign then uses the same instant in basic format. Fields out
 * of range roll over (Date.UTC); harmless, since the text itself is what the signature covers.
 */
function parseTimestamp(raw: string, isHttpDate: boolean): { amzDate: string; timeMs: number } {
  // Requests signed within the same second carry the same timestamp: the last one read is kept.
  if (lastBasicTimestamp !== undefined && raw === lastBasicTimestamp.amzDate) return lastBasicTimestamp;
  const m = BASIC_FORMAT.exec(raw);
  if (m) {
    lastBasicTimestamp = { amzDate: raw, timeMs: Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) };
    return lastBasicTimestamp;
  }
  if (isHttpDate) {
    const timeMs = Date.parse(raw);
    if (!Number.isNaN(timeMs)) {
      return { amzDate: new Date(timeMs).toISOString().replace(/[-:]|\.\d{3}/g, ''), timeMs };
    }
  }
  throw Errors.incompleteSignature(
    `Date must be in ISO-8601 'basic format'. Got '${raw}'. See http://en.wikipedia.org/wiki/ISO_8601`,
  );
}

/** opts.now, or the clock. */
function nowMs(opts: VerifyOptions): number {
  const now = opts.now?.();
  return now === undefined || now === null ? Date.now() : now.getTime();
}

/**
 * A signature is valid for maxSkewMs either side of now. A presigned request with X-Amz-Expires lives
 * that many seconds after its timestamp instead (and still may not be dated in the future).
 */
function checkFreshness(parts: SignatureParts, nowMs: number, maxSkewMs: number): void {
  const ageMs = nowMs - parts.timeMs;
  const maxAgeMs = parts.expiresSeconds === undefined ? maxSkewMs : parts.expiresSeconds * 1000;
  if (ageMs > maxAgeMs || -ageMs > maxSkewMs) {
    throw Errors.requestExpired(`Request has expired. Timestamp date is ${parts.amzDate}`);
  }
}

/**
 * The credential scope's region, service, terminator and date, and the signed headers. AWS answers
 * a well-formed but wrong scope (e.g. service 's3' sent to EC2) with SignatureDoesNotMatch (403),
 * not IncompleteSignature: the signature is complete, it was just computed for another scope, and
 * AWS says which part is wrong ("Credential should be scoped to correct service: 'ec2'.").
 * IncompleteSignature (400) is kept for signatures that cannot be read at all.
 */
function checkScope(parts: SignatureParts, service: string, isKnownRegion: (region: string) => boolean): void {
  if (!parts.signedHeaderNames.includes('host')) {
    throw Errors.signatureDoesNotMatch("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const { scope, terminator, amzDate } = parts;
  let problems = '';
  if (scope.region === '' || !isKnownRegion(scope.region)) problems += `${invalidRegionScope(scope.region).message} `;
  if (scope.service !== service) problems += `Credential should be scoped to correct service: '${service}'. `;
  if (terminator !== TERMINATOR) {
    problems += `Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${terminator}'. `;
  }
  const day = amzDate.slice(0, 8);
  if (scope.date !== day) {
    problems += `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scope.date}' != '${day}', from '${amzDate}'.`;
  }
  if (problems !== '') throw Errors.signatureDoesNotMatch(problems.trimEnd());
}

/**
 * The signature as sent (64 lower-case hex digits) against the one computed, in hex: equal or not, in a
 * time that does not depend on where they first differ.
 */
function signatureMatches(provided: string, expectedHex: string): boolean {
  if (provided.length !== expectedHex.length) return false;
  let diff = 0;
  for (let i = 0; i < expectedHex.length; i++) diff |= provided.charCodeAt(i) ^ expectedHex.charCodeAt(i);
  return diff === 0;
}

/** SHA-256 in hex: the one-shot crypto.hash where Node has it (20.12+), else a Hash object. */
const sha256Hex: (data: string | Buffer) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'hex')
    : (data) => createHash('sha256').update(data).digest('hex');

/**
 * The last line of the canonical request. `x-amz-content-sha256`, when sent, names it: either
 * UNSIGNED-PAYLOAD or the body's hash, which must then be the hash of the body actually received.
 * Without it the body's hash is signed, in both forms. (UNSIGNED-PAYLOAD as the default for presigned
 * URLs is an S3 rule: @smithy/signature-v4 and botocore presign every other service, EC2 included,
 * with the body's hash, i.e. the empty body's for a GET.)
 */
function payloadHash(req: SignedRequest): string {
  const declared = headerValue(req.headers, 'x-amz-content-sha256');
  if (declared === UNSIGNED_PAYLOAD) return declared;
  const actual = sha256Hex(req.body);
  if (declared !== undefined && declared !== actual) {
    throw Errors.signatureDoesNotMatch("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return actual;
}

// --- canonical request and signature -------------------------------------------------------------

/**
 * The SigV4 canonical request:
 * method, canonical path, canonical query, one `name:value` line per signed header, a blank line,
 * the signed header list and the payload hash. Exported for the spec's test vectors.
 */
export function canonicalRequest(
  req: SignedRequest,
  signedHeaders: string,
  payloadHash: string,
  query: readonly QueryParam[] = parseQuery(req.rawQuery),
): string {
  return buildCanonicalRequest(req, signedHeaders.split(';'), signedHeaders, payloadHash, query);
}

/** canonicalRequest, with the signed header list already split (SignatureParts has it). */
function buildCanonicalRequest(
  req: SignedRequest,
  signedHeaderNames: readonly string[],
  signedHeaders: string,
  payloadHash: string,
  query: readonly QueryParam[],
): string {
  let headerLines = '';
  for (const name of signedHeaderNames) {
    // hasOwn: a signed header named e.g. 'constructor' must not read the prototype.
    const value = Object.hasOwn(req.headers, name) ? req.headers[name] : undefined;
    headerLines += `${name}:${canonicalHeaderValue(value)}\n`;
  }
  return `${req.method}\n${canonicalPath(req.path)}\n${canonicalQuery(query)}\n${headerLines}\n${signedHeaders}\n${payloadHash}`;
}

/** HMAC-SHA256 of the string to sign under the scope's signing key. Exported for the spec's test vectors. */
export function computeSignature(
  secretAccessKey: string,
  scope: CredentialScope,
  amzDate: string,
  canonical: string,
): Buffer {
  return signatureHmac(secretAccessKey, scope, amzDate, canonical).digest();
}

/** computeSignature in hex, as a signature is sent. */
function signatureHex(secretAccessKey: string, scope: CredentialScope, amzDate: string, canonical: string): string {
  return signatureHmac(secretAccessKey, scope, amzDate, canonical).digest('hex');
}

function signatureHmac(secretAccessKey: string, scope: CredentialScope, amzDate: string, canonical: string): crypto.Hmac {
  const scopeText = `${scope.date}/${scope.region}/${scope.service}/${TERMINATOR}`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scopeText}\n${sha256Hex(canonical)}`;
  return createHmac('sha256', signingKey(secretAccessKey, scope)).update(stringToSign);
}

/**
 * Signing keys change once a day per (secret, region, service): four chained HMACs that every request
 * would otherwise redo. Kept in a small map, oldest entry evicted first.
 */
const SIGNING_KEY_CACHE_SIZE = 256;
const signingKeys = new Map<string, Buffer>();
/** The last key used, checked before the map: most requests are signed with the same key and scope as the one before. */
let lastSigningKey: { readonly secretAccessKey: string; readonly date: string; readonly region: string; readonly service: string; readonly key: Buffer } | undefined;

function signingKey(secretAccessKey: string, scope: CredentialScope): Buffer {
  const last = lastSigningKey;
  if (
    last !== undefined &&
    last.secretAccessKey === secretAccessKey &&
    last.date === scope.date &&
    last.region === scope.region &&
    last.service === scope.service
  ) {
    return last.key;
  }
  const cacheKey = `${scope.date}\n${scope.region}\n${scope.service}\n${secretAccessKey}`;
  let key = signingKeys.get(cacheKey);
  if (key === undefined) {
    key = createHmac('sha256', `AWS4${secretAccessKey}`).update(scope.date).digest();
    key = createHmac('sha256', key).update(scope.region).digest();
    key = createHmac('sha256', key).update(scope.service).digest();
    key = createHmac('sha256', key).update(TERMINATOR).digest();
    if (signingKeys.size >= SIGNING_KEY_CACHE_SIZE) signingKeys.delete(signingKeys.keys().next().value!);
    signingKeys.set(cacheKey, key);
  }
  lastSigningKey = { secretAccessKey, date: scope.date, region: scope.region, service: scope.service, key };
  return key;
}

/**
 * Path as the SDK signs it for every service but S3: dot segments and empty segments removed, then
 * each segment URI-encoded. The received path is still percent-encoded, so this encodes it a second
 * time ('%20' becomes '%2520'), as the spec requires outside S3.
 */
function canonicalPath(path: string): string {
  if (path === '/') return path;
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(segment));
  }
  const leading = path.startsWith('/') ? '/' : '';
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `${leading}${segments.join('/')}${trailing}`;
}

/**
 * Query sorted by encoded key, then encoded value, each RFC 3986-encoded afresh from its decoded
 * form. X-Amz-Signature is left out whatever its case, as @smithy/signature-v4 does.
 */
function canonicalQuery(query: readonly QueryParam[]): string {
  if (query.length === 0) return '';
  const encoded: [string, string][] = [];
  for (const [key, value] of query) {
    if (key.toLowerCase() !== 'x-amz-signature') encoded.push([uriEncode(key), uriEncode(value)]);
  }
  encoded.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  let out = '';
  for (const [key, value] of encoded) out += `${out === '' ? '' : '&'}${key}=${value}`;
  return out;
}

const NO_QUERY: readonly QueryParam[] = [];

/**
 * Splits the raw query on '&' and '=' and percent-decodes keys and values. '+' stays a literal '+'
 * (SigV4 does not read it as a space; the SDK sends spaces as %20). A parameter without '=' has an
 * empty value, as the spec says. A malformed escape is kept as literal text.
 */
function parseQuery(rawQuery: string): readonly QueryParam[] {
  if (rawQuery === '') return NO_QUERY;
  const params: QueryParam[] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    params.push(eq === -1 ? [uriDecode(part), ''] : [uriDecode(part.slice(0, eq)), uriDecode(part.slice(eq + 1))]);
  }
  return params;
}

function queryValue(query: readonly QueryParam[], key: string): string | undefined {
  for (const [k, v] of query) if (k === key) return v;
  return undefined;
}

function uriDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;

/** RFC 3986: everything but A-Z a-z 0-9 - . _ ~ percent-encoded as UTF-8 with upper-case hex. */
function uriEncode(text: string): string {
  if (UNRESERVED.test(text)) return text;
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A header's value, repeated values joined with ',' (node only gives arrays for set-cookie). */
function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

const NEEDS_FOLDING = /[\t\r\n]| {2}|^ | $/;

/**
 * Every run of spaces, tabs and line breaks folded into one space, then a leading and a trailing
 * space dropped (exactly what @smithy/signature-v4 does). A missing header is ''.
 */
function canonicalHeaderValue(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  if (!NEEDS_FOLDING.test(text)) return text;
  return text.replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '');
}
