/** The simulated driver against the VmDriver contract. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSimulatedDriver } from '../src/compute/simulated.js';
import { driverContract, specFor } from './driver-contract.js';

driverContract('simulated', (events) => createSimulatedDriver(events, { delayMs: 30 }), { bootTimeoutMs: 1000 });

test('user data that powers the guest off ends in an unrequested halt, one delay after boot', async () => {
  const seen: string[] = [];
  const driver = createSimulatedDriver((id, e) => seen.push(`${id} ${e.kind}${e.kind === 'halted' ? ` requested=${e.requested}` : ''}`), {
    delayMs: 10,
  });
  const spec = specFor({ instanceId: 'i-00000000000000001', userData: '#!/bin/sh\nl2-smoke\npoweroff\n' });
  await driver.start(spec);
  await driver.start(specFor({ instanceId: 'i-00000000000000002', userData: '#!/bin/sh\necho "poweroff is not run here"\n' }));
  await driver.start(specFor({ instanceId: 'i-00000000000000003', userData: '#!/bin/sh\nl2-smoke && shutdown -h now' }));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(seen.sort(), [
    'i-00000000000000001 booted',
    'i-00000000000000001 halted requested=false',
    'i-00000000000000002 booted',
    'i-00000000000000003 booted',
    'i-00000000000000003 halted requested=false',
  ]);
  assert.match((await driver.consoleOutput(spec.instanceId)) ?? '', /L2 FAIL[^\n]*\nnestbox: booted\nnestbox: user data powered the guest off\n$/);
  await driver.close();
});
