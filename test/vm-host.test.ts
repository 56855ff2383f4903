/**
 * The VM host (src/compute/vm-host.ts) on a SQLite store in memory: it turns its driver's reports into
 * lifecycle transitions (deciding again when an API write raced one), shows what a real VM got, runs
 * the tasks queued for it in order per instance, purges expired terminated instances; and the
 * watchdog (`declareDeadHosts`) stops the instances of a host that stopped heartbeating.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VmDriver } from '../src/compute/driver.js';
import { SSH_PORT_TAG, VM_TAG, declareDeadHosts, purgeDeadHosts, vmSummary } from '../src/compute/vm-host.js';
import type { InstanceRecord } from '../src/domain/instance.js';
import { STATE_REASONS } from '../src/domain/lifecycle.js';
import { silentLogger } from '../src/logger.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Store, TagRecord, VmHostRecord } from '../src/store/types.js';
import { idleDriver, instanceRecord, testVmHost } from './fixtures.js';
import { eventually } from './helpers.js';

const RUNTIME = {
  driver: 'qemu',
  accel: 'tcg',
  cpuModel: 'EPYC',
  virtualizationExtension: 'svm',
  vcpus: '1',
  memoryMiB: '256',
  scaling: 'vCPUs 2 (1 core x 2 threads) -> 1 (1 core x 1 thread); memory 4096 MiB -> 256 MiB',
};
const HOST = 'nbh-test';

const pending = (id: string, o: Partial<InstanceRecord> = {}) =>
  instanceRecord({ id, vmHost: HOST, cpu: { coreCount: 1, threadsPerCore: 2, nestedVirtualization: 'enabled' }, ...o });

/** Waits until the stored record satisfies `ok` (reports are written asynchronously, one after another per instance). */
const recordWhere = (store: Store, id: string, ok: (r: InstanceRecord) => boolean, what: string) =>
  eventually(async () => {
    const r = await store.instance(id);
    return r && ok(r) ? r : undefined;
  }, 5000, what);

test('booted on a real VM: running, and the nestbox:vm tag says what the VM got; a stale second report changes nothing', async () => {
  const store = new SqliteStore({ dataDir: ':memory:' });
  const host = testVmHost(store);
  const id = 'i-0123456789abcdef0';
  await store.commit({ instances: [pending(id)] });
  host.onEvent(id, { kind: 'booted', runtime: RUNTIME });
  const running = await recordWhere(store, id, (r) => r.state === 'running', 'running');
  assert.equal(running.hasRun, true);
  assert.equal(
    (await store.tagsOf(id)).get(VM_TAG),
    'qemu tcg -cpu EPYC (svm): 1 vCPU, 256 MiB; scaled: vCPUs 2 (1 core x 2 threads) -> 1 (1 core x 1 thread); memory 4096 MiB -> 256 MiB',
  );
  // a stale report (booted again while running) changes nothing; a report after it (reports about one
  // instance are written in order) shows it was dealt with
  host.onEvent(id, { kind: 'booted', runtime: { ...RUNTIME, accel: 'kvm' } });
  host.onEvent(id, { kind: 'halted', requested: false });
  const stopped = await recordWhere(store, id, (r) => r.state === 'stopped', 'stopped by the guest');
  assert.equal(stopped.stateReason?.code, 'Client.InstanceInitiatedShutdown');
  assert.equal(stopped.runtime?.accel, 'tcg');
  assert.match((await store.tagsOf(id)).get(VM_TAG) ?? '', /^qemu tcg/);
  await host.close();
  await store.close();
});

test('simulated VMs get no tag; a crash leaves running for stopped, with Server.InternalError', async () => {
  assert.equal(vmSummary({ driver: 'simulated' }), undefined);
  assert.equal(vmSummary(undefined), undefined);
  assert.equal(vmSummary({ ...RUNTIME, scaling: 'none', virtualizationExtension: 'none' }), 'qemu tcg -cpu EPYC: 1 vCPU, 256 MiB');
  const store = new SqliteStore({ dataDir: ':memory:' });
  const host = testVmHost(store);
  const id = 'i-0123456789abcdef1';
  await store.commit({ instances: [pending(id, { state: 'running', publicIp: '127.64.0.9' })] });
  host.onEvent(id, { kind: 'crashed', detail: 'qemu exited with signal SIGKILL' });
  const rec = await recordWhere(store, id, (r) => r.state !== 'running', 'stopped');
  assert.equal(rec.state, 'stopped');
  assert.equal(rec.stateReason?.code, 'Server.InternalError');
  assert.match(rec.stateTransitionReason, /^Server\.InternalError \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/);
  assert.equal(rec.publicIp, undefined, 'the public address is released');
  assert.equal((await store.tagsOf(id)).get(VM_TAG), undefined);
  await host.close();
  await store.close();
});

test('a report that raced an API write (a conditional write conflict) is decided again on the new record', async () => {
  const base = new SqliteStore({ dataDir: ':memory:' });
  // An API write lands between the host's read of the record and its write: right when it reads the tags.
  let apiWrite: ((id: string) => Promise<void>) | undefined;
  const store = new Proxy(base, {
    get(target, prop) {
      if (prop === 'tagsOf') {
        return async (id: string) => {
          const write = apiWrite;
          apiWrite = undefined;
          await write?.(id);
          return target.tagsOf(id);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const host = testVmHost(store);

  // ModifyInstanceAttribute while the VM boots: the boot is recorded, and the attribute is not lost.
  const modified = 'i-0123456789abcdef2';
  await base.commit({ instances: [pending(modified)] });
  let raced = 0;
  apiWrite = async (id) => {
    raced++;
    await base.commit({ instances: [{ ...(await base.instance(id))!, disableApiTermination: true }] });
  };
  host.onEvent(modified, { kind: 'booted', runtime: RUNTIME });
  const running = await recordWhere(base, modified, (r) => r.state === 'running', 'running');
  assert.equal(raced, 1);
  assert.equal(running.disableApiTermination, true, "the API's change is kept");
  assert.equal(running.rev, 3, 'written once more after the API write');
  assert.match((await base.tagsOf(modified)).get(VM_TAG) ?? '', /^qemu tcg/);

  // TerminateInstances while the VM boots: on the new record (shutting-down), `booted` means nothing.
  const terminated = 'i-0123456789abcdef3';
  await base.commit({ instances: [pending(terminated)] });
  apiWrite = async (id) => {
    raced++;
    await base.commit({ instances: [{ ...(await base.instance(id))!, state: 'shutting-down' }] });
  };
  host.onEvent(terminated, { kind: 'booted', runtime: RUNTIME });
  host.onEvent(terminated, { kind: 'destroyed' });
  const gone = await recordWhere(base, terminated, (r) => r.state === 'terminated', 'terminated');
  assert.equal(raced, 2);
  assert.equal(gone.hasRun, undefined, 'it never became running');
  assert.equal((await base.tagsOf(terminated)).get(VM_TAG), undefined);
  await host.close();
  await base.close();
});

test("tasks queued for the host run through its driver one at a time per instance, in the order they were queued", async () => {
  const store = new SqliteStore({ dataDir: ':memory:' });
  const calls: string[] = [];
  const slow = (name: string, ms: number) => async (id: string) => {
    calls.push(`${id}:${name}`);
    await new Promise((r) => setTimeout(r, ms));
    calls.push(`${id}:${name} done`);
  };
  const driver: VmDriver = {
    ...idleDriver(),
    start: (spec) => slow('start', 40)(spec.instanceId),
    stop: (id) => slow('stop', 10)(id),
    reboot: (id) => slow('reboot', 1)(id),
    destroy: (id) => slow('destroy', 1)(id),
    deleteVolume: (id) => slow('delete-volume', 1)(id),
  };
  const host = testVmHost(store, { driver: () => driver });
  await host.start();
  const [a, b] = ['i-0000000000000000a', 'i-0000000000000000b'];
  await store.commit({
    instances: [pending(a, { seq: 1 }), pending(b, { seq: 2 })],
    tasks: [
      { host: HOST, target: a, kind: 'start' },
      { host: HOST, target: b, kind: 'start' },
      { host: HOST, target: a, kind: 'reboot' },
      { host: HOST, target: a, kind: 'stop' },
      { host: HOST, target: a, kind: 'terminate' },
      { host: HOST, target: 'vol-0000000000000000a', kind: 'delete-volume' },
      // another host's task is not this one's to run
      { host: 'nbh-other', target: b, kind: 'terminate' },
    ],
  });
  await eventually(async () => (calls.includes(`${a}:destroy done`) && calls.includes(`${b}:start done`) ? true : undefined), 5000, 'the tasks');
  assert.deepEqual(
    calls.filter((c) => c.startsWith(a)),
    [`${a}:start`, `${a}:start done`, `${a}:reboot`, `${a}:reboot done`, `${a}:stop`, `${a}:stop done`, `${a}:destroy`, `${a}:destroy done`],
  );
  assert.ok(calls.indexOf(`${b}:start`) < calls.indexOf(`${a}:start done`), "another instance's task does not wait for this one's");
  assert.deepEqual(calls.filter((c) => c.startsWith(b)), [`${b}:start`, `${b}:start done`]);
  await eventually(async () => (calls.includes('vol-0000000000000000a:delete-volume done') ? true : undefined), 5000, 'delete-volume');
  assert.deepEqual(await store.claimTasks('nbh-other', 10).then((t) => t.map((x) => [x.target, x.kind])), [[b, 'terminate']]);
  await host.close();
  await store.close();
});

test('declareDeadHosts: a host that stopped heartbeating is dead, its instances stopped (host failure, system status impaired); a fresh host is left alone', async () => {
  const store = new SqliteStore({ dataDir: ':memory:' });
  const now = new Date('2026-11-26T12:00:00Z');
  const vmHost = (id: string, heartbeatAt: number): VmHostRecord => ({
    id,
    name: id,
    driver: 'simulated',
    vcpus: 64,
    memoryMiB: 65_536,
    startedAt: new Date(0).toISOString(),
    heartbeatAt,
    state: 'alive',
  });
  const [staleRunning, staleStopping, staleShuttingDown, staleStopped, fresh] = [1, 2, 3, 4, 5].map((n) => `i-${n.toString(16).padStart(17, '0')}`) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const sshTag = (id: string): TagRecord => ({ resourceId: id, resourceType: 'instance', account: '000000000000', region: 'us-east-1', key: SSH_PORT_TAG, value: '2222' });
  await store.commit({
    putVmHosts: [vmHost('nbh-stale', now.getTime() - 10_000), vmHost('nbh-fresh', now.getTime() - 1_000)],
    instances: [
      instanceRecord({ id: staleRunning, seq: 1, vmHost: 'nbh-stale', state: 'running', publicIp: '127.64.0.1', hasRun: true }),
      instanceRecord({ id: staleStopping, seq: 2, vmHost: 'nbh-stale', state: 'stopping', publicIp: '127.64.0.2' }),
      instanceRecord({ id: staleShuttingDown, seq: 3, vmHost: 'nbh-stale', state: 'shutting-down' }),
      instanceRecord({ id: staleStopped, seq: 4, vmHost: 'nbh-stale', state: 'stopped' }),
      instanceRecord({ id: fresh, seq: 5, vmHost: 'nbh-fresh', state: 'running', publicIp: '127.64.0.5' }),
    ],
    putTags: [sshTag(staleRunning), sshTag(fresh)],
  });

  assert.deepEqual(await declareDeadHosts(store, now, 5_000, silentLogger), ['nbh-stale']);
  assert.equal((await store.vmHost('nbh-stale'))?.state, 'dead');
  assert.equal((await store.vmHost('nbh-fresh'))?.state, 'alive');
  for (const id of [staleRunning, staleStopping]) {
    const rec = (await store.instance(id))!;
    assert.equal(rec.state, 'stopped', id);
    assert.deepEqual(rec.stateReason, STATE_REASONS.hostFailure);
    assert.equal(rec.stateTransitionReason, 'Server.InternalError (2026-11-26 12:00:00 GMT)');
    assert.equal(rec.systemStatus, 'impaired');
    assert.equal(rec.publicIp, undefined, 'the public address is released');
  }
  assert.equal((await store.tagsOf(staleRunning)).get(SSH_PORT_TAG), undefined, 'no VM, no SSH port');
  assert.equal((await store.instance(staleShuttingDown))?.state, 'terminated');
  const untouched = (await store.instance(staleStopped))!;
  assert.deepEqual([untouched.state, untouched.systemStatus, untouched.rev], ['stopped', undefined, 1]);
  const alive = (await store.instance(fresh))!;
  assert.deepEqual([alive.state, alive.systemStatus, alive.publicIp, alive.rev], ['running', undefined, '127.64.0.5', 1]);
  assert.equal((await store.tagsOf(fresh)).get(SSH_PORT_TAG), '2222');

  // declared once: a dead host stays dead, and the fresh one is declared only once it is stale too
  assert.deepEqual(await declareDeadHosts(store, now, 5_000, silentLogger), []);
  assert.deepEqual(await declareDeadHosts(store, new Date(now.getTime() + 10_000), 5_000, silentLogger), ['nbh-fresh']);
  assert.equal((await store.instance(fresh))?.systemStatus, 'impaired');
  await store.close();
});

test('purge removes terminated instances past the retention (and their tags), but keeps one whose root volume outlives it', async () => {
  const store = new SqliteStore({ dataDir: ':memory:' });
  const now = new Date('2026-11-26T12:00:00Z');
  const host = testVmHost(store, { now: () => now, terminatedRetentionMs: 60_000 });
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;
  const tag = (resourceId: string, resourceType: string): TagRecord => ({ resourceId, resourceType, account: '000000000000', region: 'us-east-1', key: 'k', value: 'v' });
  await store.commit({
    instances: [
      instanceRecord({ id: id(1), seq: 1, vmHost: HOST, state: 'terminated', terminatedAt: ago(120_000) }),
      instanceRecord({ id: id(2), seq: 2, vmHost: HOST, state: 'terminated', terminatedAt: ago(1_000) }),
      instanceRecord({
        id: id(3),
        seq: 3,
        vmHost: HOST,
        state: 'terminated',
        terminatedAt: ago(120_000),
        rootVolume: { sizeGiB: 8, volumeType: 'gp3', deleteOnTermination: false, encrypted: false },
      }),
      instanceRecord({ id: id(4), seq: 4, vmHost: HOST, state: 'stopped' }),
      instanceRecord({ id: id(5), seq: 5, vmHost: 'nbh-other', state: 'terminated', terminatedAt: ago(120_000) }),
    ],
    putTags: [tag(id(1), 'instance'), tag('vol-00000000000000001', 'volume'), tag(id(3), 'instance')],
  });
  await host.purge();
  assert.equal(await store.instance(id(1)), undefined, 'expired: gone');
  assert.equal((await store.tagsOf(id(1))).size, 0);
  assert.equal((await store.tagsOf('vol-00000000000000001')).size, 0, "its root volume's tags go with it");
  assert.ok(await store.instance(id(2)), 'within the retention');
  assert.ok(await store.instance(id(3)), 'kept for its root volume');
  assert.equal((await store.tagsOf(id(3))).get('k'), 'v');
  assert.ok(await store.instance(id(4)));
  assert.ok(await store.instance(id(5)), "another host's instance is that host's to purge");
  // …unless that host is dead: then the API servers purge for it.
  await purgeDeadHosts(store, now.getTime() - 60_000);
  assert.ok(await store.instance(id(5)), 'nbh-other is not registered as dead');
  await store.commit({
    putVmHosts: [{ id: 'nbh-other', name: 'gone', driver: 'simulated', vcpus: 1, memoryMiB: 1, startedAt: ago(600_000), heartbeatAt: 0, state: 'dead' }],
  });
  await purgeDeadHosts(store, now.getTime() - 60_000);
  assert.equal(await store.instance(id(5)), undefined, "a dead host's expired instance is purged by the watchdog");
  await host.close();
  await store.close();
});
