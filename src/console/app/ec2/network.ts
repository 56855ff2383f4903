/**
 * EC2's XML answers about networks and storage read into the SDK's shapes (type-only imports, as in
 * ./shapes.ts): VPCs, subnets, security groups and their rules, internet gateways, route tables and
 * volumes. Only the members the console shows are read.
 */
import type {
  InternetGateway,
  IpPermission,
  RouteTable,
  SecurityGroup,
  SecurityGroupRule,
  Subnet,
  Volume,
  VolumeAttachment,
  Vpc,
} from '@aws-sdk/client-ec2';
import { toTags } from './shapes.js';
import { type XmlElement, child, items, text } from './xml.js';

const num = (s: string | undefined): number | undefined => (s === undefined || s === '' ? undefined : Number(s));
const bool = (s: string | undefined): boolean | undefined => (s === undefined || s === '' ? undefined : s === 'true');
const str = (s: string | undefined): string | undefined => (s === '' ? undefined : s);
const date = (s: string | undefined): Date | undefined => (s ? new Date(s) : undefined);

export function toVpc(el: XmlElement): Vpc {
  return {
    VpcId: text(el, 'vpcId'),
    State: text(el, 'state') as Vpc['State'],
    CidrBlock: text(el, 'cidrBlock'),
    IsDefault: bool(text(el, 'isDefault')),
    InstanceTenancy: text(el, 'instanceTenancy') as Vpc['InstanceTenancy'],
    DhcpOptionsId: str(text(el, 'dhcpOptionsId')),
    OwnerId: text(el, 'ownerId'),
    Tags: toTags(el),
  };
}

export function toSubnet(el: XmlElement): Subnet {
  return {
    SubnetId: text(el, 'subnetId'),
    VpcId: text(el, 'vpcId'),
    State: text(el, 'state') as Subnet['State'],
    CidrBlock: text(el, 'cidrBlock'),
    AvailabilityZone: text(el, 'availabilityZone'),
    AvailabilityZoneId: str(text(el, 'availabilityZoneId')),
    AvailableIpAddressCount: num(text(el, 'availableIpAddressCount')),
    DefaultForAz: bool(text(el, 'defaultForAz')),
    MapPublicIpOnLaunch: bool(text(el, 'mapPublicIpOnLaunch')),
    Tags: toTags(el),
  };
}

function toIpPermission(el: XmlElement): IpPermission {
  return {
    IpProtocol: text(el, 'ipProtocol'),
    FromPort: num(text(el, 'fromPort')),
    ToPort: num(text(el, 'toPort')),
    UserIdGroupPairs: items(el, 'groups').map((g) => ({
      GroupId: text(g, 'groupId'),
      UserId: str(text(g, 'userId')),
      Description: str(text(g, 'description')),
    })),
    IpRanges: items(el, 'ipRanges').map((r) => ({ CidrIp: text(r, 'cidrIp'), Description: str(text(r, 'description')) })),
    Ipv6Ranges: items(el, 'ipv6Ranges').map((r) => ({ CidrIpv6: text(r, 'cidrIpv6'), Description: str(text(r, 'description')) })),
    PrefixListIds: items(el, 'prefixListIds').map((r) => ({ PrefixListId: text(r, 'prefixListId'), Description: str(text(r, 'description')) })),
  };
}

export function toSecurityGroup(el: XmlElement): SecurityGroup {
  return {
    GroupId: text(el, 'groupId'),
    GroupName: text(el, 'groupName'),
    Description: text(el, 'groupDescription'),
    VpcId: str(text(el, 'vpcId')),
    OwnerId: text(el, 'ownerId'),
    IpPermissions: items(el, 'ipPermissions').map(toIpPermission),
    IpPermissionsEgress: items(el, 'ipPermissionsEgress').map(toIpPermission),
    Tags: toTags(el),
  };
}

/** How many rules (one per peer) a group's IpPermissions stand for, as DescribeSecurityGroupRules counts them. */
export const ruleCount = (permissions: readonly IpPermission[] | undefined): number =>
  (permissions ?? []).reduce(
    (n, p) => n + (p.IpRanges?.length ?? 0) + (p.Ipv6Ranges?.length ?? 0) + (p.UserIdGroupPairs?.length ?? 0) + (p.PrefixListIds?.length ?? 0),
    0,
  );

export function toSecurityGroupRule(el: XmlElement): SecurityGroupRule {
  const referenced = child(el, 'referencedGroupInfo');
  return {
    SecurityGroupRuleId: text(el, 'securityGroupRuleId'),
    GroupId: text(el, 'groupId'),
    GroupOwnerId: text(el, 'groupOwnerId'),
    IsEgress: bool(text(el, 'isEgress')),
    IpProtocol: text(el, 'ipProtocol'),
    FromPort: num(text(el, 'fromPort')),
    ToPort: num(text(el, 'toPort')),
    CidrIpv4: str(text(el, 'cidrIpv4')),
    CidrIpv6: str(text(el, 'cidrIpv6')),
    PrefixListId: str(text(el, 'prefixListId')),
    ...(referenced ? { ReferencedGroupInfo: { GroupId: text(referenced, 'groupId'), UserId: str(text(referenced, 'userId')) } } : {}),
    Description: str(text(el, 'description')),
    Tags: toTags(el),
  };
}

export function toInternetGateway(el: XmlElement): InternetGateway {
  return {
    InternetGatewayId: text(el, 'internetGatewayId'),
    OwnerId: text(el, 'ownerId'),
    Attachments: items(el, 'attachmentSet').map((a) => ({ VpcId: text(a, 'vpcId'), State: text(a, 'state') as 'attached' })),
    Tags: toTags(el),
  };
}

export function toRouteTable(el: XmlElement): RouteTable {
  return {
    RouteTableId: text(el, 'routeTableId'),
    VpcId: text(el, 'vpcId'),
    Associations: items(el, 'associationSet').map((a) => ({
      Main: bool(text(a, 'main')),
      RouteTableAssociationId: text(a, 'routeTableAssociationId'),
      SubnetId: str(text(a, 'subnetId')),
    })),
    Routes: items(el, 'routeSet').map((r) => ({
      DestinationCidrBlock: text(r, 'destinationCidrBlock'),
      GatewayId: str(text(r, 'gatewayId')),
      InstanceId: str(text(r, 'instanceId')),
      State: text(r, 'state') as 'active',
      Origin: text(r, 'origin') as 'CreateRoute',
    })),
    Tags: toTags(el),
  };
}

export function toVolume(el: XmlElement): Volume {
  return {
    VolumeId: text(el, 'volumeId'),
    Size: num(text(el, 'size')),
    VolumeType: text(el, 'volumeType') as Volume['VolumeType'],
    Iops: num(text(el, 'iops')),
    Throughput: num(text(el, 'throughput')),
    State: text(el, 'status') as Volume['State'],
    SnapshotId: str(text(el, 'snapshotId')),
    AvailabilityZone: text(el, 'availabilityZone'),
    Encrypted: bool(text(el, 'encrypted')),
    CreateTime: date(text(el, 'createTime')),
    Attachments: items(el, 'attachmentSet').map(toVolumeAttachment),
    Tags: toTags(el),
  };
}

/** An `attachmentSet` item, or the answer to AttachVolume / DetachVolume. */
export function toVolumeAttachment(el: XmlElement): VolumeAttachment {
  return {
    VolumeId: text(el, 'volumeId'),
    InstanceId: text(el, 'instanceId'),
    Device: text(el, 'device'),
    State: text(el, 'status') as VolumeAttachment['State'],
    AttachTime: date(text(el, 'attachTime')),
    DeleteOnTermination: bool(text(el, 'deleteOnTermination')),
  };
}
