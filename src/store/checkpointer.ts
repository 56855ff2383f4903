/**
 * WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside whichever commit
 * crosses the threshold, which stalls that request (and the event loop) for several milliseconds:
 * it was the whole p99 of RunInstances. Instead, the main connection never checkpoints, and a worker
 * thread with a connection of its own runs a PASSIVE checkpoint (which never blocks writers) now and then.
 *
 * A PASSIVE checkpoint alone does not bound the WAL: the log restarts from its beginning only when a
 * checkpoint has copied every frame and no reader still uses them, which a steady stream of writes can
 * postpone for ever, and a log that once grew keeps its size. So the worker also watches the file, and
 * when it is larger than `truncateAboveBytes` runs a TRUNCATE checkpoint, which waits for the writer
 * in progress (busy_timeout), copies every frame, and cuts the file to zero bytes; writers wait for it
 * meanwhile (a few milliseconds per MiB), which happens only after that many bytes were written. The
 * main connection's journal_size_limit (store.ts) also trims a large log whenever it restarts.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// The worker is plain CommonJS evaluated from this string, so it runs the same from src/ (tsx) and dist/.
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const wal = workerData.file + '-wal';
const everyPassive = Math.max(1, Math.round(workerData.intervalMs / workerData.checkMs));
let ticks = 0;
const timer = setInterval(() => {
  try {
    const size = statSync(wal, { throwIfNoEntry: false })?.size ?? 0;
    if (size > workerData.truncateAboveBytes) {
      const [r] = db.pragma('wal_checkpoint(TRUNCATE)');
      parentPort.postMessage({ truncated: size, busy: r ? r.busy : 0 });
    } else if (++ticks >= everyPassive) {
      ticks = 0;
      db.pragma('wal_checkpoint(PASSIVE)');
    }
  } catch (e) { parentPort.postMessage({ error: String(e && e.message || e) }); }
}, workerData.checkMs);
parentPort.on('message', (m) => { if (m === 'close') { clearInterval(timer); db.close(); process.exit(0); } });
`;

export interface CheckpointerOptions {
  /** how often a PASSIVE checkpoint runs */
  readonly intervalMs: number;
  /** a WAL file larger than this gets a TRUNCATE checkpoint at the next check */
  readonly truncateAboveBytes: number;
  /** how often the WAL file's size is looked at (default: every 100 ms, or intervalMs if shorter) */
  readonly checkMs?: number;
  readonly warn: (line: string) => void;
  /** called after each TRUNCATE checkpoint with the size the WAL had (tests and logs) */
  readonly onTruncate?: (walBytes: number) => void;
}

export interface Checkpointer {
  close(): Promise<void>;
}

export function startCheckpointer(file: string, opts: CheckpointerOptions): Checkpointer {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const checkMs = opts.checkMs ?? Math.min(100, opts.intervalMs);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { file, sqlite, intervalMs: opts.intervalMs, checkMs, truncateAboveBytes: opts.truncateAboveBytes },
  });
  worker.on('message', (m: { error?: string; truncated?: number; busy?: number }) => {
    if (m.error !== undefined) opts.warn(`WAL checkpoint failed: ${m.error}`);
    else if (m.truncated !== undefined) {
      if (m.busy) opts.warn(`WAL checkpoint (TRUNCATE) of a ${m.truncated}-byte log could not finish: the database was busy`);
      opts.onTruncate?.(m.truncated);
    }
  });
  worker.on('error', (e) => opts.warn(`WAL checkpointer stopped: ${e.message}`));
  worker.unref();
  return {
    close: () =>
      new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.ref(); // held until it has closed its connection
        worker.postMessage('close');
      }),
  };
}
