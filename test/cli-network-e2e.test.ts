/**
 * The Terraform-shaped flow through the real AWS CLI v1, the way an automation engineer scripts it:
 * VPC → subnet → internet gateway → route → security group with an SSH rule → key pair → an instance
 * with nested virtualization in that subnet and group. Each step's answer feeds the next, and the
 * CLI's own output parsing checks the wire format.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type AwsCli, awsCli, awsMissing } from './aws-cli.js';
import { type TestServer, startTestServer } from './helpers.js';

const skip = awsMissing();
let server: TestServer;
let cli: AwsCli;

before(async () => {
  if (skip) return;
  server = await startTestServer();
  cli = awsCli(server.endpoint, 'eu-central-1');
});
after(async () => {
  cli?.close();
  await server?.close();
});

test('VPC, subnet, gateway, route, group, key pair, then a nested-virtualization instance in them (AWS CLI)', { skip }, async () => {
  const tag = (type: string, name: string) => `ResourceType=${type},Tags=[{Key=Name,Value=${name}}]`;
  const vpc = (await cli.ec2Json('create-vpc', '--cidr-block', '10.8.0.0/16', '--tag-specifications', tag('vpc', 'ci'))).Vpc;
  assert.equal((await cli.ec2('modify-vpc-attribute', '--vpc-id', vpc.VpcId, '--enable-dns-hostnames')).code, 0);
  const attr = await cli.ec2Json('describe-vpc-attribute', '--vpc-id', vpc.VpcId, '--attribute', 'enableDnsHostnames');
  assert.equal(attr.EnableDnsHostnames.Value, true);

  const subnet = (await cli.ec2Json('create-subnet', '--vpc-id', vpc.VpcId, '--cidr-block', '10.8.1.0/24', '--availability-zone', 'eu-central-1b')).Subnet;
  assert.equal(subnet.AvailabilityZone, 'eu-central-1b');
  const bad = await cli.ec2Fails('create-subnet', '--vpc-id', vpc.VpcId, '--cidr-block', '10.9.0.0/24');
  assert.match(bad, /InvalidSubnet\.Range/);
  assert.equal((await cli.ec2('modify-subnet-attribute', '--subnet-id', subnet.SubnetId, '--map-public-ip-on-launch')).code, 0);

  const igw = (await cli.ec2Json('create-internet-gateway')).InternetGateway;
  assert.equal((await cli.ec2('attach-internet-gateway', '--internet-gateway-id', igw.InternetGatewayId, '--vpc-id', vpc.VpcId)).code, 0);
  const table = (await cli.ec2Json('create-route-table', '--vpc-id', vpc.VpcId)).RouteTable;
  const route = await cli.ec2Json('create-route', '--route-table-id', table.RouteTableId, '--destination-cidr-block', '0.0.0.0/0', '--gateway-id', igw.InternetGatewayId);
  assert.equal(route.Return, true);
  const assoc = await cli.ec2Json('associate-route-table', '--route-table-id', table.RouteTableId, '--subnet-id', subnet.SubnetId);
  assert.match(assoc.AssociationId, /^rtbassoc-/);

  const group = await cli.ec2Json('create-security-group', '--group-name', 'ssh', '--description', 'SSH in', '--vpc-id', vpc.VpcId);
  const rule = await cli.ec2Json('authorize-security-group-ingress', '--group-id', group.GroupId, '--protocol', 'tcp', '--port', '22', '--cidr', '10.0.0.0/8');
  assert.equal(rule.Return, true);
  const dup = await cli.ec2Fails('authorize-security-group-ingress', '--group-id', group.GroupId, '--protocol', 'tcp', '--port', '22', '--cidr', '10.0.0.0/8');
  assert.match(dup, /InvalidPermission\.Duplicate/);

  const key = await cli.ec2Json('create-key-pair', '--key-name', 'ci-key');
  assert.match(key.KeyMaterial, /BEGIN/);

  const run = await cli.ec2Json(
    'run-instances',
    '--image-id', 'ami-0b5e4a1f2c3d40001',
    '--instance-type', 'c8i.large',
    '--subnet-id', subnet.SubnetId,
    '--security-group-ids', group.GroupId,
    '--key-name', 'ci-key',
    '--cpu-options', 'NestedVirtualization=enabled',
  );
  const id = run.Instances[0].InstanceId;
  const inst = await cli.waitFor(id, 'running');
  assert.equal(inst.SubnetId, subnet.SubnetId);
  assert.equal(inst.VpcId, vpc.VpcId);
  assert.deepEqual(inst.SecurityGroups, [{ GroupId: group.GroupId, GroupName: 'ssh' }]);
  assert.equal(inst.CpuOptions.NestedVirtualization, 'enabled');
  assert.ok(inst.PrivateIpAddress.startsWith('10.8.1.'), inst.PrivateIpAddress);
  assert.ok(inst.PublicIpAddress, 'the subnet maps public addresses on launch');

  // Tear-down in dependency order, as `terraform destroy` does.
  assert.match(await cli.ec2Fails('delete-vpc', '--vpc-id', vpc.VpcId), /DependencyViolation/);
  await cli.ec2Json('terminate-instances', '--instance-ids', id);
  await cli.waitFor(id, 'terminated');
  for (const args of [
    ['disassociate-route-table', '--association-id', assoc.AssociationId],
    ['delete-route-table', '--route-table-id', table.RouteTableId],
    ['detach-internet-gateway', '--internet-gateway-id', igw.InternetGatewayId, '--vpc-id', vpc.VpcId],
    ['delete-internet-gateway', '--internet-gateway-id', igw.InternetGatewayId],
    ['delete-security-group', '--group-id', group.GroupId],
    ['delete-subnet', '--subnet-id', subnet.SubnetId],
    ['delete-vpc', '--vpc-id', vpc.VpcId],
  ]) {
    const r = await cli.ec2(...args);
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
  }
  assert.match(await cli.ec2Fails('describe-vpcs', '--vpc-ids', vpc.VpcId), /InvalidVpcID\.NotFound/);
});
