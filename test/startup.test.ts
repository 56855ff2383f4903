/**
 * Start-up and memory (issue 12, point 6). Nothing here builds the project:
 *  - an empty server started in this process from src/: its RSS, printed, under a generous bound, and
 *    the AWS SDK client never loaded for it when dist/protocol/ec2-schemas.json is there;
 *  - scripts/ensure-built.mjs, which `npm start` runs: its stale/fresh decision on a temporary tree;
 *  - scripts/build-schemas.mjs (written to a temporary file): the schemas it writes, read back by
 *    src/protocol/schema.ts, are exactly the SDK's.
 * The whole `npm start` → first /_health time is a measurement, not a test: see the README.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { startNestbox } from '../src/main.js';
import { readSchemaFile, schemaSource } from '../src/protocol/schema.js';
import { OUTPUTS, beginBuild, finishBuild, freshness } from '../scripts/ensure-built.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENSURE_BUILT = join(ROOT, 'scripts', 'ensure-built.mjs');
const BUILD_SCHEMAS = join(ROOT, 'scripts', 'build-schemas.mjs');
const require = createRequire(import.meta.url);
const MiB = 1024 * 1024;

/** Whether the CommonJS SDK client has been loaded into this process (ESM imports of CJS land in require.cache too). */
const sdkClientLoaded = () => Object.keys(require.cache).some((k) => k.includes(`${join('@aws-sdk', 'client-ec2')}`));

// First in this file, so nothing else (the SDK loaded by the schema test below) is counted.
test('an empty server started from src: RSS measured and printed, and the SDK client is not loaded', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nestbox-startup-'));
  const before = process.memoryUsage().rss;
  const started = performance.now();
  const nestbox = await startNestbox({ ...DEFAULTS, port: 0, dataDir, driver: 'simulated', quiet: true }, silentLogger);
  try {
    const res = await fetch(`${nestbox.endpoint}/_health`);
    assert.equal(res.status, 200);
    await res.text();
    const ms = performance.now() - started;
    const rss = process.memoryUsage().rss;
    t.diagnostic(
      `empty server from src (tsx), schemas from ${schemaSource() === 'file' ? 'dist/protocol/ec2-schemas.json' : 'the SDK client (no built schema file)'}: ` +
        `RSS ${(rss / MiB).toFixed(1)} MiB (${(before / MiB).toFixed(1)} MiB before the server started, test runner and tsx included), ` +
        `started and answered /_health in ${ms.toFixed(0)} ms`,
    );
    if (schemaSource() === 'file') {
      assert.ok(!sdkClientLoaded(), 'the server loaded @aws-sdk/client-ec2 although the schema file is there');
      // The built server (`node dist/cli/main.js serve`) takes ~80 MiB; tsx and the test runner add their
      // own (TypeScript transformed in memory, source maps), so the bound here is a generous one.
      assert.ok(rss <= 160 * MiB, `an empty server takes ${(rss / MiB).toFixed(1)} MiB`);
    } else {
      // No `npm run build` yet: the schemas come from the SDK client itself (~90 MiB more).
      assert.ok(rss <= 280 * MiB, `an empty server (schemas from the SDK) takes ${(rss / MiB).toFixed(1)} MiB`);
    }
  } finally {
    await nestbox.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** scripts/ensure-built.mjs run as `npm start` runs it, on `root`: its exit status and what it printed. */
function ensureBuilt(root: string, ...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [ENSURE_BUILT, '--root', root, ...args], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

test('ensure-built: builds when an output, the record of a build, or an unchanged source is missing; not otherwise', () => {
  const root = mkdtempSync(join(tmpdir(), 'nestbox-ensure-built-'));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const check = () => freshness(root);
  const stale = (reason: string) => ({ fresh: false, reason });
  const fresh = { fresh: true };
  const built = () => {
    beginBuild(root);
    finishBuild(root);
  };
  try {
    for (const f of ['src/main.ts', 'src/console/app/main.tsx', 'scripts/build-schemas.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']) {
      write(f, f.endsWith('.json') ? `${JSON.stringify({ file: f })}\n` : `// ${f}\n`);
    }
    mkdirSync(join(root, 'dist'));
    assert.deepEqual(check(), stale('dist/cli/main.js is missing'));
    assert.deepEqual(ensureBuilt(root, '--check'), { status: 1, out: 'stale: dist/cli/main.js is missing' });
    for (const f of OUTPUTS) write(f, 'built\n');
    assert.deepEqual(check(), stale('no record of a complete build'));

    built();
    assert.deepEqual(check(), fresh);
    assert.deepEqual(ensureBuilt(root, '--check'), { status: 0, out: 'up to date' });
    // `npm start` on an up-to-date tree: no build, not a word, and the server module runs in the same
    // process as Node would run it (here a stand-in that prints what it sees)
    assert.deepEqual(ensureBuilt(root), { status: 0, out: '' });
    write('dist/cli/main.js', 'console.log(JSON.stringify([process.argv[1], ...process.argv.slice(2)]));\n');
    built();
    assert.deepEqual(ensureBuilt(root, '--run', 'dist/cli/main.js', 'serve', '--port', '0', '--check'), {
      status: 0,
      out: JSON.stringify([join(root, 'dist/cli/main.js'), 'serve', '--port', '0', '--check']),
    });
    // editor droppings are not sources
    write('src/.main.ts.swp', 'x');
    write('src/main.ts~', 'x');
    assert.deepEqual(check(), fresh);

    // an edit (a later modification time)
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'src/main.ts'), later, later);
    assert.deepEqual(check(), stale('src/main.ts and maybe more changed since the last build'));
    built();
    assert.deepEqual(check(), fresh);

    // a file restored with an older time (a checkout, `cp -p`): the newest time is unchanged, the fingerprint is not
    const earlier = new Date(Date.now() - 86_400_000);
    utimesSync(join(root, 'src/console/app/main.tsx'), earlier, earlier);
    assert.deepEqual(check(), stale('source files were added, removed or replaced since the last build'));
    built();

    // a new file, a removed file
    write('src/new.ts', 'export {};\n');
    assert.equal(check().fresh, false);
    built();
    unlinkSync(join(root, 'src/new.ts'));
    assert.equal(check().fresh, false);
    built();

    // the lock (npm install of another version), package.json, the compiler's settings and the build scripts are sources too
    for (const f of ['package-lock.json', 'package.json', 'tsconfig.build.json', 'scripts/build-schemas.mjs']) {
      const t = new Date(Date.now() + 120_000);
      utimesSync(join(root, f), t, t);
      assert.equal(check().fresh, false, f);
      built();
    }
    assert.deepEqual(check(), fresh);

    // a source saved while a build runs: that build is recorded, but for the sources as they were when it began
    beginBuild(root);
    write('src/main.ts', '// saved during the build\n');
    finishBuild(root);
    assert.equal(check().fresh, false);

    // a failed build (no --done) leaves no record: the next start builds
    built();
    beginBuild(root);
    assert.deepEqual(check(), stale('no record of a complete build'));
    built();
    assert.equal(ensureBuilt(root, '--done').status, 1, '--done without --begin fails');
    assert.equal(ensureBuilt(root, '--bogus').status, 2);

    // an output removed (rm -rf dist/console)
    rmSync(join(root, 'dist/console'), { recursive: true });
    assert.deepEqual(check(), stale('dist/console/index.html is missing'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('package.json: `npm start` checks freshness then runs the built server; `prepare` builds at install', () => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(scripts.start ?? '', /^exec node [^&|;]*scripts\/ensure-built\.mjs --run dist\/cli\/main\.js serve$/);
  assert.equal(scripts.prestart, undefined, 'no build on every start');
  assert.match(scripts.prepare ?? '', /scripts\/ensure-built\.mjs/);
  assert.match(scripts.build ?? '', /^node scripts\/ensure-built\.mjs --begin && .*scripts\/build-schemas\.mjs.* && node scripts\/ensure-built\.mjs --done$/);
});

/**
 * Walks two schema graphs side by side, calling thunks, and fails at the first difference. Each SDK
 * array or object must correspond to one and the same value of the other graph (cycles included).
 */
function assertSameSchema(sdk: unknown, file: unknown, path: string, seen: Map<object, unknown>): void {
  if (typeof sdk === 'function') {
    assert.equal(typeof file, 'function', `${path}: a thunk`);
    return assertSameSchema((sdk as () => unknown)(), (file as () => unknown)(), `${path}()`, seen);
  }
  if (typeof sdk !== 'object' || sdk === null) return assert.equal(file, sdk, path);
  const known = seen.get(sdk);
  if (known !== undefined) return assert.equal(file, known, `${path}: the same schema as before`);
  assert.ok(typeof file === 'object' && file !== null, `${path}: ${JSON.stringify(file)} is not an object`);
  seen.set(sdk, file);
  assert.equal(Array.isArray(file), Array.isArray(sdk), `${path}: array or not`);
  const a = sdk as Record<string, unknown>;
  const b = file as Record<string, unknown>;
  assert.deepEqual(Object.keys(b), Object.keys(a), `${path}: keys`);
  for (const k of Object.keys(a)) assertSameSchema(a[k], b[k], `${path}[${k}]`, seen);
}

test('build-schemas: the schema file read back is exactly the SDK schemas and enums; another SDK version or format is ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-schemas-'));
  try {
    const file = join(dir, 'ec2-schemas.json');
    const r = spawnSync(process.execPath, [BUILD_SCHEMAS, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^schemas: .*\(\d+ operations, \d+ schemas, \d+ enums, /);
    const schemas = readSchemaFile(file);
    assert.ok(schemas, 'the file just written is read');
    assert.equal(schemas.source, 'file');

    const sdk = require('@aws-sdk/client-ec2') as Record<string, unknown>;
    const seen = new Map<object, unknown>();
    let operations = 0;
    let enums = 0;
    for (const [key, value] of Object.entries(sdk)) {
      if (key.endsWith('$') && Array.isArray(value)) {
        assertSameSchema(value, schemas.shape(key.slice(0, -1)), key, seen);
        if (value[0] === 9) {
          operations++;
          assert.equal(schemas.operations.get(value[2] as string), schemas.shape(key.slice(0, -1)), `operation ${key}`);
        }
      } else if (value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string')) {
        enums++;
        assert.deepEqual(schemas.enum(key), Object.values(value), `enum ${key}`);
      }
    }
    assert.equal(schemas.operations.size, operations);
    assert.ok(operations > 800 && enums > 400, `${operations} operations, ${enums} enums`);
    assert.equal(schemas.shape('NoSuchShape'), undefined);
    assert.equal(schemas.enum('NoSuchEnum'), undefined);

    const doc = JSON.parse(readFileSync(file, 'utf8')) as { sdk: string; format: number };
    writeFileSync(file, JSON.stringify({ ...doc, sdk: '3.0.0' }));
    assert.equal(readSchemaFile(file), undefined, 'written for another SDK version');
    writeFileSync(file, JSON.stringify({ ...doc, format: doc.format + 1 }));
    assert.equal(readSchemaFile(file), undefined, 'another format');
    assert.equal(readSchemaFile(join(dir, 'missing.json')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
