/**
 * The qemu driver's entry points for the composition root and the CLI:
 *   qemuAvailability(dataDir)  → can `--driver auto` use QEMU here (binary + built image), and why not
 *   createQemuDriver(events, opts)
 *   imagesCommand(argv, io)    → `nestbox images build|status`
 */
import { resolve } from 'node:path';
import { IMAGE_VARIANTS, type ImageInfo, type ImageVariant, buildImage, findImage, imageStatus, isImageVariant } from './image.js';
import { findQemu, kvmDeviceProblem, probeAccel, qemuVersion } from './probe.js';

export { type QemuDriver, type QemuDriverOptions, createQemuDriver } from './driver.js';
export { IMAGE_VARIANTS, type ImageInfo, type ImageVariant, buildImage, findImage, imageStatus } from './image.js';

export type QemuAvailability =
  | { readonly available: true; readonly qemu: string; readonly image: ImageInfo }
  | { readonly available: false; readonly reason: string };

/** Synchronous and cheap: QEMU on PATH (or $NESTBOX_QEMU) and a complete image under <dataDir>/images. */
export function qemuAvailability(dataDir: string, env: NodeJS.ProcessEnv = process.env): QemuAvailability {
  if (dataDir === ':memory:') return { available: false, reason: 'the data dir is :memory: (no place for images and VMs)' };
  const qemu = findQemu(env);
  if (!qemu) return { available: false, reason: 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)' };
  const image = findImage(dataDir);
  if (!image) return { available: false, reason: `no built-in image in ${resolve(dataDir, 'images')} (run: nestbox images build)` };
  return { available: true, qemu, image };
}

export interface ImagesCommandIo {
  /** the data dir from the configuration (--data-dir here overrides it) */
  readonly dataDir: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const IMAGES_USAGE = `Usage: nestbox images build [--variant base|cloud-init|all] [--force] [--data-dir DIR]
       nestbox images status [--variant base|cloud-init|all] [--data-dir DIR]

  build    builds the built-in Debian 12 disk image (default: the base variant; cloud-init adds
           Debian's cloud-init) from Debian packages with mmdebstrap and this host's apt sources
           into DIR/images/<hash>/ (vmlinux, initramfs.cpio, rootfs.raw), unless one from the same
           inputs exists; then probes whether QEMU can use KVM here (else VMs run under TCG).
           Needs root, mmdebstrap, e2fsprogs, gcc and libc6-dev, xz-utils; a few minutes.
  status   shows the images in DIR/images (default: every variant) and whether they are up to date`;

/** `nestbox images …`; resolves with the process exit code. */
export async function imagesCommand(argv: readonly string[], io: ImagesCommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  let dataDir = io.dataDir;
  let force = false;
  let variantArg: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === '--force' && sub === 'build') force = true;
    else if (a === '--data-dir' && rest[i + 1]) dataDir = resolve(rest[++i] as string);
    else if (a.startsWith('--data-dir=')) dataDir = resolve(a.slice('--data-dir='.length));
    else if (a === '--variant' && rest[i + 1]) variantArg = rest[++i] as string;
    else if (a.startsWith('--variant=')) variantArg = a.slice('--variant='.length);
    else {
      io.err(`nestbox images: unknown option '${a}'\n\n${IMAGES_USAGE}`);
      return 2;
    }
  }
  if (variantArg !== undefined && variantArg !== 'all' && !isImageVariant(variantArg)) {
    io.err(`nestbox images: unknown variant '${variantArg}' (${[...IMAGE_VARIANTS, 'all'].join(', ')})`);
    return 2;
  }
  if (dataDir === ':memory:') {
    io.err('nestbox images: the data dir is :memory:; pass --data-dir DIR');
    return 2;
  }
  const variants: readonly ImageVariant[] =
    variantArg === 'all' ? IMAGE_VARIANTS : variantArg !== undefined ? [variantArg as ImageVariant] : sub === 'status' ? IMAGE_VARIANTS : ['base'];
  switch (sub) {
    case 'build': {
      let image: ImageInfo | undefined;
      for (const variant of variants) {
        try {
          // built one after the other: the second reuses the first one's downloads
          const built = await buildImage({ dataDir, log: io.out, force, variant });
          image ??= built;
        } catch (err) {
          io.err(`nestbox images build: ${(err as Error).message}`);
          return 1;
        }
      }
      if (!image) return 1;
      const qemu = findQemu();
      if (!qemu) {
        io.out('qemu-system-x86_64 is not installed: `--driver auto` will use the simulated driver (apt-get install qemu-system-x86)');
        return 0;
      }
      const device = kvmDeviceProblem();
      if (device === undefined) io.out('checking whether QEMU can use KVM here (a test boot of up to 10 s, once per host boot) …');
      const choice = await probeAccel({ qemu, image, cacheFile: resolve(image.dir, '..', 'kvm-probe.json') });
      io.out(`VMs will run under ${choice.accel.toUpperCase()}: ${choice.reason} (QEMU ${await qemuVersion(qemu)})`);
      return 0;
    }
    case 'status': {
      // the exit status: whether the variants asked for (by default, the base image) are built
      const required: readonly ImageVariant[] = variantArg === undefined ? ['base'] : variants;
      let missing = false;
      for (const variant of variants) {
        const st = await imageStatus(dataDir, variant);
        if (!st.image) {
          missing ||= required.includes(variant);
          io.out(`${variant}: no image in ${resolve(dataDir, 'images')}`);
        } else {
          const m = st.image.manifest;
          io.out(`${variant}: image ${st.image.hash} (${st.image.dir})`);
          io.out(
            `  built ${m.builtAt} in ${m.buildSeconds} s: Debian ${m.suite}, kernel ${m.kernel.package} ${m.kernel.version}, ` +
              `${m.installedPackages} packages, root file system ${m.rootfs.sizeGiB} GiB (${(m.rootfs.allocatedBytes / 1048576).toFixed(0)} MiB used)`,
          );
        }
        if (st.upToDate === true) io.out('  up to date');
        else if (st.upToDate === false && !st.image) io.out(`  the current inputs make image ${st.inputs?.hash} (run: nestbox images build --variant ${variant})`);
        else if (st.upToDate === false) io.out(`  out of date: the current inputs make image ${st.inputs?.hash} (run: nestbox images build --variant ${variant})`);
        else io.out(`  cannot tell whether it is up to date: ${st.problem}`);
      }
      const qemu = findQemu();
      io.out(qemu ? `QEMU: ${qemu} (${await qemuVersion(qemu)})` : 'QEMU: not installed (apt-get install qemu-system-x86)');
      return missing ? 1 : 0;
    }
    case undefined:
    case 'help':
    case '--help':
      io.out(IMAGES_USAGE);
      return sub === undefined ? 2 : 0;
    default:
      io.err(`nestbox images: unknown command '${sub}'\n\n${IMAGES_USAGE}`);
      return 2;
  }
}
