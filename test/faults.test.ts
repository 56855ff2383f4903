/** Faults on demand (src/faults.ts, src/http/admin.ts, `nestbox faults`) through the real AWS SDK and CLI. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { CREDENTIALS, LINUX_AMI, type TestServer, adminCall, describeOne, errorOf, eventually, launchOne, startTestServer } from './helpers.js';

const run = promisify(execFile);

/** An admin request signed by the AWS SDK's own signer (service ec2), as any SigV4 client would sign it. */
const admin = (server: TestServer, method: string, path: string, body?: unknown, credentials = CREDENTIALS) =>
  adminCall(server.endpoint, method, path, body, credentials);

/** A client with the SDK's default retry strategy (standard, maxAttempts 3). */
const retryingClient = (server: TestServer) => new EC2Client({ endpoint: server.endpoint, region: 'us-east-1', credentials: CREDENTIALS });

async function instanceCount(client: EC2Client): Promise<number> {
  const r = await client.send(new DescribeInstancesCommand({}));
  return (r.Reservations ?? []).flatMap((x) => x.Instances ?? []).length;
}

describe('faults on demand', () => {
  let server: TestServer;
  let client: EC2Client;
  before(async () => {
    server = await startTestServer();
    client = server.client();
  });
  after(() => server.close());

  test('an admin call without a valid signature is refused and changes nothing', async () => {
    const unsigned = await fetch(`${server.endpoint}/_nestbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'internal-error', actions: ['*'], count: 5 }),
    });
    assert.equal(unsigned.status, 401);
    assert.equal(((await unsigned.json()) as any).error.code, 'MissingAuthenticationToken');
    const wrongSecret = await admin(server, 'POST', '/_nestbox/faults', { kind: 'internal-error', actions: ['*'], count: 5 }, {
      accessKeyId: 'test',
      secretAccessKey: 'wrong',
    });
    assert.equal(wrongSecret.status, 403);
    assert.equal(wrongSecret.json.error.code, 'SignatureDoesNotMatch');
    assert.deepEqual((await admin(server, 'GET', '/_nestbox/faults')).json.faults, []);
    await client.send(new DescribeInstancesCommand({}));
  });

  test('a malformed fault is refused with a JSON error', async () => {
    const r = await admin(server, 'POST', '/_nestbox/faults', { kind: 'throttle', actions: ['NoSuchAction'] });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'InvalidFault');
    const r2 = await admin(server, 'POST', '/_nestbox/faults', { kind: 'throttle', actions: ['*'], rate: 2 });
    assert.equal(r2.status, 400);
    assert.deepEqual((await admin(server, 'GET', '/_nestbox/faults')).json.faults, []);
  });

  test('RequestLimitExceeded at rate 1.0: the SDK retries (3 attempts), then fails with 503', async () => {
    const added = await admin(server, 'POST', '/_nestbox/faults', { kind: 'throttle', actions: ['DescribeInstances'], rate: 1 });
    assert.equal(added.status, 201);
    const sdk = retryingClient(server);
    try {
      const err = (await sdk.send(new DescribeInstancesCommand({})).then(
        () => assert.fail('expected RequestLimitExceeded'),
        (e: unknown) => e,
      )) as { name: string; $metadata: { attempts?: number; httpStatusCode?: number } };
      assert.equal(err.name, 'RequestLimitExceeded');
      assert.equal(err.$metadata.httpStatusCode, 503);
      assert.equal(err.$metadata.attempts, 3);
      const listed = (await admin(server, 'GET', '/_nestbox/faults')).json.faults;
      assert.equal(listed.length, 1);
      assert.equal(listed[0].hits, 3);
      // Other actions are not throttled.
      await sdk.send(new StopInstancesCommand({ InstanceIds: [] })).catch(() => undefined);
    } finally {
      sdk.destroy();
      await admin(server, 'DELETE', '/_nestbox/faults');
    }
  });

  test('RequestLimitExceeded at rate 0.5: the SDK retry gets through, and a refused launch records nothing', async () => {
    const before = await instanceCount(client);
    await admin(server, 'POST', '/_nestbox/faults', { kind: 'throttle', actions: ['RunInstances', 'DescribeInstances'], rate: 0.5 });
    const sdk = retryingClient(server);
    try {
      const r = await sdk.send(new DescribeInstancesCommand({}));
      assert.equal(r.$metadata.attempts, 2);
      const launched = await sdk.send(
        new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ClientToken: 'faults-rate-half' }),
      );
      assert.equal(launched.$metadata.attempts, 2);
      assert.ok(launched.Instances?.[0]?.InstanceId);
    } finally {
      sdk.destroy();
      await admin(server, 'DELETE', '/_nestbox/faults');
    }
    // one launch: the throttled first attempt recorded nothing
    assert.equal(await instanceCount(client), before + 1);
  });

  test('RequestLimitExceeded past N calls a second', async () => {
    await admin(server, 'POST', '/_nestbox/faults', { kind: 'throttle', actions: ['DescribeVpcs'], perSecond: 3 });
    try {
      const { DescribeVpcsCommand } = await import('@aws-sdk/client-ec2');
      const results = await Promise.all(
        Array.from({ length: 8 }, () => client.send(new DescribeVpcsCommand({})).then(() => 'ok', (e: { name: string }) => e.name)),
      );
      assert.equal(results.filter((r) => r === 'ok').length, 3, results.join(','));
      assert.ok(results.filter((r) => r !== 'ok').every((r) => r === 'RequestLimitExceeded'));
    } finally {
      await admin(server, 'DELETE', '/_nestbox/faults');
    }
  });

  test('InsufficientInstanceCapacity for c8i.large in us-east-1a, not m8i.large nor another zone', async () => {
    const before = await instanceCount(client);
    const stoppedC8 = await launchOne(client, { InstanceType: 'c8i.large', Placement: { AvailabilityZone: 'us-east-1a' } });
    await eventually(async () => ((await describeOne(client, stoppedC8.InstanceId!)).State?.Name === 'running' ? true : undefined));
    await client.send(new StopInstancesCommand({ InstanceIds: [stoppedC8.InstanceId!] }));
    await eventually(async () => ((await describeOne(client, stoppedC8.InstanceId!)).State?.Name === 'stopped' ? true : undefined));

    await admin(server, 'POST', '/_nestbox/faults', { kind: 'capacity', instanceType: 'c8i.large', zone: 'us-east-1a' });
    try {
      const e = await errorOf(launchOne(client, { InstanceType: 'c8i.large', Placement: { AvailabilityZone: 'us-east-1a' } }));
      assert.equal(e.code, 'InsufficientInstanceCapacity');
      assert.equal(e.status, 500);
      assert.match(e.message, /c8i\.large/);
      assert.equal(await instanceCount(client), before + 1, 'the refused launch recorded nothing');
      const start = await errorOf(client.send(new StartInstancesCommand({ InstanceIds: [stoppedC8.InstanceId!] })));
      assert.equal(start.code, 'InsufficientInstanceCapacity');
      assert.equal((await describeOne(client, stoppedC8.InstanceId!)).State?.Name, 'stopped');
      await launchOne(client, { InstanceType: 'm8i.large', Placement: { AvailabilityZone: 'us-east-1a' } });
      await launchOne(client, { InstanceType: 'c8i.large', Placement: { AvailabilityZone: 'us-east-1b' } });
    } finally {
      await admin(server, 'DELETE', '/_nestbox/faults');
    }
    await client.send(new StartInstancesCommand({ InstanceIds: [stoppedC8.InstanceId!] }));
  });

  test('InternalError on the next 2 DescribeInstances, then normal', async () => {
    const added = await admin(server, 'POST', '/_nestbox/faults', { kind: 'internal-error', actions: ['DescribeInstances'], count: 2 });
    assert.equal(added.json.fault.remaining, 2);
    for (let n = 0; n < 2; n++) {
      const e = await errorOf(client.send(new DescribeInstancesCommand({})));
      assert.equal(e.code, 'InternalError');
      assert.equal(e.status, 500);
    }
    await client.send(new DescribeInstancesCommand({}));
    assert.deepEqual((await admin(server, 'GET', '/_nestbox/faults')).json.faults, [], 'a spent fault is gone');
  });

  test('crash: a running instance becomes stopped with Server.InternalError, and starts again', async () => {
    const i = await launchOne(client, { ImageId: LINUX_AMI });
    const id = i.InstanceId!;
    const notYet = await admin(server, 'POST', '/_nestbox/crash', { instanceId: id });
    // pending (a 50 ms boot) cannot crash; once running it can
    if (notYet.status === 409) {
      await eventually(async () => ((await describeOne(client, id)).State?.Name === 'running' ? true : undefined));
      const crashed = await admin(server, 'POST', '/_nestbox/crash', { instanceId: id });
      assert.equal(crashed.status, 200, JSON.stringify(crashed.json));
    } else assert.equal(notYet.status, 200);
    const after = await describeOne(client, id);
    assert.equal(after.State?.Name, 'stopped');
    assert.equal(after.StateReason?.Code, 'Server.InternalError');
    assert.match(after.StateTransitionReason ?? '', /^Server\.InternalError/);
    // the driver's own report of the killed VM changes nothing afterwards
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await describeOne(client, id)).State?.Name, 'stopped');
    const again = await admin(server, 'POST', '/_nestbox/crash', { instanceId: id });
    assert.equal(again.status, 409);
    assert.equal((await admin(server, 'POST', '/_nestbox/crash', { instanceId: 'i-0123456789abcdef0' })).status, 404);
    await client.send(new StartInstancesCommand({ InstanceIds: [id] }));
    await eventually(async () => ((await describeOne(client, id)).State?.Name === 'running' ? true : undefined));
  });

  test('clear removes every fault', async () => {
    await admin(server, 'POST', '/_nestbox/faults', { kind: 'throttle', actions: ['*'] });
    await admin(server, 'POST', '/_nestbox/faults', { kind: 'internal-error', actions: ['DescribeInstances'], count: 3 });
    assert.equal((await errorOf(client.send(new DescribeInstancesCommand({})))).code, 'RequestLimitExceeded');
    const cleared = await admin(server, 'DELETE', '/_nestbox/faults');
    assert.deepEqual(cleared.json, { cleared: 2 });
    assert.deepEqual((await admin(server, 'GET', '/_nestbox/faults')).json.faults, []);
    await client.send(new DescribeInstancesCommand({}));
  });

  test('the CLI: nestbox faults add | list | crash | remove | clear', async () => {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'faults', ...args, '--endpoint-url', server.endpoint], { env });
    const added = JSON.parse((await cli('add', 'internal-error', '--actions', 'DescribeInstances', '--count', '1')).stdout);
    assert.equal(added.fault.kind, 'internal-error');
    assert.match(added.fault.id, /^fault-[0-9a-f]{16}$/);
    await cli('add', 'capacity', '--instance-type', 'c8i.large', '--zone', 'us-east-1a');
    const listed = JSON.parse((await cli('list')).stdout);
    assert.equal(listed.faults.length, 2);
    assert.deepEqual(listed.faults[1].actions, ['RunInstances', 'StartInstances', 'CreateFleet']);
    assert.equal((await errorOf(client.send(new DescribeInstancesCommand({})))).code, 'InternalError');
    await cli('remove', listed.faults[1].id);
    assert.equal(JSON.parse((await cli('list')).stdout).faults.length, 0);

    const i = await launchOne(client);
    await eventually(async () => ((await describeOne(client, i.InstanceId!)).State?.Name === 'running' ? true : undefined));
    const crashed = JSON.parse((await cli('crash', i.InstanceId!)).stdout);
    assert.deepEqual(crashed, { instanceId: i.InstanceId, previousState: 'running', state: 'stopped' });

    await cli('add', 'throttle', '--actions', 'DescribeInstances', '--rate', '0.5');
    assert.deepEqual(JSON.parse((await cli('clear')).stdout), { cleared: 1 });

    // refused: a wrong secret (exit 1, the server's code on stderr), a bad command (exit 2)
    const wrong = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'faults', 'list', '--endpoint-url', server.endpoint], {
      env: { ...env, AWS_SECRET_ACCESS_KEY: 'nope' },
    }).then(
      () => assert.fail('expected exit 1'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /403 SignatureDoesNotMatch/);
    const usage = await cli('add', 'nonsense').then(
      () => assert.fail('expected exit 2'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(usage.code, 2);
  });
});

describe('--throttle: EC2-style request token buckets', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ throttle: true });
  });
  after(() => server.close());

  test('past the bucket, RequestLimitExceeded; other actions keep their own bucket', async () => {
    const client = server.client();
    // unfiltered, unpaginated DescribeInstances: 50 tokens, 10 a second
    const results = await Promise.all(
      Array.from({ length: 70 }, () => client.send(new DescribeInstancesCommand({})).then(() => 'ok', (e: { name: string }) => e.name)),
    );
    const ok = results.filter((r) => r === 'ok').length;
    assert.ok(ok >= 50 && ok < 70, `${ok} of 70 passed`);
    assert.ok(results.filter((r) => r !== 'ok').every((r) => r === 'RequestLimitExceeded'));
    // a filtered DescribeInstances is another bucket (non-mutating, 100 tokens)
    await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] }));
    const listed = await admin(server, 'GET', '/_nestbox/faults');
    assert.equal(listed.json.throttle.enabled, true);
    assert.equal(listed.json.throttle.buckets.mutating.size, 50);
  });
});

describe('admin permissions', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      credentials: [
        { accessKeyId: 'test', secretAccessKey: 'test', accountId: '000000000000' },
        { accessKeyId: 'reader', secretAccessKey: 'reader-secret', accountId: '000000000000', permission: 'read-only' },
      ],
    });
  });
  after(() => server.close());

  test('a read-only key may list faults but not add, clear or crash', async () => {
    const reader = { accessKeyId: 'reader', secretAccessKey: 'reader-secret' };
    assert.equal((await admin(server, 'GET', '/_nestbox/faults', undefined, reader)).status, 200);
    const add = await admin(server, 'POST', '/_nestbox/faults', { kind: 'throttle', actions: ['*'] }, reader);
    assert.equal(add.status, 403);
    assert.equal(add.json.error.code, 'UnauthorizedOperation');
    assert.equal((await admin(server, 'DELETE', '/_nestbox/faults', undefined, reader)).status, 403);
    assert.equal((await admin(server, 'POST', '/_nestbox/crash', { instanceId: 'i-0123456789abcdef0' }, reader)).status, 403);
    assert.deepEqual((await admin(server, 'GET', '/_nestbox/faults')).json.faults, []);
  });
});
