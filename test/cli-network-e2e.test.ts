/**
 * The Terraform-shaped flow through the real AWS CLI v1, the way an automation engineer scripts it:
 * VPC → subnet → internet gateway → route → security group with an SSH rule → key pair → an instance
 * with nested virtualization in that subnet and group → an Elastic IP associated with it → a volume in
 * the subnet's zone attached to it → a snapshot of the volume → an image of the instance → an instance
 * launched from that image into the subnet, with the image's block device mappings; then everything torn
 * down in dependency order, as `terraform destroy` does. Each step's answer feeds the next, and the CLI's
 * own output parsing (and its waiters' matchers) checks the wire format. Simulated driver.
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

test('VPC, subnet, gateway, route, group, key pair, a nested-virtualization instance in them, EIP, volume, snapshot, image, and an instance of it (AWS CLI)', { skip }, async () => {
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

  const zone = subnet.AvailabilityZone;
  const autoIp = inst.PublicIpAddress;

  // Elastic IP: allocated in the VPC domain, associated with the instance, which shows it as its public address.
  const eip = await cli.ec2Json('allocate-address', '--domain', 'vpc');
  assert.match(eip.AllocationId, /^eipalloc-[0-9a-f]{17}$/);
  assert.equal(eip.Domain, 'vpc');
  assert.notEqual(eip.PublicIp, autoIp);
  const eipAssoc = await cli.ec2Json('associate-address', '--instance-id', id, '--allocation-id', eip.AllocationId);
  assert.match(eipAssoc.AssociationId, /^eipassoc-/);
  const withEip = await cli.describeOne(id);
  assert.equal(withEip.PublicIpAddress, eip.PublicIp, 'the Elastic IP replaces the automatic address');
  assert.equal(withEip.NetworkInterfaces[0].Association.PublicIp, eip.PublicIp);
  assert.equal(withEip.NetworkInterfaces[0].Association.IpOwnerId, '000000000000', 'an Elastic IP is owned by the account');
  const [address] = (await cli.ec2Json('describe-addresses', '--allocation-ids', eip.AllocationId)).Addresses;
  assert.equal(address.PublicIp, eip.PublicIp);
  assert.equal(address.AssociationId, eipAssoc.AssociationId);
  assert.equal(address.InstanceId, id);
  assert.equal(address.NetworkInterfaceId, withEip.NetworkInterfaces[0].NetworkInterfaceId);
  assert.equal(address.PrivateIpAddress, inst.PrivateIpAddress);
  // outside the default VPC an associated address is not released
  assert.match(await cli.ec2Fails('release-address', '--allocation-id', eip.AllocationId), /InvalidIPAddress\.InUse/);

  // A data volume in the subnet's zone, attached to the instance.
  const created = await cli.ec2Json(
    'create-volume', '--availability-zone', zone, '--size', '2', '--volume-type', 'gp3',
    '--tag-specifications', tag('volume', 'ci-data'),
  );
  const volumeId: string = created.VolumeId;
  assert.match(volumeId, /^vol-[0-9a-f]{17}$/);
  assert.equal(created.AvailabilityZone, zone);
  await cli.waitUntil(['describe-volumes', '--volume-ids', volumeId], (j) => j.Volumes[0].State, 'available');
  const attaching = await cli.ec2Json('attach-volume', '--volume-id', volumeId, '--instance-id', id, '--device', '/dev/sdf');
  assert.equal(attaching.State, 'attaching');
  const inUse = (await cli.waitUntil(['describe-volumes', '--volume-ids', volumeId], (j) => j.Volumes[0].State, 'in-use')).Volumes[0];
  assert.equal(inUse.Attachments.length, 1);
  assert.deepEqual(
    [inUse.Attachments[0].InstanceId, inUse.Attachments[0].Device, inUse.Attachments[0].State, inUse.Attachments[0].DeleteOnTermination],
    [id, '/dev/sdf', 'attached', false],
  );
  const rootVolumeId: string = withEip.BlockDeviceMappings[0].Ebs.VolumeId;
  assert.deepEqual(
    (await cli.describeOne(id)).BlockDeviceMappings.map((m: any) => [m.DeviceName, m.Ebs.VolumeId]),
    [['/dev/xvda', rootVolumeId], ['/dev/sdf', volumeId]],
  );
  assert.match(await cli.ec2Fails('delete-volume', '--volume-id', volumeId), /VolumeInUse/);

  // A snapshot of it, waited for until completed.
  const snap = await cli.ec2Json('create-snapshot', '--volume-id', volumeId, '--description', 'ci data', '--tag-specifications', tag('snapshot', 'ci-snap'));
  assert.match(snap.SnapshotId, /^snap-[0-9a-f]{17}$/);
  assert.equal(snap.VolumeId, volumeId);
  assert.equal(snap.VolumeSize, 2);
  // polled quickly until completed; then the CLI's own waiter agrees (its first poll matches: no 15 s delay)
  const completed = (await cli.waitUntil(['describe-snapshots', '--snapshot-ids', snap.SnapshotId], (j) => j.Snapshots[0].State, 'completed')).Snapshots[0];
  assert.equal(completed.Progress, '100%');
  assert.equal(completed.Description, 'ci data');
  assert.equal((await cli.ec2('wait', 'snapshot-completed', '--snapshot-ids', snap.SnapshotId)).code, 0);

  // An image of the running instance (root and data volume), waited for until available.
  const { ImageId: imageId } = await cli.ec2Json('create-image', '--instance-id', id, '--name', 'ci-image', '--description', 'CI image', '--no-reboot');
  assert.match(imageId, /^ami-[0-9a-f]{17}$/);
  const image = (await cli.waitUntil(['describe-images', '--image-ids', imageId], (j) => j.Images[0].State, 'available')).Images[0];
  assert.equal((await cli.ec2('wait', 'image-available', '--image-ids', imageId)).code, 0);
  assert.equal(image.Name, 'ci-image');
  assert.equal(image.SourceInstanceId, id);
  assert.equal(image.RootDeviceName, '/dev/xvda');
  assert.equal(image.RootDeviceType, 'ebs');
  assert.deepEqual(image.BlockDeviceMappings.map((m: any) => m.DeviceName), ['/dev/xvda', '/dev/sdf']);
  const [rootMapping, dataMapping] = image.BlockDeviceMappings;
  assert.equal(rootMapping.Ebs.DeleteOnTermination, true);
  assert.deepEqual(
    [dataMapping.Ebs.VolumeSize, dataMapping.Ebs.VolumeType, dataMapping.Ebs.DeleteOnTermination],
    [2, 'gp3', false],
    'the data volume is mapped as it was attached',
  );
  const imageSnapshotIds: string[] = image.BlockDeviceMappings.map((m: any) => m.Ebs.SnapshotId);
  const imageSnapshots = (await cli.ec2Json('describe-snapshots', '--snapshot-ids', ...imageSnapshotIds)).Snapshots;
  assert.deepEqual(
    imageSnapshots.map((x: any) => [x.SnapshotId, x.VolumeId, x.State, x.Description]),
    [
      [imageSnapshotIds[0], rootVolumeId, 'completed', `Created by CreateImage(${id}) for ${imageId}`],
      [imageSnapshotIds[1], volumeId, 'completed', `Created by CreateImage(${id}) for ${imageId}`],
    ],
  );
  assert.ok(!imageSnapshotIds.includes(snap.SnapshotId));

  // An instance of the image in the same subnet: its volumes are the image's mappings, restored from its snapshots.
  const fromImage = await cli.ec2Json(
    'run-instances',
    '--image-id', imageId,
    '--instance-type', 'c8i.large',
    '--subnet-id', subnet.SubnetId,
    '--security-group-ids', group.GroupId,
    '--key-name', 'ci-key',
  );
  const copyId: string = fromImage.Instances[0].InstanceId;
  const copy = await cli.waitFor(copyId, 'running');
  assert.equal(copy.ImageId, imageId);
  assert.equal(copy.SubnetId, subnet.SubnetId);
  assert.equal(copy.Placement.AvailabilityZone, zone);
  assert.equal(copy.RootDeviceName, '/dev/xvda');
  assert.ok(copy.PrivateIpAddress.startsWith('10.8.1.'), copy.PrivateIpAddress);
  assert.ok(copy.PublicIpAddress && copy.PublicIpAddress !== eip.PublicIp);
  assert.deepEqual(copy.BlockDeviceMappings.map((m: any) => [m.DeviceName, m.Ebs.Status, m.Ebs.DeleteOnTermination]), [
    ['/dev/xvda', 'attached', true],
    ['/dev/sdf', 'attached', false],
  ]);
  const copyVolumeIds: string[] = copy.BlockDeviceMappings.map((m: any) => m.Ebs.VolumeId);
  assert.ok(!copyVolumeIds.includes(rootVolumeId) && !copyVolumeIds.includes(volumeId), 'new volumes, not the source instance’s');
  const copyVolumes = (await cli.ec2Json('describe-volumes', '--volume-ids', ...copyVolumeIds)).Volumes;
  assert.deepEqual(
    copyVolumes.map((v: any) => [v.VolumeId, v.SnapshotId, v.AvailabilityZone, v.State, v.Attachments[0]?.InstanceId]),
    [
      [copyVolumeIds[0], imageSnapshotIds[0], zone, 'in-use', copyId],
      [copyVolumeIds[1], imageSnapshotIds[1], zone, 'in-use', copyId],
    ],
  );
  assert.deepEqual([copyVolumes[1].Size, copyVolumes[1].VolumeType], [2, 'gp3']);

  // Tear-down in dependency order, as `terraform destroy` does.
  assert.match(await cli.ec2Fails('delete-vpc', '--vpc-id', vpc.VpcId), /DependencyViolation/);
  assert.match(await cli.ec2Fails('delete-snapshot', '--snapshot-id', imageSnapshotIds[1]!), /InvalidSnapshot\.InUse/);
  // the address: disassociated (the instance gets an automatic address again, as its subnet maps one), released
  assert.equal((await cli.ec2('disassociate-address', '--association-id', eipAssoc.AssociationId)).code, 0);
  const withoutEip = await cli.describeOne(id);
  assert.ok(withoutEip.PublicIpAddress && withoutEip.PublicIpAddress !== eip.PublicIp, `public address ${withoutEip.PublicIpAddress}`);
  assert.equal(withoutEip.NetworkInterfaces[0].Association.IpOwnerId, 'amazon');
  assert.equal((await cli.ec2('release-address', '--allocation-id', eip.AllocationId)).code, 0);
  // the volume: detached, deleted
  assert.equal((await cli.ec2Json('detach-volume', '--volume-id', volumeId)).State, 'detaching');
  await cli.waitUntil(['describe-volumes', '--volume-ids', volumeId], (j) => j.Volumes[0].State, 'available');
  assert.equal((await cli.ec2('delete-volume', '--volume-id', volumeId)).code, 0);
  // the image, then its snapshots and the volume's (at once, as Terraform destroys independent resources)
  assert.equal((await cli.ec2Json('deregister-image', '--image-id', imageId)).Return, true);
  await Promise.all(
    [...imageSnapshotIds, snap.SnapshotId].map(async (snapshotId) => {
      const r = await cli.ec2('delete-snapshot', '--snapshot-id', snapshotId);
      assert.equal(r.code, 0, `delete-snapshot ${snapshotId}: ${r.stderr}`);
    }),
  );
  // the instances; the copy's data volume (DeleteOnTermination false) stays behind, available, until deleted
  await cli.ec2Json('terminate-instances', '--instance-ids', id, copyId);
  await Promise.all([cli.waitFor(id, 'terminated'), cli.waitFor(copyId, 'terminated')]);
  const [kept] = (await cli.waitUntil(['describe-volumes', '--volume-ids', copyVolumeIds[1]!], (j) => j.Volumes[0].State, 'available')).Volumes;
  assert.deepEqual(kept.Attachments, []);
  assert.equal((await cli.ec2('delete-volume', '--volume-id', copyVolumeIds[1]!)).code, 0);
  for (const args of [
    ['disassociate-route-table', '--association-id', assoc.AssociationId],
    ['delete-route-table', '--route-table-id', table.RouteTableId],
    ['detach-internet-gateway', '--internet-gateway-id', igw.InternetGatewayId, '--vpc-id', vpc.VpcId],
    ['delete-internet-gateway', '--internet-gateway-id', igw.InternetGatewayId],
    ['delete-security-group', '--group-id', group.GroupId],
    ['delete-subnet', '--subnet-id', subnet.SubnetId],
    ['delete-vpc', '--vpc-id', vpc.VpcId],
    ['delete-key-pair', '--key-name', 'ci-key'],
  ]) {
    const r = await cli.ec2(...args);
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
  }
  // nothing of the flow is left
  const [vpcs, volumes, snapshots, addresses, images] = await Promise.all([
    cli.ec2Fails('describe-vpcs', '--vpc-ids', vpc.VpcId),
    cli.ec2Json('describe-volumes'),
    cli.ec2Json('describe-snapshots', '--owner-ids', 'self'),
    cli.ec2Json('describe-addresses'),
    cli.ec2Json('describe-images', '--owners', 'self'),
  ]);
  assert.match(vpcs, /InvalidVpcID\.NotFound/);
  assert.deepEqual(volumes.Volumes, []);
  assert.deepEqual(snapshots.Snapshots, []);
  assert.deepEqual(addresses.Addresses, []);
  assert.deepEqual(images.Images, []);
});

test('network interfaces through the AWS CLI: create one, launch with it as the primary, a secondary address, detach-free teardown', { skip }, async () => {
  const subnets = (await cli.ec2Json('describe-subnets', '--filters', 'Name=default-for-az,Values=true', 'Name=availability-zone,Values=eu-central-1a')).Subnets;
  const subnetId = subnets[0].SubnetId;
  const eni = (await cli.ec2Json('create-network-interface', '--subnet-id', subnetId, '--description', 'primary of its own', '--private-ip-address', '172.31.9.9')).NetworkInterface;
  assert.equal(eni.Status, 'available');
  assert.equal(eni.PrivateIpAddress, '172.31.9.9');
  const run = await cli.ec2Json(
    'run-instances',
    '--image-id', 'ami-0b5e4a1f2c3d40001',
    '--instance-type', 'c8i.large',
    '--cpu-options', 'NestedVirtualization=enabled',
    '--network-interfaces', `DeviceIndex=0,NetworkInterfaceId=${eni.NetworkInterfaceId}`,
  );
  const id = run.Instances[0].InstanceId;
  const inst = await cli.waitFor(id, 'running');
  assert.equal(inst.PrivateIpAddress, '172.31.9.9');
  assert.equal(inst.NetworkInterfaces[0].NetworkInterfaceId, eni.NetworkInterfaceId);
  const assigned = await cli.ec2Json('assign-private-ip-addresses', '--network-interface-id', eni.NetworkInterfaceId, '--secondary-private-ip-address-count', '1');
  assert.equal(assigned.AssignedPrivateIpAddresses.length, 1);
  const described = (await cli.ec2Json('describe-network-interfaces', '--network-interface-ids', eni.NetworkInterfaceId)).NetworkInterfaces[0];
  assert.deepEqual([described.Status, described.Attachment.InstanceId, described.PrivateIpAddresses.length], ['in-use', id, 2]);
  assert.match(await cli.ec2Fails('delete-network-interface', '--network-interface-id', eni.NetworkInterfaceId), /InvalidNetworkInterface\.InUse/);
  await cli.ec2Json('terminate-instances', '--instance-ids', id);
  await cli.waitFor(id, 'terminated');
  // it existed before the instance: it outlives it, available, and is deleted on its own
  assert.equal((await cli.ec2Json('describe-network-interfaces', '--network-interface-ids', eni.NetworkInterfaceId)).NetworkInterfaces[0].Status, 'available');
  assert.equal((await cli.ec2('delete-network-interface', '--network-interface-id', eni.NetworkInterfaceId)).code, 0);
  assert.match(await cli.ec2Fails('describe-network-interfaces', '--network-interface-ids', eni.NetworkInterfaceId), /InvalidNetworkInterfaceID\.NotFound/);
});
