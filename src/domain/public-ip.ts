/**
 * Public IPv4 addresses. EC2 gives an instance a public address from Amazon's pool each time it enters
 * `pending` — at launch and again at every start, a new one (without an Elastic IP) — when its primary
 * network interface's AssociatePublicIpAddress says so, or, when that is not given, its subnet's
 * MapPublicIpOnLaunch (true for default subnets). The address is released when the instance is
 * stopped or terminated.
 *
 * nestbox's pool is this host's own loopback addresses, so a public address is one the host can reach:
 * the qemu driver forwards the TCP ports the instance's security groups open to the world from it to
 * the guest (`ssh root@127.64.12.34`). Linux routes all of 127.0.0.0/8 to the loopback interface, so
 * no address has to be configured (other systems, e.g. macOS, answer only 127.0.0.1 unless aliased).
 *
 * The pool is a ring over 127.64.0.0/10 (4,194,304 addresses; the 127.0.0.0/16 where 127.0.0.1,
 * Debian's 127.0.1.1 and systemd-resolved's 127.0.0.53 live stays untouched), starting at an offset
 * derived from a seed (the data directory or database), so two nestbox installations on one host draw
 * from far-apart places in it. The cursor is a database sequence: it moves forward through the ring
 * across restarts and across every server on one database, skipping addresses ending in .0 or .255,
 * so a stop and start gets a different address; the store refuses an address still held.
 */
import { createHash } from 'node:crypto';
import type { InstanceRecord } from './instance.js';
import { DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH } from './network.js';

/** 127.64.0.0 as a 32-bit number */
const RING_BASE = ((127 << 24) | (64 << 16)) >>> 0;
/** a /10 */
const RING_SIZE = 1 << 22;
export const PUBLIC_IP_POOL = '127.64.0.0/10';

/** Hands out public addresses during one change (a launch, a start): `next` never repeats itself or one in use. */
export interface PublicIpSource {
  next(): string;
  /**
   * Whether its positions may repeat an address handed out before: the sequence has gone past the
   * ring's size, so the ring came round. Until then every address ever handed out is distinct.
   */
  readonly cameRound: boolean;
}

const toDotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

function toNumber(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Whether `ip` is in the pool (127.64.0.0/10). */
export function inPublicIpPool(ip: string): boolean {
  const n = toNumber(ip);
  return n !== undefined && n >= RING_BASE && n < RING_BASE + RING_SIZE;
}

/** The server's one allocator: it keeps only the ring's offset and the cursor; which addresses are held, the records say. */
export class PublicIpAllocator {
  private readonly offset: number;

  /** `seed`: what tells this nestbox from others on the host, e.g. its data directory or database */
  constructor(seed: string) {
    this.offset = createHash('sha256').update(`nestbox public-ip/${seed}`).digest().readUInt32BE(0) % RING_SIZE;
  }

  /**
   * A source handing out the addresses at ring positions `first`, `first + 1`, … (skipping those ending
   * in .0 or .255): the positions come from a database sequence (Store.sequence('public-ip', n)), so no
   * two servers on one database hand out the same one, and the store's unique index on held addresses
   * refuses one still held after the ring came round (the request is then decided again, with new
   * positions). `count` positions were reserved; asking for more is a programming error.
   */
  sourceAt(first: number, count: number): PublicIpSource {
    let i = 0;
    return {
      cameRound: first + count - 1 > RING_SIZE,
      next: () => {
        for (;;) {
          if (i >= count) throw new Error(`more than the ${count} reserved public IPv4 positions were asked for`);
          const ip = this.addressAt(first + i++);
          if (ip !== undefined) return ip;
        }
      },
    };
  }

  /** The address at ring position `i`, or undefined for one ending in .0 or .255 (never handed out). */
  private addressAt(i: number): string | undefined {
    const n = RING_BASE + ((this.offset + i) % RING_SIZE);
    const last = n & 255;
    return last === 0 || last === 255 ? undefined : toDotted(n);
  }
}

/** Ring positions to reserve for `addresses` new addresses: every 256th position is skipped twice (.0 and .255). */
export const publicIpPositionsFor = (addresses: number): number => addresses + 2 * Math.ceil(addresses / 254) + 2;


/** Whether an instance gets a public address when it enters `pending`: its launch's decision, else its (default) subnet's. */
export const wantsPublicIp = (rec: Pick<InstanceRecord, 'associatePublicIp'>): boolean =>
  rec.associatePublicIp ?? DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH;

/**
 * The record with the public address its state calls for — the one rule, applied wherever a record
 * gets a state (`applyTrigger` in src/compute/reconciler.ts, and the new records of a launch):
 * `stopped` and `terminated` hold none (released); `pending` gets a new one from `source` when it
 * wants one and has none; any other state keeps what it has. An associated Elastic IP is the address
 * in every state but `terminated`, which ends the association. Returns `rec` itself when nothing changes.
 */
export function withPublicIp(rec: InstanceRecord, source: PublicIpSource | undefined): InstanceRecord {
  if (rec.state === 'terminated') {
    if (rec.publicIp === undefined && rec.elasticIp === undefined) return rec;
    // The Elastic IP's association ends with the instance; the address stays allocated (src/domain/elastic-ip.ts).
    const { publicIp: _released, elasticIp: _disassociated, ...rest } = rec;
    return rest;
  }
  // An Elastic IP is kept through stop and start, and no automatic address is assigned beside it.
  if (rec.elasticIp !== undefined) return rec.publicIp === rec.elasticIp.publicIp ? rec : { ...rec, publicIp: rec.elasticIp.publicIp };
  if (rec.state === 'stopped') {
    if (rec.publicIp === undefined) return rec;
    const { publicIp: _released, ...rest } = rec;
    return rest;
  }
  if (rec.state === 'pending' && rec.publicIp === undefined && wantsPublicIp(rec)) {
    if (!source) throw new Error(`instance ${rec.id} enters pending without a source of public IPv4 addresses`);
    return { ...rec, publicIp: source.next() };
  }
  return rec;
}

/**
 * The public DNS name EC2 gives a public address: `ec2-203-0-113-5.compute-1.amazonaws.com` in
 * us-east-1, `ec2-203-0-113-5.<region>.compute.amazonaws.com` elsewhere. nestbox only writes the name:
 * no DNS server resolves it to the (loopback) address, so clients must use the address itself.
 */
export function publicDnsName(ip: string, region: string): string {
  const host = `ec2-${ip.replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${host}.compute-1.amazonaws.com` : `${host}.${region}.compute.amazonaws.com`;
}
