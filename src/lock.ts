/**
 * One owner per data directory.
 *
 * `<dir>/nestbox.lock` is a tiny SQLite database that the owning server holds with an EXCLUSIVE lock
 * from start-up until it exits. SQLite takes that lock with fcntl(F_SETLK) record locks, which the
 * kernel drops when the process ends however it ends — SIGKILL, OOM kill, crash — so a killed server
 * never leaves a stale lock behind, and there is no PID-liveness or start-time guesswork that PID reuse
 * or two starters racing on a "stale" file could fool. SQLite also keeps the lock exclusive between
 * connections inside one process (tests start several servers in one process). Record locks are not
 * inherited by child processes, so QEMU processes that outlive a killed server do not keep the lock
 * and the next server re-adopts them. (Node has no flock/fcntl of its own; better-sqlite3 is already
 * the store's engine. Like every advisory lock it needs a file system that implements fcntl locks:
 * local disks do; some network file systems do not.)
 *
 * Who holds the lock is written next to it, in `<dir>/nestbox.owner.json` (pid, host, port, start
 * time), for the message a second server prints; it is removed on a clean exit. A server that finds
 * the lock taken has opened nothing but the lock file, read the owner file, and written nothing.
 */
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'nestbox.lock';
export const OWNER_FILE = 'nestbox.owner.json';

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** the port the owner listens on (0 until it is listening, when it asked for any free port) */
  readonly port: number;
  readonly startedAt: string;
}

/** The data directory is another server's (or its lock file cannot be used); the message is one line. */
export class DataDirLockError extends Error {
  override readonly name = 'DataDirLockError';
  constructor(
    message: string,
    readonly owner?: LockOwner,
  ) {
    super(message);
  }
}

export interface DataDirLock {
  readonly dir: string;
  /** records the address the owner now listens on (the owner file is rewritten) */
  listening(host: string, port: number): void;
  /** gives the directory up: the owner file goes, then the lock; idempotent */
  release(): void;
}

/** Reads the owner file, if there is a readable one. */
export function readOwner(dir: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || !Number.isInteger(o.pid)) return undefined;
    return { pid: o.pid, host: String(o.host ?? ''), port: Number(o.port ?? 0), startedAt: String(o.startedAt ?? '') };
  } catch {
    return undefined;
  }
}

const describeOwner = (o: LockOwner | undefined): string =>
  o
    ? `PID ${o.pid}${o.port ? `, listening on ${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}` : ', still starting'}${o.startedAt ? `, since ${o.startedAt}` : ''}`
    : 'PID unknown';

/**
 * Takes the data directory for this process, or throws DataDirLockError at once (never waits) when
 * another server holds it. Creates the directory when it does not exist.
 */
export function lockDataDir(dataDir: string, address: { readonly host: string; readonly port: number }): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  let db: Database.Database;
  try {
    // timeout 0: a held lock is answered at once (better-sqlite3 would otherwise retry for 5 s).
    db = new Database(file, { timeout: 0 });
  } catch (err) {
    throw new DataDirLockError(`cannot open the lock file ${file}: ${(err as Error).message}`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // No journal file next to the lock: there is nothing in it to roll back.
    db.pragma('journal_mode = MEMORY');
    // The first write takes the EXCLUSIVE lock; in exclusive locking mode it is kept until close().
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      const owner = readOwner(dir);
      throw new DataDirLockError(
        `the data dir ${dir} is in use by another nestbox (${describeOwner(owner)}); stop that server first, or start this one with another --data-dir`,
        owner,
      );
    }
    throw new DataDirLockError(
      `cannot lock the data dir ${dir}: ${file} is not a usable lock file (${(err as Error).message}); with no nestbox running on this dir, delete it and start again`,
    );
  }

  const startedAt = new Date().toISOString();
  const ownerFile = join(dir, OWNER_FILE);
  const writeOwner = (host: string, port: number) => {
    const tmp = `${ownerFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ pid: process.pid, host, port, startedAt } satisfies LockOwner)}\n`);
    renameSync(tmp, ownerFile);
  };
  try {
    writeOwner(address.host, address.port);
  } catch (err) {
    db.close();
    throw new DataDirLockError(`cannot write ${ownerFile}: ${(err as Error).message}`);
  }

  let held = true;
  return {
    dir,
    listening(host, port) {
      if (held) writeOwner(host, port);
    },
    release() {
      if (!held) return;
      held = false;
      // The owner file goes first, while the lock is still ours: a next owner's file is never removed.
      if (readOwner(dir)?.pid === process.pid) rmSync(ownerFile, { force: true });
      db.close();
    },
  };
}
