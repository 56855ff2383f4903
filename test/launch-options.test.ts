/**
 * RunInstances' launch options as Terraform's aws_instance sends them and reads them back: the root
 * volume (BlockDeviceMappings → DescribeInstances / DescribeVolumes / DeleteVolume), instance metadata
 * (and ModifyInstanceMetadataOptions), detailed monitoring (and Monitor/UnmonitorInstances), CPU
 * credits (and ModifyInstanceCreditSpecification), Spot (and the stop rule), EBS optimisation,
 * auto-recovery, private DNS names, Nitro Enclaves, the IAM instance profile, the capacity-reservation
 * preference, the members nestbox refuses by name, and launch templates carrying all of them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateFleetCommand,
  CreateLaunchTemplateCommand,
  CreateTagsCommand,
  DeleteVolumeCommand,
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstanceCreditSpecificationsCommand,
  DescribeInstancesCommand,
  DescribeTagsCommand,
  DescribeVolumesCommand,
  type EC2Client,
  GetLaunchTemplateDataCommand,
  type Instance,
  ModifyInstanceAttributeCommand,
  ModifyInstanceCreditSpecificationCommand,
  ModifyInstanceMetadataOptionsCommand,
  MonitorInstancesCommand,
  type RequestLaunchTemplateData,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  UnmonitorInstancesCommand,
  type Volume,
} from '@aws-sdk/client-ec2';
import { LINUX_AMI, type TestServer, WINDOWS_AMI, describeOne, errorOf, eventually, launch, launchOne, startTestServer } from './helpers.js';

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

const volumeOf = (instanceId: string) => `vol-${instanceId.slice(2)}`;

async function volume(client: EC2Client, volumeId: string): Promise<Volume> {
  const r = await client.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
  assert.equal(r.Volumes?.length, 1);
  return r.Volumes![0]!;
}

function waitForState(client: EC2Client, id: string, state: string): Promise<true> {
  return eventually(async () => ((await describeOne(client, id)).State?.Name === state ? true : undefined), 5000, `${id} ${state}`);
}

async function running(client: EC2Client, params: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const id = (await launchOne(client, params)).InstanceId!;
  await waitForState(client, id, 'running');
  return id;
}

/** The instance IDs of a region, to show that a refused launch recorded nothing. */
async function instanceIds(client: EC2Client): Promise<string[]> {
  const r = await client.send(new DescribeInstancesCommand({}));
  return (r.Reservations ?? []).flatMap((res) => (res.Instances ?? []).map((i) => i.InstanceId!)).sort();
}

/** A launch that must fail with `code`, HTTP `status` and a message matching `message`, recording nothing. */
async function refused(
  client: EC2Client,
  params: Partial<RunInstancesCommandInput>,
  code: string,
  message: RegExp,
  status = 400,
): Promise<void> {
  const before = await instanceIds(client);
  const err = await errorOf(launch(client, params));
  assert.equal(err.code, code, `${JSON.stringify(params)}: ${err.message}`);
  assert.equal(err.status, status, `${JSON.stringify(params)}: HTTP status`);
  assert.match(err.message, message);
  assert.deepEqual(await instanceIds(client), before, 'a refused launch records nothing');
}

const root = (ebs: NonNullable<NonNullable<RunInstancesCommandInput['BlockDeviceMappings']>[number]['Ebs']>, device = '/dev/xvda') => ({
  BlockDeviceMappings: [{ DeviceName: device, Ebs: ebs }],
});

// --- the root volume ----------------------------------------------------------------------------------

test('BlockDeviceMappings: the root mapping sets size, type, IOPS, throughput, encryption; DescribeInstances and DescribeVolumes show them', async () => {
  const i = await launchOne(ec2, {
    ...root({ VolumeSize: 20, VolumeType: 'gp3', Iops: 4000, Throughput: 250, Encrypted: true, DeleteOnTermination: true }),
  });
  const id = i.InstanceId!;
  assert.deepEqual(
    i.BlockDeviceMappings?.map((m) => [m.DeviceName, m.Ebs?.VolumeId, m.Ebs?.DeleteOnTermination]),
    [['/dev/xvda', volumeOf(id), true]],
  );
  const v = await volume(ec2, volumeOf(id));
  assert.equal(v.Size, 20);
  assert.equal(v.VolumeType, 'gp3');
  assert.equal(v.Iops, 4000);
  assert.equal(v.Throughput, 250);
  assert.equal(v.Encrypted, true);
  assert.equal(v.State, 'in-use');
  assert.equal(v.Attachments?.[0]?.DeleteOnTermination, true);
  // The filters see the same volume.
  const bySize = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'size', Values: ['20'] }, { Name: 'encrypted', Values: ['true'] }] }));
  assert.deepEqual(bySize.Volumes?.map((x) => x.VolumeId), [volumeOf(id)]);
});

test('BlockDeviceMappings: omitted members keep the image\'s (8 GiB gp3, 3000 IOPS, 125 MiB/s); a Windows image\'s root is /dev/sda1', async () => {
  const linux = (await launchOne(ec2, root({ VolumeSize: 12 }))).InstanceId!;
  const lv = await volume(ec2, volumeOf(linux));
  assert.deepEqual([lv.Size, lv.VolumeType, lv.Iops, lv.Throughput, lv.Encrypted], [12, 'gp3', 3000, 125, false]);

  const windows = (await launchOne(ec2, { ImageId: WINDOWS_AMI, InstanceType: 'm8i.large', ...root({ VolumeSize: 50, VolumeType: 'gp2' }, '/dev/sda1') }))
    .InstanceId!;
  const wv = await volume(ec2, volumeOf(windows));
  // gp2: 3 IOPS per GiB as its baseline, and no throughput setting
  assert.deepEqual([wv.Size, wv.VolumeType, wv.Iops, wv.Throughput, wv.Attachments?.[0]?.Device], [50, 'gp2', 150, undefined, '/dev/sda1']);

  const io2 = (await launchOne(ec2, root({ VolumeType: 'io2', Iops: 8000, VolumeSize: 16 }))).InstanceId!;
  const iv = await volume(ec2, volumeOf(io2));
  assert.deepEqual([iv.Size, iv.VolumeType, iv.Iops, iv.Throughput], [16, 'io2', 8000, undefined]);
});

test('BlockDeviceMappings: EBS rules refused with EC2\'s codes and messages, nothing recorded', async () => {
  const c = server.client('eu-west-3');
  await refused(c, root({ VolumeSize: 4 }), 'InvalidBlockDeviceMapping', /^Volume of size 4GB is smaller than {2}snapshot 'snap-0b5e4a1f2c3d40001', expect size >= 8GB$/);
  await refused(
    c,
    { ImageId: WINDOWS_AMI, InstanceType: 'm8i.large', ...root({ VolumeSize: 20 }, '/dev/sda1') },
    'InvalidBlockDeviceMapping',
    /Volume of size 20GB is smaller than {2}snapshot 'snap-0b5e4a1f2c3d40003', expect size >= 30GB/,
  );
  await refused(c, root({ VolumeSize: 70000 }), 'InvalidParameterValue', /Volume of 70000GiB is too large for volume type gp3; maximum is 65536GiB/);
  await refused(c, root({ VolumeSize: 20000, VolumeType: 'gp2' }), 'InvalidParameterValue', /Volume of 20000GiB is too large for volume type gp2; maximum is 16384GiB/);
  await refused(c, root({ VolumeType: 'st1', VolumeSize: 500 }), 'InvalidBlockDeviceMapping', /volume type st1 .*root device \/dev\/xvda/);
  await refused(c, root({ VolumeType: 'gp9' as 'gp3' }), 'InvalidParameterValue', /Value \(gp9\) for parameter BlockDeviceMapping\.1\.Ebs\.VolumeType is invalid/);
  await refused(c, root({ VolumeType: 'gp2', Iops: 3000 }), 'InvalidParameterCombination', /^The parameter iops is not supported for gp2 volumes\.$/);
  await refused(c, root({ VolumeType: 'io1', VolumeSize: 20 }), 'InvalidParameterCombination', /^The parameter iops must be specified for io1 volumes\.$/);
  await refused(c, root({ VolumeType: 'gp2', Throughput: 200 }), 'InvalidBlockDeviceMapping', /^throughput cannot be specified with the volumeType of device '\/dev\/xvda'$/);
  await refused(c, root({ Iops: 2000 }), 'InvalidParameterValue', /Volume iops of 2000 is too low for volume type gp3; minimum is 3000/);
  await refused(c, root({ Iops: 90000, VolumeSize: 1000 }), 'InvalidParameterValue', /Volume iops of 90000 is too high for volume type gp3; maximum is 80000/);
  await refused(c, root({ Iops: 5000 }), 'InvalidParameterValue', /^Iops to volume size ratio of 625\.000000 is too high; maximum is 500$/);
  await refused(c, root({ Throughput: 2500 }), 'InvalidParameterValue', /Volume throughput of 2500 MiB\/s is too high; maximum is 2000 MiB\/s/);
  await refused(
    c,
    root({ Throughput: 1000 }),
    'InvalidParameterValue',
    /^Throughput \(MiBps\) to iops ratio of 0\.333333 is too high; maximum is 0\.250000 MiBps per iops$/,
  );
  await refused(c, root({ KmsKeyId: 'alias/mine' }), 'InvalidParameterDependency', /KmsKeyId requires the parameter Encrypted/);
  await refused(c, { BlockDeviceMappings: [{ DeviceName: '/dev/nvme0n1', Ebs: { VolumeSize: 8 } }] }, 'InvalidBlockDeviceMapping', /^Invalid device name \/dev\/nvme0n1$/);
  await refused(
    c,
    { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 9 } }, { DeviceName: 'xvda', Ebs: { VolumeSize: 10 } }] },
    'InvalidBlockDeviceMapping',
    /The device 'xvda' is used in more than one block-device mapping/,
  );
  await refused(c, { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', NoDevice: '' }] }, 'InvalidBlockDeviceMapping', /root device \/dev\/xvda cannot be suppressed/);
  // Another EBS volume is a data volume made at launch (test/user-images.test.ts): it needs a size or a
  // snapshot; a root volume from another snapshot is refused by name, never dropped.
  await refused(
    c,
    { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 9 } }, { DeviceName: '/dev/sdf', Ebs: { VolumeType: 'gp3' } }] },
    'InvalidBlockDeviceMapping',
    /The block device mapping for \/dev\/sdf must specify a volume size or a snapshot ID/,
  );
  await refused(c, root({ SnapshotId: 'snap-0123456789abcdef0' }), 'NotImplemented', /BlockDeviceMapping\.1\.Ebs\.SnapshotId snap-0123456789abcdef0/, 501);
  // Instance store and NoDevice mappings of other devices change nothing, as in EC2 on these types.
  const ok = await launchOne(c, {
    BlockDeviceMappings: [
      { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
      { DeviceName: '/dev/sdc', NoDevice: '' },
    ],
  });
  assert.deepEqual(ok.BlockDeviceMappings?.map((m) => m.DeviceName), ['/dev/xvda']);
});

test('DeleteOnTermination=false: the root volume outlives its instance, available and detached, until DeleteVolume', async () => {
  const short = await startTestServer({ terminatedRetentionMs: 1000 });
  try {
    const c = short.client();
    const id = (await launchOne(c, { ...root({ VolumeSize: 10, DeleteOnTermination: false }), TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'keep', Value: 'me' }] }] }))
      .InstanceId!;
    const vol = volumeOf(id);
    assert.equal((await describeOne(c, id)).BlockDeviceMappings?.[0]?.Ebs?.DeleteOnTermination, false);
    assert.equal((await volume(c, vol)).Attachments?.[0]?.DeleteOnTermination, false);

    // attached, it cannot be deleted
    const inUse = await errorOf(c.send(new DeleteVolumeCommand({ VolumeId: vol })));
    assert.deepEqual([inUse.code, inUse.status], ['VolumeInUse', 400]);
    assert.match(inUse.message, new RegExp(`Volume ${vol} is currently attached to ${id}`));

    await c.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitForState(c, id, 'terminated');
    const kept = await volume(c, vol);
    assert.deepEqual([kept.State, kept.Attachments, kept.Size], ['available', [], 10]);
    assert.deepEqual((await describeOne(c, id)).BlockDeviceMappings, []);
    const status = await c.send(new DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] }));
    assert.deepEqual(status.Volumes?.map((v) => v.VolumeId), [vol]);
    // its tags stay with it, and it can still be tagged
    await c.send(new CreateTagsCommand({ Resources: [vol], Tags: [{ Key: 'later', Value: 'yes' }] }));
    const tagged = await c.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [vol] }] }));
    assert.deepEqual(tagged.Tags?.map((t) => t.Key).sort(), ['keep', 'later']);

    // past the instance's retention (an hour in EC2, a second here) the instance is gone, the volume is not
    await new Promise((r) => setTimeout(r, 1100));
    await short.nestbox.vmHost!.purge();
    assert.ok(await short.nestbox.services.store.instance(id), 'the record is kept for its volume');
    assert.equal((await errorOf(c.send(new DescribeInstancesCommand({ InstanceIds: [id] })))).code, 'InvalidInstanceID.NotFound');
    assert.equal((await volume(c, vol)).State, 'available');

    const dry = await errorOf(c.send(new DeleteVolumeCommand({ VolumeId: vol, DryRun: true })));
    assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 412]);
    await c.send(new DeleteVolumeCommand({ VolumeId: vol }));
    assert.equal((await errorOf(c.send(new DescribeVolumesCommand({ VolumeIds: [vol] })))).code, 'InvalidVolume.NotFound');
    assert.deepEqual((await c.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [vol] }] }))).Tags, []);
    assert.equal((await errorOf(c.send(new DeleteVolumeCommand({ VolumeId: vol })))).code, 'InvalidVolume.NotFound');
    assert.equal((await errorOf(c.send(new DeleteVolumeCommand({ VolumeId: 'vol-xyz' })))).code, 'InvalidVolumeID.Malformed');
    await short.nestbox.vmHost!.purge();
    assert.equal(await short.nestbox.services.store.instance(id), undefined, 'the record goes once the volume is deleted');
  } finally {
    await short.close();
  }
});

// --- instance metadata --------------------------------------------------------------------------------

test('MetadataOptions: the image\'s defaults (ImdsSupport v2.0: IMDSv2 only, hop limit 2), or the launch\'s, shown applied', async () => {
  const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [LINUX_AMI] }))).Images?.[0];
  assert.equal(image?.ImdsSupport, 'v2.0');
  const plain = await launchOne(ec2);
  assert.deepEqual(plain.MetadataOptions, {
    State: 'applied',
    HttpTokens: 'required',
    HttpPutResponseHopLimit: 2,
    HttpEndpoint: 'enabled',
    HttpProtocolIpv6: 'disabled',
    InstanceMetadataTags: 'disabled',
  });
  const given = await launchOne(ec2, {
    MetadataOptions: { HttpTokens: 'optional', HttpPutResponseHopLimit: 3, InstanceMetadataTags: 'enabled' },
  });
  assert.deepEqual((await describeOne(ec2, given.InstanceId!)).MetadataOptions, {
    State: 'applied',
    HttpTokens: 'optional',
    HttpPutResponseHopLimit: 3,
    HttpEndpoint: 'enabled',
    HttpProtocolIpv6: 'disabled',
    InstanceMetadataTags: 'enabled',
  });
  const filtered = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'metadata-options.http-tokens', Values: ['optional'] }] }));
  assert.deepEqual(filtered.Reservations?.flatMap((r) => r.Instances?.map((i) => i.InstanceId)), [given.InstanceId]);

  const c = server.client('eu-west-3');
  await refused(c, { MetadataOptions: { HttpTokens: 'maybe' as 'optional' } }, 'InvalidParameterValue', /Value \(maybe\) for parameter MetadataOptions\.HttpTokens is invalid/);
  await refused(c, { MetadataOptions: { HttpPutResponseHopLimit: 65 } }, 'InvalidParameterValue', /Value \(65\) for parameter MetadataOptions\.HttpPutResponseHopLimit is invalid/);
  await refused(c, { MetadataOptions: { HttpEndpoint: 'on' as 'enabled' } }, 'InvalidParameterValue', /Value \(on\) for parameter MetadataOptions\.HttpEndpoint is invalid/);
});

test('ModifyInstanceMetadataOptions: answers pending, DescribeInstances shows it applied; untouched options stay; refused once terminated', async () => {
  const id = (await launchOne(ec2, { MetadataOptions: { HttpPutResponseHopLimit: 5 } })).InstanceId!;
  const r = await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'optional', HttpEndpoint: 'disabled' }));
  assert.equal(r.InstanceId, id);
  assert.deepEqual(r.InstanceMetadataOptions, {
    State: 'pending',
    HttpTokens: 'optional',
    HttpPutResponseHopLimit: 5,
    HttpEndpoint: 'disabled',
    HttpProtocolIpv6: 'disabled',
    InstanceMetadataTags: 'disabled',
  });
  const shown = (await describeOne(ec2, id)).MetadataOptions;
  assert.deepEqual(shown, { ...r.InstanceMetadataOptions, State: 'applied' });

  const bad = await errorOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpPutResponseHopLimit: 0 })));
  assert.deepEqual([bad.code, bad.status], ['InvalidParameterValue', 400]);
  assert.match(bad.message, /Value \(0\) for parameter HttpPutResponseHopLimit is invalid/);
  const missing = await errorOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: 'i-0123456789abcdef0', HttpTokens: 'required' })));
  assert.equal(missing.code, 'InvalidInstanceID.NotFound');
  const dry = await errorOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'required', DryRun: true })));
  assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 412]);
  assert.equal((await describeOne(ec2, id)).MetadataOptions?.HttpTokens, 'optional', 'DryRun changed nothing');

  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  const gone = await errorOf(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'required' })));
  assert.equal(gone.code, 'IncorrectInstanceState');
  assert.match(gone.message, new RegExp(id));
});

// --- monitoring ---------------------------------------------------------------------------------------

test('Monitoring.Enabled and Monitor/UnmonitorInstances: pending / disabling in the answer, enabled / disabled after', async () => {
  const on = await launchOne(ec2, { Monitoring: { Enabled: true } });
  assert.equal(on.Monitoring?.State, 'enabled');
  const off = (await launchOne(ec2)).InstanceId!;
  assert.equal((await describeOne(ec2, off)).Monitoring?.State, 'disabled');

  const m = await ec2.send(new MonitorInstancesCommand({ InstanceIds: [off, on.InstanceId!] }));
  assert.deepEqual(m.InstanceMonitorings, [
    { InstanceId: off, Monitoring: { State: 'pending' } },
    { InstanceId: on.InstanceId, Monitoring: { State: 'enabled' } },
  ]);
  assert.equal((await describeOne(ec2, off)).Monitoring?.State, 'enabled');
  const u = await ec2.send(new UnmonitorInstancesCommand({ InstanceIds: [off] }));
  assert.deepEqual(u.InstanceMonitorings, [{ InstanceId: off, Monitoring: { State: 'disabling' } }]);
  assert.equal((await describeOne(ec2, off)).Monitoring?.State, 'disabled');
  const enabled = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'monitoring-state', Values: ['enabled'] }] }));
  assert.deepEqual(enabled.Reservations?.flatMap((r) => r.Instances?.map((i) => i.InstanceId)), [on.InstanceId]);

  // one unknown or terminated instance refuses the whole call
  const unknown = await errorOf(ec2.send(new MonitorInstancesCommand({ InstanceIds: [off, 'i-0123456789abcdef0'] })));
  assert.equal(unknown.code, 'InvalidInstanceID.NotFound');
  assert.equal((await describeOne(ec2, off)).Monitoring?.State, 'disabled');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [on.InstanceId!] }));
  const gone = await errorOf(ec2.send(new UnmonitorInstancesCommand({ InstanceIds: [on.InstanceId!] })));
  assert.equal(gone.code, 'IncorrectInstanceState');
});

// --- CPU credits --------------------------------------------------------------------------------------

async function creditsOf(client: EC2Client, id: string): Promise<string | undefined> {
  const r = await client.send(new DescribeInstanceCreditSpecificationsCommand({ InstanceIds: [id] }));
  return r.InstanceCreditSpecifications?.[0]?.CpuCredits;
}

test('CreditSpecification: a burstable type keeps the option it launched with; other types refuse one', async () => {
  const standard = (await launchOne(ec2, { InstanceType: 't3.micro', CreditSpecification: { CpuCredits: 'standard' } })).InstanceId!;
  assert.equal(await creditsOf(ec2, standard), 'standard');
  const plain = (await launchOne(ec2, { InstanceType: 't3.micro' })).InstanceId!;
  assert.equal(await creditsOf(ec2, plain), 'unlimited');

  const c = server.client('eu-west-3');
  await refused(
    c,
    { InstanceType: 'm8i.large', CreditSpecification: { CpuCredits: 'unlimited' } },
    'InstanceCreditSpecification.NotSupported',
    /^The m8i\.large instance type does not support T2 Unlimited\.$/,
  );
  await refused(c, { InstanceType: 't3.micro', CreditSpecification: { CpuCredits: 'turbo' } }, 'InvalidParameterValue', /Value \(turbo\) for parameter CreditSpecification\.CpuCredits is invalid/);
});

test('ModifyInstanceCreditSpecification: per-instance successes and failures; DescribeInstanceCreditSpecifications follows', async () => {
  const t3 = (await launchOne(ec2, { InstanceType: 't3.small' })).InstanceId!;
  const m8i = (await launchOne(ec2, { InstanceType: 'm8i.large' })).InstanceId!;
  const r = await ec2.send(
    new ModifyInstanceCreditSpecificationCommand({
      InstanceCreditSpecifications: [
        { InstanceId: t3, CpuCredits: 'standard' },
        { InstanceId: m8i, CpuCredits: 'unlimited' },
        { InstanceId: 'i-0123456789abcdef0', CpuCredits: 'standard' },
        { InstanceId: 'i-bad', CpuCredits: 'standard' },
      ],
    }),
  );
  assert.deepEqual(r.SuccessfulInstanceCreditSpecifications, [{ InstanceId: t3 }]);
  assert.deepEqual(
    r.UnsuccessfulInstanceCreditSpecifications?.map((u) => [u.InstanceId, u.Error?.Code]),
    [
      [m8i, 'InstanceCreditSpecification.NotSupported'],
      ['i-0123456789abcdef0', 'InvalidInstanceID.NotFound'],
      ['i-bad', 'InvalidInstanceID.Malformed'],
    ],
  );
  assert.equal(await creditsOf(ec2, t3), 'standard');
  assert.equal(await creditsOf(ec2, m8i), 'standard');
  // the unlimited listing no longer has it
  const listed = await ec2.send(new DescribeInstanceCreditSpecificationsCommand({}));
  assert.ok(!listed.InstanceCreditSpecifications?.some((x) => x.InstanceId === t3));

  const bad = await errorOf(ec2.send(new ModifyInstanceCreditSpecificationCommand({ InstanceCreditSpecifications: [{ InstanceId: t3, CpuCredits: 'fast' }] })));
  assert.deepEqual([bad.code, bad.status], ['InvalidParameterValue', 400]);
  assert.match(bad.message, /Value \(fast\)/);
  const dry = await errorOf(
    ec2.send(new ModifyInstanceCreditSpecificationCommand({ InstanceCreditSpecifications: [{ InstanceId: t3, CpuCredits: 'unlimited' }], DryRun: true })),
  );
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal(await creditsOf(ec2, t3), 'standard');
});

// --- Spot ---------------------------------------------------------------------------------------------

test('InstanceMarketOptions spot: InstanceLifecycle spot; a one-time Spot Instance cannot be stopped, a persistent one can', async () => {
  const oneTime = await running(ec2, { InstanceMarketOptions: { MarketType: 'spot' } });
  const described = await describeOne(ec2, oneTime);
  assert.equal(described.InstanceLifecycle, 'spot');
  const spots = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-lifecycle', Values: ['spot'] }] }));
  assert.ok(spots.Reservations?.some((r) => r.Instances?.some((i) => i.InstanceId === oneTime)));

  const stop = await errorOf(ec2.send(new StopInstancesCommand({ InstanceIds: [oneTime] })));
  assert.deepEqual([stop.code, stop.status], ['UnsupportedOperation', 400]);
  assert.equal(
    stop.message,
    `You can't stop the Spot Instance '${oneTime}' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests.`,
  );
  assert.equal((await describeOne(ec2, oneTime)).State?.Name, 'running');

  const persistent = await running(ec2, {
    InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop', MaxPrice: '0.05' } },
  });
  await ec2.send(new StopInstancesCommand({ InstanceIds: [persistent] }));
  await waitForState(ec2, persistent, 'stopped');
  await ec2.send(new StartInstancesCommand({ InstanceIds: [persistent] }));
  await waitForState(ec2, persistent, 'running');

  const c = server.client('eu-west-3');
  await refused(
    c,
    { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { InstanceInterruptionBehavior: 'stop' } } },
    'InvalidParameterCombination',
    /^The request with type 'one-time' is not supported when instanceInterruptionBehavior is set to 'stop'\.$/,
  );
  await refused(
    c,
    { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'persistent' } } },
    'InvalidParameterCombination',
    /type 'persistent' is not supported when instanceInterruptionBehavior is set to 'terminate'/,
  );
  await refused(c, { InstanceMarketOptions: { MarketType: 'spot' }, Placement: { Tenancy: 'host' } }, 'InvalidParameterCombination', /tenancy of 'host'/);
  await refused(c, { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { MaxPrice: 'cheap' } } }, 'InvalidParameterValue', /Value \(cheap\) for parameter InstanceMarketOptions\.SpotOptions\.MaxPrice/);
  await refused(c, { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { BlockDurationMinutes: 60 } } }, 'NotImplemented', /BlockDurationMinutes/, 501);
  await refused(c, { InstanceMarketOptions: { MarketType: 'capacity-block' } }, 'NotImplemented', /MarketType=capacity-block/, 501);
});

// --- the rest of what Terraform sends -----------------------------------------------------------------

test('EbsOptimized, MaintenanceOptions, PrivateDnsNameOptions, EnclaveOptions, CapacityReservationSpecification: recorded and shown', async () => {
  const plain = await launchOne(ec2, { InstanceType: 'm8i.xlarge' });
  assert.equal(plain.EbsOptimized, false, 'EC2 shows false unless asked, even on types optimised by default');
  assert.deepEqual(plain.MaintenanceOptions, { AutoRecovery: 'default' });
  assert.deepEqual(plain.PrivateDnsNameOptions, { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false });
  assert.deepEqual(plain.EnclaveOptions, { Enabled: false });
  assert.deepEqual(plain.CapacityReservationSpecification, { CapacityReservationPreference: 'open' });

  const set = await launchOne(ec2, {
    InstanceType: 'm8i.xlarge',
    EbsOptimized: true,
    MaintenanceOptions: { AutoRecovery: 'disabled' },
    PrivateDnsNameOptions: { HostnameType: 'resource-name', EnableResourceNameDnsARecord: true },
    EnclaveOptions: { Enabled: true },
    CapacityReservationSpecification: { CapacityReservationPreference: 'none' },
  });
  const i = await describeOne(ec2, set.InstanceId!);
  assert.equal(i.EbsOptimized, true);
  assert.deepEqual(i.MaintenanceOptions, { AutoRecovery: 'disabled' });
  assert.deepEqual(i.PrivateDnsNameOptions, { HostnameType: 'resource-name', EnableResourceNameDnsARecord: true, EnableResourceNameDnsAAAARecord: false });
  assert.deepEqual(i.EnclaveOptions, { Enabled: true });
  assert.deepEqual(i.CapacityReservationSpecification, { CapacityReservationPreference: 'none' });

  const c = server.client('eu-west-3');
  await refused(c, { InstanceType: 't3.micro', EnclaveOptions: { Enabled: true } }, 'UnsupportedOperation', /t3\.micro does not support Nitro Enclaves/);
  await refused(
    c,
    { InstanceType: 'm8i.xlarge', EnclaveOptions: { Enabled: true }, HibernationOptions: { Configured: true } },
    'InvalidParameterCombination',
    /Nitro Enclaves and hibernation/,
  );
  await refused(c, { MaintenanceOptions: { AutoRecovery: 'never' as 'default' } }, 'InvalidParameterValue', /Value \(never\) for parameter MaintenanceOptions\.AutoRecovery/);
  await refused(c, { PrivateDnsNameOptions: { EnableResourceNameDnsAAAARecord: true } }, 'NotImplemented', /EnableResourceNameDnsAAAARecord/, 501);
  await refused(
    c,
    { CapacityReservationSpecification: { CapacityReservationTarget: { CapacityReservationId: 'cr-0123456789abcdef0' } } },
    'NotImplemented',
    /CapacityReservationTarget/,
    501,
  );
});

test('ModifyInstanceAttribute ebsOptimized: only while stopped; DescribeInstances and DescribeInstanceAttribute follow', async () => {
  const id = await running(ec2, { InstanceType: 'm8i.large' });
  const live = await errorOf(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, EbsOptimized: { Value: true } })));
  assert.deepEqual([live.code, live.status], ['IncorrectInstanceState', 400]);
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'stopped');
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, EbsOptimized: { Value: true } }));
  assert.equal((await describeOne(ec2, id)).EbsOptimized, true);
  const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'ebsOptimized' }));
  assert.deepEqual(attr.EbsOptimized, { Value: true });
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Attribute: 'ebsOptimized', Value: 'false' }));
  assert.equal((await describeOne(ec2, id)).EbsOptimized, false);
});

test('IamInstanceProfile: by name or ARN, shown as {Arn, Id}; both at once or a malformed one refused', async () => {
  const byName = await launchOne(ec2, { IamInstanceProfile: { Name: 'ci-runner' } });
  const p = (await describeOne(ec2, byName.InstanceId!)).IamInstanceProfile;
  assert.equal(p?.Arn, 'arn:aws:iam::000000000000:instance-profile/ci-runner');
  assert.match(p?.Id ?? '', /^AIPA[0-9A-F]{17}$/);
  const arn = 'arn:aws:iam::000000000000:instance-profile/team/builder';
  const byArn = await launchOne(ec2, { IamInstanceProfile: { Arn: arn } });
  assert.equal(byArn.IamInstanceProfile?.Arn, arn);
  const found = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'iam-instance-profile.arn', Values: [arn] }] }));
  assert.deepEqual(found.Reservations?.flatMap((r) => r.Instances?.map((i) => i.InstanceId)), [byArn.InstanceId]);
  assert.equal((await launchOne(ec2)).IamInstanceProfile, undefined);

  const c = server.client('eu-west-3');
  await refused(c, { IamInstanceProfile: { Name: 'a', Arn: arn } }, 'InvalidParameterCombination', /'iamInstanceProfile\.name' may not be used in combination with 'iamInstanceProfile\.arn'/);
  await refused(c, { IamInstanceProfile: { Arn: 'arn:aws:iam::000000000000:role/x' } }, 'InvalidParameterValue', /Value \(arn:aws:iam::000000000000:role\/x\) for parameter iamInstanceProfile\.arn is invalid/);
  await refused(c, { IamInstanceProfile: { Name: 'bad name!' } }, 'InvalidParameterValue', /Value \(bad name!\) for parameter iamInstanceProfile\.name is invalid/);
});

test('members nestbox cannot honour are refused by name (NotImplemented, HTTP 501); neutral values are accepted', async () => {
  const c = server.client('eu-west-3');
  await refused(c, { KernelId: 'aki-0123456789abcdef0' }, 'NotImplemented', /RunInstances with KernelId is real EC2 behaviour/, 501);
  await refused(c, { Ipv6AddressCount: 1 }, 'NotImplemented', /Ipv6AddressCount.*IPv6/, 501);
  await refused(c, { LicenseSpecifications: [{ LicenseConfigurationArn: 'arn:aws:license-manager:eu-west-3:000000000000:license-configuration:lic-1' }] }, 'NotImplemented', /LicenseSpecifications/, 501);
  await refused(c, { ElasticInferenceAccelerators: [{ Type: 'eia2.medium' }] }, 'NotImplemented', /ElasticInferenceAccelerators/, 501);
  await refused(c, { NetworkPerformanceOptions: { BandwidthWeighting: 'vpc-1' } }, 'NotImplemented', /BandwidthWeighting=vpc-1/, 501);
  await refused(c, { Placement: { GroupName: 'cluster-1' } }, 'InvalidPlacementGroup.Unknown', /cluster-1/);
  await refused(c, { Placement: { AvailabilityZone: 'eu-west-3a', AvailabilityZoneId: 'euw3-az1' } }, 'InvalidParameterCombination', /both AvailabilityZone and AvailabilityZoneId/);
  await refused(c, { Placement: { AvailabilityZoneId: 'use1-az6' } }, 'InvalidParameterValue', /Invalid availability zone ID: \[use1-az6\]/);

  const neutral = await launchOne(c, {
    Ipv6AddressCount: 0,
    EnablePrimaryIpv6: false,
    NetworkPerformanceOptions: { BandwidthWeighting: 'default' },
    Placement: { GroupName: '' },
    AdditionalInfo: 'reserved',
  });
  assert.ok(neutral.InstanceId);
  const byZoneId = await launchOne(server.client('us-east-1'), { Placement: { AvailabilityZoneId: 'use1-az6' } });
  assert.equal(byZoneId.Placement?.AvailabilityZone, 'us-east-1a');
});

// --- launch templates ---------------------------------------------------------------------------------

const TERRAFORM_LIKE: RequestLaunchTemplateData = {
  ImageId: LINUX_AMI,
  InstanceType: 't3.medium',
  BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, VolumeType: 'gp3', Iops: 6000, Throughput: 500, Encrypted: true, DeleteOnTermination: true } }],
  MetadataOptions: { HttpTokens: 'optional', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled', InstanceMetadataTags: 'enabled' },
  Monitoring: { Enabled: true },
  CreditSpecification: { CpuCredits: 'standard' },
  EbsOptimized: true,
  MaintenanceOptions: { AutoRecovery: 'disabled' },
  PrivateDnsNameOptions: { HostnameType: 'resource-name', EnableResourceNameDnsARecord: true, EnableResourceNameDnsAAAARecord: false },
  IamInstanceProfile: { Name: 'from-template' },
  InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop' } },
};

function assertTerraformLike(i: Instance, v: Volume): void {
  assert.deepEqual([v.Size, v.VolumeType, v.Iops, v.Throughput, v.Encrypted], [30, 'gp3', 6000, 500, true]);
  assert.deepEqual(i.MetadataOptions, {
    State: 'applied',
    HttpTokens: 'optional',
    HttpPutResponseHopLimit: 1,
    HttpEndpoint: 'enabled',
    HttpProtocolIpv6: 'disabled',
    InstanceMetadataTags: 'enabled',
  });
  assert.equal(i.Monitoring?.State, 'enabled');
  assert.equal(i.EbsOptimized, true);
  assert.equal(i.MaintenanceOptions?.AutoRecovery, 'disabled');
  assert.equal(i.PrivateDnsNameOptions?.HostnameType, 'resource-name');
  assert.equal(i.IamInstanceProfile?.Arn, 'arn:aws:iam::000000000000:instance-profile/from-template');
  assert.equal(i.InstanceLifecycle, 'spot');
}

test('launch templates carry every option: RunInstances from one, GetLaunchTemplateData back, and a template made from that launches the same', async () => {
  const c = server.client('ap-south-1');
  const t = await c.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'terraform-like', LaunchTemplateData: TERRAFORM_LIKE }));
  const first = (await launchOne(c, { LaunchTemplate: { LaunchTemplateId: t.LaunchTemplate!.LaunchTemplateId! } })).InstanceId!;
  assertTerraformLike(await describeOne(c, first), await volume(c, volumeOf(first)));
  assert.equal(await creditsOf(c, first), 'standard');

  const data = (await c.send(new GetLaunchTemplateDataCommand({ InstanceId: first }))).LaunchTemplateData!;
  assert.deepEqual(data.BlockDeviceMappings, [
    {
      DeviceName: '/dev/xvda',
      Ebs: { DeleteOnTermination: true, Encrypted: true, SnapshotId: 'snap-0b5e4a1f2c3d40001', VolumeSize: 30, VolumeType: 'gp3', Iops: 6000, Throughput: 500 },
    },
  ]);
  assert.deepEqual(data.MetadataOptions, {
    HttpTokens: 'optional',
    HttpPutResponseHopLimit: 1,
    HttpEndpoint: 'enabled',
    HttpProtocolIpv6: 'disabled',
    InstanceMetadataTags: 'enabled',
  });
  assert.deepEqual(data.Monitoring, { Enabled: true });
  assert.deepEqual(data.CreditSpecification, { CpuCredits: 'standard' });
  assert.equal(data.EbsOptimized, true);
  assert.deepEqual(data.MaintenanceOptions, { AutoRecovery: 'disabled' });
  assert.deepEqual(data.IamInstanceProfile, { Arn: 'arn:aws:iam::000000000000:instance-profile/from-template' });
  assert.deepEqual(data.InstanceMarketOptions, { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop' } });

  // The data as it came back makes a template that launches the same configuration.
  const copy = await c.send(
    new CreateLaunchTemplateCommand({ LaunchTemplateName: 'terraform-like-copy', LaunchTemplateData: data as RequestLaunchTemplateData }),
  );
  const second = (await launchOne(c, { LaunchTemplate: { LaunchTemplateId: copy.LaunchTemplate!.LaunchTemplateId! } })).InstanceId!;
  assertTerraformLike(await describeOne(c, second), await volume(c, volumeOf(second)));

  // The request's own parameters still replace the template's whole ones.
  const override = (await launchOne(c, { LaunchTemplate: { LaunchTemplateName: 'terraform-like' }, MetadataOptions: { HttpTokens: 'required' } })).InstanceId!;
  assert.deepEqual((await describeOne(c, override)).MetadataOptions?.HttpPutResponseHopLimit, 2, 'the image default, not the template\'s 1');

  // A template whose launch options break a rule is refused when launched, not when created.
  const broken = await c.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: 'too-small-root',
      LaunchTemplateData: { ImageId: LINUX_AMI, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 2 } }] },
    }),
  );
  const err = await errorOf(launch(c, { LaunchTemplate: { LaunchTemplateId: broken.LaunchTemplate!.LaunchTemplateId! } }));
  assert.equal(err.code, 'InvalidBlockDeviceMapping');

  // An EC2 Fleet decides On-Demand or Spot itself: a template that says Spot is refused by name.
  const fleet = await errorOf(
    c.send(
      new CreateFleetCommand({
        Type: 'instant',
        LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateName: 'terraform-like', Version: '1' } }],
        TargetCapacitySpecification: { TotalTargetCapacity: 1, DefaultTargetCapacityType: 'on-demand' },
      }),
    ),
  );
  assert.deepEqual([fleet.code, fleet.status], ['NotImplemented', 501]);
  assert.match(fleet.message, /InstanceMarketOptions/);
});
