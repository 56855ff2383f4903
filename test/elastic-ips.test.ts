/**
 * Elastic IP addresses through the real AWS SDK: AllocateAddress (quota, Domain, what nestbox refuses
 * by name, tags, DryRun), AssociateAddress (the instance's public address becomes the Elastic IP and
 * stays through stop/start; reassociation; instance states; a VPC without a gateway),
 * DisassociateAddress (a new automatic address), ReleaseAddress (in use), termination, DescribeAddresses
 * and its filters, DescribeInstances' view and filters, and concurrent allocations. Each test works in a
 * Region of its own (the quota is per Region).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DescribeAddressesAttributeCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeTagsCommand,
  DisassociateAddressCommand,
  type EC2Client,
  ReleaseAddressCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { inPublicIpPool } from '../src/domain/public-ip.js';
import { type TestServer, describeOne, errorOf, inState, launchOne, startTestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

async function running(c: EC2Client, params = {}) {
  const i = await launchOne(c, params);
  return inState(c, i.InstanceId!, 'running');
}

const allocate = async (c: EC2Client) => c.send(new AllocateAddressCommand({ Domain: 'vpc' }));
const address = async (c: EC2Client, allocationId: string) =>
  (await c.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }))).Addresses![0]!;

test('AllocateAddress: a loopback address of the pool, eipalloc- IDs, Domain vpc, five per Region', async () => {
  const c = server.client('eu-west-1');
  const first = await c.send(new AllocateAddressCommand({}));
  assert.match(first.AllocationId!, /^eipalloc-[0-9a-f]{17}$/);
  assert.ok(inPublicIpPool(first.PublicIp!), first.PublicIp);
  assert.equal(first.Domain, 'vpc');
  assert.equal(first.PublicIpv4Pool, 'amazon');
  assert.equal(first.NetworkBorderGroup, 'eu-west-1');
  const more = await Promise.all([1, 2, 3, 4].map(() => allocate(c)));
  assert.equal(new Set([first, ...more].map((a) => a.PublicIp)).size, 5);
  const over = await errorOf(allocate(c));
  assert.equal(over.code, 'AddressLimitExceeded');
  assert.equal(over.message, 'The maximum number of addresses has been reached.');
  const all = (await c.send(new DescribeAddressesCommand({}))).Addresses!;
  assert.deepEqual(all.map((a) => a.AllocationId).sort(), [first, ...more].map((a) => a.AllocationId).sort());
  // releasing one makes room again
  await c.send(new ReleaseAddressCommand({ AllocationId: first.AllocationId }));
  await allocate(c);
});

test('AllocateAddress: Domain standard, what nestbox cannot do, DryRun, tags', async () => {
  const c = server.client('eu-west-2');
  const std = await errorOf(c.send(new AllocateAddressCommand({ Domain: 'standard' })));
  assert.equal(std.code, 'InvalidParameterValue');
  assert.match(std.message, /standard/);
  const bad = await errorOf(c.send(new AllocateAddressCommand({ Domain: 'nope' as 'vpc' })));
  assert.equal(bad.code, 'InvalidParameterValue');
  assert.match(bad.message, /nope/);
  for (const [params, name] of [
    [{ Address: '203.0.113.5' }, 'Address'],
    [{ PublicIpv4Pool: 'ipv4pool-ec2-012345' }, 'PublicIpv4Pool'],
    [{ CustomerOwnedIpv4Pool: 'ipv4pool-coip-1' }, 'CustomerOwnedIpv4Pool'],
    [{ NetworkBorderGroup: 'eu-west-2-lon-1' }, 'NetworkBorderGroup'],
  ] as const) {
    const e = await errorOf(c.send(new AllocateAddressCommand({ Domain: 'vpc', ...params })));
    assert.equal(e.code, 'NotImplemented', name);
    assert.match(e.message, new RegExp(name));
  }
  const dry = await errorOf(c.send(new AllocateAddressCommand({ DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  assert.deepEqual((await c.send(new DescribeAddressesCommand({}))).Addresses, []);
  const badTag = await errorOf(c.send(new AllocateAddressCommand({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] })));
  assert.equal(badTag.code, 'InvalidParameterValue');
  const tagged = await c.send(new AllocateAddressCommand({ TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'Name', Value: 'web' }] }] }));
  assert.deepEqual((await address(c, tagged.AllocationId!)).Tags, [{ Key: 'Name', Value: 'web' }]);
  await c.send(new CreateTagsCommand({ Resources: [tagged.AllocationId!], Tags: [{ Key: 'env', Value: 'test' }] }));
  const tags = (await c.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [tagged.AllocationId!] }] }))).Tags!;
  assert.deepEqual(tags.map((t) => [t.Key, t.ResourceType]), [['Name', 'elastic-ip'], ['env', 'elastic-ip']]);
  const byTag = (await c.send(new DescribeAddressesCommand({ Filters: [{ Name: 'tag:env', Values: ['test'] }] }))).Addresses!;
  assert.deepEqual(byTag.map((a) => a.AllocationId), [tagged.AllocationId]);
  const byKey = (await c.send(new DescribeAddressesCommand({ Filters: [{ Name: 'tag-key', Values: ['Name'] }] }))).Addresses!;
  assert.equal(byKey.length, 1);
});

test('AssociateAddress: the instance shows the Elastic IP, keeps it through stop and start; disassociate gives a new automatic one', async () => {
  const c = server.client('us-west-2');
  const eip = await allocate(c);
  const inst = await running(c);
  const id = inst.InstanceId!;
  const automatic = inst.PublicIpAddress!;
  assert.ok(automatic);
  const dry = await errorOf(c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: id, DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  const { AssociationId } = await c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: id }));
  assert.match(AssociationId!, /^eipassoc-[0-9a-f]{17}$/);
  let view = await describeOne(c, id);
  assert.equal(view.PublicIpAddress, eip.PublicIp);
  assert.equal(view.NetworkInterfaces![0]!.Association!.PublicIp, eip.PublicIp);
  assert.equal(view.NetworkInterfaces![0]!.Association!.IpOwnerId, view.NetworkInterfaces![0]!.OwnerId);
  const a = await address(c, eip.AllocationId!);
  assert.equal(a.AssociationId, AssociationId);
  assert.equal(a.InstanceId, id);
  assert.equal(a.NetworkInterfaceId, view.NetworkInterfaces![0]!.NetworkInterfaceId);
  assert.equal(a.NetworkInterfaceOwnerId, view.NetworkInterfaces![0]!.OwnerId);
  assert.equal(a.PrivateIpAddress, view.PrivateIpAddress);
  // the instance filters
  const instanceFilters: [string, string][] = [
    ['ip-address', eip.PublicIp!],
    ['network-interface.addresses.association.allocation-id', eip.AllocationId!],
    ['association.association-id', AssociationId!],
    ['network-interface.association.allocation-id', eip.AllocationId!],
  ];
  for (const [name, value] of instanceFilters) {
    const found = (await c.send(new DescribeInstancesCommand({ Filters: [{ Name: name, Values: [value] }] }))).Reservations!.flatMap((r) => r.Instances!);
    assert.deepEqual(found.map((i) => i.InstanceId), [id], name);
  }
  // again to the same instance: nothing changes
  assert.equal((await c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: id }))).AssociationId, AssociationId);

  await c.send(new StopInstancesCommand({ InstanceIds: [id] }));
  view = await inState(c, id, 'stopped');
  assert.equal(view.PublicIpAddress, eip.PublicIp);
  await c.send(new StartInstancesCommand({ InstanceIds: [id] }));
  view = await inState(c, id, 'running');
  assert.equal(view.PublicIpAddress, eip.PublicIp);
  assert.equal((await address(c, eip.AllocationId!)).AssociationId, AssociationId);

  await c.send(new DisassociateAddressCommand({ AssociationId }));
  view = await describeOne(c, id);
  assert.ok(view.PublicIpAddress && view.PublicIpAddress !== eip.PublicIp && view.PublicIpAddress !== automatic, view.PublicIpAddress);
  assert.equal(view.NetworkInterfaces![0]!.Association!.IpOwnerId, 'amazon');
  const gone = await address(c, eip.AllocationId!);
  assert.equal(gone.AssociationId, undefined);
  assert.equal(gone.InstanceId, undefined);
  const again = await errorOf(c.send(new DisassociateAddressCommand({ AssociationId })));
  assert.equal(again.code, 'InvalidAssociationID.NotFound');
  assert.match(again.message, new RegExp(AssociationId!));
});

test('AssociateAddress: a stopped instance, by its network interface; disassociated while stopped it has none until it starts', async () => {
  const c = server.client('us-west-1');
  const eip = await allocate(c);
  const inst = await running(c);
  const id = inst.InstanceId!;
  await c.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await inState(c, id, 'stopped');
  const eni = inst.NetworkInterfaces![0]!.NetworkInterfaceId!;
  const { AssociationId } = await c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, NetworkInterfaceId: eni, PrivateIpAddress: inst.PrivateIpAddress }));
  assert.equal((await describeOne(c, id)).PublicIpAddress, eip.PublicIp);
  await c.send(new DisassociateAddressCommand({ AssociationId }));
  assert.equal((await describeOne(c, id)).PublicIpAddress, undefined);
  await c.send(new StartInstancesCommand({ InstanceIds: [id] }));
  const started = await inState(c, id, 'running');
  assert.ok(started.PublicIpAddress && started.PublicIpAddress !== eip.PublicIp);
});

test('AssociateAddress: reassociation needs AllowReassociation; an instance\'s earlier Elastic IP stays allocated', async () => {
  const c = server.client('ap-south-1');
  const [e1, e2] = [await allocate(c), await allocate(c)];
  const [i1, i2] = [await running(c), await running(c)];
  const first = await c.send(new AssociateAddressCommand({ AllocationId: e1.AllocationId, InstanceId: i1.InstanceId }));
  const refused = await errorOf(c.send(new AssociateAddressCommand({ AllocationId: e1.AllocationId, InstanceId: i2.InstanceId })));
  assert.equal(refused.code, 'Resource.AlreadyAssociated');
  assert.equal(refused.message, `resource ${e1.AllocationId} is already associated with associate-id ${first.AssociationId}`);
  const moved = await c.send(new AssociateAddressCommand({ AllocationId: e1.AllocationId, InstanceId: i2.InstanceId, AllowReassociation: true }));
  assert.notEqual(moved.AssociationId, first.AssociationId);
  assert.equal((await describeOne(c, i2.InstanceId!)).PublicIpAddress, e1.PublicIp);
  const left = await describeOne(c, i1.InstanceId!);
  assert.ok(left.PublicIpAddress && left.PublicIpAddress !== e1.PublicIp, 'the instance it left has an automatic address again');
  // another Elastic IP to the same instance replaces the first, which stays allocated
  await c.send(new AssociateAddressCommand({ AllocationId: e2.AllocationId, InstanceId: i2.InstanceId }));
  assert.equal((await describeOne(c, i2.InstanceId!)).PublicIpAddress, e2.PublicIp);
  assert.equal((await address(c, e1.AllocationId!)).AssociationId, undefined);
  const byInstance = (await c.send(new DescribeAddressesCommand({ Filters: [{ Name: 'instance-id', Values: [i2.InstanceId!] }] }))).Addresses!;
  assert.deepEqual(byInstance.map((a) => a.AllocationId), [e2.AllocationId]);
  // DescribeAddresses' filters
  const cases: [string, string, string[]][] = [
    ['allocation-id', e1.AllocationId!, [e1.AllocationId!]],
    ['public-ip', e2.PublicIp!, [e2.AllocationId!]],
    ['domain', 'vpc', [e1.AllocationId!, e2.AllocationId!]],
    ['network-interface-id', i2.NetworkInterfaces![0]!.NetworkInterfaceId!, [e2.AllocationId!]],
    ['private-ip-address', i2.PrivateIpAddress!, [e2.AllocationId!]],
    ['network-interface-owner-id', i2.NetworkInterfaces![0]!.OwnerId!, [e2.AllocationId!]],
  ];
  for (const [name, value, want] of cases) {
    const got = (await c.send(new DescribeAddressesCommand({ Filters: [{ Name: name, Values: [value] }] }))).Addresses!;
    assert.deepEqual(got.map((a) => a.AllocationId).sort(), [...want].sort(), name);
  }
  const assoc = (await address(c, e2.AllocationId!)).AssociationId!;
  assert.equal((await c.send(new DescribeAddressesCommand({ Filters: [{ Name: 'association-id', Values: [assoc] }] }))).Addresses!.length, 1);
  assert.equal((await c.send(new DescribeAddressesCommand({ PublicIps: [e1.PublicIp!] }))).Addresses![0]!.AllocationId, e1.AllocationId);
  const attrs = await c.send(new DescribeAddressesAttributeCommand({ AllocationIds: [e1.AllocationId!], Attribute: 'domain-name' }));
  assert.deepEqual(attrs.Addresses, [{ AllocationId: e1.AllocationId, PublicIp: e1.PublicIp }]);
});

test('AssociateAddress: instance states, unknown and malformed IDs, a VPC without an internet gateway', async () => {
  const c = server.client('ap-northeast-1');
  const eip = await allocate(c);
  const pending = await launchOne(c);
  const early = await errorOf(c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: pending.InstanceId })));
  if (early.code !== 'InvalidInstanceID') assert.fail(`expected the pending instance to be refused, got ${early.code}`);
  assert.equal(early.message, `The pending instance '${pending.InstanceId}' is not in a valid state for this operation.`);
  await inState(c, pending.InstanceId!, 'running');
  const checks: [() => Promise<unknown>, string, string][] = [
    [() => c.send(new AssociateAddressCommand({ AllocationId: 'eipalloc-0123456789abcdef0', InstanceId: pending.InstanceId })), 'InvalidAllocationID.NotFound', 'eipalloc-0123456789abcdef0'],
    [() => c.send(new AssociateAddressCommand({ AllocationId: 'eipalloc-zz', InstanceId: pending.InstanceId })), 'InvalidAllocationID.Malformed', 'eipalloc-zz'],
    [() => c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: 'i-0123456789abcdef0' })), 'InvalidInstanceID.NotFound', 'i-0123456789abcdef0'],
    [() => c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, NetworkInterfaceId: 'eni-0123456789abcdef0' })), 'InvalidNetworkInterfaceID.NotFound', 'eni-0123456789abcdef0'],
    [() => c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId })), 'MissingParameter', 'InstanceId'],
    [() => c.send(new AssociateAddressCommand({ PublicIp: eip.PublicIp, InstanceId: pending.InstanceId })), 'NotImplemented', 'PublicIp'],
    [() => c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: pending.InstanceId, PrivateIpAddress: '10.9.9.9' })), 'InvalidParameterValue', '10.9.9.9'],
    [() => c.send(new DescribeAddressesCommand({ AllocationIds: ['eipalloc-0123456789abcdef0'] })), 'InvalidAllocationID.NotFound', 'eipalloc-0123456789abcdef0'],
    [() => c.send(new DescribeAddressesCommand({ PublicIps: ['127.1.2.3'] })), 'InvalidAddress.NotFound', '127.1.2.3'],
    [() => c.send(new ReleaseAddressCommand({ AllocationId: 'eipalloc-0123456789abcdef0' })), 'InvalidAllocationID.NotFound', 'eipalloc-0123456789abcdef0'],
    [() => c.send(new DisassociateAddressCommand({ AssociationId: 'eipassoc-0123456789abcdef0' })), 'InvalidAssociationID.NotFound', 'eipassoc-0123456789abcdef0'],
    [() => c.send(new DisassociateAddressCommand({ PublicIp: eip.PublicIp })), 'NotImplemented', 'PublicIp'],
  ];
  for (const [call, code, named] of checks) {
    const e = await errorOf(call());
    assert.equal(e.code, code, named);
    assert.ok(e.message.includes(named), `${code}: ${e.message}`);
  }
  // a VPC of the user's: no gateway, no association
  const vpc = (await c.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16' }))).Vpc!.VpcId!;
  const subnet = (await c.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.3.1.0/24' }))).Subnet!.SubnetId!;
  const inVpc = await running(c, { SubnetId: subnet });
  const noGateway = await errorOf(c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: inVpc.InstanceId })));
  assert.equal(noGateway.code, 'Gateway.NotAttached');
  assert.equal(noGateway.message, `Network ${vpc} is not attached to any internet gateway`);
  const igw = (await c.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await c.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
  await c.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: inVpc.InstanceId }));
  // outside the default VPC an associated address is not released
  const inUse = await errorOf(c.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId })));
  assert.equal(inUse.code, 'InvalidIPAddress.InUse');
  assert.equal(inUse.message, `Address ${eip.PublicIp} is in use.`);
});

test('ReleaseAddress in the default VPC disassociates; termination leaves the Elastic IP allocated', async () => {
  const c = server.client('sa-east-1');
  const [e1, e2] = [await allocate(c), await allocate(c)];
  const [i1, i2] = [await running(c), await running(c)];
  await c.send(new AssociateAddressCommand({ AllocationId: e1.AllocationId, InstanceId: i1.InstanceId }));
  await c.send(new ReleaseAddressCommand({ AllocationId: e1.AllocationId }));
  const after = await describeOne(c, i1.InstanceId!);
  assert.ok(after.PublicIpAddress && after.PublicIpAddress !== e1.PublicIp);
  const released = await errorOf(c.send(new ReleaseAddressCommand({ AllocationId: e1.AllocationId })));
  assert.equal(released.code, 'InvalidAllocationID.NotFound');

  await c.send(new AssociateAddressCommand({ AllocationId: e2.AllocationId, InstanceId: i2.InstanceId }));
  await c.send(new TerminateInstancesCommand({ InstanceIds: [i2.InstanceId!] }));
  const gone = await inState(c, i2.InstanceId!, 'terminated');
  assert.equal(gone.PublicIpAddress, undefined);
  const kept = await address(c, e2.AllocationId!);
  assert.equal(kept.PublicIp, e2.PublicIp);
  assert.equal(kept.AssociationId, undefined);
  assert.equal(kept.InstanceId, undefined);
  // and it can be associated again, and released
  const i3 = await running(c);
  await c.send(new AssociateAddressCommand({ AllocationId: e2.AllocationId, InstanceId: i3.InstanceId }));
  assert.equal((await describeOne(c, i3.InstanceId!)).PublicIpAddress, e2.PublicIp);
  const terminated = await errorOf(c.send(new AssociateAddressCommand({ AllocationId: e2.AllocationId, InstanceId: i2.InstanceId, AllowReassociation: true })));
  assert.equal(terminated.code, 'InvalidInstanceID');
  assert.match(terminated.message, /terminated/);
});

test('concurrent AllocateAddress calls never hand out one address twice, nor one an instance holds', async () => {
  const regions = ['ca-central-1', 'eu-north-1', 'eu-central-1', 'ap-southeast-1'];
  const clients = regions.map((r) => server.client(r));
  const held = await Promise.all(clients.map((c) => running(c)));
  const eips = await Promise.all(clients.flatMap((c) => [1, 2, 3, 4, 5].map(() => allocate(c))));
  const ips = [...eips.map((e) => e.PublicIp!), ...held.map((i) => i.PublicIpAddress!)];
  assert.equal(new Set(ips).size, ips.length);
});
