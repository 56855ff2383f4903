/**
 * Wire-level tests of the EC2 Query protocol: raw HTTP requests (fetch), signed with the SDK's own
 * SigV4 signer, against an in-process nestbox. Envelopes, status codes, request guards, authentication,
 * and the response details the SDK is picky about (escaping, empty lists).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateTagsCommand, DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { Sha256 } from '@smithy/core/checksum';
import { buildQueryString } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { OPERATIONS } from '../src/api/operations.js';
import { CREDENTIALS, LINUX_AMI, type TestServer, startTestServer } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
/** The exact EC2 error envelope; groups: code, message, request id. */
const ERROR_ENVELOPE =
  /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>([^<]+)<\/Code><Message>([^<]*)<\/Message><\/Error><\/Errors><RequestID>([^<]+)<\/RequestID><\/Response>$/;

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(async () => {
  await srv.close();
});

interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

interface SignOptions {
  /** false: send no signature at all */
  sign?: boolean;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  endpoint?: string;
  contentType?: string;
}

const signerFor = (o: SignOptions) =>
  new SignatureV4({
    credentials: {
      accessKeyId: o.accessKeyId ?? CREDENTIALS.accessKeyId,
      secretAccessKey: o.secretAccessKey ?? CREDENTIALS.secretAccessKey,
    },
    region: o.region ?? 'us-east-1',
    service: 'ec2',
    sha256: Sha256,
  });

async function reply(res: Response): Promise<Reply> {
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** A form POST to `/`, signed in the Authorization header unless `sign: false`. */
async function post(body: string | Buffer, o: SignOptions = {}): Promise<Reply> {
  const url = new URL(o.endpoint ?? srv.endpoint);
  let headers: Record<string, string> = {
    host: url.host,
    'content-type': o.contentType ?? 'application/x-www-form-urlencoded; charset=utf-8',
  };
  if (o.sign !== false) {
    const signed = await signerFor(o).sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: {},
      headers,
      body,
    });
    headers = signed.headers;
  }
  // fetch sets Host itself (to the same value that was signed).
  const { host: _host, ...sent } = headers;
  return reply(await fetch(`${url.origin}/`, { method: 'POST', headers: sent, body }));
}

/** A GET with the parameters in the query string, presigned (X-Amz-* query auth) unless `sign: false`. */
async function get(query: Record<string, string>, o: SignOptions = {}): Promise<Reply> {
  const url = new URL(o.endpoint ?? srv.endpoint);
  let q: Record<string, string | string[] | null> = query;
  if (o.sign !== false) {
    const presigned = await signerFor(o).presign(
      { method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query, headers: { host: url.host } },
      { expiresIn: 300 },
    );
    q = presigned.query ?? {};
  }
  return reply(await fetch(`${url.origin}/?${buildQueryString(q)}`));
}

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
const action = (name: string, extra: Record<string, string> = {}) => form({ Action: name, Version: '2016-11-15', ...extra });

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'", '&#13;': '\r' };
const unescapeXml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos|#13);/g, (e) => ENTITIES[e] as string);

/** Asserts the exact EC2 error envelope and returns its parts. */
function ec2Error(r: Reply, status: number, code: string, message?: RegExp): { code: string; message: string; requestId: string } {
  const m = ERROR_ENVELOPE.exec(r.body);
  assert.ok(m, `not the EC2 error envelope: ${r.body}`);
  const [, gotCode, rawMessage, requestId] = m as unknown as [string, string, string, string];
  const gotMessage = unescapeXml(rawMessage);
  assert.equal(gotCode, code, r.body);
  assert.equal(r.status, status, r.body);
  assert.doesNotMatch(r.body, /xmlns/);
  assert.match(requestId, UUID);
  assert.equal(r.headers.get('x-amzn-requestid'), requestId);
  assert.match(r.headers.get('content-type') ?? '', /^text\/xml/);
  if (message) assert.match(gotMessage, message);
  return { code: gotCode, message: gotMessage, requestId };
}

/** Asserts the success envelope of `action` and returns what is inside the root, after requestId. */
function success(r: Reply, actionName: string): string {
  assert.equal(r.status, 200, r.body);
  const m = new RegExp(
    `^<\\?xml version="1\\.0" encoding="UTF-8"\\?>\\s*<${actionName}Response xmlns="${XMLNS.replace(/[./]/g, '\\$&')}">` +
      `<requestId>([^<]+)</requestId>([\\s\\S]*)</${actionName}Response>$`,
  ).exec(r.body);
  assert.ok(m, `not the ${actionName} success envelope: ${r.body.slice(0, 500)}`);
  assert.match(m[1] as string, UUID);
  assert.equal(r.headers.get('x-amzn-requestid'), m[1]);
  assert.match(r.headers.get('content-type') ?? '', /^text\/xml/);
  assert.doesNotMatch(r.body, /Result>/, 'no …Result wrapper');
  return m[2] as string;
}

// --- envelopes ----------------------------------------------------------------------------------------

test('success envelope: xml declaration, namespaced root, requestId first, header equal to the body, no Result wrapper', async () => {
  const r = await post(action('DescribeInstances'));
  const inner = success(r, 'DescribeInstances');
  assert.match(inner, /^<reservationSet\/?>/);
});

test('each response has its own request id', async () => {
  const a = await post(action('DescribeInstances'));
  const b = await post(action('Nope'));
  const ida = a.headers.get('x-amzn-requestid');
  const idb = b.headers.get('x-amzn-requestid');
  assert.match(ida ?? '', UUID);
  assert.match(idb ?? '', UUID);
  assert.notEqual(ida, idb);
});

test('unknown Action is InvalidAction (400) in the exact error envelope', async () => {
  const r = await post(action('DescribeUnicorns'));
  ec2Error(r, 400, 'InvalidAction', /^The action DescribeUnicorns is not valid for this web service\.$/);
  for (const name of ['__proto__', 'constructor', 'toString', 'runinstances', 'RunInstances ', '<x>&']) {
    const e = ec2Error(await post(action(name)), 400, 'InvalidAction');
    assert.ok(e.message.includes(name), e.message);
  }
});

test('a real EC2 action nestbox lacks is answered as not implemented, naming the action', async () => {
  const r = await post(action('CreateNatGateway', { SubnetId: 'subnet-0123456789abcdef0' }));
  ec2Error(r, 501, 'NotImplemented', /\bCreateNatGateway\b/);
});

test('missing Action is MissingAction (400)', async () => {
  ec2Error(await post(form({ Version: '2016-11-15' })), 400, 'MissingAction', /Action/);
  ec2Error(await post(''), 400, 'MissingAction');
});

test('an unknown parameter is UnknownParameter naming it', async () => {
  ec2Error(await post(action('DescribeInstances', { Foo: '1' })), 400, 'UnknownParameter', /^The parameter Foo is not recognized$/);
  // nested: a member below a known structure
  ec2Error(
    await post(action('DescribeInstances', { 'Filter.1.Name': 'instance-id', 'Filter.1.Bogus': 'x' })),
    400,
    'UnknownParameter',
    /Filter\.1\.Bogus/,
  );
  // a sub-key of a scalar
  ec2Error(await post(action('DescribeInstances', { 'DryRun.1': 'true' })), 400, 'UnknownParameter', /DryRun\.1/);
});

test('list indexes: 0, leading zeros and huge values are refused; sparse indexes keep their order', async () => {
  for (const key of ['InstanceId.0', 'InstanceId.01', 'InstanceId.99999999999999999999', 'InstanceId.10001', 'InstanceId.-1', 'InstanceId.1e3', 'InstanceId.x']) {
    const r = await post(action('DescribeInstances', { [key]: 'i-1234567890abcdef0' }));
    const e = ec2Error(r, 400, 'InvalidParameter');
    assert.ok(e.message.includes(key), `${key}: ${e.message}`);
  }
  // valid indexes reach the handler (which then says the IDs do not exist, in index order)
  const r = await post(
    action('DescribeInstances', { 'InstanceId.10': 'i-00000000000000002', 'InstanceId.2': 'i-00000000000000001' }),
  );
  ec2Error(r, 400, 'InvalidInstanceID.NotFound', /'i-00000000000000001', 'i-00000000000000002'/);
});

test('__proto__ and other Object.prototype names are refused without crashing the server', async () => {
  const cases: [key: string, code: string][] = [
    ['__proto__', 'UnknownParameter'],
    ['constructor', 'UnknownParameter'],
    ['toString', 'UnknownParameter'],
    ['hasOwnProperty', 'UnknownParameter'],
    ['Filter.__proto__.Name', 'InvalidParameter'],
    ['Filter.1.__proto__', 'UnknownParameter'],
    ['InstanceId.constructor', 'InvalidParameter'],
    ['__proto__.polluted', 'UnknownParameter'],
    ['constructor.prototype.polluted', 'UnknownParameter'],
  ];
  for (const [key, code] of cases) {
    const e = ec2Error(await post(`${action('DescribeInstances')}&${encodeURIComponent(key)}=yes`), 400, code);
    assert.ok(e.message.includes(key.split('.')[0] as string), `${key}: ${e.message}`);
  }
  ec2Error(await post('Action=DescribeInstances&Version=2016-11-15&__proto__=1'), 400, 'UnknownParameter', /__proto__/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  success(await post(action('DescribeInstances')), 'DescribeInstances');
});

test('a filter named after an Object.prototype member is an invalid filter, not a crash', async () => {
  // with at least one instance for the filter to be applied to
  await srv.client().send(new RunInstancesCommand({ ImageId: LINUX_AMI, MinCount: 1, MaxCount: 1 }));
  for (const name of ['__proto__', 'constructor', 'hasOwnProperty']) {
    const r = await post(action('DescribeInstances', { 'Filter.1.Name': name, 'Filter.1.Value.1': '*' }));
    ec2Error(r, 400, 'InvalidParameterValue', new RegExp(`^The filter '${name}' is invalid$`));
  }
});

test('a boolean parameter only accepts true or false (not an Object.prototype name)', async () => {
  for (const value of ['yes', '1', 'constructor', 'toString', '__proto__', '']) {
    ec2Error(
      await post(action('DescribeInstances', { DryRun: value })),
      400,
      'InvalidParameterValue',
      new RegExp(`^Value \\(${value}\\) for parameter DryRun is invalid`),
    );
  }
});

test('more parameters than the limit are refused', async () => {
  const many = Array.from({ length: 20_001 }, (_, i) => `p${i}=1`).join('&');
  ec2Error(await post(`${action('DescribeInstances')}&${many}`), 400, 'InvalidParameter', /more than 20000 parameters/);
});

test('a bad percent-encoding is MalformedQueryString', async () => {
  ec2Error(await post('Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=%ZZ'), 400, 'MalformedQueryString');
  ec2Error(await post('Action=DescribeInstances&Version=2016-11-15&InstanceId.1=%E0%A4%A'), 400, 'MalformedQueryString');
  ec2Error(await post('Action=DescribeInstances&Version=2016-11-15&Filter..Name=x'), 400, 'MalformedQueryString');
});

test('a non-number for MinCount is InvalidParameterValue naming the parameter and the value', async () => {
  const r = await post(action('RunInstances', { ImageId: LINUX_AMI, MinCount: 'abc', MaxCount: '1' }));
  ec2Error(r, 400, 'InvalidParameterValue', /^Value \(abc\) for parameter MinCount is invalid\./);
  for (const bad of ['1.5e3', '0x10', ' 1', '+1', '01', '99999999999999999999']) {
    const e = ec2Error(await post(action('RunInstances', { ImageId: LINUX_AMI, MinCount: '1', MaxCount: bad })), 400, 'InvalidParameterValue');
    assert.match(e.message, /parameter MaxCount/);
  }
});

test('a Version other than 2016-11-15 is refused', async () => {
  ec2Error(await post(form({ Action: 'DescribeInstances', Version: '2014-01-01' })), 400, 'NoSuchVersion', /2014-01-01/);
});

test('a body over 1 MiB is refused with 413, whether declared or streamed', async () => {
  const big = `${action('DescribeInstances')}&${'a'.repeat(1024 * 1024)}=1`;
  const r = await post(big);
  ec2Error(r, 413, 'RequestEntityTooLarge');
  // Without a Content-Length (chunked), the limit applies as the body streams in. The credential scope
  // is checked before the body is read, so the stream is signed (with an unsigned payload) to get there.
  const url = new URL(srv.endpoint);
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const streamed = () => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 2 * 1024 * 1024) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
  };
  const signed = await signerFor({}).sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  const { host: _h, ...signedHeaders } = signed.headers;
  const res = await fetch(`${url.origin}/`, { method: 'POST', headers: signedHeaders, body: streamed(), duplex: 'half' } as RequestInit);
  ec2Error(await reply(res), 413, 'RequestEntityTooLarge');
  // unsigned, it is refused from its headers before any of it is read
  const unsigned = await fetch(`${url.origin}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: streamed(),
    duplex: 'half',
  } as RequestInit);
  ec2Error(await reply(unsigned), 401, 'MissingAuthenticationToken');
  // exactly at the limit is still read (and then refused for another reason: x is no parameter)
  const atLimit = `${action('DescribeInstances')}&x=`;
  const padded = atLimit + 'a'.repeat(1024 * 1024 - atLimit.length);
  assert.equal(Buffer.byteLength(padded), 1024 * 1024);
  ec2Error(await post(padded), 400, 'UnknownParameter', /^The parameter x is not recognized$/);
  success(await post(action('DescribeInstances')), 'DescribeInstances');
});

test('GET with a presigned query string works like POST', async () => {
  const r = await get({ Action: 'DescribeInstances', Version: '2016-11-15', 'Filter.1.Name': 'instance-state-name', 'Filter.1.Value.1': 'running' });
  success(r, 'DescribeInstances');
  // a GET whose query is signed in the Authorization header works too
  const url0 = new URL(srv.endpoint);
  const query = { Action: 'DescribeInstances', Version: '2016-11-15', 'InstanceId.1': 'i-00000000000000bad' };
  const signed = await signerFor({}).sign({
    method: 'GET',
    protocol: 'http:',
    hostname: url0.hostname,
    port: Number(url0.port),
    path: '/',
    query,
    headers: { host: url0.host },
  });
  const { host: _host, ...headers } = signed.headers;
  const viaHeader = await reply(await fetch(`${url0.origin}/?${buildQueryString(query)}`, { headers }));
  ec2Error(viaHeader, 400, 'InvalidInstanceID.NotFound', /i-00000000000000bad/);
  // and errors are the same as for POST
  ec2Error(await get({ Action: 'DescribeInstances', Version: '2016-11-15', Foo: 'x' }), 400, 'UnknownParameter', /Foo/);
  // a presigned query that was tampered with is refused
  const url = new URL(srv.endpoint);
  const presigned = await signerFor({}).presign(
    { method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: { Action: 'DescribeInstances', Version: '2016-11-15' }, headers: { host: url.host } },
    { expiresIn: 300 },
  );
  const tampered = buildQueryString(presigned.query ?? {}).replace('DescribeInstances', 'DescribeImages');
  ec2Error(await reply(await fetch(`${url.origin}/?${tampered}`)), 403, 'SignatureDoesNotMatch');
});

// --- authentication ---------------------------------------------------------------------------------

test('an unsigned request is MissingAuthenticationToken (401)', async () => {
  ec2Error(await post(action('DescribeInstances'), { sign: false }), 401, 'MissingAuthenticationToken');
  ec2Error(await get({ Action: 'DescribeInstances', Version: '2016-11-15' }, { sign: false }), 401, 'MissingAuthenticationToken');
});

test('a signature made with the wrong secret is SignatureDoesNotMatch (403)', async () => {
  ec2Error(
    await post(action('DescribeInstances'), { secretAccessKey: 'wrong' }),
    403,
    'SignatureDoesNotMatch',
    /signature we calculated does not match/,
  );
});

test('an unknown access key is AuthFailure (401)', async () => {
  ec2Error(await post(action('DescribeInstances'), { accessKeyId: 'AKIDUNKNOWN' }), 401, 'AuthFailure');
});

test('--no-auth accepts unsigned requests and takes the region from a signature scope when present', async () => {
  const open = await startTestServer({ credentials: undefined });
  try {
    const endpoint = open.endpoint;
    const run = { ImageId: LINUX_AMI, MinCount: '1', MaxCount: '1', InstanceType: 't3.micro' };
    const zoneOf = (r: Reply) => {
      success(r, 'RunInstances');
      return /<availabilityZone>([^<]+)<\/availabilityZone>/.exec(r.body)?.[1];
    };
    // unsigned → the default region
    assert.equal(zoneOf(await post(action('RunInstances', run), { sign: false, endpoint })), 'us-east-1a');
    // any signature (not checked, even with unknown credentials) → its scope's region
    assert.equal(
      zoneOf(await post(action('RunInstances', run), { endpoint, region: 'eu-west-1', accessKeyId: 'nobody', secretAccessKey: 'x' })),
      'eu-west-1a',
    );
    // presigned GET → the X-Amz-Credential scope's region
    assert.equal(zoneOf(await get({ Action: 'RunInstances', Version: '2016-11-15', ...run }, { endpoint, region: 'ap-south-1' })), 'ap-south-1a');
    // each region sees only its own instances
    const inEu = await post(action('DescribeInstances'), { endpoint, region: 'eu-west-1' });
    assert.equal(success(inEu, 'DescribeInstances').match(/<instanceId>/g)?.length, 1);
    assert.match(inEu.body, /eu-west-1a/);
    const inUs = await post(action('DescribeInstances'), { sign: false, endpoint });
    assert.equal(success(inUs, 'DescribeInstances').match(/<instanceId>/g)?.length, 1);
    assert.match(inUs.body, /us-east-1a/);
  } finally {
    await open.close();
  }
});

// --- errors from handlers -------------------------------------------------------------------------

test('DryRun is DryRunOperation (412)', async () => {
  const count = async () => success(await post(action('DescribeInstances')), 'DescribeInstances').match(/<instanceId>/g)?.length ?? 0;
  const initial = await count();
  ec2Error(await post(action('DescribeInstances', { DryRun: 'true' })), 412, 'DryRunOperation', /DryRun flag is set/);
  ec2Error(
    await post(action('RunInstances', { ImageId: LINUX_AMI, MinCount: '1', MaxCount: '1', DryRun: 'true' })),
    412,
    'DryRunOperation',
  );
  // nothing was launched
  assert.equal(await count(), initial);
});

test('an unexpected error in a handler is InternalError (500) with no internals in the body', async () => {
  const ops = OPERATIONS as Record<string, (typeof OPERATIONS)[string]>;
  const original = ops.DescribeImages;
  assert.ok(original);
  const throwers: (() => never | Promise<never>)[] = [
    () => {
      throw new Error(`secret detail at ${import.meta.url} (/work/main/src/api/images.ts:12:3)`);
    },
    async () => {
      await Promise.resolve();
      throw new TypeError("Cannot read properties of undefined (reading 'secretField')");
    },
    () => {
      throw 'a bare string';
    },
  ];
  try {
    for (const thrower of throwers) {
      ops.DescribeImages = thrower;
      const r = await post(action('DescribeImages'));
      const e = ec2Error(r, 500, 'InternalError');
      assert.equal(e.message, 'An internal error has occurred. Retry your request later.');
      assert.doesNotMatch(r.body, /secret|\.ts\b|\/work\/|file:|at |TypeError|bare string/);
    }
  } finally {
    ops.DescribeImages = original;
  }
  // the server is still fine and the real handler is back
  assert.match(success(await post(action('DescribeImages')), 'DescribeImages'), /<imagesSet><item>/);
});

test('GET /_health answers JSON', async () => {
  const res = await fetch(`${srv.endpoint}/_health`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const doc = (await res.json()) as Record<string, unknown>;
  assert.equal(doc.status, 'ok');
  assert.equal(typeof doc.driver, 'string');
});

test('other HTTP methods and content types are refused in the EC2 envelope', async () => {
  const res = await fetch(`${srv.endpoint}/`, { method: 'PUT', body: action('DescribeInstances') });
  ec2Error(await reply(res), 405, 'InvalidHttpRequest');
  ec2Error(await post(action('DescribeInstances'), { contentType: 'application/json' }), 415, 'InvalidHttpRequest');
});

test('the SDK reads nestbox errors: code as name, message, status, request id', async () => {
  const client = srv.client();
  const notFound = await client.send(new DescribeInstancesCommand({ InstanceIds: ['i-00000000000000bad'] })).then(
    () => assert.fail('expected an error'),
    (e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode?: number; requestId?: string } },
  );
  assert.equal(notFound.name, 'InvalidInstanceID.NotFound');
  assert.equal(notFound.message, "The instance ID 'i-00000000000000bad' does not exist");
  assert.equal(notFound.$metadata.httpStatusCode, 400);
  assert.match(notFound.$metadata.requestId ?? '', UUID);
  const dry = await client.send(new DescribeInstancesCommand({ DryRun: true })).then(
    () => assert.fail('expected an error'),
    (e: unknown) => e as { name: string; $metadata: { httpStatusCode?: number } },
  );
  assert.equal(dry.name, 'DryRunOperation');
  assert.equal(dry.$metadata.httpStatusCode, 412);
});

// --- response details the SDK depends on -------------------------------------------------------------

test('XML escaping: & < > " \' and \\r in a tag value round-trip through the SDK exactly', async () => {
  const client = srv.client();
  const run = await client.send(new RunInstancesCommand({ ImageId: LINUX_AMI, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
  const id = run.Instances?.[0]?.InstanceId;
  assert.ok(id);
  const values: Record<string, string> = {
    specials: `a&b<c>d"e'f\rg`,
    entities: '&amp; &lt; &#13; ]]> <![CDATA[x]]>',
    crlf: 'line1\r\nline2\nline3\r',
    unicode: 'é 日本 🚀',
    spaces: '  padded  ',
    tabs: '\tx\t',
  };
  await client.send(
    new CreateTagsCommand({ Resources: [id], Tags: Object.entries(values).map(([Key, Value]) => ({ Key, Value })) }),
  );
  const out = await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  const tags = Object.fromEntries((out.Reservations?.[0]?.Instances?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
  assert.deepEqual(tags, values);

  // and on the wire: escaped as entities, \r as &#13;
  const raw = await post(action('DescribeInstances', { 'InstanceId.1': id }));
  assert.ok(raw.body.includes('<value>a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;g</value>'), raw.body);
  assert.ok(!raw.body.includes('\r'));
});

test('an empty list is written as an empty element and read by the SDK as [] (Groups of a reservation)', async () => {
  const client = srv.client();
  const run = await client.send(new RunInstancesCommand({ ImageId: LINUX_AMI, MinCount: 1, MaxCount: 1 }));
  assert.deepEqual(run.Groups, []);
  const id = run.Instances?.[0]?.InstanceId;
  assert.ok(id);
  const raw = await post(action('DescribeInstances', { 'InstanceId.1': id }));
  assert.match(success(raw, 'DescribeInstances'), /<groupSet\/>/);
  const out = await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual(out.Reservations?.[0]?.Groups, []);
  // (the instance's own groupSet is not empty: it is in its VPC's default security group)
  assert.deepEqual(out.Reservations?.[0]?.Instances?.[0]?.SecurityGroups?.map((g) => g.GroupName), ['default']);
  // an absent list stays absent (undefined), it is not turned into []
  assert.equal(out.Reservations?.[0]?.Instances?.[0]?.Licenses, undefined);
});
