/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core against an
 * in-process nestbox (simulated driver). It signs in, launches a c8i.large with "Nested
 * virtualization: Enable" through the wizard, watches it reach running, finds Change CPU options
 * refused while it runs, stops it, changes the setting through Change CPU options, starts it, and
 * reads the list and the details page; the wizard refuses Enable for m6i.large. Screenshots of the
 * wizard, the details page, the list and the instance types go to artifacts/console/ (CI artifacts;
 * NESTBOX_CONSOLE_ARTIFACTS moves them).
 *
 * Chromium is required, not optional: `.ci/run` installs it (`apt-get install chromium`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { buildConsole } from '../src/console/build.js';
import { consoleFiles } from '../src/http/console.js';
import { CREDENTIALS, type TestServer, startTestServer } from './helpers.js';

const CHROMIUM = process.env.NESTBOX_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = process.env.NESTBOX_CONSOLE_ARTIFACTS ?? fileURLToPath(new URL('../artifacts/console/', import.meta.url));
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

if (!existsSync(CHROMIUM)) {
  throw new Error(
    `the console tests need Chromium at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium (.ci/run installs it)`,
  );
}

let server: TestServer;
let ec2: EC2Client;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
/** every URL the browser asked for: all of them must be on the nestbox origin */
const requested: string[] = [];

before(async () => {
  await buildConsole();
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
  context.setDefaultTimeout(15_000);
  context.on('request', (r) => requested.push(r.url()));
  page = context.pages()[0] ?? (await context.newPage());
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await server?.close();
});

// --- helpers ------------------------------------------------------------------------------------

const shot = (name: string, fullPage = true) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });

/** The status of a GET with exactly this request target. */
function rawStatus(path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.endpoint}/`, { path }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

const row = (id: string) => page.locator(`tr[data-instance-id="${id}"]`);

async function waitForState(id: string, state: string): Promise<void> {
  await row(id).locator(`[data-col="state"] [data-state="${state}"]`).waitFor();
}

async function nestedInList(id: string): Promise<string | null> {
  return row(id).locator('[data-nested]').getAttribute('data-nested');
}

async function describeInstance(id: string) {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations?.[0]?.Instances?.[0];
}

/** Opens the Actions menu (with the keyboard) and returns the item named `label`. */
async function actionsItem(label: string) {
  const button = page.getByRole('button', { name: 'Actions' });
  await button.focus();
  await page.keyboard.press('ArrowDown');
  const menu = page.getByRole('menu', { name: 'Actions' });
  await menu.waitFor();
  return menu.getByRole('menuitem', { name: label });
}

async function selectOnly(id: string): Promise<void> {
  await page.getByRole('checkbox', { name: 'Select all instances' }).uncheck();
  await page.getByRole('checkbox', { name: `Select ${id}` }).check();
}

/** Change CPU options for the selected (stopped) instance: sets nested virtualization and saves. */
async function changeNestedVirtualization(value: 'enabled' | 'disabled'): Promise<void> {
  await (await actionsItem('Change CPU options')).click();
  const dialog = page.getByRole('dialog', { name: 'Change CPU options' });
  await dialog.getByLabel('Nested virtualization').selectOption(value);
  if (value === 'enabled') await shot('change-cpu-options', false);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
}

async function chooseType(type: string): Promise<void> {
  await page.getByLabel('Find instance type').fill(type);
  await page.getByRole('radio', { name: type, exact: true }).check();
}

const nestedSelect = () => page.locator('select[name="nested-virtualization"]');
const enableOptionDisabled = () => nestedSelect().locator('option[value="enabled"]').isDisabled();

// --- the static route -----------------------------------------------------------------------------

describe('served at /console by the API server', () => {
  test('the page and its bundle, with content types, caching and a CSP; nothing else', async () => {
    const get = (path: string, init?: RequestInit) => fetch(`${server.endpoint}${path}`, init);
    const index = await get('/console');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await index.text(), /<script type="module" src="\/console\/app.js">/);
    assert.equal((await get('/console/')).status, 200);

    const script = await get('/console/app.js');
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(script.headers.get('cache-control'), 'no-cache');
    const etag = script.headers.get('etag') ?? '';
    assert.ok(etag);
    assert.equal((await get('/console/app.js', { headers: { 'If-None-Match': etag } })).status, 304);
    assert.match((await get('/console/app.css')).headers.get('content-type') ?? '', /^text\/css/);

    // Sent as written (fetch would resolve the dot segments itself).
    for (const path of ['/console/../package.json', '/console/%2e%2e/package.json', '/console/build.ts', '/console/app', '/console//app.js']) {
      assert.equal(await rawStatus(path), 404, path);
    }
    const post = await get('/console', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');

    // The API's own GET routes are unchanged.
    for (const path of ['/', '/_health']) {
      const health = await get(path);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, 'ok');
    }
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

  test('sign-in: the API refuses a wrong secret as it would any client, then test / test opens the console', async () => {
    await page.goto(`${server.endpoint}/console`);
    await page.getByText('access key test and secret test').waitFor();
    await page.getByLabel('Access key ID').fill(CREDENTIALS.accessKeyId);
    await page.getByLabel('Secret access key').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = page.getByRole('alert');
    await refusal.getByText('SignatureDoesNotMatch').waitFor();
    await shot('sign-in', false);

    await page.getByLabel('Secret access key').fill(CREDENTIALS.secretAccessKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /^Instances/ }).waitFor();
    assert.equal(await page.getByLabel('Region').inputValue(), 'us-east-1');
  });

  test('launch wizard: Enable is refused for m6i.large and explained for Windows; c8i.large launches with it enabled', async () => {
    await page.getByRole('link', { name: 'Launch instance' }).first().click();
    await page.getByRole('heading', { name: 'Launch an instance' }).waitFor();
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
    await page.getByText(/not supported for Windows instances with more than 192 vCPUs \(m8i\.96xlarge has 384\)/).waitFor();
    // Noted by the image choice and by the nested-virtualization option.
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

    // Enable chosen first, then a type without the feature: the wizard says why, and the API's refusal
    // is shown exactly as it answered.
    await page.getByRole('checkbox', { name: 'Supports nested virtualization' }).check();
    await page.getByLabel('Find instance type').fill('m6i.large');
    assert.equal(await page.getByRole('radio', { name: 'm6i.large', exact: true }).count(), 0);
    await page.getByRole('checkbox', { name: 'Supports nested virtualization' }).uncheck();
    await chooseType('m6i.large');
    await page.getByText("Can't be combined: The instance type m6i.large does not support nested virtualization.").waitFor();
    await page.getByRole('button', { name: 'Launch instance' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'RunInstances failed' });
    await refusal.waitFor();
    assert.equal(await refusal.locator('.api-error-code').textContent(), 'UnsupportedOperation');
    assert.equal(
      await refusal.locator('.api-error-message').textContent(),
      'The instance type m6i.large does not support nested virtualization.',
    );
    await chooseType('c8i.large');

    await page.getByLabel('Name', { exact: true }).fill(INSTANCE_NAME);
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.getByLabel('Tag 1 key').fill('Purpose');
    await page.getByLabel('Tag 1 value').fill('android-emulator');
    assert.equal(await page.getByTestId('summary-nested').textContent(), 'Enabled');
    await shot('wizard');

    await page.getByRole('button', { name: 'Launch instance' }).click();
    const launched = page.getByRole('status').filter({ hasText: 'with nested virtualization enabled' }).last();
    await launched.waitFor();
    id = (await launched.getByRole('link').first().textContent()) ?? '';
    assert.match(id, /^i-[0-9a-f]{17}$/);

    // The list follows the instance without a reload: pending, then running.
    await row(id).waitFor();
    await waitForState(id, 'running');
    assert.equal(await nestedInList(id), 'enabled');
    assert.equal(await row(id).locator('td').nth(1).textContent(), INSTANCE_NAME);
    const described = await describeInstance(id);
    assert.equal(described?.InstanceType, 'c8i.large');
    assert.equal(described?.CpuOptions?.NestedVirtualization, 'enabled');
    assert.deepEqual(described?.Tags?.find((t) => t.Key === 'Purpose')?.Value, 'android-emulator');
  });

  test('Change CPU options is refused while running; stopped, it turns nested virtualization off and on', async () => {
    await selectOnly(id);
    const item = await actionsItem('Change CPU options');
    assert.equal(await item.getAttribute('aria-disabled'), 'true');
    assert.match((await item.textContent()) ?? '', /only while the instance is stopped; .* is running/);
    await shot('actions-while-running', false);
    await item.click({ force: true }); // aria-disabled: nothing happens
    assert.equal(await page.getByRole('dialog').count(), 0);
    await page.keyboard.press('Escape');
    await page.getByRole('menu').waitFor({ state: 'detached' });

    // Stop, with the keyboard: ↓ to "Stop instance", Enter.
    const stop = await actionsItem('Stop instance');
    while (!(await stop.evaluate((el) => el.matches(':focus')))) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await waitForState(id, 'stopped');

    await changeNestedVirtualization('disabled');
    await row(id).locator('[data-nested="disabled"]').waitFor();
    assert.equal((await describeInstance(id))?.CpuOptions?.NestedVirtualization, 'disabled');

    await changeNestedVirtualization('enabled');
    await page.getByRole('status').filter({ hasText: 'nested virtualization enabled' }).first().waitFor();
    await row(id).locator('[data-nested="enabled"]').waitFor();

    await (await actionsItem('Start instance')).click();
    await waitForState(id, 'running');
    assert.equal(await nestedInList(id), 'enabled');
    const described = await describeInstance(id);
    assert.equal(described?.State?.Name, 'running');
    assert.equal(described?.CpuOptions?.NestedVirtualization, 'enabled');
    await shot('instances', false);
  });

  test('the details page: state, CPU options with nested virtualization enabled, tags and the serial console', async () => {
    await row(id).getByRole('link', { name: id }).click();
    await page.getByTestId('details-state').locator('[data-state="running"]').waitFor();
    assert.equal(await page.getByTestId('details-nested').locator('[data-nested]').getAttribute('data-nested'), 'enabled');
    await page.getByRole('cell', { name: 'android-emulator' }).waitFor();
    // The simulated guest's serial log, fetched through GetConsoleOutput: its CPU has the extension.
    await page.getByTestId('console-output').getByText(/virtualization extension: svm/).waitFor();
    await shot('details');
  });

  test('a Windows instance shows Virtual Secure Mode off while nested virtualization is enabled', async () => {
    await page.goto(`${server.endpoint}/console#/launch`);
    await page.locator(`input[name="image"][value="${WINDOWS}"]`).check();
    await chooseType('m8i.large');
    await page.getByText('Advanced details').click();
    await nestedSelect().selectOption('enabled');
    await page.getByLabel('Name', { exact: true }).fill('windows-e2e');
    await page.getByRole('button', { name: 'Launch instance' }).click();
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
    await shot('details-windows');
  });

  test('terminate asks first; Escape cancels, confirming terminates', async () => {
    await page.goto(`${server.endpoint}/console#/instances`);
    await selectOnly(id);
    await (await actionsItem('Terminate (delete) instance')).click();
    const dialog = page.getByRole('dialog', { name: /Terminate/ });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await describeInstance(id))?.State?.Name, 'running');

    await (await actionsItem('Terminate (delete) instance')).click();
    await dialog.getByRole('button', { name: 'Terminate' }).click();
    await waitForState(id, 'terminated');
  });

  test('instance types: the nested-virtualization filter shows the 54 launch types with their facts', async () => {
    await page.getByRole('link', { name: 'Instance types' }).click();
    await page.locator('tr[data-type="c8i.large"]').waitFor();
    await page.getByLabel('Nested virtualization').selectOption('supported');
    assert.equal(await page.locator('tbody tr[data-type]').count(), 54);
    assert.equal(await page.locator('tr[data-type="m6i.large"]').count(), 0);
    const c8i = page.locator('tr[data-type="c8i.4xlarge"] td');
    assert.deepEqual((await c8i.allTextContents()).slice(0, 6), ['c8i.4xlarge', 'c8i', '4xlarge', '16', '8 × 2', '32']);
    await shot('instance-types', false);
  });

  test('the region picker shows another region, with its own instances', async () => {
    await page.getByRole('link', { name: 'Instances', exact: true }).click();
    await row(id).waitFor();
    await page.getByLabel('Region').selectOption('eu-west-1');
    await page.getByText('No instances in eu-west-1.').waitFor();
    await page.getByLabel('Region').selectOption('us-east-1');
    await row(id).waitFor();
  });

  test('a key pair created from the wizard is downloaded and chosen', async () => {
    await page.goto(`${server.endpoint}/console#/launch`);
    await page.getByRole('button', { name: 'Create new key pair' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create key pair' });
    await dialog.getByLabel('Key pair name').fill('console-e2e');
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

  test('everything the browser loaded came from the nestbox origin', () => {
    assert.ok(requested.length > 0);
    const elsewhere = requested.filter((u) => !u.startsWith(`${server.endpoint}/`) && !/^(blob|data):/.test(u));
    assert.deepEqual(elsewhere, []);
  });
});
