/**
 * The default VPC every account has in every Region, as EC2 creates it: VPC `172.31.0.0/16`, one
 * default subnet per Availability Zone (`172.31.0.0/20`, `172.31.16.0/20`, … in zone order), and the
 * VPC's security group named `default`. nestbox has no other network resources, so these are not
 * stored: they are derived from the account, the Region and the Region's zones, and their IDs are
 * hashes of those, stable across restarts and distinct per account and Region (tags are kept by
 * resource ID, so two scopes must never share one).
 *
 * Also here: which subnet and security groups a RunInstances request asks for, checked against the
 * default network (the request-level SubnetId / SecurityGroupIds / SecurityGroups, or one primary
 * network interface carrying them).
 */
import { createHash } from 'node:crypto';
import type { InstanceNetworkInterfaceSpecification, IpPermission } from '@aws-sdk/client-ec2';
import { Errors } from './errors.js';
import { ID_PREFIX, isWellFormedId } from './ids.js';
import { checkCount, required } from './request.js';
import type { InstanceGroup, InstanceRecord, InstanceSubnet, Scope } from './instance.js';
import { type ZoneFacts, zonesIn } from './regions.js';

export const DEFAULT_VPC_CIDR = '172.31.0.0/16';
export const DEFAULT_GROUP_NAME = 'default';
export const DEFAULT_GROUP_DESCRIPTION = 'default VPC security group';
/** A /20 has 4,096 addresses; AWS reserves five in every subnet. */
export const DEFAULT_SUBNET_ADDRESSES = 4096 - 5;
/** Default subnets give an instance a public IPv4 address at launch unless its network interface says not to. */
export const DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH = true;

export interface DefaultSubnet {
  readonly id: string;
  readonly zone: ZoneFacts;
  /** `172.31.<16 × zone index>.0/20` */
  readonly cidr: string;
}

export interface DefaultNetwork extends Scope {
  readonly vpcId: string;
  readonly dhcpOptionsId: string;
  /** the VPC's one IPv4 CIDR block association */
  readonly cidrAssociationId: string;
  /** the VPC's default security group */
  readonly securityGroupId: string;
  /** the internet gateway attached to it */
  readonly internetGatewayId: string;
  /** its main route table: the local route and 0.0.0.0/0 to the internet gateway */
  readonly mainRouteTableId: string;
  readonly mainRouteTableAssociationId: string;
  /** one per zone of the Region, in zone order */
  readonly subnets: readonly DefaultSubnet[];
}

/** The one ID derivation: a kind's prefix and 17 hex digits of a hash of what identifies the resource. */
function derivedId(prefix: string, ...parts: readonly string[]): string {
  return `${prefix}-${createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 17)}`;
}

const networks = new Map<string, DefaultNetwork>();

/** The default network of an account in a Region (memoised: it never changes). */
export function defaultNetworkOf(scope: Scope): DefaultNetwork {
  const { account, region } = scope;
  const key = `${account}/${region}`;
  let net = networks.get(key);
  if (!net) {
    net = Object.freeze({
      account,
      region,
      vpcId: derivedId(ID_PREFIX.vpc, 'vpc', account, region),
      dhcpOptionsId: derivedId('dopt', 'dopt', account, region),
      cidrAssociationId: derivedId('vpc-cidr-assoc', 'vpc-cidr-assoc', account, region),
      securityGroupId: derivedId(ID_PREFIX.securityGroup, 'sg', account, region),
      internetGatewayId: derivedId(ID_PREFIX.internetGateway, 'igw', account, region),
      mainRouteTableId: derivedId(ID_PREFIX.routeTable, 'rtb', account, region),
      mainRouteTableAssociationId: derivedId(ID_PREFIX.routeTableAssociation, 'rtbassoc', account, region),
      subnets: Object.freeze(
        zonesIn(region).map((zone, k) => ({
          id: derivedId(ID_PREFIX.subnet, 'subnet', account, zone.name),
          zone,
          cidr: `172.31.${16 * k}.0/20`,
        })),
      ),
    });
    // Any Region name is served, so the memo is bounded like the zones of unlisted Regions.
    if (networks.size > 1000) networks.clear();
    networks.set(key, net);
  }
  return net;
}

/** The default subnet of a zone (every zone of the Region has one). */
export function subnetOfZone(net: DefaultNetwork, zone: string): DefaultSubnet | undefined {
  return net.subnets.find((s) => s.zone.name === zone);
}



// --- syntax and existence, as the Describe calls, CreateTags and RunInstances check them -------------

/** The network resource types, as tags know them. */
export type NetworkResourceType = 'vpc' | 'subnet' | 'security-group' | 'internet-gateway' | 'route-table';

interface NetworkKind {
  readonly idKind: 'vpc' | 'subnet' | 'securityGroup' | 'internetGateway' | 'routeTable';
  readonly malformed: (id: string) => Error;
}

const KINDS: Readonly<Record<NetworkResourceType, NetworkKind>> = {
  vpc: { idKind: 'vpc', malformed: Errors.vpcIdMalformed },
  subnet: { idKind: 'subnet', malformed: Errors.subnetIdMalformed },
  'security-group': { idKind: 'securityGroup', malformed: Errors.securityGroupIdMalformed },
  'internet-gateway': { idKind: 'internetGateway', malformed: Errors.internetGatewayIdMalformed },
  'route-table': { idKind: 'routeTable', malformed: Errors.routeTableIdMalformed },
};

/** Every ID well-formed for its type, or the type's Malformed error naming the first that is not. */
export function checkNetworkIds(type: NetworkResourceType, ids: readonly string[]): void {
  const kind = KINDS[type];
  for (const id of ids) if (!isWellFormedId(kind.idKind, id)) throw kind.malformed(id);
}

/** Requested IDs that are not in `existing`, in request order, without repeats. */
export const missingIds = (ids: readonly string[], existing: (id: string) => boolean): string[] =>
  [...new Set(ids)].filter((id) => !existing(id));

/** The network resource type an ID's prefix names (`vpc-`, `subnet-`, `sg-`, `igw-`, `rtb-`), whether or not it is well-formed. */
export function networkTypeOfId(id: string): NetworkResourceType | undefined {
  return (Object.keys(KINDS) as NetworkResourceType[]).find((type) => id.startsWith(`${ID_PREFIX[KINDS[type].idKind]}-`));
}

// --- the default security group's rules ----------------------------------------------------------

const WORLD = '0.0.0.0/0';

export interface SecurityGroupRules {
  readonly ingress: readonly IpPermission[];
  readonly egress: readonly IpPermission[];
}

/**
 * The default group's rules. EC2's: all traffic in from members of the group itself, all traffic out.
 * nestbox adds one, its documented choice so that `ssh` to a new instance works out of the box (as the
 * EC2 console's launch-wizard group does): TCP 22 in from anywhere (0.0.0.0/0). With the qemu driver
 * that port is forwarded from the instance's public address (see `openTcpPorts`).
 */
export function defaultGroupRules(net: DefaultNetwork): SecurityGroupRules {
  const none = { Ipv6Ranges: [], PrefixListIds: [] };
  return {
    ingress: [
      { IpProtocol: '-1', UserIdGroupPairs: [{ UserId: net.account, GroupId: net.securityGroupId }], IpRanges: [], ...none },
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        UserIdGroupPairs: [],
        IpRanges: [{ CidrIp: WORLD, Description: 'SSH from anywhere (nestbox: so ssh works out of the box)' }],
        ...none,
      },
    ],
    egress: [{ IpProtocol: '-1', UserIdGroupPairs: [], IpRanges: [{ CidrIp: WORLD }], ...none }],
  };
}

/** At most this many TCP ports are forwarded to one instance from its public address. */
export const MAX_FORWARDED_TCP_PORTS = 16;
/**
 * What a rule open to the world forwards when it opens more than MAX_FORWARDED_TCP_PORTS ports (a wide
 * range, or protocol -1: all traffic): only these well-known service ports inside it.
 */
export const WELL_KNOWN_TCP_PORTS: readonly number[] = [22, 80, 443, 3000, 5000, 8000, 8080, 8443];

/**
 * The TCP ports ingress rules open to the whole IPv4 world (0.0.0.0/0), ascending: what the qemu driver
 * forwards from an instance's public address to the guest. A rule for TCP (`tcp`, `6`) forwards its
 * port range, all traffic (`-1`) every port; a range wider than MAX_FORWARDED_TCP_PORTS ports forwards
 * only the WELL_KNOWN_TCP_PORTS in it, and at most MAX_FORWARDED_TCP_PORTS ports are forwarded in all
 * (the lowest). Rules for other protocols, narrower sources or other groups forward nothing.
 */
export function openTcpPorts(ingress: readonly IpPermission[]): number[] {
  const ports = new Set<number>();
  for (const rule of ingress) {
    if (!(rule.IpRanges ?? []).some((r) => r.CidrIp === WORLD)) continue;
    const all = rule.IpProtocol === '-1';
    if (!all && rule.IpProtocol !== 'tcp' && rule.IpProtocol !== '6') continue;
    const from = all ? 0 : Math.max(0, rule.FromPort ?? 0);
    const to = all ? 65535 : Math.min(65535, rule.ToPort ?? 65535);
    if (to - from + 1 > MAX_FORWARDED_TCP_PORTS) {
      for (const p of WELL_KNOWN_TCP_PORTS) if (p >= from && p <= to) ports.add(p);
    } else {
      for (let p = Math.max(1, from); p <= to; p++) ports.add(p);
    }
  }
  return [...ports].sort((a, b) => a - b).slice(0, MAX_FORWARDED_TCP_PORTS);
}


// --- RunInstances -----------------------------------------------------------------------------------

/** What a launch request says about the network, as RunInstances and launch-template data give it. */
export interface LaunchNetworkRequest {
  readonly SubnetId?: string | undefined;
  readonly SecurityGroupIds?: readonly string[] | undefined;
  readonly SecurityGroups?: readonly string[] | undefined;
  readonly PrivateIpAddress?: string | undefined;
  readonly NetworkInterfaces?: readonly InstanceNetworkInterfaceSpecification[] | undefined;
  readonly Placement?: { readonly AvailabilityZone?: string | undefined } | undefined;
}

/** An existing interface a launch attaches (`NetworkInterface.N.NetworkInterfaceId`). */
export interface ExistingInterfaceRequest {
  readonly id: string;
  readonly deviceIndex: number;
  /** EC2's default for an interface that existed before the launch: false (it outlives the instance) */
  readonly deleteOnTermination: boolean;
}

/** What a launch request names, its shape checked (src/services/launch-network.ts looks the names up). */
export interface LaunchNetworkNames {
  readonly subnetId: string | undefined;
  readonly groupIds: readonly string[];
  readonly groupNames: readonly string[];
  /** the primary interface's AssociatePublicIpAddress; undefined: the subnet's MapPublicIpOnLaunch decides */
  readonly associatePublicIp: boolean | undefined;
  /** the primary private address asked for (PrivateIpAddress, at the request's level or the interface's) */
  readonly privateIp: string | undefined;
  /** secondary private addresses asked for by address (NetworkInterface.1.PrivateIpAddresses, not primary) */
  readonly secondaryIps: readonly string[];
  /** how many secondary private addresses to assign besides (NetworkInterface.1.SecondaryPrivateIpAddressCount) */
  readonly secondaryCount: number;
  /** the existing interface that becomes the primary one (device index 0), if any */
  readonly primary: ExistingInterfaceRequest | undefined;
  /** existing interfaces attached at device indexes 1 and up */
  readonly extra: readonly ExistingInterfaceRequest[];
  /** new interfaces made at device indexes 1 and up, one set for each instance */
  readonly extraNew: readonly NewInterfaceRequest[];
}

/** A new interface a launch makes at a device index above 0 (`NetworkInterface.N` without an ID). */
export interface NewInterfaceRequest {
  readonly deviceIndex: number;
  /** absent: the primary interface's subnet */
  readonly subnetId: string | undefined;
  readonly groupIds: readonly string[];
  readonly description: string | undefined;
  /** EC2's default for an interface a launch makes: true */
  readonly deleteOnTermination: boolean;
  readonly privateIp: string | undefined;
  readonly secondaryCount: number;
}

/**
 * Members of a network interface specification nestbox honours: the primary interface (device index
 * 0, network card 0, type `interface`), new — a subnet, security groups, AssociatePublicIpAddress,
 * private addresses — or an existing one (NetworkInterfaceId); and existing interfaces at other device
 * indexes. DeleteOnTermination and Description of a new primary interface concern an interface nestbox
 * does not keep apart from its instance (it always goes with the instance, Description ''), so they are
 * accepted as they are. Anything else is refused by name, never ignored.
 */
const HONOURED_INTERFACE_MEMBERS = new Set([
  'DeviceIndex',
  'SubnetId',
  'Groups',
  'AssociatePublicIpAddress',
  'DeleteOnTermination',
  'Description',
  'NetworkCardIndex',
  'InterfaceType',
  'NetworkInterfaceId',
  'PrivateIpAddress',
  'PrivateIpAddresses',
  'SecondaryPrivateIpAddressCount',
]);
/** What an existing interface's specification may not give: it has them already. */
const NEW_INTERFACE_MEMBERS = ['SubnetId', 'Groups', 'PrivateIpAddress', 'PrivateIpAddresses', 'SecondaryPrivateIpAddressCount', 'Description'] as const;

/** Checks every interface specification is one nestbox can honour; returns them by device index. */
function checkInterfaces(nics: readonly InstanceNetworkInterfaceSpecification[]): Map<number, InstanceNetworkInterfaceSpecification> {
  const byIndex = new Map<number, InstanceNetworkInterfaceSpecification>();
  for (const [i, nic] of nics.entries()) {
    const n = i + 1;
    for (const [member, value] of Object.entries(nic)) {
      if (value !== undefined && !HONOURED_INTERFACE_MEMBERS.has(member)) {
        throw Errors.networkInterfaceNotImplemented(`NetworkInterface.${n}.${member}`);
      }
    }
    if (nic.DeviceIndex === undefined) throw Errors.missingParameter(`NetworkInterface.${n}.DeviceIndex`);
    if (!Number.isInteger(nic.DeviceIndex) || nic.DeviceIndex < 0) throw Errors.invalidValueFor(`NetworkInterface.${n}.DeviceIndex`, nic.DeviceIndex);
    if (byIndex.has(nic.DeviceIndex)) throw Errors.invalidParameterValue(`Each network interface requires a unique device index: ${nic.DeviceIndex} is given twice.`);
    if (nic.NetworkCardIndex !== undefined && nic.NetworkCardIndex !== 0) {
      throw Errors.networkInterfaceNotImplemented(`NetworkInterface.${n}.NetworkCardIndex ${nic.NetworkCardIndex}`);
    }
    if (nic.InterfaceType !== undefined && nic.InterfaceType !== 'interface') {
      throw Errors.networkInterfaceNotImplemented(`NetworkInterface.${n}.InterfaceType ${nic.InterfaceType}`);
    }
    if (nic.NetworkInterfaceId !== undefined) {
      const given = NEW_INTERFACE_MEMBERS.find((m) => nic[m] !== undefined && !(Array.isArray(nic[m]) && (nic[m] as unknown[]).length === 0));
      if (given) throw Errors.interfaceIdWithSettings(n, given);
      if (!isWellFormedId('networkInterface', nic.NetworkInterfaceId)) throw Errors.networkInterfaceIdMalformed(nic.NetworkInterfaceId);
    } else if (nic.DeviceIndex !== 0) {
      if (nic.AssociatePublicIpAddress !== undefined) {
        throw Errors.invalidParameterCombination('The associatePublicIPAddress parameter can only be specified for the network interface with DeviceIndex 0.');
      }
      if (nic.PrivateIpAddresses?.length) throw Errors.networkInterfaceNotImplemented(`NetworkInterface.${n}.PrivateIpAddresses (use PrivateIpAddress and SecondaryPrivateIpAddressCount)`);
    }
    byIndex.set(nic.DeviceIndex, nic);
  }
  if (!byIndex.has(0)) throw Errors.missingParameter('NetworkInterface.N.DeviceIndex 0 (the primary network interface)');
  return byIndex;
}

const existing = (nic: InstanceNetworkInterfaceSpecification): ExistingInterfaceRequest => ({
  id: nic.NetworkInterfaceId!,
  deviceIndex: nic.DeviceIndex!,
  deleteOnTermination: nic.DeleteOnTermination ?? false,
});

/**
 * The subnet, security groups and addresses a launch names, in EC2's order: the request's shape (a
 * network interface excludes instance-level subnet, groups and address; group names exclude a subnet),
 * then ID syntax.
 */
export function launchNetworkNames(req: LaunchNetworkRequest): LaunchNetworkNames {
  const nics = req.NetworkInterfaces ?? [];
  const groupIds = req.SecurityGroupIds ?? [];
  const groupNames = req.SecurityGroups ?? [];
  let subnetId = req.SubnetId;
  let ids = groupIds;
  let associatePublicIp: boolean | undefined;
  let privateIp = req.PrivateIpAddress;
  let secondaryIps: string[] = [];
  let secondaryCount = 0;
  let primary: ExistingInterfaceRequest | undefined;
  let extra: ExistingInterfaceRequest[] = [];
  let extraNew: NewInterfaceRequest[] = [];
  if (nics.length > 0) {
    if (subnetId !== undefined) throw Errors.networkInterfacesWithInstanceLevel('subnet ID');
    if (groupIds.length > 0 || groupNames.length > 0) throw Errors.networkInterfacesWithInstanceLevel('security groups');
    if (privateIp !== undefined) throw Errors.networkInterfacesWithInstanceLevel('private IP address');
    const byIndex = checkInterfaces(nics);
    const nic = byIndex.get(0)!;
    associatePublicIp = nic.AssociatePublicIpAddress;
    const others = [...byIndex.values()].filter((x) => x.DeviceIndex !== 0);
    extra = others.filter((x) => x.NetworkInterfaceId !== undefined).map(existing);
    extraNew = others.filter((x) => x.NetworkInterfaceId === undefined).map((x) => ({
      deviceIndex: x.DeviceIndex!,
      subnetId: x.SubnetId,
      groupIds: x.Groups ?? [],
      description: x.Description,
      deleteOnTermination: x.DeleteOnTermination ?? true,
      privateIp: x.PrivateIpAddress,
      secondaryCount: checkCount(x.SecondaryPrivateIpAddressCount, `NetworkInterface.${x.DeviceIndex}.SecondaryPrivateIpAddressCount`, 0) ?? 0,
    }));
    if (nic.NetworkInterfaceId !== undefined) {
      primary = existing(nic);
    } else {
      subnetId = nic.SubnetId;
      ids = nic.Groups ?? [];
      const addresses = nic.PrivateIpAddresses ?? [];
      const primaries = addresses.filter((a) => a.Primary === true);
      if (primaries.length > 1) throw Errors.invalidParameterValue('Only one primary private IPv4 address may be given (NetworkInterface.1.PrivateIpAddresses).');
      const named = nic.PrivateIpAddress ?? primaries[0]?.PrivateIpAddress;
      if (nic.PrivateIpAddress !== undefined && primaries[0] && primaries[0].PrivateIpAddress !== nic.PrivateIpAddress) {
        throw Errors.invalidParameterCombination('NetworkInterface.1.PrivateIpAddress and the primary address of NetworkInterface.1.PrivateIpAddresses differ.');
      }
      privateIp = named;
      secondaryIps = addresses.filter((a) => a.Primary !== true).map((a) => required(a.PrivateIpAddress, 'NetworkInterface.1.PrivateIpAddresses.N.PrivateIpAddress'));
      secondaryCount = checkCount(nic.SecondaryPrivateIpAddressCount, 'NetworkInterface.1.SecondaryPrivateIpAddressCount', 0) ?? 0;
      if (secondaryCount > 0 && secondaryIps.length > 0) {
        throw Errors.invalidParameterCombination('SecondaryPrivateIpAddressCount and secondary addresses in PrivateIpAddresses may not both be given.');
      }
    }
  }
  if (subnetId !== undefined && groupNames.length > 0) throw Errors.groupNameWithSubnet();
  checkNetworkIds('subnet', subnetId === undefined ? [] : [subnetId]);
  checkNetworkIds('security-group', ids);
  checkNetworkIds('subnet', extraNew.flatMap((x) => (x.subnetId === undefined ? [] : [x.subnetId])));
  checkNetworkIds('security-group', extraNew.flatMap((x) => x.groupIds));
  return { subnetId, groupIds: ids, groupNames, associatePublicIp, privateIp, secondaryIps, secondaryCount, primary, extra, extraNew };
}

// --- an instance's primary network interface (kept out of domain/instance.ts, which the console bundles) ---

/** Where an instance's primary network interface is attached: its VPC, subnet and security groups. */
export interface InstanceAttachment extends InstanceSubnet {
  readonly groups: readonly InstanceGroup[];
}

/**
 * An instance's attachment: the subnet and groups it keeps, or its zone's default subnet and the
 * default VPC's `default` group (every zone the Region accepts has a default subnet).
 */
export function instanceAttachment(rec: InstanceRecord): InstanceAttachment {
  const net = defaultNetworkOf(rec);
  const groups = rec.securityGroups ?? [{ id: net.securityGroupId, name: DEFAULT_GROUP_NAME }];
  if (rec.subnet) return { ...rec.subnet, groups };
  const subnet = subnetOfZone(net, rec.availabilityZone) ?? net.subnets[0]!;
  return { vpcId: net.vpcId, vpcCidr: DEFAULT_VPC_CIDR, subnetId: subnet.id, subnetCidr: subnet.cidr, groups };
}

/**
 * The primary network interface's MAC address: `0e:` and five bytes of a hash of the instance ID. The
 * first octet 0x0e is a locally administered unicast address (bit 1 set, bit 0 clear), as EC2's are.
 */
export function macAddress(rec: { readonly id: string; readonly primaryInterface?: { readonly mac: string } | undefined }): string {
  if (rec.primaryInterface) return rec.primaryInterface.mac;
  let mac = macs.get(rec.id);
  if (mac === undefined) {
    const bytes = createHash('sha256').update(`mac/${rec.id}`).digest().subarray(0, 5);
    mac = ['0e', ...[...bytes].map((b) => b.toString(16).padStart(2, '0'))].join(':');
    // Remembered, as every DescribeInstances shows every instance's: a hash costs more than the rest of its interface.
    if (macs.size >= MAC_MEMO) macs.clear();
    macs.set(rec.id, mac);
  }
  return mac;
}
const MAC_MEMO = 100_000;
const macs = new Map<string, string>();
