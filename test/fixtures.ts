/** Plain data fixtures for unit tests that work below the API (store, VM host), and a VM host to run them on. */
import type { VmDriver, VmEventSink } from '../src/compute/driver.js';
import { VmHost } from '../src/compute/vm-host.js';
import type { InstanceRecord } from '../src/domain/instance.js';
import { loadCatalog } from '../src/domain/instance-types.js';
import { silentLogger } from '../src/logger.js';
import type { Store } from '../src/store/types.js';

/** A pending c8i.large Linux instance record; `overrides` change any field. */
export function instanceRecord(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    id: 'i-0123456789abcdef0',
    account: '000000000000',
    region: 'us-east-1',
    reservationId: 'r-0123456789abcdef0',
    seq: 1,
    imageId: 'ami-0b5e4a1f2c3d40001',
    instanceType: 'c8i.large',
    platform: 'linux',
    architecture: 'x86_64',
    state: 'pending',
    stateTransitionReason: '',
    launchTime: new Date(0).toISOString(),
    amiLaunchIndex: 0,
    availabilityZone: 'us-east-1a',
    tenancy: 'default',
    cpu: { coreCount: 1, threadsPerCore: 2 },
    hibernationConfigured: false,
    privateIpAddress: '172.31.0.4',
    ...overrides,
  };
}

/** A driver that runs nothing: every call resolves at once and reports nothing (tests report through `onEvent`). */
export function idleDriver(): VmDriver {
  return {
    name: 'idle',
    start: async () => {},
    stop: async () => {},
    reboot: async () => {},
    destroy: async () => {},
    adopt: async () => true,
    consoleOutput: async () => undefined,
    close: async () => {},
  };
}

/**
 * A VM host on `store` for tests below the API, not started: nothing runs until a test reports
 * (`onEvent`), takes tasks (`drain`), purges or starts it. `driver` is made with the host's event sink.
 */
export function testVmHost(
  store: Store,
  opts: {
    readonly id?: string;
    readonly now?: () => Date;
    readonly terminatedRetentionMs?: number;
    readonly driver?: (events: VmEventSink) => VmDriver;
  } = {},
): VmHost {
  const host = new VmHost({
    store,
    catalog: loadCatalog(),
    log: silentLogger,
    now: opts.now ?? (() => new Date()),
    id: opts.id ?? 'nbh-test',
    terminatedRetentionMs: opts.terminatedRetentionMs ?? 1000,
  });
  host.attach(opts.driver?.(host.onEvent) ?? idleDriver(), { vcpus: 64, memoryMiB: 65_536 });
  return host;
}

/** mulberry32: 32 bits of state, good enough to spread test inputs, and reproducible from the seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
