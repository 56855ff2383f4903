/**
 * Which nestbox VM host runs an instance: a live host (heartbeat within `deadAfterMs`) with room for
 * its vCPUs, the one with the most room first (spreading instances over hosts), this process's own host
 * on a tie. Decided inside the launch's (or start's) transaction, from what the hosts run at that
 * moment (StoreReader.vmHostLoad).
 */
import { Errors } from '../domain/errors.js';
import type { InstanceRecord } from '../domain/instance.js';
import type { StoreReader, VmHostRecord } from '../store/types.js';

export interface PlacementSettings {
  /** a host whose heartbeat is older than this is not placed on (the watchdog declares it dead soon) */
  readonly deadAfterMs: number;
  /** this process's own VM host, preferred on a tie; absent for an API-only server */
  readonly localHost?: string | undefined;
}

/** A host placement may use: alive, and heard from within `deadAfterMs`. */
export const isLiveVmHost = (h: VmHostRecord, at: Date, deadAfterMs: number): boolean =>
  h.state === 'alive' && at.getTime() - h.heartbeatAt <= deadAfterMs;

export const vcpusOf = (rec: Pick<InstanceRecord, 'cpu'>): number => rec.cpu.coreCount * rec.cpu.threadsPerCore;

/**
 * A host for each record, in order, or InsufficientInstanceCapacity naming what is missing. The
 * records' own vCPUs count against the hosts as they are placed, so a batch never overfills one.
 * `hostsReader`: where the hosts themselves are read (their liveness is no transaction's to decide),
 * at the same time as their load is read by `reader` (on PostgreSQL, a connection of its own).
 */
export async function placeOnVmHosts(
  reader: StoreReader,
  recs: readonly Pick<InstanceRecord, 'instanceType' | 'cpu'>[],
  at: Date,
  settings: PlacementSettings,
  hostsReader: StoreReader = reader,
): Promise<string[]> {
  if (recs.length === 0) return [];
  const type = recs[0]!.instanceType;
  const [registered, load] = await Promise.all([hostsReader.vmHosts(), reader.vmHostLoad()]);
  const hosts = registered.filter((h) => isLiveVmHost(h, at, settings.deadAfterMs));
  if (hosts.length === 0) throw Errors.insufficientCapacity(type, 'No nestbox VM host is running (start one: nestbox serve --role host).');
  const used = new Map(load.map((l) => [l.host, l.vcpus]));
  const free = new Map(hosts.map((h) => [h.id, h.vcpus - (used.get(h.id) ?? 0)]));
  return recs.map((rec) => {
    const need = vcpusOf(rec);
    let best: string | undefined;
    for (const h of hosts) {
      const room = free.get(h.id)!;
      if (room < need) continue;
      const bestRoom = best === undefined ? -1 : free.get(best)!;
      if (room > bestRoom || (room === bestRoom && h.id === settings.localHost)) best = h.id;
    }
    if (best === undefined) {
      const most = Math.max(...free.values());
      throw Errors.insufficientCapacity(type, `No nestbox VM host has ${need} free vCPUs (the most any live host has is ${most}).`);
    }
    free.set(best, free.get(best)! - need);
    return best;
  });
}
