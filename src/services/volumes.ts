/**
 * Root volumes as other operations find them (CreateTags, DescribeTags, DescribeVolumes): a volume
 * exists while its instance's record says so; it is looked up by its ID or listed with its instances.
 */
import { Errors } from '../domain/errors.js';
import { isWellFormedId } from '../domain/ids.js';
import { type InstanceRecord, type Scope, hasRootVolume, instanceIdOfRootVolume } from '../domain/instance.js';
import { type SnapshotRecord, type VolumeRecord, liveAttachment } from '../domain/volumes.js';
import type { Revisioned, StoreReader } from '../store/types.js';
import type { Services } from './context.js';

const inScope = (rec: InstanceRecord, scope: Scope) => rec.account === scope.account && rec.region === scope.region;

/** The instance whose root volume `volumeId` is, when that volume exists in the caller's scope. */
export async function rootVolumeOwner(s: Services, scope: Scope, volumeId: string): Promise<(InstanceRecord & Revisioned) | undefined> {
  const rec = await s.store.instance(instanceIdOfRootVolume(volumeId));
  return rec && inScope(rec, scope) && hasRootVolume(rec) ? rec : undefined;
}

/**
 * Every volume ID well-formed, then every volume found — or the EC2 error naming the offenders; their
 * instances (with their `rev`, for a conditional write), in order.
 */
export async function findRootVolumes(s: Services, scope: Scope, ids: readonly string[]): Promise<(InstanceRecord & Revisioned)[]> {
  for (const id of ids) if (!isWellFormedId('volume', id)) throw Errors.volumeIdMalformed(id);
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const recs = await s.store.instances({ account: scope.account, region: scope.region, ids: unique.map(instanceIdOfRootVolume) });
  const byId = new Map(recs.map((rec) => [rec.id, rec]));
  const found: (InstanceRecord & Revisioned)[] = [];
  const missing: string[] = [];
  for (const id of unique) {
    const rec = byId.get(instanceIdOfRootVolume(id));
    if (rec && hasRootVolume(rec)) found.push(rec);
    else missing.push(id);
  }
  if (missing.length > 0) throw Errors.volumeNotFound(missing);
  return found;
}

/** Every root volume that exists in the caller's scope, in its instance's creation order. */
export async function volumeOwners(s: Services, scope: Scope): Promise<InstanceRecord[]> {
  const recs = await s.store.instances({ account: scope.account, region: scope.region });
  return recs.filter(hasRootVolume);
}

// --- data volumes and snapshots (stored records) ------------------------------------------------------

/** A volume a request names: a stored data volume, or an instance's root volume. */
export type FoundVolume =
  | { readonly kind: 'data'; readonly id: string; readonly rec: VolumeRecord & Revisioned }
  | { readonly kind: 'root'; readonly id: string; readonly instance: InstanceRecord & Revisioned };

const storedInScope = <T extends { readonly account: string; readonly region: string }>(doc: T | undefined, scope: Scope): T | undefined =>
  doc && doc.account === scope.account && doc.region === scope.region ? doc : undefined;

/**
 * A volume made at launch with DeleteOnTermination (a launch's or its image's block device mapping) is
 * gone once its instance is terminated: its record stays behind, unseen (nestbox deletes nothing at
 * termination outside the instance's own record).
 */
const goneWithInstance = (vol: VolumeRecord, instance: { readonly state: string } | undefined): boolean =>
  vol.attachment?.deleteOnTermination === true && (instance === undefined || instance.state === 'terminated');

async function withoutTerminated<T extends VolumeRecord>(vols: T[], scope: Scope, reader: StoreReader): Promise<T[]> {
  const ids = [...new Set(vols.flatMap((v) => (v.attachment?.deleteOnTermination ? [v.attachment.instanceId] : [])))];
  if (ids.length === 0) return vols;
  const recs = new Map((await reader.instances({ account: scope.account, region: scope.region, ids })).map((r) => [r.id, r]));
  return vols.filter((v) => !goneWithInstance(v, v.attachment ? recs.get(v.attachment.instanceId) : undefined));
}

/** One data volume of the caller's, or undefined. */
export async function dataVolume(s: Services, scope: Scope, id: string, reader: StoreReader = s.store): Promise<(VolumeRecord & Revisioned) | undefined> {
  const vol = storedInScope(await reader.resource('volume', id), scope);
  return vol && (await withoutTerminated([vol], scope, reader))[0];
}

/**
 * Every volume ID well-formed, then every volume found (data volumes first, then root volumes) — or
 * the EC2 error naming the offenders; in the order named, each once.
 */
export async function findAnyVolumes(s: Services, scope: Scope, ids: readonly string[], reader: StoreReader = s.store): Promise<FoundVolume[]> {
  for (const id of ids) if (!isWellFormedId('volume', id)) throw Errors.volumeIdMalformed(id);
  const unique = [...new Set(ids)];
  const data = await Promise.all(unique.map((id) => dataVolume(s, scope, id, reader)));
  const rootIds = unique.filter((_, i) => data[i] === undefined);
  const roots = new Map<string, InstanceRecord & Revisioned>();
  if (rootIds.length > 0) {
    const recs = await reader.instances({ account: scope.account, region: scope.region, ids: rootIds.map(instanceIdOfRootVolume) });
    for (const rec of recs) if (hasRootVolume(rec)) roots.set(rec.id, rec);
  }
  const missing = rootIds.filter((id) => !roots.has(instanceIdOfRootVolume(id)));
  if (missing.length > 0) throw Errors.volumeNotFound(missing);
  return unique.map((id, i) => {
    const rec = data[i];
    return rec ? { kind: 'data' as const, id, rec } : { kind: 'root' as const, id, instance: roots.get(instanceIdOfRootVolume(id))! };
  });
}

/** Every data volume in the caller's scope, in creation order. */
export async function dataVolumesOf(s: Services, scope: Scope, reader: StoreReader = s.store): Promise<(VolumeRecord & Revisioned)[]> {
  return withoutTerminated(await reader.resources('volume', { account: scope.account, region: scope.region }), scope, reader);
}

/** The instances (in the caller's scope) the volumes' attachments name, by ID. */
export async function attachedInstances(
  s: Services,
  scope: Scope,
  vols: readonly VolumeRecord[],
  reader: StoreReader = s.store,
): Promise<Map<string, InstanceRecord & Revisioned>> {
  const ids = [...new Set(vols.flatMap((v) => (v.attachment ? [v.attachment.instanceId] : [])))];
  if (ids.length === 0) return new Map();
  const recs = await reader.instances({ account: scope.account, region: scope.region, ids });
  return new Map(recs.map((r) => [r.id, r]));
}

/** The data volumes attached (live) to each of these instances, by instance ID. */
export async function dataVolumesAttachedTo(
  s: Services,
  scope: Scope,
  instances: readonly InstanceRecord[],
  reader: StoreReader = s.store,
): Promise<Map<string, VolumeRecord[]>> {
  const out = new Map<string, VolumeRecord[]>();
  if (instances.length === 0) return out;
  const byId = new Map(instances.map((r) => [r.id, r]));
  for (const vol of await dataVolumesOf(s, scope, reader)) {
    const a = liveAttachment(vol, (id) => byId.get(id));
    if (!a) continue;
    const list = out.get(a.instanceId) ?? [];
    list.push(vol);
    out.set(a.instanceId, list);
  }
  return out;
}

/** Every snapshot ID well-formed, then every one found in the caller's scope, in the order named. */
export async function findSnapshots(s: Services, scope: Scope, ids: readonly string[], reader: StoreReader = s.store): Promise<(SnapshotRecord & Revisioned)[]> {
  for (const id of ids) if (!isWellFormedId('snapshot', id)) throw Errors.snapshotIdMalformed(id);
  const unique = [...new Set(ids)];
  const found = await Promise.all(unique.map(async (id) => storedInScope(await reader.resource('snapshot', id), scope)));
  const missing = unique.filter((_, i) => found[i] === undefined);
  if (missing.length > 0) throw Errors.snapshotNotFound(missing);
  return found as (SnapshotRecord & Revisioned)[];
}
