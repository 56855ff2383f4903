/**
 * The embedded store: SQLite (better-sqlite3, WAL), one process (nestbox holds the data directory's
 * lock: src/lock.ts). Reads query SQLite (prepared statements, cached); nothing is mirrored in memory.
 *
 * Transactions: an in-process mutex runs one transaction function at a time, so every `lock` is held
 * by whichever transaction runs (there is no other process to interleave with). The function's reads
 * go to the database as they come; its writes are buffered, and when it returns they apply in one
 * synchronous SQLite transaction that checks each conditional write (an update from the revision
 * read, or an insert of an ID that must not exist: src/store/sql.ts) and each unique constraint.
 * Readers outside the transaction never see half of one. Reads outside a transaction can still be
 * stale by the time a transaction writes what it decided on them: the conditional writes catch that.
 *
 * Durability as before: WAL, synchronous=NORMAL (or FULL with `fsync`), checkpoints off the request
 * path (checkpointer.ts) with a bound on the WAL's size.
 */
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defaultNetworkOf } from '../domain/network.js';
import { REGIONS } from '../domain/regions.js';
import { type Checkpointer, startCheckpointer } from './checkpointer.js';
import {
  RowsAsRead,
  SqlReader,
  SqlTransaction,
  type Statement,
  TaskListeners,
  bytesWritten,
  claimTasksStatement,
  claimedTask,
  heartbeatStatement,
  refuseNested,
  runBody,
  schema,
  sequenceStatement,
  sqliteConstraintName,
  taskHosts,
  writeOps,
} from './sql.js';
import { type Changes, type ClaimedTask, type Store, StoreConflict, type StoreTransaction, type TransactionOptions } from './types.js';

export interface SqliteStoreOptions {
  /** directory for nestbox.db; ':memory:' keeps nothing on disk (tests) */
  readonly dataDir: string;
  /** fsync every commit (synchronous=FULL) instead of at WAL checkpoints (NORMAL) */
  readonly fsync?: boolean;
  /** how often the WAL is checkpointed, off the request path (default 1000 ms) */
  readonly checkpointIntervalMs?: number;
  /** a WAL file larger than this is checkpointed with truncation at once (default 16 MiB; see checkpointer.ts) */
  readonly walTruncateBytes?: number;
  /** called with the WAL's size each time it was checkpointed with truncation (tests) */
  readonly onWalTruncate?: (walBytes: number) => void;
  readonly warn?: (line: string) => void;
}

/** Sequence values taken from the database at a time (see sequence()). */
const SEQUENCE_BLOCK = 64;

/** The schema version (user_version) this store writes. 1 to 3 were the in-memory store's (store.ts). */
const VERSION = 4;

/**
 * The old store's schema changes, user_version 0 → 1 → 2 → 3, as it ran them: a database it left at
 * 1 or 2 is brought to 3 first, then moved to this store's tables (upgradeFromVersion3).
 */
const OLD_MIGRATIONS: readonly string[] = [
  `CREATE TABLE instances (id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, doc TEXT NOT NULL);
   CREATE TABLE tags (
     resource_id TEXT NOT NULL, key TEXT NOT NULL, resource_type TEXT NOT NULL, value TEXT NOT NULL,
     PRIMARY KEY (resource_id, key)
   );
   CREATE TABLE client_tokens (
     account TEXT NOT NULL, region TEXT NOT NULL, token TEXT NOT NULL, fingerprint TEXT NOT NULL, reservation_id TEXT NOT NULL,
     PRIMARY KEY (account, region, token)
   );`,
  `CREATE TABLE resources (
     kind TEXT NOT NULL, id TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, doc TEXT NOT NULL,
     PRIMARY KEY (kind, id)
   );`,
  `CREATE TABLE launch_template_versions (
     template_id TEXT NOT NULL, number INTEGER NOT NULL, doc TEXT NOT NULL,
     PRIMARY KEY (template_id, number)
   );
   INSERT INTO launch_template_versions (template_id, number, doc)
     SELECT r.id, json_extract(v.value, '$.number'), v.value
     FROM resources AS r, json_each(r.doc, '$.versions') AS v
     WHERE r.kind = 'launch-template';
   UPDATE resources SET doc = json_remove(doc, '$.versions') WHERE kind = 'launch-template';`,
];

/**
 * The old store's instances, tags and resources become this store's (client tokens are kept as they
 * are; template versions get their ClientToken as a column): the indexed columns from each document, revision 1, a tag's
 * account and region from what it tags (a root volume `vol-X` is instance `i-X`'s), and the
 * insertion order (rowid) kept. The instance sequence continues after the highest `seq`.
 */
const FROM_VERSION_3 = `
  ALTER TABLE instances RENAME TO old_instances;
  ALTER TABLE tags RENAME TO old_tags;
  ALTER TABLE resources RENAME TO old_resources;
  ALTER TABLE launch_template_versions ADD COLUMN client_token TEXT;
  UPDATE launch_template_versions SET client_token = json_extract(doc, '$.clientToken');
  ${schema('sqlite').join(';\n')};
  INSERT INTO instances (id, account, region, seq, state, instance_type, vcpus, reservation_id, availability_zone,
                         host_id, vm_host, public_ip, spot, dedicated, client_token, rev, doc)
    SELECT id, account, region, json_extract(doc, '$.seq'), json_extract(doc, '$.state'), json_extract(doc, '$.instanceType'),
           json_extract(doc, '$.cpu.coreCount') * json_extract(doc, '$.cpu.threadsPerCore'),
           json_extract(doc, '$.reservationId'), json_extract(doc, '$.availabilityZone'), json_extract(doc, '$.hostId'),
           json_extract(doc, '$.vmHost'), json_extract(doc, '$.publicIp'),
           coalesce(json_extract(doc, '$.instanceLifecycle') = 'spot', 0), json_extract(doc, '$.hostId') IS NOT NULL,
           json_extract(doc, '$.clientToken'), 1, doc
    FROM old_instances ORDER BY rowid;
  INSERT INTO resources (seq, kind, id, account, region, name, rev, doc)
    SELECT rowid, kind, id, account, region,
           CASE WHEN kind IN ('key-pair', 'launch-template') THEN json_extract(doc, '$.name') END, 1, doc
    FROM old_resources ORDER BY rowid;
  INSERT INTO tags (ord, resource_id, key, resource_type, account, region, value)
    SELECT t.rowid, t.resource_id, t.key, t.resource_type, coalesce(i.account, r.account), coalesce(i.region, r.region), t.value
    FROM old_tags t
    LEFT JOIN old_instances i
      ON i.id = CASE WHEN t.resource_id LIKE 'vol-%' THEN 'i-' || substr(t.resource_id, 5) ELSE t.resource_id END
    LEFT JOIN old_resources r ON r.kind = t.resource_type AND r.id = t.resource_id
    WHERE coalesce(i.account, r.account) IS NOT NULL
    ORDER BY t.rowid;
  INSERT INTO sequences (name, value) SELECT 'instance', max(seq) FROM instances HAVING count(*) > 0;
`;

/**
 * The query planner's statistics, fixed rather than measured (ANALYZE is never run): they describe a
 * large database, so that whatever the data, a selective filter (IDs, a tag's value, a type, a
 * reservation) drives the query through its index and paging walks (account, region, seq). Measured
 * statistics of a small database would plan scans, which stay when it grows. Each row: the number of
 * rows, then the rows per distinct value of the index's first column, first two, … (SQLite's format).
 */
const PLANNER_STATS: readonly (readonly [table: string, index: string, stat: string])[] = [
  ['instances', 'sqlite_autoindex_instances_1', '1000000 1'],
  ['instances', 'instances_scope', '1000000 50000 5000 1'],
  ['instances', 'instances_type', '1000000 50000 5000 200 1'],
  ['instances', 'instances_state', '1000000 50000 5000 1000 1'],
  ['instances', 'instances_reservation', '1000000 2'],
  ['instances', 'instances_host', '1000000 20'],
  ['instances', 'instances_vm_host', '1000000 500 100'],
  ['instances', 'instances_public_ip', '1000000 1'],
  ['tags', 'sqlite_autoindex_tags_1', '3000000 3 1'],
  ['tags', 'tags_scope', '3000000 150000 15000 5000 2'],
  ['resources', 'sqlite_autoindex_resources_1', '100000 25000 1'],
  ['resources', 'resources_name', '100000 25000 1000 100 1'],
  ['resources', 'resources_scope', '100000 25000 1000 100 1'],
  ['vm_tasks', 'vm_tasks_host', '10000 100 1'],
];

/** A WAL file left larger than this after a checkpoint is cut back to it when the log restarts. */
const JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024;
const DEFAULT_WAL_TRUNCATE_BYTES = 16 * 1024 * 1024;
/** About this many bytes written between two looks at the WAL's size from the request path. */
const WAL_LOOK_EVERY_BYTES = 1024 * 1024;
/** Prepared statements kept; past this the oldest go (statement texts vary only with list lengths). */
const STATEMENT_CACHE = 500;

/** One at a time, in the order asked. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await before;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

export class SqliteStore extends SqlReader implements Store {
  readonly kind = 'sqlite';
  readonly location: string;
  /** per sequence: the values of the block held that are not handed out yet */
  private readonly sequenceBlocks = new Map<string, { next: number; last: number }>();
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly mutex = new Mutex();
  private readonly listeners: TaskListeners;
  private readonly warn: (line: string) => void;
  private readonly checkpointer: Checkpointer | undefined;
  /** the -wal file, when there is one, and the size past which a commit checkpoints it itself */
  private readonly wal: { readonly file: string; readonly hardLimit: number } | undefined;
  /** bytes written (roughly) since the WAL's size was last looked at */
  private writtenSinceLook = 0;
  private closing: Promise<void> | undefined;

  constructor(opts: SqliteStoreOptions) {
    super('sqlite', new RowsAsRead());
    this.warn = opts.warn ?? (() => {});
    this.listeners = new TaskListeners(this.warn);
    if (opts.dataDir !== ':memory:') mkdirSync(opts.dataDir, { recursive: true });
    const file = opts.dataDir === ':memory:' ? ':memory:' : join(opts.dataDir, 'nestbox.db');
    this.location = file;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.fsync ? 'FULL' : 'NORMAL'}`);
    this.migrate();
    this.fixPlannerStats();
    if (file !== ':memory:') {
      this.db.pragma('wal_autocheckpoint = 0');
      this.db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
      const truncateAbove = opts.walTruncateBytes ?? DEFAULT_WAL_TRUNCATE_BYTES;
      // The worker keeps the WAL under truncateAbove whenever writes leave it a moment; commits that come
      // back to back without one (a tight loop) truncate it themselves past twice that.
      this.wal = { file: `${file}-wal`, hardLimit: 2 * truncateAbove };
      this.checkpointer = startCheckpointer(file, {
        intervalMs: opts.checkpointIntervalMs ?? 1000,
        truncateAboveBytes: truncateAbove,
        warn: this.warn,
        ...(opts.onWalTruncate ? { onTruncate: opts.onWalTruncate } : {}),
      });
    }
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === VERSION) return;
    if (version > VERSION) throw new Error(`${this.location} has schema version ${version}, newer than this nestbox's (${VERSION})`);
    this.db.transaction(() => {
      if (version === 0) {
        for (const statement of schema('sqlite')) this.db.exec(statement);
      } else {
        for (let v = version; v < OLD_MIGRATIONS.length; v++) this.db.exec(OLD_MIGRATIONS[v]!);
        this.db.exec(FROM_VERSION_3);
        this.migrateNetworkTags();
        this.db.exec('DROP TABLE old_instances; DROP TABLE old_tags; DROP TABLE old_resources;');
      }
      this.db.pragma(`user_version = ${VERSION}`);
    })();
  }

  /**
   * Tags of the default VPC, its subnets and security group (IDs derived from the account and Region:
   * src/domain/network.ts) name nothing stored, so their account and Region are found by deriving the
   * networks of every account the database knows in every Region; tags of nothing found are dropped.
   */
  private migrateNetworkTags(): void {
    type Orphan = { ord: number; resource_id: string; key: string; resource_type: string; value: string };
    const orphans = this.db
      .prepare('SELECT t.rowid AS ord, t.resource_id, t.key, t.resource_type, t.value FROM old_tags t WHERE NOT EXISTS (SELECT 1 FROM tags n WHERE n.ord = t.rowid)')
      .all() as Orphan[];
    if (orphans.length === 0) return;
    const column = (sql: string) => (this.db.prepare(sql).pluck().all() as string[]);
    const accounts = new Set(column('SELECT account FROM old_instances UNION SELECT account FROM old_resources UNION SELECT account FROM client_tokens'));
    const regions = new Set([...REGIONS.map((r) => r.name), ...column('SELECT region FROM old_instances UNION SELECT region FROM old_resources')]);
    const scopeOf = new Map<string, { account: string; region: string }>();
    for (const account of accounts) {
      for (const region of regions) {
        const net = defaultNetworkOf({ account, region });
        for (const id of [net.vpcId, net.securityGroupId, ...net.subnets.map((s) => s.id)]) scopeOf.set(id, { account, region });
      }
    }
    const insert = this.db.prepare('INSERT INTO tags (ord, resource_id, key, resource_type, account, region, value) VALUES (?, ?, ?, ?, ?, ?, ?)');
    let dropped = 0;
    for (const t of orphans) {
      const scope = scopeOf.get(t.resource_id);
      if (scope) insert.run(t.ord, t.resource_id, t.key, t.resource_type, scope.account, scope.region, t.value);
      else dropped++;
    }
    if (dropped > 0) this.warn(`store migration: dropped ${dropped} tag(s) of resources that no longer exist`);
  }

  private fixPlannerStats(): void {
    this.db.exec('ANALYZE sqlite_schema'); // creates sqlite_stat1
    this.db.transaction(() => {
      this.db.exec('DELETE FROM sqlite_stat1');
      const insert = this.db.prepare('INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)');
      for (const row of PLANNER_STATS) insert.run(...row);
    })();
    this.db.exec('ANALYZE sqlite_schema'); // loads them
  }

  private statement(text: string): Database.Statement {
    let s = this.statements.get(text);
    if (!s) {
      if (this.statements.size >= STATEMENT_CACHE) this.statements.delete(this.statements.keys().next().value!);
      s = this.db.prepare(text);
      this.statements.set(text, s);
    }
    return s;
  }

  private rows<R>(s: Statement): R[] {
    return this.statement(s.text).all(...s.params) as R[];
  }

  protected async query<R>(s: Statement): Promise<R[]> {
    return this.rows<R>(s);
  }

  async transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, _opts?: TransactionOptions): Promise<T> {
    refuseNested();
    return this.mutex.run(async () => {
      const tx = new SqlTransaction('sqlite', (s) => this.query(s), this.asRead);
      const result = await runBody(() => fn(tx));
      this.apply(tx.changes);
      return result;
    });
  }

  commit(changes: Changes): Promise<void> {
    return this.transaction(async (tx) => tx.write(changes));
  }

  /** Writes a transaction's changes: all, or (on a conflict or any error) none. */
  private apply(changes: readonly Changes[]): void {
    const ops = writeOps(changes, this.asRead);
    if (ops.length === 0) return;
    try {
      this.db.transaction(() => {
        for (const op of ops) {
          const { changes: n } = this.statement(op.text).run(...op.params);
          if (op.mustChange !== undefined && n === 0) throw new StoreConflict('stale', op.mustChange);
        }
      })();
    } catch (e) {
      if (e instanceof Database.SqliteError && (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY')) {
        throw new StoreConflict('unique', sqliteConstraintName(e.message));
      }
      throw e;
    }
    this.boundWal(bytesWritten(ops));
    this.listeners.fire(taskHosts(changes));
  }

  /**
   * The WAL's last resort bound: after about WAL_LOOK_EVERY_BYTES written, one stat of the -wal file;
   * past the hard limit (the checkpointer had no gap between commits to truncate it), a TRUNCATE
   * checkpoint here, on the request path. Rare by design: the worker truncates at half that size.
   */
  private boundWal(bytes: number): void {
    if (!this.wal) return;
    this.writtenSinceLook += bytes;
    if (this.writtenSinceLook < WAL_LOOK_EVERY_BYTES) return;
    this.writtenSinceLook = 0;
    const size = statSync(this.wal.file, { throwIfNoEntry: false })?.size ?? 0;
    if (size > this.wal.hardLimit) this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /**
   * Values come from blocks the database issues (SEQUENCE_BLOCK at a time, or what a larger request
   * needs): this process is the database's only one (the data-dir lock), so a block it holds is its
   * own, and a launch does not pay a write of its own for each sequence. A restart skips what was left
   * of a block: values stay unique and increasing, not gapless.
   */
  async sequence(name: string, count = 1): Promise<number> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`a sequence advances by a positive integer, not ${count}`);
    let block = this.sequenceBlocks.get(name);
    if (!block || block.next + count - 1 > block.last) {
      const size = Math.max(count, SEQUENCE_BLOCK);
      const [row] = this.rows<{ value: number }>(sequenceStatement(name, size));
      block = { next: row!.value - size + 1, last: row!.value };
      this.sequenceBlocks.set(name, block);
    }
    const first = block.next;
    block.next += count;
    return first;
  }

  async claimTasks(host: string, limit: number): Promise<ClaimedTask[]> {
    const rows = this.rows<{ id: number; host: string; target: string; kind: string }>(claimTasksStatement('sqlite', host, limit));
    return rows.map(claimedTask).sort((a, b) => a.id - b.id);
  }

  async heartbeat(host: string, at: number): Promise<boolean> {
    const s = heartbeatStatement(host, at);
    return this.statement(s.text).run(...s.params).changes > 0;
  }

  onTasks(host: string, fn: () => void): void {
    this.listeners.add(host, fn);
  }

  /** Waits for the transaction running, folds the WAL into the database file and closes. */
  close(): Promise<void> {
    this.listeners.close();
    this.closing ??= this.mutex.run(async () => {
      await this.checkpointer?.close();
      if (this.location !== ':memory:') this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    });
    return this.closing;
  }
}
