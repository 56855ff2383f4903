/**
 * The shared store: PostgreSQL (node-postgres), for several API servers and VM hosts on one database.
 *
 * Transactions: one pooled connection each, READ COMMITTED. A `lock` is a transaction-scoped advisory
 * lock (`pg_advisory_xact_lock` on the name's 64-bit hash), taken first and released by COMMIT or
 * ROLLBACK, so transactions under one name run one after the other on every server. The function's
 * reads run on the transaction's connection (each its own snapshot: committed data as of that read);
 * its writes are buffered and, when it returns, run as the statements src/store/sql.ts makes of them:
 * an update from the revision read (`… WHERE id = $ AND rev = $`; a row changed meanwhile by a
 * transaction that committed first is re-checked by PostgreSQL after it, and fails the condition) and
 * an insert that must not find its ID (`ON CONFLICT DO NOTHING`); either changing no row fails the
 * transaction with StoreConflict('stale'), a unique violation (23505) with StoreConflict('unique'),
 * and a serialization failure or deadlock (40001, 40P01) with StoreConflict('stale'). Any error rolls
 * the whole transaction back.
 *
 * Documents are TEXT holding JSON, not jsonb: the store never looks inside them in SQL (every column a
 * query needs is derived on write), so jsonb would only add work — parsing and re-encoding on every
 * write, re-serializing on every read — and would reorder keys; text round-trips what was written.
 *
 * Tasks: a transaction that queues tasks for a VM host also NOTIFYs its ID on one channel (delivered on
 * commit); each store LISTENs on one dedicated connection, and calls the host's onTasks listeners.
 */
import pg from 'pg';
import { withoutPassword } from './url.js';
import {
  type Param,
  RowsAsRead,
  SqlReader,
  SqlTransaction,
  type Statement,
  TaskListeners,
  claimTasksStatement,
  claimedTask,
  heartbeatStatement,
  numbered,
  refuseNested,
  runBody,
  schema,
  sequenceStatement,
  type WriteOp,
  taskHosts,
  writeOps,
} from './sql.js';
import { type Changes, type ClaimedTask, type Store, StoreConflict, type StoreTransaction, type TransactionOptions } from './types.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (or a Unix socket directory: `…@/database?host=/dir`) */
  readonly url: string;
  readonly warn?: ((line: string) => void) | undefined;
  /** connections in the pool (default 20); each running transaction holds one */
  readonly maxConnections?: number | undefined;
}

/**
 * A conditional write that changed no row fails inside the database (serialization_failure, which
 * conflictOf reads as a stale write), so a transaction's writes and its COMMIT can go in one round trip.
 */
const MUST_CHANGE = `CREATE OR REPLACE FUNCTION nestbox_must_change(changed BIGINT, what TEXT) RETURNS VOID LANGUAGE plpgsql AS $$
  BEGIN IF changed = 0 THEN RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = what; END IF; END $$`;

/** The schema's versions, each a list of statements, applied in order and recorded in nestbox_migrations. */
const MIGRATIONS: readonly (readonly string[])[] = [schema('postgres'), [MUST_CHANGE]];

const TASK_CHANNEL = 'nestbox_tasks';
const SCHEMA_LOCK = "hashtextextended('nestbox:schema', 0)";
const RELISTEN_MS = 1000;

/** BIGINT columns (sequence numbers, revisions, milliseconds) as numbers: all stay far below 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};


/** A database error as the contract names it, or the error itself. */
function conflictOf(e: unknown): unknown {
  const { code, constraint, detail } = e as { code?: string; constraint?: string; detail?: string };
  if (code === '23505') return new StoreConflict('unique', constraint ?? detail ?? 'unique constraint');
  if (code === '40001' || code === '40P01') return new StoreConflict('stale', e instanceof Error ? e.message : String(code));
  return e;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

async function rowsOf<R>(db: Queryable, s: Statement): Promise<R[]> {
  const result = await db.query(numbered(s.text), s.params as unknown[]);
  return result.rows as R[];
}

/** A value as an SQL literal (strings escaped by node-postgres's escapeLiteral). */
function literal(client: pg.ClientBase, v: Param): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`not a number the database can store: ${v}`);
    return String(v);
  }
  if (typeof v === 'string') return client.escapeLiteral(v);
  return `ARRAY[${v.map((x) => client.escapeLiteral(x)).join(', ')}]::TEXT[]`;
}

/**
 * A transaction's writes, the notifications of the VM hosts it queued tasks for, and COMMIT (after
 * BEGIN when nothing was read), as one multi-statement query: the simple protocol, values inlined.
 * Statements run in order, each seeing the ones before; a write that must change a row raises inside
 * the batch when it changed none (nestbox_must_change), and any error leaves the rest, COMMIT
 * included, unrun.
 */
function commitBatch(begin: string | undefined, ops: readonly WriteOp[], hosts: ReadonlySet<string>, lit: (v: Param) => string): string {
  const parts = begin === undefined ? [] : [begin];
  for (const op of ops) {
    const text = inlined(op, lit);
    parts.push(op.mustChange === undefined ? text : `WITH w AS (${text} RETURNING 1) SELECT nestbox_must_change(count(*), ${lit(op.mustChange)}) FROM w`);
  }
  for (const host of hosts) parts.push(`SELECT pg_notify(${lit(TASK_CHANNEL)}, ${lit(host)})`);
  parts.push('COMMIT');
  return parts.join(';\n');
}

/** A statement with its values inlined as literals (statements here hold no `?` but their placeholders). */
function inlined(s: Statement, lit: (v: Param) => string): string {
  let i = 0;
  return s.text.replace(/\?/g, () => lit(s.params[i++]!));
}

export class PostgresStore extends SqlReader implements Store {
  readonly kind = 'postgres';
  readonly location: string;
  private readonly url: string;
  private readonly pool: pg.Pool;
  private readonly warn: (line: string) => void;
  private readonly listeners: TaskListeners;
  /** the schema, brought up to date once, before anything else runs */
  private readonly migrated: Promise<void>;
  /** the connection LISTENing for task notifications, once a listener asked for them */
  private listener: pg.Client | undefined;
  private relistenTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(opts: PostgresStoreOptions) {
    super('postgres', new RowsAsRead());
    this.url = opts.url;
    this.location = withoutPassword(opts.url);
    this.warn = opts.warn ?? (() => {});
    this.listeners = new TaskListeners(this.warn);
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.maxConnections ?? 20, types: TYPES });
    // An idle connection that fails (the server restarted) is dropped by the pool; the next use connects anew.
    this.pool.on('error', (e) => this.warn(`PostgreSQL connection lost (${this.location}): ${e.message}`));
    this.migrated = this.migrate();
    this.migrated.catch(() => {}); // reported by whatever waits for it (ready(), or the first use)
  }

  /** Resolves once the database answered and its schema is up to date; rejects with why not. */
  ready(): Promise<void> {
    return this.migrated;
  }

  /**
   * Applies the migrations not yet applied, under an advisory lock (servers starting together wait for
   * the first one's), each in a transaction of its own.
   */
  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(${SCHEMA_LOCK})`);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS nestbox_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
        const [row] = (await client.query<{ v: number }>('SELECT coalesce(max(version), 0)::int AS v FROM nestbox_migrations')).rows;
        const applied = row?.v ?? 0;
        if (applied > MIGRATIONS.length) {
          throw new Error(`${this.location} has schema version ${applied}, newer than this nestbox's (${MIGRATIONS.length})`);
        }
        for (let v = applied; v < MIGRATIONS.length; v++) {
          await client.query('BEGIN');
          try {
            for (const statement of MIGRATIONS[v]!) await client.query(statement);
            await client.query('INSERT INTO nestbox_migrations (version) VALUES ($1)', [v + 1]);
            await client.query('COMMIT');
          } catch (e) {
            await client.query('ROLLBACK');
            throw e;
          }
        }
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${SCHEMA_LOCK})`);
      }
    } finally {
      client.release();
    }
  }

  protected async query<R>(s: Statement): Promise<R[]> {
    await this.migrated;
    return rowsOf<R>(this.pool, s);
  }

  async transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, opts?: TransactionOptions): Promise<T> {
    refuseNested();
    await this.migrated;
    const client = await this.pool.connect();
    let broken = false;
    // The connection failing while the function awaits something else: its next query fails, and the
    // connection is not reused (without a listener, the error event would end the process).
    const onError = (e: Error) => {
      broken = true;
      this.warn(`PostgreSQL connection lost in a transaction (${this.location}): ${e.message}`);
    };
    client.on('error', onError);
    try {
      // BEGIN (and the lock) go with the first read, or with the writes and COMMIT when the function read
      // nothing: a transaction costs its reads, plus one round trip to write and commit.
      const lit = (v: Param) => literal(client, v);
      const lock = opts?.lock === undefined ? '' : `;\nSELECT pg_advisory_xact_lock(hashtextextended(${lit(opts.lock)}, 0))`;
      let begin: string | undefined = `BEGIN ISOLATION LEVEL READ COMMITTED${lock}`;
      const tx = new SqlTransaction(
        'postgres',
        async <R>(s: Statement): Promise<R[]> => {
          if (begin === undefined) return rowsOf<R>(client, s);
          const batch = `${begin};\n${inlined(s, lit)}`;
          begin = undefined;
          const results = (await client.query(batch)) as unknown as pg.QueryResult[];
          return results[results.length - 1]!.rows as R[];
        },
        this.asRead,
      );
      const result = await runBody(() => fn(tx));
      const hosts = taskHosts(tx.changes);
      const ops = writeOps(tx.changes, this.asRead);
      if (begin === undefined || ops.length > 0) await client.query(commitBatch(begin, ops, hosts, lit));
      this.listeners.fire(hosts);
      return result;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection itself failed: the pool must not hand it out again
      }
      throw conflictOf(e);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  commit(changes: Changes): Promise<void> {
    return this.transaction(async (tx) => tx.write(changes));
  }

  async sequence(name: string, count = 1): Promise<number> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`a sequence advances by a positive integer, not ${count}`);
    const [row] = await this.query<{ value: number }>(sequenceStatement(name, count));
    return row!.value - count + 1;
  }

  async claimTasks(host: string, limit: number): Promise<ClaimedTask[]> {
    const rows = await this.query<{ id: number; host: string; target: string; kind: string }>(claimTasksStatement('postgres', host, limit));
    return rows.map(claimedTask).sort((a, b) => a.id - b.id);
  }

  async heartbeat(host: string, at: number): Promise<boolean> {
    await this.migrated;
    const s = heartbeatStatement(host, at);
    return ((await this.pool.query(numbered(s.text), s.params as unknown[])).rowCount ?? 0) > 0;
  }

  /**
   * Also called once each time the LISTEN connection is (re)established: notifications sent while it
   * was not listening are lost, so tasks may be waiting.
   */
  onTasks(host: string, fn: () => void): void {
    this.listeners.add(host, fn);
    if (!this.listener && !this.relistenTimer && !this.closing) void this.listen();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    this.listener = client;
    client.on('notification', (n) => {
      if (n.channel === TASK_CHANNEL && n.payload) this.listeners.fire([n.payload]);
    });
    client.on('error', (e) => this.relisten(client, e));
    client.on('end', () => this.relisten(client));
    try {
      await this.migrated;
      await client.connect();
      await client.query(`LISTEN ${TASK_CHANNEL}`);
    } catch (e) {
      this.relisten(client, e);
      return;
    }
    if (this.listener === client) this.listeners.fireAll();
  }

  /** The LISTEN connection failed or ended: another, a moment later (unless the store is closing). */
  private relisten(client: pg.Client, e?: unknown): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    client.end().catch(() => {});
    if (this.closing) return;
    if (e !== undefined) this.warn(`PostgreSQL task notifications interrupted (${this.location}): ${e instanceof Error ? e.message : String(e)}`);
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = undefined;
      void this.listen();
    }, RELISTEN_MS);
  }

  close(): Promise<void> {
    this.listeners.close();
    this.closing ??= (async () => {
      clearTimeout(this.relistenTimer);
      this.relistenTimer = undefined;
      const listener = this.listener;
      this.listener = undefined;
      await listener?.end().catch(() => {});
      await this.migrated.catch(() => {});
      await this.pool.end();
    })();
    return this.closing;
  }
}
