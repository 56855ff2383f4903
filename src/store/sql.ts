/**
 * What the SQLite and PostgreSQL stores share, so that each rule exists once: the schema (tables and
 * indexes, with the few words the two dialects spell differently), the queries behind every read of
 * the contract (filters, order, paging: src/store/types.ts), the statements a transaction's changes
 * become (conditional writes included), and the reader both stores' transactions are.
 *
 * Statements are written with `?` placeholders; the PostgreSQL store numbers them (`numbered`).
 * Lists of values ("any of these") are `IN (?, ?, …)` on SQLite and `= ANY(?)` with one array
 * parameter on PostgreSQL.
 *
 * Records are kept whole as JSON text (`doc`); the columns beside it are derived from the record on
 * every write, for the indexes. `rev`, the record's revision, is a column only: it is never in `doc`,
 * and records read carry it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type InstanceRecord, derivedInterfaceId, rootVolumeId } from '../domain/instance.js';
import type { LaunchTemplateVersionRecord } from '../domain/launch-template.js';
import { OCCUPYING_STATES, type StateName } from '../domain/lifecycle.js';
import { groupStoreName } from '../domain/vpc.js';
import {
  type Changes,
  type ClaimedTask,
  type ClientTokenRecord,
  type InstanceQuery,
  type InstanceUsage,
  type ResourceDocs,
  type ResourcePut,
  type ResourceQuery,
  type Revisioned,
  type StoreReader,
  type StoreTransaction,
  type StoredKind,
  type TagQuery,
  type TagRecord,
  type VmHostPage,
  type VmHostRecord,
  type VmTaskKind,
} from './types.js';

export type Dialect = 'sqlite' | 'postgres';

export type Param = string | number | null | readonly string[];

/** A statement with `?` placeholders, and its parameters. */
export interface Statement {
  readonly text: string;
  readonly params: readonly Param[];
}

// --- schema ------------------------------------------------------------------------------------------

/**
 * Every table and index, as statements that can run on an empty database or again on one that has
 * some of them (the SQLite migration from the old store keeps two of its tables as they were).
 */
export function schema(d: Dialect): string[] {
  const big = d === 'postgres' ? 'BIGINT' : 'INTEGER';
  // An insertion-order column. SQLite: an INTEGER PRIMARY KEY is the rowid, which grows with each
  // insert (so the table's key becomes a UNIQUE constraint); PostgreSQL: an identity column.
  const order = (column: string) =>
    d === 'postgres' ? `${column} BIGINT GENERATED ALWAYS AS IDENTITY` : `${column} INTEGER PRIMARY KEY`;
  const key = (columns: string) => (d === 'postgres' ? `PRIMARY KEY (${columns})` : `UNIQUE (${columns})`);
  return [
    `CREATE TABLE IF NOT EXISTS instances (
       id TEXT PRIMARY KEY,
       account TEXT NOT NULL,
       region TEXT NOT NULL,
       seq ${big} NOT NULL,
       state TEXT NOT NULL,
       instance_type TEXT NOT NULL,
       vcpus INTEGER NOT NULL,
       reservation_id TEXT NOT NULL,
       availability_zone TEXT NOT NULL,
       host_id TEXT,
       vm_host TEXT,
       public_ip TEXT,
       spot INTEGER NOT NULL,
       dedicated INTEGER NOT NULL,
       client_token TEXT,
       rev ${big} NOT NULL,
       doc TEXT NOT NULL
     )`,
    'CREATE INDEX IF NOT EXISTS instances_scope ON instances (account, region, seq)',
    'CREATE INDEX IF NOT EXISTS instances_type ON instances (account, region, instance_type, seq)',
    'CREATE INDEX IF NOT EXISTS instances_state ON instances (account, region, state, seq)',
    'CREATE INDEX IF NOT EXISTS instances_reservation ON instances (reservation_id)',
    'CREATE INDEX IF NOT EXISTS instances_host ON instances (host_id)',
    'CREATE INDEX IF NOT EXISTS instances_vm_host ON instances (vm_host, state)',
    'CREATE UNIQUE INDEX IF NOT EXISTS instances_public_ip ON instances (public_ip) WHERE public_ip IS NOT NULL',
    // A resource's tags by resource: the key's leading column (no index of its own needed).
    `CREATE TABLE IF NOT EXISTS tags (
       ${order('ord')},
       resource_id TEXT NOT NULL,
       key TEXT NOT NULL,
       resource_type TEXT NOT NULL,
       account TEXT NOT NULL,
       region TEXT NOT NULL,
       value TEXT NOT NULL,
       ${key('resource_id, key')}
     )`,
    'CREATE INDEX IF NOT EXISTS tags_scope ON tags (account, region, key, value)',
    `CREATE TABLE IF NOT EXISTS resources (
       ${order('seq')},
       kind TEXT NOT NULL,
       id TEXT NOT NULL,
       account TEXT NOT NULL,
       region TEXT NOT NULL,
       name TEXT,
       rev ${big} NOT NULL,
       doc TEXT NOT NULL,
       ${key('kind, id')}
     )`,
    'CREATE UNIQUE INDEX IF NOT EXISTS resources_name ON resources (kind, account, region, name) WHERE name IS NOT NULL',
    'CREATE INDEX IF NOT EXISTS resources_scope ON resources (kind, account, region, seq)',
    // client_token: CreateLaunchTemplateVersion's, so a replay is found without reading every version.
    `CREATE TABLE IF NOT EXISTS launch_template_versions (
       template_id TEXT NOT NULL,
       number INTEGER NOT NULL,
       doc TEXT NOT NULL,
       client_token TEXT,
       PRIMARY KEY (template_id, number)
     )`,
    'CREATE INDEX IF NOT EXISTS launch_template_versions_token ON launch_template_versions (template_id, client_token) WHERE client_token IS NOT NULL',
    `CREATE TABLE IF NOT EXISTS client_tokens (
       account TEXT NOT NULL,
       region TEXT NOT NULL,
       token TEXT NOT NULL,
       fingerprint TEXT NOT NULL,
       reservation_id TEXT NOT NULL,
       PRIMARY KEY (account, region, token)
     )`,
    `CREATE TABLE IF NOT EXISTS sequences (
       name TEXT PRIMARY KEY,
       value ${big} NOT NULL
     )`,
    `CREATE TABLE IF NOT EXISTS vm_hosts (
       id TEXT PRIMARY KEY,
       name TEXT NOT NULL,
       driver TEXT NOT NULL,
       vcpus INTEGER NOT NULL,
       memory_mib INTEGER NOT NULL,
       started_at TEXT NOT NULL,
       heartbeat_at ${big} NOT NULL,
       state TEXT NOT NULL,
       rev ${big} NOT NULL
     )`,
    // SQLite: AUTOINCREMENT, so an ID is never reused (oldest first stays true after deletes).
    `CREATE TABLE IF NOT EXISTS vm_tasks (
       id ${d === 'postgres' ? 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT'},
       host TEXT NOT NULL,
       target TEXT NOT NULL,
       kind TEXT NOT NULL
     )`,
    'CREATE INDEX IF NOT EXISTS vm_tasks_host ON vm_tasks (host, id)',
    // What quotas and placement count, kept by triggers as instances change, so a launch reads a few
    // counters instead of counting the account's instances (or a host's) anew.
    `CREATE TABLE IF NOT EXISTS instance_usage (
       account TEXT NOT NULL,
       region TEXT NOT NULL,
       instance_type TEXT NOT NULL,
       state TEXT NOT NULL,
       spot INTEGER NOT NULL,
       dedicated INTEGER NOT NULL,
       vm_host TEXT NOT NULL,
       n ${big} NOT NULL,
       vcpus ${big} NOT NULL,
       PRIMARY KEY (account, region, instance_type, state, spot, dedicated, vm_host)
     )`,
    'CREATE INDEX IF NOT EXISTS instance_usage_host ON instance_usage (vm_host, state)',
    ...usageTriggers(d),
  ];
}

/** The usage key's columns, and what changing one of them moves from one counter to another. */
const USAGE_KEY = ['account', 'region', 'instance_type', 'state', 'spot', 'dedicated'] as const;

/** The triggers that keep instance_usage: one more on insert, one less on delete, both when a key column changes. */
function usageTriggers(d: Dialect): string[] {
  const values = (row: 'NEW' | 'OLD') => `${USAGE_KEY.map((c) => `${row}.${c}`).join(', ')}, COALESCE(${row}.vm_host, '')`;
  const matches = (row: 'NEW' | 'OLD') => `${USAGE_KEY.map((c) => `${c} = ${row}.${c}`).join(' AND ')} AND vm_host = COALESCE(${row}.vm_host, '')`;
  const columns = `${USAGE_KEY.join(', ')}, vm_host`;
  const add = (row: 'NEW') =>
    `INSERT INTO instance_usage (${columns}, n, vcpus) VALUES (${values(row)}, 1, ${row}.vcpus)
       ON CONFLICT (${columns}) DO UPDATE SET n = instance_usage.n + 1, vcpus = instance_usage.vcpus + excluded.vcpus`;
  const remove = (row: 'OLD') => `UPDATE instance_usage SET n = n - 1, vcpus = vcpus - ${row}.vcpus WHERE ${matches(row)}`;
  const changed = `${[...USAGE_KEY, 'vm_host', 'vcpus'].map((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`).join(' OR ')}`;
  if (d === 'sqlite') {
    // SQLite spells IS DISTINCT FROM as IS NOT.
    const changedSqlite = changed.replaceAll('IS DISTINCT FROM', 'IS NOT');
    return [
      `CREATE TRIGGER IF NOT EXISTS instances_usage_insert AFTER INSERT ON instances BEGIN ${add('NEW')}; END`,
      `CREATE TRIGGER IF NOT EXISTS instances_usage_delete AFTER DELETE ON instances BEGIN ${remove('OLD')}; END`,
      `CREATE TRIGGER IF NOT EXISTS instances_usage_update AFTER UPDATE ON instances WHEN ${changedSqlite} BEGIN ${remove('OLD')}; ${add('NEW')}; END`,
    ];
  }
  return [
    `CREATE OR REPLACE FUNCTION nestbox_usage_add() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${add('NEW')}; RETURN NULL; END $$`,
    `CREATE OR REPLACE FUNCTION nestbox_usage_remove() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${remove('OLD')}; RETURN NULL; END $$`,
    `CREATE OR REPLACE FUNCTION nestbox_usage_move() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${remove('OLD')}; ${add('NEW')}; RETURN NULL; END $$`,
    'CREATE OR REPLACE TRIGGER instances_usage_insert AFTER INSERT ON instances FOR EACH ROW EXECUTE FUNCTION nestbox_usage_add()',
    'CREATE OR REPLACE TRIGGER instances_usage_delete AFTER DELETE ON instances FOR EACH ROW EXECUTE FUNCTION nestbox_usage_remove()',
    `CREATE OR REPLACE TRIGGER instances_usage_update AFTER UPDATE ON instances FOR EACH ROW WHEN (${changed}) EXECUTE FUNCTION nestbox_usage_move()`,
  ];
}

/**
 * The unique constraints a write can break, by the name PostgreSQL reports (its index) and the
 * columns SQLite names in its message; a `StoreConflict('unique')` names the constraint.
 */
const UNIQUE_CONSTRAINTS: readonly { readonly name: string; readonly sqliteColumns: string }[] = [
  { name: 'instances_public_ip', sqliteColumns: 'instances.public_ip' },
  { name: 'resources_name', sqliteColumns: 'resources.kind, resources.account, resources.region, resources.name' },
  { name: 'client_tokens_pkey', sqliteColumns: 'client_tokens.account, client_tokens.region, client_tokens.token' },
];

/** The constraint a SQLite "UNIQUE constraint failed: t.a, t.b" message names, as PostgreSQL would name it. */
export function sqliteConstraintName(message: string): string {
  const columns = /constraint failed: (.*)$/.exec(message)?.[1] ?? message;
  return UNIQUE_CONSTRAINTS.find((c) => c.sqliteColumns === columns)?.name ?? columns;
}

// --- statements ----------------------------------------------------------------------------------------

/**
 * A piece of SQL with the parameters of its placeholders, so that pieces put together keep their
 * parameters in order: sql`a = ${x} AND ${piece}` (a value becomes `?`, a piece is inlined).
 */
export function sql(strings: TemplateStringsArray, ...values: readonly (Param | Statement)[]): Statement {
  let text = strings[0]!;
  const params: Param[] = [];
  values.forEach((v, i) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const piece = v as Statement;
      text += piece.text;
      params.push(...piece.params);
    } else {
      text += '?';
      params.push(v as Param);
    }
    text += strings[i + 1]!;
  });
  return { text, params };
}

/** Pieces joined by `separator`. */
export function joined(pieces: readonly Statement[], separator: string): Statement {
  return { text: pieces.map((p) => p.text).join(separator), params: pieces.flatMap((p) => p.params) };
}

/** `column` (a name, not a value) is one of `values`; none: nothing matches. */
function oneOf(d: Dialect, column: string, values: readonly string[]): Statement {
  if (values.length === 0) return sql`0 = 1`;
  if (values.length === 1) return { text: `${column} = ?`, params: [values[0]!] };
  if (d === 'postgres') return { text: `${column} = ANY(?)`, params: [values] };
  return { text: `${column} IN (${values.map(() => '?').join(', ')})`, params: values };
}

const NUMBERED = new Map<string, string>();
/** `?` placeholders as PostgreSQL's `$1, $2, …` (statements here hold no `?` of their own). */
export function numbered(text: string): string {
  let out = NUMBERED.get(text);
  if (out === undefined) {
    let n = 0;
    out = text.replace(/\?/g, () => `$${++n}`);
    if (NUMBERED.size >= 2000) NUMBERED.clear();
    NUMBERED.set(text, out);
  }
  return out;
}

/**
 * The instances a query asks for, in creation order. Each tag filter is a semi-join (`id IN` the tag
 * index's answer, rather than a per-row EXISTS) so that a selective tag lookup drives the query: the
 * (account, region, key, value) index finds the few resources, their IDs find the instances. Filters
 * with values go first, as they are the more selective (SQLite drives from the first).
 */
export function instanceQuery(d: Dialect, q: InstanceQuery): Statement {
  const where = [sql`account = ${q.account}`, sql`region = ${q.region}`];
  const lists: readonly [string, readonly string[] | undefined][] = [
    ['state', q.states],
    ['instance_type', q.instanceTypes],
    ['reservation_id', q.reservationIds],
    ['availability_zone', q.availabilityZones],
    ['host_id', q.hostIds],
  ];
  for (const [column, values] of lists) if (values) where.push(oneOf(d, column, values));
  const tags = [...(q.tags ?? [])].sort((x, y) => Number(y.values !== undefined) - Number(x.values !== undefined));
  for (const tag of tags) {
    const value = tag.values ? sql` AND ${oneOf(d, 't.value', tag.values)}` : sql``;
    where.push(sql`id IN (SELECT t.resource_id FROM tags t WHERE t.account = ${q.account} AND t.region = ${q.region} AND t.key = ${tag.key}${value})`);
  }
  if (q.afterSeq !== undefined) where.push(sql`seq > ${q.afterSeq}`);
  const limit = q.limit !== undefined ? sql` LIMIT ${q.limit}` : sql``;
  if (q.ids && d === 'postgres') {
    // Named instances are found by their IDs alone, then narrowed and ordered: PostgreSQL without
    // statistics yet (a table just filled, before autovacuum's ANALYZE) would otherwise walk the
    // account's instances in an index on (account, region, …), filtering by ID. OFFSET 0 keeps the
    // subquery from being merged into the query. (SQLite plans with fixed statistics: sqlite.ts.)
    const named = sql`(SELECT * FROM instances WHERE ${oneOf(d, 'id', q.ids)} OFFSET 0) named`;
    return sql`SELECT rev, doc FROM ${named} WHERE ${joined(where, ' AND ')} ORDER BY seq${limit}`;
  }
  if (q.ids) where.push(oneOf(d, 'id', q.ids));
  return sql`SELECT rev, doc FROM instances WHERE ${joined(where, ' AND ')} ORDER BY seq${limit}`;
}

/** A VM host's instances; host '': those on none. */
export function instancesOnVmHostQuery(d: Dialect, host: string, states: readonly StateName[] | undefined, page?: VmHostPage): Statement {
  const where = [host === '' ? sql`vm_host IS NULL` : sql`vm_host = ${host}`];
  if (states) where.push(oneOf(d, 'state', states));
  if (page?.afterSeq !== undefined) where.push(sql`seq > ${page.afterSeq}`);
  const limit = page?.limit !== undefined ? sql` LIMIT ${page.limit}` : sql``;
  return sql`SELECT rev, doc FROM instances WHERE ${joined(where, ' AND ')} ORDER BY seq${limit}`;
}


export function resourceQuery(d: Dialect, kind: StoredKind, q: ResourceQuery): Statement {
  const where = [sql`kind = ${kind}`, sql`account = ${q.account}`, sql`region = ${q.region}`];
  if (q.ids) where.push(oneOf(d, 'id', q.ids));
  if (q.names) where.push(oneOf(d, 'name', q.names));
  return sql`SELECT rev, doc FROM resources WHERE ${joined(where, ' AND ')} ORDER BY seq`;
}

/** Tags by resource, resources in the order they were first tagged, each resource's in the order set. */
export function tagQuery(d: Dialect, q: TagQuery): Statement {
  const where = [sql`account = ${q.account}`, sql`region = ${q.region}`];
  const lists: readonly [string, readonly string[] | undefined][] = [
    ['resource_id', q.resourceIds],
    ['resource_type', q.resourceTypes],
    ['key', q.keys],
    ['value', q.values],
  ];
  for (const [column, values] of lists) if (values) where.push(oneOf(d, column, values));
  return sql`SELECT resource_id, resource_type, account, region, key, value FROM tags WHERE ${joined(where, ' AND ')}
     ORDER BY (SELECT min(f.ord) FROM tags f WHERE f.resource_id = tags.resource_id), ord`;
}

export const tagsOfManyQuery = (d: Dialect, resourceIds: readonly string[]): Statement =>
  sql`SELECT resource_id, key, value FROM tags WHERE ${oneOf(d, 'resource_id', resourceIds)} ORDER BY ord`;

const fixed = (text: string, ...params: Param[]): Statement => ({ text, params });

const INSTANCE_BY_ID = 'SELECT rev, doc FROM instances WHERE id = ?';
// instances_public_ip, the unique index on held addresses, answers it.
const INSTANCE_BY_PUBLIC_IP = 'SELECT rev, doc FROM instances WHERE public_ip = ?';
// Both read the counters the usage triggers keep (schema), not the instances.
const INSTANCE_USAGE = `SELECT instance_type, state, spot, dedicated, CAST(sum(n) AS INTEGER) AS n FROM instance_usage
   WHERE account = ? AND region = ? AND n > 0 GROUP BY instance_type, state, spot, dedicated`;
const RESOURCE_BY_ID = 'SELECT rev, doc FROM resources WHERE kind = ? AND id = ?';
const RESOURCES_OF_KIND = 'SELECT rev, doc FROM resources WHERE kind = ? ORDER BY seq';
const TEMPLATE_VERSIONS = 'SELECT doc FROM launch_template_versions WHERE template_id = ? ORDER BY number';
const TEMPLATE_VERSION = 'SELECT doc FROM launch_template_versions WHERE template_id = ? AND number = ?';
const TEMPLATE_VERSION_BY_TOKEN = 'SELECT doc FROM launch_template_versions WHERE template_id = ? AND client_token = ? ORDER BY number LIMIT 1';
const TAGS_OF = 'SELECT key, value FROM tags WHERE resource_id = ? ORDER BY ord';
const CLIENT_TOKEN = 'SELECT account, region, token, fingerprint, reservation_id FROM client_tokens WHERE account = ? AND region = ? AND token = ?';
const VM_HOST_LOAD = `SELECT vm_host AS host, CAST(sum(n) AS INTEGER) AS instances, CAST(sum(vcpus) AS INTEGER) AS vcpus FROM instance_usage
   WHERE vm_host <> '' AND n > 0 AND state IN (${OCCUPYING_STATES.map((s) => `'${s}'`).join(', ')}) GROUP BY vm_host ORDER BY vm_host`;
const VM_HOST_COLUMNS = 'id, name, driver, vcpus, memory_mib, started_at, heartbeat_at, state, rev';
const VM_HOSTS = `SELECT ${VM_HOST_COLUMNS} FROM vm_hosts ORDER BY started_at, id`;
const VM_HOST = `SELECT ${VM_HOST_COLUMNS} FROM vm_hosts WHERE id = ?`;

/** `count` more values of a sequence; the row holds the last value issued. */
export const sequenceStatement = (name: string, count: number): Statement =>
  fixed(
    'INSERT INTO sequences (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = sequences.value + excluded.value RETURNING value',
    name,
    count,
  );

/** Removes and returns a host's oldest tasks; on PostgreSQL, rows another claimer holds are skipped. */
export const claimTasksStatement = (d: Dialect, host: string, limit: number): Statement =>
  fixed(
    `DELETE FROM vm_tasks WHERE id IN (SELECT id FROM vm_tasks WHERE host = ? ORDER BY id${d === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''} LIMIT ?)
     RETURNING id, host, target, kind`,
    host,
    limit,
  );

/** A heartbeat is a change: a decision taken on the host's earlier record (declaring it dead) is stale. */
export const heartbeatStatement = (host: string, at: number): Statement =>
  fixed("UPDATE vm_hosts SET heartbeat_at = ?, rev = rev + 1 WHERE id = ? AND state = 'alive'", at, host);

// --- writes ----------------------------------------------------------------------------------------------

/** A statement of a transaction's writes; with `mustChange`, it must change a row, else the transaction fails (stale). */
export interface WriteOp extends Statement {
  readonly mustChange?: string;
}

const vcpusOf = (rec: InstanceRecord): number => rec.cpu.coreCount * rec.cpu.threadsPerCore;

const INSTANCE_COLUMNS = [
  'account',
  'region',
  'seq',
  'state',
  'instance_type',
  'vcpus',
  'reservation_id',
  'availability_zone',
  'host_id',
  'vm_host',
  'public_ip',
  'spot',
  'dedicated',
  'client_token',
  'rev',
  'doc',
] as const;
const instanceValues = (rec: InstanceRecord, rev: number, doc: string): Param[] => [
  rec.account,
  rec.region,
  rec.seq,
  rec.state,
  rec.instanceType,
  vcpusOf(rec),
  rec.reservationId,
  rec.availabilityZone,
  rec.hostId ?? null,
  rec.vmHost ?? null,
  rec.publicIp ?? null,
  rec.instanceLifecycle === 'spot' ? 1 : 0,
  rec.hostId !== undefined ? 1 : 0,
  rec.clientToken ?? null,
  rev,
  doc,
];
/** The columns of an instance row that come from its record: all but the revision and the document. */
const INSTANCE_KEY_COLUMNS = INSTANCE_COLUMNS.length - 2;

/**
 * The instance rows a store read last, by ID: the revision and document each had. A record written
 * back from the revision it was read at is an update of a row whose columns are known, so only the
 * columns that changed are written, and the database maintains only their indexes: a boot report
 * changes `state`, not the account, Region, type or reservation indexes (an UPDATE that names every
 * column costs SQLite several times more). A row is identified by (ID, revision): every write of an
 * instance row advances its revision (writeOps), so what was read at a revision is what the row holds
 * while its revision is still that one — and the update is conditional on exactly that. Bounded: the
 * oldest reads are forgotten, and a record read longer ago is written whole.
 */
export class RowsAsRead {
  private readonly rows = new Map<string, { readonly rev: number; readonly doc: string }>();
  constructor(private readonly capacity = 10_000) {}

  note(id: string, rev: number, doc: string): void {
    if (this.rows.delete(id) === false && this.rows.size >= this.capacity) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(id, { rev, doc });
  }

  /** The instance as its row held it at `rev`, if that is the revision this store read last. */
  instanceAt(id: string, rev: number): InstanceRecord | undefined {
    const row = this.rows.get(id);
    return row?.rev === rev ? (JSON.parse(row.doc) as InstanceRecord) : undefined;
  }
}

/** `UPDATE instances` of the key columns changed (by index in INSTANCE_COLUMNS), the revision and the document. */
const partialInstanceUpdates = new Map<number, string>();
function partialInstanceUpdate(changed: readonly number[]): string {
  const mask = changed.reduce((m, i) => m | (1 << i), 0);
  let text = partialInstanceUpdates.get(mask);
  if (text === undefined) {
    const set = [...changed.map((i) => `${INSTANCE_COLUMNS[i]} = ?`), 'rev = ?', 'doc = ?'];
    text = `UPDATE instances SET ${set.join(', ')} WHERE id = ? AND rev = ?`;
    partialInstanceUpdates.set(mask, text);
  }
  return text;
}

/** The update of an instance row from revision `expect`: only what changed, when the row as read is known. */
function instanceUpdate(rec: InstanceRecord, rev: number, expect: number, doc: string, asRead: RowsAsRead | undefined): [string, Param[]] {
  const values = instanceValues(rec, rev, doc);
  const old = asRead?.instanceAt(rec.id, expect);
  if (!old) return [UPDATE_INSTANCE, [...values, rec.id, expect]];
  const before = instanceValues(old, expect, '');
  const changed: number[] = [];
  for (let i = 0; i < INSTANCE_KEY_COLUMNS; i++) if (values[i] !== before[i]) changed.push(i);
  return [partialInstanceUpdate(changed), [...changed.map((i) => values[i]!), rev, doc, rec.id, expect]];
}

const RESOURCE_COLUMNS = ['account', 'region', 'name', 'rev', 'doc'] as const;
/** Key pairs and launch templates have names, unique per account and region. */
/** The unique name a resource is stored under (resources_name), or null for kinds without one. */
const nameOf = (put: ResourcePut): string | null => {
  switch (put.kind) {
    case 'key-pair':
    case 'launch-template':
      return put.doc.name;
    case 'security-group':
      return groupStoreName(put.doc.vpcId, put.doc.name);
    // An Elastic IP's address: one account never holds it twice in a Region (src/domain/elastic-ip.ts).
    case 'elastic-ip':
      return put.doc.publicIp;
    // An image's name: unique per account and Region (CreateImage's InvalidAMIName.Duplicate).
    case 'image':
      return put.doc.name;
    default:
      return null;
  }
};
const VM_HOST_WRITE_COLUMNS = ['name', 'driver', 'vcpus', 'memory_mib', 'started_at', 'heartbeat_at', 'state', 'rev'] as const;

const insertSql = (table: string, keys: readonly string[], columns: readonly string[]) =>
  `INSERT INTO ${table} (${[...keys, ...columns].join(', ')}) VALUES (${[...keys, ...columns].map(() => '?').join(', ')}) ON CONFLICT (${keys.join(', ')}) DO NOTHING`;
const updateSql = (table: string, keys: readonly string[], columns: readonly string[]) =>
  `UPDATE ${table} SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE ${keys.map((k) => `${k} = ?`).join(' AND ')} AND rev = ?`;
const INSERT_INSTANCE = insertSql('instances', ['id'], INSTANCE_COLUMNS);
const UPDATE_INSTANCE = updateSql('instances', ['id'], INSTANCE_COLUMNS);
const INSERT_RESOURCE = insertSql('resources', ['kind', 'id'], RESOURCE_COLUMNS);
const UPDATE_RESOURCE = updateSql('resources', ['kind', 'id'], RESOURCE_COLUMNS);
const INSERT_VM_HOST = insertSql('vm_hosts', ['id'], VM_HOST_WRITE_COLUMNS);
const UPDATE_VM_HOST = updateSql('vm_hosts', ['id'], VM_HOST_WRITE_COLUMNS);
const DELETE_INSTANCE = 'DELETE FROM instances WHERE id = ?';
const DELETE_TAGS_OF_INSTANCE = 'DELETE FROM tags WHERE resource_id IN (?, ?, ?)';
const DELETE_RESOURCE = 'DELETE FROM resources WHERE kind = ? AND id = ?';
const DELETE_TAGS_OF = 'DELETE FROM tags WHERE resource_id = ?';
const DELETE_TEMPLATE_VERSIONS = 'DELETE FROM launch_template_versions WHERE template_id = ?';
const PUT_TEMPLATE_VERSION =
  'INSERT INTO launch_template_versions (template_id, number, doc, client_token) VALUES (?, ?, ?, ?) ON CONFLICT (template_id, number) DO UPDATE SET doc = excluded.doc, client_token = excluded.client_token';
const DELETE_TEMPLATE_VERSION = 'DELETE FROM launch_template_versions WHERE template_id = ? AND number = ?';
// An upsert keeps the row, and so the tag's place in the order tags were first set.
const PUT_TAG =
  'INSERT INTO tags (resource_id, key, resource_type, account, region, value) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (resource_id, key) DO UPDATE SET value = excluded.value';
const DELETE_TAG = 'DELETE FROM tags WHERE resource_id = ? AND key = ?';
const PUT_CLIENT_TOKEN = 'INSERT INTO client_tokens (account, region, token, fingerprint, reservation_id) VALUES (?, ?, ?, ?, ?)';
const PUT_TASK = 'INSERT INTO vm_tasks (host, target, kind) VALUES (?, ?, ?)';

/** A record's document: the record without its revision. */
function docOf(rec: object & Revisioned): string {
  const { rev: _, ...doc } = rec;
  return JSON.stringify(doc);
}

/**
 * The revisions a transaction writes. A record written twice in one transaction with the revision it
 * was read with is one change after the other (the second expects the first's revision), not a conflict.
 */
class Revisions {
  private readonly written = new Map<string, { readonly read: number | undefined; readonly now: number }>();

  /** what the stored record must have (undefined: no record), and the revision it gets */
  next(key: string, read: number | undefined): { readonly expect: number | undefined; readonly rev: number } {
    const seen = this.written.get(key);
    const expect = seen !== undefined && seen.read === read ? seen.now : read;
    const rev = (expect ?? 0) + 1;
    this.written.set(key, { read, now: rev });
    return { expect, rev };
  }
}

/** The statements a transaction's changes become, in the order they were written. */
export function writeOps(batches: readonly Changes[], asRead?: RowsAsRead): WriteOp[] {
  const ops: WriteOp[] = [];
  const op = (text: string, params: Param[], mustChange?: string) => ops.push(mustChange === undefined ? { text, params } : { text, params, mustChange });
  const revs = new Revisions();
  /** an insert when the record is new, else an update from the revision it was read with */
  const put = (what: string, key: string, read: number | undefined, insert: (rev: number) => [string, Param[]], update: (rev: number, expect: number) => [string, Param[]]) => {
    const { expect, rev } = revs.next(key, read);
    if (expect === undefined) op(...insert(rev), `${what} exists already`);
    else op(...update(rev, expect), `${what} changed since it was read (revision ${expect}) or is gone`);
  };
  for (const c of batches) {
    for (const rec of c.instances ?? []) {
      const doc = docOf(rec);
      put(
        `instance ${rec.id}`,
        `instance\u0000${rec.id}`,
        rec.rev,
        (rev) => [INSERT_INSTANCE, [rec.id, ...instanceValues(rec, rev, doc)]],
        (rev, expect) => instanceUpdate(rec, rev, expect, doc, asRead),
      );
    }
    for (const id of c.deleteInstances ?? []) {
      op(DELETE_INSTANCE, [id]);
      op(DELETE_TAGS_OF_INSTANCE, [id, rootVolumeId({ id }), derivedInterfaceId({ id })]);
    }
    for (const r of c.putResources ?? []) {
      const doc = docOf(r.doc);
      const values = (rev: number): Param[] => [r.doc.account, r.doc.region, nameOf(r), rev, doc];
      put(
        `${r.kind} ${r.doc.id}`,
        `${r.kind}\u0000${r.doc.id}`,
        (r.doc as Revisioned).rev,
        (rev) => [INSERT_RESOURCE, [r.kind, r.doc.id, ...values(rev)]],
        (rev, expect) => [UPDATE_RESOURCE, [...values(rev), r.kind, r.doc.id, expect]],
      );
    }
    for (const r of c.deleteResources ?? []) {
      op(DELETE_RESOURCE, [r.kind, r.id]);
      op(DELETE_TAGS_OF, [r.id]);
      if (r.kind === 'launch-template') op(DELETE_TEMPLATE_VERSIONS, [r.id]);
    }
    for (const { templateId, version } of c.putTemplateVersions ?? []) op(PUT_TEMPLATE_VERSION, [templateId, version.number, JSON.stringify(version), version.clientToken ?? null]);
    for (const v of c.deleteTemplateVersions ?? []) op(DELETE_TEMPLATE_VERSION, [v.templateId, v.number]);
    for (const t of c.putTags ?? []) op(PUT_TAG, [t.resourceId, t.key, t.resourceType, t.account, t.region, t.value]);
    for (const t of c.deleteTags ?? []) op(DELETE_TAG, [t.resourceId, t.key]);
    const ct = c.clientToken;
    if (ct) op(PUT_CLIENT_TOKEN, [ct.account, ct.region, ct.token, ct.fingerprint, ct.reservationId]);
    for (const h of c.putVmHosts ?? []) {
      const values = (rev: number): Param[] => [h.name, h.driver, h.vcpus, h.memoryMiB, h.startedAt, h.heartbeatAt, h.state, rev];
      put(
        `VM host ${h.id}`,
        `vm-host\u0000${h.id}`,
        h.rev,
        (rev) => [INSERT_VM_HOST, [h.id, ...values(rev)]],
        (rev, expect) => [UPDATE_VM_HOST, [...values(rev), h.id, expect]],
      );
    }
    for (const t of c.tasks ?? []) op(PUT_TASK, [t.host, t.target, t.kind]);
  }
  return ops;
}

/** The VM hosts a transaction's changes queue tasks for. */
export const taskHosts = (batches: readonly Changes[]): Set<string> => new Set(batches.flatMap((c) => (c.tasks ?? []).map((t) => t.host)));

/** Roughly how many bytes a transaction writes (SQLite's WAL bound: sqlite.ts). */
export const bytesWritten = (ops: readonly WriteOp[]): number =>
  ops.reduce((n, op) => n + 4096 + op.params.reduce<number>((m, p) => m + (typeof p === 'string' ? p.length : 8), 0), 0);

// --- reads -----------------------------------------------------------------------------------------------

/** Runs a read: the rows it returns. */
export type Query = <R>(s: Statement) => Promise<R[]>;

interface DocRow {
  readonly rev: number;
  readonly doc: string;
}
interface TagRow {
  readonly resource_id: string;
  readonly resource_type: string;
  readonly account: string;
  readonly region: string;
  readonly key: string;
  readonly value: string;
}
interface VmHostRow {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly vcpus: number;
  readonly memory_mib: number;
  readonly started_at: string;
  readonly heartbeat_at: number;
  readonly state: VmHostRecord['state'];
  readonly rev: number;
}

/** A record from its row: the document, with its revision. */
function record<T>(row: DocRow): T & Revisioned {
  const rec = JSON.parse(row.doc) as T & { rev?: number };
  rec.rev = Number(row.rev);
  return rec;
}

const vmHostRecord = (r: VmHostRow): VmHostRecord => ({
  id: r.id,
  name: r.name,
  driver: r.driver,
  vcpus: r.vcpus,
  memoryMiB: r.memory_mib,
  startedAt: r.started_at,
  heartbeatAt: Number(r.heartbeat_at),
  state: r.state,
  rev: Number(r.rev),
});

export const claimedTask = (r: { id: number; host: string; target: string; kind: string }): ClaimedTask => ({
  id: Number(r.id),
  host: r.host,
  target: r.target,
  kind: r.kind as VmTaskKind,
});

/** Every read of the contract, over a connection (or a transaction's) that runs statements. */
export abstract class SqlReader implements StoreReader {
  /** `asRead`: where the instance rows read are noted, for updates of only what changed (RowsAsRead) */
  constructor(
    protected readonly dialect: Dialect,
    protected readonly asRead?: RowsAsRead,
  ) {}

  /** runs a read: the rows it returns */
  protected abstract query<R>(s: Statement): Promise<R[]>;

  private async docs<T>(s: Statement): Promise<(T & Revisioned)[]> {
    return (await this.query<DocRow>(s)).map((row) => record<T>(row));
  }

  private async doc<T>(s: Statement): Promise<(T & Revisioned) | undefined> {
    const [row] = await this.query<DocRow>(s);
    return row ? record<T>(row) : undefined;
  }

  /** Instance records from their rows, each row noted as read. */
  private async instanceDocs(s: Statement): Promise<(InstanceRecord & Revisioned)[]> {
    const rows = await this.query<DocRow>(s);
    const asRead = this.asRead;
    return rows.map((row) => {
      const rec = record<InstanceRecord>(row);
      asRead?.note(rec.id, Number(row.rev), row.doc);
      return rec;
    });
  }

  async instance(id: string): Promise<(InstanceRecord & Revisioned) | undefined> {
    return (await this.instanceDocs(fixed(INSTANCE_BY_ID, id)))[0];
  }

  async instanceWithPublicIp(ip: string): Promise<(InstanceRecord & Revisioned) | undefined> {
    return (await this.instanceDocs(fixed(INSTANCE_BY_PUBLIC_IP, ip)))[0];
  }

  instances(q: InstanceQuery): Promise<(InstanceRecord & Revisioned)[]> {
    return this.instanceDocs(instanceQuery(this.dialect, q));
  }

  instancesOnVmHost(host: string, states?: readonly StateName[], page?: VmHostPage): Promise<(InstanceRecord & Revisioned)[]> {
    return this.instanceDocs(instancesOnVmHostQuery(this.dialect, host, states, page));
  }

  async instanceUsage(account: string, region: string): Promise<InstanceUsage[]> {
    const rows = await this.query<{ instance_type: string; state: StateName; spot: number; dedicated: number; n: number }>(
      fixed(INSTANCE_USAGE, account, region),
    );
    return rows.map((r) => ({ instanceType: r.instance_type, state: r.state, spot: r.spot === 1, dedicated: r.dedicated === 1, count: Number(r.n) }));
  }

  resource<K extends StoredKind>(kind: K, id: string): Promise<(ResourceDocs[K] & Revisioned) | undefined> {
    return this.doc<ResourceDocs[K]>(fixed(RESOURCE_BY_ID, kind, id));
  }

  resources<K extends StoredKind>(kind: K, q: ResourceQuery): Promise<(ResourceDocs[K] & Revisioned)[]> {
    return this.docs<ResourceDocs[K]>(resourceQuery(this.dialect, kind, q));
  }

  allResources<K extends StoredKind>(kind: K): Promise<(ResourceDocs[K] & Revisioned)[]> {
    return this.docs<ResourceDocs[K]>(fixed(RESOURCES_OF_KIND, kind));
  }

  async templateVersions(templateId: string): Promise<LaunchTemplateVersionRecord[]> {
    const rows = await this.query<{ doc: string }>(fixed(TEMPLATE_VERSIONS, templateId));
    return rows.map((r) => JSON.parse(r.doc) as LaunchTemplateVersionRecord);
  }

  async templateVersionByToken(templateId: string, token: string): Promise<LaunchTemplateVersionRecord | undefined> {
    const [row] = await this.query<{ doc: string }>(fixed(TEMPLATE_VERSION_BY_TOKEN, templateId, token));
    return row ? (JSON.parse(row.doc) as LaunchTemplateVersionRecord) : undefined;
  }

  async templateVersionStats(templateIds: readonly string[]): Promise<ReadonlyMap<string, { count: number; latest: number }>> {
    if (templateIds.length === 0) return new Map();
    const rows = await this.query<{ template_id: string; n: number; latest: number }>(
      sql`SELECT template_id, count(*) AS n, max(number) AS latest FROM launch_template_versions WHERE ${oneOf(this.dialect, 'template_id', templateIds)} GROUP BY template_id`,
    );
    return new Map(rows.map((r) => [r.template_id, { count: Number(r.n), latest: Number(r.latest) }]));
  }

  async templateVersion(templateId: string, number: number): Promise<LaunchTemplateVersionRecord | undefined> {
    const [row] = await this.query<{ doc: string }>(fixed(TEMPLATE_VERSION, templateId, number));
    return row ? (JSON.parse(row.doc) as LaunchTemplateVersionRecord) : undefined;
  }

  async tagsOf(resourceId: string): Promise<ReadonlyMap<string, string>> {
    const rows = await this.query<{ key: string; value: string }>(fixed(TAGS_OF, resourceId));
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  async tagsOfMany(resourceIds: readonly string[]): Promise<ReadonlyMap<string, ReadonlyMap<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    if (resourceIds.length === 0) return out;
    const rows = await this.query<{ resource_id: string; key: string; value: string }>(tagsOfManyQuery(this.dialect, [...new Set(resourceIds)]));
    const byId = new Map<string, Map<string, string>>();
    for (const r of rows) {
      let tags = byId.get(r.resource_id);
      if (!tags) byId.set(r.resource_id, (tags = new Map()));
      tags.set(r.key, r.value);
    }
    // in the order asked for
    for (const id of resourceIds) {
      const tags = byId.get(id);
      if (tags) out.set(id, tags);
    }
    return out;
  }

  async tags(q: TagQuery): Promise<TagRecord[]> {
    const rows = await this.query<TagRow>(tagQuery(this.dialect, q));
    return rows.map((r) => ({ resourceId: r.resource_id, resourceType: r.resource_type, account: r.account, region: r.region, key: r.key, value: r.value }));
  }

  async clientToken(account: string, region: string, token: string): Promise<ClientTokenRecord | undefined> {
    const [row] = await this.query<{ account: string; region: string; token: string; fingerprint: string; reservation_id: string }>(
      fixed(CLIENT_TOKEN, account, region, token),
    );
    return row && { account: row.account, region: row.region, token: row.token, fingerprint: row.fingerprint, reservationId: row.reservation_id };
  }

  async vmHosts(): Promise<VmHostRecord[]> {
    return (await this.query<VmHostRow>(fixed(VM_HOSTS))).map(vmHostRecord);
  }

  async vmHostLoad(): Promise<{ readonly host: string; readonly instances: number; readonly vcpus: number }[]> {
    const rows = await this.query<{ host: string; instances: number; vcpus: number }>(fixed(VM_HOST_LOAD));
    return rows.map((r) => ({ host: r.host, instances: Number(r.instances), vcpus: Number(r.vcpus) }));
  }

  async vmHost(id: string): Promise<VmHostRecord | undefined> {
    const [row] = await this.query<VmHostRow>(fixed(VM_HOST, id));
    return row && vmHostRecord(row);
  }
}

/** A transaction: reads (on the transaction's connection), and the changes it will write when its function returns. */
export class SqlTransaction extends SqlReader implements StoreTransaction {
  readonly changes: Changes[] = [];

  constructor(
    dialect: Dialect,
    private readonly run: Query,
    asRead?: RowsAsRead,
  ) {
    super(dialect, asRead);
  }

  protected query<R>(s: Statement): Promise<R[]> {
    return this.run<R>(s);
  }

  write(changes: Changes): void {
    this.changes.push(changes);
  }
}

// --- shared between the stores ---------------------------------------------------------------------------

/**
 * Whether transactions started inside another's function are looked for (see runBody): under the test
 * runner (which sets NODE_TEST_CONTEXT for its test files and the servers they start) or with
 * NESTBOX_CHECK_TRANSACTIONS=1. The check needs AsyncLocalStorage, whose hooks (Node 20) make every
 * promise of the process dearer, about a tenth of a request's time, so a server does without it: no
 * code of nestbox nests transactions, which the tests make sure of.
 */
const CHECK_NESTING = process.env.NODE_TEST_CONTEXT !== undefined || process.env.NESTBOX_CHECK_TRANSACTIONS === '1';
const inBody = CHECK_NESTING ? new AsyncLocalStorage<{ open: boolean }>() : undefined;

/**
 * Runs a transaction's function, refusing (when CHECK_NESTING) a transaction or commit started from
 * inside another's function: it would wait for the outer one (SQLite's mutex, a PostgreSQL lock or row
 * the outer one holds) while the outer one waits for it. Work the function started and left running is
 * not "inside".
 */
export async function runBody<T>(fn: () => Promise<T>): Promise<T> {
  if (!inBody) return fn();
  const body = { open: true };
  try {
    return await inBody.run(body, fn);
  } finally {
    body.open = false;
  }
}

export function refuseNested(): void {
  if (inBody?.getStore()?.open) {
    throw new Error('a store transaction was started inside another transaction function: use the transaction (tx) given to it');
  }
}

/**
 * In-process onTasks listeners, by VM host. They are called once the event loop has finished what it
 * was doing (setImmediate), not inside the commit that queued the tasks: the request that committed
 * them answers first, and the tasks of all the commits of one turn are taken together.
 */
export class TaskListeners {
  private readonly byHost = new Map<string, Set<() => void>>();
  private readonly due = new Set<string>();
  private timer: NodeJS.Immediate | undefined;
  constructor(private readonly warn: (line: string) => void) {}

  add(host: string, fn: () => void): void {
    let set = this.byHost.get(host);
    if (!set) this.byHost.set(host, (set = new Set()));
    set.add(fn);
  }

  get size(): number {
    return this.byHost.size;
  }

  fire(hosts: Iterable<string>): void {
    for (const host of hosts) if (this.byHost.has(host)) this.due.add(host);
    if (this.due.size > 0) this.timer ??= setImmediate(() => this.call());
  }

  private call(): void {
    this.timer = undefined;
    const hosts = [...this.due];
    this.due.clear();
    for (const host of hosts) {
      for (const fn of this.byHost.get(host) ?? []) {
        try {
          fn();
        } catch (e) {
          this.warn(`a task listener of VM host ${host} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }

  /** Calls nobody any more (the store is closing). */
  close(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
    this.due.clear();
    this.byHost.clear();
  }

  fireAll(): void {
    this.fire([...this.byHost.keys()]);
  }
}
