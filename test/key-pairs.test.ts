/**
 * Key pairs through the real AWS SDK: CreateKeyPair (RSA/Ed25519 × PEM/PPK, checked with ssh-keygen and
 * node:crypto as independent readers), ImportKeyPair (every format EC2 takes, bad material refused),
 * DescribeKeyPairs (names, IDs, filters, public keys), DeleteKeyPair, tags, DryRun, and the key's way
 * from RunInstances to the VM spec.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CreateKeyPairCommand,
  type CreateKeyPairCommandInput,
  DeleteKeyPairCommand,
  DescribeKeyPairsCommand,
  type DescribeKeyPairsCommandInput,
  DescribeTagsCommand,
  type EC2Client,
  ImportKeyPairCommand,
  type KeyPairInfo,
} from '@aws-sdk/client-ec2';
import { WINDOWS_AMI, type TestServer, errorOf, launch, launchOne, startTestServer } from './helpers.js';

let server: TestServer;
let ec2: EC2Client;
const scratch = mkdtempSync(join(tmpdir(), 'nestbox-keys-'));

before(async () => {
  server = await startTestServer();
  ec2 = server.client('us-east-1');
});
after(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

// --- fixtures: keys made by ssh-keygen, with what openssl and ssh-keygen say about them -----------------

/** `ssh-keygen -t rsa -b 3072`; its fingerprint is `openssl pkey -pubin -outform DER | openssl md5 -c`. */
const RSA_3072 =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDA5As/pV29v5q5mCrEtITd3hBWn1eAL76/Bw8JTOXMqG83inmz9pI0KJtpYT9TiJeP23et/o86V5TZL85Q3WOe7ol+kAHKFLbG4mvWhj8pDfJ9IN37tNqG6LdJLylo6sVv2JRFUGmEsKiCv7WIJ17/MGIMFeYryLb9yej5d5xwsM2+oa2hmAUCD0nWMYa0Qa0HkMLWSHq0MMwNzns+mEZE4EZLdIfQIE91+h4odexV+R/z6cN/rPZnK9QV4SxszE0DRMz7it8EKBnUn2Xz/OC+iZV82tM9E0tOjcGwTbl9v6laiNvziJAk6dtU4WfOucWWFyiK81t1co8bJlgAKdrUZqnSjmRyJo8tgnGZsjsaBO+JNBH0MmnSfY97wPSyIHqXvlkJIe2TYPyj7Ao9DlywqkdMLXVFFKKJUuGmttwKqgUM5JfLeY2IZVctRqLb6fyMuyX+StDwZXcch9FKVfQ523ewWZCF/roz3sRhQg79fL3AUS1CDVo2g1dpUKuvU5s= alice@laptop';
const RSA_3072_MD5 = 'c6:36:7b:aa:be:4a:b4:a8:ba:98:55:52:60:98:ab:2e';
/** the same key as `ssh-keygen -e -m PKCS8` writes it */
const RSA_3072_SPKI = `-----BEGIN PUBLIC KEY-----
MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAwOQLP6Vdvb+auZgqxLSE
3d4QVp9XgC++vwcPCUzlzKhvN4p5s/aSNCibaWE/U4iXj9t3rf6POleU2S/OUN1j
nu6JfpAByhS2xuJr1oY/KQ3yfSDd+7Tahui3SS8paOrFb9iURVBphLCogr+1iCde
/zBiDBXmK8i2/cno+XeccLDNvqGtoZgFAg9J1jGGtEGtB5DC1kh6tDDMDc57PphG
ROBGS3SH0CBPdfoeKHXsVfkf8+nDf6z2ZyvUFeEsbMxNA0TM+4rfBCgZ1J9l8/zg
vomVfNrTPRNLTo3BsE25fb+pWojb84iQJOnbVOFnzrnFlhcoivNbdXKPGyZYACna
1Gap0o5kciaPLYJxmbI7GgTviTQR9DJp0n2Pe8D0siB6l75ZCSHtk2D8o+wKPQ5c
sKpHTC11RRSiiVLhprbcCqoFDOSXy3mNiGVXLUai2+n8jLsl/krQ8GV3HIfRSlX0
Odt3sFmQhf66M97EYUIO/Xy9wFEtQg1aNoNXaVCrr1ObAgMBAAE=
-----END PUBLIC KEY-----
`;
/** `ssh-keygen -t rsa -b 1024`, the smallest EC2 takes */
const RSA_1024 =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCkGbrSmGp+9Lj54B7UN/NfHClbOfWe84MT4TfygKEeoCFKQwad0ysTor38foNZ0326u1mKbUXC0MdXmVoVTw5iUsALzjHwZmoVX2IN8uQbqxRT0+zP3qDPblHUTNGKnps9LqQAK++CxU6726kL5myIPfXg9O+C3tjU0eoFaGElCQ== small';
const RSA_1024_MD5 = '36:ec:f9:28:f6:d5:bb:ea:d8:98:05:f3:4f:49:39:ed';
/** `ssh-keygen -t ed25519`; `ssh-keygen -l` says SHA256:jL4YlLpQC33NPLRwY8/M+7+aoDs0OhHt3pyw/lXmlI8 */
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN6aZhHky81euYyNG1t5O3mTHZwfAvnBtm/F7lxMSuVy bob@desk';
const ED25519_SHA256 = 'jL4YlLpQC33NPLRwY8/M+7+aoDs0OhHt3pyw/lXmlI8=';
/** as `ssh-keygen -e -m RFC4716` writes it */
const ED25519_RFC4716 = `---- BEGIN SSH2 PUBLIC KEY ----
Comment: "256-bit ED25519, converted by root@vm from OpenSSH"
AAAAC3NzaC1lZDI1NTE5AAAAIN6aZhHky81euYyNG1t5O3mTHZwfAvnBtm/F7lxMSuVy
---- END SSH2 PUBLIC KEY ----
`;
const ECDSA =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAn0qmtcKmad8IyXAtbBD7ptZZRGFKV+64ivswIR7FqAtV9NzPyv3Bhw3WAysVtoZyzI1sKQGuRW4U9tqbiZVWk= root@vm';

// --- helpers ----------------------------------------------------------------------------------------

const utf8 = (s: string) => new TextEncoder().encode(s);
const blobOf = (line: string) => line.split(' ')[1];
const colonHex = (b: Buffer) => b.toString('hex').match(/../g)!.join(':');
const uint32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const sshString = (b: Buffer | string) => Buffer.concat([uint32(Buffer.byteLength(b)), Buffer.from(b)]);

const hasSshKeygen = (() => {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as { code?: string }).code !== 'ENOENT';
  }
})();
const NO_SSH_KEYGEN = hasSshKeygen ? false : 'ssh-keygen is not installed (apt-get install openssh-client)';

const sshKeygen = (...args: string[]) => execFileSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

function saveKey(name: string, material: string): string {
  const file = join(scratch, name);
  writeFileSync(file, material, { mode: 0o600 });
  return file;
}

/** The private key signs, and the public key DescribeKeyPairs shows verifies the signature (ssh-keygen -Y). */
function assertSignsFor(privateKeyFile: string, publicKeyLine: string): void {
  const message = join(scratch, 'message');
  writeFileSync(message, 'nestbox');
  rmSync(`${message}.sig`, { force: true });
  // ssh-keygen -Y sign reads the key's id from the .pub beside a PEM key: the one it derives itself
  writeFileSync(`${privateKeyFile}.pub`, sshKeygen('-y', '-f', privateKeyFile));
  sshKeygen('-Y', 'sign', '-q', '-f', privateKeyFile, '-n', 'file', message);
  const allowed = join(scratch, 'allowed_signers');
  writeFileSync(allowed, `me ${publicKeyLine.split(' ').slice(0, 2).join(' ')}\n`);
  const out = execFileSync('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'me', '-n', 'file', '-s', `${message}.sig`], {
    input: 'nestbox',
    encoding: 'utf8',
  });
  assert.match(out, /^Good "file" signature for me/);
}

/** DescribeKeyPairs of one key pair, by name, with its public key. */
async function describeKeyPair(name: string, client = ec2): Promise<KeyPairInfo> {
  const r = await client.send(new DescribeKeyPairsCommand({ KeyNames: [name], IncludePublicKey: true }));
  assert.equal(r.KeyPairs?.length, 1);
  return r.KeyPairs[0]!;
}

const create = (input: Partial<CreateKeyPairCommandInput> & { KeyName: string }, client = ec2) =>
  client.send(new CreateKeyPairCommand(input));
const importKey = (KeyName: string, material: string | Uint8Array, client = ec2) =>
  client.send(new ImportKeyPairCommand({ KeyName, PublicKeyMaterial: typeof material === 'string' ? utf8(material) : material }));

/** A PPK v2 file's fields, its MAC checked as PuTTY checks it (HMAC-SHA-1, key SHA-1 of the fixed string). */
function readPpk(text: string): { type: string; comment: string; publicBlob: Buffer; privateBlob: Buffer } {
  const lines = text.split('\n');
  const header = (i: number, name: string) => {
    const m = new RegExp(`^${name}: (.*)$`).exec(lines[i] ?? '');
    assert.ok(m, `line ${i + 1} is ${name}: ${lines[i]}`);
    return m[1]!;
  };
  const type = header(0, 'PuTTY-User-Key-File-2');
  assert.equal(header(1, 'Encryption'), 'none');
  const comment = header(2, 'Comment');
  const publicLines = Number(header(3, 'Public-Lines'));
  const publicBlob = Buffer.from(lines.slice(4, 4 + publicLines).join(''), 'base64');
  const privateAt = 4 + publicLines;
  const privateLines = Number(header(privateAt, 'Private-Lines'));
  const privateBlob = Buffer.from(lines.slice(privateAt + 1, privateAt + 1 + privateLines).join(''), 'base64');
  const mac = header(privateAt + 1 + privateLines, 'Private-MAC');
  const macKey = createHash('sha1').update('putty-private-key-file-mac-key').digest();
  const expected = createHmac('sha1', macKey)
    .update(Buffer.concat([sshString(type), sshString('none'), sshString(comment), sshString(publicBlob), sshString(privateBlob)]))
    .digest('hex');
  assert.equal(mac, expected, 'Private-MAC');
  return { type, comment, publicBlob, privateBlob };
}

/** Reads SSH length-prefixed fields. */
function fields(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    const n = blob.readUInt32BE(at);
    out.push(blob.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);

// --- CreateKeyPair ----------------------------------------------------------------------------------

test('CreateKeyPair, defaults: a 2048-bit RSA key as PKCS#1 PEM; the fingerprint is the SHA-1 of its PKCS#8 DER', async () => {
  const r = await create({ KeyName: 'rsa-default' });
  assert.match(r.KeyPairId ?? '', /^key-[0-9a-f]{17}$/);
  assert.equal(r.KeyName, 'rsa-default');
  assert.match(r.KeyMaterial ?? '', /^-----BEGIN RSA PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END RSA PRIVATE KEY-----\n$/);
  assert.equal(r.Tags, undefined);
  const priv = createPrivateKey(r.KeyMaterial!);
  assert.equal(priv.asymmetricKeyType, 'rsa');
  assert.equal(priv.asymmetricKeyDetails?.modulusLength, 2048);
  const sha1 = colonHex(createHash('sha1').update(priv.export({ type: 'pkcs8', format: 'der' })).digest());
  assert.equal(r.KeyFingerprint, sha1);

  const d = await describeKeyPair('rsa-default');
  assert.equal(d.KeyPairId, r.KeyPairId);
  assert.equal(d.KeyType, 'rsa');
  assert.equal(d.KeyFingerprint, sha1);
  assert.deepEqual(d.Tags, []);
  assert.ok(d.CreateTime instanceof Date && Math.abs(d.CreateTime.getTime() - Date.now()) < 60_000);
  // the public key is the private key's, with the key pair's name as its comment
  const jwk = createPublicKey(priv).export({ format: 'jwk' });
  const mpint = (b64u: string) => {
    const b = Buffer.from(b64u, 'base64url');
    return sshString((b[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), b]) : b);
  };
  const blob = Buffer.concat([sshString('ssh-rsa'), mpint(jwk.e!), mpint(jwk.n!)]);
  assert.equal(d.PublicKey, `ssh-rsa ${blob.toString('base64')} rsa-default`);
});

test('CreateKeyPair ed25519: an OpenSSH private key ssh-keygen reads; SHA-256 fingerprint with padding', { skip: NO_SSH_KEYGEN }, async () => {
  const r = await create({ KeyName: 'ed-pem', KeyType: 'ed25519' });
  assert.match(r.KeyMaterial ?? '', /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END OPENSSH PRIVATE KEY-----\n$/);
  const d = await describeKeyPair('ed-pem');
  assert.equal(d.KeyType, 'ed25519');
  assert.match(d.PublicKey ?? '', /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* ed-pem$/);
  const file = saveKey('ed-pem', r.KeyMaterial!);
  // ssh-keygen derives the same public key from the private key ...
  assert.equal(sshKeygen('-y', '-f', file).trim().split(' ').slice(0, 2).join(' '), d.PublicKey!.split(' ').slice(0, 2).join(' '));
  // ... prints the fingerprint EC2 shows (EC2 keeps base64's padding) ...
  const [, sha256] = /SHA256:(\S+)/.exec(sshKeygen('-l', '-f', file))!;
  assert.equal(r.KeyFingerprint, `${sha256}=`);
  assert.equal(d.KeyFingerprint, `${sha256}=`);
  // ... and the key signs for it
  assertSignsFor(file, d.PublicKey!);
});

test('CreateKeyPair rsa: ssh-keygen takes the PKCS#1 PEM and it signs for the public key shown', { skip: NO_SSH_KEYGEN }, async () => {
  const r = await create({ KeyName: 'rsa-ssh', KeyType: 'rsa', KeyFormat: 'pem' });
  const d = await describeKeyPair('rsa-ssh');
  const file = saveKey('rsa-ssh', r.KeyMaterial!);
  assert.equal(sshKeygen('-y', '-f', file).trim().split(' ')[1], blobOf(d.PublicKey!));
  assertSignsFor(file, d.PublicKey!);
  // and openssl's recipe from EC2's docs gives the same fingerprint
  const der = execFileSync('openssl', ['pkcs8', '-in', file, '-inform', 'PEM', '-outform', 'DER', '-topk8', '-nocrypt']);
  assert.equal(r.KeyFingerprint, colonHex(createHash('sha1').update(der).digest()));
});

test('CreateKeyPair ppk: PuTTY-User-Key-File-2 with a valid MAC, the public key shown, and a private half that matches', async () => {
  const rsa = await create({ KeyName: 'rsa-ppk', KeyFormat: 'ppk' });
  const p = readPpk(rsa.KeyMaterial!);
  assert.equal(p.type, 'ssh-rsa');
  assert.equal(p.comment, 'rsa-ppk');
  assert.equal(p.publicBlob.toString('base64'), blobOf((await describeKeyPair('rsa-ppk')).PublicKey!));
  const [, e, n] = fields(p.publicBlob).map(big);
  const [d, pp, q, iqmp] = fields(p.privateBlob).map(big);
  assert.equal(pp! * q!, n, 'p·q = n');
  assert.equal((iqmp! * q!) % pp!, 1n, 'iqmp = q⁻¹ mod p');
  assert.equal((d! * e!) % ((pp! - 1n) * (q! - 1n) / gcd(pp! - 1n, q! - 1n)), 1n, 'd·e ≡ 1 mod λ(n)');
  // SHA-1 of the PKCS#8 DER of the same private key
  const priv = createPrivateKey({
    key: {
      kty: 'RSA',
      ...Object.fromEntries(
        ([['n', n], ['e', e], ['d', d], ['p', pp], ['q', q], ['dp', d! % (pp! - 1n)], ['dq', d! % (q! - 1n)], ['qi', iqmp]] as [string, bigint][]).map(
          ([k, v]) => [k, Buffer.from(v.toString(16).padStart(Math.ceil(v.toString(16).length / 2) * 2, '0'), 'hex').toString('base64url')],
        ),
      ),
    },
    format: 'jwk',
  });
  assert.equal(rsa.KeyFingerprint, colonHex(createHash('sha1').update(priv.export({ type: 'pkcs8', format: 'der' })).digest()));

  const ed = await create({ KeyName: 'ed-ppk', KeyType: 'ed25519', KeyFormat: 'ppk' });
  const q2 = readPpk(ed.KeyMaterial!);
  assert.equal(q2.type, 'ssh-ed25519');
  const [, pub] = fields(q2.publicBlob);
  const [seed] = fields(q2.privateBlob);
  assert.equal(seed?.length, 32);
  // the seed, as PKCS#8, yields the public key of the file and of DescribeKeyPairs
  const fromSeed = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed!]), format: 'der', type: 'pkcs8' });
  assert.equal(Buffer.from(createPublicKey(fromSeed).export({ format: 'jwk' }).x!, 'base64url').toString('hex'), pub!.toString('hex'));
  assert.equal(q2.publicBlob.toString('base64'), blobOf((await describeKeyPair('ed-ppk')).PublicKey!));
  assert.equal(ed.KeyFingerprint, createHash('sha256').update(q2.publicBlob).digest('base64'));
});

function gcd(a: bigint, b: bigint): bigint {
  return b === 0n ? a : gcd(b, a % b);
}

test('CreateKeyPair refuses a bad KeyName, KeyType or KeyFormat, naming the value', async () => {
  const cases: [Partial<CreateKeyPairCommandInput>, string, RegExp][] = [
    [{ KeyName: 'x'.repeat(256) }, 'InvalidParameterValue', /^Value \(x{256}\) for parameter KeyName is invalid\./],
    [{ KeyName: ' padded' }, 'InvalidParameterValue', /^Value \( padded\) for parameter KeyName is invalid\./],
    [{ KeyName: 'schlüssel' }, 'InvalidParameterValue', /^Value \(schlüssel\) for parameter KeyName is invalid\./],
    [{ KeyName: '' }, 'MissingParameter', /^The request must contain the parameter KeyName$/],
    [{ KeyName: 'ok', KeyType: 'dsa' as never }, 'InvalidParameterValue', /^Value \(dsa\) for parameter KeyType is invalid\. Valid values: rsa, ed25519\.$/],
    [{ KeyName: 'ok', KeyFormat: 'der' as never }, 'InvalidParameterValue', /^Value \(der\) for parameter KeyFormat is invalid\. Valid values: pem, ppk\.$/],
  ];
  for (const [input, code, message] of cases) {
    const err = await errorOf(ec2.send(new CreateKeyPairCommand(input as CreateKeyPairCommandInput)));
    assert.equal(err.code, code, JSON.stringify(input));
    assert.equal(err.status, 400);
    assert.match(err.message, message);
  }
  // 255 printable ASCII characters are a fine name
  const long = `${'k'.repeat(250)} ~!@#`;
  assert.equal((await create({ KeyName: long })).KeyName, long);
  // the refused requests recorded nothing
  assert.equal((await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['ok'] })))).code, 'InvalidKeyPair.NotFound');
});

test('CreateKeyPair / ImportKeyPair: a name is taken once per region (InvalidKeyPair.Duplicate), also when two race', async () => {
  await create({ KeyName: 'dup' });
  for (const p of [create({ KeyName: 'dup' }), importKey('dup', ED25519)]) {
    assert.deepEqual(await errorOf(p), { code: 'InvalidKeyPair.Duplicate', status: 400, message: "The keypair 'dup' already exists." });
  }
  // another region is another namespace
  const west = server.client('us-west-2');
  assert.equal((await create({ KeyName: 'dup' }, west)).KeyName, 'dup');
  // two creates at once: exactly one wins, and one key pair is recorded
  const results = await Promise.allSettled([create({ KeyName: 'race' }), create({ KeyName: 'race' }), create({ KeyName: 'race', KeyType: 'ed25519' })]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as Error).name, 'InvalidKeyPair.Duplicate');
  const listed = await ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: ['race'] }] }));
  assert.equal(listed.KeyPairs?.length, 1);
});

test('CreateKeyPair and ImportKeyPair: TagSpecifications for key-pair; other resource types refused', async () => {
  const Tags = [{ Key: 'team', Value: 'infra' }, { Key: 'env', Value: 'dev' }];
  const r = await create({ KeyName: 'tagged', TagSpecifications: [{ ResourceType: 'key-pair', Tags }] });
  assert.deepEqual(r.Tags, Tags);
  const i = await ec2.send(
    new ImportKeyPairCommand({ KeyName: 'tagged-import', PublicKeyMaterial: utf8(ED25519), TagSpecifications: [{ ResourceType: 'key-pair', Tags }] }),
  );
  assert.deepEqual(i.Tags, Tags);
  assert.deepEqual((await describeKeyPair('tagged')).Tags, Tags);
  const described = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [r.KeyPairId!] }] }));
  assert.deepEqual(
    described.Tags?.map((t) => `${t.ResourceType}:${t.Key}=${t.Value}`),
    ['key-pair:team=infra', 'key-pair:env=dev'],
  );
  const err = await errorOf(create({ KeyName: 'tagged-2', TagSpecifications: [{ ResourceType: 'instance', Tags }] }));
  assert.equal(err.code, 'InvalidParameterValue');
  assert.match(err.message, /'instance' is not a valid taggable resource type/);
  assert.equal(await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['tagged-2'] }))).then((e) => e.code), 'InvalidKeyPair.NotFound');
});

test('DryRun: CreateKeyPair, ImportKeyPair, DescribeKeyPairs and DeleteKeyPair answer DryRunOperation (412) and change nothing', async () => {
  const dry = { code: 'DryRunOperation', status: 412 };
  const pick = (e: { code: string; status: number | undefined }) => ({ code: e.code, status: e.status });
  assert.deepEqual(pick(await errorOf(create({ KeyName: 'dry', DryRun: true }))), dry);
  assert.deepEqual(pick(await errorOf(ec2.send(new ImportKeyPairCommand({ KeyName: 'dry', PublicKeyMaterial: utf8(ED25519), DryRun: true })))), dry);
  assert.equal((await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['dry'] })))).code, 'InvalidKeyPair.NotFound');
  // a DryRun with bad input answers the error, not DryRunOperation
  assert.equal((await errorOf(ec2.send(new ImportKeyPairCommand({ KeyName: 'dry', PublicKeyMaterial: utf8('nope'), DryRun: true })))).code, 'InvalidKey.Format');
  await create({ KeyName: 'dry-existing' });
  assert.deepEqual(pick(await errorOf(ec2.send(new DescribeKeyPairsCommand({ DryRun: true })))), dry);
  assert.deepEqual(pick(await errorOf(ec2.send(new DeleteKeyPairCommand({ KeyName: 'dry-existing', DryRun: true })))), dry);
  assert.equal((await describeKeyPair('dry-existing')).KeyName, 'dry-existing');
});

// --- ImportKeyPair ----------------------------------------------------------------------------------

test('ImportKeyPair: OpenSSH lines; RSA fingerprint is the MD5 of the DER public key, Ed25519 the SHA-256; the key is kept as an OpenSSH line', async () => {
  const rsa = await importKey('imported-rsa', `${RSA_3072}\n`);
  assert.match(rsa.KeyPairId ?? '', /^key-[0-9a-f]{17}$/);
  assert.equal(rsa.KeyName, 'imported-rsa');
  assert.equal(rsa.KeyFingerprint, RSA_3072_MD5);
  const d = await describeKeyPair('imported-rsa');
  assert.equal(d.KeyType, 'rsa');
  assert.equal(d.KeyFingerprint, RSA_3072_MD5);
  // the comment becomes the key pair's name, as EC2 hands the key to instances
  assert.equal(d.PublicKey, `ssh-rsa ${blobOf(RSA_3072)} imported-rsa`);

  assert.equal((await importKey('imported-1024', RSA_1024)).KeyFingerprint, RSA_1024_MD5);

  const ed = await importKey('imported-ed', ED25519);
  assert.equal(ed.KeyFingerprint, ED25519_SHA256);
  const de = await describeKeyPair('imported-ed');
  assert.equal(de.KeyType, 'ed25519');
  assert.equal(de.PublicKey, `ssh-ed25519 ${blobOf(ED25519)} imported-ed`);
});

test('ImportKeyPair: RFC 4716, PEM (SubjectPublicKeyInfo and PKCS#1) and base64 DER give the same key and fingerprint', async () => {
  const spki = createPublicKey(RSA_3072_SPKI);
  const rfc4716Rsa = ['---- BEGIN SSH2 PUBLIC KEY ----', 'Comment: "3072-bit RSA, a long comment \\', 'continued on a second line"', ...(blobOf(RSA_3072)!.match(/.{1,70}/g) ?? []), '---- END SSH2 PUBLIC KEY ----'].join('\r\n');
  const forms: [string, string, string][] = [
    ['rfc4716-ed', ED25519_RFC4716, ED25519],
    ['rfc4716-rsa', rfc4716Rsa, RSA_3072],
    ['pem-spki', RSA_3072_SPKI, RSA_3072],
    ['pem-pkcs1', spki.export({ type: 'pkcs1', format: 'pem' }) as string, RSA_3072],
    ['der-spki', (spki.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64'), RSA_3072],
  ];
  for (const [name, material, same] of forms) {
    const r = await importKey(name, material);
    assert.equal(r.KeyFingerprint, same === RSA_3072 ? RSA_3072_MD5 : ED25519_SHA256, name);
    assert.equal(blobOf((await describeKeyPair(name)).PublicKey!), blobOf(same), name);
  }
});

test('ImportKeyPair refuses what is not an RSA or Ed25519 public key with InvalidKey.Format, and records nothing', async () => {
  const rsaBlob = (bits: number) => {
    const jwk = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
    const n = Buffer.from(jwk.n!, 'base64url');
    return Buffer.concat([sshString('ssh-rsa'), sshString(Buffer.from(jwk.e!, 'base64url')), sshString(Buffer.concat([Buffer.from([0]), n]))]);
  };
  const edBlob = Buffer.from(blobOf(ED25519)!, 'base64');
  const bad: [string, string | Uint8Array][] = [
    ['garbage', 'not a key at all'],
    ['empty', new Uint8Array(0)],
    ['ecdsa', ECDSA],
    ['dsa', `ssh-dss ${Buffer.concat([sshString('ssh-dss'), sshString(Buffer.alloc(129, 1))]).toString('base64')}`],
    ['type mismatch', `ssh-rsa ${blobOf(ED25519)} x`],
    ['truncated', `ssh-ed25519 ${edBlob.subarray(0, edBlob.length - 3).toString('base64')}`],
    ['trailing bytes', `ssh-ed25519 ${Buffer.concat([edBlob, Buffer.from([0])]).toString('base64')}`],
    ['rsa 768 bits', `ssh-rsa ${rsaBlob(768).toString('base64')}`],
    ['two keys', `${ED25519}\n${RSA_1024}`],
    ['private key', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string],
    ['bad base64', 'ssh-ed25519 AAAA!!!!'],
    ['binary', new Uint8Array([0xff, 0xfe, 0x00, 0x01])],
  ];
  for (const [name, material] of bad) {
    const err = await errorOf(importKey(`bad-${name}`, material));
    assert.deepEqual(err, { code: 'InvalidKey.Format', status: 400, message: 'Key is not in valid OpenSSH public key format' }, name);
  }
  const listed = await ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: ['bad-*'] }] }));
  assert.deepEqual(listed.KeyPairs, []);
});

// --- DescribeKeyPairs -------------------------------------------------------------------------------

test('DescribeKeyPairs: by names and IDs (each must exist), filters, IncludePublicKey, per region', async () => {
  const c = server.client('eu-central-1');
  const a = await create({ KeyName: 'alpha', TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'team', Value: 'a' }] }] }, c);
  const b = await importKey('beta', ED25519, c);
  const g = await create({ KeyName: 'gamma', KeyType: 'ed25519' }, c);
  const names = async (input: DescribeKeyPairsCommandInput) =>
    ((await c.send(new DescribeKeyPairsCommand(input))).KeyPairs ?? []).map((k) => k.KeyName);

  assert.deepEqual(await names({}), ['alpha', 'beta', 'gamma']);
  assert.deepEqual(await names({ KeyNames: ['gamma', 'alpha'] }), ['alpha', 'gamma']);
  assert.deepEqual(await names({ KeyPairIds: [b.KeyPairId!] }), ['beta']);
  assert.deepEqual(await names({ KeyNames: ['alpha'], KeyPairIds: [g.KeyPairId!] }), ['alpha', 'gamma']);
  assert.deepEqual(await names({ Filters: [{ Name: 'key-name', Values: ['*a'] }] }), ['alpha', 'beta', 'gamma']);
  assert.deepEqual(await names({ Filters: [{ Name: 'key-name', Values: ['g?mma', 'beta'] }] }), ['beta', 'gamma']);
  assert.deepEqual(await names({ Filters: [{ Name: 'key-pair-id', Values: [a.KeyPairId!] }] }), ['alpha']);
  assert.deepEqual(await names({ Filters: [{ Name: 'fingerprint', Values: [ED25519_SHA256] }] }), ['beta']);
  assert.deepEqual(await names({ Filters: [{ Name: 'tag:team', Values: ['a'] }] }), ['alpha']);
  assert.deepEqual(await names({ Filters: [{ Name: 'tag-key', Values: ['team'] }] }), ['alpha']);
  assert.deepEqual(await names({ KeyNames: ['alpha', 'beta'], Filters: [{ Name: 'key-name', Values: ['beta'] }] }), ['beta']);
  // not in another region
  assert.equal((await c.send(new DescribeKeyPairsCommand({}))).KeyPairs?.some((k) => k.KeyName === 'rsa-default'), false);

  assert.deepEqual(await errorOf(c.send(new DescribeKeyPairsCommand({ KeyNames: ['alpha', 'nope'] }))), {
    code: 'InvalidKeyPair.NotFound',
    status: 400,
    message: "The key pair 'nope' does not exist",
  });
  assert.deepEqual(await errorOf(c.send(new DescribeKeyPairsCommand({ KeyPairIds: ['key-0123456789abcdef0'] }))), {
    code: 'InvalidKeyPair.NotFound',
    status: 400,
    message: "The key pair ID 'key-0123456789abcdef0' does not exist",
  });
  // a key pair of another region is not found by its ID here
  assert.equal((await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyPairIds: [a.KeyPairId!] })))).code, 'InvalidKeyPair.NotFound');
  const filterErr = await errorOf(c.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-type', Values: ['rsa'] }] })));
  assert.deepEqual(filterErr, { code: 'InvalidParameterValue', status: 400, message: "The filter 'key-type' is invalid" });

  // the public key only when asked for
  const plain = (await c.send(new DescribeKeyPairsCommand({ KeyNames: ['beta'] }))).KeyPairs![0]!;
  assert.equal(plain.PublicKey, undefined);
  assert.deepEqual(Object.keys(plain).sort(), ['CreateTime', 'KeyFingerprint', 'KeyName', 'KeyPairId', 'KeyType', 'Tags']);
  assert.equal((await describeKeyPair('beta', c)).PublicKey, `ssh-ed25519 ${blobOf(ED25519)} beta`);
});

// --- DeleteKeyPair ----------------------------------------------------------------------------------

test('DeleteKeyPair: by name or ID, with its tags; a missing one is no error; the name can be used again', async () => {
  const c = server.client('ca-central-1');
  const k = await create({ KeyName: 'doomed', TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'x', Value: 'y' }] }] }, c);
  assert.deepEqual(await c.send(new DeleteKeyPairCommand({ KeyName: 'doomed' })).then(({ $metadata: _, ...r }) => r), { Return: true, KeyPairId: k.KeyPairId });
  assert.equal((await errorOf(c.send(new DescribeKeyPairsCommand({ KeyNames: ['doomed'] })))).code, 'InvalidKeyPair.NotFound');
  assert.deepEqual((await c.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [k.KeyPairId!] }] }))).Tags, []);
  // deleting again, or a name that never was: EC2 answers true
  assert.deepEqual(await c.send(new DeleteKeyPairCommand({ KeyName: 'doomed' })).then(({ $metadata: _, ...r }) => r), { Return: true });

  const again = await create({ KeyName: 'doomed' }, c);
  assert.notEqual(again.KeyPairId, k.KeyPairId);
  assert.deepEqual(await c.send(new DeleteKeyPairCommand({ KeyPairId: again.KeyPairId })).then(({ $metadata: _, ...r }) => r), { Return: true, KeyPairId: again.KeyPairId });
  assert.deepEqual(await c.send(new DeleteKeyPairCommand({ KeyPairId: again.KeyPairId })).then(({ $metadata: _, ...r }) => r), { Return: true });

  assert.deepEqual(await errorOf(c.send(new DeleteKeyPairCommand({}))), {
    code: 'MissingParameter',
    status: 400,
    message: 'The request must contain the parameter KeyName or KeyPairId',
  });
  const other = await create({ KeyName: 'other' }, c);
  const mismatch = await errorOf(c.send(new DeleteKeyPairCommand({ KeyPairId: other.KeyPairId, KeyName: 'someone-else' })));
  assert.equal(mismatch.code, 'InvalidParameterCombination');
  assert.match(mismatch.message, new RegExp(`${other.KeyPairId}.*someone-else`));
  assert.equal((await describeKeyPair('other', c)).KeyPairId, other.KeyPairId);
});

// --- the key's way to the instance ------------------------------------------------------------------

test("RunInstances keeps the key pair's name and public key with the instance (for the VM), also after the pair is deleted", async () => {
  const c = server.client('sa-east-1');
  await importKey('launch-key', ED25519, c);
  const publicKey = (await describeKeyPair('launch-key', c)).PublicKey;
  const launched = await launchOne(c, { KeyName: 'launch-key' });
  const id = launched.InstanceId!;
  assert.equal(launched.KeyName, 'launch-key');
  const services = server.nestbox.services;
  const rec = (await services.store.instance(id))!;
  assert.equal(rec.publicKey, publicKey);
  // the VM spec the driver gets carries it (the qemu driver installs it as root's authorized_keys)
  assert.equal(services.vms.specOf(rec).publicKey, publicKey);
  assert.equal(services.vms.specOf({ ...rec, publicKey: undefined }).publicKey, undefined);

  await c.send(new DeleteKeyPairCommand({ KeyName: 'launch-key' }));
  assert.equal((await services.store.instance(id))?.publicKey, publicKey);
  assert.deepEqual(
    await errorOf(launch(c, { KeyName: 'launch-key' })),
    { code: 'InvalidKeyPair.NotFound', status: 400, message: "The key pair 'launch-key' does not exist" },
  );
  // a key pair of another region is not there for RunInstances either
  assert.equal(
    (await errorOf(launch(c, { KeyName: 'rsa-default' }))).code,
    'InvalidKeyPair.NotFound',
  );
});

test('an ed25519 key pair cannot launch a Windows instance (EC2: Unsupported); an RSA one can', async () => {
  const c = server.client('eu-north-1');
  await importKey('win-ed', ED25519, c);
  await importKey('win-rsa', RSA_3072, c);
  const launchWindows = (KeyName: string) => launch(c, { ImageId: WINDOWS_AMI, InstanceType: 'r8i.4xlarge', KeyName });
  const err = await errorOf(launchWindows('win-ed'));
  assert.equal(err.code, 'Unsupported');
  assert.match(err.message, /ED25519/);
  assert.equal((await launchWindows('win-rsa'))[0]?.KeyName, 'win-rsa');
});
