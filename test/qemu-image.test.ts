/**
 * The built-in image's bookkeeping (src/compute/qemu/image.ts) without building one: finding complete
 * images by variant, which images root volumes still use (qcow2 backing files), which older images a
 * build removes, the initramfs's module order, and the guest scripts' syntax. Building and booting the
 * images is the real-VM tests' business (qemu-driver, qemu-e2e).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { which } from '../src/compute/qemu/exec.js';
import {
  type ImageInfo,
  type ImageManifest,
  type ImageVariant,
  findImage,
  imageSourceDir,
  imagesInUse,
  listImages,
  qcow2BackingFile,
  removeOlderImages,
  rootDiskModules,
} from '../src/compute/qemu/image.js';

const scratch = mkdtempSync(join(tmpdir(), 'nestbox-image-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
/** A complete (format 2) image directory with small stand-in files. */
function fakeImage(dataDir: string, variant: ImageVariant, builtAt: string): string {
  const hash = (n++).toString(16).padStart(16, '0');
  const dir = join(dataDir, 'images', hash);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vmlinux'), 'kernel');
  writeFileSync(join(dir, 'initramfs.cpio'), 'cpio');
  writeFileSync(join(dir, 'rootfs.raw'), 'ext4');
  const manifest: ImageManifest = {
    format: 2,
    hash,
    variant,
    builtAt,
    buildSeconds: 1,
    suite: 'bookworm',
    kernel: { package: 'linux-image-6.1.0-57-amd64', version: '6.1.192-3', release: '6.1.0-57-amd64' },
    packages: {},
    installedPackages: 1,
    compiler: 'gcc',
    mmdebstrap: 'mmdebstrap 1.3.5',
    rootfs: { sizeGiB: 8, label: 'nestbox-root', allocatedBytes: 4096 },
    files: {
      vmlinux: { bytes: 6, sha256: '' },
      initramfs: { bytes: 4, sha256: '' },
      rootfs: { bytes: 4, sha256: '' },
    },
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return hash;
}

/** A qcow2 header naming `backing` (what `qemu-img create -b` writes, minus everything else). */
function fakeQcow2(file: string, backing: string | undefined): void {
  const head = Buffer.alloc(512);
  head.write('QFI\xfb', 0, 'latin1');
  head.writeUInt32BE(3, 4);
  if (backing) {
    head.writeBigUInt64BE(BigInt(256), 8);
    head.writeUInt32BE(Buffer.byteLength(backing), 16);
    head.write(backing, 256);
  }
  writeFileSync(file, head);
}

describe('finding built images', () => {
  const dataDir = join(scratch, 'find');
  const oldBase = fakeImage(dataDir, 'base', '2026-01-01T00:00:00.000Z');
  const newBase = fakeImage(dataDir, 'base', '2026-02-01T00:00:00.000Z');
  const cloudInit = fakeImage(dataDir, 'cloud-init', '2026-01-15T00:00:00.000Z');
  // incomplete: no manifest; and one from before the disk image (format 1)
  mkdirSync(join(dataDir, 'images', 'ffffffffffffffff'));
  mkdirSync(join(dataDir, 'images', 'eeeeeeeeeeeeeeee'));
  writeFileSync(join(dataDir, 'images', 'eeeeeeeeeeeeeeee', 'manifest.json'), JSON.stringify({ format: 1, hash: 'eeeeeeeeeeeeeeee' }));

  test('the newest complete image of the variant asked for (base by default)', () => {
    assert.equal(findImage(dataDir)?.hash, newBase);
    assert.equal(findImage(dataDir, 'cloud-init')?.hash, cloudInit);
    assert.deepEqual(
      listImages(dataDir).map((i) => i.hash),
      [newBase, cloudInit, oldBase],
    );
  });

  test('an image exposes absolute paths, its variant, the root file system size and the kernel release', () => {
    const image = findImage(dataDir, 'cloud-init') as ImageInfo;
    assert.equal(image.variant, 'cloud-init');
    assert.equal(image.rootfs, join(dataDir, 'images', cloudInit, 'rootfs.raw'));
    assert.ok(image.rootfs.startsWith('/'));
    assert.equal(image.rootfsSizeGiB, 8);
    assert.equal(image.kernelRelease, '6.1.0-57-amd64');
  });

  test('a file whose size differs from the manifest makes the image incomplete', () => {
    writeFileSync(join(dataDir, 'images', newBase, 'rootfs.raw'), 'truncated?');
    assert.equal(findImage(dataDir)?.hash, oldBase);
  });

  test('no images directory: nothing found', () => {
    assert.equal(findImage(join(scratch, 'nothing-here')), undefined);
  });
});

describe('root volumes keep the image they are made from', () => {
  test('the backing file named in a qcow2 header', () => {
    const file = join(scratch, 'overlay.qcow2');
    fakeQcow2(file, '/data/images/0123456789abcdef/rootfs.raw');
    assert.equal(qcow2BackingFile(file), '/data/images/0123456789abcdef/rootfs.raw');
    fakeQcow2(file, undefined);
    assert.equal(qcow2BackingFile(file), undefined);
    writeFileSync(file, 'not a qcow2 file');
    assert.equal(qcow2BackingFile(file), undefined);
  });

  test('what qemu-img writes reads back', { skip: which('qemu-img') ? false : 'qemu-img is not installed' }, () => {
    const base = join(scratch, 'base.raw');
    writeFileSync(base, Buffer.alloc(1024 * 1024));
    const overlay = join(scratch, 'real.qcow2');
    const r = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base, overlay, '2G']);
    assert.equal(r.status, 0, r.stderr?.toString());
    assert.equal(qcow2BackingFile(overlay), base);
  });

  test('a build removes older images of its variant, except those a volume uses; other variants stay', () => {
    const dataDir = join(scratch, 'prune');
    const oldest = fakeImage(dataDir, 'base', '2026-01-01T00:00:00.000Z');
    const used = fakeImage(dataDir, 'base', '2026-01-02T00:00:00.000Z');
    const current = fakeImage(dataDir, 'base', '2026-01-03T00:00:00.000Z');
    const cloudInit = fakeImage(dataDir, 'cloud-init', '2026-01-01T00:00:00.000Z');
    const legacy = join(dataDir, 'images', 'dddddddddddddddd');
    mkdirSync(legacy);
    writeFileSync(join(legacy, 'manifest.json'), JSON.stringify({ format: 1 }));
    mkdirSync(join(dataDir, 'volumes'));
    fakeQcow2(join(dataDir, 'volumes', 'vol-1.qcow2'), join(dataDir, 'images', used, 'rootfs.raw'));
    assert.deepEqual([...imagesInUse(dataDir)], [join(dataDir, 'images', used)]);

    const lines: string[] = [];
    removeOlderImages(dataDir, findImage(dataDir) as ImageInfo, (l) => lines.push(l));
    const left = readdirSync(join(dataDir, 'images')).sort();
    assert.deepEqual(left, [cloudInit, current, used].sort());
    assert.ok(!existsSync(join(dataDir, 'images', oldest)));
    assert.ok(lines.some((l) => l.includes(`kept the older image ${used}`)), lines.join('\n'));

    // once the volume is gone, so is the image
    rmSync(join(dataDir, 'volumes', 'vol-1.qcow2'));
    removeOlderImages(dataDir, findImage(dataDir) as ImageInfo, () => undefined);
    assert.deepEqual(readdirSync(join(dataDir, 'images')).sort(), [cloudInit, current].sort());
  });
});

describe("the initramfs's modules", () => {
  test('dependencies and soft dependencies (through aliases) come first, each module once', () => {
    const dir = join(scratch, 'modules');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'modules.dep'),
      [
        'kernel/drivers/virtio/virtio_ring.ko:',
        'kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko',
        'kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
        'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
        'kernel/lib/crc16.ko:',
        'kernel/fs/mbcache.ko:',
        'kernel/fs/jbd2/jbd2.ko:',
        'kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko',
        'kernel/arch/x86/crypto/crc32c-intel.ko:',
        'kernel/crypto/crc32c_generic.ko:',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'modules.softdep'), 'softdep ext4 pre: crypto-crc32c\nsoftdep jbd2 pre: crypto-crc32c\n');
    writeFileSync(
      join(dir, 'modules.alias'),
      'alias crypto-crc32c crc32c_intel\nalias crypto-crc32c crc32c_generic\nalias crc32c crc32c_generic\n',
    );
    writeFileSync(join(dir, 'modules.builtin'), '');
    const order = rootDiskModules(dir);
    assert.deepEqual(
      order.map((m) => `${m.optional ? '?' : ''}${m.name}`),
      ['virtio_ring', 'virtio', 'virtio_mmio', 'virtio_blk', '?crc32c_intel', '?crc32c_generic', 'crc16', 'mbcache', 'jbd2', 'ext4'],
    );
    assert.equal(order[3]?.path, join(dir, 'kernel/drivers/block/virtio_blk.ko'));
    assert.throws(() => rootDiskModules(dir, ['nvme']), /no module nvme/);
  });
});

describe('the guest scripts', () => {
  const src = imageSourceDir();
  const scripts = readdirSync(src).filter((f) => f.endsWith('.sh'));
  test('are all there', () => {
    for (const f of ['rc.sh', 'initramfs-init.sh', 'udhcpc.sh', 'l2-linux.sh', 'l2-init.sh', 'mmdebstrap-hook.sh']) {
      assert.ok(scripts.includes(f), `images/${f}`);
    }
    assert.ok(existsSync(join(src, 'l2-smoke.c')));
    assert.ok(existsSync(join(src, 'cloud-init.cfg')));
  });
  for (const f of scripts) {
    test(`${f} parses (sh -n)`, () => {
      const r = spawnSync('sh', ['-n', join(src, f)]);
      assert.equal(r.status, 0, r.stderr.toString());
    });
  }
});
