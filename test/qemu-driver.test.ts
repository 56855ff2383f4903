/**
 * The qemu driver with real VMs: the VmDriver contract, then what only real VMs show — an L2 guest
 * that runs (or cannot) inside L1, a guest that powers itself off, and a QEMU killed with SIGKILL.
 * The guests' metadata (user data) comes from a stand-in metadata service (test/fake-imds.ts).
 *
 * Needs qemu-system-x86_64 and the built-in image (`nestbox images build`, in <NESTBOX_IMAGE_DATA_DIR
 * or ./.nestbox>/images); skipped with the reason otherwise, or failed when NESTBOX_QEMU_TESTS=require.
 * Under TCG on 2 cores a boot takes ~4–8 s; at most 2 VMs run at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import type { HostNetwork, VmDriver, VmEvent, VmEventSink, VmSpec } from '../src/compute/driver.js';
import { type QemuDriverOptions, createQemuDriver } from '../src/compute/qemu/driver.js';
import { type ImageInfo, buildImage, findImage, imageStatus } from '../src/compute/qemu/image.js';
import { findQemu } from '../src/compute/qemu/probe.js';
import { Ec2Error } from '../src/domain/errors.js';
import { driverContract, specFor } from './driver-contract.js';
import { fakeImds } from './fake-imds.js';
import { eventually } from './helpers.js';
import { firstLine, firstLineWithin } from './ssh.js';

const imageDataDir = resolve(process.env.NESTBOX_IMAGE_DATA_DIR ?? '.nestbox');
const qemu = findQemu();
const image = findImage(imageDataDir);
const unavailable = !qemu
  ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)'
  : !image
    ? `no built-in image in ${imageDataDir}/images (build it with: nestbox images build --data-dir ${imageDataDir})`
    : undefined;
if (unavailable && process.env.NESTBOX_QEMU_TESTS === 'require') {
  throw new Error(`NESTBOX_QEMU_TESTS=require, but ${unavailable}`);
}

const BOOT_TIMEOUT_MS = 45_000;
const vmsDir = mkdtempSync(join(tmpdir(), 'nestbox-qemu-test-'));
after(() => rmSync(vmsDir, { recursive: true, force: true }));

/** The user data of the specs the tests start, served by the stand-in metadata service. */
const userDataOf = new Map<string, string>();
const imds = fakeImds((id) => ({ userData: userDataOf.get(id) }));
after(() => imds.closeAll());

/** 1 vCPU per VM keeps TCG boots fast on a small host; the scaling shows in the runtime info. */
const driverOptions = (): QemuDriverOptions => ({
  dataDir: vmsDir,
  image: image as ImageInfo,
  qemu: qemu as string,
  imds,
  maxVcpus: 1,
  maxMemoryMiB: 512,
  stopTimeoutMs: 20_000,
});
/** The driver under the contract suite: a spec's user data is what the stand-in metadata service serves it. */
const makeDriver = (events: VmEventSink): VmDriver => {
  const driver = createQemuDriver(events, driverOptions());
  return {
    ...driver,
    start: (spec) => {
      if (spec.userData !== undefined) userDataOf.set(spec.instanceId, spec.userData);
      return driver.start(spec);
    },
  };
};

const spec = specFor;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Events in order, and a way to wait for one. */
function recorder() {
  const seen: { id: string; event: VmEvent; at: number }[] = [];
  const sink: VmEventSink = (id, event) => seen.push({ id, event, at: Date.now() });
  const next = async (id: string, kind: VmEvent['kind'], timeoutMs: number, from = 0): Promise<VmEvent & { at: number }> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = seen.slice(from).find((e) => e.id === id && e.event.kind === kind);
      if (hit) return { ...hit.event, at: hit.at };
      if (Date.now() > deadline) {
        throw new Error(`no '${kind}' for ${id} within ${timeoutMs} ms; saw ${JSON.stringify(seen.filter((e) => e.id === id).map((e) => e.event))}`);
      }
      await sleep(25);
    }
  };
  return { seen, sink, next };
}

async function consoleShows(driver: VmDriver, id: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = (await driver.consoleOutput(id)) ?? '';
    if (pattern.test(out)) return out;
    if (Date.now() > deadline) assert.fail(`console of ${id} never showed ${pattern}; it had:\n${out}`);
    await sleep(100);
  }
}

describe('qemu driver', { skip: unavailable }, () => {
  driverContract('qemu', makeDriver, { bootTimeoutMs: BOOT_TIMEOUT_MS });

  test('real nested virtualization, a guest power-off, an adopted QEMU whose public address moves in place, then killed with SIGKILL (2 VMs at once)', async (t) => {
    const first = recorder();
    const d1 = createQemuDriver(first.sink, driverOptions());
    const second = recorder();
    let d2: ReturnType<typeof createQemuDriver> | undefined;
    // A: nested virtualization on; l2-smoke runs an L2 guest through /dev/kvm inside the L1 VM
    const a = spec({ nestedVirtualization: true });
    userDataOf.set(a.instanceId, '#!/bin/sh\nl2-smoke');
    // B: off; l2-smoke cannot, and then the guest powers itself off
    const b = spec({ nestedVirtualization: false });
    userDataOf.set(b.instanceId, '#!/bin/sh\nl2-smoke\npoweroff');
    try {
      await d1.start(a);
      await d1.start(b);
      const [bootedA, bootedB] = await Promise.all([
        first.next(a.instanceId, 'booted', BOOT_TIMEOUT_MS),
        first.next(b.instanceId, 'booted', BOOT_TIMEOUT_MS),
      ]);
      // the runtime info tells what each VM really got
      assert.ok(bootedA.kind === 'booted' && bootedB.kind === 'booted');
      const ra = bootedA.runtime ?? {};
      const rb = bootedB.runtime ?? {};
      assert.ok(ra.accel === 'tcg' || ra.accel === 'kvm', `accel ${ra.accel}`);
      assert.equal(ra.cpuModel, ra.accel === 'kvm' ? 'host' : 'EPYC');
      assert.equal(rb.cpuModel, rb.accel === 'kvm' ? 'host,-vmx,-svm' : 'EPYC,-svm');
      assert.equal(ra.vcpus, '1');
      assert.equal(ra.requestedVcpus, '2');
      assert.equal(ra.memoryMiB, '512');
      assert.match(ra.scaling ?? '', /vCPUs 2 .*-> 1/);
      assert.ok(Number(ra.bootMs) > 0);

      const outA = await consoleShows(d1, a.instanceId, /L2 (OK|FAIL)/, BOOT_TIMEOUT_MS);
      assert.match(outA, /^L2 OK/m);
      assert.match(outA, /\/dev\/kvm is present/);

      // B: the specific failure — the L1 CPU has no svm, kvm_amd refuses, there is no /dev/kvm
      const outB = await consoleShows(d1, b.instanceId, /L2 (OK|FAIL)/, BOOT_TIMEOUT_MS);
      assert.match(outB, /^L2 FAIL: no \/dev\/kvm/m);
      assert.match(outB, /virtualization extension: none/);
      assert.match(outB, /no \/dev\/kvm \(nested virtualization is not available/);
      // ... and B powered itself off: QEMU exits on its own (ACPI power-off), a halt nobody asked for
      const { at: _haltedAt, ...haltedB } = await first.next(b.instanceId, 'halted', BOOT_TIMEOUT_MS);
      assert.deepEqual(haltedB, { kind: 'halted', requested: false });

      // A survives a nestbox restart: a new driver adopts it ...
      await d1.close();
      d2 = createQemuDriver(second.sink, { ...driverOptions(), canBindLowPorts: false });
      assert.equal(await d2.adopt(a), true);
      // ... and changes its public forwards in place (it was started without a public address): the
      // guest's sshd answers on a new address at once, and on the next one instead of it
      const withAddress = (s: VmSpec, publicIp: string): HostNetwork => ({
        vms: new Map([[s.instanceId, { network: { ...s.network, publicIp }, securityGroupIds: [] }]]),
        groups: new Map(),
      });
      const [oldIp, newIp] = [1, 2].map((n) => `127.251.${randomInt(256)}.${n}`) as [string, string];
      await d2.applyNetwork(withAddress(a, oldIp));
      t.diagnostic(`SSH on ${oldIp}:10022 after ${await firstLineWithin(oldIp, 10022, /^SSH-2\.0-/, 2000)} ms`);
      await d2.applyNetwork(withAddress(a, newIp));
      t.diagnostic(`SSH on ${newIp}:10022 after ${await firstLineWithin(newIp, 10022, /^SSH-2\.0-/, 2000)} ms`);
      assert.equal(await firstLine(oldIp, 10022), 'refused', 'the old address is forwarded no more');
      // ... and notices at once when its QEMU is killed behind its back
      const pid = Number(ra.pid);
      assert.ok(pid > 1);
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      const crashed = await second.next(a.instanceId, 'crashed', 5000);
      assert.ok(crashed.kind === 'crashed');
      assert.ok(crashed.at - killedAt < 5000, `crashed after ${crashed.at - killedAt} ms`);
      assert.match(crashed.detail, /QEMU/);
      assert.deepEqual(first.seen.filter((e) => e.id === a.instanceId).map((e) => e.event.kind), ['booted']);
    } finally {
      const janitor = d2 ?? createQemuDriver(() => undefined, driverOptions());
      await janitor.destroy(a.instanceId).catch(() => undefined);
      await janitor.destroy(b.instanceId).catch(() => undefined);
      await janitor.close();
      await d1.close();
    }
  });

  test('the image is rebuilt only when its inputs change: an up-to-date image is reused as it is', async () => {
    const st = await imageStatus(imageDataDir);
    if (st.upToDate !== true) {
      // apt knows newer packages (or cannot be asked): a build would rebuild, which this test does not do
      assert.ok(st.problem !== undefined || st.inputs?.hash !== image?.hash);
      return;
    }
    const again = await buildImage({ dataDir: imageDataDir });
    assert.equal(again.hash, image?.hash);
    assert.equal(again.manifest.builtAt, image?.manifest.builtAt, 'the image was built again');
  });

  test("a QEMU that exits with an error before booting reports 'launch-failed'", async () => {
    const r = recorder();
    const broken = { ...(image as ImageInfo), vmlinux: join(vmsDir, 'no-such-vmlinux') };
    const d = createQemuDriver(r.sink, { ...driverOptions(), image: broken });
    const s = spec();
    try {
      await d.start(s);
      const failed = await r.next(s.instanceId, 'launch-failed', 10_000);
      assert.ok(failed.kind === 'launch-failed');
      assert.match(failed.detail, /no-such-vmlinux/);
    } finally {
      await d.destroy(s.instanceId);
      await d.close();
    }
  });
});

describe('qemu driver with a stand-in QEMU (no VM needed): admission, root disks, wiring', () => {
  // a small raw file as the image's root filesystem: qemu-img only reads its size
  const rootfs = join(vmsDir, 'stand-in-rootfs.raw');
  writeFileSync(rootfs, Buffer.alloc(1024 * 1024));
  const fakeImage = {
    hash: '0000000000000000',
    dir: join(vmsDir, 'images', '0000000000000000'),
    variant: 'base',
    vmlinux: '/nonexistent/vmlinux',
    initramfs: '/nonexistent/initramfs.cpio',
    rootfs,
    rootfsSizeGiB: 1,
    manifest: { kernel: { package: 'linux-image', version: '0', release: '0' } },
  } as unknown as ImageInfo;
  // a stand-in for QEMU that records its arguments and stays up until it is killed
  const fakeQemu = join(vmsDir, 'qemu-system-standin');
  writeFileSync(
    fakeQemu,
    '#!/bin/sh\n[ "$1" = --version ] && echo "QEMU emulator version 0 (stand-in)" && exit 0\nprintf "%s\\n" "$@" > args.txt\nexec sleep 60\n',
    { mode: 0o755 },
  );
  const driver = (o: Partial<QemuDriverOptions>) =>
    createQemuDriver(() => undefined, { dataDir: vmsDir, image: fakeImage, qemu: fakeQemu, accel: 'tcg', imds, ...o });
  const argsOf = (id: string) =>
    eventually(async () => {
      try {
        return readFileSync(join(vmsDir, 'vms', id, 'args.txt'), 'utf8').split('\n');
      } catch {
        return undefined;
      }
    }, 5000, 'the stand-in QEMU');
  const volumeFile = (volumeId: string) => join(vmsDir, 'volumes', `${volumeId}.qcow2`);
  /** qemu-img's view of a disk: its virtual size and backing file */
  const diskInfo = (file: string) =>
    JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '-U', file], { encoding: 'utf8' })) as {
      'virtual-size': number;
      'backing-filename'?: string;
      format: string;
    };

  const isCapacityError = (err: unknown) => err instanceof Ec2Error && err.code === 'InsufficientInstanceCapacity';

  test('admit() refuses what does not fit the memory budget, with InsufficientInstanceCapacity', async () => {
    const d = driver({ memoryBudgetMiB: 700, maxMemoryMiB: 256 });
    // each VM costs 256 MiB of guest memory + 64 MiB of QEMU overhead: two fit in 700 MiB, three do not
    assert.doesNotThrow(() => d.admit([spec(), spec()]));
    assert.throws(() => d.admit([spec(), spec(), spec()]), (err: unknown) => isCapacityError(err) && /budget is 700 MiB/.test((err as Error).message));
    assert.deepEqual(d.capacity(), { vms: 0, reservedMiB: 0, budgetMiB: 700, maxVms: undefined });
    await d.close();
  });

  test('admit() counts VMs already started; start() refuses too when the host is full', async () => {
    const d = driver({ memoryBudgetMiB: 10_000, maxVms: 1 });
    const s = spec();
    await d.start(s); // the reservation counts from start()
    assert.equal(d.capacity().vms, 1);
    assert.throws(() => d.admit([spec()]), isCapacityError);
    await assert.rejects(d.start(spec()), isCapacityError);
    await d.destroy(s.instanceId);
    assert.doesNotThrow(() => d.admit([spec()]));
    await d.close();
  });

  test('sweep() after a restart: a QEMU no running instance accounts for is stopped; files and disks of unknown instances go', async () => {
    const d = driver({});
    const vms = join(vmsDir, 'vms');
    const [unknown, stopped, running] = ['i-00000000000000001', 'i-00000000000000002', 'i-00000000000000003'];
    for (const id of [unknown, stopped, running]) mkdirSync(join(vms, id), { recursive: true });
    mkdirSync(join(vmsDir, 'volumes'), { recursive: true });
    for (const id of [unknown, stopped]) writeFileSync(volumeFile(`vol-${id.slice(2)}`), '');
    // a QEMU left running for an instance recorded as stopped (found by its pid file and working directory)
    const left = spawn('bash', ['-c', 'exec -a qemu-system-x86_64 sleep 60'], { cwd: join(vms, stopped), stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => left.once('exit', (_code, signal) => r(signal)));
    writeFileSync(join(vms, stopped, 'pid'), `${left.pid}\n`);
    await new Promise((r) => setTimeout(r, 100)); // until bash has exec'd
    await d.sweep(new Set([running]), new Set([stopped, running]));
    assert.equal(await exited, 'SIGKILL');
    assert.equal(existsSync(join(vms, unknown)), false, 'an instance nestbox does not know leaves nothing behind');
    assert.equal(existsSync(volumeFile(`vol-${unknown.slice(2)}`)), false, 'nor a disk');
    assert.equal(existsSync(join(vms, stopped)), true, 'a stopped instance keeps its files (its console output)');
    assert.equal(existsSync(volumeFile(`vol-${stopped.slice(2)}`)), true, 'and its root disk');
    assert.equal(existsSync(join(vms, running)), true);
    await d.close();
  });

  test('start(): the root volume is a qcow2 overlay over the image, made once, kept across starts, deleted with the instance', async () => {
    const d = driver({});
    const s = spec({ rootVolume: { volumeId: 'vol-0aaaaaaaaaaaaaaa1', sizeGiB: 9, deleteOnTermination: true } });
    try {
      await d.start(s);
      await argsOf(s.instanceId);
      const info = diskInfo(volumeFile('vol-0aaaaaaaaaaaaaaa1'));
      assert.equal(info.format, 'qcow2');
      assert.equal(info['virtual-size'], 9 * 1024 ** 3, 'sized from the volume');
      assert.equal(info['backing-filename'], rootfs);
      // a second boot keeps the disk (and what was written to it)
      writeFileSync(join(vmsDir, 'marker'), '');
      const before = readFileSync(volumeFile('vol-0aaaaaaaaaaaaaaa1'));
      await d.stop(s.instanceId, { force: true });
      await d.start(s);
      await argsOf(s.instanceId);
      assert.deepEqual(readFileSync(volumeFile('vol-0aaaaaaaaaaaaaaa1')), before);
    } finally {
      await d.destroy(s.instanceId);
      await d.close();
    }
    assert.equal(existsSync(volumeFile('vol-0aaaaaaaaaaaaaaa1')), false, 'terminate deletes the disk');
  });

  test('destroy() keeps a root disk whose volume outlives the instance, deleteVolume() removes it', async () => {
    const d = driver({});
    const s = spec({ rootVolume: { volumeId: 'vol-0aaaaaaaaaaaaaaa2', sizeGiB: 1, deleteOnTermination: false } });
    try {
      await d.start(s);
      await argsOf(s.instanceId);
    } finally {
      await d.destroy(s.instanceId);
    }
    assert.equal(existsSync(volumeFile('vol-0aaaaaaaaaaaaaaa2')), true);
    await d.deleteVolume('vol-0aaaaaaaaaaaaaaa2');
    assert.equal(existsSync(volumeFile('vol-0aaaaaaaaaaaaaaa2')), false);
    await d.close();
  });

  test('start(): the disk, the ENI (MAC, DHCP address in its subnet), the public ports and this instance\'s metadata socket', async () => {
    const d = driver({ canBindLowPorts: false });
    const s = spec({
      network: {
        eniId: 'eni-0123456789abcdef0',
        mac: '0e:12:34:56:78:9a',
        privateIp: '172.31.16.20',
        subnetCidr: '172.31.16.0/20',
        privateDnsName: 'ip-172-31-16-20.ec2.internal',
        publicIp: '127.77.0.9',
        openTcpPorts: [22, 8080],
      },
    });
    try {
      await d.start(s);
      const args = await argsOf(s.instanceId);
      const after = (flag: string) => args.filter((_, i) => args[i - 1] === flag);
      assert.ok(after('-drive')[0]?.startsWith(`file=${volumeFile(s.rootVolume.volumeId)},`));
      assert.deepEqual(after('-device'), ['virtio-blk-device,drive=root', 'virtio-net-device,netdev=n0,mac=0e:12:34:56:78:9a']);
      const netdev = (after('-netdev')[0] ?? '').split(',');
      assert.ok(netdev.includes('net=172.31.16.0/20'));
      assert.ok(netdev.includes('host=172.31.16.1'));
      assert.ok(netdev.includes('dhcpstart=172.31.16.20'));
      assert.ok(netdev.includes('restrict=on'));
      assert.ok(netdev.includes('hostname=ip-172-31-16-20'));
      // without the right to bind low ports, 22 comes from a high port; 8080 as it is
      assert.ok(netdev.includes('hostfwd=tcp:127.77.0.9:10022-172.31.16.20:22'));
      assert.ok(netdev.includes('hostfwd=tcp:127.77.0.9:8080-172.31.16.20:8080'));
      assert.ok(imds.open_.has(s.instanceId), 'the metadata service is open while the VM runs');
      const guestfwd = netdev.find((p) => p.startsWith('guestfwd='));
      assert.match(guestfwd ?? '', new RegExp(`^guestfwd=tcp:172\\.31\\.16\\.3:80-cmd:socat - ABSTRACT-CONNECT:nestbox-test-imds/[0-9a-f]+/${s.instanceId}/\\.+$`));
      assert.match(after('-append')[0] ?? '', /\broot=\/dev\/vda rw\b.*\bnestbox\.imds=172\.31\.16\.3\b/);
      assert.doesNotMatch(after('-append')[0] ?? '', /\bquiet\b/, 'the console shows the whole boot log');
    } finally {
      await d.destroy(s.instanceId);
      await d.close();
    }
    assert.equal(imds.open_.has(s.instanceId), false, 'and closed when it is gone');
  });

  test('an instance of an image variant that is not built fails to launch, saying how to build it', async () => {
    const events: { id: string; kind: string; detail?: string }[] = [];
    const d = createQemuDriver((id, e) => events.push({ id, kind: e.kind, ...('detail' in e ? { detail: e.detail } : {}) }), {
      dataDir: vmsDir,
      image: fakeImage,
      qemu: fakeQemu,
      accel: 'tcg',
      imds,
    });
    const s = spec({ imageVariant: 'cloud-init' });
    try {
      await d.start(s);
      const failed = await eventually(async () => events.find((e) => e.id === s.instanceId && e.kind === 'launch-failed'), 5000, 'launch-failed');
      assert.match(failed.detail ?? '', /nestbox images build --variant cloud-init/);
    } finally {
      await d.destroy(s.instanceId);
      await d.close();
    }
  });

  test('admit() refuses architectures this host cannot run', async () => {
    const d = driver({});
    assert.throws(() => d.admit([spec({ architecture: 'arm64', instanceType: 'c8g.large' })]), (err: unknown) => isCapacityError(err) && /c8g\.large/.test((err as Error).message));
    await d.close();
  });
});
