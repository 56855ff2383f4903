/**
 * A minimal SigV4-signed EC2 Query client for benchmarking: it signs with @smithy/signature-v4, sends
 * with node:http over one keep-alive connection and times each call from the first byte written to
 * the last byte of the response body received. The body is kept as raw text — no XML parsing — so
 * the time is the server's (plus loopback), not an SDK's.
 */
import { Agent, request } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@smithy/core/checksum';

export const EC2_API_VERSION = '2016-11-15';

export type QueryParams = Readonly<Record<string, string | number | boolean>>;

export interface Timed {
  readonly status: number;
  readonly body: string;
  /** response body size in bytes */
  readonly bytes: number;
  /** request write → last body byte, in milliseconds */
  readonly ms: number;
}

/** RFC 3986 encoding, as the AWS SDKs write form bodies. */
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function formBody(action: string, params: QueryParams): string {
  const parts = [`Action=${encode(action)}`, `Version=${EC2_API_VERSION}`];
  for (const [k, v] of Object.entries(params)) parts.push(`${encode(k)}=${encode(String(v))}`);
  return parts.join('&');
}

export class Ec2QueryClient {
  readonly endpoint: URL;
  private readonly signer: SignatureV4;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    endpoint: string,
    readonly region = 'us-east-1',
    credentials = { accessKeyId: 'test', secretAccessKey: 'test' },
  ) {
    this.endpoint = new URL(endpoint);
    this.signer = new SignatureV4({ credentials, region, service: 'ec2', sha256: Sha256 });
  }

  /** One signed POST; resolves with the status, raw body and timing whatever the status. */
  async call(action: string, params: QueryParams = {}): Promise<Timed> {
    const body = formBody(action, params);
    const { hostname, port } = this.endpoint;
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname,
      port: Number(port),
      path: '/',
      query: {},
      headers: {
        host: this.endpoint.host,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    });
    return new Promise<Timed>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(
        { agent: this.agent, host: hostname, port: Number(port), method: 'POST', path: '/', headers: signed.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            const buf = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, body: buf.toString('utf8'), bytes: buf.length, ms });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Like call(), but a non-2xx answer is an error carrying the EC2 error code. */
  async ok(action: string, params: QueryParams = {}): Promise<Timed> {
    const r = await this.call(action, params);
    if (r.status < 200 || r.status > 299) {
      const code = /<Code>([^<]*)<\/Code>/.exec(r.body)?.[1] ?? '?';
      const message = /<Message>([^<]*)<\/Message>/.exec(r.body)?.[1] ?? r.body.slice(0, 200);
      throw new Error(`${action} → HTTP ${r.status} ${code}: ${message}`);
    }
    return r;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** How many times an element occurs in a raw XML body (e.g. instances in a DescribeInstances answer). */
export const countElements = (xml: string, name: string): number => xml.split(`<${name}>`).length - 1;
