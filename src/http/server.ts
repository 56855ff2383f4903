/**
 * The HTTP front: the web console's static files under /console (src/http/console.ts), and one
 * ordered pipeline per API request —
 *   request id → health → body (size-limited) → SigV4 → parameters → action → input → handler → XML.
 * Every failure becomes the EC2 error envelope; anything unexpected is logged here and answered as
 * InternalError, with no internals on the wire.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { RequestContext, Services } from '../api/context.js';
import { OPERATIONS } from '../api/operations.js';
import { Ec2Error, Errors } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import { parseInput } from '../protocol/query-parser.js';
import { operationSchema } from '../protocol/schema.js';
import { errorDocument, successDocument } from '../protocol/xml-writer.js';
import { consoleFiles, isConsolePath } from './console.js';
import { type Credentials, verifySigV4 } from './sigv4.js';

export const API_VERSION = '2016-11-15';
export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_PARAMETERS = 20_000;

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
}

export function createApiServer(opts: HttpOptions): Server {
  const byKey = new Map((opts.credentials ?? []).map((c) => [c.accessKeyId, c]));
  const lookup = (id: string) => byKey.get(id);
  const consoleSite = consoleFiles();

  return createServer((req, res) => {
    const started = process.hrtime.bigint();
    const url = req.url ?? '/';
    const consolePath = url.split('?', 1)[0] as string;
    if (isConsolePath(consolePath)) {
      // The browser's page and bundle: no signature, no API pipeline.
      const status = consoleSite.serve(req, res, consolePath);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const shown = /^[\x21-\x7e]{1,100}$/.test(consolePath) ? consolePath : JSON.stringify(consolePath.slice(0, 100));
      opts.log.request(`console ${req.method} ${shown} ${status} ${ms.toFixed(1)}ms`);
      return;
    }
    const requestId = randomUUID();
    let action = '-';
    const finish = (status: number, text: string, contentType = 'text/xml;charset=UTF-8') => {
      // Encoded once: the length and the bytes written come from the same buffer.
      const body = Buffer.from(text);
      res.writeHead(status, {
        'Content-Type': contentType,
        'Content-Length': body.length,
        'x-amzn-RequestId': requestId,
      });
      res.end(body);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      opts.log.request(`${action} ${status} ${ms.toFixed(1)}ms ${requestId}`);
    };

    handle(req, opts, lookup, requestId, (a) => (action = a))
      .then((r) => finish(r.status, r.body, r.contentType))
      .catch((err: unknown) => {
        const e = err instanceof Ec2Error ? err : internal(err, opts.log, requestId);
        finish(e.status, errorDocument(e.code, e.message, requestId));
      });
  });
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
): Promise<Reply> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);

  if (req.method === 'GET' && (path === '/_health' || (path === '/' && rawQuery === ''))) {
    setAction('health');
    return { status: 200, body: JSON.stringify({ status: 'ok', ...opts.health() }), contentType: 'application/json' };
  }
  if (req.method !== 'POST' && req.method !== 'GET') {
    throw new Ec2Error('InvalidHttpRequest', `The HTTP method ${req.method} is not supported.`, 405);
  }

  const body = await readBody(req);
  // The signature is checked on the raw request, before its parameters are even decoded.
  const caller = opts.credentials
    ? verifySigV4({ method: req.method, path, rawQuery, headers: req.headers, body }, { lookup })
    : undefined;

  const params = parseForm(rawQuery);
  if (req.method === 'POST') {
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    if (body.length > 0 && !type.startsWith('application/x-www-form-urlencoded')) {
      throw new Ec2Error('InvalidHttpRequest', `The Content-Type ${type || '(none)'} is not supported; use application/x-www-form-urlencoded.`, 415);
    }
    params.push(...parseForm(body.toString('utf8')));
  }
  if (params.length > MAX_PARAMETERS) throw Errors.invalidParameter(`The request has more than ${MAX_PARAMETERS} parameters.`);
  const scope = caller ?? { accountId: opts.defaultAccount, region: regionFromHeaders(req, params) ?? opts.defaultRegion };

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
  const ctx: RequestContext = { requestId, action, account: scope.accountId, region: scope.region };
  const output = await handler(input, ctx, opts.services);
  return { status: 200, body: successDocument(action, requestId, schema.output, output) };
}

function single(params: readonly (readonly [string, string])[], name: string): string | undefined {
  for (const [k, v] of params) if (k === name) return v;
  return undefined;
}

/** With authentication off, the region still comes from the signature's scope when there is one. */
function regionFromHeaders(req: IncomingMessage, params: readonly (readonly [string, string])[]): string | undefined {
  const auth = req.headers.authorization;
  const credential = (typeof auth === 'string' && /Credential=([^,\s]+)/.exec(auth)?.[1]) || single(params, 'X-Amz-Credential');
  return credential?.split('/')[2] || undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      reject(Errors.requestEntityTooLarge(MAX_BODY_BYTES));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(Errors.requestEntityTooLarge(MAX_BODY_BYTES));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** application/x-www-form-urlencoded, strictly: a bad percent-escape is MalformedQueryString. */
export function parseForm(text: string): [string, string][] {
  const out: [string, string][] = [];
  if (text === '') return out;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    out.push([decode(rawKey), decode(rawValue)]);
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

