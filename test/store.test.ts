/** The store: commits are durable and all-or-nothing; the WAL is checkpointed off the request path. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Store } from '../src/store/store.js';
import { instanceRecord } from './fixtures.js';

const record = (i: number) =>
  instanceRecord({ id: `i-${i.toString(16).padStart(17, '0')}`, seq: i, userData: 'A'.repeat(2000) });

test('the WAL is checkpointed by the background worker, not by commits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-store-'));
  try {
    const store = new Store({ dataDir: dir, checkpointIntervalMs: 50 });
    const dbFile = join(dir, 'nestbox.db');
    const before = statSync(dbFile).size;
    for (let i = 1; i <= 400; i++) store.commit({ instances: [record(i)] });
    // Commits only append to the WAL: the database file grows only when a checkpoint copies pages in.
    assert.equal(statSync(dbFile).size, before, 'a commit must not checkpoint on the request path');
    const deadline = Date.now() + 5000;
    while (statSync(dbFile).size === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(statSync(dbFile).size > before, 'the background checkpoint copied the WAL into the database file');
    await store.close();
    assert.equal(statSync(`${dbFile}-wal`, { throwIfNoEntry: false })?.size ?? 0, 0, 'close() folds the WAL in');
    const db = new Database(dbFile, { readonly: true });
    assert.equal((db.prepare('SELECT count(*) AS n FROM instances').get() as { n: number }).n, 400);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed commit changes neither the database nor the in-memory view', async () => {
  const store = new Store({ dataDir: ':memory:' });
  store.commit({ instances: [record(1)] });
  const bad = { ...record(2), account: null as unknown as string }; // NOT NULL refuses it
  assert.throws(() => store.commit({ instances: [record(3), bad] }));
  assert.equal(store.instance(record(3).id), undefined, 'the whole commit is rolled back');
  assert.equal(store.instanceCount(), 1);
  await store.close();
});

test('tags keep the order they were first set in across a restart, even when a value changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-store-'));
  try {
    const id = instanceRecord().id;
    const tag = (key: string, value: string) => ({ resourceId: id, resourceType: 'instance', key, value });
    const first = new Store({ dataDir: dir });
    first.commit({ instances: [instanceRecord()], putTags: [tag('a', '1'), tag('b', '2'), tag('c', '3')] });
    first.commit({ putTags: [tag('a', 'changed')] });
    assert.deepEqual([...(first.tagsOf(id) ?? [])], [['a', 'changed'], ['b', '2'], ['c', '3']]);
    await first.close();
    const second = new Store({ dataDir: dir });
    assert.deepEqual([...(second.tagsOf(id) ?? [])], [['a', 'changed'], ['b', '2'], ['c', '3']]);
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
    let store = new Store({ dataDir: dir });
    store.commit({ putResources: [{ kind: 'key-pair', doc: key(2) }, { kind: 'key-pair', doc: key(1) }] });
    store.commit({ putTags: [{ resourceId: key(1).id, resourceType: 'key-pair', key: 'team', value: 'ci' }] });
    // An update keeps the resource's place in the listing.
    store.commit({ putResources: [{ kind: 'key-pair', doc: { ...key(2), fingerprint: 'changed' } }] });
    await store.close();

    store = new Store({ dataDir: dir });
    assert.deepEqual([...store.resources('key-pair')].map((k) => [k.name, k.fingerprint]), [['k2', 'changed'], ['k1', 'fp1']]);
    assert.equal(store.resource('key-pair', key(1).id)?.name, 'k1');
    assert.equal(store.resource('dedicated-host', key(1).id), undefined, 'kinds are kept apart');
    assert.equal(store.tagsOf(key(1).id)?.get('team'), 'ci');
    store.commit({ deleteResources: [{ kind: 'key-pair', id: key(1).id }] });
    await store.close();

    store = new Store({ dataDir: dir });
    assert.deepEqual([...store.resources('key-pair')].map((k) => k.name), ['k2']);
    assert.equal(store.tagsOf(key(1).id), undefined);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
