/**
 * Network interfaces as requests find them — stored ones (src/domain/network-interface.ts) and the
 * primary interfaces derived from instances — and the private addresses a subnet has in use, from which
 * new interfaces and launches take theirs.
 */
import { Errors } from '../domain/errors.js';
import { isWellFormedId } from '../domain/ids.js';
import { type InstanceRecord, type InstanceSubnet, type Scope, derivedInterfaceId, privateIpFor } from '../domain/instance.js';
import type { StateName } from '../domain/lifecycle.js';
import { type NetworkInterfaceRecord, addressesOf, standing } from '../domain/network-interface.js';
import { defaultNetworkOf, instanceAttachment } from '../domain/network.js';
import { addressText, parseCidr, usableAddresses } from '../domain/vpc.js';
import type { Revisioned, StoreReader } from '../store/types.js';
import type { Services } from './context.js';
import { type InterfaceFacts, primaryInterfaceFacts, storedInterfaceFacts } from './network.js';

type Stored<T> = T & Revisioned;

/** Checks network interface IDs' syntax (`eni-` and 8 or 17 hex digits). */
export function checkInterfaceIds(ids: readonly string[]): void {
  for (const id of ids) if (!isWellFormedId('networkInterface', id)) throw Errors.networkInterfaceIdMalformed(id);
}

/** The instances these interfaces' attachments name, by ID (as `reader` reads them). */
async function attachedInstances(reader: StoreReader, scope: Scope, enis: readonly NetworkInterfaceRecord[]): Promise<Map<string, Stored<InstanceRecord>>> {
  const ids = [...new Set(enis.flatMap((e) => (e.attachment ? [e.attachment.instanceId] : [])))];
  if (ids.length === 0) return new Map();
  return new Map((await reader.instances({ account: scope.account, region: scope.region, ids })).map((r) => [r.id, r]));
}

/** The caller's stored interfaces in its Region as they stand (attachments ended by termination resolved), in creation order. */
export async function storedInterfacesOf(s: Services, scope: Scope, reader: StoreReader = s.store): Promise<Stored<NetworkInterfaceRecord>[]> {
  const all = await reader.resources('network-interface', { account: scope.account, region: scope.region });
  if (all.length === 0) return all;
  const instances = await attachedInstances(reader, scope, all);
  return all.flatMap((e) => standing(e, (id) => instances.get(id)) ?? []);
}

/** The stored interfaces attached to each of these instances, by instance ID. */
export async function interfacesAttachedTo(
  s: Services,
  scope: Scope,
  instances: readonly InstanceRecord[],
  reader: StoreReader = s.store,
): Promise<Map<string, NetworkInterfaceRecord[]>> {
  const out = new Map<string, NetworkInterfaceRecord[]>();
  if (instances.length === 0) return out;
  const all = await reader.resources('network-interface', { account: scope.account, region: scope.region });
  if (all.length === 0) return out;
  const byId = new Map(instances.map((r) => [r.id, r]));
  for (const eni of all) {
    const a = eni.attachment;
    const rec = a && byId.get(a.instanceId);
    if (!rec || rec.state === 'terminated') continue;
    out.set(rec.id, [...(out.get(rec.id) ?? []), eni]);
  }
  return out;
}

/** A network interface a request names: a stored one (with its instance while attached), or an instance's derived primary. */
export type FoundInterface =
  | { readonly kind: 'stored'; readonly rec: Stored<NetworkInterfaceRecord>; readonly instance: Stored<InstanceRecord> | undefined }
  | { readonly kind: 'primary'; readonly instance: Stored<InstanceRecord> };

/** The facts a found interface shows (src/services/network.ts). */
export const factsOf = (found: FoundInterface): InterfaceFacts =>
  found.kind === 'primary'
    ? primaryInterfaceFacts(found.instance)!
    : found.instance?.primaryInterface?.id === found.rec.id
      ? primaryInterfaceFacts(found.instance, found.rec)!
      : storedInterfaceFacts(found.rec);

/**
 * Every ID well-formed, then every interface found in the caller's scope — or the EC2 error naming the
 * first missing one; in the order named, each once. A derived primary interface is found while its
 * instance is not terminated.
 */
export async function findInterfaces(s: Services, scope: Scope, ids: readonly string[], reader: StoreReader = s.store): Promise<FoundInterface[]> {
  checkInterfaceIds(ids);
  const unique = [...new Set(ids)];
  const docs = await Promise.all(unique.map((id) => reader.resource('network-interface', id)));
  const stored = docs.flatMap((d) => (d && d.account === scope.account && d.region === scope.region ? [d] : []));
  const instances = await attachedInstances(reader, scope, stored);
  const found: FoundInterface[] = [];
  for (const [i, id] of unique.entries()) {
    const doc = docs[i];
    const rec = doc && stored.includes(doc) ? standing(doc, (x) => instances.get(x)) : undefined;
    if (rec) {
      found.push({ kind: 'stored', rec, instance: rec.attachment && instances.get(rec.attachment.instanceId) });
      continue;
    }
    const instance = await reader.instance(`i-${id.slice('eni-'.length)}`);
    if (
      instance &&
      instance.account === scope.account &&
      instance.region === scope.region &&
      instance.state !== 'terminated' &&
      derivedInterfaceId(instance) === id &&
      instance.primaryInterface === undefined
    ) {
      found.push({ kind: 'primary', instance });
      continue;
    }
    throw Errors.networkInterfaceIdNotFound(id);
  }
  return found;
}

/** One interface by ID (Malformed / NotFound otherwise). */
export async function findInterface(s: Services, scope: Scope, id: string, reader: StoreReader = s.store): Promise<FoundInterface> {
  return (await findInterfaces(s, scope, [id], reader))[0]!;
}

// --- private addresses in use -------------------------------------------------------------------------

const HOLDING_ADDRESS: readonly StateName[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

/**
 * The private addresses in use in a subnet: those of the instances holding one (their primary
 * interface's, with its secondaries) and of the stored interfaces in it. Read under the Region's launch
 * lock by every writer, so nothing takes an address between this read and the write.
 */
export async function addressesInUse(reader: StoreReader, scope: Scope, subnetId: string): Promise<Set<string>> {
  const [holders, enis] = await Promise.all([
    reader.instances({ account: scope.account, region: scope.region, states: HOLDING_ADDRESS }),
    reader.resources('network-interface', { account: scope.account, region: scope.region }),
  ]);
  const used = new Set<string>();
  const live = new Map<string, InstanceRecord>();
  for (const r of holders) {
    live.set(r.id, r);
    if (instanceAttachment(r).subnetId !== subnetId) continue;
    used.add(r.privateIpAddress);
    for (const ip of r.secondaryPrivateIps ?? []) used.add(ip);
  }
  for (const e of enis) {
    if (e.subnetId === subnetId && standing(e, (id) => live.get(id))) for (const ip of addressesOf(e)) used.add(ip);
  }
  return used;
}

/**
 * `count` free private addresses of a subnet, the lowest free ones from position `start` of its usable
 * range, wrapping around; InsufficientFreeAddressesInSubnet when there are not as many.
 */
export function freeAddressesIn(subnet: Pick<InstanceSubnet, 'subnetId' | 'subnetCidr'>, used: ReadonlySet<string>, count: number, start = 0): string[] {
  const cidr = parseCidr(subnet.subnetCidr)!;
  const size = usableAddresses(cidr);
  const out: string[] = [];
  for (let k = 0; k < size && out.length < count; k++) {
    const address = addressText(cidr.base + 4 + ((start + k) % size));
    if (!used.has(address)) out.push(address);
  }
  if (out.length < count) throw Errors.insufficientFreeAddresses(subnet.subnetId);
  return out;
}

// --- default subnets: addresses from a sequence while it can --------------------------------------------

/**
 * A default subnet's launches take the addresses of a sequence of its own (`privateIpFor`: 4,000
 * positions, last octets 4 to 253), one position per instance, so a plain launch reads nothing: while
 * the sequence is in its first cycle and nothing else took an address there, every position is an
 * address no one holds. Once the sequence has come round, or an address was taken outside it (named
 * at launch, an interface of its own, a secondary address: `addressesInUseToTake`), the subnet's launches
 * read its addresses in use and take free ones, as a user's subnet does.
 */
export const ADDRESS_CYCLE = 16 * 250;
const addressSequence = (subnetId: string): string => `private-ip/${subnetId}`;

export const isDefaultSubnet = (scope: Scope, subnetId: string): boolean => defaultNetworkOf(scope).subnets.some((x) => x.id === subnetId);

/** The first of `count` positions of a default subnet's address sequence. */
export const addressPositions = (s: Services, subnetId: string, count: number): Promise<number> =>
  s.store.sequence(addressSequence(subnetId), count).then((first) => first - 1);

/** Marks a default subnet as holding addresses outside its sequence: from now on its launches read what is in use. */
async function leaveSequence(s: Services, scope: Scope, subnetId: string): Promise<void> {
  if (isDefaultSubnet(scope, subnetId)) await s.store.sequence(addressSequence(subnetId), ADDRESS_CYCLE);
}

/**
 * The addresses in use in a subnet, for a request about to take some of them itself (a named address,
 * an interface of its own, secondary addresses): in a default subnet that leaves its sequence for good.
 */
export async function addressesInUseToTake(s: Services, reader: StoreReader, scope: Scope, subnetId: string): Promise<Set<string>> {
  await leaveSequence(s, scope, subnetId);
  return addressesInUse(reader, scope, subnetId);
}

/**
 * `count` addresses of a default subnet for a plain launch, from `position` (addressPositions). A
 * subnet's very first position checks that nothing holds an address there yet (records from before the
 * sequence existed); when something does, it leaves the sequence for good.
 */
export async function sequenceAddresses(
  s: Services,
  reader: StoreReader,
  scope: Scope,
  subnet: InstanceSubnet,
  zoneIndex: number,
  position: number,
  count: number,
): Promise<string[]> {
  const used = position === 0 ? await addressesInUse(reader, scope, subnet.subnetId) : undefined;
  if (position + count <= ADDRESS_CYCLE && (used === undefined || used.size === 0)) {
    return Array.from({ length: count }, (_, i) => privateIpFor(position + i, zoneIndex));
  }
  if (position === 0) await leaveSequence(s, scope, subnet.subnetId);
  return freeAddressesIn(subnet, used ?? (await addressesInUse(reader, scope, subnet.subnetId)), count, position);
}
