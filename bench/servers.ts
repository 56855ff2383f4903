/**
 * Starting and stopping the servers under test as child processes on 127.0.0.1: nestbox from its
 * built JavaScript (what `npm start` runs) and moto's standalone server. Each is ready when a signed
 * DescribeInstances answers 200; each stops with SIGTERM, then SIGKILL, bounded in time.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Ec2QueryClient } from './http.js';

export interface RunningServer {
  readonly name: string;
  readonly version: string;
  readonly endpoint: string;
  readonly child: ChildProcess;
  /** the last lines the process wrote, for error messages */
  output(): string;
  stop(timeoutMs?: number): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than any file in src/. */
export function ensureBuilt(root: string, log: (s: string) => void): void {
  const entry = join(root, 'dist', 'cli', 'main.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(root, 'src'))) return;
  log('dist/ is missing or stale: npm run build');
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  } catch (err) {
    // tsc still writes JavaScript when it reports type errors (noEmitOnError is off).
    if (!existsSync(entry)) throw err;
    log('the build reported errors (above); benchmarking the JavaScript it wrote to dist/ anyway');
  }
}

function launch(name: string, version: string, endpoint: string, command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): RunningServer {
  const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    version,
    endpoint,
    child,
    output: () => tail,
    async stop(timeoutMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), sleep(timeoutMs).then(() => true)]);
      if (timedOut) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(2000)]);
      }
    },
  };
}

/** Polls with a signed DescribeInstances until the server answers 200 (or the process dies). */
async function waitReady(server: RunningServer, timeoutMs = 30_000): Promise<void> {
  const client = new Ec2QueryClient(server.endpoint);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (server.child.exitCode !== null) throw new Error(`${server.name} exited (${server.child.exitCode}):\n${server.output()}`);
      try {
        if ((await client.call('DescribeInstances')).status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${server.name} did not answer within ${timeoutMs} ms:\n${server.output()}`);
      await sleep(100);
    }
  } finally {
    client.close();
  }
}

export interface NestboxOptions {
  readonly root: string;
  readonly dataDir: string;
  readonly simDelayMs: number;
  /** extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', dir] */
  readonly nodeFlags?: readonly string[];
  /** extra `serve` options, e.g. ['--database', 'postgres://…'] */
  readonly serveArgs?: readonly string[];
}

export async function startNestboxServer(o: NestboxOptions): Promise<RunningServer> {
  const port = await freePort();
  const version = (JSON.parse(readFileSync(join(o.root, 'package.json'), 'utf8')) as { version: string }).version;
  const args = [
    ...(o.nodeFlags ?? []),
    join(o.root, 'dist', 'cli', 'main.js'),
    'serve',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--data-dir', o.dataDir,
    '--sim-delay-ms', String(o.simDelayMs),
    '--quiet',
    ...(o.serveArgs ?? []),
  ];
  const env = { ...process.env, NESTBOX_ACCESS_KEY_ID: 'test', NESTBOX_SECRET_ACCESS_KEY: 'test' };
  const server = launch('nestbox', `${version} (node ${process.version})`, `http://127.0.0.1:${port}`, process.execPath, args, o.root, env);
  await waitReady(server).catch(async (err: unknown) => {
    await server.stop();
    throw err;
  });
  return server;
}

export function motoVersion(python = 'python3'): string {
  return execFileSync(python, ['-c', 'import moto, sys; print(moto.__version__, "(python " + sys.version.split()[0] + ")")'], {
    encoding: 'utf8',
  }).trim();
}

export async function startMotoServer(python = 'python3'): Promise<RunningServer> {
  const version = motoVersion(python);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
  delete env.MOTO_AMIS_PATH;
  const server = launch('moto', version, `http://127.0.0.1:${port}`, python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], process.cwd(), env);
  await waitReady(server).catch(async (err: unknown) => {
    await server.stop();
    throw err;
  });
  return server;
}
