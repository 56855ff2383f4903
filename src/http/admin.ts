/**
 * The admin interface (README "Faults on demand"): JSON over HTTP under /_nestbox/, outside the EC2 API,
 * authenticated exactly as the API is (SigV4, service `ec2`, a Region of the catalog; with `--no-auth`,
 * not at all). Everything is scoped to the caller's account.
 *
 *   GET    /_nestbox/faults          {"faults":[…],"throttle":{…}}
 *   POST   /_nestbox/faults          body: one fault (src/faults.ts)        → 201 {"fault":{…}}
 *   DELETE /_nestbox/faults          clears every fault of the account      → {"cleared":N}
 *   DELETE /_nestbox/faults/<id>     removes one                            → {"removed":"<id>"} or 404
 *   POST   /_nestbox/crash           body: {"instanceId":"i-…"}             → {"instanceId","previousState","state"}
 *   GET    /_nestbox/hosts           the VM hosts (docs/multi-host.md)       → {"hosts":[{id,name,driver,state,…,load}]}
 *   GET    /_nestbox/hosts/<id>      one, with the account's instances on it → {"host":{…,"instances":["i-…"]}}
 *
 * Errors are JSON too: {"error":{"code","message"}} with the HTTP status.
 */
import type { Services } from '../services/context.js';
import type { VmHostRecord } from '../store/types.js';
import { FaultRequestError, type Faults, THROTTLE_BUCKETS, crashInstance } from '../faults.js';

export const ADMIN_PREFIX = '/_nestbox/';
export const isAdminPath = (path: string): boolean => path.startsWith(ADMIN_PREFIX);

export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Buffer;
  readonly account: string;
}

export interface AdminReply {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

export const jsonReply = (status: number, value: unknown): AdminReply => ({
  status,
  body: `${JSON.stringify(value)}\n`,
  contentType: 'application/json',
});

export const adminError = (status: number, code: string, message: string): AdminReply => jsonReply(status, { error: { code, message } });

/** The names of the admin routes (for the request log: no input is echoed there). */
export function adminActionName(method: string, path: string): string {
  const route = ['/_nestbox/faults', '/_nestbox/crash', '/_nestbox/hosts'].includes(path)
    ? path
    : path.startsWith('/_nestbox/faults/')
      ? '/_nestbox/faults/{id}'
      : path.startsWith('/_nestbox/hosts/')
        ? '/_nestbox/hosts/{id}'
        : '/_nestbox/?';
  return `admin:${/^[A-Z]{1,10}$/.test(method) ? method : '?'} ${route}`;
}

export async function handleAdmin(req: AdminRequest, faults: Faults, services: Services): Promise<AdminReply> {
  try {
    return await route(req, faults, services);
  } catch (err) {
    if (err instanceof FaultRequestError) return adminError(err.status, err.code, err.message);
    throw err;
  }
}

async function route(req: AdminRequest, faults: Faults, services: Services): Promise<AdminReply> {
  const { method, path, account } = req;
  if (path === '/_nestbox/faults') {
    switch (method) {
      case 'GET':
        return jsonReply(200, {
          faults: faults.list(account),
          throttle: { enabled: faults.throttling, ...(faults.throttling ? { buckets: THROTTLE_BUCKETS } : {}) },
        });
      case 'POST':
        return jsonReply(201, { fault: faults.add(account, parseJson(req.body)) });
      case 'DELETE':
        return jsonReply(200, { cleared: faults.clear(account) });
      default:
        return notAllowed(method, 'GET, POST, DELETE');
    }
  }
  const one = /^\/_nestbox\/faults\/(fault-[0-9a-f]{16})$/.exec(path);
  if (one) {
    if (method !== 'DELETE') return notAllowed(method, 'DELETE');
    const id = one[1] as string;
    return faults.remove(account, id) ? jsonReply(200, { removed: id }) : adminError(404, 'FaultNotFound', `There is no fault ${id}.`);
  }
  if (path === '/_nestbox/hosts') {
    if (method !== 'GET') return notAllowed(method, 'GET');
    const [hosts, load] = await Promise.all([services.store.vmHosts(), services.store.vmHostLoad()]);
    const byHost = new Map(load.map((l) => [l.host, l]));
    return jsonReply(200, { hosts: hosts.map((h) => hostView(h, byHost.get(h.id))) });
  }
  const host = /^\/_nestbox\/hosts\/(nbh-[0-9a-f]{12})$/.exec(path);
  if (host) {
    if (method !== 'GET') return notAllowed(method, 'GET');
    const id = host[1] as string;
    const rec = await services.store.vmHost(id);
    if (!rec) return adminError(404, 'HostNotFound', `There is no VM host ${id}.`);
    const load = (await services.store.vmHostLoad()).find((l) => l.host === id);
    const mine = (await services.store.instancesOnVmHost(id)).filter((i) => i.account === account && i.state !== 'terminated');
    return jsonReply(200, { host: { ...hostView(rec, load), instances: mine.map((i) => i.id) } });
  }
  if (path === '/_nestbox/crash') {
    if (method !== 'POST') return notAllowed(method, 'POST');
    const body = parseJson(req.body) as { instanceId?: unknown } | null;
    return jsonReply(200, await crashInstance(account, body?.instanceId, services));
  }
  return adminError(404, 'NotFound', 'No such admin route; see the README, "Faults on demand".');
}

const notAllowed = (method: string, allowed: string) =>
  adminError(405, 'MethodNotAllowed', `${/^[A-Z]{1,10}$/.test(method) ? method : 'This method'} is not allowed here; use ${allowed}.`);

/** A VM host as the admin interface shows it: its record (without the revision) and what it runs now. */
function hostView(h: VmHostRecord, load: { instances: number; vcpus: number } | undefined) {
  const { rev: _rev, ...rest } = h;
  return { ...rest, heartbeatAt: new Date(h.heartbeatAt).toISOString(), running: { instances: load?.instances ?? 0, vcpus: load?.vcpus ?? 0 } };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new FaultRequestError('MalformedJson', 'The body must be JSON.');
  }
}
