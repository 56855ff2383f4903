/**
 * Dedicated Host capacity and placement, derived and never stored.
 *
 * A host is one physical server of its family: its vCPUs, cores and sockets follow the family's largest
 * bare-metal size in the catalog (m8i → m8i.metal-96xl, 384 vCPUs), or the family's largest size when
 * the catalog has no metal size for it (t3 → t3.2xlarge). What is free on it is that minus the vCPUs of
 * the instances that occupy it right now, computed from the instance records by `hostLoads` — the one
 * place capacity in use is counted. A host allocated for one instance type holds
 * floor(host vCPUs / type vCPUs) of it; a host allocated for a family takes any mix of the family's
 * virtual sizes up to its vCPUs (EC2's multiple-instance-size support on Nitro hosts).
 */
import { Errors } from './errors.js';
import type { HostRecord } from './host.js';
import type { Catalog, InstanceTypeFacts } from './instance-types.js';
import type { InstanceRecord } from './instance.js';
import { OCCUPYING_STATES, type StateName } from './lifecycle.js';

export interface HostHardware {
  /** the catalog type the server is modelled on */
  readonly basis: string;
  readonly totalVcpus: number;
  readonly cores: number;
  readonly sockets: number;
}

/** The server behind a family's hosts: its largest bare-metal size, else its largest size. */
export function hostHardware(catalog: Catalog, family: string): HostHardware {
  let largest: InstanceTypeFacts | undefined;
  for (const t of catalog.types) {
    if (t.family !== family) continue;
    const better = !largest || (t.bareMetal && !largest.bareMetal) || (t.bareMetal === largest.bareMetal && t.vcpus > largest.vcpus);
    if (better) largest = t;
  }
  if (!largest) throw new Error(`no instance family ${family} in the catalog`);
  return {
    basis: largest.type,
    totalVcpus: largest.vcpus,
    cores: largest.defaultCores,
    // Every x86 metal size in the catalog is a two-socket server; Graviton servers have one socket.
    sockets: largest.architecture === 'arm64' ? 1 : 2,
  };
}

export const supportsDedicatedHosts = (catalog: Catalog, type: string): boolean =>
  catalog.info(type)?.DedicatedHostsSupported === true;

/** Whether AllocateHosts may allocate hosts for this family: some size of it runs on Dedicated Hosts. */
export const familySupportsDedicatedHosts = (catalog: Catalog, family: string): boolean =>
  catalog.types.some((t) => t.family === family && supportsDedicatedHosts(catalog, t.type));

/** The family a host serves: its family, or the family of its one instance type. */
export const familyOfHost = (catalog: Catalog, host: HostRecord): string =>
  host.instanceFamily ?? catalog.facts(host.instanceType ?? '')?.family ?? '';

/** Whether a host takes instances of this type: its one type, or a virtual size of its family that runs on hosts. */
export function hostAccepts(catalog: Catalog, host: HostRecord, facts: InstanceTypeFacts): boolean {
  if (host.instanceType !== undefined) return facts.type === host.instanceType;
  return facts.family === host.instanceFamily && !facts.bareMetal && supportsDedicatedHosts(catalog, facts.type);
}

/** The instance types a host takes, smallest first. */
export const typesOnHost = (catalog: Catalog, host: HostRecord): InstanceTypeFacts[] =>
  catalog.types.filter((t) => hostAccepts(catalog, host, t));

/**
 * The states in which an instance holds its place on its host. A stopped instance gives it back — with
 * affinity `host` too, which binds it to the host but reserves nothing — and needs room again when it
 * starts; a terminated one is gone.
 */
const OCCUPYING: ReadonlySet<StateName> = new Set<StateName>(OCCUPYING_STATES);

export const occupiesHost = (rec: InstanceRecord): boolean => rec.hostId !== undefined && OCCUPYING.has(rec.state);

/** A host with what is on it now. */
export interface HostLoad {
  readonly host: HostRecord;
  readonly hardware: HostHardware;
  /** in creation order */
  readonly occupants: readonly InstanceRecord[];
  readonly usedVcpus: number;
}

/** Each host with its load, from one pass over the instances. */
export function hostLoads(catalog: Catalog, hosts: Iterable<HostRecord>, instances: Iterable<InstanceRecord>): HostLoad[] {
  const byId = new Map<string, { host: HostRecord; occupants: InstanceRecord[] }>();
  for (const host of hosts) byId.set(host.id, { host, occupants: [] });
  for (const rec of instances) {
    if (occupiesHost(rec)) byId.get(rec.hostId!)?.occupants.push(rec);
  }
  return [...byId.values()].map(({ host, occupants }) => ({
    host,
    hardware: hostHardware(catalog, familyOfHost(catalog, host)),
    occupants: occupants.sort((a, b) => a.seq - b.seq),
    usedVcpus: occupants.reduce((sum, r) => sum + (catalog.facts(r.instanceType)?.vcpus ?? 0), 0),
  }));
}

export const availableVcpus = (load: HostLoad): number => load.hardware.totalVcpus - load.usedVcpus;

/** How many more instances of this type fit on the host now; 0 when it is released or does not take the type. */
export function roomFor(catalog: Catalog, load: HostLoad, facts: InstanceTypeFacts): number {
  if (load.host.state !== 'available' || !hostAccepts(catalog, load.host, facts)) return 0;
  return Math.max(0, Math.floor(availableVcpus(load) / facts.vcpus));
}

/** How many instances of this type the host holds when empty. */
export const totalCapacity = (load: HostLoad, facts: InstanceTypeFacts): number =>
  Math.floor(load.hardware.totalVcpus / facts.vcpus);

const withPlaced = (load: HostLoad, facts: InstanceTypeFacts, count: number): HostLoad => ({
  ...load,
  usedVcpus: load.usedVcpus + count * facts.vcpus,
});

// --- placement ----------------------------------------------------------------------------------------

/**
 * A named host takes instances of this type in this zone (room aside), or the EC2 error: it must be
 * available, in the zone, and allocated for the type or its family. Targeted launches, starts bound to
 * a host by affinity, and ModifyInstancePlacement's HostId all ask this.
 */
export function checkHostTakes(catalog: Catalog, host: HostRecord, facts: InstanceTypeFacts, zone: string | undefined): void {
  if (host.state !== 'available') throw Errors.invalidHostState(host.id, host.state);
  if (zone !== undefined && zone !== host.availabilityZone) throw Errors.zonesMismatched(zone, host.id, host.availabilityZone);
  if (!hostAccepts(catalog, host, facts)) {
    throw Errors.unsupportedInstanceTypeOnHost(facts.type, host.id, host.instanceType ?? `${host.instanceFamily} family`);
  }
}

export interface LaunchTarget {
  readonly facts: InstanceTypeFacts;
  /** Placement.HostId: the launch goes on this host or fails */
  readonly hostId?: string | undefined;
  /** Placement.AvailabilityZone, when the request named one */
  readonly zone?: string | undefined;
}

export interface HostPlacement {
  readonly host: HostRecord;
  readonly count: number;
}

/**
 * Where a `Tenancy=host` launch of minCount..maxCount instances goes: all on one host, as many as fit
 * up to maxCount. A named host must be available, in the requested zone, take the type and have room
 * for minCount. Otherwise auto-placement: among the available hosts with auto-placement on that take
 * the type (in the requested zone, if any), the first with room for maxCount, else the one with the
 * most room if that is at least minCount.
 */
export function placeLaunch(
  catalog: Catalog,
  loads: readonly HostLoad[],
  target: LaunchTarget,
  minCount: number,
  maxCount: number,
): HostPlacement {
  const { facts } = target;
  if (target.hostId !== undefined) {
    const load = loads.find((l) => l.host.id === target.hostId);
    if (!load) throw Errors.hostIdNotFound([target.hostId]);
    const { host } = load;
    checkHostTakes(catalog, host, facts, target.zone);
    const room = roomFor(catalog, load, facts);
    if (room < minCount) throw Errors.insufficientCapacityOnHost(host.id);
    return { host, count: Math.min(room, maxCount) };
  }
  let best: HostPlacement | undefined;
  for (const load of loads) {
    if (load.host.autoPlacement !== 'on') continue;
    if (target.zone !== undefined && load.host.availabilityZone !== target.zone) continue;
    const room = roomFor(catalog, load, facts);
    if (room >= maxCount) return { host: load.host, count: maxCount };
    if (room > (best?.count ?? 0)) best = { host: load.host, count: room };
  }
  if (!best || best.count < minCount) throw Errors.insufficientHostCapacity();
  return best;
}

/**
 * The hosts stopped instances start on again, in order; instances placed earlier in the same call count.
 *
 * - Affinity `host` with a host: that host or nothing — it must still take the type (checkHostTakes) and
 *   have room, else InsufficientCapacityOnHost. These are placed first, so an instance without affinity
 *   in the same call cannot take their place.
 * - Otherwise (EC2's default affinity, or `host` affinity not yet bound): back on the last host when it
 *   is available, takes the type and has room; else the first available host in the instance's zone
 *   with auto-placement on that does; else InsufficientHostCapacity.
 *
 * Returns each instance's host ID, in the order given.
 */
export function placeRestarts(
  catalog: Catalog,
  loads: readonly HostLoad[],
  starting: readonly { readonly rec: InstanceRecord; readonly facts: InstanceTypeFacts }[],
): string[] {
  const current = new Map(loads.map((l) => [l.host.id, l]));
  const bound = (rec: InstanceRecord) => rec.affinity === 'host' && rec.hostId !== undefined;
  const place = ({ rec, facts }: (typeof starting)[number]): string => {
    const chosen = bound(rec) ? boundHost(catalog, current, rec, facts) : anyHost(catalog, current, rec, facts);
    current.set(chosen.host.id, withPlaced(chosen, facts, 1));
    return chosen.host.id;
  };
  const placed = new Map<InstanceRecord, string>();
  for (const entry of starting) if (bound(entry.rec)) placed.set(entry.rec, place(entry));
  for (const entry of starting) if (!bound(entry.rec)) placed.set(entry.rec, place(entry));
  return starting.map(({ rec }) => placed.get(rec)!);
}

/** Affinity `host`: the instance's own host, if it can still take it. */
function boundHost(catalog: Catalog, loads: ReadonlyMap<string, HostLoad>, rec: InstanceRecord, facts: InstanceTypeFacts): HostLoad {
  const load = loads.get(rec.hostId!);
  if (!load) throw Errors.hostIdNotFound([rec.hostId!]);
  checkHostTakes(catalog, load.host, facts, rec.availabilityZone);
  if (roomFor(catalog, load, facts) < 1) throw Errors.insufficientCapacityOnHost(load.host.id, rec.id);
  return load;
}

/** Default affinity: the last host when it has room, else an auto-placement host in the instance's zone. */
function anyHost(catalog: Catalog, loads: ReadonlyMap<string, HostLoad>, rec: InstanceRecord, facts: InstanceTypeFacts): HostLoad {
  const last = rec.hostId === undefined ? undefined : loads.get(rec.hostId);
  if (last && roomFor(catalog, last, facts) >= 1) return last;
  for (const load of loads.values()) {
    if (load.host.autoPlacement !== 'on' || load.host.availabilityZone !== rec.availabilityZone) continue;
    if (roomFor(catalog, load, facts) >= 1) return load;
  }
  throw Errors.insufficientHostCapacity();
}
