/**
 * Several accounts on one server (`--accounts FILE`, or NESTBOX_ACCOUNTS_FILE): each account has a
 * 12-digit ID, one or more access keys — each `full` or `read-only` — and optional quotas. Without a
 * file there is one account (src/config.ts: `test` / `test`, account 000000000000) with EC2's defaults.
 *
 *   { "accounts": [
 *       { "id": "111111111111",
 *         "keys": [ { "accessKeyId": "AKIAALICE", "secretAccessKey": "…", "permission": "full", "user": "alice" },
 *                   { "accessKeyId": "AKIAAUDIT", "secretAccessKey": "…", "permission": "read-only" } ],
 *         "quotas": { "instances": 100, "vcpus": 256, "dedicatedHostsPerFamily": 2, "keyPairs": 50, "launchTemplates": 50 } } ] }
 *
 * The file is checked whole at start-up; any problem is one line naming the file and what is wrong.
 */
import { readFileSync } from 'node:fs';

export type Permission = 'full' | 'read-only';
export const PERMISSIONS: readonly Permission[] = ['full', 'read-only'];

/** What one account may hold in one region (Dedicated Hosts: per instance family too). */
export interface AccountQuotas {
  /** instances that are not terminated (nestbox's long-standing quota, per account and region) */
  readonly instances: number;
  /** vCPUs of running On-Demand instances, per account, region and EC2 instance bucket (standard, X, …) */
  readonly vcpus: number;
  /** allocated Dedicated Hosts, per account, region and instance family */
  readonly dedicatedHostsPerFamily: number;
  /** key pairs per account and region (EC2: 5,000) */
  readonly keyPairs: number;
  /** launch templates per account and region (EC2: 5,000) */
  readonly launchTemplates: number;
}

/**
 * EC2's defaults where EC2 documents one: 5,000 key pairs and 5,000 launch templates per Region (EC2
 * User Guide, key pair and launch template quotas). Instances: the 5,000 nestbox always had. vCPUs:
 * EC2's On-Demand vCPU quotas are set per account (new accounts start low and grow with use), so there
 * is no one default to copy; nestbox's is 65,536 per bucket, which never binds before the 5,000-instance
 * quota does for ordinary sizes (lower it per account to test VcpuLimitExceeded handling). Dedicated Hosts: the 100 nestbox had,
 * now counted per family as EC2's "Running Dedicated <family> Hosts" quotas are.
 */
export const DEFAULT_QUOTAS: AccountQuotas = Object.freeze({
  instances: 5000,
  vcpus: 65536,
  dedicatedHostsPerFamily: 100,
  keyPairs: 5000,
  launchTemplates: 5000,
});

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly permission: Permission;
  /** the IAM user name shown in UnauthorizedOperation messages (default: the access key ID) */
  readonly user: string;
}

export interface Account {
  readonly id: string;
  readonly keys: readonly AccessKey[];
  readonly quotas: AccountQuotas;
}

/** A problem with the accounts file: printed as one line, start-up ends with status 1. */
export class AccountsFileError extends Error {}

const QUOTA_NAMES = Object.keys(DEFAULT_QUOTAS) as (keyof AccountQuotas)[];
const MAX_QUOTA = 10_000_000;
const ACCOUNT_ID = /^\d{12}$/;
/** Printable ASCII without spaces, as access keys and secrets are sent in headers. */
const KEY_TEXT = /^[\x21-\x7e]{1,128}$/;
/** IAM user names: alphanumerics and +=,.@_- (IAM User Guide, IAM identifiers), up to 64 characters. */
const USER_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;

/** Reads and checks an accounts file; every problem is an AccountsFileError naming the file. */
export function loadAccountsFile(file: string): Account[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AccountsFileError(`accounts file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AccountsFileError(`accounts file ${file}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return parseAccounts(json);
  } catch (err) {
    if (err instanceof AccountsFileError) throw new AccountsFileError(`accounts file ${file}: ${err.message}`);
    throw err;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const shown = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new AccountsFileError(`${where} has an unknown field ${shown(k)} (allowed: ${allowed.join(', ')})`);
  }
}

/** The accounts of a parsed accounts document, checked; AccountsFileError (without the file name) otherwise. */
export function parseAccounts(json: unknown): Account[] {
  if (!isObject(json)) throw new AccountsFileError('must be a JSON object {"accounts": [...]}');
  onlyKeys(json, ['accounts'], 'the document');
  const list = json.accounts;
  if (!Array.isArray(list) || list.length === 0) throw new AccountsFileError('"accounts" must be a non-empty array');
  const ids = new Set<string>();
  const keyIds = new Set<string>();
  return list.map((a: unknown, i) => {
    const where = `accounts[${i}]`;
    if (!isObject(a)) throw new AccountsFileError(`${where} must be an object`);
    onlyKeys(a, ['id', 'keys', 'quotas'], where);
    const id = a.id;
    if (typeof id !== 'string' || !ACCOUNT_ID.test(id)) throw new AccountsFileError(`${where}.id must be a 12-digit account ID as a string, got ${shown(id)}`);
    if (ids.has(id)) throw new AccountsFileError(`${where}.id ${id} is listed twice`);
    ids.add(id);
    if (!Array.isArray(a.keys) || a.keys.length === 0) throw new AccountsFileError(`${where}.keys must be a non-empty array of access keys`);
    const keys = a.keys.map((k: unknown, j): AccessKey => {
      const kw = `${where}.keys[${j}]`;
      if (!isObject(k)) throw new AccountsFileError(`${kw} must be an object`);
      onlyKeys(k, ['accessKeyId', 'secretAccessKey', 'permission', 'user'], kw);
      const { accessKeyId, secretAccessKey, permission, user } = k;
      if (typeof accessKeyId !== 'string' || !KEY_TEXT.test(accessKeyId)) {
        throw new AccountsFileError(`${kw}.accessKeyId must be 1 to 128 printable ASCII characters without spaces, got ${shown(accessKeyId)}`);
      }
      if (keyIds.has(accessKeyId)) throw new AccountsFileError(`${kw}.accessKeyId ${accessKeyId} is listed twice (an access key belongs to one account)`);
      keyIds.add(accessKeyId);
      // The secret itself is never echoed.
      if (typeof secretAccessKey !== 'string' || !KEY_TEXT.test(secretAccessKey)) {
        throw new AccountsFileError(`${kw}.secretAccessKey must be 1 to 128 printable ASCII characters without spaces`);
      }
      if (typeof permission !== 'string' || !(PERMISSIONS as readonly string[]).includes(permission)) {
        throw new AccountsFileError(`${kw}.permission must be one of ${PERMISSIONS.map((p) => `"${p}"`).join(', ')}, got ${shown(permission)}`);
      }
      if (user !== undefined && (typeof user !== 'string' || !USER_NAME.test(user))) {
        throw new AccountsFileError(`${kw}.user must be an IAM user name (up to 64 of A-Z a-z 0-9 +=,.@_-), got ${shown(user)}`);
      }
      return { accessKeyId, secretAccessKey, permission: permission as Permission, user: (user as string | undefined) ?? accessKeyId };
    });
    return { id, keys, quotas: parseQuotas(a.quotas, `${where}.quotas`) };
  });
}

function parseQuotas(q: unknown, where: string): AccountQuotas {
  if (q === undefined) return DEFAULT_QUOTAS;
  if (!isObject(q)) throw new AccountsFileError(`${where} must be an object`);
  onlyKeys(q, QUOTA_NAMES, where);
  const out: Record<string, number> = { ...DEFAULT_QUOTAS };
  for (const [name, value] of Object.entries(q)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_QUOTA) {
      throw new AccountsFileError(`${where}.${name} must be a whole number from 0 to ${MAX_QUOTA}, got ${shown(value)}`);
    }
    out[name] = value;
  }
  return Object.freeze(out) as unknown as AccountQuotas;
}

// --- read-only keys --------------------------------------------------------------------------------

/**
 * What a read-only key may call: the operations that only read (`Describe*`, `Get*`: DescribeInstances,
 * GetConsoleOutput, GetLaunchTemplateData, …), as an IAM policy allowing `ec2:Describe*` and `ec2:Get*`.
 * Every other operation nestbox implements (src/api/operations.ts) creates, changes or deletes something.
 */
export const isReadAction = (action: string): boolean => /^(Describe|Get)[A-Z]/.test(action);

/** Whether a key with this permission may call this action. */
export const permits = (permission: Permission | undefined, action: string): boolean =>
  permission !== 'read-only' || isReadAction(action);
