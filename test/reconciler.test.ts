/** The reconciler turns driver reports into lifecycle transitions, and shows what a real VM got. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reconciler, VM_TAG, vmSummary } from '../src/compute/reconciler.js';
import { loadCatalog } from '../src/domain/instance-types.js';
import { silentLogger } from '../src/logger.js';
import { Store } from '../src/store/store.js';
import { instanceRecord } from './fixtures.js';

const RUNTIME = {
  driver: 'qemu',
  accel: 'tcg',
  cpuModel: 'EPYC',
  virtualizationExtension: 'svm',
  vcpus: '1',
  memoryMiB: '256',
  scaling: 'vCPUs 2 (1 core x 2 threads) -> 1 (1 core x 1 thread); memory 4096 MiB -> 256 MiB',
};

const pending = (id: string) =>
  instanceRecord({ id, cpu: { coreCount: 1, threadsPerCore: 2, nestedVirtualization: 'enabled' } });

test('booted on a real VM: running, and the nestbox:vm tag says what the VM got', async () => {
  const store = new Store({ dataDir: ':memory:' });
  const reconciler = new Reconciler(store, loadCatalog(), silentLogger, { terminatedRetentionMs: 1000, now: () => new Date() });
  store.commit({ instances: [pending('i-0123456789abcdef0')] });
  reconciler.onEvent('i-0123456789abcdef0', { kind: 'booted', runtime: RUNTIME });
  assert.equal(store.instance('i-0123456789abcdef0')?.state, 'running');
  assert.equal(
    store.tagsOf('i-0123456789abcdef0')?.get(VM_TAG),
    'qemu tcg -cpu EPYC (svm): 1 vCPU, 256 MiB; scaled: vCPUs 2 (1 core x 2 threads) -> 1 (1 core x 1 thread); memory 4096 MiB -> 256 MiB',
  );
  // a stale report (booted again while running) changes nothing
  reconciler.onEvent('i-0123456789abcdef0', { kind: 'booted', runtime: { ...RUNTIME, accel: 'kvm' } });
  assert.match(store.tagsOf('i-0123456789abcdef0')?.get(VM_TAG) ?? '', /^qemu tcg/);
  await store.close();
});

test('simulated VMs get no tag; a crash leaves running with Server.InternalError', async () => {
  assert.equal(vmSummary({ driver: 'simulated' }), undefined);
  assert.equal(vmSummary(undefined), undefined);
  assert.equal(vmSummary({ ...RUNTIME, scaling: 'none', virtualizationExtension: 'none' }), 'qemu tcg -cpu EPYC: 1 vCPU, 256 MiB');
  const store = new Store({ dataDir: ':memory:' });
  const reconciler = new Reconciler(store, loadCatalog(), silentLogger, { terminatedRetentionMs: 1000, now: () => new Date() });
  store.commit({ instances: [{ ...pending('i-0123456789abcdef1'), state: 'running' }] });
  reconciler.onEvent('i-0123456789abcdef1', { kind: 'crashed', detail: 'qemu exited with signal SIGKILL' });
  const rec = store.instance('i-0123456789abcdef1');
  assert.equal(rec?.state, 'stopped');
  assert.equal(rec?.stateReason?.code, 'Server.InternalError');
  await store.close();
});
