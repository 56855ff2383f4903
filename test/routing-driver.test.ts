/** The routing driver sends each instance to the driver that can run its image, and keeps it there. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VmDriver, VmEvent, VmSpec } from '../src/compute/driver.js';
import { createRoutingDriver } from '../src/compute/routing.js';
import { createSimulatedDriver } from '../src/compute/simulated.js';
import { Errors } from '../src/domain/errors.js';
import { specFor } from './driver-contract.js';

const spec = (instanceId: string, platform: 'linux' | 'windows'): VmSpec =>
  specFor({ instanceId, platform, imageId: platform === 'linux' ? 'ami-0b5e4a1f2c3d40001' : 'ami-0b5e4a1f2c3d40003', nestedVirtualization: true });

/** A driver that records which calls reached it, on top of a simulated one. */
function recording(name: string, sink: (id: string, e: VmEvent) => void) {
  const calls: string[] = [];
  const inner = createSimulatedDriver(sink, { delayMs: 1 });
  const driver: VmDriver = {
    name,
    admit: (specs) => {
      calls.push(`admit:${specs.map((s) => s.instanceId).join(',')}`);
      if (specs.length > 1) throw Errors.insufficientCapacity('c8i.large');
    },
    start: (s) => (calls.push(`start:${s.instanceId}`), inner.start(s)),
    stop: (id, o) => (calls.push(`stop:${id}`), inner.stop(id, o)),
    reboot: (id) => (calls.push(`reboot:${id}`), inner.reboot(id)),
    destroy: (id) => (calls.push(`destroy:${id}`), inner.destroy(id)),
    adopt: (s) => (calls.push(`adopt:${s.instanceId}`), inner.adopt(s)),
    consoleOutput: (id) => inner.consoleOutput(id),
    close: () => inner.close(),
  };
  return { driver, calls };
}

test('bootable images go to the real driver, others to the simulated one, for every later call', async () => {
  const events: string[] = [];
  const sink = (id: string, e: VmEvent) => events.push(`${id}:${e.kind}`);
  const real = recording('qemu', sink);
  const sim = recording('simulated', sink);
  const routing = createRoutingDriver(real.driver, sim.driver, (s) => s.platform === 'linux');
  assert.equal(routing.name, 'qemu');

  routing.admit?.([spec('i-1', 'linux'), spec('i-2', 'windows')]);
  assert.deepEqual(real.calls, ['admit:i-1'], 'only VMs the real driver runs are its to admit');
  assert.throws(() => routing.admit?.([spec('i-1', 'linux'), spec('i-3', 'linux')]), { code: 'InsufficientInstanceCapacity' });

  await routing.start(spec('i-1', 'linux'));
  await routing.start(spec('i-2', 'windows'));
  await new Promise((r) => setTimeout(r, 20));
  await routing.stop('i-2', { force: false });
  await routing.reboot('i-1');
  await routing.destroy('i-2');
  assert.deepEqual(real.calls.slice(2), ['start:i-1', 'reboot:i-1']);
  assert.deepEqual(sim.calls, ['start:i-2', 'stop:i-2', 'destroy:i-2']);
  assert.match((await routing.consoleOutput('i-1')) ?? '', /L2|booted/);
  await routing.close();
  assert.ok(events.includes('i-1:booted') && events.includes('i-2:booted'));
});
