/**
 * The state store's contract: what every implementation (SQLite, the embedded default, and PostgreSQL,
 * for several API servers and VM hosts on one database) offers, and what the contract suite
 * (test/store-contract.test.ts) checks of each.
 *
 * - **Reads** see committed data only. Outside a transaction each read is its own snapshot.
 * - **Writes** go through `transaction()` (or its shorthand `commit()`): all of a transaction's
 *   writes apply together or not at all. Reads inside a transaction do not see its own writes (write
 *   last: read, decide, write).
 * - **Conditional writes.** Every record read from the store carries `rev`, its revision. Writing a
 *   record that has a `rev` applies only if the stored record still has that revision (it was not
 *   changed since it was read); a record without `rev` is new, and its ID must not exist. Otherwise the
 *   transaction fails with a `StoreConflict` and nothing is written: the caller reads again and decides
 *   again (the HTTP layer re-runs the whole request: src/http/server.ts).
 * - **Unique constraints**: key-pair and launch-template names per account and region, ClientTokens per
 *   account and region, public IPv4 addresses held by instances, Elastic IP addresses per account and
 *   region. A write that breaks one fails with a `StoreConflict`.
 * - **Locks**: a transaction given `lock` holds it until it ends, so read-decide-write sequences under
 *   one lock name (e.g. a launch's quota check in one account and region) never interleave, across
 *   processes too.
 * - **Sequences** are issued by the database: unique and increasing across every server on it.
 */
import type { ElasticIpRecord } from '../domain/elastic-ip.js';
import type { FleetRecord } from '../domain/fleet.js';
import type { HostRecord } from '../domain/host.js';
import type { InstanceRecord } from '../domain/instance.js';
import type { KeyPairRecord } from '../domain/key-pair.js';
import type { LaunchTemplateRecord, LaunchTemplateVersionRecord } from '../domain/launch-template.js';
import type { StateName } from '../domain/lifecycle.js';
import type { NetworkInterfaceRecord } from '../domain/network-interface.js';
import type { SnapshotRecord, VolumeRecord } from '../domain/volumes.js';
import type { UserImageRecord } from '../domain/images.js';
import type { InternetGatewayRecord, RouteTableRecord, SecurityGroupRecord, SubnetRecord, VpcRecord } from '../domain/vpc.js';

/** A record as read from the store: its revision, for conditional writes (absent on a new record). */
export interface Revisioned {
  readonly rev?: number | undefined;
}

export interface TagRecord {
  readonly resourceId: string;
  readonly resourceType: string;
  /** the tagged resource's account and region (DescribeTags lists one account's, in one region) */
  readonly account: string;
  readonly region: string;
  readonly key: string;
  readonly value: string;
}

export interface ClientTokenRecord {
  readonly account: string;
  readonly region: string;
  readonly token: string;
  readonly fingerprint: string;
  readonly reservationId: string;
}

/**
 * The resources other than instances, each kept as one JSON document under its kind and ID. A launch
 * template's document holds none of its versions: they are rows of their own.
 */
export interface ResourceDocs {
  'launch-template': LaunchTemplateRecord;
  'key-pair': KeyPairRecord;
  'dedicated-host': HostRecord;
  fleet: FleetRecord;
  vpc: VpcRecord;
  subnet: SubnetRecord;
  'security-group': SecurityGroupRecord;
  'internet-gateway': InternetGatewayRecord;
  'route-table': RouteTableRecord;
  'elastic-ip': ElasticIpRecord;
  /** data volumes (CreateVolume); root volumes are derived from instance records */
  volume: VolumeRecord;
  snapshot: SnapshotRecord;
  /** the account's images (CreateImage, RegisterImage, CopyImage); the built-in ones are a fixed table */
  image: UserImageRecord;
  /** network interfaces users create (CreateNetworkInterface); instances' own primary interfaces are derived */
  'network-interface': NetworkInterfaceRecord;
}
export type StoredKind = keyof ResourceDocs;
/** One resource to write: its kind and its whole document. */
export type ResourcePut = { [K in StoredKind]: { readonly kind: K; readonly doc: ResourceDocs[K] } }[StoredKind];

/** A nestbox process that runs VMs (`serve --role host|all`): what it can take, and whether it lives. */
export interface VmHostRecord extends Revisioned {
  /** `nbh-…`, chosen at registration; a restarted process registers anew */
  readonly id: string;
  /** a name for people: the machine's hostname and the process ID */
  readonly name: string;
  /** the VM driver it runs (`simulated`, `qemu`) */
  readonly driver: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly startedAt: string;
  /** when it last said it lives (ms since the epoch) */
  readonly heartbeatAt: number;
  /** `dead`: it stopped heartbeating and its instances were stopped; a dead host never comes back */
  readonly state: 'alive' | 'dead' | 'gone';
}

/** Work for a VM host: what its driver must do to one of its instances' VMs. */
export type VmTaskKind =
  | 'start'
  | 'relaunch'
  | 'stop'
  | 'force-stop'
  | 'reboot'
  | 'terminate'
  | 'delete-volume'
  /** EBS files (target: the snapshot or the new volume; see src/compute/vm-host.ts) */
  | 'snapshot-volume'
  | 'copy-snapshot'
  | 'delete-snapshot'
  | 'restore-volume';
export interface VmTask {
  readonly host: string;
  /** the instance, or for `delete-volume` the volume */
  readonly target: string;
  readonly kind: VmTaskKind;
}
export interface ClaimedTask extends VmTask {
  readonly id: number;
}

export interface Changes {
  /** new records (no `rev`) or changed ones (the `rev` they were read with: see conditional writes) */
  readonly instances?: readonly InstanceRecord[];
  /** deleting an instance deletes its tags, its root volume's and its derived primary interface's (they go with the instance) */
  readonly deleteInstances?: readonly string[];
  readonly putResources?: readonly ResourcePut[];
  /** deleting a resource deletes its tags too (and a launch template's versions) */
  readonly deleteResources?: readonly { readonly kind: StoredKind; readonly id: string }[];
  readonly putTags?: readonly TagRecord[];
  readonly deleteTags?: readonly { readonly resourceId: string; readonly key: string }[];
  readonly clientToken?: ClientTokenRecord;
  /** launch-template versions, one row each (a new version never rewrites the others) */
  readonly putTemplateVersions?: readonly { readonly templateId: string; readonly version: LaunchTemplateVersionRecord }[];
  readonly deleteTemplateVersions?: readonly { readonly templateId: string; readonly number: number }[];
  readonly putVmHosts?: readonly VmHostRecord[];
  /** work for VM hosts, queued with the state change that needs it (so neither is ever without the other) */
  readonly tasks?: readonly VmTask[];
}

/**
 * Which instances: one account and region, narrowed by what the indexes answer. Every list given is
 * "any of these"; lists together are "all of these". Results come in creation order (`seq`).
 */
export interface InstanceQuery {
  readonly account: string;
  readonly region: string;
  readonly ids?: readonly string[] | undefined;
  readonly states?: readonly StateName[] | undefined;
  readonly instanceTypes?: readonly string[] | undefined;
  readonly reservationIds?: readonly string[] | undefined;
  readonly availabilityZones?: readonly string[] | undefined;
  /** Dedicated Hosts (`h-…`) */
  readonly hostIds?: readonly string[] | undefined;
  /** tag filters: the resource has tag `key`, with one of `values` when given */
  readonly tags?: readonly { readonly key: string; readonly values?: readonly string[] | undefined }[] | undefined;
  /** paging: only instances created after this sequence number */
  readonly afterSeq?: number | undefined;
  readonly limit?: number | undefined;
}

/** A slice of a VM host's instances, in creation order (`seq`). */
export interface VmHostPage {
  readonly afterSeq?: number | undefined;
  readonly limit?: number | undefined;
}

/** A count of one account's instances in one region, by type and state (for quotas). */
export interface InstanceUsage {
  readonly instanceType: string;
  readonly state: StateName;
  readonly spot: boolean;
  /** on a Dedicated Host */
  readonly dedicated: boolean;
  readonly count: number;
}

export interface ResourceQuery {
  readonly account: string;
  readonly region: string;
  readonly ids?: readonly string[] | undefined;
  readonly names?: readonly string[] | undefined;
}

export interface TagQuery {
  readonly account: string;
  readonly region: string;
  readonly resourceIds?: readonly string[] | undefined;
  readonly resourceTypes?: readonly string[] | undefined;
  readonly keys?: readonly string[] | undefined;
  readonly values?: readonly string[] | undefined;
}

/** What can be read, inside a transaction or out of one. */
export interface StoreReader {
  instance(id: string): Promise<(InstanceRecord & Revisioned) | undefined>;
  /** the instance holding a public IPv4 address (its own, or an Elastic IP associated with it), if any (the unique index on held addresses) */
  instanceWithPublicIp(ip: string): Promise<(InstanceRecord & Revisioned) | undefined>;
  instances(q: InstanceQuery): Promise<(InstanceRecord & Revisioned)[]>;
  /**
   * Instances of one VM host (every account and region), optionally in some states; host `''`: the
   * instances on no host (records written before VM hosts were).
   */
  instancesOnVmHost(host: string, states?: readonly StateName[], page?: VmHostPage): Promise<(InstanceRecord & Revisioned)[]>;
  instanceUsage(account: string, region: string): Promise<InstanceUsage[]>;
  resource<K extends StoredKind>(kind: K, id: string): Promise<(ResourceDocs[K] & Revisioned) | undefined>;
  /** resources of a kind in one account and region, in creation order */
  resources<K extends StoredKind>(kind: K, q: ResourceQuery): Promise<(ResourceDocs[K] & Revisioned)[]>;
  /** every resource of a kind, in every account and region (small kinds only: hosts' capacity, purges) */
  allResources<K extends StoredKind>(kind: K): Promise<(ResourceDocs[K] & Revisioned)[]>;
  templateVersions(templateId: string): Promise<LaunchTemplateVersionRecord[]>;
  templateVersion(templateId: string, number: number): Promise<LaunchTemplateVersionRecord | undefined>;
  /** the version CreateLaunchTemplateVersion made with this ClientToken, if any */
  templateVersionByToken(templateId: string, token: string): Promise<LaunchTemplateVersionRecord | undefined>;
  /** how many versions each template has and its highest number (templates without versions are absent) */
  templateVersionStats(templateIds: readonly string[]): Promise<ReadonlyMap<string, { readonly count: number; readonly latest: number }>>;
  /** a resource's tags in the order they were first set */
  tagsOf(resourceId: string): Promise<ReadonlyMap<string, string>>;
  /** several resources' tags at once; a resource without tags is absent */
  tagsOfMany(resourceIds: readonly string[]): Promise<ReadonlyMap<string, ReadonlyMap<string, string>>>;
  /** tags in one account and region, by resource (in the order resources were first tagged) and key */
  tags(q: TagQuery): Promise<TagRecord[]>;
  clientToken(account: string, region: string, token: string): Promise<ClientTokenRecord | undefined>;
  vmHosts(): Promise<VmHostRecord[]>;
  /**
   * What each VM host runs now: its instances in pending, running, stopping or shutting-down, and their
   * vCPUs (cpu.coreCount × cpu.threadsPerCore, a column of its own) — for placement. Hosts running
   * nothing are absent.
   */
  vmHostLoad(): Promise<{ readonly host: string; readonly instances: number; readonly vcpus: number }[]>;
  vmHost(id: string): Promise<VmHostRecord | undefined>;
}

export interface StoreTransaction extends StoreReader {
  /** queues changes; they apply when the transaction function returns (see the module comment) */
  write(changes: Changes): void;
}

export interface TransactionOptions {
  /** a lock held until the transaction ends, across processes (e.g. `launch:<account>:<region>`) */
  readonly lock?: string;
}

export interface Store extends StoreReader {
  /** `sqlite` or `postgres` */
  readonly kind: string;
  /** where it is, for people (a file, or a database URL without its password) */
  readonly location: string;
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  commit(changes: Changes): Promise<void>;
  /** `count` consecutive values of a named sequence; returns the first */
  sequence(name: string, count?: number): Promise<number>;
  /**
   * Takes up to `limit` of a VM host's queued tasks, oldest first, removing them from the queue; two
   * callers never get the same task.
   */
  claimTasks(host: string, limit: number): Promise<ClaimedTask[]>;
  /** Records a heartbeat; false when the host is no longer `alive` (it was declared dead). */
  heartbeat(host: string, at: number): Promise<boolean>;
  /** Calls `fn` when tasks may have been queued for `host` by any process (a hint: claimTasks tells). */
  onTasks(host: string, fn: () => void): void;
  close(): Promise<void>;
}

/** A write that lost a race: the record changed since it was read, or a unique value is taken. */
export class StoreConflict extends Error {
  constructor(
    readonly reason: 'stale' | 'unique',
    detail: string,
  ) {
    super(`store conflict (${reason}): ${detail}`);
    this.name = 'StoreConflict';
  }
}
