/**
 * VPCs, subnets and security groups as every handler finds them: the caller's default VPC (derived,
 * or its stored record once it was changed: src/domain/vpc.ts) and the ones created, each lookup
 * checking ID syntax first and existence in the caller's account and Region second, with EC2's errors.
 */
import { Errors } from '../domain/errors.js';
import type { Scope } from '../domain/instance.js';
import { type NetworkResourceType, checkNetworkIds, defaultNetworkOf, missingIds } from '../domain/network.js';
import {
  type InternetGatewayRecord,
  type RouteTableRecord,
  type SecurityGroupRecord,
  type SubnetRecord,
  type VpcRecord,
  defaultInternetGatewayRecord,
  defaultMainRouteTableRecord,
  defaultSubnetRecords,
  defaultVpcGroupRecord,
  defaultVpcRecord,
} from '../domain/vpc.js';
import type { Revisioned, StoreReader } from '../store/types.js';
import type { Services } from './context.js';

type Stored<T> = T & Partial<Revisioned>;

/** The derived records, each replaced by its stored record when there is one, then the created ones. */
function merged<T extends { readonly id: string }>(derived: readonly T[], stored: readonly Stored<T>[]): Stored<T>[] {
  const byId = new Map(stored.map((r) => [r.id, r]));
  const derivedIds = new Set(derived.map((r) => r.id));
  return [...derived.map((r) => byId.get(r.id) ?? r), ...stored.filter((r) => !derivedIds.has(r.id))];
}

const NOT_FOUND: Record<NetworkResourceType, (ids: readonly string[]) => Error> = {
  vpc: Errors.vpcIdNotFound,
  subnet: Errors.subnetIdNotFound,
  'security-group': Errors.securityGroupNotFound,
  'internet-gateway': Errors.internetGatewayIdNotFound,
  'route-table': Errors.routeTableIdNotFound,
};

/** The resources named, of any network type (CreateTags and DeleteTags check what they name). */
export async function findNetworkResources(s: Services, scope: Scope, type: NetworkResourceType, ids: readonly string[]): Promise<void> {
  checkNetworkIds(type, ids);
  const all: readonly { readonly id: string }[] =
    type === 'vpc' ? await vpcsOf(s, scope)
    : type === 'subnet' ? await subnetsOf(s, scope)
    : type === 'security-group' ? await securityGroupsOf(s, scope)
    : type === 'internet-gateway' ? await internetGatewaysOf(s, scope)
    : await routeTablesOf(s, scope);
  named(all, ids, NOT_FOUND[type]);
}

const scopeOf = (scope: Scope) => ({ account: scope.account, region: scope.region });

/** Every VPC of the caller's account and Region: the default one first, then the others in creation order. */
export async function vpcsOf(s: Services, scope: Scope, reader: StoreReader = s.store): Promise<Stored<VpcRecord>[]> {
  const net = defaultNetworkOf(scope);
  return merged([defaultVpcRecord(net)], await reader.resources('vpc', scopeOf(scope)));
}

/** Every subnet of the caller's account and Region (of one VPC when `vpcId` is given). */
export async function subnetsOf(s: Services, scope: Scope, reader: StoreReader = s.store, vpcId?: string): Promise<Stored<SubnetRecord>[]> {
  const all = merged(defaultSubnetRecords(defaultNetworkOf(scope)), await reader.resources('subnet', scopeOf(scope)));
  return vpcId === undefined ? all : all.filter((x) => x.vpcId === vpcId);
}

/** Every security group of the caller's account and Region (of one VPC when `vpcId` is given). */
export async function securityGroupsOf(
  s: Services,
  scope: Scope,
  reader: StoreReader = s.store,
  vpcId?: string,
): Promise<Stored<SecurityGroupRecord>[]> {
  const all = merged([defaultVpcGroupRecord(defaultNetworkOf(scope))], await reader.resources('security-group', scopeOf(scope)));
  return vpcId === undefined ? all : all.filter((g) => g.vpcId === vpcId);
}

/** Every internet gateway of the caller's account and Region: the default VPC's first. */
export async function internetGatewaysOf(s: Services, scope: Scope, reader: StoreReader = s.store): Promise<Stored<InternetGatewayRecord>[]> {
  return merged([defaultInternetGatewayRecord(defaultNetworkOf(scope))], await reader.resources('internet-gateway', scopeOf(scope)));
}

/** Every route table of the caller's account and Region (of one VPC when `vpcId` is given): the default VPC's main one first. */
export async function routeTablesOf(s: Services, scope: Scope, reader: StoreReader = s.store, vpcId?: string): Promise<Stored<RouteTableRecord>[]> {
  const all = merged([defaultMainRouteTableRecord(defaultNetworkOf(scope))], await reader.resources('route-table', scopeOf(scope)));
  return vpcId === undefined ? all : all.filter((t) => t.vpcId === vpcId);
}

export async function findInternetGateway(s: Services, scope: Scope, id: string, reader: StoreReader = s.store): Promise<Stored<InternetGatewayRecord>> {
  checkNetworkIds('internet-gateway', [id]);
  return named(await internetGatewaysOf(s, scope, reader), [id], Errors.internetGatewayIdNotFound)[0]!;
}

export async function findRouteTable(s: Services, scope: Scope, id: string, reader: StoreReader = s.store): Promise<Stored<RouteTableRecord>> {
  checkNetworkIds('route-table', [id]);
  return named(await routeTablesOf(s, scope, reader), [id], Errors.routeTableIdNotFound)[0]!;
}

/** The records named by `ids`, in request order without repeats, or `notFound` naming the missing ones. */
function named<T extends { readonly id: string }>(all: readonly T[], ids: readonly string[], notFound: (ids: readonly string[]) => Error): T[] {
  const byId = new Map(all.map((r) => [r.id, r]));
  const missing = missingIds(ids, (id) => byId.has(id));
  if (missing.length > 0) throw notFound(missing);
  return [...new Set(ids)].map((id) => byId.get(id)!);
}

/**
 * Of `all`, those `ids` name (every one when `ids` is empty), in `all`'s order: the Describe calls'
 * answer. Every ID must be well-formed and among them (the kind's Malformed / NotFound otherwise).
 */
export function describedOf<T extends { readonly id: string }>(type: NetworkResourceType, all: readonly T[], ids: readonly string[]): T[] {
  checkNetworkIds(type, ids);
  if (ids.length === 0) return [...all];
  named(all, ids, NOT_FOUND[type]);
  const wanted = new Set(ids);
  return all.filter((r) => wanted.has(r.id));
}

/** The VPCs named, each well-formed and existing in the caller's scope (EC2's Malformed / NotFound otherwise). */
export async function findVpcs(s: Services, scope: Scope, ids: readonly string[], reader: StoreReader = s.store): Promise<Stored<VpcRecord>[]> {
  checkNetworkIds('vpc', ids);
  if (ids.length === 0) return [];
  return named(await vpcsOf(s, scope, reader), ids, Errors.vpcIdNotFound);
}

export async function findVpc(s: Services, scope: Scope, id: string, reader: StoreReader = s.store): Promise<Stored<VpcRecord>> {
  return (await findVpcs(s, scope, [id], reader))[0]!;
}

export async function findSubnets(s: Services, scope: Scope, ids: readonly string[], reader: StoreReader = s.store): Promise<Stored<SubnetRecord>[]> {
  checkNetworkIds('subnet', ids);
  if (ids.length === 0) return [];
  return named(await subnetsOf(s, scope, reader), ids, Errors.subnetIdNotFound);
}

export async function findSubnet(s: Services, scope: Scope, id: string, reader: StoreReader = s.store): Promise<Stored<SubnetRecord>> {
  return (await findSubnets(s, scope, [id], reader))[0]!;
}

export async function findSecurityGroups(
  s: Services,
  scope: Scope,
  ids: readonly string[],
  reader: StoreReader = s.store,
): Promise<Stored<SecurityGroupRecord>[]> {
  checkNetworkIds('security-group', ids);
  if (ids.length === 0) return [];
  return named(await securityGroupsOf(s, scope, reader), ids, Errors.securityGroupNotFound);
}

/**
 * Security groups by name, in one VPC (the default VPC when none is given): EC2's InvalidGroup.NotFound
 * naming the first name that is not there.
 */
export async function findSecurityGroupsByName(
  s: Services,
  scope: Scope,
  names: readonly string[],
  vpcId: string | undefined,
  reader: StoreReader = s.store,
): Promise<Stored<SecurityGroupRecord>[]> {
  const vpc = vpcId ?? defaultNetworkOf(scope).vpcId;
  const groups = await securityGroupsOf(s, scope, reader, vpc);
  return [...new Set(names)].map((name) => {
    const g = groups.find((x) => x.name === name);
    if (!g) throw Errors.securityGroupNameNotFound(name, vpc);
    return g;
  });
}

/** The record as stored for a write: a derived record has no revision yet, so its write is an insert. */
export const forWrite = <T extends object>(rec: Stored<T>): T => rec as T;
