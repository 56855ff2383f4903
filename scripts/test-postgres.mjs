#!/usr/bin/env node
/**
 * `npm test`'s second pass: every API suite again on the PostgreSQL store (NESTBOX_TEST_STORE=postgres).
 * Each suite that starts a test server (test/helpers.ts startTestServer) gets a fresh database per server
 * in a throwaway cluster its process starts (test/pg.ts). Left out: the real-VM and browser suites (they
 * test QEMU and Chromium, not the store, and the first pass ran them) and the suites about SQLite's own
 * files (the data-dir lock's file checks, the WAL, the SQLite store).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const SKIP = /^(qemu-driver|qemu-e2e|qemu-network-e2e|console-e2e|lock|wal|store)\.test\.ts$/;
const suites = readdirSync('test')
  .filter((f) => f.endsWith('.test.ts') && !SKIP.test(f))
  .filter((f) => readFileSync(`test/${f}`, 'utf8').includes('startTestServer('))
  .sort()
  .map((f) => `test/${f}`);
process.stdout.write(`PostgreSQL pass: ${suites.length} suites\n`);
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...suites], {
  stdio: 'inherit',
  env: { ...process.env, NESTBOX_TEST_STORE: 'postgres' },
});
process.exit(run.status ?? 1);
