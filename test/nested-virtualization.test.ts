/**
 * Nested virtualization (spec §2.2, R1–R11) through the real AWS SDK: CpuOptions at launch,
 * ModifyInstanceCpuOptions, hibernation, the catalog profiles, DescribeInstanceTypes and
 * DescribeImages. Every refusal is checked for its code, its HTTP status, a message naming the bad
 * value, and for having created or changed nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type CpuOptionsRequest,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  type DescribeInstanceTypesCommandInput,
  DescribeInstancesCommand,
  type EC2Client,
  GetConsoleOutputCommand,
  type InstanceTypeInfo,
  type _InstanceType,
  ModifyInstanceCpuOptionsCommand,
  type NestedVirtualizationSpecification,
  RebootInstancesCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  ARM_AMI,
  LINUX_AMI,
  WINDOWS_AMI,
  type TestServer,
  describeOne,
  errorOf,
  eventually,
  launch,
  launchOne,
  startTestServer,
} from './helpers.js';

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
const nv = (v: string) => ({ NestedVirtualization: v as NestedVirtualizationSpecification });

async function countInstances(client: EC2Client): Promise<number> {
  const r = await client.send(new DescribeInstancesCommand({}));
  return (r.Reservations ?? []).flatMap((res) => res.Instances ?? []).length;
}

function waitForState(client: EC2Client, id: string, state: string): Promise<true> {
  return eventually(
    async () => ((await describeOne(client, id)).State?.Name === state ? true : undefined),
    5000,
    `${id} ${state}`,
  );
}

/** A stopped instance, a c8i.large unless `params` name another type. */
async function stoppedInstance(client: EC2Client, params: Params = {}): Promise<string> {
  const id = (await launchOne(client, { InstanceType: 'c8i.large', ...params })).InstanceId!;
  await waitForState(client, id, 'running');
  await client.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(client, id, 'stopped');
  return id;
}

/**
 * A RunInstances (of a c8i.large unless `params` name another type) that must be refused with `code`
 * (HTTP 400), with a message that contains every string in `names`, and that must launch nothing.
 */
async function refusedLaunch(client: EC2Client, params: Params, code: string, ...names: string[]): Promise<string> {
  const before = await countInstances(client);
  const e = await errorOf(launch(client, { InstanceType: 'c8i.large', ...params }));
  assert.equal(e.code, code, e.message);
  assert.equal(e.status, 400);
  for (const n of names) assert.ok(e.message.includes(n), `'${e.message}' should name ${n}`);
  assert.equal(await countInstances(client), before, 'a refused RunInstances launched something');
  return e.message;
}

/** A ModifyInstanceCpuOptions that must be refused and leave the instance's CpuOptions as they were. */
async function refusedModify(
  client: EC2Client,
  id: string,
  options: { CoreCount?: number; ThreadsPerCore?: number; NestedVirtualization?: string },
  code: string,
  ...names: string[]
): Promise<string> {
  const before = await describeOne(client, id);
  const e = await errorOf(
    client.send(
      new ModifyInstanceCpuOptionsCommand({
        InstanceId: id,
        ...options,
        NestedVirtualization: options.NestedVirtualization as NestedVirtualizationSpecification | undefined,
      }),
    ),
  );
  assert.equal(e.code, code, e.message);
  assert.equal(e.status, 400);
  for (const n of names) assert.ok(e.message.includes(n), `'${e.message}' should name ${n}`);
  const afterwards = await describeOne(client, id);
  assert.deepEqual(afterwards.CpuOptions, before.CpuOptions, 'a refused modify changed the CPU options');
  // A state in transition (pending, stopping) may move on by itself meanwhile; a settled one must not.
  if (!['pending', 'stopping', 'shutting-down'].includes(before.State?.Name ?? '')) assert.deepEqual(afterwards.State, before.State);
  return e.message;
}

async function allTypes(client: EC2Client, input: DescribeInstanceTypesCommandInput): Promise<{ types: InstanceTypeInfo[]; pages: number[] }> {
  const types: InstanceTypeInfo[] = [];
  const pages: number[] = [];
  let token: string | undefined;
  do {
    const r = await client.send(new DescribeInstanceTypesCommand({ ...input, NextToken: token }));
    pages.push(r.InstanceTypes?.length ?? 0);
    types.push(...(r.InstanceTypes ?? []));
    token = r.NextToken;
  } while (token && pages.length < 50);
  return { types, pages };
}

const typeNames = (types: readonly InstanceTypeInfo[]) => types.map((t) => t.InstanceType as string).sort();

const LAUNCH_FAMILIES = ['c8i', 'c8i-flex', 'm8i', 'm8i-flex', 'r8i', 'r8i-flex'];
const SIZES_8I = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', '48xlarge', '96xlarge'];
const SIZES_FLEX = SIZES_8I.slice(0, 7);
const LAUNCH_NV_TYPES = LAUNCH_FAMILIES.flatMap((f) =>
  (f.endsWith('-flex') ? SIZES_FLEX : SIZES_8I).map((s) => `${f}.${s}`),
).sort();

// --- R1: the value ----------------------------------------------------------------------------------

test('R1: NestedVirtualization other than enabled/disabled → InvalidParameterValue naming the value', async () => {
  for (const bad of ['on', 'Enabled', 'true', '']) {
    const msg = await refusedLaunch(ec2, { CpuOptions: nv(bad) }, 'InvalidParameterValue', `(${bad})`);
    assert.match(msg, /nestedVirtualization/i);
  }
  // the message the spec proposes, word for word
  assert.equal(
    await refusedLaunch(ec2, { CpuOptions: nv('foo') }, 'InvalidParameterValue'),
    'Value (foo) for parameter cpuOptions.nestedVirtualization is invalid. Valid values: enabled, disabled.',
  );
  const id = await stoppedInstance(ec2);
  await refusedModify(ec2, id, { NestedVirtualization: 'yes' }, 'InvalidParameterValue', '(yes)');
});

// --- R2: type capability ----------------------------------------------------------------------------

test('R2: enabled on a type without the feature → UnsupportedOperation naming the type', async () => {
  await refusedLaunch(ec2, { InstanceType: 'm6i.large', CpuOptions: nv('enabled') }, 'UnsupportedOperation', 'm6i.large');
  await refusedLaunch(ec2, { InstanceType: 't3.micro', CpuOptions: nv('enabled') }, 'UnsupportedOperation', 't3.micro');
  await refusedLaunch(ec2, { InstanceType: 'm7i.large', CpuOptions: nv('enabled') }, 'UnsupportedOperation', 'm7i.large');
  await refusedLaunch(
    ec2,
    { ImageId: ARM_AMI, InstanceType: 'c7g.large', CpuOptions: nv('enabled') },
    'UnsupportedOperation',
    'c7g.large',
  );
  // `disabled` is no capability: accepted on a type without the feature, and shown as set
  const i = await launchOne(ec2, { InstanceType: 'm6i.large', CpuOptions: nv('disabled') });
  assert.deepEqual((await describeOne(ec2, i.InstanceId!)).CpuOptions, {
    CoreCount: 1,
    ThreadsPerCore: 2,
    NestedVirtualization: 'disabled',
  });
  // and enabling it later by Modify is refused the same way
  const id = await stoppedInstance(ec2, { InstanceType: 'm6i.large' });
  await refusedModify(ec2, id, { NestedVirtualization: 'enabled' }, 'UnsupportedOperation', 'm6i.large');
});

test('R2: every launch type accepts enabled (c8i, m8i, r8i and flex, smallest and largest)', async () => {
  for (const type of ['c8i.large', 'm8i-flex.large', 'r8i.xlarge', 'c8i-flex.16xlarge', 'r8i.96xlarge']) {
    const i = await launchOne(ec2, { InstanceType: type as _InstanceType, CpuOptions: nv('enabled') });
    assert.equal(i.CpuOptions?.NestedVirtualization, 'enabled', type);
  }
});

test('R8: AmdSevSnp and NV together are impossible; the NV rule answers first', async () => {
  const msg = await refusedLaunch(
    ec2,
    { InstanceType: 'm6a.large', CpuOptions: { AmdSevSnp: 'enabled', NestedVirtualization: 'enabled' } },
    'UnsupportedOperation',
    'm6a.large',
  );
  assert.match(msg, /nested virtualization/);
  await refusedLaunch(ec2, { InstanceType: 'm8i.large', CpuOptions: { AmdSevSnp: 'enabled' } }, 'UnsupportedOperation', 'm8i.large');
  // each alone, where supported
  const sev = await launchOne(ec2, { InstanceType: 'm6a.large', CpuOptions: { AmdSevSnp: 'enabled' } });
  assert.deepEqual((await describeOne(ec2, sev.InstanceId!)).CpuOptions, { CoreCount: 1, ThreadsPerCore: 2, AmdSevSnp: 'enabled' });
});

// --- R3: bare metal ---------------------------------------------------------------------------------

test('R3: any CpuOptions on bare metal → UnsupportedOperation naming the type', async () => {
  for (const options of [
    nv('enabled'),
    nv('disabled'),
    { CoreCount: 48, ThreadsPerCore: 2 },
  ] as CpuOptionsRequest[]) {
    await refusedLaunch(ec2, { InstanceType: 'c8i.metal-48xl', CpuOptions: options }, 'UnsupportedOperation', 'c8i.metal-48xl');
  }
  // without CpuOptions metal launches, and shows its defaults without the key
  const metal = await launchOne(ec2, { InstanceType: 'c8i.metal-48xl' });
  assert.deepEqual((await describeOne(ec2, metal.InstanceId!)).CpuOptions, { CoreCount: 96, ThreadsPerCore: 2 });
  await waitForState(ec2, metal.InstanceId!, 'running');
  await ec2.send(new StopInstancesCommand({ InstanceIds: [metal.InstanceId!] }));
  await waitForState(ec2, metal.InstanceId!, 'stopped');
  await refusedModify(ec2, metal.InstanceId!, { NestedVirtualization: 'enabled' }, 'UnsupportedOperation', 'c8i.metal-48xl');
});

// --- cores and threads (R6, R7) ---------------------------------------------------------------------

test('CoreCount/ThreadsPerCore outside ValidCores/ValidThreadsPerCore → InvalidParameterValue naming the value', async () => {
  // c8i.24xlarge: ValidCores 4..48 step 2
  await refusedLaunch(
    ec2,
    { InstanceType: 'c8i.24xlarge', CpuOptions: { CoreCount: 5, ThreadsPerCore: 2 } },
    'InvalidParameterValue',
    '5',
    'c8i.24xlarge',
  );
  await refusedLaunch(
    ec2,
    { InstanceType: 'c8i.24xlarge', CpuOptions: { CoreCount: 50, ThreadsPerCore: 2 } },
    'InvalidParameterValue',
    '50',
  );
  await refusedLaunch(
    ec2,
    { InstanceType: 'c8i.2xlarge', CpuOptions: { CoreCount: 2, ThreadsPerCore: 3 } },
    'InvalidParameterValue',
    '(3)',
  );
  await refusedLaunch(
    ec2,
    { InstanceType: 'c8i.2xlarge', CpuOptions: { CoreCount: 0, ThreadsPerCore: 2 } },
    'InvalidParameterValue',
    '(0)',
  );
  // in range works, together with NV (R6: the combination is allowed)
  const ok = await launchOne(ec2, {
    InstanceType: 'c8i.24xlarge',
    CpuOptions: { CoreCount: 6, ThreadsPerCore: 1, NestedVirtualization: 'enabled' },
  });
  assert.deepEqual((await describeOne(ec2, ok.InstanceId!)).CpuOptions, {
    CoreCount: 6,
    ThreadsPerCore: 1,
    NestedVirtualization: 'enabled',
  });
  const id = await stoppedInstance(ec2, { InstanceType: 'c8i.2xlarge' });
  await refusedModify(ec2, id, { CoreCount: 5, ThreadsPerCore: 2 }, 'InvalidParameterValue', '5');
  await refusedModify(ec2, id, { CoreCount: 4, ThreadsPerCore: 4 }, 'InvalidParameterValue', '(4)');
});

test('R7: only one of CoreCount/ThreadsPerCore → InvalidParameterCombination', async () => {
  await refusedLaunch(ec2, { InstanceType: 'c8i.2xlarge', CpuOptions: { CoreCount: 2 } }, 'InvalidParameterCombination');
  await refusedLaunch(ec2, { InstanceType: 'c8i.2xlarge', CpuOptions: { ThreadsPerCore: 1 } }, 'InvalidParameterCombination');
  await refusedLaunch(
    ec2,
    { InstanceType: 'c8i.2xlarge', CpuOptions: { ThreadsPerCore: 1, NestedVirtualization: 'enabled' } },
    'InvalidParameterCombination',
  );
  const id = await stoppedInstance(ec2, { InstanceType: 'c8i.2xlarge' });
  await refusedModify(ec2, id, { CoreCount: 2 }, 'InvalidParameterCombination');
  await refusedModify(ec2, id, { ThreadsPerCore: 1, NestedVirtualization: 'enabled' }, 'InvalidParameterCombination');
});

// --- what DescribeInstances shows -------------------------------------------------------------------

test('CpuOptions: the type defaults and no NestedVirtualization key when never set; enabled when launched with it', async () => {
  const plain = await launchOne(ec2, { InstanceType: 'm8i.4xlarge' });
  assert.deepEqual(plain.CpuOptions, { CoreCount: 8, ThreadsPerCore: 2 });
  const d = await describeOne(ec2, plain.InstanceId!);
  assert.deepEqual(d.CpuOptions, { CoreCount: 8, ThreadsPerCore: 2 });
  assert.ok(!('NestedVirtualization' in (d.CpuOptions ?? {})));

  const t3 = await describeOne(ec2, (await launchOne(ec2, { InstanceType: 't3.micro' })).InstanceId!);
  assert.deepEqual(t3.CpuOptions, { CoreCount: 1, ThreadsPerCore: 2 });
  const graviton = await describeOne(ec2, (await launchOne(ec2, { ImageId: ARM_AMI, InstanceType: 'c7g.xlarge' })).InstanceId!);
  assert.deepEqual(graviton.CpuOptions, { CoreCount: 4, ThreadsPerCore: 1 });

  const on = await launchOne(ec2, { InstanceType: 'r8i-flex.large', CpuOptions: nv('enabled') });
  assert.deepEqual(on.CpuOptions, { CoreCount: 1, ThreadsPerCore: 2, NestedVirtualization: 'enabled' });
  assert.deepEqual((await describeOne(ec2, on.InstanceId!)).CpuOptions, {
    CoreCount: 1,
    ThreadsPerCore: 2,
    NestedVirtualization: 'enabled',
  });
  // the guest sees the extension
  await waitForState(ec2, on.InstanceId!, 'running');
  const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: on.InstanceId! }));
  assert.match(Buffer.from(out.Output ?? '', 'base64').toString(), /virtualization extension: vmx/);
});

// --- R4/R5: ModifyInstanceCpuOptions ----------------------------------------------------------------

test('R4: ModifyInstanceCpuOptions only when stopped, with the exact message', async () => {
  const i = await launchOne(ec2, { InstanceType: 'c8i.xlarge' });
  const id = i.InstanceId!;
  // pending
  await refusedModify(ec2, id, { NestedVirtualization: 'enabled' }, 'IncorrectInstanceState');
  await waitForState(ec2, id, 'running');
  const msg = await refusedModify(ec2, id, { NestedVirtualization: 'enabled' }, 'IncorrectInstanceState');
  assert.equal(msg, `The instance '${id}' is not in the 'stopped' state.`);
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'stopped');
  const r = await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: id, NestedVirtualization: 'enabled' }));
  assert.equal(r.InstanceId, id);
  assert.equal(r.NestedVirtualization, 'enabled');
  assert.equal(r.CoreCount, 2);
  assert.equal(r.ThreadsPerCore, 2);
  // idempotent: enabling again succeeds
  const again = await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: id, NestedVirtualization: 'enabled' }));
  assert.equal(again.NestedVirtualization, 'enabled');
  // unknown and malformed IDs
  const missing = await errorOf(
    ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: 'i-0123456789abcdef0', NestedVirtualization: 'enabled' })),
  );
  assert.equal(missing.code, 'InvalidInstanceID.NotFound');
  assert.ok(missing.message.includes('i-0123456789abcdef0'));
  const malformed = await errorOf(
    ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: 'i-nope', NestedVirtualization: 'enabled' })),
  );
  assert.equal(malformed.code, 'InvalidInstanceID.Malformed');
});

test('Modify: changing only NestedVirtualization keeps cores and threads; CoreCount 4 ThreadsPerCore 2 on c8i.2xlarge', async () => {
  const id = await stoppedInstance(ec2, { InstanceType: 'c8i.2xlarge', CpuOptions: { CoreCount: 2, ThreadsPerCore: 1 } });
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, { CoreCount: 2, ThreadsPerCore: 1 });

  const r = await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: id, NestedVirtualization: 'enabled' }));
  assert.deepEqual(
    { InstanceId: r.InstanceId, CoreCount: r.CoreCount, ThreadsPerCore: r.ThreadsPerCore, NestedVirtualization: r.NestedVirtualization },
    { InstanceId: id, CoreCount: 2, ThreadsPerCore: 1, NestedVirtualization: 'enabled' },
  );
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, { CoreCount: 2, ThreadsPerCore: 1, NestedVirtualization: 'enabled' });

  // cores and threads alone keep NV
  const r2 = await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: id, CoreCount: 4, ThreadsPerCore: 2 }));
  assert.equal(r2.CoreCount, 4);
  assert.equal(r2.ThreadsPerCore, 2);
  assert.equal(r2.NestedVirtualization, 'enabled');
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, { CoreCount: 4, ThreadsPerCore: 2, NestedVirtualization: 'enabled' });

  // an explicit disable is shown as disabled
  const r3 = await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: id, NestedVirtualization: 'disabled' }));
  assert.equal(r3.NestedVirtualization, 'disabled');
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, { CoreCount: 4, ThreadsPerCore: 2, NestedVirtualization: 'disabled' });

  // all three at once
  await ec2.send(
    new ModifyInstanceCpuOptionsCommand({ InstanceId: id, CoreCount: 3, ThreadsPerCore: 2, NestedVirtualization: 'enabled' }),
  );
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, { CoreCount: 3, ThreadsPerCore: 2, NestedVirtualization: 'enabled' });
  // the new topology reaches the VM on the next start
  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'running');
  const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
  const text = Buffer.from(out.Output ?? '', 'base64').toString();
  assert.match(text, /3 cores x 2 threads, virtualization extension: vmx/);
});

test('R5: the setting survives stop, start and reboot', async () => {
  const id = await stoppedInstance(ec2, { InstanceType: 'm8i.xlarge' });
  await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: id, NestedVirtualization: 'enabled' }));
  const expected = { CoreCount: 2, ThreadsPerCore: 2, NestedVirtualization: 'enabled' };
  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'running');
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, expected);
  await ec2.send(new RebootInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, expected);
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'stopped');
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, expected);
  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'running');
  assert.deepEqual((await describeOne(ec2, id)).CpuOptions, expected);
  const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
  const text = Buffer.from(out.Output ?? '', 'base64').toString();
  // the console keeps every boot: the first (before Modify) without the extension, every later one with it
  const boots = [...text.matchAll(/virtualization extension: (\w+)/g)].map((m) => m[1]);
  assert.deepEqual(boots, ['none', 'vmx', 'vmx', 'vmx']);
});

// --- R11: Windows over 192 vCPUs --------------------------------------------------------------------

test('R11: Windows with NV is refused above 192 vCPUs (m8i.96xlarge), Linux there and Windows on m8i.48xlarge are fine', async () => {
  await refusedLaunch(
    ec2,
    { ImageId: WINDOWS_AMI, InstanceType: 'm8i.96xlarge', CpuOptions: nv('enabled') },
    'UnsupportedOperation',
    'm8i.96xlarge',
    '192',
  );
  const linux = await launchOne(ec2, { InstanceType: 'm8i.96xlarge', CpuOptions: nv('enabled') });
  assert.equal(linux.CpuOptions?.NestedVirtualization, 'enabled');
  const win48 = await launchOne(ec2, { ImageId: WINDOWS_AMI, InstanceType: 'm8i.48xlarge', CpuOptions: nv('enabled') });
  assert.equal(win48.CpuOptions?.NestedVirtualization, 'enabled');
  assert.equal(win48.Platform, 'windows');
  // Windows on m8i.96xlarge without NV is fine, but enabling it later is refused
  const win96 = await stoppedInstance(ec2, { ImageId: WINDOWS_AMI, InstanceType: 'm8i.96xlarge' });
  await refusedModify(ec2, win96, { NestedVirtualization: 'enabled' }, 'UnsupportedOperation', 'm8i.96xlarge');
});

// --- R10: hibernation -------------------------------------------------------------------------------

test('hibernation: refused with NV at launch, by Modify, by Stop Hibernate=true, and on types without it', async () => {
  await refusedLaunch(
    ec2,
    { InstanceType: 'm8i.large', HibernationOptions: { Configured: true }, CpuOptions: nv('enabled') },
    'UnsupportedHibernationConfiguration',
  );
  await refusedLaunch(
    ec2,
    { ImageId: WINDOWS_AMI, InstanceType: 'm8i.large', HibernationOptions: { Configured: true }, CpuOptions: nv('enabled') },
    'UnsupportedHibernationConfiguration',
  );
  // m8i.12xlarge has 192 GiB: no hibernation at all
  await refusedLaunch(
    ec2,
    { InstanceType: 'm8i.12xlarge', HibernationOptions: { Configured: true } },
    'UnsupportedHibernationConfiguration',
    'm8i.12xlarge',
  );
  await refusedLaunch(
    ec2,
    { InstanceType: 'c8i.metal-48xl', HibernationOptions: { Configured: true } },
    'UnsupportedHibernationConfiguration',
    'c8i.metal-48xl',
  );

  // a hibernation-configured instance may not get NV by Modify
  const hib = await launchOne(ec2, { InstanceType: 'm8i.large', HibernationOptions: { Configured: true } });
  assert.equal(hib.HibernationOptions?.Configured, true);
  await waitForState(ec2, hib.InstanceId!, 'running');
  await ec2.send(new StopInstancesCommand({ InstanceIds: [hib.InstanceId!], Hibernate: true }));
  const stopping = await describeOne(ec2, hib.InstanceId!);
  assert.equal(stopping.StateReason?.Code, 'Client.UserInitiatedHibernate');
  await waitForState(ec2, hib.InstanceId!, 'stopped');
  await refusedModify(ec2, hib.InstanceId!, { NestedVirtualization: 'enabled' }, 'UnsupportedHibernationConfiguration');
  // disabling is fine
  const off = await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: hib.InstanceId!, NestedVirtualization: 'disabled' }));
  assert.equal(off.NestedVirtualization, 'disabled');

  // Stop Hibernate=true on an NV instance is refused and leaves it running
  const nested = await launchOne(ec2, { InstanceType: 'm8i.large', CpuOptions: nv('enabled') });
  await waitForState(ec2, nested.InstanceId!, 'running');
  const e = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [nested.InstanceId!], Hibernate: true })));
  assert.equal(e.code, 'UnsupportedHibernationConfiguration');
  assert.equal(e.status, 400);
  assert.match(e.message, /nested virtualization/i);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal((await describeOne(ec2, nested.InstanceId!)).State?.Name, 'running');

  // and on an instance not configured for hibernation
  const plain = await launchOne(ec2, { InstanceType: 'm8i.large' });
  await waitForState(ec2, plain.InstanceId!, 'running');
  const e2 = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [plain.InstanceId!], Hibernate: true })));
  assert.equal(e2.code, 'UnsupportedHibernationConfiguration');
  assert.ok(e2.message.includes(plain.InstanceId!));
  assert.equal((await describeOne(ec2, plain.InstanceId!)).State?.Name, 'running');
});

// --- profiles ---------------------------------------------------------------------------------------

test('catalog profiles: 2026-07 lets m7i.large enable NV, launch-2026-02 refuses it', async () => {
  await refusedLaunch(ec2, { InstanceType: 'm7i.large', CpuOptions: nv('enabled') }, 'UnsupportedOperation', 'm7i.large');
  const later = await startTestServer({ catalog: '2026-07' });
  try {
    const c = later.client();
    const i = await launchOne(c, { InstanceType: 'm7i.large', CpuOptions: nv('enabled') });
    assert.deepEqual((await describeOne(c, i.InstanceId!)).CpuOptions, {
      CoreCount: 1,
      ThreadsPerCore: 2,
      NestedVirtualization: 'enabled',
    });
    // the feature list follows the profile
    const { types } = await allTypes(c, {
      Filters: [{ Name: 'processor-info.supported-features', Values: ['nested-virtualization'] }],
    });
    assert.equal(types.length, 166);
    assert.ok(typeNames(types).includes('m7i.large'));
    assert.ok(typeNames(types).includes('x8i.64xlarge'));
    // still refused where the feature is missing
    await refusedLaunch(c, { InstanceType: 'm6i.large', CpuOptions: nv('enabled') }, 'UnsupportedOperation', 'm6i.large');
  } finally {
    await later.close();
  }
});

// --- DescribeInstanceTypes --------------------------------------------------------------------------

test('DescribeInstanceTypes: supported-features=nested-virtualization gives exactly the 54 launch types, across pages', async () => {
  const filter = [{ Name: 'processor-info.supported-features', Values: ['nested-virtualization'] }];
  const { types, pages } = await allTypes(ec2, { Filters: filter });
  assert.equal(types.length, 54);
  assert.deepEqual(pages, [54]);
  assert.deepEqual(typeNames(types), LAUNCH_NV_TYPES);
  for (const t of types) {
    assert.ok(t.ProcessorInfo?.SupportedFeatures?.includes('nested-virtualization'));
    assert.equal(t.BareMetal, false);
    assert.equal(t.ProcessorInfo?.Manufacturer, 'Intel');
  }
  // paged: every type once
  const paged = await allTypes(ec2, { Filters: filter, MaxResults: 20 });
  assert.deepEqual(paged.pages, [20, 20, 14]);
  assert.deepEqual(typeNames(paged.types), LAUNCH_NV_TYPES);
  // without filters the default page is at most 100
  const everything = await allTypes(ec2, {});
  assert.ok(everything.pages.length > 1);
  assert.ok(everything.pages.every((n) => n <= 100));
  assert.equal(new Set(typeNames(everything.types)).size, everything.types.length);
  assert.ok(typeNames(everything.types).includes('m6i.large'));
  const nonNested = everything.types.filter((t) => !t.ProcessorInfo?.SupportedFeatures?.includes('nested-virtualization'));
  assert.equal(nonNested.length, everything.types.length - 54);
  // bad page sizes
  for (const max of [4, 101]) {
    const e = await errorOf(ec2.send(new DescribeInstanceTypesCommand({ MaxResults: max })));
    assert.equal(e.code, 'InvalidParameterValue');
    assert.ok(e.message.includes(`(${max})`));
  }
  const token = await errorOf(ec2.send(new DescribeInstanceTypesCommand({ NextToken: 'bogus' })));
  assert.equal(token.code, 'InvalidNextToken');
});

test('DescribeInstanceTypes: instance-type wildcards, bare-metal, vcpus, memory, hibernation, generation', async () => {
  const q = async (...filters: [string, string[]][]) =>
    typeNames((await allTypes(ec2, { Filters: filters.map(([Name, Values]) => ({ Name, Values })) })).types);

  const c8i = await q(['instance-type', ['c8i.*']]);
  assert.equal(c8i.length, 13);
  assert.ok(c8i.every((t) => t.startsWith('c8i.')), 'c8i.* must not match c8i-flex or c8id');
  assert.ok(c8i.includes('c8i.metal-96xl'));
  assert.deepEqual(await q(['instance-type', ['c8i.?xlarge']]), ['c8i.2xlarge', 'c8i.4xlarge', 'c8i.8xlarge']);

  const metal = await q(['bare-metal', ['true']], ['instance-type', ['c8i.*', 'm8i.*', 'r8i.*']]);
  assert.deepEqual(metal, [
    'c8i.metal-48xl', 'c8i.metal-96xl', 'm8i.metal-48xl', 'm8i.metal-96xl', 'r8i.metal-48xl', 'r8i.metal-96xl',
  ]);
  const allMetal = (await allTypes(ec2, { Filters: [{ Name: 'bare-metal', Values: ['true'] }] })).types;
  assert.ok(allMetal.length > 6);
  for (const t of allMetal) {
    assert.equal(t.BareMetal, true);
    assert.equal(t.VCpuInfo?.ValidCores, undefined);
    assert.equal(t.ProcessorInfo?.SupportedFeatures?.includes('nested-virtualization') ?? false, false);
  }

  assert.deepEqual(
    await q(['vcpu-info.default-vcpus', ['384']], ['instance-type', ['m8i.*']]),
    ['m8i.96xlarge', 'm8i.metal-96xl'],
  );
  assert.deepEqual(
    await q(['memory-info.size-in-mib', ['4096']], ['processor-info.supported-features', ['nested-virtualization']]),
    ['c8i-flex.large', 'c8i.large'],
  );
  // hibernation: only below 150 GiB of memory among the NV types
  const hib = (await allTypes(ec2, {
    Filters: [
      { Name: 'hibernation-supported', Values: ['true'] },
      { Name: 'processor-info.supported-features', Values: ['nested-virtualization'] },
    ],
  })).types;
  assert.ok(hib.length > 0 && hib.length < 54);
  for (const t of hib) assert.ok((t.MemoryInfo?.SizeInMiB ?? Infinity) < 150 * 1024, t.InstanceType);
  assert.ok(typeNames(hib).includes('m8i.large'));
  assert.ok(!typeNames(hib).includes('m8i.12xlarge'));

  // previous generations (moto 5.2.1): m1 … m6i, not m7i/m8i
  const old = await q(['current-generation', ['false']], ['instance-type', ['m*']]);
  assert.ok(old.includes('m1.small') && old.includes('m6i.large'), old.join());
  assert.ok(!old.some((t) => /^m[78]/.test(t)), old.join());
  assert.ok(!(await q(['current-generation', ['true']])).some((t) => t.startsWith('m6i.')));

  const unknownFilter = await errorOf(
    ec2.send(new DescribeInstanceTypesCommand({ Filters: [{ Name: 'nested', Values: ['true'] }] })),
  );
  assert.equal(unknownFilter.code, 'InvalidParameterValue');
  assert.ok(unknownFilter.message.includes('nested'));
});

test('DescribeInstanceTypes by name; unknown type → InvalidInstanceType naming it', async () => {
  const r = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m8i.large', 'm6i.large'] }));
  const byName = Object.fromEntries((r.InstanceTypes ?? []).map((t) => [t.InstanceType, t]));
  assert.deepEqual(byName['m8i.large']?.ProcessorInfo?.SupportedFeatures, ['nested-virtualization']);
  assert.equal(byName['m6i.large']?.ProcessorInfo?.SupportedFeatures, undefined);
  assert.equal(byName['m8i.large']?.VCpuInfo?.DefaultVCpus, 2);
  assert.equal(byName['m8i.large']?.MemoryInfo?.SizeInMiB, 8192);
  const e = await errorOf(
    ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m8i.large', 'q9.mega' as _InstanceType] })),
  );
  assert.equal(e.code, 'InvalidInstanceType');
  assert.equal(e.status, 400);
  assert.ok(e.message.includes('q9.mega'));
  assert.ok(!e.message.includes('m8i.large'));
});

// --- DescribeImages ---------------------------------------------------------------------------------

test('DescribeImages: the Windows image has Platform windows; unknown and malformed IDs fail', async () => {
  const all = await ec2.send(new DescribeImagesCommand({}));
  const ids = new Set((all.Images ?? []).map((i) => i.ImageId));
  // Every public image is listed (test/images.test.ts checks the others); nestbox's four are among them.
  for (const id of [LINUX_AMI, ARM_AMI, WINDOWS_AMI, 'ami-0b5e4a1f2c3d40004']) assert.ok(ids.has(id), id);
  const win = await ec2.send(new DescribeImagesCommand({ ImageIds: [WINDOWS_AMI] }));
  assert.equal(win.Images?.length, 1);
  assert.equal(win.Images?.[0]?.Platform, 'windows');
  assert.equal(win.Images?.[0]?.PlatformDetails, 'Windows');
  const linux = await ec2.send(new DescribeImagesCommand({ ImageIds: [LINUX_AMI] }));
  assert.equal(linux.Images?.[0]?.Platform, undefined);
  const nestboxFour = { ImageIds: [LINUX_AMI, ARM_AMI, WINDOWS_AMI, 'ami-0b5e4a1f2c3d40004'] };
  const filtered = await ec2.send(new DescribeImagesCommand({ ...nestboxFour, Filters: [{ Name: 'platform', Values: ['windows'] }] }));
  assert.deepEqual(filtered.Images?.map((i) => i.ImageId), [WINDOWS_AMI]);
  const arm = await ec2.send(new DescribeImagesCommand({ ...nestboxFour, Filters: [{ Name: 'architecture', Values: ['arm64'] }] }));
  assert.deepEqual(arm.Images?.map((i) => i.ImageId), [ARM_AMI]);

  const unknown = await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0'] })));
  assert.equal(unknown.code, 'InvalidAMIID.NotFound');
  assert.equal(unknown.status, 400);
  assert.ok(unknown.message.includes('ami-0123456789abcdef0'));
  const malformed = await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-12'] })));
  assert.equal(malformed.code, 'InvalidAMIID.Malformed');
  assert.ok(malformed.message.includes('ami-12'));

  // a Windows instance reports the platform
  const i = await launchOne(ec2, { ImageId: WINDOWS_AMI, InstanceType: 'm8i.large' });
  const d = await describeOne(ec2, i.InstanceId!);
  assert.equal(d.Platform, 'windows');
  assert.equal(d.PlatformDetails, 'Windows');
});

test('Windows with nested virtualization: Virtual Secure Mode is off (Credential Guard unavailable); without it, on', async () => {
  const vsm = async (nested: 'enabled' | undefined) => {
    const i = await launchOne(ec2, { ImageId: WINDOWS_AMI, InstanceType: 'r8i.4xlarge', ...(nested ? { CpuOptions: nv(nested) } : {}) });
    await waitForState(ec2, i.InstanceId!, 'running');
    const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: i.InstanceId! }));
    return Buffer.from(out.Output ?? '', 'base64').toString();
  };
  const [withNested, without] = await Promise.all([vsm('enabled'), vsm(undefined)]);
  assert.match(withNested, /^Virtual Secure Mode: disabled \(nested virtualization is enabled; Credential Guard is unavailable\)$/m);
  assert.match(without, /^Virtual Secure Mode: enabled$/m);
});
