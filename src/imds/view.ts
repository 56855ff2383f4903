/**
 * What the instance metadata service knows of one instance: a plain, self-contained view, built fresh
 * for every request (see `lookup` in ./service.ts) so a change made through the API — metadata
 * options, tags, a new public address after stop/start — is what the very next request sees.
 *
 * `imdsViewOf` builds it from an InstanceRecord and the few facts the record does not hold. It is
 * pure: it reads nothing but its arguments (and nestbox's static tables: images, zones, the derived
 * default network), so it can be wired to the store anywhere.
 */
import { rootDeviceName } from '../domain/block-devices.js';
import { type InstanceRecord, networkInterfaceId, privateDnsName } from '../domain/instance.js';
import { metadataOptionsOf } from '../domain/launch-options.js';
import { instanceAttachment, macAddress } from '../domain/network.js';
import { zonesIn } from '../domain/regions.js';
import { publicDnsName } from '../domain/public-ip.js';
import type { VmNetwork } from '../compute/driver.js';

/** The metadata options as the service applies them (InstanceRecord's MetadataOptions, minus IPv6). */
export interface ImdsOptions {
  /** `required`: requests without a session token (IMDSv1) are refused with 401 */
  readonly httpTokens: 'optional' | 'required';
  /** `disabled`: the service does not answer at all (connections are closed unanswered) */
  readonly httpEndpoint: 'enabled' | 'disabled';
  /**
   * HttpPutResponseHopLimit, recorded only. EC2 sets it as the IP TTL of the token response so a
   * token cannot travel past a container bridge; here the guest reaches the service through QEMU's
   * user-mode network stack (guestfwd → socat → a unix socket), where there are no IP hops to count.
   */
  readonly hopLimit: number;
  /** `enabled`: the instance's tags are readable under meta-data/tags/instance/ */
  readonly instanceMetadataTags: 'enabled' | 'disabled';
}

export interface ImdsSecurityGroup {
  readonly id: string;
  readonly name: string;
}

export interface ImdsPublicKey {
  /** the key pair's name (`public-keys/` lists `0=<name>`) */
  readonly name: string;
  /** the OpenSSH one-line public key (`public-keys/0/openssh-key`) */
  readonly openssh: string;
}

/** Everything the metadata categories, user data and the identity document are made of. */
export interface ImdsInstanceView {
  readonly instanceId: string;
  readonly imageId: string;
  readonly instanceType: string;
  readonly account: string;
  readonly region: string;
  readonly availabilityZone: string;
  /** e.g. `use1-az6`; absent: placement/availability-zone-id is not served */
  readonly availabilityZoneId?: string | undefined;
  readonly architecture: 'x86_64' | 'arm64';
  readonly reservationId: string;
  readonly amiLaunchIndex: number;
  /** when the instance last entered `pending` (ISO 8601): the identity document's pendingTime */
  readonly pendingTime: string;
  readonly instanceLifeCycle: 'on-demand' | 'spot';
  readonly privateIp: string;
  /** the primary interface's secondary private addresses (AssignPrivateIpAddresses): local-ipv4s after the primary */
  readonly secondaryIps?: readonly string[] | undefined;
  /** hostname and local-hostname, e.g. `ip-172-31-0-8.ec2.internal` */
  readonly privateDnsName: string;
  /** absent: public-ipv4 and public-hostname are not served */
  readonly publicIp?: string | undefined;
  readonly publicDnsName?: string | undefined;
  /** the primary network interface: lower-case, colon-separated */
  readonly mac: string;
  readonly eniId: string;
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly vpcId: string;
  /** the VPC's IPv4 CIDR blocks, primary first */
  readonly vpcCidrs: readonly string[];
  readonly securityGroups: readonly ImdsSecurityGroup[];
  /** at most one on EC2 (RunInstances' KeyName) */
  readonly publicKeys: readonly ImdsPublicKey[];
  /** raw user data (decoded from base64); absent or empty: /latest/user-data is 404 */
  readonly userData?: Uint8Array | undefined;
  /** the instance's own tags, in the order they were first set */
  readonly tags: ReadonlyMap<string, string>;
  readonly metadataOptions: ImdsOptions;
  /** the root device name: block-device-mapping/ami and block-device-mapping/root */
  readonly rootDeviceName: string;
  /** absent: iam/ is not served */
  readonly iamInstanceProfile?: { readonly arn: string; readonly id: string } | undefined;
  /** the Dedicated Host it runs on: placement/host-id */
  readonly hostId?: string | undefined;
  /** detailed monitoring: dynamic/fws/instance-monitoring */
  readonly detailedMonitoring?: boolean | undefined;
}

/** The primary network interface's facts, as the API records them: a VmSpec's `network` is passed as it is. */
export type ImdsNetworkFacts = Omit<VmNetwork, 'openTcpPorts'>;

/** Where the interface is attached. */
export interface ImdsAttachment {
  readonly vpcId: string;
  readonly subnetId: string;
  /** default: the default VPC's `172.31.0.0/16` */
  readonly vpcCidrs?: readonly string[] | undefined;
  readonly securityGroups: readonly ImdsSecurityGroup[];
}

/** What `imdsViewOf` needs beyond the record. */
export interface ImdsViewDeps {
  /** the instance's tags (`store.tagsOf(rec.id)`); absent: none */
  readonly tags?: ReadonlyMap<string, string> | undefined;
  /**
   * The primary interface as the API records it (VmSpec.network). Give it for every real VM: the MAC
   * the guest's NIC has must be the one the metadata names. Absent: derived from the record (its
   * private address, its zone's default subnet, the MAC and ENI ID the API derives from the instance ID).
   */
  readonly network?: ImdsNetworkFacts | undefined;
  /** absent: the zone's default subnet of the default VPC and its `default` security group */
  readonly attachment?: ImdsAttachment | undefined;
  /** the primary interface's secondary private addresses; absent: the record's (a derived interface's) */
  readonly secondaryIps?: readonly string[] | undefined;
}

/**
 * The metadata view of an instance. Expects of the record: id, reservationId, imageId, instanceType,
 * platform (root device name), architecture, account, region, availabilityZone, amiLaunchIndex,
 * launchTime (set again at every start: the identity document's pendingTime), keyName + publicKey,
 * userData (base64), privateIpAddress (when `deps.network` is absent), instanceLifecycle,
 * metadataOptions (or the image's defaults), iamInstanceProfile, hostId and detailedMonitoring.
 *
 * It does not look at the state: the caller's lookup decides which instances are served at all (EC2:
 * none once terminated).
 */
export function imdsViewOf(rec: InstanceRecord, deps: ImdsViewDeps = {}): ImdsInstanceView {
  const zone = zonesIn(rec.region).find((z) => z.name === rec.availabilityZone);
  const net = deps.network ?? derivedNetwork(rec);
  const attachment = deps.attachment ?? defaultAttachment(rec);
  const options = metadataOptionsOf(rec);
  const userData = rec.userData ? Buffer.from(rec.userData, 'base64') : undefined;
  return {
    instanceId: rec.id,
    imageId: rec.imageId,
    instanceType: rec.instanceType,
    account: rec.account,
    region: rec.region,
    availabilityZone: rec.availabilityZone,
    ...(zone ? { availabilityZoneId: zone.id } : {}),
    architecture: rec.architecture,
    reservationId: rec.reservationId,
    amiLaunchIndex: rec.amiLaunchIndex,
    pendingTime: rec.launchTime,
    instanceLifeCycle: rec.instanceLifecycle === 'spot' ? 'spot' : 'on-demand',
    privateIp: net.privateIp,
    secondaryIps: deps.secondaryIps ?? rec.secondaryPrivateIps ?? [],
    privateDnsName: net.privateDnsName,
    ...(net.publicIp
      ? { publicIp: net.publicIp, publicDnsName: publicDnsName(net.publicIp, rec.region) }
      : {}),
    mac: net.mac.toLowerCase(),
    eniId: net.eniId,
    subnetId: attachment.subnetId,
    subnetCidr: net.subnetCidr,
    vpcId: attachment.vpcId,
    vpcCidrs: attachment.vpcCidrs && attachment.vpcCidrs.length > 0 ? attachment.vpcCidrs : [instanceAttachment(rec).vpcCidr],
    securityGroups: attachment.securityGroups,
    publicKeys: rec.keyName !== undefined && rec.publicKey ? [{ name: rec.keyName, openssh: rec.publicKey }] : [],
    ...(userData && userData.length > 0 ? { userData } : {}),
    tags: deps.tags ?? new Map(),
    metadataOptions: {
      httpTokens: options.httpTokens,
      httpEndpoint: options.httpEndpoint,
      hopLimit: options.hopLimit,
      instanceMetadataTags: options.instanceMetadataTags,
    },
    rootDeviceName: rootDeviceName(rec),
    ...(rec.iamInstanceProfile ? { iamInstanceProfile: { arn: rec.iamInstanceProfile.arn, id: rec.iamInstanceProfile.id } } : {}),
    ...(rec.hostId !== undefined ? { hostId: rec.hostId } : {}),
    detailedMonitoring: rec.detailedMonitoring === true,
  };
}

function derivedNetwork(rec: InstanceRecord): ImdsNetworkFacts {
  return {
    eniId: networkInterfaceId(rec),
    mac: macAddress(rec),
    privateIp: rec.privateIpAddress,
    subnetCidr: instanceAttachment(rec).subnetCidr,
    privateDnsName: privateDnsName(rec.privateIpAddress, rec.region),
  };
}

function defaultAttachment(rec: InstanceRecord): ImdsAttachment {
  const a = instanceAttachment(rec);
  return { vpcId: a.vpcId, subnetId: a.subnetId, vpcCidrs: [a.vpcCidr], securityGroups: a.groups.map((g) => ({ id: g.id, name: g.name })) };
}
