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
 * derived from a seed (the data directory), so two nestbox servers on one host with different data
 * directories draw from far-apart places in it and are unlikely to collide. A cursor moves forward
 * through the ring and skips addresses that any instance of this server holds (all accounts and
 * Regions), and those ending in .0 or .255, so a stop and start gets a different address. After a
 * restart the cursor resumes past the furthest address in use (addresses released before the restart
 * are not remembered, so one may come round again sooner).
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
  /** the ring position (relative to the offset) to try next; set at the first allocation */
  private cursor: number | undefined;

  /** `seed`: what tells this server from others on the host, e.g. its resolved data directory */
  constructor(seed: string) {
    this.offset = createHash('sha256').update(`nestbox public-ip/${seed}`).digest().readUInt32BE(0) % RING_SIZE;
  }

  /**
   * A source for one change. `held` lists the addresses instances hold now (`heldPublicIps`); it is
   * read once, at the first `next`, and what the source hands out is added to it. The change must be
   * committed without an await in between, as every state change is.
   */
  session(held: () => Iterable<string>): PublicIpSource {
    let inUse: Set<string> | undefined;
    return {
      next: () => {
        inUse ??= new Set(held());
        const ip = this.take(inUse);
        inUse.add(ip);
        return ip;
      },
    };
  }

  /** The address at ring position `i`, or undefined for one ending in .0 or .255 (never handed out). */
  private addressAt(i: number): string | undefined {
    const n = RING_BASE + ((this.offset + i) % RING_SIZE);
    const last = n & 255;
    return last === 0 || last === 255 ? undefined : toDotted(n);
  }

  private positionOf(ip: string): number | undefined {
    const n = toNumber(ip);
    if (n === undefined || n < RING_BASE || n >= RING_BASE + RING_SIZE) return undefined;
    return (n - RING_BASE - this.offset + RING_SIZE) % RING_SIZE;
  }

  private take(inUse: ReadonlySet<string>): string {
    if (this.cursor === undefined) {
      // After a restart: past the furthest address still held, so the ring keeps moving forward.
      let furthest = -1;
      for (const ip of inUse) furthest = Math.max(furthest, this.positionOf(ip) ?? -1);
      this.cursor = (furthest + 1) % RING_SIZE;
    }
    for (let tried = 0; tried < RING_SIZE; tried++) {
      const ip = this.addressAt(this.cursor);
      this.cursor = (this.cursor + 1) % RING_SIZE;
      if (ip !== undefined && !inUse.has(ip)) return ip;
    }
    // Four million instances at once: not a case to answer in EC2's terms.
    throw new Error(`no free public IPv4 address: every address of ${PUBLIC_IP_POOL} is in use`);
  }
}

/** The public addresses instances hold. */
export function* heldPublicIps(recs: Iterable<Pick<InstanceRecord, 'publicIp'>>): Generator<string> {
  for (const rec of recs) if (rec.publicIp !== undefined) yield rec.publicIp;
}

/** Whether an instance gets a public address when it enters `pending`: its launch's decision, else its (default) subnet's. */
export const wantsPublicIp = (rec: Pick<InstanceRecord, 'associatePublicIp'>): boolean =>
  rec.associatePublicIp ?? DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH;

/**
 * The record with the public address its state calls for — the one rule, applied wherever a record
 * gets a state (`applyTrigger` in src/compute/reconciler.ts, and the new records of a launch):
 * `stopped` and `terminated` hold none (released); `pending` gets a new one from `source` when it
 * wants one and has none; any other state keeps what it has. Returns `rec` itself when nothing changes.
 */
export function withPublicIp(rec: InstanceRecord, source: PublicIpSource | undefined): InstanceRecord {
  if (rec.state === 'stopped' || rec.state === 'terminated') {
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
