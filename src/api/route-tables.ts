/**
 * Route tables: Create/Delete/Describe, CreateRoute/ReplaceRoute/DeleteRoute, Associate/Disassociate.
 * Every VPC has a main route table (made with it; the default VPC's is derived and routes 0.0.0.0/0
 * to its internet gateway); a subnet without an association of its own uses it. Routes go to an
 * internet gateway of the table's VPC or to an instance; one whose target is gone is a blackhole.
 * Changes hold the Region's launch lock, as VPC changes do (src/api/vpcs.ts).
 */
import type {
  AssociateRouteTableRequest,
  AssociateRouteTableResult,
  CreateRouteRequest,
  CreateRouteResult,
  CreateRouteTableRequest,
  CreateRouteTableResult,
  DeleteRouteRequest,
  DeleteRouteTableRequest,
  DescribeRouteTablesRequest,
  DescribeRouteTablesResult,
  DisassociateRouteTableRequest,
  ReplaceRouteRequest,
  Route,
  RouteTable,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId, newId } from '../domain/ids.js';
import { defaultNetworkOf, instanceAttachment } from '../domain/network.js';
import { paginate } from '../domain/paging.js';
import {
  type InternetGatewayRecord,
  ROUTES_PER_TABLE,
  ROUTE_TABLES_PER_VPC,
  type RouteRecord,
  type RouteTableRecord,
  cidrText,
  parseCidr,
} from '../domain/vpc.js';
import { type Services, launchLock } from '../services/context.js';
import { findInstances } from '../services/instances.js';
import { describedOf, findInternetGateway, findRouteTable, findSubnet, findVpc, internetGatewaysOf, routeTablesOf } from '../services/vpcs.js';
import { tagList, tagRecordsOf, tagsFromSpecifications, type TagsById } from '../services/tags.js';
import type { StoreReader } from '../store/types.js';
import { type Handler, type RequestContext, checkDryRun, required } from './context.js';

const PAGE_LIMITS = { min: 5, max: 100 };
// --- the API's view -----------------------------------------------------------------------------------

/** Whether a route's target is still there: a gateway attached to the table's VPC, an instance not terminated. */
interface Targets {
  readonly gateways: readonly InternetGatewayRecord[];
  readonly liveInstances: ReadonlySet<string>;
}

function toRoute(table: RouteTableRecord, r: RouteRecord, targets: Targets): Route {
  const live =
    r.gatewayId === 'local' ||
    (r.gatewayId !== undefined && targets.gateways.some((g) => g.id === r.gatewayId && g.vpcId === table.vpcId)) ||
    (r.instanceId !== undefined && targets.liveInstances.has(r.instanceId));
  return {
    DestinationCidrBlock: r.destinationCidrBlock,
    ...(r.gatewayId !== undefined ? { GatewayId: r.gatewayId } : {}),
    ...(r.instanceId !== undefined ? { InstanceId: r.instanceId, InstanceOwnerId: table.account } : {}),
    Origin: r.origin,
    State: live ? 'active' : 'blackhole',
  };
}

function toRouteTable(t: RouteTableRecord, targets: Targets, tags: TagsById): RouteTable {
  const own = tags.get(t.id);
  return {
    RouteTableId: t.id,
    VpcId: t.vpcId,
    OwnerId: t.account,
    Routes: t.routes.map((r) => toRoute(t, r, targets)),
    Associations: t.associations.map((a) => ({
      Main: a.main,
      RouteTableAssociationId: a.id,
      RouteTableId: t.id,
      ...(a.subnetId !== undefined ? { SubnetId: a.subnetId } : {}),
      AssociationState: { State: 'associated' },
    })),
    PropagatingVgws: [],
    ...(own && own.size > 0 ? { Tags: tagList(own) } : {}),
  };
}

async function targetsOf(s: Services, ctx: RequestContext, tables: readonly RouteTableRecord[], reader: StoreReader = s.store): Promise<Targets> {
  const instanceIds = [...new Set(tables.flatMap((t) => t.routes.flatMap((r) => (r.instanceId ? [r.instanceId] : []))))];
  const [gateways, instances] = await Promise.all([
    internetGatewaysOf(s, ctx, reader),
    instanceIds.length === 0 ? [] : reader.instances({ account: ctx.account, region: ctx.region, ids: instanceIds }),
  ]);
  return { gateways, liveInstances: new Set(instances.filter((r) => r.state !== 'terminated' && r.state !== 'shutting-down').map((r) => r.id)) };
}

function routeTableFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<RouteTable> {
  const associations = (t: RouteTable) => t.Associations ?? [];
  const routes = (t: RouteTable) => t.Routes ?? [];
  return {
    tags: (t) => tagsOf(t.RouteTableId!),
    fields: {
      'association.gateway-id': (t) => associations(t).map((a) => a.GatewayId),
      'association.route-table-association-id': (t) => associations(t).map((a) => a.RouteTableAssociationId),
      'association.route-table-id': (t) => associations(t).map((a) => a.RouteTableId),
      'association.subnet-id': (t) => associations(t).map((a) => a.SubnetId),
      'association.main': (t) => associations(t).map((a) => a.Main),
      'owner-id': (t) => t.OwnerId,
      'route-table-id': (t) => t.RouteTableId,
      'route.destination-cidr-block': (t) => routes(t).map((r) => r.DestinationCidrBlock),
      'route.gateway-id': (t) => routes(t).map((r) => r.GatewayId),
      'route.instance-id': (t) => routes(t).map((r) => r.InstanceId),
      'route.origin': (t) => routes(t).map((r) => r.Origin),
      'route.state': (t) => routes(t).map((r) => r.State),
      'vpc-id': (t) => t.VpcId,
    },
  };
}

// --- route tables -------------------------------------------------------------------------------------

export const describeRouteTables: Handler<DescribeRouteTablesRequest, DescribeRouteTablesResult> = async (input, ctx, s) => {
  const ids = input.RouteTableIds ?? [];
  let tags: TagsById = new Map();
  const predicate = compileFilters(routeTableFilters((id) => tags.get(id)), input.Filters);
  const tables = describedOf('route-table', await routeTablesOf(s, ctx), ids);
  checkDryRun(input);
  const [targets, tableTags] = await Promise.all([targetsOf(s, ctx, tables), s.store.tagsOfMany(tables.map((t) => t.id))]);
  tags = tableTags;
  const page = paginate(tables.map((t) => toRouteTable(t, targets, tags)).filter(predicate), input, PAGE_LIMITS, { f: input.Filters, ids });
  return { RouteTables: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

export const createRouteTable: Handler<CreateRouteTableRequest, CreateRouteTableResult> = async (input, ctx, s) => {
  const vpcId = required(input.VpcId, 'VpcId');
  const tags = tagsFromSpecifications(input.TagSpecifications, 'route-table', ['route-table']);
  const vpc = await findVpc(s, ctx, vpcId);
  checkDryRun(input);
  const rec: RouteTableRecord = {
    id: newId('routeTable'),
    account: ctx.account,
    region: ctx.region,
    vpcId,
    routes: [{ destinationCidrBlock: vpc.cidrBlock, gatewayId: 'local', origin: 'CreateRouteTable' }],
    associations: [],
    createTime: s.now().toISOString(),
  };
  await s.store.transaction(
    async (tx) => {
      await findVpc(s, ctx, vpcId, tx);
      if ((await routeTablesOf(s, ctx, tx, vpcId)).length >= ROUTE_TABLES_PER_VPC) {
        throw Errors.limitExceeded('RouteTableLimitExceeded', 'route tables', ROUTE_TABLES_PER_VPC);
      }
      tx.write({
        putResources: [{ kind: 'route-table', doc: rec }],
        putTags: tagRecordsOf(ctx, rec.id, 'route-table', tags),
      });
    },
    { lock: launchLock(ctx) },
  );
  const tagMap: TagsById = new Map([[rec.id, new Map(tags.map((t) => [t.key, t.value]))]]);
  return { RouteTable: toRouteTable(rec, { gateways: [], liveInstances: new Set() }, tagMap) };
};

export const deleteRouteTable: Handler<DeleteRouteTableRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.RouteTableId, 'RouteTableId');
  await findRouteTable(s, ctx, id);
  checkDryRun(input);
  if (id === defaultNetworkOf(ctx).mainRouteTableId) throw Errors.defaultNetworkKept('route table', id);
  await s.store.transaction(
    async (tx) => {
      const table = await findRouteTable(s, ctx, id, tx);
      const association = table.associations[0];
      if (association) throw Errors.resourceHasDependencies('routeTable', id, association.main ? 'the main route table of its VPC' : `associated with ${association.subnetId}`);
      tx.write({ deleteResources: [{ kind: 'route-table', id }] });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};

// --- routes -------------------------------------------------------------------------------------------

/** The destination block of a route request (normalised), or EC2's error naming it. */
function destinationOf(input: { DestinationCidrBlock?: string | undefined; DestinationIpv6CidrBlock?: string | undefined; DestinationPrefixListId?: string | undefined }): string {
  if (input.DestinationIpv6CidrBlock !== undefined) throw Errors.parameterNotImplemented('CreateRoute', 'DestinationIpv6CidrBlock', "nestbox's VPCs are IPv4 only");
  if (input.DestinationPrefixListId !== undefined) throw Errors.parameterNotImplemented('CreateRoute', 'DestinationPrefixListId', 'nestbox has no prefix lists');
  const text = required(input.DestinationCidrBlock, 'DestinationCidrBlock');
  const cidr = parseCidr(text);
  if (!cidr) throw Errors.invalidCidrBlock('destinationCidrBlock', text);
  return cidrText(cidr);
}

/** The targets nestbox routes to: an internet gateway or an instance. The others are refused by name. */
const UNSUPPORTED_TARGETS = [
  'NatGatewayId',
  'NetworkInterfaceId',
  'VpcPeeringConnectionId',
  'TransitGatewayId',
  'EgressOnlyInternetGatewayId',
  'LocalGatewayId',
  'CarrierGatewayId',
  'VpcEndpointId',
  'CoreNetworkArn',
  'OdbNetworkArn',
] as const;

/** The route a CreateRoute / ReplaceRoute asks for, its target checked to be in the table's VPC. */
async function routeOf(
  s: Services,
  ctx: RequestContext,
  action: 'CreateRoute' | 'ReplaceRoute',
  input: CreateRouteRequest | ReplaceRouteRequest,
  table: RouteTableRecord,
  destination: string,
): Promise<RouteRecord> {
  for (const t of UNSUPPORTED_TARGETS) {
    if ((input as unknown as Record<string, unknown>)[t] !== undefined) throw Errors.parameterNotImplemented(action, t, 'nestbox routes to internet gateways and instances');
  }
  const { GatewayId: gatewayId, InstanceId: instanceId } = input;
  if ((gatewayId === undefined) === (instanceId === undefined)) {
    throw Errors.invalidParameterCombination('The request must contain exactly one of gatewayId, instanceId.');
  }
  if (gatewayId !== undefined) {
    if (gatewayId === 'local') throw Errors.invalidValueFor('GatewayId', gatewayId, 'The local route is made with the table.');
    const gateway = await findInternetGateway(s, ctx, gatewayId);
    if (gateway.vpcId !== table.vpcId) throw Errors.routeTargetInOtherVpc(table.id, gatewayId);
    return { destinationCidrBlock: destination, gatewayId, origin: 'CreateRoute' };
  }
  const [instance] = await findInstances(s, ctx, [instanceId!]);
  if (instanceAttachment(instance!).vpcId !== table.vpcId) throw Errors.routeTargetInOtherVpc(table.id, instanceId!);
  return { destinationCidrBlock: destination, instanceId, origin: 'CreateRoute' };
}

async function changeRoutes(
  s: Services,
  ctx: RequestContext,
  tableId: string,
  change: (table: RouteTableRecord) => readonly RouteRecord[],
): Promise<void> {
  await s.store.transaction(
    async (tx) => {
      const table = await findRouteTable(s, ctx, tableId, tx);
      const routes = change(table);
      if (routes.length > ROUTES_PER_TABLE) throw Errors.limitExceeded('RouteLimitExceeded', 'routes', ROUTES_PER_TABLE);
      tx.write({ putResources: [{ kind: 'route-table', doc: { ...table, routes } }] });
    },
    { lock: launchLock(ctx) },
  );
}

export const createRoute: Handler<CreateRouteRequest, CreateRouteResult> = async (input, ctx, s) => {
  const tableId = required(input.RouteTableId, 'RouteTableId');
  const destination = destinationOf(input);
  const table = await findRouteTable(s, ctx, tableId);
  const route = await routeOf(s, ctx, 'CreateRoute', input, table, destination);
  checkDryRun(input);
  await changeRoutes(s, ctx, tableId, (t) => {
    if (t.routes.some((r) => r.destinationCidrBlock === destination)) throw Errors.routeAlreadyExists(destination, tableId);
    return [...t.routes, route];
  });
  return { Return: true };
};

export const replaceRoute: Handler<ReplaceRouteRequest, Record<string, never>> = async (input, ctx, s) => {
  const tableId = required(input.RouteTableId, 'RouteTableId');
  const destination = destinationOf(input);
  const table = await findRouteTable(s, ctx, tableId);
  const route = await routeOf(s, ctx, 'ReplaceRoute', input, table, destination);
  checkDryRun(input);
  await changeRoutes(s, ctx, tableId, (t) => {
    const old = t.routes.find((r) => r.destinationCidrBlock === destination);
    if (!old) throw Errors.routeNotFound(destination, tableId);
    if (old.gatewayId === 'local') throw Errors.localRouteKept(destination, tableId);
    return t.routes.map((r) => (r === old ? route : r));
  });
  return {};
};

export const deleteRoute: Handler<DeleteRouteRequest, Record<string, never>> = async (input, ctx, s) => {
  const tableId = required(input.RouteTableId, 'RouteTableId');
  const destination = destinationOf(input);
  await findRouteTable(s, ctx, tableId);
  checkDryRun(input);
  await changeRoutes(s, ctx, tableId, (t) => {
    const old = t.routes.find((r) => r.destinationCidrBlock === destination);
    if (!old) throw Errors.routeNotFound(destination, tableId);
    if (old.gatewayId === 'local') throw Errors.localRouteKept(destination, tableId);
    return t.routes.filter((r) => r !== old);
  });
  return {};
};

// --- associations -------------------------------------------------------------------------------------

export const associateRouteTable: Handler<AssociateRouteTableRequest, AssociateRouteTableResult> = async (input, ctx, s) => {
  const tableId = required(input.RouteTableId, 'RouteTableId');
  if (input.GatewayId !== undefined) throw Errors.parameterNotImplemented('AssociateRouteTable', 'GatewayId', 'nestbox associates route tables with subnets only');
  const subnetId = required(input.SubnetId, 'SubnetId');
  await findRouteTable(s, ctx, tableId);
  await findSubnet(s, ctx, subnetId);
  checkDryRun(input);
  const associationId = newId('routeTableAssociation');
  await s.store.transaction(
    async (tx) => {
      const [table, subnet, tables] = await Promise.all([findRouteTable(s, ctx, tableId, tx), findSubnet(s, ctx, subnetId, tx), routeTablesOf(s, ctx, tx)]);
      if (subnet.vpcId !== table.vpcId) throw Errors.routeTableInOtherVpc(tableId, subnetId);
      if (tables.some((t) => t.associations.some((a) => a.subnetId === subnetId))) throw Errors.subnetAlreadyAssociated(tableId, subnetId);
      tx.write({ putResources: [{ kind: 'route-table', doc: { ...table, associations: [...table.associations, { id: associationId, main: false, subnetId }] } }] });
    },
    { lock: launchLock(ctx) },
  );
  return { AssociationId: associationId, AssociationState: { State: 'associated' } };
};

export const disassociateRouteTable: Handler<DisassociateRouteTableRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.AssociationId, 'AssociationId');
  if (!isWellFormedId('routeTableAssociation', id)) throw Errors.associationIdNotFound(id);
  const owner = async (reader: StoreReader) => {
    const table = (await routeTablesOf(s, ctx, reader)).find((t) => t.associations.some((a) => a.id === id));
    if (!table) throw Errors.associationIdNotFound(id);
    if (table.associations.find((a) => a.id === id)!.main) throw Errors.mainAssociationKept(id);
    return table;
  };
  await owner(s.store);
  checkDryRun(input);
  await s.store.transaction(
    async (tx) => {
      const table = await owner(tx);
      tx.write({ putResources: [{ kind: 'route-table', doc: { ...table, associations: table.associations.filter((a) => a.id !== id) } }] });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};
