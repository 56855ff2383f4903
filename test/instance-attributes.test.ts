/**
 * Instance attributes through the real AWS SDK: DescribeInstanceAttribute and ModifyInstanceAttribute
 * (instance type, user data, termination and stop protection, instance-initiated shutdown behaviour),
 * what protection does to StopInstances/TerminateInstances, and what a guest's own power-off does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeInstanceAttributeCommand,
  EC2Client,
  GetConsoleOutputCommand,
  type InstanceAttributeName,
  ModifyInstanceAttributeCommand,
  type ModifyInstanceAttributeCommandInput,
  ModifyInstanceCpuOptionsCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DEFAULTS } from '../src/config.js';
import { MAX_USER_DATA_BYTES } from '../src/domain/instance-attributes.js';
import type { Logger } from '../src/logger.js';
import { startNestbox } from '../src/main.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { instanceRecord, testVmHost } from './fixtures.js';
import { CREDENTIALS, type TestServer, describeOne, errorOf, eventually, launchOne, startTestServer } from './helpers.js';

const NO_SUCH_INSTANCE = 'i-0123456789abcdef0';

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

type Params = Partial<RunInstancesCommandInput>;

/** Launches one instance, a c8i.large unless `params` name another type; its ID. */
async function launchId(params: Params = {}, client = ec2): Promise<string> {
  return (await launchOne(client, { InstanceType: 'c8i.large', ...params })).InstanceId!;
}

const stateOf = async (id: string, client = ec2) => (await describeOne(client, id)).State?.Name;

function waitForState(id: string, state: string, client = ec2): Promise<true> {
  return eventually(async () => ((await stateOf(id, client)) === state ? true : undefined), 5000, `${id} ${state}`);
}

async function runningInstance(params: Params = {}, client = ec2): Promise<string> {
  const id = await launchId(params, client);
  await waitForState(id, 'running', client);
  return id;
}

async function stoppedInstance(params: Params = {}, client = ec2): Promise<string> {
  const id = await runningInstance(params, client);
  await client.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(id, 'stopped', client);
  return id;
}

const attribute = (id: string, Attribute: InstanceAttributeName | string, client = ec2) =>
  client.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: Attribute as InstanceAttributeName }));

const modify = (id: string, input: Partial<ModifyInstanceAttributeCommandInput>, client = ec2) =>
  client.send(new ModifyInstanceAttributeCommand({ InstanceId: id, ...input }));

/** What the VM reports when the guest powers itself off (e.g. `poweroff` in user data). */
const guestPowersOff = (id: string, s = server) => s.nestbox.vmHost!.onEvent(id, { kind: 'halted', requested: false });

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

// --- DescribeInstanceAttribute ----------------------------------------------------------------------

test('DescribeInstanceAttribute: EC2 defaults after a plain launch, and the same values DescribeInstances shows', async () => {
  const id = await launchId();
  const view = await describeOne(ec2, id);
  const a = async (name: InstanceAttributeName) => {
    const { $metadata: _m, ...rest } = await attribute(id, name);
    return rest;
  };
  assert.deepEqual(await a('instanceType'), { InstanceId: id, InstanceType: { Value: 'c8i.large' } });
  assert.deepEqual(await a('userData'), { InstanceId: id, UserData: {} });
  assert.deepEqual(await a('disableApiTermination'), { InstanceId: id, DisableApiTermination: { Value: false } });
  assert.deepEqual(await a('disableApiStop'), { InstanceId: id, DisableApiStop: { Value: false } });
  assert.deepEqual(await a('instanceInitiatedShutdownBehavior'), {
    InstanceId: id,
    InstanceInitiatedShutdownBehavior: { Value: 'stop' },
  });
  assert.deepEqual(await a('kernel'), { InstanceId: id, KernelId: {} });
  assert.deepEqual(await a('ramdisk'), { InstanceId: id, RamdiskId: {} });
  assert.deepEqual(await a('sriovNetSupport'), { InstanceId: id, SriovNetSupport: {} });
  assert.deepEqual(await a('rootDeviceName'), { InstanceId: id, RootDeviceName: { Value: view.RootDeviceName } });
  assert.deepEqual(await a('blockDeviceMapping'), { InstanceId: id, BlockDeviceMappings: view.BlockDeviceMappings });
  assert.deepEqual(await a('productCodes'), { InstanceId: id, ProductCodes: [] });
  assert.deepEqual(await a('groupSet'), { InstanceId: id, Groups: view.SecurityGroups });
  assert.deepEqual(await a('sourceDestCheck'), { InstanceId: id, SourceDestCheck: { Value: view.SourceDestCheck } });
  assert.deepEqual(await a('ebsOptimized'), { InstanceId: id, EbsOptimized: { Value: view.EbsOptimized } });
  assert.deepEqual(await a('enclaveOptions'), { InstanceId: id, EnclaveOptions: view.EnclaveOptions });
});

test('DescribeInstanceAttribute: what RunInstances set (protection, shutdown behaviour, user data as base64)', async () => {
  const id = await launchId({
    DisableApiTermination: true,
    DisableApiStop: true,
    InstanceInitiatedShutdownBehavior: 'terminate',
    UserData: b64('#!/bin/sh\necho hi\n'),
  });
  assert.deepEqual((await attribute(id, 'disableApiTermination')).DisableApiTermination, { Value: true });
  assert.deepEqual((await attribute(id, 'disableApiStop')).DisableApiStop, { Value: true });
  assert.deepEqual((await attribute(id, 'instanceInitiatedShutdownBehavior')).InstanceInitiatedShutdownBehavior, {
    Value: 'terminate',
  });
  assert.deepEqual((await attribute(id, 'userData')).UserData, { Value: b64('#!/bin/sh\necho hi\n') });
  // cleanup: protection off, then terminate
  await modify(id, { DisableApiStop: { Value: false } });
  await modify(id, { DisableApiTermination: { Value: false } });
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
});

test('DescribeInstanceAttribute: refused requests name the bad value, in EC2 order', async () => {
  const id = await launchId();
  const missing = await errorOf(ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id } as never)));
  assert.deepEqual([missing.code, missing.status], ['MissingParameter', 400]);
  assert.match(missing.message, /parameter Attribute/);

  const unknown = await errorOf(attribute(id, 'cpuOptions'));
  assert.deepEqual([unknown.code, unknown.status], ['InvalidParameterValue', 400]);
  assert.equal(unknown.message, 'Value (cpuOptions) for parameter attribute is invalid. Unknown attribute.');
  // syntax before existence
  assert.equal((await errorOf(attribute(NO_SUCH_INSTANCE, 'bogus'))).code, 'InvalidParameterValue');

  // "The enaSupport attribute is not supported at this time." (API reference); DescribeInstances has EnaSupport
  const ena = await errorOf(attribute(id, 'enaSupport'));
  assert.equal(ena.code, 'InvalidParameterValue');
  assert.match(ena.message, /\(enaSupport\).*not supported/);

  const malformed = await errorOf(attribute('i-xyz', 'instanceType'));
  assert.equal(malformed.code, 'InvalidInstanceID.Malformed');
  const notFound = await errorOf(attribute(NO_SUCH_INSTANCE, 'instanceType'));
  assert.deepEqual(
    [notFound.code, notFound.message],
    ['InvalidInstanceID.NotFound', `The instance ID '${NO_SUCH_INSTANCE}' does not exist`],
  );
  const dry = await errorOf(
    ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'instanceType', DryRun: true })),
  );
  assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 412]);
});

// --- termination and stop protection ----------------------------------------------------------------

test('disableApiTermination: TerminateInstances is refused for the whole call, and works once it is off', async () => {
  const guarded = await runningInstance();
  const other = await runningInstance();
  await modify(guarded, { DisableApiTermination: { Value: true } });
  assert.deepEqual((await attribute(guarded, 'disableApiTermination')).DisableApiTermination, { Value: true });

  const refused = await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [other, guarded] })));
  assert.deepEqual([refused.code, refused.status], ['OperationNotPermitted', 400]);
  assert.equal(
    refused.message,
    `The instance '${guarded}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`,
  );
  // nothing changed for either instance
  assert.equal(await stateOf(other), 'running');
  assert.equal(await stateOf(guarded), 'running');
  // DryRun is a permission check: it answers before the protection
  const dry = await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [guarded], DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  // stopping is still allowed
  await ec2.send(new StopInstancesCommand({ InstanceIds: [guarded] }));
  await waitForState(guarded, 'stopped');

  // the CLI's --attribute/--value form turns it off
  await modify(guarded, { Attribute: 'disableApiTermination', Value: 'false' });
  const r = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [other, guarded] }));
  assert.deepEqual(
    (r.TerminatingInstances ?? []).map((c) => c.CurrentState?.Name),
    ['shutting-down', 'shutting-down'],
  );
});

test('disableApiStop: StopInstances is refused (Force and Hibernate too), and TerminateInstances as well', async () => {
  const id = await runningInstance({ HibernationOptions: { Configured: true } });
  await modify(id, { DisableApiStop: { Value: true } });
  const stopMessage = `The instance '${id}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.`;
  for (const extra of [{}, { Force: true }, { Hibernate: true }]) {
    const e = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [id], ...extra })));
    assert.deepEqual([e.code, e.status, e.message], ['OperationNotPermitted', 400, stopMessage], JSON.stringify(extra));
  }
  // Stop protection also protects from termination (EC2 UG "Enable stop protection")
  const term = await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
  assert.deepEqual(
    [term.code, term.message],
    [
      'OperationNotPermitted',
      `The instance '${id}' may not be terminated. Modify its 'disableApiStop' instance attribute and try again.`,
    ],
  );
  // with both protections on, termination protection is named
  await modify(id, { DisableApiTermination: { Value: true } });
  assert.match((await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })))).message, /'disableApiTermination'/);
  assert.equal(await stateOf(id), 'running');

  await modify(id, { Attribute: 'disableApiStop', Value: 'false' });
  await modify(id, { DisableApiTermination: { Value: false } });
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(id, 'stopped');
});

test('stop protection does not stop the guest from shutting itself down (it protects the API only)', async () => {
  const id = await runningInstance({ DisableApiStop: true });
  guestPowersOff(id);
  await waitForState(id, 'stopped');
  const i = await describeOne(ec2, id);
  assert.equal(i.StateReason?.Code, 'Client.InstanceInitiatedShutdown');
  assert.equal(i.StateTransitionReason, 'Client.InstanceInitiatedShutdown: Instance initiated shutdown');
  // still protected: a stopped instance cannot be terminated through the API; stopping it again changes nothing and is fine
  assert.equal((await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })))).code, 'OperationNotPermitted');
  const again = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  assert.equal(again.StoppingInstances?.[0]?.CurrentState?.Name, 'stopped');
});

test('a guest power-off during a stop already under way still ends stopped, whatever the shutdown behaviour', async () => {
  const store = new SqliteStore({ dataDir: ':memory:' });
  const host = testVmHost(store);
  const id = instanceRecord().id;
  await store.commit({ instances: [instanceRecord({ state: 'stopping', shutdownBehavior: 'terminate' })] });
  host.onEvent(id, { kind: 'halted', requested: false });
  await eventually(async () => ((await store.instance(id))?.state === 'stopping' ? undefined : true), 5000, 'the report');
  assert.equal((await store.instance(id))?.state, 'stopped');
  await host.close();
  await store.close();
});

// --- instance-initiated shutdown behaviour ----------------------------------------------------------

test('instanceInitiatedShutdownBehavior: terminate makes a guest power-off terminate it; stop (the default) stops it', async () => {
  const stops = await runningInstance();
  const terminates = await runningInstance();
  // changeable while running (EC2 UG), through either request form
  await modify(terminates, { InstanceInitiatedShutdownBehavior: { Value: 'terminate' } });
  await modify(stops, { Attribute: 'instanceInitiatedShutdownBehavior', Value: 'stop' });
  assert.deepEqual((await attribute(terminates, 'instanceInitiatedShutdownBehavior')).InstanceInitiatedShutdownBehavior, {
    Value: 'terminate',
  });

  guestPowersOff(stops);
  guestPowersOff(terminates);
  // the report is written as the VM host gets to it: shutting-down, then terminated once the VM is gone
  await waitForState(terminates, 'shutting-down');
  await waitForState(stops, 'stopped');
  await waitForState(terminates, 'terminated');
  const t = await describeOne(ec2, terminates);
  assert.equal(t.StateReason?.Code, 'Client.InstanceInitiatedShutdown');
  assert.equal(t.StateTransitionReason, 'Client.InstanceInitiatedShutdown: Instance initiated shutdown');
  assert.equal((await describeOne(ec2, stops)).StateReason?.Code, 'Client.InstanceInitiatedShutdown');
});

test('termination protection does not prevent a guest shutdown from terminating (shutdown behaviour terminate)', async () => {
  const id = await runningInstance({ DisableApiTermination: true, InstanceInitiatedShutdownBehavior: 'terminate' });
  guestPowersOff(id);
  await waitForState(id, 'terminated');
  // an instance that is gone has nothing left to protect or change
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  const e = await errorOf(modify(id, { DisableApiTermination: { Value: false } }));
  assert.deepEqual(
    [e.code, e.message],
    [
      'IncorrectInstanceState',
      `The instance '${id}' is not in a state from which it can be modified. Its current state is 'terminated'.`,
    ],
  );
});

// --- instance type ----------------------------------------------------------------------------------

test('instanceType: only while stopped; the CPU options reset to the new type defaults', async () => {
  const running = await runningInstance();
  const e = await errorOf(modify(running, { InstanceType: { Value: 'c8i.xlarge' } }));
  assert.deepEqual(
    [e.code, e.status, e.message],
    ['IncorrectInstanceState', 400, `The instance '${running}' is not in the 'stopped' state.`],
  );
  assert.equal((await describeOne(ec2, running)).InstanceType, 'c8i.large');

  const id = await stoppedInstance({ InstanceType: 'c8i.2xlarge', CpuOptions: { CoreCount: 2, ThreadsPerCore: 1 } });
  await modify(id, { InstanceType: { Value: 'c8i.xlarge' } });
  let i = await describeOne(ec2, id);
  assert.equal(i.InstanceType, 'c8i.xlarge');
  // the type's defaults; NestedVirtualization was never set and stays absent
  assert.deepEqual(i.CpuOptions, { CoreCount: 2, ThreadsPerCore: 2 });
  assert.deepEqual((await attribute(id, 'instanceType')).InstanceType, { Value: 'c8i.xlarge' });

  // the same type again changes nothing (custom core settings survive)
  await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: id, CoreCount: 1, ThreadsPerCore: 1 }));
  await modify(id, { Attribute: 'instanceType', Value: 'c8i.xlarge' });
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, { CoreCount: 1, ThreadsPerCore: 1 });

  // and the instance starts as the new type
  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  await waitForState(id, 'running');
  i = await describeOne(ec2, id);
  assert.equal(i.InstanceType, 'c8i.xlarge');
});

test('instanceType: a change turns nested virtualization off and shows it as disabled (and the server says so)', async () => {
  const lines: string[] = [];
  const log: Logger = { info: () => {}, request: () => {}, warn: (l) => lines.push(l) };
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-attr-'));
  const config = { ...DEFAULTS, port: 0, dataDir: dir, driver: 'simulated' as const, simulatedDelayMs: 50, quiet: true };
  const nb = await startNestbox(config, log);
  const client = new EC2Client({ endpoint: nb.endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
  try {
    const nv = { CpuOptions: { NestedVirtualization: 'enabled' as const } };
    // to a type without the feature
    const a = await stoppedInstance(nv, client);
    await modify(a, { InstanceType: { Value: 'm6i.large' } }, client);
    const cpuOf = async (id: string) => (await describeOne(client, id)).CpuOptions;
    assert.deepEqual(await cpuOf(a), { CoreCount: 1, ThreadsPerCore: 2, NestedVirtualization: 'disabled' });
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', new RegExp(`instance ${a}: .*c8i\\.large to m6i\\.large`));
    assert.match(lines[0] ?? '', /turned nested virtualization off \(m6i\.large does not support it\)/);
    // and it can start there (no rule about nested virtualization is left to break)
    await client.send(new StartInstancesCommand({ InstanceIds: [a] }));
    await waitForState(a, 'running', client);

    // to a type with the feature: the reset turns it off as well, and says so the same way
    const b = await stoppedInstance(nv, client);
    await modify(b, { InstanceType: { Value: 'c8i.2xlarge' } }, client);
    assert.deepEqual(await cpuOf(b), { CoreCount: 4, ThreadsPerCore: 2, NestedVirtualization: 'disabled' });
    assert.equal(lines.length, 2);
    assert.doesNotMatch(lines[1] ?? '', /does not support/);
    // turning it back on is ModifyInstanceCpuOptions' job
    await client.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: b, NestedVirtualization: 'enabled' }));
    assert.equal((await describeOne(client, b)).CpuOptions?.NestedVirtualization, 'enabled');

    // the guest's latest boot (as m6i.large) got no virtualization extension (simulated console)
    const r = await client.send(new GetConsoleOutputCommand({ InstanceId: a }));
    const text = Buffer.from(r.Output ?? '', 'base64').toString();
    const boots = [...text.matchAll(/virtualization extension: (\w+)/g)].map((m) => m[1]);
    assert.deepEqual(boots, ['vmx', 'none']);
  } finally {
    client.destroy();
    await nb.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('instanceType: unknown types, another architecture and hibernation are refused; nothing changes', async () => {
  const id = await stoppedInstance();
  const unknown = await errorOf(modify(id, { InstanceType: { Value: 'c9z.huge' } }));
  assert.deepEqual(
    [unknown.code, unknown.status, unknown.message],
    ['InvalidInstanceAttributeValue', 400, 'Value (c9z.huge) for parameter instanceType is invalid. Unknown instance type.'],
  );
  const arm = await errorOf(modify(id, { InstanceType: { Value: 'c7g.large' } }));
  assert.equal(arm.code, 'InvalidInstanceAttributeValue');
  assert.match(arm.message, /from c8i\.large to c7g\.large is not allowed.*'arm64'.*'x86_64'/);

  const hibernating = await stoppedInstance({ HibernationOptions: { Configured: true } });
  const hib = await errorOf(modify(hibernating, { InstanceType: { Value: 'c8i.24xlarge' } }));
  assert.deepEqual(
    [hib.code, hib.message],
    ['UnsupportedHibernationConfiguration', 'Hibernation is not supported for the c8i.24xlarge instance type.'],
  );
  await modify(hibernating, { InstanceType: { Value: 'm6i.large' } });
  assert.equal((await describeOne(ec2, hibernating)).InstanceType, 'm6i.large');

  assert.equal((await describeOne(ec2, id)).InstanceType, 'c8i.large');
  // syntax before existence; DryRun after existence, before the state
  const codeOf = async (type: string) => (await errorOf(modify(NO_SUCH_INSTANCE, { InstanceType: { Value: type } }))).code;
  assert.equal(await codeOf('c9z.huge'), 'InvalidInstanceAttributeValue');
  assert.equal(await codeOf('m6i.large'), 'InvalidInstanceID.NotFound');
  const running = await runningInstance();
  const dry = await errorOf(modify(running, { InstanceType: { Value: 'm6i.large' }, DryRun: true }));
  assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 412]);
  const dryStopped = await errorOf(modify(id, { InstanceType: { Value: 'm6i.large' }, DryRun: true }));
  assert.equal(dryStopped.code, 'DryRunOperation');
  assert.equal((await describeOne(ec2, id)).InstanceType, 'c8i.large');
});

// --- user data --------------------------------------------------------------------------------------

test('userData: only while stopped; the typed blob and the base64 Value both work and reach the guest', async () => {
  const running = await runningInstance();
  const e = await errorOf(modify(running, { UserData: { Value: Buffer.from('#!/bin/sh\n') } }));
  assert.deepEqual([e.code, e.message], ['IncorrectInstanceState', `The instance '${running}' is not in the 'stopped' state.`]);

  const id = await stoppedInstance({ CpuOptions: { NestedVirtualization: 'enabled' } });
  // the SDK member is a blob: it sends the bytes in base64, and EC2 keeps (and shows) them in base64
  await modify(id, { UserData: { Value: Buffer.from('#!/bin/sh\nl2-smoke\n') } });
  assert.deepEqual((await attribute(id, 'userData')).UserData, { Value: b64('#!/bin/sh\nl2-smoke\n') });
  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  const out = await eventually(async () => {
    const r = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
    const text = Buffer.from(r.Output ?? '', 'base64').toString();
    return /L2 (OK|FAIL)/.test(text) ? text : undefined;
  });
  assert.match(out, /L2 OK/);

  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(id, 'stopped');
  // `Attribute=userData&Value=<base64>` (the CLI's --attribute/--value), whitespace ignored as in RunInstances
  await modify(id, { Attribute: 'userData', Value: `${b64('echo two\n').slice(0, 4)}\n${b64('echo two\n').slice(4)}` });
  assert.deepEqual((await attribute(id, 'userData')).UserData, { Value: b64('echo two\n') });
});

test('userData: the RunInstances rules (base64, 16 KB) and a value is required', async () => {
  const id = await stoppedInstance({ UserData: b64('keep') });
  const bad = await errorOf(modify(id, { Attribute: 'userData', Value: 'not base64!' }));
  assert.deepEqual([bad.code, bad.message], ['InvalidParameterValue', 'Invalid BASE64 encoding of user data.']);
  const big = await errorOf(modify(id, { UserData: { Value: Buffer.alloc(MAX_USER_DATA_BYTES + 1, 0x61) } }));
  assert.deepEqual([big.code, big.message], ['InvalidParameterValue', `User data is limited to ${MAX_USER_DATA_BYTES} bytes.`]);
  await modify(id, { UserData: { Value: Buffer.alloc(MAX_USER_DATA_BYTES, 0x61) } });
  assert.equal(Buffer.from((await attribute(id, 'userData')).UserData?.Value ?? '', 'base64').length, MAX_USER_DATA_BYTES);
  // RunInstances refuses the same way
  const launch = await errorOf(launchId({ UserData: Buffer.alloc(MAX_USER_DATA_BYTES + 1, 0x61).toString('base64') }));
  assert.deepEqual([launch.code, launch.message], [big.code, big.message]);

  const empty = await errorOf(modify(id, { Attribute: 'userData', Value: '' }));
  assert.deepEqual([empty.code, empty.message], ['MissingParameter', 'The request must contain the parameter Value']);
  const noValue = await errorOf(modify(id, { Attribute: 'userData' }));
  assert.equal(noValue.code, 'MissingParameter');
});

// --- ModifyInstanceAttribute: the request itself ----------------------------------------------------

test('ModifyInstanceAttribute: exactly one known, modifiable attribute per call, with a valid value', async () => {
  const id = await runningInstance();
  const none = await errorOf(modify(id, {}));
  assert.deepEqual([none.code, none.status, none.message], ['InvalidParameterCombination', 400, 'No attributes specified.']);
  const two = await errorOf(modify(id, { DisableApiStop: { Value: true }, DisableApiTermination: { Value: true } }));
  assert.equal(two.code, 'InvalidParameterCombination');
  assert.match(two.message, /disableApiStop, disableApiTermination/);
  const mixed = await errorOf(modify(id, { Attribute: 'disableApiStop', Value: 'true', DisableApiTermination: { Value: true } }));
  assert.equal(mixed.code, 'InvalidParameterCombination');

  const unknown = await errorOf(modify(id, { Attribute: 'nvmeSupport' as InstanceAttributeName, Value: 'true' }));
  assert.deepEqual(
    [unknown.code, unknown.message],
    ['InvalidParameterValue', 'Value (nvmeSupport) for parameter attribute is invalid. Unknown attribute.'],
  );
  const fixed = await errorOf(modify(id, { Attribute: 'rootDeviceName', Value: '/dev/sda1' }));
  assert.equal(fixed.code, 'InvalidParameterValue');
  assert.equal(fixed.message, 'Value (rootDeviceName) for parameter attribute is invalid. The rootDeviceName attribute cannot be modified.');
  const later = await errorOf(modify(id, { EnaSupport: { Value: false } }));
  assert.deepEqual([later.code, later.status], ['NotImplemented', 501]);
  assert.match(later.message, /enaSupport/);

  const noAttribute = await errorOf(modify(id, { Value: 'true' }));
  assert.deepEqual(
    [noAttribute.code, noAttribute.message],
    ['MissingParameter', 'The request must contain the parameter Attribute'],
  );
  const noValue = await errorOf(modify(id, { Attribute: 'disableApiStop' }));
  assert.deepEqual([noValue.code, noValue.message], ['MissingParameter', 'The request must contain the parameter Value']);
  // an empty member is not even sent by the SDK
  assert.equal((await errorOf(modify(id, { DisableApiStop: {} }))).message, 'No attributes specified.');
  const notBool = await errorOf(modify(id, { Attribute: 'disableApiTermination', Value: 'yes' }));
  assert.deepEqual(
    [notBool.code, notBool.message],
    ['InvalidParameterValue', 'Value (yes) for parameter Value is invalid. Expected true or false.'],
  );
  const behaviour = await errorOf(modify(id, { InstanceInitiatedShutdownBehavior: { Value: 'hibernate' } }));
  assert.deepEqual(
    [behaviour.code, behaviour.message],
    [
      'InvalidParameterValue',
      'Value (hibernate) for parameter InstanceInitiatedShutdownBehavior.Value is invalid. Valid values: stop, terminate.',
    ],
  );
  assert.equal((await errorOf(modify('i-bad', { DisableApiStop: { Value: true } }))).code, 'InvalidInstanceID.Malformed');

  // DryRun changes nothing
  const dry = await errorOf(modify(id, { DisableApiStop: { Value: true }, DryRun: true }));
  assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 412]);
  assert.deepEqual((await attribute(id, 'disableApiStop')).DisableApiStop, { Value: false });
});

test('instance attributes survive a restart', async () => {
  const own = await startTestServer();
  try {
    const client = own.client();
    const id = await stoppedInstance({ InstanceType: 'c8i.large', CpuOptions: { NestedVirtualization: 'enabled' } }, client);
    await modify(id, { DisableApiTermination: { Value: true } }, client);
    await modify(id, { InstanceInitiatedShutdownBehavior: { Value: 'terminate' } }, client);
    await modify(id, { InstanceType: { Value: 'm6i.large' } }, client);
    await modify(id, { UserData: { Value: Buffer.from('after restart') } }, client);

    const again = await own.restart();
    try {
      const c2 = again.client();
      assert.deepEqual((await attribute(id, 'disableApiTermination', c2)).DisableApiTermination, { Value: true });
      const behaviour = await attribute(id, 'instanceInitiatedShutdownBehavior', c2);
      assert.deepEqual(behaviour.InstanceInitiatedShutdownBehavior, { Value: 'terminate' });
      assert.deepEqual((await attribute(id, 'userData', c2)).UserData, { Value: b64('after restart') });
      const i = await describeOne(c2, id);
      assert.equal(i.InstanceType, 'm6i.large');
      assert.equal(i.CpuOptions?.NestedVirtualization, 'disabled');
    } finally {
      await again.close();
    }
  } catch (err) {
    await own.close().catch(() => undefined);
    throw err;
  }
});

test('a guest that powers itself off from user data: stopped by default, terminated with instanceInitiatedShutdownBehavior=terminate', async () => {
  const script = b64('#!/bin/sh\nl2-smoke\npoweroff\n');
  const stops = await launchId({ UserData: script });
  const terminates = await launchId({ UserData: script, InstanceInitiatedShutdownBehavior: 'terminate', DisableApiTermination: true });
  await waitForState(stops, 'stopped');
  await waitForState(terminates, 'terminated');
  for (const id of [stops, terminates]) {
    assert.deepEqual((await describeOne(ec2, id)).StateReason, {
      Code: 'Client.InstanceInitiatedShutdown',
      Message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown',
    });
  }
});

test('ModifyInstanceAttribute groupSet and sourceDestCheck: the primary interface changes on a live instance', async () => {
  const id = await runningInstance();
  const vpcId = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.VpcId!;
  const made = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `web-${id}`, Description: 'web', VpcId: vpcId }));
  await modify(id, { Groups: [made.GroupId!] });
  const view = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
  assert.deepEqual(view.SecurityGroups, [{ GroupId: made.GroupId, GroupName: `web-${id}` }]);
  assert.deepEqual(view.NetworkInterfaces![0]!.Groups, view.SecurityGroups);
  const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'groupSet' }));
  assert.deepEqual(attr.Groups, view.SecurityGroups);
  // A group in use cannot be deleted.
  assert.equal((await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: made.GroupId! })))).code, 'DependencyViolation');
  const unknown = await errorOf(modify(id, { Groups: ['sg-0123456789abcdef0'] }));
  assert.equal(unknown.code, 'InvalidGroup.NotFound');
  assert.match(unknown.message, /sg-0123456789abcdef0/);
  assert.equal((await errorOf(modify(id, { Groups: ['nope'] }))).code, 'InvalidGroupId.Malformed');
  const otherVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.99.0.0/16' }))).Vpc!.VpcId!;
  const foreign = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `other-${id}`, Description: 'x', VpcId: otherVpc }));
  assert.equal((await errorOf(modify(id, { Groups: [foreign.GroupId!] }))).code, 'InvalidParameter');
  assert.equal((await errorOf(modify(id, { Groups: [made.GroupId!], DryRun: true }))).code, 'DryRunOperation');

  await modify(id, { SourceDestCheck: { Value: false } });
  const after = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
  assert.equal(after.SourceDestCheck, false);
  assert.equal(after.NetworkInterfaces![0]!.SourceDestCheck, false);
  assert.equal((await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'sourceDestCheck' }))).SourceDestCheck!.Value, false);
  await modify(id, { Attribute: 'sourceDestCheck', Value: 'true' });
  assert.equal((await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.SourceDestCheck, true);
});
