/**
 * Secrets and tokens: the secret key is never printed or logged, a session token nestbox did not issue
 * (it issues none) is refused as EC2 refuses an invalid token, and the console's source maps are
 * neither served nor linked unless asked for (--console-source-maps).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { Sha256 } from '@smithy/core/checksum';
import { buildQueryString } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseArgs } from '../src/config.js';
import { buildConsole } from '../src/console/build.js';
import { consoleFiles } from '../src/http/console.js';
import { nestboxCli } from './cli-process.js';
import { CREDENTIALS, LINUX_AMI, type TestServer, errorOf, startTestServer } from './helpers.js';

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
let srv: TestServer;
before(async () => {
  srv = await startTestServer({ driver: 'simulated' });
});
after(async () => {
  await srv.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const AUTH_FAILURE = 'AWS was not able to validate the provided access credentials';

// --- the secret ------------------------------------------------------------------------------------

test('the secret key is never printed or logged: the banner names the access key and where the secret comes from', async () => {
  const secret = `s3cr3t-${randomBytes(12).toString('hex')}`;
  const accessKeyId = 'AKIDNESTBOXSECRETS';
  const server = nestboxCli(['serve', '--data-dir', tempDir('nestbox-secret-'), '--port', '0', '--driver', 'simulated'], {
    NESTBOX_ACCESS_KEY_ID: accessKeyId,
    NESTBOX_SECRET_ACCESS_KEY: secret,
  });
  const endpoint = await server.listening();
  // requests logged one line each (no --quiet): a good one, a bad signature, an unsigned one, a token
  const good = new EC2Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey: secret }, maxAttempts: 1 });
  await good.send(new DescribeInstancesCommand({}));
  const wrong = new EC2Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey: 'nope' }, maxAttempts: 1 });
  assert.equal((await errorOf(wrong.send(new DescribeInstancesCommand({})))).code, 'SignatureDoesNotMatch');
  const token = new EC2Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey: secret, sessionToken: 'x' }, maxAttempts: 1 });
  assert.equal((await errorOf(token.send(new DescribeInstancesCommand({})))).code, 'AuthFailure');
  assert.equal((await fetch(`${endpoint}/?Action=DescribeInstances&Version=2016-11-15`)).status, 401);
  for (const c of [good, wrong, token]) c.destroy();
  server.child.kill('SIGTERM');
  assert.equal(await server.exited(), 0);

  const output = server.stdout() + server.stderr();
  assert.ok(!output.includes(secret), `the secret was printed:\n${output}`);
  assert.match(output, new RegExp(`auth     : SigV4, access key '${accessKeyId}', secret: from NESTBOX_SECRET_ACCESS_KEY \\(not shown\\), account 000000000000`));
  assert.match(output, new RegExp(`try      : AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY="\\$NESTBOX_SECRET_ACCESS_KEY" aws `));
  assert.match(output, /DescribeInstances 200 /, 'the requests were logged');

  // With the built-in default (the variables unset, or empty), the banner says so: test / test is documented.
  const plain = nestboxCli(['serve', '--data-dir', tempDir('nestbox-secret-'), '--port', '0', '--driver', 'simulated', '--quiet'], {
    NESTBOX_ACCESS_KEY_ID: '',
    NESTBOX_SECRET_ACCESS_KEY: '',
  });
  await plain.listening();
  plain.child.kill('SIGTERM');
  assert.equal(await plain.exited(), 0);
  assert.match(plain.stdout(), /auth     : SigV4, access key 'test', secret: the default, 'test', account 000000000000/);
  assert.match(plain.stdout(), /try      : AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws /);
  assert.equal(parseArgs([], {}).secretSource, 'default');
  assert.equal(parseArgs([], { NESTBOX_SECRET_ACCESS_KEY: '' }).secretSource, 'default');
  assert.equal(parseArgs([], { NESTBOX_SECRET_ACCESS_KEY: 'x' }).secretSource, 'NESTBOX_SECRET_ACCESS_KEY');
});

// --- session tokens ----------------------------------------------------------------------------------

test('a session token nestbox did not issue is AuthFailure (401), in a header or a presigned query; nothing happens', async () => {
  const withToken = srv.client('us-east-1', { ...CREDENTIALS, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' } as typeof CREDENTIALS);
  for (const command of [new DescribeInstancesCommand({}), new RunInstancesCommand({ ImageId: LINUX_AMI, MinCount: 1, MaxCount: 1 })]) {
    const e = await errorOf(withToken.send(command as never));
    assert.deepEqual([e.code, e.status, e.message], ['AuthFailure', 401, AUTH_FAILURE]);
  }
  const plain = srv.client();
  assert.equal((await plain.send(new DescribeInstancesCommand({}))).Reservations?.length, 0, 'the RunInstances launched nothing');

  // presigned: the SDK's signer puts X-Amz-Security-Token in the query
  const url = new URL(srv.endpoint);
  const signer = new SignatureV4({ credentials: { ...CREDENTIALS, sessionToken: 'token' }, region: 'us-east-1', service: 'ec2', sha256: Sha256 });
  const presigned = await signer.presign(
    { method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: { Action: 'DescribeInstances', Version: '2016-11-15' }, headers: { host: url.host } },
    { expiresIn: 300 },
  );
  assert.ok(presigned.query?.['X-Amz-Security-Token']);
  const res = await fetch(`${url.origin}/?${buildQueryString(presigned.query ?? {})}`);
  assert.equal(res.status, 401);
  assert.match(await res.text(), /<Code>AuthFailure<\/Code><Message>AWS was not able to validate the provided access credentials<\/Message>/);
});

test('the AWS CLI with a session token in its environment gets AuthFailure', { skip: !(await hasAwsCli()) && 'no aws CLI here' }, async () => {
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(
      'aws',
      ['--endpoint-url', srv.endpoint, '--region', 'us-east-1', 'ec2', 'describe-instances'],
      { env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SESSION_TOKEN: 'not-issued-by-nestbox', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_MAX_ATTEMPTS: '1' } },
      (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
  assert.notEqual(code, 0);
  assert.match(stderr, /An error occurred \(AuthFailure\) when calling the DescribeInstances operation: AWS was not able to validate the provided access credentials/);
});

async function hasAwsCli(): Promise<boolean> {
  return new Promise((resolve) => execFile('aws', ['--version'], (err) => resolve(!err)));
}

test('with --no-auth nothing about credentials is checked, a session token included', async () => {
  const open = await startTestServer({ credentials: undefined, driver: 'simulated' });
  try {
    const c = open.client('us-east-1', { ...CREDENTIALS, sessionToken: 'anything' } as typeof CREDENTIALS);
    assert.deepEqual((await c.send(new DescribeInstancesCommand({}))).Reservations, []);
  } finally {
    await open.close();
  }
});

// --- console source maps -------------------------------------------------------------------------------

async function serveConsole(dir: string, sourceMaps: boolean): Promise<{ get(path: string): Promise<Response>; close(): void }> {
  const files = consoleFiles(dir, { sourceMaps });
  const http = createServer((req, res) => files.serve(req, res, (req.url ?? '/').split('?')[0] as string));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { get: (path) => fetch(`${base}${path}`), close: () => http.close() };
}

test('console source maps are neither served nor linked unless --console-source-maps', async () => {
  const dir = tempDir('nestbox-console-maps-');
  await buildConsole(dir);
  for (const file of ['app.js', 'app.css']) assert.doesNotMatch(readFileSync(join(dir, file), 'utf8'), /sourceMappingURL/, `${file} names its map`);

  const off = await serveConsole(dir, false);
  try {
    for (const path of ['/console/app.js.map', '/console/app.css.map']) assert.equal((await off.get(path)).status, 404, path);
    const js = await off.get('/console/app.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('sourcemap'), null);
    assert.doesNotMatch(await js.text(), /sourceMappingURL/);
  } finally {
    off.close();
  }

  const on = await serveConsole(dir, true);
  try {
    const js = await on.get('/console/app.js');
    assert.equal(js.headers.get('sourcemap'), '/console/app.js.map');
    assert.equal((await on.get('/console/app.css')).headers.get('sourcemap'), '/console/app.css.map');
    const map = await on.get('/console/app.js.map');
    assert.equal(map.status, 200);
    assert.equal(((await map.json()) as { version: number }).version, 3);
  } finally {
    on.close();
  }

  // A bundle from an older build that still names its map loses the reference when maps are off.
  const old = tempDir('nestbox-console-old-');
  writeFileSync(join(old, 'app.js'), 'console.log(1);\n//# sourceMappingURL=app.js.map\n');
  writeFileSync(join(old, 'app.css'), 'a{b:c}\n/*# sourceMappingURL=app.css.map */\n');
  writeFileSync(join(old, 'app.js.map'), '{"version":3}');
  const stale = await serveConsole(old, false);
  try {
    assert.equal(await (await stale.get('/console/app.js')).text(), 'console.log(1);');
    assert.equal(await (await stale.get('/console/app.css')).text(), 'a{b:c}');
    assert.equal((await stale.get('/console/app.js.map')).status, 404);
  } finally {
    stale.close();
  }

  // The flag, through the CLI's parser and the API server: 404 without it; with it, the map (or 503 when dist/console is not built).
  assert.equal(parseArgs([]).consoleSourceMaps, false);
  assert.equal(parseArgs(['--console-source-maps']).consoleSourceMaps, true);
  assert.equal((await fetch(`${srv.endpoint}/console/app.js.map`)).status, 404);
  const flagged = await startTestServer({ driver: 'simulated', consoleSourceMaps: true });
  try {
    assert.notEqual((await fetch(`${flagged.endpoint}/console/app.js.map`)).status, 404);
  } finally {
    await flagged.close();
  }
});
