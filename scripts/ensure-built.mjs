#!/usr/bin/env node
/**
 * Builds (`npm run build`) only when dist/ is missing or its sources changed since the last complete
 * build, so that `npm start` on an unchanged checkout starts the server at once.
 *
 *   node scripts/ensure-built.mjs --run dist/cli/main.js serve …
 *                 `npm start`: build when needed (one line on stderr says why), then run that module in
 *                 this same process, as `node dist/cli/main.js serve …` would (one Node start-up, not two)
 *   node scripts/ensure-built.mjs            build when needed, nothing else
 *   node scripts/ensure-built.mjs --prepare  the same, for `npm install`/`npm ci` (package.json's `prepare`):
 *                 a failed build is reported but does not fail the install (`npm start` tries again)
 *   node scripts/ensure-built.mjs --check    exit 0 when dist/ is up to date, 1 (and why) when not
 *   node scripts/ensure-built.mjs --begin    first step of `npm run build`: note the sources as they are
 *   node scripts/ensure-built.mjs --done     last step of `npm run build`: it succeeded, record them as built
 *   --root DIR                               another tree than this checkout (tests)
 *
 * The sources are every file under src/ and scripts/, tsconfig*.json, package.json and package-lock.json
 * (`npm install` of another version changes the lock). Their fingerprint is a hash of each file's path,
 * size and modification time: an edit, a new, removed or renamed file, or a checkout all change it, even
 * to an older time. It is taken when a build starts, so a file saved during the build makes the next
 * start build again. Stat'ing a few hundred files takes a few milliseconds; nothing is read.
 * Plain JavaScript: it must run before anything is compiled.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SOURCE_DIRS = ['src', 'scripts'];
const SOURCE_FILE = /^(tsconfig.*\.json|package\.json|package-lock\.json)$/;
/** What a build writes and a start needs: any of them missing means "build". */
export const OUTPUTS = ['dist/cli/main.js', 'dist/protocol/ec2-schemas.json', 'dist/console/index.html'];
const STAMP = 'dist/.build-stamp.json';
const PENDING = 'dist/.build-pending.json';

/** Editor droppings (.foo.swp, foo~) are not sources. */
const ignored = (name) => name.startsWith('.') || name.endsWith('~');

/** The sources' fingerprint, their count, and the newest of them and its modification time. */
export function fingerprint(root) {
  const entries = [];
  const walk = (dir) => {
    let names;
    try {
      names = readdirSync(join(root, dir), { withFileTypes: true });
    } catch (err) {
      if (err.code === 'ENOENT') return;
      throw err;
    }
    for (const d of names) {
      if (ignored(d.name)) continue;
      const path = `${dir}/${d.name}`;
      if (d.isDirectory()) walk(path);
      else entries.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  for (const name of readdirSync(root)) if (SOURCE_FILE.test(name)) entries.push(name);
  entries.sort();
  const hash = createHash('sha256');
  let newestMs = 0;
  let newest;
  for (const path of entries) {
    const st = statSync(join(root, path), { throwIfNoEntry: false });
    if (!st) continue; // removed while we looked
    if (st.mtimeMs > newestMs) {
      newestMs = st.mtimeMs;
      newest = path;
    }
    hash.update(`${path}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return { hash: hash.digest('hex'), files: entries.length, newestMs, newest };
}

/** Whether `root`'s dist/ is up to date: { fresh: true } or { fresh: false, reason }. */
export function freshness(root) {
  const missing = OUTPUTS.find((f) => !existsSync(join(root, f)));
  if (missing) return { fresh: false, reason: `${missing} is missing` };
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, STAMP), 'utf8'));
  } catch {
    return { fresh: false, reason: 'no record of a complete build' };
  }
  const now = fingerprint(root);
  if (now.hash === stamp.hash) return { fresh: true };
  return {
    fresh: false,
    reason:
      now.newestMs > stamp.newestMs
        ? `${now.newest} and maybe more changed since the last build`
        : 'source files were added, removed or replaced since the last build',
  };
}

/** First step of `npm run build`: the fingerprint of the sources it is about to compile. */
export function beginBuild(root) {
  rmSync(join(root, STAMP), { force: true });
  writeFileSync(join(root, PENDING), `${JSON.stringify({ ...fingerprint(root), startedAt: new Date().toISOString() })}\n`);
}

/** Last step of `npm run build`: the build that began with beginBuild succeeded. */
export function finishBuild(root) {
  if (!existsSync(join(root, PENDING))) throw new Error(`${PENDING} is missing: run the whole \`npm run build\``);
  renameSync(join(root, PENDING), join(root, STAMP));
}

/**
 * Builds `root` when it is not up to date; returns 0, or the failed build's exit status
 * (`prepare`: 0 all the same, after saying so).
 */
export function ensureBuilt(root, { prepare = false } = {}) {
  const f = freshness(root);
  if (f.fresh) return 0;
  process.stderr.write(`nestbox: building, as ${f.reason}: npm run build\n`);
  // the npm that runs us, if any (npm start, npm install), else the one on PATH
  const npm = process.env.npm_execpath;
  const r = npm
    ? spawnSync(process.execPath, [npm, 'run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  const status = r.status ?? 1;
  if (status !== 0 && prepare) {
    process.stderr.write('nestbox: the build failed (above); the install itself is complete. `npm start` builds again.\n');
    return 0;
  }
  return status;
}

async function main(argv) {
  let root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  let mode = 'ensure';
  let run;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root' && argv[i + 1]) root = resolve(argv[++i]);
    else if (a === '--check' || a === '--begin' || a === '--done' || a === '--prepare') mode = a.slice(2);
    else if (a === '--run' && argv[i + 1]) {
      // everything after the module is the module's own arguments
      run = { module: resolve(root, argv[i + 1]), args: argv.slice(i + 2) };
      break;
    } else {
      process.stderr.write(`ensure-built: unknown argument '${a}'\n`);
      return 2;
    }
  }
  switch (mode) {
    case 'begin':
      // dist/ may not exist yet
      mkdirSync(join(root, 'dist'), { recursive: true });
      beginBuild(root);
      return 0;
    case 'done':
      try {
        finishBuild(root);
      } catch (err) {
        process.stderr.write(`ensure-built: ${err.message}\n`);
        return 1;
      }
      return 0;
    case 'check': {
      const f = freshness(root);
      process.stdout.write(f.fresh ? 'up to date\n' : `stale: ${f.reason}\n`);
      return f.fresh ? 0 : 1;
    }
    default: {
      const status = ensureBuilt(root, { prepare: mode === 'prepare' });
      if (status !== 0 || !run) return status;
      // As if Node had been started on the module itself: it reads its arguments from process.argv.slice(2).
      process.argv.splice(1, Infinity, run.module, ...run.args);
      await import(pathToFileURL(run.module).href);
      return undefined;
    }
  }
}

if (process.argv[1] && relative(process.argv[1], fileURLToPath(import.meta.url)) === '') {
  const status = await main(process.argv.slice(2));
  if (status !== undefined) process.exitCode = status;
}
