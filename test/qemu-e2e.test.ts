/**
 * Issue #4 end to end, through the real AWS SDK against an in-process nestbox with the qemu driver:
 * real QEMU VMs (L1) booting the built-in image, whose `l2-smoke` runs an L2 guest through /dev/kvm.
 *
 *   1. nested virtualization enabled → `L2 OK`; disabled → `L2 FAIL: no /dev/kvm` (both launched at once)
 *   2. kill -9 of a running instance's QEMU → it leaves `running` within ~5 s, StateReason Server.InternalError
 *   3. the disabled one: stop → ModifyInstanceCpuOptions enabled → start → the new boot says `L2 OK`
 *   4. a nestbox restart while it runs: still `running`, the same QEMU re-adopted, and a stop works
 *      (the data dir is reached through a symlink, which the re-adoption must see through)
 *   5. TerminateInstances (one running, one stopped) → terminated, QEMU gone, VM directory gone
 *   6. nothing of this test's QEMUs survives
 *
 * Needs qemu-system-x86_64 and the built-in image (`nestbox images build`, in <NESTBOX_IMAGE_DATA_DIR
 * or ./.nestbox>/images); skipped with the reason otherwise, or failed when NESTBOX_QEMU_TESTS=require.
 * The steps build on each other and run in order; at most 2 VMs run at once (1 vCPU, 256 MiB each).
 * Under TCG on 2 cores the whole file takes about 20 s (about 25 s beside the rest of `npm test`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type TestContext, after, before, describe, test } from 'node:test';
import {
  DescribeInstancesCommand,
  type EC2Client,
  GetConsoleOutputCommand,
  type Instance,
  ModifyInstanceCpuOptionsCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import { findImage } from '../src/compute/qemu/image.js';
import { findQemu } from '../src/compute/qemu/probe.js';
import { LINUX_AMI, WINDOWS_AMI, type TestServer, describeOne, launchOne, startTestServer } from './helpers.js';

const imageDataDir = resolve(process.env.NESTBOX_IMAGE_DATA_DIR ?? '.nestbox');
const unavailable = !findQemu()
  ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)'
  : !findImage(imageDataDir)
    ? `no built-in image in ${imageDataDir}/images (build it with: nestbox images build --data-dir ${imageDataDir})`
    : undefined;
if (unavailable && process.env.NESTBOX_QEMU_TESTS === 'require') {
  throw new Error(`NESTBOX_QEMU_TESTS=require, but ${unavailable}`);
}

const USER_DATA = Buffer.from('#!/bin/sh\nl2-smoke\n').toString('base64');
/** a boot under TCG with another VM beside it, plus l2-smoke: ~5–15 s here; generous for a busy host */
const BOOT_S = 90;
const CONSOLE_MS = 90_000;
/** the SDK waiters poll every 0.25–0.5 s here (their defaults start at 15 s) */
const waiter = (client: EC2Client) => ({ client, maxWaitTime: BOOT_S, minDelay: 0.25, maxDelay: 0.5 });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let server: TestServer | undefined;
let ec2: EC2Client;
/** every instance this file launched, for the cleanup */
const launched = new Set<string>();

const vmDir = (id: string) => join((server as TestServer).dataDir, 'vms', id);
/** what /proc/<pid>/cwd reads for the instance's directory (a symlinked TMPDIR resolved) */
const vmCwd = (id: string) => join(realpathSync(join((server as TestServer).dataDir, 'vms')), id);
const readPid = (id: string) => Number.parseInt(readFileSync(join(vmDir(id), 'pid'), 'utf8').trim(), 10);

/** Live QEMU processes that belong to this test: their cwd is under our vms/ dir or their argv names one of our instances. */
function ourQemus(dataDir: string): { pid: number; cwd: string }[] {
  let vms = join(dataDir, 'vms');
  try {
    vms = realpathSync(vms);
  } catch {
    // no VM was ever started
  }
  const found: { pid: number; cwd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!cmdline.includes('qemu-system')) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue; // exited, not yet reaped
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      if (cwd.startsWith(`${vms}/`) || [...launched].some((id) => cmdline.includes(id))) found.push({ pid: Number(name), cwd });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** An L1 VM of the built-in image that runs l2-smoke at boot, with nested virtualization as given. */
async function launchL1(nested: 'enabled' | 'disabled'): Promise<string> {
  const i = await launchOne(ec2, { InstanceType: 'c8i.large', CpuOptions: { NestedVirtualization: nested }, UserData: USER_DATA });
  launched.add(i.InstanceId!);
  return i.InstanceId!;
}

async function consoleText(id: string): Promise<string> {
  const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }));
  return Buffer.from(out.Output ?? '', 'base64').toString('utf8');
}

/** Polls GetConsoleOutput until `pattern` shows; fails with what the console had. */
async function consoleShows(id: string, pattern: RegExp, timeoutMs = CONSOLE_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await consoleText(id);
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) assert.fail(`the console of ${id} never showed ${pattern} within ${timeoutMs} ms; it had:\n${text}`);
    await sleep(250);
  }
}

const L2_RESULT = /^L2 (OK|FAIL)/m;

/** The steps build on each other: after one fails, the rest are skipped rather than failing on its leftovers. */
let failedStep: string | undefined;
function step(name: string, fn: (t: TestContext) => Promise<void>): void {
  test(name, async (t) => {
    if (failedStep) {
      t.skip(`an earlier step failed: ${failedStep}`);
      return;
    }
    try {
      await fn(t);
    } catch (err) {
      failedStep = name;
      throw err;
    }
  });
}

describe('qemu end to end through the AWS SDK (issue #4)', { skip: unavailable }, () => {
  let enabledId = '';
  let disabledId = '';

  /** the data dir is reached through a symlink (as /tmp is on macOS): a restart must still find its QEMUs */
  let realDataDir = '';

  before(async () => {
    realDataDir = mkdtempSync(join(tmpdir(), 'nestbox-qemu-e2e-'));
    const linked = `${realDataDir}-link`;
    symlinkSync(realDataDir, linked);
    server = await startTestServer(
      { driver: 'qemu', imagesDir: imageDataDir, vmMaxVcpus: 1, vmMemoryMiB: 256, stopTimeoutMs: 20_000 },
      linked,
    );
    assert.equal(server.nestbox.driverName, 'qemu');
    ec2 = server.client();
  });

  after(async () => {
    try {
      const ids = [...launched];
      if (server && ids.length > 0) {
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })).catch(() => undefined);
        await waitUntilInstanceTerminated({ ...waiter(ec2), maxWaitTime: 20 }, { InstanceIds: ids }).catch(() => undefined);
      }
      await server?.stop();
    } finally {
      if (realDataDir) {
        // whatever a failed step left behind goes, so no QEMU from this test outlives it
        for (const { pid } of ourQemus(realDataDir)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        rmSync(`${realDataDir}-link`, { force: true });
        rmSync(realDataDir, { recursive: true, force: true });
      }
    }
  });

  step('nested virtualization enabled → L2 OK; disabled → L2 FAIL with no /dev/kvm (both launched at once)', async (t) => {
    const t0 = Date.now();
    [enabledId, disabledId] = await Promise.all([launchL1('enabled'), launchL1('disabled')]);
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [enabledId, disabledId] });
    t.diagnostic(`both running after ${Date.now() - t0} ms`);

    const [on, off] = await Promise.all([describeOne(ec2, enabledId), describeOne(ec2, disabledId)]);
    assert.equal(on.CpuOptions?.NestedVirtualization, 'enabled');
    assert.equal(off.CpuOptions?.NestedVirtualization, 'disabled');

    const [outOn, outOff] = await Promise.all([consoleShows(enabledId, L2_RESULT), consoleShows(disabledId, L2_RESULT)]);
    t.diagnostic(`both L2 results after ${Date.now() - t0} ms`);
    assert.match(outOn, /virtualization extension: svm/);
    assert.match(outOn, /\/dev\/kvm is present/);
    assert.match(outOn, /^L2 OK/m);
    assert.doesNotMatch(outOn, /^L2 FAIL/m);

    assert.match(outOff, /virtualization extension: none/);
    assert.match(outOff, /^L2 FAIL: no \/dev\/kvm/m);
    assert.match(outOff, /no \/dev\/kvm \(nested virtualization is not available\)/);
    assert.doesNotMatch(outOff, /^L2 OK/m);
  });

  step('kill -9 of a running instance’s QEMU: it leaves running within 5 s, with StateReason Server.InternalError', async (t) => {
    assert.equal((await describeOne(ec2, enabledId)).State?.Name, 'running');
    const pid = readPid(enabledId);
    assert.ok(pid > 1);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    let i: Instance;
    for (;;) {
      i = await describeOne(ec2, enabledId);
      if (i.State?.Name !== 'running') break;
      assert.ok(Date.now() - killedAt < 5000, `${enabledId} still running ${Date.now() - killedAt} ms after its QEMU was killed`);
      await sleep(50);
    }
    t.diagnostic(`left running after ${Date.now() - killedAt} ms`);
    assert.equal(i.State?.Name, 'stopped');
    assert.equal(i.StateReason?.Code, 'Server.InternalError');
    assert.match(i.StateTransitionReason ?? '', /^Server\.InternalError/);
    assert.equal(existsSync(join(vmDir(enabledId), 'pid')), false, 'the pid file outlived QEMU');
  });

  step('the disabled one: stop → ModifyInstanceCpuOptions enabled → start → the new boot says L2 OK', async (t) => {
    let t0 = Date.now();
    const stopped = await ec2.send(new StopInstancesCommand({ InstanceIds: [disabledId] }));
    assert.equal(stopped.StoppingInstances?.[0]?.CurrentState?.Name, 'stopping');
    await waitUntilInstanceStopped({ ...waiter(ec2), maxWaitTime: 30 }, { InstanceIds: [disabledId] });
    t.diagnostic(`stopped after ${Date.now() - t0} ms (ACPI power button)`);
    // a clean power-off, not the stop deadline's kill
    assert.match(await consoleText(disabledId), /power button pressed/);

    const mod = await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: disabledId, NestedVirtualization: 'enabled' }));
    assert.equal(mod.NestedVirtualization, 'enabled');

    t0 = Date.now();
    await ec2.send(new StartInstancesCommand({ InstanceIds: [disabledId] }));
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [disabledId] });
    t.diagnostic(`running again after ${Date.now() - t0} ms`);
    assert.equal((await describeOne(ec2, disabledId)).CpuOptions?.NestedVirtualization, 'enabled');
    const out = await consoleShows(disabledId, L2_RESULT);
    // the console is the new boot's only
    assert.match(out, /^L2 OK/m);
    assert.match(out, /virtualization extension: svm/);
    assert.doesNotMatch(out, /L2 FAIL|virtualization extension: none/);
  });

  step('a nestbox restart while the instance runs: still running, its QEMU re-adopted, and a stop works', async (t) => {
    const id = disabledId;
    const before = readPid(id);
    assert.deepEqual(
      ourQemus((server as TestServer).dataDir).filter((q) => q.cwd === vmCwd(id)).map((q) => q.pid),
      [before],
    );

    const t0 = Date.now();
    server = await (server as TestServer).restart();
    ec2 = server.client();
    t.diagnostic(`restarted in ${Date.now() - t0} ms`);

    const i = await describeOne(ec2, id);
    assert.equal(i.State?.Name, 'running');
    // exactly one QEMU runs in the instance's directory, and it is the one from before the restart
    assert.deepEqual(
      ourQemus(server.dataDir).filter((q) => q.cwd === vmCwd(id)).map((q) => q.pid),
      [before],
    );
    assert.equal(readPid(id), before);
    // the console of the boot before the restart is still there
    assert.match(await consoleText(id), /^L2 OK/m);

    const t1 = Date.now();
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceStopped({ ...waiter(ec2), maxWaitTime: 30 }, { InstanceIds: [id] });
    t.diagnostic(`the adopted VM stopped after ${Date.now() - t1} ms`);
    const stopped = await describeOne(ec2, id);
    assert.equal(stopped.StateReason?.Code, 'Client.UserInitiatedShutdown');
    assert.deepEqual(ourQemus(server.dataDir).filter((q) => q.cwd === vmCwd(id)), []);
  });

  step('TerminateInstances (one running, one stopped) → terminated, QEMU gone, VM directories gone', async (t) => {
    // the crashed one boots again after a plain start
    const t0 = Date.now();
    await ec2.send(new StartInstancesCommand({ InstanceIds: [enabledId] }));
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [enabledId] });
    t.diagnostic(`the crashed instance is running again after ${Date.now() - t0} ms`);
    const pid = readPid(enabledId);
    assert.ok(existsSync(vmDir(disabledId)), 'a stopped instance keeps its VM directory (console output)');

    const r = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [enabledId, disabledId] }));
    assert.equal(r.TerminatingInstances?.length, 2);
    for (const c of r.TerminatingInstances ?? []) assert.match(c.CurrentState?.Name ?? '', /^(shutting-down|terminated)$/);
    await waitUntilInstanceTerminated({ ...waiter(ec2), maxWaitTime: 20 }, { InstanceIds: [enabledId, disabledId] });
    for (const id of [enabledId, disabledId]) {
      assert.equal((await describeOne(ec2, id)).State?.Name, 'terminated');
      assert.equal(existsSync(vmDir(id)), false, `${vmDir(id)} is still there`);
    }
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `QEMU ${pid} survived the termination`);
  });

  step('no QEMU process from this test survives', async () => {
    const s = server as TestServer;
    const r = await ec2.send(new DescribeInstancesCommand({}));
    const live = (r.Reservations ?? []).flatMap((res) => res.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
    assert.deepEqual(live.map((i) => `${i.InstanceId} ${i.State?.Name}`), []);
    assert.deepEqual(ourQemus(s.dataDir), []);
  });
});

describe('a host without room for another VM', { skip: unavailable }, () => {
  test('RunInstances answers InsufficientInstanceCapacity and records nothing', async () => {
    // A memory budget below one VM's cost (256 MiB guest + QEMU's overhead): nothing fits.
    const full = await startTestServer({ driver: 'qemu', imagesDir: imageDataDir, vmMemoryMiB: 256, vmMemoryBudgetMiB: 64 });
    try {
      const c = full.client('us-east-1');
      let error: { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
      try {
        await c.send(new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 'c8i.large', MinCount: 1, MaxCount: 1 }));
      } catch (e) {
        error = e as typeof error;
      }
      assert.equal(error?.name, 'InsufficientInstanceCapacity');
      assert.equal(error?.$metadata?.httpStatusCode, 500);
      const after = await c.send(new DescribeInstancesCommand({}));
      assert.equal(after.Reservations?.length ?? 0, 0, 'a refused launch records no instance');
      // Images nestbox cannot boot are simulated, so the host's VM budget does not apply to them.
      const windows = await c.send(
        new RunInstancesCommand({ ImageId: WINDOWS_AMI, InstanceType: 'c8i.large', MinCount: 1, MaxCount: 1 }),
      );
      assert.equal(windows.Instances?.length, 1);
    } finally {
      await full.close();
    }
  });
});
