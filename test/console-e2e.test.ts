/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core against an
 * in-process nestbox (simulated driver). It signs in, launches a c8i.large with "Nested
 * virtualization: Enable" through the wizard, watches it reach running, finds Change CPU options
 * refused while it runs, stops it, changes the setting through Change CPU options, starts it, and
 * reads the list and the details page; the wizard refuses Enable for m6i.large. The list's IPv4
 * columns and the details page's networking show what DescribeInstances answers at that moment, and
 * Connect gives the SSH command for an instance that can take it, or why not. Screenshots of the
 * wizard, the details page, the list, the Connect dialog and the instance types go to
 * artifacts/console/ (CI artifacts; NESTBOX_CONSOLE_ARTIFACTS moves them).
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
import {
  CreateKeyPairCommand,
  CreateTagsCommand,
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { type BrowserContext, type Locator, type Page, chromium } from 'playwright-core';
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

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Waits until `locator` reads exactly `text` (the page polls, so it may be a moment behind the API). */
async function waitForText(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: new RegExp(`^${escapeRegExp(text)}$`) }).waitFor();
}

/** What the console shows for a value the API left out or sent empty. */
const shown = (value: string | undefined) => value || '–';

const tag = (i: Instance | undefined, key: string) => i?.Tags?.find((t) => t.Key === key)?.Value;

const focusedIn = (locator: Locator) => locator.evaluate((el) => el.matches(':focus-within'));

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

  test('the list shows each instance’s public and private IPv4 address as DescribeInstances gives them', async () => {
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Instances' }).click();
    await waitForState(id, 'running');
    const described = await describeInstance(id);
    assert.ok(described?.PrivateIpAddress, 'a running instance has a private IPv4 address');
    await waitForText(row(id).locator('[data-col="public-ip"]'), shown(described?.PublicIpAddress));
    await waitForText(row(id).locator('[data-col="private-ip"]'), described.PrivateIpAddress);
    await page.getByRole('columnheader', { name: 'Public IPv4 address' }).waitFor();
    await page.getByRole('columnheader', { name: 'Private IPv4 address' }).waitFor();
    // The filter finds an instance by its address.
    await page.getByLabel('Filter instances').fill(described.PrivateIpAddress);
    await row(id).waitFor();
    assert.equal(await page.locator('tbody tr[data-instance-id]').count(), 1);
    await page.getByLabel('Filter instances').fill('');
  });

  test('the details page: networking as DescribeInstances gives it, – for what it leaves out', async () => {
    await row(id).getByRole('link', { name: id }).click();
    await page.getByTestId('details-state').locator('[data-state="running"]').waitFor();
    const d = await describeInstance(id);
    assert.ok(d?.VpcId && d.SubnetId && d.PrivateIpAddress);
    const networking = page.getByRole('region', { name: 'Networking' });
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
    assert.equal(await dialog.getByRole('button', { name: 'Done' }).evaluate((el) => el.matches(':focus')), true);
    await shot('connect-unavailable', false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await opener.evaluate((el) => el.matches(':focus')), true);
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
      await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Instances' }).click();
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
          await route.fulfill({ response, body });
        });
      }
      await waitForText(row(sshId).locator('[data-col="public-ip"]'), host);
      await shot('instances-addresses', false);
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
      assert.equal(await copy.evaluate((el) => el.matches(':focus')), true);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.endpoint });
      await page.keyboard.press('Enter');
      await dialog.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), command);
      await shot('connect', false);
      await dialog.getByRole('button', { name: 'Done' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(await page.getByRole('button', { name: 'Actions' }).evaluate((el) => el.matches(':focus')), true);

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
