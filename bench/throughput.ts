/**
 * Requests per second one API server answers (`npm run bench:throughput`): DescribeInstances by ID from
 * CONNECTIONS concurrent keep-alive clients, against a bare `node:http` server that answers a fixed body
 * of the same size, under the same load generator, in the same run.
 *
 * The request is signed once and sent again as it is (SigV4 accepts a signature for minutes), so the
 * generator spends nothing on signing; it runs in a worker thread of this process, apart from both
 * servers (each a process of its own), and counts whole responses (Content-Length framed).
 *
 * Options: --seconds N (5)  --connections N (32)  --store sqlite|postgres  --cpu-prof-dir DIR (profile nestbox)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { startPostgres } from '../test/pg.js';
import { Ec2QueryClient, formBody } from './http.js';
import { readFlags } from './options.js';
import { ensureBuilt, freePort, startNestboxServer } from './servers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface LoadJob {
  readonly port: number;
  readonly request: string;
  readonly connections: number;
  readonly seconds: number;
}

/**
 * The generator, plain JavaScript run as a worker thread (eval): CONNECTIONS sockets, each sending the
 * request again as soon as a response is whole (Content-Length framed); posts {responses, errors}.
 */
const GENERATOR = `
const { connect } = require('node:net');
const { parentPort, workerData: job } = require('node:worker_threads');
const request = Buffer.from(job.request);
let responses = 0, errors = 0;
const until = Date.now() + job.seconds * 1000;
const one = () => new Promise((done) => {
  const socket = connect(job.port, '127.0.0.1');
  let pending = Buffer.alloc(0);
  socket.setNoDelay(true);
  socket.on('connect', () => socket.write(request));
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const end = pending.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const head = pending.subarray(0, end).toString('latin1');
      const m = /\\r\\ncontent-length: *(\\d+)/i.exec(head);
      if (!m) { errors++; socket.destroy(); return done(); }
      const length = Number(m[1]);
      if (pending.length < end + 4 + length) return;
      if (head.startsWith('HTTP/1.1 200')) responses++; else errors++;
      pending = pending.subarray(end + 4 + length);
      if (Date.now() >= until) { socket.end(); return done(); }
      socket.write(request);
    }
  });
  socket.on('error', () => { errors++; done(); });
});
Promise.all(Array.from({ length: job.connections }, one)).then(() => parentPort.postMessage({ responses, errors }));
`;

function load(job: LoadJob): Promise<{ responses: number; errors: number }> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(GENERATOR, { eval: true, workerData: job });
    worker.once('message', resolvePromise);
    worker.once('error', reject);
  });
}

/** A bare node:http server answering `bytes` bytes of XML to every request, keep-alive. */
async function bareServer(bytes: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const code = `const body = Buffer.alloc(${bytes}, 'x');
require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'Content-Type': 'text/xml;charset=UTF-8', 'Content-Length': body.length }); res.end(body); });
}).listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok) => child.stdout!.once('data', () => ok()));
  return { port, child };
}

async function signedRequest(endpoint: URL, region: string, params: Record<string, string>): Promise<string> {
  const body = formBody('DescribeInstances', params);
  const signer = new SignatureV4({ credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, region, service: 'ec2', sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: endpoint.hostname,
    port: Number(endpoint.port),
    path: '/',
    query: {},
    headers: {
      host: endpoint.host,
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  });
  const headers = Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`);
  return `POST / HTTP/1.1\r\n${headers.join('\r\n')}\r\nconnection: keep-alive\r\n\r\n${body}`;
}

async function main(): Promise<void> {
  const o = { seconds: 5, connections: 32, store: 'sqlite' as 'sqlite' | 'postgres', cpuProfDir: undefined as string | undefined };
  readFlags(process.argv.slice(2), (r) => {
    switch (r.flag) {
      case '--seconds': o.seconds = r.int(); break;
      case '--connections': o.connections = r.int(); break;
      case '--store': o.store = r.value() === 'postgres' ? 'postgres' : 'sqlite'; break;
      case '--cpu-prof-dir': o.cpuProfDir = resolve(r.value()); break;
      default: throw new Error(`unknown option ${r.flag}`);
    }
  });
  const log = (s: string) => process.stderr.write(`[throughput] ${s}\n`);
  ensureBuilt(ROOT, log);
  const dataDir = mkdtempSync(join(tmpdir(), 'nestbox-throughput-'));
  const pg = o.store === 'postgres' ? await startPostgres() : undefined;
  const nestbox = await startNestboxServer({
    root: ROOT,
    dataDir,
    simDelayMs: 0,
    serveArgs: pg ? ['--database', pg.url] : [],
    nodeFlags: o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [],
  });
  let bare: { port: number; child: ChildProcess } | undefined;
  try {
    const client = new Ec2QueryClient(nestbox.endpoint);
    const run = await client.ok('RunInstances', { ImageId: 'ami-0b5e4a1f2c3d40001', InstanceType: 'c8i.large', MinCount: 100, MaxCount: 100 });
    const id = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(run.body)![1]!;
    const sample = await client.ok('DescribeInstances', { 'InstanceId.1': id });
    client.close();
    const endpoint = new URL(nestbox.endpoint);
    const request = await signedRequest(endpoint, 'us-east-1', { 'InstanceId.1': id });
    bare = await bareServer(sample.bytes);
    log(`${o.connections} connections, ${o.seconds} s each; the answer is ${sample.bytes} bytes`);
    const nb = await load({ port: Number(endpoint.port), request, connections: o.connections, seconds: o.seconds });
    const base = await load({ port: bare.port, request, connections: o.connections, seconds: o.seconds });
    const rps = (n: number) => n / o.seconds;
    console.log(`| server | requests/s | errors |\n|---|---|---|`);
    console.log(`| nestbox (${o.store}), DescribeInstances by ID | ${rps(nb.responses).toFixed(0)} | ${nb.errors} |`);
    console.log(`| bare node:http, fixed ${sample.bytes}-byte body | ${rps(base.responses).toFixed(0)} | ${base.errors} |`);
    console.log(`nestbox / bare: ${((100 * nb.responses) / base.responses).toFixed(0)}% (goal ≥ 50%)`);
  } finally {
    bare?.child.kill();
    await nestbox.stop();
    await pg?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
