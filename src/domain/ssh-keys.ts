/**
 * SSH key material as EC2 hands it out and takes it in, with node:crypto only:
 *
 *   generateKey     CreateKeyPair: RSA 2048 or Ed25519, the private key as EC2 returns it — RSA as
 *                   PKCS#1 PEM, Ed25519 as an OpenSSH private key (PEM has no Ed25519 form), or either
 *                   as an unencrypted PuTTY .ppk (version 2, which every PuTTY since 0.52 reads)
 *   parsePublicKey  ImportKeyPair: an OpenSSH public key line, an RFC 4716 (SSH2) block, or a
 *                   SubjectPublicKeyInfo / PKCS#1 public key as PEM or base64 DER; RSA or Ed25519 only
 *
 * and EC2's fingerprints, which differ by origin (docs: "Verify the fingerprint of your key pair"):
 * an RSA key EC2 created is the SHA-1 of its PKCS#8 DER private key, an imported RSA key the MD5 of
 * its DER public key (both colon-separated hex); Ed25519 is base64 SHA-256 of the public key blob
 * either way (what `ssh-keygen -l` prints, with the `=` padding EC2 keeps).
 */
import { type KeyObject, createHash, createHmac, createPublicKey, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

export const KEY_TYPES = ['rsa', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
export const KEY_FORMATS = ['pem', 'ppk'] as const;
export type KeyFormat = (typeof KEY_FORMATS)[number];

/** RSA keys ImportKeyPair accepts: EC2 documents 1024, 2048 and 4096 bits, and takes ssh-keygen's 3072 too. */
const RSA_IMPORT_BITS = { min: 1024, max: 16384 } as const;

// --- the SSH wire encoding (RFC 4251 §5) -------------------------------------------------------------

const uint32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

const sshString = (data: Uint8Array | string): Buffer => {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  return Buffer.concat([uint32(b.length), b]);
};

/** Big-endian unsigned bytes without leading zeros. */
const stripZeros = (bytes: Uint8Array): Buffer => {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  return Buffer.from(bytes.subarray(i));
};

/** A non-negative integer (big-endian bytes) as an mpint: minimal, with a zero byte before a set high bit. */
const mpint = (bytes: Uint8Array): Buffer => {
  const body = stripZeros(bytes);
  return sshString(body.length > 0 && (body[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body);
};

/** Reads length-prefixed fields; every read is bounds-checked, so a truncated blob yields undefined. */
class SshReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  string(): Buffer | undefined {
    if (this.offset + 4 > this.buf.length) return undefined;
    const length = this.buf.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.buf.length) return undefined;
    this.offset = start + length;
    return this.buf.subarray(start, start + length);
  }

  /** A non-negative mpint as big-endian bytes without leading zeros; undefined when negative or absent. */
  positiveMpint(): Buffer | undefined {
    const raw = this.string();
    if (!raw || (raw.length > 0 && (raw[0] as number) & 0x80)) return undefined;
    return stripZeros(raw);
  }

  get atEnd(): boolean {
    return this.offset === this.buf.length;
  }
}

const fromB64url = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');
const colonHex = (digest: Buffer): string => digest.toString('hex').match(/../g)!.join(':');
const wrap = (text: string, width: number): string[] => text.match(new RegExp(`.{1,${width}}`, 'g')) ?? [];

const rsaBlob = (e: Uint8Array, n: Uint8Array): Buffer => Buffer.concat([sshString('ssh-rsa'), mpint(e), mpint(n)]);
const ed25519Blob = (publicKey: Uint8Array): Buffer => Buffer.concat([sshString('ssh-ed25519'), sshString(publicKey)]);

const SSH_NAME: Record<KeyType, string> = { rsa: 'ssh-rsa', ed25519: 'ssh-ed25519' };

/** The authorized_keys line for a public key blob; EC2 puts the key pair's name in the comment. */
export const openSshLine = (keyType: KeyType, blob: Uint8Array, comment: string): string =>
  `${SSH_NAME[keyType]} ${Buffer.from(blob).toString('base64')} ${comment}`;

// --- fingerprints -----------------------------------------------------------------------------------

const ed25519Fingerprint = (blob: Uint8Array): string => createHash('sha256').update(blob).digest('base64');

const rsaPublicKeyObject = (e: Uint8Array, n: Uint8Array): KeyObject =>
  createPublicKey({
    key: { kty: 'RSA', e: Buffer.from(e).toString('base64url'), n: Buffer.from(n).toString('base64url') },
    format: 'jwk',
  });

/** Imported RSA: MD5 of the DER SubjectPublicKeyInfo (`openssl pkey -pubout -outform DER | openssl md5 -c`). */
const importedRsaFingerprint = (key: KeyObject): string =>
  colonHex(createHash('md5').update(key.export({ type: 'spki', format: 'der' })).digest());

/** Created RSA: SHA-1 of the DER PKCS#8 private key (`openssl pkcs8 -topk8 -nocrypt -outform DER | openssl sha1 -c`). */
const createdRsaFingerprint = (key: KeyObject): string =>
  colonHex(createHash('sha1').update(key.export({ type: 'pkcs8', format: 'der' })).digest());

// --- private key formats ----------------------------------------------------------------------------

/** The openssh-key-v1 container, unencrypted (PROTOCOL.key in OpenSSH's source), one key. */
function openSshPrivateKey(keyName: string, publicBlob: Buffer, privateFields: Buffer, comment: string): string {
  const check = randomBytes(4);
  const section = Buffer.concat([check, check, sshString(keyName), privateFields, sshString(comment)]);
  // padded with 1, 2, 3, … to the cipher block size, which is 8 for "none"
  const padding = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'), // cipher
    sshString('none'), // KDF
    sshString(''), // KDF options
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([section, padding])),
  ]);
  return ['-----BEGIN OPENSSH PRIVATE KEY-----', ...wrap(body.toString('base64'), 70), '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
}

/** The key PuTTY's v2 MAC is keyed with: SHA-1 of a fixed string and the passphrase (empty: unencrypted). */
const PPK2_MAC_KEY = createHash('sha1').update('putty-private-key-file-mac-key').digest();

/** PuTTY-User-Key-File-2, unencrypted: the MAC (HMAC-SHA-1) covers the type, encryption, comment and both blobs. */
function ppkV2(keyName: string, publicBlob: Buffer, privateBlob: Buffer, comment: string): string {
  const macInput = Buffer.concat([sshString(keyName), sshString('none'), sshString(comment), sshString(publicBlob), sshString(privateBlob)]);
  const mac = createHmac('sha1', PPK2_MAC_KEY).update(macInput).digest('hex');
  const pub = wrap(publicBlob.toString('base64'), 64);
  const priv = wrap(privateBlob.toString('base64'), 64);
  return [
    `PuTTY-User-Key-File-2: ${keyName}`,
    'Encryption: none',
    `Comment: ${comment}`,
    `Public-Lines: ${pub.length}`,
    ...pub,
    `Private-Lines: ${priv.length}`,
    ...priv,
    `Private-MAC: ${mac}`,
    '',
  ].join('\n');
}

// --- CreateKeyPair ----------------------------------------------------------------------------------

export interface GeneratedKey {
  readonly keyType: KeyType;
  /** the public key blob (RFC 4253 §6.6) */
  readonly blob: Buffer;
  /** the private key in the requested format; EC2 returns it once and keeps only the public half */
  readonly privateKey: string;
  readonly fingerprint: string;
}

const generate = promisify(generateKeyPair);

/**
 * A new key pair. Asynchronous (RSA generation takes tens of milliseconds, off the event loop).
 * `comment` goes into the .ppk; EC2's OpenSSH private keys carry none.
 */
export async function generateKey(keyType: KeyType, format: KeyFormat, comment: string): Promise<GeneratedKey> {
  if (keyType === 'rsa') {
    const { privateKey } = await generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    const jwk = privateKey.export({ format: 'jwk' });
    const blob = rsaBlob(fromB64url(jwk.e), fromB64url(jwk.n));
    const material =
      format === 'pem'
        ? (privateKey.export({ type: 'pkcs1', format: 'pem' }) as string)
        : // PuTTY's RSA private blob: d, p, q and iqmp (q⁻¹ mod p, which is JWK's qi)
          ppkV2('ssh-rsa', blob, Buffer.concat([jwk.d, jwk.p, jwk.q, jwk.qi].map((x) => mpint(fromB64url(x)))), comment);
    return { keyType, blob, privateKey: material, fingerprint: createdRsaFingerprint(privateKey) };
  }
  const { privateKey } = await generate('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const pub = fromB64url(jwk.x);
  const seed = fromB64url(jwk.d);
  const blob = ed25519Blob(pub);
  const material =
    format === 'pem'
      ? // OpenSSH keeps the 32-byte seed followed by the public key
        openSshPrivateKey('ssh-ed25519', blob, Buffer.concat([sshString(pub), sshString(Buffer.concat([seed, pub]))]), '')
      : // PuTTY keeps the seed alone
        ppkV2('ssh-ed25519', blob, sshString(seed), comment);
  return { keyType, blob, privateKey: material, fingerprint: ed25519Fingerprint(blob) };
}

// --- ImportKeyPair ----------------------------------------------------------------------------------

export interface ImportedKey {
  readonly keyType: KeyType;
  /** the public key blob, re-encoded canonically */
  readonly blob: Buffer;
  readonly fingerprint: string;
}

const bitLength = (unsigned: Buffer): number =>
  unsigned.length === 0 ? 0 : (unsigned.length - 1) * 8 + (unsigned[0] as number).toString(2).length;

function rsaKey(e: Buffer, n: Buffer): ImportedKey | undefined {
  const bits = bitLength(n);
  if (bits < RSA_IMPORT_BITS.min || bits > RSA_IMPORT_BITS.max || e.length === 0) return undefined;
  let key: KeyObject;
  try {
    key = rsaPublicKeyObject(e, n);
  } catch {
    return undefined;
  }
  return { keyType: 'rsa', blob: rsaBlob(e, n), fingerprint: importedRsaFingerprint(key) };
}

function ed25519Key(pub: Buffer): ImportedKey | undefined {
  if (pub.length !== 32) return undefined;
  const blob = ed25519Blob(pub);
  return { keyType: 'ed25519', blob, fingerprint: ed25519Fingerprint(blob) };
}

/** A public key blob (RFC 4253 §6.6) of a type EC2 takes, read to its last byte. */
function fromBlob(blob: Buffer): ImportedKey | undefined {
  const r = new SshReader(blob);
  const type = r.string()?.toString('latin1');
  if (type === 'ssh-rsa') {
    const e = r.positiveMpint();
    const n = r.positiveMpint();
    return e && n && r.atEnd ? rsaKey(e, n) : undefined;
  }
  if (type === 'ssh-ed25519') {
    const pub = r.string();
    return pub && r.atEnd ? ed25519Key(Buffer.from(pub)) : undefined;
  }
  return undefined; // DSA, ECDSA, security keys, certificates: EC2 refuses them
}

/** A key node:crypto parsed from PEM or DER. */
function fromKeyObject(key: KeyObject): ImportedKey | undefined {
  if (key.type !== 'public') return undefined;
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType === 'rsa') return rsaKey(stripZeros(fromB64url(jwk.e)), stripZeros(fromB64url(jwk.n)));
  if (key.asymmetricKeyType === 'ed25519') return ed25519Key(fromB64url(jwk.x));
  return undefined;
}

const STRICT_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const decodeBase64 = (text: string): Buffer | undefined => {
  const compact = text.replace(/\s+/g, '');
  return STRICT_BASE64.test(compact) && compact.length % 4 === 0 ? Buffer.from(compact, 'base64') : undefined;
};

/** RFC 4716: header lines (`Tag: value`, continued by a trailing backslash), then the base64 blob. */
function fromRfc4716(text: string): ImportedKey | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines.at(-1) !== '---- END SSH2 PUBLIC KEY ----') return undefined;
  const body: string[] = [];
  let continued = false;
  for (const line of lines.slice(1, -1)) {
    if (continued || (body.length === 0 && line.includes(':'))) continued = line.endsWith('\\');
    else body.push(line);
  }
  const blob = decodeBase64(body.join(''));
  return blob ? fromBlob(blob) : undefined;
}

/** `ssh-ed25519 AAAA… comment`: the type named outside must be the type inside. */
function fromOpenSshLine(text: string): ImportedKey | undefined {
  const m = /^(\S+)[ \t]+([A-Za-z0-9+/]+={0,2})(?:[ \t]+[^\r\n]*)?$/.exec(text);
  if (!m) return undefined;
  const blob = decodeBase64(m[2] as string);
  const key = blob && fromBlob(blob);
  return key && SSH_NAME[key.keyType] === m[1] ? key : undefined;
}

function fromDer(der: Buffer): ImportedKey | undefined {
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      return fromKeyObject(createPublicKey({ key: der, format: 'der', type }));
    } catch {
      // not this encoding
    }
  }
  return undefined;
}

/**
 * The public key ImportKeyPair was given (the decoded PublicKeyMaterial), or undefined when it is not
 * a key EC2 accepts — the caller answers InvalidKey.Format.
 */
export function parsePublicKey(material: Uint8Array): ImportedKey | undefined {
  const text = Buffer.from(material).toString('latin1').trim();
  if (text.length === 0 || /[^\x09\x0a\x0d\x20-\x7e]/.test(text)) return undefined;
  if (text.startsWith('---- BEGIN SSH2 PUBLIC KEY ----')) return fromRfc4716(text);
  if (/^-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
    try {
      return fromKeyObject(createPublicKey({ key: text, format: 'pem' }));
    } catch {
      return undefined;
    }
  }
  if (!/\s/.test(text.replace(/\r?\n/g, ''))) {
    // no spaces: base64 DER ("Base64 encoded DER format" in EC2's list)
    const der = decodeBase64(text);
    return der ? fromDer(der) : undefined;
  }
  return fromOpenSshLine(text);
}
