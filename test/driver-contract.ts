/**
 * The contract every VmDriver must pass (src/compute/driver.ts), as node:test tests. A driver's test
 * file calls `driverContract(name, makeDriver, { bootTimeoutMs })`; nothing here knows which driver
 * it runs against. Every test makes its own driver, uses its own instance IDs, destroys the VMs it
 * started and closes the driver, so the suite also works for drivers with real VMs behind them.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import type { VmDriver, VmEvent, VmEventSink, VmNetwork, VmSpec } from '../src/compute/driver.js';
import { networkInterfaceId, rootVolumeId } from '../src/domain/instance.js';
import { macAddress } from '../src/domain/network.js';

export interface DriverContractOptions {
  /** how long a boot (and a stop, and a destroy) may take on this driver */
  readonly bootTimeoutMs: number;
}

type Kind = VmEvent['kind'];

/** Records the driver's events and lets a test wait for the next one of a kind. */
class EventLog {
  readonly events: { id: string; event: VmEvent }[] = [];
  private waiters: { id: string; kind: Kind; from: number; resolve: (e: VmEvent) => void }[] = [];

  readonly sink: VmEventSink = (id, event) => {
    this.events.push({ id, event });
    const index = this.events.length - 1;
    for (const w of [...this.waiters]) {
      if (w.id === id && w.kind === event.kind && index >= w.from) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  };

  /** A mark: `next()` only counts events after it. */
  mark(): number {
    return this.events.length;
  }

  of(id: string, from = 0): Kind[] {
    return this.events.slice(from).filter((e) => e.id === id).map((e) => e.event.kind);
  }

  /** The first event of `kind` for `id` at or after `from`, within `timeoutMs`. */
  next(id: string, kind: Kind, from: number, timeoutMs: number): Promise<VmEvent> {
    const seen = this.events.slice(from).find((e) => e.id === id && e.event.kind === kind);
    if (seen) return Promise.resolve(seen.event);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no '${kind}' event for ${id} within ${timeoutMs} ms (saw: ${this.of(id, from).join(', ') || 'nothing'})`));
      }, timeoutMs);
      const waiter = {
        id,
        kind,
        from,
        resolve: (e: VmEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const newInstanceId = () => `i-${randomBytes(9).toString('hex').slice(0, 17)}`;

/**
 * A small Linux x86_64 VM on the built-in image that carries l2-smoke (shared by every driver test): its
 * primary interface in us-east-1a's default subnet with SSH open to the world but no public IP (so a
 * real driver forwards nothing unless a test gives one), and the image's 8 GiB root volume.
 */
export function specFor(overrides: Partial<VmSpec> = {}): VmSpec {
  const instanceId = overrides.instanceId ?? newInstanceId();
  return {
    instanceId,
    imageId: 'ami-0b5e4a1f2c3d40001',
    instanceType: 'c8i.large',
    platform: 'linux',
    architecture: 'x86_64',
    vcpus: 2,
    memoryMiB: 4096,
    coreCount: 1,
    threadsPerCore: 2,
    nestedVirtualization: false,
    network: {
      eniId: networkInterfaceId({ id: instanceId }),
      mac: macAddress({ id: instanceId }),
      privateIp: '172.31.0.10',
      subnetCidr: '172.31.0.0/20',
      privateDnsName: 'ip-172-31-0-10.ec2.internal',
      openTcpPorts: [22],
    },
    rootVolume: { volumeId: rootVolumeId({ id: instanceId }), sizeGiB: 8, deleteOnTermination: true },
    imageVariant: 'base',
    ...overrides,
  };
}

/** Polls the console until `pattern` shows up, or fails with what the console had. */
async function consoleShows(driver: VmDriver, id: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    last = await driver.consoleOutput(id);
    if (last !== undefined && pattern.test(last)) return last;
    if (Date.now() > deadline) assert.fail(`console of ${id} never showed ${pattern}; it had:\n${last ?? '(none)'}`);
    await sleep(20);
  }
}

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

export function driverContract(
  name: string,
  makeDriver: (events: VmEventSink) => VmDriver,
  opts: DriverContractOptions,
): void {
  const { bootTimeoutMs } = opts;
  /** how long to watch for events that must not come */
  const quietMs = Math.min(Math.max(bootTimeoutMs, 100), 1000);

  /** A fresh driver with its event log; the driver is closed and every started VM destroyed afterwards. */
  async function withDriver(body: (driver: VmDriver, log: EventLog, started: string[]) => Promise<void>): Promise<void> {
    const log = new EventLog();
    const driver = makeDriver(log.sink);
    const started: string[] = [];
    try {
      await body(driver, log, started);
    } finally {
      for (const id of started) await driver.destroy(id).catch(() => undefined);
      for (const id of started) await log.next(id, 'destroyed', 0, bootTimeoutMs).catch(() => undefined);
      await driver.close();
    }
  }

  async function boot(driver: VmDriver, log: EventLog, started: string[], spec: VmSpec): Promise<VmEvent> {
    const mark = log.mark();
    started.push(spec.instanceId);
    await driver.start(spec);
    return log.next(spec.instanceId, 'booted', mark, bootTimeoutMs);
  }

  describe(`VmDriver contract: ${name}`, () => {
    test('has a name', () => {
      const driver = makeDriver(() => undefined);
      assert.equal(typeof driver.name, 'string');
      assert.ok(driver.name.length > 0);
      return driver.close();
    });

    test("start → 'booted'; the console is a string after boot; applyNetwork (drivers that have it) keeps it up", () =>
      withDriver(async (driver, log, started) => {
        const spec = specFor();
        const booted = await boot(driver, log, started, spec);
        assert.equal(booted.kind, 'booted');
        assert.deepEqual(log.of(spec.instanceId), ['booted']);
        const out = await driver.consoleOutput(spec.instanceId);
        assert.equal(typeof out, 'string');
        if (driver.applyNetwork) {
          // the network the store wants, applied while the VM runs: a public address with ports, then none
          // again; a VM the driver does not run is ignored, and nothing is reported
          const mark = log.mark();
          const publicIp = `127.252.${randomInt(256)}.${randomInt(1, 255)}`;
          const desired = (network: VmNetwork) => ({
            vms: new Map([[spec.instanceId, { network, securityGroupIds: [] }], [newInstanceId(), { network: { ...network, publicIp }, securityGroupIds: [] }]]),
            groups: new Map(),
          });
          await driver.applyNetwork(desired({ ...spec.network, publicIp, openTcpPorts: [22, 8080] }));
          await driver.applyNetwork(desired(spec.network));
          await sleep(Math.min(quietMs, 300));
          assert.deepEqual(log.of(spec.instanceId, mark), []);
        }
      }));

    test("stop → 'halted' {requested: true}; start again → 'booted'", () =>
      withDriver(async (driver, log, started) => {
        const spec = specFor();
        await boot(driver, log, started, spec);
        let mark = log.mark();
        await driver.stop(spec.instanceId, { force: false });
        const halted = await log.next(spec.instanceId, 'halted', mark, bootTimeoutMs);
        assert.deepEqual(halted, { kind: 'halted', requested: true });
        assert.deepEqual(log.of(spec.instanceId, mark), ['halted']);

        mark = log.mark();
        await driver.start(spec);
        await log.next(spec.instanceId, 'booted', mark, bootTimeoutMs);
        assert.deepEqual(log.of(spec.instanceId, mark), ['booted']);

        // a forced stop reports a requested halt too
        mark = log.mark();
        await driver.stop(spec.instanceId, { force: true });
        assert.deepEqual(await log.next(spec.instanceId, 'halted', mark, bootTimeoutMs), { kind: 'halted', requested: true });
      }));

    test('stop while still booting ends halted, never booted afterwards', () =>
      withDriver(async (driver, log, started) => {
        const spec = specFor();
        started.push(spec.instanceId);
        const mark = log.mark();
        await driver.start(spec);
        await driver.stop(spec.instanceId, { force: true });
        await log.next(spec.instanceId, 'halted', mark, bootTimeoutMs);
        const afterHalt = log.mark();
        await sleep(quietMs);
        assert.deepEqual(log.of(spec.instanceId, afterHalt), []);
      }));

    test('reboot keeps the VM up', () =>
      withDriver(async (driver, log, started) => {
        const spec = specFor();
        await boot(driver, log, started, spec);
        const mark = log.mark();
        await driver.reboot(spec.instanceId);
        await sleep(quietMs);
        const after = log.of(spec.instanceId, mark);
        for (const bad of ['halted', 'crashed', 'destroyed', 'launch-failed'] as const) {
          assert.ok(!after.includes(bad), `reboot reported '${bad}'`);
        }
        assert.equal(typeof (await driver.consoleOutput(spec.instanceId)), 'string');
        assert.equal(await driver.adopt(spec), true);
        // and it still stops as a running VM does
        const stopMark = log.mark();
        await driver.stop(spec.instanceId, { force: false });
        assert.deepEqual(await log.next(spec.instanceId, 'halted', stopMark, bootTimeoutMs), { kind: 'halted', requested: true });
      }));

    test('a spec with data volumes boots; a snapshot of one while it runs completes (drivers with disks)', () =>
      withDriver(async (driver, log, started) => {
        const hex = () => Math.floor(Math.random() * 16 ** 8).toString(16).padStart(8, '0');
        const volumeId = `vol-0${hex()}${hex()}`;
        const spec = specFor({ dataVolumes: [{ volumeId, device: '/dev/sdf', sizeGiB: 1, serial: volumeId.replace('-', '') }] });
        const booted = await boot(driver, log, started, spec);
        assert.equal(booted.kind, 'booted');
        if (driver.snapshotVolume) {
          const snapshotId = `snap-0${hex()}${hex()}`;
          assert.equal(await driver.snapshotVolume(volumeId, snapshotId), true, 'the running VM has the volume’s disk');
          await driver.deleteSnapshot?.(snapshotId);
        }
        const mark = log.mark();
        await driver.stop(spec.instanceId, { force: false });
        await log.next(spec.instanceId, 'halted', mark, bootTimeoutMs);
        await driver.deleteVolume?.(volumeId);
      }));

    test("destroy → 'destroyed'", () =>
      withDriver(async (driver, log, started) => {
        const spec = specFor();
        await boot(driver, log, started, spec);
        const mark = log.mark();
        await driver.destroy(spec.instanceId);
        const destroyed = await log.next(spec.instanceId, 'destroyed', mark, bootTimeoutMs);
        assert.deepEqual(destroyed, { kind: 'destroyed' });
        assert.deepEqual(log.of(spec.instanceId, mark), ['destroyed']);
        started.splice(started.indexOf(spec.instanceId), 1);
        // a stopped VM can be destroyed too
        const other = specFor();
        await boot(driver, log, started, other);
        let m = log.mark();
        await driver.stop(other.instanceId, { force: false });
        await log.next(other.instanceId, 'halted', m, bootTimeoutMs);
        m = log.mark();
        await driver.destroy(other.instanceId);
        await log.next(other.instanceId, 'destroyed', m, bootTimeoutMs);
        started.splice(started.indexOf(other.instanceId), 1);
      }));

    test('adopt on a running VM → true, and the adopted VM is controlled as before', () =>
      withDriver(async (driver, log, started) => {
        const spec = specFor();
        await boot(driver, log, started, spec);
        assert.equal(await driver.adopt(spec), true);
        assert.equal(typeof (await driver.consoleOutput(spec.instanceId)), 'string');
        const mark = log.mark();
        await driver.stop(spec.instanceId, { force: false });
        assert.deepEqual(await log.next(spec.instanceId, 'halted', mark, bootTimeoutMs), { kind: 'halted', requested: true });
      }));

    test('a new driver adopts a VM a closed driver left running (a nestbox restart)', async () => {
      const spec = specFor();
      const first = new EventLog();
      const before = makeDriver(first.sink);
      await before.start(spec);
      try {
        await first.next(spec.instanceId, 'booted', 0, bootTimeoutMs);
      } finally {
        await before.close();
      }
      await withDriver(async (driver, log, started) => {
        started.push(spec.instanceId);
        assert.equal(await driver.adopt(spec), true);
        const mark = log.mark();
        await driver.stop(spec.instanceId, { force: false });
        assert.deepEqual(await log.next(spec.instanceId, 'halted', mark, bootTimeoutMs), { kind: 'halted', requested: true });
      });
      assert.deepEqual(first.of(spec.instanceId), ['booted'], 'a closed driver must report nothing more');
    });

    for (const nested of [true, false]) {
      test(`l2-smoke in user data reports ${nested ? "'L2 OK'" : "'L2 FAIL'"} when nestedVirtualization is ${nested}`, () =>
        withDriver(async (driver, log, started) => {
          const spec = specFor({ nestedVirtualization: nested, userData: '#!/bin/sh\nl2-smoke' });
          await boot(driver, log, started, spec);
          const out = await consoleShows(driver, spec.instanceId, /L2 (OK|FAIL)/, bootTimeoutMs);
          if (nested) {
            assert.match(out, /L2 OK/);
            assert.doesNotMatch(out, /L2 FAIL/);
          } else {
            assert.match(out, /L2 FAIL/);
            assert.doesNotMatch(out, /L2 OK/);
          }
        }));
    }

    test('without l2-smoke in user data the console reports no L2 result', () =>
      withDriver(async (driver, log, started) => {
        const spec = specFor({ nestedVirtualization: true, userData: '#!/bin/sh\necho hello' });
        await boot(driver, log, started, spec);
        await sleep(Math.min(quietMs, 300));
        assert.doesNotMatch((await driver.consoleOutput(spec.instanceId)) ?? '', /L2 (OK|FAIL)/);
      }));

    test('close() leaves no timers and reports nothing more', async () => {
      const baseline = activeTimers();
      const log = new EventLog();
      const driver = makeDriver(log.sink);
      // leave work in flight of every kind: a boot, a stop, a destroy
      const booting = specFor();
      const stopping = specFor();
      const destroying = specFor();
      await driver.start(stopping);
      await driver.start(destroying);
      await log.next(stopping.instanceId, 'booted', 0, bootTimeoutMs);
      await log.next(destroying.instanceId, 'booted', 0, bootTimeoutMs);
      await driver.start(booting);
      await driver.stop(stopping.instanceId, { force: false });
      await driver.destroy(destroying.instanceId);
      const mark = log.mark();
      await driver.close();
      assert.equal(activeTimers(), baseline, `close() left ${activeTimers() - baseline} timer(s) behind`);
      await sleep(quietMs);
      assert.deepEqual(log.events.slice(mark).map((e) => `${e.id} ${e.event.kind}`), []);
      // clean up the VMs a real driver left running, with a driver of its own
      const cleanup = new EventLog();
      const janitor = makeDriver(cleanup.sink);
      for (const s of [booting, stopping, destroying]) {
        await janitor.destroy(s.instanceId).catch(() => undefined);
        await cleanup.next(s.instanceId, 'destroyed', 0, bootTimeoutMs).catch(() => undefined);
      }
      await janitor.close();
      assert.equal(activeTimers(), baseline);
    });
  });
}
