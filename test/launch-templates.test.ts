/**
 * Launch templates through the real AWS SDK: create, versions (SourceVersion, $Latest/$Default,
 * Min/MaxVersion, filters, paging), modify, delete, GetLaunchTemplateData, RunInstances from a
 * template with and without overrides (every nested-virtualization rule still applies), and each
 * error with its EC2 code, HTTP status and a message naming the bad value. Each test works in a
 * region of its own when it lists templates, so listings see only its own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateLaunchTemplateCommand,
  type CreateLaunchTemplateCommandInput,
  CreateLaunchTemplateVersionCommand,
  CreateTagsCommand,
  DeleteLaunchTemplateCommand,
  DeleteLaunchTemplateVersionsCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  DescribeTagsCommand,
  type EC2Client,
  GetLaunchTemplateDataCommand,
  type Instance,
  ModifyInstanceCpuOptionsCommand,
  ModifyLaunchTemplateCommand,
  type RequestLaunchTemplateData,
  type RunInstancesCommandInput,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mergeLaunchRequest } from '../src/domain/launch-template.js';
import { shapeSchema } from '../src/protocol/schema.js';
import { ARM_AMI, LINUX_AMI, WINDOWS_AMI, type TestServer, errorOf, eventually, launchOne, startTestServer } from './helpers.js';

const NO_SUCH_TEMPLATE = 'lt-0123456789abcdef0';

let server: TestServer;
let ec2: EC2Client;
let regionSeq = 0;
const REGIONS = ['us-west-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1', 'ap-northeast-1', 'sa-east-1', 'ca-central-1'];

before(async () => {
  server = await startTestServer();
  ec2 = server.client('us-east-1');
});
after(async () => {
  await server.close();
});

// --- helpers ----------------------------------------------------------------------------------------

/** A client in a region no other test uses, so listings see only this test's templates. */
function freshRegion(): EC2Client {
  const region = REGIONS[regionSeq++];
  assert.ok(region, 'out of test regions');
  return server.client(region);
}

let nameSeq = 0;
const uniqueName = (prefix = 'lt') => `${prefix}-${process.pid}-${++nameSeq}`;

async function createTemplate(client: EC2Client, data: RequestLaunchTemplateData, extra: Partial<CreateLaunchTemplateCommandInput> = {}) {
  const r = await client.send(
    new CreateLaunchTemplateCommand({ LaunchTemplateName: uniqueName(), LaunchTemplateData: data, ...extra }),
  );
  assert.ok(r.LaunchTemplate?.LaunchTemplateId);
  return r.LaunchTemplate;
}

async function addVersion(client: EC2Client, id: string, data: RequestLaunchTemplateData, extra = {}) {
  const r = await client.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: data, ...extra }));
  return r.LaunchTemplateVersion!;
}

async function versionsOf(client: EC2Client, id: string, params = {}) {
  const r = await client.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, ...params }));
  return r.LaunchTemplateVersions ?? [];
}

/** One instance from a launch template: without the shared defaults' image and type, so the template's apply. */
function launchFromTemplate(client: EC2Client, params: Partial<RunInstancesCommandInput>): Promise<Instance> {
  return launchOne(client, { ImageId: undefined, InstanceType: undefined, ...params });
}

async function instanceIds(client: EC2Client): Promise<string[]> {
  const r = await client.send(new DescribeInstancesCommand({}));
  return (r.Reservations ?? []).flatMap((res) => (res.Instances ?? []).map((i) => i.InstanceId!));
}

const tagMap = (tags: readonly { Key?: string; Value?: string }[] | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

const NV_TEMPLATE: RequestLaunchTemplateData = {
  ImageId: LINUX_AMI,
  InstanceType: 'c8i.large',
  CpuOptions: { NestedVirtualization: 'enabled' },
};

// --- CreateLaunchTemplate ---------------------------------------------------------------------------

test('CreateLaunchTemplate: answers the template (version 1, default and latest), with tags, CreatedBy and CreateTime', async () => {
  const name = uniqueName('web');
  const before = Date.now();
  const r = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      VersionDescription: 'first',
      LaunchTemplateData: NV_TEMPLATE,
      TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'team', Value: 'infra' }] }],
    }),
  );
  const t = r.LaunchTemplate!;
  assert.match(t.LaunchTemplateId!, /^lt-[0-9a-f]{17}$/);
  assert.equal(t.LaunchTemplateName, name);
  assert.equal(t.DefaultVersionNumber, 1);
  assert.equal(t.LatestVersionNumber, 1);
  assert.equal(t.CreatedBy, 'arn:aws:iam::000000000000:root');
  assert.ok(t.CreateTime instanceof Date && t.CreateTime.getTime() >= before - 1000);
  assert.deepEqual(t.Tags, [{ Key: 'team', Value: 'infra' }]);

  // Tags are stored as the launch template's own: DescribeTags shows its type.
  const tags = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [t.LaunchTemplateId!] }] }));
  assert.deepEqual(tags.Tags, [{ ResourceId: t.LaunchTemplateId, ResourceType: 'launch-template', Key: 'team', Value: 'infra' }]);
});

test('CreateLaunchTemplate: LaunchTemplateData.CpuOptions.NestedVirtualization round-trips through DescribeLaunchTemplateVersions', async () => {
  const data: RequestLaunchTemplateData = {
    ImageId: LINUX_AMI,
    InstanceType: 'm8i.2xlarge',
    KeyName: 'whatever',
    CpuOptions: { CoreCount: 4, ThreadsPerCore: 2, NestedVirtualization: 'enabled' },
    HibernationOptions: { Configured: false },
    UserData: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'),
    SecurityGroupIds: ['sg-0123456789abcdef0'],
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'nv' }] }],
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20, VolumeType: 'gp3' } }],
  };
  const t = await createTemplate(ec2, data);
  const [v] = await versionsOf(ec2, t.LaunchTemplateId!);
  assert.equal(v?.VersionNumber, 1);
  assert.equal(v?.DefaultVersion, true);
  assert.deepEqual(v?.LaunchTemplateData, data);
});

test('CreateLaunchTemplate: templates are not validated against the instance type at creation', async () => {
  // NV on a type without it, bad core counts, hibernation with NV, an unknown image: all accepted now, refused at launch.
  const t = await createTemplate(ec2, {
    ImageId: 'ami-00000000000000000',
    InstanceType: 'm6i.large',
    CpuOptions: { CoreCount: 99, ThreadsPerCore: 7, NestedVirtualization: 'enabled' },
    HibernationOptions: { Configured: true },
  });
  assert.equal(t.LatestVersionNumber, 1);
});

test('CreateLaunchTemplate: name rules, duplicates, missing data, tag resource type, bad toggle', async () => {
  const e1 = await errorOf(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'ab', LaunchTemplateData: NV_TEMPLATE })));
  assert.equal(e1.code, 'InvalidLaunchTemplateName.MalformedException');
  assert.equal(e1.status, 400);
  assert.match(e1.message, /'ab'/);
  assert.match(e1.message, /between 3 and 128 characters/);
  for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', 'ünïcode']) {
    const e = await errorOf(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: bad, LaunchTemplateData: NV_TEMPLATE })));
    assert.equal(e.code, 'InvalidLaunchTemplateName.MalformedException', bad);
  }
  // every allowed character, at both length limits
  await createTemplate(ec2, NV_TEMPLATE, { LaunchTemplateName: `aZ9().-/_${process.pid}` });
  await createTemplate(ec2, NV_TEMPLATE, { LaunchTemplateName: `${'y'.repeat(120)}${String(process.pid).padStart(8, '0')}` });
  await createTemplate(ec2, NV_TEMPLATE, { LaunchTemplateName: `z${process.pid}`.slice(0, 3) });

  const name = uniqueName('dup');
  await createTemplate(ec2, NV_TEMPLATE, { LaunchTemplateName: name });
  const e2 = await errorOf(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: { InstanceType: 't3.micro' } })));
  assert.equal(e2.code, 'InvalidLaunchTemplateName.AlreadyExistsException');
  assert.equal(e2.status, 400);
  assert.match(e2.message, new RegExp(name));
  // the same name is free in another region
  await server.client('eu-north-1').send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: NV_TEMPLATE }));

  const e3 = await errorOf(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: uniqueName(), LaunchTemplateData: {} })));
  assert.equal(e3.code, 'MissingParameter');
  assert.match(e3.message, /launch template data/i);
  const e4 = await errorOf(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateData: NV_TEMPLATE } as CreateLaunchTemplateCommandInput)));
  assert.equal(e4.code, 'MissingParameter');
  assert.match(e4.message, /LaunchTemplateName/);

  const e5 = await errorOf(
    ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: uniqueName(),
        LaunchTemplateData: NV_TEMPLATE,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }],
      }),
    ),
  );
  assert.equal(e5.code, 'InvalidParameterValue');
  assert.match(e5.message, /'launch-template'/);
  assert.match(e5.message, /'instance'/);

  const e6 = await errorOf(
    ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: uniqueName(),
        LaunchTemplateData: { CpuOptions: { NestedVirtualization: 'on' as 'enabled' } },
      }),
    ),
  );
  assert.equal(e6.code, 'InvalidParameterValue');
  assert.match(e6.message, /\(on\)/);
  assert.match(e6.message, /nestedVirtualization/);

  const e7 = await errorOf(
    ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: uniqueName(),
        LaunchTemplateData: { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'aws:x', Value: 'y' }] }] },
      }),
    ),
  );
  assert.equal(e7.code, 'InvalidParameterValue');
  assert.match(e7.message, /aws:x/);
});

test('CreateLaunchTemplate: DryRun answers DryRunOperation (412) and creates nothing; ClientToken replays', async () => {
  const c = freshRegion();
  const name = uniqueName('dry');
  const e = await errorOf(c.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: NV_TEMPLATE, DryRun: true })));
  assert.deepEqual(e, { code: 'DryRunOperation', status: 412, message: 'Request would have succeeded, but DryRun flag is set.' });
  assert.deepEqual((await c.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates, []);

  const first = await c.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: NV_TEMPLATE, ClientToken: 'tok-1' }));
  const again = await c.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: NV_TEMPLATE, ClientToken: 'tok-1' }));
  assert.equal(again.LaunchTemplate?.LaunchTemplateId, first.LaunchTemplate?.LaunchTemplateId);
  const e2 = await errorOf(
    c.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: uniqueName(), LaunchTemplateData: NV_TEMPLATE, ClientToken: 'tok-1' })),
  );
  assert.equal(e2.code, 'IdempotentParameterMismatch');
  assert.match(e2.message, /tok-1/);
  assert.equal((await c.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates?.length, 1);
});

// --- CreateLaunchTemplateVersion --------------------------------------------------------------------

test('CreateLaunchTemplateVersion: numbers count up; SourceVersion inherits all but the parameters given, which replace whole', async () => {
  const t = await createTemplate(ec2, {
    ImageId: LINUX_AMI,
    InstanceType: 'c8i.large',
    KeyName: 'k1',
    CpuOptions: { CoreCount: 1, ThreadsPerCore: 2, NestedVirtualization: 'enabled' },
  });
  const id = t.LaunchTemplateId!;
  const v2 = await addVersion(ec2, id, { InstanceType: 'm8i.large' }, { VersionDescription: 'no source' });
  assert.equal(v2.VersionNumber, 2);
  assert.equal(v2.VersionDescription, 'no source');
  assert.equal(v2.DefaultVersion, false);
  assert.deepEqual(v2.LaunchTemplateData, { InstanceType: 'm8i.large' });

  const v3 = await addVersion(ec2, id, { InstanceType: 'r8i.large', CpuOptions: { NestedVirtualization: 'disabled' } }, { SourceVersion: '1' });
  assert.equal(v3.VersionNumber, 3);
  assert.deepEqual(v3.LaunchTemplateData, {
    ImageId: LINUX_AMI,
    InstanceType: 'r8i.large',
    KeyName: 'k1',
    // CpuOptions is one parameter: the new one replaces the source's, cores included
    CpuOptions: { NestedVirtualization: 'disabled' },
  });

  // $Latest and $Default work as sources; a copy needs no data of its own
  const v4 = await addVersion(ec2, id, {}, { SourceVersion: '$Latest' });
  assert.deepEqual(v4.LaunchTemplateData, v3.LaunchTemplateData);
  const v5 = await addVersion(ec2, id, { UserData: 'aGk=' }, { SourceVersion: '$Default' });
  assert.equal(v5.LaunchTemplateData?.KeyName, 'k1');
  assert.equal(v5.LaunchTemplateData?.CpuOptions?.NestedVirtualization, 'enabled');
  assert.equal(v5.LaunchTemplateData?.UserData, 'aGk=');

  const [desc] = (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))).LaunchTemplates ?? [];
  assert.equal(desc?.LatestVersionNumber, 5);
  assert.equal(desc?.DefaultVersionNumber, 1);

  // by name too
  const byName = await ec2.send(
    new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: t.LaunchTemplateName, LaunchTemplateData: { InstanceType: 't3.micro' } }),
  );
  assert.equal(byName.LaunchTemplateVersion?.VersionNumber, 6);
  assert.equal(byName.LaunchTemplateVersion?.LaunchTemplateId, id);
});

test('CreateLaunchTemplateVersion: errors — unknown template, unknown source version, both or neither of ID and name, bad version', async () => {
  const t = await createTemplate(ec2, NV_TEMPLATE);
  const id = t.LaunchTemplateId!;
  const e1 = await errorOf(addVersion(ec2, NO_SUCH_TEMPLATE, { InstanceType: 't3.micro' }));
  assert.deepEqual(e1, {
    code: 'InvalidLaunchTemplateId.NotFound',
    status: 400,
    message: `The specified launch template, with template ID ${NO_SUCH_TEMPLATE}, does not exist.`,
  });
  const e2 = await errorOf(
    ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'no-such-template', LaunchTemplateData: { InstanceType: 't3.micro' } })),
  );
  assert.deepEqual(e2, {
    code: 'InvalidLaunchTemplateName.NotFoundException',
    status: 400,
    message: 'The specified launch template, with template name no-such-template, does not exist.',
  });
  const e3 = await errorOf(addVersion(ec2, id, { InstanceType: 't3.micro' }, { SourceVersion: '7' }));
  assert.deepEqual(e3, {
    code: 'InvalidLaunchTemplateId.VersionNotFound',
    status: 400,
    message: `Could not find the specified version 7 for the launch template with ID ${id}.`,
  });
  const e4 = await errorOf(
    ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: id,
        LaunchTemplateName: t.LaunchTemplateName,
        LaunchTemplateData: { InstanceType: 't3.micro' },
      }),
    ),
  );
  assert.equal(e4.code, 'InvalidParameterCombination');
  assert.match(e4.message, /LaunchTemplateName.*LaunchTemplateId/);
  const e5 = await errorOf(ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateData: { InstanceType: 't3.micro' } })));
  assert.equal(e5.code, 'MissingParameter');
  assert.match(e5.message, /LaunchTemplateId or LaunchTemplateName/);
  const e6 = await errorOf(addVersion(ec2, id, { InstanceType: 't3.micro' }, { SourceVersion: 'latest' }));
  assert.equal(e6.code, 'InvalidParameterValue');
  assert.match(e6.message, /\(latest\)/);
  const e7 = await errorOf(addVersion(ec2, 'lt-nope', { InstanceType: 't3.micro' }));
  assert.equal(e7.code, 'InvalidLaunchTemplateId.Malformed');
  assert.match(e7.message, /lt-nope/);
  const e8 = await errorOf(addVersion(ec2, id, {}));
  assert.equal(e8.code, 'MissingParameter');
  assert.match(e8.message, /LaunchTemplateData/);
  const e9 = await errorOf(addVersion(ec2, id, { InstanceType: 't3.micro' }, { VersionDescription: 'd'.repeat(256) }));
  assert.equal(e9.code, 'InvalidParameterValue');
  assert.match(e9.message, /VersionDescription/);
  const e10 = await errorOf(addVersion(ec2, id, { InstanceType: 't3.micro' }, { DryRun: true }));
  assert.equal(e10.code, 'DryRunOperation');
  assert.equal(e10.status, 412);
  // nothing above created a version
  assert.deepEqual((await versionsOf(ec2, id)).map((v) => v.VersionNumber), [1]);
});

// --- DescribeLaunchTemplates ------------------------------------------------------------------------

test('DescribeLaunchTemplates: by ID, by name, filters (name, create-time, tags), paging, unknown and malformed names', async () => {
  const c = freshRegion();
  const made = [];
  for (let i = 0; i < 5; i++) {
    made.push(
      await createTemplate(c, NV_TEMPLATE, {
        LaunchTemplateName: `list-${i}`,
        TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'parity', Value: i % 2 === 0 ? 'even' : 'odd' }] }],
      }),
    );
  }
  const all = (await c.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [];
  assert.deepEqual(all.map((t) => t.LaunchTemplateName), ['list-0', 'list-1', 'list-2', 'list-3', 'list-4']);
  assert.deepEqual(all[0]?.Tags, [{ Key: 'parity', Value: 'even' }]);

  const byId = await c.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [made[3]!.LaunchTemplateId!] }));
  assert.deepEqual(byId.LaunchTemplates?.map((t) => t.LaunchTemplateName), ['list-3']);
  const byName = await c.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['list-4', 'list-1'] }));
  assert.deepEqual(byName.LaunchTemplates?.map((t) => t.LaunchTemplateName), ['list-1', 'list-4']);

  const filtered = async (Name: string, Values: string[]) =>
    ((await c.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name, Values }] }))).LaunchTemplates ?? []).map((t) => t.LaunchTemplateName);
  assert.deepEqual(await filtered('launch-template-name', ['list-2', 'list-9']), ['list-2']);
  assert.deepEqual(await filtered('launch-template-name', ['list-*']), ['list-0', 'list-1', 'list-2', 'list-3', 'list-4']);
  assert.deepEqual(await filtered('tag:parity', ['odd']), ['list-1', 'list-3']);
  assert.deepEqual(await filtered('tag-key', ['parity']), ['list-0', 'list-1', 'list-2', 'list-3', 'list-4']);
  const created = all[2]!.CreateTime!.toISOString();
  assert.ok((await filtered('create-time', [created])).includes('list-2'));
  const bad = await errorOf(c.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'image-id', Values: ['x'] }] })));
  assert.equal(bad.code, 'InvalidParameterValue');
  assert.match(bad.message, /image-id/);

  const page1 = await c.send(new DescribeLaunchTemplatesCommand({ MaxResults: 2 }));
  assert.deepEqual(page1.LaunchTemplates?.map((t) => t.LaunchTemplateName), ['list-0', 'list-1']);
  assert.ok(page1.NextToken);
  const page2 = await c.send(new DescribeLaunchTemplatesCommand({ MaxResults: 2, NextToken: page1.NextToken }));
  assert.deepEqual(page2.LaunchTemplates?.map((t) => t.LaunchTemplateName), ['list-2', 'list-3']);
  const page3 = await c.send(new DescribeLaunchTemplatesCommand({ MaxResults: 2, NextToken: page2.NextToken }));
  assert.deepEqual(page3.LaunchTemplates?.map((t) => t.LaunchTemplateName), ['list-4']);
  assert.equal(page3.NextToken, undefined);
  for (const MaxResults of [0, 201]) {
    const e = await errorOf(c.send(new DescribeLaunchTemplatesCommand({ MaxResults })));
    assert.equal(e.code, 'InvalidParameterValue');
    assert.match(e.message, new RegExp(`\\(${MaxResults}\\)`));
  }

  const e1 = await errorOf(c.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['list-0', 'nope'] })));
  assert.equal(e1.code, 'InvalidLaunchTemplateName.NotFoundException');
  assert.match(e1.message, /At least one of the launch templates specified in the request does not exist/);
  assert.match(e1.message, /nope/);
  const e2 = await errorOf(c.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [NO_SUCH_TEMPLATE] })));
  assert.equal(e2.code, 'InvalidLaunchTemplateId.NotFound');
  assert.match(e2.message, new RegExp(NO_SUCH_TEMPLATE));
  const e3 = await errorOf(c.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: ['lt-xyz'] })));
  assert.equal(e3.code, 'InvalidLaunchTemplateId.Malformed');
  // another region's template is not found here
  const e4 = await errorOf(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [made[0]!.LaunchTemplateId!] })));
  assert.equal(e4.code, 'InvalidLaunchTemplateId.NotFound');
});

// --- DescribeLaunchTemplateVersions -----------------------------------------------------------------

test('DescribeLaunchTemplateVersions: all newest first, $Latest, $Default, numbers, Min/MaxVersion, filters, paging', async () => {
  const c = freshRegion();
  const t = await createTemplate(c, { ImageId: LINUX_AMI, InstanceType: 't3.micro' });
  const id = t.LaunchTemplateId!;
  await addVersion(c, id, { ImageId: LINUX_AMI, InstanceType: 'c8i.large', EbsOptimized: true });
  await addVersion(c, id, { ImageId: ARM_AMI, InstanceType: 'm8g.large', MetadataOptions: { HttpTokens: 'optional' } });
  await addVersion(c, id, { ImageId: LINUX_AMI, InstanceType: 'c8i.xlarge', RamDiskId: 'ari-12345678' });
  await c.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '2' }));
  const numbers = async (params: object) => (await versionsOf(c, id, params)).map((v) => v.VersionNumber);

  assert.deepEqual(await numbers({}), [4, 3, 2, 1]);
  assert.deepEqual(await numbers({ Versions: ['$Latest'] }), [4]);
  assert.deepEqual(await numbers({ Versions: ['$Default'] }), [2]);
  assert.deepEqual(await numbers({ Versions: ['1', '3', '$Latest', '4'] }), [4, 3, 1]);
  assert.deepEqual(await numbers({ MinVersion: '2' }), [4, 3, 2]);
  assert.deepEqual(await numbers({ MaxVersion: '2' }), [2, 1]);
  assert.deepEqual(await numbers({ MinVersion: '2', MaxVersion: '3' }), [3, 2]);
  const defaults = await versionsOf(c, id);
  assert.deepEqual(defaults.map((v) => v.DefaultVersion), [false, false, true, false]);

  const f = (Name: string, Values: string[]) => numbers({ Filters: [{ Name, Values }] });
  assert.deepEqual(await f('instance-type', ['c8i.*']), [4, 2]);
  assert.deepEqual(await f('image-id', [ARM_AMI]), [3]);
  assert.deepEqual(await f('is-default-version', ['true']), [2]);
  assert.deepEqual(await f('ebs-optimized', ['true']), [2]);
  assert.deepEqual(await f('http-tokens', ['optional']), [3]);
  assert.deepEqual(await f('ram-disk-id', ['ari-12345678']), [4]);
  const e = await errorOf(c.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Filters: [{ Name: 'bogus', Values: ['x'] }] })));
  assert.equal(e.code, 'InvalidParameterValue');
  assert.match(e.message, /bogus/);

  const p1 = await c.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, MaxResults: 3 }));
  assert.deepEqual(p1.LaunchTemplateVersions?.map((v) => v.VersionNumber), [4, 3, 2]);
  const p2 = await c.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, MaxResults: 3, NextToken: p1.NextToken }));
  assert.deepEqual(p2.LaunchTemplateVersions?.map((v) => v.VersionNumber), [1]);
  assert.equal(p2.NextToken, undefined);
  const bad = await errorOf(c.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, MaxResults: 201 })));
  assert.equal(bad.code, 'InvalidParameterValue');

  // across all templates: $Latest and $Default only
  const other = await createTemplate(c, { InstanceType: 'r8i.large' });
  const latest = await c.send(new DescribeLaunchTemplateVersionsCommand({ Versions: ['$Latest'] }));
  assert.deepEqual(
    latest.LaunchTemplateVersions?.map((v) => [v.LaunchTemplateId, v.VersionNumber]),
    [
      [id, 4],
      [other.LaunchTemplateId, 1],
    ],
  );
  const both = await c.send(new DescribeLaunchTemplateVersionsCommand({ Versions: ['$Latest', '$Default'] }));
  assert.equal(both.LaunchTemplateVersions?.length, 3);
  const e2 = await errorOf(c.send(new DescribeLaunchTemplateVersionsCommand({ Versions: ['2'] })));
  assert.equal(e2.code, 'InvalidParameterValue');
  assert.match(e2.message, /\(2\)/);
});

test('DescribeLaunchTemplateVersions: errors — unknown version, template, name, malformed version; DryRun', async () => {
  const t = await createTemplate(ec2, NV_TEMPLATE);
  const id = t.LaunchTemplateId!;
  const e1 = await errorOf(ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['1', '9'] })));
  assert.deepEqual(e1, {
    code: 'InvalidLaunchTemplateId.VersionNotFound',
    status: 400,
    message: `Could not find the specified version 9 for the launch template with ID ${id}.`,
  });
  const e2 = await errorOf(ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'missing-template' })));
  assert.equal(e2.code, 'InvalidLaunchTemplateName.NotFoundException');
  assert.match(e2.message, /missing-template/);
  const e3 = await errorOf(ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: NO_SUCH_TEMPLATE })));
  assert.equal(e3.code, 'InvalidLaunchTemplateId.NotFound');
  for (const v of ['0', 'x', '-1', '$latest']) {
    const e = await errorOf(ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: [v] })));
    assert.equal(e.code, 'InvalidParameterValue', v);
    assert.ok(e.message.includes(`(${v})`), e.message);
  }
  const e4 = await errorOf(ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, MinVersion: 'first' })));
  assert.equal(e4.code, 'InvalidParameterValue');
  assert.match(e4.message, /MinVersion/);
  const e5 = await errorOf(ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, DryRun: true })));
  assert.equal(e5.code, 'DryRunOperation');
});

// --- ModifyLaunchTemplate ---------------------------------------------------------------------------

test('ModifyLaunchTemplate: sets the default version (by ID or name); unknown versions and templates are refused', async () => {
  const t = await createTemplate(ec2, NV_TEMPLATE);
  const id = t.LaunchTemplateId!;
  await addVersion(ec2, id, { InstanceType: 'm8i.large' });
  const r = await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '2' }));
  assert.equal(r.LaunchTemplate?.DefaultVersionNumber, 2);
  assert.equal(r.LaunchTemplate?.LatestVersionNumber, 2);
  const back = await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateName: t.LaunchTemplateName, DefaultVersion: '1' }));
  assert.equal(back.LaunchTemplate?.DefaultVersionNumber, 1);

  const e1 = await errorOf(ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '3' })));
  assert.equal(e1.code, 'InvalidLaunchTemplateId.VersionNotFound');
  assert.match(e1.message, /version 3 /);
  const e2 = await errorOf(ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '$Latest' })));
  assert.equal(e2.code, 'InvalidParameterValue');
  assert.match(e2.message, /SetDefaultVersion/);
  const e3 = await errorOf(ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: NO_SUCH_TEMPLATE, DefaultVersion: '1' })));
  assert.equal(e3.code, 'InvalidLaunchTemplateId.NotFound');
  const e4 = await errorOf(ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '2', DryRun: true })));
  assert.equal(e4.code, 'DryRunOperation');
  const [after] = (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))).LaunchTemplates ?? [];
  assert.equal(after?.DefaultVersionNumber, 1);
});

// --- DeleteLaunchTemplateVersions and DeleteLaunchTemplate ------------------------------------------

test('DeleteLaunchTemplateVersions: deletes what it can, reports the default and missing versions per version', async () => {
  const t = await createTemplate(ec2, NV_TEMPLATE);
  const id = t.LaunchTemplateId!;
  for (let i = 0; i < 3; i++) await addVersion(ec2, id, { InstanceType: 't3.micro' });
  const r = await ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['2', '4', '1', '9'] }));
  assert.deepEqual(r.SuccessfullyDeletedLaunchTemplateVersions, [
    { LaunchTemplateId: id, LaunchTemplateName: t.LaunchTemplateName, VersionNumber: 2 },
    { LaunchTemplateId: id, LaunchTemplateName: t.LaunchTemplateName, VersionNumber: 4 },
  ]);
  const refused = r.UnsuccessfullyDeletedLaunchTemplateVersions ?? [];
  assert.deepEqual(
    refused.map((x) => [x.VersionNumber, x.ResponseError?.Code]),
    [
      [1, 'unexpectedError'],
      [9, 'launchTemplateVersionDoesNotExist'],
    ],
  );
  assert.match(refused[0]!.ResponseError!.Message!, /default version/);
  assert.deepEqual((await versionsOf(ec2, id)).map((v) => v.VersionNumber), [3, 1]);
  // the latest is now 3; numbers are not reused
  const [desc] = (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))).LaunchTemplates ?? [];
  assert.equal(desc?.LatestVersionNumber, 3);
  assert.equal((await addVersion(ec2, id, { InstanceType: 't3.small' })).VersionNumber, 5);

  // everything is fine → an empty refusal list (not absent)
  const ok = await ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateName: t.LaunchTemplateName, Versions: ['3'] }));
  assert.deepEqual(ok.UnsuccessfullyDeletedLaunchTemplateVersions, []);

  const e1 = await errorOf(ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['$Latest'] })));
  assert.equal(e1.code, 'InvalidParameterValue');
  assert.match(e1.message, /\$Latest/);
  const e2 = await errorOf(ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: [] })));
  assert.equal(e2.code, 'MissingParameter');
  const e3 = await errorOf(
    ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: Array.from({ length: 201 }, (_, i) => String(i + 1)) })),
  );
  assert.equal(e3.code, 'InvalidParameterValue');
  assert.match(e3.message, /200/);
  const e4 = await errorOf(ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: NO_SUCH_TEMPLATE, Versions: ['2'] })));
  assert.equal(e4.code, 'InvalidLaunchTemplateId.NotFound');
  const e5 = await errorOf(ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['5'], DryRun: true })));
  assert.equal(e5.code, 'DryRunOperation');
  assert.deepEqual((await versionsOf(ec2, id)).map((v) => v.VersionNumber), [5, 1]);
});

test('DeleteLaunchTemplate: removes the template, its versions and its tags; the name is free again', async () => {
  const c = freshRegion();
  const name = uniqueName('gone');
  const t = await createTemplate(c, NV_TEMPLATE, {
    LaunchTemplateName: name,
    TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'k', Value: 'v' }] }],
  });
  const id = t.LaunchTemplateId!;
  await addVersion(c, id, { InstanceType: 't3.micro' });
  const e0 = await errorOf(c.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id, DryRun: true })));
  assert.equal(e0.code, 'DryRunOperation');

  const r = await c.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: name }));
  assert.equal(r.LaunchTemplate?.LaunchTemplateId, id);
  assert.equal(r.LaunchTemplate?.LatestVersionNumber, 2);
  assert.deepEqual((await c.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates, []);
  assert.deepEqual((await c.send(new DescribeTagsCommand({}))).Tags, []);
  const e1 = await errorOf(c.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id })));
  assert.equal(e1.code, 'InvalidLaunchTemplateId.NotFound');
  const e2 = await errorOf(c.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: name })));
  assert.equal(e2.code, 'InvalidLaunchTemplateName.NotFoundException');
  const e3 = await errorOf(c.send(new DeleteLaunchTemplateCommand({})));
  assert.equal(e3.code, 'MissingParameter');
  const e4 = await errorOf(c.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'a', Value: 'b' }] })));
  assert.equal(e4.code, 'InvalidLaunchTemplateId.NotFound');
  await createTemplate(c, NV_TEMPLATE, { LaunchTemplateName: name });
});

// --- RunInstances from a template -------------------------------------------------------------------

test('RunInstances from a template: the default version, nested virtualization on, system tags, recorded template', async () => {
  const t = await createTemplate(ec2, {
    ...NV_TEMPLATE,
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'from-template' }] }],
    DisableApiStop: true,
  });
  const id = t.LaunchTemplateId!;
  await addVersion(ec2, id, { ImageId: LINUX_AMI, InstanceType: 'm8i.large' }); // not the default
  const i = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: id } });
  assert.equal(i.ImageId, LINUX_AMI);
  assert.equal(i.InstanceType, 'c8i.large');
  assert.equal(i.CpuOptions?.NestedVirtualization, 'enabled');
  assert.deepEqual(tagMap(i.Tags), { Name: 'from-template', 'aws:ec2launchtemplate:id': id, 'aws:ec2launchtemplate:version': '1' });

  // by name and $Latest; by an explicit number
  const latest = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateName: t.LaunchTemplateName, Version: '$Latest' } });
  assert.equal(latest.InstanceType, 'm8i.large');
  assert.equal(latest.CpuOptions?.NestedVirtualization, undefined);
  assert.equal(tagMap(latest.Tags)['aws:ec2launchtemplate:version'], '2');
  const second = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: id, Version: '2' } });
  assert.equal(second.InstanceType, 'm8i.large');

  // the template's data became the instance's: GetLaunchTemplateData shows it back
  const data = (await ec2.send(new GetLaunchTemplateDataCommand({ InstanceId: i.InstanceId! }))).LaunchTemplateData;
  assert.equal(data?.DisableApiStop, true);
  assert.deepEqual(data?.TagSpecifications, [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'from-template' }] }]);
});

test('RunInstances from a template: the request overrides whole parameters, and the result passes every rule', async () => {
  const t = await createTemplate(ec2, {
    ImageId: LINUX_AMI,
    InstanceType: 'c8i.2xlarge',
    CpuOptions: { CoreCount: 2, ThreadsPerCore: 2, NestedVirtualization: 'enabled' },
    TagSpecifications: [
      { ResourceType: 'instance', Tags: [{ Key: 'from', Value: 'template' }] },
      { ResourceType: 'volume', Tags: [{ Key: 'disk', Value: 'template' }] },
    ],
  });
  const id = t.LaunchTemplateId!;
  // InstanceType alone: the template's CpuOptions still apply
  const bigger = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: id }, InstanceType: 'm8i.2xlarge' });
  assert.equal(bigger.InstanceType, 'm8i.2xlarge');
  assert.deepEqual(bigger.CpuOptions, { CoreCount: 2, ThreadsPerCore: 2, NestedVirtualization: 'enabled' });
  // CpuOptions in the request replace the template's whole
  const own = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: id }, CpuOptions: { NestedVirtualization: 'disabled' } });
  assert.deepEqual(own.CpuOptions, { CoreCount: 4, ThreadsPerCore: 2, NestedVirtualization: 'disabled' });
  // instance tags in the request replace the template's instance tags
  const tagged = await launchFromTemplate(ec2, {
    LaunchTemplate: { LaunchTemplateId: id },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'from', Value: 'request' }] }],
  });
  assert.equal(tagMap(tagged.Tags).from, 'request');

  // an override that breaks a rule: NV stays enabled from the template, m6i has no NV
  const before = await instanceIds(ec2);
  const e1 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: id }, InstanceType: 'm6i.large' }));
  assert.equal(e1.code, 'UnsupportedOperation');
  assert.match(e1.message, /m6i\.large/);
  // hibernation from the request with NV from the template
  const e2 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: id }, HibernationOptions: { Configured: true } }));
  assert.equal(e2.code, 'UnsupportedHibernationConfiguration');
  // Windows on more than 192 vCPUs with NV from the template
  const e3 = await errorOf(
    launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: id }, ImageId: WINDOWS_AMI, InstanceType: 'm8i.96xlarge' }),
  );
  assert.equal(e3.code, 'UnsupportedOperation');
  assert.match(e3.message, /192/);
  // architecture: an arm64 image with the template's x86 type
  const e4 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: id }, ImageId: ARM_AMI }));
  assert.equal(e4.code, 'InvalidParameterValue');
  assert.match(e4.message, /architecture/);
  // a key pair named by the template must exist
  const keyed = await createTemplate(ec2, { ImageId: LINUX_AMI, KeyName: 'no-such-key' });
  const e5 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: keyed.LaunchTemplateId! } }));
  assert.equal(e5.code, 'InvalidKeyPair.NotFound');
  assert.match(e5.message, /no-such-key/);
  assert.deepEqual(await instanceIds(ec2), before);
});

test('RunInstances from a template: rules refused at creation apply at launch; an ImageId is still required', async () => {
  const bad = await createTemplate(ec2, { ImageId: LINUX_AMI, InstanceType: 'm6i.large', CpuOptions: { NestedVirtualization: 'enabled' } });
  const e1 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: bad.LaunchTemplateId! } }));
  assert.equal(e1.code, 'UnsupportedOperation');
  assert.match(e1.message, /m6i\.large/);
  // fixing it in the request works
  const ok = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: bad.LaunchTemplateId! }, InstanceType: 'c8i.large' });
  assert.equal(ok.CpuOptions?.NestedVirtualization, 'enabled');

  const cores = await createTemplate(ec2, { ImageId: LINUX_AMI, InstanceType: 'c8i.large', CpuOptions: { CoreCount: 99, ThreadsPerCore: 2 } });
  const e2 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: cores.LaunchTemplateId! } }));
  assert.equal(e2.code, 'InvalidParameterValue');
  assert.match(e2.message, /99/);

  const noImage = await createTemplate(ec2, { InstanceType: 'c8i.large' });
  const e3 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: noImage.LaunchTemplateId! } }));
  assert.equal(e3.code, 'MissingParameter');
  assert.match(e3.message, /ImageId/);
  const withImage = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: noImage.LaunchTemplateId! }, ImageId: LINUX_AMI });
  assert.equal(withImage.InstanceType, 'c8i.large');
});

test('RunInstances from a template: unknown templates and versions, both or neither of ID and name', async () => {
  const t = await createTemplate(ec2, NV_TEMPLATE);
  const before = await instanceIds(ec2);
  const e1 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: NO_SUCH_TEMPLATE } }));
  assert.equal(e1.code, 'InvalidLaunchTemplateId.NotFound');
  assert.match(e1.message, new RegExp(NO_SUCH_TEMPLATE));
  const e2 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateName: 'not-a-template' } }));
  assert.equal(e2.code, 'InvalidLaunchTemplateName.NotFoundException');
  assert.match(e2.message, /not-a-template/);
  const e3 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: t.LaunchTemplateId!, Version: '4' } }));
  assert.equal(e3.code, 'InvalidLaunchTemplateId.VersionNotFound');
  assert.match(e3.message, /version 4 /);
  const e4 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: t.LaunchTemplateId!, LaunchTemplateName: t.LaunchTemplateName } }));
  assert.equal(e4.code, 'InvalidParameterCombination');
  const e5 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { Version: '1' } }));
  assert.equal(e5.code, 'MissingParameter');
  assert.match(e5.message, /LaunchTemplate\.LaunchTemplateId/);
  const e6 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: 'lt-123' } }));
  assert.equal(e6.code, 'InvalidLaunchTemplateId.Malformed');
  const e7 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: t.LaunchTemplateId!, Version: 'newest' } }));
  assert.equal(e7.code, 'InvalidParameterValue');
  assert.match(e7.message, /newest/);
  const e8 = await errorOf(launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: t.LaunchTemplateId! }, DryRun: true }));
  assert.equal(e8.code, 'DryRunOperation');
  assert.deepEqual(await instanceIds(ec2), before);
});

// --- GetLaunchTemplateData --------------------------------------------------------------------------

test('GetLaunchTemplateData: an instance with nested virtualization enabled yields data that launches the same instance', async () => {
  const userData = Buffer.from('#!/bin/sh\nl2-smoke\n').toString('base64');
  const i = await launchOne(ec2, {
    ImageId: LINUX_AMI,
    InstanceType: 'm8i.2xlarge',
    CpuOptions: { CoreCount: 2, ThreadsPerCore: 2, NestedVirtualization: 'enabled' },
    UserData: userData,
    DisableApiTermination: true,
    InstanceInitiatedShutdownBehavior: 'terminate',
    Placement: { AvailabilityZone: 'us-east-1b' },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'nv-source' }] }],
  });
  const data = (await ec2.send(new GetLaunchTemplateDataCommand({ InstanceId: i.InstanceId! }))).LaunchTemplateData!;
  assert.equal(data.ImageId, LINUX_AMI);
  assert.equal(data.InstanceType, 'm8i.2xlarge');
  assert.deepEqual(data.CpuOptions, { CoreCount: 2, ThreadsPerCore: 2, NestedVirtualization: 'enabled' });
  assert.deepEqual(data.HibernationOptions, { Configured: false });
  assert.equal(data.UserData, userData);
  assert.equal(data.DisableApiTermination, true);
  assert.equal(data.DisableApiStop, false);
  assert.equal(data.InstanceInitiatedShutdownBehavior, 'terminate');
  assert.equal(data.Placement?.AvailabilityZone, 'us-east-1b');
  assert.equal(data.Placement?.Tenancy, 'default');
  assert.deepEqual(data.TagSpecifications, [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'nv-source' }] }]);
  assert.equal(data.BlockDeviceMappings?.[0]?.DeviceName, '/dev/xvda');
  assert.equal(data.MetadataOptions?.HttpTokens, 'required');

  // round trip: a template made from it launches an identical configuration
  const t = await createTemplate(ec2, data as RequestLaunchTemplateData);
  const copy = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: t.LaunchTemplateId! } });
  assert.equal(copy.InstanceType, 'm8i.2xlarge');
  assert.deepEqual(copy.CpuOptions, i.CpuOptions);
  assert.equal(copy.Placement?.AvailabilityZone, 'us-east-1b');
  assert.equal(tagMap(copy.Tags).Name, 'nv-source');
});

test('GetLaunchTemplateData: follows the instance (Modify), leaves out aws: tags and unset NV; errors', async () => {
  const plain = await launchOne(ec2, { ImageId: LINUX_AMI, InstanceType: 'c8i.large' });
  const before = (await ec2.send(new GetLaunchTemplateDataCommand({ InstanceId: plain.InstanceId! }))).LaunchTemplateData!;
  assert.deepEqual(before.CpuOptions, { CoreCount: 1, ThreadsPerCore: 2 });
  assert.equal(before.TagSpecifications, undefined);

  await eventually(async () => {
    const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [plain.InstanceId!] }));
    return r.Reservations?.[0]?.Instances?.[0]?.State?.Name === 'running' ? true : undefined;
  });
  await ec2.send(new StopInstancesCommand({ InstanceIds: [plain.InstanceId!] }));
  await eventually(async () => {
    const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [plain.InstanceId!] }));
    return r.Reservations?.[0]?.Instances?.[0]?.State?.Name === 'stopped' ? true : undefined;
  });
  await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: plain.InstanceId!, NestedVirtualization: 'enabled' }));
  const after = (await ec2.send(new GetLaunchTemplateDataCommand({ InstanceId: plain.InstanceId! }))).LaunchTemplateData!;
  assert.equal(after.CpuOptions?.NestedVirtualization, 'enabled');

  // launched from a template: the aws:ec2launchtemplate:* tags stay out
  const t = await createTemplate(ec2, NV_TEMPLATE);
  const fromTemplate = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: t.LaunchTemplateId! } });
  const data = (await ec2.send(new GetLaunchTemplateDataCommand({ InstanceId: fromTemplate.InstanceId! }))).LaunchTemplateData!;
  assert.equal(data.TagSpecifications, undefined);

  const e1 = await errorOf(ec2.send(new GetLaunchTemplateDataCommand({ InstanceId: 'i-0123456789abcdef0' })));
  assert.equal(e1.code, 'InvalidInstanceID.NotFound');
  assert.match(e1.message, /i-0123456789abcdef0/);
  const e2 = await errorOf(ec2.send(new GetLaunchTemplateDataCommand({ InstanceId: 'i-bogus' })));
  assert.equal(e2.code, 'InvalidInstanceID.Malformed');
  const e3 = await errorOf(ec2.send(new GetLaunchTemplateDataCommand({ InstanceId: plain.InstanceId!, DryRun: true })));
  assert.equal(e3.code, 'DryRunOperation');
});

// --- durability and the merge's completeness ----------------------------------------------------------

test('launch templates, their versions, default and tags survive a restart', async () => {
  const t = await createTemplate(ec2, NV_TEMPLATE, {
    TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'keep', Value: 'me' }] }],
  });
  const id = t.LaunchTemplateId!;
  await addVersion(ec2, id, { InstanceType: 'm8i.large' }, { SourceVersion: '1' });
  await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '2' }));
  server = await server.restart();
  ec2 = server.client('us-east-1');
  const [desc] = (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))).LaunchTemplates ?? [];
  assert.equal(desc?.DefaultVersionNumber, 2);
  assert.equal(desc?.LatestVersionNumber, 2);
  assert.deepEqual(desc?.Tags, [{ Key: 'keep', Value: 'me' }]);
  const [v2] = await versionsOf(ec2, id, { Versions: ['$Default'] });
  assert.deepEqual(v2?.LaunchTemplateData, { ...NV_TEMPLATE, InstanceType: 'm8i.large' });
  const i = await launchFromTemplate(ec2, { LaunchTemplate: { LaunchTemplateId: id } });
  assert.equal(i.CpuOptions?.NestedVirtualization, 'enabled');
});

test('every template data member has a RunInstances parameter to merge into', () => {
  const run = new Set([...shapeSchema('RunInstancesRequest')!.structIterator()].map(([name]) => name));
  const data: Record<string, unknown> = {};
  for (const [name] of shapeSchema('RequestLaunchTemplateData')!.structIterator()) data[name] = `value-of-${name}`;
  const merged = mergeLaunchRequest(data as RequestLaunchTemplateData, { MinCount: 1, MaxCount: 1 });
  for (const name of Object.keys(merged)) assert.ok(run.has(name), `${name} is not a RunInstances parameter`);
  // only attribute-based selection (fleets) has no RunInstances counterpart
  assert.equal(Object.keys(merged).length, Object.keys(data).length - 1 + 2);
});
