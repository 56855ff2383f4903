/** Opens the store a server runs on: PostgreSQL for a `postgres://` URL, else SQLite in the data directory. */
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /** `--database` / NESTBOX_DATABASE_URL: a `postgres://` or `postgresql://` URL; absent or '': SQLite */
  readonly database?: string | undefined;
  /** where SQLite keeps nestbox.db (':memory:': nowhere) */
  readonly dataDir: string;
  /** SQLite: fsync every commit */
  readonly fsync?: boolean | undefined;
  readonly warn?: ((line: string) => void) | undefined;
}

export const isPostgresUrl = (database: string): boolean => /^postgres(ql)?:\/\//i.test(database);

/** The store, ready to use: PostgreSQL has answered and its schema is up to date. */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const warn = opts.warn ?? (() => {});
  if (opts.database) {
    if (!isPostgresUrl(opts.database)) {
      throw new Error('--database: expected a PostgreSQL URL (postgres://… or postgresql://…); leave it out for SQLite in the data directory');
    }
    // Loaded only for PostgreSQL: `pg` is 31 modules and ~7 MiB an SQLite server never needs.
    const { PostgresStore } = await import('./postgres.js');
    const store = new PostgresStore({ url: opts.database, warn });
    try {
      await store.ready();
    } catch (e) {
      await store.close().catch(() => {});
      throw new Error(`cannot open the PostgreSQL database ${store.location}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return store;
  }
  return new SqliteStore({ dataDir: opts.dataDir, fsync: opts.fsync ?? false, warn });
}
