/**
 * A nestbox in a process of its own, for tests that measure the server's memory (test/limits.test.ts):
 * simulated driver, a fresh data dir, default limits. Prints `{"endpoint":…,"pid":…}` once listening;
 * SIGTERM closes it and removes the data dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { startNestbox } from '../src/main.js';

const dataDir = mkdtempSync(join(tmpdir(), 'nestbox-limits-'));
const nestbox = await startNestbox(
  { ...DEFAULTS, port: 0, dataDir, driver: 'simulated', simulatedDelayMs: 50, quiet: true },
  silentLogger,
);
process.stdout.write(`${JSON.stringify({ endpoint: nestbox.endpoint, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  nestbox.close().finally(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
