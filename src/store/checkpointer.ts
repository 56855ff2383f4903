/**
 * WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside whichever commit
 * crosses the threshold, which stalls that request (and the event loop) for several milliseconds:
 * it was the whole p99 of RunInstances. Instead, the main connection never checkpoints, and a worker
 * thread with a connection of its own runs a PASSIVE checkpoint (which never blocks writers) now and then.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// The worker is plain CommonJS evaluated from this string, so it runs the same from src/ (tsx) and dist/.
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { parentPort.postMessage(String(e && e.message || e)); }
}, workerData.intervalMs);
parentPort.on('message', (m) => { if (m === 'close') { clearInterval(timer); db.close(); process.exit(0); } });
`;

export interface Checkpointer {
  close(): Promise<void>;
}

export function startCheckpointer(file: string, intervalMs: number, warn: (line: string) => void): Checkpointer {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { file, intervalMs, sqlite } });
  worker.on('message', (m: unknown) => warn(`WAL checkpoint failed: ${String(m)}`));
  worker.on('error', (e) => warn(`WAL checkpointer stopped: ${e.message}`));
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
