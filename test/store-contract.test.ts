/**
 * The store contract (src/store/types.ts), run against every implementation: SQLite in memory and in a
 * directory, and PostgreSQL in a throwaway cluster (test/pg.ts). Then what only one of them has: the
 * SQLite migration from the old store, and each database's query plans for selective filters.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { FleetRecord } from '../src/domain/fleet.js';
import type { HostRecord } from '../src/domain/host.js';
import { type InstanceRecord, rootVolumeId } from '../src/domain/instance.js';
import type { KeyPairRecord } from '../src/domain/key-pair.js';
import type { LaunchTemplateRecord, LaunchTemplateVersionRecord } from '../src/domain/launch-template.js';
import { defaultNetworkOf } from '../src/domain/network.js';
import { openStore } from '../src/store/index.js';
import { PostgresStore } from '../src/store/postgres.js';
import { type Statement, instanceQuery, numbered } from '../src/store/sql.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { type InstanceQuery, type Store, StoreConflict, type TagRecord, type VmHostRecord } from '../src/store/types.js';
import { instanceRecord } from './fixtures.js';
import { type Postgres, startPostgres } from './pg.js';

const A = '000000000000';
const B = '111111111111';
const EAST = 'us-east-1';
const WEST = 'us-west-2';

const hex = (n: number) => n.toString(16).padStart(17, '0');
const iid = (n: number) => `i-${hex(n)}`;
const inst = (n: number, o: Partial<InstanceRecord> = {}): InstanceRecord =>
  instanceRecord({ id: iid(n), seq: n, reservationId: `r-${hex(n)}`, ...o });
const keyPair = (n: number, name: string, region = EAST, account = A): KeyPairRecord => ({
  id: `key-${hex(n)}`,
  account,
  region,
  name,
  keyType: 'ed25519',
  fingerprint: 'fp',
  publicKey: 'ssh-ed25519 AAAA test',
  createTime: new Date(0).toISOString(),
});
const template = (n: number, name: string): LaunchTemplateRecord => ({
  id: `lt-${hex(n)}`,
  account: A,
  region: EAST,
  name,
  createTime: new Date(0).toISOString(),
  createdBy: `arn:aws:iam::${A}:root`,
  defaultVersion: 1,
  lastVersionNumber: 2,
});
const version = (number: number): LaunchTemplateVersionRecord => ({ number, createTime: new Date(number).toISOString(), data: { InstanceType: 't3.micro' } });
const dedicatedHost = (n: number): HostRecord => ({
  id: `h-${hex(n)}`,
  account: A,
  region: EAST,
  availabilityZone: 'us-east-1a',
  instanceType: 'c8i.large',
  autoPlacement: 'on',
  hostRecovery: 'off',
  hostMaintenance: 'on',
  state: 'available',
  allocationTime: new Date(0).toISOString(),
});
const fleet = (n: number): FleetRecord => ({
  id: `fleet-${n}`,
  account: A,
  region: EAST,
  type: 'instant',
  createTime: new Date(0).toISOString(),
  launchTemplateConfigs: [],
  targetCapacity: { TotalTargetCapacity: 1, DefaultTargetCapacityType: 'on-demand' },
  onDemandAllocationStrategy: 'lowest-price',
  spotAllocationStrategy: 'lowest-price',
  spotInterruptionBehavior: 'terminate',
  excessCapacityTerminationPolicy: 'termination',
  replaceUnhealthyInstances: false,
  terminateInstancesWithExpiration: false,
  instances: [],
  errors: [],
  fulfilledCapacity: 0,
  fulfilledOnDemandCapacity: 0,
});
const vmHost = (id: string, o: Partial<VmHostRecord> = {}): VmHostRecord => ({
  id,
  name: `test ${id}`,
  driver: 'simulated',
  vcpus: 8,
  memoryMiB: 16384,
  startedAt: new Date(0).toISOString(),
  heartbeatAt: 1000,
  state: 'alive',
  ...o,
});
const tag = (resourceId: string, key: string, value: string, o: Partial<TagRecord> = {}): TagRecord => ({
  resourceId,
  resourceType: resourceId.startsWith('i-') ? 'instance' : 'volume',
  account: A,
  region: EAST,
  key,
  value,
  ...o,
});

const conflict = (reason: 'stale' | 'unique') => (e: unknown) => {
  assert.ok(e instanceof StoreConflict, `a StoreConflict, not ${String(e)}`);
  assert.equal(e.reason, reason, e.message);
  return true;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
const ids = (records: readonly { id: string }[]) => records.map((r) => r.id);

// --- the implementations ----------------------------------------------------------------------------------

interface Opened {
  readonly store: Store;
  /** another handle on the same database: PostgreSQL, another store (other connections, as another server has); SQLite, the same one */
  readonly peer: Store;
  close(): Promise<void>;
}
interface Subject {
  readonly name: string;
  readonly kind: 'sqlite' | 'postgres';
  open(): Promise<Opened>;
}

let cluster: Postgres | undefined;
after(async () => {
  await cluster?.stop();
});

const SUBJECTS: readonly Subject[] = [
  {
    name: 'SQLite in memory',
    kind: 'sqlite',
    open: async () => {
      const store = new SqliteStore({ dataDir: ':memory:' });
      return { store, peer: store, close: () => store.close() };
    },
  },
  {
    name: 'SQLite in a directory',
    kind: 'sqlite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nestbox-store-'));
      const store = await openStore({ dataDir: dir });
      return {
        store,
        peer: store,
        close: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    kind: 'postgres',
    open: async () => {
      cluster ??= await startPostgres();
      const url = await cluster.createDatabase();
      const store = await openStore({ database: url, dataDir: '/nonexistent' });
      const peer = new PostgresStore({ url });
      return { store, peer, close: async () => void (await Promise.all([store.close(), peer.close()])) };
    },
  },
];

for (const subject of SUBJECTS) {
  describe(`store contract: ${subject.name}`, () => {
    const it = (title: string, fn: (s: Opened) => Promise<void>) =>
      test(title, async () => {
        const opened = await subject.open();
        try {
          await fn(opened);
        } finally {
          await opened.close();
        }
      });

    it('records of every kind round-trip, carrying their revision', async ({ store }) => {
      assert.equal(store.kind, subject.kind);
      assert.doesNotMatch(store.location, /:[^/@]*@/, 'no password in the location');
      const i = inst(1, { tenancy: 'host', hostId: 'h-1', publicIp: '127.1.0.1', vmHost: 'nbh-1', clientToken: 'tok' });
      const kp = keyPair(1, 'k1');
      const lt = template(2, 't1');
      const h = dedicatedHost(3);
      const f = fleet(4);
      await store.commit({
        instances: [i],
        putResources: [
          { kind: 'key-pair', doc: kp },
          { kind: 'launch-template', doc: lt },
          { kind: 'dedicated-host', doc: h },
          { kind: 'fleet', doc: f },
        ],
        putTemplateVersions: [2, 1].map((n) => ({ templateId: lt.id, version: version(n) })),
        clientToken: { account: A, region: EAST, token: 'tok', fingerprint: 'fp', reservationId: i.reservationId },
        putVmHosts: [vmHost('nbh-1')],
      });
      assert.deepEqual(await store.instance(i.id), { ...i, rev: 1 });
      assert.equal(await store.instance(iid(99)), undefined);
      assert.deepEqual(await store.resource('key-pair', kp.id), { ...kp, rev: 1 });
      assert.deepEqual(await store.resource('launch-template', lt.id), { ...lt, rev: 1 });
      assert.deepEqual(await store.resource('dedicated-host', h.id), { ...h, rev: 1 });
      assert.deepEqual(await store.resource('fleet', f.id), { ...f, rev: 1 });
      assert.equal(await store.resource('fleet', kp.id), undefined, 'a resource is found under its own kind only');
      assert.deepEqual(await store.templateVersions(lt.id), [version(1), version(2)]);
      assert.deepEqual(await store.templateVersion(lt.id, 2), version(2));
      assert.equal(await store.templateVersion(lt.id, 3), undefined);
      assert.deepEqual(await store.clientToken(A, EAST, 'tok'), { account: A, region: EAST, token: 'tok', fingerprint: 'fp', reservationId: i.reservationId });
      assert.equal(await store.clientToken(A, WEST, 'tok'), undefined);
      assert.deepEqual(await store.vmHost('nbh-1'), { ...vmHost('nbh-1'), rev: 1 });
      assert.deepEqual(await store.vmHosts(), [{ ...vmHost('nbh-1'), rev: 1 }]);

      // a changed record written back with the revision it was read with
      const read = (await store.instance(i.id))!;
      await store.commit({ instances: [{ ...read, state: 'running' }], putResources: [{ kind: 'key-pair', doc: { ...(await store.resource('key-pair', kp.id))!, fingerprint: 'fp2' } }] });
      assert.deepEqual(await store.instance(i.id), { ...i, state: 'running', rev: 2 });
      assert.deepEqual(await store.resource('key-pair', kp.id), { ...kp, fingerprint: 'fp2', rev: 2 });
      assert.deepEqual(await store.resources('key-pair', { account: A, region: EAST }), [{ ...kp, fingerprint: 'fp2', rev: 2 }]);
      assert.deepEqual(ids(await store.allResources('fleet')), [f.id]);

      await store.commit({ deleteTemplateVersions: [{ templateId: lt.id, number: 1 }] });
      assert.deepEqual(await store.templateVersions(lt.id), [version(2)]);
    });

    it('a stale revision, or a new record over an existing ID, is a conflict and writes nothing', async ({ store }) => {
      await store.commit({ instances: [inst(1)], putResources: [{ kind: 'key-pair', doc: keyPair(1, 'k1') }], putVmHosts: [vmHost('nbh-1')] });
      const first = (await store.instance(iid(1)))!;
      await store.commit({ instances: [{ ...first, state: 'running' }] });
      await assert.rejects(store.commit({ instances: [{ ...first, state: 'stopped' }], putTags: [tag(iid(1), 'k', 'v')] }), conflict('stale'));
      assert.equal((await store.instance(iid(1)))?.state, 'running');
      assert.equal((await store.tagsOf(iid(1))).size, 0, 'nothing of the failed transaction was written');
      await assert.rejects(store.commit({ instances: [inst(1, { state: 'stopped' })] }), conflict('stale'));
      await assert.rejects(store.commit({ putResources: [{ kind: 'key-pair', doc: keyPair(1, 'other') }] }), conflict('stale'));
      await assert.rejects(store.commit({ putVmHosts: [vmHost('nbh-1')] }), conflict('stale'));
      const kp = (await store.resource('key-pair', keyPair(1, 'k1').id))!;
      await store.commit({ putResources: [{ kind: 'key-pair', doc: kp }] });
      await assert.rejects(store.commit({ putResources: [{ kind: 'key-pair', doc: kp }] }), conflict('stale'));
      // a record deleted since it was read
      const gone = (await store.instance(iid(1)))!;
      await store.commit({ deleteInstances: [iid(1)] });
      await assert.rejects(store.commit({ instances: [gone] }), conflict('stale'));
    });

    it('an update of a record as read writes what changed, and every index finds the record as written', async ({ store }) => {
      await store.commit({ instances: [inst(1, { state: 'pending', instanceType: 'c8i.large', vmHost: 'nbh-1' }), inst(2)] });
      const read = (await store.instance(iid(1)))!;
      await store.commit({ instances: [{ ...read, state: 'running', instanceType: 'm8i.large', publicIp: '127.1.0.9', vmHost: 'nbh-2' }] });
      const scope = { account: A, region: EAST };
      assert.deepEqual(ids(await store.instances({ ...scope, states: ['running'] })), [iid(1)]);
      assert.equal(ids(await store.instances({ ...scope, states: ['pending'] })).includes(iid(1)), false);
      assert.deepEqual(ids(await store.instances({ ...scope, instanceTypes: ['m8i.large'] })), [iid(1)]);
      assert.equal(ids(await store.instances({ ...scope, instanceTypes: ['c8i.large'] })).includes(iid(1)), false);
      assert.deepEqual(ids(await store.instancesOnVmHost('nbh-2')), [iid(1)]);
      assert.deepEqual(ids(await store.instancesOnVmHost('nbh-1')), []);
      assert.deepEqual(ids(await store.instances({ ...scope, reservationIds: [read.reservationId] })), [iid(1)], 'unchanged columns keep their index entries');
      // written again from the record just written (read back), then from one built without a read: both whole
      const again = (await store.instance(iid(1)))!;
      const { publicIp: _ip, ...withoutIp } = again;
      await store.commit({ instances: [{ ...withoutIp, state: 'stopping' }] });
      assert.deepEqual(await store.instance(iid(1)), { ...withoutIp, state: 'stopping', rev: 3 });
      assert.equal((await store.instances({ ...scope, states: ['stopping'] }))[0]?.publicIp, undefined);
      await store.commit({ instances: [inst(1, { state: 'stopped', rev: 3 })] });
      assert.deepEqual(ids(await store.instances({ ...scope, states: ['stopped'] })), [iid(1)]);
      assert.deepEqual(ids(await store.instances({ ...scope, instanceTypes: ['m8i.large'] })), []);
      // a record read inside a transaction, written by it
      await store.transaction(async (tx) => {
        const rec = (await tx.instance(iid(1)))!;
        tx.write({ instances: [{ ...rec, state: 'pending', vmHost: 'nbh-3' }] });
      });
      assert.deepEqual(ids(await store.instancesOnVmHost('nbh-3', ['pending'])), [iid(1)]);
      assert.deepEqual(ids(await store.instances({ ...scope, states: ['stopped'] })), []);
    });

    it('one transaction may write a record twice: the second write follows the first', async ({ store }) => {
      await store.commit({ instances: [inst(1)] });
      const read = (await store.instance(iid(1)))!;
      await store.transaction(async (tx) => {
        tx.write({ instances: [{ ...read, state: 'running' }] });
        tx.write({ instances: [{ ...read, state: 'stopping' }] });
      });
      assert.deepEqual(await store.instance(iid(1)), { ...inst(1), state: 'stopping', rev: 3 });
      await store.transaction(async (tx) => {
        tx.write({ instances: [inst(2)] });
        tx.write({ instances: [inst(2, { state: 'running' })] });
      });
      assert.equal((await store.instance(iid(2)))?.state, 'running');
    });

    it('unique constraints: key-pair and template names per account and Region, ClientTokens, public IPs', async ({ store }) => {
      await store.commit({
        instances: [inst(1, { publicIp: '127.1.0.1' })],
        putResources: [{ kind: 'key-pair', doc: keyPair(1, 'same') }, { kind: 'launch-template', doc: template(2, 'same') }],
        clientToken: { account: A, region: EAST, token: 'tok', fingerprint: 'fp', reservationId: 'r-1' },
      });
      const unique = (name: string) => (e: unknown) => conflict('unique')(e) && (assert.match((e as Error).message, new RegExp(name)), true);
      await assert.rejects(store.commit({ putResources: [{ kind: 'key-pair', doc: keyPair(3, 'same') }] }), unique('resources_name'));
      await assert.rejects(store.commit({ putResources: [{ kind: 'launch-template', doc: template(4, 'same') }] }), unique('resources_name'));
      await assert.rejects(
        store.commit({ clientToken: { account: A, region: EAST, token: 'tok', fingerprint: 'other', reservationId: 'r-2' } }),
        unique('client_tokens_pkey'),
      );
      await assert.rejects(store.commit({ instances: [inst(2, { publicIp: '127.1.0.1' })] }), unique('instances_public_ip'));
      // elsewhere, or in another account, the same values are free
      await store.commit({
        instances: [inst(2), inst(3)], // no public IPs: any number of them
        putResources: [
          { kind: 'key-pair', doc: keyPair(5, 'same', WEST) },
          { kind: 'key-pair', doc: keyPair(6, 'same', EAST, B) },
        ],
        clientToken: { account: A, region: WEST, token: 'tok', fingerprint: 'fp', reservationId: 'r-3' },
      });
      // a name freed by a delete can be taken again; an address released by one instance, by another
      const first = (await store.instance(iid(1)))!;
      await store.commit({ deleteResources: [{ kind: 'key-pair', id: keyPair(1, 'same').id }], instances: [{ ...first, publicIp: undefined }] });
      await store.commit({ putResources: [{ kind: 'key-pair', doc: keyPair(7, 'same') }], instances: [{ ...(await store.instance(iid(2)))!, publicIp: '127.1.0.1' }] });
      assert.deepEqual(ids(await store.resources('key-pair', { account: A, region: EAST, names: ['same'] })), [keyPair(7, 'same').id]);
    });

    it('a transaction writes all or nothing; its reads do not see its own writes', async ({ store }) => {
      await store.commit({ putResources: [{ kind: 'key-pair', doc: keyPair(1, 'taken') }] });
      await assert.rejects(
        store.commit({ instances: [inst(1)], putTags: [tag(iid(1), 'a', '1')], putResources: [{ kind: 'key-pair', doc: keyPair(2, 'taken') }] }),
        conflict('unique'),
      );
      assert.equal(await store.instance(iid(1)), undefined);
      assert.equal((await store.tagsOf(iid(1))).size, 0);
      await assert.rejects(
        store.transaction(async (tx) => {
          tx.write({ instances: [inst(2)] });
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      assert.equal(await store.instance(iid(2)), undefined);
      const seen = await store.transaction(async (tx) => {
        tx.write({ instances: [inst(3)] });
        return tx.instance(iid(3));
      });
      assert.equal(seen, undefined);
      assert.equal((await store.instance(iid(3)))?.rev, 1);
    });

    it('a transaction or commit started inside a transaction function is refused, not a deadlock', async ({ store }) => {
      await assert.rejects(store.transaction(async () => store.commit({ instances: [inst(1)] })), /inside another transaction/);
      await store.commit({ instances: [inst(2)] }); // the store still works
    });

    it('instance queries: each filter, tags with and without values, lists together, paging in seq order', async ({ store }) => {
      const all = [
        inst(3, { instanceType: 'c8i.large', state: 'stopped', reservationId: 'r-2', tenancy: 'host', hostId: 'h-1' }),
        inst(1, { instanceType: 'c8i.large', state: 'running', reservationId: 'r-1' }),
        inst(2, { instanceType: 'm7i.large', state: 'running', reservationId: 'r-1', availabilityZone: 'us-east-1b' }),
        inst(4, { instanceType: 't3.micro', state: 'pending', reservationId: 'r-3', instanceLifecycle: 'spot' }),
        inst(5, { region: WEST, availabilityZone: 'us-west-2a', state: 'running' }),
        inst(6, { account: B, state: 'running' }),
      ];
      await store.commit({
        instances: all,
        putTags: [
          tag(iid(1), 'Name', 'web-1'),
          tag(iid(1), 'env', 'prod'),
          tag(iid(2), 'Name', 'web-2'),
          tag(iid(2), 'env', 'dev'),
          tag(iid(3), 'Name', 'db-1'),
          tag(rootVolumeId({ id: iid(4) }), 'Name', 'web-1'), // the volume's, not the instance's
          tag(iid(5), 'Name', 'web-1', { region: WEST }),
          tag(iid(6), 'Name', 'web-1', { account: B }),
        ],
      });
      const q = async (query: Partial<InstanceQuery>) => ids(await store.instances({ account: A, region: EAST, ...query }));
      assert.deepEqual(await q({}), [1, 2, 3, 4].map(iid), 'one account and Region, in seq order');
      assert.deepEqual(await q({ ids: [iid(4), iid(5), iid(2), iid(6)] }), [iid(2), iid(4)]);
      assert.deepEqual(await q({ ids: [iid(2)] }), [iid(2)]);
      assert.deepEqual(await q({ states: ['running'] }), [iid(1), iid(2)]);
      assert.deepEqual(await q({ states: ['running', 'stopped'] }), [1, 2, 3].map(iid));
      assert.deepEqual(await q({ instanceTypes: ['c8i.large'] }), [iid(1), iid(3)]);
      assert.deepEqual(await q({ instanceTypes: ['t3.micro', 'm7i.large'] }), [iid(2), iid(4)]);
      assert.deepEqual(await q({ reservationIds: ['r-1'] }), [iid(1), iid(2)]);
      assert.deepEqual(await q({ availabilityZones: ['us-east-1b'] }), [iid(2)]);
      assert.deepEqual(await q({ hostIds: ['h-1'] }), [iid(3)]);
      assert.deepEqual(await q({ tags: [{ key: 'Name' }] }), [1, 2, 3].map(iid));
      assert.deepEqual(await q({ tags: [{ key: 'Name', values: ['web-1'] }] }), [iid(1)]);
      assert.deepEqual(await q({ tags: [{ key: 'Name', values: ['db-1', 'web-1'] }] }), [iid(1), iid(3)]);
      assert.deepEqual(await q({ tags: [{ key: 'Name' }, { key: 'env', values: ['prod', 'dev'] }] }), [iid(1), iid(2)]);
      assert.deepEqual(await q({ tags: [{ key: 'Name', values: ['web-2'] }, { key: 'env', values: ['prod'] }] }), []);
      assert.deepEqual(await q({ tags: [{ key: 'nope' }] }), []);
      assert.deepEqual(await q({ instanceTypes: ['c8i.large'], states: ['running', 'pending'] }), [iid(1)]);
      assert.deepEqual(await q({ states: [] }), [], 'an empty list matches nothing');
      assert.deepEqual(await q({ limit: 2 }), [iid(1), iid(2)]);
      assert.deepEqual(await q({ afterSeq: 2, limit: 2 }), [iid(3), iid(4)]);
      assert.deepEqual(await q({ afterSeq: 4 }), []);
      assert.deepEqual(await q({ states: ['running', 'pending'], afterSeq: 1, limit: 1 }), [iid(2)]);
      assert.deepEqual(ids(await store.instances({ account: A, region: WEST })), [iid(5)]);
      assert.deepEqual(ids(await store.instances({ account: B, region: EAST, tags: [{ key: 'Name', values: ['web-1'] }] })), [iid(6)]);
      // a record changed keeps its place, and its columns follow it
      await store.commit({ instances: [{ ...(await store.instance(iid(1)))!, state: 'stopped', instanceType: 'm7i.large' }] });
      assert.deepEqual(await q({ states: ['stopped'] }), [iid(1), iid(3)]);
      assert.deepEqual(await q({ instanceTypes: ['m7i.large'] }), [iid(1), iid(2)]);
    });

    it('instance usage counts one account and Region by type, state, spot and dedicated', async ({ store }) => {
      await store.commit({
        instances: [
          inst(1, { state: 'running' }),
          inst(2, { state: 'running' }),
          inst(3, { state: 'running', tenancy: 'host', hostId: 'h-1' }),
          inst(4, { state: 'pending', instanceType: 't3.micro', instanceLifecycle: 'spot' }),
          inst(5, { state: 'stopped' }),
          inst(6, { region: WEST, state: 'running' }),
        ],
      });
      const usage = (await store.instanceUsage(A, EAST)).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
      assert.deepEqual(usage, [
        { instanceType: 'c8i.large', state: 'running', spot: false, dedicated: false, count: 2 },
        { instanceType: 'c8i.large', state: 'running', spot: false, dedicated: true, count: 1 },
        { instanceType: 'c8i.large', state: 'stopped', spot: false, dedicated: false, count: 1 },
        { instanceType: 't3.micro', state: 'pending', spot: true, dedicated: false, count: 1 },
      ]);
      assert.deepEqual(await store.instanceUsage(B, EAST), []);

      // The counters follow every change: a state change moves an instance between them, a type change
      // too, a write that changes neither leaves them, a delete takes it away.
      await store.commit({ instances: [{ ...(await store.instance(iid(1)))!, state: 'stopping' }, { ...(await store.instance(iid(2)))!, instanceType: 'm8i.large' }] });
      await store.commit({ instances: [{ ...(await store.instance(iid(5)))!, userData: 'AAAA' }], deleteInstances: [iid(4)] });
      const after = (await store.instanceUsage(A, EAST)).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
      assert.deepEqual(after, [
        { instanceType: 'c8i.large', state: 'running', spot: false, dedicated: true, count: 1 },
        { instanceType: 'c8i.large', state: 'stopped', spot: false, dedicated: false, count: 1 },
        { instanceType: 'c8i.large', state: 'stopping', spot: false, dedicated: false, count: 1 },
        { instanceType: 'm8i.large', state: 'running', spot: false, dedicated: false, count: 1 },
      ]);
    });

    it("VM hosts' instances and load", async ({ store }) => {
      await store.commit({
        instances: [
          inst(1, { vmHost: 'nbh-1', state: 'running' }), // 1 core × 2 threads
          inst(2, { vmHost: 'nbh-1', state: 'stopped' }),
          inst(3, { vmHost: 'nbh-2', state: 'pending', cpu: { coreCount: 2, threadsPerCore: 2 }, region: WEST, availabilityZone: 'us-west-2a' }),
          inst(4, { vmHost: 'nbh-2', state: 'shutting-down' }),
          inst(5, { state: 'running' }),
        ],
      });
      assert.deepEqual(ids(await store.instancesOnVmHost('nbh-1')), [iid(1), iid(2)]);
      assert.deepEqual(ids(await store.instancesOnVmHost('nbh-1', ['running', 'pending'])), [iid(1)]);
      assert.deepEqual(ids(await store.instancesOnVmHost('')), [iid(5)]);
      assert.deepEqual(await store.vmHostLoad(), [
        { host: 'nbh-1', instances: 1, vcpus: 2 },
        { host: 'nbh-2', instances: 2, vcpus: 6 },
      ]);
      // placed elsewhere, stopped, gone: the load follows
      await store.commit({ instances: [{ ...(await store.instance(iid(5)))!, vmHost: 'nbh-1' }, { ...(await store.instance(iid(1)))!, state: 'stopped' }], deleteInstances: [iid(4)] });
      assert.deepEqual(await store.vmHostLoad(), [
        { host: 'nbh-1', instances: 1, vcpus: 2 },
        { host: 'nbh-2', instances: 1, vcpus: 4 },
      ]);
    });

    it('tags: first-set order, several at once, queries by account and Region, deleted with what they tag', async ({ store }) => {
      const lt = template(1, 'tpl');
      const vol = rootVolumeId({ id: iid(1) });
      await store.commit({ instances: [inst(1), inst(2)], putResources: [{ kind: 'launch-template', doc: lt }], putTemplateVersions: [{ templateId: lt.id, version: version(1) }] });
      await store.commit({ putTags: [tag(iid(2), 'b', '1'), tag(iid(1), 'a', '1'), tag(iid(1), 'b', '2'), tag(iid(1), 'c', '3')] });
      await store.commit({ putTags: [tag(iid(1), 'a', 'changed'), tag(iid(1), '0', 'last'), tag(vol, 'v', '1')] });
      await store.commit({ putTags: [tag(lt.id, 't', 'x', { resourceType: 'launch-template' }), tag(iid(9), 'w', '1', { region: WEST })] });
      assert.deepEqual([...(await store.tagsOf(iid(1)))], [['a', 'changed'], ['b', '2'], ['c', '3'], ['0', 'last']]);
      assert.deepEqual([...(await store.tagsOf('i-none'))], []);
      const many = await store.tagsOfMany([vol, 'i-none', iid(1)]);
      assert.deepEqual([...many.keys()], [vol, iid(1)]);
      assert.deepEqual([...many.get(vol)!], [['v', '1']]);

      const keysOf = (tags: readonly TagRecord[]) => tags.map((t) => `${t.resourceId}:${t.key}`);
      const all = await store.tags({ account: A, region: EAST });
      assert.deepEqual(keysOf(all), [`${iid(2)}:b`, `${iid(1)}:a`, `${iid(1)}:b`, `${iid(1)}:c`, `${iid(1)}:0`, `${vol}:v`, `${lt.id}:t`]);
      assert.deepEqual(all[1], tag(iid(1), 'a', 'changed'));
      assert.deepEqual(keysOf(await store.tags({ account: A, region: EAST, keys: ['b'] })), [`${iid(2)}:b`, `${iid(1)}:b`]);
      assert.deepEqual(keysOf(await store.tags({ account: A, region: EAST, values: ['1'] })), [`${iid(2)}:b`, `${vol}:v`]);
      assert.deepEqual(keysOf(await store.tags({ account: A, region: EAST, resourceTypes: ['volume', 'launch-template'] })), [`${vol}:v`, `${lt.id}:t`]);
      assert.deepEqual(keysOf(await store.tags({ account: A, region: EAST, resourceIds: [iid(1)], keys: ['c', 'a'] })), [`${iid(1)}:a`, `${iid(1)}:c`]);
      assert.deepEqual(keysOf(await store.tags({ account: A, region: WEST })), [`${iid(9)}:w`]);
      assert.deepEqual(await store.tags({ account: B, region: EAST }), []);

      await store.commit({ deleteTags: [{ resourceId: iid(1), key: 'b' }] });
      assert.deepEqual([...(await store.tagsOf(iid(1))).keys()], ['a', 'c', '0']);
      await store.commit({ deleteInstances: [iid(1)], deleteResources: [{ kind: 'launch-template', id: lt.id }] });
      assert.equal((await store.tagsOf(iid(1))).size, 0);
      assert.equal((await store.tagsOf(vol)).size, 0, "the root volume's tags go with the instance");
      assert.equal((await store.tagsOf(lt.id)).size, 0);
      assert.deepEqual(await store.templateVersions(lt.id), [], "a template's versions go with it");
      assert.deepEqual([...(await store.tagsOf(iid(2)))], [['b', '1']]);
    });

    it('sequences are unique and increasing, each call consecutive, also when two servers draw at once', async ({ store, peer }) => {
      const a = await store.sequence('s');
      assert.equal(await store.sequence('s', 3), a + 1);
      assert.equal(await peer.sequence('s'), a + 4);
      assert.equal(await store.sequence('other'), 1);
      const counts = Array.from({ length: 40 }, (_, i) => 1 + (i % 3));
      const firsts = await Promise.all(counts.map((n, i) => (i % 2 ? store : peer).sequence('race', n)));
      const issued = firsts.flatMap((first, i) => Array.from({ length: counts[i]! }, (_, k) => first + k));
      assert.equal(new Set(issued).size, issued.length, 'no value issued twice');
      // Not gapless: a store may hold a block of values for itself (SQLite: sequence()).
      assert.ok(Math.min(...issued) >= 1);
      const later = await store.sequence('race');
      assert.ok(later > Math.max(...issued), 'values keep increasing');
    });

    it('transactions under one lock run one after the other, across servers', async ({ store, peer }) => {
      await store.commit({ instances: [inst(1)] });
      const bump = (s: Store, lock: string | undefined, delayMs: number) =>
        s.transaction(
          async (tx) => {
            const rec = (await tx.instance(iid(1)))!;
            await sleep(delayMs);
            tx.write({ instances: [{ ...rec, amiLaunchIndex: rec.amiLaunchIndex + 1 }] });
          },
          lock === undefined ? {} : { lock },
        );
      await Promise.all([bump(store, 'counter', 150), sleep(30).then(() => bump(peer, 'counter', 0))]);
      const after = (await store.instance(iid(1)))!;
      assert.equal(after.amiLaunchIndex, 2, 'the second saw the first one write');
      assert.equal(after.rev, 3);
      if (subject.kind === 'postgres') {
        // without the lock the same race loses an update, and the conditional write says so
        const results = await Promise.allSettled([bump(store, undefined, 150), sleep(30).then(() => bump(peer, undefined, 0))]);
        const failed = results.filter((r) => r.status === 'rejected');
        assert.equal(failed.length, 1);
        conflict('stale')((failed[0] as PromiseRejectedResult).reason);
      }
    });

    it('claimTasks hands each task to one claimer, oldest first', async ({ store, peer }) => {
      const kinds = ['start', 'stop', 'reboot'] as const;
      const queued = Array.from({ length: 60 }, (_, i) => ({ host: 'nbh-1', target: iid(i), kind: kinds[i % 3]! }));
      await store.commit({ tasks: queued.slice(0, 30) });
      await store.commit({ tasks: [...queued.slice(30), { host: 'nbh-2', target: iid(99), kind: 'terminate' }] });
      const claim = async (s: Store) => {
        const got = [];
        for (;;) {
          const batch = await s.claimTasks('nbh-1', 4);
          if (batch.length === 0) return got;
          assert.deepEqual(batch.map((t) => t.id), [...batch.map((t) => t.id)].sort((x, y) => x - y));
          got.push(...batch);
        }
      };
      const [x, y] = await Promise.all([claim(store), claim(peer)]);
      const claimed = [...x, ...y].sort((p, q) => p.id - q.id);
      assert.equal(new Set(claimed.map((t) => t.id)).size, claimed.length, 'no task claimed twice');
      assert.deepEqual(claimed.map(({ host, target, kind }) => ({ host, target, kind })), queued, 'every task, in the order queued');
      assert.deepEqual(await store.claimTasks('nbh-1', 10), []);
      assert.deepEqual((await peer.claimTasks('nbh-2', 10)).map((t) => t.target), [iid(99)]);
    });

    it('heartbeats: a change for conditional writes; false once the host is declared dead', async ({ store }) => {
      await store.commit({ putVmHosts: [vmHost('nbh-1')] });
      const read = (await store.vmHost('nbh-1'))!;
      assert.equal(await store.heartbeat('nbh-1', 5000), true);
      assert.deepEqual(await store.vmHost('nbh-1'), { ...vmHost('nbh-1'), heartbeatAt: 5000, rev: 2 });
      await assert.rejects(store.commit({ putVmHosts: [{ ...read, state: 'dead' }] }), conflict('stale'), 'it heartbeated since it was read');
      await store.commit({ putVmHosts: [{ ...(await store.vmHost('nbh-1'))!, state: 'dead' }] });
      assert.equal(await store.heartbeat('nbh-1', 6000), false);
      assert.equal((await store.vmHost('nbh-1'))?.heartbeatAt, 5000);
      assert.equal(await store.heartbeat('nbh-none', 6000), false);
    });

    it('onTasks is called after a commit that queued tasks for the host, from another server too', async ({ store, peer }) => {
      let calls = 0;
      peer.onTasks('nbh-1', () => calls++);
      // PostgreSQL: once when its LISTEN connection is up (notifications before it are lost)
      if (subject.kind === 'postgres') await until('the listener', () => calls === 1);
      const before = calls;
      await store.commit({ tasks: [{ host: 'nbh-1', target: iid(1), kind: 'start' }] });
      await until('the task notification', () => calls > before);
    });
  });
}

// --- SQLite only: the migration from the old store ---------------------------------------------------------

/** What the old, in-memory store (user_version 3) kept in nestbox.db: rows in the order it wrote them. */
interface Version3Rows {
  readonly instances: readonly InstanceRecord[];
  readonly resources: readonly { readonly kind: string; readonly doc: { readonly id: string; readonly account: string; readonly region: string } }[];
  readonly templateVersions: readonly { readonly templateId: string; readonly version: LaunchTemplateVersionRecord }[];
  /** tags had no account or Region: they were those of what they tag */
  readonly tags: readonly Omit<TagRecord, 'account' | 'region'>[];
  readonly clientTokens: readonly { readonly account: string; readonly region: string; readonly token: string; readonly fingerprint: string; readonly reservationId: string }[];
}

/** Writes `<dir>/nestbox.db` as the old store left it: its version-3 schema and these rows, each a JSON document. */
function writeVersion3Database(dir: string, rows: Version3Rows): void {
  const db = new Database(join(dir, 'nestbox.db'));
  try {
    db.exec(`
      CREATE TABLE instances (id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, doc TEXT NOT NULL);
      CREATE TABLE tags (
        resource_id TEXT NOT NULL, key TEXT NOT NULL, resource_type TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (resource_id, key)
      );
      CREATE TABLE client_tokens (
        account TEXT NOT NULL, region TEXT NOT NULL, token TEXT NOT NULL, fingerprint TEXT NOT NULL, reservation_id TEXT NOT NULL,
        PRIMARY KEY (account, region, token)
      );
      CREATE TABLE resources (
        kind TEXT NOT NULL, id TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (kind, id)
      );
      CREATE TABLE launch_template_versions (
        template_id TEXT NOT NULL, number INTEGER NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (template_id, number)
      );`);
    db.transaction(() => {
      const instance = db.prepare('INSERT INTO instances (id, account, region, doc) VALUES (?, ?, ?, ?)');
      for (const r of rows.instances) instance.run(r.id, r.account, r.region, JSON.stringify(r));
      const resource = db.prepare('INSERT INTO resources (kind, id, account, region, doc) VALUES (?, ?, ?, ?, ?)');
      for (const { kind, doc } of rows.resources) resource.run(kind, doc.id, doc.account, doc.region, JSON.stringify(doc));
      const templateVersion = db.prepare('INSERT INTO launch_template_versions (template_id, number, doc) VALUES (?, ?, ?)');
      for (const { templateId, version } of rows.templateVersions) templateVersion.run(templateId, version.number, JSON.stringify(version));
      const tag = db.prepare('INSERT INTO tags (resource_id, key, resource_type, value) VALUES (?, ?, ?, ?)');
      for (const t of rows.tags) tag.run(t.resourceId, t.key, t.resourceType, t.value);
      const token = db.prepare('INSERT INTO client_tokens (account, region, token, fingerprint, reservation_id) VALUES (?, ?, ?, ?, ?)');
      for (const t of rows.clientTokens) token.run(t.account, t.region, t.token, t.fingerprint, t.reservationId);
    })();
    db.pragma('user_version = 3');
  } finally {
    db.close();
  }
}

test('SQLite: a database of the old store opens, migrated in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-store-'));
  try {
    const vpc = defaultNetworkOf({ account: A, region: WEST }).vpcId;
    const lt = template(2, 'tpl');
    writeVersion3Database(dir, {
      instances: [inst(7, { state: 'running', publicIp: '127.1.0.7' }), inst(3, { region: WEST, availabilityZone: 'us-west-2a', instanceLifecycle: 'spot' })],
      resources: [
        { kind: 'key-pair', doc: keyPair(1, 'k1') },
        { kind: 'launch-template', doc: lt },
      ],
      templateVersions: [{ templateId: lt.id, version: version(1) }],
      tags: [
        { resourceId: iid(7), resourceType: 'instance', key: 'Name', value: 'web' },
        { resourceId: rootVolumeId({ id: iid(7) }), resourceType: 'volume', key: 'v', value: '1' },
        { resourceId: iid(3), resourceType: 'instance', key: 'Name', value: 'west' },
        { resourceId: keyPair(1, 'k1').id, resourceType: 'key-pair', key: 'k', value: '1' },
        { resourceId: iid(7), resourceType: 'instance', key: 'env', value: 'prod' },
        { resourceId: vpc, resourceType: 'vpc', key: 'Name', value: 'default' },
        { resourceId: 'i-0000000000000dead', resourceType: 'instance', key: 'orphan', value: '1' },
      ],
      clientTokens: [{ account: A, region: EAST, token: 'tok', fingerprint: 'fp', reservationId: 'r-1' }],
    });

    const warnings: string[] = [];
    const store = new SqliteStore({ dataDir: dir, warn: (line) => warnings.push(line) });
    try {
      assert.deepEqual(await store.instance(iid(7)), { ...inst(7, { state: 'running', publicIp: '127.1.0.7' }), rev: 1 });
      assert.deepEqual(ids(await store.instances({ account: A, region: EAST, tags: [{ key: 'Name', values: ['web'] }], states: ['running'] })), [iid(7)]);
      assert.deepEqual(ids(await store.instances({ account: A, region: WEST })), [iid(3)]);
      assert.deepEqual([...(await store.tagsOf(iid(7)))], [['Name', 'web'], ['env', 'prod']]);
      assert.deepEqual(await store.tags({ account: A, region: EAST }), [
        tag(iid(7), 'Name', 'web'),
        tag(iid(7), 'env', 'prod'),
        tag(rootVolumeId({ id: iid(7) }), 'v', '1'),
        tag(keyPair(1, 'k1').id, 'k', '1', { resourceType: 'key-pair' }),
      ]);
      assert.deepEqual(await store.tags({ account: A, region: WEST }), [
        tag(iid(3), 'Name', 'west', { region: WEST }),
        tag(vpc, 'Name', 'default', { region: WEST, resourceType: 'vpc' }),
      ]);
      assert.deepEqual(warnings, ['store migration: dropped 1 tag(s) of resources that no longer exist']);
      assert.deepEqual(await store.resources('key-pair', { account: A, region: EAST, names: ['k1'] }), [{ ...keyPair(1, 'k1'), rev: 1 }]);
      await assert.rejects(store.commit({ putResources: [{ kind: 'key-pair', doc: keyPair(9, 'k1') }] }), conflict('unique'));
      assert.deepEqual(await store.templateVersions(lt.id), [version(1)]);
      assert.equal((await store.clientToken(A, EAST, 'tok'))?.reservationId, 'r-1');
      assert.deepEqual(await store.instanceUsage(A, WEST), [{ instanceType: 'c8i.large', state: 'pending', spot: true, dedicated: false, count: 1 }]);
      assert.equal(await store.sequence('instance'), 8, 'instance numbers continue after the highest');
      await assert.rejects(store.commit({ instances: [inst(8, { publicIp: '127.1.0.7' })] }), conflict('unique'));
    } finally {
      await store.close();
    }
    const again = new SqliteStore({ dataDir: dir });
    assert.equal((await again.instance(iid(7)))?.rev, 1, 'and opens again as it is');
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- the indexes answer selective queries ---------------------------------------------------------------

/** Many instances in one account and Region, each with a Name tag; a few of a rare type. */
async function populate(store: Store, count: number): Promise<void> {
  const instances = Array.from({ length: count }, (_, i) => inst(i + 1, { instanceType: i % 500 === 0 ? 'rare.large' : 'c8i.large', state: 'running' }));
  await store.commit({ instances, putTags: instances.map((r, i) => tag(r.id, 'Name', `web-${i + 1}`)) });
}
const TAG_QUERY: InstanceQuery = { account: A, region: EAST, tags: [{ key: 'Name', values: ['web-1234'] }] };
const TYPE_QUERY: InstanceQuery = { account: A, region: EAST, instanceTypes: ['rare.large'] };

test('SQLite: a one-hit tag filter and an instance-type filter search indexes, not the instances', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-store-'));
  try {
    const store = new SqliteStore({ dataDir: dir });
    await populate(store, 3000);
    assert.deepEqual(ids(await store.instances(TAG_QUERY)), [iid(1234)]);
    assert.equal((await store.instances(TYPE_QUERY)).length, 6);
    const db = new Database(join(dir, 'nestbox.db'), { readonly: true });
    const plan = (s: Statement) => (db.prepare(`EXPLAIN QUERY PLAN ${s.text}`).all(...s.params) as { detail: string }[]).map((r) => r.detail).join('\n');
    try {
      const byTag = plan(instanceQuery('sqlite', TAG_QUERY));
      assert.match(byTag, /SEARCH t USING (COVERING )?INDEX tags_scope \(account=\? AND region=\? AND key=\? AND value=\?\)/, byTag);
      assert.match(byTag, /SEARCH instances USING INDEX sqlite_autoindex_instances_1 \(id=\?\)/, byTag);
      const byType = plan(instanceQuery('sqlite', TYPE_QUERY));
      assert.match(byType, /SEARCH instances USING INDEX instances_type \(account=\? AND region=\? AND instance_type=\?\)/, byType);
      for (const p of [byTag, byType]) assert.doesNotMatch(p, /SCAN instances/, p);
    } finally {
      db.close();
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: a one-hit tag filter, an instance-type filter and IDs use indexes, not a scan of instances', async () => {
  cluster ??= await startPostgres();
  const url = await cluster.createDatabase();
  const store = new PostgresStore({ url });
  const client = new pg.Client({ connectionString: url });
  try {
    await populate(store, 3000);
    await client.connect();
    await client.query('ANALYZE');
    const plan = async (s: Statement) =>
      (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${numbered(s.text)}`, s.params as unknown[])).rows.map((r) => r['QUERY PLAN']).join('\n');
    const byTag = await plan(instanceQuery('postgres', TAG_QUERY));
    assert.match(byTag, /Index (Only )?Scan using tags_scope on tags/, byTag);
    assert.match(byTag, /Index Scan using instances_pkey on instances/, byTag);
    const byType = await plan(instanceQuery('postgres', TYPE_QUERY));
    assert.match(byType, /Index Scan using instances_type on instances|Bitmap Index Scan on instances_type/, byType);
    for (const p of [byTag, byType]) assert.doesNotMatch(p, /Seq Scan on instances/, p);
    assert.deepEqual(ids(await store.instances(TAG_QUERY)), [iid(1234)]);
    // By ID, also before any ANALYZE (a table just filled): the primary key, not a walk of the scope in seq order.
    await client.query("DELETE FROM pg_statistic WHERE starelid = 'instances'::regclass");
    await client.query("UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE relname = 'instances'");
    const byId = await plan(instanceQuery('postgres', { account: A, region: EAST, ids: [iid(2999)] }));
    assert.match(byId, /Index Scan using instances_pkey on instances/, byId);
    assert.doesNotMatch(byId, /instances_scope/, byId);
  } finally {
    await client.end();
    await store.close();
  }
});
