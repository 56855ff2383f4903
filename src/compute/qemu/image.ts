/**
 * The built-in Linux image, built on the user's machine from Debian packages:
 *   - the kernel (linux-image-amd64's current dependency, e.g. linux-image-6.1.0-56-amd64): its bzImage is
 *     unpacked to the uncompressed `vmlinux`, which QEMU's microvm boots directly through the PVH entry
 *     (no in-guest decompression: under TCG that alone takes seconds), plus the modules KVM needs
 *     (irqbypass, ccp, kvm, kvm-amd, kvm-intel) and the ACPI power button (button, evdev);
 *   - busybox-static, for a shell, init and the usual tools;
 *   - `l2-smoke` (images/l2-smoke.c, compiled here with gcc -static), which runs an L2 guest through /dev/kvm;
 *   - the init script (images/init.sh).
 * The result is <dataDir>/images/<hash>/{vmlinux,initramfs.cpio,manifest.json}, where <hash> covers the
 * package versions, the compiler, both source files and this recipe: an image is rebuilt only when one
 * of them changes. manifest.json is written last, so a directory with one is complete.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CpioEntry, cpioArchive } from './cpio.js';
import { pipeline2, run, which } from './exec.js';

/** Bump when the recipe below changes in a way the hashed inputs do not show. */
const RECIPE_VERSION = 1;

/** Kernel modules, by path under lib/modules/<release>/kernel/, in a load order that satisfies their dependencies. */
export const IMAGE_MODULES: readonly string[] = [
  'virt/lib/irqbypass.ko',
  'drivers/crypto/ccp/ccp.ko',
  'arch/x86/kvm/kvm.ko',
  'arch/x86/kvm/kvm-amd.ko',
  'arch/x86/kvm/kvm-intel.ko',
  'drivers/acpi/button.ko',
  'drivers/input/evdev.ko',
];

const INITTAB = [
  '::sysinit:/etc/nestbox/rc sysinit',
  '::once:/etc/nestbox/rc user-data',
  '::ctrlaltdel:/bin/reboot',
  '::shutdown:/etc/nestbox/rc shutdown',
  '',
].join('\n');

export interface ImageManifest {
  readonly format: 1;
  readonly hash: string;
  readonly builtAt: string;
  readonly kernel: { readonly package: string; readonly version: string; readonly release: string };
  readonly busybox: { readonly package: string; readonly version: string };
  readonly compiler: string;
  readonly files: Readonly<Record<'vmlinux' | 'initramfs', { readonly bytes: number; readonly sha256: string }>>;
}

export interface ImageInfo {
  readonly hash: string;
  readonly dir: string;
  /** the uncompressed kernel, booted through its PVH entry */
  readonly vmlinux: string;
  /** the uncompressed initramfs (newc cpio) */
  readonly initramfs: string;
  readonly manifest: ImageManifest;
}

/** What the image is built from; its hash names the image. */
export interface ImageInputs {
  readonly kernelPackage: string;
  readonly kernelVersion: string;
  readonly busyboxVersion: string;
  readonly compiler: string;
  readonly initScript: string;
  readonly l2SmokeSource: string;
  readonly hash: string;
}

export type Log = (line: string) => void;

export const imagesRoot = (dataDir: string) => join(dataDir, 'images');

/** images/ in the source tree (init.sh, l2-smoke.c), found from this module's location (src/ or dist/). */
export function imageSourceDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'images', 'init.sh')) && existsSync(join(dir, 'images', 'l2-smoke.c'))) return join(dir, 'images');
    dir = dirname(dir);
  }
  throw new Error('cannot find the image sources (images/init.sh, images/l2-smoke.c) next to nestbox');
}

function readImage(imageDir: string): ImageInfo | undefined {
  // absolute: QEMU runs in the instance directory
  const dir = resolve(imageDir);
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
    const info: ImageInfo = {
      hash: manifest.hash,
      dir,
      vmlinux: join(dir, 'vmlinux'),
      initramfs: join(dir, 'initramfs.cpio'),
      manifest,
    };
    if (manifest.format !== 1) return undefined;
    if (statSync(info.vmlinux).size !== manifest.files.vmlinux.bytes) return undefined;
    if (statSync(info.initramfs).size !== manifest.files.initramfs.bytes) return undefined;
    return info;
  } catch {
    return undefined;
  }
}

/** The newest complete image under <dataDir>/images, or undefined. Synchronous and cheap (no apt). */
export function findImage(dataDir: string): ImageInfo | undefined {
  const root = imagesRoot(dataDir);
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => /^[0-9a-f]{16}$/.test(n));
  } catch {
    return undefined;
  }
  const images = names.map((n) => readImage(join(root, n))).filter((i): i is ImageInfo => i !== undefined);
  images.sort((a, b) => b.manifest.builtAt.localeCompare(a.manifest.builtAt));
  return images[0];
}

/** apt's output is parsed: untranslated, please */
const C_LOCALE = { ...process.env, LC_ALL: 'C' };

async function candidateVersion(pkg: string): Promise<string> {
  const { stdout } = await run('apt-cache', ['policy', pkg], { env: C_LOCALE });
  const m = /^\s*Candidate:\s*(\S+)/m.exec(stdout);
  if (!m || m[1] === '(none)') {
    throw new Error(`apt knows no installable version of ${pkg} (run 'apt-get update' first)`);
  }
  return m[1] as string;
}

/** linux-image-amd64 is a metapackage: the kernel is the linux-image-<release>-amd64 it depends on. */
async function kernelPackage(): Promise<string> {
  const { stdout } = await run('apt-cache', ['depends', 'linux-image-amd64'], { env: C_LOCALE });
  const m = /Depends:\s*(linux-image-[0-9][^\s<>]*-amd64)\b/.exec(stdout);
  if (!m) throw new Error("cannot tell which kernel linux-image-amd64 depends on (run 'apt-get update' first)");
  return m[1] as string;
}

/** Resolves what an image built now would be made of (asks apt; no downloads). */
export async function resolveImageInputs(): Promise<ImageInputs> {
  for (const tool of ['apt-cache', 'apt-get', 'dpkg-deb', 'tar', 'xz', 'gcc']) {
    if (!which(tool)) {
      throw new Error(
        `building the image needs ${tool}, which is not installed${tool === 'xz' ? ' (apt-get install xz-utils)' : tool === 'gcc' ? ' (apt-get install gcc libc6-dev)' : ''}`,
      );
    }
  }
  const src = imageSourceDir();
  const initScript = readFileSync(join(src, 'init.sh'), 'utf8');
  const l2SmokeSource = readFileSync(join(src, 'l2-smoke.c'), 'utf8');
  const kpkg = await kernelPackage();
  const [kernelVersion, busyboxVersion, compiler] = await Promise.all([
    candidateVersion(kpkg),
    candidateVersion('busybox-static'),
    run('gcc', ['--version']).then((r) => r.stdout.split('\n')[0] ?? 'gcc'),
  ]);
  const hash = createHash('sha256')
    .update(
      JSON.stringify({
        recipe: RECIPE_VERSION,
        modules: IMAGE_MODULES,
        inittab: INITTAB,
        kpkg,
        kernelVersion,
        busyboxVersion,
        compiler,
        initScript,
        l2SmokeSource,
      }),
    )
    .digest('hex')
    .slice(0, 16);
  return { kernelPackage: kpkg, kernelVersion, busyboxVersion, compiler, initScript, l2SmokeSource, hash };
}

export interface ImageStatus {
  /** the newest complete image, if any */
  readonly image: ImageInfo | undefined;
  /** true when that image was built from the current inputs; undefined when they could not be resolved */
  readonly upToDate: boolean | undefined;
  /** the inputs an image built now would use */
  readonly inputs?: ImageInputs;
  /** why the inputs could not be resolved */
  readonly problem?: string;
}

export async function imageStatus(dataDir: string): Promise<ImageStatus> {
  const image = findImage(dataDir);
  try {
    const inputs = await resolveImageInputs();
    const current = readImage(join(imagesRoot(dataDir), inputs.hash));
    return { image: current ?? image, upToDate: current !== undefined, inputs };
  } catch (err) {
    return { image, upToDate: undefined, problem: (err as Error).message };
  }
}

export interface BuildImageOptions {
  readonly dataDir: string;
  readonly log?: Log;
  /** rebuild even when an image from the same inputs exists */
  readonly force?: boolean;
}

/** Builds the image (or finds it already built from the same inputs) and returns it. */
export async function buildImage(opts: BuildImageOptions): Promise<ImageInfo> {
  const log: Log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const step = (line: string) => log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);
  step('resolving the image inputs (apt-cache)');
  const inputs = await resolveImageInputs();
  step(`kernel ${inputs.kernelPackage} ${inputs.kernelVersion}, busybox-static ${inputs.busyboxVersion}, ${inputs.compiler}`);
  const root = imagesRoot(opts.dataDir);
  const finalDir = join(root, inputs.hash);
  const existing = readImage(finalDir);
  if (existing && !opts.force) {
    step(`image ${inputs.hash} is up to date (${finalDir})`);
    return existing;
  }

  const work = join(root, `.build-${inputs.hash}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'out'), { recursive: true });
  try {
    step(`downloading ${inputs.kernelPackage} and busybox-static (apt-get download)`);
    const sandbox = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
    await run('apt-get', ['-q', ...sandbox, 'download', `${inputs.kernelPackage}=${inputs.kernelVersion}`, `busybox-static=${inputs.busyboxVersion}`], {
      cwd: work,
    });
    const debs = readdirSync(work).filter((n) => n.endsWith('.deb'));
    const kernelDeb = debs.find((n) => n.startsWith(`${inputs.kernelPackage}_`));
    const busyboxDeb = debs.find((n) => n.startsWith('busybox-static_'));
    if (!kernelDeb || !busyboxDeb) throw new Error(`apt-get download left ${debs.join(', ') || 'nothing'}`);

    step(`unpacking the kernel and ${IMAGE_MODULES.length} modules from ${kernelDeb}`);
    const kdir = join(work, 'kernel');
    mkdirSync(kdir);
    await pipeline2(
      { cmd: 'dpkg-deb', args: ['--fsys-tarfile', join(work, kernelDeb)] },
      {
        cmd: 'tar',
        args: ['-x', '-C', kdir, '--wildcards', './boot/vmlinuz-*', ...IMAGE_MODULES.map((m) => `./lib/modules/*/kernel/${m}`)],
      },
    );
    const vmlinuzName = readdirSync(join(kdir, 'boot')).find((n) => n.startsWith('vmlinuz-'));
    if (!vmlinuzName) throw new Error(`${kernelDeb} has no /boot/vmlinuz-*`);
    const release = vmlinuzName.slice('vmlinuz-'.length);
    const modDir = join(kdir, 'lib', 'modules', release, 'kernel');

    step(`extracting the uncompressed kernel (vmlinux) from ${vmlinuzName}`);
    const vmlinux = await extractVmlinux(join(kdir, 'boot', vmlinuzName), work);
    checkPvhNote(vmlinux);
    writeFileSync(join(work, 'out', 'vmlinux'), vmlinux);

    step(`unpacking busybox from ${busyboxDeb}`);
    const bdir = join(work, 'busybox');
    mkdirSync(bdir);
    await pipeline2({ cmd: 'dpkg-deb', args: ['--fsys-tarfile', join(work, busyboxDeb)] }, { cmd: 'tar', args: ['-x', '-C', bdir, './bin/busybox'] });
    const busybox = join(bdir, 'bin', 'busybox');
    const applets = (await run(busybox, ['--list'])).stdout.split('\n').filter((a) => /^[A-Za-z0-9_.[\-]+$/.test(a) && a !== 'busybox');

    step('compiling l2-smoke (gcc -static -O2)');
    const l2 = join(work, 'l2-smoke');
    await run('gcc', ['-static', '-O2', '-s', '-Wall', '-o', l2, join(imageSourceDir(), 'l2-smoke.c')]);

    step('writing the initramfs');
    const entries: CpioEntry[] = [];
    for (const d of ['bin', 'dev', 'etc', 'etc/nestbox', 'lib', 'lib/modules', 'nestbox', 'proc', 'root', 'run', 'sys', 'tmp', 'usr']) {
      entries.push({ kind: 'dir', path: d, mode: d === 'tmp' ? 0o1777 : d === 'root' ? 0o700 : 0o755 });
    }
    entries.push(
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
      { kind: 'file', path: 'bin/busybox', data: readFileSync(busybox), mode: 0o755 },
      ...applets.map((a): CpioEntry => ({ kind: 'symlink', path: `bin/${a}`, target: 'busybox' })),
      { kind: 'symlink', path: 'sbin', target: 'bin' },
      { kind: 'symlink', path: 'usr/bin', target: '../bin' },
      { kind: 'symlink', path: 'usr/sbin', target: '../bin' },
      // busybox init as PID 1: the kernel runs /init, and busybox picks the applet from the name's basename
      { kind: 'symlink', path: 'init', target: 'bin/busybox' },
      { kind: 'file', path: 'bin/l2-smoke', data: readFileSync(l2), mode: 0o755 },
      { kind: 'file', path: 'etc/nestbox/rc', data: inputs.initScript, mode: 0o755 },
      { kind: 'file', path: 'etc/inittab', data: INITTAB },
      { kind: 'file', path: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' },
      { kind: 'file', path: 'etc/group', data: 'root:x:0:\n' },
      {
        kind: 'file',
        path: 'etc/os-release',
        data: `NAME="nestbox built-in image"\nID=nestbox\nVERSION_ID="${inputs.hash}"\nPRETTY_NAME="nestbox built-in image (${release})"\n`,
      },
      ...IMAGE_MODULES.map((m): CpioEntry => ({
        kind: 'file',
        path: `lib/modules/${m.split('/').pop() as string}`,
        data: readFileSync(join(modDir, m)),
      })),
    );
    const initramfs = cpioArchive(entries);
    writeFileSync(join(work, 'out', 'initramfs.cpio'), initramfs);

    const manifest: ImageManifest = {
      format: 1,
      hash: inputs.hash,
      builtAt: new Date().toISOString(),
      kernel: { package: inputs.kernelPackage, version: inputs.kernelVersion, release },
      busybox: { package: 'busybox-static', version: inputs.busyboxVersion },
      compiler: inputs.compiler,
      files: {
        vmlinux: { bytes: vmlinux.length, sha256: createHash('sha256').update(vmlinux).digest('hex') },
        initramfs: { bytes: initramfs.length, sha256: createHash('sha256').update(initramfs).digest('hex') },
      },
    };
    writeFileSync(join(work, 'out', 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(finalDir, { recursive: true, force: true });
    renameSync(join(work, 'out'), finalDir);
    step(
      `image ${inputs.hash} ready: vmlinux ${mib(vmlinux.length)}, initramfs ${mib(initramfs.length)} (${applets.length} busybox applets) in ${finalDir}`,
    );
    const image = readImage(finalDir);
    if (!image) throw new Error(`the image in ${finalDir} does not read back`);
    // Older images go: a running QEMU holds its kernel and initramfs in memory, not on disk.
    for (const old of readdirSync(root).filter((n) => /^[0-9a-f]{16}$/.test(n) && n !== inputs.hash)) {
      rmSync(join(root, old), { recursive: true, force: true });
      step(`removed the older image ${old}`);
    }
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/**
 * The kernel inside a bzImage: the setup header (boot protocol ≥ 2.08) gives the compressed payload's
 * offset and length; the payload ends with the uncompressed size (4 bytes, little-endian).
 */
async function extractVmlinux(vmlinuzPath: string, work: string): Promise<Buffer> {
  const bz = readFileSync(vmlinuzPath);
  if (bz.toString('latin1', 0x202, 0x206) !== 'HdrS' || bz.readUInt16LE(0x206) < 0x208) {
    throw new Error(`${vmlinuzPath} is not a bzImage with boot protocol 2.08 or later`);
  }
  const setupSects = bz[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + bz.readUInt32LE(0x248);
  const length = bz.readUInt32LE(0x24c);
  const payload = bz.subarray(start, start + length);
  const expected = payload.readUInt32LE(payload.length - 4);
  const stream = payload.subarray(0, payload.length - 4);
  let out: Buffer;
  if (stream.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    const file = join(work, 'payload.xz');
    writeFileSync(file, stream);
    await run('xz', ['-d', '-k', '-f', file]);
    out = readFileSync(join(work, 'payload'));
    rmSync(join(work, 'payload'));
  } else if (stream[0] === 0x1f && stream[1] === 0x8b) {
    const { gunzipSync } = await import('node:zlib');
    out = gunzipSync(stream);
  } else if (stream.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) {
    const file = join(work, 'payload.zst');
    writeFileSync(file, stream);
    await run('zstd', ['-d', '-q', '-f', file, '-o', join(work, 'payload')]);
    out = readFileSync(join(work, 'payload'));
  } else {
    throw new Error(`${vmlinuzPath}: unsupported kernel compression (magic ${stream.subarray(0, 6).toString('hex')})`);
  }
  if (out.length !== expected) throw new Error(`vmlinux is ${out.length} bytes, the bzImage says ${expected}`);
  if (out.readUInt32BE(0) !== 0x7f454c46) throw new Error('the unpacked kernel is not an ELF file');
  return out;
}

/** QEMU boots an ELF kernel only through its PVH entry point (Xen ELF note 18, XEN_ELFNOTE_PHYS32_ENTRY). */
function checkPvhNote(elf: Buffer): void {
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error('vmlinux is not a little-endian 64-bit ELF file');
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    let off = Number(elf.readBigUInt64LE(ph + 8));
    const end = off + Number(elf.readBigUInt64LE(ph + 32));
    while (off + 12 <= end) {
      const namesz = elf.readUInt32LE(off);
      const descsz = elf.readUInt32LE(off + 4);
      const type = elf.readUInt32LE(off + 8);
      const name = elf.toString('latin1', off + 12, off + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === 18) return;
      off += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  throw new Error('vmlinux has no PVH entry point (CONFIG_PVH): QEMU cannot boot it directly');
}
