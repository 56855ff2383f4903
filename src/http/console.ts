/**
 * The web console's static files, served under /console by the API's own server. Only the files
 * `src/console/build.ts` writes to dist/console are served, looked up by exact path in a fixed table
 * (no file system path is ever built from the URL). Files are read once per change (size + mtime)
 * and kept with their gzip form; answers carry an ETag and `Cache-Control: no-cache`, so a rebuilt
 * console is picked up by the next page load without a restart.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const CONSOLE_PATH = '/console';
/** dist/console at the package root, from both src/http (tsx) and dist/http (built). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
} as const;

interface Route {
  readonly file: string;
  readonly type: string;
  /** the source map of this file, linked with a `SourceMap` header when maps are served */
  readonly map?: string;
}

/** URL path → file in the console directory. */
const FILES: ReadonlyMap<string, Route> = new Map([
  [CONSOLE_PATH, { file: 'index.html', type: CONTENT_TYPES.html }],
  [`${CONSOLE_PATH}/`, { file: 'index.html', type: CONTENT_TYPES.html }],
  [`${CONSOLE_PATH}/index.html`, { file: 'index.html', type: CONTENT_TYPES.html }],
  [`${CONSOLE_PATH}/app.js`, { file: 'app.js', type: CONTENT_TYPES.js, map: `${CONSOLE_PATH}/app.js.map` }],
  [`${CONSOLE_PATH}/app.css`, { file: 'app.css', type: CONTENT_TYPES.css, map: `${CONSOLE_PATH}/app.css.map` }],
  [`${CONSOLE_PATH}/favicon.svg`, { file: 'favicon.svg', type: CONTENT_TYPES.svg }],
]);

/**
 * The bundle's source maps (the console's whole source): served only with --console-source-maps.
 * The build writes them without a `sourceMappingURL` comment, so nothing refers to them otherwise.
 */
const SOURCE_MAPS: ReadonlyMap<string, Route> = new Map([
  [`${CONSOLE_PATH}/app.js.map`, { file: 'app.js.map', type: CONTENT_TYPES.map }],
  [`${CONSOLE_PATH}/app.css.map`, { file: 'app.css.map', type: CONTENT_TYPES.map }],
]);

/**
 * Everything the page may load or call is on this origin: the bundle, and the EC2 API it signs
 * requests to. The browser itself then refuses any other host.
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

interface Cached {
  readonly key: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
}

export const isConsolePath = (path: string): boolean => path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);

export interface ConsoleFiles {
  /** Answers a request whose path is under /console; returns the status sent. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): number;
}

const MAP_REFERENCE = /\n?(\/\/# sourceMappingURL=[^\n]*|\/\*# sourceMappingURL=[^*]*\*\/)\s*$/;

function withoutMapReference(body: Buffer): Buffer {
  const tail = body.subarray(Math.max(0, body.length - 200)).toString('latin1');
  const m = MAP_REFERENCE.exec(tail);
  return m ? body.subarray(0, body.length - Buffer.byteLength(m[0], 'latin1')) : body;
}

export interface ConsoleOptions {
  /** serve app.js.map / app.css.map and link them (SourceMap header); default false */
  readonly sourceMaps?: boolean;
}

export function consoleFiles(dir: string = CONSOLE_DIR, opts: ConsoleOptions = {}): ConsoleFiles {
  const sourceMaps = opts.sourceMaps === true;
  const cache = new Map<string, Cached>();

  /** The file as it is now on disk, or undefined when it is not there (the console is not built). */
  const load = (file: string): Cached | undefined => {
    const full = join(dir, file);
    let key: string;
    let body: Buffer;
    try {
      const st = statSync(full);
      key = `${st.size}-${st.mtimeMs}`;
      const hit = cache.get(file);
      if (hit?.key === key) return hit;
      body = readFileSync(full);
      // A bundle from an older build may still name its map: the reference goes unless maps are served.
      if (!sourceMaps && /\.(js|css)$/.test(file)) body = withoutMapReference(body);
    } catch {
      return undefined;
    }
    const entry = {
      key,
      body,
      gzip: gzipSync(body),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
    cache.set(file, entry);
    return entry;
  };

  const text = (res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}) => {
    const body = Buffer.from(`${message}\n`);
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': body.length,
      'Cache-Control': 'no-store',
      ...extra,
    });
    res.end(body);
    return status;
  };

  return {
    serve(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return text(res, 405, `The web console only answers GET and HEAD, not ${req.method}.`, { Allow: 'GET, HEAD' });
      }
      const route = FILES.get(path) ?? (sourceMaps ? SOURCE_MAPS.get(path) : undefined);
      if (!route) return text(res, 404, `Not found: ${path.slice(0, 200)}. The web console is at ${CONSOLE_PATH}.`);
      const entry = load(route.file);
      if (!entry) {
        return text(
          res,
          503,
          `The web console has not been built (no ${route.file} in ${dir}). Run \`npm run build\` (\`npm start\` builds it too), then reload.`,
        );
      }
      const headers: Record<string, string | number> = {
        'Content-Type': route.type,
        'Cache-Control': 'no-cache',
        ETag: entry.etag,
        Vary: 'Accept-Encoding',
        ...(route.type === CONTENT_TYPES.html ? SECURITY_HEADERS : { 'X-Content-Type-Options': 'nosniff' }),
        ...(sourceMaps && route.map ? { SourceMap: route.map } : {}),
      };
      if (req.headers['if-none-match'] === entry.etag) {
        res.writeHead(304, headers);
        res.end();
        return 304;
      }
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const body = gzip ? entry.gzip : entry.body;
      res.writeHead(200, { ...headers, 'Content-Length': body.length, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return 200;
    },
  };
}
