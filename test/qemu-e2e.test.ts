/**
 * Instances you can use, end to end through the real AWS SDK and the real `ssh` client against an
 * in-process nestbox with the qemu driver: real QEMU VMs (L1) booting the built-in Debian image.
 *
 *   1. key pairs (ed25519 created, RSA imported) → two instances, nested virtualization on and off, at
 *      once → `ssh admin@PublicIpAddress` with each key: sudo, the ENI's private IP on eth0, IMDSv2 with
 *      this instance's ID and key, user data ran at first boot; `svm` and `l2-linux` → `L2 LINUX OK`
 *      with nested virtualization, none and `L2 LINUX FAIL` without; neither sees the other's metadata
 *   2. a file written before stop is there after start (a new public address), user data not run again
 *   3. kill -9 of a running instance's QEMU → it leaves `running` within ~5 s, StateReason Server.InternalError
 *   4. the disabled one: stop → ModifyInstanceCpuOptions enabled → start → `svm` in its CPU
 *   5. a second server on the same data dir refuses to start and leaves the running VM alone; a nestbox
 *      restart while it runs: still `running`, the same QEMU re-adopted, ssh and IMDS still work, and a
 *      stop works (the data dir is reached through a symlink, which the re-adoption must see through)
 *   6. a data volume (CreateVolume, 1 GiB) attached to the instance step 3 crashed (stopped): at its start
 *      the guest has a 1 GiB virtio disk whose serial is the volume ID without its hyphen, all zeros; a random
 *      marker written to it raw with dd → stop → DetachVolume → AttachVolume to the other instance
 *      (stopped) → start → the marker reads back in that guest
 *   7. DeleteOnTermination=false keeps the root disk as an `available` volume until DeleteVolume
 *   8. TerminateInstances → terminated, QEMU gone, VM directories and root disks gone; the data volume
 *      is `available` again with its disk, until DeleteVolume
 *   9. nothing of this test's QEMUs survives
 * and, apart: the image variant with Debian's cloud-init, whose EC2 datasource sets the hostname and
 * installs the key from nestbox's metadata service.
 *
 * Needs qemu-system-x86_64, qemu-img, socat, ssh and the built-in images (`nestbox images build
 * --variant all`, in <NESTBOX_IMAGE_DATA_DIR or ./.nestbox>/images); skipped with the reason otherwise,
 * or failed when NESTBOX_QEMU_TESTS=require. The steps build on each other and run in order.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type TestContext, after, before, describe, test } from 'node:test';
import {
  AttachVolumeCommand,
  CreateImageCommand,
  CreateKeyPairCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  type EC2Client,
  GetConsoleOutputCommand,
  ImportKeyPairCommand,
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
import { LINUX_AMI, WINDOWS_AMI, type TestServer, describeOne, eventually, launchOne, startTestServer } from './helpers.js';
import { type SshTarget, ssh, sshTarget, sshWhenUp, writeKey } from './ssh.js';

const CLOUD_INIT_AMI = 'ami-0b5e4a1f2c3d40004';
const imageDataDir = resolve(process.env.NESTBOX_IMAGE_DATA_DIR ?? '.nestbox');
const missingTool = ['qemu-img', 'socat', 'ssh', 'ssh-keygen'].find((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});
const unavailable = !findQemu()
  ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)'
  : missingTool
    ? `${missingTool} is not installed (apt-get install qemu-utils socat openssh-client)`
    : !findImage(imageDataDir)
      ? `no built-in image in ${imageDataDir}/images (build it with: nestbox images build --variant all --data-dir ${imageDataDir})`
      : undefined;
const cloudInitUnavailable = unavailable ?? (findImage(imageDataDir, 'cloud-init') ? undefined : `no cloud-init image in ${imageDataDir}/images (nestbox images build --variant cloud-init)`);
if ((unavailable || cloudInitUnavailable) && process.env.NESTBOX_QEMU_TESTS === 'require') {
  throw new Error(`NESTBOX_QEMU_TESTS=require, but ${unavailable ?? cloudInitUnavailable}`);
}

const USER_DATA = Buffer.from('#!/bin/sh\necho "user data ran as $(id -un)" > /var/tmp/user-data-ran\necho first-boot >> /var/tmp/boots\n').toString('base64');
/** a boot under TCG with another VM beside it: ~5–15 s here; generous for a busy host */
const BOOT_S = 120;
const SSH_MS = 120_000;
/** the SDK waiters poll every 0.25–0.5 s here (their defaults start at 15 s) */
const waiter = (client: EC2Client) => ({ client, maxWaitTime: BOOT_S, minDelay: 0.25, maxDelay: 0.5 });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let server: TestServer | undefined;
let ec2: EC2Client;
/** every instance this file launched, for the cleanup */
const launched = new Set<string>();

const vmDir = (id: string) => join((server as TestServer).dataDir, 'vms', id);
const volumeFile = (volumeId: string) => join((server as TestServer).dataDir, 'volumes', `${volumeId}.qcow2`);
/** a data volume's disk (README "Data volumes and snapshots") */
const dataVolumeFile = (volumeId: string) => join((server as TestServer).dataDir, 'ebs', `${volumeId}.qcow2`);
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

async function consoleText(id: string): Promise<string> {
  const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }));
  return Buffer.from(out.Output ?? '', 'base64').toString('utf8');
}

/** IMDSv2 inside the guest: a token, then the path with it. */
const imds = (path: string) =>
  `T=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) && curl -sf -H "X-aws-ec2-metadata-token: $T" http://169.254.169.254/latest/${path}`;

/** ssh that must succeed; its stdout. */
async function run(target: SshTarget, command: string): Promise<string> {
  const r = await ssh(target, command);
  assert.equal(r.code, 0, `ssh ${command} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

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

describe('instances you can use: ssh, IMDS, root volumes and L2 Linux on real VMs', { skip: unavailable }, () => {
  let enabledId = '';
  let disabledId = '';
  let edKey = '';
  let rsaKey = '';
  let edPublic = '';
  /** the data volume of step 6, attached to disabledId from then on */
  let dataVolumeId = '';

  /** the data dir is reached through a symlink (as /tmp is on macOS): a restart must still find its QEMUs */
  let realDataDir = '';

  before(async () => {
    realDataDir = mkdtempSync(join(tmpdir(), 'nestbox-qemu-e2e-'));
    const linked = `${realDataDir}-link`;
    symlinkSync(realDataDir, linked);
    server = await startTestServer(
      { driver: 'qemu', imagesDir: imageDataDir, vmMaxVcpus: 1, vmMemoryMiB: 512, stopTimeoutMs: 20_000 },
      linked,
    );
    assert.equal(server.nestbox.driverName, 'qemu');
    ec2 = server.client();
    const created = await ec2.send(new CreateKeyPairCommand({ KeyName: 'e2e-ed25519', KeyType: 'ed25519' }));
    edKey = writeKey(join(realDataDir, 'e2e-ed25519.pem'), created.KeyMaterial ?? '');
    edPublic = execFileSync('ssh-keygen', ['-y', '-f', edKey], { encoding: 'utf8' }).trim();
    rsaKey = join(realDataDir, 'e2e-rsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsaKey]);
    await ec2.send(new ImportKeyPairCommand({ KeyName: 'e2e-rsa', PublicKeyMaterial: readFileSync(`${rsaKey}.pub`) }));
  });

  after(async () => {
    try {
      const ids = [...launched];
      if (server && ids.length > 0) {
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })).catch(() => undefined);
        await waitUntilInstanceTerminated({ ...waiter(ec2), maxWaitTime: 30 }, { InstanceIds: ids }).catch(() => undefined);
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

  step('key pair → RunInstances with and without nested virtualization → ssh admin@PublicIpAddress: sudo, private IP, IMDSv2, user data, L2 Linux', async (t) => {
    const t0 = Date.now();
    const [on, off] = await Promise.all([
      launchOne(ec2, { InstanceType: 'c8i.large', KeyName: 'e2e-ed25519', CpuOptions: { NestedVirtualization: 'enabled' }, UserData: USER_DATA }),
      launchOne(ec2, { InstanceType: 'c8i.large', KeyName: 'e2e-rsa', CpuOptions: { NestedVirtualization: 'disabled' } }),
    ]);
    enabledId = on.InstanceId!;
    disabledId = off.InstanceId!;
    launched.add(enabledId).add(disabledId);
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [enabledId, disabledId] });
    const running = Date.now();
    t.diagnostic(`both running after ${running - t0} ms`);

    const [a, b] = await Promise.all([describeOne(ec2, enabledId), describeOne(ec2, disabledId)]);
    for (const i of [a, b]) {
      assert.match(i.PublicIpAddress ?? '', /^127\.\d+\.\d+\.\d+$/, 'a public address this host can reach');
      assert.match(i.PrivateIpAddress ?? '', /^172\.31\./);
      assert.equal(i.NetworkInterfaces?.[0]?.PrivateIpAddress, i.PrivateIpAddress);
      assert.equal(i.NetworkInterfaces?.[0]?.Association?.PublicIp, i.PublicIpAddress);
    }
    assert.notEqual(a.PublicIpAddress, b.PublicIpAddress);
    const ta = sshTarget(a, edKey);
    const tb = sshTarget(b, rsaKey);

    const [firstA, firstB] = await Promise.all([sshWhenUp(ta, 'true', SSH_MS), sshWhenUp(tb, 'true', SSH_MS)]);
    t.diagnostic(`first ssh ${firstA.waitedMs} ms (ed25519) and ${firstB.waitedMs} ms (RSA) after running`);

    // sudo without a password, as on Debian's AMIs; no password login at all
    assert.equal((await run(ta, 'sudo -n id -u')).trim(), '0');
    const denied = await ssh({ ...ta, key: rsaKey }, 'true');
    assert.equal(denied.code, 255, 'another key pair is refused');
    // the guest really uses the ENI's address
    assert.match(await run(ta, 'ip -4 addr show dev eth0'), new RegExp(`inet ${a.PrivateIpAddress!.replaceAll('.', '\\.')}/20\\b`));
    assert.match(await run(tb, 'ip -4 -o addr'), new RegExp(`inet ${b.PrivateIpAddress!.replaceAll('.', '\\.')}/20\\b`));
    // IMDSv2: this instance's ID and key; never the other's
    assert.equal(await run(ta, imds('meta-data/instance-id')), enabledId);
    assert.equal(await run(tb, imds('meta-data/instance-id')), disabledId);
    assert.equal((await run(ta, imds('meta-data/public-keys/0/openssh-key'))).trim().split(' ').slice(0, 2).join(' '), edPublic.split(' ').slice(0, 2).join(' '));
    assert.equal(await run(ta, imds('meta-data/local-ipv4')), a.PrivateIpAddress);
    assert.equal(await run(ta, imds('meta-data/public-ipv4')), a.PublicIpAddress);
    assert.equal((await run(tb, imds('user-data') + '; echo " status=$?"')).trim(), 'status=22', 'no user data: 404');
    // the hostname is the private DNS name's first label, from the metadata
    assert.equal((await run(ta, 'hostname')).trim(), a.PrivateDnsName?.split('.')[0]);
    // user data ran once, as root, at the first boot
    assert.equal((await run(ta, 'cat /var/tmp/user-data-ran')).trim(), 'user data ran as root');

    // the L1 CPU: SVM with nested virtualization, neither SVM nor VT-x without
    assert.match(await run(ta, 'grep -m1 -o -w -E "svm|vmx" /proc/cpuinfo'), /svm|vmx/);
    assert.equal((await ssh(tb, 'grep -c -w -E "svm|vmx" /proc/cpuinfo')).stdout.trim(), '0');

    const t1 = Date.now();
    const [l2a, l2b] = await Promise.all([ssh(ta, 'l2-linux'), ssh(tb, 'l2-linux')]);
    t.diagnostic(`l2-linux: ${Date.now() - t1} ms`);
    assert.equal(l2a.code, 0, `l2-linux failed with nested virtualization:\n${l2a.stdout}\n${l2a.stderr}`);
    assert.match(l2a.stdout, /Linux version \d/);
    assert.match(l2a.stdout, /^L2 LINUX OK/m);
    assert.notEqual(l2b.code, 0);
    assert.match(l2b.stdout + l2b.stderr, /L2 LINUX FAIL: .*(VT-x|SVM)/);
    assert.doesNotMatch(l2b.stdout, /^L2 LINUX OK/m);

    // GetConsoleOutput shows the whole kernel boot log, as EC2's does
    const console = await consoleText(enabledId);
    assert.match(console, /Linux version \d/);
    assert.match(console, /nestbox: booted/);
  });

  step('a file written before stop is there after start (a new public address; user data not run again)', async (t) => {
    const before = await describeOne(ec2, enabledId);
    await run(sshTarget(before, edKey), 'echo kept > /home/admin/kept.txt && sync');
    let t0 = Date.now();
    await ec2.send(new StopInstancesCommand({ InstanceIds: [enabledId] }));
    await waitUntilInstanceStopped({ ...waiter(ec2), maxWaitTime: 40 }, { InstanceIds: [enabledId] });
    t.diagnostic(`stopped after ${Date.now() - t0} ms (ACPI power button)`);
    const stopped = await describeOne(ec2, enabledId);
    assert.equal(stopped.PublicIpAddress, undefined, 'the public address is released at stop');
    assert.ok(existsSync(volumeFile(stopped.BlockDeviceMappings?.[0]?.Ebs?.VolumeId ?? '')), 'the root disk stays');

    t0 = Date.now();
    await ec2.send(new StartInstancesCommand({ InstanceIds: [enabledId] }));
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [enabledId] });
    const after = await describeOne(ec2, enabledId);
    assert.ok(after.PublicIpAddress);
    assert.notEqual(after.PublicIpAddress, before.PublicIpAddress, 'a new public address on start');
    const target = sshTarget(after, edKey);
    const first = await sshWhenUp(target, 'cat /home/admin/kept.txt', SSH_MS);
    t.diagnostic(`running again after ${Date.now() - t0} ms; ssh ${first.waitedMs} ms later`);
    assert.equal(first.stdout.trim(), 'kept');
    assert.equal((await run(target, 'cat /var/tmp/boots')).trim(), 'first-boot', 'user data runs at the first boot only');
  });

  step('CreateImage (NoReboot) of the running instance → RunInstances from it → the files written in the original are there', async (t) => {
    const source = await describeOne(ec2, enabledId);
    await run(sshTarget(source, edKey), 'echo imaged > /home/admin/imaged.txt && sync');
    const t0 = Date.now();
    const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: enabledId, Name: `e2e-image-${Date.now()}`, NoReboot: true }));
    let state = '';
    while (Date.now() - t0 < 60_000) {
      state = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images?.[0]?.State ?? '';
      if (state !== 'pending') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(state, 'available');
    t.diagnostic(`image available after ${Date.now() - t0} ms (a live drive-backup of the root disk)`);
    const copy = await launchOne(ec2, { ImageId: ImageId!, InstanceType: 'c8i.large', KeyName: 'e2e-ed25519' });
    launched.add(copy.InstanceId!);
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [copy.InstanceId!] });
    const i = await describeOne(ec2, copy.InstanceId!);
    const r = await sshWhenUp(sshTarget(i, edKey), 'cat /home/admin/kept.txt /home/admin/imaged.txt', SSH_MS);
    t.diagnostic(`the copy answers ssh ${r.waitedMs} ms after running`);
    assert.equal(r.stdout.trim(), 'kept\nimaged');
    assert.equal(await run(sshTarget(i, edKey), imds('meta-data/instance-id')), copy.InstanceId);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [copy.InstanceId!] }));
    await waitUntilInstanceTerminated({ ...waiter(ec2), maxWaitTime: 30 }, { InstanceIds: [copy.InstanceId!] });
    launched.delete(copy.InstanceId!);
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

  step('the disabled one: stop → ModifyInstanceCpuOptions enabled → start → its CPU has SVM', async (t) => {
    let t0 = Date.now();
    const stopped = await ec2.send(new StopInstancesCommand({ InstanceIds: [disabledId] }));
    assert.equal(stopped.StoppingInstances?.[0]?.CurrentState?.Name, 'stopping');
    await waitUntilInstanceStopped({ ...waiter(ec2), maxWaitTime: 40 }, { InstanceIds: [disabledId] });
    t.diagnostic(`stopped after ${Date.now() - t0} ms (ACPI power button)`);
    // a clean power-off, not the stop deadline's kill
    assert.match(await consoleText(disabledId), /power button pressed/);

    const mod = await ec2.send(new ModifyInstanceCpuOptionsCommand({ InstanceId: disabledId, NestedVirtualization: 'enabled' }));
    assert.equal(mod.NestedVirtualization, 'enabled');

    t0 = Date.now();
    await ec2.send(new StartInstancesCommand({ InstanceIds: [disabledId] }));
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [disabledId] });
    t.diagnostic(`running again after ${Date.now() - t0} ms`);
    const i = await describeOne(ec2, disabledId);
    assert.equal(i.CpuOptions?.NestedVirtualization, 'enabled');
    const r = await sshWhenUp(sshTarget(i, rsaKey), 'grep -m1 -o -w svm /proc/cpuinfo', SSH_MS);
    assert.equal(r.stdout.trim(), 'svm');
  });

  step('a nestbox restart while the instance runs: still running, its QEMU re-adopted, ssh and IMDS work, and a stop works', async (t) => {
    const id = disabledId;
    const before = readPid(id);
    assert.deepEqual(
      ourQemus((server as TestServer).dataDir).filter((q) => q.cwd === vmCwd(id)).map((q) => q.pid),
      [before],
    );

    // A second server on the same data dir refuses to start and touches nothing: the VM stays up and tracked.
    const second = await startTestServer({ driver: 'qemu', imagesDir: imageDataDir }, (server as TestServer).dataDir).then(
      (s) => s,
      (err: unknown) => err as Error,
    );
    assert.ok(second instanceof Error, 'a second server started on a data dir in use');
    assert.match(second.message, /is in use by another nestbox \(PID \d+/);
    assert.equal(readPid(id), before);
    assert.equal((await describeOne(ec2, id)).State?.Name, 'running');

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
    // the guest still answers, and its metadata service is back
    assert.equal(await run(sshTarget(i, rsaKey), imds('meta-data/instance-id')), id);

    const t1 = Date.now();
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceStopped({ ...waiter(ec2), maxWaitTime: 40 }, { InstanceIds: [id] });
    t.diagnostic(`the adopted VM stopped after ${Date.now() - t1} ms`);
    const stopped = await describeOne(ec2, id);
    assert.equal(stopped.StateReason?.Code, 'Client.UserInitiatedShutdown');
    assert.deepEqual(ourQemus(server.dataDir).filter((q) => q.cwd === vmCwd(id)), []);
  });

  step('a data volume written in one instance is read in another after DetachVolume → AttachVolume (each VM gets it at its next start)', async (t) => {
    const t0 = Date.now();
    const volume = async () => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [dataVolumeId] }))).Volumes![0]!;
    const start = async (id: string) => {
      const t1 = Date.now();
      await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
      await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [id] });
      return Date.now() - t1;
    };
    // both instances are stopped here: the enabled one after its crash, the disabled one after the restart step
    const [a, b] = await Promise.all([describeOne(ec2, enabledId), describeOne(ec2, disabledId)]);
    assert.deepEqual([a.State?.Name, b.State?.Name], ['stopped', 'stopped']);
    assert.equal(a.Placement?.AvailabilityZone, b.Placement?.AvailabilityZone);

    const created = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: a.Placement!.AvailabilityZone!, Size: 1 }));
    dataVolumeId = created.VolumeId!;
    const serial = dataVolumeId.replace('-', '');
    const byId = `/dev/disk/by-id/virtio-${serial}`;
    // a random marker, written raw at 1 MiB into the disk: no file system needed
    const marker = `nestbox-${randomBytes(16).toString('hex')}`;
    const region = (d: string) => `sudo -n dd if=${d} bs=1M skip=1 count=1 2>/dev/null`;
    /**
     * One ssh session in the guest (each costs a second or more under TCG): the virtio disk whose serial
     * is the volume ID without its hyphen, found through sysfs, with its size in 512-byte sectors; where
     * /dev/disk/by-id/virtio-<serial> leads (the image's init makes those links: it has no udev); how many bytes of the 1 MiB region are not zero; then, in the
     * writer, the marker written there with dd and flushed; and what the region begins with.
     */
    const inGuest = async (target: SshTarget, who: 'A' | 'B', write: boolean) => {
      const r = await sshWhenUp(
        target,
        [
          `d=; for b in /sys/block/vd*; do [ "$(cat $b/serial)" = ${serial} ] && d=/dev/\${b##*/} && echo "disk $d $(cat $b/size)"; done`,
          `[ -e ${byId} ] && echo "by-id $(readlink -f ${byId})"`,
          `[ -n "$d" ] || exit 3`,
          `echo "nonzero $(${region('$d')} | tr -d '\\000' | wc -c)"`,
          ...(write ? [`printf %s ${marker} | sudo -n dd of=$d bs=1M seek=1 conv=notrunc,fsync 2>/dev/null && sync || exit 4`] : []),
          `echo "marker $(${region('$d')} | head -c ${marker.length} | tr -d '\\000')"`,
        ].join('\n'),
        SSH_MS,
      );
      assert.equal(r.code, 0, `${who}: exit ${r.code}:\n${r.stdout}\n${r.stderr}`);
      const field = (name: string) => r.stdout.split('\n').filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
      const disks = field('disk');
      assert.equal(disks.length, 1, `${who}: one virtio disk with serial ${serial}:\n${r.stdout}`);
      const [device, sectors] = disks[0]!.split(' ');
      assert.match(device!, /^\/dev\/vd[b-z]$/, `${who}: a second virtio disk`);
      assert.equal(sectors, '2097152', `${who}: a 1 GiB disk`);
      assert.deepEqual(field('by-id'), [device], `${who}: ${byId} leads to the volume's disk`);
      return { nonZero: Number(field('nonzero')[0]), marker: field('marker')[0], waitedMs: r.waitedMs };
    };

    await ec2.send(new AttachVolumeCommand({ VolumeId: dataVolumeId, InstanceId: enabledId, Device: '/dev/sdf' }));
    let v = await volume();
    assert.equal(v.State, 'in-use');
    assert.deepEqual([v.Attachments?.[0]?.InstanceId, v.Attachments?.[0]?.Device], [enabledId, '/dev/sdf']);
    const bootA = await start(enabledId);
    assert.ok(existsSync(dataVolumeFile(dataVolumeId)), 'the volume’s disk is made at the first start that needs it');
    const inA = await inGuest(sshTarget(await describeOne(ec2, enabledId), edKey), 'A', true);
    assert.equal(inA.nonZero, 0, 'a new volume reads as zeros');
    assert.equal(inA.marker, marker);

    let t1 = Date.now();
    await ec2.send(new StopInstancesCommand({ InstanceIds: [enabledId] }));
    await waitUntilInstanceStopped({ ...waiter(ec2), maxWaitTime: 40 }, { InstanceIds: [enabledId] });
    const stopA = Date.now() - t1;
    const detached = await ec2.send(new DetachVolumeCommand({ VolumeId: dataVolumeId }));
    assert.equal(detached.State, 'detaching');
    v = await volume();
    assert.equal(v.State, 'available');
    assert.deepEqual(v.Attachments, []);
    assert.deepEqual((await describeOne(ec2, enabledId)).BlockDeviceMappings?.map((m) => m.DeviceName), ['/dev/xvda']);

    // another device name: the guest finds the disk by its serial, not by the name AttachVolume was given
    await ec2.send(new AttachVolumeCommand({ VolumeId: dataVolumeId, InstanceId: disabledId, Device: '/dev/sdg' }));
    v = await volume();
    assert.deepEqual([v.State, v.Attachments?.[0]?.InstanceId, v.Attachments?.[0]?.Device], ['in-use', disabledId, '/dev/sdg']);
    const bootB = await start(disabledId);
    const i = await describeOne(ec2, disabledId);
    assert.deepEqual(i.BlockDeviceMappings?.map((m) => [m.DeviceName, m.Ebs?.VolumeId]), [
      ['/dev/xvda', i.BlockDeviceMappings?.[0]?.Ebs?.VolumeId],
      ['/dev/sdg', dataVolumeId],
    ]);
    const inB = await inGuest(sshTarget(i, rsaKey), 'B', false);
    assert.equal(inB.marker, marker, 'the marker written in the other instance');
    assert.equal(inB.nonZero, marker.length, 'the marker and zeros around it');
    t.diagnostic(
      `data volume across instances: ${Date.now() - t0} ms (start A ${bootA} ms + first ssh ${inA.waitedMs} ms, stop A ${stopA} ms, start B ${bootB} ms + first ssh ${inB.waitedMs} ms)`,
    );
  });

  step('DeleteOnTermination=false keeps the root disk as an available volume until DeleteVolume', async () => {
    const kept = await launchOne(ec2, {
      InstanceType: 'c8i.large',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false, VolumeSize: 9 } }],
    });
    launched.add(kept.InstanceId!);
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [kept.InstanceId!] });
    const volumeId = (await describeOne(ec2, kept.InstanceId!)).BlockDeviceMappings?.[0]?.Ebs?.VolumeId ?? '';
    assert.ok(existsSync(volumeFile(volumeId)));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [kept.InstanceId!] }));
    await waitUntilInstanceTerminated({ ...waiter(ec2), maxWaitTime: 30 }, { InstanceIds: [kept.InstanceId!] });
    const v = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    assert.equal(v.Volumes?.[0]?.State, 'available');
    assert.equal(v.Volumes?.[0]?.Size, 9);
    assert.ok(existsSync(volumeFile(volumeId)), 'the disk outlives its instance');
    await ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
    // DeleteVolume deletes the disk: the VM host does it (a task the call queued) once the call has answered
    await eventually(async () => (existsSync(volumeFile(volumeId)) ? undefined : true), 10_000, `${volumeFile(volumeId)} to go`);
  });

  step('TerminateInstances (one stopped, one running with a data volume) → terminated, QEMU gone, VM directories and root disks gone; the data volume stays until DeleteVolume', async () => {
    const volumes = await Promise.all([enabledId, disabledId].map(async (id) => (await describeOne(ec2, id)).BlockDeviceMappings?.[0]?.Ebs?.VolumeId ?? ''));
    for (const v of volumes) assert.ok(existsSync(volumeFile(v)));
    const r = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [enabledId, disabledId] }));
    assert.equal(r.TerminatingInstances?.length, 2);
    await waitUntilInstanceTerminated({ ...waiter(ec2), maxWaitTime: 30 }, { InstanceIds: [enabledId, disabledId] });
    for (const id of [enabledId, disabledId]) {
      assert.equal((await describeOne(ec2, id)).State?.Name, 'terminated');
      assert.equal(existsSync(vmDir(id)), false, `${vmDir(id)} is still there`);
    }
    for (const v of volumes) assert.equal(existsSync(volumeFile(v)), false, `the root disk ${v} outlived its instance`);
    // AttachVolume's DeleteOnTermination is false: the data volume is available again, its disk kept
    const data = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [dataVolumeId] }))).Volumes?.[0];
    assert.equal(data?.State, 'available');
    assert.deepEqual(data?.Attachments, []);
    assert.ok(existsSync(dataVolumeFile(dataVolumeId)));
    await ec2.send(new DeleteVolumeCommand({ VolumeId: dataVolumeId }));
    // as for a root volume, the VM host deletes the disk once DeleteVolume has answered
    await eventually(async () => (existsSync(dataVolumeFile(dataVolumeId)) ? undefined : true), 10_000, `${dataVolumeFile(dataVolumeId)} to go`);
  });

  step('no QEMU process from this test survives', async () => {
    const s = server as TestServer;
    const r = await ec2.send(new DescribeInstancesCommand({}));
    const live = (r.Reservations ?? []).flatMap((res) => res.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
    assert.deepEqual(live.map((i) => `${i.InstanceId} ${i.State?.Name}`), []);
    assert.deepEqual(ourQemus(s.dataDir), []);
  });
});

describe('the image with Debian cloud-init: its EC2 datasource accepts nestbox’s metadata service', { skip: cloudInitUnavailable }, () => {
  test('cloud-init sets the hostname and installs the key pair', async (t) => {
    const s = await startTestServer({ driver: 'qemu', imagesDir: imageDataDir, vmMaxVcpus: 1, vmMemoryMiB: 512, stopTimeoutMs: 10_000 });
    try {
      const c = s.client();
      const created = await c.send(new CreateKeyPairCommand({ KeyName: 'ci-key', KeyType: 'ed25519' }));
      const key = writeKey(join(s.dataDir, 'ci-key.pem'), created.KeyMaterial ?? '');
      const t0 = Date.now();
      const i = await launchOne(c, { ImageId: CLOUD_INIT_AMI, InstanceType: 'm8i.large', KeyName: 'ci-key' });
      await waitUntilInstanceRunning({ client: c, maxWaitTime: 300, minDelay: 0.5, maxDelay: 1 }, { InstanceIds: [i.InstanceId!] });
      const d = await describeOne(c, i.InstanceId!);
      const r = await sshWhenUp(sshTarget(d, key), 'hostname; sudo -n cat /var/lib/cloud/data/instance-id', 240_000);
      t.diagnostic(`cloud-init image: running after ${Date.now() - t0 - r.waitedMs} ms, ssh ${r.waitedMs} ms later`);
      const [hostname, instanceId] = r.stdout.trim().split('\n');
      assert.equal(hostname, d.PrivateDnsName?.split('.')[0]);
      assert.equal(instanceId, i.InstanceId, 'cloud-init read this instance from the metadata service');
      await c.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));
      await waitUntilInstanceTerminated({ client: c, maxWaitTime: 30, minDelay: 0.25, maxDelay: 0.5 }, { InstanceIds: [i.InstanceId!] });
    } finally {
      await s.stop();
      // VMs outlive their server: a failure above must not leave this test's QEMU running
      for (const { pid } of ourQemus(s.dataDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  });
});

describe('a host without room for another VM', { skip: unavailable }, () => {
  test('RunInstances answers InsufficientInstanceCapacity and records nothing', async () => {
    // A memory budget below one VM's cost (the guest + QEMU's overhead): nothing fits.
    const full = await startTestServer({ driver: 'qemu', imagesDir: imageDataDir, vmMemoryMiB: 512, vmMemoryBudgetMiB: 64 });
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
