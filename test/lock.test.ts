/**
 * Start-up: one server per data dir (src/lock.ts), the CLI without a command, and a corrupt nestbox.db.
 * The second servers and the killed ones are real `nestbox serve` processes; the simulated driver.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DEFAULTS } from '../src/config.js';
import { OWNER_FILE, readOwner } from '../src/lock.js';
import { silentLogger } from '../src/logger.js';
import { StartupError, startNestbox } from '../src/main.js';
import { nestboxCli } from './cli-process.js';
import { CREDENTIALS, launchOne, startTestServer } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'nestbox-lock-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * The files of a directory with their sizes and modification times (the WAL index, which the owner's
 * checkpointer maps into memory and may touch at any time, only by name).
 */
const snapshot = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => {
        const st = statSync(join(dir, f));
        return [f, f.endsWith('-shm') ? 'present' : `${st.size}@${st.mtimeMs}`];
      }),
  );

const instanceRows = (dir: string) => {
  const db = new Database(join(dir, 'nestbox.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, doc FROM instances ORDER BY id').all();
  } finally {
    db.close();
  }
};

const client = (endpoint: string) => new EC2Client({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });

test('a second server on a data dir in use refuses at once, naming the dir and the owner, and touches nothing', async (t) => {
  const first = await startTestServer({ driver: 'simulated' });
  dirs.push(first.dataDir);
  try {
    const id = (await launchOne(first.client())).InstanceId!;
    // Let the first server's WAL checkpointer settle, then take the directory's picture.
    await new Promise((r) => setTimeout(r, 1500));
    const before = snapshot(first.dataDir);
    const rows = instanceRows(first.dataDir);
    const owner = readOwner(first.dataDir);
    assert.equal(owner?.pid, process.pid);
    assert.equal(owner?.port, first.nestbox.port);

    // In the same process (as tests start servers): a StartupError with the same words. The refused
    // attempt's lock file handle must not drop the owner's lock when it is closed (SQLite keeps it).
    await assert.rejects(
      startNestbox({ ...DEFAULTS, port: 0, dataDir: first.dataDir, driver: 'simulated', quiet: true }, silentLogger),
      (err: unknown) => err instanceof StartupError && /is in use by another nestbox \(PID \d+, listening on/.test(err.message),
    );

    // The default driver (auto): the lock comes before the driver, the database and any VM.
    const started = Date.now();
    const second = nestboxCli(['serve', '--data-dir', first.dataDir, '--port', '0']);
    assert.equal(await second.exited(), 1);
    const elapsed = Date.now() - started;
    const lines = second.stderr().split('\n').filter(Boolean);
    assert.equal(lines.length, 1, second.stderr());
    assert.equal(
      lines[0],
      `nestbox: the data dir ${first.dataDir} is in use by another nestbox (PID ${process.pid}, listening on 127.0.0.1:${first.nestbox.port}, since ${owner?.startedAt}); stop that server first, or start this one with another --data-dir`,
    );
    assert.equal(second.stdout(), '');

    // Nothing changed on disk, and the first server still serves what it had.
    assert.deepEqual(snapshot(first.dataDir), before);
    assert.deepEqual(instanceRows(first.dataDir), rows);
    const seen = await first.client().send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    assert.equal(seen.Reservations?.[0]?.Instances?.[0]?.InstanceId, id);
    t.diagnostic(`second server refused in ${elapsed} ms (process start included)`);
  } finally {
    await first.stop();
  }
});

test('a lock left by a server killed with SIGKILL is taken over; its data is all there', async () => {
  const dir = tempDir();
  const killed = nestboxCli(['serve', '--data-dir', dir, '--port', '0', '--driver', 'simulated', '--sim-delay-ms', '50']);
  const endpoint = await killed.listening();
  const ec2 = client(endpoint);
  const id = (await launchOne(ec2)).InstanceId!;
  ec2.destroy();
  assert.equal(readOwner(dir)?.pid, killed.child.pid);
  killed.child.kill('SIGKILL');
  assert.equal(await killed.exited(), 'SIGKILL');
  // The owner file is still there, naming a dead process: the kernel dropped the lock itself.
  assert.equal(readOwner(dir)?.pid, killed.child.pid);

  const next = await startTestServer({ driver: 'simulated' }, dir);
  try {
    assert.equal(readOwner(dir)?.pid, process.pid);
    const seen = await next.client().send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    assert.equal(seen.Reservations?.[0]?.Instances?.[0]?.InstanceId, id);
  } finally {
    await next.stop();
  }
  // a clean close in-process releases too: the owner file goes, and a new owner gets the dir
  assert.equal(existsSync(join(dir, OWNER_FILE)), false);
  const again = await startTestServer({ driver: 'simulated' }, dir);
  await again.stop();
});

test('SIGTERM shuts the server down cleanly and releases the data dir', async () => {
  const dir = tempDir();
  const server = nestboxCli(['serve', '--data-dir', dir, '--port', '0', '--driver', 'simulated']);
  await server.listening();
  assert.equal(readOwner(dir)?.pid, server.child.pid);
  server.child.kill('SIGTERM');
  assert.equal(await server.exited(), 0);
  assert.equal(existsSync(join(dir, OWNER_FILE)), false, 'the owner file is removed on a clean exit');
  const next = await startTestServer({ driver: 'simulated' }, dir);
  await next.stop();
});

test('the CLI without a command prints its usage and exits 2; it starts no server', async () => {
  const bare = nestboxCli([]);
  assert.equal(await bare.exited(), 2);
  assert.match(bare.stderr(), /^Usage: nestbox <command> \[options\]/);
  assert.match(bare.stderr(), /serve \[options\]/);
  assert.equal(bare.stdout(), '');

  const flagsOnly = nestboxCli(['--port', '0']);
  assert.equal(await flagsOnly.exited(), 2);
  assert.match(flagsOnly.stderr(), /^nestbox: no command given \(to run the server: nestbox serve --port 0\)/);
  assert.doesNotMatch(flagsOnly.stdout(), /listening/);
  // package.json's start script names the command
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.start ?? '', /dist\/cli\/main\.js serve\b/);
});

test('a corrupt nestbox.db ends start-up with one line naming the file and what to do, and is left untouched', async () => {
  const dir = tempDir();
  const db = join(dir, 'nestbox.db');
  // garbage bytes (a valid SQLite header over garbage pages fails the same way: "database disk image is malformed")
  writeFileSync(db, Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919 + 13) & 0xff)));
  const before = sha(db);
  const run = nestboxCli(['serve', '--data-dir', dir, '--port', '0', '--driver', 'simulated']);
  assert.equal(await run.exited(), 1);
  const lines = run.stderr().split('\n').filter(Boolean);
  assert.equal(lines.length, 1, run.stderr());
  assert.match(
    lines[0] ?? '',
    new RegExp(`^nestbox: ${db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a readable nestbox database \\(file is not a database\\); it was left untouched\\. Move it away .* or restore it from a backup\\.$`),
  );
  assert.doesNotMatch(run.stderr(), /\bat .+:\d+:\d+|SqliteError|node_modules/);
  assert.equal(sha(db), before);
  assert.deepEqual(readdirSync(dir).sort(), ['nestbox.db', 'nestbox.lock'], 'no WAL or shared-memory file is left beside it');
  // and the lock was given back
  assert.equal(existsSync(join(dir, OWNER_FILE)), false);
});
