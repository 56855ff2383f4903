/**
 * Several accounts (`--accounts FILE`): the file is checked at start-up (one line naming the file and
 * the problem); read-only keys may only read (UnauthorizedOperation otherwise, DryRun included); quotas
 * are per account (instances, On-Demand vCPUs, Dedicated Hosts per family, key pairs, launch templates).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as sdk from '@aws-sdk/client-ec2';
import { AccountsFileError, DEFAULT_QUOTAS, isReadAction, loadAccountsFile, parseAccounts } from '../src/accounts.js';
import { OPERATIONS } from '../src/api/operations.js';
import { DEFAULTS, accountsConfig, parseArgs } from '../src/config.js';
import { LINUX_AMI, type TestServer, errorOf, eventually, launch, startTestServer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nestbox-accounts-'));
const FULL = { accessKeyId: 'AKIDTEAMA', secretAccessKey: 'secret-a' };
const READER = { accessKeyId: 'AKIDAUDITOR', secretAccessKey: 'secret-r' };
const SMALL = { accessKeyId: 'AKIDSMALL', secretAccessKey: 'secret-s' };
const QUOTAS = { instances: 10, vcpus: 8, dedicatedHostsPerFamily: 1, keyPairs: 2, launchTemplates: 1 };

function writeJson(name: string, json: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
}

const goodFile = writeJson('accounts.json', {
  accounts: [
    {
      id: '111111111111',
      keys: [
        { ...FULL, permission: 'full', user: 'alice' },
        { ...READER, permission: 'read-only', user: 'auditor' },
      ],
    },
    { id: '222222222222', keys: [{ ...SMALL, permission: 'full' }], quotas: QUOTAS },
  ],
});

let server: TestServer;
before(async () => {
  server = await startTestServer({ ...accountsConfig(goodFile), driver: 'simulated' });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

// --- the file ---------------------------------------------------------------------------------------

test('the accounts file: every problem is one line naming the file and what is wrong', () => {
  const key = { accessKeyId: 'K1', secretAccessKey: 's', permission: 'full' };
  const cases: [unknown, RegExp][] = [
    ['{not json', /not valid JSON/],
    [[], /must be a JSON object/],
    [{}, /"accounts" must be a non-empty array/],
    [{ accounts: [] }, /"accounts" must be a non-empty array/],
    [{ accounts: [{ id: '12345', keys: [key] }] }, /accounts\[0\]\.id must be a 12-digit account ID/],
    [{ accounts: [{ id: 111111111111, keys: [key] }] }, /accounts\[0\]\.id must be a 12-digit/],
    [{ accounts: [{ id: '111111111111', keys: [] }] }, /accounts\[0\]\.keys must be a non-empty array/],
    [{ accounts: [{ id: '111111111111', keys: [{ ...key, permission: 'admin' }] }] }, /keys\[0\]\.permission must be one of "full", "read-only", got "admin"/],
    [{ accounts: [{ id: '111111111111', keys: [{ accessKeyId: 'K1', secretAccessKey: 's' }] }] }, /permission must be one of/],
    [{ accounts: [{ id: '111111111111', keys: [{ ...key, secretAccessKey: '' }] }] }, /secretAccessKey must be 1 to 128 printable ASCII/],
    [{ accounts: [{ id: '111111111111', keys: [{ ...key, accessKeyId: 'has space' }] }] }, /accessKeyId must be 1 to 128 printable ASCII/],
    [{ accounts: [{ id: '111111111111', keys: [key] }, { id: '222222222222', keys: [key] }] }, /accounts\[1\]\.keys\[0\]\.accessKeyId K1 is listed twice/],
    [{ accounts: [{ id: '111111111111', keys: [key] }, { id: '111111111111', keys: [{ ...key, accessKeyId: 'K2' }] }] }, /accounts\[1\]\.id 111111111111 is listed twice/],
    [{ accounts: [{ id: '111111111111', keys: [key], quota: {} }] }, /accounts\[0\] has an unknown field "quota"/],
    [{ accounts: [{ id: '111111111111', keys: [key], quotas: { vcpu: 1 } }] }, /quotas has an unknown field "vcpu"/],
    [{ accounts: [{ id: '111111111111', keys: [key], quotas: { vcpus: -1 } }] }, /quotas\.vcpus must be a whole number from 0/],
    [{ accounts: [{ id: '111111111111', keys: [key], quotas: { keyPairs: 1.5 } }] }, /quotas\.keyPairs must be a whole number/],
    [{ accounts: [{ id: '111111111111', keys: [{ ...key, user: 'no/slash' }] }] }, /user must be an IAM user name/],
  ];
  for (const [json, message] of cases) {
    const file = writeJson('bad.json', json);
    assert.throws(
      () => loadAccountsFile(file),
      (err: Error) => err instanceof AccountsFileError && err.message.startsWith(`accounts file ${file}: `) && message.test(err.message) && !err.message.includes('\n'),
      JSON.stringify(json),
    );
  }
  assert.throws(() => loadAccountsFile(join(dir, 'missing.json')), /accounts file .*missing\.json: cannot be read \(ENOENT\)/);
  // the secret itself never appears in an error
  const e = (() => {
    try {
      parseAccounts({ accounts: [{ id: '111111111111', keys: [{ ...key, secretAccessKey: 'top secret' }] }] });
    } catch (err) {
      return err as Error;
    }
    return undefined;
  })();
  assert.ok(e && !e.message.includes('top secret'));
});

test('--accounts and NESTBOX_ACCOUNTS_FILE; without them, the single default account is unchanged', () => {
  const plain = parseArgs([], {});
  assert.equal(plain.accounts, undefined);
  assert.deepEqual(plain.credentials, [{ accessKeyId: 'test', secretAccessKey: 'test', accountId: '000000000000' }]);
  assert.equal(plain.defaultAccount, '000000000000');
  const c = parseArgs(['--accounts', goodFile], {});
  assert.equal(c.accounts?.length, 2);
  assert.equal(c.defaultAccount, '111111111111');
  assert.deepEqual(
    c.credentials?.map((k) => [k.accessKeyId, k.accountId, k.permission]),
    [
      ['AKIDTEAMA', '111111111111', 'full'],
      ['AKIDAUDITOR', '111111111111', 'read-only'],
      ['AKIDSMALL', '222222222222', 'full'],
    ],
  );
  assert.deepEqual(c.accounts?.[0]?.quotas, DEFAULT_QUOTAS);
  assert.deepEqual(c.accounts?.[1]?.quotas, QUOTAS);
  assert.equal(parseArgs([], { NESTBOX_ACCOUNTS_FILE: goodFile }).accounts?.length, 2);
  assert.equal(parseArgs([`--accounts=${goodFile}`, '--no-auth'], {}).credentials, undefined);
  assert.throws(() => parseArgs(['--accounts', join(dir, 'nope.json')], {}), AccountsFileError);
  assert.equal(DEFAULTS.accounts, undefined);
});

test('nestbox serve with a bad accounts file exits 1 with one line, before anything starts', () => {
  const file = writeJson('cli-bad.json', { accounts: [{ id: 'x', keys: [] }] });
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--accounts', file, '--data-dir', join(dir, 'never'), '--port', '0'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, `nestbox: accounts file ${file}: accounts[0].id must be a 12-digit account ID as a string, got "x"\n`);
});

// --- read-only keys ---------------------------------------------------------------------------------

test('a read-only key reads (Describe*, Get*) and is refused everything else with UnauthorizedOperation, DryRun too', async () => {
  const reader = server.client('us-east-1', READER);
  const writer = server.client('us-east-1', FULL);
  const [mine] = await launch(writer);
  // reads work and see the account's resources
  const seen = await reader.send(new sdk.DescribeInstancesCommand({}));
  assert.ok(seen.Reservations?.some((r) => r.Instances?.some((i) => i.InstanceId === mine?.InstanceId)));
  await reader.send(new sdk.GetConsoleOutputCommand({ InstanceId: mine!.InstanceId! }));

  const e = await errorOf(reader.send(new sdk.RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 })));
  assert.equal(e.code, 'UnauthorizedOperation');
  assert.equal(e.status, 403);
  assert.match(
    e.message,
    /^You are not authorized to perform this operation\. User: arn:aws:iam::111111111111:user\/auditor is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:111111111111:\* because no identity-based policy allows the ec2:RunInstances action$/,
  );
  // DryRun: UnauthorizedOperation instead of DryRunOperation, as EC2 answers a caller without permission
  const dry = await errorOf(
    reader.send(new sdk.TerminateInstancesCommand({ InstanceIds: [mine!.InstanceId!], DryRun: true })),
  );
  assert.equal(dry.code, 'UnauthorizedOperation');
  const dryFull = await errorOf(writer.send(new sdk.TerminateInstancesCommand({ InstanceIds: [mine!.InstanceId!], DryRun: true })));
  assert.equal(dryFull.code, 'DryRunOperation');

  // every operation nestbox implements: reads pass the permission check, everything else is refused
  const mutating: string[] = [];
  for (const action of Object.keys(OPERATIONS)) {
    const res = await signedCall(action);
    const refused = res.includes('<Code>UnauthorizedOperation</Code>');
    if (isReadAction(action)) assert.ok(!refused, `${action} is a read`);
    else {
      assert.ok(refused, `${action} must be refused to a read-only key: ${res.slice(0, 300)}`);
      mutating.push(action);
    }
  }
  assert.ok(mutating.includes('CreateTags') && mutating.includes('DeleteKeyPair') && !mutating.includes('GetLaunchTemplateData'));
  // and nothing was changed
  const after = await writer.send(new sdk.DescribeInstancesCommand({ InstanceIds: [mine!.InstanceId!] }));
  assert.notEqual(after.Reservations?.[0]?.Instances?.[0]?.State?.Name, 'terminated');

  async function signedCall(action: string): Promise<string> {
    // the SDK signs each command as the read-only key; an empty input reaches the permission check
    const Command = (sdk as unknown as Record<string, new (input: unknown) => sdk.DescribeRegionsCommand>)[`${action}Command`]!;
    try {
      await reader.send(new Command({}));
      return '';
    } catch (err) {
      const x = err as { name: string };
      return `<Code>${x.name}</Code>`;
    }
  }
});

// --- quotas -----------------------------------------------------------------------------------------

test('quotas are per account: On-Demand vCPUs per bucket (VcpuLimitExceeded), instances, hosts per family, key pairs, launch templates', async () => {
  const small = server.client('us-east-1', SMALL);
  const big = server.client('us-east-1', FULL);
  // vCPUs: 8, t3.micro has 2; MinCount beyond it is refused and creates nothing
  const v = await errorOf(launch(small, { MinCount: 5, MaxCount: 5 }));
  assert.equal(v.code, 'VcpuLimitExceeded');
  assert.equal(v.status, 400);
  assert.match(v.message, /^You have requested more vCPU capacity than your current vCPU limit of 8 allows for the instance bucket that the specified instance type belongs to\./);
  assert.equal((await small.send(new sdk.DescribeInstancesCommand({}))).Reservations?.length ?? 0, 0);
  // MaxCount is trimmed to what fits
  const four = await launch(small, { MinCount: 1, MaxCount: 10 });
  assert.equal(four.length, 4);
  assert.equal((await errorOf(launch(small))).code, 'VcpuLimitExceeded');
  // another bucket (X) and Spot Instances are counted apart
  assert.equal((await launch(small, { InstanceType: 'x8i.large' })).length, 1);
  assert.equal((await launch(small, { InstanceMarketOptions: { MarketType: 'spot' } })).length, 1);
  // a stopped instance frees its vCPUs
  const id = four[0]!.InstanceId!;
  await eventually(async () => {
    const r = await small.send(new sdk.DescribeInstancesCommand({ InstanceIds: [id] }));
    return r.Reservations?.[0]?.Instances?.[0]?.State?.Name === 'running' ? true : undefined;
  });
  await small.send(new sdk.StopInstancesCommand({ InstanceIds: [id] }));
  assert.equal((await launch(small)).length, 1);
  // the other account has EC2's defaults
  assert.equal((await launch(big, { MinCount: 5, MaxCount: 5 })).length, 5);
  // instances: 10 (7 are live now)
  const n = await errorOf(launch(small, { InstanceType: 'x8i.large', MinCount: 4, MaxCount: 4 }));
  assert.equal(n.code, 'InstanceLimitExceeded');
  assert.match(n.message, /\(11\).*limit of 10/);
  const attrs = await small.send(new sdk.DescribeAccountAttributesCommand({}));
  assert.equal(attrs.AccountAttributes?.find((x) => x.AttributeName === 'max-instances')?.AttributeValues?.[0]?.AttributeValue, '10');

  // Dedicated Hosts: 1 per family
  const alloc = (family: string) => small.send(new sdk.AllocateHostsCommand({ AvailabilityZone: 'us-east-1a', InstanceFamily: family }));
  await alloc('m8i');
  const h = await errorOf(alloc('m8i'));
  assert.equal(h.code, 'HostLimitExceeded');
  assert.match(h.message, /\(2\).*limit of 1/);
  await alloc('c8i');

  // key pairs: 2
  await small.send(new sdk.CreateKeyPairCommand({ KeyName: 'k1' }));
  await small.send(new sdk.CreateKeyPairCommand({ KeyName: 'k2' }));
  const k = await errorOf(small.send(new sdk.CreateKeyPairCommand({ KeyName: 'k3' })));
  assert.equal(k.code, 'ResourceLimitExceeded');
  assert.match(k.message, /key pairs \(2\)/);
  const imported = await errorOf(
    small.send(
      new sdk.ImportKeyPairCommand({
        KeyName: 'k4',
        PublicKeyMaterial: new TextEncoder().encode('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x'),
      }),
    ),
  );
  assert.equal(imported.code, 'ResourceLimitExceeded');
  await big.send(new sdk.CreateKeyPairCommand({ KeyName: 'k3' }));

  // launch templates: 1
  await small.send(new sdk.CreateLaunchTemplateCommand({ LaunchTemplateName: 'lt1', LaunchTemplateData: { InstanceType: 't3.micro' } }));
  const t = await errorOf(
    small.send(new sdk.CreateLaunchTemplateCommand({ LaunchTemplateName: 'lt2', LaunchTemplateData: { InstanceType: 't3.micro' } })),
  );
  assert.equal(t.code, 'LaunchTemplateLimitExceeded');
  assert.match(t.message, /\(1\)/);
  await big.send(new sdk.CreateLaunchTemplateCommand({ LaunchTemplateName: 'lt2', LaunchTemplateData: { InstanceType: 't3.micro' } }));
});
