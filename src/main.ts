/** The composition root: config → store → catalog → reconciler + driver → HTTP. */
import type { AddressInfo } from 'node:net';
import type { Services } from './api/context.js';
import { Reconciler } from './compute/reconciler.js';
import type { VmDriver } from './compute/driver.js';
import { createQemuDriver, qemuAvailability } from './compute/qemu/index.js';
import { createRoutingDriver } from './compute/routing.js';
import { createSimulatedDriver } from './compute/simulated.js';
import { findImage } from './domain/images.js';
import type { Config } from './config.js';
import { loadCatalog } from './domain/instance-types.js';
import { createApiServer } from './http/server.js';
import { type Logger, createLogger } from './logger.js';
import { Store } from './store/store.js';

export interface Nestbox {
  /** e.g. http://127.0.0.1:4599 */
  readonly endpoint: string;
  readonly port: number;
  readonly services: Services;
  readonly driverName: string;
  close(): Promise<void>;
}

/** `qemu` runs real VMs; `auto` does so when QEMU and a built image are here, else simulates them. */
function chooseDriver(config: Config, reconciler: Reconciler, log: Logger): VmDriver {
  const simulated = () => createSimulatedDriver(reconciler.onEvent, { delayMs: config.simulatedDelayMs });
  if (config.driver === 'simulated') return simulated();
  const q = qemuAvailability(config.imagesDir ?? config.dataDir);
  if (!q.available) {
    if (config.driver === 'qemu') throw new StartupError(`--driver qemu: ${q.reason}`);
    log.info(`driver auto: using the simulated driver because ${q.reason}`);
    return simulated();
  }
  const qemu = createQemuDriver(reconciler.onEvent, {
    dataDir: config.dataDir,
    image: q.image,
    qemu: q.qemu,
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

/** A start-up problem a person can act on (printed without a stack trace). */
export class StartupError extends Error {}

export async function startNestbox(config: Config, log: Logger = createLogger({ quiet: config.quiet })): Promise<Nestbox> {
  const store = new Store({ dataDir: config.dataDir, fsync: config.fsync, warn: log.warn });
  const catalog = loadCatalog(config.catalog);
  const now = () => new Date();
  const reconciler = new Reconciler(store, catalog, log, { terminatedRetentionMs: config.terminatedRetentionMs, now });
  const driver = chooseDriver(config, reconciler, log);
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
  };
  await reconciler.recover();

  const server = createApiServer({
    services,
    log,
    credentials: config.credentials,
    defaultRegion: config.defaultRegion,
    defaultAccount: config.defaultAccount,
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
    close: () =>
      (closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await reconciler.close();
        await store.close();
      })()),
  };
}
