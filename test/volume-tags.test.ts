/**
 * Volume tags through the real AWS SDK: RunInstances' `volume` tag specifications land on each
 * instance's root volume (from the request or a launch template), CreateTags / DeleteTags take root
 * volume IDs, DescribeVolumes and DescribeTags show them while the volume exists, termination hides
 * them at once and the purge removes them, GetLaunchTemplateData gives them back, and they survive a
 * restart. Each test works in a region of its own, so listings see only its own resources.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CreateLaunchTemplateCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeTagsCommand,
  DescribeVolumesCommand,
  type EC2Client,
  type Filter,
  GetLaunchTemplateDataCommand,
  type RequestLaunchTemplateData,
  type Tag,
  type TagSpecification,
  TerminateInstancesCommand,
  type Volume,
} from '@aws-sdk/client-ec2';
import { SqliteStore } from '../src/store/sqlite.js';
import { instanceRecord } from './fixtures.js';
import { LINUX_AMI, type TestServer, describeOne, errorOf, eventually, launch, launchOne, startTestServer } from './helpers.js';

const NO_SUCH_VOLUME = 'vol-0123456789abcdef0';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

// --- helpers ----------------------------------------------------------------------------------------

const volumeOf = (instanceId: string) => `vol-${instanceId.slice(2)}`;
const tags = (o: Record<string, string>): Tag[] => Object.entries(o).map(([Key, Value]) => ({ Key, Value }));
const spec = (ResourceType: TagSpecification['ResourceType'], o: Record<string, string>): TagSpecification => ({
  ResourceType,
  Tags: tags(o),
});
const tagMap = (list: readonly Tag[] | undefined) => Object.fromEntries((list ?? []).map((t) => [t.Key, t.Value]));

async function volumes(client: EC2Client, input: ConstructorParameters<typeof DescribeVolumesCommand>[0] = {}): Promise<Volume[]> {
  return (await client.send(new DescribeVolumesCommand(input))).Volumes ?? [];
}

/** A volume's tags as DescribeVolumes shows them, `{}` when it shows none. */
async function volumeTags(client: EC2Client, volumeId: string): Promise<Record<string, string>> {
  const [v] = await volumes(client, { VolumeIds: [volumeId] });
  return tagMap(v?.Tags);
}

const filtered = async (client: EC2Client, Filters: Filter[]) => (await volumes(client, { Filters })).map((v) => v.VolumeId!).sort();

/** DescribeTags as `id:key=value:type` lines, sorted. */
async function described(client: EC2Client, Filters: Filter[] = []): Promise<string[]> {
  const r = await client.send(new DescribeTagsCommand({ Filters }));
  return (r.Tags ?? []).map((t) => `${t.ResourceId}:${t.Key}=${t.Value}:${t.ResourceType}`).sort();
}

function waitForState(client: EC2Client, id: string, state: string): Promise<true> {
  return eventually(async () => ((await describeOne(client, id)).State?.Name === state ? true : undefined), 5000, `${id} ${state}`);
}

// --- RunInstances -----------------------------------------------------------------------------------

test('RunInstances: volume tags go onto every instance\'s root volume, instance tags onto the instance only', async () => {
  const c = server.client('us-west-1');
  const launched = await launch(c, {
    MinCount: 2,
    MaxCount: 2,
    TagSpecifications: [spec('instance', { Name: 'web', tier: 'front' }), spec('volume', { Name: 'web-root', backup: 'daily' })],
  });
  const ids = launched.map((i) => i.InstanceId!);
  assert.equal(ids.length, 2);
  // RunInstances' own answer and DescribeInstances: the instance tags, not the volume's
  for (const i of launched) assert.deepEqual(tagMap(i.Tags), { Name: 'web', tier: 'front' });
  for (const id of ids) assert.deepEqual(tagMap((await describeOne(c, id)).Tags), { Name: 'web', tier: 'front' });
  // DescribeVolumes: the volume tags, in the order given
  for (const id of ids) {
    const [v] = await volumes(c, { VolumeIds: [volumeOf(id)] });
    assert.deepEqual(v?.Tags, tags({ Name: 'web-root', backup: 'daily' }));
  }
  // DescribeTags: each where it belongs, with its resource type
  assert.deepEqual(
    await described(c, [{ Name: 'resource-type', Values: ['volume'] }]),
    ids.flatMap((id) => [`${volumeOf(id)}:Name=web-root:volume`, `${volumeOf(id)}:backup=daily:volume`]).sort(),
  );
  assert.deepEqual(
    await described(c, [{ Name: 'resource-type', Values: ['instance'] }]),
    ids.flatMap((id) => [`${id}:Name=web:instance`, `${id}:tier=front:instance`]).sort(),
  );
  assert.deepEqual(await described(c, [{ Name: 'resource-id', Values: [volumeOf(ids[0]!)] }, { Name: 'key', Values: ['back*'] }]), [
    `${volumeOf(ids[0]!)}:backup=daily:volume`,
  ]);

  // only volume tags: the instance has none
  const onlyVolume = (await launchOne(c, { TagSpecifications: [spec('volume', { k: 'v' })] })).InstanceId!;
  assert.equal((await describeOne(c, onlyVolume)).Tags, undefined);
  assert.deepEqual(await volumeTags(c, volumeOf(onlyVolume)), { k: 'v' });
  // no volume tags: DescribeVolumes shows no Tags at all
  const [untagged] = await volumes(c, { VolumeIds: [volumeOf((await launchOne(c)).InstanceId!)] });
  assert.equal(untagged?.Tags, undefined);
});

test('DescribeVolumes: tag:, tag-key and tag-value filters match the volume\'s own tags', async () => {
  const c = server.client('us-east-2');
  const a = (
    await launchOne(c, { TagSpecifications: [spec('instance', { role: 'db' }), spec('volume', { role: 'data', env: 'prod' })] })
  ).InstanceId!;
  const b = (await launchOne(c, { TagSpecifications: [spec('volume', { role: 'scratch' })] })).InstanceId!;
  const plain = (await launchOne(c)).InstanceId!;
  const [va, vb] = [volumeOf(a), volumeOf(b)];
  assert.deepEqual(await filtered(c, [{ Name: 'tag:role', Values: ['data'] }]), [va]);
  assert.deepEqual(await filtered(c, [{ Name: 'tag:role', Values: ['data', 'scratch'] }]), [va, vb].sort());
  assert.deepEqual(await filtered(c, [{ Name: 'tag:role', Values: ['*a*'] }]), [va, vb].sort());
  // the instance's tags are not the volume's
  assert.deepEqual(await filtered(c, [{ Name: 'tag:role', Values: ['db'] }]), []);
  assert.deepEqual(await filtered(c, [{ Name: 'tag-key', Values: ['env'] }]), [va]);
  assert.deepEqual(await filtered(c, [{ Name: 'tag-key', Values: ['role'] }]), [va, vb].sort());
  assert.deepEqual(await filtered(c, [{ Name: 'tag-value', Values: ['scratch', 'prod'] }]), [va, vb].sort());
  assert.deepEqual(
    await filtered(c, [{ Name: 'tag-key', Values: ['role'] }, { Name: 'attachment.instance-id', Values: [b, plain] }]),
    [vb],
  );
  assert.equal((await volumes(c)).length, 3);
});

test('RunInstances: bad volume tags are refused like instance tags, and nothing is launched', async () => {
  const c = server.client('eu-west-3');
  const reserved = await errorOf(launch(c, { TagSpecifications: [spec('volume', { 'aws:backup': 'x' })] }));
  assert.equal(reserved.code, 'InvalidParameterValue');
  assert.equal(reserved.status, 400);
  assert.match(reserved.message, /aws:backup/);
  const fiftyOne = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
  const tooMany = await errorOf(launch(c, { TagSpecifications: [spec('volume', fiftyOne)] }));
  assert.equal(tooMany.code, 'TagLimitExceeded');
  const longValue = await errorOf(launch(c, { TagSpecifications: [spec('volume', { k: 'x'.repeat(257) })] }));
  assert.equal(longValue.code, 'InvalidParameterValue');
  assert.deepEqual(await volumes(c), []);
  assert.deepEqual(await described(c), []);
});

test('RunInstances: network-interface and spot-instances-request tags are accepted, with nothing to land on', async () => {
  const c = server.client('eu-south-1');
  const id = (
    await launchOne(c, {
      TagSpecifications: [
        spec('instance', { i: '1' }),
        spec('network-interface', { eni: '1' }),
        spec('spot-instances-request', { spot: '1' }),
      ],
    })
  ).InstanceId!;
  assert.deepEqual(await described(c), [`${id}:i=1:instance`]);
  assert.equal((await volumes(c, { VolumeIds: [volumeOf(id)] }))[0]?.Tags, undefined);
});

// --- CreateTags / DeleteTags ------------------------------------------------------------------------

test('CreateTags / DeleteTags on a root volume ID', async () => {
  const c = server.client('eu-north-1');
  const a = (await launchOne(c)).InstanceId!;
  const b = (await launchOne(c, { TagSpecifications: [spec('volume', { keep: 'yes' })] })).InstanceId!;
  const [va, vb] = [volumeOf(a), volumeOf(b)];

  // one call may name volumes and instances together
  await c.send(new CreateTagsCommand({ Resources: [va, vb, a], Tags: tags({ stage: 'beta', cost: '42' }) }));
  assert.deepEqual(await volumeTags(c, va), { stage: 'beta', cost: '42' });
  assert.deepEqual(await volumeTags(c, vb), { keep: 'yes', stage: 'beta', cost: '42' });
  assert.deepEqual(tagMap((await describeOne(c, a)).Tags), { stage: 'beta', cost: '42' });
  assert.equal((await describeOne(c, b)).Tags, undefined);
  assert.deepEqual(await described(c, [{ Name: 'resource-id', Values: [va] }]), [`${va}:cost=42:volume`, `${va}:stage=beta:volume`]);

  // overwrite a value
  await c.send(new CreateTagsCommand({ Resources: [va], Tags: tags({ cost: '43' }) }));
  assert.equal((await volumeTags(c, va)).cost, '43');
  // DeleteTags: a value that does not match keeps the tag; the matching one removes it
  await c.send(new DeleteTagsCommand({ Resources: [va], Tags: [{ Key: 'stage', Value: 'gamma' }] }));
  assert.equal((await volumeTags(c, va)).stage, 'beta');
  await c.send(new DeleteTagsCommand({ Resources: [va], Tags: [{ Key: 'stage', Value: 'beta' }] }));
  assert.deepEqual(await volumeTags(c, va), { cost: '43' });
  // by key alone, on both volumes; the instance's tag of the same key stays
  await c.send(new DeleteTagsCommand({ Resources: [va, vb], Tags: [{ Key: 'cost' }] }));
  assert.deepEqual(await volumeTags(c, va), {});
  assert.deepEqual(await volumeTags(c, vb), { keep: 'yes', stage: 'beta' });
  assert.equal(tagMap((await describeOne(c, a)).Tags).cost, '42');
  // no tags named: all of them
  await c.send(new DeleteTagsCommand({ Resources: [vb] }));
  assert.equal((await volumes(c, { VolumeIds: [vb] }))[0]?.Tags, undefined);
  assert.deepEqual(await described(c, [{ Name: 'resource-type', Values: ['volume'] }]), []);

  // DryRun: the answer, and nothing changes
  const dry = await errorOf(c.send(new CreateTagsCommand({ Resources: [va], Tags: tags({ d: 'r' }), DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal(dry.status, 412);
  assert.deepEqual(await volumeTags(c, va), {});

  // at most 50 per volume, counting the ones it has
  const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
  await c.send(new CreateTagsCommand({ Resources: [va], Tags: tags(fifty) }));
  const limit = await errorOf(c.send(new CreateTagsCommand({ Resources: [va], Tags: tags({ extra: 'x' }) })));
  assert.equal(limit.code, 'TagLimitExceeded');
  assert.equal(Object.keys(await volumeTags(c, va)).length, 50);
  const reserved = await errorOf(c.send(new CreateTagsCommand({ Resources: [vb], Tags: tags({ 'aws:x': 'y' }) })));
  assert.equal(reserved.code, 'InvalidParameterValue');
});

test('CreateTags / DeleteTags: unknown, malformed, other-region and deleted volumes are refused; nothing is tagged', async () => {
  const c = server.client('ap-southeast-2');
  const a = (await launchOne(c)).InstanceId!;
  const va = volumeOf(a);

  const missing = await errorOf(c.send(new CreateTagsCommand({ Resources: [va, NO_SUCH_VOLUME], Tags: tags({ k: 'v' }) })));
  assert.equal(missing.code, 'InvalidVolume.NotFound');
  assert.equal(missing.status, 400);
  assert.equal(missing.message, `The volume '${NO_SUCH_VOLUME}' does not exist.`);
  assert.deepEqual(await volumeTags(c, va), {}, 'the known volume is not tagged either');
  const del = await errorOf(c.send(new DeleteTagsCommand({ Resources: [NO_SUCH_VOLUME] })));
  assert.equal(del.code, 'InvalidVolume.NotFound');

  for (const bad of ['vol-123', 'vol-0123456789ABCDEF0', 'vol-']) {
    const e = await errorOf(c.send(new CreateTagsCommand({ Resources: [bad], Tags: tags({ k: 'v' }) })));
    assert.equal(e.code, 'InvalidVolumeID.Malformed', bad);
    assert.equal(e.message, `Invalid id: "${bad}"`);
    const d = await errorOf(c.send(new DeleteTagsCommand({ Resources: [bad] })));
    assert.equal(d.code, 'InvalidVolumeID.Malformed', bad);
  }

  // the volume exists in its own region only
  const elsewhere = await errorOf(server.client('ap-south-2').send(new CreateTagsCommand({ Resources: [va], Tags: tags({ k: 'v' }) })));
  assert.equal(elsewhere.code, 'InvalidVolume.NotFound');
  assert.match(elsewhere.message, new RegExp(va));

  // a terminated instance's volume is deleted: no tagging it, though the instance is still listed
  await c.send(new TerminateInstancesCommand({ InstanceIds: [a] }));
  await waitForState(c, a, 'terminated');
  const gone = await errorOf(c.send(new CreateTagsCommand({ Resources: [va], Tags: tags({ k: 'v' }) })));
  assert.equal(gone.code, 'InvalidVolume.NotFound');
  const goneDelete = await errorOf(c.send(new DeleteTagsCommand({ Resources: [va] })));
  assert.equal(goneDelete.code, 'InvalidVolume.NotFound');
  await c.send(new CreateTagsCommand({ Resources: [a], Tags: tags({ after: 'end' }) }));
});

// --- termination and purge ----------------------------------------------------------------------------

test('terminating deletes the volume: its tags leave DescribeTags and DescribeVolumes at once; the purge drops them', async () => {
  const short = await startTestServer({ terminatedRetentionMs: 1000 });
  try {
    const c = short.client();
    const doomed = (
      await launchOne(c, { TagSpecifications: [spec('instance', { who: 'doomed' }), spec('volume', { disk: 'doomed' })] })
    ).InstanceId!;
    const kept = (await launchOne(c, { TagSpecifications: [spec('volume', { disk: 'kept' })] })).InstanceId!;
    await c.send(new CreateTagsCommand({ Resources: [volumeOf(doomed)], Tags: tags({ later: 'yes' }) }));
    assert.equal((await described(c, [{ Name: 'resource-type', Values: ['volume'] }])).length, 3);

    await c.send(new TerminateInstancesCommand({ InstanceIds: [doomed] }));
    await waitForState(c, doomed, 'terminated');
    assert.deepEqual(await described(c, [{ Name: 'resource-type', Values: ['volume'] }]), [`${volumeOf(kept)}:disk=kept:volume`]);
    assert.deepEqual(await filtered(c, [{ Name: 'tag-key', Values: ['disk'] }]), [volumeOf(kept)]);
    assert.deepEqual(await filtered(c, [{ Name: 'tag:disk', Values: ['doomed'] }]), []);
    const byId = await errorOf(c.send(new DescribeVolumesCommand({ VolumeIds: [volumeOf(doomed)] })));
    assert.equal(byId.code, 'InvalidVolume.NotFound');
    // the terminated instance and its own tags stay visible for the retention window
    assert.deepEqual(await described(c, [{ Name: 'resource-id', Values: [doomed] }]), [`${doomed}:who=doomed:instance`]);

    // past the retention, the purge removes the record and every tag that went with it, the volume's included
    const store = short.nestbox.services.store;
    assert.ok((await store.tagsOf(volumeOf(doomed))).size > 0, 'kept until the purge');
    await new Promise((r) => setTimeout(r, 1100));
    await short.nestbox.vmHost!.purge();
    assert.equal(await store.instance(doomed), undefined);
    assert.equal((await store.tagsOf(doomed)).size, 0);
    assert.equal((await store.tagsOf(volumeOf(doomed))).size, 0);
    assert.deepEqual([...(await store.tagsOf(volumeOf(kept)))], [['disk', 'kept']]);
  } finally {
    await short.close();
  }
});

test('store: deleting an instance record deletes its root volume\'s tags, on disk too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-volume-tags-'));
  try {
    const rec = instanceRecord();
    const other = instanceRecord({ id: 'i-0fedcba9876543210', seq: 2 });
    const tag = (resourceId: string, resourceType: string, key: string) => ({ resourceId, resourceType, account: rec.account, region: rec.region, key, value: 'v' });
    const first = new SqliteStore({ dataDir: dir });
    await first.commit({
      instances: [rec, other],
      putTags: [tag(rec.id, 'instance', 'a'), tag(volumeOf(rec.id), 'volume', 'b'), tag(volumeOf(other.id), 'volume', 'c')],
    });
    await first.commit({ deleteInstances: [rec.id] });
    assert.equal((await first.tagsOf(rec.id)).size, 0);
    assert.equal((await first.tagsOf(volumeOf(rec.id))).size, 0);
    await first.close();
    const second = new SqliteStore({ dataDir: dir });
    assert.equal((await second.tagsOf(volumeOf(rec.id))).size, 0);
    const left = await second.tags({ account: rec.account, region: rec.region });
    assert.deepEqual(left.map((t) => `${t.resourceId}:${t.resourceType}`), [`${volumeOf(other.id)}:volume`]);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- launch templates -------------------------------------------------------------------------------

test('launch templates: the template\'s volume tags reach the volume; the request\'s replace them', async () => {
  const c = server.client('ca-central-1');
  const t = await c.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: `volume-tags-${process.pid}`,
      LaunchTemplateData: {
        ImageId: LINUX_AMI,
        InstanceType: 't3.micro',
        TagSpecifications: [spec('instance', { from: 'template' }), spec('volume', { disk: 'template' })],
      },
    }),
  );
  const ref = { LaunchTemplate: { LaunchTemplateId: t.LaunchTemplate!.LaunchTemplateId! } };

  // the template alone: both its tag sets; the launch-template system tags are the instance's only
  const plain = (await launchOne(c, { ...ref })).InstanceId!;
  assert.deepEqual(tagMap((await describeOne(c, plain)).Tags), {
    from: 'template',
    'aws:ec2launchtemplate:id': t.LaunchTemplate!.LaunchTemplateId!,
    'aws:ec2launchtemplate:version': '1',
  });
  assert.deepEqual(await volumeTags(c, volumeOf(plain)), { disk: 'template' });

  // the request tags the instance: the template's volume tags still apply
  const ownInstance = (await launchOne(c, { ...ref, TagSpecifications: [spec('instance', { from: 'request' })] })).InstanceId!;
  assert.equal(tagMap((await describeOne(c, ownInstance)).Tags).from, 'request');
  assert.deepEqual(await volumeTags(c, volumeOf(ownInstance)), { disk: 'template' });

  // the request tags the volume: its tags replace the template's for the volume, the instance keeps the template's
  const ownVolume = (await launchOne(c, { ...ref, TagSpecifications: [spec('volume', { disk: 'request' })] })).InstanceId!;
  assert.equal(tagMap((await describeOne(c, ownVolume)).Tags).from, 'template');
  assert.deepEqual(await volumeTags(c, volumeOf(ownVolume)), { disk: 'request' });
});

test('GetLaunchTemplateData: the root volume\'s tags come back as a volume tag specification, and round-trip', async () => {
  const c = server.client('sa-east-1');
  const id = (await launchOne(c, { TagSpecifications: [spec('instance', { Name: 'src' }), spec('volume', { disk: 'src' })] })).InstanceId!;
  await c.send(new CreateTagsCommand({ Resources: [volumeOf(id)], Tags: tags({ added: 'later' }) }));
  const data = (await c.send(new GetLaunchTemplateDataCommand({ InstanceId: id }))).LaunchTemplateData!;
  assert.deepEqual(data.TagSpecifications, [spec('instance', { Name: 'src' }), spec('volume', { disk: 'src', added: 'later' })]);

  // a volume tagged, the instance not: only the volume's specification
  const bare = (await launchOne(c, { TagSpecifications: [spec('volume', { only: 'volume' })] })).InstanceId!;
  const bareData = (await c.send(new GetLaunchTemplateDataCommand({ InstanceId: bare }))).LaunchTemplateData!;
  assert.deepEqual(bareData.TagSpecifications, [spec('volume', { only: 'volume' })]);

  // a template made from the data launches an instance whose volume is tagged the same
  const t = await c.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: `from-instance-${process.pid}`,
      LaunchTemplateData: data as RequestLaunchTemplateData,
    }),
  );
  const copy = (await launchOne(c, { LaunchTemplate: { LaunchTemplateId: t.LaunchTemplate!.LaunchTemplateId! } })).InstanceId!;
  assert.deepEqual(await volumeTags(c, volumeOf(copy)), { disk: 'src', added: 'later' });

  // once terminated, the volume (and so its tags) is gone from the data too
  await c.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(c, id, 'terminated');
  const afterData = (await c.send(new GetLaunchTemplateDataCommand({ InstanceId: id }))).LaunchTemplateData!;
  assert.deepEqual(afterData.TagSpecifications, [spec('instance', { Name: 'src' })]);
});

// --- restart ----------------------------------------------------------------------------------------

test('volume tags survive a restart; a purged instance\'s volume tags do not come back', async () => {
  let s = await startTestServer({ terminatedRetentionMs: 500 });
  try {
    let c = s.client();
    const kept = (await launchOne(c, { TagSpecifications: [spec('volume', { Name: 'root', tier: 'a&b <c>' })] })).InstanceId!;
    await c.send(new CreateTagsCommand({ Resources: [volumeOf(kept)], Tags: tags({ owner: 'ops' }) }));
    const doomed = (await launchOne(c, { TagSpecifications: [spec('volume', { gone: 'soon' })] })).InstanceId!;
    await c.send(new TerminateInstancesCommand({ InstanceIds: [doomed] }));
    await waitForState(c, doomed, 'terminated');
    const beforeTags = await described(c);
    const beforeVolumes = await volumes(c);
    await new Promise((r) => setTimeout(r, 600)); // past the retention: the restart's purge removes it

    s = await s.restart();
    c = s.client();
    assert.deepEqual(await described(c), beforeTags);
    assert.deepEqual(await volumes(c), beforeVolumes);
    assert.deepEqual(await volumeTags(c, volumeOf(kept)), { Name: 'root', tier: 'a&b <c>', owner: 'ops' });
    assert.deepEqual(await filtered(c, [{ Name: 'tag:owner', Values: ['ops'] }]), [volumeOf(kept)]);
    assert.equal(await s.nestbox.services.store.instance(doomed), undefined);
    assert.equal((await s.nestbox.services.store.tagsOf(volumeOf(doomed))).size, 0);
  } finally {
    await s.close();
  }
});
