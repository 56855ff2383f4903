/**
 * GetPasswordData's answer for an instance: the Windows Administrator password, encrypted with the
 * instance's key pair's public key, once "the instance has been running long enough".
 *
 * EC2 (GetPasswordData API reference): the password is generated at first boot by EC2Launch and
 * encrypted with the launch key pair's public key; until then, and for instances with no password
 * (Linux), PasswordData is an empty string. Encryption is RSA PKCS#1 v1.5 — what the AWS CLI's
 * `get-password-data --priv-launch-key` undoes (awscli/customizations/ec2/decryptpassword.py:
 * `rsa.decrypt(base64.b64decode(PasswordData), key).decode('utf-8')`); moto answers an empty string for
 * a non-Windows instance too (moto/ec2/models/windows.py).
 *
 * nestbox's rule, deterministic: a Windows instance launched with a key pair has its password once it
 * has reached `running` (hasRun) and PASSWORD_DELAY_MS have passed since its LaunchTime on the
 * services' clock. LaunchTime is set again at every start, so after a stop and start the password is
 * empty again for that long (EC2 keeps it; nestbox keeps no first-boot time). Timestamp: when the
 * password became available, else the LaunchTime.
 *
 * A simulated Windows instance has no Administrator account to log into, so its password is derived
 * from the instance (stable across calls and restarts, not a secret), and so is the padding: the same
 * PasswordData every call, as EC2 answers the one blob EC2Launch posted.
 */
import { type KeyObject, constants, createHash, createHmac, createPublicKey, publicEncrypt } from 'node:crypto';
import type { InstanceRecord } from './instance.js';

/** How long after LaunchTime a Windows instance's password becomes available (EC2: "a few minutes"). */
export const PASSWORD_DELAY_MS = 4 * 60_000;

export interface PasswordData {
  /** base64 ciphertext, or '' while there is none */
  readonly passwordData: string;
  readonly timestamp: Date;
}

type PasswordInstance = Pick<
  InstanceRecord,
  'id' | 'account' | 'region' | 'platform' | 'launchTime' | 'hasRun' | 'publicKey'
>;

/** When the instance's password is (or will be) available; undefined when it will never have one. */
export function passwordAvailableAt(rec: PasswordInstance): Date | undefined {
  if (rec.platform !== 'windows' || rsaKeyOf(rec.publicKey) === undefined) return undefined;
  return new Date(Date.parse(rec.launchTime) + PASSWORD_DELAY_MS);
}

export function passwordDataOf(rec: PasswordInstance, now: Date): PasswordData {
  const at = passwordAvailableAt(rec);
  const key = rsaKeyOf(rec.publicKey);
  if (!at || !key || !rec.hasRun || now.getTime() < at.getTime()) {
    return { passwordData: '', timestamp: new Date(rec.launchTime) };
  }
  const seed = createHash('sha256')
    .update(`nestbox-windows-password\0${rec.account}\0${rec.region}\0${rec.id}\0${rec.publicKey}`)
    .digest();
  return { passwordData: encryptPkcs1v15(key, Buffer.from(windowsPassword(seed), 'utf8'), seed).toString('base64'), timestamp: at };
}

const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGITS = '23456789';
const SYMBOLS = '!@#$%&*()-_=+;:.?';
const ALL = LOWER + UPPER + DIGITS + SYMBOLS;

/** 32 characters with each class Windows' complexity rule asks for, from `seed`. */
export function windowsPassword(seed: Buffer): string {
  const bytes = stream(seed, 'password', 32);
  const chars = [...bytes].map((b) => ALL[b % ALL.length]!);
  // One of each class at fixed places, so the complexity requirement always holds.
  chars[3] = LOWER[bytes[3]! % LOWER.length]!;
  chars[11] = UPPER[bytes[11]! % UPPER.length]!;
  chars[19] = DIGITS[bytes[19]! % DIGITS.length]!;
  chars[27] = SYMBOLS[bytes[27]! % SYMBOLS.length]!;
  return chars.join('');
}

/** `length` bytes of HMAC-SHA-256 in counter mode, keyed by `seed`. */
function stream(seed: Buffer, label: string, length: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0, n = 0; n < length; i++) {
    const block = createHmac('sha256', seed).update(`${label}\0${i}`).digest();
    out.push(block);
    n += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/**
 * RSAES-PKCS1-v1_5 (RFC 8017 §7.2.1): 0x00 0x02 PS 0x00 M, PS nonzero bytes, here drawn from `seed`
 * instead of a random source so that the ciphertext is the same at every call.
 */
export function encryptPkcs1v15(key: KeyObject, message: Buffer, seed: Buffer): Buffer {
  const k = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  const psLength = k - message.length - 3;
  if (psLength < 8) throw new Error('message too long for the key');
  const ps: number[] = [];
  for (let round = 0; ps.length < psLength; round++) {
    for (const b of stream(seed, `padding-${round}`, psLength)) if (b !== 0 && ps.length < psLength) ps.push(b);
  }
  const em = Buffer.concat([Buffer.from([0, 2]), Buffer.from(ps), Buffer.from([0]), message]);
  return publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, em);
}

/** The RSA public key of an OpenSSH `ssh-rsa AAAA… comment` line; undefined for Ed25519 or none. */
export function rsaKeyOf(line: string | undefined): KeyObject | undefined {
  const m = line === undefined ? null : /^ssh-rsa\s+([A-Za-z0-9+/]+={0,2})/.exec(line.trim());
  if (!m) return undefined;
  const blob = Buffer.from(m[1]!, 'base64');
  let at = 0;
  const next = (): Buffer | undefined => {
    if (at + 4 > blob.length) return undefined;
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) return undefined;
    const v = blob.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return v;
  };
  const type = next();
  const e = next();
  const n = next();
  if (type?.toString('latin1') !== 'ssh-rsa' || !e || !n) return undefined;
  const unsigned = (b: Buffer) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.subarray(i).toString('base64url');
  };
  try {
    return createPublicKey({ key: { kty: 'RSA', e: unsigned(e), n: unsigned(n) }, format: 'jwk' });
  } catch {
    return undefined;
  }
}
