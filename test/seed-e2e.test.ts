/**
 * Every command of the seed document, in its order, through the installed AWS CLI v1 — verbatim but for
 * `--endpoint-url` and real IDs (the seed's `ami-0abcdef1234567890` and `ami-windows-server-2022` are
 * placeholders; its `i-1234567890abcdef0` is "an existing instance", launched here first). What the
 * seed presupposes (key pairs, a Dedicated Host for `Tenancy=host`) is made with the CLI too.
 * Skipped only when `aws` is not on PATH.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AwsCli, awsCli, awsMissing } from './aws-cli.js';
import { LINUX_AMI, WINDOWS_AMI, type TestServer, startTestServer } from './helpers.js';

describe('the seed document, command by command, with the AWS CLI', { skip: awsMissing() }, () => {
  let server: TestServer;
  let cli: AwsCli;
  const launched: Record<string, string> = {};

  before(async () => {
    // Simulated VMs: the seed's sizes (up to c8i.8xlarge) are about the API, not this machine's cores.
    server = await startTestServer({ driver: 'simulated', simulatedDelayMs: 50 });
    cli = awsCli(server.endpoint);
  });
  after(async () => {
    cli?.close();
    await server?.close();
  });

  test('prerequisites: the key pairs the seed names, a Dedicated Host for r8i, and an existing instance', async () => {
    for (const name of ['my-key-pair', 'dev-key-pair', 'simulation-key', 'windows-key']) {
      const key = await cli.ec2Json('create-key-pair', '--key-name', name);
      assert.match(key.KeyMaterial, /^-----BEGIN RSA PRIVATE KEY-----/);
    }
    const hosts = await cli.ec2Json(
      'allocate-hosts', '--instance-family', 'r8i', '--availability-zone', 'us-east-1a', '--auto-placement', 'on', '--quantity', '1',
    );
    assert.equal(hosts.HostIds.length, 1);
    launched.host = hosts.HostIds[0];
    const existing = await cli.ec2Json('run-instances', '--image-id', LINUX_AMI, '--instance-type', 'c8i.4xlarge');
    launched.existing = existing.Instances[0].InstanceId;
    assert.equal(existing.Instances[0].CpuOptions.NestedVirtualization, undefined);
  });

  test('run-instances r8i.4xlarge with nested virtualization on a Dedicated Host (--placement "Tenancy=host")', async () => {
    // biome-ignore format: the seed's command, line by line
    const res = await cli.ec2Json('run-instances',
      '--image-id', LINUX_AMI,
      '--instance-type', 'r8i.4xlarge',
      '--cpu-options', 'NestedVirtualization=enabled',
      '--key-name', 'my-key-pair',
      '--placement', 'Tenancy=host');
    const inst = res.Instances[0];
    launched.onHost = inst.InstanceId;
    assert.equal(inst.Placement.Tenancy, 'host');
    assert.equal(inst.Placement.HostId, launched.host, 'auto-placement chose the r8i host');
    assert.equal(inst.CpuOptions.NestedVirtualization, 'enabled');
    assert.equal(inst.KeyName, 'my-key-pair');
  });

  test('step 1: run-instances c8i.4xlarge with nested virtualization', async () => {
    // biome-ignore format: the seed's command, line by line
    const res = await cli.ec2Json('run-instances',
      '--image-id', LINUX_AMI,
      '--instance-type', 'c8i.4xlarge',
      '--cpu-options', 'NestedVirtualization=enabled',
      '--key-name', 'my-key-pair');
    launched.c8i = res.Instances[0].InstanceId;
    assert.equal(res.Instances[0].CpuOptions.NestedVirtualization, 'enabled');
  });

  test('step 2: stop-instances, modify-instance-cpu-options, start-instances on the existing instance', async () => {
    const id = launched.existing!;
    await cli.waitFor(id, 'running');
    // biome-ignore format: the seed's commands, line by line
    const modify = ['modify-instance-cpu-options',
      '--instance-id', id,
      '--core-count', '4',
      '--threads-per-core', '2',
      '--nested-virtualization', 'enabled'];
    assert.match(await cli.ec2Fails(...modify), /IncorrectInstanceState.*not in the 'stopped' state/s, 'refused while running');
    await cli.ec2Json('stop-instances', '--instance-id', id);
    await cli.waitFor(id, 'stopped');
    const out = await cli.ec2Json(...modify);
    assert.deepEqual(out, { InstanceId: id, CoreCount: 4, ThreadsPerCore: 2, NestedVirtualization: 'enabled' });
    await cli.ec2Json('start-instances', '--instance-id', id);
    const running = await cli.waitFor(id, 'running');
    assert.deepEqual(running.CpuOptions, { CoreCount: 4, ThreadsPerCore: 2, NestedVirtualization: 'enabled' });
  });

  test('use case 1: an Android emulator farm on m8i.2xlarge', async () => {
    // biome-ignore format: the seed's command, line by line
    const res = await cli.ec2Json('run-instances',
      '--image-id', LINUX_AMI,
      '--instance-type', 'm8i.2xlarge',
      '--cpu-options', 'NestedVirtualization=enabled',
      '--key-name', 'dev-key-pair',
      '--tag-specifications', 'ResourceType=instance,Tags=[{Key=Purpose,Value=android-emulator}]');
    launched.android = res.Instances[0].InstanceId;
  });

  test('use case 2: vehicle ECU simulation on c8i.8xlarge', async () => {
    // biome-ignore format: the seed's command, line by line
    const res = await cli.ec2Json('run-instances',
      '--image-id', LINUX_AMI,
      '--instance-type', 'c8i.8xlarge',
      '--cpu-options', 'NestedVirtualization=enabled',
      '--key-name', 'simulation-key',
      '--tag-specifications', 'ResourceType=instance,Tags=[{Key=Purpose,Value=vehicle-simulation}]');
    launched.vehicle = res.Instances[0].InstanceId;
  });

  test('use case 3: a Windows workstation for WSL2 on r8i.4xlarge', async () => {
    // biome-ignore format: the seed's command, line by line
    const res = await cli.ec2Json('run-instances',
      '--image-id', WINDOWS_AMI,
      '--instance-type', 'r8i.4xlarge',
      '--cpu-options', 'NestedVirtualization=enabled',
      '--key-name', 'windows-key',
      '--tag-specifications', 'ResourceType=instance,Tags=[{Key=Purpose,Value=wsl2-workstation}]');
    launched.windows = res.Instances[0].InstanceId;
  });

  test('describe-instances then says what the seed promised', async () => {
    const ids = ['onHost', 'c8i', 'existing', 'android', 'vehicle', 'windows'].map((k) => launched[k]!);
    for (const id of ids) await cli.waitFor(id, 'running');
    const all = await cli.ec2Json('describe-instances', '--instance-ids', ...ids);
    const byId = new Map<string, any>(all.Reservations.flatMap((r: any) => r.Instances).map((i: any) => [i.InstanceId, i]));
    const view = (key: string) => {
      const i = byId.get(launched[key]!);
      return {
        type: i.InstanceType,
        nested: i.CpuOptions.NestedVirtualization,
        key: i.KeyName,
        tenancy: i.Placement.Tenancy,
        platform: i.Platform,
        purpose: i.Tags?.find((t: any) => t.Key === 'Purpose')?.Value,
      };
    };
    assert.deepEqual(view('onHost'), { type: 'r8i.4xlarge', nested: 'enabled', key: 'my-key-pair', tenancy: 'host', platform: undefined, purpose: undefined });
    assert.deepEqual(view('c8i'), { type: 'c8i.4xlarge', nested: 'enabled', key: 'my-key-pair', tenancy: 'default', platform: undefined, purpose: undefined });
    assert.deepEqual(view('existing'), { type: 'c8i.4xlarge', nested: 'enabled', key: undefined, tenancy: 'default', platform: undefined, purpose: undefined });
    assert.deepEqual(view('android'), { type: 'm8i.2xlarge', nested: 'enabled', key: 'dev-key-pair', tenancy: 'default', platform: undefined, purpose: 'android-emulator' });
    assert.deepEqual(view('vehicle'), { type: 'c8i.8xlarge', nested: 'enabled', key: 'simulation-key', tenancy: 'default', platform: undefined, purpose: 'vehicle-simulation' });
    assert.deepEqual(view('windows'), { type: 'r8i.4xlarge', nested: 'enabled', key: 'windows-key', tenancy: 'default', platform: 'windows', purpose: 'wsl2-workstation' });

    // The host accounts for the instance placed on it.
    const hosts = await cli.ec2Json('describe-hosts', '--host-ids', launched.host!);
    assert.deepEqual(hosts.Hosts[0].Instances.map((i: any) => i.InstanceId), [launched.onHost]);
  });
});
