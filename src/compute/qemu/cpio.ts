/**
 * A writer for the "newc" cpio format, the one the Linux kernel unpacks as an initramfs. Written here
 * rather than run through cpio(1) so that image builds need no cpio binary, are byte-for-byte
 * reproducible (fixed owners and times), and can make device nodes without privileges. image.ts builds
 * two with it: the initramfs that mounts an instance's root disk, and the L2 guest's that l2-linux boots.
 */

export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly path: string; readonly data: Uint8Array | string; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'chardev'; readonly path: string; readonly major: number; readonly minor: number; readonly mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(ino: number, mode: number, nlink: number, size: number, rdevMajor: number, rdevMinor: number, name: string): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const fields = [
    '070701',
    hex8(ino),
    hex8(mode),
    hex8(0), // uid
    hex8(0), // gid
    hex8(nlink),
    hex8(0), // mtime: fixed, for reproducible archives
    hex8(size),
    hex8(0), // dev major
    hex8(0), // dev minor
    hex8(rdevMajor),
    hex8(rdevMinor),
    hex8(nameBytes.length),
    hex8(0), // check
  ].join('');
  const head = Buffer.concat([Buffer.from(fields, 'ascii'), nameBytes]);
  return Buffer.concat([head, Buffer.alloc(pad4(head.length))]);
}

function normalize(path: string): string {
  const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '' || p.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`cpio: bad path '${path}'`);
  }
  return p;
}

/** One complete archive (with its trailer) holding `entries` in order; parents must come first. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const name = normalize(e.path);
    switch (e.kind) {
      case 'dir':
        parts.push(header(ino++, S_IFDIR | (e.mode ?? 0o755), 2, 0, 0, 0, name));
        break;
      case 'chardev':
        parts.push(header(ino++, S_IFCHR | (e.mode ?? 0o600), 1, 0, e.major, e.minor, name));
        break;
      case 'symlink':
      case 'file': {
        const data = e.kind === 'symlink' ? Buffer.from(e.target, 'utf8') : Buffer.from(e.data);
        const mode = e.kind === 'symlink' ? S_IFLNK | 0o777 : S_IFREG | (e.mode ?? 0o644);
        parts.push(header(ino++, mode, 1, data.length, 0, 0, name), data, Buffer.alloc(pad4(data.length)));
        break;
      }
    }
  }
  parts.push(header(0, 0, 1, 0, 0, 0, 'TRAILER!!!'));
  const body = Buffer.concat(parts);
  // Pad to a 512-byte block, as cpio(1) does; the kernel skips the zeros between archives.
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}
