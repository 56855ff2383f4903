/**
 * Dedicated Hosts as other operations need them: the caller's hosts (visible, by ID, expired), their
 * loads (capacity is never stored: it is derived from the instance records, domain/host-capacity.ts),
 * and where `Tenancy=host` instances go when they launch or start again.
 */
import type { Placement } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type HostLoad, hostLoads, placeLaunch, placeRestarts } from '../domain/host-capacity.js';
import { type Affinity, type HostRecord, type Tenancy, hostExpired, parseAffinity } from '../domain/host.js';
import { isWellFormedId } from '../domain/ids.js';
import type { InstanceRecord, Scope } from '../domain/instance.js';
import type { InstanceTypeFacts } from '../domain/instance-types.js';
import type { Revisioned, StoreReader } from '../store/types.js';
import type { Services } from './context.js';
import { retentionCutoff } from './instances.js';

// --- lookups ----------------------------------------------------------------------------------------

/**
 * The caller's hosts (with their `rev`: a write of one is conditional), released ones only within the
 * retention window, in allocation order. `reader`: a transaction's, when a write depends on them.
 */
export async function visibleHosts(s: Services, scope: Scope, reader: StoreReader = s.store): Promise<(HostRecord & Revisioned)[]> {
  const cutoff = retentionCutoff(s);
  const hosts = await reader.resources('dedicated-host', { account: scope.account, region: scope.region });
  return hosts.filter((h) => !hostExpired(h, cutoff));
}

/** Released hosts past their retention, in every scope: removed with the next host write. */
export async function expiredHosts(s: Services, reader: StoreReader = s.store): Promise<{ kind: 'dedicated-host'; id: string }[]> {
  const cutoff = retentionCutoff(s);
  return (await reader.allResources('dedicated-host'))
    .filter((h) => hostExpired(h, cutoff))
    .map((h) => ({ kind: 'dedicated-host' as const, id: h.id }));
}

export function checkHostIdSyntax(ids: readonly string[]): void {
  for (const id of ids) if (!isWellFormedId('host', id)) throw Errors.hostIdMalformed(id);
}

/** Every ID well-formed, then every ID found (released hosts too, while visible) — or the EC2 error naming the offenders. */
export async function findHosts(s: Services, scope: Scope, ids: readonly string[]): Promise<(HostRecord & Revisioned)[]> {
  checkHostIdSyntax(ids);
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const cutoff = retentionCutoff(s);
  const found = await s.store.resources('dedicated-host', { account: scope.account, region: scope.region, ids: unique });
  const visible = new Map(found.filter((h) => !hostExpired(h, cutoff)).map((h) => [h.id, h]));
  const missing = unique.filter((id) => !visible.has(id));
  if (missing.length > 0) throw Errors.hostIdNotFound(missing);
  return unique.map((id) => visible.get(id)!);
}

/**
 * The hosts with what is on them now: their instances, found by host (the store's index), in each
 * host's account and region. `reader`: a transaction's, when a write depends on the loads.
 */
export async function loadsOf(s: Services, hosts: readonly HostRecord[], reader: StoreReader = s.store): Promise<HostLoad[]> {
  const byScope = new Map<string, { scope: Scope; hostIds: string[] }>();
  for (const h of hosts) {
    const key = `${h.account}\u0000${h.region}`;
    const entry = byScope.get(key) ?? { scope: { account: h.account, region: h.region }, hostIds: [] };
    entry.hostIds.push(h.id);
    byScope.set(key, entry);
  }
  const occupants = await Promise.all(
    [...byScope.values()].map(({ scope, hostIds }) => reader.instances({ account: scope.account, region: scope.region, hostIds })),
  );
  return hostLoads(s.catalog, hosts, occupants.flat());
}

// --- Tenancy=host instances -------------------------------------------------------------------------

/** The Dedicated Host part of a RunInstances request, once its syntax and existence are checked. */
export interface HostLaunchRequest {
  /** Placement.HostId */
  readonly hostId?: string | undefined;
  /** Placement.AvailabilityZone, when given */
  readonly zone?: string | undefined;
  /** Placement.Affinity: `host` binds each instance to the host it lands on */
  readonly affinity: Affinity;
}

/**
 * RunInstances' Placement as it concerns Dedicated Hosts, checked before DryRun: Affinity `default` or
 * `host` and HostId well-formed, each given only with tenancy `host` (an unset tenancy is `host` when
 * HostId is given), the host one of the caller's. Undefined when the tenancy is not `host`.
 */
export async function hostLaunchRequest(
  s: Services,
  scope: Scope,
  placement: Placement | undefined,
  tenancy: Tenancy,
): Promise<HostLaunchRequest | undefined> {
  const affinity = placement?.Affinity === undefined ? undefined : parseAffinity(placement.Affinity, 'placement.affinity');
  if (affinity !== undefined && tenancy !== 'host') throw Errors.parameterNeedsHostTenancy('affinity');
  const hostId = placement?.HostId;
  if (hostId !== undefined) {
    if (!isWellFormedId('host', hostId)) throw Errors.hostIdMalformed(hostId);
    if (tenancy !== 'host') throw Errors.parameterNeedsHostTenancy('hostId');
    await findHosts(s, scope, [hostId]);
  }
  if (tenancy !== 'host') return undefined;
  return { hostId, zone: placement?.AvailabilityZone, affinity: affinity ?? 'default' };
}

/**
 * Where a `Tenancy=host` launch goes, decided after DryRun and before anything is recorded: the host,
 * its zone (the instances' zone), and how many of minCount..maxCount it takes. `reader`: the launch
 * transaction's (under the `launch:<account>:<region>` lock, which ModifyHosts and ReleaseHosts hold
 * too), so that what it decides still holds when the launch is written.
 */
export async function placeOnHost(
  s: Services,
  scope: Scope,
  req: HostLaunchRequest,
  facts: InstanceTypeFacts,
  minCount: number,
  maxCount: number,
  reader: StoreReader = s.store,
): Promise<{ readonly hostId: string; readonly zone: string; readonly count: number }> {
  const loads = await loadsOf(s, await visibleHosts(s, scope, reader), reader);
  const { host, count } = placeLaunch(s.catalog, loads, { facts, hostId: req.hostId, zone: req.zone }, minCount, maxCount);
  return { hostId: host.id, zone: host.availabilityZone, count };
}

/**
 * StartInstances: each `Tenancy=host` instance about to start needs room on a host again — with
 * affinity `host` on its own host only, otherwise its last one when it can, else another auto-placement
 * host in its zone. Returns the records with their host, or throws and nothing starts. `reader`: as
 * for placeOnHost.
 */
export async function placeHostStarts<R extends InstanceRecord>(
  s: Services,
  scope: Scope,
  starting: readonly R[],
  reader: StoreReader = s.store,
): Promise<readonly R[]> {
  const onHosts = starting.filter((r) => r.tenancy === 'host');
  if (onHosts.length === 0) return starting;
  const hostIds = placeRestarts(
    s.catalog,
    await loadsOf(s, await visibleHosts(s, scope, reader), reader),
    onHosts.map((rec) => ({ rec, facts: s.catalog.facts(rec.instanceType)! })),
  );
  const chosen = new Map(onHosts.map((r, i) => [r.id, hostIds[i]!]));
  return starting.map((r) => {
    const hostId = chosen.get(r.id);
    return hostId === undefined || hostId === r.hostId ? r : { ...r, hostId };
  });
}
