/**
 * The default VPC as the API shows it: DescribeVpcs, DescribeSubnets and DescribeSecurityGroups, and
 * an instance's network members (VpcId, SubnetId, SecurityGroups). The resources themselves are
 * derived, not stored (src/domain/network.ts); their tags are kept under their IDs like any other.
 */
import type {
  DescribeSecurityGroupsRequest,
  DescribeSecurityGroupsResult,
  DescribeSubnetsRequest,
  DescribeSubnetsResult,
  DescribeVpcsRequest,
  DescribeVpcsResult,
  IpPermission,
  SecurityGroup,
  Subnet,
  Vpc,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterAccessor, type FilterTable, compileFilters } from '../domain/filters.js';
import type { Scope } from '../domain/instance.js';
import type { StateName } from '../domain/lifecycle.js';
import { DEFAULT_GROUP_DESCRIPTION, DEFAULT_GROUP_NAME, DEFAULT_SUBNET_ADDRESSES, DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH, DEFAULT_VPC_CIDR, type DefaultNetwork, type DefaultSubnet, checkNetworkIds, defaultGroupRules, defaultNetworkOf, missingIds, requireNetworkIds, securityGroupArn, subnetArn } from '../domain/network.js';
import { paginate } from '../domain/paging.js';
import type { Services } from '../services/context.js';
import { type Handler, checkDryRun } from './context.js';
import { tagList } from '../services/tags.js';

/** The Describe calls page 5 to 1000 items at a time, everything without MaxResults. */
const PAGE_LIMITS = { min: 5, max: 1000 };

/** The resources' tags, read once per request (a resource without tags is absent). */
type TagsById = ReadonlyMap<string, ReadonlyMap<string, string>>;

const withTags = (tags: TagsById, id: string) => {
  const own = tags.get(id);
  return own && own.size > 0 ? { Tags: tagList(own) } : {};
};

// --- DescribeVpcs -----------------------------------------------------------------------------------

function toVpc(net: DefaultNetwork, tags: TagsById): Vpc {
  return {
    OwnerId: net.account,
    InstanceTenancy: 'default',
    CidrBlockAssociationSet: [
      { AssociationId: net.cidrAssociationId, CidrBlock: DEFAULT_VPC_CIDR, CidrBlockState: { State: 'associated' } },
    ],
    IsDefault: true,
    BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
    ...withTags(tags, net.vpcId),
    VpcId: net.vpcId,
    State: 'available',
    CidrBlock: DEFAULT_VPC_CIDR,
    DhcpOptionsId: net.dhcpOptionsId,
  };
}

const cidrAssociations = (v: Vpc) => v.CidrBlockAssociationSet ?? [];

/** `tagsOf`: the VPCs' tags, read beforehand (as in every filter table here). */
function vpcFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<Vpc> {
  return {
    tags: (v) => tagsOf(v.VpcId!),
    fields: {
      cidr: (v) => v.CidrBlock,
      'cidr-block-association.cidr-block': (v) => cidrAssociations(v).map((a) => a.CidrBlock),
      'cidr-block-association.association-id': (v) => cidrAssociations(v).map((a) => a.AssociationId),
      'cidr-block-association.state': (v) => cidrAssociations(v).map((a) => a.CidrBlockState?.State),
      'dhcp-options-id': (v) => v.DhcpOptionsId,
      // The default VPC has no IPv6 block: these filters are valid and match nothing.
      'ipv6-cidr-block-association.ipv6-cidr-block': () => undefined,
      'ipv6-cidr-block-association.ipv6-pool': () => undefined,
      'ipv6-cidr-block-association.association-id': () => undefined,
      'ipv6-cidr-block-association.state': () => undefined,
      'is-default': (v) => v.IsDefault,
      // The older spelling, which Terraform's aws_vpc data source sends.
      isDefault: (v) => v.IsDefault,
      'owner-id': (v) => v.OwnerId,
      state: (v) => v.State,
      'vpc-id': (v) => v.VpcId,
    },
  };
}

export const describeVpcs: Handler<DescribeVpcsRequest, DescribeVpcsResult> = async (input, ctx, s) => {
  const ids = input.VpcIds ?? [];
  checkNetworkIds('vpc', ids);
  let tags: TagsById = new Map();
  const predicate = compileFilters(vpcFilters((id) => tags.get(id)), input.Filters);
  const net = defaultNetworkOf(ctx);
  requireNetworkIds(net, 'vpc', ids);
  checkDryRun(input);
  tags = await s.store.tagsOfMany([net.vpcId]);
  const page = paginate([toVpc(net, tags)].filter(predicate), input, PAGE_LIMITS, { f: input.Filters, ids });
  return { Vpcs: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- DescribeSubnets --------------------------------------------------------------------------------

/** The states in which an instance holds its private address: all but `terminated`. */
const HOLDING_ADDRESS: readonly StateName[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

/** Instances that hold an address in each zone's default subnet (every one that is not terminated). */
async function addressesInUse(s: Services, scope: Scope): Promise<Map<string, number>> {
  const used = new Map<string, number>();
  for (const rec of await s.store.instances({ account: scope.account, region: scope.region, states: HOLDING_ADDRESS })) {
    used.set(rec.availabilityZone, (used.get(rec.availabilityZone) ?? 0) + 1);
  }
  return used;
}

function toSubnet(net: DefaultNetwork, subnet: DefaultSubnet, inUse: number, tags: TagsById): Subnet {
  return {
    AvailabilityZoneId: subnet.zone.id,
    MapCustomerOwnedIpOnLaunch: false,
    OwnerId: net.account,
    AssignIpv6AddressOnCreation: false,
    Ipv6CidrBlockAssociationSet: [],
    ...withTags(tags, subnet.id),
    SubnetArn: subnetArn(net, subnet),
    EnableDns64: false,
    Ipv6Native: false,
    PrivateDnsNameOptionsOnLaunch: {
      HostnameType: 'ip-name',
      EnableResourceNameDnsARecord: false,
      EnableResourceNameDnsAAAARecord: false,
    },
    BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
    SubnetId: subnet.id,
    State: 'available',
    VpcId: net.vpcId,
    CidrBlock: subnet.cidr,
    AvailableIpAddressCount: Math.max(0, DEFAULT_SUBNET_ADDRESSES - inUse),
    AvailabilityZone: subnet.zone.name,
    DefaultForAz: true,
    MapPublicIpOnLaunch: DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH,
  };
}

function subnetFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<Subnet> {
  const zone: FilterAccessor<Subnet> = (x) => x.AvailabilityZone;
  const zoneId: FilterAccessor<Subnet> = (x) => x.AvailabilityZoneId;
  const cidr: FilterAccessor<Subnet> = (x) => x.CidrBlock;
  const defaultForAz: FilterAccessor<Subnet> = (x) => x.DefaultForAz;
  const dnsOptions = (x: Subnet) => x.PrivateDnsNameOptionsOnLaunch;
  return {
    tags: (x) => tagsOf(x.SubnetId!),
    fields: {
      // EC2 also takes the older camel-case names, which Terraform's aws_subnet data source sends.
      'availability-zone': zone,
      availabilityZone: zone,
      'availability-zone-id': zoneId,
      availabilityZoneId: zoneId,
      'available-ip-address-count': (x) => x.AvailableIpAddressCount,
      'cidr-block': cidr,
      cidr,
      cidrBlock: cidr,
      'customer-owned-ipv4-pool': () => undefined,
      'default-for-az': defaultForAz,
      defaultForAz,
      'enable-dns64': (x) => x.EnableDns64,
      'enable-lni-at-device-index': () => undefined,
      'ipv6-cidr-block-association.ipv6-cidr-block': () => undefined,
      'ipv6-cidr-block-association.association-id': () => undefined,
      'ipv6-cidr-block-association.state': () => undefined,
      'ipv6-native': (x) => x.Ipv6Native,
      'map-customer-owned-ip-on-launch': (x) => x.MapCustomerOwnedIpOnLaunch,
      'map-public-ip-on-launch': (x) => x.MapPublicIpOnLaunch,
      'outpost-arn': () => undefined,
      'owner-id': (x) => x.OwnerId,
      'private-dns-name-options-on-launch.hostname-type': (x) => dnsOptions(x)?.HostnameType,
      'private-dns-name-options-on-launch.enable-resource-name-dns-a-record': (x) => dnsOptions(x)?.EnableResourceNameDnsARecord,
      'private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record': (x) =>
        dnsOptions(x)?.EnableResourceNameDnsAAAARecord,
      state: (x) => x.State,
      'subnet-arn': (x) => x.SubnetArn,
      'subnet-id': (x) => x.SubnetId,
      'vpc-id': (x) => x.VpcId,
    },
  };
}

export const describeSubnets: Handler<DescribeSubnetsRequest, DescribeSubnetsResult> = async (input, ctx, s) => {
  const ids = input.SubnetIds ?? [];
  checkNetworkIds('subnet', ids);
  let tags: TagsById = new Map();
  const predicate = compileFilters(subnetFilters((id) => tags.get(id)), input.Filters);
  const net = defaultNetworkOf(ctx);
  requireNetworkIds(net, 'subnet', ids);
  checkDryRun(input);
  const named = new Set(ids);
  const wanted = net.subnets.filter((x) => named.size === 0 || named.has(x.id));
  const [inUse, subnetTags] = await Promise.all([addressesInUse(s, ctx), s.store.tagsOfMany(wanted.map((x) => x.id))]);
  tags = subnetTags;
  const subnets = wanted
    .map((x) => toSubnet(net, x, inUse.get(x.zone.name) ?? 0, tags))
    .filter(predicate);
  const page = paginate(subnets, input, PAGE_LIMITS, { f: input.Filters, ids });
  return { Subnets: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- DescribeSecurityGroups -------------------------------------------------------------------------

/**
 * The default group with EC2's default rules (all traffic from its own members in, all traffic out)
 * and nestbox's SSH rule (TCP 22 from anywhere): see `defaultGroupRules`.
 */
function toSecurityGroup(net: DefaultNetwork, tags: TagsById): SecurityGroup {
  const rules = defaultGroupRules(net);
  return {
    GroupId: net.securityGroupId,
    IpPermissionsEgress: [...rules.egress],
    ...withTags(tags, net.securityGroupId),
    VpcId: net.vpcId,
    SecurityGroupArn: securityGroupArn(net),
    OwnerId: net.account,
    GroupName: DEFAULT_GROUP_NAME,
    Description: DEFAULT_GROUP_DESCRIPTION,
    IpPermissions: [...rules.ingress],
  };
}

/** The `ip-permission.*` (or `egress.ip-permission.*`) filters over one direction's rules. */
function permissionFilters(
  prefix: string,
  rules: (g: SecurityGroup) => readonly IpPermission[],
  groupName: (id: string | undefined) => string | undefined,
): Record<string, FilterAccessor<SecurityGroup>> {
  const pairs = (g: SecurityGroup) => rules(g).flatMap((r) => r.UserIdGroupPairs ?? []);
  return {
    [`${prefix}.cidr`]: (g) => rules(g).flatMap((r) => (r.IpRanges ?? []).map((x) => x.CidrIp)),
    [`${prefix}.from-port`]: (g) => rules(g).map((r) => r.FromPort),
    [`${prefix}.to-port`]: (g) => rules(g).map((r) => r.ToPort),
    [`${prefix}.protocol`]: (g) => rules(g).map((r) => r.IpProtocol),
    [`${prefix}.group-id`]: (g) => pairs(g).map((p) => p.GroupId),
    [`${prefix}.group-name`]: (g) => pairs(g).map((p) => groupName(p.GroupId)),
    [`${prefix}.user-id`]: (g) => pairs(g).map((p) => p.UserId),
    [`${prefix}.ipv6-cidr`]: (g) => rules(g).flatMap((r) => (r.Ipv6Ranges ?? []).map((x) => x.CidrIpv6)),
    [`${prefix}.prefix-list-id`]: (g) => rules(g).flatMap((r) => (r.PrefixListIds ?? []).map((x) => x.PrefixListId)),
  };
}

function securityGroupFilters(
  tagsOf: (id: string) => ReadonlyMap<string, string> | undefined,
  net: DefaultNetwork,
): FilterTable<SecurityGroup> {
  const groupName = (id: string | undefined) => (id === net.securityGroupId ? DEFAULT_GROUP_NAME : undefined);
  return {
    tags: (g) => tagsOf(g.GroupId!),
    fields: {
      description: (g) => g.Description,
      'group-id': (g) => g.GroupId,
      'group-name': (g) => g.GroupName,
      'owner-id': (g) => g.OwnerId,
      'vpc-id': (g) => g.VpcId,
      ...permissionFilters('ip-permission', (g) => g.IpPermissions ?? [], groupName),
      ...permissionFilters('egress.ip-permission', (g) => g.IpPermissionsEgress ?? [], groupName),
    },
  };
}

export const describeSecurityGroups: Handler<DescribeSecurityGroupsRequest, DescribeSecurityGroupsResult> = async (input, ctx, s) => {
  const ids = input.GroupIds ?? [];
  const names = input.GroupNames ?? [];
  checkNetworkIds('security-group', ids);
  const net = defaultNetworkOf(ctx);
  let tags: TagsById = new Map();
  const predicate = compileFilters(securityGroupFilters((id) => tags.get(id), net), input.Filters);
  requireNetworkIds(net, 'security-group', ids);
  const unknownNames = missingIds(names, (name) => name === DEFAULT_GROUP_NAME);
  if (unknownNames.length > 0) throw Errors.securityGroupNameNotFound(unknownNames[0]!, net.vpcId);
  checkDryRun(input);
  tags = await s.store.tagsOfMany([net.securityGroupId]);
  // Every group named exists, and there is one: whatever was named (or nothing) is it.
  const groups = [toSecurityGroup(net, tags)].filter(predicate);
  const page = paginate(groups, input, PAGE_LIMITS, { f: input.Filters, ids, names });
  return { SecurityGroups: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
