/**
 * Dedicated Hosts through the real AWS SDK: AllocateHosts, DescribeHosts, ModifyHosts, ReleaseHosts,
 * and Tenancy=host instances — auto-placement, a named host, capacity by vCPUs (one type or mixed sizes
 * of a family), stop/start giving the place back and finding one again, host affinity, and
 * ModifyInstancePlacement, with every refusal's EC2 code. Tests that count hosts work in a region of
 * their own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AllocateHostsCommand,
  type AllocateHostsCommandInput,
  CreateLaunchTemplateCommand,
  CreateTagsCommand,
  DescribeHostsCommand,
  type DescribeHostsCommandInput,
  DescribeInstancesCommand,
  DescribeTagsCommand,
  type EC2Client,
  GetLaunchTemplateDataCommand,
  type Host,
  type Instance,
  ModifyHostsCommand,
  ModifyInstancePlacementCommand,
  type ModifyInstancePlacementCommandInput,
  ReleaseHostsCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ARM_AMI, LINUX_AMI, type TestServer, describeOne, errorOf, eventually, launch, launchOne, startTestServer } from './helpers.js';

const NO_SUCH_HOST = 'h-0123456789abcdef0';

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

async function allocate(client: EC2Client, params: Partial<AllocateHostsCommandInput>): Promise<string[]> {
  const r = await client.send(new AllocateHostsCommand({ AvailabilityZone: 'us-east-1a', ...params } as AllocateHostsCommandInput));
  return r.HostIds ?? [];
}

async function allocateOne(client: EC2Client, params: Partial<AllocateHostsCommandInput>): Promise<string> {
  const [id] = await allocate(client, params);
  assert.ok(id);
  return id;
}

async function describeHost(client: EC2Client, id: string): Promise<Host> {
  const r = await client.send(new DescribeHostsCommand({ HostIds: [id] }));
  assert.equal(r.Hosts?.length, 1);
  return r.Hosts[0]!;
}

async function hostIds(client: EC2Client, params: DescribeHostsCommandInput = {}): Promise<string[]> {
  const r = await client.send(new DescribeHostsCommand(params));
  return (r.Hosts ?? []).map((h) => h.HostId!);
}

function waitForState(client: EC2Client, id: string, state: string): Promise<Instance> {
  return eventually(async () => {
    const i = await describeOne(client, id);
    return i.State?.Name === state ? i : undefined;
  }, 5000, `${id} ${state}`);
}

const capacityOf = (host: Host, type: string) =>
  host.AvailableCapacity?.AvailableInstanceCapacity?.find((c) => c.InstanceType === type);

const occupantIds = (host: Host) => (host.Instances ?? []).map((i) => i.InstanceId).sort();

/** Waits for `running`, stops the instance and waits for `stopped`. */
async function stopWhenRunning(client: EC2Client, id: string): Promise<void> {
  await waitForState(client, id, 'running');
  await client.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(client, id, 'stopped');
}

async function instanceIds(client: EC2Client, filter: string, ...values: string[]): Promise<string[]> {
  const r = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: filter, Values: values }] }));
  return (r.Reservations ?? []).flatMap((res) => res.Instances!.map((i) => i.InstanceId!)).sort();
}

// --- AllocateHosts and DescribeHosts ----------------------------------------------------------------

test('AllocateHosts by family: hosts with the family metal size as hardware, mixed sizes, tags, defaults', async () => {
  const before = new Date(Date.now() - 1000);
  const ids = await allocate(ec2, {
    InstanceFamily: 'm8i',
    AutoPlacement: 'on',
    Quantity: 2,
    TagSpecifications: [{ ResourceType: 'dedicated-host', Tags: [{ Key: 'team', Value: 'infra' }] }],
  });
  assert.equal(ids.length, 2);
  for (const id of ids) assert.match(id, /^h-[0-9a-f]{17}$/);
  const host = await describeHost(ec2, ids[0]!);
  assert.equal(host.HostId, ids[0]);
  assert.equal(host.State, 'available');
  assert.equal(host.AvailabilityZone, 'us-east-1a');
  assert.equal(host.AvailabilityZoneId, 'use1-az6');
  assert.equal(host.AutoPlacement, 'on');
  assert.equal(host.HostRecovery, 'off');
  assert.equal(host.HostMaintenance, 'on');
  assert.equal(host.AllowsMultipleInstanceTypes, 'on');
  assert.equal(host.OwnerId, '000000000000');
  assert.equal(host.MemberOfServiceLinkedResourceGroup, false);
  assert.ok(host.AllocationTime instanceof Date && host.AllocationTime >= before);
  assert.equal(host.ReleaseTime, undefined);
  // m8i.metal-96xl: 384 vCPUs, 192 cores, two sockets; a family host names no instance type
  assert.deepEqual(host.HostProperties, { Cores: 192, Sockets: 2, TotalVCpus: 384, InstanceFamily: 'm8i' });
  assert.equal(host.AvailableCapacity?.AvailableVCpus, 384);
  assert.deepEqual(capacityOf(host, 'm8i.large'), { InstanceType: 'm8i.large', AvailableCapacity: 192, TotalCapacity: 192 });
  assert.deepEqual(capacityOf(host, 'm8i.96xlarge'), { InstanceType: 'm8i.96xlarge', AvailableCapacity: 1, TotalCapacity: 1 });
  // the virtual sizes only: bare metal takes a host of its own type
  assert.equal(capacityOf(host, 'm8i.metal-96xl'), undefined);
  assert.equal(host.AvailableCapacity?.AvailableInstanceCapacity?.length, 11);
  assert.deepEqual(host.Instances ?? [], []);
  assert.deepEqual(host.Tags, [{ Key: 'team', Value: 'infra' }]);
});

test('AllocateHosts by type: one type, floor(host vCPUs / type vCPUs) of it; auto-placement off by default', async () => {
  const id = await allocateOne(ec2, { InstanceType: 'r8i.4xlarge', AvailabilityZone: 'us-east-1b' });
  const host = await describeHost(ec2, id);
  assert.equal(host.AutoPlacement, 'off');
  assert.equal(host.AllowsMultipleInstanceTypes, 'off');
  assert.equal(host.AvailabilityZone, 'us-east-1b');
  // the one type, never the family too (Terraform reads both)
  assert.deepEqual(host.HostProperties, { Cores: 192, Sockets: 2, TotalVCpus: 384, InstanceType: 'r8i.4xlarge' });
  assert.deepEqual(host.AvailableCapacity?.AvailableInstanceCapacity, [
    { InstanceType: 'r8i.4xlarge', AvailableCapacity: 24, TotalCapacity: 24 },
  ]);
});

test('AllocateHosts: Graviton hosts have one socket; a family without a metal size falls back to its largest size', async () => {
  const c7g = await describeHost(ec2, await allocateOne(ec2, { InstanceFamily: 'c7g' }));
  assert.deepEqual(c7g.HostProperties, { Cores: 64, Sockets: 1, TotalVCpus: 64, InstanceFamily: 'c7g' });
  assert.deepEqual(capacityOf(c7g, 'c7g.medium'), { InstanceType: 'c7g.medium', AvailableCapacity: 64, TotalCapacity: 64 });
  const t3 = await describeHost(ec2, await allocateOne(ec2, { InstanceFamily: 't3' }));
  assert.deepEqual(t3.HostProperties, { Cores: 4, Sockets: 2, TotalVCpus: 8, InstanceFamily: 't3' });
  // r7iz: its larger metal size (metal-32xl, 128 vCPUs)
  const r7iz = await describeHost(ec2, await allocateOne(ec2, { InstanceType: 'r7iz.8xlarge' }));
  assert.equal(r7iz.HostProperties?.TotalVCpus, 128);
  assert.equal(capacityOf(r7iz, 'r7iz.8xlarge')?.TotalCapacity, 4);
});

test('AllocateHosts: AvailabilityZoneId instead of the zone name; HostRecovery and HostMaintenance as asked', async () => {
  const id = await allocateOne(ec2, {
    AvailabilityZone: undefined,
    AvailabilityZoneId: 'use1-az1',
    InstanceType: 'c8i.large',
    HostRecovery: 'on',
    HostMaintenance: 'off',
  });
  const host = await describeHost(ec2, id);
  assert.equal(host.AvailabilityZone, 'us-east-1b');
  assert.equal(host.AvailabilityZoneId, 'use1-az1');
  assert.equal(host.HostRecovery, 'on');
  assert.equal(host.HostMaintenance, 'off');
});

test('AllocateHosts refuses bad requests with EC2 codes, naming the value, and allocates nothing', async () => {
  const client = server.client('ap-south-1');
  const cases: [Partial<AllocateHostsCommandInput>, string, number, RegExp][] = [
    [{ AvailabilityZone: undefined, InstanceType: 'm8i.large' }, 'MissingParameter', 400, /AvailabilityZone/],
    [{ AvailabilityZone: 'ap-south-1z', InstanceType: 'm8i.large' }, 'InvalidParameterValue', 400, /ap-south-1z/],
    [{ AvailabilityZone: 'us-east-1a', InstanceType: 'm8i.large' }, 'InvalidParameterValue', 400, /us-east-1a/],
    [{ AvailabilityZone: undefined, AvailabilityZoneId: 'use1-az6', InstanceType: 'm8i.large' }, 'InvalidParameterValue', 400, /use1-az6/],
    [{ AvailabilityZoneId: 'aps1-az1', InstanceType: 'm8i.large' }, 'InvalidParameterCombination', 400, /AvailabilityZoneId/],
    [{}, 'MissingParameter', 400, /InstanceType or InstanceFamily/],
    [{ InstanceType: 'm8i.large', InstanceFamily: 'm8i' }, 'InvalidParameterCombination', 400, /InstanceType and InstanceFamily/],
    [{ InstanceType: 'm9z.large' }, 'InvalidHostConfiguration', 400, /instance type 'm9z\.large' is not supported/],
    [{ InstanceType: 'c8i-flex.large' }, 'InvalidHostConfiguration', 400, /c8i-flex\.large/],
    [{ InstanceType: 'c7i.24xlarge' }, 'InvalidHostConfiguration', 400, /c7i\.24xlarge/],
    [{ InstanceFamily: 'm8i-flex' }, 'InvalidHostConfiguration', 400, /instance family 'm8i-flex' is not supported/],
    [{ InstanceFamily: 'M8i' }, 'InvalidHostConfiguration', 400, /'M8i'/],
    [{ InstanceFamily: 'm8i', Quantity: 0 }, 'InvalidParameterValue', 400, /Quantity/],
    [{ InstanceFamily: 'm8i', AutoPlacement: 'yes' as 'on' }, 'InvalidParameterValue', 400, /AutoPlacement.*yes|yes.*AutoPlacement/],
    [{ InstanceFamily: 'm8i', HostRecovery: 'maybe' as 'on' }, 'InvalidParameterValue', 400, /maybe/],
    [
      { InstanceFamily: 'm8i', TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] },
      'InvalidParameterValue',
      400,
      /'instance'/,
    ],
    [
      { InstanceFamily: 'm8i', TagSpecifications: [{ ResourceType: 'dedicated-host', Tags: [{ Key: 'aws:x', Value: 'b' }] }] },
      'InvalidParameterValue',
      400,
      /aws:x/,
    ],
    [{ InstanceFamily: 'm8i', Quantity: 101 }, 'HostLimitExceeded', 400, /\(101\).*100/],
  ];
  for (const [params, code, status, message] of cases) {
    const e = await errorOf(
      client.send(new AllocateHostsCommand({ AvailabilityZone: 'ap-south-1a', ...params } as AllocateHostsCommandInput)),
    );
    assert.equal(e.code, code, JSON.stringify(params));
    assert.equal(e.status, status);
    assert.match(e.message, message, JSON.stringify(params));
  }
  assert.deepEqual(await hostIds(client), []);
  // the limit counts what is already allocated
  assert.equal((await allocate(client, { AvailabilityZone: 'ap-south-1a', InstanceFamily: 'c8i', Quantity: 100 })).length, 100);
  const e = await errorOf(client.send(new AllocateHostsCommand({ AvailabilityZone: 'ap-south-1a', InstanceFamily: 'c8i' })));
  assert.equal(e.code, 'HostLimitExceeded');
});

test('AllocateHosts: a ClientToken replay returns the same hosts; other parameters with it are refused', async () => {
  const params = { InstanceFamily: 'c8i', Quantity: 2, ClientToken: 'alloc-token-1' };
  const first = await allocate(ec2, params);
  assert.deepEqual(await allocate(ec2, params), first);
  const e = await errorOf(ec2.send(new AllocateHostsCommand({ AvailabilityZone: 'us-east-1a', ...params, Quantity: 3 })));
  assert.equal(e.code, 'IdempotentParameterMismatch');
  assert.match(e.message, /alloc-token-1/);
  assert.deepEqual(await hostIds(ec2, { Filter: [{ Name: 'client-token', Values: ['alloc-token-1'] }] }), first);
  assert.equal((await describeHost(ec2, first[0]!)).ClientToken, 'alloc-token-1');
});

test('DescribeHosts: IDs, filters, tags and paging; unknown and malformed IDs refused', async () => {
  const client = server.client('eu-west-1');
  const a = await allocateOne(client, { AvailabilityZone: 'eu-west-1a', InstanceType: 'm8i.large', AutoPlacement: 'on' });
  const b = await allocateOne(client, { AvailabilityZone: 'eu-west-1b', InstanceFamily: 'm8i' });
  const c = await allocateOne(client, { AvailabilityZone: 'eu-west-1b', InstanceType: 'c8i.2xlarge' });
  await client.send(new CreateTagsCommand({ Resources: [b], Tags: [{ Key: 'env', Value: 'prod' }] }));
  const filtered = (Name: string, ...Values: string[]) => hostIds(client, { Filter: [{ Name, Values }] });
  assert.deepEqual(await hostIds(client), [a, b, c], 'allocation order');
  assert.deepEqual(await filtered('auto-placement', 'on'), [a]);
  assert.deepEqual(await filtered('availability-zone', 'eu-west-1b'), [b, c]);
  assert.deepEqual(await filtered('instance-type', 'c8i.*'), [c]);
  assert.deepEqual(await filtered('state', 'available'), [a, b, c]);
  assert.deepEqual(await filtered('state', 'released'), []);
  assert.deepEqual(await filtered('tag:env', 'prod'), [b]);
  assert.deepEqual(await filtered('tag-key', 'env'), [b]);
  assert.deepEqual(await filtered('host-reservation-id', '*'), []);
  const tags = await client.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-type', Values: ['dedicated-host'] }] }));
  assert.deepEqual(tags.Tags, [{ ResourceId: b, ResourceType: 'dedicated-host', Key: 'env', Value: 'prod' }]);

  const bad = await errorOf(client.send(new DescribeHostsCommand({ Filter: [{ Name: 'colour', Values: ['x'] }] })));
  assert.equal(bad.code, 'InvalidParameterValue');
  assert.match(bad.message, /colour/);
  const missing = await errorOf(client.send(new DescribeHostsCommand({ HostIds: [a, NO_SUCH_HOST] })));
  assert.deepEqual([missing.code, missing.status], ['InvalidHostID.NotFound', 400]);
  assert.match(missing.message, new RegExp(NO_SUCH_HOST));
  const malformed = await errorOf(client.send(new DescribeHostsCommand({ HostIds: ['host-1'] })));
  assert.equal(malformed.code, 'InvalidHostID.Malformed');
  assert.match(malformed.message, /host-1/);
  // another region's host is not found here
  assert.equal((await errorOf(ec2.send(new DescribeHostsCommand({ HostIds: [a] })))).code, 'InvalidHostID.NotFound');
  const combo = await errorOf(client.send(new DescribeHostsCommand({ HostIds: [a], MaxResults: 5 })));
  assert.equal(combo.code, 'InvalidParameterCombination');

  // paging: 7 hosts, 5 a page
  await allocate(client, { AvailabilityZone: 'eu-west-1c', InstanceFamily: 'r8i', Quantity: 4 });
  const all = await hostIds(client);
  assert.equal(all.length, 7);
  const first = await client.send(new DescribeHostsCommand({ MaxResults: 5 }));
  assert.equal(first.Hosts?.length, 5);
  assert.ok(first.NextToken);
  const second = await client.send(new DescribeHostsCommand({ MaxResults: 5, NextToken: first.NextToken }));
  assert.equal(second.NextToken, undefined);
  assert.deepEqual([...first.Hosts!, ...second.Hosts!].map((h) => h.HostId), all);
  const tooSmall = await errorOf(client.send(new DescribeHostsCommand({ MaxResults: 4 })));
  assert.equal(tooSmall.code, 'InvalidParameterValue');
  assert.match(tooSmall.message, /between 5 and 500/);
});

// --- Tenancy=host instances -------------------------------------------------------------------------

test('RunInstances Tenancy=host: auto-placement picks a host, the instance takes its zone, the host counts it', async () => {
  const client = server.client('us-west-2');
  const off = await allocateOne(client, { AvailabilityZone: 'us-west-2a', InstanceFamily: 'r8i' });
  const host = await allocateOne(client, { AvailabilityZone: 'us-west-2c', InstanceFamily: 'r8i', AutoPlacement: 'on' });
  const i = await launchOne(client, {
    InstanceType: 'r8i.4xlarge',
    Placement: { Tenancy: 'host' },
    CpuOptions: { NestedVirtualization: 'enabled' },
  });
  // EC2 shows the affinity of every host-tenancy instance: `default` unless it asked for `host`
  assert.deepEqual(i.Placement, { AvailabilityZone: 'us-west-2c', Affinity: 'default', GroupName: '', Tenancy: 'host', HostId: host });
  assert.equal(i.CpuOptions?.NestedVirtualization, 'enabled');
  const described = await describeOne(client, i.InstanceId!);
  assert.equal(described.Placement?.HostId, host);
  const h = await describeHost(client, host);
  assert.deepEqual(h.Instances, [{ InstanceId: i.InstanceId, InstanceType: 'r8i.4xlarge', OwnerId: '000000000000' }]);
  assert.equal(h.AvailableCapacity?.AvailableVCpus, 384 - 16);
  assert.deepEqual(capacityOf(h, 'r8i.4xlarge'), { InstanceType: 'r8i.4xlarge', AvailableCapacity: 23, TotalCapacity: 24 });
  assert.deepEqual(capacityOf(h, 'r8i.96xlarge'), { InstanceType: 'r8i.96xlarge', AvailableCapacity: 0, TotalCapacity: 1 });
  assert.deepEqual(occupantIds(await describeHost(client, off)), []);
  // DescribeInstances' host-id and tenancy filters
  const byHost = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'host-id', Values: [host] }] }));
  assert.deepEqual(byHost.Reservations?.flatMap((r) => r.Instances!.map((x) => x.InstanceId)), [i.InstanceId]);
  const byTenancy = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tenancy', Values: ['host'] }] }));
  assert.equal(byTenancy.Reservations?.length, 1);
  // a zone that has no auto-placement host
  const e = await errorOf(launch(client, { InstanceType: 'r8i.4xlarge', Placement: { Tenancy: 'host', AvailabilityZone: 'us-west-2a' } }));
  assert.equal(e.code, 'InsufficientHostCapacity');
});

test('RunInstances Tenancy=host without a suitable host: InsufficientHostCapacity (400), nothing launched', async () => {
  const client = server.client('ca-central-1');
  const expectNoHost = async (params: Partial<RunInstancesCommandInput>, why: string) => {
    const e = await errorOf(launch(client, { InstanceType: 'r8i.4xlarge', Placement: { Tenancy: 'host' }, ...params }));
    assert.equal(e.code, 'InsufficientHostCapacity', why);
    assert.equal(e.status, 400);
    assert.match(e.message, /You do not have a host with a matching configuration and sufficient capacity/);
  };
  await expectNoHost({}, 'no hosts at all');
  await allocateOne(client, { AvailabilityZone: 'ca-central-1a', InstanceFamily: 'r8i' });
  await expectNoHost({}, 'auto-placement off');
  await allocateOne(client, { AvailabilityZone: 'ca-central-1a', InstanceType: 'r8i.large', AutoPlacement: 'on' });
  await expectNoHost({}, 'a host for another type');
  await expectNoHost({ InstanceType: 'r8i-flex.large' }, 'a type that cannot run on hosts');
  await allocateOne(client, { AvailabilityZone: 'ca-central-1a', InstanceFamily: 'm8i', AutoPlacement: 'on' });
  await expectNoHost({}, 'a host of another family');
  await expectNoHost({ InstanceType: 'm8i.96xlarge', MinCount: 2, MaxCount: 2 }, 'room for one, two asked');
  const none = await client.send(new DescribeInstancesCommand({}));
  assert.deepEqual(none.Reservations, []);
});

test('RunInstances with Placement.HostId: targeted launches, tenancy implied, and every refusal', async () => {
  const client = server.client('eu-central-1');
  // r8i.24xlarge (96 vCPUs) on a 384-vCPU host: room for four
  const host = await allocateOne(client, { AvailabilityZone: 'eu-central-1b', InstanceType: 'r8i.24xlarge' });
  const other = await allocateOne(client, { AvailabilityZone: 'eu-central-1b', InstanceFamily: 'm8i' });
  const target = { InstanceType: 'r8i.24xlarge' as const };

  const fail = async (params: Partial<RunInstancesCommandInput>, code: string, message: RegExp) => {
    const e = await errorOf(launch(client, { ...target, ...params }));
    assert.equal(e.code, code, JSON.stringify(params));
    assert.equal(e.status, code === 'DryRunOperation' ? 412 : 400);
    assert.match(e.message, message);
  };
  await fail({ Placement: { HostId: 'h-xyz' } }, 'InvalidHostID.Malformed', /h-xyz/);
  await fail({ Placement: { HostId: NO_SUCH_HOST } }, 'InvalidHostID.NotFound', new RegExp(NO_SUCH_HOST));
  await fail({ Placement: { HostId: host, Tenancy: 'default' } }, 'InvalidParameterCombination', /hostId.*tenancy of 'host'/);
  await fail({ Placement: { HostId: host, Tenancy: 'dedicated' } }, 'InvalidParameterCombination', /hostId/);
  await fail({ Placement: { Tenancy: 'shared' as 'host' } }, 'InvalidParameterValue', /shared/);
  await fail({ Placement: { Tenancy: 'default', Affinity: 'default' } }, 'InvalidParameterCombination', /affinity/);
  await fail({ Placement: { Tenancy: 'host', Affinity: 'sticky' } }, 'InvalidParameterValue', /sticky/);
  await fail({ Placement: { HostId: host }, InstanceType: 'r8i.4xlarge' }, 'UnsupportedInstanceTypeOnHost', /r8i\.4xlarge.*r8i\.24xlarge/);
  await fail({ Placement: { HostId: other } }, 'UnsupportedInstanceTypeOnHost', /m8i family/);
  await fail({ Placement: { HostId: host, AvailabilityZone: 'eu-central-1a' } }, 'ZonesMismatched', /eu-central-1a.*eu-central-1b/);
  await fail({ Placement: { HostId: host }, MinCount: 5, MaxCount: 5 }, 'InsufficientCapacityOnHost', new RegExp(host));
  await fail({ Placement: { HostId: host }, DryRun: true }, 'DryRunOperation', /DryRun/);
  await fail({ Placement: { HostId: NO_SUCH_HOST }, DryRun: true }, 'InvalidHostID.NotFound', /does not exist/);
  assert.deepEqual((await client.send(new DescribeInstancesCommand({}))).Reservations, []);

  // the host's auto-placement is off, yet a launch naming it lands there; tenancy follows from HostId
  const first = await launch(client, { ...target, Placement: { HostId: host }, MinCount: 1, MaxCount: 3 });
  assert.equal(first.length, 3);
  for (const i of first) {
    assert.deepEqual(i.Placement, { AvailabilityZone: 'eu-central-1b', Affinity: 'default', GroupName: '', Tenancy: 'host', HostId: host });
  }
  // as many as fit: one left
  const second = await launch(client, {
    ...target,
    Placement: { HostId: host, Tenancy: 'host', Affinity: 'default' },
    MinCount: 1,
    MaxCount: 10,
  });
  assert.equal(second.length, 1);
  await fail({ Placement: { HostId: host } }, 'InsufficientCapacityOnHost', /insufficient capacity/);
  const h = await describeHost(client, host);
  assert.equal(h.Instances?.length, 4);
  assert.equal(h.AvailableCapacity?.AvailableVCpus, 0);
  assert.deepEqual(capacityOf(h, 'r8i.24xlarge'), { InstanceType: 'r8i.24xlarge', AvailableCapacity: 0, TotalCapacity: 4 });
});

test('a family host takes mixed sizes up to its vCPUs', async () => {
  const client = server.client('eu-west-2');
  const host = await allocateOne(client, { AvailabilityZone: 'eu-west-2a', InstanceFamily: 'c8i', AutoPlacement: 'on' });
  for (const type of ['c8i.48xlarge', 'c8i.24xlarge', 'c8i.12xlarge'] as const) {
    const i = await launchOne(client, { InstanceType: type, Placement: { Tenancy: 'host' } });
    assert.equal(i.Placement?.HostId, host);
  }
  const h = await describeHost(client, host);
  assert.equal(h.AvailableCapacity?.AvailableVCpus, 384 - 192 - 96 - 48);
  assert.deepEqual(capacityOf(h, 'c8i.large'), { InstanceType: 'c8i.large', AvailableCapacity: 24, TotalCapacity: 192 });
  assert.deepEqual(capacityOf(h, 'c8i.12xlarge'), { InstanceType: 'c8i.12xlarge', AvailableCapacity: 1, TotalCapacity: 8 });
  assert.deepEqual(capacityOf(h, 'c8i.24xlarge'), { InstanceType: 'c8i.24xlarge', AvailableCapacity: 0, TotalCapacity: 4 });
  assert.deepEqual(
    (h.Instances ?? []).map((i) => i.InstanceType),
    ['c8i.48xlarge', 'c8i.24xlarge', 'c8i.12xlarge'],
  );
  assert.equal((await errorOf(launch(client, { InstanceType: 'c8i.24xlarge', Placement: { Tenancy: 'host' } }))).code, 'InsufficientHostCapacity');
  assert.equal((await errorOf(launch(client, { InstanceType: 'c8i.24xlarge', Placement: { HostId: host } }))).code, 'InsufficientCapacityOnHost');
  // MaxCount beyond the room: as many as fit
  const small = await launch(client, { InstanceType: 'c8i.large', Placement: { Tenancy: 'host' }, MinCount: 1, MaxCount: 100 });
  assert.equal(small.length, 24);
  assert.equal((await describeHost(client, host)).AvailableCapacity?.AvailableVCpus, 0);
});

test('an arm64 instance on a Graviton host', async () => {
  const client = server.client('sa-east-1');
  const host = await allocateOne(client, { AvailabilityZone: 'sa-east-1a', InstanceType: 'c7g.metal', AutoPlacement: 'on' });
  const i = await launchOne(client, { ImageId: ARM_AMI, InstanceType: 'c7g.metal', Placement: { Tenancy: 'host' } });
  assert.equal(i.Placement?.HostId, host);
  assert.equal((await describeHost(client, host)).AvailableCapacity?.AvailableVCpus, 0);
});

test('stop gives the place back; start finds room again: the same host, another auto-placement host, or InsufficientHostCapacity', async () => {
  const client = server.client('ap-northeast-1');
  const host = await allocateOne(client, { AvailabilityZone: 'ap-northeast-1c', InstanceType: 'r8i.48xlarge', AutoPlacement: 'on' });
  // two r8i.48xlarge fill the host
  const [a, b] = await launch(client, { InstanceType: 'r8i.48xlarge', Placement: { Tenancy: 'host' }, MinCount: 2, MaxCount: 2 });
  const idA = a!.InstanceId!;
  await waitForState(client, idA, 'running');
  await client.send(new StopInstancesCommand({ InstanceIds: [idA] }));
  let h = await eventually(async () => {
    const x = await describeHost(client, host);
    return x.Instances?.length === 1 ? x : undefined;
  }, 5000, 'stopping instance to leave the host');
  assert.deepEqual(occupantIds(h), [b!.InstanceId]);
  assert.equal(h.AvailableCapacity?.AvailableVCpus, 192);
  const stopped = await waitForState(client, idA, 'stopped');
  assert.equal(stopped.Placement?.HostId, host, 'a stopped instance still shows its last host');

  // back on the same host while there is room
  await client.send(new StartInstancesCommand({ InstanceIds: [idA] }));
  assert.equal((await describeOne(client, idA)).Placement?.HostId, host);
  assert.deepEqual(occupantIds(await describeHost(client, host)), [idA, b!.InstanceId].sort());
  await waitForState(client, idA, 'running');

  // stop it, let another launch take the place: starting it again finds no host and changes nothing
  await client.send(new StopInstancesCommand({ InstanceIds: [idA] }));
  await waitForState(client, idA, 'stopped');
  const c = await launchOne(client, { InstanceType: 'r8i.48xlarge', Placement: { Tenancy: 'host' } });
  assert.equal(c.Placement?.HostId, host);
  const e = await errorOf(client.send(new StartInstancesCommand({ InstanceIds: [idA] })));
  assert.equal(e.code, 'InsufficientHostCapacity');
  assert.equal((await describeOne(client, idA)).State?.Name, 'stopped');

  // a second auto-placement host in the zone takes it
  const second = await allocateOne(client, { AvailabilityZone: 'ap-northeast-1c', InstanceFamily: 'r8i', AutoPlacement: 'on' });
  const started = await client.send(new StartInstancesCommand({ InstanceIds: [idA] }));
  assert.equal(started.StartingInstances?.[0]?.CurrentState?.Name, 'pending');
  assert.equal((await describeOne(client, idA)).Placement?.HostId, second);
  assert.deepEqual(occupantIds(await describeHost(client, second)), [idA]);
  h = await describeHost(client, host);
  assert.deepEqual(occupantIds(h), [b!.InstanceId, c.InstanceId].sort());
});

test('starting several host instances at once counts the ones placed before in the same call', async () => {
  const client = server.client('ap-southeast-2');
  const host = await allocateOne(client, { AvailabilityZone: 'ap-southeast-2a', InstanceType: 'm8i.96xlarge', AutoPlacement: 'on' });
  const first = await launchOne(client, { InstanceType: 'm8i.96xlarge', Placement: { Tenancy: 'host' } });
  await waitForState(client, first.InstanceId!, 'running');
  await client.send(new StopInstancesCommand({ InstanceIds: [first.InstanceId!] }));
  await waitForState(client, first.InstanceId!, 'stopped');
  const second = await launchOne(client, { InstanceType: 'm8i.96xlarge', Placement: { HostId: host } });
  await waitForState(client, second.InstanceId!, 'running');
  await client.send(new StopInstancesCommand({ InstanceIds: [second.InstanceId!] }));
  await waitForState(client, second.InstanceId!, 'stopped');
  // the host holds one: two starting together do not both fit, so neither starts
  const e = await errorOf(client.send(new StartInstancesCommand({ InstanceIds: [first.InstanceId!, second.InstanceId!] })));
  assert.equal(e.code, 'InsufficientHostCapacity');
  assert.equal((await describeOne(client, first.InstanceId!)).State?.Name, 'stopped');
  assert.equal((await describeOne(client, second.InstanceId!)).State?.Name, 'stopped');
  await client.send(new StartInstancesCommand({ InstanceIds: [second.InstanceId!] }));
  assert.deepEqual(occupantIds(await describeHost(client, host)), [second.InstanceId]);
});

// --- host affinity and ModifyInstancePlacement --------------------------------------------------------

test('Affinity=host: a stopped instance starts again only on its own host; default affinity moves on', async () => {
  const client = server.client('us-west-1');
  const zone = 'us-west-1b';
  // hosts that each hold one m8i.96xlarge, both open to auto-placement
  const home = await allocateOne(client, { AvailabilityZone: zone, InstanceType: 'm8i.96xlarge', AutoPlacement: 'on' });
  const bound = await launchOne(client, { InstanceType: 'm8i.96xlarge', Placement: { Tenancy: 'host', Affinity: 'host' } });
  assert.deepEqual(bound.Placement, { AvailabilityZone: zone, Affinity: 'host', GroupName: '', Tenancy: 'host', HostId: home });
  const spare = await allocateOne(client, { AvailabilityZone: zone, InstanceType: 'm8i.96xlarge', AutoPlacement: 'on' });
  const id = bound.InstanceId!;
  assert.equal((await describeOne(client, id)).Placement?.Affinity, 'host');

  // stopped, it holds nothing: another launch takes its place on the home host
  await stopWhenRunning(client, id);
  const filler = await launchOne(client, { InstanceType: 'm8i.96xlarge', Placement: { HostId: home } });
  const e = await errorOf(client.send(new StartInstancesCommand({ InstanceIds: [id] })));
  assert.deepEqual([e.code, e.status], ['InsufficientCapacityOnHost', 400]);
  assert.match(e.message, new RegExp(`${home}.*${id}`));
  // not moved to the free auto-placement host, and still stopped
  const still = await describeOne(client, id);
  assert.equal(still.State?.Name, 'stopped');
  assert.equal(still.Placement?.HostId, home);
  assert.deepEqual(occupantIds(await describeHost(client, spare)), []);

  // once its host has room again it starts there
  await client.send(new TerminateInstancesCommand({ InstanceIds: [filler.InstanceId!] }));
  await waitForState(client, filler.InstanceId!, 'terminated');
  await client.send(new StartInstancesCommand({ InstanceIds: [id] }));
  assert.equal((await describeOne(client, id)).Placement?.HostId, home);
  assert.deepEqual(occupantIds(await describeHost(client, home)), [id]);
  await stopWhenRunning(client, id);

  // an instance with affinity `default` that last ran on the same host
  const loose = await launchOne(client, { InstanceType: 'm8i.96xlarge', Placement: { HostId: home, Affinity: 'default' } });
  assert.equal(loose.Placement?.Affinity, 'default');
  await stopWhenRunning(client, loose.InstanceId!);
  // both start in one call: the bound one gets its host although listed second; the other moves to the spare
  const started = await client.send(new StartInstancesCommand({ InstanceIds: [loose.InstanceId!, id] }));
  assert.deepEqual(started.StartingInstances?.map((c) => c.CurrentState?.Name), ['pending', 'pending']);
  assert.equal((await describeOne(client, id)).Placement?.HostId, home);
  assert.equal((await describeOne(client, loose.InstanceId!)).Placement?.HostId, spare);

  // DescribeInstances' affinity filter; instances not on hosts have no affinity
  const plain = await launchOne(client, { InstanceType: 'm8i.large' });
  assert.equal(plain.Placement?.Affinity, undefined);
  assert.deepEqual(await instanceIds(client, 'affinity', 'host'), [id]);
  // the terminated filler still shows (and filters) as on a host with the default affinity
  assert.deepEqual(await instanceIds(client, 'affinity', 'default'), [loose.InstanceId!, filler.InstanceId!].sort());
  assert.deepEqual(await instanceIds(client, 'affinity', '*'), [id, loose.InstanceId!, filler.InstanceId!].sort());
});

test('Affinity=host: a bound host that no longer takes the instance refuses the start', async () => {
  const client = server.client('eu-west-3');
  const [host, other] = await allocate(client, { AvailabilityZone: 'eu-west-3a', InstanceFamily: 'r8i', AutoPlacement: 'on', Quantity: 2 });
  const i = await launchOne(client, { InstanceType: 'r8i.4xlarge', Placement: { HostId: host, Affinity: 'host' } });
  await stopWhenRunning(client, i.InstanceId!);
  // the host now serves another size only
  await client.send(new ModifyHostsCommand({ HostIds: [host!], InstanceType: 'r8i.large' }));
  const wrongType = await errorOf(client.send(new StartInstancesCommand({ InstanceIds: [i.InstanceId!] })));
  assert.equal(wrongType.code, 'UnsupportedInstanceTypeOnHost');
  assert.match(wrongType.message, new RegExp(`r8i\\.4xlarge.*${host}`));
  // released: the instance has no host to start on, and the other auto-placement host is not used
  await client.send(new ReleaseHostsCommand({ HostIds: [host!] }));
  const released = await errorOf(client.send(new StartInstancesCommand({ InstanceIds: [i.InstanceId!] })));
  assert.equal(released.code, 'InvalidHostState');
  assert.match(released.message, /released/);
  assert.deepEqual(occupantIds(await describeHost(client, other!)), []);
  // ModifyInstancePlacement moves it to the other host, where it starts
  await client.send(new ModifyInstancePlacementCommand({ InstanceId: i.InstanceId!, HostId: other! }));
  await client.send(new StartInstancesCommand({ InstanceIds: [i.InstanceId!] }));
  const moved = await describeOne(client, i.InstanceId!);
  assert.deepEqual([moved.Placement?.HostId, moved.Placement?.Affinity], [other, 'host']);
});

test('ModifyInstancePlacement: affinity any time, host and tenancy only while stopped; Return true', async () => {
  const client = server.client('ap-northeast-2');
  const [a, b] = await allocate(client, { AvailabilityZone: 'ap-northeast-2a', InstanceFamily: 'c8i', Quantity: 2 });
  const i = await launchOne(client, { InstanceType: 'c8i.large', Placement: { HostId: a } });
  const id = i.InstanceId!;
  const modify = (params: Partial<ModifyInstancePlacementCommandInput>) =>
    client.send(new ModifyInstancePlacementCommand({ InstanceId: id, ...params }));

  // while it runs: the affinity changes (binding it to the host it is on), the host and tenancy do not
  await waitForState(client, id, 'running');
  assert.deepEqual((await modify({ Affinity: 'host' })).Return, true);
  assert.deepEqual((await describeOne(client, id)).Placement, {
    AvailabilityZone: 'ap-northeast-2a',
    Affinity: 'host',
    GroupName: '',
    Tenancy: 'host',
    HostId: a,
  });
  for (const params of [{ HostId: b! }, { Tenancy: 'dedicated' as const }, { GroupName: '' }]) {
    const e = await errorOf(modify(params));
    assert.deepEqual([e.code, e.status], ['InvalidInstanceState', 400], JSON.stringify(params));
    assert.match(e.message, new RegExp(`${id}.*'running'.*'stopped'`));
  }
  assert.equal((await describeOne(client, id)).Placement?.HostId, a);

  // stopped: to another host — capacity is checked when it starts, as in EC2
  await stopWhenRunning(client, id);
  assert.equal((await modify({ HostId: b!, Affinity: 'default' })).Return, true);
  let p = (await describeOne(client, id)).Placement;
  assert.deepEqual([p?.HostId, p?.Affinity, p?.Tenancy], [b, 'default', 'host']);
  await client.send(new StartInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual(occupantIds(await describeHost(client, b!)), [id]);
  assert.deepEqual(occupantIds(await describeHost(client, a!)), []);
  await stopWhenRunning(client, id);

  // host → dedicated drops the host and the affinity; dedicated → host with a host (implied tenancy)
  await modify({ Tenancy: 'dedicated' });
  p = (await describeOne(client, id)).Placement;
  assert.deepEqual(p, { AvailabilityZone: 'ap-northeast-2a', GroupName: '', Tenancy: 'dedicated' });
  const combo = await errorOf(modify({ Affinity: 'host' }));
  assert.equal(combo.code, 'InvalidParameterCombination');
  assert.match(combo.message, /affinity.*tenancy of 'host'/);
  assert.equal((await errorOf(modify({ HostId: a!, Tenancy: 'dedicated' }))).code, 'InvalidParameterCombination');
  await modify({ HostId: a!, Affinity: 'host' });
  p = (await describeOne(client, id)).Placement;
  assert.deepEqual([p?.Tenancy, p?.HostId, p?.Affinity], ['host', a, 'host']);
  // dedicated → host without a host: the next start auto-places it… on an auto-placement host only
  await modify({ Tenancy: 'dedicated' });
  await modify({ Tenancy: 'host', Affinity: 'host' });
  p = (await describeOne(client, id)).Placement;
  assert.deepEqual([p?.Tenancy, p?.HostId, p?.Affinity], ['host', undefined, 'host']);
  assert.equal((await errorOf(client.send(new StartInstancesCommand({ InstanceIds: [id] })))).code, 'InsufficientHostCapacity');
  await client.send(new ModifyHostsCommand({ HostIds: [b!], AutoPlacement: 'on' }));
  await client.send(new StartInstancesCommand({ InstanceIds: [id] }));
  // …and affinity `host` then binds it to the host it landed on
  p = (await describeOne(client, id)).Placement;
  assert.deepEqual([p?.HostId, p?.Affinity], [b, 'host']);
  await waitForState(client, id, 'running');

  // GroupName '' (out of any placement group) is accepted on a stopped instance and changes nothing
  await stopWhenRunning(client, id);
  assert.equal((await modify({ GroupName: '' })).Return, true);
  assert.equal((await describeOne(client, id)).Placement?.HostId, b);
});

test('ModifyInstancePlacement refuses bad requests with EC2 codes, naming the value, and changes nothing', async () => {
  const client = server.client('ap-southeast-1');
  const host = await allocateOne(client, { AvailabilityZone: 'ap-southeast-1a', InstanceType: 'm8i.xlarge' });
  const otherZone = await allocateOne(client, { AvailabilityZone: 'ap-southeast-1b', InstanceType: 'm8i.xlarge' });
  const otherType = await allocateOne(client, { AvailabilityZone: 'ap-southeast-1a', InstanceType: 'm8i.large' });
  const released = await allocateOne(client, { AvailabilityZone: 'ap-southeast-1a', InstanceType: 'm8i.xlarge' });
  await client.send(new ReleaseHostsCommand({ HostIds: [released] }));
  const onHost = (await launchOne(client, { InstanceType: 'm8i.xlarge', Placement: { HostId: host } })).InstanceId!;
  const shared = (await launchOne(client, { InstanceType: 'm8i.xlarge', Placement: { AvailabilityZone: 'ap-southeast-1a' } })).InstanceId!;
  const dedicatedT3 = (await launchOne(client, { InstanceType: 't3.micro', Placement: { Tenancy: 'dedicated' } })).InstanceId!;
  const gone = (await launchOne(client, { InstanceType: 'm8i.xlarge' })).InstanceId!;
  await client.send(new TerminateInstancesCommand({ InstanceIds: [gone] }));
  for (const id of [onHost, shared, dedicatedT3]) await stopWhenRunning(client, id);
  const before = await client.send(new DescribeInstancesCommand({ InstanceIds: [onHost, shared, dedicatedT3] }));

  const cases: [Partial<ModifyInstancePlacementCommandInput>, string, RegExp][] = [
    [{ InstanceId: undefined, Affinity: 'host' }, 'MissingParameter', /InstanceId/],
    [{}, 'InvalidParameterCombination', /At least one of Affinity, HostId, Tenancy/],
    [{ Affinity: 'sticky' as 'host' }, 'InvalidParameterValue', /sticky/],
    [{ Tenancy: 'shared' as 'host' }, 'InvalidParameterValue', /shared/],
    [{ HostId: 'h-xyz' }, 'InvalidHostID.Malformed', /h-xyz/],
    [{ InstanceId: 'i-nope', Affinity: 'host' }, 'InvalidInstanceID.Malformed', /i-nope/],
    [{ InstanceId: 'i-0123456789abcdef0', Affinity: 'host' }, 'InvalidInstanceID.NotFound', /i-0123456789abcdef0/],
    [{ HostId: NO_SUCH_HOST }, 'InvalidHostID.NotFound', new RegExp(NO_SUCH_HOST)],
    [{ GroupName: 'my-cluster' }, 'InvalidPlacementGroup.Unknown', /my-cluster/],
    [{ HostResourceGroupArn: 'arn:aws:resource-groups:ap-southeast-1:000000000000:group/g' }, 'InvalidParameterValue', /HostResourceGroupArn/],
    [{ HostId: released }, 'InvalidHostState', new RegExp(`${released}.*released`)],
    [{ HostId: otherZone }, 'ZonesMismatched', new RegExp(`ap-southeast-1a.*${otherZone}`)],
    [{ HostId: otherType }, 'UnsupportedInstanceTypeOnHost', /m8i\.xlarge.*m8i\.large/],
    [{ Tenancy: 'default' }, 'InvalidTenancy', /'host' to 'default'/],
    [{ InstanceId: shared, Tenancy: 'host' }, 'InvalidTenancy', /'default' to 'host'/],
    [{ InstanceId: shared, Tenancy: 'dedicated' }, 'InvalidTenancy', /'default' to 'dedicated'/],
    [{ InstanceId: shared, HostId: host }, 'InvalidTenancy', new RegExp(`${shared}.*'default' to 'host'`)],
    [{ InstanceId: shared, Affinity: 'default' }, 'InvalidParameterCombination', /affinity/],
    [{ InstanceId: dedicatedT3, Tenancy: 'host' }, 'InvalidRequest', /T3/],
    [{ InstanceId: gone, Affinity: 'host' }, 'InvalidInstanceState', /terminated|shutting-down/],
  ];
  for (const [params, code, message] of cases) {
    const e = await errorOf(client.send(new ModifyInstancePlacementCommand({ InstanceId: onHost, ...params } as ModifyInstancePlacementCommandInput)));
    assert.equal(e.code, code, JSON.stringify(params));
    assert.equal(e.status, 400);
    assert.match(e.message, message, JSON.stringify(params));
  }
  const after = await client.send(new DescribeInstancesCommand({ InstanceIds: [onHost, shared, dedicatedT3] }));
  assert.deepEqual(after, { ...before, $metadata: after.$metadata });
});

test('launch templates: Placement.Affinity flows into RunInstances; GetLaunchTemplateData gives it back', async () => {
  const client = server.client('ap-northeast-3');
  const host = await allocateOne(client, { AvailabilityZone: 'ap-northeast-3a', InstanceFamily: 'c8i', AutoPlacement: 'on' });
  await client.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: 'bound-to-host',
      LaunchTemplateData: { ImageId: LINUX_AMI, InstanceType: 'c8i.large', Placement: { Tenancy: 'host', Affinity: 'host' } },
    }),
  );
  // the helper's own ImageId and InstanceType would replace the template's
  const fromTemplate = { ImageId: undefined, InstanceType: undefined, LaunchTemplate: { LaunchTemplateName: 'bound-to-host' } };
  const i = await launchOne(client, fromTemplate);
  assert.deepEqual([i.Placement?.HostId, i.Placement?.Affinity, i.Placement?.Tenancy], [host, 'host', 'host']);
  const data = (await client.send(new GetLaunchTemplateDataCommand({ InstanceId: i.InstanceId! }))).LaunchTemplateData;
  assert.deepEqual(data?.Placement, { AvailabilityZone: 'ap-northeast-3a', Affinity: 'host', GroupName: '', Tenancy: 'host', HostId: host });
  // the request's own Placement replaces the template's whole
  const own = await launchOne(client, { ...fromTemplate, Placement: { Tenancy: 'host' } });
  assert.equal(own.Placement?.Affinity, 'default');
  // an instance on shared hardware has no affinity in its template data
  const shared = await launchOne(client, { InstanceType: 'c8i.large' });
  const sharedData = (await client.send(new GetLaunchTemplateDataCommand({ InstanceId: shared.InstanceId! }))).LaunchTemplateData;
  assert.equal(sharedData?.Placement?.Affinity, undefined);
});

// --- ModifyHosts and ReleaseHosts -------------------------------------------------------------------

test('ModifyHosts: auto-placement, recovery, maintenance, and type/family within the family while empty', async () => {
  const client = server.client('us-east-2');
  const [a, b] = await allocate(client, { AvailabilityZone: 'us-east-2a', InstanceType: 'm8i.large', Quantity: 2 });
  const r = await client.send(
    new ModifyHostsCommand({ HostIds: [a!, b!], AutoPlacement: 'on', HostRecovery: 'on', HostMaintenance: 'off' }),
  );
  assert.deepEqual(r.Successful, [a, b]);
  assert.deepEqual(r.Unsuccessful ?? [], []);
  let h = await describeHost(client, a!);
  assert.deepEqual([h.AutoPlacement, h.HostRecovery, h.HostMaintenance], ['on', 'on', 'off']);

  // to the whole family, then to another size of it
  assert.deepEqual((await client.send(new ModifyHostsCommand({ HostIds: [a!], InstanceFamily: 'm8i' }))).Successful, [a]);
  h = await describeHost(client, a!);
  assert.deepEqual(h.HostProperties, { Cores: 192, Sockets: 2, TotalVCpus: 384, InstanceFamily: 'm8i' });
  assert.equal(h.AllowsMultipleInstanceTypes, 'on');
  await client.send(new ModifyHostsCommand({ HostIds: [a!], InstanceType: 'm8i.4xlarge' }));
  h = await describeHost(client, a!);
  assert.equal(h.HostProperties?.InstanceType, 'm8i.4xlarge');
  assert.equal(h.HostProperties?.InstanceFamily, undefined);

  // per-host refusals come back as Unsuccessful, not as an error: another family, an occupied host, an unknown host
  const i = await launchOne(client, { InstanceType: 'm8i.large', Placement: { HostId: b } });
  const mixed = await client.send(new ModifyHostsCommand({ HostIds: [a!, b!, NO_SUCH_HOST], InstanceType: 'c8i.large' }));
  assert.deepEqual(mixed.Successful ?? [], []);
  assert.deepEqual(
    mixed.Unsuccessful?.map((u) => [u.ResourceId, u.Error?.Code]),
    [
      [a, 'Client.InvalidInstanceFamily'],
      [b, 'Client.InvalidInstanceFamily'],
      [NO_SUCH_HOST, 'Client.InvalidHostID.NotFound'],
    ],
  );
  assert.match(mixed.Unsuccessful![0]!.Error!.Message!, /m8i.*c8i\.large/);
  const occupied = await client.send(new ModifyHostsCommand({ HostIds: [a!, b!], InstanceFamily: 'm8i' }));
  assert.deepEqual(occupied.Successful, [a]);
  assert.deepEqual(occupied.Unsuccessful, [
    { ResourceId: b, Error: { Code: 'Client.InvalidHost.Occupied', Message: `Dedicated host '${b}' cannot be modified as it is occupied` } },
  ]);
  // auto-placement may change while instances run on it
  assert.deepEqual((await client.send(new ModifyHostsCommand({ HostIds: [b!], AutoPlacement: 'off' }))).Successful, [b]);
  assert.equal((await describeHost(client, b!)).HostProperties?.InstanceType, 'm8i.large');
  assert.deepEqual(occupantIds(await describeHost(client, b!)), [i.InstanceId]);

  const errors: [ConstructorParameters<typeof ModifyHostsCommand>[0], string, RegExp][] = [
    [{ HostIds: [a!] }, 'InvalidParameterCombination', /At least one/],
    [{ HostIds: [], AutoPlacement: 'on' }, 'MissingParameter', /HostId/],
    [{ HostIds: [a!], AutoPlacement: 'sometimes' as 'on' }, 'InvalidParameterValue', /sometimes/],
    [{ HostIds: [a!], InstanceType: 'm8i.large', InstanceFamily: 'm8i' }, 'InvalidParameterCombination', /InstanceType and InstanceFamily/],
    [{ HostIds: [a!], InstanceType: 'm8i-flex.large' }, 'InvalidHostConfiguration', /m8i-flex\.large/],
    [{ HostIds: ['h-1'], AutoPlacement: 'on' }, 'InvalidHostID.Malformed', /h-1/],
  ];
  for (const [params, code, message] of errors) {
    const e = await errorOf(client.send(new ModifyHostsCommand(params)));
    assert.equal(e.code, code, JSON.stringify(params));
    assert.match(e.message, message);
  }
});

test('ReleaseHosts: refused per host while occupied; released hosts stay visible and can no longer be used', async () => {
  const client = server.client('eu-north-1');
  const [host, spare] = await allocate(client, { AvailabilityZone: 'eu-north-1a', InstanceFamily: 'r8i', Quantity: 2 });
  const i = await launchOne(client, { InstanceType: 'r8i.4xlarge', Placement: { HostId: host } });
  const refused = await client.send(new ReleaseHostsCommand({ HostIds: [host!, spare!, NO_SUCH_HOST] }));
  assert.deepEqual(refused.Successful, [spare]);
  assert.deepEqual(refused.Unsuccessful, [
    { ResourceId: host, Error: { Code: 'Client.InvalidHost.Occupied', Message: `Dedicated host '${host}' cannot be released as it is occupied` } },
    {
      ResourceId: NO_SUCH_HOST,
      Error: { Code: 'Client.InvalidHostID.NotFound', Message: `The specified host ID '${NO_SUCH_HOST}' does not exist.` },
    },
  ]);
  const released = await describeHost(client, spare!);
  assert.equal(released.State, 'released');
  assert.ok(released.ReleaseTime instanceof Date);
  assert.equal(released.AvailableCapacity, undefined);
  assert.deepEqual(await hostIds(client, { Filter: [{ Name: 'state', Values: ['released'] }] }), [spare]);

  // a released host: a launch naming it is refused, it cannot be modified or released again
  const e = await errorOf(launch(client, { InstanceType: 'r8i.4xlarge', Placement: { HostId: spare } }));
  assert.equal(e.code, 'InvalidHostState');
  assert.match(e.message, /released/);
  assert.deepEqual(
    (await client.send(new ModifyHostsCommand({ HostIds: [spare!], AutoPlacement: 'on' }))).Unsuccessful?.map((u) => u.Error?.Code),
    ['Client.InvalidHostID.NotFound'],
  );
  assert.deepEqual(
    (await client.send(new ReleaseHostsCommand({ HostIds: [spare!] }))).Unsuccessful?.map((u) => u.Error?.Code),
    ['Client.InvalidHostID.NotFound'],
  );

  // a stopped instance does not hold the host; once nothing runs on it, it can be released
  await waitForState(client, i.InstanceId!, 'running');
  await client.send(new StopInstancesCommand({ InstanceIds: [i.InstanceId!] }));
  await waitForState(client, i.InstanceId!, 'stopped');
  assert.deepEqual((await client.send(new ReleaseHostsCommand({ HostIds: [host!] }))).Successful, [host]);
  // and the instance then has nowhere to start
  assert.equal((await errorOf(client.send(new StartInstancesCommand({ InstanceIds: [i.InstanceId!] })))).code, 'InsufficientHostCapacity');
  await client.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));

  const malformed = await errorOf(client.send(new ReleaseHostsCommand({ HostIds: ['h-nope'] })));
  assert.equal(malformed.code, 'InvalidHostID.Malformed');
  assert.equal((await errorOf(client.send(new ReleaseHostsCommand({ HostIds: [] })))).code, 'MissingParameter');
});

test('a terminated instance leaves the host', async () => {
  const client = server.client('ap-south-2');
  const host = await allocateOne(client, { AvailabilityZone: 'ap-south-2a', InstanceType: 'm8i.96xlarge' });
  const i = await launchOne(client, { InstanceType: 'm8i.96xlarge', Placement: { HostId: host } });
  await client.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));
  await waitForState(client, i.InstanceId!, 'terminated');
  const h = await describeHost(client, host);
  assert.deepEqual(h.Instances ?? [], []);
  assert.equal(h.AvailableCapacity?.AvailableVCpus, 384);
  assert.deepEqual((await client.send(new ReleaseHostsCommand({ HostIds: [host] }))).Successful, [host]);
});

test('released hosts disappear after the retention; hosts and placements survive a restart', async () => {
  let local = await startTestServer({ terminatedRetentionMs: 300 });
  try {
    let client = local.client('us-east-1');
    const [kept, gone] = await allocate(client, { InstanceFamily: 'r8i', AutoPlacement: 'on', Quantity: 2 });
    await client.send(new CreateTagsCommand({ Resources: [gone!], Tags: [{ Key: 'k', Value: 'v' }] }));
    const i = await launchOne(client, { InstanceType: 'r8i.4xlarge', Placement: { Tenancy: 'host', Affinity: 'host' } });
    assert.equal(i.Placement?.HostId, kept);
    await client.send(new ReleaseHostsCommand({ HostIds: [gone!] }));
    assert.equal((await describeHost(client, gone!)).State, 'released');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await errorOf(client.send(new DescribeHostsCommand({ HostIds: [gone!] })))).code, 'InvalidHostID.NotFound');
    assert.deepEqual(await hostIds(client), [kept]);

    local = await local.restart();
    client = local.client('us-east-1');
    const h = await describeHost(client, kept!);
    assert.equal(h.AutoPlacement, 'on');
    assert.deepEqual(occupantIds(h), [i.InstanceId]);
    const placement = (await describeOne(client, i.InstanceId!)).Placement;
    assert.deepEqual([placement?.HostId, placement?.Affinity], [kept, 'host']);
  } finally {
    await local.close();
  }
});
