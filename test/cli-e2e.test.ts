/**
 * End to end with the real AWS CLI: the seed's commands, typed as a user would, against an in-process
 * nestbox. Each `aws` call is a fresh Python process (~1 s), so the scenarios run concurrently and
 * waits poll describe-instances directly instead of `aws ec2 wait` (which polls every 15 s).
 * Skipped only when `aws` is not on PATH.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestServer, startTestServer } from './helpers.js';

const LINUX_AMI = 'ami-0b5e4a1f2c3d40001';
const WINDOWS_AMI = 'ami-0b5e4a1f2c3d40003';

function awsMissing(): string | false {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the AWS CLI (`aws`) is not on PATH' : false;
  }
}
const skip = awsMissing();

let server: TestServer;
let awsHome: string;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** An isolated environment: test credentials, and config files that cannot be the user's. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(awsHome, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(awsHome, 'credentials'),
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
  };
}

function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: cliEnv(), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** `aws ec2 <args> --endpoint-url … --output json`, exit code and output as they are. */
const ec2 = (...args: string[]): Promise<Run> =>
  run('aws', ['ec2', ...args, '--endpoint-url', server.endpoint, '--output', 'json']);

/** The same, which must succeed; its JSON output parsed. */
async function ec2Json<T = any>(...args: string[]): Promise<T> {
  const r = await ec2(...args);
  assert.equal(r.code, 0, `aws ec2 ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The same, which must fail; its stderr. */
async function ec2Fails(...args: string[]): Promise<string> {
  const r = await ec2(...args);
  assert.notEqual(r.code, 0, `aws ec2 ${args.join(' ')} should have failed, but printed: ${r.stdout}`);
  return r.stderr;
}

const describeOne = async (id: string): Promise<any> =>
  (await ec2Json('describe-instances', '--instance-ids', id)).Reservations[0].Instances[0];

const pick = (o: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));

/** What `aws ec2 wait instance-<state>` does, polling quickly. */
async function waitFor(id: string, state: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const inst = await describeOne(id);
    if (inst.State.Name === state) return inst;
    if (Date.now() > deadline) assert.fail(`${id} still ${inst.State.Name}, never ${state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('AWS CLI end to end', { skip, concurrency: true }, () => {
  before(async () => {
    awsHome = mkdtempSync(join(tmpdir(), 'nestbox-awscli-'));
    writeFileSync(join(awsHome, 'config'), '');
    writeFileSync(join(awsHome, 'credentials'), '');
    server = await startTestServer({ simulatedDelayMs: 50 });
  });
  after(async () => {
    await server?.close();
    if (awsHome) rmSync(awsHome, { recursive: true, force: true });
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
    const r = await run('python3', ['-c', script, server.endpoint, LINUX_AMI]);
    if (r.code !== 0 && /No module named .?boto3/.test(r.stderr)) {
      // boto3 is not a dependency of every AWS CLI install (e.g. the v2 bundle).
      t.skip('boto3 is not importable by python3');
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'enabled');
  });
});
