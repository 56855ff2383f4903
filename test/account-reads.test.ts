/**
 * Reads about the account and its instances, through the real AWS SDK: DescribeAccountAttributes,
 * DescribeInstanceCreditSpecifications and DescribeVolumes (each instance's root volume). Each test
 * that counts things works in a Region of its own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  DescribeAccountAttributesCommand,
  DescribeImagesCommand,
  DescribeInstanceCreditSpecificationsCommand,
  DescribeVolumesCommand,
  type EC2Client,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Volume,
} from '@aws-sdk/client-ec2';
import {
  LINUX_AMI,
  WINDOWS_AMI,
  type TestServer,
  describeOne,
  errorOf,
  eventually,
  launch,
  launchOne,
  startTestServer,
} from './helpers.js';

const NO_SUCH_INSTANCE = 'i-0123456789abcdef0';
const NO_SUCH_VOLUME = 'vol-0123456789abcdef0';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

function waitForState(client: EC2Client, id: string, state: string): Promise<true> {
  return eventually(async () => ((await describeOne(client, id)).State?.Name === state ? true : undefined), 5000, `${id} ${state}`);
}

async function volumes(client: EC2Client, input: ConstructorParameters<typeof DescribeVolumesCommand>[0] = {}): Promise<Volume[]> {
  return (await client.send(new DescribeVolumesCommand(input))).Volumes ?? [];
}

const volumeIds = async (client: EC2Client, input: ConstructorParameters<typeof DescribeVolumesCommand>[0] = {}) =>
  (await volumes(client, input)).map((v) => v.VolumeId!).sort();

async function credits(client: EC2Client, input: ConstructorParameters<typeof DescribeInstanceCreditSpecificationsCommand>[0] = {}) {
  const r = await client.send(new DescribeInstanceCreditSpecificationsCommand(input));
  return (r.InstanceCreditSpecifications ?? []).map((c) => `${c.InstanceId}=${c.CpuCredits}`).sort();
}

// --- DescribeAccountAttributes ----------------------------------------------------------------------

test('DescribeAccountAttributes: every attribute with its value; default-vpc is the VPC instances launch into', async () => {
  const client = server.client('eu-west-2');
  const r = await client.send(new DescribeAccountAttributesCommand({}));
  const id = (await launchOne(client)).InstanceId!;
  const vpc = (await describeOne(client, id)).VpcId!;
  assert.match(vpc, /^vpc-[0-9a-f]{17}$/);
  assert.deepEqual(r.AccountAttributes, [
    { AttributeName: 'vpc-max-security-groups-per-interface', AttributeValues: [{ AttributeValue: '5' }] },
    { AttributeName: 'max-instances', AttributeValues: [{ AttributeValue: '5000' }] },
    { AttributeName: 'supported-platforms', AttributeValues: [{ AttributeValue: 'VPC' }] },
    { AttributeName: 'default-vpc', AttributeValues: [{ AttributeValue: vpc }] },
    { AttributeName: 'max-elastic-ips', AttributeValues: [{ AttributeValue: '5' }] },
    { AttributeName: 'vpc-max-elastic-ips', AttributeValues: [{ AttributeValue: '5' }] },
  ]);
  // each Region has its own default VPC
  const other = await server.client('eu-west-3').send(new DescribeAccountAttributesCommand({ AttributeNames: ['default-vpc'] }));
  const otherVpc = other.AccountAttributes?.[0]?.AttributeValues?.[0]?.AttributeValue;
  assert.match(otherVpc ?? '', /^vpc-[0-9a-f]{17}$/);
  assert.notEqual(otherVpc, vpc);
});

test('DescribeAccountAttributes: AttributeNames selects, in the order asked; an unknown name is refused, named; DryRun', async () => {
  const client = server.client('us-east-1');
  const r = await client.send(
    new DescribeAccountAttributesCommand({ AttributeNames: ['supported-platforms', 'max-instances' as 'default-vpc', 'supported-platforms'] }),
  );
  assert.deepEqual(r.AccountAttributes, [
    { AttributeName: 'supported-platforms', AttributeValues: [{ AttributeValue: 'VPC' }] },
    { AttributeName: 'max-instances', AttributeValues: [{ AttributeValue: '5000' }] },
  ]);
  const e = await errorOf(client.send(new DescribeAccountAttributesCommand({ AttributeNames: ['default-vpc', 'max-cats' as 'default-vpc'] })));
  assert.equal(e.code, 'InvalidParameterValue');
  assert.equal(e.status, 400);
  assert.match(e.message, /\(max-cats\)/);
  const dry = await errorOf(client.send(new DescribeAccountAttributesCommand({ DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal(dry.status, 412);
});

// --- DescribeInstanceCreditSpecifications -----------------------------------------------------------

test('DescribeInstanceCreditSpecifications: a listing holds the unlimited burstable instances; named ones answer standard too', async () => {
  const client = server.client('ap-northeast-2');
  const t3 = (await launchOne(client, { InstanceType: 't3.micro' })).InstanceId!;
  const t3large = (await launchOne(client, { InstanceType: 't3.large' })).InstanceId!;
  const m8i = (await launchOne(client, { InstanceType: 'm8i.large' })).InstanceId!;
  const gone = (await launchOne(client, { InstanceType: 't3.nano' })).InstanceId!;
  await client.send(new TerminateInstancesCommand({ InstanceIds: [gone] }));
  await waitForState(client, gone, 'terminated');
  // all: only the T3s (unlimited by default), not the m8i, not the terminated one
  assert.deepEqual(await credits(client), [`${t3}=unlimited`, `${t3large}=unlimited`].sort());
  // named: whatever the type; one that is not burstable reports standard
  assert.deepEqual(await credits(client, { InstanceIds: [m8i, t3] }), [`${m8i}=standard`, `${t3}=unlimited`].sort());
  assert.deepEqual(await credits(client, { Filters: [{ Name: 'instance-id', Values: [t3large] }] }), [`${t3large}=unlimited`]);
  assert.deepEqual(await credits(client, { Filters: [{ Name: 'instance-id', Values: [m8i] }] }), []);
  // another Region sees none of them
  assert.deepEqual(await credits(server.client('ap-northeast-3')), []);
});

test('DescribeInstanceCreditSpecifications: paging, and its errors (IDs with MaxResults, unknown and malformed IDs)', async () => {
  const client = server.client('eu-south-1');
  const ids = (await launch(client, { InstanceType: 't3.small', MinCount: 7, MaxCount: 7 })).map((i) => i.InstanceId!);
  const first = await client.send(new DescribeInstanceCreditSpecificationsCommand({ MaxResults: 5 }));
  assert.equal(first.InstanceCreditSpecifications?.length, 5);
  assert.ok(first.NextToken);
  const second = await client.send(new DescribeInstanceCreditSpecificationsCommand({ MaxResults: 5, NextToken: first.NextToken }));
  assert.equal(second.InstanceCreditSpecifications?.length, 2);
  assert.equal(second.NextToken, undefined);
  assert.deepEqual(
    [...(first.InstanceCreditSpecifications ?? []), ...(second.InstanceCreditSpecifications ?? [])].map((c) => c.InstanceId).sort(),
    [...ids].sort(),
  );
  const combo = await errorOf(client.send(new DescribeInstanceCreditSpecificationsCommand({ InstanceIds: [ids[0]!], MaxResults: 5 })));
  assert.equal(combo.code, 'InvalidParameterCombination');
  assert.equal(combo.status, 400);
  const small = await errorOf(client.send(new DescribeInstanceCreditSpecificationsCommand({ MaxResults: 4 })));
  assert.equal(small.code, 'InvalidParameterValue');
  assert.match(small.message, /\(4\)/);
  const missing = await errorOf(client.send(new DescribeInstanceCreditSpecificationsCommand({ InstanceIds: [ids[0]!, NO_SUCH_INSTANCE] })));
  assert.equal(missing.code, 'InvalidInstanceID.NotFound');
  assert.ok(missing.message.includes(NO_SUCH_INSTANCE));
  assert.ok(!missing.message.includes(ids[0]!));
  const malformed = await errorOf(client.send(new DescribeInstanceCreditSpecificationsCommand({ InstanceIds: ['i-xyz'] })));
  assert.equal(malformed.code, 'InvalidInstanceID.Malformed');
  assert.match(malformed.message, /i-xyz/);
  const filter = await errorOf(client.send(new DescribeInstanceCreditSpecificationsCommand({ Filters: [{ Name: 'instance-type', Values: ['t3.small'] }] })));
  assert.equal(filter.code, 'InvalidParameterValue');
  assert.match(filter.message, /instance-type/);
  const dry = await errorOf(client.send(new DescribeInstanceCreditSpecificationsCommand({ InstanceIds: ids, DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
});

// --- DescribeVolumes --------------------------------------------------------------------------------

test('DescribeVolumes: one gp3 root volume per instance, matching its block device mapping and image', async () => {
  const client = server.client('us-east-2');
  const linux = (await launchOne(client, { Placement: { AvailabilityZone: 'us-east-2b' } })).InstanceId!;
  const windows = (await launchOne(client, { ImageId: WINDOWS_AMI, InstanceType: 'm8i.large' })).InstanceId!;
  const li = await describeOne(client, linux);
  const wi = await describeOne(client, windows);
  const linuxVolume = `vol-${linux.slice(2)}`;
  assert.equal(li.BlockDeviceMappings?.[0]?.Ebs?.VolumeId, linuxVolume);
  const [v] = await volumes(client, { VolumeIds: [linuxVolume] });
  const images = (await client.send(new DescribeImagesCommand({ ImageIds: [LINUX_AMI, WINDOWS_AMI] }))).Images ?? [];
  const snapshotOf = (image: string) => images.find((i) => i.ImageId === image)?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
  assert.match(snapshotOf(LINUX_AMI) ?? '', /^snap-[0-9a-f]{17}$/);
  assert.deepEqual(v, {
    VolumeId: linuxVolume,
    Size: 8,
    SnapshotId: snapshotOf(LINUX_AMI),
    AvailabilityZone: 'us-east-2b',
    AvailabilityZoneId: 'use2-az2',
    State: 'in-use',
    CreateTime: li.LaunchTime,
    Attachments: [
      { AttachTime: li.LaunchTime, Device: '/dev/xvda', InstanceId: linux, State: 'attached', VolumeId: linuxVolume, DeleteOnTermination: true },
    ],
    Encrypted: false,
    VolumeType: 'gp3',
    Iops: 3000,
    Throughput: 125,
    MultiAttachEnabled: false,
  });
  const [w] = await volumes(client, { VolumeIds: [`vol-${windows.slice(2)}`] });
  assert.equal(w?.Size, 30);
  assert.equal(w?.SnapshotId, snapshotOf(WINDOWS_AMI));
  assert.equal(w?.Attachments?.[0]?.Device, '/dev/sda1');
  assert.equal(w?.Attachments?.[0]?.Device, wi.RootDeviceName);
  assert.equal(w?.AvailabilityZone, 'us-east-2a');
  // the image says the same size and type
  const linuxImage = images.find((i) => i.ImageId === LINUX_AMI)?.BlockDeviceMappings?.[0]?.Ebs;
  assert.equal(linuxImage?.VolumeSize, v?.Size);
  assert.equal(linuxImage?.VolumeType, v?.VolumeType);
  // all of them, and none seen from another Region
  assert.deepEqual(await volumeIds(client), [linuxVolume, `vol-${windows.slice(2)}`].sort());
  assert.deepEqual(await volumeIds(server.client('us-west-2')), []);
  const elsewhere = await errorOf(server.client('us-west-2').send(new DescribeVolumesCommand({ VolumeIds: [linuxVolume] })));
  assert.equal(elsewhere.code, 'InvalidVolume.NotFound');
});

test('DescribeVolumes: a stopped instance keeps its volume; a terminated one\'s is deleted with it', async () => {
  const client = server.client('ca-west-1');
  const stopped = (await launchOne(client)).InstanceId!;
  const terminated = (await launchOne(client)).InstanceId!;
  await waitForState(client, stopped, 'running');
  await client.send(new StopInstancesCommand({ InstanceIds: [stopped] }));
  await client.send(new TerminateInstancesCommand({ InstanceIds: [terminated] }));
  await waitForState(client, stopped, 'stopped');
  await waitForState(client, terminated, 'terminated');
  const [v] = await volumes(client);
  assert.equal(v?.VolumeId, `vol-${stopped.slice(2)}`);
  assert.equal(v?.State, 'in-use');
  assert.equal(v?.Attachments?.[0]?.State, 'attached');
  assert.deepEqual(await volumeIds(client), [`vol-${stopped.slice(2)}`]);
  // the terminated instance is still listed, its volume no longer is
  assert.equal((await describeOne(client, terminated)).State?.Name, 'terminated');
  const gone = await errorOf(client.send(new DescribeVolumesCommand({ VolumeIds: [`vol-${terminated.slice(2)}`] })));
  assert.equal(gone.code, 'InvalidVolume.NotFound');
  assert.equal(gone.message, `The volume 'vol-${terminated.slice(2)}' does not exist.`);
});

test('DescribeVolumes: filters on attachment, zone, size, type, state, time, encryption and tags', async () => {
  const client = server.client('eu-central-2');
  const a = (await launchOne(client)).InstanceId!;
  const b = (await launchOne(client, { Placement: { AvailabilityZone: 'eu-central-2c' } })).InstanceId!;
  const w = (await launchOne(client, { ImageId: WINDOWS_AMI, InstanceType: 'm8i.large' })).InstanceId!;
  const [va, vb, vw] = [a, b, w].map((id) => `vol-${id.slice(2)}`) as [string, string, string];
  const f = (Name: string, ...Values: string[]) => volumeIds(client, { Filters: [{ Name, Values }] });
  assert.deepEqual(await f('attachment.instance-id', a, w), [va, vw].sort());
  assert.deepEqual(await f('attachment.device', '/dev/sda1'), [vw]);
  assert.deepEqual(await f('attachment.status', 'attached'), [va, vb, vw].sort());
  assert.deepEqual(await f('attachment.delete-on-termination', 'true'), [va, vb, vw].sort());
  assert.deepEqual(await f('availability-zone', 'eu-central-2c'), [vb]);
  assert.deepEqual(await f('availability-zone-id', 'euc2-az1'), [va, vw].sort());
  assert.deepEqual(await f('size', '8'), [va, vb].sort());
  assert.deepEqual(await f('size', '30'), [vw]);
  assert.deepEqual(await f('volume-type', 'gp3'), [va, vb, vw].sort());
  assert.deepEqual(await f('volume-type', 'gp2', 'io2'), []);
  assert.deepEqual(await f('status', 'in-use'), [va, vb, vw].sort());
  assert.deepEqual(await f('status', 'available'), []);
  assert.deepEqual(await f('encrypted', 'false'), [va, vb, vw].sort());
  assert.deepEqual(await f('encrypted', 'true'), []);
  assert.deepEqual(await f('volume-id', va, vb), [va, vb].sort());
  assert.deepEqual(await f('snapshot-id', 'snap-0b5e4a1f2c3d40003'), [vw]);
  const created = (await describeOne(client, a)).LaunchTime!.toISOString();
  assert.deepEqual(await f('create-time', created), (await f('attachment.attach-time', created)));
  assert.ok((await f('create-time', created)).includes(va));
  assert.deepEqual(await f('create-time', `${created.slice(0, 4)}-*`), [va, vb, vw].sort());
  // no volume here is tagged, so a tag filter matches nothing (test/volume-tags.test.ts tags them)
  assert.deepEqual(await f('tag-key', 'Name'), []);
  assert.deepEqual(
    await volumeIds(client, { Filters: [{ Name: 'size', Values: ['8'] }, { Name: 'availability-zone', Values: ['eu-central-2a'] }] }),
    [va],
  );
  const bad = await errorOf(client.send(new DescribeVolumesCommand({ Filters: [{ Name: 'iops', Values: ['3000'] }] })));
  assert.equal(bad.code, 'InvalidParameterValue');
  assert.match(bad.message, /'iops'/);
});

test('DescribeVolumes: paging (MaxResults 5..500, larger is capped) and its errors', async () => {
  const client = server.client('me-central-1');
  const ids = (await launch(client, { MinCount: 6, MaxCount: 6 })).map((i) => `vol-${i.InstanceId!.slice(2)}`).sort();
  const first = await client.send(new DescribeVolumesCommand({ MaxResults: 5 }));
  assert.equal(first.Volumes?.length, 5);
  assert.ok(first.NextToken);
  const second = await client.send(new DescribeVolumesCommand({ MaxResults: 5, NextToken: first.NextToken }));
  assert.equal(second.Volumes?.length, 1);
  assert.equal(second.NextToken, undefined);
  assert.deepEqual([...(first.Volumes ?? []), ...(second.Volumes ?? [])].map((v) => v.VolumeId).sort(), ids);
  // above 500 EC2 answers at most 500 rather than refusing
  const capped = await client.send(new DescribeVolumesCommand({ MaxResults: 5000 }));
  assert.equal(capped.Volumes?.length, 6);
  const small = await errorOf(client.send(new DescribeVolumesCommand({ MaxResults: 4 })));
  assert.equal(small.code, 'InvalidParameterValue');
  assert.match(small.message, /\(4\)/);
  const combo = await errorOf(client.send(new DescribeVolumesCommand({ VolumeIds: [ids[0]!], MaxResults: 5 })));
  assert.equal(combo.code, 'InvalidParameterCombination');
  const token = await errorOf(client.send(new DescribeVolumesCommand({ MaxResults: 5, NextToken: 'bm9wZQ' })));
  assert.equal(token.code, 'InvalidNextToken');
  const missing = await errorOf(client.send(new DescribeVolumesCommand({ VolumeIds: [ids[0]!, NO_SUCH_VOLUME] })));
  assert.equal(missing.code, 'InvalidVolume.NotFound');
  assert.equal(missing.status, 400);
  assert.equal(missing.message, `The volume '${NO_SUCH_VOLUME}' does not exist.`);
  for (const bad of ['vol-123', 'volume-0123456789abcdef0', ids[0]!.toUpperCase()]) {
    const e = await errorOf(client.send(new DescribeVolumesCommand({ VolumeIds: [bad] })));
    assert.equal(e.code, 'InvalidVolumeID.Malformed', bad);
    assert.ok(e.message.includes(`"${bad}"`), e.message);
  }
  const dry = await errorOf(client.send(new DescribeVolumesCommand({ VolumeIds: ids, DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal(dry.status, 412);
});
