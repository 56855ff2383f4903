/**
 * VPCs, subnets and security groups as nestbox records them, and the IPv4 arithmetic their rules need.
 *
 * The default VPC of every account and Region (src/domain/network.ts) is derived, not stored: its
 * VPC, subnets and security group are records made on demand here with the derived IDs. A change to
 * one of them (ModifyVpcAttribute, ModifySubnetAttribute, AuthorizeSecurityGroupIngress, …) stores the
 * changed record under the same ID, and a stored record wins over the derived one from then on. The
 * resources a user creates are stored from the start.
 */
import { createHash } from 'node:crypto';
import { type DefaultNetwork, DEFAULT_GROUP_DESCRIPTION, DEFAULT_GROUP_NAME, DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH, DEFAULT_VPC_CIDR } from './network.js';
import { newId } from './ids.js';
import type { Scope } from './instance.js';

// --- IPv4 CIDR blocks ----------------------------------------------------------------------------------

/** An IPv4 block: its first address (a 32-bit unsigned number) and its prefix length. */
export interface Cidr {
  readonly base: number;
  readonly prefix: number;
}

const CIDR_SYNTAX = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * An IPv4 CIDR block, or undefined when the text is not one. Host bits are cleared, as EC2 does
 * (`10.0.1.0/16` is the block `10.0.0.0/16`).
 */
export function parseCidr(text: string): Cidr | undefined {
  const m = CIDR_SYNTAX.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const address = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  return { base: (address & maskOf(prefix)) >>> 0, prefix };
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export const addressText = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
export const cidrText = (c: Cidr): string => `${addressText(c.base)}/${c.prefix}`;
export const cidrSize = (c: Cidr): number => 2 ** (32 - c.prefix);
export const lastAddress = (c: Cidr): number => c.base + cidrSize(c) - 1;

/** Whether two blocks share any address. */
export const cidrsOverlap = (a: Cidr, b: Cidr): boolean => a.base <= lastAddress(b) && b.base <= lastAddress(a);

/** Whether `inner` lies wholly inside `outer`. */
export const cidrContains = (outer: Cidr, inner: Cidr): boolean => inner.base >= outer.base && lastAddress(inner) <= lastAddress(outer);

/** Whether an address (dotted quad) lies in a block. */
export function addressIn(c: Cidr, address: string): boolean {
  const a = parseCidr(`${address}/32`);
  return a !== undefined && cidrContains(c, a);
}

/** VPC and subnet blocks are /16 to /28 (EC2's limits). */
export const MIN_PREFIX = 16;
export const MAX_PREFIX = 28;

/**
 * AWS reserves five addresses of every subnet: the network address, the next three (router, DNS,
 * future use) and the broadcast address.
 */
export const RESERVED_LOW = 4;
export const usableAddresses = (c: Cidr): number => cidrSize(c) - RESERVED_LOW - 1;

/** The n-th (from 0) usable address of a subnet, wrapping around its usable range. */
export const usableAddress = (c: Cidr, n: number): string => addressText(c.base + RESERVED_LOW + (n % usableAddresses(c)));

/** Whether an address is one a subnet can give an instance: inside it and not reserved. */
export function isUsableAddress(c: Cidr, address: string): boolean {
  const a = parseCidr(`${address}/32`);
  return a !== undefined && a.base >= c.base + RESERVED_LOW && a.base < lastAddress(c);
}

// --- records --------------------------------------------------------------------------------------------

export interface VpcRecord extends Scope {
  readonly id: string;
  readonly cidrBlock: string;
  readonly cidrAssociationId: string;
  readonly dhcpOptionsId: string;
  readonly instanceTenancy: 'default' | 'dedicated';
  readonly isDefault: boolean;
  readonly enableDnsSupport: boolean;
  readonly enableDnsHostnames: boolean;
  /** the VPC's `default` security group, made with it and deleted with it */
  readonly defaultSecurityGroupId: string;
  /** the VPC's main route table, made with it and deleted with it */
  readonly mainRouteTableId: string;
  readonly createTime: string;
}

export interface SubnetRecord extends Scope {
  readonly id: string;
  readonly vpcId: string;
  readonly cidrBlock: string;
  readonly availabilityZone: string;
  readonly availabilityZoneId: string;
  readonly defaultForAz: boolean;
  readonly mapPublicIpOnLaunch: boolean;
  readonly createTime: string;
}

/**
 * One security group rule, as DescribeSecurityGroupRules shows it: one protocol and port range from
 * one source (ingress) or to one destination (egress): an IPv4 or IPv6 block, another group, or a
 * prefix list. Ports are -1 for protocols without ports (`-1`: all traffic; `icmp` uses them as type
 * and code).
 */
export interface SecurityGroupRuleRecord {
  /** `sgr-…` */
  readonly id: string;
  readonly egress: boolean;
  /** `-1`, `tcp`, `udp`, `icmp`, `icmpv6`, or a protocol number as text */
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrIpv4?: string | undefined;
  readonly cidrIpv6?: string | undefined;
  readonly referencedGroupId?: string | undefined;
  /** the account of the referenced group */
  readonly referencedUserId?: string | undefined;
  readonly prefixListId?: string | undefined;
  readonly description?: string | undefined;
}

export interface SecurityGroupRecord extends Scope {
  readonly id: string;
  readonly vpcId: string;
  readonly name: string;
  readonly description: string;
  readonly rules: readonly SecurityGroupRuleRecord[];
  readonly createTime: string;
}

export interface InternetGatewayRecord extends Scope {
  readonly id: string;
  /** the VPC it is attached to (one at most, and a VPC has one at most) */
  readonly vpcId?: string | undefined;
  readonly createTime: string;
}

/**
 * A route: where traffic to a block goes. `local` is the VPC's own block (every table has it, and it
 * cannot be removed); a gateway route goes to an internet gateway; an instance route to an instance's
 * primary interface. A route whose target is gone (a detached gateway, a terminated instance) shows
 * as a blackhole.
 */
export interface RouteRecord {
  readonly destinationCidrBlock: string;
  readonly gatewayId?: string | undefined;
  readonly instanceId?: string | undefined;
  readonly origin: 'CreateRouteTable' | 'CreateRoute';
}

export interface RouteTableAssociationRecord {
  /** `rtbassoc-…` */
  readonly id: string;
  /** the main association has no subnet: it covers every subnet without an explicit one */
  readonly main: boolean;
  readonly subnetId?: string | undefined;
}

export interface RouteTableRecord extends Scope {
  readonly id: string;
  readonly vpcId: string;
  readonly routes: readonly RouteRecord[];
  readonly associations: readonly RouteTableAssociationRecord[];
  readonly createTime: string;
}

/** EC2's quotas (per Region, per VPC, per group), the defaults of "Amazon VPC quotas". */
export const VPC_QUOTA = 5;
export const SUBNETS_PER_VPC = 200;
export const SECURITY_GROUPS_PER_REGION = 2500;
/** inbound and outbound counted apart */
export const RULES_PER_DIRECTION = 60;
export const INTERNET_GATEWAYS_PER_REGION = 5;
export const ROUTE_TABLES_PER_VPC = 200;
export const ROUTES_PER_TABLE = 50;

// --- the default VPC as records -----------------------------------------------------------------------

/** When the derived resources were made, as they show it: the Unix epoch is honest about "always there". */
const DERIVED_CREATE_TIME = new Date(0).toISOString();

const derivedRuleId = (...parts: readonly string[]): string =>
  `sgr-${createHash('sha256').update(['sgr', ...parts].join('/')).digest('hex').slice(0, 17)}`;

export function defaultVpcRecord(net: DefaultNetwork): VpcRecord {
  return {
    id: net.vpcId,
    account: net.account,
    region: net.region,
    cidrBlock: DEFAULT_VPC_CIDR,
    cidrAssociationId: net.cidrAssociationId,
    dhcpOptionsId: net.dhcpOptionsId,
    instanceTenancy: 'default',
    isDefault: true,
    enableDnsSupport: true,
    enableDnsHostnames: true,
    defaultSecurityGroupId: net.securityGroupId,
    mainRouteTableId: net.mainRouteTableId,
    createTime: DERIVED_CREATE_TIME,
  };
}

export function defaultSubnetRecords(net: DefaultNetwork): SubnetRecord[] {
  return net.subnets.map((s) => ({
    id: s.id,
    account: net.account,
    region: net.region,
    vpcId: net.vpcId,
    cidrBlock: s.cidr,
    availabilityZone: s.zone.name,
    availabilityZoneId: s.zone.id,
    defaultForAz: true,
    mapPublicIpOnLaunch: DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH,
    createTime: DERIVED_CREATE_TIME,
  }));
}

/**
 * A VPC's `default` group with EC2's rules: all traffic in from the group's own members, all traffic
 * out to anywhere. `extraIngress`: the default VPC's group also opens TCP 22 to the world, nestbox's
 * documented choice so that ssh to a new instance works out of the box (src/domain/network.ts).
 */
export function defaultGroupRecord(
  scope: Scope,
  ids: { readonly groupId: string; readonly vpcId: string },
  createTime: string,
  sshFromAnywhere: boolean,
): SecurityGroupRecord {
  const rule = (name: string, r: Omit<SecurityGroupRuleRecord, 'id'>): SecurityGroupRuleRecord => ({ id: derivedRuleId(ids.groupId, name), ...r });
  const rules: SecurityGroupRuleRecord[] = [
    rule('self', { egress: false, protocol: '-1', fromPort: -1, toPort: -1, referencedGroupId: ids.groupId, referencedUserId: scope.account }),
    rule('egress', { egress: true, protocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0' }),
  ];
  if (sshFromAnywhere) {
    rules.splice(1, 0, rule('ssh', {
      egress: false,
      protocol: 'tcp',
      fromPort: 22,
      toPort: 22,
      cidrIpv4: '0.0.0.0/0',
      description: 'SSH from anywhere (nestbox: so ssh works out of the box)',
    }));
  }
  return {
    id: ids.groupId,
    account: scope.account,
    region: scope.region,
    vpcId: ids.vpcId,
    name: DEFAULT_GROUP_NAME,
    description: DEFAULT_GROUP_DESCRIPTION,
    rules,
    createTime,
  };
}

export const defaultVpcGroupRecord = (net: DefaultNetwork): SecurityGroupRecord =>
  defaultGroupRecord(net, { groupId: net.securityGroupId, vpcId: net.vpcId }, DERIVED_CREATE_TIME, true);

/** A new rule ID. */
export const newRuleId = (): string => newId('securityGroupRule');

/** The unique name a security group is stored under: names are unique per VPC. */
export const groupStoreName = (vpcId: string, name: string): string => `${vpcId} ${name}`;

export function defaultInternetGatewayRecord(net: DefaultNetwork): InternetGatewayRecord {
  return { id: net.internetGatewayId, account: net.account, region: net.region, vpcId: net.vpcId, createTime: DERIVED_CREATE_TIME };
}

/** A VPC's main route table as CreateVpc makes it: the local route, associated as main. */
export function mainRouteTableRecord(
  vpc: Pick<VpcRecord, 'account' | 'region' | 'id' | 'cidrBlock' | 'mainRouteTableId' | 'createTime'>,
  associationId: string,
): RouteTableRecord {
  return {
    id: vpc.mainRouteTableId,
    account: vpc.account,
    region: vpc.region,
    vpcId: vpc.id,
    routes: [{ destinationCidrBlock: vpc.cidrBlock, gatewayId: 'local', origin: 'CreateRouteTable' }],
    associations: [{ id: associationId, main: true }],
    createTime: vpc.createTime,
  };
}

/** The default VPC's main route table: the local route, and 0.0.0.0/0 to its internet gateway. */
export function defaultMainRouteTableRecord(net: DefaultNetwork): RouteTableRecord {
  const table = mainRouteTableRecord({ ...defaultVpcRecord(net), id: net.vpcId }, net.mainRouteTableAssociationId);
  return { ...table, routes: [...table.routes, { destinationCidrBlock: '0.0.0.0/0', gatewayId: net.internetGatewayId, origin: 'CreateRoute' }] };
}
