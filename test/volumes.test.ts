/**
 * Data volumes and snapshots through the SDK (simulated driver): CreateVolume's rules, Attach/Detach/
 * Modify/Delete state rules, DescribeVolumes with root and data volumes, filters, tags, DryRun, the
 * instance's BlockDeviceMappings, termination, snapshots (create, describe, copy, delete) and restore.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as sdk from '@aws-sdk/client-ec2';
import { type TestServer, describeOne, errorOf, eventually, launchOne, startTestServer } from './helpers.js';

let server: TestServer;
let ec2: sdk.EC2Client;
const ZONE = 'us-east-1a';

before(async () => {
  server = await startTestServer({ driver: 'simulated' });
  ec2 = server.client();
});
after(() => server.close());

const create = (input: Partial<sdk.CreateVolumeCommandInput> = {}) =>
  ec2.send(new sdk.CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 10, ...input }));
const volume = async (id: string) => (await ec2.send(new sdk.DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes![0]!;

async function running(zone = ZONE): Promise<string> {
  const i = await launchOne(ec2, { Placement: { AvailabilityZone: zone } });
  await eventually(async () => ((await describeOne(ec2, i.InstanceId!)).State?.Name === 'running' ? true : undefined));
  return i.InstanceId!;
}

describe('CreateVolume', () => {
  test('answers creating, then available; defaults gp2 with 3 IOPS per GiB', async () => {
    const v = await create({ TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'team', Value: 'a' }] }] });
    assert.match(v.VolumeId!, /^vol-[0-9a-f]{17}$/);
    assert.equal(v.State, 'creating');
    assert.equal(v.VolumeType, 'gp2');
    assert.equal(v.Iops, 100);
    assert.deepEqual(v.Tags, [{ Key: 'team', Value: 'a' }]);
    const d = await volume(v.VolumeId!);
    assert.equal(d.State, 'available');
    assert.equal(d.AvailabilityZone, ZONE);
    assert.match(d.AvailabilityZoneId!, /^use1-az\d$/);
    assert.deepEqual(d.Attachments, []);
    assert.equal(d.Encrypted, false);
    assert.equal(d.MultiAttachEnabled, false);
    assert.deepEqual(d.Tags, [{ Key: 'team', Value: 'a' }]);
  });

  test('gp3 gets 3000 IOPS and 125 MiB/s; io2 keeps what was asked', async () => {
    const g = await create({ VolumeType: 'gp3' });
    assert.equal(g.Iops, 3000);
    assert.equal(g.Throughput, 125);
    const io = await create({ VolumeType: 'io2', Size: 100, Iops: 5000 });
    assert.equal(io.Iops, 5000);
    assert.equal(io.Throughput, undefined);
  });

  test('AvailabilityZoneId works too; a zone is required', async () => {
    const zoneB = (await ec2.send(new sdk.DescribeAvailabilityZonesCommand({ ZoneNames: ['us-east-1b'] }))).AvailabilityZones![0]!;
    const v = await ec2.send(new sdk.CreateVolumeCommand({ AvailabilityZoneId: zoneB.ZoneId!, Size: 1 }));
    assert.equal(v.AvailabilityZone, 'us-east-1b');
    const e = await errorOf(ec2.send(new sdk.CreateVolumeCommand({ Size: 1 })));
    assert.equal(e.code, 'MissingParameter');
    const bad = await errorOf(create({ AvailabilityZone: 'us-east-1z' }));
    assert.equal(bad.code, 'InvalidParameterValue');
    assert.match(bad.message, /us-east-1z/);
  });

  test('the size and IOPS rules of each type, with messages naming the bad value', async () => {
    const cases: [Partial<sdk.CreateVolumeCommandInput>, string, RegExp][] = [
      [{ Size: undefined }, 'MissingParameter', /size\/snapshot/],
      [{ Size: 0 }, 'InvalidParameterValue', /\(0\)/],
      [{ Size: 16385 }, 'InvalidParameterValue', /16385GiB is too large for volume type gp2; maximum is 16384GiB/],
      [{ Size: 100, VolumeType: 'st1' }, 'InvalidParameterValue', /100GiB is too small for volume type st1; minimum is 125GiB/],
      [{ Size: 1025, VolumeType: 'standard' }, 'InvalidParameterValue', /maximum is 1024GiB/],
      [{ VolumeType: 'gp9' as sdk.VolumeType }, 'InvalidParameterValue', /gp9/],
      [{ VolumeType: 'io1', Size: 10 }, 'InvalidParameterCombination', /iops must be specified for io1/],
      [{ VolumeType: 'gp2', Iops: 300 }, 'InvalidParameterCombination', /iops is not supported for gp2/],
      [{ VolumeType: 'io1', Size: 10, Iops: 50 }, 'InvalidParameterValue', /iops of 50 is too low/],
      [{ VolumeType: 'io1', Size: 10, Iops: 1000 }, 'InvalidParameterValue', /ratio of 100\.000000 is too high; maximum is 50/],
      [{ VolumeType: 'gp3', Throughput: 100 }, 'InvalidParameterValue', /throughput of 100 MiB\/s is too low/],
      [{ VolumeType: 'gp3', Throughput: 1000 }, 'InvalidParameterValue', /Throughput \(MiBps\) to iops ratio/],
      [{ VolumeType: 'gp2', Throughput: 200 }, 'InvalidParameterCombination', /throughput is not supported for gp2/],
      [{ KmsKeyId: 'alias/mine' }, 'InvalidParameterDependency', /Encrypted/],
      [{ KmsKeyId: 'alias/mine', Encrypted: true }, 'NotImplemented', /KmsKeyId alias\/mine/],
      [{ MultiAttachEnabled: true }, 'NotImplemented', /MultiAttachEnabled/],
      [{ SnapshotId: 'snap-nope' }, 'InvalidSnapshotID.Malformed', /snap-nope/],
      [{ SnapshotId: 'snap-0123456789abcdef0' }, 'InvalidSnapshot.NotFound', /snap-0123456789abcdef0/],
      [{ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] }, 'InvalidParameterValue', /instance/],
    ];
    for (const [input, code, message] of cases) {
      const e = await errorOf(create(input));
      assert.equal(e.code, code, JSON.stringify(input));
      assert.match(e.message, message, JSON.stringify(input));
    }
  });

  test('Encrypted is recorded; DryRun makes nothing', async () => {
    assert.equal((await create({ Encrypted: true })).Encrypted, true);
    const before = (await ec2.send(new sdk.DescribeVolumesCommand({}))).Volumes!.length;
    const e = await errorOf(create({ DryRun: true }));
    assert.equal(e.code, 'DryRunOperation');
    assert.equal((await ec2.send(new sdk.DescribeVolumesCommand({}))).Volumes!.length, before);
  });

  test('ClientToken: the same request answers the same volume; other parameters are a mismatch', async () => {
    const a = await create({ ClientToken: 'tok-1', Size: 3 });
    const b = await create({ ClientToken: 'tok-1', Size: 3 });
    assert.equal(b.VolumeId, a.VolumeId);
    const e = await errorOf(create({ ClientToken: 'tok-1', Size: 4 }));
    assert.equal(e.code, 'IdempotentParameterMismatch');
  });
});

describe('DescribeVolumes', () => {
  test('shows root and data volumes, filters and pages over both', async () => {
    const i = await running();
    const root = (await describeOne(ec2, i)).BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    const v = (await create({ Size: 7, TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'pick', Value: 'me' }] }] })).VolumeId!;
    const all = (await ec2.send(new sdk.DescribeVolumesCommand({}))).Volumes!.map((x) => x.VolumeId);
    assert.ok(all.includes(root) && all.includes(v));
    const byTag = await ec2.send(new sdk.DescribeVolumesCommand({ Filters: [{ Name: 'tag:pick', Values: ['me'] }] }));
    assert.deepEqual(byTag.Volumes!.map((x) => x.VolumeId), [v]);
    const bySize = await ec2.send(new sdk.DescribeVolumesCommand({ Filters: [{ Name: 'size', Values: ['7'] }, { Name: 'status', Values: ['available'] }] }));
    assert.ok(bySize.Volumes!.some((x) => x.VolumeId === v));
    const both = await ec2.send(new sdk.DescribeVolumesCommand({ VolumeIds: [root, v] }));
    assert.deepEqual(both.Volumes!.map((x) => x.VolumeId), [root, v]);
    const page = await ec2.send(new sdk.DescribeVolumesCommand({ MaxResults: 5 }));
    assert.equal(page.Volumes!.length, 5);
    assert.ok(page.NextToken);
    const e = await errorOf(ec2.send(new sdk.DescribeVolumesCommand({ VolumeIds: ['vol-0123456789abcdef1'] })));
    assert.equal(e.code, 'InvalidVolume.NotFound');
    assert.match(e.message, /vol-0123456789abcdef1/);
  });
});

describe('AttachVolume and DetachVolume', () => {
  test('attach answers attaching, then in-use with its own AttachTime; the instance shows it; detach makes it available', async () => {
    const i = await running();
    const v = (await create()).VolumeId!;
    const a = await ec2.send(new sdk.AttachVolumeCommand({ VolumeId: v, InstanceId: i, Device: '/dev/sdf' }));
    assert.equal(a.State, 'attaching');
    assert.equal(a.DeleteOnTermination, false);
    const d = await volume(v);
    assert.equal(d.State, 'in-use');
    assert.equal(d.Attachments![0]!.State, 'attached');
    assert.equal(d.Attachments![0]!.InstanceId, i);
    assert.equal(d.Attachments![0]!.Device, '/dev/sdf');
    const inst = await describeOne(ec2, i);
    assert.deepEqual(inst.BlockDeviceMappings!.map((m) => [m.DeviceName, m.Ebs?.VolumeId]), [['/dev/xvda', inst.BlockDeviceMappings![0]!.Ebs!.VolumeId], ['/dev/sdf', v]]);
    assert.ok(inst.BlockDeviceMappings![1]!.Ebs!.AttachTime! >= inst.LaunchTime!);
    const filtered = await ec2.send(new sdk.DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [i] }] }));
    assert.equal(filtered.Volumes!.length, 2);
    // attached: not deletable, not attachable again
    const inUse = await errorOf(ec2.send(new sdk.DeleteVolumeCommand({ VolumeId: v })));
    assert.equal(inUse.code, 'VolumeInUse');
    assert.match(inUse.message, new RegExp(`${v} is currently attached to ${i}`));
    const again = await errorOf(ec2.send(new sdk.AttachVolumeCommand({ VolumeId: v, InstanceId: i, Device: '/dev/sdg' })));
    assert.equal(again.code, 'VolumeInUse');
    const det = await ec2.send(new sdk.DetachVolumeCommand({ VolumeId: v }));
    assert.equal(det.State, 'detaching');
    assert.equal((await volume(v)).State, 'available');
    assert.equal((await describeOne(ec2, i)).BlockDeviceMappings!.length, 1);
    const notAttached = await errorOf(ec2.send(new sdk.DetachVolumeCommand({ VolumeId: v })));
    assert.equal(notAttached.code, 'IncorrectState');
    assert.match(notAttached.message, new RegExp(`Volume '${v}' is in the 'available' state`));
    await ec2.send(new sdk.DeleteVolumeCommand({ VolumeId: v }));
    assert.equal((await errorOf(volume(v))).code, 'InvalidVolume.NotFound');
  });

  test('device names, zones, instance states and attachment points', async () => {
    const i = await running();
    const v = (await create()).VolumeId!;
    const w = (await create()).VolumeId!;
    const other = (await create({ AvailabilityZone: 'us-east-1b' })).VolumeId!;
    const bad = await errorOf(ec2.send(new sdk.AttachVolumeCommand({ VolumeId: v, InstanceId: i, Device: '/dev/foo' })));
    assert.equal(bad.code, 'InvalidParameterValue');
    assert.match(bad.message, /\/dev\/foo is not a valid EBS device name/);
    const root = await errorOf(ec2.send(new sdk.AttachVolumeCommand({ VolumeId: v, InstanceId: i, Device: '/dev/sda' })));
    assert.equal(root.code, 'InvalidParameterValue');
    assert.match(root.message, /Attachment point \/dev\/sda is already in use/);
    const zone = await errorOf(ec2.send(new sdk.AttachVolumeCommand({ VolumeId: other, InstanceId: i, Device: '/dev/sdf' })));
    assert.equal(zone.code, 'InvalidVolume.ZoneMismatch');
    assert.match(zone.message, new RegExp(`${other}.*${i}`));
    await ec2.send(new sdk.AttachVolumeCommand({ VolumeId: v, InstanceId: i, Device: 'xvdh' }));
    const taken = await errorOf(ec2.send(new sdk.AttachVolumeCommand({ VolumeId: w, InstanceId: i, Device: '/dev/sdh' })));
    assert.match(taken.message, /Attachment point \/dev\/sdh is already in use/);
    const missing = await errorOf(ec2.send(new sdk.AttachVolumeCommand({ VolumeId: w, InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdj' })));
    assert.equal(missing.code, 'InvalidInstanceID.NotFound');
    const dry = await errorOf(ec2.send(new sdk.AttachVolumeCommand({ VolumeId: w, InstanceId: i, Device: '/dev/sdj', DryRun: true })));
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal((await volume(w)).State, 'available');
    // wrong instance / device on detach
    const wrong = await errorOf(ec2.send(new sdk.DetachVolumeCommand({ VolumeId: v, Device: '/dev/sdz' })));
    assert.equal(wrong.code, 'InvalidAttachment.NotFound');
    // the root volume cannot be detached while the instance runs
    const rootId = (await describeOne(ec2, i)).BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    const rd = await errorOf(ec2.send(new sdk.DetachVolumeCommand({ VolumeId: rootId })));
    assert.equal(rd.code, 'IncorrectState');
    assert.match(rd.message, new RegExp(`Unable to detach root volume '${rootId}' from instance '${i}'`));
    // a stopped instance takes volumes; a terminated instance's volumes are available again
    await ec2.send(new sdk.StopInstancesCommand({ InstanceIds: [i] }));
    await eventually(async () => ((await describeOne(ec2, i)).State?.Name === 'stopped' ? true : undefined));
    await ec2.send(new sdk.AttachVolumeCommand({ VolumeId: w, InstanceId: i, Device: '/dev/sdj' }));
    await ec2.send(new sdk.TerminateInstancesCommand({ InstanceIds: [i] }));
    await eventually(async () => ((await describeOne(ec2, i)).State?.Name === 'terminated' ? true : undefined));
    for (const id of [v, w]) {
      const d = await volume(id);
      assert.equal(d.State, 'available');
      assert.deepEqual(d.Attachments, []);
    }
    const gone = await errorOf(ec2.send(new sdk.AttachVolumeCommand({ VolumeId: v, InstanceId: i, Device: '/dev/sdf' })));
    assert.equal(gone.code, 'IncorrectInstanceState');
  });
});

describe('ModifyVolume', () => {
  test('grows, changes type, IOPS and throughput; never shrinks; DescribeVolumesModifications', async () => {
    const v = (await create({ Size: 10, VolumeType: 'gp3' })).VolumeId!;
    const m = await ec2.send(new sdk.ModifyVolumeCommand({ VolumeId: v, Size: 20, Iops: 4000, Throughput: 250 }));
    assert.equal(m.VolumeModification!.ModificationState, 'modifying');
    assert.equal(m.VolumeModification!.OriginalSize, 10);
    assert.equal(m.VolumeModification!.TargetSize, 20);
    const d = await volume(v);
    assert.equal(d.Size, 20);
    assert.equal(d.Iops, 4000);
    assert.equal(d.Throughput, 250);
    const mods = await ec2.send(new sdk.DescribeVolumesModificationsCommand({ VolumeIds: [v] }));
    assert.equal(mods.VolumesModifications![0]!.ModificationState, 'completed');
    const shrink = await errorOf(ec2.send(new sdk.ModifyVolumeCommand({ VolumeId: v, Size: 5 })));
    assert.equal(shrink.code, 'InvalidParameterValue');
    assert.equal(shrink.message, 'New size cannot be smaller than existing size');
    const io = await errorOf(ec2.send(new sdk.ModifyVolumeCommand({ VolumeId: v, VolumeType: 'io1' })));
    assert.equal(io.code, 'InvalidParameterCombination');
    await ec2.send(new sdk.ModifyVolumeCommand({ VolumeId: v, VolumeType: 'gp2' }));
    const g = await volume(v);
    assert.equal(g.VolumeType, 'gp2');
    assert.equal(g.Iops, 100);
    assert.equal(g.Throughput, undefined);
    const same = await errorOf(ec2.send(new sdk.ModifyVolumeCommand({ VolumeId: v, Size: 20 })));
    assert.equal(same.code, 'InvalidParameterValue');
  });
});

describe('DescribeVolumeStatus', () => {
  test('every volume is ok', async () => {
    const v = (await create()).VolumeId!;
    const r = await ec2.send(new sdk.DescribeVolumeStatusCommand({ VolumeIds: [v] }));
    assert.equal(r.VolumeStatuses![0]!.VolumeStatus!.Status, 'ok');
    assert.equal(r.VolumeStatuses![0]!.VolumeId, v);
  });
});

describe('snapshots', () => {
  test('create, describe (owner self, filters, tags), copy, restore, delete', async () => {
    const v = (await create({ Size: 12, Encrypted: true })).VolumeId!;
    const s = await ec2.send(
      new sdk.CreateSnapshotCommand({ VolumeId: v, Description: 'nightly', TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'k', Value: 'v' }] }] }),
    );
    assert.match(s.SnapshotId!, /^snap-[0-9a-f]{17}$/);
    assert.equal(s.VolumeId, v);
    assert.equal(s.VolumeSize, 12);
    assert.equal(s.Encrypted, true);
    assert.deepEqual(s.Tags, [{ Key: 'k', Value: 'v' }]);
    const snap = await eventually(async () => {
      const d = (await ec2.send(new sdk.DescribeSnapshotsCommand({ SnapshotIds: [s.SnapshotId!] }))).Snapshots![0]!;
      return d.State === 'completed' ? d : undefined;
    });
    assert.equal(snap.Progress, '100%');
    assert.equal(snap.Description, 'nightly');
    const self = await ec2.send(new sdk.DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag:k', Values: ['v'] }] }));
    assert.deepEqual(self.Snapshots!.map((x) => x.SnapshotId), [s.SnapshotId]);
    const amazon = await ec2.send(new sdk.DescribeSnapshotsCommand({ OwnerIds: ['amazon'] }));
    assert.deepEqual(amazon.Snapshots, []);
    const byVol = await ec2.send(new sdk.DescribeSnapshotsCommand({ Filters: [{ Name: 'volume-id', Values: [v] }] }));
    assert.equal(byVol.Snapshots!.length, 1);
    // tags through CreateTags / DescribeTags
    await ec2.send(new sdk.CreateTagsCommand({ Resources: [s.SnapshotId!], Tags: [{ Key: 'more', Value: '1' }] }));
    const t = await ec2.send(new sdk.DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [s.SnapshotId!] }] }));
    assert.deepEqual(t.Tags!.map((x) => [x.Key, x.ResourceType]), [['k', 'snapshot'], ['more', 'snapshot']]);
    // restore: at least the snapshot's size
    const small = await errorOf(create({ SnapshotId: s.SnapshotId!, Size: 5 }));
    assert.equal(small.code, 'InvalidParameterValue');
    assert.match(small.message, new RegExp(`Volume of size 5GB is smaller than snapshot '${s.SnapshotId}', expect size >= 12GB`));
    const r = await create({ SnapshotId: s.SnapshotId!, Size: undefined });
    assert.equal(r.Size, 12);
    assert.equal(r.SnapshotId, s.SnapshotId);
    assert.equal(r.Encrypted, true);
    // copy, in this Region and from another
    const c = await ec2.send(new sdk.CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: s.SnapshotId! }));
    const copy = (await ec2.send(new sdk.DescribeSnapshotsCommand({ SnapshotIds: [c.SnapshotId!] }))).Snapshots![0]!;
    assert.equal(copy.Description, `[Copied ${s.SnapshotId} from us-east-1]`);
    assert.equal(copy.VolumeSize, 12);
    const west = server.client('us-west-2');
    const cw = await west.send(new sdk.CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: s.SnapshotId!, Description: 'dr' }));
    const inWest = (await west.send(new sdk.DescribeSnapshotsCommand({}))).Snapshots!;
    assert.deepEqual(inWest.map((x) => x.SnapshotId), [cw.SnapshotId]);
    const noSource = await errorOf(west.send(new sdk.CopySnapshotCommand({ SourceRegion: 'us-west-2', SourceSnapshotId: s.SnapshotId! })));
    assert.equal(noSource.code, 'InvalidSnapshot.NotFound');
    const badRegion = await errorOf(west.send(new sdk.CopySnapshotCommand({ SourceRegion: 'mars-1', SourceSnapshotId: s.SnapshotId! })));
    assert.equal(badRegion.code, 'InvalidParameterValue');
    // delete
    const dry = await errorOf(ec2.send(new sdk.DeleteSnapshotCommand({ SnapshotId: s.SnapshotId!, DryRun: true })));
    assert.equal(dry.code, 'DryRunOperation');
    await ec2.send(new sdk.DeleteSnapshotCommand({ SnapshotId: s.SnapshotId! }));
    const gone = await errorOf(ec2.send(new sdk.DescribeSnapshotsCommand({ SnapshotIds: [s.SnapshotId!] })));
    assert.equal(gone.code, 'InvalidSnapshot.NotFound');
    assert.match(gone.message, new RegExp(`The snapshot '${s.SnapshotId}' does not exist`));
    assert.equal((await volume(r.VolumeId!)).SnapshotId, s.SnapshotId);
    const malformed = await errorOf(ec2.send(new sdk.DeleteSnapshotCommand({ SnapshotId: 'snap-x' })));
    assert.equal(malformed.code, 'InvalidSnapshotID.Malformed');
  });

  test('a snapshot of an attached volume completes once its VM host has copied it; root volumes too', async () => {
    const i = await running();
    const v = (await create()).VolumeId!;
    await ec2.send(new sdk.AttachVolumeCommand({ VolumeId: v, InstanceId: i, Device: '/dev/sdf' }));
    const rootId = (await describeOne(ec2, i)).BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    for (const id of [v, rootId]) {
      const s = await ec2.send(new sdk.CreateSnapshotCommand({ VolumeId: id }));
      assert.equal(s.State, 'pending');
      await eventually(async () =>
        (await ec2.send(new sdk.DescribeSnapshotsCommand({ SnapshotIds: [s.SnapshotId!] }))).Snapshots![0]!.State === 'completed' ? true : undefined,
      );
    }
    const e = await errorOf(ec2.send(new sdk.CreateSnapshotCommand({ VolumeId: 'vol-0123456789abcdef2' })));
    assert.equal(e.code, 'InvalidVolume.NotFound');
  });
});
