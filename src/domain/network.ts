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
import type { Scope } from './instance.js';
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

export const subnetById = (net: DefaultNetwork, id: string): DefaultSubnet | undefined => net.subnets.find((s) => s.id === id);

const arn = (net: DefaultNetwork, type: string, id: string) => `arn:aws:ec2:${net.region}:${net.account}:${type}/${id}`;
export const subnetArn = (net: DefaultNetwork, s: DefaultSubnet): string => arn(net, 'subnet', s.id);
export const securityGroupArn = (net: DefaultNetwork): string => arn(net, 'security-group', net.securityGroupId);

// --- syntax and existence, as the Describe calls, CreateTags and RunInstances check them -------------

/** The resource types tags know the default network's resources by. */
export type NetworkResourceType = 'vpc' | 'subnet' | 'security-group';

interface NetworkKind {
  readonly idKind: 'vpc' | 'subnet' | 'securityGroup';
  readonly malformed: (id: string) => Error;
  readonly notFound: (ids: readonly string[]) => Error;
  readonly exists: (net: DefaultNetwork, id: string) => boolean;
}

const KINDS: Readonly<Record<NetworkResourceType, NetworkKind>> = {
  vpc: { idKind: 'vpc', malformed: Errors.vpcIdMalformed, notFound: Errors.vpcIdNotFound, exists: (net, id) => id === net.vpcId },
  subnet: {
    idKind: 'subnet',
    malformed: Errors.subnetIdMalformed,
    notFound: Errors.subnetIdNotFound,
    exists: (net, id) => subnetById(net, id) !== undefined,
  },
  'security-group': {
    idKind: 'securityGroup',
    malformed: Errors.securityGroupIdMalformed,
    notFound: Errors.securityGroupNotFound,
    exists: (net, id) => id === net.securityGroupId,
  },
};

/** Every ID well-formed for its type, or the type's Malformed error naming the first that is not. */
export function checkNetworkIds(type: NetworkResourceType, ids: readonly string[]): void {
  const kind = KINDS[type];
  for (const id of ids) if (!isWellFormedId(kind.idKind, id)) throw kind.malformed(id);
}

/** Requested IDs that are not in `existing`, in request order, without repeats. */
export const missingIds = (ids: readonly string[], existing: (id: string) => boolean): string[] =>
  [...new Set(ids)].filter((id) => !existing(id));

/** Every (well-formed) ID names a resource of `net`, or the type's NotFound error naming those that do not. */
export function requireNetworkIds(net: DefaultNetwork, type: NetworkResourceType, ids: readonly string[]): void {
  const kind = KINDS[type];
  const missing = missingIds(ids, (id) => kind.exists(net, id));
  if (missing.length > 0) throw kind.notFound(missing);
}

/** The network resource type an ID's prefix names (`vpc-`, `subnet-`, `sg-`), whether or not it is well-formed. */
export function networkTypeOfId(id: string): NetworkResourceType | undefined {
  return (Object.keys(KINDS) as NetworkResourceType[]).find((type) => id.startsWith(`${ID_PREFIX[KINDS[type].idKind]}-`));
}

/** The resource type of a default-network resource of `scope` named by `id`, or undefined when it is none. */
export function networkResourceInScope(scope: Scope, id: string): NetworkResourceType | undefined {
  const type = networkTypeOfId(id);
  return type && KINDS[type].exists(defaultNetworkOf(scope), id) ? type : undefined;
}

/**
 * A tag call naming a `vpc-`, `subnet-` or `sg-` ID: its resource type when it exists in `scope`,
 * else the type's Malformed or NotFound error. Undefined for an ID of any other kind.
 */
export function checkNetworkTagTarget(scope: Scope, id: string): NetworkResourceType | undefined {
  const type = networkTypeOfId(id);
  if (!type) return undefined;
  checkNetworkIds(type, [id]);
  requireNetworkIds(defaultNetworkOf(scope), type, [id]);
  return type;
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

/** The TCP ports an instance's security groups open to the world: its groups are the default group, so [22]. */
export const instanceOpenTcpPorts = (scope: Scope): number[] => openTcpPorts(defaultGroupRules(defaultNetworkOf(scope)).ingress);

// --- RunInstances -----------------------------------------------------------------------------------

/** What a launch request says about the network, as RunInstances and launch-template data give it. */
export interface LaunchNetworkRequest {
  readonly SubnetId?: string | undefined;
  readonly SecurityGroupIds?: readonly string[] | undefined;
  readonly SecurityGroups?: readonly string[] | undefined;
  readonly NetworkInterfaces?: readonly InstanceNetworkInterfaceSpecification[] | undefined;
  readonly Placement?: { readonly AvailabilityZone?: string | undefined } | undefined;
}

export interface LaunchNetwork {
  /** the subnet the request names, which decides the zone; undefined: the zone's default subnet */
  readonly subnet: DefaultSubnet | undefined;
  /**
   * whether the instance gets a public IPv4 address (src/domain/public-ip.ts): the primary interface's
   * AssociatePublicIpAddress, else the subnet's MapPublicIpOnLaunch (true: every subnet is a default one)
   */
  readonly associatePublicIp: boolean;
}

/**
 * Members of a network interface specification nestbox honours: one primary interface (device index
 * 0, network card 0, type `interface`) in a subnet, with security groups, and AssociatePublicIpAddress
 * (whether it gets a public address). DeleteOnTermination and Description concern an interface nestbox
 * does not keep apart from its instance (it always goes with the instance, Description ''), so they
 * are accepted as they are. Anything else is refused by name, never ignored.
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
]);

/** The primary network interface a request gives, checked to be one nestbox can honour. */
function primaryInterface(nics: readonly InstanceNetworkInterfaceSpecification[]): InstanceNetworkInterfaceSpecification {
  if (nics.length > 1) throw Errors.networkInterfaceNotImplemented('more than one NetworkInterface');
  const nic = nics[0]!;
  for (const [member, value] of Object.entries(nic)) {
    if (value !== undefined && !HONOURED_INTERFACE_MEMBERS.has(member)) {
      throw Errors.networkInterfaceNotImplemented(`NetworkInterface.1.${member}`);
    }
  }
  if (nic.DeviceIndex === undefined) throw Errors.missingParameter('NetworkInterface.1.DeviceIndex');
  if (nic.DeviceIndex !== 0) throw Errors.networkInterfaceNotImplemented(`NetworkInterface.1.DeviceIndex ${nic.DeviceIndex}`);
  if (nic.NetworkCardIndex !== undefined && nic.NetworkCardIndex !== 0) {
    throw Errors.networkInterfaceNotImplemented(`NetworkInterface.1.NetworkCardIndex ${nic.NetworkCardIndex}`);
  }
  if (nic.InterfaceType !== undefined && nic.InterfaceType !== 'interface') {
    throw Errors.networkInterfaceNotImplemented(`NetworkInterface.1.InterfaceType ${nic.InterfaceType}`);
  }
  return nic;
}

/**
 * The subnet and security groups of a launch, in EC2's order: the request's shape (a network interface
 * excludes instance-level subnet and groups; group names exclude a subnet), then ID syntax, then
 * existence in the caller's default network, then the subnet's zone against Placement.AvailabilityZone.
 */
export function resolveLaunchNetwork(req: LaunchNetworkRequest, net: DefaultNetwork): LaunchNetwork {
  const nics = req.NetworkInterfaces ?? [];
  const groupIds = req.SecurityGroupIds ?? [];
  const groupNames = req.SecurityGroups ?? [];
  let subnetId = req.SubnetId;
  let ids = groupIds;
  let associatePublicIp: boolean | undefined;
  if (nics.length > 0) {
    if (subnetId !== undefined) throw Errors.networkInterfacesWithInstanceLevel('subnet ID');
    if (groupIds.length > 0 || groupNames.length > 0) throw Errors.networkInterfacesWithInstanceLevel('security groups');
    const nic = primaryInterface(nics);
    subnetId = nic.SubnetId;
    ids = nic.Groups ?? [];
    associatePublicIp = nic.AssociatePublicIpAddress;
  }
  if (subnetId !== undefined && groupNames.length > 0) throw Errors.groupNameWithSubnet();

  const subnets = subnetId === undefined ? [] : [subnetId];
  checkNetworkIds('subnet', subnets);
  checkNetworkIds('security-group', ids);
  requireNetworkIds(net, 'subnet', subnets);
  requireNetworkIds(net, 'security-group', ids);
  const unknownNames = missingIds(groupNames, (name) => name === DEFAULT_GROUP_NAME);
  if (unknownNames.length > 0) throw Errors.securityGroupNameNotFound(unknownNames[0]!, net.vpcId);
  const subnet = subnetId === undefined ? undefined : subnetById(net, subnetId);

  const zone = req.Placement?.AvailabilityZone;
  if (subnet && zone !== undefined && zone !== subnet.zone.name) throw Errors.subnetZoneMismatch(zone, subnet.id, subnet.zone.name);
  // The groups need no keeping: only the default group exists, so whatever was named (or nothing) is it.
  return { subnet, associatePublicIp: associatePublicIp ?? DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH };
}

// --- an instance's primary network interface (kept out of domain/instance.ts, which the console bundles) ---

/**
 * The primary network interface's MAC address: `0e:` and five bytes of a hash of the instance ID. The
 * first octet 0x0e is a locally administered unicast address (bit 1 set, bit 0 clear), as EC2's are.
 */
export function macAddress(rec: { readonly id: string }): string {
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
