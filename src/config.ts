/** Flags and environment → one frozen, typed Config. */
import { resolve } from 'node:path';
import { CATALOG_PROFILES, type CatalogProfile, isCatalogProfile } from './domain/instance-types.js';
import type { Credentials } from './http/sigv4.js';
import { type Account, loadAccountsFile } from './accounts.js';

export type DriverChoice = 'auto' | 'simulated' | 'qemu';
const DRIVERS: readonly DriverChoice[] = ['auto', 'simulated', 'qemu'];
export type AccelChoice = 'auto' | 'kvm' | 'tcg';
const ACCELS: readonly AccelChoice[] = ['auto', 'kvm', 'tcg'];

export interface Config {
  readonly host: string;
  readonly port: number;
  /** ':memory:' keeps no state on disk */
  readonly dataDir: string;
  readonly driver: DriverChoice;
  /** where built images are looked for (<dir>/images); default: the data dir */
  readonly imagesDir: string | undefined;
  /** qemu driver: hardware acceleration */
  readonly accel: AccelChoice;
  /** qemu driver: guest memory of one VM at most (MiB); an instance type's memory is scaled down to it */
  readonly vmMemoryMiB: number;
  /** qemu driver: vCPUs of one VM at most (default: the host's CPU count) */
  readonly vmMaxVcpus: number | undefined;
  /** qemu driver: memory all VMs may use together (MiB; default 75% of the host's) */
  readonly vmMemoryBudgetMiB: number | undefined;
  /** qemu driver: VMs at once at most */
  readonly maxVms: number | undefined;
  /** qemu driver: how long a guest gets to power off before it is killed */
  readonly stopTimeoutMs: number;
  readonly catalog: CatalogProfile;
  /** undefined when authentication is off */
  readonly credentials: readonly Credentials[] | undefined;
  readonly defaultRegion: string;
  readonly defaultAccount: string;
  /** `--accounts FILE`: the accounts, their keys and quotas; undefined: the one account of `credentials` with EC2's default quotas */
  readonly accounts: readonly Account[] | undefined;
  /** the accounts file they came from (for the start-up banner) */
  readonly accountsFile: string | undefined;
  /** where the secret access key came from, for the start-up banner (the secret itself is never printed) */
  readonly secretSource: SecretSource;
  /** serve the web console's source maps (and point the bundle at them): off unless asked for */
  readonly consoleSourceMaps: boolean;
  /** how long the simulated driver takes to boot or stop a VM */
  readonly simulatedDelayMs: number;
  readonly terminatedRetentionMs: number;
  readonly fsync: boolean;
  readonly quiet: boolean;
  /** EC2-style request throttling (token buckets per account, Region and action; src/faults.ts); off by default */
  readonly throttle: boolean;
  /** PostgreSQL URL (`--database`, NESTBOX_DATABASE_URL); absent: SQLite in the data dir */
  readonly database: string | undefined;
  /** `api`: answers the API only; `host`: runs VMs only; `all`: both (src/compute/vm-host.ts) */
  readonly role: ServeRole;
  /** how often a VM host heartbeats, and after how long without one it is declared dead */
  readonly heartbeatMs: number;
  readonly hostDeadAfterMs: number;
  /** vCPUs this VM host offers to placement (default: no limit; the qemu driver's memory budget still holds) */
  readonly hostVcpus: number | undefined;
}

export type ServeRole = 'api' | 'host' | 'all';
const ROLES: readonly ServeRole[] = ['api', 'host', 'all'];

/** `default`: the built-in secret ('test'); otherwise the environment variable that set it. */
export type SecretSource = 'default' | 'NESTBOX_SECRET_ACCESS_KEY';

export const DEFAULT_CREDENTIALS: Credentials = { accessKeyId: 'test', secretAccessKey: 'test', accountId: '000000000000' };

export const DEFAULTS: Config = {
  host: '127.0.0.1',
  port: 4599,
  dataDir: '.nestbox',
  driver: 'auto',
  imagesDir: undefined,
  accel: 'auto',
  vmMemoryMiB: 512,
  vmMaxVcpus: undefined,
  vmMemoryBudgetMiB: undefined,
  maxVms: undefined,
  stopTimeoutMs: 30_000,
  catalog: 'launch-2026-02',
  credentials: [DEFAULT_CREDENTIALS],
  defaultRegion: 'us-east-1',
  defaultAccount: DEFAULT_CREDENTIALS.accountId,
  accounts: undefined,
  accountsFile: undefined,
  secretSource: 'default',
  consoleSourceMaps: false,
  simulatedDelayMs: 2000,
  terminatedRetentionMs: 60 * 60 * 1000,
  fsync: false,
  quiet: false,
  throttle: false,
  database: undefined,
  role: 'all',
  heartbeatMs: 2000,
  hostDeadAfterMs: 15_000,
  hostVcpus: undefined,
};

export const USAGE = `Usage: nestbox <command> [options]

Commands:
  serve [options]          run the EC2 API and the web console (options below)
  images build|status      build or check the VM image of the qemu driver (nestbox images help)
  faults list|add|remove|clear|crash
                           faults on demand for your tests, on a running server (nestbox faults --help)
  help                     this text

Options of serve:

  --host HOST              listen address (default 127.0.0.1)
  --port N                 listen port (default 4599)
  --data-dir DIR           where state is kept (default ./.nestbox)
  --driver auto|qemu|simulated
                           how instances run: qemu = real VMs; auto = qemu when QEMU and a built
                           image are here, else simulated (default auto)
  --catalog PROFILE        instance-type catalog: ${CATALOG_PROFILES.join(' | ')} (default launch-2026-02)
  --accounts FILE          several accounts, their access keys (full or read-only) and quotas, from a
                           JSON file (also NESTBOX_ACCOUNTS_FILE; see the README, "Several accounts")
  --no-auth                accept requests without checking signatures
  --console-source-maps    serve the web console's source maps (off: they are neither served nor linked)
  --accel auto|kvm|tcg     qemu: acceleration (default auto: KVM when a probe boot works, else TCG)
  --vm-memory-mib N        qemu: guest memory cap per VM (default 512: room for an L2 VM)
  --vm-max-vcpus N         qemu: vCPU cap per VM (default: the host's CPU count)
  --vm-memory-budget-mib N qemu: memory for all VMs together (default 75% of the host's)
  --max-vms N              qemu: VMs at once at most (default: no limit but memory)
  --stop-timeout-ms N      qemu: ACPI power-down deadline before a kill (default 30000)
  --images-dir DIR         where built images are found (default: the data dir)
  --sim-delay-ms N         simulated boot/stop time (default 2000)
  --fsync                  fsync every commit (slower; survives power loss, not just crashes)
  --database URL           keep state in PostgreSQL (postgres://…; also NESTBOX_DATABASE_URL) instead of
                           SQLite in the data dir: several servers and VM hosts on one database
  --role api|host|all      answer the API, run VMs, or both (default all)
  --host-vcpus N           vCPUs this VM host offers to placement (default: no limit but the qemu
                           driver's memory budget)
  --heartbeat-ms N         how often a VM host says it lives (default 2000)
  --host-dead-after-ms N   a VM host silent this long is declared dead, its instances stopped (default 15000)
  --quiet                  no per-request log lines
  --throttle               EC2-style request throttling (RequestLimitExceeded past EC2's token buckets)

Environment: NESTBOX_ACCESS_KEY_ID, NESTBOX_SECRET_ACCESS_KEY, NESTBOX_ACCOUNT_ID set the credentials
(default test / test, account 000000000000) when there is no accounts file. The secret is never printed or logged.

One server per data dir: a second one on a dir in use exits at once (status 1), naming the owner.`;

export class UsageError extends Error {}

function intFlag(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} needs a whole number from ${min} to ${max}, got ${value ?? 'nothing'}`);
  }
  return n;
}

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const c: { -readonly [K in keyof Config]: Config[K] } = { ...DEFAULTS };
  // An empty variable counts as unset (an empty key could never sign a request).
  const creds: Credentials = {
    accessKeyId: env.NESTBOX_ACCESS_KEY_ID || DEFAULT_CREDENTIALS.accessKeyId,
    secretAccessKey: env.NESTBOX_SECRET_ACCESS_KEY || DEFAULT_CREDENTIALS.secretAccessKey,
    accountId: env.NESTBOX_ACCOUNT_ID || DEFAULT_CREDENTIALS.accountId,
  };
  c.credentials = [creds];
  c.defaultAccount = creds.accountId;
  c.secretSource = env.NESTBOX_SECRET_ACCESS_KEY ? 'NESTBOX_SECRET_ACCESS_KEY' : 'default';
  let accountsFile = env.NESTBOX_ACCOUNTS_FILE || undefined;
  let noAuth = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? (arg.split(/=(.*)/s, 2) as [string, string]) : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--host':
        c.host = value() ?? '';
        if (!c.host) throw new UsageError('--host needs an address');
        break;
      case '--port':
        c.port = intFlag('--port', value(), 0, 65535);
        break;
      case '--data-dir': {
        const dir = value();
        if (!dir) throw new UsageError('--data-dir needs a directory');
        c.dataDir = dir === ':memory:' ? dir : resolve(dir);
        break;
      }
      case '--driver': {
        const d = value() ?? '';
        if (!(DRIVERS as readonly string[]).includes(d)) throw new UsageError(`--driver must be one of ${DRIVERS.join(', ')}, got '${d}'`);
        c.driver = d as DriverChoice;
        break;
      }
      case '--accel': {
        const a = value() ?? '';
        if (!(ACCELS as readonly string[]).includes(a)) throw new UsageError(`--accel must be one of ${ACCELS.join(', ')}, got '${a}'`);
        c.accel = a as AccelChoice;
        break;
      }
      case '--vm-memory-mib':
        c.vmMemoryMiB = intFlag('--vm-memory-mib', value(), 64, 1_048_576);
        break;
      case '--vm-max-vcpus':
        c.vmMaxVcpus = intFlag('--vm-max-vcpus', value(), 1, 1024);
        break;
      case '--vm-memory-budget-mib':
        c.vmMemoryBudgetMiB = intFlag('--vm-memory-budget-mib', value(), 64, 16_777_216);
        break;
      case '--max-vms':
        c.maxVms = intFlag('--max-vms', value(), 1, 100_000);
        break;
      case '--stop-timeout-ms':
        c.stopTimeoutMs = intFlag('--stop-timeout-ms', value(), 0, 3_600_000);
        break;
      case '--images-dir': {
        const dir = value();
        if (!dir) throw new UsageError('--images-dir needs a directory');
        c.imagesDir = resolve(dir);
        break;
      }
      case '--catalog': {
        const p = value() ?? '';
        if (!isCatalogProfile(p)) throw new UsageError(`--catalog must be one of ${CATALOG_PROFILES.join(', ')}, got '${p}'`);
        c.catalog = p;
        break;
      }
      case '--accounts': {
        const file = value();
        if (!file) throw new UsageError('--accounts needs a file');
        accountsFile = file;
        break;
      }
      case '--no-auth':
        noAuth = true;
        break;
      case '--sim-delay-ms':
        c.simulatedDelayMs = intFlag('--sim-delay-ms', value(), 0, 600_000);
        break;
      case '--fsync':
        c.fsync = true;
        break;
      case '--console-source-maps':
        c.consoleSourceMaps = true;
        break;
      case '--quiet':
        c.quiet = true;
        break;
      case '--throttle':
        c.throttle = true;
        break;
      case '--database': {
        const url = value() ?? '';
        if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError(`--database needs a postgres:// URL, got '${url}'`);
        c.database = url;
        break;
      }
      case '--role': {
        const r = value() ?? '';
        if (!(ROLES as readonly string[]).includes(r)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got '${r}'`);
        c.role = r as ServeRole;
        break;
      }
      case '--host-vcpus':
        c.hostVcpus = intFlag('--host-vcpus', value(), 1, 1_048_576);
        break;
      case '--heartbeat-ms':
        c.heartbeatMs = intFlag('--heartbeat-ms', value(), 10, 600_000);
        break;
      case '--host-dead-after-ms':
        c.hostDeadAfterMs = intFlag('--host-dead-after-ms', value(), 20, 3_600_000);
        break;
      default:
        throw new UsageError(`unknown option '${arg}'`);
    }
  }
  if (c.dataDir === DEFAULTS.dataDir) c.dataDir = resolve(DEFAULTS.dataDir);
  if (accountsFile !== undefined) Object.assign(c, accountsConfig(resolve(accountsFile)));
  if (noAuth) c.credentials = undefined;
  if (c.database === undefined && env.NESTBOX_DATABASE_URL) c.database = env.NESTBOX_DATABASE_URL;
  if (c.role !== 'all' && c.database === undefined) {
    throw new UsageError(`--role ${c.role} needs a database other servers share (--database postgres://…); with SQLite one process is the API and the VM host`);
  }
  if (c.hostDeadAfterMs <= c.heartbeatMs) {
    throw new UsageError(`--host-dead-after-ms (${c.hostDeadAfterMs}) must be longer than --heartbeat-ms (${c.heartbeatMs})`);
  }
  return Object.freeze(c);
}

/**
 * The settings an accounts file makes (read and checked now: AccountsFileError, one line naming the
 * file, otherwise): every key of every account, and the first account for requests when `--no-auth`.
 */
export function accountsConfig(file: string): Pick<Config, 'accounts' | 'accountsFile' | 'credentials' | 'defaultAccount'> {
  const accounts = loadAccountsFile(file);
  return {
    accounts,
    accountsFile: file,
    credentials: accounts.flatMap((a) =>
      a.keys.map((k) => ({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, accountId: a.id, permission: k.permission, user: k.user })),
    ),
    defaultAccount: (accounts[0] as Account).id,
  };
}
