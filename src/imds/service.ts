/**
 * The instance metadata service (IMDS), as EC2 serves it at 169.254.169.254, for real VMs.
 *
 * How a guest reaches it: the VM's user-mode network has
 *   guestfwd=tcp:<address>:80-cmd:socat - ABSTRACT-CONNECT:<name>
 * so QEMU runs socat for every TCP connection the guest opens to the metadata address, joined to the
 * Linux abstract unix socket <name> (`socketName`, padded to fill sun_path: see NAME_BYTES). (slirp
 * takes a guestfwd address only inside its own network, so the driver forwards an address of the
 * subnet and the guest maps 169.254.169.254 to it: src/compute/qemu/argv.ts.) nestbox listens on one
 * such socket per instance: the socket a connection arrives on says whose metadata it is, so an
 * instance can never read another's. (Any local process of the host may connect to an abstract
 * socket: the host is trusted, as EC2's is.)
 *
 * Per request: the instance is looked up afresh (`lookup`), so ModifyInstanceMetadataOptions, tag
 * changes and a new public address apply at once; an instance that is gone, or whose HttpEndpoint is
 * `disabled`, gets no answer at all — the connection is closed. Then, as EC2:
 *   PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds 1..21600) → a token, 400 without a
 *     valid TTL, 403 with X-Forwarded-For (EC2 refuses proxied token requests);
 *   GET/HEAD with X-aws-ec2-metadata-token → 401 unless it is this instance's unexpired token;
 *   GET/HEAD without one (IMDSv1) → 401 when HttpTokens is `required`;
 *   other methods → 405; unknown paths → 404 with EC2's XHTML error page.
 * HttpPutResponseHopLimit is recorded only: there are no IP hops between the guest and this socket.
 *
 * Robustness: headers are capped (8 KiB), bodies are never read, every response closes its
 * connection, idle and slow connections are dropped, and nothing a client sends can throw past here.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { Logger } from '../logger.js';
import { type TokenSigner, createTokenSigner, parseTokenTtl } from './token.js';
import { listingOf, resolve } from './tree.js';
import type { ImdsInstanceView } from './view.js';

export interface ImdsService {
  /** Starts serving `instanceId`'s metadata (idempotent); resolves with the abstract socket name (without the leading NUL) once listening. */
  open(instanceId: string): Promise<string>;
  /** Stops serving it: the socket goes away and open connections are dropped. Idempotent. */
  close(instanceId: string): Promise<void>;
  closeAll(): Promise<void>;
  /** The abstract socket name an instance's metadata is (or would be) served on, without the leading NUL. */
  socketName(instanceId: string): string;
}

export interface ImdsServiceOptions {
  /** Distinguishes this nestbox's sockets from another's on the same host: see `imdsNamespaceOf`. */
  readonly namespace: string;
  /** Called on every request; undefined (terminated, unknown) means the endpoint is gone. */
  readonly lookup: (instanceId: string) => Promise<ImdsInstanceView | undefined>;
  readonly now?: () => Date;
  readonly log?: Pick<Logger, 'warn' | 'request'>;
  /** How long one connection may take, from connecting to the end of its request (default 10 s; headers: half of it). */
  readonly connectionTimeoutMs?: number;
}

/**
 * A namespace for a data directory: 16 hex digits of a hash of its real path. Deterministic, so a
 * nestbox restarted on the same data directory serves the socket names its running VMs were given.
 */
export function imdsNamespaceOf(dataDir: string): string {
  let dir = resolvePath(dataDir);
  try {
    // the same directory by whatever path it is reached, so VMs adopted after a restart find their socket
    dir = realpathSync.native(dir);
  } catch {
    // not there (yet): its absolute path
  }
  return createHash('sha256').update(dir).digest('hex').slice(0, 16);
}

/** The headers EC2's service reads. */
export const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
export const TOKEN_TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
/** As EC2 writes it in responses. */
const TOKEN_TTL_RESPONSE_HEADER = 'X-Aws-Ec2-Metadata-Token-Ttl-Seconds';
export const TOKEN_PATH = '/latest/api/token';

/**
 * Every name is exactly this long: the whole of sun_path (108 bytes) after the NUL that makes it
 * abstract. An abstract name is the exact byte string of the address length used, and Node 20's libuv
 * binds with the full sockaddr_un length (the name NUL-padded to 107 bytes) while socat and curl
 * connect with the name's own length; a name that fills sun_path is the same address either way.
 * So `nestbox-imds/<namespace>/<instance>/` is padded with dots to 107 bytes.
 */
const NAME_BYTES = 107;
/** No `:` or `,` (socat's and QEMU's option syntax), no NUL, no spaces. */
const NAMESPACE = /^[A-Za-z0-9._-]{1,48}$/;
const INSTANCE_ID = /^[A-Za-z0-9-]{1,40}$/;

const MAX_HEADER_BYTES = 8 * 1024;
const MAX_CONNECTIONS_PER_INSTANCE = 64;

/** EC2's error page (its 404, 401, 400 … all have this shape). */
function errorPage(status: number, reason: string): string {
  return `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
	"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>${status} - ${reason}</title>
 </head>
 <body>
  <h1>${status} - ${reason}</h1>
 </body>
</html>
`;
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  431: 'Request Header Fields Too Large',
};

/** The path of a request target (origin or absolute form), without query or fragment. */
function pathOf(url: string | undefined): string | undefined {
  let u = url ?? '';
  if (/^https?:\/\//i.test(u)) {
    const slash = u.indexOf('/', u.indexOf('//') + 2);
    u = slash < 0 ? '/' : u.slice(slash);
  }
  const end = u.search(/[?#]/);
  if (end >= 0) u = u.slice(0, end);
  return u.startsWith('/') ? u : undefined;
}

const printable = (s: string): string => (/^[\x21-\x7e]{0,200}$/.test(s) ? s : JSON.stringify(s.slice(0, 200)));

export function createImdsService(opts: ImdsServiceOptions): ImdsService {
  if (!NAMESPACE.test(opts.namespace)) throw new Error(`IMDS namespace ${JSON.stringify(opts.namespace)}: use 1 to 48 letters, digits, '.', '_' or '-'`);
  const now = opts.now ?? (() => new Date());
  const timeoutMs = Math.max(100, opts.connectionTimeoutMs ?? 10_000);
  const signer = createTokenSigner();
  const servers = new Map<string, Promise<Server>>();

  const socketName = (instanceId: string): string => {
    if (!INSTANCE_ID.test(instanceId)) throw new Error(`IMDS: not an instance ID: ${JSON.stringify(instanceId)}`);
    const name = `nestbox-imds/${opts.namespace}/${instanceId}/`;
    // (The pattern checks keep it ASCII and well under the limit: 13 + 48 + 1 + 40 + 1 bytes.)
    return name.padEnd(NAME_BYTES, '.');
  };

  const lookup = async (instanceId: string): Promise<ImdsInstanceView | undefined> => {
    try {
      return await opts.lookup(instanceId);
    } catch (err) {
      opts.log?.warn(`imds ${instanceId}: lookup failed: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  };
  const serving = (v: ImdsInstanceView | undefined): v is ImdsInstanceView => v !== undefined && v.metadataOptions.httpEndpoint === 'enabled';

  function listen(instanceId: string, name: string): Promise<Server> {
    const server = createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        // A request must arrive whole within seconds (checked often, not at Node's default 30 s).
        headersTimeout: Math.ceil(timeoutMs / 2),
        requestTimeout: timeoutMs,
        connectionsCheckingInterval: Math.min(2_000, Math.ceil(timeoutMs / 4)),
        keepAliveTimeout: 1_000,
      },
      (req, res) => {
        handle(instanceId, req, res, { lookup, serving, signer, now, log: opts.log }).catch((err: unknown) => {
          opts.log?.warn(`imds ${instanceId}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          req.socket.destroy();
        });
      },
    );
    server.maxConnections = MAX_CONNECTIONS_PER_INSTANCE;
    // Idle sockets are destroyed (no 'timeout' listener): each connection is one short request.
    server.setTimeout(timeoutMs);
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // Garbage gets EC2's 400 — unless the endpoint is off, which answers nothing at all. Clients that
      // are too slow, or gone, get nothing either.
      const silent = err.code === 'ECONNRESET' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      if (silent || !socket.writable) {
        socket.destroy();
        return;
      }
      void lookup(instanceId).then((view) => {
        if (!serving(view) || !socket.writable) {
          socket.destroy();
          return;
        }
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
        const body = errorPage(status, REASONS[status]!);
        socket.end(
          `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            `Server: EC2ws\r\nConnection: close\r\n\r\n${body}`,
        );
      });
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`IMDS for ${instanceId}: cannot listen on @${name}: ${err.message}`));
      server.once('error', onError);
      server.listen({ path: `\0${name}` }, () => {
        server.off('error', onError);
        server.on('error', (err) => opts.log?.warn(`imds ${instanceId}: ${err.message}`));
        resolve(server);
      });
    });
  }

  const stop = (server: Server): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  /** Sockets being closed: an open() of the same instance waits, so its bind never meets the old socket. */
  const closing = new Map<string, Promise<void>>();

  const service: ImdsService = {
    socketName,
    async open(instanceId) {
      const name = socketName(instanceId);
      for (;;) {
        const started = servers.get(instanceId);
        if (started) {
          await started;
          return name;
        }
        const pending = closing.get(instanceId);
        if (!pending) break;
        await pending;
      }
      const started = listen(instanceId, name);
      servers.set(instanceId, started);
      started.catch(() => {
        if (servers.get(instanceId) === started) servers.delete(instanceId);
      });
      await started;
      return name;
    },
    close(instanceId) {
      const started = servers.get(instanceId);
      if (!started) return closing.get(instanceId) ?? Promise.resolve();
      servers.delete(instanceId);
      const done: Promise<void> = started
        .then(stop, () => undefined)
        .finally(() => {
          if (closing.get(instanceId) === done) closing.delete(instanceId);
        });
      closing.set(instanceId, done);
      return done;
    },
    async closeAll() {
      await Promise.all([...servers.keys()].map((id) => service.close(id)));
      await Promise.all([...closing.values()]);
    },
  };
  return service;
}

interface HandlerContext {
  readonly lookup: (instanceId: string) => Promise<ImdsInstanceView | undefined>;
  readonly serving: (v: ImdsInstanceView | undefined) => v is ImdsInstanceView;
  readonly signer: TokenSigner;
  readonly now: () => Date;
  readonly log: Pick<Logger, 'warn' | 'request'> | undefined;
}

async function handle(instanceId: string, req: IncomingMessage, res: ServerResponse, c: HandlerContext): Promise<void> {
  const view = await c.lookup(instanceId);
  const method = req.method ?? '';
  const path = pathOf(req.url);
  if (!c.serving(view)) {
    // EC2: a disabled endpoint (or one of an instance that is gone) does not answer.
    c.log?.request(`imds ${instanceId} ${method} ${printable(path ?? req.url ?? '')} (no endpoint)`);
    req.socket.destroy();
    return;
  }

  const send = (status: number, body: string | Uint8Array = errorPage(status, REASONS[status] ?? ''), headers: Record<string, string> = {}) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, {
      'Content-Type': status < 300 ? 'text/plain' : 'text/html',
      ...headers,
      'Content-Length': String(bytes.length),
      'Accept-Ranges': 'none',
      Server: 'EC2ws',
      Connection: 'close',
    });
    // HEAD: Node writes the headers only.
    res.end(bytes);
    c.log?.request(`imds ${instanceId} ${method} ${printable(path ?? req.url ?? '')} ${status}`);
  };

  if (path === undefined) return send(400);
  const nowMs = c.now().getTime();

  if (path === TOKEN_PATH || path === `${TOKEN_PATH}/`) {
    if (method !== 'PUT') return send(405, undefined, { Allow: 'PUT' });
    if (req.headers['x-forwarded-for'] !== undefined) return send(403);
    const ttl = parseTokenTtl(req.headers[TOKEN_TTL_HEADER]);
    if (ttl === undefined) return send(400);
    return send(200, c.signer.issue(instanceId, ttl, nowMs), { [TOKEN_TTL_RESPONSE_HEADER]: String(ttl) });
  }
  if (method !== 'GET' && method !== 'HEAD') return send(405, undefined, { Allow: 'GET, HEAD' });

  // A token, when one is sent, must be valid even where IMDSv1 is allowed.
  const token = req.headers[TOKEN_HEADER];
  const headers: Record<string, string> = {};
  if (token !== undefined) {
    const expiry = typeof token === 'string' ? c.signer.verify(instanceId, token, nowMs) : undefined;
    if (expiry === undefined) return send(401);
    headers[TOKEN_TTL_RESPONSE_HEADER] = String(Math.max(0, Math.ceil((expiry - nowMs) / 1000)));
  } else if (view.metadataOptions.httpTokens === 'required') {
    return send(401);
  }

  const node = resolve(view, path);
  if (!node) return send(404);
  if (node.kind === 'dir') return send(200, listingOf(node), headers);
  return send(200, node.body, { ...headers, ...(node.contentType ? { 'Content-Type': node.contentType } : {}) });
}
