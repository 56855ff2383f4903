/**
 * VPCs and subnets: Create/Delete/Describe, their attributes. The default VPC and its default subnets
 * are derived (src/domain/network.ts) and kept: they can be changed, not deleted. The others are stored.
 *
 * Changes to a Region's VPCs and subnets hold the Region's launch lock (`launch:<account>:<region>`):
 * a subnet is never deleted while a launch is placing an instance in it, and a VPC's quota and a
 * subnet's free blocks are checked and taken without interleaving.
 */
import type {
  CreateSubnetRequest,
  CreateSubnetResult,
  CreateVpcRequest,
  CreateVpcResult,
  DeleteSubnetRequest,
  DeleteVpcRequest,
  DescribeSubnetsRequest,
  DescribeSubnetsResult,
  DescribeVpcAttributeRequest,
  DescribeVpcAttributeResult,
  DescribeVpcsRequest,
  DescribeVpcsResult,
  ModifySubnetAttributeRequest,
  ModifyVpcAttributeRequest,
  Subnet,
  Vpc,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterAccessor, type FilterTable, compileFilters } from '../domain/filters.js';
import { newId } from '../domain/ids.js';
import { defaultNetworkOf, instanceAttachment } from '../domain/network.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import { zoneNamed, zonesIn } from '../domain/regions.js';
import type { StateName } from '../domain/lifecycle.js';
import {
  MAX_PREFIX,
  MIN_PREFIX,
  type SubnetRecord,
  SUBNETS_PER_VPC,
  VPC_QUOTA,
  type VpcRecord,
  cidrContains,
  cidrText,
  cidrsOverlap,
  defaultGroupRecord,
  mainRouteTableRecord,
  parseCidr,
  usableAddresses,
} from '../domain/vpc.js';
import { type Services, launchLock } from '../services/context.js';
import { describedOf, findSubnet, findVpc, internetGatewaysOf, routeTablesOf, securityGroupsOf, subnetsOf, vpcsOf } from '../services/vpcs.js';
import { storedInterfacesOf } from '../services/network-interfaces.js';
import { addressesOf } from '../domain/network-interface.js';
import { tagList, tagRecordsOf, tagsFromSpecifications, type TagsById } from '../services/tags.js';
import { type Handler, type RequestContext, checkDryRun, required } from './context.js';

const withTags = (tags: TagsById, id: string) => {
  const own = tags.get(id);
  return own && own.size > 0 ? { Tags: tagList(own) } : {};
};



/** A CIDR block parameter: valid IPv4 syntax (host bits are cleared, as EC2 does), or EC2's error naming it. */
function cidrParam(value: string | undefined, param: string) {
  const text = required(value, param);
  const cidr = parseCidr(text);
  if (!cidr) throw Errors.invalidCidrBlock('cidrBlock', text);
  return cidr;
}

/** An AttributeBooleanValue parameter's value (`Value` is required inside it). */
const booleanValue = (v: { Value?: boolean | undefined } | undefined, param: string): boolean | undefined =>
  v === undefined ? undefined : required(v.Value, `${param}.Value`);

// --- the states that hold a subnet's address -------------------------------------------------------

/** Every state but `terminated` holds the instance's private address (and so its subnet). */
const HOLDING_ADDRESS: readonly StateName[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

/** Addresses in use, by subnet ID: those of instances holding one (with their secondaries) and of stored network interfaces. */
async function addressesBySubnet(s: Services, ctx: RequestContext): Promise<Map<string, number>> {
  const used = new Map<string, number>();
  const add = (id: string, n: number) => used.set(id, (used.get(id) ?? 0) + n);
  const [holders, enis] = await Promise.all([
    s.store.instances({ account: ctx.account, region: ctx.region, states: HOLDING_ADDRESS }),
    storedInterfacesOf(s, ctx),
  ]);
  for (const rec of holders) add(instanceAttachment(rec).subnetId, 1 + (rec.secondaryPrivateIps?.length ?? 0));
  // An instance's primary interface that is a stored one counts once, with the instance.
  for (const e of enis) add(e.subnetId, addressesOf(e).length - (e.attachment?.deviceIndex === 0 ? 1 : 0));
  return used;
}

// --- VPCs -------------------------------------------------------------------------------------------

function toVpc(v: VpcRecord, tags: TagsById, state: 'pending' | 'available' = 'available'): Vpc {
  return {
    OwnerId: v.account,
    InstanceTenancy: v.instanceTenancy,
    CidrBlockAssociationSet: [{ AssociationId: v.cidrAssociationId, CidrBlock: v.cidrBlock, CidrBlockState: { State: 'associated' } }],
    IsDefault: v.isDefault,
    BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
    ...withTags(tags, v.id),
    VpcId: v.id,
    State: state,
    CidrBlock: v.cidrBlock,
    DhcpOptionsId: v.dhcpOptionsId,
  };
}

const cidrAssociations = (v: Vpc) => v.CidrBlockAssociationSet ?? [];

function vpcFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<Vpc> {
  return {
    tags: (v) => tagsOf(v.VpcId!),
    fields: {
      cidr: (v) => v.CidrBlock,
      'cidr-block-association.cidr-block': (v) => cidrAssociations(v).map((a) => a.CidrBlock),
      'cidr-block-association.association-id': (v) => cidrAssociations(v).map((a) => a.AssociationId),
      'cidr-block-association.state': (v) => cidrAssociations(v).map((a) => a.CidrBlockState?.State),
      'dhcp-options-id': (v) => v.DhcpOptionsId,
      // No VPC has an IPv6 block: these filters are valid and match nothing.
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
  let tags: TagsById = new Map();
  const predicate = compileFilters(vpcFilters((id) => tags.get(id)), input.Filters);
  const vpcs = describedOf('vpc', await vpcsOf(s, ctx), ids);
  checkDryRun(input);
  tags = await s.store.tagsOfMany(vpcs.map((v) => v.id));
  const page = paginate(vpcs.map((v) => toVpc(v, tags)).filter(predicate), input, DESCRIBE_PAGE_LIMITS, { f: input.Filters, ids });
  return { Vpcs: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

export const createVpc: Handler<CreateVpcRequest, CreateVpcResult> = async (input, ctx, s) => {
  if (input.Ipv4IpamPoolId !== undefined) throw Errors.parameterNotImplemented('CreateVpc', 'Ipv4IpamPoolId', 'nestbox has no IPAM pools');
  if (input.AmazonProvidedIpv6CidrBlock === true || input.Ipv6CidrBlock !== undefined || input.Ipv6IpamPoolId !== undefined) {
    throw Errors.parameterNotImplemented('CreateVpc', 'an IPv6 CIDR block', "nestbox's VPCs are IPv4 only");
  }
  const cidr = cidrParam(input.CidrBlock, 'CidrBlock');
  if (cidr.prefix < MIN_PREFIX || cidr.prefix > MAX_PREFIX) throw Errors.vpcRange(input.CidrBlock!);
  const tenancy = input.InstanceTenancy ?? 'default';
  if (tenancy !== 'default' && tenancy !== 'dedicated') throw Errors.invalidValueFor('InstanceTenancy', tenancy, 'Valid values: default, dedicated.');
  const tags = tagsFromSpecifications(input.TagSpecifications, 'vpc', ['vpc']);
  checkDryRun(input);
  const createTime = s.now().toISOString();
  const rec: VpcRecord = {
    id: newId('vpc'),
    account: ctx.account,
    region: ctx.region,
    cidrBlock: cidrText(cidr),
    cidrAssociationId: newId('vpcCidrAssociation'),
    dhcpOptionsId: (await vpcsOf(s, ctx))[0]!.dhcpOptionsId,
    instanceTenancy: tenancy,
    isDefault: false,
    enableDnsSupport: true,
    enableDnsHostnames: false,
    defaultSecurityGroupId: newId('securityGroup'),
    mainRouteTableId: newId('routeTable'),
    createTime,
  };
  const group = defaultGroupRecord(ctx, { groupId: rec.defaultSecurityGroupId, vpcId: rec.id }, createTime, false);
  const mainTable = mainRouteTableRecord(rec, newId('routeTableAssociation'));
  await s.store.transaction(
    async (tx) => {
      if ((await vpcsOf(s, ctx, tx)).length >= VPC_QUOTA) throw Errors.vpcLimitExceeded(VPC_QUOTA);
      tx.write({
        putResources: [
          { kind: 'vpc', doc: rec },
          { kind: 'security-group', doc: group },
          { kind: 'route-table', doc: mainTable },
        ],
        putTags: tagRecordsOf(ctx, rec.id, 'vpc', tags),
      });
    },
    { lock: launchLock(ctx) },
  );
  return { Vpc: toVpc(rec, new Map([[rec.id, new Map(tags.map((t) => [t.key, t.value]))]]), 'pending') };
};

export const deleteVpc: Handler<DeleteVpcRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.VpcId, 'VpcId');
  const vpc = await findVpc(s, ctx, id);
  checkDryRun(input);
  if (vpc.isDefault) throw Errors.defaultNetworkKept('vpc', id);
  await s.store.transaction(
    async (tx) => {
      await findVpc(s, ctx, id, tx);
      const [subnets, groups, tables, gateways] = await Promise.all([
        subnetsOf(s, ctx, tx, id),
        securityGroupsOf(s, ctx, tx, id),
        routeTablesOf(s, ctx, tx, id),
        internetGatewaysOf(s, ctx, tx),
      ]);
      if (subnets.length > 0) throw Errors.dependencyViolation('vpc', id, `subnet ${subnets[0]!.id}`);
      const otherGroup = groups.find((g) => g.id !== vpc.defaultSecurityGroupId);
      if (otherGroup) throw Errors.dependencyViolation('vpc', id, `security group ${otherGroup.id}`);
      const otherTable = tables.find((t) => t.id !== vpc.mainRouteTableId);
      if (otherTable) throw Errors.dependencyViolation('vpc', id, `route table ${otherTable.id}`);
      const gateway = gateways.find((g) => g.vpcId === id);
      if (gateway) throw Errors.dependencyViolation('vpc', id, `internet gateway ${gateway.id}`);
      tx.write({
        deleteResources: [
          { kind: 'vpc', id },
          ...groups.map((g) => ({ kind: 'security-group' as const, id: g.id })),
          ...tables.map((t) => ({ kind: 'route-table' as const, id: t.id })),
        ],
      });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};

const VPC_ATTRIBUTES = ['enableDnsSupport', 'enableDnsHostnames'] as const;

export const modifyVpcAttribute: Handler<ModifyVpcAttributeRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.VpcId, 'VpcId');
  const given = {
    enableDnsSupport: booleanValue(input.EnableDnsSupport, 'EnableDnsSupport'),
    enableDnsHostnames: booleanValue(input.EnableDnsHostnames, 'EnableDnsHostnames'),
  };
  if (input.EnableNetworkAddressUsageMetrics !== undefined) {
    throw Errors.parameterNotImplemented('ModifyVpcAttribute', 'EnableNetworkAddressUsageMetrics', 'nestbox has no network address usage metrics');
  }
  const named = VPC_ATTRIBUTES.filter((a) => given[a] !== undefined);
  if (named.length === 0) throw Errors.missingParameter('EnableDnsSupport or EnableDnsHostnames');
  if (named.length > 1) throw Errors.multipleAttributes(named);
  await s.store.transaction(
    async (tx) => {
      const vpc = await findVpc(s, ctx, id, tx);
      const next = { ...vpc, [named[0]!]: given[named[0]!]! };
      // EC2: DNS hostnames need DNS resolution.
      if (next.enableDnsHostnames && !next.enableDnsSupport) {
        throw Errors.invalidParameterValue('Cannot enable DNS hostnames on a VPC without DNS support (enableDnsSupport).');
      }
      tx.write({ putResources: [{ kind: 'vpc', doc: next }] });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};

export const describeVpcAttribute: Handler<DescribeVpcAttributeRequest, DescribeVpcAttributeResult> = async (input, ctx, s) => {
  const id = required(input.VpcId, 'VpcId');
  const attribute = required(input.Attribute, 'Attribute');
  if (attribute !== 'enableDnsSupport' && attribute !== 'enableDnsHostnames' && attribute !== 'enableNetworkAddressUsageMetrics') {
    throw Errors.invalidValueFor('Attribute', attribute, 'Valid values: enableDnsSupport, enableDnsHostnames, enableNetworkAddressUsageMetrics.');
  }
  const vpc = await findVpc(s, ctx, id);
  checkDryRun(input);
  const value = attribute === 'enableNetworkAddressUsageMetrics' ? false : vpc[attribute];
  const key = (attribute[0]!.toUpperCase() + attribute.slice(1)) as 'EnableDnsSupport' | 'EnableDnsHostnames' | 'EnableNetworkAddressUsageMetrics';
  return { VpcId: id, [key]: { Value: value } };
};

// --- subnets ----------------------------------------------------------------------------------------

function toSubnet(x: SubnetRecord, inUse: number, tags: TagsById): Subnet {
  const cidr = parseCidr(x.cidrBlock)!;
  return {
    AvailabilityZoneId: x.availabilityZoneId,
    MapCustomerOwnedIpOnLaunch: false,
    OwnerId: x.account,
    AssignIpv6AddressOnCreation: false,
    Ipv6CidrBlockAssociationSet: [],
    ...withTags(tags, x.id),
    SubnetArn: `arn:aws:ec2:${x.region}:${x.account}:subnet/${x.id}`,
    EnableDns64: false,
    Ipv6Native: false,
    PrivateDnsNameOptionsOnLaunch: {
      HostnameType: 'ip-name',
      EnableResourceNameDnsARecord: false,
      EnableResourceNameDnsAAAARecord: false,
    },
    BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
    SubnetId: x.id,
    State: 'available',
    VpcId: x.vpcId,
    CidrBlock: x.cidrBlock,
    AvailableIpAddressCount: Math.max(0, usableAddresses(cidr) - inUse),
    AvailabilityZone: x.availabilityZone,
    DefaultForAz: x.defaultForAz,
    MapPublicIpOnLaunch: x.mapPublicIpOnLaunch,
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
  let tags: TagsById = new Map();
  const predicate = compileFilters(subnetFilters((id) => tags.get(id)), input.Filters);
  const wanted = describedOf('subnet', await subnetsOf(s, ctx), ids);
  checkDryRun(input);
  const [inUse, subnetTags] = await Promise.all([addressesBySubnet(s, ctx), s.store.tagsOfMany(wanted.map((x) => x.id))]);
  tags = subnetTags;
  const subnets = wanted.map((x) => toSubnet(x, inUse.get(x.id) ?? 0, tags)).filter(predicate);
  const page = paginate(subnets, input, DESCRIBE_PAGE_LIMITS, { f: input.Filters, ids });
  return { Subnets: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

export const createSubnet: Handler<CreateSubnetRequest, CreateSubnetResult> = async (input, ctx, s) => {
  const vpcId = required(input.VpcId, 'VpcId');
  if (input.Ipv6CidrBlock !== undefined || input.Ipv6Native === true || input.Ipv6IpamPoolId !== undefined) {
    throw Errors.parameterNotImplemented('CreateSubnet', 'an IPv6 CIDR block', "nestbox's subnets are IPv4 only");
  }
  if (input.Ipv4IpamPoolId !== undefined) throw Errors.parameterNotImplemented('CreateSubnet', 'Ipv4IpamPoolId', 'nestbox has no IPAM pools');
  if (input.OutpostArn !== undefined) throw Errors.parameterNotImplemented('CreateSubnet', 'OutpostArn', 'nestbox has no Outposts');
  const cidr = cidrParam(input.CidrBlock, 'CidrBlock');
  const zoneName = zoneNamed(ctx.region, input.AvailabilityZone, input.AvailabilityZoneId) ?? zonesIn(ctx.region)[0]!.name;
  const zone = zonesIn(ctx.region).find((z) => z.name === zoneName)!;
  const tags = tagsFromSpecifications(input.TagSpecifications, 'subnet', ['subnet']);
  const vpc = await findVpc(s, ctx, vpcId);
  const vpcCidr = parseCidr(vpc.cidrBlock)!;
  if (cidr.prefix < MIN_PREFIX || cidr.prefix > MAX_PREFIX || !cidrContains(vpcCidr, cidr)) throw Errors.subnetRange(input.CidrBlock!);
  checkDryRun(input);
  const rec: SubnetRecord = {
    id: newId('subnet'),
    account: ctx.account,
    region: ctx.region,
    vpcId,
    cidrBlock: cidrText(cidr),
    availabilityZone: zone.name,
    availabilityZoneId: zone.id,
    defaultForAz: false,
    mapPublicIpOnLaunch: false,
    createTime: s.now().toISOString(),
  };
  await s.store.transaction(
    async (tx) => {
      await findVpc(s, ctx, vpcId, tx);
      const siblings = await subnetsOf(s, ctx, tx, vpcId);
      if (siblings.some((x) => cidrsOverlap(parseCidr(x.cidrBlock)!, cidr))) throw Errors.subnetConflict(input.CidrBlock!);
      if (siblings.length >= SUBNETS_PER_VPC) throw Errors.subnetLimitExceeded(SUBNETS_PER_VPC);
      tx.write({ putResources: [{ kind: 'subnet', doc: rec }], putTags: tagRecordsOf(ctx, rec.id, 'subnet', tags) });
    },
    { lock: launchLock(ctx) },
  );
  return { Subnet: toSubnet(rec, 0, new Map([[rec.id, new Map(tags.map((t) => [t.key, t.value]))]])) };
};

export const deleteSubnet: Handler<DeleteSubnetRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.SubnetId, 'SubnetId');
  const subnet = await findSubnet(s, ctx, id);
  checkDryRun(input);
  if (defaultNetworkOf(ctx).subnets.some((x) => x.id === subnet.id)) throw Errors.defaultNetworkKept('subnet', id);
  await s.store.transaction(
    async (tx) => {
      await findSubnet(s, ctx, id, tx);
      const holders = await tx.instances({ account: ctx.account, region: ctx.region, states: HOLDING_ADDRESS });
      const holder = holders.find((rec) => rec.subnet?.subnetId === id);
      if (holder) throw Errors.dependencyViolation('subnet', id, `instance ${holder.id}`);
      const eni = (await storedInterfacesOf(s, ctx, tx)).find((e) => e.subnetId === id);
      if (eni) throw Errors.dependencyViolation('subnet', id, `network interface ${eni.id}`);
      // Its route table association goes with it.
      const tables = (await routeTablesOf(s, ctx, tx)).filter((t) => t.associations.some((a) => a.subnetId === id));
      tx.write({
        deleteResources: [{ kind: 'subnet', id }],
        putResources: tables.map((t) => ({ kind: 'route-table' as const, doc: { ...t, associations: t.associations.filter((a) => a.subnetId !== id) } })),
      });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};

export const modifySubnetAttribute: Handler<ModifySubnetAttributeRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.SubnetId, 'SubnetId');
  const { SubnetId: _id, MapPublicIpOnLaunch, ...others } = input;
  const unsupported = Object.entries(others).find(([, v]) => v !== undefined);
  if (unsupported) throw Errors.parameterNotImplemented('ModifySubnetAttribute', unsupported[0], 'nestbox changes only MapPublicIpOnLaunch');
  const map = booleanValue(MapPublicIpOnLaunch, 'MapPublicIpOnLaunch');
  if (map === undefined) throw Errors.missingParameter('MapPublicIpOnLaunch');
  await s.store.transaction(
    async (tx) => {
      const subnet = await findSubnet(s, ctx, id, tx);
      tx.write({ putResources: [{ kind: 'subnet', doc: { ...subnet, mapPublicIpOnLaunch: map } }] });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};
