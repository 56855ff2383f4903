/** Tags: CreateTags, DeleteTags, DescribeTags, and the tag rules every resource shares. */
import type {
  CreateTagsRequest,
  DeleteTagsRequest,
  DescribeTagsRequest,
  DescribeTagsResult,
  TagDescription,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { ID_PREFIX, type ResourceKind as IdKind, kindOfId } from '../domain/ids.js';
import { checkNetworkTagTarget, networkResourceInScope } from '../domain/network.js';
import { paginate } from '../domain/paging.js';
import type { StoredKind, TagRecord } from '../store/store.js';
import type { Services } from '../services/context.js';
import { type Handler, type RequestContext, checkDryRun, required } from './context.js';
import { expired } from '../domain/instance.js';
import { findInstances, retentionCutoff } from '../services/instances.js';
import { MAX_TAGS_PER_RESOURCE, checkTags, storedInScope } from '../services/tags.js';
import { findRootVolumes, rootVolumeOwner } from '../services/volumes.js';

/** Resources other than instances that tags can name: the ID prefix's kind → the stored kind (also the tag's resource type). */
const STORED_KINDS: Partial<Record<IdKind, StoredKind>> = {
  launchTemplate: 'launch-template',
  keyPair: 'key-pair',
  host: 'dedicated-host',
  fleet: 'fleet',
};

const NOT_FOUND: Record<StoredKind, (id: string) => Error> = {
  'launch-template': Errors.launchTemplateIdNotFound,
  'key-pair': Errors.keyPairIdNotFound,
  'dedicated-host': (id) => Errors.hostIdNotFound([id]),
  fleet: (id) => Errors.fleetIdNotFound([id]),
};

/** The resources a tag call names, each checked to exist in the caller's scope; returns their types. */
function resolveResources(ids: readonly string[], ctx: RequestContext, s: Services): Map<string, string> {
  const types = new Map<string, string>();
  const instanceIds: string[] = [];
  const volumeIds: string[] = [];
  for (const id of ids) {
    const kind = kindOfId(id);
    if (kind === 'instance') {
      instanceIds.push(id);
      types.set(id, 'instance');
      continue;
    }
    // Root volumes: any `vol-` ID, so a malformed one gets the volume's own Malformed error.
    if (kind === 'volume' || id.startsWith(`${ID_PREFIX.volume}-`)) {
      volumeIds.push(id);
      types.set(id, 'volume');
      continue;
    }
    // The default VPC, its subnets and security group: derived, so found by their IDs in the caller's scope.
    const network = checkNetworkTagTarget(ctx, id);
    if (network) {
      types.set(id, network);
      continue;
    }
    const stored = kind && STORED_KINDS[kind];
    if (!stored) throw Errors.invalidResourceId(id);
    if (!storedInScope(s, ctx, stored, id)) throw NOT_FOUND[stored](id);
    types.set(id, stored);
  }
  findInstances(s, ctx, instanceIds);
  findRootVolumes(s, ctx, volumeIds);
  return types;
}

export const createTags: Handler<CreateTagsRequest, Record<string, never>> = (input, ctx, s) => {
  const ids = required(input.Resources, 'ResourceId');
  const tags = checkTags(required(input.Tags, 'Tag'));
  const types = resolveResources(ids, ctx, s);
  checkDryRun(input);
  for (const id of ids) {
    const existing = s.store.tagsOf(id);
    const keys = new Set([...(existing?.keys() ?? []), ...tags.map((t) => t.key)]);
    if (keys.size > MAX_TAGS_PER_RESOURCE) throw Errors.tagLimitExceeded(MAX_TAGS_PER_RESOURCE);
  }
  const putTags: TagRecord[] = ids.flatMap((id) =>
    tags.map((t) => ({ resourceId: id, resourceType: types.get(id)!, key: t.key, value: t.value })),
  );
  s.store.commit({ putTags });
  return {};
};

export const deleteTags: Handler<DeleteTagsRequest, Record<string, never>> = (input, ctx, s) => {
  const ids = required(input.Resources, 'ResourceId');
  resolveResources(ids, ctx, s);
  checkDryRun(input);
  const deleteTags: { resourceId: string; key: string }[] = [];
  for (const id of ids) {
    const existing = s.store.tagsOf(id);
    if (!existing) continue;
    // No tags named: every tag goes. A tag with a value: only when the value matches.
    const wanted = input.Tags ?? [...existing.keys()].map((Key) => ({ Key, Value: undefined }));
    for (const t of wanted) {
      if (t.Key === undefined || !existing.has(t.Key)) continue;
      if (t.Value !== undefined && existing.get(t.Key) !== t.Value) continue;
      deleteTags.push({ resourceId: id, key: t.Key });
    }
  }
  if (deleteTags.length > 0) s.store.commit({ deleteTags });
  return {};
};

const tagFilters: FilterTable<TagDescription> = {
  fields: {
    key: (t) => t.Key,
    value: (t) => t.Value,
    'resource-id': (t) => t.ResourceId,
    'resource-type': (t) => t.ResourceType,
  },
};

export const describeTags: Handler<DescribeTagsRequest, DescribeTagsResult> = (input, ctx, s) => {
  const predicate = compileFilters(tagFilters, input.Filters);
  checkDryRun(input);
  const cutoff = retentionCutoff(s);
  const all: TagDescription[] = [];
  for (const [resourceId, { type, tags }] of s.store.taggedResources()) {
    if (type === 'instance') {
      const rec = s.store.instance(resourceId);
      if (!rec || rec.account !== ctx.account || rec.region !== ctx.region || expired(rec, cutoff)) continue;
    } else if (type === 'volume') {
      // A root volume's tags show while the volume exists: gone the moment its instance is terminated.
      if (!rootVolumeOwner(s, ctx, resourceId)) continue;
    } else if (type === 'vpc' || type === 'subnet' || type === 'security-group') {
      if (!networkResourceInScope(ctx, resourceId)) continue;
    } else if (!storedInScope(s, ctx, type as StoredKind, resourceId)) continue;
    for (const [Key, Value] of tags) all.push({ ResourceId: resourceId, ResourceType: type as TagDescription['ResourceType'], Key, Value });
  }
  const matching = all.filter(predicate);
  const page = paginate(matching, input, { min: 5, max: 1000 }, { f: input.Filters });
  return { Tags: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
