/**
 * Network interfaces through the real AWS SDK: CreateNetworkInterface (addresses from the subnet, named
 * ones checked, groups, tags, DryRun), DescribeNetworkInterfaces (instances' own primary interfaces and
 * stored ones, filters, paging), Attach/Detach (device indexes, zones, the type's limit, the primary),
 * DeleteNetworkInterface (in use), Modify/DescribeNetworkInterfaceAttribute, Assign/
 * UnassignPrivateIpAddresses, RunInstances with an existing interface and with PrivateIpAddress, and
 * what an interface keeps a subnet or group from (DependencyViolation). Each test works in a Region of
 * its own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  type CreateNetworkInterfaceCommandInput,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteNetworkInterfaceCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DescribeNetworkInterfaceAttributeCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  type EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type NetworkInterface,
  RunInstancesCommand,
  TerminateInstancesCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { type TestServer, describeOne, errorOf, eventually, inState, launchOne, startTestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

/** A VPC 10.20.0.0/16 with a /28 subnet (11 usable addresses) in the Region's first zone and one in its second. */
async function vpcWithSubnets(c: EC2Client, region: string) {
  const vpc = (await c.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!;
  const small = (await c.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.20.1.0/28', AvailabilityZone: `${region}a` }))).Subnet!;
  const other = (await c.send(new CreateSubnetCommand({ VpcId: vpc.VpcId, CidrBlock: '10.20.2.0/24', AvailabilityZone: `${region}b` }))).Subnet!;
  return { vpcId: vpc.VpcId!, small: small.SubnetId!, other: other.SubnetId! };
}

const describeEni = async (c: EC2Client, id: string): Promise<NetworkInterface> =>
  (await c.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!;

test('CreateNetworkInterface: the lowest free address, named and counted ones, the VPC default group, tags; errors and DryRun', async () => {
  const region = 'eu-west-1';
  const c = server.client(region);
  const { vpcId, small } = await vpcWithSubnets(c, region);
  const eni = (
    await c.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: small,
        Description: 'db',
        SecondaryPrivateIpAddressCount: 1,
        TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'Name', Value: 'db-eni' }] }],
      }),
    )
  ).NetworkInterface!;
  assert.match(eni.NetworkInterfaceId!, /^eni-[0-9a-f]{17}$/);
  assert.equal(eni.Status, 'available');
  assert.equal(eni.SubnetId, small);
  assert.equal(eni.VpcId, vpcId);
  assert.equal(eni.AvailabilityZone, `${region}a`);
  assert.equal(eni.Description, 'db');
  assert.equal(eni.InterfaceType, 'interface');
  assert.match(eni.MacAddress!, /^0e(:[0-9a-f]{2}){5}$/);
  // the first four addresses of 10.20.1.0/28 are AWS's
  assert.equal(eni.PrivateIpAddress, '10.20.1.4');
  assert.deepEqual(eni.PrivateIpAddresses!.map((a) => [a.PrivateIpAddress, a.Primary]), [['10.20.1.4', true], ['10.20.1.5', false]]);
  assert.equal(eni.Groups!.length, 1);
  assert.equal(eni.Groups![0]!.GroupName, 'default');
  assert.deepEqual(eni.TagSet, [{ Key: 'Name', Value: 'db-eni' }]);

  const named = (await c.send(new CreateNetworkInterfaceCommand({ SubnetId: small, PrivateIpAddress: '10.20.1.9' }))).NetworkInterface!;
  assert.equal(named.PrivateIpAddress, '10.20.1.9');
  for (const [params, code, message] of [
    [{ PrivateIpAddress: '10.20.1.9' }, 'InvalidIPAddress.InUse', 'Address 10.20.1.9 is in use.'],
    [{ PrivateIpAddress: '10.20.1.5' }, 'InvalidIPAddress.InUse', 'Address 10.20.1.5 is in use.'],
    [{ PrivateIpAddress: '10.20.9.9' }, 'InvalidParameterValue', /does not fall within the subnet's address range/],
    [{ PrivateIpAddress: '10.20.1.2' }, 'InvalidParameterValue', /reserved by AWS/],
    [{ PrivateIpAddress: '10.20.1.15' }, 'InvalidParameterValue', /reserved by AWS/],
    [{ PrivateIpAddress: 'ten' }, 'InvalidParameterValue', /ten/],
    [{ SecondaryPrivateIpAddressCount: 20 }, 'InsufficientFreeAddressesInSubnet', /not enough free addresses/],
    [{ Groups: ['sg-0123456789abcdef0'] }, 'InvalidGroup.NotFound', /sg-0123456789abcdef0/],
    [{ SubnetId: 'subnet-0123456789abcdef0' }, 'InvalidSubnetID.NotFound', /subnet-0123456789abcdef0/],
    [{ SubnetId: 'nope' }, 'InvalidSubnetID.Malformed', /nope/],
    [{ Ipv6AddressCount: 1 }, 'NotImplemented', /Ipv6AddressCount/],
  ] as [Partial<CreateNetworkInterfaceCommandInput>, string, string | RegExp][]) {
    const e = await errorOf(c.send(new CreateNetworkInterfaceCommand({ SubnetId: small, ...params })));
    assert.equal(e.code, code, JSON.stringify(params));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
  }
  // a group of the default VPC is not one of this VPC's
  const defaultGroup = (await describeEni(c, (await launchOne(c)).NetworkInterfaces![0]!.NetworkInterfaceId!)).Groups![0]!.GroupId!;
  assert.equal((await errorOf(c.send(new CreateNetworkInterfaceCommand({ SubnetId: small, Groups: [defaultGroup] })))).code, 'InvalidParameter');
  const dry = await errorOf(c.send(new CreateNetworkInterfaceCommand({ SubnetId: small, DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  const mine = (await c.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [small] }] }))).NetworkInterfaces!;
  assert.deepEqual(mine.map((x) => x.NetworkInterfaceId).sort(), [eni.NetworkInterfaceId, named.NetworkInterfaceId].sort());
});

test('DescribeNetworkInterfaces: instances\' own primary interfaces and stored ones, filters, tags, NotFound, paging', async () => {
  const region = 'eu-west-2';
  const c = server.client(region);
  const { small } = await vpcWithSubnets(c, region);
  const eni = (await c.send(new CreateNetworkInterfaceCommand({ SubnetId: small }))).NetworkInterface!;
  const instances = await Promise.all([1, 2, 3, 4, 5].map(() => launchOne(c)));
  const primaryId = instances[0]!.NetworkInterfaces![0]!.NetworkInterfaceId!;
  await c.send(new CreateTagsCommand({ Resources: [primaryId], Tags: [{ Key: 'role', Value: 'primary' }] }));

  const all = (await c.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces!;
  assert.equal(all.length, 6);
  const primary = all.find((x) => x.NetworkInterfaceId === primaryId)!;
  assert.equal(primary.Status, 'in-use');
  assert.equal(primary.Attachment!.InstanceId, instances[0]!.InstanceId);
  assert.equal(primary.Attachment!.DeviceIndex, 0);
  assert.equal(primary.PrivateIpAddress, instances[0]!.PrivateIpAddress);
  assert.equal(primary.MacAddress, instances[0]!.NetworkInterfaces![0]!.MacAddress);
  assert.deepEqual(primary.TagSet, [{ Key: 'role', Value: 'primary' }]);

  const filtered = async (Name: string, Values: string[]) =>
    (await c.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name, Values }] }))).NetworkInterfaces!.map((x) => x.NetworkInterfaceId);
  assert.deepEqual(await filtered('status', ['available']), [eni.NetworkInterfaceId]);
  assert.deepEqual(await filtered('attachment.instance-id', [instances[1]!.InstanceId!]), [instances[1]!.NetworkInterfaces![0]!.NetworkInterfaceId]);
  assert.deepEqual(await filtered('tag:role', ['primary']), [primaryId]);
  assert.deepEqual(await filtered('private-ip-address', [eni.PrivateIpAddress!]), [eni.NetworkInterfaceId]);
  assert.equal((await filtered('attachment.device-index', ['0'])).length, 5);
  assert.equal((await errorOf(c.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })))).code, 'InvalidParameterValue');

  const missing = await errorOf(c.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] })));
  assert.deepEqual([missing.code, missing.message], ['InvalidNetworkInterfaceID.NotFound', "The networkInterface ID 'eni-0123456789abcdef0' does not exist"]);
  assert.equal((await errorOf(c.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-x'] })))).code, 'InvalidNetworkInterfaceID.Malformed');

  const first = await c.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5 }));
  assert.equal(first.NetworkInterfaces!.length, 5);
  const second = await c.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5, NextToken: first.NextToken }));
  assert.equal(second.NetworkInterfaces!.length, 1);
  assert.equal(second.NextToken, undefined);

  // a terminated instance's interface is gone
  await c.send(new TerminateInstancesCommand({ InstanceIds: [instances[4]!.InstanceId!] }));
  await inState(c, instances[4]!.InstanceId!, 'terminated');
  const gone = instances[4]!.NetworkInterfaces![0]!.NetworkInterfaceId!;
  assert.equal((await errorOf(c.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [gone] })))).code, 'InvalidNetworkInterfaceID.NotFound');
});

test('Attach/Detach/Delete: device indexes, the zone, the type\'s limit, the primary interface, in use', async () => {
  const region = 'eu-west-3';
  const c = server.client(region);
  const { small, other } = await vpcWithSubnets(c, region);
  const instance = await inState(c, (await launchOne(c, { SubnetId: small, InstanceType: 't3.micro' })).InstanceId!, 'running');
  const eni = (await c.send(new CreateNetworkInterfaceCommand({ SubnetId: small }))).NetworkInterface!;
  const elsewhere = (await c.send(new CreateNetworkInterfaceCommand({ SubnetId: other }))).NetworkInterface!;
  const attach = (NetworkInterfaceId: string, DeviceIndex: number) =>
    c.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId, InstanceId: instance.InstanceId, DeviceIndex }));

  assert.equal((await errorOf(attach(elsewhere.NetworkInterfaceId!, 1))).code, 'InvalidParameterCombination');
  const primaryIndex = await errorOf(attach(eni.NetworkInterfaceId!, 0));
  assert.equal(primaryIndex.message, `Instance '${instance.InstanceId}' already has an interface attached at device index '0'.`);
  const { AttachmentId } = await attach(eni.NetworkInterfaceId!, 1);
  assert.match(AttachmentId!, /^eni-attach-[0-9a-f]{17}$/);

  const attached = await describeEni(c, eni.NetworkInterfaceId!);
  assert.equal(attached.Status, 'in-use');
  assert.deepEqual([attached.Attachment!.InstanceId, attached.Attachment!.DeviceIndex, attached.Attachment!.Status], [instance.InstanceId, 1, 'attached']);
  const shown = await describeOne(c, instance.InstanceId!);
  assert.deepEqual(shown.NetworkInterfaces!.map((x) => [x.NetworkInterfaceId, x.Attachment!.DeviceIndex]), [
    [instance.NetworkInterfaces![0]!.NetworkInterfaceId, 0],
    [eni.NetworkInterfaceId, 1],
  ]);

  const inUse = await errorOf(c.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId })));
  assert.deepEqual([inUse.code, inUse.message], ['InvalidNetworkInterface.InUse', `Interface: [${eni.NetworkInterfaceId}] in use.`]);
  assert.equal((await errorOf(c.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: instance.NetworkInterfaces![0]!.NetworkInterfaceId })))).code, 'InvalidNetworkInterface.InUse');
  // t3.micro takes two interfaces
  const third = (await c.send(new CreateNetworkInterfaceCommand({ SubnetId: small }))).NetworkInterface!;
  const limit = await errorOf(attach(third.NetworkInterfaceId!, 2));
  assert.deepEqual([limit.code, limit.message], ['AttachmentLimitExceeded', 'Interface count 3 exceeds the limit for t3.micro']);

  const primaryDetach = await errorOf(c.send(new DetachNetworkInterfaceCommand({ AttachmentId: instance.NetworkInterfaces![0]!.Attachment!.AttachmentId })));
  assert.equal(primaryDetach.code, 'OperationNotPermitted');
  assert.equal((await errorOf(c.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'eni-attach-0123456789abcdef0' })))).code, 'InvalidAttachmentID.NotFound');
  await c.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
  assert.equal((await describeEni(c, eni.NetworkInterfaceId!)).Status, 'available');
  assert.equal((await describeOne(c, instance.InstanceId!)).NetworkInterfaces!.length, 1);
  await c.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId }));
  assert.equal((await errorOf(describeEni(c, eni.NetworkInterfaceId!))).code, 'InvalidNetworkInterfaceID.NotFound');

  // an interface keeps its subnet and its groups from being deleted
  assert.equal((await errorOf(c.send(new DeleteSubnetCommand({ SubnetId: other })))).code, 'DependencyViolation');
});

test('RunInstances with an existing interface: it is the primary, keeps its address, and outlives the instance unless DeleteOnTermination', async () => {
  const region = 'eu-central-1';
  const c = server.client(region);
  const { small } = await vpcWithSubnets(c, region);
  const eni = (await c.send(new CreateNetworkInterfaceCommand({ SubnetId: small, PrivateIpAddress: '10.20.1.10' }))).NetworkInterface!;
  const nic = { DeviceIndex: 0, NetworkInterfaceId: eni.NetworkInterfaceId };
  const many = await errorOf(c.send(new RunInstancesCommand({ ImageId: 'ami-0b5e4a1f2c3d40001', MinCount: 2, MaxCount: 2, NetworkInterfaces: [nic] })));
  assert.equal(many.code, 'InvalidParameterCombination');

  const i = await launchOne(c, { NetworkInterfaces: [nic] });
  assert.deepEqual([i.SubnetId, i.PrivateIpAddress, i.NetworkInterfaces![0]!.NetworkInterfaceId, i.NetworkInterfaces![0]!.MacAddress], [
    small,
    '10.20.1.10',
    eni.NetworkInterfaceId,
    eni.MacAddress,
  ]);
  assert.equal(i.NetworkInterfaces![0]!.Attachment!.DeleteOnTermination, false);
  const inUse = await errorOf(launchOne(c, { NetworkInterfaces: [nic] }));
  assert.deepEqual([inUse.code, inUse.message], ['InvalidNetworkInterface.InUse', `Interface: [${eni.NetworkInterfaceId}] in use.`]);
  const attached = await describeEni(c, eni.NetworkInterfaceId!);
  assert.deepEqual([attached.Status, attached.Attachment!.InstanceId, attached.Attachment!.DeviceIndex], ['in-use', i.InstanceId, 0]);

  // groups changed on the instance are the interface's, and the other way round
  const sg = (await c.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web', VpcId: attached.VpcId }))).GroupId!;
  await c.send(new ModifyInstanceAttributeCommand({ InstanceId: i.InstanceId, Groups: [sg] }));
  assert.deepEqual((await describeEni(c, eni.NetworkInterfaceId!)).Groups!.map((g) => g.GroupId), [sg]);
  assert.equal((await errorOf(c.send(new DeleteSecurityGroupCommand({ GroupId: sg })))).code, 'DependencyViolation');

  await inState(c, i.InstanceId!, 'running');
  await c.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));
  await inState(c, i.InstanceId!, 'terminated');
  const kept = await describeEni(c, eni.NetworkInterfaceId!);
  assert.deepEqual([kept.Status, kept.Attachment, kept.PrivateIpAddress], ['available', undefined, '10.20.1.10']);

  // launched again, this time to go with its instance
  const again = await launchOne(c, { NetworkInterfaces: [{ ...nic, DeleteOnTermination: true }] });
  assert.equal(again.PrivateIpAddress, '10.20.1.10');
  await inState(c, again.InstanceId!, 'running');
  await c.send(new TerminateInstancesCommand({ InstanceIds: [again.InstanceId!] }));
  await inState(c, again.InstanceId!, 'terminated');
  assert.equal((await errorOf(describeEni(c, eni.NetworkInterfaceId!))).code, 'InvalidNetworkInterfaceID.NotFound');
});

test('RunInstances with new interfaces at device index 1: one each, addresses of their own, gone with their instances', async () => {
  const region = 'ca-central-1';
  const c = server.client(region);
  const { small, other } = await vpcWithSubnets(c, region);
  const r = await c.send(
    new RunInstancesCommand({
      ImageId: 'ami-0b5e4a1f2c3d40001',
      InstanceType: 't3.micro',
      MinCount: 2,
      MaxCount: 2,
      NetworkInterfaces: [
        { DeviceIndex: 0, SubnetId: small },
        { DeviceIndex: 1, SubnetId: small, Description: 'data plane', SecondaryPrivateIpAddressCount: 1 },
      ],
    }),
  );
  const interfaces = r.Instances!.flatMap((i) => i.NetworkInterfaces!);
  assert.deepEqual(interfaces.map((n) => n.Attachment!.DeviceIndex), [0, 1, 0, 1]);
  const addresses = interfaces.flatMap((n) => n.PrivateIpAddresses!.map((a) => a.PrivateIpAddress!));
  assert.equal(addresses.length, 6);
  assert.equal(new Set(addresses).size, 6, 'every address once');
  const second = interfaces.filter((n) => n.Attachment!.DeviceIndex === 1);
  assert.ok(second.every((n) => n.Description === 'data plane' && n.Attachment!.DeleteOnTermination === true && n.SubnetId === small));
  const listed = (await c.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.device-index', Values: ['1'] }] }))).NetworkInterfaces!;
  assert.deepEqual(listed.map((n) => n.NetworkInterfaceId).sort(), second.map((n) => n.NetworkInterfaceId).sort());
  // an interface in another zone's subnet, more than the type takes
  const zone = await errorOf(launchOne(c, { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: small }, { DeviceIndex: 1, SubnetId: other }] }));
  assert.equal(zone.code, 'InvalidParameterCombination');
  const limit = await errorOf(
    launchOne(c, { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: small }, { DeviceIndex: 1 }, { DeviceIndex: 2 }] }),
  );
  assert.deepEqual([limit.code, limit.message], ['AttachmentLimitExceeded', 'Interface count 3 exceeds the limit for t3.micro']);
  // DeleteOnTermination (EC2's default for an interface a launch makes): gone with the instance
  const first = r.Instances![0]!;
  await inState(c, first.InstanceId!, 'running');
  await c.send(new TerminateInstancesCommand({ InstanceIds: [first.InstanceId!] }));
  await inState(c, first.InstanceId!, 'terminated');
  const gone = first.NetworkInterfaces!.find((n) => n.Attachment!.DeviceIndex === 1)!.NetworkInterfaceId!;
  assert.equal((await errorOf(describeEni(c, gone))).code, 'InvalidNetworkInterfaceID.NotFound');
});

test('RunInstances PrivateIpAddress: in the subnet, free, one instance; a default subnet too', async () => {
  const region = 'us-west-2';
  const c = server.client(region);
  const { small } = await vpcWithSubnets(c, region);
  const i = await launchOne(c, { SubnetId: small, PrivateIpAddress: '10.20.1.7' });
  assert.equal(i.PrivateIpAddress, '10.20.1.7');
  const taken = await errorOf(launchOne(c, { SubnetId: small, PrivateIpAddress: '10.20.1.7' }));
  assert.deepEqual([taken.code, taken.message], ['InvalidIPAddress.InUse', 'Address 10.20.1.7 is in use.']);
  // a launch without an address never takes it
  const next = (await launchOne(c, { SubnetId: small })).PrivateIpAddress!;
  assert.ok(next.startsWith('10.20.1.') && next !== '10.20.1.7', next);
  assert.equal((await errorOf(launchOne(c, { SubnetId: small, PrivateIpAddress: '10.20.2.7' }))).code, 'InvalidParameterValue');
  const inDefault = await launchOne(c, { PrivateIpAddress: '172.31.5.5', Placement: { AvailabilityZone: `${region}a` } });
  assert.equal(inDefault.PrivateIpAddress, '172.31.5.5');
  assert.equal((await errorOf(launchOne(c, { PrivateIpAddress: '172.31.5.5', Placement: { AvailabilityZone: `${region}a` } }))).code, 'InvalidIPAddress.InUse');
  // secondary addresses at launch
  const withSecondary = await launchOne(c, { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: small, SecondaryPrivateIpAddressCount: 1 }] });
  assert.equal(withSecondary.NetworkInterfaces![0]!.PrivateIpAddresses!.length, 2);
});

test('Assign/UnassignPrivateIpAddresses and ModifyNetworkInterfaceAttribute, on an instance\'s own interface and a stored one', async () => {
  const region = 'ap-southeast-2';
  const c = server.client(region);
  const { small } = await vpcWithSubnets(c, region);
  const instance = await inState(c, (await launchOne(c, { SubnetId: small })).InstanceId!, 'running');
  const own = instance.NetworkInterfaces![0]!.NetworkInterfaceId!;
  const added = await c.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: own, SecondaryPrivateIpAddressCount: 1 }));
  assert.equal(added.AssignedPrivateIpAddresses!.length, 1);
  const secondary = added.AssignedPrivateIpAddresses![0]!.PrivateIpAddress!;
  const shown = (await describeOne(c, instance.InstanceId!)).NetworkInterfaces![0]!.PrivateIpAddresses!;
  assert.deepEqual(shown.map((a) => [a.PrivateIpAddress, a.Primary]), [[instance.PrivateIpAddress, true], [secondary, false]]);
  // t3.micro: two addresses per interface
  assert.equal((await errorOf(c.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: own, SecondaryPrivateIpAddressCount: 1 })))).code, 'PrivateIpAddressLimitExceeded');
  const primaryOut = await errorOf(c.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: own, PrivateIpAddresses: [instance.PrivateIpAddress!] })));
  assert.equal(primaryOut.code, 'InvalidParameterValue');
  await c.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: own, PrivateIpAddresses: [secondary] }));
  assert.equal((await describeEni(c, own)).PrivateIpAddresses!.length, 1);

  const eni = (await c.send(new CreateNetworkInterfaceCommand({ SubnetId: small }))).NetworkInterface!;
  const named = await c.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, PrivateIpAddresses: ['10.20.1.12'] }));
  assert.deepEqual(named.AssignedPrivateIpAddresses, [{ PrivateIpAddress: '10.20.1.12' }]);
  const taken = await errorOf(c.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: own, PrivateIpAddresses: ['10.20.1.12'] })));
  assert.equal(taken.code, 'InvalidIPAddress.InUse');

  const modify = (params: object) => c.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, ...params }));
  await modify({ Description: { Value: 'changed' } });
  await modify({ SourceDestCheck: { Value: false } });
  const attr = (Attribute: 'description' | 'sourceDestCheck' | 'groupSet' | 'attachment') =>
    c.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Attribute }));
  assert.equal((await attr('description')).Description!.Value, 'changed');
  assert.equal((await attr('sourceDestCheck')).SourceDestCheck!.Value, false);
  assert.equal((await attr('attachment')).Attachment, undefined);
  const both = await errorOf(modify({ Description: { Value: 'x' }, SourceDestCheck: { Value: true } }));
  assert.equal(both.code, 'InvalidParameterCombination');
  // the instance's own interface: its check is the instance's
  await c.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: own, SourceDestCheck: { Value: false } }));
  assert.equal((await describeOne(c, instance.InstanceId!)).SourceDestCheck, false);
});

test('default subnets: addresses from a sequence, never one in use; an address named outside it, a full subnet, a launch passed to the next zone', async () => {
  const region = 'sa-east-1';
  const c = server.client(region);
  const zoneA = { AvailabilityZone: `${region}a` };
  const first = await launchOne(c, { Placement: zoneA });
  assert.equal(first.PrivateIpAddress, '172.31.0.4');
  const named = await launchOne(c, { Placement: zoneA, PrivateIpAddress: '172.31.0.5' });
  assert.equal(named.PrivateIpAddress, '172.31.0.5');
  // 4,000 more in zone a: the sequence comes round, and no address is given twice
  const many: string[] = [first.PrivateIpAddress!, named.PrivateIpAddress!];
  for (let k = 0; k < 4; k++) {
    const r = await c.send(new RunInstancesCommand({ ImageId: 'ami-0b5e4a1f2c3d40001', InstanceType: 't3.micro', MinCount: 1000, MaxCount: 1000, Placement: zoneA }));
    many.push(...r.Instances!.map((i) => i.PrivateIpAddress!));
  }
  assert.equal(new Set(many).size, many.length, 'every address once');
  assert.ok(many.every((ip) => ip.startsWith('172.31.') && Number(ip.split('.')[2]) < 16), 'all in 172.31.0.0/20');
  // 4,091 usable addresses: 89 left in zone a
  const full = await errorOf(c.send(new RunInstancesCommand({ ImageId: 'ami-0b5e4a1f2c3d40001', MinCount: 100, MaxCount: 100, Placement: zoneA })));
  assert.equal(full.code, 'InsufficientFreeAddressesInSubnet');
  // without a zone, the launch goes where there is room
  const spilled = await c.send(new RunInstancesCommand({ ImageId: 'ami-0b5e4a1f2c3d40001', MinCount: 100, MaxCount: 100 }));
  assert.equal(spilled.Instances![0]!.Placement!.AvailabilityZone, `${region}b`);
  assert.ok(spilled.Instances!.every((i) => i.PrivateIpAddress!.startsWith('172.31.1')), spilled.Instances![0]!.PrivateIpAddress);
  // terminating one frees its address for the next launch in zone a
  await c.send(new TerminateInstancesCommand({ InstanceIds: [first.InstanceId!] }));
  await inState(c, first.InstanceId!, 'terminated');
  const rest = await c.send(new RunInstancesCommand({ ImageId: 'ami-0b5e4a1f2c3d40001', MinCount: 90, MaxCount: 90, Placement: zoneA }));
  assert.ok(rest.Instances!.some((i) => i.PrivateIpAddress === '172.31.0.4'));
});

test('after the retention, a purged instance takes what went with it (volumes, interfaces) and lets the rest go', async () => {
  const short = await startTestServer({ terminatedRetentionMs: 200 });
  try {
    const region = 'eu-north-1';
    const c = short.client(region);
    const { small } = await vpcWithSubnets(c, region);
    const kept = (await c.send(new CreateNetworkInterfaceCommand({ SubnetId: small }))).NetworkInterface!.NetworkInterfaceId!;
    const i = await launchOne(c, {
      NetworkInterfaces: [
        { DeviceIndex: 0, SubnetId: small },
        { DeviceIndex: 1, NetworkInterfaceId: kept },
      ],
      BlockDeviceMappings: [
        { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1, DeleteOnTermination: true } },
        { DeviceName: '/dev/sdg', Ebs: { VolumeSize: 1, DeleteOnTermination: false } },
      ],
    });
    const volumeOf = (device: string) => i.BlockDeviceMappings!.find((m) => m.DeviceName === device)!.Ebs!.VolumeId!;
    const [going, staying] = [volumeOf('/dev/sdf'), volumeOf('/dev/sdg')];
    assert.deepEqual(i.NetworkInterfaces!.map((n) => n.Attachment!.DeviceIndex), [0, 1]);
    await inState(c, i.InstanceId!, 'running');
    await c.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));
    await inState(c, i.InstanceId!, 'terminated');
    // past the retention: the host's purge (every minute; called here) removes the instance and what went with it
    const store = short.nestbox.services.store;
    await eventually(async () => {
      await short.nestbox.vmHost!.purge();
      return (await store.instance(i.InstanceId!)) === undefined ? true : undefined;
    }, 5000, 'the instance purged');
    assert.equal(await store.resource('volume', going), undefined, 'the DeleteOnTermination volume is deleted');
    assert.equal((await store.resource('volume', staying))?.attachment, undefined, 'the other volume is detached');
    assert.equal((await store.resource('network-interface', kept))?.attachment, undefined, 'the interface is detached');
    assert.equal((await describeEni(c, kept)).Status, 'available');
  } finally {
    await short.close();
  }
});
