/**
 * DescribeImages over the built-in images (src/domain/images.ts) — every one of them a public image
 * whose owner alias is `amazon`, owned by its publisher's account (Debian's, Canonical's, Amazon's) —
 * and the accounts' own images (src/api/user-images.ts: CreateImage, RegisterImage, CopyImage), which
 * the caller sees when it owns them, when their launch permission names it, or when they are public.
 *
 * Owners (EC2's DescribeImages reference): account IDs, `self` (the caller's account: none of the
 * built-ins), `amazon` (images whose owner alias is `amazon`: all the built-ins, Debian's and Canonical's
 * included, as EC2 shows them with ImageOwnerAlias `amazon`), `aws-marketplace` and `aws-backup-vault`
 * (none here); `all` is accepted as no restriction. Anything else is InvalidUserID.Malformed.
 * ExecutableUsers: `all` keeps public images; `self` keeps images shared explicitly with the caller;
 * another account ID keeps the caller's images shared with that account (EC2's DescribeImages reference).
 * Lists are ORed within, ANDed with each other and the filters.
 * IncludeDeprecated is accepted; the fixed table is listed whatever the DeprecationTime it shows.
 */
import type { DescribeImagesRequest, DescribeImagesResult, Image } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId } from '../domain/ids.js';
import { IMAGES, type UserImageRecord, findImage, imageInfo, userImageInfo } from '../domain/images.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import { imageState, visibleUserImage, visibleUserImages } from '../services/images.js';
import { NO_TAGS, tagList } from '../services/tags.js';
import { type Handler, checkDryRun } from './context.js';

const ebs = (i: Image) => (i.BlockDeviceMappings ?? []).filter((m) => m.Ebs);

const imageFilters = (tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<Image> => ({
  tags: (i) => tagsOf(i.ImageId!),
  fields: {
    'image-id': (i) => i.ImageId,
    name: (i) => i.Name,
    description: (i) => i.Description,
    architecture: (i) => i.Architecture,
    platform: (i) => i.Platform,
    'platform-details': (i) => i.PlatformDetails,
    'usage-operation': (i) => i.UsageOperation,
    state: (i) => i.State,
    'owner-id': (i) => i.OwnerId,
    'owner-alias': (i) => i.ImageOwnerAlias,
    'is-public': (i) => i.Public,
    'image-type': (i) => i.ImageType,
    'root-device-type': (i) => i.RootDeviceType,
    'root-device-name': (i) => i.RootDeviceName,
    'virtualization-type': (i) => i.VirtualizationType,
    hypervisor: (i) => i.Hypervisor,
    'boot-mode': (i) => i.BootMode,
    'tpm-support': (i) => i.TpmSupport,
    'imds-support': (i) => i.ImdsSupport,
    'ena-support': (i) => i.EnaSupport,
    'sriov-net-support': (i) => i.SriovNetSupport,
    'creation-date': (i) => i.CreationDate,
    'deprecation-time': (i) => i.DeprecationTime,
    'manifest-location': (i) => i.ImageLocation,
    'block-device-mapping.device-name': (i) => (i.BlockDeviceMappings ?? []).map((m) => m.DeviceName),
    'block-device-mapping.snapshot-id': (i) => ebs(i).map((m) => m.Ebs?.SnapshotId),
    'block-device-mapping.volume-size': (i) => ebs(i).map((m) => m.Ebs?.VolumeSize),
    'block-device-mapping.volume-type': (i) => ebs(i).map((m) => m.Ebs?.VolumeType),
    'block-device-mapping.delete-on-termination': (i) => ebs(i).map((m) => m.Ebs?.DeleteOnTermination),
    'block-device-mapping.encrypted': (i) => ebs(i).map((m) => m.Ebs?.Encrypted),
    'source-instance-id': (i) => i.SourceInstanceId,
    'source-image-id': (i) => i.SourceImageId,
    'source-image-region': (i) => i.SourceImageRegion,
  },
});

const ALL_IMAGES: readonly Image[] = IMAGES.map(imageInfo);

const ACCOUNT_ID = /^\d{12}$/;
/** The owner aliases DescribeImages takes besides `self` and account IDs. */
const OWNER_ALIASES = new Set(['amazon', 'aws-marketplace', 'aws-backup-vault', 'all']);

function checkUserIds(values: readonly string[], aliases: ReadonlySet<string>): void {
  for (const v of values) if (v !== 'self' && !aliases.has(v) && !ACCOUNT_ID.test(v)) throw Errors.invalidUserIdMalformed(v);
}

export const describeImages: Handler<DescribeImagesRequest, DescribeImagesResult> = async (input, ctx, s) => {
  const ids = input.ImageIds ?? [];
  for (const id of ids) if (!isWellFormedId('image', id)) throw Errors.amiIdMalformed(id);
  const owners = input.Owners ?? [];
  const users = input.ExecutableUsers ?? [];
  checkUserIds(owners, OWNER_ALIASES);
  checkUserIds(users, new Set(['all']));
  const named = new Map<string, UserImageRecord>();
  for (const id of ids) {
    if (findImage(id)) continue;
    const rec = await visibleUserImage(s, ctx, id);
    if (rec) named.set(id, rec);
  }
  const missing = ids.filter((id) => !findImage(id) && !named.has(id));
  if (missing.length > 0) throw Errors.amiIdNotFound(missing);
  let tags: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();
  const predicate = compileFilters(imageFilters((id) => tags.get(id)), input.Filters);
  checkDryRun(input);
  // The user images in view (their tags are their owner's: another account sees none of them, as on EC2).
  const userRecs = ids.length > 0 ? [...named.values()] : await visibleUserImages(s, ctx);
  tags = await s.store.tagsOfMany(userRecs.filter((r) => r.account === ctx.account).map((r) => r.id));
  const states = await Promise.all(userRecs.map((r) => imageState(s, r)));
  const userImages = userRecs.map((r, i) => userImageInfo(r, states[i]!, tagList(tags.get(r.id) ?? NO_TAGS)));
  const ownerOk = (i: Image) =>
    owners.length === 0 ||
    owners.some((o) =>
      o === 'all' ? true : o === 'self' ? i.OwnerId === ctx.account : ACCOUNT_ID.test(o) ? i.OwnerId === o : i.ImageOwnerAlias === o,
    );
  // Built-in images are public and shared with no account in particular; a caller owns none of them.
  // `self`: shared explicitly with the caller; another account: the caller's images shared with it.
  const sharedWith = new Map(userRecs.map((r) => [r.id, r.launchUsers]));
  const executableOk = (i: Image) =>
    users.length === 0 ||
    users.some((u) =>
      u === 'all'
        ? i.Public === true
        : u === 'self' || u === ctx.account
          ? (sharedWith.get(i.ImageId!) ?? []).includes(ctx.account)
          : i.OwnerId === ctx.account && (sharedWith.get(i.ImageId!) ?? []).includes(u),
    );
  const builtIns = ids.length > 0 ? ALL_IMAGES.filter((i) => ids.includes(i.ImageId!)) : ALL_IMAGES;
  const candidates = [...builtIns, ...userImages];
  const matching = candidates.filter((i) => ownerOk(i) && executableOk(i) && predicate(i));
  const page = paginate(matching, input, DESCRIBE_PAGE_LIMITS, { f: input.Filters, ids, owners, users });
  return { Images: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
