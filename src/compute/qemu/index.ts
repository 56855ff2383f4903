/**
 * The qemu driver's entry points for the composition root and the CLI:
 *   qemuAvailability(dataDir)  → can `--driver auto` use QEMU here (binary + built image), and why not
 *   createQemuDriver(events, opts)
 *   imagesCommand(argv, io)    → `nestbox images build|status`
 */
import { resolve } from 'node:path';
import { type ImageInfo, buildImage, findImage, imageStatus } from './image.js';
import { findQemu, kvmDeviceProblem, probeAccel, qemuVersion } from './probe.js';

export { type QemuDriver, type QemuDriverOptions, createQemuDriver } from './driver.js';
export { type ImageInfo, buildImage, findImage, imageStatus } from './image.js';

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

export const IMAGES_USAGE = `Usage: nestbox images build [--force] [--data-dir DIR]
       nestbox images status [--data-dir DIR]

  build    builds the built-in Linux image from Debian packages (kernel, busybox-static, the kvm
           modules, l2-smoke) into DIR/images/<hash>/, unless one from the same inputs exists;
           then probes whether QEMU can use KVM here (else VMs run under TCG)
  status   shows the image in DIR/images and whether it is up to date`;

/** `nestbox images …`; resolves with the process exit code. */
export async function imagesCommand(argv: readonly string[], io: ImagesCommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  let dataDir = io.dataDir;
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === '--force' && sub === 'build') force = true;
    else if (a === '--data-dir' && rest[i + 1]) dataDir = resolve(rest[++i] as string);
    else if (a.startsWith('--data-dir=')) dataDir = resolve(a.slice('--data-dir='.length));
    else {
      io.err(`nestbox images: unknown option '${a}'\n\n${IMAGES_USAGE}`);
      return 2;
    }
  }
  if (dataDir === ':memory:') {
    io.err('nestbox images: the data dir is :memory:; pass --data-dir DIR');
    return 2;
  }
  switch (sub) {
    case 'build': {
      let image: ImageInfo;
      try {
        image = await buildImage({ dataDir, log: io.out, force });
      } catch (err) {
        io.err(`nestbox images build: ${(err as Error).message}`);
        return 1;
      }
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
      const st = await imageStatus(dataDir);
      if (!st.image) io.out(`no image in ${resolve(dataDir, 'images')}`);
      else {
        const m = st.image.manifest;
        io.out(`image ${st.image.hash} (${st.image.dir})`);
        io.out(`  built ${m.builtAt}: kernel ${m.kernel.package} ${m.kernel.version}, busybox-static ${m.busybox.version}, ${m.compiler}`);
      }
      if (st.upToDate === true) io.out('  up to date');
      else if (st.upToDate === false && !st.image) io.out(`  the current inputs make image ${st.inputs?.hash} (run: nestbox images build)`);
      else if (st.upToDate === false) io.out(`  out of date: the current inputs make image ${st.inputs?.hash} (run: nestbox images build)`);
      else io.out(`  cannot tell whether it is up to date: ${st.problem}`);
      const qemu = findQemu();
      io.out(qemu ? `QEMU: ${qemu} (${await qemuVersion(qemu)})` : 'QEMU: not installed (apt-get install qemu-system-x86)');
      return st.image ? 0 : 1;
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
