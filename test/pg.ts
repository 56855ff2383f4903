/**
 * A throwaway PostgreSQL cluster for tests and benchmarks, from Debian's `postgresql` binaries
 * (/usr/lib/postgresql/<version>/bin): `initdb` into a fresh temporary directory, the server listening on
 * a Unix socket in that directory only (no TCP), fsync off. One per process at a time: `startPostgres()`
 * returns the running one; it is stopped and removed by `stop()` or when the process exits.
 *
 * initdb refuses to run as root, so as root the binaries run as the `postgres` system user (which the
 * package creates) and the directory is theirs. Connections are trusted (only this machine's users
 * can reach the socket, and the directory is private to postgres or the current user).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface Postgres {
  /** a database of its own (`nestbox`), for whoever needs one */
  readonly url: string;
  /** creates another empty database; returns its URL */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

const ROOT = '/usr/lib/postgresql';
const USER = 'postgres';

/** The newest installed version's binaries. */
function binDir(): string {
  const versions = existsSync(ROOT)
    ? readdirSync(ROOT)
        .filter((v) => existsSync(join(ROOT, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(`PostgreSQL's server binaries are missing (no ${ROOT}/<version>/bin/initdb): apt-get install postgresql`);
  }
  return join(ROOT, versions[0]!, 'bin');
}

/** A URL for `database` on the cluster whose socket is in `dir`. */
const urlOf = (dir: string, database: string) => `postgresql://${USER}@localhost/${database}?host=${encodeURIComponent(dir)}`;

let running: Promise<Postgres> | undefined;

export function startPostgres(): Promise<Postgres> {
  running ??= start().catch((e: unknown) => {
    running = undefined;
    throw e;
  });
  return running;
}

async function start(): Promise<Postgres> {
  const bin = binDir();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'nestbox-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  /** runs one of the binaries (as postgres when we are root); throws with its output when it fails */
  const run = (tool: string, args: readonly string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', USER, '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    const r = spawnSync(file, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${tool} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr || r.stdout}`);
  };
  let started = false;
  // Also on SIGINT and SIGTERM (what a test runner cancels a file with), then the signal takes its course.
  const onSignal = (signal: NodeJS.Signals) => {
    stopNow();
    process.kill(process.pid, signal);
  };
  const stopNow = () => {
    process.off('exit', stopNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (started) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    started = false;
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  };
  process.on('exit', stopNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    run('initdb', ['-D', data, '-U', USER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    const settings = {
      listen_addresses: "''",
      unix_socket_directories: `'${dir}'`,
      max_connections: '200',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      logging_collector: 'off',
    };
    // postgresql.auto.conf is read last; root writes it without changing its owner
    writeFileSync(join(data, 'postgresql.auto.conf'), Object.entries(settings).map(([k, v]) => `${k} = ${v}\n`).join(''));
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    started = true;
  } catch (e) {
    stopNow();
    throw e;
  }

  let databases = 0;
  const createDatabase = async (name = `db${++databases}`): Promise<string> => {
    const admin = new pg.Client({ connectionString: urlOf(dir, 'postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    } finally {
      await admin.end();
    }
    return urlOf(dir, name);
  };
  const url = await createDatabase('nestbox').catch((e: unknown) => {
    stopNow();
    throw e;
  });
  return {
    url,
    createDatabase,
    stop: async () => {
      running = undefined;
      if (!started) return;
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      started = false;
      stopNow();
    },
  };
}
