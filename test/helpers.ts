/** Shared test fixtures: an in-process nestbox on a free loopback port, SDK clients for it, and the SDK calls most tests make. */

// The SDK warns that releases after January 2027 need Node 22; nestbox pins its SDK version, so the notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import assert from 'node:assert/strict';
import {
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { mkdtempSync, rmSync } from 'node:fs';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, DEFAULTS } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { type Nestbox, startNestbox } from '../src/main.js';

export const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The catalog's built-in images: Linux on x86_64, Linux on arm64, and Windows on x86_64. */
export const LINUX_AMI = 'ami-0b5e4a1f2c3d40001';
export const ARM_AMI = 'ami-0b5e4a1f2c3d40002';
export const WINDOWS_AMI = 'ami-0b5e4a1f2c3d40003';

export interface TestServer {
  readonly nestbox: Nestbox;
  readonly endpoint: string;
  readonly dataDir: string;
  client(region?: string, credentials?: { accessKeyId: string; secretAccessKey: string }): EC2Client;
  /** stops the server; the data dir stays for a restart */
  stop(): Promise<void>;
  /** starts a new server on the same data dir (with `changes` on top of the first start's overrides) */
  restart(changes?: Partial<Config>): Promise<TestServer>;
  /** stops the server and removes the data dir */
  close(): Promise<void>;
}

/**
 * The store the API suites run on: SQLite (the default), or PostgreSQL when NESTBOX_TEST_STORE=postgres
 * (.ci/run runs the API suites both ways): then every test server gets a fresh database of its own in
 * this process's throwaway cluster (test/pg.ts).
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.NESTBOX_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

let cluster: Promise<{ readonly url: string }> | undefined;
let databases = 0;

/** A fresh, empty PostgreSQL database in this test process's throwaway cluster. */
export async function freshDatabase(): Promise<string> {
  cluster ??= import('./pg.js').then((pg) => pg.startPostgres());
  const { url } = await cluster;
  const name = `nestbox_t${process.pid}_${++databases}`;
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function startTestServer(overrides: Partial<Config> = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'nestbox-test-'));
  // A restart (same data dir, same overrides) finds the database the first start made.
  if (TEST_STORE === 'postgres' && overrides.database === undefined) overrides = { ...overrides, database: await freshDatabase() };
  const config: Config = { ...DEFAULTS, port: 0, dataDir: dir, simulatedDelayMs: 50, quiet: true, ...overrides };
  const nestbox = await startNestbox(config, silentLogger);
  const clients: EC2Client[] = [];
  const server: TestServer = {
    nestbox,
    endpoint: nestbox.endpoint,
    dataDir: dir,
    client(region = 'us-east-1', credentials = CREDENTIALS) {
      const c = new EC2Client({ endpoint: nestbox.endpoint, region, credentials, maxAttempts: 1 });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await nestbox.close();
    },
    async restart(changes: Partial<Config> = {}) {
      await server.stop();
      return startTestServer({ ...overrides, ...changes }, dir);
    },
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** A signed call of the admin interface (src/http/admin.ts) at `endpoint`: its status and JSON answer. */
export async function adminCall(
  endpoint: string,
  method: string,
  path: string,
  body?: unknown,
  credentials = CREDENTIALS,
): Promise<{ status: number; json: any }> {
  const url = new URL(path, endpoint);
  const text = body === undefined ? '' : JSON.stringify(body);
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'ec2', sha256: Sha256 });
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: {},
    headers: { host: url.host, ...(text ? { 'content-type': 'application/json' } : {}) },
    body: text,
  });
  const { host: _host, ...headers } = signed.headers;
  const res = await fetch(url, { method, headers, ...(text ? { body: text } : {}) });
  return { status: res.status, json: await res.json() };
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The EC2 error code of a rejected promise (the SDK's `name`), with its HTTP status. */
export async function errorOf(p: Promise<unknown>): Promise<{ code: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { code: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** RunInstances: one t3.micro of LINUX_AMI unless `params` say otherwise; the instances it answers. */
export async function launch(client: EC2Client, params: Partial<RunInstancesCommandInput> = {}): Promise<Instance[]> {
  const r = await client.send(
    new RunInstancesCommand({ ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ...params }),
  );
  return r.Instances ?? [];
}

/** `launch`, which must answer exactly one instance, with its ID. */
export async function launchOne(client: EC2Client, params: Partial<RunInstancesCommandInput> = {}): Promise<Instance> {
  const instances = await launch(client, params);
  assert.equal(instances.length, 1, `RunInstances answered ${instances.length} instances, not one`);
  const [i] = instances;
  assert.ok(i?.InstanceId, 'RunInstances answered an instance without an InstanceId');
  return i;
}

/** DescribeInstances of one instance ID, which must show exactly that one instance. */
export async function describeOne(client: EC2Client, id: string): Promise<Instance> {
  const r = await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  const found = (r.Reservations ?? []).flatMap((res) => res.Instances ?? []);
  assert.equal(found.length, 1, `DescribeInstances of ${id} shows ${found.length} instances, not one`);
  return found[0]!;
}

/** DescribeInstances of one instance until it is in `state` (10 s at most); the instance as it was then. */
export async function inState(client: EC2Client, id: string, state: string): Promise<Instance> {
  return eventually(async () => {
    const i = await describeOne(client, id);
    return i.State!.Name === state ? i : undefined;
  }, 10_000, `${id} ${state}`);
}
