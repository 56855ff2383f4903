/**
 * The built-in Linux images: real Debian 12 (bookworm) disk images, built on the user's machine from
 * Debian packages only, with mmdebstrap and this host's apt sources.
 *
 * An image is <dataDir>/images/<hash>/ with
 *   - `vmlinux`: the Debian kernel (linux-image-amd64's current dependency) unpacked from its bzImage;
 *     QEMU's microvm boots it directly through the PVH entry (no in-guest decompression: under TCG that
 *     alone takes seconds);
 *   - `initramfs.cpio`: a tiny uncompressed initramfs (busybox-static, the modules the root disk needs,
 *     images/initramfs-init.sh) that mounts /dev/vda and switches to its /sbin/init;
 *   - `rootfs.raw`: the root file system, ext4 made with `mke2fs -d` from the mmdebstrap tree, 8 GiB
 *     sparse (the AMI's root volume). Instances never write to it: each root volume is a qcow2 overlay
 *     with this file as its backing file, so an image is kept while any volume uses it;
 *   - `manifest.json`, written last: a directory with one is complete.
 * The tree is Debian minbase plus the kernel's modules (hardware a VM never has pruned), sshd, sudo,
 * curl, iproute2, nftables, busybox-static (PID 1 is busybox init running images/rc.sh: no systemd,
 * under emulation every process counts), QEMU for L2 guests, `l2-smoke` (images/l2-smoke.c, compiled
 * here with gcc -static) and `l2-linux` (images/l2-linux.sh, which boots the image's own kernel as an L2
 * guest), and the user `admin` with passwordless sudo, as on Debian's AMIs. images/mmdebstrap-hook.sh
 * does the Debian side of it. The `cloud-init` variant adds Debian's cloud-init, configured for the EC2
 * datasource (images/cloud-init.cfg).
 *
 * <hash> covers this recipe, the variant, the package list, apt's candidate versions of those packages
 * (the kernel's included), every file under images/, the host's apt sources and the compiler: an image
 * is rebuilt only when one of them changes. Downloads are shared between builds (<dataDir>/images/.apt-archives).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ROOT_VOLUME } from '../../domain/images.js';
import { type CpioEntry, cpioArchive } from './cpio.js';
import { run, which } from './exec.js';

/** Bump when the recipe below changes in a way the hashed inputs do not show. */
const RECIPE_VERSION = 2;

const SUITE = 'bookworm';

export const IMAGE_VARIANTS = ['base', 'cloud-init'] as const;
export type ImageVariant = (typeof IMAGE_VARIANTS)[number];
export const isImageVariant = (v: string): v is ImageVariant => (IMAGE_VARIANTS as readonly string[]).includes(v);

/**
 * What every image installs on top of Debian minbase. tiny-initramfs stands in for initramfs-tools
 * (the kernel package needs one of them): nestbox boots its own initramfs, and initramfs-tools would
 * bring udev and build an initrd nobody uses.
 */
export const BASE_PACKAGES: readonly string[] = [
  'linux-image-amd64',
  'tiny-initramfs',
  'openssh-server',
  'sudo',
  'curl',
  'iproute2',
  'kmod',
  'nftables',
  'e2fsprogs',
  'procps',
  'busybox-static',
  'qemu-system-x86',
];

const VARIANT_PACKAGES: Readonly<Record<ImageVariant, readonly string[]>> = {
  base: [],
  'cloud-init': ['cloud-init'],
};

export const imagePackages = (variant: ImageVariant): readonly string[] => [...BASE_PACKAGES, ...VARIANT_PACKAGES[variant]];

/** The root file system's size: the AMI's root volume. Disks made from it may be bigger (the guest grows it). */
export const ROOTFS_SIZE_GIB: number = ROOT_VOLUME.linux.sizeGiB;

/** What the initramfs loads (with their dependencies) to mount the root disk. */
const ROOT_DISK_MODULES = ['virtio_mmio', 'virtio_blk', 'ext4'];

/** Documentation, manual pages and translations: nobody reads them on a VM, and they cost build time. */
const DPKG_EXCLUDES = ['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/locale/*', '/usr/share/info/*'];

export interface FileFacts {
  readonly bytes: number;
  readonly sha256: string;
}

export interface ImageManifest {
  readonly format: 2;
  readonly hash: string;
  readonly variant: ImageVariant;
  readonly builtAt: string;
  readonly buildSeconds: number;
  readonly suite: string;
  readonly kernel: { readonly package: string; readonly version: string; readonly release: string };
  /** installed versions of the listed packages (the image's dpkg database) */
  readonly packages: Readonly<Record<string, string>>;
  /** how many packages the image has in all */
  readonly installedPackages: number;
  readonly compiler: string;
  readonly mmdebstrap: string;
  readonly rootfs: {
    readonly sizeGiB: number;
    readonly label: string;
    /** what the files take: the rest of the 8 GiB is a hole */
    readonly allocatedBytes: number;
  };
  /** rootfs: its size and the sha256 of its first MiB (superblock and group descriptors), not of 8 GiB */
  readonly files: Readonly<Record<'vmlinux' | 'initramfs' | 'rootfs', FileFacts>>;
}

export interface ImageInfo {
  readonly hash: string;
  readonly dir: string;
  readonly variant: ImageVariant;
  /** the uncompressed kernel, booted through its PVH entry */
  readonly vmlinux: string;
  /** the uncompressed initramfs (newc cpio) that mounts the root disk */
  readonly initramfs: string;
  /** the root file system (raw ext4, sparse): the backing file of every root volume made from the image */
  readonly rootfs: string;
  readonly rootfsSizeGiB: number;
  readonly kernelRelease: string;
  readonly manifest: ImageManifest;
}

/** What an image is built from; its hash names the image. */
export interface ImageInputs {
  readonly variant: ImageVariant;
  readonly suite: string;
  readonly packages: readonly string[];
  readonly kernelPackage: string;
  readonly kernelVersion: string;
  /** apt's candidate version of each listed package (and of the kernel package) */
  readonly versions: Readonly<Record<string, string>>;
  /** the apt source files the image is built from (they become its own sources) */
  readonly aptSources: readonly string[];
  readonly compiler: string;
  readonly mmdebstrap: string;
  /** images/<file> → sha256 */
  readonly sourceFiles: Readonly<Record<string, string>>;
  readonly hash: string;
}

export type Log = (line: string) => void;

export const imagesRoot = (dataDir: string) => join(dataDir, 'images');
const APT_CACHE = '.apt-archives';
const HASH_DIR = /^[0-9a-f]{16}$/;

/** images/ in the source tree, found from this module's location (src/ or dist/). */
export function imageSourceDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'images', 'rc.sh')) && existsSync(join(dir, 'images', 'mmdebstrap-hook.sh'))) return join(dir, 'images');
    dir = dirname(dir);
  }
  throw new Error('cannot find the image sources (images/rc.sh, images/mmdebstrap-hook.sh) next to nestbox');
}

function readImage(imageDir: string): ImageInfo | undefined {
  // absolute: QEMU runs in the instance directory, and qcow2 overlays name their backing file
  const dir = resolve(imageDir);
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
    if (manifest.format !== 2 || !isImageVariant(manifest.variant)) return undefined;
    const info: ImageInfo = {
      hash: manifest.hash,
      dir,
      variant: manifest.variant,
      vmlinux: join(dir, 'vmlinux'),
      initramfs: join(dir, 'initramfs.cpio'),
      rootfs: join(dir, 'rootfs.raw'),
      rootfsSizeGiB: manifest.rootfs.sizeGiB,
      kernelRelease: manifest.kernel.release,
      manifest,
    };
    if (statSync(info.vmlinux).size !== manifest.files.vmlinux.bytes) return undefined;
    if (statSync(info.initramfs).size !== manifest.files.initramfs.bytes) return undefined;
    if (statSync(info.rootfs).size !== manifest.files.rootfs.bytes) return undefined;
    return info;
  } catch {
    return undefined;
  }
}

/** The complete images under <dataDir>/images, newest first. */
export function listImages(dataDir: string): ImageInfo[] {
  let names: string[];
  try {
    names = readdirSync(imagesRoot(dataDir)).filter((n) => HASH_DIR.test(n));
  } catch {
    return [];
  }
  const images = names.map((n) => readImage(join(imagesRoot(dataDir), n))).filter((i): i is ImageInfo => i !== undefined);
  return images.sort((a, b) => b.manifest.builtAt.localeCompare(a.manifest.builtAt));
}

/** The newest complete image of a variant under <dataDir>/images, or undefined. Synchronous and cheap (no apt). */
export function findImage(dataDir: string, variant: ImageVariant = 'base'): ImageInfo | undefined {
  return listImages(dataDir).find((i) => i.variant === variant);
}

/** apt's output is parsed: untranslated, please */
const C_LOCALE = { ...process.env, LC_ALL: 'C' };

/** apt's candidate version of each package, from one `apt-cache policy` run. */
async function candidateVersions(pkgs: readonly string[]): Promise<Record<string, string>> {
  const { stdout } = await run('apt-cache', ['policy', ...pkgs], { env: C_LOCALE });
  const versions: Record<string, string> = {};
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head) current = head[1];
    const cand = /^\s+Candidate:\s*(\S+)/.exec(line);
    if (cand && current && cand[1] !== '(none)') versions[current] = cand[1] as string;
  }
  const missing = pkgs.filter((p) => versions[p] === undefined);
  if (missing.length > 0) {
    throw new Error(`apt knows no installable version of ${missing.join(', ')} (run 'apt-get update' first)`);
  }
  return versions;
}

/** linux-image-amd64 is a metapackage: the kernel is the linux-image-<release>-amd64 it depends on. */
async function kernelPackage(): Promise<string> {
  const { stdout } = await run('apt-cache', ['depends', 'linux-image-amd64'], { env: C_LOCALE });
  const m = /Depends:\s*(linux-image-[0-9][^\s<>]*-amd64)\b/.exec(stdout);
  if (!m) throw new Error("cannot tell which kernel linux-image-amd64 depends on (run 'apt-get update' first)");
  return m[1] as string;
}

/**
 * The host's Debian apt sources, which become the image's: Debian's own files only (a third-party
 * repository in sources.list.d would need its keys inside the image, and is not Debian's to build from).
 */
function hostAptSources(): string[] {
  let codename = '';
  try {
    codename = /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.trim() ?? '';
  } catch {
    // not Debian: the check below says so
  }
  if (codename !== SUITE) {
    throw new Error(
      `nestbox builds its Debian 12 (${SUITE}) image with this host's apt sources and versions, so it must be built on Debian 12 (this host: ${codename || 'unknown'})`,
    );
  }
  const files = ['/etc/apt/sources.list', '/etc/apt/sources.list.d/debian.sources'].filter((f) => {
    try {
      return /^\s*(deb\s|Types:)/m.test(readFileSync(f, 'utf8'));
    } catch {
      return false;
    }
  });
  if (files.length === 0) throw new Error('no Debian apt sources on this host (/etc/apt/sources.list or /etc/apt/sources.list.d/debian.sources)');
  return files;
}

const TOOLS: readonly (readonly [string, string])[] = [
  ['mmdebstrap', 'apt-get install mmdebstrap'],
  ['mke2fs', 'apt-get install e2fsprogs'],
  ['gcc', 'apt-get install gcc libc6-dev'],
  ['xz', 'apt-get install xz-utils'],
  ['apt-cache', 'Debian apt'],
  ['chroot', 'coreutils'],
];

/** Resolves what an image of `variant` built now would be made of (asks apt; no downloads). */
export async function resolveImageInputs(variant: ImageVariant = 'base'): Promise<ImageInputs> {
  const missing = TOOLS.filter(([tool]) => !which(tool));
  if (missing.length > 0) {
    throw new Error(`building the image needs ${missing.map(([t, how]) => `${t} (${how})`).join(', ')}`);
  }
  const aptSources = hostAptSources();
  const src = imageSourceDir();
  const sourceFiles: Record<string, string> = {};
  for (const name of readdirSync(src).sort()) {
    const file = join(src, name);
    if (statSync(file).isFile()) sourceFiles[name] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  const packages = imagePackages(variant);
  const kpkg = await kernelPackage();
  const [versions, compiler, mmdebstrap] = await Promise.all([
    candidateVersions([...packages, kpkg]),
    run('gcc', ['--version']).then((r) => r.stdout.split('\n')[0] ?? 'gcc'),
    run('mmdebstrap', ['--version']).then((r) => (r.stdout || r.stderr).trim()),
  ]);
  const hash = createHash('sha256')
    .update(
      JSON.stringify({
        recipe: RECIPE_VERSION,
        variant,
        suite: SUITE,
        packages,
        kernelPackage: kpkg,
        versions,
        dpkgExcludes: DPKG_EXCLUDES,
        rootfsSizeGiB: ROOTFS_SIZE_GIB,
        rootDiskModules: ROOT_DISK_MODULES,
        aptSources: aptSources.map((f) => [f, readFileSync(f, 'utf8')]),
        compiler,
        mmdebstrap,
        sourceFiles,
      }),
    )
    .digest('hex')
    .slice(0, 16);
  return {
    variant,
    suite: SUITE,
    packages,
    kernelPackage: kpkg,
    kernelVersion: versions[kpkg] as string,
    versions,
    aptSources,
    compiler,
    mmdebstrap,
    sourceFiles,
    hash,
  };
}

export interface ImageStatus {
  readonly variant: ImageVariant;
  /** the newest complete image of the variant, if any */
  readonly image: ImageInfo | undefined;
  /** true when that image was built from the current inputs; undefined when they could not be resolved */
  readonly upToDate: boolean | undefined;
  /** the inputs an image built now would use */
  readonly inputs?: ImageInputs;
  /** why the inputs could not be resolved */
  readonly problem?: string;
}

export async function imageStatus(dataDir: string, variant: ImageVariant = 'base'): Promise<ImageStatus> {
  const image = findImage(dataDir, variant);
  try {
    const inputs = await resolveImageInputs(variant);
    const current = readImage(join(imagesRoot(dataDir), inputs.hash));
    return { variant, image: current ?? image, upToDate: current !== undefined, inputs };
  } catch (err) {
    return { variant, image, upToDate: undefined, problem: (err as Error).message };
  }
}

export interface BuildImageOptions {
  readonly dataDir: string;
  readonly log?: Log;
  /** rebuild even when an image from the same inputs exists */
  readonly force?: boolean;
  /** default `base` */
  readonly variant?: ImageVariant;
}

/** Builds the image of a variant (or finds it already built from the same inputs) and returns it. */
export async function buildImage(opts: BuildImageOptions): Promise<ImageInfo> {
  const variant = opts.variant ?? 'base';
  const log: Log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const step = (line: string) => log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);
  step(`${variant} image: resolving its inputs (apt-cache)`);
  const inputs = await resolveImageInputs(variant);
  step(`Debian ${SUITE}, kernel ${inputs.kernelPackage} ${inputs.kernelVersion}, ${inputs.packages.length} packages (${inputs.packages.join(', ')}), ${inputs.compiler}`);
  const root = imagesRoot(opts.dataDir);
  const finalDir = join(root, inputs.hash);
  const existing = readImage(finalDir);
  if (existing && !opts.force) {
    step(`${variant} image ${inputs.hash} is up to date (${finalDir})`);
    return existing;
  }
  if (existing && imagesInUse(opts.dataDir).has(existing.dir)) {
    // a new rootfs.raw under the same name would corrupt every qcow2 overlay made over the old one
    throw new Error(
      `image ${inputs.hash} cannot be rebuilt in place: root volumes in ${join(opts.dataDir, 'volumes')} are qcow2 overlays over its rootfs.raw (terminate those instances first)`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error('building the image needs root: mmdebstrap installs the packages in a chroot (--mode=root) and the files must belong to root');
  }

  mkdirSync(root, { recursive: true });
  removeAbandonedBuilds(root, step);
  const work = resolve(root, `.build-${inputs.hash}-${process.pid}`);
  const tree = join(work, 'tree');
  const out = join(work, 'out');
  mkdirSync(out, { recursive: true });
  try {
    step('compiling l2-smoke (gcc -static -O2)');
    const l2Smoke = join(work, 'l2-smoke');
    const src = imageSourceDir();
    await run('gcc', ['-static', '-O2', '-s', '-Wall', '-o', l2Smoke, join(src, 'l2-smoke.c')]);

    step(`mmdebstrap --variant=minbase ${SUITE}: downloading and installing ${inputs.packages.length} packages and their dependencies`);
    const cache = join(root, APT_CACHE);
    const cacheOut = join(work, 'apt-archives');
    const hook = shellQuote(join(src, 'mmdebstrap-hook.sh'));
    // (mmdebstrap's special hooks split their arguments at blanks: no cache in a path with any)
    const cacheable = !/\s/.test(cache);
    const haveCache = cacheable && existsSync(cache) && readdirSync(cache).some((n) => n.endsWith('.deb'));
    await streamCommand(
      'mmdebstrap',
      [
        '--variant=minbase',
        '--mode=root',
        '--format=directory',
        `--include=${inputs.packages.join(',')}`,
        ...DPKG_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
        // Downloads are kept for the next build (the other variant, a newer package): the archive
        // directory goes in before apt runs and comes out, minus what apt no longer offers, at the end.
        '--skip=essential/unlink',
        ...(haveCache ? ['--setup-hook=mkdir -p "$1/var/cache/apt/archives"', `--setup-hook=sync-in ${cache} /var/cache/apt/archives`] : []),
        `--essential-hook=sh ${hook} "$1"`,
        `--customize-hook=sh ${hook} "$1"`,
        ...(cacheable ? ['--customize-hook=chroot "$1" apt-get -qq autoclean', `--customize-hook=sync-out /var/cache/apt/archives ${cacheOut}`] : []),
        SUITE,
        tree,
        ...inputs.aptSources,
      ],
      {
        env: {
          ...process.env,
          NESTBOX_IMAGES: src,
          NESTBOX_VARIANT: variant,
          NESTBOX_L2_SMOKE: l2Smoke,
          NESTBOX_ROOTFS_SECTORS: String((ROOTFS_SIZE_GIB * 1024 * 1024 * 1024) / 512),
        },
        line: (l) => {
          if (l.startsWith('nestbox-image: ')) step(l.slice('nestbox-image: '.length));
          else if (/^[IWE]: /.test(l) && !l.startsWith('I: running special hook') && !/^I: running --\w+-hook/.test(l)) step(`mmdebstrap: ${l.slice(3)}`);
        },
      },
    );
    swapAptCache(cache, cacheOut);

    const release = readdirSync(join(tree, 'usr', 'lib', 'modules'))[0];
    if (!release || !existsSync(join(tree, 'boot', `vmlinuz-${release}`))) throw new Error(`the image has no kernel (/boot/vmlinuz-${release ?? '?'})`);
    step(`extracting the uncompressed kernel (vmlinux) from vmlinuz-${release}`);
    const vmlinux = await extractVmlinux(join(tree, 'boot', `vmlinuz-${release}`), work);
    checkPvhNote(vmlinux);
    writeFileSync(join(out, 'vmlinux'), vmlinux);

    const busybox = readFileSync(join(tree, 'usr', 'bin', 'busybox'));
    // Links for every applet: until /proc is mounted busybox cannot re-run itself (/proc/self/exe)
    // for an applet, and finds it only by name on PATH.
    const applets = (await run(join(tree, 'usr', 'bin', 'busybox'), ['--list'])).stdout
      .split('\n')
      .filter((a) => /^[A-Za-z0-9_.[\-]+$/.test(a) && a !== 'busybox')
      .map((a): CpioEntry => ({ kind: 'symlink', path: `bin/${a}`, target: 'busybox' }));
    step('the L2 guest for l2-linux: the same kernel, and an initramfs with busybox (/usr/share/nestbox/l2)');
    const l2Dir = join(tree, 'usr', 'share', 'nestbox', 'l2');
    mkdirSync(l2Dir, { recursive: true });
    copyFileSync(join(out, 'vmlinux'), join(l2Dir, 'vmlinux'));
    writeFileSync(
      join(l2Dir, 'initramfs.cpio'),
      cpioArchive([
        ...['bin', 'dev', 'proc'].map((d): CpioEntry => ({ kind: 'dir', path: d })),
        { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
        { kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
        ...applets,
        { kind: 'file', path: 'init', data: readFileSync(join(src, 'l2-init.sh')), mode: 0o755 },
      ]),
    );

    const modules = rootDiskModules(join(tree, 'usr', 'lib', 'modules', release));
    step(`writing the initramfs: busybox and ${modules.length} modules (${modules.map((m) => m.name).join(', ')})`);
    const initramfs = cpioArchive([
      ...['bin', 'dev', 'lib', 'lib/modules', 'newroot', 'proc', 'sys'].map((d): CpioEntry => ({ kind: 'dir', path: d })),
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
      { kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
      ...applets,
      { kind: 'file', path: 'init', data: readFileSync(join(src, 'initramfs-init.sh')), mode: 0o755 },
      ...modules.map((m): CpioEntry => ({ kind: 'file', path: `lib/modules/${basename(m.path)}`, data: readFileSync(m.path) })),
      {
        kind: 'file',
        path: 'lib/modules/load-order',
        data: modules.map((m) => `${m.optional ? '?' : ''}${basename(m.path)}\n`).join(''),
      },
    ]);
    writeFileSync(join(out, 'initramfs.cpio'), initramfs);

    const installed = dpkgStatus(tree);
    const packages: Record<string, string> = {};
    for (const p of [...inputs.packages, inputs.kernelPackage]) {
      const v = installed.get(p);
      if (v === undefined) throw new Error(`the image lacks the package ${p}`);
      packages[p] = v;
      if (v !== inputs.versions[p]) step(`note: ${p} ${v} was installed, apt on this host offers ${inputs.versions[p]} (run 'apt-get update')`);
    }

    const rootfs = join(out, 'rootfs.raw');
    step(`writing the root file system: ext4, ${ROOTFS_SIZE_GIB} GiB sparse (mke2fs -d)`);
    writeFileSync(rootfs, '');
    truncateSync(rootfs, ROOTFS_SIZE_GIB * 1024 ** 3);
    await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'nestbox-root', '-d', tree, rootfs]);
    const allocatedBytes = statSync(rootfs).blocks * 512;

    const manifest: ImageManifest = {
      format: 2,
      hash: inputs.hash,
      variant,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - t0) / 100) / 10,
      suite: SUITE,
      kernel: { package: inputs.kernelPackage, version: packages[inputs.kernelPackage] as string, release },
      packages,
      installedPackages: installed.size,
      compiler: inputs.compiler,
      mmdebstrap: inputs.mmdebstrap,
      rootfs: { sizeGiB: ROOTFS_SIZE_GIB, label: 'nestbox-root', allocatedBytes },
      files: {
        vmlinux: facts(vmlinux),
        initramfs: facts(initramfs),
        rootfs: { bytes: statSync(rootfs).size, sha256: sha256Head(rootfs, 1024 * 1024) },
      },
    };
    writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    removeTree(finalDir);
    renameSync(out, finalDir);
    step(
      `${variant} image ${inputs.hash} ready in ${finalDir}: vmlinux ${mib(vmlinux.length)}, initramfs ${mib(initramfs.length)}, ` +
        `rootfs.raw ${ROOTFS_SIZE_GIB} GiB (${mib(allocatedBytes)} used), ${installed.size} packages`,
    );
    const image = readImage(finalDir);
    if (!image) throw new Error(`the image in ${finalDir} does not read back`);
    removeOlderImages(opts.dataDir, image, step);
    return image;
  } finally {
    removeTree(work);
  }
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const facts = (data: Buffer): FileFacts => ({ bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });

function sha256Head(file: string, bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync(file, 'r');
  try {
    const n = readSync(fd, buf, 0, bytes, 0);
    return createHash('sha256').update(buf.subarray(0, n)).digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** POSIX shell single quotes (mmdebstrap runs a hook with metacharacters under sh). */
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a command, handing each line of its stdout and stderr to `line`; rejects with the last lines when it fails. */
function streamCommand(
  cmd: string,
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; line: (line: string) => void },
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const take = (l: string) => {
      tail.push(l);
      if (tail.length > 40) tail.shift();
      opts.line(l);
    };
    createInterface({ input: child.stdout }).on('line', take);
    createInterface({ input: child.stderr }).on('line', take);
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${cmd} failed (${signal ?? `exit ${code}`}):\n${tail.join('\n')}`));
    });
  });
}

/** The new archive directory replaces the old (best effort: a lost cache costs only downloads). */
function swapAptCache(cache: string, fresh: string): void {
  if (!existsSync(fresh)) return;
  try {
    rmSync(cache, { recursive: true, force: true });
    renameSync(fresh, cache);
  } catch {
    // another build swapped it meanwhile
  }
}

/** Package → version, from the tree's dpkg database (installed packages only). */
function dpkgStatus(tree: string): Map<string, string> {
  const versions = new Map<string, string>();
  for (const para of readFileSync(join(tree, 'var', 'lib', 'dpkg', 'status'), 'utf8').split(/\n\n+/)) {
    const pkg = /^Package: (.+)$/m.exec(para)?.[1];
    const version = /^Version: (.+)$/m.exec(para)?.[1];
    if (pkg && version && /^Status: .* installed$/m.test(para)) versions.set(pkg, version);
  }
  return versions;
}

export interface ModuleFile {
  readonly name: string;
  readonly path: string;
  /** a soft dependency that may not load on every CPU (e.g. crc32c-intel without SSE4.2) */
  readonly optional: boolean;
}

const moduleName = (file: string) => basename(file).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

/**
 * `roots` (by default what the initramfs needs for the root disk) and what they need, dependencies
 * first, from the kernel's modules.dep, modules.softdep (ext4 and jbd2 want crc32c, through the crypto
 * API) and modules.alias.
 */
export function rootDiskModules(moduleDir: string, roots: readonly string[] = ROOT_DISK_MODULES): ModuleFile[] {
  const read = (f: string) => {
    try {
      return readFileSync(join(moduleDir, f), 'utf8').split('\n');
    } catch {
      return [];
    }
  };
  const deps = new Map<string, { path: string; deps: string[] }>();
  for (const line of read('modules.dep')) {
    const [file, rest] = line.split(':');
    if (!file || rest === undefined) continue;
    deps.set(moduleName(file), { path: join(moduleDir, file), deps: rest.trim().split(/\s+/).filter(Boolean).map(moduleName) });
  }
  const softPre = new Map<string, string[]>();
  for (const line of read('modules.softdep')) {
    const m = /^softdep\s+(\S+)\s+pre:\s*([^:]*?)(\s+post:.*)?$/.exec(line);
    if (m) softPre.set((m[1] as string).replace(/-/g, '_'), (m[2] as string).split(/\s+/).filter(Boolean));
  }
  const aliases = new Map<string, string[]>();
  for (const line of read('modules.alias')) {
    const [, alias, mod] = line.split(/\s+/);
    if (alias && mod) aliases.set(alias, [...(aliases.get(alias) ?? []), mod]);
  }
  const order: ModuleFile[] = [];
  const seen = new Set<string>();
  const visit = (raw: string, optional: boolean) => {
    const name = raw.replace(/-/g, '_');
    if (seen.has(name)) return;
    const entry = deps.get(name);
    if (!entry) {
      // an alias (crypto-crc32c: crc32c-intel, crc32c_generic), or built into the kernel: nothing to load
      for (const m of aliases.get(raw) ?? aliases.get(name) ?? []) visit(m, true);
      return;
    }
    seen.add(name);
    for (const pre of softPre.get(name) ?? []) visit(pre, true);
    for (const d of entry.deps) visit(d, optional);
    order.push({ name, path: entry.path, optional });
  };
  const builtin = new Set(read('modules.builtin').map(moduleName));
  for (const m of roots) {
    if (!deps.has(m) && !builtin.has(m)) throw new Error(`the kernel has no module ${m} (modules.dep in ${moduleDir})`);
    visit(m, false);
  }
  return order;
}

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
function mountsUnder(dir: string): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * rm -rf that never crosses into a mount: a build killed in the middle leaves mmdebstrap's bind mounts
 * (/dev, /proc, /sys of this host) inside its tree, and deleting through them would delete the host's.
 */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  const abs = resolve(dir);
  for (const m of mountsUnder(abs)) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  const left = mountsUnder(abs);
  if (left.length > 0) throw new Error(`refusing to delete ${abs}: ${left.join(', ')} ${left.length === 1 ? 'is' : 'are'} still mounted there`);
  rmSync(abs, { recursive: true, force: true });
}

/** Build directories of builds whose process is gone (killed, crashed). */
function removeAbandonedBuilds(root: string, step: Log): void {
  for (const name of readdirSync(root)) {
    const m = /^\.build-[0-9a-f]{16}-(\d+)$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    removeTree(join(root, name));
    step(`removed ${name}, left by a build that did not finish`);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The backing file a qcow2 file names (header: u64 backing_file_offset at 8, u32 backing_file_size at 16), if any. */
export function qcow2BackingFile(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(20);
    if (readSync(fd, head, 0, 20, 0) < 20 || head.readUInt32BE(0) !== 0x514649fb) return undefined; // "QFI\xfb"
    const offset = Number(head.readBigUInt64BE(8));
    const size = head.readUInt32BE(16);
    if (offset === 0 || size === 0 || size > 4096) return undefined;
    const name = Buffer.alloc(size);
    readSync(fd, name, 0, size, offset);
    return resolve(dirname(file), name.toString('utf8'));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Image directories that some root volume (<dataDir>/volumes/*.qcow2) still has as its backing file. */
export function imagesInUse(dataDir: string): Set<string> {
  const used = new Set<string>();
  const volumes = join(dataDir, 'volumes');
  let names: string[] = [];
  try {
    names = readdirSync(volumes);
  } catch {
    return used;
  }
  for (const n of names) {
    if (!n.includes('.qcow2')) continue;
    const backing = qcow2BackingFile(join(volumes, n));
    if (backing) used.add(dirname(backing));
  }
  return used;
}

/**
 * After a build: older images of the same variant go (and leftovers from older nestbox versions),
 * except those a root volume still uses as its backing file. A running QEMU holds the kernel and
 * initramfs in memory; only the root file system must stay.
 */
export function removeOlderImages(dataDir: string, kept: ImageInfo, step: Log): void {
  const root = imagesRoot(dataDir);
  const inUse = imagesInUse(dataDir);
  for (const name of readdirSync(root).filter((n) => HASH_DIR.test(n) && n !== kept.hash)) {
    const dir = resolve(root, name);
    const other = readImage(dir);
    if (other && other.variant !== kept.variant) continue;
    if (inUse.has(dir)) {
      step(`kept the older image ${name}: root volumes use its rootfs.raw`);
      continue;
    }
    removeTree(dir);
    step(`removed the older image ${name}`);
  }
}

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
