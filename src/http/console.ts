/**
 * The web console's static files, served under /console by the API's own server. Only the files that
 * `src/console/build.ts` lists in dist/console/manifest.json are served (a build from before the
 * manifest: its four fixed files), looked up by exact path in a table made from that list (no file
 * system path is ever built from the URL). Files are read once per
 * change (size + mtime) and kept with their Brotli and gzip forms, sent as the browser's Accept-Encoding
 * asks. The page and the entry script carry an ETag and `Cache-Control: no-cache`, so a rebuilt console
 * is picked up by the next page load without a restart; the chunks under chunks/ are named by their
 * content's hash, so the browser keeps them for good.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Encoding, compress, preferredEncoding } from './compress.js';

export const CONSOLE_PATH = '/console';
/** dist/console at the package root, from both src/http (tsx) and dist/http (built). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));
const MANIFEST = 'manifest.json';
/** What a build from before the manifest wrote (one script, one style sheet), served when there is no manifest. */
const LEGACY_MANIFEST = { files: ['index.html', 'app.js', 'app.css', 'favicon.svg'], maps: ['app.js.map', 'app.css.map'] };
const LEGACY_KEY = 'no manifest';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
};

interface Route {
  readonly file: string;
  readonly type: string;
  /** named by its content's hash: cached for good */
  readonly immutable: boolean;
  /** the source map of this file, linked with a `SourceMap` header when maps are served */
  readonly map?: string;
}

/**
 * Everything the page may load or call is on this origin: the scripts, and the EC2 API it signs
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
  /** compressed forms, made when first asked for */
  readonly encoded: Map<Encoding, Buffer>;
  readonly etag: string;
}

interface Table {
  readonly key: string;
  readonly files: ReadonlyMap<string, Route>;
  readonly maps: ReadonlyMap<string, Route>;
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
  /** serve the source maps and link them (SourceMap header); default false */
  readonly sourceMaps?: boolean;
}

/** A manifest's file name as a URL path: plain names and chunks/<name>, nothing else. */
const SAFE_NAME = /^(chunks\/)?[A-Za-z0-9][A-Za-z0-9._-]*$/;

function routeOf(file: string, files: ReadonlySet<string>): Route | undefined {
  if (!SAFE_NAME.test(file) || file.includes('..')) return undefined;
  const type = CONTENT_TYPES[file.slice(file.lastIndexOf('.') + 1)];
  if (!type) return undefined;
  const map = files.has(`${file}.map`) ? `${CONSOLE_PATH}/${file}.map` : undefined;
  return { file, type, immutable: file.startsWith('chunks/'), ...(map ? { map } : {}) };
}

export function consoleFiles(dir: string = CONSOLE_DIR, opts: ConsoleOptions = {}): ConsoleFiles {
  const sourceMaps = opts.sourceMaps === true;
  const cache = new Map<string, Cached>();
  let table: Table | undefined;

  /** The URL table from the manifest as it is now (or the files of a build from before there was one). */
  const routes = (): Table => {
    let key = LEGACY_KEY;
    let manifest: { files?: unknown; maps?: unknown } = LEGACY_MANIFEST;
    try {
      const full = join(dir, MANIFEST);
      const st = statSync(full);
      key = `${st.size}-${st.mtimeMs}`;
      if (table?.key === key) return table;
      manifest = JSON.parse(readFileSync(full, 'utf8')) as { files?: unknown; maps?: unknown };
    } catch {
      // No (readable) manifest: not built, or built before the console had chunks.
      key = LEGACY_KEY;
      manifest = LEGACY_MANIFEST;
      if (table?.key === key) return table;
    }
    const names = (list: unknown) => (Array.isArray(list) ? list.filter((f): f is string => typeof f === 'string') : []);
    const maps = new Set(names(manifest.maps));
    const files = new Map<string, Route>();
    for (const f of names(manifest.files)) {
      const route = routeOf(f, maps);
      if (route) files.set(`${CONSOLE_PATH}/${f}`, route);
    }
    const index = files.get(`${CONSOLE_PATH}/index.html`);
    if (index) {
      files.set(CONSOLE_PATH, index);
      files.set(`${CONSOLE_PATH}/`, index);
    }
    const mapRoutes = new Map<string, Route>();
    for (const f of maps) {
      const route = routeOf(f, new Set());
      if (route) mapRoutes.set(`${CONSOLE_PATH}/${f}`, route);
    }
    table = { key, files, maps: mapRoutes };
    // Files of an older build are no longer served: their cached bodies go.
    const current = new Set([...files.values(), ...mapRoutes.values()].map((r) => r.file));
    for (const f of cache.keys()) if (!current.has(f)) cache.delete(f);
    return table;
  };

  /** The file as it is now on disk, or undefined when it is not there. */
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
    const entry = { key, body, encoded: new Map(), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    cache.set(file, entry);
    return entry;
  };

  const encodedBody = (entry: Cached, encoding: Encoding): Buffer => {
    let body = entry.encoded.get(encoding);
    if (!body) {
      // Once per file and version; the smallest form, as it is sent again and again.
      body = compress(entry.body, encoding, 'max');
      entry.encoded.set(encoding, body);
    }
    return body;
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

  const notBuilt = (res: ServerResponse, what: string) =>
    text(
      res,
      503,
      `The web console has not been built (no ${what} in ${dir}). Run \`npm run build\` (\`npm start\` builds it too), then reload.`,
    );

  return {
    serve(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return text(res, 405, `The web console only answers GET and HEAD, not ${req.method}.`, { Allow: 'GET, HEAD' });
      }
      const current = routes();
      const route = current.files.get(path) ?? (sourceMaps ? current.maps.get(path) : undefined);
      if (!route) return text(res, 404, `Not found: ${path.slice(0, 200)}. The web console is at ${CONSOLE_PATH}.`);
      const entry = load(route.file);
      if (!entry) return notBuilt(res, route.file);
      const headers: Record<string, string | number> = {
        'Content-Type': route.type,
        'Cache-Control': route.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
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
      const encoding = preferredEncoding(req.headers['accept-encoding']);
      const body = encoding ? encodedBody(entry, encoding) : entry.body;
      res.writeHead(200, { ...headers, 'Content-Length': body.length, ...(encoding ? { 'Content-Encoding': encoding } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return 200;
    },
  };
}
