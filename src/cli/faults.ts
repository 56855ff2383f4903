/**
 * `nestbox faults …`: the admin interface's client (src/http/admin.ts). It finds the server and the
 * credentials as the AWS CLI does — `--endpoint-url` (or AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL),
 * `--region` (or AWS_REGION, AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY — and signs
 * each request with SigV4 (service `ec2`), as the server checks every API request.
 */
import { createHash } from 'node:crypto';
import { canonicalRequest, computeSignature } from '../http/sigv4.js';

export const FAULTS_USAGE = `Usage: nestbox faults <command> [options]

Commands:
  list                                   the faults of your account (JSON)
  add throttle --actions A[,B…] [--rate F | --per-second N]
                                         RequestLimitExceeded (503) on a fraction F of the calls (default 1),
                                         or past N calls a second
  add capacity [--instance-type T] [--zone Z] [--actions A[,B…]]
                                         InsufficientInstanceCapacity on RunInstances, StartInstances and
                                         CreateFleet (or the actions given) for that type and/or zone
  add internal-error --actions A[,B…] --count N
                                         InternalError (500) on the next N calls
  remove FAULT-ID                        removes one fault
  clear                                  removes every fault of your account
  crash INSTANCE-ID                      the instance's VM dies now (it becomes stopped, Server.InternalError)

Actions are EC2 action names (RunInstances, DescribeInstances, …) or * for all.

Options:
  --endpoint-url URL   the nestbox server (default: AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, http://127.0.0.1:4599)
  --region R           the Region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)
  --no-sign-request    send unsigned requests (for a server started with --no-auth)
Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.`;

export interface FaultsIo {
  readonly env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
}

class FaultsUsageError extends Error {}

interface Common {
  endpoint: string;
  region: string;
  sign: boolean;
}

/** Runs `nestbox faults …`; resolves with the exit status (0 done, 1 refused by the server or unreachable, 2 usage). */
export async function faultsCommand(argv: readonly string[], io: FaultsIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof FaultsUsageError) {
      io.err(`nestbox faults: ${err.message}\n\n${FAULTS_USAGE}`);
      return 2;
    }
    io.err(`nestbox faults: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

async function run(argv: readonly string[], io: FaultsIo): Promise<number> {
  const common: Common = {
    endpoint: io.env.AWS_ENDPOINT_URL_EC2 || io.env.AWS_ENDPOINT_URL || 'http://127.0.0.1:4599',
    region: io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION || 'us-east-1',
    sign: true,
  };
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? (arg.split(/=(.*)/s, 2) as [string, string]) : [arg, undefined];
    if (flag === '--no-sign-request') {
      common.sign = false;
      continue;
    }
    if (flag === '--help' || flag === '-h') {
      io.out(FAULTS_USAGE);
      return 0;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new FaultsUsageError(`${flag} needs a value`);
    flags.set(flag, value);
  }
  const take = (name: string) => {
    const v = flags.get(name);
    flags.delete(name);
    return v;
  };
  const endpoint = take('--endpoint-url');
  if (endpoint) common.endpoint = endpoint;
  const region = take('--region');
  if (region) common.region = region;

  const [command, ...rest] = positional;
  let method: string;
  let path: string;
  let body: unknown;
  switch (command) {
    case 'list':
      [method, path] = ['GET', '/_nestbox/faults'];
      break;
    case 'clear':
      [method, path] = ['DELETE', '/_nestbox/faults'];
      break;
    case 'remove':
      if (rest.length !== 1) throw new FaultsUsageError('remove takes one fault ID');
      [method, path] = ['DELETE', `/_nestbox/faults/${encodeURIComponent(rest[0] as string)}`];
      break;
    case 'crash':
      if (rest.length !== 1) throw new FaultsUsageError('crash takes one instance ID');
      [method, path, body] = ['POST', '/_nestbox/crash', { instanceId: rest[0] }];
      break;
    case 'add': {
      const [kind] = rest;
      const actions = take('--actions')?.split(',').map((a) => a.trim()).filter(Boolean);
      const num = (flag: string) => {
        const v = take(flag);
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n)) throw new FaultsUsageError(`${flag} needs a number, got ${v}`);
        return n;
      };
      if (kind === 'throttle') body = { kind, actions, rate: num('--rate'), perSecond: num('--per-second') };
      else if (kind === 'capacity') body = { kind, actions, instanceType: take('--instance-type'), zone: take('--zone') };
      else if (kind === 'internal-error') body = { kind, actions, count: num('--count') };
      else throw new FaultsUsageError(`add takes throttle, capacity or internal-error, got ${kind ?? 'nothing'}`);
      [method, path] = ['POST', '/_nestbox/faults'];
      break;
    }
    case undefined:
      throw new FaultsUsageError('no command given');
    default:
      throw new FaultsUsageError(`unknown command '${command}'`);
  }
  if (flags.size > 0) throw new FaultsUsageError(`unknown option '${[...flags.keys()][0]}' for ${command}`);

  const res = await send(common, method, path, body === undefined ? '' : JSON.stringify(body), io.env);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    io.err(`nestbox faults: HTTP ${res.status} ${e?.code ?? ''}: ${e?.message ?? text.slice(0, 500)}`);
    return 1;
  }
  io.out(JSON.stringify(parsed ?? text, null, 2));
  return 0;
}

async function send(c: Common, method: string, path: string, body: string, env: NodeJS.ProcessEnv): Promise<Response> {
  let url: URL;
  try {
    url = new URL(path, c.endpoint);
  } catch {
    throw new FaultsUsageError(`--endpoint-url is not a URL: ${c.endpoint}`);
  }
  const headers: Record<string, string> = { host: url.host, ...(body ? { 'content-type': 'application/json' } : {}) };
  if (c.sign) {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error('no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or use --no-sign-request for a --no-auth server)');
    }
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const payloadHash = createHash('sha256').update(body).digest('hex');
    headers['x-amz-date'] = amzDate;
    headers['x-amz-content-sha256'] = payloadHash;
    const signedHeaders = Object.keys(headers).sort().join(';');
    const scope = { date: amzDate.slice(0, 8), region: c.region, service: 'ec2' };
    const canonical = canonicalRequest({ method, path: url.pathname, rawQuery: '', headers, body: Buffer.from(body) }, signedHeaders, payloadHash, []);
    const signature = computeSignature(secretAccessKey, scope, amzDate, canonical).toString('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope.date}/${scope.region}/ec2/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  }
  const { host: _host, ...sent } = headers;
  try {
    return await fetch(url, { method, headers: sent, ...(body ? { body } : {}) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new Error(`cannot reach ${c.endpoint}: ${cause ?? (err as Error).message}`);
  }
}
