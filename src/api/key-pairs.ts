/**
 * Key pairs: CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair, and the lookups other
 * operations share. The key material is made and read in domain/ssh-keys.ts; EC2 keeps only the
 * public half, and an instance keeps its own copy of it from launch on.
 */
import type {
  CreateKeyPairRequest,
  DeleteKeyPairRequest,
  DeleteKeyPairResult,
  DescribeKeyPairsRequest,
  DescribeKeyPairsResult,
  ImportKeyPairRequest,
  ImportKeyPairResult,
  KeyPair,
  KeyPairInfo,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { newId } from '../domain/ids.js';
import type { KeyPairRecord } from '../domain/key-pair.js';
import { KEY_FORMATS, KEY_TYPES, type KeyType, generateKey, openSshLine, parsePublicKey } from '../domain/ssh-keys.js';
import type { Services } from '../services/context.js';
import { type Handler, type RequestContext, checkDryRun, required } from './context.js';
import { checkKeyPairQuota, findByName } from '../services/key-pairs.js';
import { type KeyValue, NO_TAGS, storedInScope, tagList, tagMapOf, tagsFromSpecifications } from '../services/tags.js';

// --- input rules ------------------------------------------------------------------------------------

/** EC2: up to 255 ASCII characters, without leading or trailing spaces (printable ones: it is a file name too). */
function keyNameOf(value: string | undefined): string {
  const name = required(value, 'KeyName');
  if (name === '') throw Errors.missingParameter('KeyName');
  if (name.length > 255 || !/^[\x20-\x7e]+$/.test(name) || name !== name.trim()) {
    throw Errors.invalidValueFor(
      'KeyName',
      name,
      'Key names are 1 to 255 printable ASCII characters, without leading or trailing spaces.',
    );
  }
  return name;
}

function oneOf<T extends string>(value: string, valid: readonly T[], param: string): T {
  if (!(valid as readonly string[]).includes(value)) throw Errors.invalidValueFor(param, value, `Valid values: ${valid.join(', ')}.`);
  return value as T;
}

const keyPairTags = (specs: CreateKeyPairRequest['TagSpecifications']) => tagsFromSpecifications(specs, 'key-pair', ['key-pair']);

// --- the API's view of a key pair -------------------------------------------------------------------

function toKeyPairInfo(key: KeyPairRecord, tags: ReadonlyMap<string, string>, includePublicKey: boolean): KeyPairInfo {
  return {
    KeyPairId: key.id,
    KeyType: key.keyType,
    Tags: tagList(tags),
    ...(includePublicKey ? { PublicKey: key.publicKey } : {}),
    CreateTime: new Date(key.createTime),
    KeyName: key.name,
    KeyFingerprint: key.fingerprint,
  };
}

/**
 * Records a new key pair and its tags in one transaction, after the duplicate and quota checks. The
 * quota check and the write hold the account's key-pair lock in the region, so concurrent creates
 * cannot together exceed the quota; two creates of one name make one pair either way: the store's
 * unique constraint on names fails the other's write with a StoreConflict, the HTTP layer runs that
 * request again, and its check answers InvalidKeyPair.Duplicate.
 */
async function saveKeyPair(
  s: Services,
  ctx: RequestContext,
  key: { readonly name: string; readonly keyType: KeyType; readonly fingerprint: string; readonly publicKey: string },
  tags: readonly KeyValue[],
): Promise<KeyPairRecord> {
  const rec: KeyPairRecord = {
    id: newId('keyPair'),
    account: ctx.account,
    region: ctx.region,
    ...key,
    createTime: s.now().toISOString(),
  };
  await s.store.transaction(
    async (tx) => {
      if (await findByName(s, ctx, key.name, tx)) throw Errors.keyPairDuplicate(key.name);
      await checkKeyPairQuota(s, ctx, tx);
      tx.write({
        putResources: [{ kind: 'key-pair', doc: rec }],
        putTags: tags.map((t) => ({
          resourceId: rec.id,
          resourceType: 'key-pair',
          account: ctx.account,
          region: ctx.region,
          key: t.key,
          value: t.value,
        })),
      });
    },
    { lock: `key-pairs:${ctx.account}:${ctx.region}` },
  );
  return rec;
}

// --- CreateKeyPair / ImportKeyPair -------------------------------------------------------------------

export const createKeyPair: Handler<CreateKeyPairRequest, KeyPair> = async (input, ctx, s) => {
  const name = keyNameOf(input.KeyName);
  const keyType = oneOf(input.KeyType ?? 'rsa', KEY_TYPES, 'KeyType');
  const format = oneOf(input.KeyFormat ?? 'pem', KEY_FORMATS, 'KeyFormat');
  const tags = keyPairTags(input.TagSpecifications);
  checkDryRun(input);
  // Refused before the key is generated; saveKeyPair checks again when it writes.
  if (await findByName(s, ctx, name)) throw Errors.keyPairDuplicate(name);
  await checkKeyPairQuota(s, ctx);
  const made = await generateKey(keyType, format, name);
  const rec = await saveKeyPair(s, ctx, { name, keyType, fingerprint: made.fingerprint, publicKey: openSshLine(keyType, made.blob, name) }, tags);
  return {
    KeyPairId: rec.id,
    KeyName: rec.name,
    KeyFingerprint: rec.fingerprint,
    KeyMaterial: made.privateKey,
    ...(tags.length > 0 ? { Tags: tagList(tagMapOf(tags)) } : {}),
  };
};

export const importKeyPair: Handler<ImportKeyPairRequest, ImportKeyPairResult> = async (input, ctx, s) => {
  const name = keyNameOf(input.KeyName);
  const material = required(input.PublicKeyMaterial, 'PublicKeyMaterial');
  const key = parsePublicKey(material);
  if (!key) throw Errors.invalidKeyFormat();
  const tags = keyPairTags(input.TagSpecifications);
  checkDryRun(input);
  const rec = await saveKeyPair(
    s,
    ctx,
    { name, keyType: key.keyType, fingerprint: key.fingerprint, publicKey: openSshLine(key.keyType, key.blob, name) },
    tags,
  );
  return {
    KeyPairId: rec.id,
    KeyName: rec.name,
    KeyFingerprint: rec.fingerprint,
    ...(tags.length > 0 ? { Tags: tagList(tagMapOf(tags)) } : {}),
  };
};

// --- DescribeKeyPairs -------------------------------------------------------------------------------

/** EC2's documented DescribeKeyPairs filters, plus tag:, tag-key and tag-value (`tagsOf`: the pairs' tags, read beforehand). */
function keyPairFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<KeyPairRecord> {
  return {
    tags: (k) => tagsOf(k.id),
    fields: {
      'key-pair-id': (k) => k.id,
      'key-name': (k) => k.name,
      fingerprint: (k) => k.fingerprint,
    },
  };
}

export const describeKeyPairs: Handler<DescribeKeyPairsRequest, DescribeKeyPairsResult> = async (input, ctx, s) => {
  let tags: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();
  const predicate = compileFilters(keyPairFilters((id) => tags.get(id)), input.Filters);
  const names = input.KeyNames ?? [];
  const ids = input.KeyPairIds ?? [];
  // Only names or only IDs: the store finds those; both: the pairs named either way, from all of them.
  const scope = { account: ctx.account, region: ctx.region };
  const all = await s.store.resources('key-pair', {
    ...scope,
    ...(ids.length === 0 && names.length > 0 ? { names } : {}),
    ...(names.length === 0 && ids.length > 0 ? { ids } : {}),
  });
  // Every name and ID asked for must exist; then the pairs named either way are described.
  for (const name of names) if (!all.some((k) => k.name === name)) throw Errors.keyPairNotFound(name);
  for (const id of ids) if (!all.some((k) => k.id === id)) throw Errors.keyPairIdNotFound(id);
  const wanted = names.length + ids.length === 0 ? all : all.filter((k) => names.includes(k.name) || ids.includes(k.id));
  checkDryRun(input);
  tags = await s.store.tagsOfMany(wanted.map((k) => k.id));
  return {
    KeyPairs: wanted.filter(predicate).map((k) => toKeyPairInfo(k, tags.get(k.id) ?? NO_TAGS, input.IncludePublicKey === true)),
  };
};

// --- DeleteKeyPair ----------------------------------------------------------------------------------

/**
 * Deleting a key pair that does not exist succeeds, as in EC2. Instances launched with it keep their
 * KeyName and their copy of the public key.
 */
export const deleteKeyPair: Handler<DeleteKeyPairRequest, DeleteKeyPairResult> = async (input, ctx, s) => {
  const { KeyName: name, KeyPairId: id } = input;
  if (!name && !id) throw Errors.missingParameter('KeyName or KeyPairId');
  const key = id ? await storedInScope(s, ctx, 'key-pair', id) : await findByName(s, ctx, name as string);
  checkDryRun(input);
  if (!key) return { Return: true };
  if (id && name && key.name !== name) {
    throw Errors.invalidParameterCombination(`The key pair ID '${id}' does not name the key pair '${name}'.`);
  }
  await s.store.commit({ deleteResources: [{ kind: 'key-pair', id: key.id }] });
  return { Return: true, KeyPairId: key.id };
};
