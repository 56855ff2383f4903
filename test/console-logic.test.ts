/**
 * The web console's logic without a browser: its XML reader and Query-protocol client (against a real
 * in-process nestbox, which checks every SigV4 signature the client makes), the list's filters, sorting,
 * paging and selection, the Actions menu's reasons, the launch wizard's checks, the list of volumes
 * (its filter, order and Actions' reasons, and its calls against nestbox), and the HTTP
 * compression helper. Each defect of issue 13 that lives in pure code has its case here (marked
 * "issue 13 #n"); the browser test (console-e2e.test.ts) covers the rest and the same ones on screen.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Instance, InstanceStatus, InstanceTypeInfo, Volume } from '@aws-sdk/client-ec2';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { typeChange } from '../src/domain/instance-attributes.js';
import { loadCatalog } from '../src/domain/instance-types.js';
import { createApi } from '../src/console/app/api.js';
import { factsOf, hibernationBlocker, instanceTypeChange } from '../src/console/app/capabilities.js';
import { ApiError, createQueryClient, filterParams, formBody, listParams } from '../src/console/app/ec2/query.js';
import { LIST_SKIPS, instancesOf, toInstance } from '../src/console/app/ec2/shapes.js';
import { XmlSyntaxError, items, parseXml, text } from '../src/console/app/ec2/xml.js';
import { idList, regionName, someOf, stateTransition } from '../src/console/app/format.js';
import { checkLaunch, parseInstanceCount } from '../src/console/app/launch-rules.js';
import { NOTHING_SELECTED, unavailableReason } from '../src/console/app/list/actions.js';
import {
  DEFAULT_SORT,
  type Row,
  naturalKey,
  nextSort,
  pageLinks,
  pageOf,
  pruneSelection,
  selectAllState,
  sortRows,
  statusChecks,
  toRow,
} from '../src/console/app/list/model.js';
import { apiFilters, parseToken, rowMatcher, suggestions, tokenLabel, wildcardMatch } from '../src/console/app/list/property-filter.js';
import { tagChanges } from '../src/console/app/tags.js';
import {
  DEFAULT_VOLUME_SORT,
  NO_VOLUME_SELECTED,
  VOLUME_FILTER,
  sortVolumeRows,
  toVolumeRow,
  volumeActionReason,
} from '../src/console/app/list/volumes.js';
import {
  type RuleRow,
  newRow,
  parsePeer,
  parsePorts,
  planRuleChanges,
  portRangeLabel,
  portsEditable,
  protocolLabel,
  rowOfRule,
  specOfRow,
  typeOfRule,
  withType,
} from '../src/console/app/security-rules.js';
import { ruleCount } from '../src/console/app/ec2/network.js';
import { MIN_COMPRESSED_BYTES, encodeResponse, preferredEncoding } from '../src/http/compress.js';
import { CREDENTIALS, LINUX_AMI, type TestServer, eventually, startTestServer } from './helpers.js';

// --- fixtures -----------------------------------------------------------------------------------------

let seq = 0;
function instance(over: Partial<Instance> & { name?: string; state?: string } = {}): Instance {
  const { name, state, ...rest } = over;
  seq++;
  return {
    InstanceId: `i-${seq.toString(16).padStart(17, '0')}`,
    InstanceType: 'c8i.large',
    State: { Name: (state ?? 'running') as 'running' },
    LaunchTime: new Date(Date.UTC(2026, 1, 16, 10, 0, seq)),
    Placement: { AvailabilityZone: 'us-east-1a' },
    Architecture: 'x86_64',
    Tags: name === undefined ? [] : [{ Key: 'Name', Value: name }],
    CpuOptions: { CoreCount: 1, ThreadsPerCore: 2 },
    ...rest,
  };
}
const row = (i: Instance, status?: InstanceStatus): Row => toRow(i, status);
const ids = (rows: readonly Row[]) => rows.map((r) => r.id);

// --- the XML reader ---------------------------------------------------------------------------------

describe('the XML reader', () => {
  test('elements, text, entities, self-closing elements, CDATA and comments', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="x"><!-- c --><a>1 &amp; 2 &lt;3&gt; &#233;&#x41;</a><b/><c><item>x</item><item><![CDATA[<y>]]></item></c></R>',
    );
    assert.equal(root.name, 'R');
    assert.equal(text(root, 'a'), '1 & 2 <3> éA');
    assert.equal(text(root, 'b'), '');
    assert.deepEqual(items(root, 'c').map((i) => i.text), ['x', '<y>']);
    assert.equal(text(root, 'missing'), undefined);
  });

  test('skipped elements are read past, with everything inside them', () => {
    const root = parseXml('<r><big><item><deep>1</deep></item></big><keep>2</keep><big/></r>', { skip: new Set(['big']) });
    assert.deepEqual(root.children.map((c) => c.name), ['keep']);
  });

  test('what is not well-formed is refused', () => {
    for (const bad of ['', '<a>', '<a></b>', '<a/><b/>', '<a><b></a>']) assert.throws(() => parseXml(bad), XmlSyntaxError, bad);
  });
});

// --- the Query client, against a real server ----------------------------------------------------------

describe('the Query-protocol client, signing with SigV4 against nestbox', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ driver: 'simulated', simulatedDelayMs: 50 });
  });
  after(() => server?.close());

  test('parameters are form-encoded as EC2 reads them', () => {
    assert.equal(
      formBody('DescribeInstances', { ...filterParams([{ name: 'tag:Name', values: ['a b', "it's*"] }]), ...listParams('InstanceId', ['i-1']), X: undefined }),
      "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName&Filter.1.Value.1=a%20b&Filter.1.Value.2=it%27s%2A&InstanceId.1=i-1",
    );
  });

  test('signed calls go through; a wrong secret is refused with EC2’s code and message', async () => {
    const ec2 = server.client();
    await ec2.send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 'c8i.large', MinCount: 3, MaxCount: 3 }));
    const api = createApi(CREDENTIALS, 'us-east-1', server.endpoint);
    await api.verify();
    const first = await api.describeInstances({ maxResults: 5, lean: true });
    assert.equal(first.instances.length, 3);
    assert.equal(first.nextToken, undefined);
    const [one] = first.instances;
    assert.match(one?.InstanceId ?? '', /^i-[0-9a-f]{17}$/);
    assert.equal(one?.InstanceType, 'c8i.large');
    assert.ok(one?.LaunchTime instanceof Date);
    // A lean read skips the network interfaces; a full one has them.
    assert.equal(one?.NetworkInterfaces, undefined);
    const full = await api.instance(one?.InstanceId ?? '');
    assert.match(full?.NetworkInterfaces?.[0]?.NetworkInterfaceId ?? '', /^eni-/);

    const wrong = createApi({ accessKeyId: 'test', secretAccessKey: 'wrong' }, 'us-east-1', server.endpoint);
    const refusal = await wrong.verify().then(
      () => assert.fail('a wrong secret was accepted'),
      (err: unknown) => err,
    );
    assert.ok(refusal instanceof ApiError);
    assert.equal(refusal.code, 'SignatureDoesNotMatch');
    assert.equal(refusal.status, 403);
    assert.match(refusal.requestId ?? '', /^[0-9a-f-]{36}$/);
  });

  test('paging with MaxResults and NextToken, filters, and state changes as the API answers them', async () => {
    const api = createApi(CREDENTIALS, 'eu-west-1', server.endpoint);
    const launched = await api.launch({ imageId: LINUX_AMI, instanceType: 'm8i.large', count: 7, tags: [{ key: 'Name', value: 'pager' }], hibernation: false });
    assert.equal(launched.length, 7);
    assert.equal(launched[0]?.Tags?.find((t) => t.Key === 'Name')?.Value, 'pager');
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await api.describeInstances({ maxResults: 5, nextToken, filters: [{ name: 'tag:Name', values: ['pag*'] }], lean: true });
      seen.push(...page.instances.map((i) => i.InstanceId ?? ''));
      nextToken = page.nextToken;
    } while (nextToken);
    assert.deepEqual(seen.sort(), launched.map((i) => i.InstanceId ?? '').sort());
    const none = await api.describeInstances({ filters: [{ name: 'tag:Name', values: ['other'] }] });
    assert.equal(none.instances.length, 0);
    const statuses = await api.describeStatuses({ ids: seen.slice(0, 2) });
    assert.equal(statuses.statuses.length, 2);
    const terminated = await api.terminate(seen);
    assert.equal(terminated.length, 7);
    assert.equal(terminated[0]?.CurrentState?.Name, 'shutting-down');
  });

  test('a server that says the clock is off: the client takes the server’s time and signs again, once', async () => {
    const dates: string[] = [];
    const serverNow = Date.now() + 3_600_000;
    const fake: typeof fetch = async (_url, init) => {
      const headers = new Headers(init?.headers);
      dates.push(headers.get('x-amz-date') ?? '');
      if (dates.length === 1) {
        return new Response('<Response><Errors><Error><Code>RequestExpired</Code><Message>Request has expired.</Message></Error></Errors><RequestID>r</RequestID></Response>', {
          status: 400,
          headers: { date: new Date(serverNow).toUTCString() },
        });
      }
      return new Response('<DescribeRegionsResponse><regionInfo/></DescribeRegionsResponse>', { status: 200 });
    };
    const client = createQueryClient(CREDENTIALS, 'us-east-1', 'http://127.0.0.1:9', fake);
    await client.call('DescribeRegions');
    assert.equal(dates.length, 2);
    const signedAt = (d: string) => Date.parse(d.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
    assert.ok(Math.abs(signedAt(dates[1] ?? '') - serverNow) < 60_000, `signed at ${dates[1]}, the server's time is ${new Date(serverNow).toISOString()}`);
  });

  test('every instance type reads back as the catalog has it (the facts the console’s rules run on)', async () => {
    const api = createApi(CREDENTIALS, 'us-east-1', server.endpoint);
    const types = await api.instanceTypes();
    const catalog = loadCatalog();
    assert.equal(types.length, catalog.types.length);
    for (const t of types) {
      const facts = catalog.facts(t.InstanceType ?? '');
      assert.ok(facts, t.InstanceType);
      assert.deepEqual(factsOf(t), facts, t.InstanceType);
    }
  });
});

describe('instances as the list reads them', () => {
  test('a DescribeInstances item becomes the SDK’s shape; empty elements are absent values', () => {
    const xml = `<DescribeInstancesResponse><reservationSet><item><instancesSet><item>
      <instanceId>i-0123456789abcdef0</instanceId><imageId>ami-1</imageId><instanceState><code>80</code><name>stopped</name></instanceState>
      <dnsName></dnsName><reason>User initiated (2026-02-16 10:00:00 GMT)</reason><instanceType>c8i.large</instanceType>
      <launchTime>2026-02-16T10:00:00.000Z</launchTime><placement><availabilityZone>us-east-1b</availabilityZone></placement>
      <groupSet><item><groupId>sg-1</groupId><groupName>default</groupName></item></groupSet>
      <stateReason><code>Client.UserInitiatedShutdown</code><message>Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>
      <tagSet><item><key>Name</key><value>web &amp; db</value></item></tagSet>
      <cpuOptions><coreCount>1</coreCount><threadsPerCore>2</threadsPerCore><nestedVirtualization>enabled</nestedVirtualization></cpuOptions>
      <networkInterfaceSet><item><networkInterfaceId>eni-1</networkInterfaceId></item></networkInterfaceSet>
    </item></instancesSet></item></reservationSet></DescribeInstancesResponse>`;
    const [full] = instancesOf(parseXml(xml));
    assert.equal(full?.InstanceId, 'i-0123456789abcdef0');
    assert.deepEqual(full?.State, { Code: 80, Name: 'stopped' });
    assert.equal(full?.PublicDnsName, undefined);
    assert.equal(full?.Placement?.AvailabilityZone, 'us-east-1b');
    assert.deepEqual(full?.SecurityGroups, [{ GroupId: 'sg-1', GroupName: 'default' }]);
    assert.deepEqual(full?.Tags, [{ Key: 'Name', Value: 'web & db' }]);
    assert.deepEqual(full?.CpuOptions, { CoreCount: 1, ThreadsPerCore: 2, NestedVirtualization: 'enabled' });
    assert.equal(full?.NetworkInterfaces?.[0]?.NetworkInterfaceId, 'eni-1');
    const [lean] = instancesOf(parseXml(xml, { skip: LIST_SKIPS }));
    assert.equal(lean?.NetworkInterfaces, undefined);
    assert.deepEqual({ ...lean, NetworkInterfaces: full?.NetworkInterfaces }, full);
    assert.equal(toInstance(parseXml('<item><instanceId>i-1</instanceId></item>')).CpuOptions, undefined);
  });

  test('issue 13 #10: the state transition shows EC2’s code once', () => {
    const stopped = instance({
      StateReason: { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' },
      StateTransitionReason: 'User initiated (2026-02-16 10:00:00 GMT)',
    });
    const t = stateTransition(stopped);
    assert.deepEqual(t, { reason: 'User initiated (2026-02-16 10:00:00 GMT)', message: 'Client.UserInitiatedShutdown: User initiated shutdown' });
    assert.equal(`${t.reason} ${t.message}`.split('Client.UserInitiatedShutdown').length - 1, 1);
    // A message without its code gets it in front; 'pending' (a launch under way) says nothing.
    assert.deepEqual(stateTransition(instance({ StateReason: { Code: 'Server.X', Message: 'Went away' } })), { message: 'Server.X: Went away' });
    assert.deepEqual(stateTransition(instance({ StateReason: { Code: 'pending', Message: 'pending' } })), {});
  });

  test('status checks as EC2’s console words them', () => {
    const s = (status: string): InstanceStatus => ({
      InstanceStatus: { Status: status as 'ok' },
      SystemStatus: { Status: status as 'ok' },
      AttachedEbsStatus: { Status: status as 'ok' },
    });
    assert.equal(statusChecks(s('ok')), '3/3 checks passed');
    assert.equal(statusChecks(s('initializing')), 'Initializing');
    assert.equal(statusChecks(s('not-applicable')), undefined);
    assert.equal(statusChecks({ InstanceStatus: { Status: 'impaired' }, SystemStatus: { Status: 'ok' } }), '1/2 checks passed');
    assert.equal(statusChecks(undefined), undefined);
  });

  test('Region display names', () => {
    assert.equal(regionName('us-east-1'), 'US East (N. Virginia)');
    assert.equal(regionName('eu-west-1'), 'Europe (Ireland)');
    assert.equal(regionName('xx-nowhere-1'), 'xx-nowhere-1');
  });
});

// --- the property filter ------------------------------------------------------------------------------

describe('the property filter', () => {
  const web = instance({ name: 'web', InstanceType: 'c8i.large', PrivateIpAddress: '10.0.0.5' });
  const webStopped = instance({ name: 'web', state: 'stopped', InstanceType: 'm8i.large' });
  const db = instance({ name: 'db-1', InstanceType: 'c8i.large', CpuOptions: { NestedVirtualization: 'enabled' } });
  const rows = [web, webStopped, db].map((i) => row(i));
  const matching = (tokens: ReturnType<typeof parseToken>[], text = '') =>
    ids(rows.filter(rowMatcher(tokens.filter((t) => t !== undefined), text)));

  test('the issue’s examples become tokens, and the API filters they map to', () => {
    const tokens = ['Instance state = running', 'Instance type = c8i.large', 'tag:Name = web'].map(parseToken);
    assert.deepEqual(tokens, [
      { property: 'instance-state', operator: '=', value: 'running' },
      { property: 'instance-type', operator: '=', value: 'c8i.large' },
      { property: 'tag:Name', operator: '=', value: 'web' },
    ]);
    assert.deepEqual(apiFilters(tokens.filter((t) => t !== undefined)), [
      { name: 'instance-state-name', values: ['running'] },
      { name: 'instance-type', values: ['c8i.large'] },
      { name: 'tag:Name', values: ['web'] },
    ]);
    assert.deepEqual(matching(tokens), [web.InstanceId]);
    // The API's names work too, and the Name property is the Name tag.
    assert.deepEqual(parseToken('instance-state-name = stopped'), { property: 'instance-state', operator: '=', value: 'stopped' });
    assert.deepEqual(apiFilters([parseToken('Name = web')!]), [{ name: 'tag:Name', values: ['web'] }]);
    // Free text is not a token; nor is an unknown property.
    assert.equal(parseToken('web'), undefined);
    assert.equal(parseToken('colour = blue'), undefined);
    assert.equal(parseToken('Instance state = '), undefined);
    assert.equal(tokenLabel(parseToken('tag:Purpose != ci')!), 'tag:Purpose != ci');
  });

  test('one property’s values are ORed, properties are ANDed; only = tokens reach the API', () => {
    const states = ['Instance state = running', 'Instance state = stopped'].map(parseToken);
    assert.deepEqual(apiFilters(states.filter((t) => t !== undefined)), [{ name: 'instance-state-name', values: ['running', 'stopped'] }]);
    assert.deepEqual(matching(states), ids(rows));
    assert.deepEqual(matching([...states, parseToken('Instance type = m8i.large')]), [webStopped.InstanceId]);
    assert.deepEqual(apiFilters([parseToken('Instance state != running')!, parseToken('Nested virtualization = enabled')!]), []);
    assert.deepEqual(matching([parseToken('Instance state != running')]), [webStopped.InstanceId]);
    assert.deepEqual(matching([parseToken('Nested virtualization = enabled')]), [db.InstanceId]);
    assert.deepEqual(matching([parseToken('Name : DB')]), [db.InstanceId]);
    assert.deepEqual(matching([parseToken('Name !: we')]), [db.InstanceId]);
    // Name and tag:Name are one API filter: their values are ORed on the rows too, as the API ORs them.
    const names = [parseToken('tag:Name = web'), parseToken('Name = db-1')];
    assert.deepEqual(apiFilters(names.filter((t) => t !== undefined)), [{ name: 'tag:Name', values: ['web', 'db-1'] }]);
    assert.deepEqual(matching(names), ids(rows));
  });

  test('= matches with the API’s wildcards; free text matches words anywhere', () => {
    assert.equal(wildcardMatch('web*', 'web-1'), true);
    assert.equal(wildcardMatch('w?b', 'web'), true);
    assert.equal(wildcardMatch('w\\*b', 'w*b'), true);
    assert.equal(wildcardMatch('w\\*b', 'web'), false);
    assert.equal(wildcardMatch('web', 'web-1'), false);
    assert.deepEqual(matching([parseToken('Name = db*')]), [db.InstanceId]);
    assert.deepEqual(matching([], '10.0.0.5'), [web.InstanceId]);
    assert.deepEqual(matching([], 'WEB m8i'), [webStopped.InstanceId]);
  });

  test('suggestions: properties while one is typed, then the values the rows have', () => {
    assert.deepEqual(
      suggestions('state', rows).map((s) => s.label),
      ['Instance state'],
    );
    const values = suggestions('Instance type = ', rows);
    assert.deepEqual(values.map((s) => s.label), ['Instance type = c8i.large', 'Instance type = m8i.large']);
    assert.deepEqual(suggestions('Instance state = st', rows).map((s) => s.label), ['Instance state = stopped', 'Instance state = stopping']);
  });
});

// --- sorting, paging, selection -----------------------------------------------------------------------

describe('sorting, paging and selection', () => {
  test('any column sorts; names in natural order, empty values last either way, ties in the API’s order', () => {
    const a = instance({ name: 'web-10' });
    const b = instance({ name: 'web-2' });
    const c = instance({});
    const d = instance({ name: 'Web-1' });
    const rows = [a, b, c, d].map((i) => row(i));
    assert.deepEqual(ids(sortRows(rows, { column: 'name', direction: 'ascending' })), [d, b, a, c].map((i) => i.InstanceId));
    assert.deepEqual(ids(sortRows(rows, { column: 'name', direction: 'descending' })), [a, b, d, c].map((i) => i.InstanceId));
    assert.ok(naturalKey('10.0.0.9') < naturalKey('10.0.0.10'));
  });

  test('issue 13 #5: the default order is newest first, so a launch lands on the first page', () => {
    const old = Array.from({ length: 120 }, () => instance({ LaunchTime: new Date('2026-02-01T00:00:00Z') }));
    const launched = instance({ LaunchTime: new Date('2026-02-16T12:00:00Z') });
    const rows = [...old, launched].map((i) => row(i));
    const first = pageOf(sortRows(rows, DEFAULT_SORT), 1, 50);
    assert.equal(first.items[0]?.id, launched.InstanceId);
    // Among instances launched together (one timestamp), the last one the API lists comes first.
    assert.equal(sortRows(rows.slice(0, 3), DEFAULT_SORT)[0]?.id, old[2]?.InstanceId);
    assert.deepEqual(nextSort(DEFAULT_SORT, 'launch'), { column: 'launch', direction: 'ascending' });
    assert.deepEqual(nextSort(DEFAULT_SORT, 'name'), { column: 'name', direction: 'ascending' });
  });

  test('pages and page links', () => {
    const all = Array.from({ length: 5000 }, (_, i) => i);
    const p = pageOf(all, 3, 50);
    assert.deepEqual([p.page, p.pageCount, p.from, p.to, p.items[0]], [3, 100, 101, 150, 100]);
    assert.equal(pageOf(all, 500, 50).page, 100);
    assert.deepEqual(pageOf([], 1, 50), { page: 1, pageCount: 1, items: [], from: 0, to: 0 });
    assert.deepEqual(pageLinks(6, 100), [1, undefined, 4, 5, 6, 7, 8, undefined, 100]);
    assert.deepEqual(pageLinks(1, 3), [1, 2, 3]);
  });

  test('issue 13 #7: select all under a filter, then clear the filter — mixed, and the hidden rows are not selected', () => {
    const web = [instance({ name: 'web' }), instance({ name: 'web' })].map((i) => row(i));
    const others = [instance({ name: 'db' }), instance({ name: 'cache' })].map((i) => row(i));
    const all = [...web, ...others];
    // Everything selected, then a filter hides some: they leave the selection.
    const everything = new Set(ids(all));
    const filtered = all.filter(rowMatcher([], 'web'));
    const kept = pruneSelection(everything, filtered);
    assert.deepEqual([...kept].sort(), ids(web).sort());
    assert.equal(selectAllState(kept, filtered), 'checked');
    // The filter cleared: some of the rows shown are selected, the header checkbox is mixed.
    assert.equal(selectAllState(kept, all), 'mixed');
    assert.equal(pruneSelection(kept, all), kept, 'nothing to drop: the same set');
    assert.equal(selectAllState(new Set(), all), 'unchecked');
    assert.equal(selectAllState(new Set(ids(all)), all), 'checked');
  });
});

// --- the Actions menu ---------------------------------------------------------------------------------

describe('the Actions menu’s reasons', () => {
  test('issue 13 #6: a terminated instance can be neither started, stopped nor rebooted, nor have its CPU options changed', () => {
    const gone = instance({ state: 'terminated' });
    for (const action of ['start', 'stop', 'force-stop', 'hibernate', 'reboot', 'terminate'] as const) {
      assert.match(unavailableReason(action, [gone]) ?? '', new RegExp(`${gone.InstanceId} is terminated`), action);
    }
    const cpu = unavailableReason('cpu-options', [gone]) ?? '';
    assert.match(cpu, /is terminated: its cpu options can no longer be changed/);
    assert.doesNotMatch(cpu, /Stop it first/);
    assert.match(unavailableReason('termination-protection', [gone]) ?? '', /can no longer be changed/);
  });

  test('what each state allows', () => {
    const running = instance({ state: 'running' });
    const stopped = instance({ state: 'stopped' });
    assert.equal(unavailableReason('stop', [running]), undefined);
    assert.equal(unavailableReason('reboot', [running]), undefined);
    assert.match(unavailableReason('start', [running]) ?? '', /Only stopped instances can be started/);
    assert.equal(unavailableReason('start', [stopped]), undefined);
    assert.equal(unavailableReason('cpu-options', [stopped]), undefined);
    assert.match(unavailableReason('cpu-options', [running]) ?? '', /only while the instance is stopped; .* is running\. Stop it first\./);
    assert.equal(unavailableReason('force-stop', [instance({ state: 'stopping' })]), undefined);
    assert.match(unavailableReason('start', [running, stopped, instance({ state: 'pending' })]) ?? '', /2 of the 3 selected instances are running or pending/);
    assert.match(unavailableReason('connect', [running, stopped]) ?? '', /Select a single instance/);
    assert.equal(unavailableReason('stop', []), NOTHING_SELECTED);
  });

  test('hibernate: only for instances launched with hibernation, and never with nested virtualization', () => {
    assert.match(unavailableReason('hibernate', [instance()]) ?? '', /not launched with hibernation enabled/);
    assert.equal(unavailableReason('hibernate', [instance({ HibernationOptions: { Configured: true } })]), undefined);
    assert.match(
      unavailableReason('hibernate', [instance({ HibernationOptions: { Configured: true }, CpuOptions: { NestedVirtualization: 'enabled' } })]) ?? '',
      /not supported on instances with nested virtualization enabled/,
    );
  });

  test('a change of instance type is judged as the server judges it, for every type of the catalog', () => {
    const catalog = loadCatalog();
    const configs = [
      { arch: 'x86_64', hibernation: false, nested: 'enabled' },
      { arch: 'x86_64', hibernation: true, nested: undefined },
      { arch: 'arm64', hibernation: false, nested: undefined },
    ] as const;
    for (const c of configs) {
      const from = instance({
        state: 'stopped',
        InstanceType: c.arch === 'arm64' ? 'c7g.large' : 'c8i.large',
        Architecture: c.arch,
        HibernationOptions: { Configured: c.hibernation },
        CpuOptions: { CoreCount: 1, ThreadsPerCore: 2, ...(c.nested ? { NestedVirtualization: c.nested } : {}) },
      });
      for (const facts of catalog.types) {
        let server: { refused?: string; nestedTurnedOff: boolean };
        try {
          const change = typeChange(
            {
              instanceType: from.InstanceType ?? '',
              architecture: c.arch,
              hibernationConfigured: c.hibernation,
              cpu: { coreCount: 1, threadsPerCore: 2, nestedVirtualization: c.nested },
            },
            facts,
          );
          server = { nestedTurnedOff: change.nestedVirtualizationTurnedOff };
        } catch (err) {
          server = { refused: (err as Error).message, nestedTurnedOff: false };
        }
        assert.deepEqual(instanceTypeChange(from, catalog.info(facts.type) as InstanceTypeInfo), server, `${JSON.stringify(c)} → ${facts.type}`);
      }
    }
  });
});

// --- the launch wizard --------------------------------------------------------------------------------

describe('the launch wizard’s checks', () => {
  const catalog = loadCatalog();
  const info = (type: string) => catalog.info(type) as InstanceTypeInfo;
  const one = parseInstanceCount('1', 5000);

  test('issue 13 #8: the number of instances is taken as typed or refused, never rounded or capped', () => {
    assert.deepEqual(parseInstanceCount('1000', 5000), { ok: true, count: 1000 });
    assert.deepEqual(parseInstanceCount(' 7 ', undefined), { ok: true, count: 7 });
    for (const bad of ['0', '-1', '2.5', '', '1e3', 'ten']) {
      const check = parseInstanceCount(bad, 5000);
      assert.equal(check.ok, false, bad);
      assert.ok(!check.ok && check.message.length > 0);
    }
    const over = parseInstanceCount('5001', 5000);
    assert.ok(!over.ok && /At most 5,000/.test(over.message));
    const refused = checkLaunch({ typeInfo: info('c8i.large'), platform: 'linux', nested: '', hibernation: false, count: parseInstanceCount('2.5', 5000) });
    assert.equal(refused.problems.length, 1);
    assert.match(refused.problems[0] ?? '', /^Number of instances: /);
  });

  test('issue 13 #2: Enable, then a type without nested virtualization (or Windows above 192 vCPUs): the launch waits, saying why', () => {
    const m6i = checkLaunch({ typeInfo: info('m6i.large'), platform: 'linux', nested: 'enabled', hibernation: false, count: one });
    assert.deepEqual(m6i.problems, ['Nested virtualization: The instance type m6i.large does not support nested virtualization.']);
    const windows = checkLaunch({ typeInfo: info('m8i.96xlarge'), platform: 'windows', nested: 'enabled', hibernation: false, count: one });
    assert.match(windows.problems[0] ?? '', /more than 192 vCPUs/);
    const fine = checkLaunch({ typeInfo: info('c8i.large'), platform: 'linux', nested: 'enabled', hibernation: false, count: one });
    assert.deepEqual(fine.problems, []);
    assert.deepEqual(checkLaunch({ typeInfo: undefined, platform: 'linux', nested: '', hibernation: false, count: one }).problems, ['Choose an instance type.']);
  });

  test('issue 13 #2: the hibernation note gives hibernation’s own reason', () => {
    // m6i.large supports hibernation, not nested virtualization: with Enable chosen, hibernation's reason is its own.
    assert.equal(hibernationBlocker(info('m6i.large'), 'enabled'), 'Hibernation is not supported on instances with nested virtualization enabled.');
    assert.equal(hibernationBlocker(info('m6i.large'), ''), undefined);
    const metal = catalog.types.find((t) => !t.hibernationSupported);
    assert.ok(metal);
    assert.equal(hibernationBlocker(info(metal.type), ''), `Hibernation is not supported for the ${metal.type} instance type.`);
    const both = checkLaunch({ typeInfo: info('c8i.large'), platform: 'linux', nested: 'enabled', hibernation: true, count: one });
    assert.deepEqual(both.problems, ['Nested virtualization: Hibernation is not supported on instances with nested virtualization enabled.']);
  });
});

// --- messages -----------------------------------------------------------------------------------------

describe('messages', () => {
  test('issue 13 #4: a hundred IDs are summarised, not listed', () => {
    const many = Array.from({ length: 100 }, (_, i) => `i-${i}`);
    assert.equal(idList(many), 'i-0, i-1, i-2 and 97 more');
    assert.equal(idList(many.slice(0, 2)), 'i-0, i-1');
    assert.deepEqual(someOf(many, 10).more, 90);
  });

  test('tag edits: what to create and what to delete', () => {
    const before = [
      { key: 'Name', value: 'web' },
      { key: 'Team', value: 'a' },
      { key: 'Old', value: 'x' },
    ];
    const after = [
      { key: 'Name', value: 'web' },
      { key: 'Team', value: 'b' },
      { key: ' New ', value: '1' },
      { key: '', value: 'ignored' },
    ];
    assert.deepEqual(tagChanges(before, after), { put: [{ key: 'Team', value: 'b' }, { key: 'New', value: '1' }], remove: ['Old'] });
  });
});

// --- security group rules ------------------------------------------------------------------------------

describe('security group rules as the console shows and edits them', () => {
  test('a rule’s type, protocol and port range, as EC2’s console names them', () => {
    assert.equal(typeOfRule('tcp', 22, 22), 'ssh');
    assert.equal(typeOfRule('6', 80, 80), 'http');
    assert.equal(typeOfRule('tcp', 443, 443), 'https');
    assert.equal(typeOfRule('tcp', 3389, 3389), 'rdp');
    assert.equal(typeOfRule('tcp', 0, 65535), 'all-tcp');
    assert.equal(typeOfRule('tcp', 8000, 8100), 'custom-tcp');
    assert.equal(typeOfRule('udp', 53, 53), 'custom-udp');
    assert.equal(typeOfRule('udp', 0, 65535), 'all-udp');
    assert.equal(typeOfRule('-1', -1, -1), 'all-traffic');
    assert.equal(typeOfRule('all', undefined, undefined), 'all-traffic');
    assert.equal(typeOfRule('icmp', -1, -1), 'all-icmp');
    assert.equal(typeOfRule('icmp', 8, 0), 'custom-icmp');
    assert.equal(typeOfRule('icmpv6', -1, -1), 'all-icmpv6');
    assert.equal(typeOfRule('50', -1, -1), 'custom-protocol');
    assert.deepEqual(['tcp', 'udp', 'icmp', 'icmpv6', '-1', '50', '17'].map(protocolLabel), ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'All', '50', 'UDP']);
    assert.equal(portRangeLabel('tcp', 22, 22), '22');
    assert.equal(portRangeLabel('tcp', 8000, 8100), '8000 - 8100');
    assert.equal(portRangeLabel('-1', -1, -1), 'All');
    assert.equal(portRangeLabel('50', -1, -1), 'All');
    assert.equal(portRangeLabel('icmp', -1, -1), 'All');
    assert.equal(portRangeLabel('icmp', 8, -1), '8');
    assert.equal(portRangeLabel('icmp', 3, 4), '3/4');
  });

  test('typed ports and peers; what cannot be read is said, the rest is the API’s to judge', () => {
    assert.deepEqual(parsePorts('tcp', '22'), { ok: true, from: 22, to: 22 });
    assert.deepEqual(parsePorts('tcp', ' 8000 - 8100 '), { ok: true, from: 8000, to: 8100 });
    // Out of range or inverted: sent as typed, for EC2 to refuse with its own words.
    assert.deepEqual(parsePorts('udp', '70000'), { ok: true, from: 70000, to: 70000 });
    assert.deepEqual(parsePorts('tcp', '90-80'), { ok: true, from: 90, to: 80 });
    assert.equal(parsePorts('tcp', '').ok, false);
    assert.equal(parsePorts('tcp', 'ssh').ok, false);
    assert.deepEqual(parsePorts('icmp', '8/0'), { ok: true, from: 8, to: 0 });
    assert.deepEqual(parsePorts('icmp', '8'), { ok: true, from: 8, to: -1 });
    assert.deepEqual(parsePorts('icmp', 'All'), { ok: true, from: -1, to: -1 });
    assert.deepEqual(parsePeer(' 10.0.0.0/8 '), { kind: 'cidr4', value: '10.0.0.0/8' });
    assert.deepEqual(parsePeer('::/0'), { kind: 'cidr6', value: '::/0' });
    assert.deepEqual(parsePeer('sg-0123456789abcdef0 (web)'), { kind: 'group', value: 'sg-0123456789abcdef0' });
    assert.deepEqual(parsePeer('pl-12345678'), { kind: 'prefix-list', value: 'pl-12345678' });
    assert.equal(parsePeer('  '), undefined);
  });

  test('a row’s type decides its protocol and ports; a custom protocol with ports has them typed', () => {
    const row = newRow('r1', '10.0.0.0/8');
    assert.equal(portsEditable(row), true);
    const ssh = withType(row, 'ssh');
    assert.deepEqual(specOfRow(ssh), { ok: true, spec: { protocol: 'tcp', fromPort: 22, toPort: 22, peer: { kind: 'cidr4', value: '10.0.0.0/8' }, description: '' } });
    assert.equal(portsEditable(ssh), false);
    const all = withType(ssh, 'all-traffic');
    assert.deepEqual(specOfRow(all), { ok: true, spec: { protocol: '-1', peer: { kind: 'cidr4', value: '10.0.0.0/8' }, description: '' } });
    const udp = { ...withType(row, 'custom-udp'), ports: '53' };
    assert.deepEqual(specOfRow(udp).ok && specOfRow(udp), { ok: true, spec: { protocol: 'udp', fromPort: 53, toPort: 53, peer: { kind: 'cidr4', value: '10.0.0.0/8' }, description: '' } });
    // Custom TCP → Custom UDP keeps the typed range; → SSH and back does not.
    assert.equal(withType({ ...row, ports: '8000-8100' }, 'custom-udp').ports, '8000-8100');
    assert.equal(withType(withType({ ...row, ports: '8000-8100' }, 'ssh'), 'custom-tcp').ports, '');
    const esp = { ...withType(row, 'custom-protocol'), protocol: '50' };
    assert.equal(portsEditable(esp), false);
    assert.deepEqual(specOfRow(esp), { ok: true, spec: { protocol: '50', peer: { kind: 'cidr4', value: '10.0.0.0/8' }, description: '' } });
    const six = { ...esp, protocol: '6' };
    assert.equal(portsEditable(six), true);
    assert.deepEqual(specOfRow({ ...six, ports: '443' }).ok, true);
    const bad = specOfRow({ ...newRow('r2'), ports: 'x' });
    assert.ok(!bad.ok && bad.errors.ports && bad.errors.source);
    const noProtocol = specOfRow({ ...withType(row, 'custom-protocol'), protocol: ' ' });
    assert.ok(!noProtocol.ok && noProtocol.errors.protocol);
  });

  test('Save’s difference: revoke what went, modify what changed, authorize what is new; unchanged rows send nothing', () => {
    const rules = [
      { SecurityGroupRuleId: 'sgr-1', IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIpv4: '0.0.0.0/0', Description: 'ssh' },
      { SecurityGroupRuleId: 'sgr-2', IpProtocol: '-1', FromPort: -1, ToPort: -1, ReferencedGroupInfo: { GroupId: 'sg-a', UserId: '0' } },
      { SecurityGroupRuleId: 'sgr-3', IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIpv4: '10.0.0.0/8' },
      { SecurityGroupRuleId: 'sgr-4', IpProtocol: 'icmp', FromPort: 8, ToPort: 0, CidrIpv4: '10.0.0.0/8' },
      { SecurityGroupRuleId: 'sgr-5', IpProtocol: '50', FromPort: -1, ToPort: -1, CidrIpv6: '::/0' },
    ];
    const rows: RuleRow[] = rules.map((r, i) => rowOfRule(r, `k${i}`));
    assert.deepEqual(
      rows.map((r) => [r.type, r.protocol, r.ports, r.source]),
      [
        ['ssh', 'tcp', '22', '0.0.0.0/0'],
        ['all-traffic', '-1', '', 'sg-a'],
        ['http', 'tcp', '80', '10.0.0.0/8'],
        ['custom-icmp', 'icmp', '8/0', '10.0.0.0/8'],
        ['custom-protocol', '50', '', '::/0'],
      ],
    );
    const untouched = planRuleChanges(rules, rows);
    assert.deepEqual([untouched.revoke, untouched.modify, untouched.authorize, untouched.errors.size], [[], [], [], 0]);

    const edited: RuleRow[] = [
      { ...rows[0]!, description: 'ssh from anywhere' }, // description only: modified
      // sgr-2 removed
      withType(rows[2]!, 'https'), // type changed: modified
      rows[3]!,
      rows[4]!,
      { ...newRow('n1', '10.0.0.0/8'), type: 'ssh', ports: '22' }, // new
      { ...newRow('n2', 'sg-b'), type: 'all-traffic', protocol: '-1' }, // new, from a group
    ];
    const plan = planRuleChanges(rules, edited);
    assert.deepEqual(plan.revoke, ['sgr-2']);
    assert.deepEqual(plan.modify, [
      { ruleId: 'sgr-1', spec: { protocol: 'tcp', fromPort: 22, toPort: 22, peer: { kind: 'cidr4', value: '0.0.0.0/0' }, description: 'ssh from anywhere' } },
      { ruleId: 'sgr-3', spec: { protocol: 'tcp', fromPort: 443, toPort: 443, peer: { kind: 'cidr4', value: '10.0.0.0/8' }, description: '' } },
    ]);
    assert.deepEqual(plan.authorize, [
      { rowKey: 'n1', spec: { protocol: 'tcp', fromPort: 22, toPort: 22, peer: { kind: 'cidr4', value: '10.0.0.0/8' }, description: '' } },
      { rowKey: 'n2', spec: { protocol: '-1', peer: { kind: 'group', value: 'sg-b' }, description: '' } },
    ]);
    // A row that cannot be read is reported by its key; the rest is planned as before.
    const withError = planRuleChanges(rules, [...edited, { ...newRow('n3'), ports: '22' }]);
    assert.deepEqual([...withError.errors.keys()], ['n3']);
  });

  test('rule counts from DescribeSecurityGroups’ IpPermissions: one per peer', () => {
    assert.equal(ruleCount([{ IpProtocol: 'tcp', IpRanges: [{ CidrIp: 'a' }, { CidrIp: 'b' }], UserIdGroupPairs: [{ GroupId: 'sg-1' }] }, { IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: '::/0' }] }]), 4);
    assert.equal(ruleCount(undefined), 0);
  });

  test('against nestbox: create a group, authorize, modify and revoke by the plan, and EC2’s refusals as it gives them', async () => {
    const server = await startTestServer({ driver: 'simulated', simulatedDelayMs: 50 });
    try {
      const api = createApi(CREDENTIALS, 'us-east-1', server.endpoint);
      const [vpc] = await api.vpcs();
      assert.equal(vpc?.IsDefault, true);
      assert.equal(vpc?.CidrBlock, '172.31.0.0/16');
      const subnets = await api.subnets([{ name: 'vpc-id', values: [vpc?.VpcId ?? ''] }]);
      assert.ok(subnets.length >= 3 && subnets.every((s) => s.VpcId === vpc?.VpcId && s.DefaultForAz));
      const [igw] = await api.internetGateways();
      assert.equal(igw?.Attachments?.[0]?.VpcId, vpc?.VpcId);
      const [rtb] = await api.routeTables();
      assert.equal(rtb?.Associations?.[0]?.Main, true);
      assert.ok(rtb?.Routes?.some((r) => r.GatewayId === igw?.InternetGatewayId));

      const other = await api.createSecurityGroup({ name: 'other', description: 'the peer', tags: [] });
      const id = await api.createSecurityGroup({ name: 'web', description: 'web servers', vpcId: vpc?.VpcId, tags: [{ key: 'Name', value: 'web-sg' }] });
      const group = await api.securityGroup(id);
      assert.deepEqual([group?.GroupName, group?.Description, group?.VpcId, group?.Tags], ['web', 'web servers', vpc?.VpcId, [{ Key: 'Name', Value: 'web-sg' }]]);
      assert.deepEqual([ruleCount(group?.IpPermissions), ruleCount(group?.IpPermissionsEgress)], [0, 1]);

      const rows = [
        { ...withType(newRow('a', '10.0.0.0/8'), 'ssh'), description: 'ssh inside' },
        withType(newRow('b', other), 'all-traffic'),
        { ...withType(newRow('c', '::/0'), 'custom-udp'), ports: '5000-5010' },
      ];
      const plan = planRuleChanges([], rows);
      const made = await api.authorizeRules(id, false, plan.authorize.map((a) => a.spec));
      assert.equal(made.length, 3);
      let rules = (await api.securityGroupRules([id])).filter((r) => !r.IsEgress);
      assert.deepEqual(
        rules.map((r) => rowOfRule(r, '')).map((r) => [r.type, r.ports, r.source, r.description]).sort(),
        [['all-traffic', '', other, ''], ['custom-udp', '5000-5010', '::/0', ''], ['ssh', '22', '10.0.0.0/8', 'ssh inside']],
      );

      // Edit: drop the group rule, widen the UDP range, clear SSH's description.
      const edited = rules
        .map((r, i) => rowOfRule(r, `r${i}`))
        .filter((r) => r.source !== other)
        .map((r) => (r.type === 'custom-udp' ? { ...r, ports: '5000-6000' } : { ...r, description: '' }));
      const second = planRuleChanges(rules, edited);
      assert.equal(second.revoke.length, 1);
      assert.equal(second.modify.length, 2);
      await api.revokeRules(id, false, second.revoke);
      await api.modifyRules(id, second.modify);
      rules = (await api.securityGroupRules([id])).filter((r) => !r.IsEgress);
      assert.deepEqual(
        rules.map((r) => rowOfRule(r, '')).map((r) => [r.type, r.ports, r.source, r.description]).sort(),
        [['custom-udp', '5000-6000', '::/0', ''], ['ssh', '22', '10.0.0.0/8', '']],
      );
      assert.equal(planIsEmptyOf(rules, rules.map((r, i) => rowOfRule(r, `x${i}`))), true);

      // EC2's refusals, verbatim: a duplicate, a port out of range, the default group, a group in use.
      const refusal = (p: Promise<unknown>) => p.then(() => assert.fail('accepted'), (err: unknown) => err as ApiError);
      assert.equal((await refusal(api.authorizeRules(id, false, [plan.authorize[0]!.spec]))).code, 'InvalidPermission.Duplicate');
      const port = await refusal(api.authorizeRules(id, false, [{ protocol: 'tcp', fromPort: 70000, toPort: 70000, peer: { kind: 'cidr4', value: '10.0.0.0/8' }, description: '' }]));
      assert.equal(port.code, 'InvalidParameterValue');
      const defaultGroup = (await api.securityGroups({ filters: [{ name: 'group-name', values: ['default'] }] }))[0];
      assert.equal((await refusal(api.deleteSecurityGroup(defaultGroup?.GroupId ?? ''))).code, 'CannotDelete');
      await api.authorizeRules(id, false, [{ protocol: 'tcp', fromPort: 80, toPort: 80, peer: { kind: 'group', value: other }, description: '' }]);
      assert.equal((await refusal(api.deleteSecurityGroup(other))).code, 'DependencyViolation');

      const run = await server.client().send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
      const instanceId = run.Instances?.[0]?.InstanceId ?? '';
      const [volume] = await api.volumesOf(instanceId);
      assert.match(volume?.VolumeId ?? '', /^vol-/);
      assert.equal(volume?.Attachments?.[0]?.InstanceId, instanceId);
      assert.equal(volume?.Attachments?.[0]?.DeleteOnTermination, true);
      assert.ok((volume?.Size ?? 0) > 0 && volume?.VolumeType);
      const instance = await api.instance(instanceId);
      assert.equal(instance?.RootDeviceName, volume?.Attachments?.[0]?.Device);
      assert.equal(instance?.BlockDeviceMappings?.[0]?.Ebs?.VolumeId, volume?.VolumeId);
      assert.match(instance?.NetworkInterfaces?.[0]?.MacAddress ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      assert.equal(instance?.NetworkInterfaces?.[0]?.Groups?.[0]?.GroupName, 'default');
    } finally {
      await server.close();
    }
  });
});

const planIsEmptyOf = (rules: Parameters<typeof planRuleChanges>[0], rows: readonly RuleRow[]) => {
  const p = planRuleChanges(rules, rows);
  return p.revoke.length + p.modify.length + p.authorize.length === 0;
};

// --- volumes ------------------------------------------------------------------------------------------

describe('the list of volumes', () => {
  const volume = (over: Partial<Volume> & { name?: string }): Volume => {
    const { name, ...rest } = over;
    seq++;
    return {
      VolumeId: `vol-${seq.toString(16).padStart(17, '0')}`,
      Size: 8,
      VolumeType: 'gp3',
      State: 'available',
      AvailabilityZone: 'us-east-1a',
      CreateTime: new Date(Date.UTC(2026, 1, 16, 10, 0, seq)),
      Attachments: [],
      Tags: name === undefined ? [] : [{ Key: 'Name', Value: name }],
      ...rest,
    };
  };
  const data = volume({ name: 'data', Size: 100, VolumeType: 'io2', Iops: 4000 });
  const root = volume({
    State: 'in-use',
    Attachments: [{ InstanceId: 'i-0123456789abcdef0', Device: '/dev/xvda', State: 'attached' }],
  });
  const old = volume({ name: 'logs', Size: 20, AvailabilityZone: 'us-east-1b', CreateTime: new Date(Date.UTC(2025, 0, 1)) });
  const rows = [data, root, old].map(toVolumeRow);
  const matching = (texts: string[], free = '') =>
    rows.filter(VOLUME_FILTER.rowMatcher(texts.map((t) => VOLUME_FILTER.parseToken(t)!), free)).map((r) => r.id);

  test('the property filter: tokens become DescribeVolumes filters, and match the rows too', () => {
    const tokens = ['Volume state = available', 'Volume type = io2', 'Attached instance = i-0123456789abcdef0', 'tag:Name = data'].map((t) =>
      VOLUME_FILTER.parseToken(t),
    );
    assert.deepEqual(VOLUME_FILTER.apiFilters(tokens.map((t) => t!)), [
      { name: 'status', values: ['available'] },
      { name: 'volume-type', values: ['io2'] },
      { name: 'attachment.instance-id', values: ['i-0123456789abcdef0'] },
      { name: 'tag:Name', values: ['data'] },
    ]);
    // The API's filter names are understood too.
    assert.deepEqual(VOLUME_FILTER.parseToken('status = in-use'), { property: 'volume-state', operator: '=', value: 'in-use' });
    assert.deepEqual(matching(['Volume state = available']), [data.VolumeId, old.VolumeId]);
    assert.deepEqual(matching(['Volume state = available', 'Availability Zone = us-east-1b']), [old.VolumeId]);
    assert.deepEqual(matching(['Device name = /dev/xvda']), [root.VolumeId]);
    assert.deepEqual(matching(['Size = 1*']), [data.VolumeId]);
    assert.deepEqual(matching([], 'LOGS'), [old.VolumeId]);
    assert.deepEqual(
      VOLUME_FILTER.suggestions('Volume state = ', rows).map((s) => s.label),
      ['Volume state = available', 'Volume state = creating', 'Volume state = deleted', 'Volume state = deleting', 'Volume state = error', 'Volume state = in-use'],
    );
    assert.deepEqual(VOLUME_FILTER.suggestions('vol', rows).map((s) => s.label), ['Volume ID', 'Volume type', 'Volume state']);
  });

  test('newest first by default; size sorts as a number', () => {
    assert.deepEqual(sortVolumeRows(rows, DEFAULT_VOLUME_SORT).map((r) => r.id), [root.VolumeId, data.VolumeId, old.VolumeId]);
    assert.deepEqual(sortVolumeRows(rows, { column: 'size', direction: 'ascending' }).map((r) => r.volume.Size), [8, 20, 100]);
  });

  test('the Actions: attach an available volume, detach an attached one, delete only available ones', () => {
    assert.equal(volumeActionReason('attach', []), NO_VOLUME_SELECTED);
    assert.equal(volumeActionReason('attach', [data]), undefined);
    assert.equal(volumeActionReason('attach', [root]), `Only an available volume can be attached: ${root.VolumeId} is in-use.`);
    assert.equal(volumeActionReason('attach', [data, old]), 'Select a single volume.');
    assert.equal(volumeActionReason('detach', [root]), undefined);
    assert.equal(volumeActionReason('detach', [data]), `Only an attached (in-use) volume can be detached: ${data.VolumeId} is available.`);
    assert.equal(volumeActionReason('delete', [data, old]), undefined);
    assert.equal(volumeActionReason('delete', [data, root, old]), 'Only available volumes can be deleted: 1 of the 3 selected volumes is not available.');
  });

  test('against nestbox: create, attach, detach and delete, and EC2’s refusals as it gives them', async () => {
    const server = await startTestServer({ driver: 'simulated', simulatedDelayMs: 50 });
    try {
      const api = createApi(CREDENTIALS, 'us-east-1', server.endpoint);
      const [zoneA, zoneB] = (await api.availabilityZones()).map((z) => z.ZoneName ?? '');
      const run = await server.client().send(
        new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: zoneA } }),
      );
      const instanceId = run.Instances?.[0]?.InstanceId ?? '';
      const refusal = (p: Promise<unknown>) => p.then(() => assert.fail('accepted'), (err: unknown) => err as ApiError);

      const made = await api.createVolume({ zone: zoneA ?? '', sizeGiB: 10, volumeType: 'gp3', tags: [{ key: 'Name', value: 'data' }] });
      assert.match(made.VolumeId ?? '', /^vol-[0-9a-f]{17}$/);
      assert.deepEqual([made.State, made.Size, made.VolumeType, made.Iops, made.AvailabilityZone], ['creating', 10, 'gp3', 3000, zoneA]);
      const id = made.VolumeId ?? '';
      const [listed] = await api.volumes([{ name: 'volume-id', values: [id] }]);
      assert.deepEqual([listed?.State, listed?.Tags], ['available', [{ Key: 'Name', Value: 'data' }]]);
      assert.ok((await api.volumes()).some((v) => v.Attachments?.[0]?.InstanceId === instanceId), 'the instance’s root volume is listed too');
      assert.equal((await refusal(api.createVolume({ zone: zoneA ?? '', sizeGiB: 10, volumeType: 'io2', tags: [] }))).code, 'InvalidParameterCombination');

      // Attach (to a running instance): another zone's volume and the root's device are refused; the
      // dialog's instances are those of the volume's zone.
      await eventually(async () => ((await api.instance(instanceId))?.State?.Name === 'running' ? true : undefined), 5000, 'running');
      const elsewhere = await api.createVolume({ zone: zoneB ?? '', sizeGiB: 1, volumeType: 'gp2', tags: [] });
      assert.equal((await refusal(api.attachVolume(elsewhere.VolumeId ?? '', instanceId, '/dev/sdf'))).code, 'InvalidVolume.ZoneMismatch');
      const inZone = await api.allInstances([{ name: 'availability-zone', values: [zoneA ?? ''] }]);
      assert.deepEqual(inZone.map((i) => i.InstanceId), [instanceId]);
      assert.equal((await refusal(api.attachVolume(id, instanceId, '/dev/xvda'))).code, 'InvalidParameterValue');
      const attaching = await api.attachVolume(id, instanceId, '/dev/sdf');
      assert.deepEqual([attaching.VolumeId, attaching.InstanceId, attaching.Device, attaching.State], [id, instanceId, '/dev/sdf', 'attaching']);
      const [attached] = await api.volumes([{ name: 'volume-id', values: [id] }]);
      assert.deepEqual([attached?.State, attached?.Attachments?.[0]?.InstanceId, attached?.Attachments?.[0]?.State], ['in-use', instanceId, 'attached']);
      assert.equal((await refusal(api.deleteVolume(id))).code, 'VolumeInUse');

      // Detach, then delete; an available volume cannot be detached.
      assert.equal((await api.detachVolume(id)).State, 'detaching');
      assert.equal((await refusal(api.detachVolume(id))).code, 'IncorrectState');
      await api.deleteVolume(id);
      await api.deleteVolume(elsewhere.VolumeId ?? '');
      assert.deepEqual(await api.volumes([{ name: 'volume-id', values: [id] }]), []);
    } finally {
      await server.close();
    }
  });
});

// --- compression --------------------------------------------------------------------------------------

describe('compression of the HTTP answers', () => {
  test('Accept-Encoding decides, q-values included; Brotli first when both are as welcome', () => {
    assert.equal(preferredEncoding('gzip, deflate, br, zstd'), 'br');
    assert.equal(preferredEncoding('gzip'), 'gzip');
    assert.equal(preferredEncoding('br;q=0, gzip;q=0.5'), 'gzip');
    assert.equal(preferredEncoding('gzip;q=0.4, br;q=0.2'), 'gzip');
    assert.equal(preferredEncoding('*'), 'br');
    assert.equal(preferredEncoding('*;q=0'), undefined);
    assert.equal(preferredEncoding('identity'), undefined);
    assert.equal(preferredEncoding(''), undefined);
    assert.equal(preferredEncoding(undefined), undefined);
  });

  test('an answer is compressed when asked for and large enough, and decompresses to itself', () => {
    const body = Buffer.from('<item><instanceId>i-0</instanceId></item>'.repeat(200));
    const br = encodeResponse('br', body);
    assert.equal(br.headers['Content-Encoding'], 'br');
    assert.equal(br.headers.Vary, 'Accept-Encoding');
    assert.ok(br.body.length < body.length / 10);
    assert.deepEqual(brotliDecompressSync(br.body), body);
    assert.deepEqual(gunzipSync(encodeResponse('gzip', body).body), body);
    const plain = encodeResponse(undefined, body);
    assert.equal(plain.body, body);
    assert.equal(plain.headers['Content-Encoding'], undefined);
    const small = Buffer.alloc(MIN_COMPRESSED_BYTES - 1, 'a');
    assert.equal(encodeResponse('br', small).body, small);
  });
});
