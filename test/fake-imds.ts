/**
 * A minimal stand-in for the instance metadata service, for driver tests that boot real VMs without
 * the API: the endpoints the guest's init asks for (a token, the instance ID, the hostname, a key,
 * the user data), each instance on its own abstract unix socket, as the real one (src/imds/) serves them.
 */
import { type Server, createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { ImdsEndpoints } from '../src/compute/qemu/driver.js';

export interface FakeInstanceData {
  readonly userData?: string;
  readonly publicKey?: string;
  readonly hostname?: string;
}

export interface FakeImds extends ImdsEndpoints {
  /** instances whose endpoint is open now */
  readonly open_: ReadonlySet<string>;
  closeAll(): Promise<void>;
}

export function fakeImds(dataOf: (instanceId: string) => FakeInstanceData = () => ({})): FakeImds {
  const ns = randomBytes(6).toString('hex');
  const servers = new Map<string, Server>();
  const names = new Map<string, string>();
  const openNow = new Set<string>();
  const answer = (id: string, path: string): string | undefined => {
    const d = dataOf(id);
    const items: Record<string, string | undefined> = {
      '/latest/meta-data/instance-id': id,
      '/latest/meta-data/local-hostname': d.hostname ?? id,
      '/latest/meta-data/hostname': d.hostname ?? id,
      '/latest/meta-data/public-keys/0/openssh-key': d.publicKey,
      '/latest/user-data': d.userData,
    };
    return items[path];
  };
  const close = async (id: string) => {
    const server = servers.get(id);
    servers.delete(id);
    names.delete(id);
    openNow.delete(id);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    open_: openNow,
    close,
    async closeAll() {
      await Promise.all([...servers.keys()].map(close));
    },
    async open(id) {
      const existing = names.get(id);
      if (existing) return existing;
      // padded to the whole of sun_path: Node binds an abstract name at that length, socat connects with the name's own (see src/imds/service.ts)
      const name = `nestbox-test-imds/${ns}/${id}/`.padEnd(107, '.');
      const server = createServer((req, res) => {
        if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.end('fake-token');
        const body = req.method === 'GET' ? answer(id, req.url ?? '') : undefined;
        if (body === undefined) {
          res.statusCode = 404;
          return void res.end('Not Found');
        }
        res.end(body);
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ path: `\0${name}` }, resolve));
      servers.set(id, server);
      names.set(id, name);
      openNow.add(id);
      return name;
    },
  };
}
