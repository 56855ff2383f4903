/** Plain data fixtures for unit tests that work below the API (store, reconciler). */
import type { InstanceRecord } from '../src/domain/instance.js';

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
