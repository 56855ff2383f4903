/**
 * The accounts' own images through the SDK (simulated driver): CreateImage from stopped and running
 * instances (snapshots of the root and data volumes, tags, overrides), DescribeImages (Owners self,
 * ExecutableUsers, filters, is-public), launching from a user image (its root volume restored from the
 * root snapshot, its other mappings as data volumes), RunInstances' extra EBS mappings, RegisterImage,
 * CopyImage (within and across Regions), DeregisterImage, the attributes and launch permissions across
 * accounts, InvalidSnapshot.InUse, errors naming the bad value, DryRun.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as sdk from '@aws-sdk/client-ec2';
import { accountsConfig } from '../src/config.js';
import { LINUX_AMI, type TestServer, describeOne, errorOf, eventually, startTestServer } from './helpers.js';

const A = { accessKeyId: 'AKIDIMAGESA', secretAccessKey: 'secret-a' };
const B = { accessKeyId: 'AKIDIMAGESB', secretAccessKey: 'secret-b' };
const C = { accessKeyId: 'AKIDIMAGESC', secretAccessKey: 'secret-c' };
const ACCOUNT_A = '111111111111';
const ACCOUNT_B = '222222222222';
const ACCOUNT_C = '333333333333';
const ZONE = 'us-east-1a';

let server: TestServer;
let dir: string;
let a: sdk.EC2Client;
let b: sdk.EC2Client;
let c: sdk.EC2Client;
let aWest: sdk.EC2Client;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nestbox-images-'));
  const file = join(dir, 'accounts.json');
  writeFileSync(
    file,
    JSON.stringify({
      accounts: [
        { id: ACCOUNT_A, keys: [{ ...A, permission: 'full' }] },
        { id: ACCOUNT_B, keys: [{ ...B, permission: 'full' }] },
        { id: ACCOUNT_C, keys: [{ ...C, permission: 'full' }] },
      ],
    }),
  );
  server = await startTestServer({ ...accountsConfig(file), driver: 'simulated' });
  a = server.client('us-east-1', A);
  b = server.client('us-east-1', B);
  c = server.client('us-east-1', C);
  aWest = server.client('us-west-2', A);
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (client: sdk.EC2Client, input: Partial<sdk.RunInstancesCommandInput> = {}) =>
  client.send(new sdk.RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: ZONE }, ...input }));

async function waitState(client: sdk.EC2Client, id: string, state: string): Promise<sdk.Instance> {
  return eventually(async () => {
    const i = await describeOne(client, id);
    return i.State?.Name === state ? i : undefined;
  }, 10_000, `${id} ${state}`);
}

async function running(client: sdk.EC2Client, input: Partial<sdk.RunInstancesCommandInput> = {}): Promise<string> {
  const id = (await run(client, input)).Instances![0]!.InstanceId!;
  await waitState(client, id, 'running');
  return id;
}

const image = async (client: sdk.EC2Client, id: string) => (await client.send(new sdk.DescribeImagesCommand({ ImageIds: [id] }))).Images![0]!;
const available = (client: sdk.EC2Client, id: string) =>
  eventually(async () => {
    const i = await image(client, id);
    return i.State === 'available' ? i : undefined;
  }, 10_000, `${id} available`);

let counter = 0;
const uniqueName = (prefix = 'img') => `${prefix}-${Date.now()}-${counter++}`;

/** A's image of a stopped instance with a data volume, shared by several tests. */
let base: { instanceId: string; dataVolume: string; imageId: string; rootSnapshot: string; dataSnapshot: string };

describe('CreateImage', () => {
  test('from a stopped instance: one snapshot per volume, pending then available, tags on image and snapshots', async () => {
    const instanceId = await running(a, { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 12 } }] });
    const vol = await a.send(new sdk.CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 3, VolumeType: 'gp3' }));
    await a.send(new sdk.AttachVolumeCommand({ VolumeId: vol.VolumeId!, InstanceId: instanceId, Device: '/dev/sdf' }));
    await a.send(new sdk.StopInstancesCommand({ InstanceIds: [instanceId] }));
    await waitState(a, instanceId, 'stopped');
    const name = uniqueName('base');
    const { ImageId } = await a.send(
      new sdk.CreateImageCommand({
        InstanceId: instanceId,
        Name: name,
        Description: 'my image',
        TagSpecifications: [
          { ResourceType: 'image', Tags: [{ Key: 'team', Value: 'img' }] },
          { ResourceType: 'snapshot', Tags: [{ Key: 'team', Value: 'snap' }] },
        ],
      }),
    );
    assert.match(ImageId!, /^ami-[0-9a-f]{17}$/);
    const img = await available(a, ImageId!);
    assert.equal(img.Name, name);
    assert.equal(img.Description, 'my image');
    assert.equal(img.OwnerId, ACCOUNT_A);
    assert.equal(img.Public, false);
    assert.equal(img.Architecture, 'x86_64');
    assert.equal(img.RootDeviceName, '/dev/xvda');
    assert.equal(img.RootDeviceType, 'ebs');
    assert.equal(img.SourceInstanceId, instanceId);
    assert.equal(img.ImageOwnerAlias, undefined);
    assert.ok(Date.parse(img.CreationDate!) > Date.parse('2026-02-17T00:00:00Z'));
    assert.deepEqual(img.Tags, [{ Key: 'team', Value: 'img' }]);
    const [root, data] = img.BlockDeviceMappings!;
    assert.equal(root?.DeviceName, '/dev/xvda');
    assert.equal(root?.Ebs?.VolumeSize, 12);
    assert.equal(root?.Ebs?.DeleteOnTermination, true);
    assert.equal(data?.DeviceName, '/dev/sdf');
    assert.equal(data?.Ebs?.VolumeSize, 3);
    assert.equal(data?.Ebs?.VolumeType, 'gp3');
    const snaps = (await a.send(new sdk.DescribeSnapshotsCommand({ SnapshotIds: [root!.Ebs!.SnapshotId!, data!.Ebs!.SnapshotId!] }))).Snapshots!;
    assert.equal(snaps.length, 2);
    for (const snap of snaps) {
      assert.equal(snap.Description, `Created by CreateImage(${instanceId}) for ${ImageId}`);
      assert.deepEqual(snap.Tags, [{ Key: 'team', Value: 'snap' }]);
    }
    assert.deepEqual(snaps.map((x) => x.VolumeId).sort(), [vol.VolumeId!, `vol-${instanceId.slice(2)}`].sort());
    base = { instanceId, dataVolume: vol.VolumeId!, imageId: ImageId!, rootSnapshot: root!.Ebs!.SnapshotId!, dataSnapshot: data!.Ebs!.SnapshotId! };
  });

  test('from a running instance with NoReboot; overrides drop a volume, grow the root and add one', async () => {
    const instanceId = await running(a);
    const vol = await a.send(new sdk.CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 2 }));
    await a.send(new sdk.AttachVolumeCommand({ VolumeId: vol.VolumeId!, InstanceId: instanceId, Device: '/dev/sdg' }));
    const { ImageId } = await a.send(
      new sdk.CreateImageCommand({
        InstanceId: instanceId,
        Name: uniqueName('live'),
        NoReboot: true,
        BlockDeviceMappings: [
          { DeviceName: '/dev/sdg', NoDevice: '' },
          { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20 } },
          { DeviceName: '/dev/sdh', Ebs: { VolumeSize: 5, VolumeType: 'gp3' } },
        ],
      }),
    );
    const img = await available(a, ImageId!);
    assert.deepEqual(img.BlockDeviceMappings!.map((m) => [m.DeviceName, m.Ebs?.VolumeSize, m.Ebs?.SnapshotId !== undefined]), [
      ['/dev/xvda', 20, true],
      ['/dev/sdh', 5, false],
    ]);
    assert.equal((await describeOne(a, instanceId)).State?.Name, 'running');
  });

  test('errors name the bad value; DryRun; the instance must be running or stopped', async () => {
    const bad = await errorOf(a.send(new sdk.CreateImageCommand({ InstanceId: base.instanceId, Name: 'x!' })));
    assert.equal(bad.code, 'InvalidAMIName.Malformed');
    assert.match(bad.message, /x!/);
    const [existing] = (await a.send(new sdk.DescribeImagesCommand({ ImageIds: [base.imageId] }))).Images!;
    const dup = await errorOf(a.send(new sdk.CreateImageCommand({ InstanceId: base.instanceId, Name: existing!.Name! })));
    assert.equal(dup.code, 'InvalidAMIName.Duplicate');
    assert.equal(dup.message, `AMI name ${existing!.Name} is already in use by AMI ${base.imageId}`);
    const missing = await errorOf(a.send(new sdk.CreateImageCommand({ InstanceId: 'i-0123456789abcdef0', Name: 'whatever' })));
    assert.equal(missing.code, 'InvalidInstanceID.NotFound');
    assert.match(missing.message, /i-0123456789abcdef0/);
    const dry = await errorOf(a.send(new sdk.CreateImageCommand({ InstanceId: base.instanceId, Name: uniqueName(), DryRun: true })));
    assert.equal(dry.code, 'DryRunOperation');
    const badTag = await errorOf(
      a.send(new sdk.CreateImageCommand({ InstanceId: base.instanceId, Name: uniqueName(), TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'k', Value: 'v' }] }] })),
    );
    assert.equal(badTag.code, 'InvalidParameterValue');
    const gone = (await run(a)).Instances![0]!.InstanceId!;
    await a.send(new sdk.TerminateInstancesCommand({ InstanceIds: [gone] }));
    await waitState(a, gone, 'terminated');
    const state = await errorOf(a.send(new sdk.CreateImageCommand({ InstanceId: gone, Name: uniqueName() })));
    assert.equal(state.code, 'IncorrectInstanceState');
    assert.match(state.message, new RegExp(gone));
    // the same name in another account is that account's own
    const other = await running(b);
    assert.ok((await b.send(new sdk.CreateImageCommand({ InstanceId: other, Name: existing!.Name! }))).ImageId);
  });
});

describe('DescribeImages', () => {
  test('Owners self finds the account images; filters; is-public; tags', async () => {
    const mine = (await a.send(new sdk.DescribeImagesCommand({ Owners: ['self'] }))).Images!;
    assert.ok(mine.some((i) => i.ImageId === base.imageId));
    assert.ok(mine.every((i) => i.OwnerId === ACCOUNT_A));
    const all = (await a.send(new sdk.DescribeImagesCommand({}))).Images!;
    assert.ok(all.some((i) => i.ImageId === base.imageId));
    assert.ok(all.some((i) => i.ImageId === LINUX_AMI));
    const priv = (await a.send(new sdk.DescribeImagesCommand({ Filters: [{ Name: 'is-public', Values: ['false'] }] }))).Images!;
    assert.ok(priv.length > 0 && priv.every((i) => i.OwnerId === ACCOUNT_A && i.Public === false));
    const tagged = (await a.send(new sdk.DescribeImagesCommand({ Filters: [{ Name: 'tag:team', Values: ['img'] }] }))).Images!;
    assert.deepEqual(tagged.map((i) => i.ImageId), [base.imageId]);
    const bySnap = (await a.send(new sdk.DescribeImagesCommand({ Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [base.dataSnapshot] }] }))).Images!;
    assert.deepEqual(bySnap.map((i) => i.ImageId), [base.imageId]);
    const byOwner = (await a.send(new sdk.DescribeImagesCommand({ Owners: [ACCOUNT_A], Filters: [{ Name: 'source-instance-id', Values: [base.instanceId] }] }))).Images!;
    assert.deepEqual(byOwner.map((i) => i.ImageId), [base.imageId]);
  });

  test('another account cannot see a private image', async () => {
    const e = await errorOf(b.send(new sdk.DescribeImagesCommand({ ImageIds: [base.imageId] })));
    assert.equal(e.code, 'InvalidAMIID.NotFound');
    assert.match(e.message, new RegExp(base.imageId));
    const listed = (await b.send(new sdk.DescribeImagesCommand({ Owners: [ACCOUNT_A] }))).Images!;
    assert.deepEqual(listed, []);
  });
});

describe('launching from a user image', () => {
  test('the root volume is restored from the root snapshot; the other mappings become attached data volumes', async () => {
    const id = (await run(a, { ImageId: base.imageId })).Instances![0]!.InstanceId!;
    const i = await waitState(a, id, 'running');
    assert.equal(i.ImageId, base.imageId);
    const maps = i.BlockDeviceMappings!;
    assert.deepEqual(maps.map((m) => m.DeviceName), ['/dev/xvda', '/dev/sdf']);
    const [rootVol, dataVol] = (await a.send(new sdk.DescribeVolumesCommand({ VolumeIds: maps.map((m) => m.Ebs!.VolumeId!) }))).Volumes!;
    assert.equal(rootVol?.Size, 12);
    assert.equal(dataVol?.Size, 3);
    assert.equal(dataVol?.VolumeType, 'gp3');
    assert.equal(dataVol?.SnapshotId, base.dataSnapshot);
    assert.equal(dataVol?.Attachments?.[0]?.InstanceId, id);
    assert.equal(dataVol?.Attachments?.[0]?.DeleteOnTermination, false);
    // a launch's mapping overrides the image's: a bigger root, the data volume left out, a new one added
    const j = (
      await run(a, {
        ImageId: base.imageId,
        BlockDeviceMappings: [
          { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30 } },
          { DeviceName: '/dev/sdf', NoDevice: '' },
          { DeviceName: '/dev/sdk', Ebs: { VolumeSize: 4 } },
        ],
      })
    ).Instances![0]!.InstanceId!;
    const ji = await waitState(a, j, 'running');
    const jVols = (await a.send(new sdk.DescribeVolumesCommand({ VolumeIds: ji.BlockDeviceMappings!.map((m) => m.Ebs!.VolumeId!) }))).Volumes!;
    assert.deepEqual(jVols.map((v) => v.Size).sort((x, y) => x! - y!), [4, 30]);
    const small = await errorOf(run(a, { ImageId: base.imageId, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 8 } }] }));
    assert.equal(small.code, 'InvalidBlockDeviceMapping');
    assert.match(small.message, new RegExp(base.rootSnapshot));
  });

  test('RunInstances extra EBS mappings create data volumes, deleted on termination by default', async () => {
    const snap = await a.send(new sdk.CreateSnapshotCommand({ VolumeId: base.dataVolume }));
    await eventually(async () => ((await a.send(new sdk.DescribeSnapshotsCommand({ SnapshotIds: [snap.SnapshotId!] }))).Snapshots![0]!.State === 'completed' ? true : undefined));
    const id = (
      await run(a, {
        BlockDeviceMappings: [
          { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 10, VolumeType: 'gp3' } },
          { DeviceName: '/dev/sdg', Ebs: { SnapshotId: snap.SnapshotId!, DeleteOnTermination: false } },
        ],
        TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'launched', Value: 'yes' }] }],
      })
    ).Instances![0]!.InstanceId!;
    const i = await waitState(a, id, 'running');
    const ids = i.BlockDeviceMappings!.filter((m) => m.DeviceName !== '/dev/xvda').map((m) => m.Ebs!.VolumeId!);
    const vols = (await a.send(new sdk.DescribeVolumesCommand({ VolumeIds: ids }))).Volumes!;
    const f = vols.find((v) => v.Attachments?.[0]?.Device === '/dev/sdf')!;
    const g = vols.find((v) => v.Attachments?.[0]?.Device === '/dev/sdg')!;
    assert.equal(f.Size, 10);
    assert.equal(f.VolumeType, 'gp3');
    assert.equal(f.Attachments?.[0]?.DeleteOnTermination, true);
    assert.deepEqual(f.Tags, [{ Key: 'launched', Value: 'yes' }]);
    assert.equal(g.Size, 3);
    assert.equal(g.SnapshotId, snap.SnapshotId);
    assert.equal(g.Attachments?.[0]?.DeleteOnTermination, false);
    await a.send(new sdk.TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitState(a, id, 'terminated');
    const gone = await errorOf(a.send(new sdk.DescribeVolumesCommand({ VolumeIds: [f.VolumeId!] })));
    assert.equal(gone.code, 'InvalidVolume.NotFound');
    const kept = (await a.send(new sdk.DescribeVolumesCommand({ VolumeIds: [g.VolumeId!] }))).Volumes![0]!;
    assert.equal(kept.State, 'available');
    const noSize = await errorOf(run(a, { BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeType: 'gp3' } }] }));
    assert.equal(noSize.code, 'InvalidBlockDeviceMapping');
    assert.match(noSize.message, /\/dev\/sdf/);
    const noSnap = await errorOf(run(a, { BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }] }));
    assert.equal(noSnap.code, 'InvalidSnapshot.NotFound');
  });
});

describe('RegisterImage, CopyImage, DeregisterImage', () => {
  test('RegisterImage from a root snapshot; launching it; the snapshot is in use until deregistered', async () => {
    const { ImageId } = await a.send(
      new sdk.RegisterImageCommand({
        Name: uniqueName('reg'),
        RootDeviceName: '/dev/xvda',
        Architecture: 'x86_64',
        BootMode: 'uefi',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: base.rootSnapshot, VolumeType: 'gp3' } }],
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'how', Value: 'registered' }] }],
      }),
    );
    const img = await available(a, ImageId!);
    assert.equal(img.BootMode, 'uefi');
    assert.equal(img.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId, base.rootSnapshot);
    assert.equal(img.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize, 12);
    assert.deepEqual(img.Tags, [{ Key: 'how', Value: 'registered' }]);
    await running(a, { ImageId: ImageId! });
    const inUse = await errorOf(a.send(new sdk.DeleteSnapshotCommand({ SnapshotId: base.rootSnapshot })));
    assert.equal(inUse.code, 'InvalidSnapshot.InUse');
    assert.match(inUse.message, new RegExp(base.rootSnapshot));
    const noRoot = await errorOf(a.send(new sdk.RegisterImageCommand({ Name: uniqueName(), RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { SnapshotId: base.dataSnapshot } }] })));
    assert.equal(noRoot.code, 'InvalidBlockDeviceMapping');
    const s3 = await errorOf(a.send(new sdk.RegisterImageCommand({ Name: uniqueName(), ImageLocation: 'bucket/manifest.xml' })));
    assert.equal(s3.code, 'NotImplemented');
    assert.equal((await a.send(new sdk.DeregisterImageCommand({ ImageId: ImageId! }))).Return, true);
    const gone = await errorOf(a.send(new sdk.DescribeImagesCommand({ ImageIds: [ImageId!] })));
    assert.equal(gone.code, 'InvalidAMIID.NotFound');
  });

  test('a Linux image registered with /dev/sda1: its instances have that root device everywhere', async () => {
    const { ImageId } = await a.send(
      new sdk.RegisterImageCommand({
        Name: uniqueName('sda1'),
        RootDeviceName: '/dev/sda1',
        Architecture: 'x86_64',
        BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: base.rootSnapshot } }],
      }),
    );
    await available(a, ImageId!);
    const i = await describeOne(a, await running(a, { ImageId: ImageId! }));
    assert.equal(i.RootDeviceName, '/dev/sda1');
    assert.equal(i.BlockDeviceMappings?.[0]?.DeviceName, '/dev/sda1');
    const rootVolume = i.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    const v = (await a.send(new sdk.DescribeVolumesCommand({ VolumeIds: [rootVolume] }))).Volumes![0]!;
    assert.equal(v.Attachments?.[0]?.Device, '/dev/sda1');
    const data = await a.send(new sdk.CreateVolumeCommand({ AvailabilityZone: i.Placement!.AvailabilityZone!, Size: 1 }));
    const taken = await errorOf(a.send(new sdk.AttachVolumeCommand({ VolumeId: data.VolumeId!, InstanceId: i.InstanceId!, Device: '/dev/sda1' })));
    assert.equal(taken.code, 'InvalidParameterValue');
    const ltData = await a.send(new sdk.GetLaunchTemplateDataCommand({ InstanceId: i.InstanceId! }));
    assert.equal(ltData.LaunchTemplateData?.BlockDeviceMappings?.[0]?.DeviceName, '/dev/sda1');
  });

  test('CopyImage within the Region and to another; DeregisterImage with DeleteAssociatedSnapshots', async () => {
    const name = uniqueName('copy');
    const { ImageId: copyId } = await a.send(new sdk.CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: base.imageId, Name: name, CopyImageTags: true }));
    const copy = await available(a, copyId!);
    assert.equal(copy.SourceImageId, base.imageId);
    assert.equal(copy.SourceImageRegion, 'us-east-1');
    assert.deepEqual(copy.Tags, [{ Key: 'team', Value: 'img' }]);
    const snapIds = copy.BlockDeviceMappings!.map((m) => m.Ebs!.SnapshotId!);
    assert.ok(!snapIds.includes(base.rootSnapshot));
    // to us-west-2, sent to the destination Region
    const { ImageId: westId } = await aWest.send(new sdk.CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: base.imageId, Name: name }));
    const west = await available(aWest, westId!);
    assert.equal(west.SourceImageRegion, 'us-east-1');
    await running(aWest, { ImageId: westId!, Placement: { AvailabilityZone: 'us-west-2a' } });
    const notThere = await errorOf(a.send(new sdk.DescribeImagesCommand({ ImageIds: [westId!] })));
    assert.equal(notThere.code, 'InvalidAMIID.NotFound');
    const builtIn = await errorOf(a.send(new sdk.CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: LINUX_AMI, Name: uniqueName() })));
    assert.equal(builtIn.code, 'InvalidParameterValue');
    // deregistered with its snapshots
    const res = await a.send(new sdk.DeregisterImageCommand({ ImageId: copyId!, DeleteAssociatedSnapshots: true }));
    assert.deepEqual(res.DeleteSnapshotResults?.map((r) => r.SnapshotId).sort(), [...snapIds].sort());
    const snapsGone = await errorOf(a.send(new sdk.DescribeSnapshotsCommand({ SnapshotIds: [snapIds[0]!] })));
    assert.equal(snapsGone.code, 'InvalidSnapshot.NotFound');
    const again = await errorOf(a.send(new sdk.DeregisterImageCommand({ ImageId: copyId! })));
    assert.equal(again.code, 'InvalidAMIID.NotFound');
    const dry = await errorOf(a.send(new sdk.DeregisterImageCommand({ ImageId: base.imageId, DryRun: true })));
    assert.equal(dry.code, 'DryRunOperation');
  });
});

describe('launch permissions and attributes', () => {
  test('sharing with one account, then public; only the owner reads or changes attributes', async () => {
    const id = base.imageId;
    const denied = await errorOf(run(b, { ImageId: id }));
    assert.equal(denied.code, 'InvalidAMIID.NotFound');
    await a.send(new sdk.ModifyImageAttributeCommand({ ImageId: id, LaunchPermission: { Add: [{ UserId: ACCOUNT_B }] } }));
    const perms = await a.send(new sdk.DescribeImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' }));
    assert.deepEqual(perms.LaunchPermissions, [{ UserId: ACCOUNT_B }]);
    // B sees it (ExecutableUsers self), launches it; C does not see it
    const shared = (await b.send(new sdk.DescribeImagesCommand({ ExecutableUsers: ['self'] }))).Images!;
    assert.deepEqual(shared.map((i) => i.ImageId), [id]);
    assert.equal(shared[0]!.Tags, undefined);
    const bInstance = await running(b, { ImageId: id });
    const bi = await describeOne(b, bInstance);
    assert.equal(bi.BlockDeviceMappings?.length, 2);
    assert.equal((await errorOf(c.send(new sdk.DescribeImagesCommand({ ImageIds: [id] })))).code, 'InvalidAMIID.NotFound');
    assert.deepEqual((await a.send(new sdk.DescribeImagesCommand({ ExecutableUsers: [ACCOUNT_B] }))).Images!.map((i) => i.ImageId), [id]);
    // B may not read or change its attributes, nor deregister it
    const auth = await errorOf(b.send(new sdk.DescribeImageAttributeCommand({ ImageId: id, Attribute: 'description' })));
    assert.equal(auth.code, 'AuthFailure');
    assert.equal((await errorOf(b.send(new sdk.ModifyImageAttributeCommand({ ImageId: id, LaunchPermission: { Add: [{ Group: 'all' }] } })))).code, 'AuthFailure');
    assert.equal((await errorOf(b.send(new sdk.DeregisterImageCommand({ ImageId: id })))).code, 'AuthFailure');
    // public: C sees and launches it; is-public true
    await a.send(new sdk.ModifyImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission', OperationType: 'add', UserGroups: ['all'] }));
    assert.equal((await image(c, id)).Public, true);
    const pub = (await c.send(new sdk.DescribeImagesCommand({ Owners: [ACCOUNT_A], Filters: [{ Name: 'is-public', Values: ['true'] }] }))).Images!;
    assert.deepEqual(pub.map((i) => i.ImageId), [id]);
    await running(c, { ImageId: id });
    // B copies the shared image into its own account
    const { ImageId: bCopy } = await b.send(new sdk.CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: id, Name: uniqueName('b-copy') }));
    assert.equal((await available(b, bCopy!)).OwnerId, ACCOUNT_B);
    // description; removal; reset
    await a.send(new sdk.ModifyImageAttributeCommand({ ImageId: id, Description: { Value: 'changed' } }));
    assert.equal((await a.send(new sdk.DescribeImageAttributeCommand({ ImageId: id, Attribute: 'description' }))).Description?.Value, 'changed');
    await a.send(new sdk.ModifyImageAttributeCommand({ ImageId: id, LaunchPermission: { Remove: [{ Group: 'all' }] } }));
    assert.equal((await errorOf(c.send(new sdk.DescribeImagesCommand({ ImageIds: [id] })))).code, 'InvalidAMIID.NotFound');
    await a.send(new sdk.ResetImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' }));
    assert.deepEqual((await a.send(new sdk.DescribeImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' }))).LaunchPermissions, []);
    assert.equal((await errorOf(b.send(new sdk.DescribeImagesCommand({ ImageIds: [id] })))).code, 'InvalidAMIID.NotFound');
    // bad items name the bad value
    const badUser = await errorOf(a.send(new sdk.ModifyImageAttributeCommand({ ImageId: id, LaunchPermission: { Add: [{ UserId: '12345' }] } })));
    assert.equal(badUser.code, 'InvalidAMIAttributeItemValue');
    assert.match(badUser.message, /12345/);
    const badAttr = await errorOf(a.send(new sdk.DescribeImageAttributeCommand({ ImageId: id, Attribute: 'colour' as sdk.ImageAttributeName })));
    assert.equal(badAttr.code, 'InvalidParameterValue');
    assert.match(badAttr.message, /colour/);
    const dry = await errorOf(a.send(new sdk.ModifyImageAttributeCommand({ ImageId: id, Description: { Value: 'x' }, DryRun: true })));
    assert.equal(dry.code, 'DryRunOperation');
  });

  test('CreateTags and DeleteTags take an image ID', async () => {
    await a.send(new sdk.CreateTagsCommand({ Resources: [base.imageId], Tags: [{ Key: 'extra', Value: '1' }] }));
    const tags = (await a.send(new sdk.DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [base.imageId] }] }))).Tags!;
    assert.deepEqual(tags.map((t) => [t.Key, t.ResourceType]).sort(), [['extra', 'image'], ['team', 'image']]);
    await a.send(new sdk.DeleteTagsCommand({ Resources: [base.imageId], Tags: [{ Key: 'extra' }] }));
    assert.deepEqual((await image(a, base.imageId)).Tags, [{ Key: 'team', Value: 'img' }]);
  });
});
