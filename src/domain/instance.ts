/** The instance as nestbox records it: plain, immutable data. The API's view is mapped from it. */
import type { RootVolumeSettings } from './block-devices.js';
import type { CpuSettings } from './cpu-options.js';
import type { CpuCredits, IamInstanceProfileRecord, MetadataOptions, PrivateDnsNameSettings, SpotSettings } from './launch-settings.js';
import type { StateName, StateReason } from './lifecycle.js';

export interface Scope {
  readonly account: string;
  readonly region: string;
}

/** A subnet an instance is in, as the instance keeps it (a subnet's VPC and blocks never change). */
export interface InstanceSubnet {
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly subnetId: string;
  readonly subnetCidr: string;
}

/** An Elastic IP associated with an instance's primary network interface (src/domain/elastic-ip.ts). */
export interface ElasticIpAssociation {
  readonly allocationId: string;
  /** `eipassoc-…`, new with every association */
  readonly associationId: string;
  readonly publicIp: string;
}

/** A security group as an instance keeps it (a group's name never changes). */
export interface InstanceGroup {
  readonly id: string;
  readonly name: string;
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
  /** `spot` for a Spot Instance (RunInstances' InstanceMarketOptions, or an EC2 Fleet); absent means On-Demand */
  readonly instanceLifecycle?: 'spot' | undefined;
  /** a Spot Instance's request as RunInstances gave it; absent on a Spot Instance: one-time, terminate (EC2 Fleet) */
  readonly spot?: SpotSettings | undefined;
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
  /** the primary network interface's primary private IPv4 address (`privateIpFor`) */
  readonly privateIpAddress: string;
  /** the subnet of the primary network interface when it is not its zone's default subnet (CreateSubnet's); absent: that default subnet */
  readonly subnet?: InstanceSubnet | undefined;
  /** the primary network interface's security groups; absent: the default VPC's `default` group */
  readonly securityGroups?: readonly InstanceGroup[] | undefined;
  /** ModifyInstanceAttribute sourceDestCheck false (the primary interface's check); absent: EC2's default, true */
  readonly sourceDestCheck?: false | undefined;
  /**
   * The primary interface when the instance was launched with an existing one (RunInstances
   * `NetworkInterface.1.NetworkInterfaceId`): its stored record (src/domain/network-interface.ts) keeps
   * its description and secondary addresses; the subnet, groups and primary address above are its own.
   * Absent: the primary interface is derived from the instance (`eni-` and the instance's digits).
   */
  readonly primaryInterface?: { readonly id: string; readonly attachmentId: string; readonly mac: string } | undefined;
  /** secondary private IPv4 addresses of a derived primary interface (AssignPrivateIpAddresses) */
  readonly secondaryPrivateIps?: readonly string[] | undefined;
  /**
   * Whether the instance gets a public IPv4 address each time it enters `pending` (RunInstances,
   * StartInstances): the primary network interface's AssociatePublicIpAddress, else the subnet's
   * MapPublicIpOnLaunch. Absent (records from before it was kept): the subnet's, which is true for
   * every default subnet. See src/domain/public-ip.ts.
   */
  readonly associatePublicIp?: boolean | undefined;
  /**
   * The public IPv4 address it holds, a loopback address of this host (src/domain/public-ip.ts):
   * assigned on entering `pending`, removed on `stopped` and `terminated` (as EC2 releases an address
   * that is not an Elastic IP).
   */
  readonly publicIp?: string | undefined;
  /**
   * The Elastic IP associated with the primary network interface (AssociateAddress); while it is,
   * `publicIp` is its address, kept across stop and start. Ends with the instance's termination.
   */
  readonly elasticIp?: ElasticIpAssociation | undefined;
  readonly terminatedAt?: string | undefined;
  // What RunInstances' launch options set (src/domain/launch-options.ts); absent means EC2's default.
  /** the root EBS volume's settings from BlockDeviceMappings; absent: the image's (ROOT_VOLUME) */
  readonly rootVolume?: RootVolumeSettings | undefined;
  /** instance metadata options; absent: the image's defaults (recorded at every launch since they were kept) */
  readonly metadataOptions?: MetadataOptions | undefined;
  /** detailed monitoring (Monitoring.Enabled, MonitorInstances) */
  readonly detailedMonitoring?: true | undefined;
  /** the CPU credit option set at launch or by ModifyInstanceCreditSpecification; absent: the type's default */
  readonly cpuCredits?: CpuCredits | undefined;
  readonly ebsOptimized?: true | undefined;
  /** MaintenanceOptions.AutoRecovery `disabled`; absent: `default` */
  readonly autoRecoveryDisabled?: true | undefined;
  /** absent: the default subnet's (`ip-name`, no resource-name DNS records) */
  readonly privateDnsNameOptions?: PrivateDnsNameSettings | undefined;
  readonly enclave?: true | undefined;
  readonly iamInstanceProfile?: IamInstanceProfileRecord | undefined;
  /** CapacityReservationSpecification preference `none`; absent: `open` */
  readonly capacityReservationsNone?: true | undefined;
  /** the instance has reached `running` at least once (EC2 will not stop one that never has) */
  readonly hasRun?: boolean | undefined;
  /** what the driver last said about the VM (acceleration, scaling), shown by the console */
  readonly runtime?: Readonly<Record<string, string>> | undefined;
  /** the nestbox VM host it is placed on (src/compute/vm-host.ts); absent on records from before hosts */
  readonly vmHost?: string | undefined;
  /** `impaired`: its host failed (the system status check fails) until it is started again */
  readonly systemStatus?: 'impaired' | undefined;
  /** its revision in the store, for conditional writes (src/store/types.ts) */
  readonly rev?: number | undefined;
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

/**
 * The root volume exists while its instance is not terminated (stopped ones keep it attached), and
 * after termination when its DeleteOnTermination was false, until DeleteVolume removes it.
 */
export const hasRootVolume = (rec: Pick<InstanceRecord, 'state' | 'rootVolume'>): boolean =>
  rec.state !== 'terminated' || (rec.rootVolume?.deleteOnTermination === false && rec.rootVolume.deleted !== true);

/** The root volume is attached to its instance until the instance is terminated. */
export const rootVolumeAttached = (rec: Pick<InstanceRecord, 'state'>): boolean => rec.state !== 'terminated';

/** The hex digits of an instance ID, which the IDs of what every instance has (volume, interface) reuse. */
const idDigits = (rec: Pick<InstanceRecord, 'id'>): string => rec.id.slice(rec.id.indexOf('-') + 1);

/**
 * The ID of an instance's primary network interface (device index 0): `eni-` and the instance's own
 * hex digits, like `rootVolumeId`, so it needs no record and is stable across restarts.
 */
export const networkInterfaceId = (rec: Pick<InstanceRecord, 'id' | 'primaryInterface'>): string =>
  rec.primaryInterface?.id ?? derivedInterfaceId(rec);

/** The ID a derived primary interface has: `eni-` and the instance's digits. */
export const derivedInterfaceId = (rec: Pick<InstanceRecord, 'id'>): string => `eni-${idDigits(rec)}`;

/** The ID of the primary network interface's attachment to its instance. */
export const networkInterfaceAttachmentId = (rec: Pick<InstanceRecord, 'id' | 'primaryInterface'>): string =>
  rec.primaryInterface?.attachmentId ?? `eni-attach-${idDigits(rec)}`;

/**
 * An address in the zone's default subnet, `172.31.<16 × zoneIndex>.0/20` (see domain/network.ts),
 * whose last octet is 4 to 253. So it is always one a DHCP server of the subnet may hand out: never the
 * network address, nor base+1 (the VPC router), base+2 (DNS) or base+3 (reserved by AWS; the qemu
 * driver serves the instance metadata there), nor the broadcast address (…15.255).
 */
export function privateIpFor(seq: number, zoneIndex: number): string {
  const n = seq % (16 * 250);
  return `172.31.${16 * zoneIndex + Math.floor(n / 250)}.${(n % 250) + 4}`;
}

export function privateDnsName(ip: string, region: string): string {
  const host = `ip-${ip.replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}
