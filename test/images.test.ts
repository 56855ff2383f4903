/**
 * The public images configurations look up (DescribeImages with Owners + a `name` wildcard filter, then
 * the most recent one, as Terraform's `aws_ami` and Packer's `source_ami_filter` do), the Owners and
 * ExecutableUsers semantics, launching from them, and GetPasswordData for Windows instances — through
 * the SDK, and the AWS CLI once (`--priv-launch-key` decrypts what nestbox encrypts).
 */
import assert from 'node:assert/strict';
import { constants, createPrivateKey, privateDecrypt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import {
  CreateKeyPairCommand,
  DescribeImagesCommand,
  type DescribeImagesCommandInput,
  GetConsoleOutputCommand,
  GetPasswordDataCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { awsCli, awsMissing } from './aws-cli.js';
import {
  ARM_AMI,
  LINUX_AMI,
  type TestServer,
  WINDOWS_AMI,
  describeOne,
  errorOf,
  eventually,
  launchOne,
  startTestServer,
} from './helpers.js';
import { findImage } from '../src/domain/images.js';
import { PASSWORD_DELAY_MS } from '../src/domain/password-data.js';

const DEBIAN = '136693071363';
const CANONICAL = '099720109477';
const AMAZON_LINUX = '137112412989';
const AMAZON_WINDOWS = '801119661308';
const CALLER = '000000000000';

let server: TestServer;
let ec2: ReturnType<TestServer['client']>;
/** Added to the services' clock (GetPasswordData's "long enough after launch" reads it). */
let clockOffsetMs = 0;

before(async () => {
  server = await startTestServer();
  ec2 = server.client();
  const services = server.nestbox.services as { now: () => Date };
  const real = services.now;
  services.now = () => new Date(real().getTime() + clockOffsetMs);
});
after(async () => {
  await server?.close();
});

const images = async (input: DescribeImagesCommandInput): Promise<Image[]> => (await ec2.send(new DescribeImagesCommand(input))).Images ?? [];
const ids = (list: readonly Image[]) => list.map((i) => i.ImageId!).sort();
/** What `most_recent = true` does: the newest CreationDate. */
const mostRecent = (list: readonly Image[]) => [...list].sort((a, b) => (a.CreationDate! < b.CreationDate! ? 1 : -1))[0];
const byName = (owners: string[], ...names: string[]) => images({ Owners: owners, Filters: [{ Name: 'name', Values: names }] });

// --- the lookups real configurations make ------------------------------------------------------------

test('Debian 12: owner 136693071363 and debian-12-amd64-* / debian-12-arm64-*, two builds each', async () => {
  const amd64 = await byName([DEBIAN], 'debian-12-amd64-*');
  assert.deepEqual(ids(amd64), ['ami-0b5e4a1f2c3d41201', 'ami-0b5e4a1f2c3d41202']);
  const newest = mostRecent(amd64)!;
  assert.equal(newest.ImageId, 'ami-0b5e4a1f2c3d41202');
  assert.equal(newest.Name, 'debian-12-amd64-20261110-2294');
  assert.match(newest.Description ?? '', /^Debian 12 \(20261110-2294\) /);
  assert.equal(newest.OwnerId, DEBIAN);
  assert.equal(newest.ImageOwnerAlias, 'amazon');
  assert.equal(newest.ImageLocation, 'amazon/debian-12-amd64-20261110-2294');
  assert.equal(newest.Architecture, 'x86_64');
  assert.equal(newest.Platform, undefined);
  assert.equal(newest.PlatformDetails, 'Linux/UNIX');
  assert.equal(newest.UsageOperation, 'RunInstances');
  assert.equal(newest.Public, true);
  assert.equal(newest.State, 'available');
  assert.equal(newest.RootDeviceName, '/dev/xvda');
  assert.equal(newest.BlockDeviceMappings?.[0]?.DeviceName, '/dev/xvda');
  assert.match(newest.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '', /^snap-[0-9a-f]{17}$/);
  assert.equal(newest.EnaSupport, true);
  assert.equal(newest.SriovNetSupport, 'simple');
  // it boots nestbox's own Debian image under the qemu driver, as ami-0b5e4a1f2c3d40001 does
  assert.equal(findImage(newest.ImageId!)?.bootable, true);
  assert.equal(findImage(newest.ImageId!)?.variant, findImage(LINUX_AMI)?.variant);

  const arm64 = await byName([DEBIAN], 'debian-12-arm64-*');
  assert.deepEqual(ids(arm64), ['ami-0b5e4a1f2c3d41211', 'ami-0b5e4a1f2c3d41212']);
  assert.equal(mostRecent(arm64)?.Architecture, 'arm64');
  assert.equal(mostRecent(arm64)?.BootMode, 'uefi');
  assert.match(mostRecent(arm64)?.Description ?? '', /simulated/);
  assert.equal(findImage('ami-0b5e4a1f2c3d41212')?.bootable, false);
  // `?` matches one character
  assert.deepEqual(ids(await byName([DEBIAN], 'debian-12-amd64-2026111?-2294')), ['ami-0b5e4a1f2c3d41202']);
  assert.deepEqual(ids(await byName([DEBIAN], 'debian-12-*-20260914-2236')), ['ami-0b5e4a1f2c3d41201', 'ami-0b5e4a1f2c3d41211']);
});

test('Ubuntu 22.04 (hvm-ssd) and 24.04 (hvm-ssd-gp3) from Canonical, 099720109477', async () => {
  const jammy = await byName([CANONICAL], 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*');
  assert.deepEqual(ids(jammy), ['ami-0b5e4a1f2c3d42201', 'ami-0b5e4a1f2c3d42202']);
  const j = mostRecent(jammy)!;
  assert.equal(j.Name, 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261106');
  assert.match(j.Description ?? '', /^Canonical, Ubuntu, 22\.04, amd64 jammy image \(simulated/);
  assert.equal(j.OwnerId, CANONICAL);
  assert.equal(j.ImageOwnerAlias, 'amazon');
  assert.equal(j.ImageLocation, `amazon/${j.Name}`);
  assert.equal(j.DeprecationTime, '2028-11-06T07:41:08.000Z', 'two years after CreationDate');
  assert.deepEqual(
    j.BlockDeviceMappings?.slice(1),
    [
      { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
      { DeviceName: '/dev/sdc', VirtualName: 'ephemeral1' },
    ],
  );
  const noble = await byName([CANONICAL], 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*');
  assert.deepEqual(ids(noble), ['ami-0b5e4a1f2c3d42401', 'ami-0b5e4a1f2c3d42402']);
  assert.equal(mostRecent(noble)?.Name, 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261106');
  // 24.04 is not published under hvm-ssd, nor 22.04 under hvm-ssd-gp3
  assert.deepEqual(await byName([CANONICAL], 'ubuntu/images/hvm-ssd/ubuntu-noble-24.04-amd64-server-*'), []);
  assert.deepEqual(await byName([CANONICAL], 'ubuntu/images/hvm-ssd-gp3/ubuntu-jammy-*'), []);
  // the usual extra filters of such data sources
  const filtered = await images({
    Owners: [CANONICAL],
    Filters: [
      { Name: 'name', Values: ['ubuntu/images/*/ubuntu-noble-24.04-*-server-*'] },
      { Name: 'virtualization-type', Values: ['hvm'] },
      { Name: 'root-device-type', Values: ['ebs'] },
      { Name: 'architecture', Values: ['x86_64'] },
    ],
  });
  assert.deepEqual(ids(filtered), ids(noble));
});

test('Amazon Linux 2023 (owner alias amazon, account 137112412989): standard and minimal', async () => {
  const standard = await byName(['amazon'], 'al2023-ami-2023.*-kernel-6.1-x86_64');
  assert.deepEqual(ids(standard), ['ami-0b5e4a1f2c3d42301', 'ami-0b5e4a1f2c3d42302']);
  const a = mostRecent(standard)!;
  assert.equal(a.Name, 'al2023-ami-2023.11.20261110.0-kernel-6.1-x86_64');
  assert.match(a.Description ?? '', /^Amazon Linux 2023 AMI 2023\.11\.20261110\.0 x86_64 HVM kernel-6\.1 /);
  assert.equal(a.OwnerId, AMAZON_LINUX);
  assert.equal(a.ImageOwnerAlias, 'amazon');
  assert.equal(a.ImdsSupport, 'v2.0');
  assert.equal(a.BootMode, 'uefi-preferred');
  assert.equal(a.DeprecationTime, '2027-02-08T21:40:00.000Z', '90 days after CreationDate, to the minute');
  assert.deepEqual(a.BlockDeviceMappings?.[0]?.Ebs, {
    DeleteOnTermination: true,
    SnapshotId: 'snap-0b5e4a1f2c3d42302',
    VolumeSize: 8,
    VolumeType: 'gp3',
    Iops: 3000,
    Throughput: 125,
    Encrypted: false,
  });
  const minimal = await byName(['amazon'], 'al2023-ami-minimal-*');
  assert.deepEqual(ids(minimal), ['ami-0b5e4a1f2c3d42311', 'ami-0b5e4a1f2c3d42312']);
  assert.match(mostRecent(minimal)?.Description ?? '', / x86_64 Minimal HVM kernel-6\.1/);
  // by account ID as well as by alias
  assert.deepEqual(ids(await byName([AMAZON_LINUX], 'al2023-ami-*')), [...ids(standard), ...ids(minimal)].sort());
});

test('Windows Server 2022 and 2025 Full Base English (owner alias amazon, account 801119661308)', async () => {
  const w2022 = await byName(['amazon'], 'Windows_Server-2022-English-Full-Base-*');
  assert.deepEqual(ids(w2022), ['ami-0b5e4a1f2c3d43201', 'ami-0b5e4a1f2c3d43202']);
  const w = mostRecent(w2022)!;
  assert.equal(w.Name, 'Windows_Server-2022-English-Full-Base-2026.11.12');
  assert.match(w.Description ?? '', /^Microsoft Windows Server 2022 Full Locale English AMI provided by Amazon \(simulated/);
  assert.equal(w.OwnerId, AMAZON_WINDOWS);
  assert.equal(w.Platform, 'windows');
  assert.equal(w.PlatformDetails, 'Windows');
  assert.equal(w.UsageOperation, 'RunInstances:0002');
  assert.equal(w.RootDeviceName, '/dev/sda1');
  assert.equal(w.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize, 30);
  const w2025 = await byName(['amazon'], 'Windows_Server-2025-English-Full-Base-*');
  assert.deepEqual(ids(w2025), ['ami-0b5e4a1f2c3d43251', 'ami-0b5e4a1f2c3d43252']);
  assert.equal(mostRecent(w2025)?.Name, 'Windows_Server-2025-English-Full-Base-2026.11.12');
  // nestbox's own Windows image is Amazon's Windows account's too, and keeps its name
  const [own] = await images({ ImageIds: [WINDOWS_AMI] });
  assert.equal(own?.OwnerId, AMAZON_WINDOWS);
  assert.equal(own?.Name, 'Windows_Server-2022-English-Full-Base');
});

test('the existing image IDs answer as before', async () => {
  const own = await images({ ImageIds: [LINUX_AMI, ARM_AMI, WINDOWS_AMI, 'ami-0b5e4a1f2c3d40004'] });
  assert.equal(own.length, 4);
  const linux = own.find((i) => i.ImageId === LINUX_AMI)!;
  assert.equal(linux.Name, 'nestbox/debian-12-amd64-kvm');
  assert.equal(linux.OwnerId, DEBIAN);
  assert.equal(linux.ImdsSupport, 'v2.0');
  assert.equal(linux.DeprecationTime, undefined);
  // every image, unscoped, includes them and the public catalogue
  const all = await images({});
  for (const id of [LINUX_AMI, ARM_AMI, WINDOWS_AMI, 'ami-0b5e4a1f2c3d40004', 'ami-0b5e4a1f2c3d41202', 'ami-0b5e4a1f2c3d43252']) {
    assert.ok(all.some((i) => i.ImageId === id), id);
  }
});

// --- Owners, ExecutableUsers, owner filters, errors ------------------------------------------------

test('Owners: self (none of these), amazon (all: Debian and Canonical show the alias amazon), account IDs, aws-marketplace', async () => {
  const all = await images({});
  assert.deepEqual(await images({ Owners: ['self'] }), []);
  assert.deepEqual(await images({ Owners: [CALLER] }), [], "the caller's own account owns no built-in image");
  assert.deepEqual(await images({ Owners: ['aws-marketplace'] }), []);
  assert.deepEqual(await images({ Owners: ['aws-backup-vault'] }), []);
  assert.deepEqual(ids(await images({ Owners: ['amazon'] })), ids(all));
  assert.deepEqual(ids(await images({ Owners: ['self', 'amazon'] })), ids(all), 'owners are ORed');
  const canonical = await images({ Owners: [CANONICAL] });
  assert.deepEqual(ids(canonical), ['ami-0b5e4a1f2c3d42201', 'ami-0b5e4a1f2c3d42202', 'ami-0b5e4a1f2c3d42401', 'ami-0b5e4a1f2c3d42402']);
  assert.deepEqual(ids(await images({ Owners: [CANONICAL, AMAZON_WINDOWS] })).length, 4 + 5);
  assert.deepEqual(await images({ Owners: ['123456789012'] }), []);
  // owners and filters are ANDed
  assert.deepEqual(await byName([CANONICAL], 'debian-12-*'), []);
  // the owner filters
  assert.deepEqual(ids(await images({ Filters: [{ Name: 'owner-alias', Values: ['amazon'] }] })), ids(all));
  assert.deepEqual(await images({ Filters: [{ Name: 'owner-alias', Values: ['aws-marketplace'] }] }), []);
  assert.deepEqual(ids(await images({ Filters: [{ Name: 'owner-id', Values: [CANONICAL] }] })), ids(canonical));
  assert.deepEqual(ids(await images({ Filters: [{ Name: 'owner-id', Values: ['0997*'] }] })), ids(canonical));
  // ExecutableUsers: all keeps public images; self and account IDs keep those shared with them (none)
  assert.deepEqual(ids(await images({ ExecutableUsers: ['all'] })), ids(all));
  assert.deepEqual(await images({ ExecutableUsers: ['self'] }), []);
  assert.deepEqual(await images({ ExecutableUsers: [DEBIAN] }), []);
});

test('malformed Owners or ExecutableUsers: InvalidUserID.Malformed; unknown filter, image IDs, DryRun', async () => {
  for (const owner of ['bogus', '12345', 'Amazon', '1234567890123']) {
    const e = await errorOf(ec2.send(new DescribeImagesCommand({ Owners: [owner] })));
    assert.equal(e.code, 'InvalidUserID.Malformed', owner);
    assert.equal(e.status, 400);
    assert.ok(e.message.includes(owner), e.message);
  }
  const users = await errorOf(ec2.send(new DescribeImagesCommand({ ExecutableUsers: ['amazon'] })));
  assert.equal(users.code, 'InvalidUserID.Malformed');
  const filter = await errorOf(ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'owner', Values: ['amazon'] }] })));
  assert.equal(filter.code, 'InvalidParameterValue');
  assert.ok(filter.message.includes("'owner'"));
  const missing = await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0b5e4a1f2c3d49999'] })));
  assert.equal(missing.code, 'InvalidAMIID.NotFound');
  const dry = await errorOf(ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  assert.equal(dry.status, 412);
  // an image named by ID is found whatever owner it has, as long as the owner list allows it
  assert.deepEqual(await images({ ImageIds: ['ami-0b5e4a1f2c3d41202'], Owners: ['self'] }), []);
  assert.equal((await images({ ImageIds: ['ami-0b5e4a1f2c3d41202'], Owners: [DEBIAN] })).length, 1);
});

test('pages of the catalogue with MaxResults and NextToken', async () => {
  const all = ids(await images({ Owners: ['amazon'] }));
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const r = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], MaxResults: 5, ...(token ? { NextToken: token } : {}) }));
    seen.push(...(r.Images ?? []).map((i) => i.ImageId!));
    token = r.NextToken;
  } while (token);
  assert.deepEqual(seen.sort(), all);
});

// --- launching from them ---------------------------------------------------------------------------

test('RunInstances from Debian 12, Ubuntu and Windows images; the simulated console says the image is simulated', async () => {
  const debian = mostRecent(await byName([DEBIAN], 'debian-12-amd64-*'))!;
  const noble = mostRecent(await byName([CANONICAL], 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*'))!;
  const win = mostRecent(await byName(['amazon'], 'Windows_Server-2025-English-Full-Base-*'))!;
  const d = await launchOne(ec2, { ImageId: debian.ImageId, InstanceType: 'c8i.large', CpuOptions: { NestedVirtualization: 'enabled' } });
  assert.equal(d.ImageId, debian.ImageId);
  const u = await launchOne(ec2, { ImageId: noble.ImageId, InstanceType: 't3.micro' });
  assert.equal(u.ImageId, noble.ImageId);
  assert.equal(u.MetadataOptions?.HttpTokens, 'optional', 'Ubuntu does not mark its images IMDSv2-only');
  const w = await launchOne(ec2, { ImageId: win.ImageId, InstanceType: 'm8i.large' });
  assert.equal(w.Platform, 'windows');
  assert.equal(w.MetadataOptions?.HttpTokens, 'required');
  // arm64 images need an arm64 type
  const arm = await errorOf(launchOne(ec2, { ImageId: 'ami-0b5e4a1f2c3d41212', InstanceType: 't3.micro' }));
  assert.equal(arm.code, 'InvalidParameterValue');
  assert.ok((await launchOne(ec2, { ImageId: 'ami-0b5e4a1f2c3d41212', InstanceType: 'm7g.large' })).InstanceId);

  for (const i of [d, u, w]) await eventually(async () => ((await describeOne(ec2, i.InstanceId!)).State?.Name === 'running' ? true : undefined));
  const consoleOf = async (id: string) =>
    eventually(async () => {
      const out = (await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }))).Output;
      return out ? Buffer.from(out, 'base64').toString('utf8') : undefined;
    });
  assert.match(await consoleOf(u.InstanceId!), new RegExp(`image ${noble.ImageId} \\(${noble.Name!.replace(/[.]/g, '\\.')}\\) is simulated`));
  assert.match(await consoleOf(w.InstanceId!), /Windows_Server-2025-English-Full-Base-2026\.11\.12\) is simulated/);
  // (the test server has no qemu driver, so the Debian instance is simulated here too, and says so)
  assert.match(await consoleOf(d.InstanceId!), /debian-12-amd64-20261110-2294\) is simulated/);
});

// --- GetPasswordData -------------------------------------------------------------------------------

/** PKCS#1 v1.5 decryption by hand (Node 20 refuses RSA_PKCS1_PADDING for private decryption: CVE-2023-46809). */
function decryptPkcs1(privatePem: string, b64: string): string {
  const em = privateDecrypt({ key: createPrivateKey(privatePem), padding: constants.RSA_NO_PADDING }, Buffer.from(b64, 'base64'));
  assert.equal(em[0], 0);
  assert.equal(em[1], 2, 'block type 2 (encryption)');
  const sep = em.indexOf(0, 2);
  assert.ok(sep >= 10, 'at least 8 bytes of nonzero padding');
  return em.subarray(sep + 1).toString('utf8');
}

describe('GetPasswordData', () => {
  let pem: string;
  let win: string;
  before(async () => {
    clockOffsetMs = 0;
    const key = await ec2.send(new CreateKeyPairCommand({ KeyName: 'windows-rsa', KeyType: 'rsa' }));
    pem = key.KeyMaterial!;
    assert.match(pem, /^-----BEGIN RSA PRIVATE KEY-----/);
    win = (await launchOne(ec2, { ImageId: 'ami-0b5e4a1f2c3d43202', InstanceType: 'm8i.large', KeyName: 'windows-rsa' })).InstanceId!;
  });
  const get = (InstanceId: string, client = ec2) => client.send(new GetPasswordDataCommand({ InstanceId }));

  test('empty until the Windows instance has run for PASSWORD_DELAY_MS, then RSA-encrypted with the key pair', async () => {
    const first = await get(win);
    assert.equal(first.InstanceId, win);
    assert.equal(first.PasswordData, '');
    const launched = await describeOne(ec2, win);
    assert.equal(first.Timestamp?.toISOString(), launched.LaunchTime?.toISOString());
    await eventually(async () => ((await describeOne(ec2, win)).State?.Name === 'running' ? true : undefined));
    assert.equal((await get(win)).PasswordData, '', 'running, but not long enough yet');
    clockOffsetMs = PASSWORD_DELAY_MS - 2000;
    assert.equal((await get(win)).PasswordData, '');
    clockOffsetMs = PASSWORD_DELAY_MS + 1000;
    const ready = await get(win);
    assert.ok(ready.PasswordData, 'a password once long enough');
    assert.equal(ready.Timestamp?.getTime(), launched.LaunchTime!.getTime() + PASSWORD_DELAY_MS);
    assert.equal(Buffer.from(ready.PasswordData!, 'base64').length, 256, 'one 2048-bit RSA block');
    const password = decryptPkcs1(pem, ready.PasswordData!);
    assert.match(password, /^[\x21-\x7e]{32}$/);
    assert.match(password, /[a-z]/);
    assert.match(password, /[A-Z]/);
    assert.match(password, /[0-9]/);
    assert.match(password, /[^A-Za-z0-9]/);
    // the same blob every time, as EC2 answers what EC2Launch posted once
    assert.equal((await get(win)).PasswordData, ready.PasswordData);
  });

  test('Linux instances and Windows instances without a key pair: empty PasswordData', async () => {
    clockOffsetMs = 0;
    const linux = (await launchOne(ec2, { KeyName: 'windows-rsa' })).InstanceId!;
    const keyless = (await launchOne(ec2, { ImageId: 'ami-0b5e4a1f2c3d43252', InstanceType: 'm8i.large' })).InstanceId!;
    for (const id of [linux, keyless]) await eventually(async () => ((await describeOne(ec2, id)).State?.Name === 'running' ? true : undefined));
    clockOffsetMs = 60 * 60_000;
    for (const id of [linux, keyless]) {
      const r = await get(id);
      assert.equal(r.InstanceId, id);
      assert.equal(r.PasswordData, '');
      assert.ok(r.Timestamp instanceof Date);
    }
  });

  test('errors: InstanceId required, malformed, unknown, another Region; DryRun', async () => {
    const missing = await errorOf(ec2.send(new GetPasswordDataCommand({} as { InstanceId: string })));
    assert.equal(missing.code, 'MissingParameter');
    assert.ok(missing.message.includes('InstanceId'));
    const malformed = await errorOf(get('i-123'));
    assert.equal(malformed.code, 'InvalidInstanceID.Malformed');
    const unknown = await errorOf(get('i-0123456789abcdef0'));
    assert.equal(unknown.code, 'InvalidInstanceID.NotFound');
    assert.ok(unknown.message.includes('i-0123456789abcdef0'));
    const elsewhere = await errorOf(get(win, server.client('eu-west-1')));
    assert.equal(elsewhere.code, 'InvalidInstanceID.NotFound');
    const dry = await errorOf(ec2.send(new GetPasswordDataCommand({ InstanceId: win, DryRun: true })));
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal(dry.status, 412);
  });

  test('Windows refuses an Ed25519 key pair at launch (EC2: Unsupported)', async () => {
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'windows-ed', KeyType: 'ed25519' }));
    const e = await errorOf(launchOne(ec2, { ImageId: 'ami-0b5e4a1f2c3d43202', InstanceType: 'm8i.large', KeyName: 'windows-ed' }));
    assert.equal(e.code, 'Unsupported');
  });

  test('AWS CLI: describe-images --owners … --filters name=…, and get-password-data --priv-launch-key', { skip: awsMissing() }, async () => {
    const cli = awsCli(server.endpoint);
    try {
      const found = await cli.ec2Json('describe-images', '--owners', DEBIAN, '--filters', 'Name=name,Values=debian-12-amd64-*');
      assert.deepEqual(found.Images.map((i: Image) => i.ImageId).sort(), ['ami-0b5e4a1f2c3d41201', 'ami-0b5e4a1f2c3d41202']);
      const bogus = await cli.ec2Fails('describe-images', '--owners', 'bogus');
      assert.match(bogus, /InvalidUserID\.Malformed/);
      clockOffsetMs = PASSWORD_DELAY_MS + 1000;
      const keyFile = join(server.dataDir, 'windows-rsa.pem');
      writeFileSync(keyFile, pem, { mode: 0o600 });
      const decrypted = await cli.ec2Json('get-password-data', '--instance-id', win, '--priv-launch-key', keyFile);
      const raw = await get(win);
      assert.equal(decrypted.PasswordData, decryptPkcs1(pem, raw.PasswordData!));
    } finally {
      cli.close();
    }
  });
});

describe('user images: pure rules (src/domain/images.ts)', () => {
  test('AMI names: 3 to 128 characters of EC2 set', async () => {
    const { AMI_NAME } = await import('../src/domain/images.js');
    for (const ok of ['abc', "my image (v1) [x] ./-'@_", 'a'.repeat(128)]) assert.ok(AMI_NAME.test(ok), ok);
    for (const bad of ['ab', 'a'.repeat(129), 'x!y', 'tab\there', 'é-name']) assert.ok(!AMI_NAME.test(bad), bad);
  });

  test('an image state follows its snapshots: pending, available, failed', async () => {
    const { userImageState } = await import('../src/domain/images.js');
    assert.equal(userImageState(['completed', 'pending']), 'pending');
    assert.equal(userImageState(['completed', 'completed']), 'available');
    assert.equal(userImageState(['completed', 'error']), 'failed');
    assert.equal(userImageState(['completed', undefined]), 'failed', 'a snapshot gone');
  });
});
