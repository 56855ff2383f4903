/**
 * Builds the web console into `dist/console/`: esbuild bundles `app/` (Preact, and a small Query-protocol
 * client with Smithy's SigV4 signer) as ES modules split at the dynamic imports — `app.js` is the
 * sign-in page, and the console itself comes as chunks under `chunks/` once the user signs in. Next to
 * them: the static files, and `manifest.json`, the list of every file the build wrote, which is exactly
 * what the server serves (src/http/console.ts). Run by `npm run build` (`build:console`) and by the
 * console's end-to-end test.
 */
import { build } from 'esbuild';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const APP_DIR = fileURLToPath(new URL('./app/', import.meta.url));
export const CONSOLE_OUT_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));
/** Copied as they are. */
const STATIC_FILES = ['index.html', 'favicon.svg'];
export const MANIFEST = 'manifest.json';

/** dist/console/manifest.json */
export interface ConsoleManifest {
  /** every file the page may load, relative to dist/console ('/'-separated) */
  readonly files: readonly string[];
  /** the source maps of the scripts and the style sheet (served only with --console-source-maps) */
  readonly maps: readonly string[];
}

export interface ConsoleBuild {
  readonly outDir: string;
  /** bytes of each script the build wrote, minified (not compressed) */
  readonly scripts: Readonly<Record<string, number>>;
}

export async function buildConsole(outDir: string = CONSOLE_OUT_DIR): Promise<ConsoleBuild> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(APP_DIR, 'main.tsx') },
    outdir: outDir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'browser',
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    // Maps are written next to the bundle but not linked from it: the server serves them, and points the
    // browser at them with a SourceMap header, only when started with --console-source-maps.
    sourcemap: 'external',
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
  });
  await Promise.all(STATIC_FILES.map((f) => copyFile(join(APP_DIR, f), join(outDir, f))));
  const written = Object.keys(result.metafile.outputs).map((f) => relative(outDir, f).split(sep).join('/'));
  const manifest: ConsoleManifest = {
    files: [...STATIC_FILES, ...written.filter((f) => !f.endsWith('.map'))].sort(),
    maps: written.filter((f) => f.endsWith('.map')).sort(),
  };
  await writeFile(join(outDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  const scripts = Object.fromEntries(
    Object.entries(result.metafile.outputs)
      .filter(([file]) => file.endsWith('.js'))
      .map(([file, out]) => [relative(outDir, file).split(sep).join('/'), out.bytes]),
  );
  return { outDir, scripts };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const { outDir, scripts } = await buildConsole();
  const total = Object.values(scripts).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `console: ${outDir} (${Object.keys(scripts).length} scripts, ${(total / 1024).toFixed(0)} KiB minified, app.js ${((scripts['app.js'] ?? 0) / 1024).toFixed(0)} KiB; ${Date.now() - started} ms)\n`,
  );
}
