/** The instance as nestbox records it: plain, immutable data. The API's view is mapped from it. */
import type { CpuSettings } from './cpu-options.js';
import type { StateName, StateReason } from './lifecycle.js';

export interface Scope {
  readonly account: string;
  readonly region: string;
}

export interface InstanceRecord extends Scope {
  readonly id: string;
  readonly reservationId: string;
  /** creation order, for stable listings */
  readonly seq: number;
  readonly imageId: string;
  readonly instanceType: string;
  readonly platform: 'linux' | 'windows';
  readonly architecture: 'x86_64' | 'arm64';
  readonly state: StateName;
  readonly stateReason?: StateReason | undefined;
  readonly stateTransitionReason: string;
  readonly launchTime: string;
  readonly amiLaunchIndex: number;
  readonly keyName?: string | undefined;
  readonly availabilityZone: string;
  readonly tenancy: string;
  readonly cpu: CpuSettings;
  readonly hibernationConfigured: boolean;
  /** base64, as given to RunInstances */
  readonly userData?: string | undefined;
  readonly clientToken?: string | undefined;
  readonly privateIpAddress: string;
  readonly terminatedAt?: string | undefined;
  /** the instance has reached `running` at least once (EC2 will not stop one that never has) */
  readonly hasRun?: boolean | undefined;
  /** what the driver last said about the VM (acceleration, scaling), shown by the console */
  readonly runtime?: Readonly<Record<string, string>> | undefined;
}

/**
 * Virtual Secure Mode on a Windows instance: EC2 turns it off whenever nested virtualization is
 * enabled, which makes Credential Guard unavailable (spec R9). Not meaningful on Linux.
 */
export function virtualSecureMode(i: {
  readonly platform: 'linux' | 'windows';
  readonly nestedVirtualization?: CpuSettings['nestedVirtualization'];
}): 'enabled' | 'disabled' | undefined {
  if (i.platform !== 'windows') return undefined;
  return i.nestedVirtualization === 'enabled' ? 'disabled' : 'enabled';
}

/**
 * A terminated instance is gone once its retention has passed (EC2: about an hour), whether or not the
 * periodic purge has removed its record yet. `cutoffMs` is now minus the retention.
 */
export const expired = (i: Pick<InstanceRecord, 'terminatedAt'>, cutoffMs: number): boolean =>
  i.terminatedAt !== undefined && Date.parse(i.terminatedAt) < cutoffMs;

export function privateIpFor(seq: number): string {
  return `172.31.${Math.floor(seq / 250) % 250}.${(seq % 250) + 4}`;
}

export function privateDnsName(ip: string, region: string): string {
  const host = `ip-${ip.replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}
