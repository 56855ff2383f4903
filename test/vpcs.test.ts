/**
 * VPCs and subnets created by the user, through the real AWS SDK: CreateVpc / DeleteVpc /
 * ModifyVpcAttribute / DescribeVpcAttribute, CreateSubnet / DeleteSubnet / ModifySubnetAttribute, their
 * validation and errors, quotas, dependencies, tags and DryRun, the default VPC kept beside them, and
 * RunInstances placing instances in a subnet of the user's (zone, addresses from its block, groups of
 * its VPC, MapPublicIpOnLaunch). Each test works in a Region of its own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  type EC2Client,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
  TerminateInstancesCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DeleteInternetGatewayCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { type TestServer, describeOne, errorOf, eventually, launch, launchOne, startTestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

/** Terminates an instance and waits until it is `terminated` (it holds its address until then). */
async function terminated(c: EC2Client, id: string): Promise<void> {
  await c.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await eventually(async () => ((await describeOne(c, id)).State!.Name === 'terminated' ? true : undefined), 10_000, `${id} terminated`);
}

async function createVpc(c: EC2Client, cidr = '10.0.0.0/16', name?: string) {
  const out = await c.send(
    new CreateVpcCommand({
      CidrBlock: cidr,
      ...(name ? { TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: name }] }] } : {}),
    }),
  );
  return out.Vpc!;
}

async function createSubnet(c: EC2Client, vpcId: string, cidr: string, zone?: string) {
  return (await c.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, ...(zone ? { AvailabilityZone: zone } : {}) }))).Subnet!;
}

test('CreateVpc: the block (host bits cleared), its default group, tags; DescribeVpcs lists it beside the default VPC', async () => {
  const c = server.client('eu-west-1');
  const vpc = await createVpc(c, '10.1.2.3/16', 'main');
  assert.match(vpc.VpcId!, /^vpc-[0-9a-f]{17}$/);
  assert.equal(vpc.CidrBlock, '10.1.0.0/16');
  assert.equal(vpc.IsDefault, false);
  assert.equal(vpc.State, 'pending');
  assert.deepEqual(vpc.Tags, [{ Key: 'Name', Value: 'main' }]);
  const all = (await c.send(new DescribeVpcsCommand({}))).Vpcs!;
  assert.deepEqual(all.map((v) => v.IsDefault), [true, false]);
  const mine = all[1]!;
  assert.equal(mine.VpcId, vpc.VpcId);
  assert.equal(mine.State, 'available');
  assert.equal(mine.CidrBlockAssociationSet![0]!.CidrBlock, '10.1.0.0/16');
  const byTag = (await c.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: ['main'] }] }))).Vpcs!;
  assert.deepEqual(byTag.map((v) => v.VpcId), [vpc.VpcId]);
  const groups = (await c.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).SecurityGroups!;
  assert.deepEqual(groups.map((g) => g.GroupName), ['default']);
  // Its default group: all traffic from its members, all traffic out; no SSH rule (that is the default VPC's).
  assert.equal(groups[0]!.IpPermissions!.length, 1);
  assert.equal(groups[0]!.IpPermissions![0]!.UserIdGroupPairs![0]!.GroupId, groups[0]!.GroupId);
  await c.send(new CreateTagsCommand({ Resources: [vpc.VpcId!], Tags: [{ Key: 'team', Value: 'ci' }] }));
  const tagged = (await c.send(new DescribeVpcsCommand({ VpcIds: [vpc.VpcId!] }))).Vpcs![0]!;
  assert.deepEqual(new Map(tagged.Tags!.map((t) => [t.Key, t.Value])), new Map([['Name', 'main'], ['team', 'ci']]));
});

test('CreateVpc: bad blocks, tenancy, the quota of five (the default VPC counts), DryRun', async () => {
  const c = server.client('eu-west-2');
  for (const bad of ['10.0.0.0', '10.0.0.256/16', '10.0.0.0/33', 'ten/16']) {
    const e = await errorOf(c.send(new CreateVpcCommand({ CidrBlock: bad })));
    assert.equal(e.code, 'InvalidParameterValue', bad);
    assert.match(e.message, new RegExp(`Value \\(${bad.replace(/[./]/g, '\\$&')}\\) for parameter cidrBlock is invalid`));
  }
  for (const range of ['10.0.0.0/8', '10.0.0.0/15', '10.0.0.0/29']) {
    const e = await errorOf(c.send(new CreateVpcCommand({ CidrBlock: range })));
    assert.equal(e.code, 'InvalidVpc.Range', range);
    assert.match(e.message, new RegExp(range.replace(/[./]/g, '\\$&')));
  }
  assert.equal((await errorOf(c.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', InstanceTenancy: 'host' })))).code, 'InvalidParameterValue');
  assert.equal((await errorOf(c.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', DryRun: true })))).code, 'DryRunOperation');
  assert.equal((await c.send(new DescribeVpcsCommand({}))).Vpcs!.length, 1, 'DryRun made nothing');
  for (let i = 0; i < 4; i++) await createVpc(c, `10.${i}.0.0/16`);
  const e = await errorOf(createVpc(c, '10.9.0.0/16'));
  assert.equal(e.code, 'VpcLimitExceeded');
  assert.equal((await c.send(new DescribeVpcsCommand({}))).Vpcs!.length, 5);
});

test('VPC attributes: DNS support and hostnames, one at a time, on the default VPC too', async () => {
  const c = server.client('eu-west-3');
  const vpc = await createVpc(c);
  const attr = async (VpcId: string, Attribute: 'enableDnsSupport' | 'enableDnsHostnames') =>
    c.send(new DescribeVpcAttributeCommand({ VpcId, Attribute }));
  assert.equal((await attr(vpc.VpcId!, 'enableDnsHostnames')).EnableDnsHostnames!.Value, false);
  assert.equal((await attr(vpc.VpcId!, 'enableDnsSupport')).EnableDnsSupport!.Value, true);
  await c.send(new ModifyVpcAttributeCommand({ VpcId: vpc.VpcId!, EnableDnsHostnames: { Value: true } }));
  assert.equal((await attr(vpc.VpcId!, 'enableDnsHostnames')).EnableDnsHostnames!.Value, true);
  const both = await errorOf(c.send(new ModifyVpcAttributeCommand({ VpcId: vpc.VpcId!, EnableDnsHostnames: { Value: true }, EnableDnsSupport: { Value: true } })));
  assert.equal(both.code, 'InvalidParameterCombination');
  // Hostnames need DNS support.
  const off = await errorOf(c.send(new ModifyVpcAttributeCommand({ VpcId: vpc.VpcId!, EnableDnsSupport: { Value: false } })));
  assert.equal(off.code, 'InvalidParameterValue');
  const defaultVpc = (await c.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs![0]!;
  await c.send(new ModifyVpcAttributeCommand({ VpcId: defaultVpc.VpcId!, EnableDnsHostnames: { Value: false } }));
  assert.equal((await attr(defaultVpc.VpcId!, 'enableDnsHostnames')).EnableDnsHostnames!.Value, false);
  assert.equal((await c.send(new DescribeVpcsCommand({}))).Vpcs!.length, 2, 'the default VPC, changed, is still one VPC');
  const bad = await errorOf(c.send(new DescribeVpcAttributeCommand({ VpcId: 'vpc-0123456789abcdef0', Attribute: 'enableDnsSupport' })));
  assert.equal(bad.code, 'InvalidVpcID.NotFound');
  assert.match(bad.message, /vpc-0123456789abcdef0/);
});

test('CreateSubnet: inside the VPC, no overlap, its zone, its address count; errors name the block', async () => {
  const c = server.client('ap-south-1');
  const vpc = await createVpc(c, '10.20.0.0/16');
  const a = await createSubnet(c, vpc.VpcId!, '10.20.1.0/24', 'ap-south-1b');
  assert.equal(a.AvailabilityZone, 'ap-south-1b');
  assert.equal(a.AvailableIpAddressCount, 251);
  assert.equal(a.MapPublicIpOnLaunch, false);
  assert.equal(a.DefaultForAz, false);
  const conflict = await errorOf(createSubnet(c, vpc.VpcId!, '10.20.1.128/25'));
  assert.equal(conflict.code, 'InvalidSubnet.Conflict');
  assert.match(conflict.message, /10\.20\.1\.128\/25/);
  for (const outside of ['10.21.0.0/24', '10.20.0.0/15', '10.20.0.0/29']) {
    const e = await errorOf(createSubnet(c, vpc.VpcId!, outside));
    assert.equal(e.code, 'InvalidSubnet.Range', outside);
  }
  assert.equal((await errorOf(createSubnet(c, 'vpc-0123456789abcdef0', '10.0.0.0/24'))).code, 'InvalidVpcID.NotFound');
  assert.equal((await errorOf(createSubnet(c, 'vpc-nope', '10.0.0.0/24'))).code, 'InvalidVpcID.Malformed');
  assert.equal((await errorOf(createSubnet(c, vpc.VpcId!, '10.20.2.0/24', 'us-east-1a'))).code, 'InvalidParameterValue');
  const mine = (await c.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).Subnets!;
  assert.deepEqual(mine.map((x) => x.SubnetId), [a.SubnetId]);
  await c.send(new ModifySubnetAttributeCommand({ SubnetId: a.SubnetId!, MapPublicIpOnLaunch: { Value: true } }));
  const changed = (await c.send(new DescribeSubnetsCommand({ SubnetIds: [a.SubnetId!] }))).Subnets![0]!;
  assert.equal(changed.MapPublicIpOnLaunch, true);
});

test('RunInstances in a subnet of the user\'s: its zone, addresses from its block, its VPC\'s default group, no public address unless asked', async () => {
  const c = server.client('ap-northeast-1');
  const vpc = await createVpc(c, '10.30.0.0/16');
  const subnet = await createSubnet(c, vpc.VpcId!, '10.30.5.0/28', 'ap-northeast-1c');
  const two = await launch(c, { SubnetId: subnet.SubnetId!, MinCount: 2, MaxCount: 2 });
  const addresses = two.map((i) => i.PrivateIpAddress!);
  assert.equal(new Set(addresses).size, 2);
  for (const a of addresses) {
    const last = Number(a.split('.')[3]);
    assert.ok(a.startsWith('10.30.5.') && last >= 4 && last <= 14, a);
  }
  const one = await describeOne(c, two[0]!.InstanceId!);
  assert.equal(one.SubnetId, subnet.SubnetId);
  assert.equal(one.VpcId, vpc.VpcId);
  assert.equal(one.Placement!.AvailabilityZone, 'ap-northeast-1c');
  assert.equal(one.PublicIpAddress, undefined);
  assert.equal(one.SecurityGroups!.length, 1);
  assert.equal(one.SecurityGroups![0]!.GroupName, 'default');
  assert.notEqual(one.SecurityGroups![0]!.GroupId, (await c.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }))).SecurityGroups![0]!.GroupId);
  const eni = one.NetworkInterfaces![0]!;
  assert.equal(eni.SubnetId, subnet.SubnetId);
  assert.equal(eni.VpcId, vpc.VpcId);
  const counted = (await c.send(new DescribeSubnetsCommand({ SubnetIds: [subnet.SubnetId!] }))).Subnets![0]!;
  assert.equal(counted.AvailableIpAddressCount, 11 - 2);
  const byVpc = await c.send(new DescribeInstancesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }));
  assert.equal(byVpc.Reservations!.flatMap((r) => r.Instances!).length, 2);
  // A /28 holds 11 instances: 9 more fit, the 10th does not.
  await launch(c, { SubnetId: subnet.SubnetId!, MinCount: 9, MaxCount: 9 });
  const full = await errorOf(launch(c, { SubnetId: subnet.SubnetId! }));
  assert.equal(full.code, 'InsufficientFreeAddressesInSubnet');
  assert.match(full.message, new RegExp(subnet.SubnetId!));
  // A public address when the interface asks for one.
  await terminated(c, two[0]!.InstanceId!);
  const pub = await launchOne(c, { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnet.SubnetId!, AssociatePublicIpAddress: true }] });
  assert.ok(pub.PublicIpAddress?.startsWith('127.'), pub.PublicIpAddress);
  // Groups of another VPC are refused.
  const defaultGroup = (await c.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }))).SecurityGroups![0]!;
  const other = await errorOf(launch(c, { SubnetId: subnet.SubnetId!, SecurityGroupIds: [defaultGroup.GroupId!] }));
  assert.equal(other.code, 'InvalidParameter');
  assert.match(other.message, new RegExp(defaultGroup.GroupId!));
});

test('DeleteSubnet / DeleteVpc: dependencies first, then gone with their default group; the default VPC is kept', async () => {
  const c = server.client('ca-central-1');
  const vpc = await createVpc(c, '10.40.0.0/16');
  const subnet = await createSubnet(c, vpc.VpcId!, '10.40.0.0/24');
  const vpcBusy = await errorOf(c.send(new DeleteVpcCommand({ VpcId: vpc.VpcId! })));
  assert.equal(vpcBusy.code, 'DependencyViolation');
  assert.match(vpcBusy.message, new RegExp(vpc.VpcId!));
  const inst = await launchOne(c, { SubnetId: subnet.SubnetId! });
  const subnetBusy = await errorOf(c.send(new DeleteSubnetCommand({ SubnetId: subnet.SubnetId! })));
  assert.equal(subnetBusy.code, 'DependencyViolation');
  await terminated(c, inst.InstanceId!);
  await c.send(new DeleteSubnetCommand({ SubnetId: subnet.SubnetId! }));
  assert.equal((await errorOf(c.send(new DescribeSubnetsCommand({ SubnetIds: [subnet.SubnetId!] })))).code, 'InvalidSubnetID.NotFound');
  assert.equal((await errorOf(c.send(new DeleteVpcCommand({ VpcId: vpc.VpcId!, DryRun: true })))).code, 'DryRunOperation');
  await c.send(new DeleteVpcCommand({ VpcId: vpc.VpcId! }));
  assert.equal((await errorOf(c.send(new DescribeVpcsCommand({ VpcIds: [vpc.VpcId!] })))).code, 'InvalidVpcID.NotFound');
  const groups = (await c.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).SecurityGroups!;
  assert.deepEqual(groups, []);
  const defaultVpc = (await c.send(new DescribeVpcsCommand({}))).Vpcs![0]!;
  assert.equal((await errorOf(c.send(new DeleteVpcCommand({ VpcId: defaultVpc.VpcId! })))).code, 'OperationNotPermitted');
  const defaultSubnet = (await c.send(new DescribeSubnetsCommand({}))).Subnets![0]!;
  assert.equal((await errorOf(c.send(new DeleteSubnetCommand({ SubnetId: defaultSubnet.SubnetId! })))).code, 'OperationNotPermitted');
});

test('A default subnet with MapPublicIpOnLaunch off gives new instances no public address', async () => {
  const c = server.client('sa-east-1');
  const defaultSubnet = (await c.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['sa-east-1a'] }] }))).Subnets![0]!;
  assert.ok((await launchOne(c, { Placement: { AvailabilityZone: 'sa-east-1a' } })).PublicIpAddress);
  await c.send(new ModifySubnetAttributeCommand({ SubnetId: defaultSubnet.SubnetId!, MapPublicIpOnLaunch: { Value: false } }));
  const inst = await launchOne(c, { Placement: { AvailabilityZone: 'sa-east-1a' } });
  assert.equal(inst.PublicIpAddress, undefined);
  assert.equal(inst.SubnetId, defaultSubnet.SubnetId);
  assert.equal((await c.send(new DescribeSubnetsCommand({}))).Subnets!.filter((x) => x.DefaultForAz).length, 3);
});

test('Internet gateways: the default VPC has one; create, attach (one each way), detach, delete', async () => {
  const c = server.client('us-east-2');
  const all = (await c.send(new DescribeInternetGatewaysCommand({}))).InternetGateways!;
  assert.equal(all.length, 1);
  const defaultVpc = (await c.send(new DescribeVpcsCommand({}))).Vpcs![0]!;
  assert.deepEqual(all[0]!.Attachments, [{ State: 'available', VpcId: defaultVpc.VpcId }]);
  const vpc = await createVpc(c, '10.50.0.0/16');
  const igw = (await c.send(new CreateInternetGatewayCommand({ TagSpecifications: [{ ResourceType: 'internet-gateway', Tags: [{ Key: 'Name', Value: 'gw' }] }] }))).InternetGateway!;
  assert.match(igw.InternetGatewayId!, /^igw-[0-9a-f]{17}$/);
  assert.deepEqual(igw.Attachments, []);
  assert.deepEqual(igw.Tags, [{ Key: 'Name', Value: 'gw' }]);
  await c.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId!, VpcId: vpc.VpcId! }));
  const byVpc = (await c.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpc.VpcId!] }] }))).InternetGateways!;
  assert.deepEqual(byVpc.map((g) => g.InternetGatewayId), [igw.InternetGatewayId]);
  assert.equal((await errorOf(c.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId!, VpcId: defaultVpc.VpcId! })))).code, 'Resource.AlreadyAssociated');
  const second = (await c.send(new CreateInternetGatewayCommand({}))).InternetGateway!;
  assert.equal((await errorOf(c.send(new AttachInternetGatewayCommand({ InternetGatewayId: second.InternetGatewayId!, VpcId: vpc.VpcId! })))).code, 'Resource.AlreadyAssociated');
  assert.equal((await errorOf(c.send(new DeleteVpcCommand({ VpcId: vpc.VpcId! })))).code, 'DependencyViolation');
  assert.equal((await errorOf(c.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId! })))).code, 'DependencyViolation');
  assert.equal((await errorOf(c.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId!, VpcId: defaultVpc.VpcId! })))).code, 'Gateway.NotAttached');
  await c.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId!, VpcId: vpc.VpcId! }));
  await c.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId! }));
  const gone = await errorOf(c.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [igw.InternetGatewayId!] })));
  assert.equal(gone.code, 'InvalidInternetGatewayID.NotFound');
  assert.match(gone.message, new RegExp(igw.InternetGatewayId!));
  assert.equal((await errorOf(c.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: ['igw-x'] })))).code, 'InvalidInternetGatewayID.Malformed');
  // The default VPC's gateway cannot be detached while its instances hold public addresses.
  await launchOne(c);
  const busy = await errorOf(c.send(new DetachInternetGatewayCommand({ InternetGatewayId: all[0]!.InternetGatewayId!, VpcId: defaultVpc.VpcId! })));
  assert.equal(busy.code, 'DependencyViolation');
});

test('Route tables: the main table, routes to a gateway (blackhole when detached), associations, deletes', async () => {
  const c = server.client('us-west-1');
  const vpc = await createVpc(c, '10.60.0.0/16');
  const main = (await c.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }, { Name: 'association.main', Values: ['true'] }] }))).RouteTables!;
  assert.equal(main.length, 1);
  assert.deepEqual(main[0]!.Routes, [{ DestinationCidrBlock: '10.60.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' }]);
  const defaultMain = (await c.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.destination-cidr-block', Values: ['0.0.0.0/0'] }] }))).RouteTables!;
  assert.equal(defaultMain.length, 1, 'the default VPC routes the world to its gateway');
  const igw = (await c.send(new CreateInternetGatewayCommand({}))).InternetGateway!;
  const table = (await c.send(new CreateRouteTableCommand({ VpcId: vpc.VpcId! }))).RouteTable!;
  const tableId = table.RouteTableId!;
  const notAttached = await errorOf(c.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId! })));
  assert.equal(notAttached.code, 'InvalidParameterValue');
  await c.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId!, VpcId: vpc.VpcId! }));
  await c.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId! }));
  assert.equal((await errorOf(c.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId! })))).code, 'RouteAlreadyExists');
  const routes = async () => (await c.send(new DescribeRouteTablesCommand({ RouteTableIds: [tableId] }))).RouteTables![0]!.Routes!;
  assert.deepEqual((await routes()).map((r) => [r.DestinationCidrBlock, r.GatewayId, r.State]), [['10.60.0.0/16', 'local', 'active'], ['0.0.0.0/0', igw.InternetGatewayId, 'active']]);
  await c.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId!, VpcId: vpc.VpcId! }));
  assert.equal((await routes())[1]!.State, 'blackhole');
  assert.equal((await errorOf(c.send(new DeleteRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '10.60.0.0/16' })))).code, 'InvalidParameterValue');
  assert.equal((await errorOf(c.send(new DeleteRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '10.9.0.0/16' })))).code, 'InvalidRoute.NotFound');
  await c.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId!, VpcId: vpc.VpcId! }));
  await c.send(new ReplaceRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId! }));
  const subnet = await createSubnet(c, vpc.VpcId!, '10.60.1.0/24');
  const assoc = await c.send(new AssociateRouteTableCommand({ RouteTableId: tableId, SubnetId: subnet.SubnetId! }));
  assert.match(assoc.AssociationId!, /^rtbassoc-[0-9a-f]{17}$/);
  assert.equal((await errorOf(c.send(new AssociateRouteTableCommand({ RouteTableId: main[0]!.RouteTableId!, SubnetId: subnet.SubnetId! })))).code, 'Resource.AlreadyAssociated');
  const bySubnet = (await c.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnet.SubnetId!] }] }))).RouteTables!;
  assert.deepEqual(bySubnet.map((t) => t.RouteTableId), [tableId]);
  assert.equal((await errorOf(c.send(new DeleteRouteTableCommand({ RouteTableId: tableId })))).code, 'DependencyViolation');
  assert.equal((await errorOf(c.send(new DeleteRouteTableCommand({ RouteTableId: main[0]!.RouteTableId! })))).code, 'DependencyViolation');
  await c.send(new DisassociateRouteTableCommand({ AssociationId: assoc.AssociationId! }));
  assert.equal((await errorOf(c.send(new DisassociateRouteTableCommand({ AssociationId: assoc.AssociationId! })))).code, 'InvalidAssociationID.NotFound');
  await c.send(new DeleteRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0' }));
  await c.send(new DeleteRouteTableCommand({ RouteTableId: tableId }));
  assert.equal((await errorOf(c.send(new DescribeRouteTablesCommand({ RouteTableIds: [tableId] })))).code, 'InvalidRouteTableID.NotFound');
  // A VPC goes with its main table once its own resources are gone.
  await c.send(new DeleteSubnetCommand({ SubnetId: subnet.SubnetId! }));
  await c.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId!, VpcId: vpc.VpcId! }));
  await c.send(new DeleteVpcCommand({ VpcId: vpc.VpcId! }));
  assert.deepEqual((await c.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).RouteTables, []);
});

test('DescribeNetworkAcls: every VPC has its default ACL (allow all, then deny), associated with its subnets', async () => {
  const c = server.client('eu-north-1');
  const vpc = await createVpc(c, '10.70.0.0/16');
  const subnet = await createSubnet(c, vpc.VpcId!, '10.70.3.0/24');
  const all = (await c.send(new DescribeNetworkAclsCommand({}))).NetworkAcls!;
  assert.equal(all.length, 2);
  const [acl] = (await c.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }, { Name: 'default', Values: ['true'] }] }))).NetworkAcls!;
  assert.match(acl!.NetworkAclId!, /^acl-[0-9a-f]{17}$/);
  assert.deepEqual(acl!.Associations!.map((x) => x.SubnetId), [subnet.SubnetId]);
  assert.deepEqual(acl!.Entries!.filter((e) => !e.Egress).map((e) => [e.RuleNumber, e.RuleAction]), [[100, 'allow'], [32767, 'deny']]);
  const again = (await c.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [acl!.NetworkAclId!] }))).NetworkAcls!;
  assert.equal(again[0]!.NetworkAclId, acl!.NetworkAclId);
  assert.equal((await errorOf(c.send(new DescribeNetworkAclsCommand({ NetworkAclIds: ['acl-0123456789abcdef0'] })))).code, 'InvalidNetworkAclID.NotFound');
  assert.equal((await errorOf(c.send(new DescribeNetworkAclsCommand({ NetworkAclIds: ['acl-x'] })))).code, 'InvalidNetworkAclID.Malformed');
});
