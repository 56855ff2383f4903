import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@smithy/core/checksum';
import { buildQueryString } from '@smithy/core/protocols';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Error } from '../src/domain/errors.js';
import {
  canonicalRequest,
  computeSignature,
  verifySigV4,
  checkCredential,
  type Credentials,
  type SignedRequest,
  type VerifyOptions,
} from '../src/http/sigv4.js';

const CREDS: Credentials = {
  accessKeyId: 'AKIDNESTBOXTEST00001',
  secretAccessKey: 'nestbox/secret+KEY/0123456789abcdefghijklm',
  accountId: '123456789012',
};
const SIGNED_AT = new Date('2026-02-16T10:00:00Z');
const HOST = 'localhost:4566';
/** What the EC2 SDK sends for DescribeInstances with Filters=[{Name:'tag:Name', Values:['a b*']}]. */
const FORM_BODY = 'Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName&Filter.1.Value.1=a%20b%2A';

const options = (overrides: Partial<VerifyOptions> = {}): VerifyOptions => ({
  lookup: (id) => (id === CREDS.accessKeyId ? CREDS : undefined),
  now: () => SIGNED_AT,
  ...overrides,
});

const signer = (region: string, secretAccessKey = CREDS.secretAccessKey, service = 'ec2') =>
  new SignatureV4({
    credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey },
    region,
    service,
    sha256: Sha256,
  });

/** A form POST signed in the Authorization header, as it reaches the server. */
async function signedPost(
  opts: { region?: string; secret?: string; service?: string; at?: Date; path?: string; body?: string } = {},
): Promise<SignedRequest> {
  const body = opts.body ?? FORM_BODY;
  const signed = await signer(opts.region ?? 'us-east-1', opts.secret, opts.service).sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: 'localhost',
      port: 4566,
      path: opts.path ?? '/',
      query: {},
      headers: {
        host: HOST,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    },
    { signingDate: opts.at ?? SIGNED_AT },
  );
  return { method: 'POST', path: signed.path, rawQuery: '', headers: signed.headers, body: Buffer.from(body) };
}

/** A presigned GET, as it reaches the server. */
async function presignedGet(query: Record<string, string | string[]>, expiresIn = 300): Promise<SignedRequest> {
  const presigned = await signer('us-east-1').presign(
    { method: 'GET', protocol: 'http:', hostname: 'localhost', port: 4566, path: '/', query, headers: { host: HOST } },
    { signingDate: SIGNED_AT, expiresIn },
  );
  return {
    method: 'GET',
    path: '/',
    rawQuery: buildQueryString(presigned.query ?? {}),
    headers: presigned.headers,
    body: Buffer.alloc(0),
  };
}

const withHeaders = (req: SignedRequest, headers: SignedRequest['headers']): SignedRequest => ({
  ...req,
  headers: { ...req.headers, ...headers },
});

function assertEc2Error(fn: () => unknown, code: string, status: number, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Ec2Error, `expected an Ec2Error, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    if (message) assert.match(err.message, message);
    return true;
  });
}

// --- valid requests -------------------------------------------------------------------------------

test('a POST signed by the SDK signer is verified, in any region', async () => {
  for (const region of ['us-east-1', 'eu-west-1']) {
    const req = await signedPost({ region });
    assert.deepEqual(verifySigV4(req, options()), {
      accessKeyId: CREDS.accessKeyId,
      accountId: CREDS.accountId,
      region,
    });
    // The same request again hits the cached signing key.
    assert.equal(verifySigV4(req, options()).region, region);
  }
});

test('a path other than / is canonicalized the way the SDK signs it', async () => {
  const req = await signedPost({ path: '/prefix/a%20b/./c/' });
  assert.equal(verifySigV4(req, options()).region, 'us-east-1');
});

test('header values are folded the way the SDK signs them', async () => {
  const req = await signedPost();
  assert.ok(String(req.headers['content-type']).includes('; '));
  const folded = withHeaders(req, { 'content-type': 'application/x-www-form-urlencoded; \t  charset=utf-8 ' });
  assert.equal(verifySigV4(folded, options()).region, 'us-east-1');
  const changed = withHeaders(req, { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' });
  assertEc2Error(() => verifySigV4(changed, options()), 'SignatureDoesNotMatch', 403);
});

test('a presigned GET with a query is verified', async () => {
  const req = await presignedGet({
    Action: 'DescribeInstances',
    Version: '2016-11-15',
    'Filter.1.Name': 'tag:Name',
    'Filter.1.Value.1': 'a b*+é~',
    Multi: ['2', '1'],
  });
  assert.match(req.rawQuery, /X-Amz-Signature=[0-9a-f]{64}/);
  assert.equal(verifySigV4(req, options()).accountId, CREDS.accountId);
  assert.equal(verifySigV4(req, options({ now: () => new Date(SIGNED_AT.getTime() + 299_000) })).region, 'us-east-1');
});

test('the EC2 client itself, over HTTP, sends a request that verifies', async () => {
  let received: { req: IncomingMessage; body: Buffer } | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received = { req, body: Buffer.concat(chunks) };
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' +
          '<requestId>r-1</requestId><reservationSet/></DescribeInstancesResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = new EC2Client({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: CREDS.secretAccessKey },
      maxAttempts: 1,
    });
    await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['a b*'] }] }));
    client.destroy();
  } finally {
    server.close();
  }
  assert.ok(received);
  const [path, rawQuery = ''] = (received.req.url ?? '/').split('?', 2) as [string, string?];
  assert.equal(received.body.toString(), FORM_BODY);
  const caller = verifySigV4(
    { method: received.req.method ?? '', path, rawQuery, headers: received.req.headers, body: received.body },
    options({ now: () => new Date() }),
  );
  assert.deepEqual(caller, { accessKeyId: CREDS.accessKeyId, accountId: CREDS.accountId, region: 'eu-west-1' });
});

// --- refusals -------------------------------------------------------------------------------------

test('a signature made with another secret is SignatureDoesNotMatch (403)', async () => {
  const req = await signedPost({ secret: 'not-the-secret' });
  assertEc2Error(() => verifySigV4(req, options()), 'SignatureDoesNotMatch', 403, /signature we calculated/);
});

test('an unknown access key is AuthFailure (401)', async () => {
  const req = await signedPost();
  assertEc2Error(() => verifySigV4(req, options({ lookup: () => undefined })), 'AuthFailure', 401);
});

test('a tampered body is SignatureDoesNotMatch, whether or not x-amz-content-sha256 is kept', async () => {
  const req = await signedPost();
  const tampered = { ...req, body: Buffer.from(FORM_BODY.replace('a%20b', 'c%20d')) };
  assertEc2Error(() => verifySigV4(tampered, options()), 'SignatureDoesNotMatch', 403, /x-amz-content-sha256/);
  const { 'x-amz-content-sha256': _dropped, ...headers } = req.headers;
  assertEc2Error(() => verifySigV4({ ...tampered, headers }, options()), 'SignatureDoesNotMatch', 403);
});

test('a tampered presigned query is SignatureDoesNotMatch', async () => {
  const req = await presignedGet({ Action: 'DescribeInstances', Version: '2016-11-15' });
  const tampered = { ...req, rawQuery: req.rawQuery.replace('DescribeInstances', 'TerminateInstances') };
  assertEc2Error(() => verifySigV4(tampered, options()), 'SignatureDoesNotMatch', 403);
});

test('no Authorization header and no X-Amz-Algorithm is MissingAuthenticationToken (401)', () => {
  const req: SignedRequest = {
    method: 'POST',
    path: '/',
    rawQuery: 'Action=DescribeInstances',
    headers: { host: HOST },
    body: Buffer.from(FORM_BODY),
  };
  assertEc2Error(() => verifySigV4(req, options()), 'MissingAuthenticationToken', 401);
});

test('a malformed Authorization header is IncompleteSignature (400) naming the problem', async () => {
  const req = await signedPost();
  const auth = String(req.headers.authorization);
  const cases: [string, RegExp][] = [
    [auth.replace(/, Signature=[0-9a-f]+/, ''), /requires 'Signature' parameter/],
    [auth.replace(/Credential=[^,]+, /, ''), /requires 'Credential' parameter/],
    [auth.replace(/, SignedHeaders=[^,]+/, ''), /requires 'SignedHeaders' parameter/],
    [auth.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1'), /Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'/],
    [auth.replace('/ec2/aws4_request', '/ec2'), /exactly 5 slash-delimited elements/],
    [auth.replace('Signature=', 'Signature'), /missing equal-sign/],
  ];
  for (const [authorization, message] of cases) {
    const malformed = withHeaders(req, { authorization });
    assertEc2Error(() => verifySigV4(malformed, options()), 'IncompleteSignature', 400, message);
  }
  const { 'x-amz-date': _dropped, ...noDate } = req.headers;
  assertEc2Error(
    () => verifySigV4({ ...req, headers: noDate }, options()),
    'IncompleteSignature',
    400,
    /'X-Amz-Date' or a 'Date' header/,
  );
  assertEc2Error(
    () => verifySigV4(withHeaders(req, { 'x-amz-date': '2026-02-16' }), options()),
    'IncompleteSignature',
    400,
    /ISO-8601 'basic format'/,
  );
});

test('a presigned query missing a parameter is IncompleteSignature', async () => {
  const req = await presignedGet({ Action: 'DescribeInstances' });
  const rawQuery = req.rawQuery.replace(/&?X-Amz-SignedHeaders=[^&]+/, '');
  assertEc2Error(() => verifySigV4({ ...req, rawQuery }, options()), 'IncompleteSignature', 400, /X-Amz-SignedHeaders/);
});

test('a clock 20 minutes off either way is RequestExpired (400)', async () => {
  const req = await signedPost();
  for (const offset of [20 * 60_000, -20 * 60_000]) {
    const now = () => new Date(SIGNED_AT.getTime() + offset);
    assertEc2Error(
      () => verifySigV4(req, options({ now })),
      'RequestExpired',
      400,
      /^Request has expired\. Timestamp date is 20260216T100000Z$/,
    );
  }
  // 14 minutes is within the default window; a tighter window refuses it.
  const now = () => new Date(SIGNED_AT.getTime() + 14 * 60_000);
  assert.equal(verifySigV4(req, options({ now })).region, 'us-east-1');
  assertEc2Error(() => verifySigV4(req, options({ now, maxSkewMs: 60_000 })), 'RequestExpired', 400);
});

test('a presigned request past X-Amz-Expires is RequestExpired', async () => {
  const req = await presignedGet({ Action: 'DescribeInstances' }, 60);
  const now = () => new Date(SIGNED_AT.getTime() + 61_000);
  assertEc2Error(() => verifySigV4(req, options({ now })), 'RequestExpired', 400, /20260216T100000Z/);
});

test("a scope for service 's3' is refused with SignatureDoesNotMatch naming the right service", async () => {
  const req = await signedPost({ service: 's3' });
  assertEc2Error(() => verifySigV4(req, options()), 'SignatureDoesNotMatch', 403, /scoped to correct service: 'ec2'/);
});

test('a scope date other than the date of x-amz-date is SignatureDoesNotMatch', async () => {
  const req = await signedPost();
  const authorization = String(req.headers.authorization).replace('/20260216/', '/20260215/');
  assertEc2Error(
    () => verifySigV4(withHeaders(req, { authorization }), options()),
    'SignatureDoesNotMatch',
    403,
    /'20260215' != '20260216'/,
  );
});

test('SignedHeaders without host is refused', async () => {
  const req = await signedPost();
  const authorization = String(req.headers.authorization).replace(';host;', ';');
  assert.doesNotMatch(authorization, /SignedHeaders=[^,]*\bhost\b/);
  assertEc2Error(() => verifySigV4(withHeaders(req, { authorization }), options()), 'SignatureDoesNotMatch', 403, /'Host'/);
});

test("a scope naming a Region outside the catalog is SignatureDoesNotMatch, before the access key is looked up", async () => {
  for (const region of ['us-east-9', '..', '<r&"x>', 'x'.repeat(300)]) {
    const req = await signedPost({ region });
    const lookup = () => assert.fail('the access key must not be looked up for a scope that cannot be valid');
    const shown = region.length > 64 ? `${region.slice(0, 64)}…` : region;
    assertEc2Error(() => verifySigV4(req, options({ lookup })), 'SignatureDoesNotMatch', 403);
    assert.throws(() => verifySigV4(req, options({ lookup })), (e: Ec2Error) => e.message === `Credential should be scoped to a valid region, not '${shown}'.`);
  }
  // another endpoint may serve other Regions
  const custom = await signedPost({ region: 'xx-test-1' });
  assert.equal(verifySigV4(custom, options({ isKnownRegion: (r) => r === 'xx-test-1' })).region, 'xx-test-1');
});

test('checkCredential decides from the headers alone (no body): known key, fresh date, valid scope', async () => {
  const { body: _body, ...head } = await signedPost();
  assert.equal(checkCredential(head, options()).credentials, CREDS);
  assertEc2Error(() => checkCredential(head, options({ lookup: () => undefined })), 'AuthFailure', 401);
  assertEc2Error(() => checkCredential(head, options({ now: () => new Date(SIGNED_AT.getTime() + 3_600_000) })), 'RequestExpired', 400);
  const { body: _b, ...unsigned } = withHeaders(await signedPost(), { authorization: undefined });
  assertEc2Error(() => checkCredential(unsigned, options()), 'MissingAuthenticationToken', 401);
});

test("verifySigV4 given checkCredential's answer (as the server does) decides as without it, freshness checked again", async () => {
  const req = await signedPost();
  const { body: _body, ...head } = req;
  const checked = checkCredential(head, options());
  assert.deepEqual(verifySigV4(req, options(), checked), verifySigV4(req, options()));
  // the body took long to arrive: the signature has expired meanwhile
  const later = options({ now: () => new Date(SIGNED_AT.getTime() + 20 * 60_000) });
  assertEc2Error(() => verifySigV4(req, later, checked), 'RequestExpired', 400, /^Request has expired\. Timestamp date is 20260216T100000Z$/);
  // the body is still what the signature covers
  const tampered = { ...req, body: Buffer.from(`${FORM_BODY}&DryRun=true`) };
  assertEc2Error(() => verifySigV4(tampered, options(), checked), 'SignatureDoesNotMatch', 403, /x-amz-content-sha256/);
  const { 'x-amz-content-sha256': _hash, ...headers } = tampered.headers;
  assertEc2Error(() => verifySigV4({ ...tampered, headers }, options(), checkCredential({ ...head, headers }, options())), 'SignatureDoesNotMatch', 403);
});

test('the signature must be the 64 lower-case hex digits computed: upper case, shorter or longer is SignatureDoesNotMatch', async () => {
  const req = await signedPost();
  const authorization = String(req.headers.authorization);
  const signature = /Signature=([0-9a-f]{64})$/.exec(authorization)?.[1] ?? assert.fail(authorization);
  for (const other of [signature.toUpperCase(), signature.slice(0, 63), `${signature}0`, `${signature.slice(0, 63)}g`]) {
    const changed = withHeaders(req, { authorization: authorization.replace(signature, other) });
    assertEc2Error(() => verifySigV4(changed, options()), 'SignatureDoesNotMatch', 403, /signature we calculated/);
  }
  // signed with one key, then another, then the first again: each is checked with its own signing key
  const other = await signedPost({ secret: 'another/secret' });
  const otherCreds = { ...CREDS, secretAccessKey: 'another/secret' };
  for (const [r, creds] of [[req, CREDS], [other, otherCreds], [req, CREDS]] as const) {
    assert.equal(verifySigV4(r, options({ lookup: () => creds })).region, 'us-east-1');
  }
  assertEc2Error(() => verifySigV4(other, options()), 'SignatureDoesNotMatch', 403);
});

// --- AWS SigV4 test suite -------------------------------------------------------------------------

test('AWS test suite vector "get-vanilla"', () => {
  const req: SignedRequest = {
    method: 'GET',
    path: '/',
    rawQuery: '',
    headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' },
    body: Buffer.alloc(0),
  };
  const emptyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const canonical = canonicalRequest(req, 'host;x-amz-date', emptyHash);
  assert.equal(
    canonical,
    `GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${emptyHash}`,
  );
  const secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const scope = { date: '20150830', region: 'us-east-1', service: 'service' };
  const signature = '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31';
  assert.equal(computeSignature(secret, scope, '20150830T123600Z', canonical).toString('hex'), signature);

  const authorization =
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
    `SignedHeaders=host;x-amz-date, Signature=${signature}`;
  const example: Credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret, accountId: '000000000000' };
  const caller = verifySigV4(withHeaders(req, { authorization }), {
    lookup: (id) => (id === example.accessKeyId ? example : undefined),
    service: 'service',
    now: () => new Date('2015-08-30T12:40:00Z'),
  });
  assert.deepEqual(caller, { accessKeyId: 'AKIDEXAMPLE', accountId: '000000000000', region: 'us-east-1' });
});
