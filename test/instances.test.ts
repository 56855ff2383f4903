/**
 * Instances through the real AWS SDK: RunInstances, the lifecycle (with the SDK's own waiters),
 * DescribeInstances filters and paging, DescribeInstanceStatus, idempotency, DryRun, tags, console
 * output and per-region isolation. Each test that counts instances works in a region of its own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateKeyPairCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeTagsCommand,
  type EC2Client,
  type Filter,
  GetConsoleOutputCommand,
  type _InstanceType,
  ModifyInstanceCpuOptionsCommand,
  RebootInstancesCommand,
  type RunInstancesCommandInput,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import {
  ARM_AMI,
  LINUX_AMI,
  type TestServer,
  describeOne,
  errorOf,
  eventually,
  launch,
  launchOne,
  startTestServer,
} from './helpers.js';

const NO_SUCH_INSTANCE = 'i-0123456789abcdef0';
const NO_SUCH_INSTANCE_2 = 'i-0fedcba9876543210';
const USER_INITIATED = /^User initiated \(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} GMT\)$/;

let server: TestServer;
let ec2: EC2Client;

before(async () => {
  server = await startTestServer();
  ec2 = server.client('us-east-1');
});
after(async () => {
  await server.close();
});

// --- helpers ----------------------------------------------------------------------------------------

const waiter = (client: EC2Client) => ({ client, minDelay: 0.1, maxDelay: 1, maxWaitTime: 20 });

async function listIds(client: EC2Client, Filters?: Filter[]): Promise<string[]> {
  const r = await client.send(new DescribeInstancesCommand({ Filters }));
  return (r.Reservations ?? []).flatMap((res) => (res.Instances ?? []).map((i) => i.InstanceId!));
}

async function stateOf(client: EC2Client, id: string): Promise<string | undefined> {
  return (await describeOne(client, id)).State?.Name;
}

function waitForState(client: EC2Client, id: string, state: string): Promise<true> {
  return eventually(async () => ((await stateOf(client, id)) === state ? true : undefined), 5000, `${id} ${state}`);
}

async function runningInstance(client: EC2Client, params: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const id = (await launchOne(client, params)).InstanceId!;
  await waitForState(client, id, 'running');
  return id;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const sorted = (xs: readonly string[]) => [...xs].sort();

// --- RunInstances -----------------------------------------------------------------------------------

test('RunInstances: MaxCount instances in one reservation, launch indexes, tags, key name, default zone', async () => {
  await ec2.send(new CreateKeyPairCommand({ KeyName: 'my-key' }));
  const r = await ec2.send(
    new RunInstancesCommand({
      ImageId: LINUX_AMI,
      InstanceType: 't3.micro',
      MinCount: 2,
      MaxCount: 3,
      KeyName: 'my-key',
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'batch' }, { Key: 'team', Value: 'infra' }] },
        { ResourceType: 'volume', Tags: [{ Key: 'disk', Value: 'root' }] },
      ],
    }),
  );
  assert.match(r.ReservationId ?? '', /^r-[0-9a-f]{17}$/);
  assert.equal(r.OwnerId, '000000000000');
  const instances = r.Instances ?? [];
  assert.equal(instances.length, 3);
  assert.deepEqual(instances.map((i) => i.AmiLaunchIndex), [0, 1, 2]);
  assert.equal(new Set(instances.map((i) => i.InstanceId)).size, 3);
  for (const i of instances) {
    assert.match(i.InstanceId ?? '', /^i-[0-9a-f]{17}$/);
    assert.deepEqual(i.State, { Code: 0, Name: 'pending' });
    assert.equal(i.ImageId, LINUX_AMI);
    assert.equal(i.InstanceType, 't3.micro');
    assert.equal(i.KeyName, 'my-key');
    assert.equal(i.Placement?.AvailabilityZone, 'us-east-1a');
    assert.equal(i.Architecture, 'x86_64');
    // only the instance tags, not the volume's
    assert.deepEqual(
      (i.Tags ?? []).map((t) => `${t.Key}=${t.Value}`).sort(),
      ['Name=batch', 'team=infra'],
    );
  }
  // the same as DescribeInstances sees it, still one reservation
  const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: instances.map((i) => i.InstanceId!) }));
  assert.equal(d.Reservations?.length, 1);
  assert.equal(d.Reservations?.[0]?.ReservationId, r.ReservationId);
  assert.equal(d.Reservations?.[0]?.Instances?.[0]?.KeyName, 'my-key');
  // private addresses are distinct
  assert.equal(new Set(instances.map((i) => i.PrivateIpAddress)).size, 3);
});

test('RunInstances with a KeyName that does not exist: InvalidKeyPair.NotFound naming it, nothing launched', async () => {
  const c = server.client('ap-northeast-3');
  const err = await errorOf(launch(c, { KeyName: 'no-such-key' }));
  assert.deepEqual(err, { code: 'InvalidKeyPair.NotFound', status: 400, message: "The key pair 'no-such-key' does not exist" });
  assert.deepEqual(await listIds(c), []);
});

test('RunInstances: MinCount/MaxCount are validated and name the bad value', async () => {
  const before = await listIds(ec2);
  const e1 = await errorOf(launch(ec2, { MinCount: 3, MaxCount: 2 }));
  assert.equal(e1.code, 'InvalidParameterValue');
  assert.equal(e1.status, 400);
  assert.match(e1.message, /MaxCount/);
  assert.match(e1.message, /\(2\)/);
  const e2 = await errorOf(launch(ec2, { MinCount: 0, MaxCount: 1 }));
  assert.equal(e2.code, 'InvalidParameterValue');
  assert.match(e2.message, /MinCount/);
  assert.match(e2.message, /\(0\)/);
  const e3 = await errorOf(launch(ec2, { MinCount: undefined }));
  assert.equal(e3.code, 'MissingParameter');
  assert.match(e3.message, /MinCount/);
  assert.deepEqual(await listIds(ec2), before);
});

test('RunInstances: Placement.AvailabilityZone in the region is used; other zones are refused, named', async () => {
  const [i] = await launch(ec2, { Placement: { AvailabilityZone: 'us-east-1c' } });
  assert.equal(i?.Placement?.AvailabilityZone, 'us-east-1c');
  assert.equal((await describeOne(ec2, i!.InstanceId!)).Placement?.AvailabilityZone, 'us-east-1c');
  for (const zone of ['us-east-1z', 'eu-west-1a']) {
    const e = await errorOf(launch(ec2, { Placement: { AvailabilityZone: zone } }));
    assert.equal(e.code, 'InvalidParameterValue');
    assert.equal(e.status, 400);
    assert.ok(e.message.includes(zone), e.message);
  }
});

test('RunInstances: unknown and malformed ImageId', async () => {
  const before = await listIds(ec2);
  const unknown = await errorOf(launch(ec2, { ImageId: 'ami-0123456789abcdef0' }));
  assert.equal(unknown.code, 'InvalidAMIID.NotFound');
  assert.equal(unknown.status, 400);
  assert.ok(unknown.message.includes('ami-0123456789abcdef0'), unknown.message);
  for (const bad of ['ami-xyz', 'i-0123456789abcdef0', 'not-an-image']) {
    const e = await errorOf(launch(ec2, { ImageId: bad }));
    assert.equal(e.code, 'InvalidAMIID.Malformed', bad);
    assert.ok(e.message.includes(bad), e.message);
  }
  assert.deepEqual(await listIds(ec2), before);
});

test('RunInstances: unknown InstanceType → InvalidParameterValue naming it (as EC2 answers RunInstances)', async () => {
  const e = await errorOf(launch(ec2, { InstanceType: 'x9z.huge' as _InstanceType }));
  assert.equal(e.code, 'InvalidParameterValue');
  assert.equal(e.status, 400);
  assert.equal(e.message, "Invalid value 'x9z.huge' for InstanceType.");
});

test('RunInstances: image and instance type architectures must match', async () => {
  const before = await listIds(ec2);
  const e = await errorOf(launch(ec2, { ImageId: ARM_AMI, InstanceType: 'm8i.large' }));
  assert.equal(e.code, 'InvalidParameterValue');
  assert.match(e.message, /arm64/);
  assert.match(e.message, /x86_64/);
  const e2 = await errorOf(launch(ec2, { ImageId: LINUX_AMI, InstanceType: 'c7g.large' }));
  assert.equal(e2.code, 'InvalidParameterValue');
  assert.match(e2.message, /arm64/);
  // arm64 on arm64 is fine
  const [i] = await launch(ec2, { ImageId: ARM_AMI, InstanceType: 'c7g.large' });
  assert.equal(i?.Architecture, 'arm64');
  assert.deepEqual(await listIds(ec2), [...before, i!.InstanceId]);
});

test('RunInstances: user data reaches the guest decoded; bad base64 is refused', async () => {
  const nested = await runningInstance(ec2, {
    InstanceType: 'c8i.large',
    CpuOptions: { NestedVirtualization: 'enabled' },
    UserData: b64('#!/bin/sh\nl2-smoke\n'),
  });
  const plain = await runningInstance(ec2, { InstanceType: 'c8i.large', UserData: b64('#!/bin/sh\nl2-smoke\n') });
  const console = async (id: string) => {
    const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
    return Buffer.from(out.Output ?? '', 'base64').toString('utf8');
  };
  assert.match(await console(nested), /L2 OK/);
  const off = await console(plain);
  assert.match(off, /L2 FAIL/);
  assert.doesNotMatch(off, /L2 OK/);

  const e = await errorOf(launch(ec2, { UserData: 'not base64!!' }));
  assert.equal(e.code, 'InvalidParameterValue');
  assert.match(e.message, /BASE64/i);
  const big = await errorOf(launch(ec2, { UserData: b64('x'.repeat(16 * 1024 + 1)) }));
  assert.equal(big.code, 'InvalidParameterValue');
  assert.match(big.message, /16384/);
});

// --- lifecycle --------------------------------------------------------------------------------------

test('lifecycle through the SDK waiters: pending → running → stopped → running → reboot → terminated', async () => {
  const [launched] = await launch(ec2, { InstanceType: 'm8i.large' });
  const id = launched!.InstanceId!;
  assert.deepEqual(launched!.State, { Code: 0, Name: 'pending' });
  assert.deepEqual(launched!.StateReason, { Code: 'pending', Message: 'pending' });
  assert.equal(launched!.StateTransitionReason, '');

  await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [id] });
  let i = await describeOne(ec2, id);
  assert.deepEqual(i.State, { Code: 16, Name: 'running' });
  assert.equal(i.StateReason, undefined);
  assert.equal(i.StateTransitionReason, '');

  const stop = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual(stop.StoppingInstances, [
    { InstanceId: id, PreviousState: { Code: 16, Name: 'running' }, CurrentState: { Code: 64, Name: 'stopping' } },
  ]);
  i = await describeOne(ec2, id);
  assert.equal(i.State?.Name, 'stopping');
  assert.equal(i.State?.Code, 64);
  await waitUntilInstanceStopped(waiter(ec2), { InstanceIds: [id] });
  i = await describeOne(ec2, id);
  assert.deepEqual(i.State, { Code: 80, Name: 'stopped' });
  assert.deepEqual(i.StateReason, {
    Code: 'Client.UserInitiatedShutdown',
    Message: 'Client.UserInitiatedShutdown: User initiated shutdown',
  });
  assert.match(i.StateTransitionReason ?? '', USER_INITIATED);

  // stopping a stopped instance is accepted and changes nothing
  const again = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual(again.StoppingInstances?.[0]?.CurrentState, { Code: 80, Name: 'stopped' });

  const start = await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual(start.StartingInstances, [
    { InstanceId: id, PreviousState: { Code: 80, Name: 'stopped' }, CurrentState: { Code: 0, Name: 'pending' } },
  ]);
  await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [id] });
  i = await describeOne(ec2, id);
  assert.equal(i.State?.Name, 'running');
  assert.equal(i.StateReason, undefined);
  assert.equal(i.StateTransitionReason, '');

  // starting a running instance is accepted: running → running
  const startAgain = await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual(startAgain.StartingInstances?.[0]?.CurrentState, { Code: 16, Name: 'running' });

  await ec2.send(new RebootInstancesCommand({ InstanceIds: [id] }));
  assert.equal(await stateOf(ec2, id), 'running');
  await sleep(150); // longer than a simulated boot: a reboot never leaves running
  assert.equal(await stateOf(ec2, id), 'running');

  const term = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual(term.TerminatingInstances, [
    { InstanceId: id, PreviousState: { Code: 16, Name: 'running' }, CurrentState: { Code: 32, Name: 'shutting-down' } },
  ]);
  // still listed right after termination, without IDs too
  assert.ok((await listIds(ec2)).includes(id));
  await waitUntilInstanceTerminated(waiter(ec2), { InstanceIds: [id] });
  i = await describeOne(ec2, id);
  assert.deepEqual(i.State, { Code: 48, Name: 'terminated' });
  assert.deepEqual(i.StateReason, {
    Code: 'Client.UserInitiatedShutdown',
    Message: 'Client.UserInitiatedShutdown: User initiated shutdown',
  });
  assert.match(i.StateTransitionReason ?? '', USER_INITIATED);
  assert.ok((await listIds(ec2, [{ Name: 'instance-state-name', Values: ['terminated'] }])).includes(id));
  // terminating again is accepted: terminated → terminated
  const termAgain = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual(termAgain.TerminatingInstances?.[0]?.CurrentState, { Code: 48, Name: 'terminated' });
});

test('IncorrectInstanceState for actions the state does not allow, naming instance and state', async () => {
  const id = await runningInstance(ec2);
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'stopped');

  const reboot = await errorOf(ec2.send(new RebootInstancesCommand({ InstanceIds: [id] })));
  assert.equal(reboot.code, 'IncorrectInstanceState');
  assert.equal(reboot.status, 400);
  assert.ok(reboot.message.includes(id), reboot.message);
  assert.match(reboot.message, /'stopped'/);
  assert.equal(await stateOf(ec2, id), 'stopped');

  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated');
  for (const cmd of [
    new StartInstancesCommand({ InstanceIds: [id] }),
    new StopInstancesCommand({ InstanceIds: [id] }),
    new RebootInstancesCommand({ InstanceIds: [id] }),
  ]) {
    const e = await errorOf(ec2.send(cmd as StartInstancesCommand));
    assert.equal(e.code, 'IncorrectInstanceState', cmd.constructor.name);
    assert.ok(e.message.includes(id), e.message);
    assert.match(e.message, /'terminated'/);
  }
  assert.equal(await stateOf(ec2, id), 'terminated');
});

test('InvalidInstanceID.Malformed and .NotFound name the IDs, singular and plural', async () => {
  const malformed = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-123'] })));
  assert.equal(malformed.code, 'InvalidInstanceID.Malformed');
  assert.equal(malformed.status, 400);
  assert.ok(malformed.message.includes('i-123'), malformed.message);

  const one = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: [NO_SUCH_INSTANCE] })));
  assert.equal(one.code, 'InvalidInstanceID.NotFound');
  assert.equal(one.message, `The instance ID '${NO_SUCH_INSTANCE}' does not exist`);

  const two = await errorOf(
    ec2.send(new TerminateInstancesCommand({ InstanceIds: [NO_SUCH_INSTANCE, NO_SUCH_INSTANCE_2] })),
  );
  assert.equal(two.code, 'InvalidInstanceID.NotFound');
  assert.equal(two.message, `The instance IDs '${NO_SUCH_INSTANCE}', '${NO_SUCH_INSTANCE_2}' do not exist`);

  // an existing ID among missing ones: only the missing are named
  const id = (await launchOne(ec2)).InstanceId!;
  const mixed = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id, NO_SUCH_INSTANCE] })));
  assert.equal(mixed.code, 'InvalidInstanceID.NotFound');
  assert.ok(!mixed.message.includes(id), mixed.message);
  assert.ok(mixed.message.includes(NO_SUCH_INSTANCE), mixed.message);

  for (const cmd of ['stop', 'start', 'reboot', 'console'] as const) {
    const p =
      cmd === 'stop'
        ? ec2.send(new StopInstancesCommand({ InstanceIds: ['i-zz'] }))
        : cmd === 'start'
          ? ec2.send(new StartInstancesCommand({ InstanceIds: ['i-zz'] }))
          : cmd === 'reboot'
            ? ec2.send(new RebootInstancesCommand({ InstanceIds: ['i-zz'] }))
            : ec2.send(new GetConsoleOutputCommand({ InstanceId: 'i-zz' }));
    const e = await errorOf(p);
    assert.equal(e.code, 'InvalidInstanceID.Malformed', cmd);
    assert.ok(e.message.includes('i-zz'), e.message);
  }
});

test('all or nothing: a StopInstances with one bad ID changes no instance', async () => {
  const a = await runningInstance(ec2);
  const b = await runningInstance(ec2);
  const e = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [a, NO_SUCH_INSTANCE, b] })));
  assert.equal(e.code, 'InvalidInstanceID.NotFound');
  assert.ok(e.message.includes(NO_SUCH_INSTANCE));
  const bad = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [a, 'i-bad'] })));
  assert.equal(bad.code, 'InvalidInstanceID.Malformed');
  // one instance in a state that refuses the action: nothing stops either
  const t = await runningInstance(ec2);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [t] }));
  await waitForState(ec2, t, 'terminated');
  const state = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [a, b, t] })));
  assert.equal(state.code, 'IncorrectInstanceState');
  assert.ok(state.message.includes(t));
  await sleep(150);
  assert.equal(await stateOf(ec2, a), 'running');
  assert.equal(await stateOf(ec2, b), 'running');
});

// --- DescribeInstances filters and paging -----------------------------------------------------------

test('DescribeInstances filters: ids, states, types, images, zones, reservations, tags, wildcards', async () => {
  const c = server.client('eu-central-1');
  const r1 = await c.send(
    new RunInstancesCommand({
      ImageId: LINUX_AMI,
      InstanceType: 'm8i.large',
      MinCount: 2,
      MaxCount: 2,
      Placement: { AvailabilityZone: 'eu-central-1b' },
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'env', Value: 'prod' }, { Key: 'app', Value: 'web-1' }] }],
    }),
  );
  const [a, b] = (r1.Instances ?? []).map((i) => i.InstanceId!) as [string, string];
  const armId = (
    await launchOne(c, {
      ImageId: ARM_AMI,
      InstanceType: 'c7g.large',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'env', Value: 'dev' }, { Key: 'owner', Value: 'ana' }] }],
    })
  ).InstanceId!;
  const plain = (await launchOne(c, { InstanceType: 'c8i.xlarge' })).InstanceId!;
  await Promise.all([a, b, armId, plain].map((id) => waitForState(c, id, 'running')));
  await c.send(new StopInstancesCommand({ InstanceIds: [plain] }));
  await waitForState(c, plain, 'stopped');

  const q = async (...filters: [string, string[]][]) =>
    sorted(await listIds(c, filters.map(([Name, Values]) => ({ Name, Values }))));
  const all = sorted([a, b, armId, plain]);
  assert.deepEqual(sorted(await listIds(c)), all);
  assert.deepEqual(await q(['instance-id', [a, plain]]), sorted([a, plain]));
  assert.deepEqual(await q(['instance-state-name', ['running']]), sorted([a, b, armId]));
  assert.deepEqual(await q(['instance-state-name', ['stopped']]), [plain]);
  assert.deepEqual(await q(['instance-state-code', ['80']]), [plain]);
  assert.deepEqual(await q(['instance-state-code', ['16']]), sorted([a, b, armId]));
  assert.deepEqual(await q(['instance-type', ['m8i.large', 'c7g.large']]), sorted([a, b, armId]));
  assert.deepEqual(await q(['image-id', [ARM_AMI]]), [armId]);
  assert.deepEqual(await q(['availability-zone', ['eu-central-1b']]), sorted([a, b]));
  assert.deepEqual(await q(['availability-zone', ['eu-central-1a']]), sorted([armId, plain]));
  assert.deepEqual(await q(['reservation-id', [r1.ReservationId!]]), sorted([a, b]));
  assert.deepEqual(await q(['tag:env', ['prod']]), sorted([a, b]));
  assert.deepEqual(await q(['tag:env', ['prod', 'dev']]), sorted([a, b, armId]));
  assert.deepEqual(await q(['tag-key', ['owner']]), [armId]);
  assert.deepEqual(await q(['tag-value', ['ana', 'web-1']]), sorted([a, b, armId]));
  // wildcards: * any run, ? exactly one character; matching is case-sensitive
  assert.deepEqual(await q(['instance-type', ['m8i.*']]), sorted([a, b]));
  assert.deepEqual(await q(['instance-type', ['c?i.*']]), [plain]);
  assert.deepEqual(await q(['tag:app', ['web-?']]), sorted([a, b]));
  assert.deepEqual(await q(['tag:app', ['web-']]), []);
  assert.deepEqual(await q(['tag:env', ['PROD']]), []);
  assert.deepEqual(await q(['tag-value', ['*a*']]), [armId]);
  // filters AND, values OR
  assert.deepEqual(await q(['tag:env', ['prod', 'dev']], ['instance-type', ['c7g.*']]), [armId]);
  assert.deepEqual(await q(['instance-state-name', ['running']], ['tag-key', ['nope']]), []);
  // filters combine with InstanceIds
  const byIds = await c.send(
    new DescribeInstancesCommand({ InstanceIds: [a, plain], Filters: [{ Name: 'instance-state-name', Values: ['stopped'] }] }),
  );
  assert.deepEqual(byIds.Reservations?.flatMap((r) => r.Instances?.map((i) => i.InstanceId)), [plain]);

  const e = await errorOf(c.send(new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })));
  assert.equal(e.code, 'InvalidParameterValue');
  assert.equal(e.status, 400);
  assert.ok(e.message.includes('no-such-filter'), e.message);
});

test('DescribeInstances paging: MaxResults 5 over 12 instances gives 3 pages, each instance once', async () => {
  const c = server.client('ap-southeast-2');
  const launched: string[] = [];
  for (let n = 0; n < 4; n++) {
    launched.push(...(await launch(c, { MinCount: 3, MaxCount: 3 })).map((i) => i.InstanceId!));
  }
  assert.equal(launched.length, 12);

  const seen: string[] = [];
  const pageSizes: number[] = [];
  let token: string | undefined;
  do {
    const r = await c.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: token }));
    const ids = (r.Reservations ?? []).flatMap((res) => (res.Instances ?? []).map((i) => i.InstanceId!));
    pageSizes.push(ids.length);
    seen.push(...ids);
    token = r.NextToken;
  } while (token && pageSizes.length < 10);
  assert.deepEqual(pageSizes, [5, 5, 2]);
  assert.equal(seen.length, 12);
  assert.deepEqual(sorted(seen), sorted(launched));

  // a filter and paging together
  const running = await c.send(
    new DescribeInstancesCommand({ MaxResults: 5, Filters: [{ Name: 'image-id', Values: [LINUX_AMI] }] }),
  );
  assert.ok(running.NextToken);

  const combo = await errorOf(c.send(new DescribeInstancesCommand({ MaxResults: 5, InstanceIds: [launched[0]!] })));
  assert.equal(combo.code, 'InvalidParameterCombination');
  assert.equal(combo.status, 400);

  for (const max of [3, 1001]) {
    const e = await errorOf(c.send(new DescribeInstancesCommand({ MaxResults: max })));
    assert.equal(e.code, 'InvalidParameterValue', String(max));
    assert.ok(e.message.includes(`(${max})`), e.message);
  }

  const bad = await errorOf(c.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: 'garbage' })));
  assert.equal(bad.code, 'InvalidNextToken');
  assert.ok(bad.message.includes('garbage'));
  // a token is bound to its query
  const first = await c.send(new DescribeInstancesCommand({ MaxResults: 5 }));
  const other = await errorOf(
    c.send(
      new DescribeInstancesCommand({
        MaxResults: 5,
        NextToken: first.NextToken,
        Filters: [{ Name: 'instance-type', Values: ['t3.micro'] }],
      }),
    ),
  );
  assert.equal(other.code, 'InvalidNextToken');
});

test('DescribeInstanceStatus: running instances by default, all with IncludeAllInstances', async () => {
  const c = server.client('ca-central-1');
  const up = await runningInstance(c);
  const down = await runningInstance(c);
  await c.send(new StopInstancesCommand({ InstanceIds: [down] }));
  await waitForState(c, down, 'stopped');

  const d = await c.send(new DescribeInstanceStatusCommand({}));
  assert.deepEqual(d.InstanceStatuses?.map((s) => s.InstanceId), [up]);
  const s = d.InstanceStatuses![0]!;
  assert.deepEqual(s.InstanceState, { Code: 16, Name: 'running' });
  assert.equal(s.InstanceStatus?.Status, 'ok');
  assert.equal(s.SystemStatus?.Status, 'ok');
  assert.equal(s.AvailabilityZone, 'ca-central-1a');

  const all = await c.send(new DescribeInstanceStatusCommand({ IncludeAllInstances: true }));
  const states = Object.fromEntries((all.InstanceStatuses ?? []).map((x) => [x.InstanceId, x.InstanceState?.Name]));
  assert.deepEqual(states, { [up]: 'running', [down]: 'stopped' });
  // by ID, a stopped instance is still only listed with IncludeAllInstances
  const byId = await c.send(new DescribeInstanceStatusCommand({ InstanceIds: [down] }));
  assert.deepEqual(byId.InstanceStatuses, []);
  const missing = await errorOf(c.send(new DescribeInstanceStatusCommand({ InstanceIds: [NO_SUCH_INSTANCE] })));
  assert.equal(missing.code, 'InvalidInstanceID.NotFound');
});

// --- idempotency and DryRun -------------------------------------------------------------------------

test('ClientToken: a replay returns the same reservation; other parameters → IdempotentParameterMismatch', async () => {
  const c = server.client('sa-east-1');
  const params: RunInstancesCommandInput = {
    ImageId: LINUX_AMI,
    InstanceType: 't3.micro',
    MinCount: 2,
    MaxCount: 2,
    ClientToken: 'token-abc-123',
  };
  const first = await c.send(new RunInstancesCommand(params));
  const ids = first.Instances!.map((i) => i.InstanceId!);
  assert.equal(ids.length, 2);
  assert.ok(first.Instances!.every((i) => i.ClientToken === 'token-abc-123'));
  const second = await c.send(new RunInstancesCommand(params));
  assert.equal(second.ReservationId, first.ReservationId);
  assert.deepEqual(second.Instances!.map((i) => i.InstanceId), ids);
  assert.deepEqual(sorted(await listIds(c)), sorted(ids));

  const mismatch = await errorOf(c.send(new RunInstancesCommand({ ...params, InstanceType: 'm8i.large' })));
  assert.equal(mismatch.code, 'IdempotentParameterMismatch');
  assert.equal(mismatch.status, 400);
  assert.ok(mismatch.message.includes('token-abc-123'));
  assert.deepEqual(sorted(await listIds(c)), sorted(ids));

  // the token is per region: the same token elsewhere launches anew
  const other = await server.client('ap-northeast-1').send(new RunInstancesCommand(params));
  assert.notEqual(other.ReservationId, first.ReservationId);

  const long = await errorOf(c.send(new RunInstancesCommand({ ...params, ClientToken: 'x'.repeat(65) })));
  assert.equal(long.code, 'InvalidParameterValue');
  assert.deepEqual(sorted(await listIds(c)), sorted(ids));
});

test('DryRun → DryRunOperation (HTTP 412) and no change, for RunInstances, StopInstances, ModifyInstanceCpuOptions', async () => {
  const c = server.client('eu-north-1');
  const run = await errorOf(launch(c, { DryRun: true }));
  assert.equal(run.code, 'DryRunOperation');
  assert.equal(run.status, 412);
  assert.equal(run.message, 'Request would have succeeded, but DryRun flag is set.');
  assert.deepEqual(await listIds(c), []);
  // DryRun still validates first: an invalid request is refused as such
  const invalid = await errorOf(launch(c, { DryRun: true, ImageId: 'ami-0123456789abcdef0' }));
  assert.equal(invalid.code, 'InvalidAMIID.NotFound');

  const id = await runningInstance(c);
  const stop = await errorOf(c.send(new StopInstancesCommand({ InstanceIds: [id], DryRun: true })));
  assert.equal(stop.code, 'DryRunOperation');
  assert.equal(stop.status, 412);
  await sleep(150);
  assert.equal(await stateOf(c, id), 'running');

  await c.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(c, id, 'stopped');
  const before = await describeOne(c, id);
  const modify = await errorOf(
    c.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: id, CoreCount: 1, ThreadsPerCore: 1, DryRun: true })),
  );
  assert.equal(modify.code, 'DryRunOperation');
  assert.equal(modify.status, 412);
  assert.deepEqual((await describeOne(c, id)).CpuOptions, before.CpuOptions);
  assert.deepEqual(before.CpuOptions, { CoreCount: 1, ThreadsPerCore: 2 });
  assert.deepEqual(await listIds(c), [id]);
});

test('terminated instances stay listed, as terminated, right after termination', async () => {
  const c = server.client('eu-west-3');
  const id = await runningInstance(c);
  const r = await c.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  assert.equal(r.TerminatingInstances?.[0]?.CurrentState?.Name, 'shutting-down');
  await waitForState(c, id, 'terminated');
  assert.deepEqual(await listIds(c), [id]);
  const i = await describeOne(c, id);
  assert.deepEqual(i.State, { Code: 48, Name: 'terminated' });
  // a terminated instance has no private address any more
  assert.equal(i.PrivateIpAddress, undefined);
  const status = await c.send(new DescribeInstanceStatusCommand({ IncludeAllInstances: true }));
  assert.deepEqual(status.InstanceStatuses?.map((s) => s.InstanceState?.Name), ['terminated']);
});

test('after the retention window a terminated instance is gone everywhere, not only from listings', async () => {
  const short = await startTestServer({ terminatedRetentionMs: 1000 });
  try {
    const c = short.client();
    const id = await runningInstance(c, { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'k', Value: 'v' }] }] });
    await c.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitForState(c, id, 'terminated');
    // within the window: listed, found by ID, its tags described
    assert.deepEqual(await listIds(c), [id]);
    assert.equal((await c.send(new DescribeTagsCommand({}))).Tags?.length, 1);
    await sleep(1200);
    // after it (but before any periodic purge): the same answer from every call
    assert.deepEqual(await listIds(c), []);
    const byId = await errorOf(c.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
    assert.equal(byId.code, 'InvalidInstanceID.NotFound');
    assert.ok(byId.message.includes(id));
    assert.deepEqual((await c.send(new DescribeTagsCommand({}))).Tags, []);
    const tag = await errorOf(c.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'x', Value: 'y' }] })));
    assert.equal(tag.code, 'InvalidInstanceID.NotFound');
    const term = await errorOf(c.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
    assert.equal(term.code, 'InvalidInstanceID.NotFound');
  } finally {
    await short.close();
  }
});

// --- tags -------------------------------------------------------------------------------------------

test('CreateTags / DeleteTags / DescribeTags', async () => {
  const c = server.client('us-west-2');
  const a = (await launchOne(c)).InstanceId!;
  const b = (await launchOne(c)).InstanceId!;
  await c.send(
    new CreateTagsCommand({
      Resources: [a, b],
      Tags: [{ Key: 'stage', Value: 'beta' }, { Key: 'cost', Value: '42' }],
    }),
  );
  await c.send(new CreateTagsCommand({ Resources: [b], Tags: [{ Key: 'only-b', Value: '' }] }));
  const tagsOf = async (id: string) =>
    Object.fromEntries(((await describeOne(c, id)).Tags ?? []).map((t) => [t.Key, t.Value]));
  assert.deepEqual(await tagsOf(a), { stage: 'beta', cost: '42' });
  assert.deepEqual(await tagsOf(b), { stage: 'beta', cost: '42', 'only-b': '' });

  const describe = async (Filters: Filter[]) =>
    ((await c.send(new DescribeTagsCommand({ Filters }))).Tags ?? [])
      .map((t) => `${t.ResourceId}:${t.Key}=${t.Value}:${t.ResourceType}`)
      .sort();
  assert.deepEqual(await describe([{ Name: 'key', Values: ['only-b'] }]), [`${b}:only-b=:instance`]);
  assert.deepEqual(await describe([{ Name: 'value', Values: ['beta'] }]), sorted([`${a}:stage=beta:instance`, `${b}:stage=beta:instance`]));
  assert.deepEqual(await describe([{ Name: 'resource-id', Values: [a] }]), sorted([`${a}:stage=beta:instance`, `${a}:cost=42:instance`]));
  assert.deepEqual(
    await describe([{ Name: 'resource-id', Values: [a] }, { Name: 'key', Values: ['c*'] }]),
    [`${a}:cost=42:instance`],
  );
  const unknownFilter = await errorOf(c.send(new DescribeTagsCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] })));
  assert.equal(unknownFilter.code, 'InvalidParameterValue');
  assert.ok(unknownFilter.message.includes('colour'));

  // overwrite a value
  await c.send(new CreateTagsCommand({ Resources: [a], Tags: [{ Key: 'cost', Value: '43' }] }));
  assert.equal((await tagsOf(a)).cost, '43');

  // DeleteTags with a value that does not match keeps the tag
  await c.send(new DeleteTagsCommand({ Resources: [a], Tags: [{ Key: 'stage', Value: 'gamma' }] }));
  assert.equal((await tagsOf(a)).stage, 'beta');
  // with the matching value it goes
  await c.send(new DeleteTagsCommand({ Resources: [a], Tags: [{ Key: 'stage', Value: 'beta' }] }));
  assert.deepEqual(await tagsOf(a), { cost: '43' });
  // by key alone, whatever the value
  await c.send(new DeleteTagsCommand({ Resources: [a, b], Tags: [{ Key: 'cost' }] }));
  assert.deepEqual(await tagsOf(a), {});
  assert.deepEqual(await tagsOf(b), { stage: 'beta', 'only-b': '' });
  // no tags named: all of them
  await c.send(new DeleteTagsCommand({ Resources: [b] }));
  assert.deepEqual(await tagsOf(b), {});
  assert.equal((await describeOne(c, b)).Tags, undefined);
  assert.deepEqual(await describe([{ Name: 'resource-id', Values: [a, b] }]), []);

  // aws: is reserved
  const reserved = await errorOf(c.send(new CreateTagsCommand({ Resources: [a], Tags: [{ Key: 'aws:owner', Value: 'x' }] })));
  assert.equal(reserved.code, 'InvalidParameterValue');
  assert.ok(reserved.message.includes('aws:owner'));
  assert.deepEqual(await tagsOf(a), {});
  const reservedAtLaunch = await errorOf(
    launch(c, { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'AWS:x', Value: 'y' }] }] }),
  );
  assert.equal(reservedAtLaunch.code, 'InvalidParameterValue');

  // an unknown instance: nothing is tagged, not even the known one
  const missing = await errorOf(
    c.send(new CreateTagsCommand({ Resources: [a, NO_SUCH_INSTANCE], Tags: [{ Key: 'k', Value: 'v' }] })),
  );
  assert.equal(missing.code, 'InvalidInstanceID.NotFound');
  assert.ok(missing.message.includes(NO_SUCH_INSTANCE));
  assert.deepEqual(await tagsOf(a), {});
});

// --- console ----------------------------------------------------------------------------------------

test('GetConsoleOutput: base64 Output and a Timestamp', async () => {
  const id = await runningInstance(ec2, { InstanceType: 'c8i.2xlarge' });
  const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
  assert.equal(out.InstanceId, id);
  assert.ok(out.Timestamp instanceof Date);
  assert.ok(Math.abs(out.Timestamp.getTime() - Date.now()) < 60_000);
  assert.match(out.Output ?? '', /^[A-Za-z0-9+/]+={0,2}$/);
  const text = Buffer.from(out.Output!, 'base64').toString('utf8');
  assert.ok(text.includes(id), text);
  assert.match(text, /4 cores x 2 threads/);
  const missing = await errorOf(ec2.send(new GetConsoleOutputCommand({ InstanceId: NO_SUCH_INSTANCE })));
  assert.equal(missing.code, 'InvalidInstanceID.NotFound');
});

// --- regions ----------------------------------------------------------------------------------------

test('per-region isolation: an instance in us-east-1 is invisible from eu-west-1', async () => {
  const id = (
    await launchOne(ec2, { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'r', Value: 'x' }] }] })
  ).InstanceId!;
  const eu = server.client('eu-west-1');
  const e = await errorOf(eu.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
  assert.equal(e.code, 'InvalidInstanceID.NotFound');
  assert.ok(e.message.includes(id));
  assert.deepEqual(await listIds(eu), []);
  assert.deepEqual((await eu.send(new DescribeTagsCommand({}))).Tags, []);
  const stop = await errorOf(eu.send(new StopInstancesCommand({ InstanceIds: [id] })));
  assert.equal(stop.code, 'InvalidInstanceID.NotFound');
  const tag = await errorOf(eu.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k', Value: 'v' }] })));
  assert.equal(tag.code, 'InvalidInstanceID.NotFound');
  // and it is still there, untouched, in its own region
  const i = await describeOne(ec2, id);
  assert.deepEqual(i.Tags, [{ Key: 'r', Value: 'x' }]);
  // an instance launched in eu-west-1 lives in eu-west-1's zones
  const [euInstance] = await launch(eu);
  assert.equal(euInstance?.Placement?.AvailabilityZone, 'eu-west-1a');
  assert.match(euInstance?.PrivateDnsName ?? '', /\.eu-west-1\.compute\.internal$/);
  assert.ok(!(await listIds(ec2)).includes(euInstance!.InstanceId!));
});

test('the instance quota: MinCount above it is refused and creates nothing; MaxCount is trimmed to what fits', async () => {
  const client = server.client('ap-south-1');
  const e = await errorOf(launch(client, { MinCount: 5001, MaxCount: 5001 }));
  assert.equal(e.code, 'InstanceLimitExceeded');
  assert.equal(e.status, 400);
  assert.match(e.message, /\(5001\).*limit of 5000/);
  const after = await client.send(new DescribeInstancesCommand({}));
  assert.equal(after.Reservations?.length ?? 0, 0);
  const many = await launch(client, { MinCount: 2, MaxCount: 7 });
  assert.equal(many.length, 7);
});

test('a pending instance that never ran cannot be stopped; one starting again can (as EC2)', async () => {
  const slow = await startTestServer({ simulatedDelayMs: 400 });
  try {
    const c = slow.client('us-east-1');
    const id = (await launchOne(c)).InstanceId!;
    const e = await errorOf(c.send(new StopInstancesCommand({ InstanceIds: [id] })));
    assert.equal(e.code, 'IncorrectInstanceState');
    assert.equal(e.message, `Instance '${id}' cannot be stopped as it has never reached the 'running' state.`);
    await waitUntilInstanceRunning(waiter(c), { InstanceIds: [id] });
    await c.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceStopped(waiter(c), { InstanceIds: [id] });
    const start = await c.send(new StartInstancesCommand({ InstanceIds: [id] }));
    assert.equal(start.StartingInstances?.[0]?.CurrentState?.Name, 'pending');
    const stop = await c.send(new StopInstancesCommand({ InstanceIds: [id] }));
    assert.equal(stop.StoppingInstances?.[0]?.PreviousState?.Name, 'pending');
    assert.equal(stop.StoppingInstances?.[0]?.CurrentState?.Name, 'stopping');
  } finally {
    await slow.close();
  }
});
