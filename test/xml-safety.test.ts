/**
 * Any text is safe to send back: a seeded property test puts random Unicode — control characters,
 * U+FFFE/U+FFFF, unpaired surrogates (sent as the bytes a careless encoder makes of them), markup,
 * astral characters, long runs — into every string member of every operation nestbox implements
 * (test/input-keys.ts, the walker the robustness test uses; over a valid request where the operation
 * needs one to get past its first checks), into parameter names, Action and Version, and parses EVERY
 * response, then every Describe/Get answer over what was stored, with a strict XML 1.0 parser (saxes)
 * after a strict UTF-8 decode. Nothing stored may come back altered: the generator never makes U+FFFD,
 * so a U+FFFD in a read-back document is a stored character the writer had to replace.
 *
 * Bounded: a few thousand requests and a 10 s budget (the seed is printed; NESTBOX_XML_SEED=… reruns one).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CreateKeyPairCommand,
  CreateLaunchTemplateCommand,
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeTagsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { SaxesParser } from 'saxes';
import { OPERATIONS } from '../src/api/operations.js';
import { DEFAULTS } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { type Nestbox, startNestbox } from '../src/main.js';
import { EC2_XMLNS } from '../src/protocol/xml-writer.js';
import { operationSchema } from '../src/protocol/schema.js';
import { CREDENTIALS, LINUX_AMI, errorOf } from './helpers.js';
import { scalarKeysOf } from './input-keys.js';
import { rng } from './fixtures.js';

const SEED = Number(process.env.NESTBOX_XML_SEED ?? 20261203);
const BUDGET_MS = 10_000;
const VALUES_PER_MEMBER = 6;

// --- a small seeded generator ---------------------------------------------------------------------

const random = rng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
const between = (lo: number, hi: number) => lo + int(hi - lo + 1);

/** Kinds of character, each as a maker of one (or two, for a surrogate pair) code units. Never U+FFFD. */
const CHARS: readonly (() => string)[] = [
  () => String.fromCharCode(int(0x20)), // C0 controls, tab/LF/CR among them
  () => pick(['\u0000', '\u0001', '\u0008', '\u000b', '\u000c', '\u001f', '\t', '\n', '\r', '\r\n']),
  () => pick(['&', '<', '>', '"', "'", ']]>', '<![CDATA[', '&amp;', '&#1;', '<?xml', '-->', '=', '.', '%', '+']),
  () => pick(['\uFFFE', '\uFFFF', '\uFDD0', '\u{1FFFE}', '\u{10FFFF}']), // non-characters (only the first two are not XML)
  () => String.fromCharCode(between(0xd800, 0xdfff)), // an unpaired surrogate half
  () => String.fromCharCode(between(0x7f, 0x9f)), // DEL and C1 controls (legal XML 1.0)
  () => String.fromCodePoint(between(0x1f300, 0x1faff)), // emoji: surrogate pairs
  () => pick(['é', 'ß', '日本', '한', 'ع', '\u200f', '\u0301', '\u202e', '\u00a0', '\u2028']),
  () => {
    let c = between(0x20, 0xfffd);
    if (c >= 0xd800 && c <= 0xdfff) c -= 0x1000; // stays in the BMP, no lone halves here
    return String.fromCharCode(c);
  },
  () => String.fromCharCode(between(0x30, 0x7a)),
];

function randomText(): string {
  const r = random();
  const length = r < 0.05 ? 0 : r < 0.9 ? between(1, 12) : between(100, 300);
  let s = '';
  for (let i = 0; i < length; i++) s += pick(CHARS)();
  return s;
}

// --- the wire ---------------------------------------------------------------------------------------

/**
 * application/x-www-form-urlencoded, each UTF-16 code unit of an unpaired surrogate written as the
 * three bytes a careless (CESU/WTF-8) encoder makes of it, so the server sees bytes that are not UTF-8.
 */
function encode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`;
    } else {
      out += encodeURIComponent(s[i] as string);
    }
  }
  return out;
}

const form = (params: Record<string, string>) =>
  Object.entries(params)
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&');

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Problems of one document: not UTF-8, not well-formed XML, or not the envelope its status calls for.
 * `readBack`: the request carried no random text, so a U+FFFD in its answer is stored text the writer
 * had to replace (the generator never makes U+FFFD; answers to the random requests may echo their input).
 */
function checkDocument(bytes: Uint8Array, status: number, action: string | undefined, readBack = false): string[] {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return ['the body is not UTF-8'];
  }
  const problems: string[] = [];
  const roots: { name: string; ns: string | undefined }[] = [];
  let depth = 0;
  const parser = new SaxesParser({ xmlns: true });
  parser.on('error', (e) => problems.push(`not well-formed XML: ${e.message}`));
  parser.on('opentag', (t) => {
    if (depth++ === 0) roots.push({ name: t.local, ns: t.uri || undefined });
  });
  parser.on('closetag', () => depth--);
  try {
    parser.write(text).close();
  } catch (e) {
    problems.push(`not well-formed XML: ${(e as Error).message}`);
  }
  if (problems.length > 0) return problems;
  if (roots.length !== 1) return [`${roots.length} root elements`];
  const root = roots[0]!;
  if (status === 200) {
    if (action && (root.name !== `${action}Response` || root.ns !== EC2_XMLNS)) problems.push(`root <${root.name}> in ${root.ns}`);
  } else if (root.name !== 'Response' || root.ns !== undefined) {
    problems.push(`error root <${root.name}>`);
  }
  if (readBack && text.includes('\uFFFD')) problems.push('U+FFFD in a read-back document: stored text came back altered');
  return problems;
}

// --- the server -------------------------------------------------------------------------------------

let nestbox: Nestbox;
let dataDir: string;
const unexpected: string[] = [];
const log: Logger = {
  info: () => {},
  request: () => {},
  warn: (line) => {
    if (line.startsWith('InternalError')) unexpected.push(line.slice(0, 500));
  },
};

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'nestbox-xml-'));
  nestbox = await startNestbox(
    { ...DEFAULTS, port: 0, dataDir, driver: 'simulated', simulatedDelayMs: 20, quiet: true, credentials: undefined },
    log,
  );
});
after(async () => {
  await nestbox.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Sent {
  readonly status: number;
  readonly problems: string[];
  readonly text: string;
}

async function send(body: string, action: string | undefined, readBack = false): Promise<Sent> {
  const res = await fetch(nestbox.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const problems = checkDocument(bytes, res.status, action, readBack);
  if (res.status >= 500 && !(res.status === 501 && Buffer.from(bytes).includes('<Code>NotImplemented</Code>'))) {
    problems.push(`HTTP ${res.status}`);
  }
  return { status: res.status, problems, text: Buffer.from(bytes).toString('utf8') };
}

const call = (action: string, params: Record<string, string>, readBack = false) =>
  send(form({ Action: action, Version: '2016-11-15', ...params }), action, readBack);

/** Valid requests for the operations that need one before a member reaches storage or deeper checks. */
async function bases(): Promise<Record<string, () => Record<string, string>>> {
  const first = async (action: string, params: Record<string, string>, element: string) => {
    const r = await call(action, params);
    const id = new RegExp(`<${element}>([^<]+)</${element}>`).exec(r.text)?.[1];
    assert.ok(id, `${action}: ${r.text.slice(0, 300)}`);
    return id;
  };
  const instanceId = await first('RunInstances', { ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: '1', MaxCount: '1' }, 'instanceId');
  const templateId = await first(
    'CreateLaunchTemplate',
    { LaunchTemplateName: 'xml-safety-base', 'LaunchTemplateData.ImageId': LINUX_AMI, 'LaunchTemplateData.InstanceType': 't3.micro' },
    'launchTemplateId',
  );
  const hostId = await first('AllocateHosts', { AvailabilityZone: 'us-east-1a', InstanceFamily: 'r8i', Quantity: '1' }, 'item');
  const publicKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  const blob = Buffer.concat([Buffer.from('\0\0\0\x0bssh-ed25519\0\0\0\x20', 'latin1'), publicKey]);
  let n = 0;
  const unique = (prefix: string) => `${prefix}-${++n}`;
  const instance = () => ({ InstanceId: instanceId });
  const instances = () => ({ 'InstanceId.1': instanceId });
  return {
    RunInstances: () => ({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: '1', MaxCount: '1' }),
    CreateTags: () => ({ 'ResourceId.1': instanceId, 'Tag.1.Key': unique('k'), 'Tag.1.Value': 'v' }),
    DeleteTags: () => ({ 'ResourceId.1': instanceId }),
    CreateLaunchTemplate: () => ({ LaunchTemplateName: unique('xml-lt'), 'LaunchTemplateData.ImageId': LINUX_AMI }),
    CreateLaunchTemplateVersion: () => ({ LaunchTemplateId: templateId, 'LaunchTemplateData.InstanceType': 't3.small' }),
    ModifyLaunchTemplate: () => ({ LaunchTemplateId: templateId }),
    DescribeLaunchTemplateVersions: () => ({ LaunchTemplateId: templateId }),
    CreateKeyPair: () => ({ KeyName: unique('xml-key'), KeyType: 'ed25519' }),
    ImportKeyPair: () => ({ KeyName: unique('xml-import'), PublicKeyMaterial: Buffer.from(`ssh-ed25519 ${blob.toString('base64')} c`).toString('base64') }),
    AllocateHosts: () => ({ AvailabilityZone: 'us-east-1a', InstanceFamily: 'r8i', Quantity: '1' }),
    ModifyHosts: () => ({ 'HostId.1': hostId }),
    ModifyInstanceAttribute: instance,
    ModifyInstanceCpuOptions: instance,
    ModifyInstanceMetadataOptions: instance,
    ModifyInstancePlacement: instance,
    DescribeInstanceAttribute: () => ({ InstanceId: instanceId, Attribute: 'userData' }),
    GetConsoleOutput: instance,
    GetLaunchTemplateData: instance,
    MonitorInstances: instances,
    UnmonitorInstances: instances,
    RebootInstances: instances,
    ModifyInstanceCreditSpecification: () => ({ 'InstanceCreditSpecification.1.InstanceId': instanceId, 'InstanceCreditSpecification.1.CpuCredits': 'standard' }),
    CreateFleet: () => ({
      Type: 'instant',
      'LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId': templateId,
      'LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version': '1',
      'TargetCapacitySpecification.TotalTargetCapacity': '1',
      'TargetCapacitySpecification.DefaultTargetCapacityType': 'on-demand',
    }),
  };
}

test(`every response is well-formed XML whatever Unicode is sent, and stored text comes back exactly (seed ${SEED})`, async (t) => {
  const started = Date.now();
  const base = await bases();
  const failures: string[] = [];
  let requests = 0;
  const record = (what: string, r: Sent) => {
    requests++;
    if (r.problems.length > 0 && failures.length < 20) failures.push(`${what} → ${r.status}: ${r.problems.join('; ')}\n    ${r.text.slice(0, 400)}`);
  };
  const actions = Object.keys(OPERATIONS);

  // The envelope: random actions, versions and parameter names, raw bytes that are not UTF-8.
  for (let i = 0; i < 60; i++) {
    const action = randomText();
    record(`Action=${JSON.stringify(action)}`, await send(form({ Action: action, Version: '2016-11-15' }), undefined));
    const real = pick(actions);
    record(`${real} Version`, await send(form({ Action: real, Version: randomText() }), real));
    const name = randomText();
    record(`${real} ${JSON.stringify(name)}=1`, await call(real, { ...base[real]?.(), [name]: '1' }));
  }
  for (const raw of ['Action=Foo%01', 'Action=Foo\x01', 'Action=%EF%BF%BE', 'Action=%ED%A0%80', 'Action=DescribeTags&%01=1', 'Action=DescribeTags&Filter.1.Name=%0B&Filter.1.Value.1=x']) {
    record(raw, await send(raw, undefined));
  }
  const rawBytes = Buffer.concat([Buffer.from('Action=DescribeInstances&Version=2016-11-15&InstanceId.1='), Buffer.from([0xff, 0xfe, 0x01, 0xed, 0xa0, 0x80])]);
  const res = await fetch(nestbox.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: rawBytes });
  record('raw bytes', { status: res.status, problems: checkDocument(new Uint8Array(await res.arrayBuffer()), res.status, 'DescribeInstances'), text: '' });

  // Every string member of every operation, one at a time over the operation's valid request, then all at once.
  const members = actions.flatMap((action) =>
    scalarKeysOf(operationSchema(action)!.input)
      .filter((k) => k.kind === 'string')
      .map((k) => ({ action, key: k.key })),
  );
  let covered = 0;
  for (let round = 0; round < VALUES_PER_MEMBER; round++) {
    for (const { action, key } of members) {
      if (round > 0 && Date.now() - started > BUDGET_MS) break;
      const value = randomText();
      record(`${action} ${key}=${JSON.stringify(value)}`, await call(action, { ...base[action]?.(), [key]: value }));
      if (round === 0) covered++;
    }
  }
  for (const action of actions) {
    const all: Record<string, string> = { ...base[action]?.() };
    for (const { key } of members.filter((m) => m.action === action)) if (random() < 0.3) all[key] = randomText();
    record(`${action} (many members)`, await call(action, all));
  }

  // What was stored, read back by every read operation, and every version of every template.
  for (const action of actions.filter((a) => /^(Describe|Get)/.test(a))) {
    record(`${action} (read back)`, await call(action, base[action]?.() ?? {}, true));
  }
  const templates = await call('DescribeLaunchTemplates', {}, true);
  record('DescribeLaunchTemplates (read back)', templates);
  const templateIds = [...templates.text.matchAll(/<launchTemplateId>([^<]+)<\/launchTemplateId>/g)].map((m) => m[1] as string);
  assert.ok(templateIds.length > 1, templates.text.slice(0, 300));
  for (const id of templateIds) record(`DescribeLaunchTemplateVersions ${id} (read back)`, await call('DescribeLaunchTemplateVersions', { LaunchTemplateId: id }, true));

  const ms = Date.now() - started;
  assert.equal(covered, members.length, 'every string member got at least one random value');
  assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} bad responses`);
  assert.deepEqual(unexpected, [], 'the server logged unexpected errors');
  assert.ok(requests > members.length, `only ${requests} requests`);
  t.diagnostic(`${requests} requests, ${members.length} string members, ${ms} ms, seed ${SEED}`);
});

// --- the decisions, member by member ---------------------------------------------------------------

const sdk = () => new EC2Client({ endpoint: nestbox.endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
const NOT_ALLOWED = /^Value \(.*\) for parameter (.+) is invalid\. It contains the character (U\+[0-9A-F]{4}); control characters other than tab, line feed and carriage return, U\+FFFE, U\+FFFF and unpaired surrogates are not allowed\.$/s;

async function refused(p: Promise<unknown>): Promise<{ param: string; char: string }> {
  const e = await errorOf(p);
  assert.equal(e.code, 'InvalidParameterValue', e.message);
  assert.equal(e.status, 400);
  const m = NOT_ALLOWED.exec(e.message);
  assert.ok(m, e.message);
  return { param: m[1] as string, char: m[2] as string };
}

test('stored free text refuses characters XML cannot carry, naming the member; everything else round-trips exactly', async () => {
  const ec2 = sdk();
  try {
    const [instance] = (await ec2.send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))).Instances ?? [];
    const id = instance!.InstanceId!;
    const count = async () => ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).length;
    const launched = await count();

    // tags: CreateTags and TagSpecifications
    assert.deepEqual(await refused(ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'a\u0001', Value: 'v' }] }))), { param: 'tag key', char: 'U+0001' });
    assert.deepEqual(await refused(ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k', Value: 'x\uFFFE' }] }))), { param: 'tag value', char: 'U+FFFE' });
    assert.deepEqual(
      await refused(
        ec2.send(
          new RunInstancesCommand({
            ImageId: LINUX_AMI, MinCount: 1, MaxCount: 1,
            TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'bell\u0007' }] }],
          }),
        ),
      ),
      { param: 'tag value', char: 'U+0007' },
    );
    assert.equal(await count(), launched, 'the refused launch launched nothing');

    // ClientToken: printable ASCII (EC2: "up to 64 ASCII characters")
    for (const token of ['tok\u0001', 'tök', 'x\u007f']) {
      const e = await errorOf(ec2.send(new RunInstancesCommand({ ImageId: LINUX_AMI, MinCount: 1, MaxCount: 1, ClientToken: token })));
      assert.equal(e.code, 'InvalidParameterValue');
      assert.match(e.message, /for parameter clientToken is invalid\. The client token must be at most 64 ASCII characters\.$/);
    }
    const token = `~ ${'!'.repeat(30)}A-z`;
    await ec2.send(new RunInstancesCommand({ ImageId: LINUX_AMI, MinCount: 1, MaxCount: 1, ClientToken: token }));
    const e = await errorOf(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'tok-lt', LaunchTemplateData: { ImageId: LINUX_AMI }, ClientToken: 'a\u0000' })));
    assert.match(e.message, /parameter ClientToken is invalid/);

    // launch templates: the description, and every string of the data
    assert.deepEqual(
      await refused(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'desc-lt', VersionDescription: 'v1\u001f', LaunchTemplateData: { ImageId: LINUX_AMI } }))),
      { param: 'VersionDescription', char: 'U+001F' },
    );
    assert.deepEqual(
      await refused(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'data-lt', LaunchTemplateData: { ImageId: LINUX_AMI, UserData: 'ab\u0002' } }))),
      { param: 'launchTemplateData.UserData', char: 'U+0002' },
    );
    assert.deepEqual(
      await refused(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'deep-lt', LaunchTemplateData: { ImageId: LINUX_AMI, Placement: { GroupName: 'g\uFFFF' } } }))),
      { param: 'launchTemplateData.Placement.GroupName', char: 'U+FFFF' },
    );
    // key names were printable ASCII already
    assert.equal((await errorOf(ec2.send(new CreateKeyPairCommand({ KeyName: 'k\u0001' })))).code, 'InvalidParameterValue');

    // What is allowed comes back exactly: any other Unicode, tab/LF/CR, markup, U+FFFD, C1 controls, astral non-characters.
    const values: Record<string, string> = {
      unicode: 'é 日本 한국어 עברית 🚀 \u{1F9D1}\u200D\u{1F4BB}',
      whitespace: '\ta\nb\r\nc\r',
      markup: `<x a="1">&amp; ]]> <![CDATA[ '`,
      unusual: '\uFFFD \u0085 \u009f \u007f \uFDD0 \u{1FFFE} \u{10FFFF} \u2028',
      [`kéy\t日本`]: '',
    };
    await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: Object.entries(values).map(([Key, Value]) => ({ Key, Value })) }));
    const tags = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [id] }] }));
    assert.deepEqual(Object.fromEntries((tags.Tags ?? []).map((t) => [t.Key, t.Value])), values);
    await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'unicode-lt', VersionDescription: values.unicode, LaunchTemplateData: { ImageId: LINUX_AMI } }));
    const v = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'unicode-lt' }));
    assert.equal(v.LaunchTemplateVersions?.[0]?.VersionDescription, values.unicode);
  } finally {
    ec2.destroy();
  }
});

test('errors that echo input are well-formed: the characters XML cannot carry come back as U+FFFD', async () => {
  const invalid = await send('Action=Foo%01%EF%BF%BF', undefined);
  assert.deepEqual(invalid.problems, []);
  assert.match(invalid.text, /<Code>InvalidAction<\/Code><Message>The action Foo\uFFFD\uFFFD is not valid for this web service\.<\/Message>/);
  const unknown = await send(form({ Action: 'DescribeInstances', Version: '2016-11-15', 'Bad\u0000Name': '1' }), 'DescribeInstances');
  assert.deepEqual(unknown.problems, []);
  assert.match(unknown.text, /<Code>UnknownParameter<\/Code><Message>The parameter Bad\uFFFDName is not recognized<\/Message>/);
  const value = await send(form({ Action: 'DescribeInstances', Version: '2016-11-15', MaxResults: '5\u0008' }), 'DescribeInstances');
  assert.deepEqual(value.problems, []);
  assert.match(value.text, /Value \(5\uFFFD\) for parameter MaxResults is invalid/);
});

test('text stored before these checks (an older database) is still sent as well-formed XML', async () => {
  const ec2 = sdk();
  try {
    const [instance] = (await ec2.send(new RunInstancesCommand({ ImageId: LINUX_AMI, MinCount: 1, MaxCount: 1 }))).Instances ?? [];
    const id = instance!.InstanceId!;
    const store = nestbox.services.store;
    const { account, region } = (await store.instance(id))!;
    await store.commit({
      putTags: [{ resourceId: id, resourceType: 'instance', account, region, key: 'legacy\u0001', value: 'bad\u0000\uFFFF\ud800' }],
    });
    // NUL and U+FFFF come back from the database as they were; the lone surrogate as the database's UTF-8
    // keeps it (SQLite: three bytes, read back as three U+FFFD). Each of them is sent as U+FFFD.
    const stored = (await store.tagsOf(id)).get('legacy\u0001') ?? '';
    assert.match(stored, /^bad\u0000\uFFFF(\ud800|\uFFFD+)$/);
    const sent = `bad${'\uFFFD'.repeat(stored.length - 'bad'.length)}`;
    for (const action of ['DescribeTags', 'DescribeInstances']) {
      const r = await call(action, action === 'DescribeTags' ? { 'Filter.1.Name': 'resource-id', 'Filter.1.Value.1': id } : { 'InstanceId.1': id });
      assert.deepEqual(r.problems, [], action);
      assert.ok(r.text.includes('<key>legacy\uFFFD</key>') && r.text.includes(`<value>${sent}</value>`), r.text.slice(0, 600));
    }
    // and the SDK reads it
    const tags = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [id] }] }));
    assert.equal(tags.Tags?.find((t) => t.Key === 'legacy\uFFFD')?.Value, sent);
  } finally {
    ec2.destroy();
  }
});
