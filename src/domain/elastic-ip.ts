/**
 * Elastic IP addresses: plain data and rules, no I/O.
 *
 * An Elastic IP is a public IPv4 address an account allocates (AllocateAddress, Domain `vpc`) and keeps
 * until it releases it, associating it with one instance's primary network interface at a time. It is
 * drawn from the same pool as instances' own public addresses (src/domain/public-ip.ts: a loopback
 * address of this host, from the ring whose cursor is the database's `public-ip` sequence).
 *
 * Where things are kept:
 *   - the allocation is a stored resource (kind `elastic-ip`) whose unique name is its address, so the
 *     store's resources_name index refuses one account holding an address twice in a Region;
 *   - the association lives on the instance record (`elasticIp`), and while it lasts the instance's
 *     `publicIp` IS the Elastic IP: the unique index on instances' held addresses then refuses two
 *     instances holding it (two concurrent AssociateAddress calls: one fails and is decided again), and
 *     every change of state that moves public addresses (src/domain/instance-state.ts) sees the
 *     association in the record it already changes: a stop keeps the address, a termination ends the
 *     association (the Elastic IP stays allocated), with no second record to keep in step.
 */
import type { ElasticIpAssociation, InstanceRecord } from './instance.js';
import type { StateName } from './lifecycle.js';
import { wantsPublicIp } from './public-ip.js';

export interface ElasticIpRecord {
  /** the allocation ID, `eipalloc-…` */
  readonly id: string;
  readonly account: string;
  readonly region: string;
  /** the address, a loopback address of this host (127.64.0.0/10) */
  readonly publicIp: string;
  readonly allocationTime: string;
}

export type { ElasticIpAssociation } from './instance.js';

/** EC2's default quota: five Elastic IP addresses per Region (the "EC2-VPC Elastic IPs" quota). */
export const ELASTIC_IPS_PER_REGION = 5;

/** The only domain nestbox allocates in: EC2-Classic (`standard`) is retired. */
export const ELASTIC_IP_DOMAIN = 'vpc';

/** EC2 associates an Elastic IP with an instance only while it is running or stopped. */
export const ASSOCIABLE_STATES: ReadonlySet<StateName> = new Set<StateName>(['running', 'stopped']);

/** The instance with `association`: its public address is the Elastic IP (an automatic one it held is released). */
export function withElasticIp(rec: InstanceRecord, association: ElasticIpAssociation): InstanceRecord {
  return { ...rec, elasticIp: association, publicIp: association.publicIp };
}

/**
 * The instance once its Elastic IP is disassociated: without a public address — or, when it is
 * pending or running and wants one (its launch's AssociatePublicIpAddress, else its subnet's
 * MapPublicIpOnLaunch), a new automatic one from `next` (EC2: "If you disassociate an Elastic IP
 * address from your instance, it receives a new public IP address", as moto's check_auto_public_ip
 * does for a running instance). A stopped instance gets one at its next start, as any other.
 */
export function withoutElasticIp(rec: InstanceRecord, next: (() => string) | undefined): InstanceRecord {
  const { elasticIp: _gone, publicIp: _released, ...rest } = rec;
  if ((rec.state === 'pending' || rec.state === 'running') && wantsPublicIp(rec)) {
    if (!next) throw new Error(`instance ${rec.id} needs a new public IPv4 address without a source of them`);
    return { ...rest, publicIp: next() };
  }
  return rest;
}

/** The instance ID whose primary network interface `eniId` is (`eni-<digits>` of `i-<digits>`: src/domain/instance.ts). */
export const instanceIdOfInterface = (eniId: string): string => `i-${eniId.slice('eni-'.length)}`;
