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
  /** the key pair's OpenSSH public key at launch, for the VM to install (EC2 keeps it even if the pair is deleted) */
  readonly publicKey?: string | undefined;
  readonly availabilityZone: string;
  readonly tenancy: string;
  /** the Dedicated Host the instance runs on (tenancy `host`) */
  readonly hostId?: string | undefined;
  /** tenancy `host`: `host` binds the instance to `hostId` across stop/start; absent means EC2's `default` */
  readonly affinity?: 'default' | 'host' | undefined;
  /** `spot` for a Spot Instance (launched by an EC2 Fleet); absent means On-Demand */
  readonly instanceLifecycle?: 'spot' | undefined;
  /** the launch template and version it was launched from */
  readonly launchTemplate?: { readonly id: string; readonly version: number } | undefined;
  /** instance attributes (ModifyInstanceAttribute); absent means EC2's default */
  readonly disableApiTermination?: boolean | undefined;
  readonly disableApiStop?: boolean | undefined;
  /** what a shutdown from inside the guest does; EC2's default is `stop` */
  readonly shutdownBehavior?: 'stop' | 'terminate' | undefined;
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

/**
 * The ID of an instance's root EBS volume: the instance's own hex digits after `vol-`, so the one
 * volume every instance has needs no record of its own and keeps its ID across restarts.
 */
export const rootVolumeId = (rec: Pick<InstanceRecord, 'id'>): string => `vol-${rec.id.slice(rec.id.indexOf('-') + 1)}`;

/** The instance whose root volume `volumeId` would be (the inverse of `rootVolumeId`): a lookup, not a scan. */
export const instanceIdOfRootVolume = (volumeId: string): string => `i-${volumeId.slice(volumeId.indexOf('-') + 1)}`;

/** The root volume exists while its instance is not terminated (DeleteOnTermination); stopped ones keep it. */
export const hasRootVolume = (rec: Pick<InstanceRecord, 'state'>): boolean => rec.state !== 'terminated';

/**
 * An address in the zone's default subnet, `172.31.<16 × zoneIndex>.0/20` (see domain/network.ts),
 * skipping the first four addresses of each /24 as AWS reserves them at the start of a subnet.
 */
export function privateIpFor(seq: number, zoneIndex: number): string {
  const n = seq % (16 * 250);
  return `172.31.${16 * zoneIndex + Math.floor(n / 250)}.${(n % 250) + 4}`;
}

export function privateDnsName(ip: string, region: string): string {
  const host = `ip-${ip.replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}
