/**
 * End to end with the real AWS CLI: the seed's commands, typed as a user would, against an in-process
 * nestbox. Each `aws` call is a fresh Python process (~1 s), so the scenarios run concurrently and
 * waits poll describe-instances directly instead of `aws ec2 wait` (which polls every 15 s).
 * Skipped only when `aws` is not on PATH.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type AwsCli, awsCli, awsMissing } from './aws-cli.js';
import { LINUX_AMI, WINDOWS_AMI, type TestServer, startTestServer } from './helpers.js';

let server: TestServer;
let cli: AwsCli;
const ec2Json = <T = any>(...args: string[]) => cli.ec2Json<T>(...args);
const ec2Fails = (...args: string[]) => cli.ec2Fails(...args);
const waitFor = (id: string, state: string) => cli.waitFor(id, state);
const pick = (o: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));

describe('AWS CLI end to end', { skip: awsMissing(), concurrency: true }, () => {
  before(async () => {
    server = await startTestServer({ simulatedDelayMs: 50 });
    cli = awsCli(server.endpoint);
  });
  after(async () => {
    cli?.close();
    await server?.close();
  });

  test('run-instances --cpu-options NestedVirtualization=enabled (the Android emulator example)', async () => {
    // the key pair it names must exist
    const key = await ec2Json('create-key-pair', '--key-name', 'my-key', '--key-type', 'ed25519');
    assert.match(key.KeyMaterial, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const res = await ec2Json(
      'run-instances',
      '--image-id', LINUX_AMI,
      '--instance-type', 'c8i.large',
      '--count', '1',
      '--cpu-options', 'NestedVirtualization=enabled',
      '--key-name', 'my-key',
      '--tag-specifications', 'ResourceType=instance,Tags=[{Key=Purpose,Value=android-emulator}]',
    );
    assert.equal(res.Instances.length, 1);
    const launched = res.Instances[0];
    assert.equal(launched.CpuOptions.NestedVirtualization, 'enabled');
    assert.equal(launched.InstanceType, 'c8i.large');
    assert.equal(launched.KeyName, 'my-key');
    assert.deepEqual(launched.Tags, [{ Key: 'Purpose', Value: 'android-emulator' }]);

    const running = await waitFor(launched.InstanceId, 'running');
    assert.equal(running.CpuOptions.NestedVirtualization, 'enabled');
  });

  test('an existing instance: stop, modify-instance-cpu-options, start', async (t) => {
    const res = await ec2Json('run-instances', '--image-id', LINUX_AMI, '--instance-type', 'c8i.2xlarge', '--count', '1');
    const id: string = res.Instances[0].InstanceId;
    assert.equal(res.Instances[0].CpuOptions.NestedVirtualization, undefined);
    await waitFor(id, 'running');
    const modify = ['modify-instance-cpu-options', '--instance-id', id, '--core-count', '4', '--threads-per-core', '2', '--nested-virtualization', 'enabled'];

    await t.test('modify while running fails with IncorrectInstanceState', async () => {
      assert.match(await ec2Fails(...modify), /IncorrectInstanceState/);
    });

    await t.test('stop-instances, then modify echoes the new values', async () => {
      const stop = await ec2Json('stop-instances', '--instance-ids', id);
      assert.equal(stop.StoppingInstances[0].InstanceId, id);
      await waitFor(id, 'stopped');
      const out = await ec2Json(...modify);
      assert.deepEqual(pick(out, 'InstanceId', 'CoreCount', 'ThreadsPerCore', 'NestedVirtualization'), {
        InstanceId: id,
        CoreCount: 4,
        ThreadsPerCore: 2,
        NestedVirtualization: 'enabled',
      });
    });

    await t.test('start-instances; describe-instances shows the CPU options', async () => {
      const start = await ec2Json('start-instances', '--instance-ids', id);
      assert.equal(start.StartingInstances[0].PreviousState.Name, 'stopped');
      const running = await waitFor(id, 'running');
      assert.deepEqual(pick(running.CpuOptions, 'CoreCount', 'ThreadsPerCore', 'NestedVirtualization'), {
        CoreCount: 4,
        ThreadsPerCore: 2,
        NestedVirtualization: 'enabled',
      });
    });
  });

  test("the README's launch-template flow", async (t) => {
    const data = JSON.stringify({ ImageId: LINUX_AMI, InstanceType: 'c8i.large', CpuOptions: { NestedVirtualization: 'enabled' } });
    const created = await ec2Json('create-launch-template', '--launch-template-name', 'nested-ci', '--launch-template-data', data);
    assert.equal(created.LaunchTemplate.LatestVersionNumber, 1);
    const lt = 'LaunchTemplateName=nested-ci';
    let first = '';

    await t.test('run-instances from the template: its type, nested virtualization on, aws:ec2launchtemplate tags', async () => {
      const inst = (await ec2Json('run-instances', '--launch-template', lt)).Instances[0];
      first = inst.InstanceId;
      assert.deepEqual(pick(inst, 'InstanceType', 'ImageId'), { InstanceType: 'c8i.large', ImageId: LINUX_AMI });
      assert.equal(inst.CpuOptions.NestedVirtualization, 'enabled');
      const tags = Object.fromEntries(inst.Tags.map((x: any) => [x.Key, x.Value]));
      assert.equal(tags['aws:ec2launchtemplate:id'], created.LaunchTemplate.LaunchTemplateId);
      assert.equal(tags['aws:ec2launchtemplate:version'], '1');
    });

    await t.test("the request's own parameters override the template's", async () => {
      const inst = (await ec2Json('run-instances', '--launch-template', lt, '--instance-type', 'm8i.xlarge')).Instances[0];
      assert.equal(inst.InstanceType, 'm8i.xlarge');
      assert.equal(inst.CpuOptions.NestedVirtualization, 'enabled');
    });

    await t.test('a new version from version 1, made the default', async () => {
      const v2 = await ec2Json(
        'create-launch-template-version', '--launch-template-name', 'nested-ci', '--source-version', '1',
        '--version-description', 'bigger', '--launch-template-data', '{"InstanceType":"c8i.2xlarge"}',
      );
      assert.equal(v2.LaunchTemplateVersion.VersionNumber, 2);
      await ec2Json('modify-launch-template', '--launch-template-name', 'nested-ci', '--default-version', '2');
      const versions = await ec2Json('describe-launch-template-versions', '--launch-template-name', 'nested-ci', '--versions', '$Default');
      const d = versions.LaunchTemplateVersions[0];
      assert.equal(d.VersionNumber, 2);
      assert.deepEqual(pick(d.LaunchTemplateData, 'InstanceType', 'CpuOptions'), {
        InstanceType: 'c8i.2xlarge',
        CpuOptions: { NestedVirtualization: 'enabled' },
      });
    });

    await t.test('the template is stored as given; the launch applies the rules', async () => {
      await ec2Json(
        'create-launch-template-version', '--launch-template-name', 'nested-ci', '--source-version', '1',
        '--launch-template-data', '{"InstanceType":"m6i.large"}',
      );
      const stderr = await ec2Fails('run-instances', '--launch-template', `${lt},Version=3`);
      assert.match(stderr, /UnsupportedOperation.*m6i\.large/s);
    });

    await t.test('get-launch-template-data from the instance', async () => {
      const out = await ec2Json('get-launch-template-data', '--instance-id', first);
      assert.equal(out.LaunchTemplateData.InstanceType, 'c8i.large');
      assert.equal(out.LaunchTemplateData.CpuOptions.NestedVirtualization, 'enabled');
    });
  });

  test('nested virtualization on an unsupported type (m6i.large) is UnsupportedOperation', async () => {
    const stderr = await ec2Fails(
      'run-instances', '--image-id', LINUX_AMI, '--instance-type', 'm6i.large', '--count', '1', '--cpu-options', 'NestedVirtualization=enabled',
    );
    assert.match(stderr, /UnsupportedOperation/);
    assert.match(stderr, /m6i\.large/);
  });

  test('describe-instance-types filtered on nested-virtualization lists exactly the 54 C8i/M8i/R8i types', async () => {
    const types = await ec2Json<string[]>(
      'describe-instance-types',
      '--filters', 'Name=processor-info.supported-features,Values=nested-virtualization',
      '--query', 'InstanceTypes[].InstanceType',
    );
    const sizes = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', '48xlarge', '96xlarge'];
    const flexSizes = sizes.slice(0, 7); // flex stops at 16xlarge
    const expected = ['c8i', 'm8i', 'r8i'].flatMap((f) => [
      ...sizes.map((s) => `${f}.${s}`),
      ...flexSizes.map((s) => `${f}-flex.${s}`),
    ]);
    assert.equal(expected.length, 54);
    assert.equal(types.length, 54, `got ${types.length} (the CLI follows NextToken pages; duplicates mean a paging bug)`);
    assert.deepEqual([...types].sort(), [...expected].sort());
  });

  test('a Windows workstation for WSL2: Windows image on r8i.4xlarge with nested virtualization', async () => {
    const res = await ec2Json(
      'run-instances', '--image-id', WINDOWS_AMI, '--instance-type', 'r8i.4xlarge', '--count', '1', '--cpu-options', 'NestedVirtualization=enabled',
    );
    const inst = res.Instances[0];
    assert.equal(inst.Platform, 'windows');
    assert.equal(inst.CpuOptions.NestedVirtualization, 'enabled');
    const running = await waitFor(inst.InstanceId, 'running');
    assert.equal(running.PlatformDetails, 'Windows');
    assert.equal(running.CpuOptions.NestedVirtualization, 'enabled');
  });

  test('boto3: describe_instances shows NestedVirtualization', async (t) => {
    const script = [
      'import boto3, sys',
      "ec2 = boto3.client('ec2', endpoint_url=sys.argv[1])",
      "r = ec2.run_instances(ImageId=sys.argv[2], InstanceType='m8i.large', MinCount=1, MaxCount=1, CpuOptions={'NestedVirtualization': 'enabled'})",
      "iid = r['Instances'][0]['InstanceId']",
      "d = ec2.describe_instances(InstanceIds=[iid])",
      "print(d['Reservations'][0]['Instances'][0]['CpuOptions'].get('NestedVirtualization'))",
    ].join('\n');
    const r = await cli.run('python3', ['-c', script, server.endpoint, LINUX_AMI]);
    if (r.code !== 0 && /No module named .?boto3/.test(r.stderr)) {
      // boto3 is not a dependency of every AWS CLI install (e.g. the v2 bundle).
      t.skip('boto3 is not importable by python3');
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'enabled');
  });
});
