/**
 * Elastic IP addresses: AllocateAddress, AssociateAddress, DisassociateAddress, ReleaseAddress,
 * DescribeAddresses, DescribeAddressesAttribute. The rules and where things are kept:
 * src/domain/elastic-ip.ts; lookups and address uniqueness: src/services/elastic-ips.ts. Changes hold
 * the Region's launch lock (the quota, and associations, which change instance records as starts do).
 *
 * EC2's behaviour, as its API reference and user guide describe it:
 *   - AllocateAddress: Domain `vpc` (EC2-Classic's `standard` is retired); five per Region by default
 *     (AddressLimitExceeded).
 *   - AssociateAddress: the instance must be running or stopped ("The pending instance 'i-…' is not in
 *     a valid state for this operation", code InvalidInstanceID); its VPC must have an internet gateway
 *     (Gateway.NotAttached); the instance's automatic public address is released; an address associated
 *     elsewhere needs AllowReassociation (Resource.AlreadyAssociated), and an instance's earlier Elastic
 *     IP is disassociated, staying allocated.
 *   - DisassociateAddress: idempotent in EC2's words, but an unknown association ID is
 *     InvalidAssociationID.NotFound; the instance "receives a new public IP address" when its launch
 *     gave it one (user guide, "Elastic IP addresses"), as moto's check_auto_public_ip does when running.
 *   - ReleaseAddress: in the default VPC it disassociates first; elsewhere an associated address is
 *     InvalidIPAddress.InUse.
 *   - DescribeAddresses has no paging.
 *
 * With the qemu driver, a running VM's forwarded ports follow its address: the VM host's network pass
 * (src/compute/vm-host.ts) moves QEMU's forwards to the new address within about a second.
 */
import type {
  Address,
  AddressAttribute,
  AllocateAddressRequest,
  AllocateAddressResult,
  AssociateAddressRequest,
  AssociateAddressResult,
  DescribeAddressesAttributeRequest,
  DescribeAddressesAttributeResult,
  DescribeAddressesRequest,
  DescribeAddressesResult,
  DisassociateAddressRequest,
  ReleaseAddressRequest,
} from '@aws-sdk/client-ec2';
import {
  ASSOCIABLE_STATES,
  ELASTIC_IPS_PER_REGION,
  ELASTIC_IP_DOMAIN,
  type ElasticIpRecord,
  instanceIdOfInterface,
  withElasticIp,
  withoutElasticIp,
} from '../domain/elastic-ip.js';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId, newId } from '../domain/ids.js';
import { type InstanceRecord, type Scope, networkInterfaceId } from '../domain/instance.js';
import { defaultNetworkOf, instanceAttachment } from '../domain/network.js';
import { paginate } from '../domain/paging.js';
import { wantsPublicIp } from '../domain/public-ip.js';
import { type Services, launchLock, publicIpSource } from '../services/context.js';
import {
  avoidingElasticIps,
  checkAllocationIds,
  drawElasticIpAddress,
  elasticIpsOf,
  findElasticIp,
  holderOf,
  holdersOf,
  visibleInstance,
} from '../services/elastic-ips.js';
import { tagList, tagRecordsOf, tagsFromSpecifications, type TagsById } from '../services/tags.js';
import { internetGatewaysOf } from '../services/vpcs.js';
import type { Revisioned, StoreReader } from '../store/types.js';
import { type Handler, checkDryRun, required } from './context.js';

const PUBLIC_IPV4_POOL = 'amazon';

function toAddress(e: ElasticIpRecord, holder: InstanceRecord | undefined, tags: TagsById): Address {
  const own = tags.get(e.id);
  const a = holder?.elasticIp;
  return {
    AllocationId: e.id,
    PublicIp: e.publicIp,
    Domain: ELASTIC_IP_DOMAIN,
    PublicIpv4Pool: PUBLIC_IPV4_POOL,
    NetworkBorderGroup: e.region,
    ...(holder && a
      ? {
          AssociationId: a.associationId,
          InstanceId: holder.id,
          NetworkInterfaceId: networkInterfaceId(holder),
          NetworkInterfaceOwnerId: holder.account,
          PrivateIpAddress: holder.privateIpAddress,
        }
      : {}),
    ...(own && own.size > 0 ? { Tags: tagList(own) } : {}),
  };
}

function addressFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<Address> {
  return {
    tags: (a) => tagsOf(a.AllocationId!),
    fields: {
      'allocation-id': (a) => a.AllocationId,
      'association-id': (a) => a.AssociationId,
      domain: (a) => a.Domain,
      'instance-id': (a) => a.InstanceId,
      'network-border-group': (a) => a.NetworkBorderGroup,
      'network-interface-id': (a) => a.NetworkInterfaceId,
      'network-interface-owner-id': (a) => a.NetworkInterfaceOwnerId,
      'private-ip-address': (a) => a.PrivateIpAddress,
      'public-ip': (a) => a.PublicIp,
      'public-ipv4-pool': (a) => a.PublicIpv4Pool,
    },
  };
}

/** A NetworkBorderGroup other than the Region: nestbox has no Local Zones or Wavelength Zones. */
function checkBorderGroup(action: string, group: string | undefined, region: string): void {
  if (group !== undefined && group !== region) {
    throw Errors.parameterNotImplemented(action, `NetworkBorderGroup=${group}`, `nestbox's addresses are advertised from the Region itself (${region})`);
  }
}

/** EC2-Classic named Elastic IPs by address; in a VPC they are named by allocation or association ID. */
const classicByAddress = (action: string, ip: string, by: 'AllocationId' | 'AssociationId') =>
  Errors.parameterNotImplemented(action, `PublicIp=${ip}`, `EC2-Classic has been retired and nestbox names Elastic IP addresses by ${by}`);

export const allocateAddress: Handler<AllocateAddressRequest, AllocateAddressResult> = async (input, ctx, s) => {
  if (input.Domain === 'standard') throw Errors.standardDomain();
  if (input.Domain !== undefined && input.Domain !== ELASTIC_IP_DOMAIN) throw Errors.invalidValueFor('Domain', input.Domain);
  if (input.Address !== undefined) {
    throw Errors.parameterNotImplemented('AllocateAddress', `Address=${input.Address}`, 'a released address is not recovered: each allocation draws a new one from the pool');
  }
  if (input.PublicIpv4Pool !== undefined && input.PublicIpv4Pool !== PUBLIC_IPV4_POOL) {
    throw Errors.parameterNotImplemented('AllocateAddress', `PublicIpv4Pool=${input.PublicIpv4Pool}`, "nestbox has no BYOIP pools, only Amazon's ('amazon')");
  }
  if (input.CustomerOwnedIpv4Pool !== undefined) {
    throw Errors.parameterNotImplemented('AllocateAddress', 'CustomerOwnedIpv4Pool', 'nestbox has no Outposts');
  }
  if (input.IpamPoolId !== undefined) throw Errors.parameterNotImplemented('AllocateAddress', 'IpamPoolId', 'nestbox has no IPAM pools');
  checkBorderGroup('AllocateAddress', input.NetworkBorderGroup, ctx.region);
  const tags = tagsFromSpecifications(input.TagSpecifications, 'elastic-ip', ['elastic-ip']);
  checkDryRun(input);
  const rec: ElasticIpRecord = {
    id: newId('elasticIp'),
    account: ctx.account,
    region: ctx.region,
    publicIp: await drawElasticIpAddress(s),
    allocationTime: s.now().toISOString(),
  };
  await s.store.transaction(
    async (tx) => {
      if ((await elasticIpsOf(s, ctx, tx)).length >= ELASTIC_IPS_PER_REGION) throw Errors.addressLimitExceeded();
      tx.write({
        putResources: [{ kind: 'elastic-ip', doc: rec }],
        putTags: tagRecordsOf(ctx, rec.id, 'elastic-ip', tags),
      });
    },
    { lock: launchLock(ctx) },
  );
  return { AllocationId: rec.id, PublicIp: rec.publicIp, Domain: ELASTIC_IP_DOMAIN, PublicIpv4Pool: PUBLIC_IPV4_POOL, NetworkBorderGroup: ctx.region };
};

/** What AssociateAddress names: the instance, by its ID or its primary interface's. */
interface Target {
  readonly instanceId: string;
  readonly eniId?: string | undefined;
}

function targetOf(input: AssociateAddressRequest): Target {
  const { InstanceId: instanceId, NetworkInterfaceId: eniId } = input;
  if (instanceId === undefined && eniId === undefined) {
    throw Errors.missingParameter('InstanceId or NetworkInterfaceId');
  }
  if (instanceId !== undefined && eniId !== undefined) {
    throw Errors.invalidParameterCombination('The parameters InstanceId and NetworkInterfaceId cannot be used together: name the instance or its network interface');
  }
  if (eniId !== undefined) {
    if (!isWellFormedId('networkInterface', eniId)) throw Errors.networkInterfaceIdMalformed(eniId);
    return { instanceId: instanceIdOfInterface(eniId), eniId };
  }
  if (!isWellFormedId('instance', instanceId!)) throw Errors.instanceIdMalformed(instanceId!);
  return { instanceId: instanceId! };
}

/** The instance AssociateAddress names, with EC2's errors for one that is missing or in the wrong state. */
async function targetInstance(s: Services, scope: Scope, target: Target, reader: StoreReader): Promise<InstanceRecord & Revisioned> {
  // An interface of its own is associated through the instance whose primary interface it is.
  const stored = target.eniId !== undefined ? await reader.resource('network-interface', target.eniId) : undefined;
  if (stored && stored.account === scope.account && stored.region === scope.region) {
    if (stored.attachment?.deviceIndex !== 0) {
      throw Errors.parameterNotImplemented('AssociateAddress', `NetworkInterfaceId=${target.eniId}`, "Elastic IPs are associated with an instance's primary network interface only");
    }
    target = { instanceId: stored.attachment.instanceId, eniId: target.eniId };
  }
  const rec = await visibleInstance(s, scope, target.instanceId, reader);
  // A terminated instance has no network interface any more.
  if (!rec || (target.eniId !== undefined && rec.state === 'terminated')) {
    throw target.eniId !== undefined ? Errors.networkInterfaceIdNotFound(target.eniId) : Errors.instanceIdNotFound([target.instanceId]);
  }
  if (!ASSOCIABLE_STATES.has(rec.state)) {
    throw target.eniId !== undefined ? Errors.interfaceInstanceNotAssociable(target.eniId, rec.state) : Errors.instanceNotAssociable(rec.id, rec.state);
  }
  return rec;
}

/** A new automatic address for an instance losing its Elastic IP, drawn only when it needs one. */
async function addressSourceFor(s: Services, recs: readonly InstanceRecord[]): Promise<(() => string) | undefined> {
  const needing = recs.filter((r) => (r.state === 'pending' || r.state === 'running') && wantsPublicIp(r)).length;
  if (needing === 0) return undefined;
  const source = await avoidingElasticIps(s, await publicIpSource(s, needing));
  return () => source.next();
}

export const associateAddress: Handler<AssociateAddressRequest, AssociateAddressResult> = async (input, ctx, s) => {
  if (input.AllocationId === undefined && input.PublicIp !== undefined) throw classicByAddress('AssociateAddress', input.PublicIp, 'AllocationId');
  const allocationId = required(input.AllocationId, 'AllocationId');
  const target = targetOf(input);
  checkAllocationIds([allocationId]);
  await findElasticIp(s, ctx, allocationId);
  await targetInstance(s, ctx, target, s.store);
  checkDryRun(input);
  return s.store.transaction(
    async (tx) => {
      const eip = await findElasticIp(s, ctx, allocationId, tx);
      const rec = await targetInstance(s, ctx, target, tx);
      const eniId = networkInterfaceId(rec);
      if (input.PrivateIpAddress !== undefined && input.PrivateIpAddress !== rec.privateIpAddress) {
        throw Errors.privateIpNotOnInterface(input.PrivateIpAddress, eniId);
      }
      // The default VPC always has its gateway; another VPC needs one attached.
      const { vpcId } = instanceAttachment(rec);
      if (vpcId !== defaultNetworkOf(ctx).vpcId && !(await internetGatewaysOf(s, ctx, tx)).some((g) => g.vpcId === vpcId)) {
        throw Errors.vpcWithoutGateway(vpcId);
      }
      const holder = await holderOf(eip, tx);
      if (holder?.id === rec.id) return { AssociationId: holder.elasticIp!.associationId };
      if (holder && input.AllowReassociation !== true) throw Errors.addressAlreadyAssociated(eip.id, holder.elasticIp!.associationId);
      // The instance it leaves gets its automatic address back, as a disassociation would give it.
      const moved = holder ? withoutElasticIp(holder, await addressSourceFor(s, [holder])) : undefined;
      const association = { allocationId: eip.id, associationId: newId('eipAssociation'), publicIp: eip.publicIp };
      // The one leaving the address is written first: the unique index on held addresses sees one holder at a time.
      tx.write({ instances: [...(moved ? [moved] : []), withElasticIp(rec, association)] });
      return { AssociationId: association.associationId };
    },
    { lock: launchLock(ctx) },
  );
};

/** The caller's Elastic IP whose association ID is `id`, and its instance (InvalidAssociationID.NotFound otherwise). */
async function findAssociation(s: Services, scope: Scope, id: string, reader: StoreReader): Promise<InstanceRecord & Revisioned> {
  if (isWellFormedId('eipAssociation', id)) {
    const holders = await holdersOf(await elasticIpsOf(s, scope, reader), reader);
    const holder = [...holders.values()].find((h) => h.elasticIp?.associationId === id);
    if (holder) return holder;
  }
  throw Errors.associationIdNotFound(id);
}

export const disassociateAddress: Handler<DisassociateAddressRequest, Record<string, never>> = async (input, ctx, s) => {
  if (input.AssociationId === undefined && input.PublicIp !== undefined) throw classicByAddress('DisassociateAddress', input.PublicIp, 'AssociationId');
  const id = required(input.AssociationId, 'AssociationId');
  await findAssociation(s, ctx, id, s.store);
  checkDryRun(input);
  await s.store.transaction(
    async (tx) => {
      const holder = await findAssociation(s, ctx, id, tx);
      tx.write({ instances: [withoutElasticIp(holder, await addressSourceFor(s, [holder]))] });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};

export const releaseAddress: Handler<ReleaseAddressRequest, Record<string, never>> = async (input, ctx, s) => {
  if (input.AllocationId === undefined && input.PublicIp !== undefined) throw classicByAddress('ReleaseAddress', input.PublicIp, 'AllocationId');
  const id = required(input.AllocationId, 'AllocationId');
  await findElasticIp(s, ctx, id);
  checkBorderGroup('ReleaseAddress', input.NetworkBorderGroup, ctx.region);
  checkDryRun(input);
  await s.store.transaction(
    async (tx) => {
      const eip = await findElasticIp(s, ctx, id, tx);
      const holder = await holderOf(eip, tx);
      // In the default VPC a release disassociates first; elsewhere the address must be disassociated.
      if (holder && instanceAttachment(holder).vpcId !== defaultNetworkOf(ctx).vpcId) throw Errors.addressInUse(eip.publicIp);
      tx.write({
        ...(holder ? { instances: [withoutElasticIp(holder, await addressSourceFor(s, [holder]))] } : {}),
        deleteResources: [{ kind: 'elastic-ip', id: eip.id }],
      });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};

export const describeAddresses: Handler<DescribeAddressesRequest, DescribeAddressesResult> = async (input, ctx, s) => {
  const ids = input.AllocationIds ?? [];
  const ips = input.PublicIps ?? [];
  checkAllocationIds(ids);
  let tags: TagsById = new Map();
  const predicate = compileFilters(addressFilters((id) => tags.get(id)), input.Filters);
  const all = await elasticIpsOf(s, ctx);
  const missingIds = [...new Set(ids)].filter((id) => !all.some((e) => e.id === id));
  if (missingIds.length > 0) throw Errors.allocationIdNotFound(missingIds);
  const missingIps = [...new Set(ips)].filter((ip) => !all.some((e) => e.publicIp === ip));
  if (missingIps.length > 0) throw Errors.addressNotFound(missingIps);
  checkDryRun(input);
  const named = all.filter((e) => (ids.length === 0 || ids.includes(e.id)) && (ips.length === 0 || ips.includes(e.publicIp)));
  const [holders, tagged] = await Promise.all([holdersOf(named, s.store), s.store.tagsOfMany(named.map((e) => e.id))]);
  tags = tagged;
  return { Addresses: named.map((e) => toAddress(e, holders.get(e.id), tags)).filter(predicate) };
};

const ATTRIBUTE_PAGE_LIMITS = { min: 1, max: 1000 };

/** DescribeAddressesAttribute: each address's reverse DNS record, which nestbox never sets (no PtrRecord). */
export const describeAddressesAttribute: Handler<DescribeAddressesAttributeRequest, DescribeAddressesAttributeResult> = async (input, ctx, s) => {
  const ids = input.AllocationIds ?? [];
  checkAllocationIds(ids);
  if (input.Attribute !== undefined && input.Attribute !== 'domain-name') throw Errors.invalidValueFor('Attribute', input.Attribute);
  const all = await elasticIpsOf(s, ctx);
  const missing = [...new Set(ids)].filter((id) => !all.some((e) => e.id === id));
  if (missing.length > 0) throw Errors.allocationIdNotFound(missing);
  checkDryRun(input);
  const named = ids.length === 0 ? all : all.filter((e) => ids.includes(e.id));
  const items: AddressAttribute[] = named.map((e) => ({ AllocationId: e.id, PublicIp: e.publicIp }));
  const page = paginate(items, input, ATTRIBUTE_PAGE_LIMITS, { ids, attribute: input.Attribute });
  return { Addresses: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
