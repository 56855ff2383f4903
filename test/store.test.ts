/**
 * The SQLite store on disk (what the contract suite, test/store-contract.test.ts, does not cover): the
 * WAL is checkpointed off the request path, a commit that fails for any reason writes nothing, and what
 * was written is there again, in the same order, after the database is opened again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/store/sqlite.js';
import type { TagRecord } from '../src/store/types.js';
import { instanceRecord } from './fixtures.js';

const record = (i: number) =>
  instanceRecord({ id: `i-${i.toString(16).padStart(17, '0')}`, seq: i, userData: 'A'.repeat(2000) });

test('the WAL is checkpointed by the background worker, not by commits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-store-'));
  const dbFile = join(dir, 'nestbox.db');
  try {
    // A worker that will not checkpoint during the test, however slowly the commits go (it also
    // truncates a WAL above walTruncateBytes at its 100 ms size checks): whatever reaches the database
    // file was the commits'.
    const quiet = new SqliteStore({ dataDir: dir, checkpointIntervalMs: 600_000, walTruncateBytes: 1 << 30 });
    const before = statSync(dbFile).size;
    for (let i = 1; i <= 400; i++) await quiet.commit({ instances: [record(i)] });
    // Commits only append to the WAL: the database file grows only when a checkpoint copies pages in.
    assert.equal(statSync(dbFile).size, before, 'a commit must not checkpoint on the request path');
    await quiet.close();

    // A worker that ticks often copies the WAL in while commits go on.
    const busy = new SqliteStore({ dataDir: dir, checkpointIntervalMs: 50 });
    const folded = statSync(dbFile).size;
    for (let i = 401; i <= 800; i++) await busy.commit({ instances: [record(i)] });
    const deadline = Date.now() + 5000;
    while (statSync(dbFile).size === folded && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(statSync(dbFile).size > folded, 'the background checkpoint copied the WAL into the database file');
    await busy.close();
    assert.equal(statSync(`${dbFile}-wal`, { throwIfNoEntry: false })?.size ?? 0, 0, 'close() folds the WAL in');
    const db = new Database(dbFile, { readonly: true });
    assert.equal((db.prepare('SELECT count(*) AS n FROM instances').get() as { n: number }).n, 800);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a commit that fails for a reason other than a conflict writes nothing either', async () => {
  const store = new SqliteStore({ dataDir: ':memory:' });
  await store.commit({ instances: [record(1)] });
  const bad = { ...record(2), account: null as unknown as string }; // NOT NULL refuses it
  await assert.rejects(store.commit({ instances: [record(3), bad] }), /NOT NULL/);
  assert.equal(await store.instance(record(3).id), undefined, 'the whole commit is rolled back');
  assert.deepEqual((await store.instances({ account: record(1).account, region: record(1).region })).map((r) => r.id), [record(1).id]);
  // and the store goes on working
  await store.commit({ instances: [record(3)] });
  assert.equal((await store.instance(record(3).id))?.rev, 1);
  await store.close();
});

test('tags keep the order they were first set in across a restart, even when a value changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-store-'));
  try {
    const { id, account, region } = instanceRecord();
    const tag = (key: string, value: string): TagRecord => ({ resourceId: id, resourceType: 'instance', account, region, key, value });
    const first = new SqliteStore({ dataDir: dir });
    await first.commit({ instances: [instanceRecord()], putTags: [tag('a', '1'), tag('b', '2'), tag('c', '3')] });
    await first.commit({ putTags: [tag('a', 'changed')] });
    assert.deepEqual([...(await first.tagsOf(id))], [['a', 'changed'], ['b', '2'], ['c', '3']]);
    await first.close();
    const second = new SqliteStore({ dataDir: dir });
    assert.deepEqual([...(await second.tagsOf(id))], [['a', 'changed'], ['b', '2'], ['c', '3']]);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resources other than instances persist in creation order, and deleting one deletes its tags', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-store-'));
  try {
    const key = (n: number) => ({
      id: `key-${n.toString(16).padStart(17, '0')}`,
      account: '000000000000',
      region: 'us-east-1',
      name: `k${n}`,
      keyType: 'ed25519' as const,
      fingerprint: `fp${n}`,
      publicKey: `ssh-ed25519 AAAA k${n}`,
      createTime: '2026-11-26T00:00:00.000Z',
    });
    const scope = { account: '000000000000', region: 'us-east-1' };
    let store = new SqliteStore({ dataDir: dir });
    await store.commit({ putResources: [{ kind: 'key-pair', doc: key(2) }, { kind: 'key-pair', doc: key(1) }] });
    await store.commit({ putTags: [{ resourceId: key(1).id, resourceType: 'key-pair', ...scope, key: 'team', value: 'ci' }] });
    // An update keeps the resource's place in the listing.
    await store.commit({ putResources: [{ kind: 'key-pair', doc: { ...(await store.resource('key-pair', key(2).id))!, fingerprint: 'changed' } }] });
    await store.close();

    store = new SqliteStore({ dataDir: dir });
    assert.deepEqual((await store.resources('key-pair', scope)).map((k) => [k.name, k.fingerprint]), [['k2', 'changed'], ['k1', 'fp1']]);
    assert.equal((await store.resource('key-pair', key(1).id))?.name, 'k1');
    assert.equal(await store.resource('dedicated-host', key(1).id), undefined, 'kinds are kept apart');
    assert.equal((await store.tagsOf(key(1).id)).get('team'), 'ci');
    await store.commit({ deleteResources: [{ kind: 'key-pair', id: key(1).id }] });
    await store.close();

    store = new SqliteStore({ dataDir: dir });
    assert.deepEqual((await store.resources('key-pair', scope)).map((k) => k.name), ['k2']);
    assert.equal((await store.tagsOf(key(1).id)).size, 0);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
