/** Tags: CreateTags, DeleteTags, DescribeTags, and the tag rules every resource shares. */
import type {
  CreateTagsRequest,
  DeleteTagsRequest,
  DescribeTagsRequest,
  DescribeTagsResult,
  TagDescription,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterInput, type FilterTable, compileFilters } from '../domain/filters.js';
import { ID_PREFIX, type ResourceKind as IdKind, kindOfId } from '../domain/ids.js';
import { networkTypeOfId } from '../domain/network.js';
import { findNetworkResources } from '../services/vpcs.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import type { Revisioned, StoreReader, StoredKind, TagQuery, TagRecord } from '../store/types.js';
import type { Services } from '../services/context.js';
import { type Handler, type RequestContext, checkDryRun, required } from './context.js';
import { type InstanceRecord, expired, hasRootVolume, instanceIdOfRootVolume } from '../domain/instance.js';
import { findInstances, retentionCutoff } from '../services/instances.js';
import { MAX_TAGS_PER_RESOURCE, checkTags } from '../services/tags.js';
import { findAnyVolumes } from '../services/volumes.js';
import { findInterfaces } from '../services/network-interfaces.js';

/** Resources other than instances that tags can name: the ID prefix's kind → the stored kind (also the tag's resource type). */
const STORED_KINDS: Partial<Record<IdKind, StoredKind>> = {
  launchTemplate: 'launch-template',
  keyPair: 'key-pair',
  host: 'dedicated-host',
  fleet: 'fleet',
  elasticIp: 'elastic-ip',
  snapshot: 'snapshot',
  image: 'image',
};

const NOT_FOUND: Record<StoredKind, (id: string) => Error> = {
  'launch-template': Errors.launchTemplateIdNotFound,
  'key-pair': Errors.keyPairIdNotFound,
  'dedicated-host': (id) => Errors.hostIdNotFound([id]),
  fleet: (id) => Errors.fleetIdNotFound([id]),
  vpc: (id) => Errors.vpcIdNotFound([id]),
  subnet: (id) => Errors.subnetIdNotFound([id]),
  'security-group': (id) => Errors.securityGroupNotFound([id]),
  'internet-gateway': (id) => Errors.internetGatewayIdNotFound([id]),
  'route-table': (id) => Errors.routeTableIdNotFound([id]),
  'elastic-ip': (id) => Errors.allocationIdNotFound([id]),
  // volumes are looked up with root volumes (findAnyVolumes), never here
  volume: (id) => Errors.volumeNotFound([id]),
  snapshot: (id) => Errors.snapshotNotFound([id]),
  image: (id) => Errors.amiIdNotFound([id]),
  // network interfaces are looked up with instances' primary ones (findInterfaces), never here
  'network-interface': Errors.networkInterfaceIdNotFound,
};


const storedKindOf = (id: string): StoredKind | undefined => {
  const kind = kindOfId(id);
  return kind === undefined ? undefined : STORED_KINDS[kind];
};

/** The resources a tag call names, each checked to exist in the caller's scope; returns their types. */
async function resolveResources(ids: readonly string[], ctx: RequestContext, s: Services): Promise<Map<string, string>> {
  // The stored resources named are read at once; the checks below then go in the order the IDs were given.
  const storedIds = [...new Set(ids.filter((id) => storedKindOf(id) !== undefined))];
  const storedDocs = await Promise.all(storedIds.map((id) => s.store.resource(storedKindOf(id)!, id)));
  const stored = new Map(storedIds.map((id, i) => [id, storedDocs[i]]));
  const types = new Map<string, string>();
  const instanceIds: string[] = [];
  const volumeIds: string[] = [];
  const interfaceIds: string[] = [];
  for (const id of ids) {
    const kind = kindOfId(id);
    if (kind === 'instance') {
      instanceIds.push(id);
      types.set(id, 'instance');
      continue;
    }
    // Volumes (root and data): any `vol-` ID, so a malformed one gets the volume's own Malformed error.
    if (kind === 'volume' || id.startsWith(`${ID_PREFIX.volume}-`)) {
      volumeIds.push(id);
      types.set(id, 'volume');
      continue;
    }
    // Network interfaces (stored, and instances' derived primary ones): any `eni-` ID, like volumes.
    if (id.startsWith(`${ID_PREFIX.networkInterface}-`)) {
      interfaceIds.push(id);
      types.set(id, 'network-interface');
      continue;
    }
    // VPCs, subnets and security groups: the default VPC's are derived, so they are found with the others by the lookups.
    const network = networkTypeOfId(id);
    if (network) {
      await findNetworkResources(s, ctx, network, [id]);
      types.set(id, network);
      continue;
    }
    const storedKind = kind && STORED_KINDS[kind];
    if (!storedKind) throw Errors.invalidResourceId(id);
    const doc = stored.get(id);
    if (!doc || doc.account !== ctx.account || doc.region !== ctx.region) throw NOT_FOUND[storedKind](id);
    types.set(id, storedKind);
  }
  await findInstances(s, ctx, instanceIds);
  await findAnyVolumes(s, ctx, volumeIds);
  await findInterfaces(s, ctx, interfaceIds);
  return types;
}

/**
 * The per-resource tag limit is checked on the tags the resources have now and the write follows under
 * the account's tag lock in the region, so concurrent CreateTags cannot together pass the limit.
 */
export const createTags: Handler<CreateTagsRequest, Record<string, never>> = async (input, ctx, s) => {
  const ids = required(input.Resources, 'ResourceId');
  const tags = checkTags(required(input.Tags, 'Tag'));
  const types = await resolveResources(ids, ctx, s);
  checkDryRun(input);
  const putTags: TagRecord[] = ids.flatMap((id) =>
    tags.map((t) => ({ resourceId: id, resourceType: types.get(id)!, account: ctx.account, region: ctx.region, key: t.key, value: t.value })),
  );
  await s.store.transaction(
    async (tx) => {
      const existing = await tx.tagsOfMany(ids);
      for (const id of ids) {
        const keys = new Set([...(existing.get(id)?.keys() ?? []), ...tags.map((t) => t.key)]);
        if (keys.size > MAX_TAGS_PER_RESOURCE) throw Errors.tagLimitExceeded(MAX_TAGS_PER_RESOURCE);
      }
      tx.write({ putTags });
    },
    { lock: `tags:${ctx.account}:${ctx.region}` },
  );
  return {};
};

export const deleteTags: Handler<DeleteTagsRequest, Record<string, never>> = async (input, ctx, s) => {
  const ids = required(input.Resources, 'ResourceId');
  await resolveResources(ids, ctx, s);
  checkDryRun(input);
  const tagged = await s.store.tagsOfMany(ids);
  const deleteTags: { resourceId: string; key: string }[] = [];
  for (const id of new Set(ids)) {
    const existing = tagged.get(id);
    if (!existing) continue;
    // No tags named: every tag goes. A tag with a value: only when the value matches.
    const wanted = input.Tags ?? [...existing.keys()].map((Key) => ({ Key, Value: undefined }));
    for (const t of wanted) {
      if (t.Key === undefined || !existing.has(t.Key)) continue;
      if (t.Value !== undefined && existing.get(t.Key) !== t.Value) continue;
      deleteTags.push({ resourceId: id, key: t.Key });
    }
  }
  if (deleteTags.length > 0) await s.store.commit({ deleteTags });
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

/** DescribeTags filters the store answers itself: the filter name → the TagQuery member. */
const PUSHED_DOWN = {
  key: 'keys',
  value: 'values',
  'resource-id': 'resourceIds',
  'resource-type': 'resourceTypes',
} as const satisfies Record<string, keyof TagQuery>;

/**
 * What of the filters the store can answer exactly: a filter that is the only one of its name, with
 * values and none of them a pattern (`*`, `?`, `\`). The filter engine still applies every filter.
 */
function tagQueryOf(filters: readonly FilterInput[] | undefined): Partial<Pick<TagQuery, (typeof PUSHED_DOWN)[keyof typeof PUSHED_DOWN]>> {
  const query: { -readonly [K in (typeof PUSHED_DOWN)[keyof typeof PUSHED_DOWN]]?: readonly string[] } = {};
  for (const [name, member] of Object.entries(PUSHED_DOWN)) {
    const named = (filters ?? []).filter((f) => f.Name === name);
    const values = named[0]?.Values ?? [];
    if (named.length === 1 && values.length > 0 && values.every((v) => !/[*?\\]/.test(v))) query[member] = values;
  }
  return query;
}

/** Most instance IDs one store query names (DescribeTags over many tagged instances asks in chunks). */
const IDS_PER_QUERY = 1000;

/** The instances (in the caller's scope) of these IDs that have a record, by ID. */
async function instancesById(reader: StoreReader, ctx: RequestContext, ids: readonly string[]): Promise<Map<string, InstanceRecord & Revisioned>> {
  const unique = [...new Set(ids)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += IDS_PER_QUERY) chunks.push(unique.slice(i, i + IDS_PER_QUERY));
  const found = await Promise.all(chunks.map((chunk) => reader.instances({ account: ctx.account, region: ctx.region, ids: chunk })));
  return new Map(found.flat().map((rec) => [rec.id, rec]));
}

/**
 * The caller's tags in the region, as the store finds them with the exact filters; an instance's show
 * while it is visible, a root volume's while the volume exists (gone the moment its instance is
 * terminated, unless it was kept). Every other resource's tags go with it.
 */
export const describeTags: Handler<DescribeTagsRequest, DescribeTagsResult> = async (input, ctx, s) => {
  const predicate = compileFilters(tagFilters, input.Filters);
  checkDryRun(input);
  const records = await s.store.tags({ account: ctx.account, region: ctx.region, ...tagQueryOf(input.Filters) });
  const matching = records
    .map((t): TagDescription => ({
      ResourceId: t.resourceId,
      ResourceType: t.resourceType as TagDescription['ResourceType'],
      Key: t.key,
      Value: t.value,
    }))
    .filter(predicate);
  const ownerOf = (t: TagDescription): string | undefined =>
    t.ResourceType === 'instance' ? t.ResourceId : t.ResourceType === 'volume' ? instanceIdOfRootVolume(t.ResourceId!) : undefined;
  const owners = await instancesById(
    s.store,
    ctx,
    matching.map(ownerOf).filter((id): id is string => id !== undefined),
  );
  const cutoff = retentionCutoff(s);
  // A data volume's tags go with its record: they show while it exists, with no instance to ask.
  const volumeTagIds = [...new Set(matching.filter((t) => t.ResourceType === 'volume').map((t) => t.ResourceId!))];
  const dataVolumes = new Set(
    (await Promise.all(volumeTagIds.map((id) => s.store.resource('volume', id)))).flatMap((v) => (v ? [v.id] : [])),
  );
  const visible = matching.filter((t) => {
    if (t.ResourceType === 'volume' && dataVolumes.has(t.ResourceId!)) return true;
    const ownerId = ownerOf(t);
    if (ownerId === undefined) return true;
    const rec = owners.get(ownerId);
    return rec !== undefined && (t.ResourceType === 'instance' ? !expired(rec, cutoff) : hasRootVolume(rec));
  });
  const page = paginate(visible, input, DESCRIBE_PAGE_LIMITS, { f: input.Filters });
  return { Tags: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
