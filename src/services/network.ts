/**
 * An instance's place in its VPC as the API shows it: its VPC, subnet and security groups, and its
 * network interfaces — the primary one and those of its own attached to it — in the two shapes the API
 * has for them (DescribeInstances' InstanceNetworkInterface, DescribeNetworkInterfaces' NetworkInterface),
 * both from one set of facts.
 */
import type { GroupIdentifier, InstanceNetworkInterface, InstanceNetworkInterfaceAssociation, NetworkInterface } from '@aws-sdk/client-ec2';
import {
  type InstanceRecord,
  networkInterfaceAttachmentId,
  networkInterfaceId,
  privateDnsName,
} from '../domain/instance.js';
import { type InterfaceAttachmentRecord, type NetworkInterfaceRecord, interfaceStatus } from '../domain/network-interface.js';
import { tagList } from './tags.js';
import { instanceAttachment, macAddress } from '../domain/network.js';
import { publicDnsName } from '../domain/public-ip.js';

export interface InstanceNetwork {
  readonly vpcId: string;
  readonly subnetId: string;
  /** the subnet's IPv4 block, e.g. `172.31.0.0/20` */
  readonly subnetCidr: string;
  readonly securityGroups: readonly GroupIdentifier[];
}

/** Where an instance is attached (src/domain/network.ts). EC2 shows none of it once the instance is terminated; callers decide that. */
export function instanceNetworkOf(rec: InstanceRecord): InstanceNetwork {
  const a = instanceAttachment(rec);
  return {
    vpcId: a.vpcId,
    subnetId: a.subnetId,
    subnetCidr: a.subnetCidr,
    securityGroups: a.groups.map((g) => ({ GroupId: g.id, GroupName: g.name })),
  };
}

/** An instance's network as DescribeInstances shows it: none once it is terminated. */
export const attachedNetworkOf = (rec: InstanceRecord): InstanceNetwork | undefined =>
  rec.state === 'terminated' ? undefined : instanceNetworkOf(rec);

/**
 * The public address's association as EC2 shows it, when the instance holds one: owner `amazon` for an
 * address from Amazon's pool, the account for its Elastic IP (src/domain/elastic-ip.ts).
 */
export function publicIpAssociation(rec: InstanceRecord): InstanceNetworkInterfaceAssociation | undefined {
  if (rec.publicIp === undefined) return undefined;
  const owner = rec.elasticIp !== undefined ? rec.account : 'amazon';
  return { IpOwnerId: owner, PublicDnsName: publicDnsName(rec.publicIp, rec.region), PublicIp: rec.publicIp };
}

/**
 * One network interface as the API shows it, whichever record keeps it: an instance's primary
 * interface (derived from the instance, or a stored interface it was launched with) or a stored one.
 */
export interface InterfaceFacts extends Omit<NetworkInterfaceRecord, 'sourceDestCheck' | 'createTime' | 'attachment'> {
  readonly sourceDestCheck: boolean;
  readonly attachment: InterfaceAttachmentRecord | undefined;
  /** the public address's association (primary interfaces only) */
  readonly association: InstanceNetworkInterfaceAssociation | undefined;
}

/**
 * An instance's primary interface (device index 0): derived from the instance like its root volume — ID
 * and attachment ID from the instance ID, a MAC address hashed from it, created with the instance and
 * gone with it (DeleteOnTermination true) — or the stored interface it was launched with (`stored`:
 * its record, for the description and secondary addresses). Undefined once the instance is terminated.
 */
export function primaryInterfaceFacts(rec: InstanceRecord, stored?: NetworkInterfaceRecord): InterfaceFacts | undefined {
  if (rec.state === 'terminated') return undefined;
  const a = instanceAttachment(rec);
  return {
    id: networkInterfaceId(rec),
    account: rec.account,
    region: rec.region,
    availabilityZone: rec.availabilityZone,
    vpcId: a.vpcId,
    vpcCidr: a.vpcCidr,
    subnetId: a.subnetId,
    subnetCidr: a.subnetCidr,
    description: stored?.description ?? '',
    groups: a.groups,
    privateIp: rec.privateIpAddress,
    secondaryIps: stored?.secondaryIps ?? rec.secondaryPrivateIps ?? [],
    mac: macAddress(rec),
    sourceDestCheck: rec.sourceDestCheck ?? true,
    attachment: {
      instanceId: rec.id,
      attachmentId: networkInterfaceAttachmentId(rec),
      deviceIndex: 0,
      // EC2 keeps the primary interface's attachment from launch; the record's launch time is the one it has.
      attachTime: stored?.attachment?.attachTime ?? rec.launchTime,
      deleteOnTermination: stored?.attachment?.deleteOnTermination ?? true,
    },
    association: publicIpAssociation(rec),
  };
}

/** A stored interface that is not an instance's primary one (available, or attached at device index 1 or more). */
export function storedInterfaceFacts(eni: NetworkInterfaceRecord): InterfaceFacts {
  return {
    id: eni.id,
    account: eni.account,
    region: eni.region,
    availabilityZone: eni.availabilityZone,
    vpcId: eni.vpcId,
    vpcCidr: eni.vpcCidr,
    subnetId: eni.subnetId,
    subnetCidr: eni.subnetCidr,
    description: eni.description,
    groups: eni.groups,
    privateIp: eni.privateIp,
    secondaryIps: eni.secondaryIps,
    mac: eni.mac,
    sourceDestCheck: eni.sourceDestCheck ?? true,
    attachment: eni.attachment,
    association: undefined,
  };
}

/** An interface's addresses as both views list them: the primary (with the public association) first. */
function privateAddresses(f: InterfaceFacts) {
  return [
    { Association: f.association, Primary: true, PrivateDnsName: privateDnsName(f.privateIp, f.region), PrivateIpAddress: f.privateIp },
    ...f.secondaryIps.map((ip) => ({ Primary: false, PrivateDnsName: privateDnsName(ip, f.region), PrivateIpAddress: ip })),
  ];
}

/** An interface as DescribeInstances shows it in an instance's NetworkInterfaces. */
export function toInstanceInterface(f: InterfaceFacts): InstanceNetworkInterface {
  const a = f.attachment!;
  // Plain members, `undefined` where absent (no conditional spreads: see toInstance).
  return {
    Association: f.association,
    Attachment: {
      AttachTime: new Date(a.attachTime),
      AttachmentId: a.attachmentId,
      DeleteOnTermination: a.deleteOnTermination,
      DeviceIndex: a.deviceIndex,
      Status: 'attached',
      NetworkCardIndex: 0,
    },
    Description: f.description,
    Groups: f.groups.map((g) => ({ GroupId: g.id, GroupName: g.name })),
    Ipv6Addresses: [],
    MacAddress: f.mac,
    NetworkInterfaceId: f.id,
    OwnerId: f.account,
    PrivateDnsName: privateDnsName(f.privateIp, f.region),
    PrivateIpAddress: f.privateIp,
    PrivateIpAddresses: privateAddresses(f),
    SourceDestCheck: f.sourceDestCheck,
    Status: 'in-use',
    SubnetId: f.subnetId,
    VpcId: f.vpcId,
    InterfaceType: 'interface',
  };
}

/** An interface as DescribeNetworkInterfaces shows it. */
export function toNetworkInterface(f: InterfaceFacts, tags: ReadonlyMap<string, string>): NetworkInterface {
  const a = f.attachment;
  return {
    Association: f.association,
    Attachment: a && {
      AttachTime: new Date(a.attachTime),
      AttachmentId: a.attachmentId,
      DeleteOnTermination: a.deleteOnTermination,
      DeviceIndex: a.deviceIndex,
      NetworkCardIndex: 0,
      InstanceId: a.instanceId,
      InstanceOwnerId: f.account,
      Status: 'attached',
    },
    AvailabilityZone: f.availabilityZone,
    Description: f.description,
    Groups: f.groups.map((g) => ({ GroupId: g.id, GroupName: g.name })),
    InterfaceType: 'interface',
    Ipv6Addresses: [],
    MacAddress: f.mac,
    NetworkInterfaceId: f.id,
    OwnerId: f.account,
    PrivateDnsName: privateDnsName(f.privateIp, f.region),
    PrivateIpAddress: f.privateIp,
    PrivateIpAddresses: privateAddresses(f),
    RequesterManaged: false,
    SourceDestCheck: f.sourceDestCheck,
    Status: interfaceStatus(f),
    SubnetId: f.subnetId,
    TagSet: tagList(tags),
    VpcId: f.vpcId,
  };
}

/**
 * The instance's network interfaces as DescribeInstances shows them: its primary interface, then the
 * stored interfaces attached to it (`attached`: those whose attachment names it, as they stand), by
 * device index. None once the instance is terminated.
 */
export function instanceNetworkInterfaces(rec: InstanceRecord, attached: readonly NetworkInterfaceRecord[] = []): InstanceNetworkInterface[] {
  const primary = primaryInterfaceFacts(rec, rec.primaryInterface ? attached.find((e) => e.id === rec.primaryInterface!.id) : undefined);
  if (!primary) return [];
  const others = attached
    .filter((e) => e.id !== primary.id)
    .sort((x, y) => x.attachment!.deviceIndex - y.attachment!.deviceIndex)
    .map((e) => toInstanceInterface(storedInterfaceFacts(e)));
  return [toInstanceInterface(primary), ...others];
}
