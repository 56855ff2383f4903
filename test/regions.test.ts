/**
 * Regions, zones and where instance types are offered, through the real AWS SDK: DescribeRegions,
 * DescribeAvailabilityZones (per signed Region), DescribeInstanceTypeOfferings, and that RunInstances
 * accepts exactly the zones DescribeAvailabilityZones lists.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypeOfferingsCommand,
  type DescribeInstanceTypeOfferingsCommandInput,
  DescribeRegionsCommand,
  type EC2Client,
  type InstanceTypeOffering,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { loadCatalog } from '../src/domain/instance-types.js';
import { LINUX_AMI, type TestServer, errorOf, startTestServer } from './helpers.js';

/** The commercial Regions as of 2026, and which of them are opt-in. */
const OPT_IN_NOT_REQUIRED = [
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2',
  'ca-central-1', 'eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'sa-east-1',
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
];
const OPT_IN = [
  'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-south-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5',
  'ap-southeast-6', 'ap-southeast-7', 'ca-west-1', 'eu-central-2', 'eu-south-1', 'eu-south-2', 'il-central-1',
  'me-central-1', 'me-south-1', 'mx-central-1',
];
const ALL_REGIONS = [...OPT_IN_NOT_REQUIRED, ...OPT_IN].sort();
const CATALOG = loadCatalog();
const CATALOG_TYPES = CATALOG.types.map((t) => t.type);

let server: TestServer;
let ec2: EC2Client;

before(async () => {
  server = await startTestServer();
  ec2 = server.client('us-east-1');
});
after(async () => {
  await server.close();
});

async function regionNames(client: EC2Client, input: ConstructorParameters<typeof DescribeRegionsCommand>[0] = {}) {
  return ((await client.send(new DescribeRegionsCommand(input))).Regions ?? []).map((r) => r.RegionName!);
}

async function zones(client: EC2Client, input: ConstructorParameters<typeof DescribeAvailabilityZonesCommand>[0] = {}) {
  return ((await client.send(new DescribeAvailabilityZonesCommand(input))).AvailabilityZones ?? []).map(
    (z) => `${z.ZoneName}=${z.ZoneId}`,
  );
}

/** Every offering, following NextToken. */
async function allOfferings(client: EC2Client, input: DescribeInstanceTypeOfferingsCommandInput = {}) {
  const out: InstanceTypeOffering[] = [];
  let NextToken: string | undefined;
  let pages = 0;
  do {
    const r = await client.send(new DescribeInstanceTypeOfferingsCommand({ ...input, NextToken }));
    out.push(...(r.InstanceTypeOfferings ?? []));
    NextToken = r.NextToken;
    pages++;
  } while (NextToken);
  return { offerings: out, pages };
}

// --- DescribeRegions --------------------------------------------------------------------------------

test('DescribeRegions: the 34 commercial Regions, each with its endpoint and opt-in status', async () => {
  const r = await ec2.send(new DescribeRegionsCommand({}));
  const regions = r.Regions ?? [];
  assert.deepEqual(regions.map((x) => x.RegionName), ALL_REGIONS);
  assert.equal(regions.length, 34);
  for (const region of regions) {
    assert.equal(region.Endpoint, `ec2.${region.RegionName}.amazonaws.com`);
    const expected = OPT_IN.includes(region.RegionName!) ? 'opted-in' : 'opt-in-not-required';
    assert.equal(region.OptInStatus, expected, region.RegionName);
  }
  assert.deepEqual(regions.find((x) => x.RegionName === 'us-east-1'), {
    RegionName: 'us-east-1',
    Endpoint: 'ec2.us-east-1.amazonaws.com',
    OptInStatus: 'opt-in-not-required',
  });
  // GovCloud and China are other partitions
  assert.ok(!regions.some((x) => /^(us-gov|cn)-/.test(x.RegionName!)));
  // every Region is enabled for the account, so AllRegions lists the same ones
  assert.deepEqual(await regionNames(ec2, { AllRegions: true }), ALL_REGIONS);
  // the list is the same whichever Region the request is signed for
  assert.deepEqual(await regionNames(server.client('ap-southeast-7')), ALL_REGIONS);
});

test('DescribeRegions: RegionNames selects; an unknown name is InvalidParameterValue naming only it', async () => {
  assert.deepEqual(await regionNames(ec2, { RegionNames: ['eu-west-1', 'mx-central-1', 'eu-west-1'] }), [
    'eu-west-1',
    'mx-central-1',
  ]);
  const e = await errorOf(ec2.send(new DescribeRegionsCommand({ RegionNames: ['us-east-1', 'us--east-1'] })));
  assert.equal(e.code, 'InvalidParameterValue');
  assert.equal(e.status, 400);
  assert.equal(e.message, 'Invalid region: [us--east-1]');
  // a partition nestbox does not serve is no Region here either
  const gov = await errorOf(ec2.send(new DescribeRegionsCommand({ RegionNames: ['us-gov-west-1'] })));
  assert.equal(gov.code, 'InvalidParameterValue');
  assert.match(gov.message, /us-gov-west-1/);
});

test('DescribeRegions: filters region-name (wildcards), endpoint, opt-in-status; unknown filters and DryRun', async () => {
  assert.deepEqual(await regionNames(ec2, { Filters: [{ Name: 'region-name', Values: ['us-*'] }] }), [
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
  ]);
  assert.deepEqual(
    await regionNames(ec2, { Filters: [{ Name: 'endpoint', Values: ['ec2.eu-south-?.amazonaws.com'] }] }),
    ['eu-south-1', 'eu-south-2'],
  );
  assert.deepEqual(await regionNames(ec2, { Filters: [{ Name: 'opt-in-status', Values: ['opted-in'] }] }), OPT_IN);
  assert.deepEqual(await regionNames(ec2, { Filters: [{ Name: 'opt-in-status', Values: ['not-opted-in'] }] }), []);
  assert.deepEqual(
    await regionNames(ec2, {
      Filters: [
        { Name: 'opt-in-status', Values: ['opt-in-not-required'] },
        { Name: 'region-name', Values: ['ap-*'] },
      ],
    }),
    OPT_IN_NOT_REQUIRED.filter((n) => n.startsWith('ap-')),
  );
  const bad = await errorOf(ec2.send(new DescribeRegionsCommand({ Filters: [{ Name: 'zone-name', Values: ['x'] }] })));
  assert.equal(bad.code, 'InvalidParameterValue');
  assert.match(bad.message, /zone-name/);
  const dry = await errorOf(ec2.send(new DescribeRegionsCommand({ DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal(dry.status, 412);
});

// --- DescribeAvailabilityZones ----------------------------------------------------------------------

test('DescribeAvailabilityZones: the signed Region\'s zones with real zone IDs and every field', async () => {
  const r = await ec2.send(new DescribeAvailabilityZonesCommand({}));
  assert.deepEqual(r.AvailabilityZones?.[0], {
    OptInStatus: 'opt-in-not-required',
    Messages: [],
    RegionName: 'us-east-1',
    ZoneName: 'us-east-1a',
    ZoneId: 'use1-az6',
    GroupName: 'us-east-1-zg-1',
    GroupLongName: 'US East (N. Virginia) 1',
    NetworkBorderGroup: 'us-east-1',
    ZoneType: 'availability-zone',
    State: 'available',
  });
  assert.deepEqual(await zones(ec2), [
    'us-east-1a=use1-az6',
    'us-east-1b=use1-az1',
    'us-east-1c=use1-az2',
    'us-east-1d=use1-az4',
    'us-east-1e=use1-az3',
    'us-east-1f=use1-az5',
  ]);
  assert.deepEqual(await zones(server.client('eu-west-1')), ['eu-west-1a=euw1-az3', 'eu-west-1b=euw1-az1', 'eu-west-1c=euw1-az2']);
  // Regions whose zone letters skip one, as new accounts see them
  assert.deepEqual(await zones(server.client('us-west-1')), ['us-west-1b=usw1-az3', 'us-west-1c=usw1-az1']);
  assert.deepEqual(await zones(server.client('ap-northeast-1')), [
    'ap-northeast-1a=apne1-az4',
    'ap-northeast-1c=apne1-az1',
    'ap-northeast-1d=apne1-az2',
  ]);
  const il = (await server.client('il-central-1').send(new DescribeAvailabilityZonesCommand({}))).AvailabilityZones ?? [];
  assert.deepEqual(il.map((z) => z.ZoneId), ['ilc1-az1', 'ilc1-az2', 'ilc1-az3']);
  assert.equal(il[0]?.GroupLongName, 'Israel (Tel Aviv) 1');
  // every commercial Region has zones of its own
  for (const region of ALL_REGIONS) {
    const list = (await server.client(region).send(new DescribeAvailabilityZonesCommand({}))).AvailabilityZones ?? [];
    assert.ok(list.length >= 2, region);
    for (const z of list) {
      assert.equal(z.RegionName, region);
      assert.ok(z.ZoneName?.startsWith(region), z.ZoneName);
      assert.match(z.ZoneId ?? '', /^[a-z]+[0-9]-az[0-9]$/);
    }
    assert.equal(new Set(list.map((z) => z.ZoneId)).size, list.length, region);
  }
});

test('DescribeAvailabilityZones: ZoneNames and ZoneIds select; unknown ones (or another Region\'s) are refused, named', async () => {
  assert.deepEqual(await zones(ec2, { ZoneNames: ['us-east-1d', 'us-east-1a'] }), ['us-east-1a=use1-az6', 'us-east-1d=use1-az4']);
  assert.deepEqual(await zones(ec2, { ZoneIds: ['use1-az1'] }), ['us-east-1b=use1-az1']);
  // either list names a zone
  assert.deepEqual(await zones(ec2, { ZoneNames: ['us-east-1a'], ZoneIds: ['use1-az5'] }), [
    'us-east-1a=use1-az6',
    'us-east-1f=use1-az5',
  ]);
  for (const name of ['us-east-1z', 'eu-west-1a', 'us-west-1a']) {
    const e = await errorOf(ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['us-east-1a', name] })));
    assert.equal(e.code, 'InvalidParameterValue');
    assert.equal(e.status, 400);
    assert.equal(e.message, `Invalid availability zone: [${name}]`);
  }
  const id = await errorOf(ec2.send(new DescribeAvailabilityZonesCommand({ ZoneIds: ['use1-az7'] })));
  assert.equal(id.code, 'InvalidParameterValue');
  assert.match(id.message, /use1-az7/);
  const west = await errorOf(server.client('us-west-1').send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['us-west-1a'] })));
  assert.equal(west.code, 'InvalidParameterValue');
  assert.match(west.message, /us-west-1a/);
});

test('DescribeAvailabilityZones: filters zone-name, zone-id, state, region-name, zone-type, group-name; DryRun', async () => {
  const f = (Name: string, ...Values: string[]) => zones(ec2, { Filters: [{ Name, Values }] });
  assert.deepEqual(await f('zone-name', 'us-east-1?'), await zones(ec2));
  assert.deepEqual(await f('zone-name', 'us-east-1c'), ['us-east-1c=use1-az2']);
  assert.deepEqual(await f('zone-id', 'use1-az4', 'use1-az6'), ['us-east-1a=use1-az6', 'us-east-1d=use1-az4']);
  assert.equal((await f('state', 'available')).length, 6);
  assert.deepEqual(await f('state', 'unavailable', 'constrained'), []);
  assert.equal((await f('region-name', 'us-east-1')).length, 6);
  assert.deepEqual(await f('region-name', 'eu-west-1'), []);
  assert.equal((await f('zone-type', 'availability-zone')).length, 6);
  assert.deepEqual(await f('zone-type', 'local-zone'), []);
  assert.equal((await f('group-name', 'us-east-1-zg-1')).length, 6);
  assert.equal((await f('opt-in-status', 'opt-in-not-required')).length, 6);
  assert.deepEqual(
    await zones(ec2, { Filters: [{ Name: 'zone-id', Values: ['use1-az*'] }, { Name: 'zone-name', Values: ['*f'] }] }),
    ['us-east-1f=use1-az5'],
  );
  const bad = await errorOf(ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'zone', Values: ['x'] }] })));
  assert.equal(bad.code, 'InvalidParameterValue');
  assert.match(bad.message, /'zone'/);
  const dry = await errorOf(ec2.send(new DescribeAvailabilityZonesCommand({ DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal(dry.status, 412);
});

test('RunInstances uses the same zones: the first is the default, each listed zone is accepted, others refused', async () => {
  for (const region of ['us-east-1', 'us-west-1', 'ap-northeast-1', 'ca-central-1']) {
    const client = server.client(region);
    const listed = ((await client.send(new DescribeAvailabilityZonesCommand({}))).AvailabilityZones ?? []).map((z) => z.ZoneName!);
    const r = await client.send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
    assert.equal(r.Instances?.[0]?.Placement?.AvailabilityZone, listed[0], region);
    for (const zone of listed) {
      const placed = await client.send(
        new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: zone } }),
      );
      assert.equal(placed.Instances?.[0]?.Placement?.AvailabilityZone, zone);
    }
  }
  // us-west-1a, ap-northeast-1b and ca-central-1c are letters new accounts do not get
  for (const [region, zone] of [['us-west-1', 'us-west-1a'], ['ap-northeast-1', 'ap-northeast-1b'], ['ca-central-1', 'ca-central-1c']] as const) {
    const e = await errorOf(
      server.client(region).send(
        new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: zone } }),
      ),
    );
    assert.equal(e.code, 'InvalidParameterValue');
    assert.equal(e.message, `Invalid availability zone: [${zone}]`);
  }
});

test('a Region outside the table is refused as AWS refuses a credential scoped to a wrong Region, and never listed', async () => {
  const client = server.client('xx-test-1');
  for (const call of [
    () => zones(client),
    () => client.send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 })),
  ]) {
    const e = await errorOf(call());
    assert.equal(e.code, 'SignatureDoesNotMatch');
    assert.equal(e.status, 403);
    assert.equal(e.message, "Credential should be scoped to a valid region, not 'xx-test-1'.");
  }
  assert.ok(!(await regionNames(ec2)).includes('xx-test-1'));
  const e = await errorOf(ec2.send(new DescribeRegionsCommand({ RegionNames: ['xx-test-1'] })));
  assert.equal(e.code, 'InvalidParameterValue');
  assert.match(e.message, /xx-test-1/);
});

// --- DescribeInstanceTypeOfferings ------------------------------------------------------------------

test('DescribeInstanceTypeOfferings: by Region (the default), each type offered there once, located in the signed Region', async () => {
  const { offerings, pages } = await allOfferings(ec2);
  // us-east-1 offers 1243 of the 1263 types (moto 5.2.1's offerings): two pages of at most 1000
  assert.equal(pages, 2);
  assert.equal(offerings.length, 1243);
  assert.deepEqual(offerings.map((o) => o.InstanceType), CATALOG_TYPES.filter((t) => CATALOG.offered(t, 'us-east-1')));
  for (const o of offerings) {
    assert.equal(o.LocationType, 'region');
    assert.equal(o.Location, 'us-east-1');
  }
  // a type EC2 does not offer in a Region is not listed there
  const notHere = await server.client('ap-east-1').send(
    new DescribeInstanceTypeOfferingsCommand({ Filters: [{ Name: 'instance-type', Values: ['c8i.large', 't3.micro'] }] }),
  );
  assert.deepEqual(notHere.InstanceTypeOfferings?.map((o) => o.InstanceType), ['t3.micro']);
  // the launch types are offered in these Regions (ap-southeast-7: no offering data, so every type)
  for (const region of ['eu-west-1', 'ap-southeast-7', 'sa-east-1']) {
    const r = await server.client(region).send(
      new DescribeInstanceTypeOfferingsCommand({ Filters: [{ Name: 'instance-type', Values: ['c8i.large', 'm8i-flex.2xlarge', 'r8i.metal-96xl'] }] }),
    );
    assert.deepEqual(
      (r.InstanceTypeOfferings ?? []).map((o) => `${o.InstanceType}@${o.Location}`),
      [`c8i.large@${region}`, `m8i-flex.2xlarge@${region}`, `r8i.metal-96xl@${region}`],
    );
  }
  const other = await ec2.send(new DescribeInstanceTypeOfferingsCommand({ Filters: [{ Name: 'location', Values: ['eu-west-1'] }] }));
  assert.deepEqual(other.InstanceTypeOfferings, []);
});

test('DescribeInstanceTypeOfferings: by zone and by zone ID, one offering per type per zone that offers it', async () => {
  const byZone = await allOfferings(ec2, { LocationType: 'availability-zone' });
  // moto 5.2.1's offerings per zone ID: nestbox's us-east-1a..f are use1-az6 az1 az2 az4 az3 az5
  const perZone: Record<string, number> = {};
  for (const o of byZone.offerings) perZone[o.Location!] = (perZone[o.Location!] ?? 0) + 1;
  assert.deepEqual(perZone, {
    'us-east-1a': 1237, 'us-east-1b': 1029, 'us-east-1c': 1228, 'us-east-1d': 1224, 'us-east-1e': 58, 'us-east-1f': 902,
  });
  // without MaxResults a page holds at most 1000 offerings
  assert.equal(byZone.pages, Math.ceil(byZone.offerings.length / 1000));
  const c8i = byZone.offerings.filter((o) => o.InstanceType === 'c8i.large');
  // us-east-1e (use1-az3) offers none of the current generations
  assert.deepEqual(c8i.map((o) => o.Location), ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1f']);
  assert.ok(c8i.every((o) => o.LocationType === 'availability-zone'));
  const byId = await allOfferings(ec2, { LocationType: 'availability-zone-id', Filters: [{ Name: 'location', Values: ['use1-az3'] }] });
  assert.deepEqual(
    byId.offerings.map((o) => o.InstanceType),
    byZone.offerings.filter((o) => o.Location === 'us-east-1e').map((o) => o.InstanceType),
  );
  assert.ok(byId.offerings.some((o) => o.InstanceType === 't2.micro'));
  const west = await server.client('us-west-1').send(
    new DescribeInstanceTypeOfferingsCommand({ LocationType: 'availability-zone-id', Filters: [{ Name: 'instance-type', Values: ['m8i.large'] }] }),
  );
  assert.deepEqual(west.InstanceTypeOfferings, [
    { InstanceType: 'm8i.large', LocationType: 'availability-zone-id', Location: 'usw1-az3' },
    { InstanceType: 'm8i.large', LocationType: 'availability-zone-id', Location: 'usw1-az1' },
  ]);
  const one = await ec2.send(
    new DescribeInstanceTypeOfferingsCommand({
      LocationType: 'availability-zone',
      Filters: [{ Name: 'location', Values: ['us-east-1d'] }, { Name: 'instance-type', Values: ['r8i.*'] }],
    }),
  );
  const r8i = CATALOG_TYPES.filter((t) => t.startsWith('r8i.'));
  assert.ok(r8i.length > 10);
  assert.deepEqual(one.InstanceTypeOfferings?.map((o) => `${o.InstanceType}@${o.Location}`), r8i.map((t) => `${t}@us-east-1d`));
  // nestbox has no Outposts
  const outposts = await ec2.send(new DescribeInstanceTypeOfferingsCommand({ LocationType: 'outpost' }));
  assert.deepEqual(outposts.InstanceTypeOfferings, []);
});

test('DescribeInstanceTypeOfferings: paging with MaxResults 5..1000, tokens, and refused parameters', async () => {
  const pages: string[][] = [];
  let NextToken: string | undefined;
  do {
    const r = await ec2.send(
      new DescribeInstanceTypeOfferingsCommand({ Filters: [{ Name: 'instance-type', Values: ['c8i.*'] }], MaxResults: 5, NextToken }),
    );
    pages.push((r.InstanceTypeOfferings ?? []).map((o) => o.InstanceType!));
    NextToken = r.NextToken;
  } while (NextToken);
  const c8i = CATALOG_TYPES.filter((t) => t.startsWith('c8i.'));
  assert.deepEqual(pages.flat(), c8i);
  assert.equal(pages.length, Math.ceil(c8i.length / 5));
  assert.ok(pages.slice(0, -1).every((p) => p.length === 5));
  const big = await ec2.send(new DescribeInstanceTypeOfferingsCommand({ LocationType: 'availability-zone', MaxResults: 1000 }));
  assert.equal(big.InstanceTypeOfferings?.length, 1000);
  assert.ok(big.NextToken);
  for (const MaxResults of [4, 1001]) {
    const e = await errorOf(ec2.send(new DescribeInstanceTypeOfferingsCommand({ MaxResults })));
    assert.equal(e.code, 'InvalidParameterValue');
    assert.match(e.message, new RegExp(`\\(${MaxResults}\\).*between 5 and 1000`));
  }
  // a token belongs to its query
  const e = await errorOf(ec2.send(new DescribeInstanceTypeOfferingsCommand({ LocationType: 'availability-zone-id', NextToken: big.NextToken })));
  assert.equal(e.code, 'InvalidNextToken');
  const lt = await errorOf(ec2.send(new DescribeInstanceTypeOfferingsCommand({ LocationType: 'planet' as 'region' })));
  assert.equal(lt.code, 'InvalidParameterValue');
  assert.match(lt.message, /planet/);
  const filter = await errorOf(ec2.send(new DescribeInstanceTypeOfferingsCommand({ Filters: [{ Name: 'vcpus', Values: ['2'] }] })));
  assert.equal(filter.code, 'InvalidParameterValue');
  assert.match(filter.message, /vcpus/);
  const dry = await errorOf(ec2.send(new DescribeInstanceTypeOfferingsCommand({ DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
});
