/**
 * Internet gateways: Create/Delete/Describe, Attach/Detach. The default VPC's gateway is derived
 * (src/domain/network.ts) and attached to it. A gateway attaches to one VPC and a VPC has one at most.
 * Changes hold the Region's launch lock, as VPC changes do (src/api/vpcs.ts).
 */
import type {
  AttachInternetGatewayRequest,
  AttachmentStatus,
  CreateInternetGatewayRequest,
  CreateInternetGatewayResult,
  DeleteInternetGatewayRequest,
  DescribeInternetGatewaysRequest,
  DescribeInternetGatewaysResult,
  DetachInternetGatewayRequest,
  InternetGateway,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type Services, launchLock } from '../services/context.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { newId } from '../domain/ids.js';
import { defaultNetworkOf, instanceAttachment } from '../domain/network.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import { INTERNET_GATEWAYS_PER_REGION, type InternetGatewayRecord } from '../domain/vpc.js';
import { describedOf, findInternetGateway, findVpc, internetGatewaysOf } from '../services/vpcs.js';
import { tagList, tagRecordsOf, tagsFromSpecifications, type TagsById } from '../services/tags.js';
import type { StoreTransaction } from '../store/types.js';
import { type Handler, type RequestContext, checkDryRun, required } from './context.js';

function toInternetGateway(g: InternetGatewayRecord, tags: TagsById): InternetGateway {
  const own = tags.get(g.id);
  return {
    InternetGatewayId: g.id,
    OwnerId: g.account,
    // EC2 answers `available` for an attached gateway, a value outside the SDK's AttachmentStatus.
    Attachments: g.vpcId === undefined ? [] : [{ State: 'available' as AttachmentStatus, VpcId: g.vpcId }],
    ...(own && own.size > 0 ? { Tags: tagList(own) } : {}),
  };
}

function gatewayFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<InternetGateway> {
  const attachments = (g: InternetGateway) => g.Attachments ?? [];
  return {
    tags: (g) => tagsOf(g.InternetGatewayId!),
    fields: {
      'attachment.state': (g) => attachments(g).map((a) => a.State),
      'attachment.vpc-id': (g) => attachments(g).map((a) => a.VpcId),
      'internet-gateway-id': (g) => g.InternetGatewayId,
      'owner-id': (g) => g.OwnerId,
    },
  };
}

export const describeInternetGateways: Handler<DescribeInternetGatewaysRequest, DescribeInternetGatewaysResult> = async (input, ctx, s) => {
  const ids = input.InternetGatewayIds ?? [];
  let tags: TagsById = new Map();
  const predicate = compileFilters(gatewayFilters((id) => tags.get(id)), input.Filters);
  const gateways = describedOf('internet-gateway', await internetGatewaysOf(s, ctx), ids);
  checkDryRun(input);
  tags = await s.store.tagsOfMany(gateways.map((g) => g.id));
  const page = paginate(gateways.map((g) => toInternetGateway(g, tags)).filter(predicate), input, DESCRIBE_PAGE_LIMITS, { f: input.Filters, ids });
  return { InternetGateways: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

export const createInternetGateway: Handler<CreateInternetGatewayRequest, CreateInternetGatewayResult> = async (input, ctx, s) => {
  const tags = tagsFromSpecifications(input.TagSpecifications, 'internet-gateway', ['internet-gateway']);
  checkDryRun(input);
  const rec: InternetGatewayRecord = { id: newId('internetGateway'), account: ctx.account, region: ctx.region, createTime: s.now().toISOString() };
  await s.store.transaction(
    async (tx) => {
      if ((await internetGatewaysOf(s, ctx, tx)).length >= INTERNET_GATEWAYS_PER_REGION) {
        throw Errors.limitExceeded('InternetGatewayLimitExceeded', 'internet gateways', INTERNET_GATEWAYS_PER_REGION);
      }
      tx.write({
        putResources: [{ kind: 'internet-gateway', doc: rec }],
        putTags: tagRecordsOf(ctx, rec.id, 'internet-gateway', tags),
      });
    },
    { lock: launchLock(ctx) },
  );
  return { InternetGateway: toInternetGateway(rec, new Map([[rec.id, new Map(tags.map((t) => [t.key, t.value]))]])) };
};

/**
 * Attach and Detach: the gateway and the VPC they name are looked up before DryRun and again under the
 * Region's launch lock; `decide` checks the change and answers the VPC the gateway is attached to after it.
 */
async function changeAttachment(
  input: { readonly InternetGatewayId?: string | undefined; readonly VpcId?: string | undefined; readonly DryRun?: boolean | undefined },
  ctx: RequestContext,
  s: Services,
  decide: (gateway: InternetGatewayRecord, vpcId: string, tx: StoreTransaction) => Promise<string | undefined>,
): Promise<Record<string, never>> {
  const id = required(input.InternetGatewayId, 'InternetGatewayId');
  const vpcId = required(input.VpcId, 'VpcId');
  await findInternetGateway(s, ctx, id);
  await findVpc(s, ctx, vpcId);
  checkDryRun(input);
  await s.store.transaction(
    async (tx) => {
      const gateway = await findInternetGateway(s, ctx, id, tx);
      await findVpc(s, ctx, vpcId, tx);
      tx.write({ putResources: [{ kind: 'internet-gateway', doc: { ...gateway, vpcId: await decide(gateway, vpcId, tx) } }] });
    },
    { lock: launchLock(ctx) },
  );
  return {};
}

export const attachInternetGateway: Handler<AttachInternetGatewayRequest, Record<string, never>> = (input, ctx, s) =>
  changeAttachment(input, ctx, s, async (gateway, vpcId, tx) => {
    if (gateway.vpcId !== undefined) throw Errors.gatewayAlreadyAttached(gateway.id, gateway.vpcId);
    const other = (await internetGatewaysOf(s, ctx, tx)).find((g) => g.vpcId === vpcId);
    if (other) throw Errors.vpcHasGateway(vpcId, other.id);
    return vpcId;
  });

export const detachInternetGateway: Handler<DetachInternetGatewayRequest, Record<string, never>> = (input, ctx, s) =>
  changeAttachment(input, ctx, s, async (gateway, vpcId, tx) => {
    if (gateway.vpcId !== vpcId) throw Errors.gatewayNotAttached(gateway.id, vpcId);
    // EC2 refuses while instances of the VPC hold public addresses.
    const instances = await tx.instances({ account: ctx.account, region: ctx.region, states: ['pending', 'running', 'stopping'] });
    if (instances.some((rec) => rec.publicIp !== undefined && instanceAttachment(rec).vpcId === vpcId)) throw Errors.vpcHasPublicAddresses(vpcId);
    return undefined;
  });

export const deleteInternetGateway: Handler<DeleteInternetGatewayRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.InternetGatewayId, 'InternetGatewayId');
  await findInternetGateway(s, ctx, id);
  checkDryRun(input);
  if (id === defaultNetworkOf(ctx).internetGatewayId) throw Errors.defaultNetworkKept('internet gateway', id);
  await s.store.transaction(
    async (tx) => {
      const gateway = await findInternetGateway(s, ctx, id, tx);
      if (gateway.vpcId !== undefined) throw Errors.resourceHasDependencies('internetGateway', id, `attached to ${gateway.vpcId}`);
      // Routes to it stay, as blackholes (EC2 keeps them too).
      tx.write({ deleteResources: [{ kind: 'internet-gateway', id }] });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};
