/**
 * Key pair lookups: by name in the caller's scope (RunInstances, CreateKeyPair's duplicate check,
 * DeleteKeyPair), the account's key pair quota, and the rule a key must meet for the image's platform.
 */
import { Errors } from '../domain/errors.js';
import type { Scope } from '../domain/instance.js';
import type { KeyPairRecord } from '../domain/key-pair.js';
import type { Revisioned, StoreReader } from '../store/types.js';
import { type Services, quotasOf } from './context.js';

export const inScope = (key: KeyPairRecord, scope: Scope) => key.account === scope.account && key.region === scope.region;

/**
 * The account's key pair quota in the region (src/accounts.ts; EC2: 5,000 per Region). `reader`: a
 * transaction's, when the check and the write that follows must not interleave with another's.
 */
export async function checkKeyPairQuota(s: Services, scope: Scope, reader: StoreReader = s.store): Promise<void> {
  const limit = quotasOf(s, scope.account).keyPairs;
  if (limit === 0) throw Errors.keyPairLimitExceeded(limit);
  const keys = await reader.resources('key-pair', { account: scope.account, region: scope.region });
  if (keys.length >= limit) throw Errors.keyPairLimitExceeded(limit);
}

export async function findByName(
  s: Services,
  scope: Scope,
  name: string,
  reader: StoreReader = s.store,
): Promise<(KeyPairRecord & Revisioned) | undefined> {
  const [key] = await reader.resources('key-pair', { account: scope.account, region: scope.region, names: [name] });
  return key;
}

/** The key pair of this name in the caller's scope, or InvalidKeyPair.NotFound. */
export async function keyPairByName(s: Services, scope: Scope, name: string): Promise<KeyPairRecord> {
  const key = await findByName(s, scope, name);
  if (!key) throw Errors.keyPairNotFound(name);
  return key;
}

/** RunInstances: EC2 refuses an Ed25519 key for a Windows AMI (Windows decrypts its password with RSA). */
export function checkKeyForPlatform(key: KeyPairRecord, platform: 'linux' | 'windows'): void {
  if (platform === 'windows' && key.keyType === 'ed25519') throw Errors.ed25519KeyOnWindows(key.name);
}
