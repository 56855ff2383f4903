/**
 * Elastic IPs as handlers and the state changes share them: lookups with EC2's errors, who holds an
 * Elastic IP, and drawing addresses from the public pool so that an Elastic IP never shares its address
 * with another Elastic IP or with an instance's own public address.
 *
 * Uniqueness, across every server on one database. Elastic IPs and instances' automatic addresses come
 * from one ring whose positions are the database's `public-ip` sequence (src/domain/public-ip.ts):
 * until the sequence passes the ring's size (4,194,304 positions) every address ever handed out is a
 * different one, whoever drew it. After that, the ring has come round and:
 *   - AllocateAddress draws again while the address is held — by an instance (the unique index on
 *     held addresses answers that: instanceWithPublicIp) or by an Elastic IP of any account;
 *   - the automatic addresses of a launch or start skip those of Elastic IPs (`avoidingElasticIps`);
 *   - and the store's unique indexes stay the last word: two instances never hold one address
 *     (instances_public_ip, which covers an associated Elastic IP, as it is the instance's publicIp), and
 *     one account never allocates an address twice in a Region (resources_name: an Elastic IP's name is
 *     its address). A write refused by either is a StoreConflict: the request is decided again.
 */
import { type ElasticIpRecord } from '../domain/elastic-ip.js';
import { Errors } from '../domain/errors.js';
import { isWellFormedId } from '../domain/ids.js';
import { type InstanceRecord, type Scope, expired } from '../domain/instance.js';
import type { PublicIpSource } from '../domain/public-ip.js';
import { type Revisioned, type StoreReader, StoreConflict } from '../store/types.js';
import { type Services, publicIpSource } from './context.js';
import { retentionCutoff } from './instances.js';

type Stored<T> = T & Revisioned;

/** The caller's Elastic IPs in its Region, in allocation order. */
export function elasticIpsOf(s: Services, scope: Scope, reader: StoreReader = s.store): Promise<Stored<ElasticIpRecord>[]> {
  return reader.resources('elastic-ip', { account: scope.account, region: scope.region });
}

/** Checks allocation IDs' syntax (`eipalloc-` and 8 or 17 hex digits). */
export function checkAllocationIds(ids: readonly string[]): void {
  for (const id of ids) if (!isWellFormedId('elasticIp', id)) throw Errors.allocationIdMalformed(id);
}

/** One of the caller's Elastic IPs by allocation ID (Malformed / NotFound otherwise). */
export async function findElasticIp(s: Services, scope: Scope, id: string, reader: StoreReader = s.store): Promise<Stored<ElasticIpRecord>> {
  checkAllocationIds([id]);
  const rec = await reader.resource('elastic-ip', id);
  if (!rec || rec.account !== scope.account || rec.region !== scope.region) throw Errors.allocationIdNotFound([id]);
  return rec;
}

/** The instance an Elastic IP is associated with, if any (read by its address: the held-address index). */
export async function holderOf(eip: ElasticIpRecord, reader: StoreReader): Promise<Stored<InstanceRecord> | undefined> {
  const rec = await reader.instanceWithPublicIp(eip.publicIp);
  return rec?.elasticIp?.allocationId === eip.id ? rec : undefined;
}

/** Each Elastic IP's instance, by allocation ID (those associated only). */
export async function holdersOf(eips: readonly ElasticIpRecord[], reader: StoreReader): Promise<Map<string, Stored<InstanceRecord>>> {
  const holders = await Promise.all(eips.map((e) => holderOf(e, reader)));
  return new Map(eips.flatMap((e, i) => (holders[i] ? [[e.id, holders[i]] as const] : [])));
}

/** One of the caller's instances, as a transaction reads it; terminated ones past their retention are gone. */
export async function visibleInstance(s: Services, scope: Scope, id: string, reader: StoreReader): Promise<Stored<InstanceRecord> | undefined> {
  const rec = await reader.instance(id);
  if (!rec || rec.account !== scope.account || rec.region !== scope.region || expired(rec, retentionCutoff(s))) return undefined;
  return rec;
}

/** Draws of a new Elastic IP's address at most; the pool is millions of addresses, so more means something is wrong. */
const MAX_DRAWS = 64;

/**
 * A new Elastic IP's address: the next of the ring, drawn again while it is held (only possible once
 * the ring came round; see the module comment).
 */
export async function drawElasticIpAddress(s: Services): Promise<string> {
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const source = await publicIpSource(s, 1);
    const ip = source.next();
    if (!source.cameRound) return ip;
    const [instance, eips] = await Promise.all([s.store.instanceWithPublicIp(ip), s.store.allResources('elastic-ip')]);
    if (!instance && !eips.some((e) => e.publicIp === ip)) return ip;
  }
  throw new Error(`no free public IPv4 address after ${MAX_DRAWS} draws from the pool`);
}

/**
 * `source`, skipping the addresses Elastic IPs hold once the ring came round (before, none of its
 * positions can repeat one). Running out of reserved positions is then a conflict: the request is
 * decided again, with new positions.
 */
export async function avoidingElasticIps(s: Services, source: PublicIpSource): Promise<PublicIpSource>;
export async function avoidingElasticIps(s: Services, source: PublicIpSource | undefined): Promise<PublicIpSource | undefined>;
export async function avoidingElasticIps(s: Services, source: PublicIpSource | undefined): Promise<PublicIpSource | undefined> {
  if (!source?.cameRound) return source;
  const held = new Set((await s.store.allResources('elastic-ip')).map((e) => e.publicIp));
  if (held.size === 0) return source;
  return {
    cameRound: true,
    next: () => {
      for (;;) {
        let ip: string;
        try {
          ip = source.next();
        } catch {
          throw new StoreConflict('unique', 'the public IPv4 positions reserved ran out among Elastic IP addresses');
        }
        if (!held.has(ip)) return ip;
      }
    },
  };
}
