/**
 * Images as requests find them: the built-in table (src/domain/images.ts) and the accounts' own images
 * (stored records of kind `image`). A user image is visible in its Region to its owner, to the accounts
 * its launch permission names, and to everyone once public; its state comes from its snapshots'.
 */
import { Errors } from '../domain/errors.js';
import { isWellFormedId } from '../domain/ids.js';
import {
  type ImageFacts,
  type UserImageRecord,
  type UserImageState,
  findImage,
  userImageFacts,
  userImageState,
} from '../domain/images.js';
import type { Scope } from '../domain/instance.js';
import type { Revisioned, StoreReader } from '../store/types.js';
import type { Services } from './context.js';

/** Whether `account` may see and launch the image: its owner, an account it is shared with, or anyone when public. */
export const canLaunch = (rec: UserImageRecord, account: string): boolean =>
  rec.account === account || rec.public || rec.launchUsers.includes(account);

/** The snapshots an image's EBS mappings name. */
export const snapshotsOf = (rec: UserImageRecord): string[] =>
  rec.blockDevices.flatMap((b) => (b.ebs?.snapshotId !== undefined ? [b.ebs.snapshotId] : []));

/** A user image's state: pending until its snapshots are completed, failed when one failed or is gone. */
export async function imageState(s: Services, rec: UserImageRecord, reader: StoreReader = s.store): Promise<UserImageState> {
  const snaps = await Promise.all(snapshotsOf(rec).map((id) => reader.resource('snapshot', id)));
  return userImageState(snaps.map((x) => x?.state));
}

/** Every user image in the Region the caller may see. */
export async function visibleUserImages(s: Services, scope: Scope): Promise<(UserImageRecord & Revisioned)[]> {
  const all = await s.store.allResources('image');
  return all.filter((r) => r.region === scope.region && canLaunch(r, scope.account));
}

/** One user image the caller may see in its Region, or undefined. */
export async function visibleUserImage(s: Services, scope: Scope, id: string, reader: StoreReader = s.store): Promise<(UserImageRecord & Revisioned) | undefined> {
  const rec = await reader.resource('image', id);
  return rec && rec.region === scope.region && canLaunch(rec, scope.account) ? rec : undefined;
}

/**
 * The image a launch names: a built-in one, or a user image the caller may launch that is available —
 * InvalidAMIID.Malformed / NotFound / Unavailable otherwise.
 */
export async function launchableImage(s: Services, scope: Scope, id: string): Promise<ImageFacts> {
  if (!isWellFormedId('image', id)) throw Errors.amiIdMalformed(id);
  const builtIn = findImage(id);
  if (builtIn) return builtIn;
  const rec = await visibleUserImage(s, scope, id);
  if (!rec) throw Errors.amiIdNotFound([id]);
  const state = await imageState(s, rec);
  if (state !== 'available') throw Errors.amiUnavailable(id, state);
  return userImageFacts(rec);
}

/**
 * An image the caller owns (Deregister, the attribute operations, CopyImage's source may be shared):
 * Malformed, NotFound when it cannot see it, AuthFailure when it sees it but does not own it; a built-in
 * image is seen by all and owned by none.
 */
export async function ownedImage(s: Services, scope: Scope, id: string): Promise<UserImageRecord & Revisioned> {
  if (!isWellFormedId('image', id)) throw Errors.amiIdMalformed(id);
  if (findImage(id)) throw Errors.amiNotOwned(id);
  const rec = await visibleUserImage(s, scope, id);
  if (!rec) throw Errors.amiIdNotFound([id]);
  if (rec.account !== scope.account) throw Errors.amiNotOwned(id);
  return rec;
}

/** The caller's image that uses a snapshot, if any (DeleteSnapshot: InvalidSnapshot.InUse). */
export async function imageUsingSnapshot(s: Services, scope: Scope, snapshotId: string): Promise<UserImageRecord | undefined> {
  const mine = await s.store.resources('image', { account: scope.account, region: scope.region });
  return mine.find((r) => snapshotsOf(r).includes(snapshotId));
}
