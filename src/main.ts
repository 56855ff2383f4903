/** The composition root: config → store → catalog → reconciler + driver → HTTP. */
import type { AddressInfo } from 'node:net';
import type { Services } from './api/context.js';
import { Reconciler } from './compute/reconciler.js';
import { createSimulatedDriver } from './compute/simulated.js';
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

export async function startNestbox(config: Config, log: Logger = createLogger({ quiet: config.quiet })): Promise<Nestbox> {
  const store = new Store({ dataDir: config.dataDir, fsync: config.fsync });
  const catalog = loadCatalog(config.catalog);
  const now = () => new Date();
  const reconciler = new Reconciler(store, catalog, log, { terminatedRetentionMs: config.terminatedRetentionMs, now });
  // `auto` picks the best driver this machine can run; until the qemu driver exists that is the simulated one.
  const driver = createSimulatedDriver(reconciler.onEvent, { delayMs: config.simulatedDelayMs });
  reconciler.attach(driver);

  let seq = store.maxSeq();
  const services: Services = {
    store,
    catalog,
    reconciler,
    now,
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
    health: () => ({ driver: driver.name, catalog: catalog.profile, instances: seq }),
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
        store.close();
      })()),
  };
}
