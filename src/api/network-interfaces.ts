/**
 * Network interfaces: CreateNetworkInterface, DeleteNetworkInterface, DescribeNetworkInterfaces,
 * Attach/DetachNetworkInterface, Modify/DescribeNetworkInterfaceAttribute, Assign/
 * UnassignPrivateIpAddresses. The records and rules: src/domain/network-interface.ts; lookups and the
 * addresses a subnet has in use: src/services/network-interfaces.ts. Every change holds the Region's
 * launch lock, as launches and network changes do, so an address, a device index or an interface is
 * never taken twice.
 *
 * EC2's behaviour, as its API reference describes it:
 *   - an interface lives in one subnet, with the subnet VPC's groups (its `default` group when none is
 *     named), a primary private address (named, or the subnet's next free one) and secondary ones;
 *   - it is attached to one instance at a time, in the same zone and VPC, at a device index not in use
 *     and within the instance type's interface limit; the primary interface (device index 0) is never
 *     detached, and an attached interface is not deleted (InvalidNetworkInterface.InUse);
 *   - an instance's own primary interface is listed, changed and tagged like any other.
 *
 * With the qemu driver, a VM's NIC is its primary interface: interfaces attached at other device indexes
 * and secondary addresses are recorded and shown, not plugged into the guest.
 */
import type {
  AssignPrivateIpAddressesRequest,
  AssignPrivateIpAddressesResult,
  AttachNetworkInterfaceRequest,
  AttachNetworkInterfaceResult,
  CreateNetworkInterfaceRequest,
  CreateNetworkInterfaceResult,
  DeleteNetworkInterfaceRequest,
  DescribeNetworkInterfaceAttributeRequest,
  DescribeNetworkInterfaceAttributeResult,
  DescribeNetworkInterfacesRequest,
  DescribeNetworkInterfacesResult,
  DetachNetworkInterfaceRequest,
  ModifyNetworkInterfaceAttributeRequest,
  NetworkInterface,
  UnassignPrivateIpAddressesRequest,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { newId } from '../domain/ids.js';
import type { InstanceGroup, InstanceRecord, Scope } from '../domain/instance.js';
import { type NetworkInterfaceRecord, addressesOf, checkDescription, checkRequestedAddress } from '../domain/network-interface.js';
import { defaultNetworkOf, macAddress } from '../domain/network.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import { checkCount } from '../domain/request.js';
import { type Services, launchLock } from '../services/context.js';
import {
  type FoundInterface,
  addressesInUseToTake,
  checkInterfaceIds,
  factsOf,
  findInterface,
  findInterfaces,
  freeAddressesIn,
  storedInterfacesOf,
} from '../services/network-interfaces.js';
import { type InterfaceFacts, primaryInterfaceFacts, storedInterfaceFacts, toNetworkInterface } from '../services/network.js';
import { NO_TAGS, type TagsById, tagRecordsOf, tagsFromSpecifications } from '../services/tags.js';
import { findSecurityGroups, findSubnet, findVpc } from '../services/vpcs.js';
import type { Changes, StoreReader, StoreTransaction } from '../store/types.js';
import { type Handler, checkDryRun, required } from './context.js';
import { findInstances } from '../services/instances.js';

// --- shared checks ------------------------------------------------------------------------------------

/** The groups an interface gets: those named, all in the subnet's VPC, or the VPC's `default` group. */
async function interfaceGroups(s: Services, scope: Scope, ids: readonly string[], vpcId: string, subnetId: string, reader: StoreReader): Promise<InstanceGroup[]> {
  if (ids.length === 0) {
    const net = defaultNetworkOf(scope);
    const id = vpcId === net.vpcId ? net.securityGroupId : (await findVpc(s, scope, vpcId, reader)).defaultSecurityGroupId;
    return [{ id, name: 'default' }];
  }
  const groups = await findSecurityGroups(s, scope, ids, reader);
  for (const g of groups) if (g.vpcId !== vpcId) throw Errors.groupAndSubnetInDifferentVpcs(g.id, subnetId);
  return groups.map((g) => ({ id: g.id, name: g.name }));
}

/** The instance type's limit on private IPv4 addresses per interface (1 when the catalog does not say). */
const addressLimit = (s: Services, instanceType: string | undefined): number =>
  (instanceType === undefined ? undefined : s.catalog.info(instanceType)?.NetworkInfo?.Ipv4AddressesPerInterface) ?? 50;

/** A found interface as it is written back: the instance record for a primary one (with its stored record, if any), else the stored record. */
function writeInterface(found: FoundInterface, change: { rec?: (r: InstanceRecord) => InstanceRecord; eni?: (e: NetworkInterfaceRecord) => NetworkInterfaceRecord }): Changes {
  const instance = found.kind === 'primary' ? found.instance : found.instance?.primaryInterface?.id === found.rec.id ? found.instance : undefined;
  const stored = found.kind === 'stored' ? found.rec : undefined;
  return {
    ...(instance && change.rec ? { instances: [change.rec(instance)] } : {}),
    ...(stored && change.eni ? { putResources: [{ kind: 'network-interface' as const, doc: change.eni(stored) }] } : {}),
  };
}

/** An interface whose instance must be running or stopped for the change (EC2 answers IncorrectState otherwise). */
function checkNotInTransition(found: FoundInterface): void {
  const instance = found.kind === 'primary' ? found.instance : found.instance;
  if (instance && instance.state !== 'running' && instance.state !== 'stopped') {
    throw Errors.interfaceInstanceNotAssociable(factsOf(found).id, instance.state);
  }
}

// --- CreateNetworkInterface / DeleteNetworkInterface ---------------------------------------------------

export const createNetworkInterface: Handler<CreateNetworkInterfaceRequest, CreateNetworkInterfaceResult> = async (input, ctx, s) => {
  const subnetId = required(input.SubnetId, 'SubnetId');
  for (const [member, value] of [
    ['Ipv6AddressCount', input.Ipv6AddressCount],
    ['Ipv6Addresses', input.Ipv6Addresses?.length ? input.Ipv6Addresses : undefined],
    ['Ipv4PrefixCount', input.Ipv4PrefixCount],
    ['Ipv4Prefixes', input.Ipv4Prefixes?.length ? input.Ipv4Prefixes : undefined],
    ['Ipv6PrefixCount', input.Ipv6PrefixCount],
    ['Ipv6Prefixes', input.Ipv6Prefixes?.length ? input.Ipv6Prefixes : undefined],
    ['EnablePrimaryIpv6', input.EnablePrimaryIpv6 ? true : undefined],
    ['ConnectionTrackingSpecification', input.ConnectionTrackingSpecification],
    ['Operator', input.Operator],
  ] as const) {
    if (value !== undefined) throw Errors.parameterNotImplemented('CreateNetworkInterface', member, 'nestbox interfaces have private IPv4 addresses only');
  }
  if (input.InterfaceType !== undefined) {
    throw Errors.parameterNotImplemented('CreateNetworkInterface', `InterfaceType=${input.InterfaceType}`, 'nestbox has plain ENIs only');
  }
  const description = checkDescription(input.Description);
  const tags = tagsFromSpecifications(input.TagSpecifications, 'network-interface', ['network-interface']);
  const subnet = await findSubnet(s, ctx, subnetId);
  const vpc = await findVpc(s, ctx, subnet.vpcId);
  const within = { subnetId: subnet.id, subnetCidr: subnet.cidrBlock };
  const listed = input.PrivateIpAddresses ?? [];
  const primaries = listed.filter((a) => a.Primary === true);
  if (primaries.length > 1 || (input.PrivateIpAddress !== undefined && primaries[0] && primaries[0].PrivateIpAddress !== input.PrivateIpAddress)) {
    throw Errors.invalidParameterValue('Only one primary private IPv4 address may be given.');
  }
  const primaryIp = input.PrivateIpAddress ?? primaries[0]?.PrivateIpAddress;
  if (primaryIp !== undefined) checkRequestedAddress(within, primaryIp, 'PrivateIpAddress');
  const secondaries = listed.filter((a) => a.Primary !== true).map((a) => checkRequestedAddress(within, required(a.PrivateIpAddress, 'PrivateIpAddresses.N.PrivateIpAddress'), 'PrivateIpAddresses.N.PrivateIpAddress'));
  const count = checkCount(input.SecondaryPrivateIpAddressCount, 'SecondaryPrivateIpAddressCount') ?? 0;
  if (count > 0 && secondaries.length > 0) {
    throw Errors.invalidParameterCombination('SecondaryPrivateIpAddressCount and secondary addresses in PrivateIpAddresses may not both be given.');
  }
  await interfaceGroups(s, ctx, input.Groups ?? [], subnet.vpcId, subnet.id, s.store);
  checkDryRun(input);
  const id = newId('networkInterface');
  const rec = await s.store.transaction(
    async (tx) => {
      await findSubnet(s, ctx, subnetId, tx);
      const groups = await interfaceGroups(s, ctx, input.Groups ?? [], subnet.vpcId, subnet.id, tx);
      const used = await addressesInUseToTake(s, tx, ctx, subnet.id);
      for (const ip of [...(primaryIp !== undefined ? [primaryIp] : []), ...secondaries]) {
        if (used.has(ip)) throw Errors.addressInUse(ip);
        used.add(ip);
      }
      const free = freeAddressesIn(within, used, (primaryIp === undefined ? 1 : 0) + count);
      const doc: NetworkInterfaceRecord = {
        id,
        account: ctx.account,
        region: ctx.region,
        availabilityZone: subnet.availabilityZone,
        vpcId: subnet.vpcId,
        vpcCidr: vpc.cidrBlock,
        subnetId: subnet.id,
        subnetCidr: subnet.cidrBlock,
        description,
        groups,
        privateIp: primaryIp ?? free.shift()!,
        secondaryIps: [...secondaries, ...free],
        mac: macAddress({ id }),
        createTime: s.now().toISOString(),
      };
      tx.write({ putResources: [{ kind: 'network-interface', doc }], putTags: tagRecordsOf(ctx, id, 'network-interface', tags) });
      return doc;
    },
    { lock: launchLock(ctx) },
  );
  return { NetworkInterface: toNetworkInterface(storedInterfaceFacts(rec), new Map(tags.map((t) => [t.key, t.value]))) };
};

export const deleteNetworkInterface: Handler<DeleteNetworkInterfaceRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.NetworkInterfaceId, 'NetworkInterfaceId');
  await findInterface(s, ctx, id);
  checkDryRun(input);
  await s.store.transaction(
    async (tx) => {
      const found = await findInterface(s, ctx, id, tx);
      if (found.kind === 'primary' || found.rec.attachment) throw Errors.networkInterfaceInUse(id);
      tx.write({ deleteResources: [{ kind: 'network-interface', id }] });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};

// --- DescribeNetworkInterfaces ---------------------------------------------------------------------------

function interfaceFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<InterfaceFacts> {
  const ips = (f: InterfaceFacts) => [f.privateIp, ...f.secondaryIps];
  return {
    tags: (f) => tagsOf(f.id),
    fields: {
      'network-interface-id': (f) => f.id,
      'subnet-id': (f) => f.subnetId,
      'vpc-id': (f) => f.vpcId,
      'availability-zone': (f) => f.availabilityZone,
      description: (f) => f.description,
      'mac-address': (f) => f.mac,
      'owner-id': (f) => f.account,
      status: (f) => (f.attachment ? 'in-use' : 'available'),
      'interface-type': () => 'interface',
      'requester-managed': () => false,
      'source-dest-check': (f) => f.sourceDestCheck,
      'group-id': (f) => f.groups.map((g) => g.id),
      'group-name': (f) => f.groups.map((g) => g.name),
      'private-ip-address': ips,
      'addresses.private-ip-address': ips,
      'addresses.primary': (f) => [true, ...f.secondaryIps.map(() => false)],
      'private-dns-name': (f) => `ip-${f.privateIp.replaceAll('.', '-')}`,
      'attachment.instance-id': (f) => f.attachment?.instanceId,
      'attachment.instance-owner-id': (f) => (f.attachment ? f.account : undefined),
      'attachment.attachment-id': (f) => f.attachment?.attachmentId,
      'attachment.device-index': (f) => f.attachment?.deviceIndex,
      'attachment.status': (f) => (f.attachment ? 'attached' : undefined),
      'attachment.delete-on-termination': (f) => f.attachment?.deleteOnTermination,
      'association.public-ip': (f) => f.association?.PublicIp,
      'association.ip-owner-id': (f) => f.association?.IpOwnerId,
    },
  };
}

/** Every interface of the caller's in the Region: instances' primary ones (in launch order), then the stored ones not primary. */
async function allInterfaces(s: Services, scope: Scope): Promise<InterfaceFacts[]> {
  const [instances, stored] = await Promise.all([
    s.store.instances({ account: scope.account, region: scope.region, states: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] }),
    storedInterfacesOf(s, scope),
  ]);
  const storedById = new Map(stored.map((e) => [e.id, e]));
  const primaries = instances.flatMap((r) => primaryInterfaceFacts(r, r.primaryInterface && storedById.get(r.primaryInterface.id)) ?? []);
  const primaryIds = new Set(primaries.map((f) => f.id));
  return [...primaries, ...stored.filter((e) => !primaryIds.has(e.id)).map(storedInterfaceFacts)];
}

export const describeNetworkInterfaces: Handler<DescribeNetworkInterfacesRequest, DescribeNetworkInterfacesResult> = async (input, ctx, s) => {
  const ids = input.NetworkInterfaceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter networkInterfaceIdSet cannot be used with the parameter maxResults');
  }
  checkInterfaceIds(ids);
  let tags: TagsById = new Map();
  const predicate = compileFilters(interfaceFilters((id) => tags.get(id)), input.Filters);
  const facts = ids.length > 0 ? (await findInterfaces(s, ctx, ids)).map(factsOf) : await allInterfaces(s, ctx);
  checkDryRun(input);
  tags = await s.store.tagsOfMany(facts.map((f) => f.id));
  const page = paginate(facts.filter(predicate), input, DESCRIBE_PAGE_LIMITS, { ids, f: input.Filters });
  const items: NetworkInterface[] = page.items.map((f) => toNetworkInterface(f, tags.get(f.id) ?? NO_TAGS));
  return { NetworkInterfaces: items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- Attach / Detach ---------------------------------------------------------------------------------------

export const attachNetworkInterface: Handler<AttachNetworkInterfaceRequest, AttachNetworkInterfaceResult> = async (input, ctx, s) => {
  const eniId = required(input.NetworkInterfaceId, 'NetworkInterfaceId');
  const instanceId = required(input.InstanceId, 'InstanceId');
  const deviceIndex = required(input.DeviceIndex, 'DeviceIndex');
  if (!Number.isInteger(deviceIndex) || deviceIndex < 0) throw Errors.invalidValueFor('DeviceIndex', deviceIndex);
  if (input.NetworkCardIndex !== undefined && input.NetworkCardIndex !== 0) {
    throw Errors.parameterNotImplemented('AttachNetworkInterface', `NetworkCardIndex=${input.NetworkCardIndex}`, 'nestbox instances have one network card');
  }
  if (input.EnaSrdSpecification !== undefined || input.EnaQueueCount !== undefined) {
    throw Errors.parameterNotImplemented('AttachNetworkInterface', 'ENA settings', 'nestbox interfaces have no ENA Express or queue settings');
  }
  await findInterface(s, ctx, eniId);
  await findInstances(s, ctx, [instanceId]);
  checkDryRun(input);
  return s.store.transaction(
    async (tx) => {
      const found = await findInterface(s, ctx, eniId, tx);
      if (found.kind === 'primary' || found.rec.attachment) throw Errors.networkInterfaceInUse(eniId);
      const eni = found.rec;
      const rec = await tx.instance(instanceId);
      if (!rec || rec.account !== ctx.account || rec.region !== ctx.region || rec.state === 'terminated') throw Errors.instanceIdNotFound([instanceId]);
      if (rec.state !== 'running' && rec.state !== 'stopped') throw Errors.incorrectInstanceState(rec.id, 'attach a network interface to', rec.state);
      if (rec.availabilityZone !== eni.availabilityZone) throw Errors.interfaceZoneMismatch();
      const primary = primaryInterfaceFacts(rec)!;
      if (primary.vpcId !== eni.vpcId) throw Errors.interfaceVpcMismatch(eni.id, rec.id);
      const attached = (await storedInterfacesOf(s, ctx, tx)).filter((e) => e.attachment?.instanceId === rec.id && e.id !== primary.id);
      if (deviceIndex === 0 || attached.some((e) => e.attachment!.deviceIndex === deviceIndex)) throw Errors.deviceIndexInUse(rec.id, deviceIndex);
      const max = s.catalog.info(rec.instanceType)?.NetworkInfo?.MaximumNetworkInterfaces ?? 1;
      if (attached.length + 2 > max) throw Errors.interfaceLimitExceeded(attached.length + 2, rec.instanceType);
      const attachmentId = newId('interfaceAttachment');
      const attachment = { instanceId: rec.id, attachmentId, deviceIndex, attachTime: s.now().toISOString(), deleteOnTermination: false };
      tx.write({ putResources: [{ kind: 'network-interface', doc: { ...eni, attachment } }] });
      return { AttachmentId: attachmentId, NetworkCardIndex: 0 };
    },
    { lock: launchLock(ctx) },
  );
};

/** The stored interface whose (live) attachment has this ID, or undefined. */
async function byAttachment(s: Services, scope: Scope, attachmentId: string, reader: StoreReader): Promise<{ eni?: NetworkInterfaceRecord; primary?: InstanceRecord }> {
  const eni = (await storedInterfacesOf(s, scope, reader)).find((e) => e.attachment?.attachmentId === attachmentId);
  if (eni) return { eni };
  // A derived primary interface's attachment: `eni-attach-` and its instance's digits.
  const digits = attachmentId.slice('eni-attach-'.length);
  const rec = /^[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(digits) ? await reader.instance(`i-${digits}`) : undefined;
  if (rec && rec.account === scope.account && rec.region === scope.region && rec.state !== 'terminated' && !rec.primaryInterface) return { primary: rec };
  return {};
}

export const detachNetworkInterface: Handler<DetachNetworkInterfaceRequest, Record<string, never>> = async (input, ctx, s) => {
  const attachmentId = required(input.AttachmentId, 'AttachmentId');
  const lookup = async (reader: StoreReader) => {
    const { eni, primary } = await byAttachment(s, ctx, attachmentId, reader);
    if (primary || eni?.attachment?.deviceIndex === 0) throw Errors.primaryInterfaceDetach();
    if (!eni) throw Errors.interfaceAttachmentNotFound(attachmentId);
    return eni;
  };
  await lookup(s.store);
  checkDryRun(input);
  await s.store.transaction(
    async (tx) => {
      const { attachment: _ended, ...eni } = await lookup(tx);
      tx.write({ putResources: [{ kind: 'network-interface', doc: eni }] });
    },
    { lock: launchLock(ctx) },
  );
  return {};
};

// --- attributes ------------------------------------------------------------------------------------------

export const modifyNetworkInterfaceAttribute: Handler<ModifyNetworkInterfaceAttributeRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.NetworkInterfaceId, 'NetworkInterfaceId');
  const given = (
    [
      ['description', input.Description],
      ['sourceDestCheck', input.SourceDestCheck],
      ['groupSet', input.Groups?.length ? input.Groups : undefined],
      ['attachment', input.Attachment],
    ] as const
  ).filter(([, v]) => v !== undefined);
  for (const member of ['EnaSrdSpecification', 'EnablePrimaryIpv6', 'ConnectionTrackingSpecification', 'AssociatePublicIpAddress', 'AssociatedSubnetIds'] as const) {
    if (input[member] !== undefined) throw Errors.parameterNotImplemented('ModifyNetworkInterfaceAttribute', member, 'nestbox interfaces have no such setting');
  }
  if (given.length === 0) throw Errors.missingParameter('Description, SourceDestCheck, Groups or Attachment');
  if (given.length > 1) throw Errors.multipleAttributes(given.map(([name]) => name));
  const description = input.Description && checkDescription(required(input.Description.Value, 'Description.Value'));
  const check = input.SourceDestCheck && required(input.SourceDestCheck.Value, 'SourceDestCheck.Value');
  await findInterface(s, ctx, id);
  checkDryRun(input);
  await s.store.transaction(
    async (tx: StoreTransaction) => {
      const found = await findInterface(s, ctx, id, tx);
      const facts = factsOf(found);
      if (description !== undefined) {
        // A derived primary interface's description is always '' (nestbox keeps none for it).
        if (found.kind === 'primary') {
          throw Errors.parameterNotImplemented('ModifyNetworkInterfaceAttribute', 'Description', "an instance's own primary interface keeps no description here");
        }
        tx.write(writeInterface(found, { eni: (e) => ({ ...e, description }) }));
      } else if (check !== undefined) {
        const value = check ? undefined : (false as const);
        tx.write(writeInterface(found, { rec: (r) => ({ ...r, sourceDestCheck: value }), eni: (e) => ({ ...e, sourceDestCheck: value }) }));
      } else if (input.Groups?.length) {
        const groups = await interfaceGroups(s, ctx, input.Groups, facts.vpcId, facts.subnetId, tx);
        const justDefault = groups.length === 1 && groups[0]!.id === defaultNetworkOf(ctx).securityGroupId;
        tx.write(writeInterface(found, { rec: (r) => ({ ...r, securityGroups: justDefault ? undefined : groups }), eni: (e) => ({ ...e, groups }) }));
      } else {
        const change = input.Attachment!;
        const attachmentId = required(change.AttachmentId, 'Attachment.AttachmentId');
        const deleteOnTermination = required(change.DeleteOnTermination, 'Attachment.DeleteOnTermination');
        if (facts.attachment?.attachmentId !== attachmentId) throw Errors.interfaceAttachmentNotFound(attachmentId);
        if (found.kind === 'primary') {
          throw Errors.parameterNotImplemented('ModifyNetworkInterfaceAttribute', 'Attachment.DeleteOnTermination', "an instance's own primary interface always goes with it");
        }
        tx.write(writeInterface(found, { eni: (e) => ({ ...e, attachment: { ...e.attachment!, deleteOnTermination } }) }));
      }
    },
    { lock: launchLock(ctx) },
  );
  return {};
};

export const describeNetworkInterfaceAttribute: Handler<DescribeNetworkInterfaceAttributeRequest, DescribeNetworkInterfaceAttributeResult> = async (
  input,
  ctx,
  s,
) => {
  const id = required(input.NetworkInterfaceId, 'NetworkInterfaceId');
  const attribute = required(input.Attribute, 'Attribute');
  if (!['description', 'groupSet', 'sourceDestCheck', 'attachment', 'associatePublicIpAddress'].includes(attribute)) {
    throw Errors.invalidValueFor('Attribute', attribute);
  }
  const found = await findInterface(s, ctx, id);
  checkDryRun(input);
  const view = toNetworkInterface(factsOf(found), NO_TAGS);
  switch (attribute) {
    case 'description':
      return { NetworkInterfaceId: id, Description: { Value: view.Description } };
    case 'groupSet':
      return { NetworkInterfaceId: id, Groups: view.Groups };
    case 'sourceDestCheck':
      return { NetworkInterfaceId: id, SourceDestCheck: { Value: view.SourceDestCheck } };
    case 'associatePublicIpAddress':
      return { NetworkInterfaceId: id, AssociatePublicIpAddress: view.Association !== undefined };
    default:
      return { NetworkInterfaceId: id, ...(view.Attachment ? { Attachment: view.Attachment } : {}) };
  }
};

// --- secondary private addresses ----------------------------------------------------------------------------

export const assignPrivateIpAddresses: Handler<AssignPrivateIpAddressesRequest, AssignPrivateIpAddressesResult> = async (input, ctx, s) => {
  const id = required(input.NetworkInterfaceId, 'NetworkInterfaceId');
  if (input.Ipv4Prefixes?.length || input.Ipv4PrefixCount !== undefined) {
    throw Errors.parameterNotImplemented('AssignPrivateIpAddresses', 'Ipv4Prefixes', 'nestbox interfaces have no delegated prefixes');
  }
  const named = input.PrivateIpAddresses ?? [];
  const count = checkCount(input.SecondaryPrivateIpAddressCount, 'SecondaryPrivateIpAddressCount') ?? 0;
  if (named.length === 0 && count === 0) throw Errors.missingParameter('PrivateIpAddress or SecondaryPrivateIpAddressCount');
  if (named.length > 0 && count > 0) {
    throw Errors.invalidParameterCombination('PrivateIpAddress and SecondaryPrivateIpAddressCount may not both be given.');
  }
  const first = factsOf(await findInterface(s, ctx, id));
  for (const ip of named) checkRequestedAddress(first, ip, 'PrivateIpAddress');
  return s.store.transaction(
    async (tx) => {
      const found = await findInterface(s, ctx, id, tx);
      checkNotInTransition(found);
      const facts = factsOf(found);
      const used = await addressesInUseToTake(s, tx, ctx, facts.subnetId);
      for (const ip of named) {
        if (addressesOf({ privateIp: facts.privateIp, secondaryIps: facts.secondaryIps }).includes(ip)) continue;
        // AllowReassignment moves an address from another interface; nestbox refuses to take one in use.
        if (used.has(ip)) throw Errors.addressInUse(ip);
      }
      const added = [...named.filter((ip) => ip !== facts.privateIp && !facts.secondaryIps.includes(ip)), ...freeAddressesIn(facts, used, count)];
      const secondaryIps = [...facts.secondaryIps, ...added];
      const max = addressLimit(s, found.kind === 'primary' ? found.instance.instanceType : found.instance?.instanceType);
      if (1 + secondaryIps.length > max) throw Errors.privateAddressLimitExceeded(id, max);
      tx.write(writeInterface(found, { rec: (r) => (found.kind === 'primary' ? { ...r, secondaryPrivateIps: secondaryIps } : r), eni: (e) => ({ ...e, secondaryIps }) }));
      return { NetworkInterfaceId: id, AssignedPrivateIpAddresses: added.map((ip) => ({ PrivateIpAddress: ip })), AssignedIpv4Prefixes: [] };
    },
    { lock: launchLock(ctx) },
  );
};

export const unassignPrivateIpAddresses: Handler<UnassignPrivateIpAddressesRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.NetworkInterfaceId, 'NetworkInterfaceId');
  if (input.Ipv4Prefixes?.length) throw Errors.parameterNotImplemented('UnassignPrivateIpAddresses', 'Ipv4Prefixes', 'nestbox interfaces have no delegated prefixes');
  const named = required(input.PrivateIpAddresses, 'PrivateIpAddress');
  await findInterface(s, ctx, id);
  await s.store.transaction(
    async (tx) => {
      const found = await findInterface(s, ctx, id, tx);
      const facts = factsOf(found);
      for (const ip of named) {
        if (ip === facts.privateIp) throw Errors.primaryAddressUnassign(ip);
        if (!facts.secondaryIps.includes(ip)) throw Errors.privateIpNotOnInterface(ip, id);
      }
      const secondaryIps = facts.secondaryIps.filter((ip) => !named.includes(ip));
      tx.write(
        writeInterface(found, {
          rec: (r) => (found.kind === 'primary' ? { ...r, secondaryPrivateIps: secondaryIps.length > 0 ? secondaryIps : undefined } : r),
          eni: (e) => ({ ...e, secondaryIps }),
        }),
      );
    },
    { lock: launchLock(ctx) },
  );
  return {};
};
