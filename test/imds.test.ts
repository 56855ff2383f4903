/**
 * The instance metadata service over real HTTP on real Linux abstract sockets: IMDSv2 tokens, IMDSv1,
 * the metadata options, the categories, user data, the identity document, isolation between instances,
 * and a client as a guest's would be (curl, and socat as QEMU's guestfwd runs it).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { InstanceRecord } from '../src/domain/instance.js';
import { type ImdsInstanceView, type ImdsNetworkFacts, createImdsService, imdsNamespaceOf, imdsViewOf } from '../src/imds/index.js';
import { instanceRecord } from './fixtures.js';

const run = promisify(execFile);

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly text: string;
}

/** One HTTP request on the abstract socket `name`, on a connection of its own. */
function call(name: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath: `\0${name}`, path, method: opts.method ?? 'GET', headers: { Host: '169.254.169.254', ...opts.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end(opts.body);
  });
}

/** Writes raw bytes and collects everything until the server closes the connection. */
function raw(name: string, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: `\0${name}` });
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    sock.setTimeout(5000, () => sock.destroy(new Error('timeout')));
    sock.end(data);
  });
}

async function token(name: string, ttl = '21600'): Promise<string> {
  const r = await call(name, '/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': ttl } });
  assert.equal(r.status, 200, r.text);
  return r.text;
}

const withToken = (t: string) => ({ headers: { 'X-aws-ec2-metadata-token': t } });

/** The connection is closed without any response. */
async function assertNoAnswer(name: string, path = '/latest/meta-data/instance-id'): Promise<void> {
  await assert.rejects(call(name, path), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' || /socket hang up/.test(err.message));
}

// --- the instances the tests serve -------------------------------------------------------------------

const A = 'i-0aaaaaaaaaaaaaaa1';
const B = 'i-0bbbbbbbbbbbbbbb2';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMx5c6sQ3mJr0W0w7n2a6Yd2h0c1m9m8GxY7uYb0aXkq my-key';

interface Entry {
  rec: InstanceRecord;
  tags: Map<string, string>;
  network: ImdsNetworkFacts;
}

const instances = new Map<string, Entry>();
let clockMs = Date.parse('2026-03-01T12:00:00Z');
let lookups = 0;

async function lookup(id: string): Promise<ImdsInstanceView | undefined> {
  lookups++;
  const e = instances.get(id);
  if (!e || e.rec.state === 'terminated') return undefined;
  return imdsViewOf(e.rec, { tags: e.tags, network: e.network });
}

function reset(): void {
  instances.clear();
  instances.set(A, {
    rec: instanceRecord({
      id: A,
      reservationId: 'r-0aaaaaaaaaaaaaaa1',
      state: 'running',
      launchTime: '2026-03-01T11:59:30.123Z',
      keyName: 'my-key',
      publicKey: KEY,
      userData: Buffer.from('#!/bin/sh\necho hello\n').toString('base64'),
      metadataOptions: { httpTokens: 'optional', hopLimit: 1, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled', instanceMetadataTags: 'disabled' },
    }),
    tags: new Map([
      ['Name', 'web-1'],
      ['env', 'test'],
    ]),
    network: {
      eniId: 'eni-0aaaaaaaaaaaaaaa1',
      mac: '0e:1a:2b:3c:4d:5e',
      privateIp: '172.31.0.8',
      subnetCidr: '172.31.0.0/20',
      privateDnsName: 'ip-172-31-0-8.ec2.internal',
      publicIp: '127.1.0.8',
    },
  });
  instances.set(B, {
    rec: instanceRecord({
      id: B,
      reservationId: 'r-0bbbbbbbbbbbbbbb2',
      state: 'running',
      privateIpAddress: '172.31.0.9',
      availabilityZone: 'us-east-1b',
      metadataOptions: { httpTokens: 'optional', hopLimit: 1, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled', instanceMetadataTags: 'disabled' },
    }),
    tags: new Map(),
    network: {
      eniId: 'eni-0bbbbbbbbbbbbbbb2',
      mac: '0e:00:00:00:00:02',
      privateIp: '172.31.16.9',
      subnetCidr: '172.31.16.0/20',
      privateDnsName: 'ip-172-31-16-9.ec2.internal',
    },
  });
}

const entry = (id: string): Entry => instances.get(id)!;
const setOptions = (id: string, patch: Partial<NonNullable<InstanceRecord['metadataOptions']>>) => {
  const e = entry(id);
  e.rec = { ...e.rec, metadataOptions: { ...e.rec.metadataOptions!, ...patch } };
};

const namespace = `test-${process.pid}-${randomBytes(3).toString('hex')}`;
const imds = createImdsService({ namespace, lookup, now: () => new Date(clockMs) });
let nameA = '';
let nameB = '';

before(async () => {
  reset();
  nameA = await imds.open(A);
  nameB = await imds.open(B);
});
after(() => imds.closeAll());

// --- the sockets ---------------------------------------------------------------------------------------

describe('sockets', () => {
  test('one abstract socket per instance, named by namespace and instance; open is idempotent', async () => {
    assert.ok(nameA.startsWith(`nestbox-imds/${namespace}/${A}/...`), nameA);
    assert.match(nameA, /^[A-Za-z0-9/._-]+$/);
    assert.equal(imds.socketName(B), nameB);
    assert.equal(Buffer.byteLength(nameA), 107);
    assert.equal(Buffer.byteLength(nameB), 107);
    assert.deepEqual(await Promise.all([imds.open(A), imds.open(A)]), [nameA, nameA]);
    const r = await call(nameA, '/latest/meta-data/instance-id');
    assert.equal(r.text, A);
  });

  test('a namespace is a short hash of the data directory; bad names are refused', () => {
    assert.match(imdsNamespaceOf('/var/lib/nestbox'), /^[0-9a-f]{16}$/);
    assert.equal(imdsNamespaceOf('/var/lib/nestbox/'), imdsNamespaceOf('/var/lib/nestbox'));
    assert.notEqual(imdsNamespaceOf('/a'), imdsNamespaceOf('/b'));
    // the same directory through a symlink is the same namespace
    const dir = mkdtempSync(join(tmpdir(), 'nestbox-imds-'));
    try {
      symlinkSync(dir, `${dir}-link`);
      assert.equal(imdsNamespaceOf(`${dir}-link`), imdsNamespaceOf(dir));
    } finally {
      rmSync(`${dir}-link`, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => createImdsService({ namespace: 'a,b', lookup }));
    assert.throws(() => imds.socketName('i-1:2'));
    assert.throws(() => imds.socketName('x'.repeat(41)));
  });

  test('close() stops answering; open() serves again, and earlier tokens still work there', async () => {
    const t = await token(nameA);
    await imds.close(A);
    await assert.rejects(call(nameA, '/latest/meta-data/instance-id'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    await imds.close(A); // idempotent
    assert.equal(await imds.open(A), nameA);
    assert.equal((await call(nameA, '/latest/meta-data/instance-id', withToken(t))).text, A);
  });

  test('open() right after close() waits for the old socket to go', async () => {
    const closing = imds.close(A);
    assert.equal(await imds.open(A), nameA);
    await closing;
    assert.equal((await call(nameA, '/latest/meta-data/instance-id')).text, A);
    // and many in a row
    for (let i = 0; i < 5; i++) {
      void imds.close(A);
      await imds.open(A);
    }
    assert.equal((await call(nameA, '/latest/meta-data/instance-id')).text, A);
  });

  test('closeAll() closes every socket', async () => {
    const other = createImdsService({ namespace: `${namespace}-x`, lookup });
    const n1 = await other.open(A);
    const n2 = await other.open(B);
    assert.equal((await call(n1, '/latest/meta-data/instance-id')).status, 200);
    await other.closeAll();
    for (const n of [n1, n2]) await assert.rejects(call(n, '/'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
  });
});

// --- IMDSv2 and IMDSv1 ------------------------------------------------------------------------------------

describe('tokens', () => {
  test('IMDSv2: PUT /latest/api/token, then GET with the token', async () => {
    reset();
    const put = await call(nameA, '/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' } });
    assert.equal(put.status, 200);
    assert.equal(put.headers['x-aws-ec2-metadata-token-ttl-seconds'], '21600');
    assert.equal(put.headers['content-type'], 'text/plain');
    assert.match(put.text, /^[A-Za-z0-9+/]+=*$/);
    const get = await call(nameA, '/latest/meta-data/instance-id', withToken(put.text));
    assert.equal(get.status, 200);
    assert.equal(get.text, A);
    assert.equal(get.headers['content-type'], 'text/plain');
    assert.equal(get.headers.server, 'EC2ws');
    assert.equal(get.headers.connection, 'close');
    assert.equal(get.headers['x-aws-ec2-metadata-token-ttl-seconds'], '21600');
  });

  test('IMDSv1 works while HttpTokens is optional and is refused (401) when it is required', async () => {
    reset();
    assert.equal((await call(nameA, '/latest/meta-data/local-ipv4')).text, '172.31.0.8');
    setOptions(A, { httpTokens: 'required' });
    const v1 = await call(nameA, '/latest/meta-data/local-ipv4');
    assert.equal(v1.status, 401);
    assert.match(v1.text, /401 - Unauthorized/);
    assert.equal((await call(nameA, '/')).status, 401);
    const v2 = await call(nameA, '/latest/meta-data/local-ipv4', withToken(await token(nameA)));
    assert.equal(v2.status, 200);
    assert.equal(v2.text, '172.31.0.8');
  });

  test('the image default (ImdsSupport v2.0) requires tokens when the launch set no options', async () => {
    reset();
    const e = entry(A);
    const { metadataOptions: _drop, ...rest } = e.rec;
    e.rec = rest;
    assert.equal((await call(nameA, '/latest/meta-data/instance-id')).status, 401);
    assert.equal((await call(nameA, '/latest/meta-data/instance-id', withToken(await token(nameA)))).status, 200);
  });

  test('a wrong token is 401 even where IMDSv1 is allowed', async () => {
    reset();
    for (const bad of ['nope', 'AAAA', (await token(nameA)).replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), 'x'.repeat(5000)]) {
      const r = await call(nameA, '/latest/meta-data/instance-id', withToken(bad));
      assert.equal(r.status, 401, bad.slice(0, 20));
    }
  });

  test('a token expires after its TTL', async () => {
    reset();
    const t = await token(nameA, '60');
    clockMs += 59_000;
    const ok = await call(nameA, '/latest/meta-data/instance-id', withToken(t));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-aws-ec2-metadata-token-ttl-seconds'], '1');
    clockMs += 1_000;
    assert.equal((await call(nameA, '/latest/meta-data/instance-id', withToken(t))).status, 401);
    // without the token, IMDSv1 still answers (HttpTokens optional)
    assert.equal((await call(nameA, '/latest/meta-data/instance-id')).status, 200);
  });

  test('a token is valid on its own instance only', async () => {
    reset();
    const tA = await token(nameA);
    const tB = await token(nameB);
    assert.equal((await call(nameB, '/latest/meta-data/instance-id', withToken(tA))).status, 401);
    assert.equal((await call(nameA, '/latest/meta-data/instance-id', withToken(tB))).status, 401);
    assert.equal((await call(nameB, '/latest/meta-data/instance-id', withToken(tB))).text, B);
  });

  test('the TTL must be a whole number of seconds from 1 to 21600', async () => {
    reset();
    const put = (headers: Record<string, string>) => call(nameA, '/latest/api/token', { method: 'PUT', headers });
    assert.equal((await put({})).status, 400);
    for (const ttl of ['0', '21601', '-5', '1.5', 'abc', '', '999999999999']) {
      const r = await put({ 'X-aws-ec2-metadata-token-ttl-seconds': ttl });
      assert.equal(r.status, 400, `ttl ${JSON.stringify(ttl)}`);
      assert.match(r.text, /400 - Bad Request/);
    }
    for (const ttl of ['1', '21600']) assert.equal((await put({ 'X-aws-ec2-metadata-token-ttl-seconds': ttl })).status, 200);
  });

  test('a token request carrying X-Forwarded-For is refused (403)', async () => {
    reset();
    const r = await call(nameA, '/latest/api/token', {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '203.0.113.9' },
    });
    assert.equal(r.status, 403);
  });

  test('only GET and HEAD read metadata; only PUT gets a token (405 otherwise)', async () => {
    reset();
    const post = await call(nameA, '/latest/meta-data/instance-id', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal((await call(nameA, '/latest/meta-data/', { method: 'DELETE' })).status, 405);
    const getToken = await call(nameA, '/latest/api/token', { headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } });
    assert.equal(getToken.status, 405);
    assert.equal(getToken.headers.allow, 'PUT');
    const head = await call(nameA, '/latest/meta-data/instance-id', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String(A.length));
  });
});

// --- the metadata options -----------------------------------------------------------------------------------

describe('metadata options', () => {
  test('HttpEndpoint disabled: connections are closed unanswered, token requests included; enabling again serves at once', async () => {
    reset();
    setOptions(A, { httpEndpoint: 'disabled' });
    await assertNoAnswer(nameA);
    await assert.rejects(
      call(nameA, '/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } }),
      (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' || /socket hang up/.test(err.message),
    );
    assert.equal(await raw(nameA, 'garbage\r\n\r\n'), '');
    // B is not affected
    assert.equal((await call(nameB, '/latest/meta-data/instance-id')).text, B);
    setOptions(A, { httpEndpoint: 'enabled' });
    assert.equal((await call(nameA, '/latest/meta-data/instance-id')).text, A);
  });

  test('an instance that is gone (terminated, unknown) gets no answer', async () => {
    reset();
    entry(A).rec = { ...entry(A).rec, state: 'terminated' };
    await assertNoAnswer(nameA);
    instances.delete(A);
    await assertNoAnswer(nameA);
    reset();
  });

  test('instance tags are served only when InstanceMetadataTags is enabled', async () => {
    reset();
    const md = await call(nameA, '/latest/meta-data/');
    assert.ok(!md.text.split('\n').includes('tags/'));
    assert.equal((await call(nameA, '/latest/meta-data/tags/instance/')).status, 404);
    assert.equal((await call(nameA, '/latest/meta-data/tags/instance/Name')).status, 404);

    setOptions(A, { instanceMetadataTags: 'enabled' });
    assert.ok((await call(nameA, '/latest/meta-data/')).text.split('\n').includes('tags/'));
    assert.equal((await call(nameA, '/latest/meta-data/tags/')).text, 'instance/');
    assert.equal((await call(nameA, '/latest/meta-data/tags/instance')).text, 'Name\nenv');
    assert.equal((await call(nameA, '/latest/meta-data/tags/instance/Name')).text, 'web-1');
    assert.equal((await call(nameA, '/latest/meta-data/tags/instance/nope')).status, 404);

    // CreateTags / DeleteTags show at once; keys EC2 cannot serve (spaces, '/') are left out
    entry(A).tags.set('team', 'infra');
    entry(A).tags.set('has space', 'x');
    entry(A).tags.set('a/b', 'x');
    entry(A).tags.delete('env');
    assert.equal((await call(nameA, '/latest/meta-data/tags/instance/')).text, 'Name\nteam');
    assert.equal((await call(nameA, '/latest/meta-data/tags/instance/team')).text, 'infra');
  });

  test('every change is seen by the next request, without reopening (lookup per request)', async () => {
    reset();
    assert.equal((await call(nameB, '/latest/meta-data/public-ipv4')).status, 404);
    const before = lookups;
    entry(B).network = { ...entry(B).network, publicIp: '127.1.0.9' };
    assert.equal((await call(nameB, '/latest/meta-data/public-ipv4')).text, '127.1.0.9');
    assert.equal((await call(nameB, '/latest/meta-data/public-hostname')).text, 'ec2-127-1-0-9.compute-1.amazonaws.com');
    entry(B).rec = { ...entry(B).rec, instanceType: 'm8i.xlarge' };
    assert.equal((await call(nameB, '/latest/meta-data/instance-type')).text, 'm8i.xlarge');
    assert.ok(lookups >= before + 3);
  });
});

// --- what is served ---------------------------------------------------------------------------------------------

describe('categories', () => {
  test('/ lists the versions; every version serves what latest does; unknown versions are 404', async () => {
    reset();
    const versions = (await call(nameA, '/')).text.split('\n');
    for (const v of ['1.0', '2009-04-04', '2016-09-02', '2018-09-24', '2021-03-23', 'latest']) assert.ok(versions.includes(v), v);
    assert.equal(versions.at(-1), 'latest');
    // cloud-init probes a dated version's instance-id
    for (const v of ['2021-03-23', '2018-09-24', '2016-09-02']) assert.equal((await call(nameA, `/${v}/meta-data/instance-id`)).text, A);
    assert.equal((await call(nameA, '/2099-01-01/meta-data/instance-id')).status, 404);
  });

  test('/latest/ lists dynamic, meta-data and user-data (only with user data)', async () => {
    reset();
    assert.equal((await call(nameA, '/latest/')).text, 'dynamic\nmeta-data\nuser-data');
    assert.equal((await call(nameA, '/latest')).text, 'dynamic\nmeta-data\nuser-data');
    assert.equal((await call(nameB, '/latest/')).text, 'dynamic\nmeta-data');
  });

  test('meta-data/ lists the categories, subdirectories with a trailing slash', async () => {
    reset();
    const keys = (await call(nameA, '/latest/meta-data/')).text.split('\n');
    const expected = [
      'ami-id',
      'ami-launch-index',
      'ami-manifest-path',
      'block-device-mapping/',
      'events/',
      'hostname',
      'instance-action',
      'instance-id',
      'instance-life-cycle',
      'instance-type',
      'local-hostname',
      'local-ipv4',
      'mac',
      'network/',
      'placement/',
      'profile',
      'public-hostname',
      'public-ipv4',
      'public-keys/',
      'reservation-id',
      'security-groups',
      'services/',
    ];
    assert.deepEqual(keys, expected);
    assert.deepEqual(keys, [...keys].sort());
    // without a public address, a key pair or a profile
    const bKeys = (await call(nameB, '/latest/meta-data')).text.split('\n');
    for (const k of ['public-ipv4', 'public-hostname', 'public-keys/', 'iam/']) assert.ok(!bKeys.includes(k), k);
    assert.equal((await call(nameB, '/latest/meta-data/public-ipv4')).status, 404);
    assert.equal((await call(nameB, '/latest/meta-data/public-keys/')).status, 404);
    assert.equal((await call(nameB, '/latest/meta-data/iam/info')).status, 404);
  });

  test('the single values', async () => {
    reset();
    const get = async (p: string) => {
      const r = await call(nameA, `/latest/meta-data/${p}`);
      assert.equal(r.status, 200, p);
      return r.text;
    };
    assert.equal(await get('ami-id'), 'ami-0b5e4a1f2c3d40001');
    assert.equal(await get('ami-launch-index'), '0');
    assert.equal(await get('ami-manifest-path'), '(unknown)');
    assert.equal(await get('block-device-mapping/'), 'ami\nroot');
    assert.equal(await get('block-device-mapping/ami'), '/dev/xvda');
    assert.equal(await get('block-device-mapping/root'), '/dev/xvda');
    assert.equal(await get('hostname'), 'ip-172-31-0-8.ec2.internal');
    assert.equal(await get('local-hostname'), 'ip-172-31-0-8.ec2.internal');
    assert.equal(await get('instance-action'), 'none');
    assert.equal(await get('instance-life-cycle'), 'on-demand');
    assert.equal(await get('instance-type'), 'c8i.large');
    assert.equal(await get('mac'), '0e:1a:2b:3c:4d:5e');
    assert.equal(await get('placement/'), 'availability-zone\navailability-zone-id\nregion');
    assert.equal(await get('placement/availability-zone'), 'us-east-1a');
    assert.equal(await get('placement/availability-zone-id'), 'use1-az6');
    assert.equal(await get('placement/region'), 'us-east-1');
    assert.equal(await get('profile'), 'default-hvm');
    assert.equal(await get('public-ipv4'), '127.1.0.8');
    assert.equal(await get('public-hostname'), 'ec2-127-1-0-8.compute-1.amazonaws.com');
    assert.equal(await get('reservation-id'), 'r-0aaaaaaaaaaaaaaa1');
    assert.equal(await get('security-groups'), 'default');
    assert.equal(await get('services/domain'), 'amazonaws.com');
    assert.equal(await get('services/partition'), 'aws');
    assert.equal(await get('events/maintenance/scheduled'), '[]');
    // a leaf answers with a trailing slash too
    assert.equal(await get('instance-id/'), A);
  });

  test('network/interfaces/macs/<mac>/', async () => {
    reset();
    const mac = '0e:1a:2b:3c:4d:5e';
    assert.equal((await call(nameA, '/latest/meta-data/network/')).text, 'interfaces/');
    assert.equal((await call(nameA, '/latest/meta-data/network/interfaces/macs/')).text, `${mac}/`);
    const base = `/latest/meta-data/network/interfaces/macs/${mac}/`;
    const listing = (await call(nameA, base)).text.split('\n');
    for (const k of [
      'device-number',
      'interface-id',
      'local-hostname',
      'local-ipv4s',
      'mac',
      'owner-id',
      'public-hostname',
      'public-ipv4s',
      'security-group-ids',
      'security-groups',
      'subnet-id',
      'subnet-ipv4-cidr-block',
      'vpc-id',
      'vpc-ipv4-cidr-block',
      'vpc-ipv4-cidr-blocks',
    ]) {
      assert.ok(listing.includes(k), k);
    }
    const v = imdsViewOf(entry(A).rec, { network: entry(A).network });
    const get = async (k: string) => (await call(nameA, base + k)).text;
    assert.equal(await get('device-number'), '0');
    assert.equal(await get('interface-id'), 'eni-0aaaaaaaaaaaaaaa1');
    assert.equal(await get('local-ipv4s'), '172.31.0.8');
    assert.equal(await get('mac'), mac);
    assert.equal(await get('owner-id'), '000000000000');
    assert.equal(await get('public-ipv4s'), '127.1.0.8');
    assert.equal(await get('ipv4-associations/127.1.0.8'), '172.31.0.8');
    assert.equal(await get('security-group-ids'), v.securityGroups[0]!.id);
    assert.match(await get('security-group-ids'), /^sg-[0-9a-f]{17}$/);
    assert.equal(await get('security-groups'), 'default');
    assert.equal(await get('subnet-id'), v.subnetId);
    assert.match(await get('subnet-id'), /^subnet-[0-9a-f]{17}$/);
    assert.equal(await get('subnet-ipv4-cidr-block'), '172.31.0.0/20');
    assert.match(await get('vpc-id'), /^vpc-[0-9a-f]{17}$/);
    assert.equal(await get('vpc-ipv4-cidr-block'), '172.31.0.0/16');
    assert.equal(await get('vpc-ipv4-cidr-blocks'), '172.31.0.0/16');
    assert.equal((await call(nameA, `/latest/meta-data/network/interfaces/macs/0e:00:00:00:00:02/mac`)).status, 404);
    // secondary addresses (AssignPrivateIpAddresses) follow the primary, one a line, as cloud-init reads them
    entry(A).rec = { ...entry(A).rec, secondaryPrivateIps: ['172.31.0.20', '172.31.0.21'] };
    assert.equal(await get('local-ipv4s'), '172.31.0.8\n172.31.0.20\n172.31.0.21');
  });

  test('public-keys: 0=<name>, then 0/openssh-key', async () => {
    reset();
    assert.equal((await call(nameA, '/latest/meta-data/public-keys/')).text, '0=my-key');
    assert.equal((await call(nameA, '/latest/meta-data/public-keys/0/')).text, 'openssh-key');
    assert.equal((await call(nameA, '/latest/meta-data/public-keys/0')).text, 'openssh-key');
    assert.equal((await call(nameA, '/latest/meta-data/public-keys/0/openssh-key')).text, KEY);
    assert.equal((await call(nameA, '/latest/meta-data/public-keys/1/openssh-key')).status, 404);
  });

  test('user-data: the raw bytes, 404 when there is none', async () => {
    reset();
    const ud = await call(nameA, '/latest/user-data');
    assert.equal(ud.status, 200);
    assert.equal(ud.text, '#!/bin/sh\necho hello\n');
    assert.equal(ud.headers['content-type'], 'application/octet-stream');
    assert.equal((await call(nameA, '/2021-03-23/user-data')).text, '#!/bin/sh\necho hello\n');
    const none = await call(nameB, '/latest/user-data');
    assert.equal(none.status, 404);
    // binary (e.g. gzip) user data comes back byte for byte
    const bytes = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00, 0x80, 0x7f, 0x0a]);
    entry(B).rec = { ...entry(B).rec, userData: bytes.toString('base64') };
    assert.deepEqual((await call(nameB, '/latest/user-data')).body, bytes);
  });

  test('dynamic/instance-identity/document: EC2 members, EC2 layout', async () => {
    reset();
    assert.equal((await call(nameA, '/latest/dynamic/')).text, 'fws/\ninstance-identity/');
    assert.equal((await call(nameA, '/latest/dynamic/instance-identity/')).text, 'document');
    assert.equal((await call(nameA, '/latest/dynamic/fws/instance-monitoring')).text, 'disabled');
    const r = await call(nameA, '/latest/dynamic/instance-identity/document');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.deepEqual(JSON.parse(r.text), {
      accountId: '000000000000',
      architecture: 'x86_64',
      availabilityZone: 'us-east-1a',
      billingProducts: null,
      devpayProductCodes: null,
      marketplaceProductCodes: null,
      imageId: 'ami-0b5e4a1f2c3d40001',
      instanceId: A,
      instanceType: 'c8i.large',
      kernelId: null,
      pendingTime: '2026-03-01T11:59:30Z',
      privateIp: '172.31.0.8',
      ramdiskId: null,
      region: 'us-east-1',
      version: '2017-09-30',
    });
    assert.ok(r.text.startsWith('{\n  "accountId" : "000000000000",\n  "architecture" : "x86_64",\n'), r.text);
    assert.ok(r.text.endsWith('\n  "version" : "2017-09-30"\n}'), r.text);
  });

  test('iam/info with an instance profile (no role credentials: nestbox has no IAM)', async () => {
    reset();
    entry(A).rec = { ...entry(A).rec, iamInstanceProfile: { arn: 'arn:aws:iam::000000000000:instance-profile/web', id: 'AIPAABCDEFGHIJKLMNOPQ' } };
    assert.ok((await call(nameA, '/latest/meta-data/')).text.split('\n').includes('iam/'));
    assert.equal((await call(nameA, '/latest/meta-data/iam/')).text, 'info');
    const info = JSON.parse((await call(nameA, '/latest/meta-data/iam/info')).text) as Record<string, string>;
    assert.equal(info.Code, 'Success');
    assert.equal(info.InstanceProfileArn, 'arn:aws:iam::000000000000:instance-profile/web');
    assert.equal(info.InstanceProfileId, 'AIPAABCDEFGHIJKLMNOPQ');
    assert.equal((await call(nameA, '/latest/meta-data/iam/security-credentials/')).status, 404);
  });

  test('unknown paths are 404 with EC2 error page', async () => {
    reset();
    for (const p of ['/latest/meta-data/nope', '/latest/nope', '/nope', '/latest//meta-data/instance-id', '/latest/meta-data/instance-id/x', '/latest/meta-data/%zz']) {
      const r = await call(nameA, p);
      assert.equal(r.status, 404, p);
      assert.equal(r.headers['content-type'], 'text/html');
      assert.match(r.text, /<title>404 - Not Found<\/title>/);
    }
  });

  test('every entry a listing names can be fetched (as cloud-init crawls meta-data/)', async () => {
    reset();
    setOptions(A, { instanceMetadataTags: 'enabled' });
    const seen: string[] = [];
    const crawl = async (url: string): Promise<void> => {
      const r = await call(nameA, url);
      assert.equal(r.status, 200, url);
      for (const line of r.text.split('\n')) {
        if (line.endsWith('/')) await crawl(url + line);
        else {
          const [ident, keyName] = line.split('=', 2);
          const leaf = keyName !== undefined ? `${url}${ident}/openssh-key` : url + line;
          const v = await call(nameA, leaf);
          assert.equal(v.status, 200, leaf);
          seen.push(leaf);
        }
      }
    };
    await crawl('/2021-03-23/meta-data/');
    await crawl('/2021-03-23/dynamic/');
    assert.ok(seen.length > 40, String(seen.length));
  });

  test('two instances never see each other', async () => {
    reset();
    const [a, b] = await Promise.all([call(nameA, '/latest/meta-data/local-ipv4'), call(nameB, '/latest/meta-data/local-ipv4')]);
    assert.equal(a.text, '172.31.0.8');
    assert.equal(b.text, '172.31.16.9');
    assert.equal((await call(nameB, '/latest/meta-data/placement/availability-zone')).text, 'us-east-1b');
    assert.ok(!(await call(nameB, '/latest/dynamic/instance-identity/document')).text.includes(A));
  });
});

// --- robustness -----------------------------------------------------------------------------------------------

describe('robustness', () => {
  test('garbage, oversized headers and odd requests get an answer and never break the service', async () => {
    reset();
    assert.match(await raw(nameA, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await raw(nameA, Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10])), /^HTTP\/1\.1 400 /);
    const huge = `GET /latest/meta-data/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`;
    assert.match(await raw(nameA, huge), /^HTTP\/1\.1 431 /);
    // absolute-form target and query strings
    assert.match(await raw(nameA, 'GET http://169.254.169.254/latest/meta-data/instance-id?x=1 HTTP/1.0\r\n\r\n'), new RegExp(`\r\n\r\n${A}$`));
    // a request declaring a large body is answered without reading it
    const r = await raw(nameA, `PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 5\r\nContent-Length: 100000000\r\n\r\nabc`);
    assert.match(r, /^HTTP\/1\.1 200 /);
    // nothing is kept alive: the server closes after one response
    const two = await raw(nameA, 'GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n\r\nGET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(two.match(/HTTP\/1\.1 200/g)?.length, 1);
    // many at once
    const all = await Promise.all(Array.from({ length: 30 }, () => call(nameA, '/latest/meta-data/instance-id')));
    assert.ok(all.every((x) => x.text === A));
    assert.equal((await call(nameA, '/latest/meta-data/instance-id')).text, A);
  });

  test('slow or idle connections are dropped', async () => {
    const s = createImdsService({ namespace: `${namespace}-slow`, lookup, connectionTimeoutMs: 400 });
    const n = await s.open(A);
    const started = Date.now();
    const closedAfter = (write: (sock: ReturnType<typeof connect>) => void) =>
      new Promise<string>((resolve, reject) => {
        const sock = connect({ path: `\0${n}` });
        const chunks: Buffer[] = [];
        sock.on('data', (c) => chunks.push(c));
        sock.on('error', () => {});
        sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
        setTimeout(() => reject(new Error('still open')), 5000).unref();
        write(sock);
      });
    const [idle, partial] = await Promise.all([
      closedAfter(() => {}),
      closedAfter((sock) => sock.write('GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n')),
    ]);
    assert.equal(idle, '');
    assert.doesNotMatch(partial, /200 OK/);
    assert.ok(Date.now() - started < 4000);
    await s.closeAll();
  });

  test('a lookup that throws closes the connection and is logged', async () => {
    const warnings: string[] = [];
    const s = createImdsService({
      namespace: `${namespace}-throw`,
      lookup: () => {
        throw new Error('boom');
      },
      log: { warn: (l) => warnings.push(l), request: () => {} },
    });
    const n = await s.open(A);
    await assertNoAnswer(n);
    assert.ok(warnings.some((w) => w.includes('boom')));
    await s.closeAll();
  });
});

// --- as a guest would ---------------------------------------------------------------------------------------------

async function has(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

describe('guest clients', () => {
  test('curl --abstract-unix-socket', async (t) => {
    if (!(await has('curl'))) return t.skip('curl is not installed');
    reset();
    const url = 'http://169.254.169.254';
    const { stdout } = await run('curl', ['-sS', '--abstract-unix-socket', nameA, `${url}/latest/meta-data/instance-id`]);
    assert.equal(stdout, A);
    setOptions(A, { httpTokens: 'required' });
    const tok = (await run('curl', ['-sS', '-X', 'PUT', '--abstract-unix-socket', nameA, '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 21600', `${url}/latest/api/token`])).stdout;
    const { stdout: id } = await run('curl', ['-sS', '--abstract-unix-socket', nameA, '-H', `X-aws-ec2-metadata-token: ${tok}`, `${url}/latest/meta-data/instance-id`]);
    assert.equal(id, A);
    const { stdout: code } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--abstract-unix-socket', nameA, `${url}/latest/meta-data/instance-id`]);
    assert.equal(code, '401');
  });

  test('socat - ABSTRACT-CONNECT:<name>, as QEMU guestfwd runs it', async (t) => {
    if (!(await has('socat'))) return t.skip('socat is not installed');
    reset();
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('socat', ['-', `ABSTRACT-CONNECT:${nameA}`], { stdio: ['pipe', 'pipe', 'inherit'] });
      const chunks: Buffer[] = [];
      p.stdout.on('data', (c: Buffer) => chunks.push(c));
      p.on('error', reject);
      p.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      // a guest's request, as it arrives through the forwarded TCP connection
      p.stdin.end('GET /latest/meta-data/local-ipv4 HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: cloud-init\r\n\r\n');
    });
    assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(out.endsWith('\r\n\r\n172.31.0.8'), out);
  });
});

// --- the view ---------------------------------------------------------------------------------------------------

describe('imdsViewOf', () => {
  test('from a record alone: the default network, the image defaults, decoded user data', () => {
    const v = imdsViewOf(
      instanceRecord({
        id: 'i-0ccccccccccccccc3',
        region: 'eu-west-1',
        availabilityZone: 'eu-west-1b',
        privateIpAddress: '172.31.16.5',
        instanceLifecycle: 'spot',
        platform: 'windows',
        userData: Buffer.from('hi').toString('base64'),
        hostId: 'h-0123456789abcdef0',
        detailedMonitoring: true,
      }),
    );
    assert.equal(v.availabilityZoneId, 'euw1-az1');
    assert.equal(v.privateDnsName, 'ip-172-31-16-5.eu-west-1.compute.internal');
    assert.equal(v.subnetCidr, '172.31.16.0/20');
    assert.match(v.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.equal(parseInt(v.mac.slice(0, 2), 16) & 0x03, 0x02); // locally administered, unicast
    assert.match(v.eniId, /^eni-[0-9a-f]{17}$/);
    assert.deepEqual(v.vpcCidrs, ['172.31.0.0/16']);
    assert.equal(v.securityGroups[0]!.name, 'default');
    assert.equal(v.instanceLifeCycle, 'spot');
    assert.equal(v.rootDeviceName, '/dev/sda1');
    assert.equal(Buffer.from(v.userData!).toString(), 'hi');
    assert.equal(v.hostId, 'h-0123456789abcdef0');
    assert.equal(v.detailedMonitoring, true);
    assert.equal(v.publicIp, undefined);
    assert.deepEqual(v.publicKeys, []);
    assert.deepEqual(v.metadataOptions, { httpTokens: 'required', httpEndpoint: 'enabled', hopLimit: 2, instanceMetadataTags: 'disabled' });
  });

  test('with network facts: the recorded interface and public address (region-specific public DNS name)', () => {
    const v = imdsViewOf(instanceRecord({ region: 'eu-west-1', availabilityZone: 'eu-west-1a', userData: '' }), {
      network: { eniId: 'eni-1', mac: '0E:AA:BB:CC:DD:EE', privateIp: '172.31.0.7', subnetCidr: '172.31.0.0/20', privateDnsName: 'x', publicIp: '127.0.0.9' },
      attachment: { vpcId: 'vpc-1', subnetId: 'subnet-1', securityGroups: [{ id: 'sg-1', name: 'web' }] },
    });
    assert.equal(v.mac, '0e:aa:bb:cc:dd:ee');
    assert.equal(v.publicDnsName, 'ec2-127-0-0-9.eu-west-1.compute.amazonaws.com');
    assert.equal(v.vpcId, 'vpc-1');
    assert.equal(v.userData, undefined);
  });
});
