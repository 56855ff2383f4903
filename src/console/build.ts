/**
 * Builds the web console: one esbuild bundle of `app/` (Preact + the browser build of
 * @aws-sdk/client-ec2) into `dist/console/`, next to the static files the page needs. The server
 * serves exactly the files listed in CONSOLE_FILES (src/http/console.ts). Run by `npm run build`
 * (`build:console`) and by the console's end-to-end test.
 */
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const APP_DIR = fileURLToPath(new URL('./app/', import.meta.url));
export const CONSOLE_OUT_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));
/** Copied as they are. */
const STATIC_FILES = ['index.html', 'favicon.svg'];

export interface ConsoleBuild {
  readonly outDir: string;
  /** bytes of the script bundle, minified */
  readonly scriptBytes: number;
}

export async function buildConsole(outDir: string = CONSOLE_OUT_DIR): Promise<ConsoleBuild> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(APP_DIR, 'main.tsx') },
    outdir: outDir,
    bundle: true,
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
  const script = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('app.js'));
  return { outDir, scriptBytes: script?.[1].bytes ?? 0 };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const { outDir, scriptBytes } = await buildConsole();
  process.stdout.write(`console: ${outDir} (app.js ${(scriptBytes / 1024).toFixed(0)} KiB, ${Date.now() - started} ms)\n`);
}
