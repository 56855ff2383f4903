/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core against an in-process
 * nestbox (simulated driver), in one browser session, in order:
 *
 * - the static files: served from the build's manifest, compressed as asked, chunks cached for good;
 *   the API's answers compressed as asked;
 * - sign-in: how long until the page is usable, how much JavaScript it brings (gzipped), a refusal;
 * - the launch wizard (c8i.large with nested virtualization; what it refuses and why), the list, Change
 *   CPU options, the details page, Connect, Windows' Virtual Secure Mode, the Instance settings dialogs
 *   (instance type, user data, tags, termination protection), terminate, the instance types, Regions,
 *   key pairs; security groups and VPCs; volumes (create, attach, detach, delete);
 * - 5,000 instances in one Region (4,900 launched with the SDK, 100 from the wizard): polling only the
 *   page on screen, without long tasks; a full reload; filtering (keystroke latency, API filters);
 *   sorting; column preferences; paging; selection; a confirmed stop of 1,000 instances.
 *
 * Each defect of issue 13 has a check here or in console-logic.test.ts (named "issue 13 #n"); axe-core
 * runs on every page and dialog and must find no serious or critical violation. The figures the issue
 * asks for are printed (`console figure: …`) and asserted only where it sets a goal, with a margin that a
 * loaded machine cannot break (2× the goal; 120 KB of JavaScript is a hard limit). Screenshots go to
 * artifacts/console/ (NESTBOX_CONSOLE_ARTIFACTS moves them).
 *
 * Chromium is required, not optional: `.ci/run` installs it (`apt-get install chromium`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer, get, request } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  CreateKeyPairCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeVolumesCommand,
  CreateTagsCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type _InstanceType,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { Sha256Js } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { type BrowserContext, type Locator, type Page, type Request, chromium } from 'playwright-core';
import { faultsCommand } from '../src/cli/faults.js';
import { type ConsoleBuild, buildConsole } from '../src/console/build.js';
import { consoleFiles } from '../src/http/console.js';
import { CREDENTIALS, type TestServer, eventually, startTestServer } from './helpers.js';

const CHROMIUM = process.env.NESTBOX_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = process.env.NESTBOX_CONSOLE_ARTIFACTS ?? fileURLToPath(new URL('../artifacts/console/', import.meta.url));
const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** Chromium's own calls home are refused on CI machines; these keep it quiet and quick. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LINUX = 'ami-0b5e4a1f2c3d40001';
const WINDOWS = 'ami-0b5e4a1f2c3d40003';
const INSTANCE_NAME = 'nested-e2e';
/** The Region with 5,000 instances (each Region has its own instance quota of 5,000). */
const SCALE_REGION = 'us-west-2';

/** The issue's goals: JavaScript of the first page (hard), a usable sign-in page, the longest task while polling. */
const GOAL_JS_GZIP_BYTES = 120 * 1024;
const GOAL_SIGN_IN_MS = 300;
const GOAL_LONGEST_TASK_MS = 100;
/** Timing goals are asserted at twice the goal: the figure itself is printed, and a loaded 2-core CI machine must not flake. */
const MARGIN = 2;

if (!existsSync(CHROMIUM)) {
  throw new Error(
    `the console tests need Chromium at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium (.ci/run installs it)`,
  );
}

let server: TestServer;
let ec2: EC2Client;
let built: ConsoleBuild;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
/** every URL the browser asked for: all of them must be on the nestbox origin */
const requested: string[] = [];
/** every script the browser loaded */
const scripts = new Set<string>();
/** pages and dialogs axe-core checked */
const axeChecked: string[] = [];

before(async () => {
  built = await buildConsole();
  mkdirSync(ARTIFACTS, { recursive: true });
  // A boot or a stop takes 400 ms: long enough to be seen in between, short enough for a quick test.
  server = await startTestServer({ driver: 'simulated', simulatedDelayMs: 400 });
  ec2 = server.client();
  userDataDir = mkdtempSync(join(tmpdir(), 'nestbox-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 960 },
    acceptDownloads: true,
  });
  context.setDefaultTimeout(20_000);
  context.on('request', (r) => requested.push(r.url()));
  context.on('response', (r) => {
    if (r.request().resourceType() === 'script') scripts.add(r.url());
  });
  // axe-core, served on the console's origin so that the page's CSP (script-src 'self') lets it in.
  await context.route(`${server.endpoint}/_test/axe.min.js`, (r) => r.fulfill({ path: AXE_SOURCE, contentType: 'text/javascript' }));
  page = context.pages()[0] ?? (await context.newPage());
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await server?.close();
});

// --- helpers ------------------------------------------------------------------------------------

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

/**
 * What the tests use of the page's globals inside page.evaluate, where they read them as
 * `globalThis as unknown as PageGlobals` (this file is compiled without the DOM library).
 */
interface PageGlobals {
  readonly document: {
    readonly activeElement: { readonly id: string } | null;
    getElementById(id: string): { readonly scrollTop: number } | null;
    readonly documentElement: { readonly scrollWidth: number };
    addEventListener(type: string, listener: () => void, options: { capture: boolean }): void;
  };
  readonly scrollY: number;
  readonly innerWidth: number;
  readonly innerHeight: number;
  requestAnimationFrame(callback: () => void): number;
  readonly PerformanceObserver: new (callback: (list: { getEntries(): { duration: number }[] }) => void) => {
    observe(options: { type: string }): void;
  };
  readonly axe?: { run(context: unknown, options: object): Promise<{ violations: AxeViolation[] }> };
  __longTasks: number[];
  __keys: number[];
}

const shot = (name: string, fullPage = false) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });

/** A figure the issue asks for: printed, for the README and the CI log. */
function figure(name: string, value: string): void {
  process.stdout.write(`console figure: ${name}: ${value}\n`);
}

/** Runs axe-core on the page as it is now (a dialog or menu included); no serious or critical violation may remain. */
async function axe(name: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ url: `${server.endpoint}/_test/axe.min.js` });
  const violations = await page.evaluate(async () => {
    const g = globalThis as unknown as PageGlobals;
    const results = await g.axe!.run(g.document, { resultTypes: ['violations'] });
    return results.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ rule: v.id, impact: v.impact, help: v.help, where: v.nodes.slice(0, 4).map((n) => n.target.join(' ')) }));
  });
  axeChecked.push(name);
  assert.deepEqual(violations, [], `axe-core on ${name}:\n${JSON.stringify(violations, null, 2)}`);
}

/** The status of a GET with exactly this request target. */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.endpoint}/`, { path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Bytes on the wire of a URL sent gzipped (what the issue's 120 KB counts). */
function gzippedBytes(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => (res.headers['content-encoding'] === 'gzip' ? resolve(n) : reject(new Error(`${url} was not sent gzipped`))));
    }).on('error', reject);
  });
}

/** A signed API request with the given Accept-Encoding, answered raw (not decompressed). */
async function signedPost(body: string, acceptEncoding: string | undefined) {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ service: 'ec2', region: 'eu-north-1', credentials: CREDENTIALS, sha256: Sha256Js });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    const req = request(
      server.endpoint,
      { method: 'POST', headers: { ...signed.headers, ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `nestbox faults …` against the test server. */
async function faults(...args: string[]): Promise<void> {
  const out: string[] = [];
  const status = await faultsCommand([...args, '--endpoint-url', server.endpoint], {
    env: { AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey },
    out: (l) => out.push(l),
    err: (l) => out.push(l),
  });
  assert.equal(status, 0, out.join('\n'));
}

const row = (id: string) => page.locator(`tr[data-instance-id="${id}"]`);
const rows = () => page.locator('tbody tr[data-instance-id]');
const listStatus = () => page.getByTestId('list-status');
const filterField = () => page.getByRole('combobox', { name: 'Filter instances' });
const heading = (text: string | RegExp) => page.getByRole('heading', { name: text, level: 1 });

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Waits until `locator` reads exactly `text` (the page polls, so it may be a moment behind the API). */
async function waitForText(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: new RegExp(`^${escapeRegExp(text)}$`) }).waitFor();
}

/** What the console shows for a value the API left out or sent empty. */
const shown = (value: string | undefined) => value || '–';

const tag = (i: Instance | undefined, key: string) => i?.Tags?.find((t) => t.Key === key)?.Value;

const isFocused = (locator: Locator) => locator.evaluate((el) => el.matches(':focus'));
const focusedIn = (locator: Locator) => locator.evaluate((el) => el.matches(':focus-within'));

async function waitForState(id: string, state: string): Promise<void> {
  await row(id).locator(`[data-col="state"] [data-state="${state}"]`).waitFor();
}

async function nestedInList(id: string): Promise<string | null> {
  return row(id).locator('[data-nested]').getAttribute('data-nested');
}

async function describeInstance(id: string, client: EC2Client = ec2) {
  const out = await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations?.[0]?.Instances?.[0];
}

/** Every instance the filters match, through the SDK. */
async function describeAll(client: EC2Client, filters: Filter[] = []): Promise<Instance[]> {
  const all: Instance[] = [];
  let NextToken: string | undefined;
  do {
    const out = await client.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: 1000, NextToken }));
    for (const r of out.Reservations ?? []) all.push(...(r.Instances ?? []));
    NextToken = out.NextToken;
  } while (NextToken);
  return all;
}

/** Opens the Actions menu (with the keyboard) and returns the item named `label`. */
async function actionsItem(label: string) {
  const button = page.getByRole('button', { name: 'Actions' });
  if ((await page.getByRole('menu', { name: 'Actions' }).count()) === 0) {
    await button.focus();
    await page.keyboard.press('ArrowDown');
  }
  const menu = page.getByRole('menu', { name: 'Actions' });
  await menu.waitFor();
  return menu.getByRole('menuitem', { name: label, exact: true });
}

async function closeMenu(): Promise<void> {
  await page.keyboard.press('Escape');
  await page.getByRole('menu').waitFor({ state: 'detached' });
}

/** Selects this row alone (a click on the row, not on its link or checkbox, does that). */
async function selectOnly(id: string): Promise<void> {
  await row(id).locator('td').nth(1).click();
  await listStatus().filter({ hasText: /^1 selected/ }).waitFor();
  assert.equal(await page.getByRole('checkbox', { name: `Select ${id}` }).isChecked(), true);
}

/** The text of a notice (without its Dismiss button). */
const noticeText = async (notice: Locator) => (await notice.locator('.alert-text').textContent()) ?? '';

async function chooseType(type: string): Promise<void> {
  await page.getByLabel('Find instance type').fill(type);
  await page.getByRole('radio', { name: type, exact: true }).check();
}

const nestedSelect = () => page.locator('select[name="nested-virtualization"]');
const enableOptionDisabled = () => nestedSelect().locator('option[value="enabled"]').isDisabled();

async function goToInstances(): Promise<void> {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Instances', exact: true }).click();
  await heading(/^Instances/).waitFor();
}

/** Stops an instance through the SDK once it has run (EC2 will not stop one that never ran). */
async function stoppedInstance(params: { type: _InstanceType; name: string }): Promise<string> {
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: LINUX,
      InstanceType: params.type,
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: params.name }] }],
    }),
  );
  const id = run.Instances?.[0]?.InstanceId ?? '';
  await eventually(async () => ((await describeInstance(id))?.State?.Name === 'running' ? true : undefined), 10_000, `${id} running`);
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await eventually(async () => ((await describeInstance(id))?.State?.Name === 'stopped' ? true : undefined), 10_000, `${id} stopped`);
  return id;
}

// --- the static route and compression -------------------------------------------------------------

describe('served at /console by the API server', () => {
  test('the page, its entry script and chunks from the build’s manifest, with types, caching and a CSP; nothing else', async () => {
    const index = await rawGet('/console');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
    assert.match(index.body.toString(), /<script type="module" src="\/console\/app.js">/);
    assert.equal((await rawGet('/console/')).status, 200);

    const script = await rawGet('/console/app.js');
    assert.equal(script.status, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    assert.equal(script.headers['cache-control'], 'no-cache');
    const etag = String(script.headers.etag ?? '');
    assert.ok(etag);
    assert.equal((await rawGet('/console/app.js', { 'If-None-Match': etag })).status, 304);
    assert.match(String((await rawGet('/console/app.css')).headers['content-type']), /^text\/css/);

    // The chunks the sign-in page loads the console with: named by their hash, kept for good.
    const chunks = Object.keys(built.scripts).filter((f) => f.startsWith('chunks/'));
    assert.ok(chunks.length > 0);
    for (const chunk of chunks) {
      const res = await rawGet(`/console/${chunk}`);
      assert.equal(res.status, 200, chunk);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    }

    // Sent as written (fetch would resolve the dot segments itself).
    for (const path of [
      '/console/../package.json',
      '/console/%2e%2e/package.json',
      '/console/build.ts',
      '/console/app',
      '/console//app.js',
      '/console/manifest.json',
      '/console/chunks/',
      '/console/chunks/../app.js',
      '/console/app.js.map',
    ]) {
      assert.equal((await rawGet(path)).status, 404, path);
    }
    const post = await fetch(`${server.endpoint}/console`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');

    // The API's own GET routes are unchanged.
    for (const path of ['/', '/_health']) {
      const health = await fetch(`${server.endpoint}${path}`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, 'ok');
    }
  });

  test('static files and API answers are compressed as the client asks (Brotli, gzip), and only then', async () => {
    const plain = await rawGet('/console/app.css');
    assert.equal(plain.headers['content-encoding'], undefined);
    const br = await rawGet('/console/app.css', { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.deepEqual(brotliDecompressSync(br.body), plain.body);
    const gz = await rawGet('/console/app.css', { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.body), plain.body);

    // In a Region of its own, so that the console's first list (us-east-1) starts empty.
    const north = server.client('eu-north-1');
    await north.send(new RunInstancesCommand({ ImageId: LINUX, InstanceType: 't3.micro', MinCount: 3, MaxCount: 3 }));
    const body = 'Action=DescribeInstances&Version=2016-11-15';
    const raw = await signedPost(body, undefined);
    assert.equal(raw.headers['content-encoding'], undefined);
    assert.match(raw.body.toString(), /<DescribeInstancesResponse/);
    const brApi = await signedPost(body, 'gzip, deflate, br');
    assert.equal(brApi.headers['content-encoding'], 'br');
    assert.ok(brApi.body.length * 5 < raw.body.length, `${brApi.body.length} bytes compressed, ${raw.body.length} plain`);
    const decoded = brotliDecompressSync(brApi.body).toString();
    // The same document, but for its request ID.
    const noId = (s: string) => s.replace(/<requestId>[^<]*<\/requestId>/, '');
    assert.equal(noId(decoded), noId(raw.body.toString()));
    const gzApi = await signedPost(body, 'gzip;q=1, br;q=0');
    assert.equal(gzApi.headers['content-encoding'], 'gzip');
    assert.equal(noId(gunzipSync(gzApi.body).toString()), noId(raw.body.toString()));
    // The SDK (no Accept-Encoding) reads its answers as before: the rest of this suite depends on it.
    assert.equal((await describeAll(north)).length, 3);
  });

  test('without a built console, a 503 that says to run npm run build', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'nestbox-console-'));
    const files = consoleFiles(empty);
    const http: Server = createServer((req, res) => files.serve(req, res, req.url ?? '/'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/console`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /npm run build/);
    } finally {
      http.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

// --- the flows, in order, in one browser session ------------------------------------------------------

describe('the console in Chromium', () => {
  let id = '';

  test('sign-in: usable at once, with little JavaScript; a wrong secret is refused as the API refuses it', async () => {
    const firstPageScripts: string[] = [];
    const onResponse = (r: { url(): string; request(): Request }) => {
      if (r.request().resourceType() === 'script') firstPageScripts.push(r.url());
    };
    page.on('response', onResponse);
    // A cold load: this browser profile has never seen the page.
    await page.goto(`${server.endpoint}/console`);
    await page.getByLabel('Access key ID').waitFor();
    const usable = await page.evaluate(() => {
      const mark = performance.getEntriesByName('nestbox:sign-in-usable')[0];
      return { at: mark?.startTime, focused: (globalThis as unknown as PageGlobals).document.activeElement?.id };
    });
    page.off('response', onResponse);
    assert.ok(usable.at !== undefined, 'the sign-in page marks when it is usable');
    assert.equal(usable.focused, 'access-key', 'the first field has focus');
    figure('time to a usable sign-in page (cold load, from navigation start)', `${usable.at.toFixed(0)} ms`);
    assert.ok(usable.at <= GOAL_SIGN_IN_MS * MARGIN, `usable after ${usable.at.toFixed(0)} ms (goal ${GOAL_SIGN_IN_MS} ms)`);

    const bytes = (await Promise.all(firstPageScripts.map(gzippedBytes))).reduce((a, b) => a + b, 0);
    figure('JavaScript of the sign-in page, gzipped', `${bytes} bytes in ${firstPageScripts.length} files`);
    assert.ok(bytes <= GOAL_JS_GZIP_BYTES, `${bytes} bytes of gzipped JavaScript (limit ${GOAL_JS_GZIP_BYTES})`);
    await axe('sign-in page');

    await page.getByText('access key test and secret test').waitFor();
    await page.getByLabel('Access key ID').fill(CREDENTIALS.accessKeyId);
    await page.getByLabel('Secret access key').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = page.getByRole('alert');
    await refusal.getByText('SignatureDoesNotMatch').waitFor();
    await shot('sign-in');
    await axe('sign-in page, refused');

    await page.getByLabel('Secret access key').fill(CREDENTIALS.secretAccessKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading(/^Instances/).waitFor();
    assert.equal(await page.getByLabel('Region').inputValue(), 'us-east-1');
    await page.getByText('No instances in US East (N. Virginia) (us-east-1).').waitFor();
    await axe('instances, empty');
  });

  test('issue 13 #1: the launch page opens at its top, from the navigation and when loaded directly', async () => {
    const atTop = async () => {
      await page.getByRole('radio', { name: 'c8i.large', exact: true }).waitFor();
      // The chosen type is brought into view inside its own list, not by scrolling the page.
      assert.equal(await page.getByRole('radio', { name: 'c8i.large', exact: true }).isChecked(), true);
      const scroll = await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return { window: g.scrollY, main: g.document.getElementById('main')?.scrollTop ?? -1 };
      });
      assert.deepEqual(scroll, { window: 0, main: 0 });
      await heading('Launch instances').evaluate((h) => {
        if (h.getBoundingClientRect().top < 0) throw new Error('the heading is scrolled out of view');
      });
    };
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Launch instances' }).click();
    await atTop();
    await page.reload();
    await atTop();
    await axe('launch wizard');
  });

  test('launch wizard: Enable is refused for m6i.large and explained for Windows; the Summary and Launch follow (#2)', async () => {
    await page.getByText('Advanced details').click();

    // m6i.large: the option is disabled, and the reason is the API's own.
    await chooseType('m6i.large');
    assert.equal(await enableOptionDisabled(), true);
    await page.getByText('The instance type m6i.large does not support nested virtualization.').waitFor();
    await page.locator('details.advanced').screenshot({ path: join(ARTIFACTS, 'wizard-m6i-large.png') });

    // Windows on m8i.96xlarge (384 vCPUs): explained before any request; VSM / Credential Guard noted.
    await page.locator(`input[name="image"][value="${WINDOWS}"]`).check();
    await chooseType('m8i.96xlarge');
    assert.equal(await enableOptionDisabled(), true);
    await page.getByText(/not supported for Windows instances with more than 192 vCPUs \(m8i\.96xlarge has 384\)/).first().waitFor();
    const vsmNote = page.getByText(/Virtual Secure Mode \(VSM\) is turned off, so Credential Guard will be unavailable/);
    await vsmNote.first().waitFor();
    assert.equal(await vsmNote.count(), 2);

    // Hibernation and nested virtualization cannot be combined: whichever comes second says why.
    await page.locator(`input[name="image"][value="${LINUX}"]`).check();
    await chooseType('c8i.large');
    await nestedSelect().selectOption('enabled');
    const hibernate = page.getByRole('checkbox', { name: /Enable hibernation/ });
    assert.equal(await hibernate.isDisabled(), true);
    await page.getByText('Hibernation is not supported on instances with nested virtualization enabled.').waitFor();

    // Enable chosen first, then a type without the feature: the field, the Summary and the Launch button say so.
    await page.getByRole('checkbox', { name: 'Supports nested virtualization' }).check();
    await page.getByLabel('Find instance type').fill('m6i.large');
    assert.equal(await page.getByRole('radio', { name: 'm6i.large', exact: true }).count(), 0);
    await page.getByRole('checkbox', { name: 'Supports nested virtualization' }).uncheck();
    await chooseType('m6i.large');
    await page.getByText("Can't be combined: The instance type m6i.large does not support nested virtualization.").waitFor();
    assert.equal(await page.getByTestId('summary-nested').textContent(), 'Enabled: not possible');
    const launch = page.getByRole('button', { name: 'Launch instances' });
    assert.equal(await launch.isDisabled(), true);
    await page
      .getByTestId('launch-problems')
      .getByText('Nested virtualization: The instance type m6i.large does not support nested virtualization.')
      .waitFor();
    // The hibernation note gives hibernation's own reason, not nested virtualization's.
    const hibernationNote = page.locator('#hibernation-blocker');
    assert.equal(await hibernationNote.textContent(), 'Not available: Hibernation is not supported on instances with nested virtualization enabled.');
    await axe('launch wizard, choices it refuses');
    await shot('wizard-refused', true);

    await chooseType('c8i.large');
    assert.equal(await page.getByTestId('summary-nested').textContent(), 'Enabled');
    assert.equal(await launch.isEnabled(), true);
    assert.equal(await page.getByTestId('launch-problems').count(), 0);
  });

  test('issue 13 #8: the number of instances is taken as typed, or refused with a message', async () => {
    const count = page.getByLabel('Number of instances');
    const launch = page.getByRole('button', { name: 'Launch instances' });
    await count.fill('1000');
    assert.equal(await count.inputValue(), '1000');
    assert.equal(await page.locator('#instance-count-error').count(), 0);
    assert.equal(await launch.isEnabled(), true);
    for (const bad of ['0', '-1', '2.5', '']) {
      await count.fill(bad);
      await page.locator('#instance-count-error').waitFor();
      assert.equal(await count.getAttribute('aria-invalid'), 'true', bad);
      assert.equal(await launch.isDisabled(), true, bad);
      assert.equal(await count.inputValue(), bad, 'what was typed stays as typed');
    }
    await count.fill('5001');
    await page.locator('#instance-count-error').getByText(/At most 5,000/).waitFor();
    await axe('launch wizard, a number it refuses');
    await count.fill('1');
    await page.locator('#instance-count-error').waitFor({ state: 'detached' });
  });

  test('an API refusal the wizard cannot foresee is shown exactly as the API answered', async () => {
    await faults('add', 'capacity', '--instance-type', 'c8i.xlarge');
    try {
      await chooseType('c8i.xlarge');
      await page.getByRole('button', { name: 'Launch instances' }).click();
      const refusal = page.getByRole('alert').filter({ hasText: 'RunInstances failed' });
      await refusal.waitFor();
      assert.equal(await refusal.locator('.api-error-code').textContent(), 'InsufficientInstanceCapacity');
      assert.match((await refusal.locator('.api-error-message').textContent()) ?? '', /capacity/i);
      await axe('launch wizard, refused by the API');
    } finally {
      await faults('clear');
    }
  });

  test('launch: c8i.large with nested virtualization enabled, listed first and followed live', async () => {
    await chooseType('c8i.large');
    await nestedSelect().selectOption('enabled');
    await page.getByLabel('Name', { exact: true }).fill(INSTANCE_NAME);
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.getByLabel('Tag 1 key').fill('Purpose');
    await page.getByLabel('Tag 1 value').fill('android-emulator');
    assert.equal(await page.getByTestId('summary-nested').textContent(), 'Enabled');
    await shot('wizard', true);

    await page.getByRole('button', { name: 'Launch instances' }).click();
    const launched = page.getByRole('status').filter({ hasText: 'with nested virtualization enabled' }).last();
    await launched.waitFor();
    id = (await launched.getByRole('link').first().textContent()) ?? '';
    assert.match(id, /^i-[0-9a-f]{17}$/);

    // The list follows the instance without a reload: pending, then running; newest first, it is the first row.
    await row(id).waitFor();
    assert.equal(await rows().first().getAttribute('data-instance-id'), id);
    await waitForState(id, 'running');
    assert.equal(await nestedInList(id), 'enabled');
    assert.equal(await row(id).locator('td').nth(1).textContent(), INSTANCE_NAME);
    await row(id).locator('[data-col="status"]').filter({ hasText: /checks passed|Initializing/ }).waitFor();
    const described = await describeInstance(id);
    assert.equal(described?.InstanceType, 'c8i.large');
    assert.equal(described?.CpuOptions?.NestedVirtualization, 'enabled');
    assert.deepEqual(tag(described, 'Purpose'), 'android-emulator');
    await axe('instances');
  });

  test('the Actions menu is there with nothing selected, each item greyed out with its reason', async () => {
    const all = page.getByRole('checkbox', { name: 'Select all instances' });
    if (await all.isChecked()) await all.uncheck();
    const button = page.getByRole('button', { name: 'Actions' });
    assert.equal(await button.isEnabled(), true);
    const start = await actionsItem('Start instance');
    assert.equal(await start.getAttribute('aria-disabled'), 'true');
    assert.match((await start.getAttribute('aria-describedby')) ?? '', /./);
    await page.getByText('Select one or more instances.').waitFor();
    await shot('actions-nothing-selected');
    await axe('Actions menu');
    await closeMenu();
  });

  test('Change CPU options is refused while running; stop asks first (#3); stopped, nested virtualization goes off and on', async () => {
    await selectOnly(id);
    const item = await actionsItem('Change CPU options');
    assert.equal(await item.getAttribute('aria-disabled'), 'true');
    assert.match((await item.textContent()) ?? '', /only while the instance is stopped; .* is running/);
    await shot('actions-while-running');
    await item.click({ force: true }); // aria-disabled: nothing happens
    assert.equal(await page.getByRole('dialog').count(), 0);
    await closeMenu();

    // Stop, with the keyboard: ↓ to "Stop instance", Enter — and EC2's confirmation, which Escape cancels.
    const stop = await actionsItem('Stop instance');
    while (!(await isFocused(stop))) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('dialog', { name: 'Stop instance?' });
    await confirm.waitFor();
    await confirm.getByText(id).waitFor();
    assert.equal(await isFocused(confirm.getByRole('button', { name: 'Cancel' })), true);
    await shot('confirm-stop');
    await axe('Stop instance? dialog');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await describeInstance(id))?.State?.Name, 'running');

    await (await actionsItem('Stop instance')).click();
    await confirm.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('status').filter({ hasText: `Stopping ${id} (running → stopping).` }).waitFor();
    await waitForState(id, 'stopped');

    const change = async (value: 'enabled' | 'disabled') => {
      await (await actionsItem('Change CPU options')).click();
      const dialog = page.getByRole('dialog', { name: 'Change CPU options' });
      await dialog.getByLabel('Nested virtualization').selectOption(value);
      if (value === 'enabled') {
        await shot('change-cpu-options');
        await axe('Change CPU options dialog');
      }
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.waitFor({ state: 'detached' });
    };
    await change('disabled');
    await row(id).locator('[data-nested="disabled"]').waitFor();
    assert.equal((await describeInstance(id))?.CpuOptions?.NestedVirtualization, 'disabled');
    await change('enabled');
    await page.getByRole('status').filter({ hasText: 'nested virtualization enabled' }).first().waitFor();
    await row(id).locator('[data-nested="enabled"]').waitFor();

    // Start asks nothing, as in EC2.
    await (await actionsItem('Start instance')).click();
    await waitForState(id, 'running');
    assert.equal(await nestedInList(id), 'enabled');
    const described = await describeInstance(id);
    assert.equal(described?.State?.Name, 'running');
    assert.equal(described?.CpuOptions?.NestedVirtualization, 'enabled');
    await shot('instances');
  });

  test('issue 13 #9: Change CPU options on m6i.large never offers Enable, not even while the type is being read', async () => {
    const m6i = await stoppedInstance({ type: 'm6i.large', name: 'm6i-e2e' });
    // A fresh page (a fresh API client, nothing cached): DescribeInstanceTypes is held until the dialog has been checked.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let seen = false;
    await page.route(`${server.endpoint}/`, async (route) => {
      if (/Action=DescribeInstanceTypes/.test(route.request().postData() ?? '')) {
        seen = true;
        await held;
      }
      await route.continue();
    });
    try {
      await page.reload();
      await row(m6i).waitFor();
      await selectOnly(m6i);
      await (await actionsItem('Change CPU options')).click();
      const dialog = page.getByRole('dialog', { name: 'Change CPU options' });
      await dialog.getByTestId('nested-checking').waitFor();
      assert.equal(seen, true, 'the dialog is reading the instance types');
      assert.equal(await enableOptionDisabled(), true, 'Enable waits while the type is being read');
      release();
      await dialog.getByText('The instance type m6i.large does not support nested virtualization.').waitFor();
      assert.equal(await dialog.getByTestId('nested-checking').count(), 0);
      assert.equal(await enableOptionDisabled(), true);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
    } finally {
      release();
      await page.unroute(`${server.endpoint}/`);
    }
  });

  test('issue 13 #10: the details page gives the state transition’s reason and message, the code once', async () => {
    const m6i = (await describeAll(ec2, [{ Name: 'tag:Name', Values: ['m6i-e2e'] }]))[0]?.InstanceId ?? '';
    await row(m6i).getByRole('link', { name: m6i }).click();
    await page.getByTestId('details-state').locator('[data-state="stopped"]').waitFor();
    const reason = page.locator('[data-field="state-reason"]');
    const message = page.locator('[data-field="state-message"]');
    assert.match((await reason.textContent()) ?? '', /^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/);
    assert.equal(await message.textContent(), 'Client.UserInitiatedShutdown: User initiated shutdown');
    const summary = (await page.getByRole('region', { name: 'Instance summary' }).textContent()) ?? '';
    assert.equal(summary.split('Client.UserInitiatedShutdown').length - 1, 1, summary);
    await axe('instance details, stopped');
  });

  test('Instance settings: change instance type, edit user data, manage tags, termination protection — each through the API', async () => {
    const m6i = (await describeAll(ec2, [{ Name: 'tag:Name', Values: ['m6i-e2e'] }]))[0]?.InstanceId ?? '';

    // Change instance type: m6i.large → m8i.large (ModifyInstanceAttribute InstanceType).
    await (await actionsItem('Change instance type')).click();
    let dialog = page.getByRole('dialog', { name: 'Change instance type' });
    await dialog.getByLabel('Find instance type').fill('m8i.large');
    await dialog.getByRole('radio', { name: 'm8i.large', exact: true }).check();
    await axe('Change instance type dialog');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('status').filter({ hasText: `Instance type of ${m6i} changed: m6i.large → m8i.large.` }).waitFor();
    assert.equal((await describeInstance(m6i))?.InstanceType, 'm8i.large');

    // Edit user data (DescribeInstanceAttribute userData, then ModifyInstanceAttribute UserData).
    await (await actionsItem('Edit user data')).click();
    dialog = page.getByRole('dialog', { name: 'Edit user data' });
    const text = dialog.getByLabel('User data', { exact: true });
    await text.and(page.locator(':enabled')).waitFor();
    await text.fill('#!/bin/sh\necho "hello from the console"\n');
    await axe('Edit user data dialog');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const userData = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: m6i, Attribute: 'userData' }));
    assert.equal(Buffer.from(userData.UserData?.Value ?? '', 'base64').toString(), '#!/bin/sh\necho "hello from the console"\n');

    // Manage tags: change one, add one, remove none (CreateTags), then remove one (DeleteTags).
    await (await actionsItem('Manage tags')).click();
    dialog = page.getByRole('dialog', { name: 'Manage tags' });
    assert.equal(await dialog.getByLabel('Tag 1 key').inputValue(), 'Name');
    await dialog.getByLabel('Tag 1 value').fill('m6i-renamed');
    await dialog.getByRole('button', { name: 'Add tag' }).click();
    await dialog.getByLabel('Tag 2 key').fill('Team');
    await dialog.getByLabel('Tag 2 value').fill('console');
    await axe('Manage tags dialog');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    let described = await describeInstance(m6i);
    assert.equal(tag(described, 'Name'), 'm6i-renamed');
    assert.equal(tag(described, 'Team'), 'console');
    await heading(/^m6i-renamed/).waitFor();
    await (await actionsItem('Manage tags')).click();
    await dialog.getByRole('button', { name: 'Remove tag 2' }).click();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    described = await describeInstance(m6i);
    assert.equal(tag(described, 'Team'), undefined);

    // Termination protection on: Terminate is refused by the API, and the refusal is shown as it answered.
    await (await actionsItem('Change termination protection')).click();
    dialog = page.getByRole('dialog', { name: 'Change termination protection' });
    const protect = dialog.getByRole('checkbox', { name: 'Enable termination protection' });
    await protect.and(page.locator(':enabled')).waitFor();
    await protect.check();
    await axe('Change termination protection dialog');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const attribute = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: m6i, Attribute: 'disableApiTermination' }));
    assert.equal(attribute.DisableApiTermination?.Value, true);
    await (await actionsItem('Terminate (delete) instance')).click();
    const confirm = page.getByRole('dialog', { name: 'Terminate (delete) instance?' });
    await axe('Terminate (delete) instance? dialog');
    await confirm.getByRole('button', { name: 'Terminate (delete)' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: `Could not terminate ${m6i}` });
    await refusal.waitFor();
    assert.equal(await refusal.locator('.api-error-code').textContent(), 'OperationNotPermitted');
    await shot('terminate-refused');
    assert.equal((await describeInstance(m6i))?.State?.Name, 'stopped');
    await (await actionsItem('Change termination protection')).click();
    await protect.and(page.locator(':enabled')).waitFor();
    await protect.uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await (await actionsItem('Terminate (delete) instance')).click();
    await confirm.getByRole('button', { name: 'Terminate (delete)' }).click();
    await page.getByTestId('details-state').locator('[data-state="terminated"], [data-state="shutting-down"]').first().waitFor();
  });

  test('issue 13 #6: a terminated instance offers no start, stop or reboot, and its CPU options say why not', async () => {
    const m6i = (await describeAll(ec2, [{ Name: 'tag:Name', Values: ['m6i-renamed'] }]))[0]?.InstanceId ?? '';
    await page.getByTestId('details-state').locator('[data-state="terminated"]').waitFor();
    for (const label of ['Start instance', 'Stop instance', 'Force stop instance', 'Reboot instance', 'Terminate (delete) instance']) {
      const item = await actionsItem(label);
      assert.equal(await item.getAttribute('aria-disabled'), 'true', label);
      assert.match((await item.textContent()) ?? '', new RegExp(`${m6i} is terminated`), label);
    }
    const cpu = await actionsItem('Change CPU options');
    assert.equal(await cpu.getAttribute('aria-disabled'), 'true');
    assert.match((await cpu.textContent()) ?? '', /is terminated: its cpu options can no longer be changed/);
    assert.doesNotMatch((await cpu.textContent()) ?? '', /Stop it first/);
    await shot('actions-terminated');
    await axe('Actions menu, terminated instance');
    await closeMenu();
    assert.match((await page.getByTestId('cpu-options-hint').textContent()) ?? '', /terminated: its CPU options can no longer be changed/);
  });

  test('the details page: state, CPU options with nested virtualization enabled, tags and the serial console', async () => {
    await goToInstances();
    await row(id).getByRole('link', { name: id }).click();
    await page.getByTestId('details-state').locator('[data-state="running"]').waitFor();
    assert.equal(await page.getByTestId('details-nested').locator('[data-nested]').getAttribute('data-nested'), 'enabled');
    await page.getByRole('cell', { name: 'android-emulator' }).waitFor();
    await page.getByTestId('console-output').getByText(/virtualization extension: /).waitFor();
    await shot('details', true);
    await axe('instance details');
  });

  test('issue 13 #12: the serial console of an Intel type shows Intel’s extension (vmx), not AMD’s', async () => {
    // c8i.large is an Intel type (DescribeInstanceTypes: ProcessorInfo.Manufacturer Intel).
    await page.getByTestId('console-output').getByText(/virtualization extension: vmx/).waitFor();
    assert.doesNotMatch((await page.getByTestId('console-output').textContent()) ?? '', /virtualization extension: svm/);
  });

  test('the list shows each instance’s public and private IPv4 address as DescribeInstances gives them', async () => {
    await goToInstances();
    await waitForState(id, 'running');
    const described = await describeInstance(id);
    assert.ok(described?.PrivateIpAddress, 'a running instance has a private IPv4 address');
    await waitForText(row(id).locator('[data-col="public-ip"]'), shown(described?.PublicIpAddress));
    await waitForText(row(id).locator('[data-col="private-ip"]'), described.PrivateIpAddress);
    await page.getByRole('columnheader', { name: 'Public IPv4 address' }).waitFor();
    await page.getByRole('columnheader', { name: 'Private IPv4 address' }).waitFor();
    // The filter finds an instance by its address.
    await filterField().fill(described.PrivateIpAddress);
    await row(id).waitFor();
    await listStatus().filter({ hasText: /1–1 of 1$/ }).waitFor();
    assert.equal(await rows().count(), 1);
    await filterField().fill('');
  });

  test('the details page: networking as DescribeInstances gives it, – for what it leaves out', async () => {
    await row(id).getByRole('link', { name: id }).click();
    await page.getByTestId('details-state').locator('[data-state="running"]').waitFor();
    const d = await describeInstance(id);
    assert.ok(d?.VpcId && d.SubnetId && d.PrivateIpAddress);
    await page.getByRole('tab', { name: 'Networking' }).click();
    const networking = page.getByRole('region', { name: 'Networking details' });
    const field = (name: string) => networking.locator(`[data-field="${name}"]`);
    const enis = d.NetworkInterfaces ?? [];
    const primary = enis.find((n) => n.Attachment?.DeviceIndex === 0) ?? enis[0];
    const groups = (d.SecurityGroups ?? []).map((g) => `${g.GroupId}${g.GroupName ? ` (${g.GroupName})` : ''}`).join('');
    const expected: Record<string, string> = {
      'public-ip': shown(d.PublicIpAddress),
      'public-dns': shown(d.PublicDnsName),
      'private-ip': d.PrivateIpAddress,
      'private-dns': shown(d.PrivateDnsName),
      'vpc-id': d.VpcId,
      'subnet-id': d.SubnetId,
      'security-groups': shown(groups),
      'eni-id': shown(primary?.NetworkInterfaceId),
      mac: shown(primary?.MacAddress),
    };
    for (const [name, text] of Object.entries(expected)) await waitForText(field(name), text);
    for (const label of ['Public IPv4 address', 'Public DNS', 'Private IPv4 address', 'Private DNS', 'VPC ID', 'Subnet ID', 'Security groups', 'Primary network interface', 'MAC address']) {
      await networking.getByText(label, { exact: true }).waitFor();
    }
    await networking.screenshot({ path: join(ARTIFACTS, 'details-networking.png') });
  });

  test('security groups: create one, edit its inbound rules (SSH from 10.0.0.0/8, a port from another group), EC2’s refusals, delete', async () => {
    const started = Date.now();
    const peer = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'e2e-peer', Description: 'the other group' }))).GroupId ?? '';
    const rulesOf = async (groupId: string) =>
      (await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }))).SecurityGroupRules ?? [];

    // The list, beside Instances in the navigation.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Security groups' }).click();
    await heading(/^Security groups/).waitFor();
    await page.locator(`tr[data-group-id="${peer}"]`).waitFor();
    await axe('security groups');

    // Create: name, description, VPC (the default VPC, from DescribeVpcs).
    await page.getByRole('button', { name: 'Create security group' }).click();
    const create = page.getByRole('dialog', { name: 'Create security group' });
    await create.getByLabel('Security group name').fill('e2e-web');
    await create.getByLabel('Description').fill('web servers');
    const vpcs = create.getByLabel('VPC');
    await vpcs.locator('option', { hasText: /default$/ }).waitFor({ state: 'attached' });
    await create.getByRole('button', { name: 'Add tag' }).click();
    await create.getByLabel('Tag 1 key').fill('Name');
    await create.getByLabel('Tag 1 value').fill('web-sg');
    await axe('Create security group dialog');
    await create.getByRole('button', { name: 'Create security group' }).click();
    await heading(/^web-sg/).waitFor();
    const groupId = ((await page.locator('[data-field="group-id"]').textContent()) ?? '').trim();
    assert.match(groupId, /^sg-[0-9a-f]{17}$/);
    await page.getByRole('status').getByText(/created/).waitFor();
    await page.getByText('No inbound rules.').waitFor();
    await axe('security group details');

    // Edit inbound rules: SSH from 10.0.0.0/8, and a port from the other group — first out of range, as typed.
    await page.getByRole('link', { name: 'Edit inbound rules' }).click();
    await heading(/^Edit inbound rules/).waitFor();
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Type of rule 1').selectOption({ label: 'SSH' });
    await page.getByLabel('Source of rule 1').fill('10.0.0.0/8');
    await page.getByLabel('Description of rule 1').fill('ssh from the VPN');
    await page.getByRole('button', { name: 'Add rule' }).click();
    assert.equal(await isFocused(page.getByLabel('Type of rule 2')), true, 'a new row’s Type has focus');
    // Nothing typed: said where it is, and nothing is sent.
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByText('Enter a port (22) or a port range (8000-8100).').waitFor();
    assert.equal(await isFocused(page.getByLabel('Port range of rule 2')), true, 'the first field to fix has focus');
    await page.getByLabel('Port range of rule 2').fill('70000');
    await page.getByLabel('Source of rule 2').fill(peer);
    await waitForText(page.getByTestId('rules-plan'), '2 rules to add.');
    await page.getByRole('button', { name: 'Save rules' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'AuthorizeSecurityGroupIngress failed' });
    await refusal.getByText('InvalidParameterValue').waitFor();
    await shot('security-group-edit-refused');
    await axe('Edit inbound rules, refused by the API');
    await page.getByLabel('Port range of rule 2').fill('5432');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByRole('status').getByText(/Inbound rules of sg-[0-9a-f]+ saved: 2 rules added/).waitFor();
    const inbound = page.getByTestId('inbound-rules');
    await inbound.locator('tr[data-rule-id]').nth(1).waitFor();
    assert.equal(await inbound.locator('tr[data-rule-id]').count(), 2);
    await inbound.locator('td[data-col="type"]', { hasText: /^SSH$/ }).waitFor();
    await inbound.locator('td[data-col="peer"]').getByRole('link', { name: peer }).waitFor();
    await shot('security-group-details');

    // The SDK sees what the console made.
    const made = (await rulesOf(groupId)).filter((r) => !r.IsEgress);
    const summary = made.map((r) => [r.IpProtocol, r.FromPort, r.ToPort, r.CidrIpv4 ?? r.ReferencedGroupInfo?.GroupId, r.Description ?? '']).sort();
    assert.deepEqual(summary, [
      ['tcp', 22, 22, '10.0.0.0/8', 'ssh from the VPN'],
      ['tcp', 5432, 5432, peer, ''],
    ]);

    // In the list, with its rule counts and tag; the filter finds it.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Security groups' }).click();
    await page.getByLabel('Filter security groups').fill('web-sg');
    const listed = page.locator(`tr[data-group-id="${groupId}"]`);
    await waitForText(listed.locator('[data-col="inbound"]'), '2');
    await waitForText(listed.locator('[data-col="outbound"]'), '1');
    await page.getByTestId('sg-status').filter({ hasText: /^1 of \d+$/ }).waitFor();
    await shot('security-groups');

    // Remove the SSH rule: one RevokeSecurityGroupIngress by rule ID.
    await listed.getByRole('link', { name: groupId }).click();
    await page.getByRole('link', { name: 'Edit inbound rules' }).click();
    const ssh = page.getByTestId('rule-editor').locator('tr', { has: page.locator('option:checked', { hasText: /^SSH$/ }) });
    await ssh.getByRole('button', { name: /^Delete rule/ }).click();
    await waitForText(page.getByTestId('rules-plan'), '1 rule to delete.');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByRole('status').getByText(/saved: 1 rule deleted/).waitFor();
    await page.getByTestId('inbound-rules').locator('tr[data-rule-id]').first().waitFor();
    assert.equal(await page.getByTestId('inbound-rules').locator('tr[data-rule-id]').count(), 1);
    assert.deepEqual(
      (await rulesOf(groupId)).filter((r) => !r.IsEgress).map((r) => [r.FromPort, r.ReferencedGroupInfo?.GroupId]),
      [[5432, peer]],
    );
    // The Outbound rules tab, with the keyboard.
    await page.getByRole('tab', { name: 'Inbound rules' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.getByTestId('outbound-rules').locator('td[data-col="peer"]', { hasText: '0.0.0.0/0' }).waitFor();
    assert.equal(await page.getByRole('tab', { name: 'Outbound rules' }).getAttribute('aria-selected'), 'true');

    // Delete: the peer (another group's rule refers to it) and the VPC's default group are refused, as EC2 refuses them.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Security groups' }).click();
    const defaultGroup = page.locator('tr[data-group-id]', { has: page.locator('td[data-col="name"]', { hasText: /^default$/ }) });
    await page.locator(`tr[data-group-id="${peer}"]`).getByRole('checkbox').check();
    await defaultGroup.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const remove = page.getByRole('dialog', { name: 'Delete 2 security groups?' });
    await axe('Delete security groups? dialog');
    await remove.getByRole('button', { name: 'Delete', exact: true }).click();
    await remove.getByText('DependencyViolation').waitFor();
    await remove.getByText('CannotDelete').waitFor();
    await shot('security-groups-delete-refused');
    await remove.locator('.modal-footer').getByRole('button', { name: 'Close' }).click();
    await remove.waitFor({ state: 'detached' });
    figure('security groups flow (create, edit inbound rules twice, delete refused)', `${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('the VPCs page; the instance page’s Security, Networking and Storage tabs: its groups and their rules, its subnet, its root volume', async () => {
    const started = Date.now();
    const d = await describeInstance(id);
    assert.ok(d?.SubnetId && d.SecurityGroups?.[0]?.GroupId && d.BlockDeviceMappings?.[0]?.Ebs?.VolumeId);
    const group = d.SecurityGroups[0];
    // The VPCs page: the default VPC with its subnets, the instance's among them.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'VPCs' }).click();
    await page.locator(`[data-vpc-id="${d.VpcId}"] tr[data-subnet-id="${d.SubnetId}"]`).waitFor();
    await shot('vpcs', true);
    await axe('VPCs');

    await page.goto(`${server.endpoint}/console#/instances/${id}`);
    await page.getByTestId('details-state').locator('[data-state="running"]').waitFor();
    const tabs = page.getByRole('tablist', { name: 'Instance details' });
    assert.equal(await tabs.getByRole('tab', { name: 'Details' }).getAttribute('aria-selected'), 'true');

    await tabs.getByRole('tab', { name: 'Security' }).click();
    const panel = page.getByRole('tabpanel', { name: 'Security' });
    await panel.locator('[data-field="instance-groups"]').getByRole('link', { name: group.GroupId }).waitFor();
    const rules = (await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [group.GroupId ?? ''] }] }))).SecurityGroupRules ?? [];
    const inbound = panel.getByTestId('instance-inbound-rules');
    await inbound.locator('tr[data-rule-id]').first().waitFor();
    for (const r of rules) {
      await page.getByTestId(r.IsEgress ? 'instance-outbound-rules' : 'instance-inbound-rules').locator(`tr[data-rule-id="${r.SecurityGroupRuleId}"]`).waitFor();
    }
    await inbound.locator('td[data-col="type"]', { hasText: /^SSH$/ }).waitFor();
    await shot('details-security', true);
    await axe('instance details, Security tab');

    // The keyboard moves between tabs: Security → Networking.
    await tabs.getByRole('tab', { name: 'Security' }).focus();
    await page.keyboard.press('ArrowRight');
    const networking = page.getByRole('region', { name: 'Networking details' });
    await waitForText(networking.locator('[data-field="subnet-id"]'), d.SubnetId);
    await waitForText(networking.locator('[data-field="vpc-id"]'), d.VpcId ?? '');
    assert.equal(await isFocused(tabs.getByRole('tab', { name: 'Networking' })), true);
    await page.getByTestId('network-interfaces').getByRole('link', { name: group.GroupId }).waitFor();
    await axe('instance details, Networking tab');

    await tabs.getByRole('tab', { name: 'Storage' }).click();
    const volumeId = d.BlockDeviceMappings[0].Ebs.VolumeId;
    const [volume] = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes ?? [];
    const device = page.getByTestId('block-devices').locator(`tr[data-volume-id="${volumeId}"]`);
    await waitForText(device.locator('[data-col="size"]'), String(volume?.Size));
    await waitForText(device.locator('[data-col="type"]'), volume?.VolumeType ?? '');
    await waitForText(device.locator('[data-col="delete-on-termination"]'), volume?.Attachments?.[0]?.DeleteOnTermination ? 'Yes' : 'No');
    await waitForText(page.locator('[data-field="root-device"]'), d.RootDeviceName ?? '');
    await shot('details-storage', true);
    await axe('instance details, Storage tab');

    figure('VPCs page and instance tabs', `${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('volumes: create one, attach it to the instance (in-use there), detach it, delete it; EC2’s refusals in place', async () => {
    const started = Date.now();
    const d = await describeInstance(id);
    const zone = d?.Placement?.AvailabilityZone ?? '';
    const rootId = d?.BlockDeviceMappings?.[0]?.Ebs?.VolumeId ?? '';
    assert.ok(zone && rootId);
    const volumeRow = (volumeId: string) => page.locator(`tr[data-volume-id="${volumeId}"]`);
    const volumeOf = async (volumeId: string) =>
      (await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [volumeId] }] }))).Volumes?.[0];
    /** Selects the row alone, as a click on it (not on its link or checkbox) does. */
    const selectVolume = async (volumeId: string) => {
      await volumeRow(volumeId).locator('td').nth(1).click();
      await page.getByTestId('volumes-status').filter({ hasText: /^1 selected/ }).waitFor();
    };

    // The list, under Elastic Block Store: the instance's root volume, in-use.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Volumes' }).click();
    await heading(/^Volumes/).waitFor();
    await volumeRow(rootId).locator('[data-col="state"] [data-state="in-use"]').waitFor();
    await volumeRow(rootId).locator('[data-col="attached"]').getByRole('link', { name: id }).waitFor();
    await axe('volumes');

    // Create volume: type, size, the instance's zone, a Name tag.
    await page.getByRole('button', { name: 'Create volume' }).click();
    const create = page.getByRole('dialog', { name: 'Create volume' });
    await create.getByLabel('Volume type').selectOption('gp3');
    await create.getByLabel('Size (GiB)').fill('12');
    await create.getByLabel('Availability Zone').locator(`option[value="${zone}"]`).waitFor({ state: 'attached' });
    await create.getByLabel('Availability Zone').selectOption(zone);
    await create.getByLabel('Name tag - optional').fill('e2e-data');
    await axe('Create volume dialog');
    await create.getByRole('button', { name: 'Create volume' }).click();
    const created = page.getByRole('status').getByText(/Volume vol-[0-9a-f]{17} created/);
    await created.waitFor();
    const volumeId = /vol-[0-9a-f]{17}/.exec((await created.textContent()) ?? '')?.[0] ?? '';
    const row = volumeRow(volumeId);
    await row.locator('[data-col="state"] [data-state="available"]').waitFor();
    await waitForText(row.locator('[data-col="size"]'), '12 GiB');
    let volume = await volumeOf(volumeId);
    assert.deepEqual(
      [volume?.State, volume?.Size, volume?.VolumeType, volume?.AvailabilityZone, volume?.Tags],
      ['available', 12, 'gp3', zone, [{ Key: 'Name', Value: 'e2e-data' }]],
    );

    // Attach volume: the instance of its zone, /dev/sdf by default; a device the root volume has is refused, in place.
    await selectVolume(volumeId);
    await (await actionsItem('Attach volume')).click();
    const attach = page.getByRole('dialog', { name: 'Attach volume' });
    const instance = attach.getByLabel('Instance', { exact: true });
    await instance.locator(`option[value="${id}"]`).waitFor({ state: 'attached' });
    assert.equal(await attach.getByLabel('Device name').inputValue(), '/dev/sdf');
    await attach.getByText(/next start/).waitFor();
    await instance.selectOption(id);
    await attach.getByLabel('Device name').fill(d?.RootDeviceName ?? '/dev/xvda');
    await attach.getByRole('button', { name: 'Attach volume' }).click();
    await attach.getByRole('alert').filter({ hasText: 'AttachVolume failed' }).getByText('InvalidParameterValue').waitFor();
    await shot('volume-attach-refused');
    await axe('Attach volume dialog, refused by the API');
    await attach.getByLabel('Device name').fill('/dev/sdf');
    await attach.getByRole('button', { name: 'Attach volume' }).click();
    await attach.waitFor({ state: 'detached' });
    await row.locator('[data-col="state"] [data-state="in-use"]').waitFor();
    await row.locator('[data-col="attached"]').getByRole('link', { name: id }).waitFor();
    volume = await volumeOf(volumeId);
    assert.deepEqual([volume?.State, volume?.Attachments?.[0]?.InstanceId, volume?.Attachments?.[0]?.Device], ['in-use', id, '/dev/sdf']);
    await shot('volumes');
    // In use, it cannot be deleted: the item says why.
    const remove = await actionsItem('Delete volume');
    assert.equal(await remove.getAttribute('aria-disabled'), 'true');
    assert.match((await remove.textContent()) ?? '', new RegExp(`${volumeId} is in-use`));
    await closeMenu();

    // The instance's Storage tab lists it, and links to it: the list, filtered to that volume.
    await page.goto(`${server.endpoint}/console#/instances/${id}`);
    await page.getByRole('tablist', { name: 'Instance details' }).getByRole('tab', { name: 'Storage' }).click();
    await page.getByTestId('block-devices').locator(`tr[data-volume-id="${volumeId}"]`).getByRole('link', { name: volumeId }).click();
    await heading(/^Volumes/).waitFor();
    await page.getByRole('list', { name: 'Filters' }).getByText(`Volume ID = ${volumeId}`).waitFor();
    await page.getByTestId('volumes-status').filter({ hasText: /^1–1 of 1$/ }).waitFor();

    // Detach volume, after confirmation.
    await selectVolume(volumeId);
    await (await actionsItem('Detach volume')).click();
    const detach = page.getByRole('dialog', { name: 'Detach volume?' });
    await detach.getByRole('button', { name: 'Detach', exact: true }).click();
    await detach.waitFor({ state: 'detached' });
    await row.locator('[data-col="state"] [data-state="available"]').waitFor();
    volume = await volumeOf(volumeId);
    assert.deepEqual([volume?.State, volume?.Attachments], ['available', []]);

    // The root volume of a running instance cannot be detached: EC2's IncorrectState, in place.
    await page.goto(`${server.endpoint}/console#/volumes/${rootId}`);
    await selectVolume(rootId);
    await (await actionsItem('Detach volume')).click();
    await detach.getByRole('button', { name: 'Detach', exact: true }).click();
    await detach.getByRole('alert').filter({ hasText: 'DetachVolume failed' }).getByText('IncorrectState').waitFor();
    await axe('Detach volume? dialog, refused by the API');
    await detach.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await volumeOf(rootId))?.State, 'in-use');

    // Delete volume, after confirmation: gone from the list and from the API.
    await page.goto(`${server.endpoint}/console#/volumes`);
    await selectVolume(volumeId);
    await (await actionsItem('Delete volume')).click();
    const confirm = page.getByRole('dialog', { name: 'Delete volume?' });
    await axe('Delete volume? dialog');
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('status').getByText(`Deleted volume: ${volumeId}.`).waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal(await volumeOf(volumeId), undefined);

    // The instance's Storage tab has its root volume again, alone.
    await page.goto(`${server.endpoint}/console#/instances/${id}`);
    await page.getByRole('tablist', { name: 'Instance details' }).getByRole('tab', { name: 'Storage' }).click();
    // (once DescribeVolumes has answered: the root volume's type is shown)
    await waitForText(page.getByTestId('block-devices').locator(`tr[data-volume-id="${rootId}"] [data-col="type"]`), (await volumeOf(rootId))?.VolumeType ?? '');
    assert.equal(await page.getByTestId('block-devices').locator(`tr[data-volume-id="${volumeId}"]`).count(), 0);
    figure('volumes flow (create, attach refused then attached, detach, root detach refused, delete)', `${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('Connect on a simulated instance without a key pair says why SSH cannot work', async () => {
    const d = await describeInstance(id);
    const opener = page.getByRole('button', { name: 'Connect', exact: true });
    await opener.click();
    const dialog = page.getByRole('dialog', { name: 'Connect to instance' });
    await dialog.waitFor();
    // One message for each reason that applies to the instance as the API describes it.
    const reasons: Record<string, RegExp> = {};
    if (tag(d, 'nestbox:vm') === undefined) reasons.simulated = /simulated: no virtual machine runs behind it/;
    if (d?.State?.Name !== 'running') reasons.state = /The instance is /;
    if (!d?.KeyName) reasons['key-pair'] = /launched without a key pair/;
    if (!d?.PublicIpAddress) reasons['public-ip'] = /no public IPv4 address/;
    assert.ok(reasons.simulated && reasons['key-pair'], 'the wizard launched a simulated instance without a key pair');
    const items = dialog.locator('[data-reason]');
    assert.deepEqual((await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-reason')))).sort(), Object.keys(reasons).sort());
    for (const [reason, message] of Object.entries(reasons)) {
      assert.match((await dialog.locator(`[data-reason="${reason}"]`).textContent()) ?? '', message);
    }
    assert.equal(await dialog.getByTestId('connect-command').count(), 0);
    // Focus moved into the dialog (on Done); Escape closes it and gives focus back to Connect.
    assert.equal(await focusedIn(dialog), true);
    assert.equal(await isFocused(dialog.getByRole('button', { name: 'Done' })), true);
    await shot('connect-unavailable');
    await axe('Connect dialog, unavailable');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await isFocused(opener), true);
  });

  test('Connect gives the SSH command, with -p for a forwarded port, and copies it', async () => {
    // An instance that can take SSH: a key pair, and the tags the server gives a real VM and its
    // forwarded SSH port (set here, as the simulated driver boots no VM).
    const keyName = 'connect-e2e';
    await ec2.send(new CreateKeyPairCommand({ KeyName: keyName }));
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: LINUX,
        InstanceType: 'c8i.large',
        MinCount: 1,
        MaxCount: 1,
        KeyName: keyName,
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: 'Name', Value: 'ssh-e2e' },
              { Key: 'nestbox:vm', Value: 'console e2e: stands in for a real VM' },
              { Key: 'nestbox:ssh-port', Value: '2222' },
            ],
          },
        ],
      }),
    );
    const sshId = run.Instances?.[0]?.InstanceId ?? '';
    assert.match(sshId, /^i-/);
    try {
      await goToInstances();
      await waitForState(sshId, 'running');
      let d = await describeInstance(sshId);
      // A public address as the API gives it; where it gives none (yet), one is written into its
      // DescribeInstances answers for this instance so that the command can be read.
      let host = d?.PublicIpAddress ?? '';
      if (host === '') {
        host = '203.0.113.25';
        await page.route(`${server.endpoint}/`, async (route) => {
          const response = await route.fetch();
          let body = await response.text();
          if (/Action=DescribeInstances/.test(route.request().postData() ?? '')) {
            body = body.replace(`<instanceId>${sshId}</instanceId>`, `$&<ipAddress>${host}</ipAddress>`);
          }
          // The body is decoded here: sent on as it is, without the compressed answer's encoding and length.
          const { 'content-encoding': _encoding, 'content-length': _length, ...headers } = response.headers();
          await route.fulfill({ status: response.status(), headers, body });
        });
      }
      await waitForText(row(sshId).locator('[data-col="public-ip"]'), host);
      await shot('instances-addresses');
      const port = tag(d, 'nestbox:ssh-port');
      const keyFile = `${keyName}.pem`;
      const command = `ssh -i "${keyFile}"${port && port !== '22' ? ` -p ${port}` : ''} admin@${host}`;

      // From the list: Actions → Connect, with exactly one instance selected.
      await selectOnly(sshId);
      await (await actionsItem('Connect')).click();
      const dialog = page.getByRole('dialog', { name: 'Connect to instance' });
      await dialog.waitFor();
      assert.equal(await dialog.locator('[data-reason]').count(), 0);
      assert.equal(await dialog.getByTestId('connect-chmod').textContent(), `chmod 400 "${keyFile}"`);
      assert.equal(await dialog.getByTestId('connect-command').textContent(), command);
      if (port === '2222') assert.match(command, / -p 2222 admin@/);
      // The steps: the chmod first, then the command.
      const steps = await dialog.locator('ol.steps > li').allTextContents();
      assert.ok(steps.findIndex((t) => t.includes('chmod 400')) < steps.findIndex((t) => t.includes('ssh -i')));
      // Focus is on Copy (the SSH command); copying puts the exact command on the clipboard.
      const copy = dialog.getByRole('button', { name: 'Copy SSH command' });
      assert.equal(await isFocused(copy), true);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.endpoint });
      await page.keyboard.press('Enter');
      await dialog.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), command);
      await shot('connect');
      await axe('Connect dialog');
      await dialog.getByRole('button', { name: 'Done' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(await isFocused(page.getByRole('button', { name: 'Actions' })), true);

      // On the details page, SSH on port 22 needs no -p; the dialog follows the instance live.
      await row(sshId).getByRole('link', { name: sshId }).click();
      await page.getByTestId('details-state').locator('[data-state="running"]').waitFor();
      await page.getByRole('button', { name: 'Connect', exact: true }).click();
      await dialog.waitFor();
      await ec2.send(new CreateTagsCommand({ Resources: [sshId], Tags: [{ Key: 'nestbox:ssh-port', Value: '22' }] }));
      d = await describeInstance(sshId);
      assert.equal(tag(d, 'nestbox:ssh-port'), '22');
      await waitForText(dialog.getByTestId('connect-command'), `ssh -i "${keyFile}" admin@${host}`);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
    } finally {
      await page.unroute(`${server.endpoint}/`);
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [sshId] }));
    }
  });

  test('a Windows instance shows Virtual Secure Mode off while nested virtualization is enabled', async () => {
    await page.goto(`${server.endpoint}/console#/launch`);
    await page.locator(`input[name="image"][value="${WINDOWS}"]`).check();
    await chooseType('m8i.large');
    await page.getByText('Advanced details').click();
    await nestedSelect().selectOption('enabled');
    await page.getByLabel('Name', { exact: true }).fill('windows-e2e');
    await page.getByRole('button', { name: 'Launch instances' }).click();
    const launched = page.getByRole('status').filter({ hasText: 'with nested virtualization enabled' }).last();
    const winId = (await launched.getByRole('link').first().textContent()) ?? '';
    assert.notEqual(winId, id);
    await row(winId).getByRole('link', { name: winId }).click();
    await page.getByTestId('details-state').locator('[data-state="running"]').waitFor();
    // The guest's own report (the simulated Windows boot log) agrees with the details page.
    await page.getByTestId('console-output').getByText('Virtual Secure Mode: disabled').waitFor();
    const vsm = page.getByTestId('details-vsm');
    await vsm.getByText('Off', { exact: true }).waitFor();
    assert.match((await vsm.textContent()) ?? '', /Credential Guard is unavailable/);
    await shot('details-windows', true);
  });

  test('reboot, force stop and hibernate ask first, as EC2 does; hibernate stops with its own reason', async () => {
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: LINUX,
        InstanceType: 'c8i.large',
        MinCount: 1,
        MaxCount: 1,
        HibernationOptions: { Configured: true },
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'hibernate-e2e' }] }],
      }),
    );
    const hib = run.Instances?.[0]?.InstanceId ?? '';
    await goToInstances();
    await waitForState(hib, 'running');
    await selectOnly(hib);

    await (await actionsItem('Reboot instance')).click();
    const reboot = page.getByRole('dialog', { name: 'Reboot instance?' });
    await reboot.getByText(hib).waitFor();
    await axe('Reboot instance? dialog');
    await reboot.getByRole('button', { name: 'Reboot' }).click();
    await page.getByRole('status').filter({ hasText: `Rebooting ${hib}` }).waitFor();

    await (await actionsItem('Force stop instance')).click();
    const force = page.getByRole('dialog', { name: 'Force stop instance?' });
    await force.getByText(/skips the operating system's shutdown/).waitFor();
    await axe('Force stop instance? dialog');
    await force.getByRole('button', { name: 'Cancel' }).click();
    await force.waitFor({ state: 'detached' });

    await (await actionsItem('Hibernate instance')).click();
    const hibernate = page.getByRole('dialog', { name: 'Hibernate instance?' });
    await axe('Hibernate instance? dialog');
    await hibernate.getByRole('button', { name: 'Hibernate' }).click();
    await waitForState(hib, 'stopped');
    assert.equal((await describeInstance(hib))?.StateReason?.Code, 'Client.UserInitiatedHibernate');
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [hib] }));
  });

  test('terminate asks first; Escape cancels, confirming terminates', async () => {
    await page.goto(`${server.endpoint}/console#/instances`);
    await row(id).waitFor();
    await selectOnly(id);
    await (await actionsItem('Terminate (delete) instance')).click();
    const dialog = page.getByRole('dialog', { name: /Terminate/ });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await describeInstance(id))?.State?.Name, 'running');

    await (await actionsItem('Terminate (delete) instance')).click();
    await dialog.getByRole('button', { name: 'Terminate (delete)' }).click();
    await waitForState(id, 'terminated');
    // Its actions now say why they are not offered.
    const start = await actionsItem('Start instance');
    assert.match((await start.textContent()) ?? '', new RegExp(`${id} is terminated`));
    await closeMenu();
  });

  test('issue 13 #11: instance types — the nested-virtualization filter, sorting by any column, and a table that fits 1440 px', async () => {
    await page.getByRole('link', { name: 'Instance types' }).click();
    await page.locator('tr[data-type="c8i.large"]').waitFor();
    const table = page.getByTestId('types-table');
    const fits = await table.evaluate((t) => {
      const g = globalThis as unknown as PageGlobals;
      return { table: t.scrollWidth, box: t.parentElement?.clientWidth ?? 0, page: g.document.documentElement.scrollWidth, window: g.innerWidth };
    });
    assert.ok(fits.table <= fits.box, `the table is ${fits.table} px wide in a box of ${fits.box} px`);
    assert.ok(fits.page <= fits.window, `the page is ${fits.page} px wide in a window of ${fits.window} px`);
    await axe('instance types');

    await page.getByLabel('Nested virtualization').selectOption('supported');
    assert.equal(await page.locator('tbody tr[data-type]').count(), 54);
    assert.equal(await page.locator('tr[data-type="m6i.large"]').count(), 0);
    const c8i = page.locator('tr[data-type="c8i.4xlarge"] td');
    assert.deepEqual((await c8i.allTextContents()).slice(0, 5), ['c8i.4xlarge', 'c8i', '16', '8 × 2', '32']);

    // Sorting: vCPUs descending puts the largest first; the type column sorts sizes naturally.
    const vcpus = page.getByRole('columnheader', { name: 'vCPUs' });
    await vcpus.getByRole('button').click();
    assert.equal(await vcpus.getAttribute('aria-sort'), 'ascending');
    await vcpus.getByRole('button').click();
    assert.equal(await vcpus.getAttribute('aria-sort'), 'descending');
    const counts = (await page.locator('tbody tr[data-type] td:nth-child(3)').allTextContents()).map(Number);
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a));
    const type = page.getByRole('columnheader', { name: 'Instance type' });
    await type.getByRole('button').click();
    assert.equal(await type.getAttribute('aria-sort'), 'ascending');
    assert.equal(await vcpus.getAttribute('aria-sort'), 'none');
    const names = await page.locator('tbody tr[data-type] td:first-child').allTextContents();
    assert.ok(names.indexOf('c8i.2xlarge') < names.indexOf('c8i.12xlarge'), 'sizes sort naturally');
    for (const header of ['Family', 'Memory (GiB)', 'Architecture', 'Hibernation', 'Bare metal', 'Cores × threads', 'Nested virtualization']) {
      const th = page.getByRole('columnheader', { name: header });
      await th.getByRole('button').click();
      assert.equal(await th.getAttribute('aria-sort'), 'ascending', header);
    }
    await shot('instance-types');
  });

  test('Regions by their names; each Region has its own instances', async () => {
    await goToInstances();
    await row(id).waitFor();
    const region = page.getByLabel('Region');
    assert.equal((await region.locator('option[value="eu-west-1"]').textContent())?.trim(), 'Europe (Ireland) · eu-west-1');
    assert.equal((await region.locator('option:checked').textContent())?.trim(), 'US East (N. Virginia) · us-east-1');
    await region.selectOption('eu-west-1');
    await page.getByText('No instances in Europe (Ireland) (eu-west-1).').waitFor();
    await region.selectOption('us-east-1');
    await row(id).waitFor();
  });

  test('a key pair created from the wizard is downloaded and chosen', async () => {
    await page.goto(`${server.endpoint}/console#/launch`);
    await page.getByRole('button', { name: 'Create new key pair' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create key pair' });
    await dialog.getByLabel('Key pair name').fill('console-e2e');
    await axe('Create key pair dialog');
    const download = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Create key pair' }).click();
    // Either the browser saves the private key, or the dialog shows what the API answered.
    const refused = dialog.getByRole('alert').waitFor().then(async () => `CreateKeyPair was refused: ${await dialog.getByRole('alert').textContent()}`);
    const outcome = await Promise.race([download, refused]);
    if (typeof outcome === 'string') assert.fail(outcome);
    assert.equal(outcome.suggestedFilename(), 'console-e2e.pem');
    const pem = readFileSync((await outcome.path()) as string, 'utf8');
    assert.match(pem, /^-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    assert.equal(await page.getByLabel('Key pair name').inputValue(), 'console-e2e');
  });
});

// --- 5,000 instances ------------------------------------------------------------------------------------

describe('5,000 instances in one Region', () => {
  let west: EC2Client;
  /** name → instance IDs, as launched */
  const batches = new Map<string, string[]>();
  const BATCHES = [
    { name: 'web-a', type: 'c8i.large', count: 1000 },
    { name: 'web-b', type: 'm8i.large', count: 1000 },
    { name: 'web-c', type: 'r8i.large', count: 1000 },
    { name: 'db', type: 'c8i.xlarge', count: 1000 },
    { name: 'cache', type: 'm8i.xlarge', count: 900 },
  ] as const;
  /** DescribeInstances / DescribeInstanceStatus requests the page sends, with what came back */
  const api: { at: number; body: string; encoding?: string; bytes?: number }[] = [];
  const onRequest = (r: Request) => {
    if (r.method() === 'POST' && r.url() === `${server.endpoint}/`) api.push({ at: Date.now(), body: r.postData() ?? '' });
  };
  const onResponse = async (res: { request(): Request; headers(): Record<string, string> }) => {
    const entry = api.find((a) => a.body === res.request().postData() && a.encoding === undefined);
    if (entry) {
      entry.encoding = res.headers()['content-encoding'] ?? 'identity';
      entry.bytes = Number(res.headers()['content-length'] ?? 0);
    }
  };

  before(async () => {
    west = server.client(SCALE_REGION);
    const started = Date.now();
    // RunInstances takes any MaxCount the quota allows: 1,000 a call keeps each answer a few MB.
    for (const b of BATCHES) {
      const out = await west.send(
        new RunInstancesCommand({
          ImageId: LINUX,
          InstanceType: b.type,
          MinCount: b.count,
          MaxCount: b.count,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: b.name }] }],
        }),
      );
      batches.set(b.name, (out.Instances ?? []).map((i) => i.InstanceId ?? ''));
    }
    const db = batches.get('db') ?? [];
    await eventually(
      async () => ((await describeAll(west, [{ Name: 'instance-state-name', Values: ['running'] }])).length === 4900 ? true : undefined),
      60_000,
      '4,900 running',
    );
    await west.send(new StopInstancesCommand({ InstanceIds: db }));
    await eventually(
      async () => ((await describeAll(west, [{ Name: 'instance-state-name', Values: ['stopped'] }])).length === 1000 ? true : undefined),
      60_000,
      '1,000 stopped',
    );
    figure('4,900 instances launched (5 RunInstances calls), running, 1,000 of them stopped', `${((Date.now() - started) / 1000).toFixed(1)} s`);
    page.on('request', onRequest);
    page.on('response', onResponse);
  });

  after(() => {
    page.off('request', onRequest);
    page.off('response', onResponse);
  });

  test('the Region picker shows the 4,900 instances of US West (Oregon)', async () => {
    await page.goto(`${server.endpoint}/console#/instances`);
    await page.getByLabel('Region').selectOption(SCALE_REGION);
    assert.equal((await page.getByLabel('Region').locator('option:checked').textContent())?.trim(), 'US West (Oregon) · us-west-2');
    await heading('Instances (4,900)').waitFor({ timeout: 60_000 });
    await listStatus().filter({ hasText: /^1–50 of 4,900$/ }).waitFor();
  });

  test('issues 13 #4 and #5: 100 launched from the wizard are listed first, and the notice names three of them', async () => {
    await page.getByRole('link', { name: 'Launch instances' }).first().click();
    await page.getByLabel('Name', { exact: true }).fill('fresh');
    await page.getByLabel('Number of instances').fill('100');
    await page.getByRole('button', { name: 'Launch instances' }).click();
    const notice = page.getByRole('status').filter({ hasText: /^Launched 100 instances/ });
    await notice.waitFor();
    assert.match(await noticeText(notice), /^Launched 100 instances i-[0-9a-f]{17}, i-[0-9a-f]{17}, i-[0-9a-f]{17} and 97 more\.$/);
    assert.equal(await notice.getByRole('link').count(), 3);
    const fresh = new Set((await describeAll(west, [{ Name: 'tag:Name', Values: ['fresh'] }])).map((i) => i.InstanceId));
    assert.equal(fresh.size, 100);
    // Newest first: the first page is the launch, at once (before the list has read the API again).
    await rows().first().waitFor();
    const firstPage = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-instance-id')));
    assert.equal(firstPage.length, 50);
    assert.ok(firstPage.every((i) => fresh.has(i ?? '')), 'the first page is all instances just launched');
    await heading('Instances (5,000)').waitFor({ timeout: 60_000 });
    await shot('instances-5000-launched');
    await axe('instances, 5,000, after a launch');
    // The notice belongs to this page: it is gone once the user moves on, and does not come back.
    await page.getByRole('link', { name: 'Instance types' }).click();
    await heading(/^Instance types/).waitFor();
    assert.equal(await page.getByRole('status').filter({ hasText: /^Launched/ }).count(), 0);
    await goToInstances();
    await heading('Instances (5,000)').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByRole('status').filter({ hasText: /^Launched/ }).count(), 0);
  });

  test('polling at 5,000: only the page on screen, compressed, and no long task', async () => {
    await heading('Instances (5,000)').waitFor();
    // Steady state: the reload that opening the list started is over (Refresh is enabled again).
    await page.getByRole('button', { name: 'Refresh instances' }).and(page.locator(':enabled')).waitFor({ timeout: 60_000 });
    await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      g.__longTasks = [];
      new g.PerformanceObserver((list) => {
        for (const e of list.getEntries()) g.__longTasks.push(e.duration);
      }).observe({ type: 'longtask' });
    });
    const from = Date.now();
    // The measurement window: 10 s of the list polling on its own.
    await page.waitForTimeout(10_000);
    const longTasks = await page.evaluate(() => (globalThis as unknown as PageGlobals).__longTasks);
    const inWindow = api.filter((a) => a.at >= from);
    const polls = inWindow.filter((a) => /Action=DescribeInstances&/.test(a.body) && /InstanceId\.1=/.test(a.body));
    const reloads = inWindow.filter((a) => /Action=DescribeInstances&/.test(a.body) && !/InstanceId\.1=/.test(a.body));
    assert.ok(polls.length >= 3, `${polls.length} polls in 10 s`);
    for (const p of polls) {
      const ids = p.body.match(/InstanceId\.\d+=/g)?.length ?? 0;
      assert.ok(ids <= 50, `a poll asked for ${ids} instances; the page shows 50`);
    }
    const statusPolls = inWindow.filter((a) => /Action=DescribeInstanceStatus&/.test(a.body) && /InstanceId\.1=/.test(a.body));
    assert.ok(statusPolls.length >= 3);
    for (const a of [...polls, ...statusPolls].filter((x) => x.bytes !== undefined && x.bytes > 1024)) {
      assert.equal(a.encoding, 'br', 'the browser asks for compression and gets it');
    }
    const perPoll = [...polls, ...statusPolls].reduce((n, a) => n + (a.bytes ?? 0), 0) / polls.length;
    const longest = Math.max(0, ...longTasks);
    figure('polling at 5,000 instances: requests in 10 s', `${polls.length} DescribeInstances + ${statusPolls.length} DescribeInstanceStatus of ≤ 50 IDs each (${reloads.length} full reloads)`);
    figure('polling at 5,000 instances: bytes per poll (compressed)', `${Math.round(perPoll)} bytes`);
    figure(
      'polling at 5,000 instances: longest main-thread task in 10 s',
      longTasks.length === 0 ? 'none over 50 ms (the longtask threshold)' : `${longest.toFixed(0)} ms (${longTasks.length} tasks over 50 ms)`,
    );
    assert.ok(longest <= GOAL_LONGEST_TASK_MS * MARGIN, `a ${longest.toFixed(0)} ms task while polling (goal ${GOAL_LONGEST_TASK_MS} ms)`);
  });

  test('a full reload of 5,000 (Refresh) keeps every task short', async () => {
    await page.evaluate(() => ((globalThis as unknown as PageGlobals).__longTasks = []));
    const started = Date.now();
    const refresh = page.getByRole('button', { name: 'Refresh instances' });
    await refresh.click();
    await refresh.and(page.locator(':enabled')).waitFor({ timeout: 60_000 });
    const ms = Date.now() - started;
    const longTasks = await page.evaluate(() => (globalThis as unknown as PageGlobals).__longTasks);
    const longest = Math.max(0, ...longTasks);
    figure('full reload of 5,000 instances (Refresh)', `${ms} ms; longest task ${longTasks.length === 0 ? 'under 50 ms' : `${longest.toFixed(0)} ms`}`);
    assert.ok(longest <= GOAL_LONGEST_TASK_MS * MARGIN, `a ${longest.toFixed(0)} ms task while reloading`);
    await heading('Instances (5,000)').waitFor();
  });

  test('free text filters as it is typed: keystroke latency at 5,000', async () => {
    const field = filterField();
    await field.click();
    await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      g.__keys = [];
      // From the key press to the first frame drawn after it (the list has been filtered by then).
      g.document.addEventListener(
        'keydown',
        () => {
          const t = performance.now();
          g.requestAnimationFrame(() => setTimeout(() => g.__keys.push(performance.now() - t), 0));
        },
        { capture: true },
      );
    });
    for (const key of 'web-b') await page.keyboard.press(key);
    await listStatus().filter({ hasText: /^1–50 of 1,000$/ }).waitFor();
    const latencies = await page.evaluate(() => (globalThis as unknown as PageGlobals).__keys);
    assert.equal(latencies.length, 5);
    const sorted = [...latencies].sort((a, b) => a - b);
    figure(
      'filter keystroke latency at 5,000 instances (key press to the next frame, 5 keys)',
      `median ${sorted[2]?.toFixed(0)} ms, longest ${sorted[4]?.toFixed(0)} ms`,
    );
    const names = await rows().locator('td:nth-child(2)').allTextContents();
    assert.ok(names.every((n) => n === 'web-b'));
    await shot('instances-5000-free-text');
    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await listStatus().filter({ hasText: /^1–50 of 5,000$/ }).waitFor();
  });

  test('the property filter: tokens become API filters, one property ORed, properties ANDed; Clear filters', async () => {
    const field = filterField();
    const since = Date.now();
    // Property, then value, both from the suggestions.
    await field.click();
    await field.fill('Instance st');
    await page.getByRole('listbox', { name: 'Suggestions' }).getByRole('option', { name: 'Instance state', exact: false }).first().click();
    assert.equal(await field.inputValue(), 'Instance state = ');
    await page.getByRole('option', { name: 'Instance state = running' }).waitFor();
    await axe('instances, filter suggestions');
    await page.getByRole('option', { name: 'Instance state = running' }).click();
    await page.getByRole('list', { name: 'Filters' }).getByText('Instance state = running').waitFor();
    await heading('Instances (4,000)').waitFor({ timeout: 60_000 });
    assert.ok(
      api.some((a) => a.at >= since && /Action=DescribeInstances&.*Filter\.1\.Name=instance-state-name&Filter\.1\.Value\.1=running/.test(a.body)),
      'the token is sent as a DescribeInstances filter',
    );
    // Typed, then Enter: the issue's examples.
    await field.fill('Instance type = c8i.large');
    await field.press('Enter');
    await heading('Instances (1,100)').waitFor({ timeout: 60_000 });
    await field.fill('tag:Name = web-a');
    await field.press('Enter');
    await heading('Instances (1,000)').waitFor({ timeout: 60_000 });
    assert.ok(
      api.some((a) => /Filter\.\d\.Name=instance-type&Filter\.\d\.Value\.1=c8i\.large/.test(a.body) && /Filter\.\d\.Name=tag%3AName&Filter\.\d\.Value\.1=web-a/.test(a.body)),
    );
    await shot('instances-5000-tokens');
    await axe('instances, filtered by tokens');
    // A second value of one property widens (OR): web-a or fresh.
    await field.fill('Name = fresh');
    await field.press('Enter');
    await heading('Instances (1,100)').waitFor({ timeout: 60_000 });
    // A token the API has no filter for is matched on the rows: none of these has nested virtualization enabled.
    await field.fill('Nested virtualization = enabled');
    await field.press('Enter');
    await page.getByText('No instance matches the filters.').waitFor();
    await page.getByRole('button', { name: 'Remove filter Nested virtualization = enabled' }).click();
    await listStatus().filter({ hasText: /^1–50 of 1,100$/ }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await heading('Instances (5,000)').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByRole('list', { name: 'Filters' }).count(), 0);
  });

  test('sorting by any column, across all 5,000', async () => {
    const all = await describeAll(west);
    assert.equal(all.length, 5000);
    const firstCell = (n: number) => rows().first().locator('td').nth(n).textContent();
    const sortBy = async (label: string, direction: 'ascending' | 'descending') => {
      const th = page.getByRole('columnheader', { name: label });
      while ((await th.getAttribute('aria-sort')) !== direction) await th.getByRole('button').click();
    };
    await sortBy('Name', 'ascending');
    assert.equal(await firstCell(1), 'cache');
    await sortBy('Name', 'descending');
    assert.equal(await firstCell(1), 'web-c');
    await sortBy('Instance type', 'ascending');
    assert.equal(await firstCell(4), 'c8i.large');
    await sortBy('Instance type', 'descending');
    assert.equal(await firstCell(4), 'r8i.large');
    await sortBy('Instance state', 'descending');
    assert.equal(await rows().first().locator('[data-state]').getAttribute('data-state'), 'stopped');
    await sortBy('Instance ID', 'ascending');
    const ids = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-instance-id') ?? ''));
    assert.deepEqual(ids, [...ids].sort(), 'instance IDs ascending');
    assert.equal(ids[0], all.map((i) => i.InstanceId ?? '').sort()[0]);
    // Every other column sorts too, announced with aria-sort.
    for (const label of ['Status check', 'Availability Zone', 'Public IPv4 address', 'Nested virtualization']) {
      await sortBy(label, 'ascending');
      await rows().first().waitFor();
    }
    const smallest = all.map((i) => i.PrivateIpAddress ?? '').sort((a, b) => {
      const key = (ip: string) => ip.split('.').map((n) => n.padStart(3, '0')).join('.');
      return key(a) < key(b) ? -1 : 1;
    })[0];
    await sortBy('Private IPv4 address', 'ascending');
    assert.equal(await rows().first().locator('[data-col="private-ip"]').textContent(), smallest);
    await sortBy('Launch time', 'descending');
    await shot('instances-5000-sorted');
  });

  test('column preferences and page size, kept in this browser', async () => {
    await page.getByRole('button', { name: 'Preferences' }).click();
    const dialog = page.getByRole('dialog', { name: 'Preferences' });
    await dialog.getByRole('checkbox', { name: 'Key name' }).check();
    await dialog.getByRole('checkbox', { name: 'Security group name' }).check();
    await dialog.getByRole('checkbox', { name: 'Availability Zone' }).uncheck();
    await dialog.getByRole('radio', { name: '25 instances' }).check();
    await axe('Preferences dialog');
    await shot('preferences');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'detached' });
    const headers = async () => (await page.locator('thead th').allTextContents()).map((t) => t.replace(/[▲▼]/g, '').trim()).filter((t) => t !== '');
    const expected = ['Name', 'Instance ID', 'Instance state', 'Instance type', 'Status check', 'Public IPv4 address', 'Private IPv4 address', 'Nested virtualization', 'Key name', 'Security group name', 'Launch time'];
    assert.deepEqual(await headers(), expected);
    await listStatus().filter({ hasText: /^1–25 of 5,000$/ }).waitFor();
    assert.equal(await rows().count(), 25);
    assert.equal(await rows().first().locator('[data-col="groups"]').textContent(), 'default');

    await page.reload();
    await heading('Instances (5,000)').waitFor({ timeout: 60_000 });
    assert.deepEqual(await headers(), expected);
    await listStatus().filter({ hasText: /^1–25 of 5,000$/ }).waitFor();

    // Back to the defaults for what follows.
    await page.getByRole('button', { name: 'Preferences' }).click();
    await dialog.getByRole('checkbox', { name: 'Key name' }).uncheck();
    await dialog.getByRole('checkbox', { name: 'Security group name' }).uncheck();
    await dialog.getByRole('checkbox', { name: 'Availability Zone' }).check();
    await dialog.getByRole('radio', { name: '50 instances' }).check();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await listStatus().filter({ hasText: /^1–50 of 5,000$/ }).waitFor();
  });

  test('paging; the header, the filter and the Actions bar stay in view', async () => {
    const firstPage = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-instance-id')));
    const pages = page.getByRole('navigation', { name: 'Instances pages' });
    await pages.getByRole('button', { name: 'Next page' }).click();
    await listStatus().filter({ hasText: /^51–100 of 5,000$/ }).waitFor();
    const second = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-instance-id')));
    assert.equal(second.filter((i) => firstPage.includes(i)).length, 0);
    await pages.getByRole('button', { name: 'Page 100' }).click();
    await listStatus().filter({ hasText: /^4,951–5,000 of 5,000$/ }).waitFor();
    assert.equal(await pages.getByRole('button', { name: 'Next page' }).isDisabled(), true);
    await pages.getByRole('button', { name: 'Page 1', exact: true }).click();
    await listStatus().filter({ hasText: /^1–50 of 5,000$/ }).waitFor();

    // The default columns fit a 1440 px window: nothing to scroll sideways.
    const widths = await page.locator('.table-scroll').evaluate((box) => ({ table: box.scrollWidth, box: box.clientWidth }));
    assert.ok(widths.table <= widths.box, `the list is ${widths.table} px wide in a box of ${widths.box} px`);
    // Scrolled to the last row: the page itself does not move, the header row sticks.
    await page.locator('.table-scroll').evaluate((box) => box.scrollTo({ top: box.scrollHeight }));
    await rows().last().evaluate((tr) => {
      if (tr.getBoundingClientRect().bottom > (globalThis as unknown as PageGlobals).innerHeight) throw new Error('the last row is below the window');
    });
    for (const what of [page.getByRole('button', { name: 'Actions' }), filterField(), page.getByRole('columnheader', { name: 'Instance ID' })]) {
      const box = await what.boundingBox();
      assert.ok(box && box.y >= 0 && box.y + box.height <= 960, `${await what.evaluate((el) => el.outerHTML.slice(0, 60))} is in view`);
    }
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).scrollY), 0);
    await shot('instances-5000-scrolled');
  });

  test('issue 13 #7: select all under a filter, then clear the filter — mixed, and hidden rows are never acted on', async () => {
    const field = filterField();
    const all = page.getByRole('checkbox', { name: 'Select all instances' });
    await field.fill('web-a');
    await listStatus().filter({ hasText: /^1–50 of 1,000$/ }).waitFor();
    await all.check();
    await listStatus().filter({ hasText: /^1,000 selected · 1–50 of 1,000$/ }).waitFor();
    await field.fill('');
    await listStatus().filter({ hasText: /^1,000 selected · 1–50 of 5,000$/ }).waitFor();
    assert.deepEqual(await all.evaluate((el) => ({ checked: el.checked, mixed: el.indeterminate })), { checked: false, mixed: true });
    await shot('instances-5000-selected-mixed');
    // The Actions act on the 1,000 selected, not on the 5,000 shown.
    await (await actionsItem('Stop instance')).click();
    const confirm = page.getByRole('dialog', { name: 'Stop 1,000 instances?' });
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    // A filter that hides the selected rows drops them from the selection; clearing it does not bring them back.
    await field.fill('web-b');
    await listStatus().filter({ hasText: /^1–50 of 1,000$/ }).waitFor();
    await field.fill('');
    await listStatus().filter({ hasText: /^1–50 of 5,000$/ }).waitFor();
    assert.deepEqual(await all.evaluate((el) => ({ checked: el.checked, mixed: el.indeterminate })), { checked: false, mixed: false });
  });

  test('issues 13 #3 and #4: stopping 1,000 instances asks first, and the notice summarises them', async () => {
    const webA = new Set(batches.get('web-a'));
    await filterField().fill('web-a');
    await listStatus().filter({ hasText: /^1–50 of 1,000$/ }).waitFor();
    await page.getByRole('checkbox', { name: 'Select all instances' }).check();
    await (await actionsItem('Stop instance')).click();
    const confirm = page.getByRole('dialog', { name: 'Stop 1,000 instances?' });
    await confirm.waitFor();
    const listed = await confirm.getByRole('list', { name: 'Instances' }).getByRole('listitem').count();
    assert.equal(listed, 10);
    await confirm.getByText('and 990 more.').waitFor();
    await shot('confirm-stop-1000');
    await axe('Stop 1,000 instances? dialog');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await describeAll(west, [{ Name: 'tag:Name', Values: ['web-a'] }, { Name: 'instance-state-name', Values: ['running'] }])).length, 1000);

    await (await actionsItem('Stop instance')).click();
    await confirm.getByRole('button', { name: 'Stop' }).click();
    const notice = page.getByRole('status').filter({ hasText: /^Stopping 1,000 instances: / });
    await notice.waitFor();
    const text = await noticeText(notice);
    assert.match(text, /^Stopping 1,000 instances: i-[0-9a-f]{17}, i-[0-9a-f]{17}, i-[0-9a-f]{17} and 997 more\.$/);
    for (const shownId of text.match(/i-[0-9a-f]{17}/g) ?? []) assert.ok(webA.has(shownId));
    // Every selected row shows the change at once, from StopInstances' answer.
    await rows().first().locator('[data-state="stopping"], [data-state="stopped"]').waitFor();
    await eventually(
      async () =>
        (await describeAll(west, [{ Name: 'tag:Name', Values: ['web-a'] }, { Name: 'instance-state-name', Values: ['stopped'] }])).length === 1000
          ? true
          : undefined,
      30_000,
      'web-a stopped',
    );
    await shot('instances-5000-stopping');
  });
});

describe('at the end', () => {
  test('JavaScript of the whole console (every script this session loaded), gzipped', async () => {
    const bytes = (await Promise.all([...scripts].filter((u) => u.startsWith(`${server.endpoint}/console/`)).map(gzippedBytes))).reduce((a, b) => a + b, 0);
    const all = (await Promise.all(Object.keys(built.scripts).map((f) => gzippedBytes(`${server.endpoint}/console/${f}`)))).reduce((a, b) => a + b, 0);
    figure('JavaScript of the whole console after sign-in, gzipped', `${bytes} bytes (${all} bytes for every script the build wrote)`);
    assert.ok(bytes <= GOAL_JS_GZIP_BYTES, `${bytes} bytes`);
  });

  test('axe-core checked every page and dialog', () => {
    const expected = [
      'sign-in page',
      'instances',
      'launch wizard',
      'instance details',
      'instance types',
      'Actions menu',
      'Stop instance? dialog',
      'Force stop instance? dialog',
      'Hibernate instance? dialog',
      'Reboot instance? dialog',
      'Terminate (delete) instance? dialog',
      'Change CPU options dialog',
      'Change instance type dialog',
      'Edit user data dialog',
      'Manage tags dialog',
      'Change termination protection dialog',
      'Connect dialog',
      'Create key pair dialog',
      'Preferences dialog',
      'instances, filter suggestions',
      'security groups',
      'Create security group dialog',
      'security group details',
      'Edit inbound rules, refused by the API',
      'Delete security groups? dialog',
      'instance details, Security tab',
      'instance details, Networking tab',
      'instance details, Storage tab',
      'VPCs',
      'volumes',
      'Create volume dialog',
      'Attach volume dialog, refused by the API',
      'Detach volume? dialog, refused by the API',
      'Delete volume? dialog',
    ];
    for (const name of expected) assert.ok(axeChecked.includes(name), `axe-core did not check ${name}`);
    figure('axe-core runs (no serious or critical violation)', `${axeChecked.length}: ${axeChecked.join('; ')}`);
  });

  test('everything the browser loaded came from the nestbox origin', () => {
    assert.ok(requested.length > 0);
    const elsewhere = requested.filter((u) => !u.startsWith(`${server.endpoint}/`) && !/^(blob|data):/.test(u));
    assert.deepEqual(elsewhere, []);
  });
});
