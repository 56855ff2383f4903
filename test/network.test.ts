/**
 * The default VPC through the real AWS SDK: DescribeVpcs, DescribeSubnets and DescribeSecurityGroups
 * (shapes, IDs, filters, paging, errors, per account and Region), tags on the VPC, its subnets and
 * its security group (the Karpenter discovery pattern), RunInstances' SubnetId / SecurityGroupIds /
 * SecurityGroups / NetworkInterfaces (also from a launch template), and what DescribeInstances shows
 * and filters. Each test works in a Region of its own where it counts instances or tags.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AllocateHostsCommand,
  CreateLaunchTemplateCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeAccountAttributesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  type DescribeSecurityGroupsCommandInput,
  DescribeSubnetsCommand,
  type DescribeSubnetsCommandInput,
  DescribeTagsCommand,
  DescribeVpcsCommand,
  type DescribeVpcsCommandInput,
  type EC2Client,
  type Filter,
  GetLaunchTemplateDataCommand,
  type RequestLaunchTemplateData,
  type RunInstancesCommandInput,
  type SecurityGroup,
  type Subnet,
  TerminateInstancesCommand,
  type Vpc,
} from '@aws-sdk/client-ec2';
import { LINUX_AMI, type TestServer, describeOne, errorOf, eventually, launch, launchOne, startTestServer } from './helpers.js';

const NO_SUCH_VPC = 'vpc-0123456789abcdef0';
const NO_SUCH_SUBNET = 'subnet-0123456789abcdef0';
const NO_SUCH_GROUP = 'sg-0123456789abcdef0';
const ACCOUNT = '000000000000';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

// --- helpers ----------------------------------------------------------------------------------------

const f = (Name: string, ...Values: string[]): Filter => ({ Name, Values });

async function vpcs(c: EC2Client, input: DescribeVpcsCommandInput = {}): Promise<Vpc[]> {
  return (await c.send(new DescribeVpcsCommand(input))).Vpcs ?? [];
}
async function subnets(c: EC2Client, input: DescribeSubnetsCommandInput = {}): Promise<Subnet[]> {
  return (await c.send(new DescribeSubnetsCommand(input))).Subnets ?? [];
}
async function groups(c: EC2Client, input: DescribeSecurityGroupsCommandInput = {}): Promise<SecurityGroup[]> {
  return (await c.send(new DescribeSecurityGroupsCommand(input))).SecurityGroups ?? [];
}

/** The default network of a client's Region: VPC ID, subnet ID per zone, default group ID. */
async function network(c: EC2Client): Promise<{ vpcId: string; subnet: Record<string, string>; sg: string }> {
  const [vpc] = await vpcs(c);
  const [sg] = await groups(c);
  const subnet = Object.fromEntries((await subnets(c)).map((s) => [s.AvailabilityZone!, s.SubnetId!]));
  return { vpcId: vpc!.VpcId!, subnet, sg: sg!.GroupId! };
}

async function instanceCount(c: EC2Client): Promise<number> {
  const r = await c.send(new DescribeInstancesCommand({}));
  return (r.Reservations ?? []).flatMap((x) => x.Instances ?? []).length;
}

const idsOf = (items: readonly { SubnetId?: string | undefined }[]) => items.map((s) => s.SubnetId);

/** Terminates an instance and waits until it is `terminated` (a shutting-down one still holds its address). */
async function terminate(c: EC2Client, id: string): Promise<void> {
  await c.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await eventually(async () => ((await describeOne(c, id)).State?.Name === 'terminated' ? true : undefined), 5000, `${id} terminated`);
}

/** A RunInstances that must fail: its error, and proof that nothing was launched. */
async function refusedLaunch(c: EC2Client, params: Partial<RunInstancesCommandInput>) {
  const before = await instanceCount(c);
  const e = await errorOf(launch(c, params));
  assert.equal(await instanceCount(c), before, `a refused launch created instances: ${JSON.stringify(params)}`);
  return e;
}

// --- DescribeVpcs -----------------------------------------------------------------------------------

test('DescribeVpcs: one default VPC per Region, 172.31.0.0/16, the one DescribeAccountAttributes names', async () => {
  const c = server.client('us-east-1');
  const [vpc, ...rest] = await vpcs(c);
  assert.equal(rest.length, 0);
  assert.match(vpc!.VpcId!, /^vpc-[0-9a-f]{17}$/);
  assert.match(vpc!.DhcpOptionsId!, /^dopt-[0-9a-f]{17}$/);
  assert.deepEqual(
    { ...vpc, VpcId: undefined, DhcpOptionsId: undefined, CidrBlockAssociationSet: undefined },
    {
      OwnerId: ACCOUNT,
      InstanceTenancy: 'default',
      IsDefault: true,
      BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
      State: 'available',
      CidrBlock: '172.31.0.0/16',
      VpcId: undefined,
      DhcpOptionsId: undefined,
      CidrBlockAssociationSet: undefined,
    },
  );
  const [assoc] = vpc!.CidrBlockAssociationSet!;
  assert.match(assoc!.AssociationId!, /^vpc-cidr-assoc-[0-9a-f]{17}$/);
  assert.deepEqual({ ...assoc, AssociationId: undefined }, { AssociationId: undefined, CidrBlock: '172.31.0.0/16', CidrBlockState: { State: 'associated' } });

  const attrs = await c.send(new DescribeAccountAttributesCommand({ AttributeNames: ['default-vpc'] }));
  assert.equal(attrs.AccountAttributes?.[0]?.AttributeValues?.[0]?.AttributeValue, vpc!.VpcId);

  // another Region has its own, and it is stable
  const [other] = await vpcs(server.client('eu-west-1'));
  assert.notEqual(other!.VpcId, vpc!.VpcId);
  assert.equal((await vpcs(c))[0]!.VpcId, vpc!.VpcId);
});

test('DescribeVpcs: IDs and filters (Terraform\'s isDefault too), errors, DryRun, paging', async () => {
  const c = server.client('us-east-2');
  const [vpc] = await vpcs(c);
  const id = vpc!.VpcId!;
  assert.deepEqual((await vpcs(c, { VpcIds: [id] })).map((v) => v.VpcId), [id]);
  for (const filters of [
    [f('is-default', 'true')],
    [f('isDefault', 'true')],
    [f('cidr', '172.31.0.0/16')],
    [f('cidr-block-association.cidr-block', '172.31.*')],
    [f('cidr-block-association.state', 'associated')],
    [f('state', 'available'), f('owner-id', ACCOUNT), f('vpc-id', id)],
    [f('dhcp-options-id', vpc!.DhcpOptionsId!)],
  ]) {
    assert.deepEqual((await vpcs(c, { Filters: filters })).map((v) => v.VpcId), [id], JSON.stringify(filters));
  }
  for (const filters of [[f('is-default', 'false')], [f('cidr', '10.0.0.0/16')], [f('ipv6-cidr-block-association.ipv6-cidr-block', '*')]]) {
    assert.deepEqual(await vpcs(c, { Filters: filters }), [], JSON.stringify(filters));
  }

  const unknown = await errorOf(c.send(new DescribeVpcsCommand({ VpcIds: [id, NO_SUCH_VPC] })));
  assert.deepEqual([unknown.code, unknown.status], ['InvalidVpcID.NotFound', 400]);
  assert.equal(unknown.message, `The vpc ID '${NO_SUCH_VPC}' does not exist`);
  // a VPC of another Region is not this Region's
  const [elsewhere] = await vpcs(server.client('ap-south-1'));
  assert.equal((await errorOf(c.send(new DescribeVpcsCommand({ VpcIds: [elsewhere!.VpcId!] })))).code, 'InvalidVpcID.NotFound');
  const malformed = await errorOf(c.send(new DescribeVpcsCommand({ VpcIds: ['vpc-xyz'] })));
  assert.deepEqual([malformed.code, malformed.status], ['InvalidVpcID.Malformed', 400]);
  assert.match(malformed.message, /"vpc-xyz"/);
  const badFilter = await errorOf(c.send(new DescribeVpcsCommand({ Filters: [f('subnet-id', 'x')] })));
  assert.deepEqual([badFilter.code, badFilter.message], ['InvalidParameterValue', "The filter 'subnet-id' is invalid"]);
  const dry = await errorOf(c.send(new DescribeVpcsCommand({ DryRun: true })));
  assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 412]);

  const page = await c.send(new DescribeVpcsCommand({ MaxResults: 5 }));
  assert.deepEqual([page.Vpcs?.length, page.NextToken], [1, undefined]);
  assert.equal((await errorOf(c.send(new DescribeVpcsCommand({ MaxResults: 4 })))).code, 'InvalidParameterValue');
});

// --- DescribeSubnets --------------------------------------------------------------------------------

test('DescribeSubnets: one default subnet per zone, 172.31.<16k>.0/20, with the zone IDs DescribeAvailabilityZones gives', async () => {
  for (const [region, count] of [['us-east-1', 6], ['eu-west-1', 3], ['us-west-1', 2]] as const) {
    const c = server.client(region);
    const zones = (await c.send(new DescribeAvailabilityZonesCommand({}))).AvailabilityZones ?? [];
    const [vpc] = await vpcs(c);
    const list = await subnets(c);
    assert.equal(list.length, count, region);
    list.forEach((s, k) => {
      assert.match(s.SubnetId!, /^subnet-[0-9a-f]{17}$/);
      assert.equal(s.AvailabilityZone, zones[k]!.ZoneName);
      assert.equal(s.AvailabilityZoneId, zones[k]!.ZoneId);
      assert.equal(s.CidrBlock, `172.31.${16 * k}.0/20`);
      assert.equal(s.VpcId, vpc!.VpcId);
      assert.equal(s.SubnetArn, `arn:aws:ec2:${region}:${ACCOUNT}:subnet/${s.SubnetId}`);
      assert.deepEqual(
        [s.State, s.DefaultForAz, s.MapPublicIpOnLaunch, s.AvailableIpAddressCount, s.OwnerId, s.AssignIpv6AddressOnCreation],
        ['available', true, true, 4091, ACCOUNT, false],
      );
      assert.deepEqual(s.Ipv6CidrBlockAssociationSet, []);
    });
    assert.equal(new Set(list.map((s) => s.SubnetId)).size, count);
  }
  // us-east-1a is use1-az6
  const [a] = await subnets(server.client('us-east-1'), { Filters: [f('availability-zone', 'us-east-1a')] });
  assert.equal(a!.AvailabilityZoneId, 'use1-az6');
});

test('DescribeSubnets: IDs, filters (with the camel-case names Terraform sends), errors, paging', async () => {
  const c = server.client('us-west-2');
  const all = await subnets(c);
  const [a, b] = all;
  const { vpcId } = await network(c);
  assert.deepEqual(idsOf(await subnets(c, { SubnetIds: [b!.SubnetId!, a!.SubnetId!] })), [a!.SubnetId, b!.SubnetId]);
  const cases: [Filter[], (string | undefined)[]][] = [
    [[f('availability-zone', 'us-west-2b')], [b!.SubnetId]],
    [[f('availabilityZone', 'us-west-2b')], [b!.SubnetId]],
    [[f('availability-zone-id', a!.AvailabilityZoneId!)], [a!.SubnetId]],
    [[f('availabilityZoneId', a!.AvailabilityZoneId!)], [a!.SubnetId]],
    [[f('cidr-block', '172.31.16.0/20')], [b!.SubnetId]],
    [[f('cidrBlock', '172.31.16.0/20')], [b!.SubnetId]],
    [[f('cidr', '172.31.0.0/20', '172.31.16.0/20')], [a!.SubnetId, b!.SubnetId]],
    [[f('default-for-az', 'true')], idsOf(all)],
    [[f('defaultForAz', 'true')], idsOf(all)],
    [[f('default-for-az', 'false')], []],
    [[f('vpc-id', vpcId), f('state', 'available'), f('map-public-ip-on-launch', 'true')], idsOf(all)],
    [[f('vpc-id', NO_SUCH_VPC)], []],
    [[f('subnet-id', a!.SubnetId!)], [a!.SubnetId]],
    [[f('subnet-arn', b!.SubnetArn!)], [b!.SubnetId]],
    [[f('owner-id', ACCOUNT), f('available-ip-address-count', '4091')], idsOf(all)],
  ];
  for (const [filters, expected] of cases) assert.deepEqual(idsOf(await subnets(c, { Filters: filters })), expected, JSON.stringify(filters));

  const unknown = await errorOf(c.send(new DescribeSubnetsCommand({ SubnetIds: [a!.SubnetId!, NO_SUCH_SUBNET] })));
  assert.deepEqual([unknown.code, unknown.status, unknown.message], ['InvalidSubnetID.NotFound', 400, `The subnet ID '${NO_SUCH_SUBNET}' does not exist`]);
  const [elsewhere] = await subnets(server.client('sa-east-1'));
  const foreign = await errorOf(c.send(new DescribeSubnetsCommand({ SubnetIds: [elsewhere!.SubnetId!] })));
  assert.equal(foreign.code, 'InvalidSubnetID.NotFound');
  const malformed = await errorOf(c.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-1'] })));
  assert.deepEqual([malformed.code, malformed.status], ['InvalidSubnetID.Malformed', 400]);
  assert.match(malformed.message, /"subnet-1"/);
  assert.equal((await errorOf(c.send(new DescribeSubnetsCommand({ Filters: [f('group-id', 'x')] })))).code, 'InvalidParameterValue');
  assert.equal((await errorOf(c.send(new DescribeSubnetsCommand({ DryRun: true })))).status, 412);

  // us-east-1's six subnets, five at a time
  const e1 = server.client('us-east-1');
  const first = await e1.send(new DescribeSubnetsCommand({ MaxResults: 5 }));
  assert.equal(first.Subnets?.length, 5);
  assert.ok(first.NextToken);
  const second = await e1.send(new DescribeSubnetsCommand({ MaxResults: 5, NextToken: first.NextToken }));
  assert.deepEqual([second.Subnets?.length, second.NextToken], [1, undefined]);
  assert.equal(second.Subnets?.[0]?.AvailabilityZone, 'us-east-1f');
});

test('DescribeSubnets: AvailableIpAddressCount counts the instances in the subnet', async () => {
  const c = server.client('ca-central-1');
  const { subnet } = await network(c);
  const [i] = await launch(c, { SubnetId: subnet['ca-central-1b'], MinCount: 2, MaxCount: 2 });
  const count = async (zone: string) => (await subnets(c, { Filters: [f('availability-zone', zone)] }))[0]!.AvailableIpAddressCount;
  assert.equal(await count('ca-central-1b'), 4089);
  assert.equal(await count('ca-central-1a'), 4091);
  await terminate(c, i!.InstanceId!);
  assert.equal(await count('ca-central-1b'), 4090);
});

// --- DescribeSecurityGroups -------------------------------------------------------------------------

test('DescribeSecurityGroups: the default group with its default rules; IDs, names, filters, errors', async () => {
  const c = server.client('eu-central-1');
  const { vpcId } = await network(c);
  const [sg, ...rest] = await groups(c);
  assert.equal(rest.length, 0);
  const id = sg!.GroupId!;
  assert.match(id, /^sg-[0-9a-f]{17}$/);
  assert.deepEqual(sg, {
    GroupId: id,
    GroupName: 'default',
    Description: 'default VPC security group',
    VpcId: vpcId,
    OwnerId: ACCOUNT,
    SecurityGroupArn: `arn:aws:ec2:eu-central-1:${ACCOUNT}:security-group/${id}`,
    // in: all traffic from members of the group itself (EC2's), and SSH from anywhere (nestbox's, so ssh works);
    // out: all traffic anywhere
    IpPermissions: [
      { IpProtocol: '-1', UserIdGroupPairs: [{ UserId: ACCOUNT, GroupId: id }], IpRanges: [], Ipv6Ranges: [], PrefixListIds: [] },
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        UserIdGroupPairs: [],
        IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'SSH from anywhere (nestbox: so ssh works out of the box)' }],
        Ipv6Ranges: [],
        PrefixListIds: [],
      },
    ],
    IpPermissionsEgress: [
      { IpProtocol: '-1', UserIdGroupPairs: [], IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [] },
    ],
  });
  const ids = async (input: DescribeSecurityGroupsCommandInput) => (await groups(c, input)).map((g) => g.GroupId);
  assert.deepEqual(await ids({ GroupIds: [id] }), [id]);
  assert.deepEqual(await ids({ GroupNames: ['default'] }), [id]);
  for (const filters of [
    [f('group-name', 'default')],
    [f('group-id', id), f('vpc-id', vpcId), f('owner-id', ACCOUNT)],
    [f('description', 'default VPC*')],
    [f('ip-permission.protocol', '-1'), f('ip-permission.group-id', id), f('ip-permission.user-id', ACCOUNT)],
    [f('ip-permission.group-name', 'default')],
    [f('egress.ip-permission.cidr', '0.0.0.0/0'), f('egress.ip-permission.protocol', '-1')],
    // the SSH rule
    [f('ip-permission.cidr', '0.0.0.0/0'), f('ip-permission.protocol', 'tcp')],
    [f('ip-permission.from-port', '22'), f('ip-permission.to-port', '22')],
  ]) {
    assert.deepEqual(await ids({ Filters: filters }), [id], JSON.stringify(filters));
  }
  for (const filters of [
    [f('group-name', 'web')],
    [f('ip-permission.cidr', '10.0.0.0/8')],
    [f('ip-permission.from-port', '80')],
    [f('ip-permission.protocol', 'udp')],
    [f('egress.ip-permission.protocol', 'tcp')],
  ]) {
    assert.deepEqual(await ids({ Filters: filters }), [], JSON.stringify(filters));
  }

  const unknown = await errorOf(c.send(new DescribeSecurityGroupsCommand({ GroupIds: [NO_SUCH_GROUP] })));
  assert.deepEqual([unknown.code, unknown.status, unknown.message], ['InvalidGroup.NotFound', 400, `The security group '${NO_SUCH_GROUP}' does not exist`]);
  const byName = await errorOf(c.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default', 'web'] })));
  assert.deepEqual([byName.code, byName.message], ['InvalidGroup.NotFound', `The security group 'web' does not exist in default VPC '${vpcId}'`]);
  const [elsewhere] = await groups(server.client('eu-north-1'));
  assert.notEqual(elsewhere!.GroupId, id);
  assert.equal((await errorOf(c.send(new DescribeSecurityGroupsCommand({ GroupIds: [elsewhere!.GroupId!] })))).code, 'InvalidGroup.NotFound');
  const malformed = await errorOf(c.send(new DescribeSecurityGroupsCommand({ GroupIds: ['default'] })));
  assert.deepEqual([malformed.code, malformed.status], ['InvalidGroupId.Malformed', 400]);
  assert.match(malformed.message, /"default"/);
  assert.equal((await errorOf(c.send(new DescribeSecurityGroupsCommand({ Filters: [f('cidr', 'x')] })))).code, 'InvalidParameterValue');
  assert.equal((await errorOf(c.send(new DescribeSecurityGroupsCommand({ GroupIds: [id], DryRun: true })))).status, 412);
  const page = await c.send(new DescribeSecurityGroupsCommand({ MaxResults: 5 }));
  assert.deepEqual([page.SecurityGroups?.length, page.NextToken], [1, undefined]);
});

// --- tags -------------------------------------------------------------------------------------------

test('tags: subnets and security groups are found by tag, as Karpenter discovers them', async () => {
  const c = server.client('ap-northeast-2');
  const { vpcId, subnet, sg } = await network(c);
  const discovery = [{ Key: 'karpenter.sh/discovery', Value: 'my-cluster' }];
  const tagged = [subnet['ap-northeast-2a']!, subnet['ap-northeast-2c']!];
  await c.send(new CreateTagsCommand({ Resources: [...tagged, sg, vpcId], Tags: discovery }));

  const found = await subnets(c, { Filters: [f('tag:karpenter.sh/discovery', 'my-cluster')] });
  assert.deepEqual(idsOf(found), tagged);
  assert.deepEqual(found[0]!.Tags, discovery);
  assert.deepEqual(idsOf(await subnets(c, { Filters: [f('tag-key', 'karpenter.sh/discovery')] })), tagged);
  assert.equal((await subnets(c, { Filters: [f('availability-zone', 'ap-northeast-2b')] }))[0]!.Tags, undefined);
  const sgs = await groups(c, { Filters: [f('tag:karpenter.sh/discovery', 'my-cluster')] });
  assert.deepEqual(sgs.map((g) => [g.GroupId, g.Tags]), [[sg, discovery]]);
  assert.deepEqual((await vpcs(c, { Filters: [f('tag-value', 'my-*')] })).map((v) => [v.VpcId, v.Tags]), [[vpcId, discovery]]);

  const described = await c.send(new DescribeTagsCommand({ Filters: [f('key', 'karpenter.sh/discovery')] }));
  assert.deepEqual(
    (described.Tags ?? []).map((t) => [t.ResourceType, t.ResourceId]).sort(),
    [['security-group', sg], ['subnet', tagged[0]], ['subnet', tagged[1]], ['vpc', vpcId]].sort(),
  );
  const onlySubnets = await c.send(new DescribeTagsCommand({ Filters: [f('resource-type', 'subnet')] }));
  assert.equal(onlySubnets.Tags?.length, 2);

  // another Region sees none of it
  assert.deepEqual(await subnets(server.client('ap-northeast-1'), { Filters: [f('tag-key', 'karpenter.sh/discovery')] }), []);
  assert.deepEqual((await server.client('ap-northeast-1').send(new DescribeTagsCommand({}))).Tags, []);

  await c.send(new DeleteTagsCommand({ Resources: [tagged[0]!, sg], Tags: [{ Key: 'karpenter.sh/discovery' }] }));
  assert.deepEqual(idsOf(await subnets(c, { Filters: [f('tag:karpenter.sh/discovery', 'my-cluster')] })), [tagged[1]]);
  assert.deepEqual(await groups(c, { Filters: [f('tag-key', 'karpenter.sh/discovery')] }), []);
});

test('tags: unknown, foreign and malformed network IDs get their own errors, and nothing is tagged', async () => {
  const c = server.client('ap-southeast-2');
  const { subnet } = await network(c);
  const mine = subnet['ap-southeast-2a']!;
  const foreign = (await network(server.client('ap-southeast-1'))).subnet['ap-southeast-1a']!;
  const tags = [{ Key: 'team', Value: 'x' }];
  const cases: [string, string][] = [
    [NO_SUCH_SUBNET, 'InvalidSubnetID.NotFound'],
    [foreign, 'InvalidSubnetID.NotFound'],
    ['subnet-zz', 'InvalidSubnetID.Malformed'],
    [NO_SUCH_GROUP, 'InvalidGroup.NotFound'],
    ['sg-1', 'InvalidGroupId.Malformed'],
    [NO_SUCH_VPC, 'InvalidVpcID.NotFound'],
    ['vpc-', 'InvalidVpcID.Malformed'],
  ];
  for (const [id, code] of cases) {
    const e = await errorOf(c.send(new CreateTagsCommand({ Resources: [mine, id], Tags: tags })));
    assert.deepEqual([e.code, e.status], [code, 400], id);
    assert.ok(e.message.includes(id), e.message);
  }
  assert.deepEqual((await c.send(new DescribeTagsCommand({}))).Tags, []);
  assert.equal((await errorOf(c.send(new DeleteTagsCommand({ Resources: [NO_SUCH_SUBNET] })))).code, 'InvalidSubnetID.NotFound');
});

// --- RunInstances -----------------------------------------------------------------------------------

test('RunInstances: SubnetId decides the zone; a matching Placement zone is fine, another is refused', async () => {
  const c = server.client('us-east-1');
  const { subnet, vpcId, sg } = await network(c);
  const i = await launchOne(c, { SubnetId: subnet['us-east-1c'] });
  assert.deepEqual([i.Placement?.AvailabilityZone, i.SubnetId, i.VpcId], ['us-east-1c', subnet['us-east-1c'], vpcId]);
  assert.deepEqual(i.SecurityGroups, [{ GroupId: sg, GroupName: 'default' }]);
  const same = await launchOne(c, { SubnetId: subnet['us-east-1d'], Placement: { AvailabilityZone: 'us-east-1d' } });
  assert.equal(same.Placement?.AvailabilityZone, 'us-east-1d');
  // Each private address lies in its subnet: us-east-1c is the third zone, 172.31.32.0/20; 1d 172.31.48.0/20.
  const thirdOctet = (ip: string | undefined) => Number(ip?.split('.')[2]);
  assert.ok(thirdOctet(i.PrivateIpAddress) >= 32 && thirdOctet(i.PrivateIpAddress) < 48, i.PrivateIpAddress);
  assert.ok(thirdOctet(same.PrivateIpAddress) >= 48 && thirdOctet(same.PrivateIpAddress) < 64, same.PrivateIpAddress);
  // no subnet: the zone's default subnet (first zone by default)
  const plain = await launchOne(c);
  assert.deepEqual([plain.Placement?.AvailabilityZone, plain.SubnetId], ['us-east-1a', subnet['us-east-1a']]);

  const mismatch = await refusedLaunch(c, { SubnetId: subnet['us-east-1c'], Placement: { AvailabilityZone: 'us-east-1b' } });
  assert.deepEqual([mismatch.code, mismatch.status], ['InvalidParameterValue', 400]);
  assert.equal(
    mismatch.message,
    `Value (us-east-1b) for parameter availabilityZone is invalid. Subnet '${subnet['us-east-1c']}' is in the availability zone us-east-1c`,
  );
  const badZone = await refusedLaunch(c, { SubnetId: subnet['us-east-1c'], Placement: { AvailabilityZone: 'us-east-1z' } });
  assert.deepEqual([badZone.code, badZone.message], ['InvalidParameterValue', 'Invalid availability zone: [us-east-1z]']);
});

test('RunInstances: unknown, foreign and malformed subnets are refused before DryRun', async () => {
  const c = server.client('us-east-1');
  const foreign = (await network(server.client('eu-west-2'))).subnet['eu-west-2a']!;
  for (const [SubnetId, code] of [
    [NO_SUCH_SUBNET, 'InvalidSubnetID.NotFound'],
    [foreign, 'InvalidSubnetID.NotFound'],
    ['subnet-12', 'InvalidSubnetID.Malformed'],
    ['default', 'InvalidSubnetID.Malformed'],
  ] as const) {
    const e = await refusedLaunch(c, { SubnetId, DryRun: true });
    assert.deepEqual([e.code, e.status], [code, 400], SubnetId);
    assert.ok(e.message.includes(SubnetId), e.message);
  }
  const { subnet } = await network(c);
  assert.equal((await errorOf(launch(c, { SubnetId: subnet['us-east-1b'], DryRun: true }))).code, 'DryRunOperation');
});

test('RunInstances: SecurityGroupIds and SecurityGroups name the default group or are refused', async () => {
  const c = server.client('us-east-1');
  const { subnet, sg, vpcId } = await network(c);
  const expected = [{ GroupId: sg, GroupName: 'default' }];
  assert.deepEqual((await launchOne(c, { SecurityGroupIds: [sg] })).SecurityGroups, expected);
  assert.deepEqual((await launchOne(c, { SecurityGroupIds: [sg], SubnetId: subnet['us-east-1e'] })).SecurityGroups, expected);
  assert.deepEqual((await launchOne(c, { SecurityGroups: ['default'] })).SecurityGroups, expected);

  const unknown = await refusedLaunch(c, { SecurityGroupIds: [sg, NO_SUCH_GROUP] });
  assert.deepEqual([unknown.code, unknown.status, unknown.message], ['InvalidGroup.NotFound', 400, `The security group '${NO_SUCH_GROUP}' does not exist`]);
  const foreign = (await groups(server.client('eu-west-3')))[0]!.GroupId!;
  assert.equal((await refusedLaunch(c, { SecurityGroupIds: [foreign] })).code, 'InvalidGroup.NotFound');
  const malformed = await refusedLaunch(c, { SecurityGroupIds: ['default'] });
  assert.deepEqual([malformed.code, malformed.status], ['InvalidGroupId.Malformed', 400]);
  const byName = await refusedLaunch(c, { SecurityGroups: ['web'] });
  assert.deepEqual([byName.code, byName.message], ['InvalidGroup.NotFound', `The security group 'web' does not exist in default VPC '${vpcId}'`]);
  const withSubnet = await refusedLaunch(c, { SecurityGroups: ['default'], SubnetId: subnet['us-east-1a'] });
  assert.deepEqual(
    [withSubnet.code, withSubnet.message],
    ['InvalidParameterCombination', 'The parameter groupName cannot be used with the parameter subnet'],
  );
});

test('RunInstances: the primary network interface carries the subnet and groups; what nestbox cannot honour is refused', async () => {
  const c = server.client('us-east-1');
  const { subnet, sg } = await network(c);
  const viaNic = await launchOne(c, {
    NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnet['us-east-1f'], Groups: [sg], AssociatePublicIpAddress: true, DeleteOnTermination: true }],
  });
  assert.deepEqual([viaNic.Placement?.AvailabilityZone, viaNic.SubnetId], ['us-east-1f', subnet['us-east-1f']]);
  assert.deepEqual(viaNic.SecurityGroups, [{ GroupId: sg, GroupName: 'default' }]);
  // a primary interface without a subnet: the default zone's subnet
  assert.equal((await launchOne(c, { NetworkInterfaces: [{ DeviceIndex: 0, Groups: [sg] }] })).SubnetId, subnet['us-east-1a']);

  const nic = { DeviceIndex: 0, SubnetId: subnet['us-east-1b'] };
  const cases: [Partial<RunInstancesCommandInput>, string, number, RegExp | string][] = [
    [{ NetworkInterfaces: [nic], SubnetId: subnet['us-east-1b'] }, 'InvalidParameterCombination', 400,
      'Network interfaces and an instance-level subnet ID may not be specified on the same request'],
    [{ NetworkInterfaces: [nic], SecurityGroupIds: [sg] }, 'InvalidParameterCombination', 400,
      'Network interfaces and an instance-level security groups may not be specified on the same request'],
    [{ NetworkInterfaces: [{ ...nic, Groups: [NO_SUCH_GROUP] }] }, 'InvalidGroup.NotFound', 400, new RegExp(NO_SUCH_GROUP)],
    [{ NetworkInterfaces: [{ ...nic, SubnetId: NO_SUCH_SUBNET }] }, 'InvalidSubnetID.NotFound', 400, new RegExp(NO_SUCH_SUBNET)],
    [{ NetworkInterfaces: [{ ...nic, SubnetId: subnet['us-east-1b'] }], Placement: { AvailabilityZone: 'us-east-1a' } },
      'InvalidParameterValue', 400, /is in the availability zone us-east-1b/],
    [{ NetworkInterfaces: [{ SubnetId: subnet['us-east-1b'] }] }, 'MissingParameter', 400, /NetworkInterface\.1\.DeviceIndex/],
    [{ NetworkInterfaces: [nic, { DeviceIndex: 1, AssociatePublicIpAddress: true }] }, 'InvalidParameterCombination', 400, /only be specified for the network interface with DeviceIndex 0/],
    [{ NetworkInterfaces: [{ DeviceIndex: 1, NetworkInterfaceId: 'eni-0123456789abcdef0' }] }, 'MissingParameter', 400, /DeviceIndex 0/],
    [{ NetworkInterfaces: [nic, { ...nic }] }, 'InvalidParameterValue', 400, /unique device index: 0/],
    [{ NetworkInterfaces: [{ ...nic, PrivateIpAddress: '172.31.32.10' }] }, 'InvalidParameterValue', 400, /does not fall within the subnet's address range/],
    [{ NetworkInterfaces: [{ ...nic, NetworkInterfaceId: 'eni-0123456789abcdef0' }] }, 'InvalidParameterCombination', 400, /may not also give SubnetId/],
    [{ NetworkInterfaces: [{ DeviceIndex: 0, NetworkInterfaceId: 'eni-0123456789abcdef0' }] }, 'InvalidNetworkInterfaceID.NotFound', 400, /eni-0123456789abcdef0/],
    [{ NetworkInterfaces: [nic], PrivateIpAddress: '172.31.16.10' }, 'InvalidParameterCombination', 400, /instance-level private IP address/],
    [{ NetworkInterfaces: [{ ...nic, InterfaceType: 'efa' }] }, 'NotImplemented', 501, /InterfaceType efa/],
  ];
  for (const [params, code, status, message] of cases) {
    const e = await refusedLaunch(c, params);
    assert.deepEqual([e.code, e.status], [code, status], JSON.stringify(params));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
  }
});

test('RunInstances: a Dedicated Host launch with a subnet goes to a host in the subnet\'s zone', async () => {
  const c = server.client('eu-south-1');
  const { subnet } = await network(c);
  const host = (await c.send(
    new AllocateHostsCommand({ AvailabilityZone: 'eu-south-1b', InstanceType: 'c8i.large', AutoPlacement: 'on', Quantity: 1 }),
  )).HostIds![0]!;
  const onHost = await launchOne(c, { InstanceType: 'c8i.large', SubnetId: subnet['eu-south-1b'], Placement: { Tenancy: 'host' } });
  assert.deepEqual([onHost.Placement?.HostId, onHost.Placement?.AvailabilityZone, onHost.SubnetId], [host, 'eu-south-1b', subnet['eu-south-1b']]);
  const noHost = await refusedLaunch(c, { InstanceType: 'c8i.large', SubnetId: subnet['eu-south-1a'], Placement: { Tenancy: 'host' } });
  assert.equal(noHost.code, 'InsufficientHostCapacity');
});

// --- DescribeInstances ------------------------------------------------------------------------------

test('DescribeInstances: SecurityGroups, the reservation\'s (EC2-Classic) Groups, and the network filters', async () => {
  const c = server.client('eu-west-1');
  const { subnet, sg, vpcId } = await network(c);
  const inB = await launchOne(c, { SubnetId: subnet['eu-west-1b'] });
  const inA = await launchOne(c);
  const r = await c.send(new DescribeInstancesCommand({ InstanceIds: [inB.InstanceId!] }));
  assert.deepEqual(r.Reservations?.[0]?.Groups, []);
  const view = r.Reservations?.[0]?.Instances?.[0];
  assert.deepEqual(view?.SecurityGroups, [{ GroupId: sg, GroupName: 'default' }]);
  assert.deepEqual([view?.SubnetId, view?.VpcId], [subnet['eu-west-1b'], vpcId]);
  // DescribeInstanceAttribute groupSet follows
  const attr = await c.send(new DescribeInstanceAttributeCommand({ InstanceId: inB.InstanceId!, Attribute: 'groupSet' }));
  assert.deepEqual(attr.Groups, [{ GroupId: sg, GroupName: 'default' }]);

  const ids = async (...filters: Filter[]) =>
    ((await c.send(new DescribeInstancesCommand({ Filters: filters }))).Reservations ?? [])
      .flatMap((x) => x.Instances ?? [])
      .map((i) => i.InstanceId)
      .sort();
  const both = [inA.InstanceId, inB.InstanceId].sort();
  assert.deepEqual(await ids(f('subnet-id', subnet['eu-west-1b']!)), [inB.InstanceId]);
  assert.deepEqual(await ids(f('vpc-id', vpcId)), both);
  assert.deepEqual(await ids(f('instance.group-id', sg)), both);
  assert.deepEqual(await ids(f('instance.group-name', 'default')), both);
  assert.deepEqual(await ids(f('group-id', sg), f('subnet-id', subnet['eu-west-1a']!)), [inA.InstanceId]);
  assert.deepEqual(await ids(f('group-name', 'default')), both);
  assert.deepEqual(await ids(f('instance.group-id', NO_SUCH_GROUP)), []);

  // terminated: attached nowhere, as in EC2
  await terminate(c, inA.InstanceId!);
  const gone = await describeOne(c, inA.InstanceId!);
  assert.deepEqual([gone.SecurityGroups, gone.SubnetId, gone.VpcId], [[], undefined, undefined]);
  assert.deepEqual(await ids(f('instance.group-name', 'default')), [inB.InstanceId]);
});

// --- launch templates -------------------------------------------------------------------------------

test('launch templates: SubnetId, SecurityGroupIds and NetworkInterfaces in template data flow into RunInstances', async () => {
  const c = server.client('me-central-1');
  const { subnet, sg } = await network(c);
  const template = async (name: string, data: RequestLaunchTemplateData) => {
    await c.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: { ImageId: LINUX_AMI, ...data } }));
    return { ImageId: undefined, InstanceType: undefined, LaunchTemplate: { LaunchTemplateName: name } };
  };
  const bySubnet = await template('by-subnet', { SecurityGroupIds: [sg] });
  const i = await launchOne(c, { ...bySubnet, SubnetId: subnet['me-central-1c'] });
  assert.deepEqual([i.Placement?.AvailabilityZone, i.SecurityGroups?.[0]?.GroupId], ['me-central-1c', sg]);

  const byNic = await template('by-nic', { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnet['me-central-1b'], Groups: [sg] }] });
  assert.equal((await launchOne(c, byNic)).Placement?.AvailabilityZone, 'me-central-1b');
  // the template's interface and the request's own subnet cannot go together
  assert.equal((await refusedLaunch(c, { ...byNic, SubnetId: subnet['me-central-1a'] })).code, 'InvalidParameterCombination');

  const badGroup = await template('bad-group', { SecurityGroupIds: [NO_SUCH_GROUP] });
  assert.equal((await refusedLaunch(c, badGroup)).code, 'InvalidGroup.NotFound');

  // GetLaunchTemplateData gives the interface back with its group, and it launches in the same subnet
  const data = (await c.send(new GetLaunchTemplateDataCommand({ InstanceId: i.InstanceId! }))).LaunchTemplateData!;
  assert.deepEqual(data.NetworkInterfaces, [
    { DeviceIndex: 0, NetworkCardIndex: 0, SubnetId: subnet['me-central-1c'], Groups: [sg], DeleteOnTermination: true },
  ]);
  const copy = await template('copy', data as RequestLaunchTemplateData);
  const again = await launchOne(c, copy);
  assert.deepEqual([again.Placement?.AvailabilityZone, again.SubnetId], ['me-central-1c', subnet['me-central-1c']]);
});
