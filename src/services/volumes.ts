/**
 * Root volumes as other operations find them (CreateTags, DescribeTags, DescribeVolumes): a volume
 * exists while its instance's record says so; it is looked up by its ID or listed with its instances.
 */
import { Errors } from '../domain/errors.js';
import { isWellFormedId } from '../domain/ids.js';
import { type InstanceRecord, type Scope, hasRootVolume, instanceIdOfRootVolume } from '../domain/instance.js';
import type { Services } from './context.js';

/** The instance whose root volume `volumeId` is, when that volume exists in the caller's scope. */
export function rootVolumeOwner(s: Services, scope: Scope, volumeId: string): InstanceRecord | undefined {
  const rec = s.store.instance(instanceIdOfRootVolume(volumeId));
  return rec && rec.account === scope.account && rec.region === scope.region && hasRootVolume(rec) ? rec : undefined;
}

/** Every volume ID well-formed, then every volume found — or the EC2 error naming the offenders; their instances, in order. */
export function findRootVolumes(s: Services, scope: Scope, ids: readonly string[]): InstanceRecord[] {
  for (const id of ids) if (!isWellFormedId('volume', id)) throw Errors.volumeIdMalformed(id);
  const found: InstanceRecord[] = [];
  const missing: string[] = [];
  for (const id of new Set(ids)) {
    const rec = rootVolumeOwner(s, scope, id);
    if (rec) found.push(rec);
    else missing.push(id);
  }
  if (missing.length > 0) throw Errors.volumeNotFound(missing);
  return found;
}

/** Every root volume that exists in the caller's scope, in its instance's creation order. */
export function volumeOwners(s: Services, scope: Scope): InstanceRecord[] {
  const out: InstanceRecord[] = [];
  for (const rec of s.store.allInstances()) {
    if (rec.account === scope.account && rec.region === scope.region && hasRootVolume(rec)) out.push(rec);
  }
  return out;
}
