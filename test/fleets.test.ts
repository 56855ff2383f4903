/**
 * EC2 Fleet (Type=instant) through the real AWS SDK: CreateFleet over launch templates and overrides —
 * Karpenter's nested-virtualization case (an unsupported type reported as UnsupportedOperation while
 * the supported ones launch), allocation strategies, Spot, weights, a capacity shortfall on a Dedicated
 * Host, DryRun, ClientToken replay and every refusal — then DescribeFleets, DeleteFleets (terminating
 * the instances) and DescribeFleetInstances. Tests that count or place instances use regions of their own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AllocateHostsCommand,
  CreateFleetCommand,
  type CreateFleetCommandInput,
  type CreateFleetCommandOutput,
  CreateLaunchTemplateCommand,
  CreateTagsCommand,
  DeleteFleetsCommand,
  DescribeFleetInstancesCommand,
  DescribeFleetsCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  type EC2Client,
  type FleetData,
  type FleetLaunchTemplateOverridesRequest,
  type Instance,
  type RequestLaunchTemplateData,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { LINUX_AMI, type TestServer, describeOne, errorOf, eventually, startTestServer } from './helpers.js';

const FLEET_ID = /^fleet-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NO_SUCH_FLEET = 'fleet-12a34b55-67cd-8ef9-ba9b-9208d0000000';
const NV_ENABLED: RequestLaunchTemplateData = {
  ImageId: LINUX_AMI,
  InstanceType: 'c8i.large',
  CpuOptions: { NestedVirtualization: 'enabled' },
};

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

let nameSeq = 0;
const uniqueName = () => `fleet-lt-${process.pid}-${++nameSeq}`;

async function template(client: EC2Client, data: RequestLaunchTemplateData = NV_ENABLED): Promise<{ id: string; name: string }> {
  const name = uniqueName();
  const r = await client.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: data }));
  return { id: r.LaunchTemplate!.LaunchTemplateId!, name };
}

/** An instant fleet over one template: the overrides given, `total` units of the default capacity type. */
function fleetInput(
  name: string,
  overrides: FleetLaunchTemplateOverridesRequest[] | undefined,
  total: number,
  extra: Partial<CreateFleetCommandInput> = {},
): CreateFleetCommandInput {
  return {
    Type: 'instant',
    LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateName: name, Version: '$Latest' }, Overrides: overrides }],
    TargetCapacitySpecification: { TotalTargetCapacity: total, DefaultTargetCapacityType: 'on-demand' },
    ...extra,
  };
}

const createFleet = (client: EC2Client, input: CreateFleetCommandInput): Promise<CreateFleetCommandOutput> =>
  client.send(new CreateFleetCommand(input));

const idsOf = (r: { Instances?: { InstanceIds?: string[] }[] | undefined }): string[] => (r.Instances ?? []).flatMap((g) => g.InstanceIds ?? []);

async function describeFleet(client: EC2Client, id: string): Promise<FleetData> {
  const r = await client.send(new DescribeFleetsCommand({ FleetIds: [id] }));
  assert.equal(r.Fleets?.length, 1);
  return r.Fleets![0]!;
}

async function instancesIn(client: EC2Client): Promise<Instance[]> {
  const r = await client.send(new DescribeInstancesCommand({}));
  return (r.Reservations ?? []).flatMap((res) => res.Instances ?? []);
}

const tagValue = (i: Instance, key: string) => i.Tags?.find((t) => t.Key === key)?.Value;

// --- CreateFleet: Karpenter's case --------------------------------------------------------------------

test('Karpenter: NV template, overrides c8i/m6i/m8i — launches on supported types, m6i.large is an UnsupportedOperation error', async () => {
  const lt = await template(ec2);
  const r = await createFleet(
    ec2,
    fleetInput(
      lt.name,
      ['c8i.large', 'm6i.large', 'm8i.large'].map((t) => ({ InstanceType: t as never, AvailabilityZone: 'us-east-1a' })),
      3,
      {
        OnDemandOptions: { AllocationStrategy: 'lowest-price' },
        TagSpecifications: [
          { ResourceType: 'instance', Tags: [{ Key: 'karpenter.sh/nodepool', Value: 'default' }] },
          { ResourceType: 'fleet', Tags: [{ Key: 'karpenter.sh/nodepool', Value: 'default' }] },
        ],
      },
    ),
  );
  assert.match(r.FleetId!, FLEET_ID);

  // The unsupported type is reported with the API's own code and message, naming the override.
  assert.equal(r.Errors?.length, 1);
  const [err] = r.Errors!;
  assert.equal(err!.ErrorCode, 'UnsupportedOperation');
  assert.equal(err!.ErrorMessage, 'The instance type m6i.large does not support nested virtualization.');
  assert.equal(err!.Lifecycle, 'on-demand');
  assert.equal(err!.LaunchTemplateAndOverrides?.Overrides?.InstanceType, 'm6i.large');
  assert.equal(err!.LaunchTemplateAndOverrides?.Overrides?.AvailabilityZone, 'us-east-1a');
  assert.deepEqual(err!.LaunchTemplateAndOverrides?.LaunchTemplateSpecification, {
    LaunchTemplateId: lt.id,
    LaunchTemplateName: lt.name,
    Version: '1',
  });

  // lowest-price (nestbox's proxy: fewest vCPUs, then least memory) puts all three on c8i.large.
  assert.equal(r.Instances?.length, 1);
  const [group] = r.Instances!;
  assert.equal(group!.InstanceType, 'c8i.large');
  assert.equal(group!.Lifecycle, 'on-demand');
  assert.equal(group!.InstanceIds?.length, 3);
  assert.equal(group!.AvailabilityZone, 'us-east-1a');
  assert.equal(group!.LaunchTemplateAndOverrides?.Overrides?.InstanceType, 'c8i.large');
  assert.equal(group!.LaunchTemplateAndOverrides?.Overrides?.AvailabilityZone, 'us-east-1a');

  // The instances are what RunInstances with the template would have made, tagged by the fleet.
  for (const id of group!.InstanceIds!) {
    const i = await describeOne(ec2, id);
    assert.equal(i.InstanceType, 'c8i.large');
    assert.equal(i.CpuOptions?.NestedVirtualization, 'enabled');
    assert.equal(i.Placement?.AvailabilityZone, 'us-east-1a');
    assert.equal(i.InstanceLifecycle, undefined, 'On-Demand instances have no lifecycle');
    assert.equal(tagValue(i, 'aws:ec2:fleet-id'), r.FleetId);
    assert.equal(tagValue(i, 'aws:ec2launchtemplate:id'), lt.id);
    assert.equal(tagValue(i, 'aws:ec2launchtemplate:version'), '1');
    assert.equal(tagValue(i, 'karpenter.sh/nodepool'), 'default');
  }
  const f = await describeFleet(ec2, r.FleetId!);
  assert.deepEqual(f.Tags, [{ Key: 'karpenter.sh/nodepool', Value: 'default' }]);
});

test('a Karpenter-style fleet of one: the first instance and its override are enough to build a node', async () => {
  const lt = await template(ec2);
  const r = await createFleet(
    ec2,
    fleetInput(lt.name, [{ InstanceType: 'm6i.large', ImageId: LINUX_AMI, AvailabilityZone: 'us-east-1b' }, { InstanceType: 'm8i.large', ImageId: LINUX_AMI, AvailabilityZone: 'us-east-1b' }], 1),
  );
  const first = r.Instances?.[0];
  assert.equal(first?.InstanceIds?.length, 1);
  assert.equal(first?.InstanceType, 'm8i.large');
  assert.equal(first?.LaunchTemplateAndOverrides?.Overrides?.ImageId, LINUX_AMI);
  assert.equal(first?.LaunchTemplateAndOverrides?.Overrides?.AvailabilityZone, 'us-east-1b');
  assert.equal(r.Errors?.[0]?.ErrorCode, 'UnsupportedOperation');
});

test("an override's SubnetId goes through RunInstances' subnet rules: it places the instance, a bad one is an error entry", async () => {
  const lt = await template(ec2);
  const subnets = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-east-1c'] }] }));
  const subnetId = subnets.Subnets?.[0]?.SubnetId;
  assert.ok(subnetId);
  const r = await createFleet(
    ec2,
    fleetInput(lt.name, [{ InstanceType: 'c8i.large', SubnetId: 'subnet-0123456789abcdef0' }, { InstanceType: 'c8i.xlarge', SubnetId: subnetId, AvailabilityZone: 'us-east-1c' }], 1),
  );
  assert.equal(r.Errors?.[0]?.ErrorCode, 'InvalidSubnetID.NotFound');
  assert.equal(r.Errors?.[0]?.LaunchTemplateAndOverrides?.Overrides?.SubnetId, 'subnet-0123456789abcdef0');
  const [group] = r.Instances ?? [];
  assert.equal(group?.SubnetId, subnetId);
  assert.equal(group?.AvailabilityZone, 'us-east-1c');
  const i = await describeOne(ec2, group!.InstanceIds![0]!);
  assert.deepEqual([i.SubnetId, i.Placement?.AvailabilityZone], [subnetId, 'us-east-1c']);
});

test("a template that defines the primary network interface gets the override's subnet there", async () => {
  const subnets = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-east-1b'] }] }));
  const subnetId = subnets.Subnets?.[0]?.SubnetId;
  assert.ok(subnetId);
  const lt = await template(ec2, {
    ...NV_ENABLED,
    NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false, DeleteOnTermination: true }],
  });
  const r = await createFleet(ec2, fleetInput(lt.name, [{ InstanceType: 'c8i.large', SubnetId: subnetId }], 1));
  assert.deepEqual(r.Errors ?? [], []);
  const i = await describeOne(ec2, r.Instances![0]!.InstanceIds![0]!);
  assert.deepEqual([i.SubnetId, i.Placement?.AvailabilityZone, i.CpuOptions?.NestedVirtualization], [subnetId, 'us-east-1b', 'enabled']);
});

// --- allocation, Spot and weights -------------------------------------------------------------------

test('prioritized: the lowest Priority number first, overrides without one last', async () => {
  const lt = await template(ec2);
  const r = await createFleet(
    ec2,
    fleetInput(
      lt.name,
      [{ InstanceType: 'r8i.large' }, { InstanceType: 'c8i.large', Priority: 2 }, { InstanceType: 'm8i.large', Priority: 1 }],
      2,
      { OnDemandOptions: { AllocationStrategy: 'prioritized' } },
    ),
  );
  assert.deepEqual(
    r.Instances?.map((g) => [g.InstanceType, g.InstanceIds?.length]),
    [['m8i.large', 2]],
  );
  assert.deepEqual(r.Errors, []);
});

test('Spot: instances launch as Spot (nested virtualization allowed) and DescribeInstances filters on instance-lifecycle', async () => {
  const client = server.client('us-west-1');
  const lt = await template(client);
  const r = await createFleet(client, {
    ...fleetInput(lt.name, [{ InstanceType: 'c8i.large' }], 2),
    TargetCapacitySpecification: { TotalTargetCapacity: 2, DefaultTargetCapacityType: 'spot' },
    SpotOptions: { AllocationStrategy: 'price-capacity-optimized' },
  });
  assert.equal(r.Instances?.[0]?.Lifecycle, 'spot');
  const ids = idsOf(r);
  assert.equal(ids.length, 2);
  for (const id of ids) {
    const i = await describeOne(client, id);
    assert.equal(i.InstanceLifecycle, 'spot');
    assert.equal(i.CpuOptions?.NestedVirtualization, 'enabled');
  }
  // An On-Demand instance in the same region is not Spot.
  const od = await client.send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  const spot = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-lifecycle', Values: ['spot'] }] }));
  const spotIds = (spot.Reservations ?? []).flatMap((res) => (res.Instances ?? []).map((i) => i.InstanceId));
  assert.deepEqual(spotIds.sort(), [...ids].sort());
  assert.ok(!spotIds.includes(od.Instances![0]!.InstanceId));
  const f = await describeFleet(client, r.FleetId!);
  assert.equal(f.FulfilledCapacity, 2);
  assert.equal(f.FulfilledOnDemandCapacity, 0);
  assert.deepEqual(f.TargetCapacitySpecification, {
    TotalTargetCapacity: 2,
    OnDemandTargetCapacity: 0,
    SpotTargetCapacity: 2,
    DefaultTargetCapacityType: 'spot',
  });
});

test('On-Demand and Spot parts: the given parts, the rest in the default type', async () => {
  const lt = await template(ec2);
  const r = await createFleet(ec2, {
    ...fleetInput(lt.name, [{ InstanceType: 'c8i.large' }], 3),
    TargetCapacitySpecification: { TotalTargetCapacity: 3, OnDemandTargetCapacity: 1, SpotTargetCapacity: 1, DefaultTargetCapacityType: 'on-demand' },
  });
  assert.deepEqual(
    r.Instances?.map((g) => [g.Lifecycle, g.InstanceIds?.length]),
    [
      ['on-demand', 2],
      ['spot', 1],
    ],
  );
  const f = await describeFleet(ec2, r.FleetId!);
  assert.equal(f.FulfilledCapacity, 3);
  assert.equal(f.FulfilledOnDemandCapacity, 2);
});

test('WeightedCapacity: instances are rounded up to cover the target', async () => {
  const lt = await template(ec2);
  const r = await createFleet(ec2, fleetInput(lt.name, [{ InstanceType: 'c8i.xlarge', WeightedCapacity: 2 }], 3));
  assert.equal(idsOf(r).length, 2);
  const f = await describeFleet(ec2, r.FleetId!);
  assert.equal(f.FulfilledCapacity, 4);
  assert.equal(f.ActivityStatus, 'fulfilled');
});

test('a configuration without overrides launches the template as it is', async () => {
  const lt = await template(ec2);
  const r = await createFleet(ec2, fleetInput(lt.name, undefined, 1));
  assert.equal(r.Instances?.[0]?.InstanceType, 'c8i.large');
  assert.equal(r.Instances?.[0]?.LaunchTemplateAndOverrides?.Overrides, undefined);
});

// --- shortfalls -------------------------------------------------------------------------------------

test('capacity shortfall: a full Dedicated Host launches what fits and reports the rest with the launch error', async () => {
  const client = server.client('eu-west-1');
  await client.send(new AllocateHostsCommand({ AvailabilityZone: 'eu-west-1a', InstanceType: 'r8i.48xlarge', AutoPlacement: 'on', Quantity: 1 }));
  const lt = await template(client, { ...NV_ENABLED, Placement: { Tenancy: 'host' } });
  const r = await createFleet(client, fleetInput(lt.name, [{ InstanceType: 'r8i.48xlarge' }], 3));
  assert.equal(idsOf(r).length, 2, 'a 384-vCPU host holds two r8i.48xlarge');
  assert.equal(r.Errors?.length, 1);
  // The error is the one RunInstances answers for the same launch now that the host is full.
  const direct = await errorOf(
    client.send(
      new RunInstancesCommand({ LaunchTemplate: { LaunchTemplateName: lt.name }, InstanceType: 'r8i.48xlarge', MinCount: 1, MaxCount: 1 }),
    ),
  );
  assert.equal(r.Errors![0]!.ErrorCode, direct.code);
  assert.equal(r.Errors![0]!.ErrorMessage, direct.message);
  const f = await describeFleet(client, r.FleetId!);
  assert.equal(f.FulfilledCapacity, 2);
  assert.equal(f.ActivityStatus, 'error');
});

test('every override refused: a fleet with no instances and one error per override', async () => {
  const client = server.client('us-west-2');
  const lt = await template(client);
  const r = await createFleet(client, fleetInput(lt.name, [{ InstanceType: 'm6i.large' }, { InstanceType: 'x9z.large' as never }], 2));
  assert.match(r.FleetId!, FLEET_ID);
  assert.equal(idsOf(r).length, 0);
  assert.deepEqual(
    r.Errors?.map((e) => [e.ErrorCode, e.ErrorMessage]),
    [
      ['UnsupportedOperation', 'The instance type m6i.large does not support nested virtualization.'],
      ['InvalidParameterValue', "Invalid value 'x9z.large' for InstanceType."],
    ],
  );
  assert.equal((await instancesIn(client)).length, 0);
  assert.equal((await describeFleet(client, r.FleetId!)).ActivityStatus, 'error');
});

// --- DryRun, idempotency, refusals ------------------------------------------------------------------

test('DryRun: DryRunOperation (412) after the checks, and nothing is created', async () => {
  const client = server.client('eu-central-1');
  const lt = await template(client);
  const e = await errorOf(createFleet(client, fleetInput(lt.name, [{ InstanceType: 'c8i.large' }], 2, { DryRun: true })));
  assert.deepEqual([e.code, e.status], ['DryRunOperation', 412]);
  assert.equal((await instancesIn(client)).length, 0);
  // A missing template is reported before DryRun.
  const missing = await errorOf(createFleet(client, fleetInput('no-such-template', undefined, 1, { DryRun: true })));
  assert.equal(missing.code, 'InvalidLaunchTemplateName.NotFoundException');
});

test('ClientToken: a replay answers the same fleet and launches nothing; other parameters are a mismatch', async () => {
  const client = server.client('ap-southeast-1');
  const lt = await template(client);
  const input = fleetInput(lt.name, [{ InstanceType: 'c8i.large' }], 2, { ClientToken: `token-${process.pid}` });
  const first = await createFleet(client, input);
  const again = await createFleet(client, input);
  assert.equal(again.FleetId, first.FleetId);
  assert.deepEqual(idsOf(again), idsOf(first));
  assert.equal((await instancesIn(client)).length, 2);
  const e = await errorOf(createFleet(client, { ...input, TargetCapacitySpecification: { TotalTargetCapacity: 1, DefaultTargetCapacityType: 'on-demand' } }));
  assert.equal(e.code, 'IdempotentParameterMismatch');
  assert.match(e.message, new RegExp(`token-${process.pid}`));
  assert.equal((await describeFleet(client, first.FleetId!)).ClientToken, `token-${process.pid}`);
});

test('the launch template must exist, be named one way, and have a Version', async () => {
  const byName = await errorOf(createFleet(ec2, fleetInput('no-such-template', [{ InstanceType: 'c8i.large' }], 1)));
  assert.equal(byName.code, 'InvalidLaunchTemplateName.NotFoundException');
  assert.match(byName.message, /no-such-template/);
  const byId = await errorOf(
    createFleet(ec2, {
      ...fleetInput('x', undefined, 1),
      LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '1' } }],
    }),
  );
  assert.deepEqual([byId.code, byId.status], ['InvalidLaunchTemplateId.NotFound', 400]);
  assert.match(byId.message, /lt-0123456789abcdef0/);
  const lt = await template(ec2);
  const noVersion = await errorOf(
    createFleet(ec2, { ...fleetInput('x', undefined, 1), LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateName: lt.name } }] }),
  );
  assert.equal(noVersion.code, 'MissingParameter');
  assert.match(noVersion.message, /LaunchTemplateConfigs\.1\.LaunchTemplateSpecification\.Version/);
  const badVersion = await errorOf(
    createFleet(ec2, { ...fleetInput('x', undefined, 1), LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateName: lt.name, Version: '9' } }] }),
  );
  assert.equal(badVersion.code, 'InvalidLaunchTemplateId.VersionNotFound');
  const both = await errorOf(
    createFleet(ec2, {
      ...fleetInput('x', undefined, 1),
      LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateName: lt.name, LaunchTemplateId: lt.id, Version: '1' } }],
    }),
  );
  assert.equal(both.code, 'InvalidParameterCombination');
});

test('Type=request and maintain (the default) are refused as not implemented, naming the type', async () => {
  const lt = await template(ec2);
  for (const type of ['request', 'maintain'] as const) {
    const e = await errorOf(createFleet(ec2, fleetInput(lt.name, undefined, 1, { Type: type })));
    assert.deepEqual([e.code, e.status], ['NotImplemented', 501]);
    assert.match(e.message, new RegExp(`Type=${type}.*instant.*got ${type}`));
  }
  const { Type: _type, ...noType } = fleetInput(lt.name, undefined, 1);
  const defaulted = await errorOf(createFleet(ec2, noType));
  assert.equal(defaulted.code, 'NotImplemented');
  assert.match(defaulted.message, /maintain \(the default when Type is not given\)/);
  const bogus = await errorOf(createFleet(ec2, fleetInput(lt.name, undefined, 1, { Type: 'sometimes' as never })));
  assert.deepEqual([bogus.code, bogus.message], ['InvalidParameterValue', 'Value (sometimes) for parameter Type is invalid. Valid values: instant, request, maintain.']);
});

test('target capacity, strategies and unimplemented options are checked, naming the value', async () => {
  const lt = await template(ec2);
  const cases: [Partial<CreateFleetCommandInput>, string, RegExp][] = [
    [{ TargetCapacitySpecification: { TotalTargetCapacity: 0 } }, 'InvalidParameterValue', /Value \(0\) for parameter TotalTargetCapacity/],
    [
      { TargetCapacitySpecification: { TotalTargetCapacity: 2, OnDemandTargetCapacity: 2, SpotTargetCapacity: 1 } },
      'InvalidParameterValue',
      /OnDemandTargetCapacity \(2\) and SpotTargetCapacity \(1\) exceeds TotalTargetCapacity \(2\)/,
    ],
    [{ TargetCapacitySpecification: { TotalTargetCapacity: 1, DefaultTargetCapacityType: 'capacity-block' } }, 'NotImplemented', /capacity-block/],
    [{ OnDemandOptions: { AllocationStrategy: 'cheapest' as never } }, 'InvalidParameterValue', /\(cheapest\) for parameter OnDemandOptions\.AllocationStrategy/],
    [{ SpotOptions: { MinTargetCapacity: 1, SingleInstanceType: false } }, 'NotImplemented', /SpotOptions\.MinTargetCapacity/],
    [
      { LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateName: lt.name, Version: '1' }, Overrides: [{ WeightedCapacity: 0 }] }] },
      'InvalidParameterValue',
      /Value \(0\) for parameter WeightedCapacity/,
    ],
    [
      {
        LaunchTemplateConfigs: [
          { LaunchTemplateSpecification: { LaunchTemplateName: lt.name, Version: '1' }, Overrides: [{ InstanceRequirements: { VCpuCount: { Min: 2 }, MemoryMiB: { Min: 1 } } }] },
        ],
      },
      'NotImplemented',
      /InstanceRequirements/,
    ],
    [{ TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'k', Value: 'v' }] }] }, 'InvalidParameterValue', /'launch-template'/],
    [{ LaunchTemplateConfigs: undefined }, 'MissingParameter', /LaunchTemplateConfigs/],
  ];
  for (const [patch, code, message] of cases) {
    const e = await errorOf(createFleet(ec2, { ...fleetInput(lt.name, [{ InstanceType: 'c8i.large' }], 1), ...patch }));
    assert.equal(e.code, code, JSON.stringify(patch));
    assert.match(e.message, message);
  }
});

// --- DescribeFleets ---------------------------------------------------------------------------------

test('DescribeFleets: an instant fleet shows when named, with its launch, configuration and tags', async () => {
  const client = server.client('ap-northeast-1');
  const lt = await template(client);
  const r = await createFleet(
    client,
    fleetInput(lt.name, [{ InstanceType: 'c8i.large', Priority: 1 }, { InstanceType: 'm6i.large', Priority: 2 }], 1, {
      TagSpecifications: [{ ResourceType: 'fleet', Tags: [{ Key: 'team', Value: 'ci' }] }],
    }),
  );
  const f = await describeFleet(client, r.FleetId!);
  assert.equal(f.Type, 'instant');
  assert.equal(f.FleetState, 'active');
  assert.equal(f.ActivityStatus, 'fulfilled');
  assert.equal(f.FulfilledCapacity, 1);
  assert.ok(f.CreateTime instanceof Date);
  assert.deepEqual(f.LaunchTemplateConfigs, [
    {
      LaunchTemplateSpecification: { LaunchTemplateName: lt.name, Version: '$Latest' },
      Overrides: [
        { InstanceType: 'c8i.large', Priority: 1 },
        { InstanceType: 'm6i.large', Priority: 2 },
      ],
    },
  ]);
  assert.deepEqual(idsOf(f), idsOf(r));
  assert.equal(f.Errors?.[0]?.ErrorCode, 'UnsupportedOperation');
  assert.deepEqual(f.Tags, [{ Key: 'team', Value: 'ci' }]);

  // Instant fleets appear only when named (EC2 documents this); filters apply to the named ones.
  assert.deepEqual((await client.send(new DescribeFleetsCommand({}))).Fleets, []);
  const filtered = async (Name: string, Values: string[]) =>
    (await client.send(new DescribeFleetsCommand({ FleetIds: [r.FleetId!], Filters: [{ Name, Values }] }))).Fleets?.length;
  assert.equal(await filtered('fleet-state', ['active']), 1);
  assert.equal(await filtered('type', ['maintain']), 0);
  assert.equal(await filtered('activity-status', ['fulfilled']), 1);
  assert.equal(await filtered('tag:team', ['ci']), 1);
  const badFilter = await errorOf(client.send(new DescribeFleetsCommand({ FleetIds: [r.FleetId!], Filters: [{ Name: 'color', Values: ['x'] }] })));
  assert.equal(badFilter.code, 'InvalidParameterValue');

  // Tags work through the tag API too.
  await client.send(new CreateTagsCommand({ Resources: [r.FleetId!], Tags: [{ Key: 'extra', Value: '1' }] }));
  const tags = await client.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-type', Values: ['fleet'] }] }));
  assert.deepEqual(
    tags.Tags?.map((t) => [t.ResourceId, t.Key]),
    [
      [r.FleetId, 'team'],
      [r.FleetId, 'extra'],
    ],
  );

  const missing = await errorOf(client.send(new DescribeFleetsCommand({ FleetIds: [NO_SUCH_FLEET] })));
  assert.deepEqual([missing.code, missing.message], ['InvalidFleetId.NotFound', `The fleet ID '${NO_SUCH_FLEET}' does not exist`]);
  const malformed = await errorOf(client.send(new DescribeFleetsCommand({ FleetIds: ['fleet-123'] })));
  assert.deepEqual([malformed.code, malformed.message], ['InvalidFleetId.Malformed', 'Invalid id: "fleet-123" (expecting "fleet-...")']);
  // Other regions do not see it.
  const elsewhere = await errorOf(server.client('sa-east-1').send(new DescribeFleetsCommand({ FleetIds: [r.FleetId!] })));
  assert.equal(elsewhere.code, 'InvalidFleetId.NotFound');
});

test('DescribeFleetInstances answers Unsupported for an instant fleet, in EC2 words', async () => {
  const lt = await template(ec2);
  const r = await createFleet(ec2, fleetInput(lt.name, undefined, 1));
  const e = await errorOf(ec2.send(new DescribeFleetInstancesCommand({ FleetId: r.FleetId! })));
  assert.deepEqual(
    [e.code, e.message],
    ['Unsupported', `Fleet ${r.FleetId} is instant fleet. Describe fleet instances is not supported by this type of fleet`],
  );
  const missing = await errorOf(ec2.send(new DescribeFleetInstancesCommand({ FleetId: NO_SUCH_FLEET })));
  assert.equal(missing.code, 'InvalidFleetId.NotFound');
});

// --- DeleteFleets -----------------------------------------------------------------------------------

test('DeleteFleets terminates the instances; the fleet is deleted_terminating, then deleted', async () => {
  const client = server.client('ca-central-1');
  const lt = await template(client);
  const r = await createFleet(client, fleetInput(lt.name, [{ InstanceType: 'c8i.large' }], 2));
  const ids = idsOf(r);

  const keep = await client.send(new DeleteFleetsCommand({ FleetIds: [r.FleetId!], TerminateInstances: false }));
  assert.deepEqual(keep.SuccessfulFleetDeletions, []);
  assert.equal(keep.UnsuccessfulFleetDeletions?.[0]?.Error?.Code, 'fleetNotInDeletableState');
  assert.match(keep.UnsuccessfulFleetDeletions![0]!.Error!.Message!, /TerminateInstances=true/);

  const d = await client.send(new DeleteFleetsCommand({ FleetIds: [r.FleetId!, NO_SUCH_FLEET, 'fleet-x'], TerminateInstances: true }));
  assert.deepEqual(d.SuccessfulFleetDeletions, [{ FleetId: r.FleetId, PreviousFleetState: 'active', CurrentFleetState: 'deleted_terminating' }]);
  assert.deepEqual(
    d.UnsuccessfulFleetDeletions?.map((u) => [u.FleetId, u.Error?.Code]),
    [
      [NO_SUCH_FLEET, 'fleetIdDoesNotExist'],
      ['fleet-x', 'fleetIdMalformed'],
    ],
  );
  for (const id of ids) assert.match((await describeOne(client, id)).State!.Name!, /shutting-down|terminated/);
  // The answer above is the deterministic check of deleted_terminating. By the time DescribeFleets runs the
  // simulated terminations (50 ms) may have finished under load, so the fleet may already be deleted.
  assert.match((await describeFleet(client, r.FleetId!)).FleetState ?? '', /^deleted_terminating$|^deleted$/);
  await eventually(async () => ((await describeFleet(client, r.FleetId!)).FleetState === 'deleted' ? true : undefined), 5000, 'fleet deleted');

  const again = await client.send(new DeleteFleetsCommand({ FleetIds: [r.FleetId!], TerminateInstances: true }));
  assert.equal(again.UnsuccessfulFleetDeletions?.[0]?.Error?.Code, 'fleetNotInDeletableState');
  const missing = await errorOf(client.send(new DeleteFleetsCommand({ FleetIds: [r.FleetId!] } as never)));
  assert.deepEqual([missing.code, missing.message], ['MissingParameter', 'The request must contain the parameter TerminateInstances']);
});

test('DeleteFleets: a protected instance keeps its fleet, reported on its own; DryRun changes nothing', async () => {
  const client = server.client('eu-west-2');
  const lt = await template(client, { ...NV_ENABLED, DisableApiTermination: true });
  const r = await createFleet(client, fleetInput(lt.name, undefined, 1));
  const dry = await errorOf(client.send(new DeleteFleetsCommand({ FleetIds: [r.FleetId!], TerminateInstances: true, DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  const d = await client.send(new DeleteFleetsCommand({ FleetIds: [r.FleetId!], TerminateInstances: true }));
  assert.equal(d.UnsuccessfulFleetDeletions?.[0]?.Error?.Code, 'unexpectedError');
  assert.match(d.UnsuccessfulFleetDeletions![0]!.Error!.Message!, /disableApiTermination/);
  assert.equal((await describeFleet(client, r.FleetId!)).FleetState, 'active');
  assert.equal((await describeOne(client, idsOf(r)[0]!)).State?.Name !== 'shutting-down', true);
});

test('a fleet survives a restart', async () => {
  const lt = await template(ec2);
  const r = await createFleet(ec2, fleetInput(lt.name, undefined, 1, { TagSpecifications: [{ ResourceType: 'fleet', Tags: [{ Key: 'k', Value: 'v' }] }] }));
  server = await server.restart();
  ec2 = server.client('us-east-1');
  const f = await describeFleet(ec2, r.FleetId!);
  assert.deepEqual(idsOf(f), idsOf(r));
  assert.deepEqual(f.Tags, [{ Key: 'k', Value: 'v' }]);
});
