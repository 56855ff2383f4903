/** The composition root: config → store → catalog → reconciler + driver → HTTP. */
import type { AddressInfo } from 'node:net';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Services } from './services/context.js';
import { Reconciler } from './compute/reconciler.js';
import type { VmDriver } from './compute/driver.js';
import { createQemuDriver, findImage as findBuiltImage, qemuAvailability } from './compute/qemu/index.js';
import { isImageVariant } from './compute/qemu/image.js';
import { createRoutingDriver } from './compute/routing.js';
import { createSimulatedDriver } from './compute/simulated.js';
import { findImage } from './domain/images.js';
import type { Config } from './config.js';
import { type Account, DEFAULT_QUOTAS } from './accounts.js';
import { loadCatalog } from './domain/instance-types.js';
import { PublicIpAllocator } from './domain/public-ip.js';
import { instanceNetworkOf } from './services/network.js';
import { type ImdsService, createImdsService, imdsNamespaceOf, imdsViewOf } from './imds/index.js';
import { createApiServer } from './http/server.js';
import { Faults } from './faults.js';
import { type Logger, createLogger } from './logger.js';
import { Store } from './store/store.js';
import { type DataDirLock, DataDirLockError, lockDataDir } from './lock.js';

export interface Nestbox {
  /** e.g. http://127.0.0.1:4599 */
  readonly endpoint: string;
  readonly port: number;
  readonly services: Services;
  readonly driverName: string;
  /** faults on demand (and --throttle): the admin interface's state */
  readonly faults: Faults;
  close(): Promise<void>;
}

/**
 * Each real VM's metadata service: the instance as the store has it at every request, so what the
 * API changes (metadata options, tags, a new public address) is what the guest reads next.
 */
function metadataService(config: Config, store: Store, reconciler: Reconciler, log: Logger): ImdsService {
  return createImdsService({
    namespace: imdsNamespaceOf(config.dataDir),
    log,
    lookup: (id) => {
      const rec = store.instance(id);
      if (!rec || rec.state === 'terminated') return undefined;
      const attached = instanceNetworkOf(rec);
      return imdsViewOf(rec, {
        tags: store.tagsOf(id),
        network: reconciler.specOf(rec).network,
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
function chooseDriver(config: Config, reconciler: Reconciler, log: Logger, imds: () => ImdsService): VmDriver {
  const simulated = () => createSimulatedDriver(reconciler.onEvent, { delayMs: config.simulatedDelayMs });
  if (config.driver === 'simulated') return simulated();
  const q = qemuAvailability(config.imagesDir ?? config.dataDir);
  if (!q.available) {
    if (config.driver === 'qemu') throw new StartupError(`--driver qemu: ${q.reason}`);
    log.info(`driver auto: using the simulated driver because ${q.reason}`);
    return simulated();
  }
  const imagesDir = config.imagesDir ?? config.dataDir;
  const qemu = createQemuDriver(reconciler.onEvent, {
    dataDir: config.dataDir,
    image: q.image,
    imageOf: (variant) => (isImageVariant(variant) ? findBuiltImage(imagesDir, variant) : undefined),
    qemu: q.qemu,
    imds: imds(),
    accel: config.accel,
    maxMemoryMiB: config.vmMemoryMiB,
    ...(config.vmMaxVcpus !== undefined ? { maxVcpus: config.vmMaxVcpus } : {}),
    ...(config.vmMemoryBudgetMiB !== undefined ? { memoryBudgetMiB: config.vmMemoryBudgetMiB } : {}),
    ...(config.maxVms !== undefined ? { maxVms: config.maxVms } : {}),
    stopTimeoutMs: config.stopTimeoutMs,
    log,
  });
  return createRoutingDriver(qemu, simulated(), (spec) => findImage(spec.imageId)?.bootable === true);
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
 * The store, or a one-line StartupError when nestbox.db cannot be read as a database (garbage bytes, a
 * damaged file). SQLite refuses such a file before writing anything to it, and it is left as it is.
 */
function openStore(config: Config, log: Logger): Store {
  const file = join(config.dataDir, 'nestbox.db');
  // SQLite may create an (empty) WAL and shared-memory file before it finds the database unreadable.
  const sideFiles = config.dataDir === ':memory:' ? [] : [`${file}-wal`, `${file}-shm`].filter((f) => !existsSync(f));
  try {
    return new Store({ dataDir: config.dataDir, fsync: config.fsync, warn: log.warn });
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

async function startOwned(config: Config, log: Logger): Promise<Nestbox> {
  const store = openStore(config, log);
  const catalog = loadCatalog(config.catalog);
  const now = () => new Date();
  const reconciler = new Reconciler(store, catalog, log, { terminatedRetentionMs: config.terminatedRetentionMs, now });
  let imds: ImdsService | undefined;
  const driver = chooseDriver(config, reconciler, log, () => (imds ??= metadataService(config, store, reconciler, log)));
  reconciler.attach(driver);

  let seq = store.maxSeq();
  const services: Services = {
    store,
    catalog,
    reconciler,
    now,
    log,
    terminatedRetentionMs: config.terminatedRetentionMs,
    nextSeq: () => ++seq,
    // Seeded by the data directory, so servers with different ones draw far-apart public addresses.
    publicIps: new PublicIpAllocator(resolve(config.dataDir)),
    // --accounts: each account's own quotas; otherwise EC2's defaults (src/accounts.ts)
    ...(config.accounts ? { quotas: quotaLookup(config.accounts) } : {}),
  };
  await reconciler.recover();

  const faults = new Faults({ throttle: config.throttle === true });
  const server = createApiServer({
    services,
    faults,
    log,
    credentials: config.credentials,
    defaultRegion: config.defaultRegion,
    defaultAccount: config.defaultAccount,
    consoleSourceMaps: config.consoleSourceMaps,
    health: () => ({ driver: driver.name, catalog: catalog.profile, instances: store.instanceCount() }),
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    services,
    driverName: driver.name,
    faults,
    close: () =>
      (closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await reconciler.close();
        await imds?.closeAll();
        await store.close();
      })()),
  };
}
