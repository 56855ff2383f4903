/**
 * Root volumes as other operations find them (CreateTags, DescribeTags, DescribeVolumes): a volume
 * exists while its instance's record says so; it is looked up by its ID or listed with its instances.
 */
import { Errors } from '../domain/errors.js';
import { isWellFormedId } from '../domain/ids.js';
import { type InstanceRecord, type Scope, hasRootVolume, instanceIdOfRootVolume } from '../domain/instance.js';
import type { Revisioned } from '../store/types.js';
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
