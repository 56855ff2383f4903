/**
 * This machine's VM host ID, kept in the data directory (`host-id`), so a restarted `nestbox serve` is
 * the same host: it adopts the VMs that kept running, and its instances stay its own.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HOST_ID = /^nbh-[0-9a-f]{12}$/;

export function vmHostIdOf(dataDir: string): string {
  const fresh = `nbh-${randomBytes(6).toString('hex')}`;
  if (dataDir === ':memory:') return fresh;
  const file = join(dataDir, 'host-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (HOST_ID.test(id)) return id;
  }
  writeFileSync(file, `${fresh}\n`);
  return fresh;
}
