/**
 * The tag rules every resource shares: EC2's limits on keys and values, the tags a create request asks
 * for (TagSpecifications), the API's tag list, and the stored resources tags can name.
 */
import type { Tag, TagSpecification } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import type { Scope } from '../domain/instance.js';
import { required } from '../domain/request.js';
import { checkText } from '../domain/text.js';
import type { ResourceDocs, Revisioned, StoredKind, TagRecord } from '../store/types.js';
import type { Services } from './context.js';

export const MAX_TAGS_PER_RESOURCE = 50;

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export const tagList = (tags: ReadonlyMap<string, string>): Tag[] =>
  [...tags].map(([Key, Value]) => ({ Key, Value }));

/** Resources' tags by resource ID, as StoreReader.tagsOfMany answers them. */
export type TagsById = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** No tags: what a resource absent from `tagsOfMany`'s answer has. */
export const NO_TAGS: ReadonlyMap<string, string> = new Map();

/**
 * The tags a create request writes, as the resource will have them: in the order keys were first given,
 * a repeated key with its last value (what the store keeps of such a write).
 */
export const tagMapOf = (tags: readonly KeyValue[]): ReadonlyMap<string, string> => new Map(tags.map((t) => [t.key, t.value]));

/**
 * EC2's tag rules: key 1–128 characters and not `aws:`, value up to 256, at most 50 per resource, and
 * no character XML cannot carry (src/domain/text.ts).
 */
export function checkTags(tags: readonly Tag[]): KeyValue[] {
  if (tags.length > MAX_TAGS_PER_RESOURCE) throw Errors.tagLimitExceeded(MAX_TAGS_PER_RESOURCE);
  return tags.map((t) => {
    const key = t.Key;
    if (key === undefined || key.length === 0) throw Errors.invalidParameterValue('Tag key must not be empty.');
    if (key.length > 128) throw Errors.invalidValueFor('tag key', key, 'Tag keys are at most 128 characters.');
    if (key.toLowerCase().startsWith('aws:')) throw Errors.invalidTagKey(key);
    checkText(key, 'tag key');
    const value = t.Value ?? '';
    if (value.length > 256) throw Errors.invalidValueFor('tag value', value, 'Tag values are at most 256 characters.');
    checkText(value, 'tag value');
    return { key, value };
  });
}

/**
 * What RunInstances may tag: the instance and what is created with it. Instance and volume tags are kept
 * (volume: on the root volume); nestbox has no network interfaces or Spot requests, so tags for those
 * are checked and accepted but have nothing to land on.
 */
export const TAGGABLE_AT_LAUNCH: readonly string[] = ['instance', 'volume', 'network-interface', 'spot-instances-request'];

/**
 * Tags a create request asks for on one resource type. `allowed` are the resource types the operation
 * accepts (RunInstances: the instance and what it creates with it); tags for the others are kept apart.
 */
export function tagsFromSpecifications(
  specs: readonly TagSpecification[] | undefined,
  resourceType: string,
  allowed: readonly string[] = TAGGABLE_AT_LAUNCH,
): KeyValue[] {
  const out: KeyValue[] = [];
  for (const spec of specs ?? []) {
    const type = required(spec.ResourceType, 'TagSpecification.N.ResourceType');
    if (!allowed.includes(type)) {
      throw Errors.invalidParameterValue(`'${type}' is not a valid taggable resource type for this operation.`);
    }
    const tags = checkTags(spec.Tags ?? []);
    if (type === resourceType) out.push(...tags);
  }
  if (out.length > MAX_TAGS_PER_RESOURCE) throw Errors.tagLimitExceeded(MAX_TAGS_PER_RESOURCE);
  return out;
}

/** A stored resource when it exists in the caller's scope (with its `rev`, for a conditional write). */
export async function storedInScope<K extends StoredKind>(
  s: Services,
  scope: Scope,
  kind: K,
  id: string,
): Promise<(ResourceDocs[K] & Revisioned) | undefined> {
  const doc = await s.store.resource(kind, id);
  return doc && doc.account === scope.account && doc.region === scope.region ? doc : undefined;
}

/** The tag rows a new resource's tags make (its tag specifications, written with it). */
export const tagRecordsOf = (
  scope: { readonly account: string; readonly region: string },
  resourceId: string,
  resourceType: string,
  tags: readonly KeyValue[],
): TagRecord[] => tags.map((t) => ({ resourceId, resourceType, account: scope.account, region: scope.region, key: t.key, value: t.value }));
