/** The composition root: config → store → catalog → VM host + driver → HTTP. */
import type { AddressInfo } from 'node:net';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { totalmem } from 'node:os';
import type { Services, VmControl } from './services/context.js';
import { VmHost, declareDeadHosts, purgeDeadHosts } from './compute/vm-host.js';
import { vmHostIdOf } from './compute/host-id.js';
import { vmSpecOf } from './compute/spec.js';
import type { VmDriver } from './compute/driver.js';
import { createRoutingDriver } from './compute/routing.js';
import { createSimulatedDriver } from './compute/simulated.js';
import { findImage } from './domain/images.js';
import type { Config } from './config.js';
import { type Account, DEFAULT_QUOTAS } from './accounts.js';
import { type Catalog, loadCatalog } from './domain/instance-types.js';
import { PublicIpAllocator } from './domain/public-ip.js';
import { instanceNetworkOf } from './services/network.js';
// QEMU's driver and the metadata service are imported when a qemu driver may be used (chooseDriver), not before.
import type { ImdsService } from './imds/index.js';
import { createApiServer } from './http/server.js';
import { Faults } from './faults.js';
import { type Logger, createLogger } from './logger.js';
import type { Store } from './store/types.js';
import { openStore as openStateStore } from './store/index.js';
import { withoutPassword } from './store/url.js';
import { type DataDirLock, DataDirLockError, lockDataDir } from './lock.js';

export interface Nestbox {
  /** e.g. http://127.0.0.1:4599 */
  readonly endpoint: string;
  readonly port: number;
  readonly services: Services;
  /** the VM driver of this process's host, or `none` for an API-only server */
  readonly driverName: string;
  /** this process's VM host (`--role host|all`) */
  readonly hostId?: string | undefined;
  /** this process's VM host itself (tests drive its driver reports: `vmHost.onEvent`) */
  readonly vmHost?: VmHost | undefined;
  /** faults on demand (and --throttle): the admin interface's state */
  readonly faults: Faults;
  close(): Promise<void>;
}

/**
 * Each real VM's metadata service: the instance as the store has it at every request, so what the
 * API changes (metadata options, tags, a new public address) is what the guest reads next.
 */
async function metadataService(config: Config, store: Store, catalog: Catalog, log: Logger): Promise<ImdsService> {
  const { createImdsService, imdsNamespaceOf, imdsViewOf } = await import('./imds/index.js');
  return createImdsService({
    namespace: imdsNamespaceOf(config.dataDir),
    log,
    lookup: async (id) => {
      const rec = await store.instance(id);
      if (!rec || rec.state === 'terminated') return undefined;
      const attached = instanceNetworkOf(rec);
      // A primary interface of its own keeps its secondary addresses in its record; a derived one, in the instance's.
      const [tags, stored] = await Promise.all([
        store.tagsOf(id),
        rec.primaryInterface ? store.resource('network-interface', rec.primaryInterface.id) : undefined,
      ]);
      return imdsViewOf(rec, {
        tags,
        secondaryIps: stored?.secondaryIps ?? rec.secondaryPrivateIps ?? [],
        network: vmSpecOf(rec, catalog).network,
        attachment: {
          vpcId: attached.vpcId,
          subnetId: attached.subnetId,
          securityGroups: attached.securityGroups.map((g) => ({ id: g.GroupId ?? '', name: g.GroupName ?? '' })),
        },
      });
    },
  });
}

/** `qemu` runs real VMs; `auto` does so when QEMU and a built image are here, else simulates them. */
async function chooseDriver(config: Config, host: VmHost, log: Logger, imds: () => Promise<ImdsService>): Promise<VmDriver> {
  const simulated = () => createSimulatedDriver(host.onEvent, { delayMs: config.simulatedDelayMs });
  if (config.driver === 'simulated') return simulated();
  const [{ createQemuDriver, findImage: findBuiltImage, qemuAvailability }, { isImageVariant }] = await Promise.all([
    import('./compute/qemu/index.js'),
    import('./compute/qemu/image.js'),
  ]);
  const q = qemuAvailability(config.imagesDir ?? config.dataDir);
  if (!q.available) {
    if (config.driver === 'qemu') throw new StartupError(`--driver qemu: ${q.reason}`);
    log.info(`driver auto: using the simulated driver because ${q.reason}`);
    return simulated();
  }
  const imagesDir = config.imagesDir ?? config.dataDir;
  const privateNetwork = await startPrivateNetwork(host.id, log);
  const qemu = createQemuDriver(host.onEvent, {
    privateNetwork,
    dataDir: config.dataDir,
    image: q.image,
    imageOf: (variant) => (isImageVariant(variant) ? findBuiltImage(imagesDir, variant) : undefined),
    qemu: q.qemu,
    imds: await imds(),
    accel: config.accel,
    maxMemoryMiB: config.vmMemoryMiB,
    ...(config.vmMaxVcpus !== undefined ? { maxVcpus: config.vmMaxVcpus } : {}),
    ...(config.vmMemoryBudgetMiB !== undefined ? { memoryBudgetMiB: config.vmMemoryBudgetMiB } : {}),
    ...(config.maxVms !== undefined ? { maxVms: config.maxVms } : {}),
    stopTimeoutMs: config.stopTimeoutMs,
    log,
  });
  // A user image's instance is real when its root file system came from a bootable image (it then has a built image's kernel).
  return createRoutingDriver(qemu, simulated(), (spec) => spec.imageVariant !== undefined || findImage(spec.imageId)?.bootable === true);
}

/**
 * The qemu driver's private network between a VPC's instances, with security groups enforced
 * (src/compute/qemu/vpc-network.ts): on when this process can (root, ip, nft, /dev/net/tun,
 * br_netfilter), unless NESTBOX_PRIVATE_NETWORK=off; NESTBOX_PRIVATE_NETWORK=on makes a missing part a
 * start-up error. Without it, what is off is said once here, and everything else works as before.
 */
async function startPrivateNetwork(hostId: string, log: Logger) {
  const mode = (process.env.NESTBOX_PRIVATE_NETWORK ?? 'auto').toLowerCase();
  if (mode === 'off' || mode === '0' || mode === 'false') {
    log.info('private network: off (NESTBOX_PRIVATE_NETWORK=off): instances do not reach each other on their private addresses');
    return undefined;
  }
  const { createPrivateNetwork, privateNetworkSupport } = await import('./compute/qemu/vpc-network.js');
  const support = privateNetworkSupport();
  if (!support.ok) {
    const what = `private network: off because ${support.reason}: instances do not reach each other on their private addresses, and security groups are not enforced between them (public-address forwards and the metadata service work as before)`;
    if (mode === 'on') throw new StartupError(`NESTBOX_PRIVATE_NETWORK=on, but ${what}`);
    log.warn(what);
    return undefined;
  }
  try {
    const net = await createPrivateNetwork({ hostId, log });
    log.info(`private network: on (network namespace ${net.namespace}: a bridge per VPC, security groups in nftables)`);
    return net;
  } catch (err) {
    const what = `private network: off because it could not be set up: ${err instanceof Error ? err.message : String(err)}`;
    if (mode === 'on') throw new StartupError(what);
    log.warn(what);
    return undefined;
  }
}

/** Each listed account's quotas; EC2's defaults for any other (the `--no-auth` or a future account). */
function quotaLookup(accounts: readonly Account[]) {
  const byId = new Map(accounts.map((a) => [a.id, a.quotas]));
  return (account: string) => byId.get(account) ?? DEFAULT_QUOTAS;
}

/** A start-up problem a person can act on (printed without a stack trace). */
export class StartupError extends Error {}

/**
 * Starts a server that owns its data directory (src/lock.ts): the lock is taken before anything else is
 * opened — the database, the driver, any VM — and given up when the server closes or fails to start.
 */
export async function startNestbox(config: Config, log: Logger = createLogger({ quiet: config.quiet })): Promise<Nestbox> {
  let lock: DataDirLock | undefined;
  if (config.dataDir !== ':memory:') {
    try {
      lock = lockDataDir(config.dataDir, { host: config.host, port: config.port });
    } catch (err) {
      throw err instanceof DataDirLockError ? new StartupError(err.message) : err;
    }
  }
  try {
    const nestbox = await startOwned(config, log);
    lock?.listening(config.host, nestbox.port);
    return { ...nestbox, close: () => nestbox.close().finally(() => lock?.release()) };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/**
 * The store, or a one-line StartupError: nestbox.db that cannot be read as a database (garbage bytes, a
 * damaged file) is left as it is — SQLite refuses such a file before writing anything to it — and a
 * PostgreSQL that cannot be reached or refuses the login is named (without the password).
 */
async function openStore(config: Config, log: Logger): Promise<Store> {
  if (config.database) {
    try {
      return await openStateStore({ database: config.database, dataDir: config.dataDir, warn: log.warn });
    } catch (err) {
      throw new StartupError(`cannot use the database ${withoutPassword(config.database)}: ${(err as Error).message}`);
    }
  }
  const file = join(config.dataDir, 'nestbox.db');
  // SQLite may create an (empty) WAL and shared-memory file before it finds the database unreadable.
  const sideFiles = config.dataDir === ':memory:' ? [] : [`${file}-wal`, `${file}-shm`].filter((f) => !existsSync(f));
  try {
    return await openStateStore({ dataDir: config.dataDir, fsync: config.fsync, warn: log.warn });
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT') || err instanceof SyntaxError) {
      for (const f of sideFiles) rmSync(f, { force: true });
      throw new StartupError(
        `${file} is not a readable nestbox database (${(err as Error).message}); it was left untouched. Move it away (with any nestbox.db-wal and nestbox.db-shm next to it) to start with an empty state, or restore it from a backup.`,
      );
    }
    if (/^SQLITE_(CANTOPEN|READONLY|PERM|IOERR)|^E(ACCES|PERM|ROFS|NOTDIR|EXIST)$/.test(code)) {
      throw new StartupError(`cannot open ${file} (${code}: ${(err as Error).message}); check the data dir and its permissions.`);
    }
    throw err;
  }
}

/** The API's side of the VMs (src/services/context.ts): this process's host, when it runs one. */
function vmControl(host: VmHost | undefined, catalog: Catalog): VmControl {
  return {
    specOf: (rec) => vmSpecOf(rec, catalog),
    admit: (recs) => host?.admit(recs.filter((r) => r.vmHost === host.id)),
    consoleOutput: async (rec) => (host && rec.vmHost === host.id ? host.consoleOutput(rec.id) : undefined),
  };
}

/**
 * The vCPUs a VM host offers to placement: --host-vcpus, else no limit — the qemu driver scales each
 * VM to the host's CPUs and refuses what its memory budget cannot take (InsufficientInstanceCapacity),
 * and simulated VMs cost nothing.
 */
const hostVcpus = (config: Config): number => config.hostVcpus ?? UNLIMITED_VCPUS;
const UNLIMITED_VCPUS = 2 ** 31 - 1;

async function startOwned(config: Config, log: Logger): Promise<Nestbox> {
  const store = await openStore(config, log);
  const catalog = loadCatalog(config.catalog);
  const now = () => new Date();
  const timers: NodeJS.Timeout[] = [];
  // A shared database (PostgreSQL) may have other servers and hosts on it: hosts heartbeat, the API
  // servers watch them. SQLite belongs to this one process (src/lock.ts): its host is the only one.
  const shared = store.kind !== 'sqlite';
  let vmHost: VmHost | undefined;
  let imds: ImdsService | undefined;
  let server: ReturnType<typeof createApiServer> | undefined;
  try {
    if (config.role !== 'api') {
      const host = new VmHost({
        store,
        catalog,
        log,
        now,
        id: vmHostIdOf(config.dataDir),
        terminatedRetentionMs: config.terminatedRetentionMs,
        heartbeatMs: shared ? config.heartbeatMs : undefined,
        pollMs: shared ? 1000 : undefined,
      });
      const driver = await chooseDriver(config, host, log, async () => (imds ??= await metadataService(config, store, catalog, log)));
      host.attach(driver, { vcpus: hostVcpus(config), memoryMiB: Math.floor(totalmem() / 1048576) });
      vmHost = host;
    }
    const services: Services = {
      store,
      catalog,
      vms: vmControl(vmHost, catalog),
      placement: { deadAfterMs: shared ? config.hostDeadAfterMs : Number.POSITIVE_INFINITY, localHost: vmHost?.id },
      now,
      log,
      terminatedRetentionMs: config.terminatedRetentionMs,
      // Seeded by where the state is, so installations on one host draw far-apart public addresses.
      publicIps: new PublicIpAllocator(config.database ? withoutPassword(config.database) : resolve(config.dataDir)),
      // --accounts: each account's own quotas; otherwise EC2's defaults (src/accounts.ts)
      ...(config.accounts ? { quotas: quotaLookup(config.accounts) } : {}),
    };
    await vmHost?.start();
    if (shared && config.role !== 'host') {
      // The watchdog: hosts that stopped heartbeating are declared dead, their instances stopped.
      const watchdog = setInterval(() => {
        declareDeadHosts(store, now(), config.hostDeadAfterMs, log).catch((err: unknown) => log.warn(`watchdog: ${String(err)}`));
      }, config.heartbeatMs);
      watchdog.unref();
      timers.push(watchdog);
      const purger = setInterval(() => {
        purgeDeadHosts(store, now().getTime() - config.terminatedRetentionMs).catch((err: unknown) => log.warn(`purge: ${String(err)}`));
      }, 60_000);
      purger.unref();
      timers.push(purger);
    }

    const faults = new Faults({ throttle: config.throttle === true });
    const api = createApiServer({
      services,
      faults,
      log,
      credentials: config.credentials,
      defaultRegion: config.defaultRegion,
      defaultAccount: config.defaultAccount,
      consoleSourceMaps: config.consoleSourceMaps,
      health: () => ({ driver: vmHost?.driverName ?? 'none', catalog: catalog.profile, role: config.role, store: store.kind, ...(vmHost ? { host: vmHost.id } : {}) }),
    });
    server = api;
    api.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      api.once('error', reject);
      api.listen(config.port, config.host, () => resolve());
    });
    const port = (api.address() as AddressInfo).port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;

    let closed: Promise<void> | undefined;
    return {
      endpoint: `http://${host}:${port}`,
      port,
      services,
      driverName: vmHost?.driverName ?? 'none',
      hostId: vmHost?.id,
      vmHost,
      faults,
      close: () =>
        (closed ??= (async () => {
          for (const t of timers) clearInterval(t);
          await new Promise<void>((resolve) => {
            api.close(() => resolve());
            api.closeAllConnections();
          });
          await vmHost?.close();
          await imds?.closeAll();
          await store.close();
        })()),
    };
  } catch (err) {
    for (const t of timers) clearInterval(t);
    server?.close();
    await vmHost?.close().catch(() => {});
    await imds?.closeAll().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }
}
