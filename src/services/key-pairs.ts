/**
 * Key pair lookups: by name in the caller's scope (RunInstances, CreateKeyPair's duplicate check,
 * DeleteKeyPair), the account's key pair quota, and the rule a key must meet for the image's platform.
 */
import { Errors } from '../domain/errors.js';
import type { Scope } from '../domain/instance.js';
import type { KeyPairRecord } from '../domain/key-pair.js';
import { type Services, quotasOf } from './context.js';

export const inScope = (key: KeyPairRecord, scope: Scope) => key.account === scope.account && key.region === scope.region;

/** The account's key pair quota in the region (src/accounts.ts; EC2: 5,000 per Region). */
export function checkKeyPairQuota(s: Services, scope: Scope): void {
  const limit = quotasOf(s, scope.account).keyPairs;
  let n = 0;
  for (const key of s.store.resources('key-pair')) if (inScope(key, scope) && ++n >= limit) throw Errors.keyPairLimitExceeded(limit);
  if (limit === 0) throw Errors.keyPairLimitExceeded(limit);
}

export function findByName(s: Services, scope: Scope, name: string): KeyPairRecord | undefined {
  for (const key of s.store.resources('key-pair')) if (key.name === name && inScope(key, scope)) return key;
  return undefined;
}

/** The key pair of this name in the caller's scope, or InvalidKeyPair.NotFound. */
export function keyPairByName(s: Services, scope: Scope, name: string): KeyPairRecord {
  const key = findByName(s, scope, name);
  if (!key) throw Errors.keyPairNotFound(name);
  return key;
}

/** RunInstances: EC2 refuses an Ed25519 key for a Windows AMI (Windows decrypts its password with RSA). */
export function checkKeyForPlatform(key: KeyPairRecord, platform: 'linux' | 'windows'): void {
  if (platform === 'windows' && key.keyType === 'ed25519') throw Errors.ed25519KeyOnWindows(key.name);
}
