/**
 * Several `nestbox serve` processes on one PostgreSQL database (a throwaway cluster: test/pg.ts) serve
 * one EC2 API, and each is a VM host (simulated driver):
 *   - a write acknowledged by one server is seen by the next read on another;
 *   - two concurrent RunInstances with one ClientToken on two servers make one reservation;
 *   - two concurrent CreateKeyPair with one name make one key pair and one InvalidKeyPair.Duplicate;
 *   - the instance quota holds across servers;
 *   - instances are placed on both hosts (GET /_nestbox/hosts/<id> tells which), and each host runs its own;
 *   - a host killed with `kill -9` is declared dead: its instances become stopped with a state reason and
 *     an impaired system status, and start again on the surviving host.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateKeyPairCommand,
  CreateTagsCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  EC2Client,
  type Instance,
  RunInstancesCommand,
  StartInstancesCommand,
} from '@aws-sdk/client-ec2';
import { type CliProcess, nestboxCli } from './cli-process.js';
import { CREDENTIALS, LINUX_AMI, adminCall, eventually, freshDatabase } from './helpers.js';

interface Server {
  readonly cli: CliProcess;
  readonly endpoint: string;
  readonly dataDir: string;
  readonly hostId: string;
  readonly ec2: EC2Client;
}

const HEARTBEAT_MS = 100;
const DEAD_AFTER_MS = 1500;
let database: string;
let accountsFile: string;
const servers: Server[] = [];
const dirs: string[] = [];

async function serve(): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'nestbox-multi-'));
  dirs.push(dataDir);
  const cli = nestboxCli([
    'serve', '--port', '0', '--data-dir', dataDir, '--database', database, '--driver', 'simulated',
    '--sim-delay-ms', '50', '--heartbeat-ms', String(HEARTBEAT_MS), '--host-dead-after-ms', String(DEAD_AFTER_MS),
    '--host-vcpus', '64', '--accounts', accountsFile, '--quiet',
  ]);
  const endpoint = await cli.listening();
  const health = (await (await fetch(`${endpoint}/_health`)).json()) as { host: string; store: string };
  assert.equal(health.store, 'postgres');
  const ec2 = new EC2Client({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
  const server = { cli, endpoint, dataDir, hostId: health.host, ec2 };
  servers.push(server);
  return server;
}

const describeOne = async (ec2: EC2Client, id: string): Promise<Instance> => {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations?.[0]?.Instances?.[0] as Instance;
};
/** Which VM host runs each of the account's instances, from the admin interface (GET /_nestbox/hosts/<id>). */
async function placement(endpoint: string): Promise<Map<string, string>> {
  const where = new Map<string, string>();
  for (const s of servers) {
    const r = await adminCall(endpoint, 'GET', `/_nestbox/hosts/${s.hostId}`);
    assert.equal(r.status, 200);
    for (const id of r.json.host.instances as string[]) where.set(id, s.hostId);
  }
  return where;
}

before(async () => {
  database = await freshDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-multi-accounts-'));
  dirs.push(dir);
  accountsFile = join(dir, 'accounts.json');
  // one account with the test key, and a small instance quota to see it hold across servers
  writeFileSync(
    accountsFile,
    JSON.stringify({ accounts: [{ id: '000000000000', keys: [{ accessKeyId: 'test', secretAccessKey: 'test', permission: 'full' }], quotas: { instances: 12 } }] }),
  );
  await serve();
  await serve();
});

after(async () => {
  for (const s of servers) {
    s.ec2.destroy();
    if (s.cli.child.exitCode === null && s.cli.child.signalCode === null) {
      s.cli.child.kill('SIGTERM');
      await s.cli.exited().catch(() => {});
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('several API servers on one PostgreSQL database', () => {
  test('a write acknowledged by one server is seen by the next read on the other', async () => {
    const [a, b] = servers as [Server, Server];
    const run = await a.ec2.send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
    const id = run.Instances![0]!.InstanceId!;
    await a.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'Name', Value: 'seen-everywhere' }] }));
    const onB = await describeOne(b.ec2, id);
    assert.deepEqual(onB.Tags?.find((t) => t.Key === 'Name')?.Value, 'seen-everywhere');
  });

  test('two concurrent RunInstances with one ClientToken on two servers make one reservation', async () => {
    const [a, b] = servers as [Server, Server];
    const input = { ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ClientToken: 'one-token-two-servers' } as const;
    const [ra, rb] = await Promise.all([a.ec2.send(new RunInstancesCommand(input)), b.ec2.send(new RunInstancesCommand(input))]);
    assert.equal(ra.ReservationId, rb.ReservationId);
    assert.equal(ra.Instances![0]!.InstanceId, rb.Instances![0]!.InstanceId);
  });

  test('two concurrent CreateKeyPair with one name make one key pair and one InvalidKeyPair.Duplicate', async () => {
    const [a, b] = servers as [Server, Server];
    const results = await Promise.allSettled([
      a.ec2.send(new CreateKeyPairCommand({ KeyName: 'raced' })),
      b.ec2.send(new CreateKeyPairCommand({ KeyName: 'raced' })),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((refused.reason as { name: string }).name, 'InvalidKeyPair.Duplicate');
    const pairs = await b.ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['raced'] }));
    assert.equal(pairs.KeyPairs?.length, 1);
  });

  test('the instance quota holds across servers', async () => {
    const [a, b] = servers as [Server, Server];
    const live = async () => {
      const out = await a.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] }));
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).length;
    };
    const room = 12 - (await live());
    // Both ask for all the room there is, at once: one of them gets it, the other InstanceLimitExceeded.
    const results = await Promise.allSettled([
      a.ec2.send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: room, MaxCount: room })),
      b.ec2.send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: room, MaxCount: room })),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((refused.reason as { name: string }).name, 'InstanceLimitExceeded');
    assert.equal(await live(), 12);
  });

  test('instances are spread over both hosts, and each host boots its own', async () => {
    const [a] = servers as [Server, Server];
    const out = await a.ec2.send(new DescribeInstancesCommand({}));
    const all = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    const where = await placement(a.endpoint);
    const hosts = new Set(all.map((i) => where.get(i.InstanceId!)));
    assert.deepEqual([...hosts].sort(), servers.map((s) => s.hostId).sort(), 'both hosts run instances');
    await eventually(async () => {
      const now = await a.ec2.send(new DescribeInstancesCommand({}));
      const states = (now.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name);
      return states.every((s) => s === 'running') ? true : undefined;
    }, 10_000, 'every instance running');
  });

  test('a host killed with kill -9 is declared dead: its instances stop, impaired, and start again elsewhere', async () => {
    const [a, b] = servers as [Server, Server];
    const out = await a.ec2.send(new DescribeInstancesCommand({}));
    const where = await placement(a.endpoint);
    const onB = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => where.get(i.InstanceId!) === b.hostId);
    assert.ok(onB.length > 0, 'the second host runs some instances');
    b.cli.child.kill('SIGKILL');
    await b.cli.exited();
    const ids = onB.map((i) => i.InstanceId!);
    const stopped = await eventually(async () => {
      const now = await a.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      const list = (now.Reservations ?? []).flatMap((r) => r.Instances ?? []);
      return list.every((i) => i.State?.Name === 'stopped') ? list : undefined;
    }, 10_000, "the dead host's instances stopped");
    for (const i of stopped) {
      assert.equal(i.StateReason?.Code, 'Server.InternalError');
      assert.match(i.StateReason?.Message ?? '', /host/);
    }
    const status = await a.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: ids, IncludeAllInstances: true }));
    assert.equal(status.InstanceStatuses?.length, ids.length);
    for (const s of status.InstanceStatuses ?? []) {
      assert.equal(s.SystemStatus?.Status, 'impaired');
      assert.equal(s.SystemStatus?.Details?.[0]?.Status, 'failed');
    }
    await a.ec2.send(new StartInstancesCommand({ InstanceIds: ids }));
    const restarted = await eventually(async () => {
      const now = await a.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      const list = (now.Reservations ?? []).flatMap((r) => r.Instances ?? []);
      return list.every((i) => i.State?.Name === 'running') ? list : undefined;
    }, 10_000, 'the instances running again');
    const now = await placement(a.endpoint);
    for (const i of restarted) assert.equal(now.get(i.InstanceId!), a.hostId, 'started on the surviving host');
    const healthy = await a.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: ids }));
    assert.equal(healthy.InstanceStatuses?.length, ids.length);
    for (const s of healthy.InstanceStatuses ?? []) assert.equal(s.SystemStatus?.Status, 'ok');
  });
});
