/**
 * The HTTP front: the web console's static files under /console (src/http/console.ts), and one
 * ordered pipeline per API request —
 *   request id → health → credential scope (headers only) → body (size-, budget- and time-limited)
 *   → SigV4 → parameters (counted) → action → input → handler → XML.
 * Every failure becomes the EC2 error envelope; anything unexpected is logged here and answered as
 * InternalError, with no internals on the wire.
 *
 * What a client can make the server hold is bounded before it is authenticated (HttpLimits, listed in
 * the README's "Limits"): connections, the time to send headers and body, the bytes of one body and of
 * all bodies being received at once, and the number of parameters. A request whose credential scope
 * cannot authenticate (unknown key, stale date, unknown region, no signature) is answered from its
 * headers, before a byte of its body is read.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type OutgoingHttpHeaders, type Server, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestContext } from '../api/context.js';
import type { Services } from '../services/context.js';
import { OPERATIONS } from '../api/operations.js';
import { StoreConflict } from '../store/types.js';
import { permits } from '../accounts.js';
import { Ec2Error, Errors } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import { parseInput } from '../protocol/query-parser.js';
import { operationSchema } from '../protocol/schema.js';
import { errorDocument, successDocument } from '../protocol/xml-writer.js';
import type { Faults } from '../faults.js';
import { adminActionName, adminError, handleAdmin, isAdminPath } from './admin.js';
import { compress, responseEncoding } from './compress.js';
import { consoleFiles, isConsolePath } from './console.js';
import { type Credentials, checkCredential, invalidRegionScope, isCatalogRegion, verifySigV4 } from './sigv4.js';

export const API_VERSION = '2016-11-15';
export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_PARAMETERS = 20_000;

/** What one client, or all of them together, can make the server hold or wait for. */
export interface HttpLimits {
  /** bytes of one request body (HTTP/1.1 receives one request at a time per connection, so also per connection) */
  readonly maxBodyBytes: number;
  /** bodies up to this size (every ordinary SDK request) are "small": they have a budget of their own */
  readonly smallBodyBytes: number;
  /** bytes of small request bodies being received by the whole server at once (reserved from Content-Length) */
  readonly maxSmallBodyBytesInFlight: number;
  /** bytes of larger request bodies being received by the whole server at once (reserved from Content-Length) */
  readonly maxBodyBytesInFlight: number;
  /** parameters of one request, query string and body together */
  readonly maxParameters: number;
  /** open connections; Node closes connections past it as soon as they are accepted */
  readonly maxConnections: number;
  /** time for a request's headers to arrive (also the longest a connection may stay silent before its first request) */
  readonly headersTimeoutMs: number;
  /** time for a request's body to arrive once its headers have */
  readonly bodyTimeoutMs: number;
}

export const DEFAULT_LIMITS: HttpLimits = Object.freeze({
  maxBodyBytes: MAX_BODY_BYTES,
  smallBodyBytes: 64 * 1024,
  maxSmallBodyBytesInFlight: 16 * 1024 * 1024,
  maxBodyBytesInFlight: 32 * 1024 * 1024,
  maxParameters: MAX_PARAMETERS,
  maxConnections: 1000,
  headersTimeoutMs: 10_000,
  // headers + body + Node's 1 s backstop margin = 30 s for a whole request
  bodyTimeoutMs: 19_000,
});

export interface HttpOptions {
  readonly services: Services;
  readonly log: Logger;
  /** undefined: no authentication (`--no-auth`) */
  readonly credentials: readonly Credentials[] | undefined;
  readonly defaultRegion: string;
  /** the account used when authentication is off */
  readonly defaultAccount: string;
  /** extra information for the health document */
  readonly health: () => Record<string, unknown>;
  /** serve the web console's source maps (`--console-source-maps`); default off */
  readonly consoleSourceMaps?: boolean;
  /** overrides of DEFAULT_LIMITS (tests use short timeouts) */
  readonly limits?: Partial<HttpLimits>;
  /** faults on demand and `--throttle` (src/faults.ts); also enables the admin routes under /_nestbox/ */
  readonly faults?: Faults;
}

/** One body's share of the budget: which pool, and how many bytes. */
interface Reservation {
  pool: 'small' | 'large';
  bytes: number;
}

/**
 * Bytes of request bodies the whole server is receiving, reserved before they are read and returned
 * when the body is done. Small bodies (every ordinary SDK request) and large ones have separate pools,
 * so large bodies that stall (which cannot be told from real ones before they are read) cannot starve
 * the small requests of everyone else.
 */
class BodyBudget {
  private readonly used = { small: 0, large: 0 };
  constructor(private readonly limits: HttpLimits) {}

  /** Grows a reservation to `total` bytes, in the pool that size belongs to; false (and no change) when that pool is spent. */
  grow(r: Reservation, total: number): boolean {
    const pool = total <= this.limits.smallBodyBytes ? 'small' : 'large';
    const cap = pool === 'small' ? this.limits.maxSmallBodyBytesInFlight : this.limits.maxBodyBytesInFlight;
    const extra = pool === r.pool ? total - r.bytes : total;
    if (this.used[pool] + extra > cap) return false;
    this.used[pool] += extra;
    if (pool !== r.pool) this.used[r.pool] -= r.bytes;
    r.pool = pool;
    r.bytes = total;
    return true;
  }

  release(r: Reservation): void {
    this.used[r.pool] -= r.bytes;
    r.bytes = 0;
  }
}

export function createApiServer(opts: HttpOptions): Server {
  const byKey = new Map((opts.credentials ?? []).map((c) => [c.accessKeyId, c]));
  const lookup = (id: string) => byKey.get(id);
  const consoleSite = consoleFiles(undefined, { sourceMaps: opts.consoleSourceMaps === true });
  const limits: HttpLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const budget = new BodyBudget(limits);
  /** Sockets that were answered while their request's body was still arriving (Node discards the rest). */
  const answeredEarly = new WeakSet<Duplex>();

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      // Node's own deadline for a whole request is only a backstop: the body deadline below answers first.
      requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs + 1000,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    (req, res) => {
      const started = performance.now();
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const consolePath = q === -1 ? url : url.slice(0, q);
      if (isConsolePath(consolePath)) {
        // The browser's page and bundle: no signature, no API pipeline.
        const status = consoleSite.serve(req, res, consolePath);
        const ms = performance.now() - started;
        const shown = /^[\x21-\x7e]{1,100}$/.test(consolePath) ? consolePath : JSON.stringify(consolePath.slice(0, 100));
        opts.log.request(`console ${req.method} ${shown} ${status} ${ms.toFixed(1)}ms`);
        return;
      }
      const requestId = randomUUID();
      let action = '-';
      const finish = (status: number, text: string, contentType = 'text/xml;charset=UTF-8', close = false) => {
        if (res.headersSent || res.destroyed) return; // the client went away
        // The length and the bytes written come from the same text, or from the same buffer when compressed.
        const length = Buffer.byteLength(text);
        const encoding = responseEncoding(req.headers['accept-encoding'], length);
        const body = encoding === undefined ? text : compress(Buffer.from(text), encoding);
        const headers: OutgoingHttpHeaders = {
          'Content-Type': contentType,
          'Content-Length': typeof body === 'string' ? length : body.length,
          'x-amzn-RequestId': requestId,
        };
        if (encoding !== undefined) headers['Content-Encoding'] = encoding;
        headers.Vary = 'Accept-Encoding';
        if (close) headers.Connection = 'close';
        res.writeHead(status, headers);
        if (!req.complete && !close) {
          // Answered before the body arrived (refused from its headers): Node reads and discards the rest,
          // and keeps the connection for the next request. Its backstop deadline must not write a second answer.
          const socket = req.socket;
          answeredEarly.add(socket);
          req.once('end', () => answeredEarly.delete(socket));
        }
        res.end(body);
        const ms = performance.now() - started;
        opts.log.request(`${action} ${status} ${ms.toFixed(1)}ms ${requestId}`);
      };

      const fail = (err: unknown) => {
        const e = err instanceof Ec2Error ? err : internal(err, opts.log, requestId);
        // A body that never completed leaves the connection unusable: answer, then close it.
        finish(e.status, errorDocument(e.code, e.message, requestId), undefined, e.code === 'RequestTimeout');
      };
      handle(req, opts, lookup, requestId, (a) => (action = a), limits, budget).then((r) => {
        try {
          finish(r.status, r.body, r.contentType);
        } catch (err) {
          fail(err);
        }
      }, fail);
    },
  );
  server.maxConnections = limits.maxConnections;
  let lastDropWarning = 0;
  server.on('drop', () => {
    if (Date.now() - lastDropWarning < 10_000) return;
    lastDropWarning = Date.now();
    opts.log.warn(`connection refused: ${limits.maxConnections} connections are open (the limit); new ones are closed until some end`);
  });
  // Node's answers to requests that never arrived whole or could not be parsed, as EC2 error documents.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writable && !answeredEarly.has(socket) && err.code !== 'ECONNRESET') {
      const [status, reason, code, message] =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'RequestTimeout', `The request was not received within ${limits.headersTimeoutMs} ms (headers) and ${limits.bodyTimeoutMs} ms (body).`]
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? [431, 'Request Header Fields Too Large', 'InvalidHttpRequest', 'The request headers are too large.']
            : [400, 'Bad Request', 'InvalidHttpRequest', 'The request is not valid HTTP/1.1.'];
      const body = Buffer.from(errorDocument(code, message, randomUUID()));
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  });
  return server;
}

function internal(err: unknown, log: Logger, requestId: string): Ec2Error {
  log.warn(`InternalError ${requestId}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return Errors.internal();
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

async function handle(
  req: IncomingMessage,
  opts: HttpOptions,
  lookup: (id: string) => Credentials | undefined,
  requestId: string,
  setAction: (action: string) => void,
  limits: HttpLimits,
  budget: BodyBudget,
): Promise<Reply> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);

  if (req.method === 'GET' && (path === '/_health' || (path === '/' && rawQuery === ''))) {
    setAction('health');
    return { status: 200, body: JSON.stringify({ status: 'ok', ...opts.health() }), contentType: 'application/json' };
  }
  if (isAdminPath(path)) return handleAdminRequest(req, opts, lookup, path, rawQuery, setAction, limits, budget);
  if (req.method !== 'POST' && req.method !== 'GET') {
    throw new Ec2Error('InvalidHttpRequest', `The HTTP method ${req.method} is not supported.`, 405);
  }

  const method = req.method;
  // Known key, fresh date, valid region: refused from the headers alone, before the body is read.
  const checked = opts.credentials ? checkCredential({ method, path, rawQuery, headers: req.headers }, { lookup }) : undefined;
  const body = await readBody(req, limits, budget);
  // The signature is checked on the raw request, before its parameters are even decoded (the head's
  // checks are not repeated, only its freshness).
  const caller = checked ? verifySigV4({ method, path, rawQuery, headers: req.headers, body }, { lookup }, checked) : undefined;

  const params = parseForm(rawQuery, [], limits.maxParameters);
  if (req.method === 'POST') {
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    if (body.length > 0 && !type.startsWith('application/x-www-form-urlencoded')) {
      throw new Ec2Error('InvalidHttpRequest', `The Content-Type ${type || '(none)'} is not supported; use application/x-www-form-urlencoded.`, 415);
    }
    parseForm(body.toString('utf8'), params, limits.maxParameters);
  }
  const scope = caller ?? { accountId: opts.defaultAccount, region: unsignedRegion(req, params, opts.defaultRegion) };

  const action = single(params, 'Action');
  if (!action) throw Errors.missingAction();
  // Logged as given only when it looks like an action name: no control characters reach the log.
  setAction(/^[A-Za-z0-9]{1,64}$/.test(action) ? action : JSON.stringify(action.slice(0, 64)));
  const version = single(params, 'Version');
  if (version !== undefined && version !== API_VERSION) throw Errors.invalidVersion(version);
  const schema = operationSchema(action);
  if (!schema) throw Errors.invalidAction(action);
  const handler = OPERATIONS[action];
  if (!handler) throw Errors.notImplemented(action);

  const input = parseInput(schema.input, params);
  // A read-only key may only read (Describe*, Get*); anything else — DryRun included — is refused as IAM refuses it.
  if (caller && !permits(caller.permission, action)) {
    throw Errors.notAuthorized(caller.accountId, caller.user ?? caller.accessKeyId, action, caller.region);
  }
  const ctx: RequestContext = {
    requestId,
    action,
    account: scope.accountId,
    region: scope.region,
    permission: caller?.permission ?? 'full',
  };
  // Faults on demand and --throttle: before the handler, so a refused call records nothing.
  const checking = opts.faults?.check({ account: ctx.account, region: ctx.region, action, input }, opts.services);
  if (checking) await checking;
  const output = await withRetries(() => handler(input, ctx, opts.services));
  return { status: 200, body: successDocument(action, requestId, schema.output, output) };
}

/** Attempts at a request whose writes keep losing races (src/store/types.ts: conditional writes). */
const MAX_ATTEMPTS = 8;

/**
 * Runs a handler again when its write lost a race with another request (a record changed since it was
 * read, or a unique name was taken meanwhile): the next attempt reads the new state and decides again —
 * a replay with the same ClientToken then answers as the first, a second CreateKeyPair with the name
 * answers InvalidKeyPair.Duplicate. Handlers write once, at the end, and act only after the write.
 */
async function withRetries<T>(run: () => T | Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof StoreConflict) || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

/**
 * The admin routes (src/http/admin.ts): authenticated as the API is — credential scope from the headers,
 * the body within the same limits, then the signature — and answered in JSON, errors included.
 */
async function handleAdminRequest(
  req: IncomingMessage,
  opts: HttpOptions,
  lookup: (id: string) => Credentials | undefined,
  path: string,
  rawQuery: string,
  setAction: (action: string) => void,
  limits: HttpLimits,
  budget: BodyBudget,
): Promise<Reply> {
  const method = req.method ?? '';
  setAction(adminActionName(method, path));
  try {
    const checked = opts.credentials ? checkCredential({ method, path, rawQuery, headers: req.headers }, { lookup }) : undefined;
    const body = await readBody(req, limits, budget);
    const caller = checked ? verifySigV4({ method, path, rawQuery, headers: req.headers, body }, { lookup }, checked) : undefined;
    if (!opts.faults) return adminError(404, 'NotFound', 'The admin interface is not enabled on this server.');
    // A read-only key may list faults, not add, remove or crash anything.
    if (caller && method !== 'GET' && !permits(caller.permission, 'ModifyFaults')) {
      return adminError(403, 'UnauthorizedOperation', 'You are not authorized to perform this operation: a read-only key can only list faults.');
    }
    return handleAdmin({ method, path, body, account: caller?.accountId ?? opts.defaultAccount }, opts.faults, opts.services);
  } catch (err) {
    // A body that never arrived keeps its XML answer and closed connection (the caller's catch does that).
    if (err instanceof Ec2Error && err.code !== 'RequestTimeout') return adminError(err.status, err.code, err.message);
    throw err;
  }
}

function single(params: readonly (readonly [string, string])[], name: string): string | undefined {
  for (const [k, v] of params) if (k === name) return v;
  return undefined;
}

/**
 * With authentication off, the region still comes from the signature's scope when there is one, and
 * follows the same rule as a checked signature: a Region of the catalog, or the request is refused
 * (see isCatalogRegion in sigv4.ts). Without a scope, the default region.
 */
function unsignedRegion(req: IncomingMessage, params: readonly (readonly [string, string])[], fallback: string): string {
  const auth = req.headers.authorization;
  // read as verifySigV4 reads it: up to the next comma, trimmed
  const credential = (typeof auth === 'string' && /Credential=([^,]+)/.exec(auth)?.[1]?.trim()) || single(params, 'X-Amz-Credential');
  const region = credential?.split('/')[2];
  if (region === undefined) return fallback;
  if (!isCatalogRegion(region)) throw invalidRegionScope(region);
  return region;
}

/**
 * The body, within the limits: at most maxBodyBytes, with its bytes reserved from the server-wide
 * budget while it arrives (the declared Content-Length up front, or chunk by chunk when chunked), and
 * complete within bodyTimeoutMs. Whatever happens, the reservation is returned exactly once.
 */
function readBody(req: IncomingMessage, limits: HttpLimits, budget: BodyBudget): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.maxBodyBytes) {
      req.resume();
      reject(Errors.requestEntityTooLarge(limits.maxBodyBytes));
      return;
    }
    const reservation: Reservation = { pool: 'small', bytes: 0 };
    if (declared > 0 && !budget.grow(reservation, declared)) {
      req.resume();
      reject(budgetSpent(limits, declared));
      return;
    }
    let chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (outcome: Buffer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      budget.release(reservation);
      if (outcome instanceof Error) {
        chunks = [];
        req.removeListener('data', onData);
        req.resume(); // Node discards whatever else arrives
        reject(outcome);
      } else resolve(outcome);
    };
    const timer = setTimeout(() => settle(Errors.requestTimeout(limits.bodyTimeoutMs)), limits.bodyTimeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) return settle(Errors.requestEntityTooLarge(limits.maxBodyBytes));
      if (size > reservation.bytes && !budget.grow(reservation, size)) return settle(budgetSpent(limits, size));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => settle(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    // The client went away before the end: nobody waits for an answer, but the budget is returned. (An
    // error is made only then: 'close' follows every request, and an error's stack trace is not free.)
    const aborted = () => {
      if (!settled) settle(Errors.requestAborted());
    };
    req.on('error', aborted);
    req.on('close', aborted);
  });
}

/** The refusal of a body of `size` bytes whose pool of the budget is spent. */
function budgetSpent(limits: HttpLimits, size: number): Ec2Error {
  const small = size <= limits.smallBodyBytes;
  return Errors.serviceUnavailable(
    `Request bodies being received already use the server's budget for ${small ? `bodies up to ${limits.smallBodyBytes} bytes (${limits.maxSmallBodyBytesInFlight}` : `larger bodies (${limits.maxBodyBytesInFlight}`} bytes); retry shortly.`,
  );
}

/**
 * application/x-www-form-urlencoded, strictly: a bad percent-escape is MalformedQueryString. Pairs are
 * appended to `out`, scanning the text without splitting it first; one pair past `limit` refuses the
 * request at once (InvalidParameter, 400), however many more there are.
 */
export function parseForm(text: string, out: [string, string][] = [], limit = Number.POSITIVE_INFINITY): [string, string][] {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    if (end > start) {
      if (out.length >= limit) throw Errors.invalidParameter(`The request has more than ${limit} parameters.`);
      const pair = text.slice(start, end);
      const eq = pair.indexOf('=');
      const rawKey = eq === -1 ? pair : pair.slice(0, eq);
      const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
      out.push([decode(rawKey), decode(rawValue)]);
    }
    start = end + 1;
  }
  return out;
}

function decode(s: string): string {
  if (!/[%+]/.test(s)) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw Errors.malformedQueryString(`The query string contains a malformed percent-encoding: ${s.slice(0, 100)}`);
  }
}

