/**
 * EC2's Query protocol, as small as the console needs it: an action and its parameters, form-encoded,
 * signed with SigV4 (Smithy's SignatureV4 — the AWS SDKs' own signer — over a pure-JS SHA-256, so it
 * works on any origin, not only secure ones), POSTed to the server, and the XML answer read with
 * ./xml.ts. An error document becomes an ApiError carrying EC2's code and message untouched.
 *
 * Nothing here touches the DOM: the unit tests run it in Node against a real server.
 */
import { Sha256Js } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { type ParseOptions, type XmlElement, XmlSyntaxError, parseXml, text } from './xml.js';

export const API_VERSION = '2016-11-15';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** An error as the API gave it: EC2's code and message, untouched. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** Query parameters by name; undefined values are left out. */
export type Params = Readonly<Record<string, string | number | boolean | undefined>>;

/** A list member: `InstanceId.1=…&InstanceId.2=…`. */
export function listParams(name: string, values: readonly (string | number)[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  values.forEach((v, i) => (out[`${name}.${i + 1}`] = v));
  return out;
}

export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/** `Filter.1.Name=…&Filter.1.Value.1=…` */
export function filterParams(filters: readonly Filter[]): Record<string, string> {
  const out: Record<string, string> = {};
  filters.forEach((f, i) => {
    out[`Filter.${i + 1}.Name`] = f.name;
    f.values.forEach((v, j) => (out[`Filter.${i + 1}.Value.${j + 1}`] = v));
  });
  return out;
}

/** RFC 3986 percent-encoding, as SigV4 and EC2 expect it. */
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function formBody(action: string, params: Params): string {
  const parts = [`Action=${encode(action)}`, `Version=${API_VERSION}`];
  for (const [k, v] of Object.entries(params)) if (v !== undefined) parts.push(`${encode(k)}=${encode(String(v))}`);
  return parts.join('&');
}

export interface QueryClient {
  readonly region: string;
  /** The answer's root element; rejects with an ApiError. */
  call(action: string, params?: Params, options?: ParseOptions): Promise<XmlElement>;
}

/** Codes with which a server says the request's clock is off: the client corrects its clock once and retries. */
const CLOCK_ERRORS = new Set(['RequestExpired', 'RequestTimeTooSkewed', 'RequestInTheFuture']);
const FIVE_MINUTES = 5 * 60_000;

export function createQueryClient(
  credentials: Credentials,
  region: string,
  endpoint: string,
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
): QueryClient {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ service: 'ec2', region, credentials, sha256: Sha256Js, applyChecksum: false });
  /** Server time minus local time, learnt from a refusal for a skewed clock (as the SDKs do). */
  let clockOffsetMs = 0;

  const send = async (body: string): Promise<Response> => {
    const signed = await signer.sign(
      {
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: '/',
        query: {},
        // The browser sends exactly this Host (it may not be set by hand, so it is left out below).
        headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      },
      { signingDate: new Date(Date.now() + clockOffsetMs) },
    );
    const { host: _host, ...headers } = signed.headers;
    try {
      return await fetchImpl(new URL('/', url), { method: 'POST', headers, body, credentials: 'omit' });
    } catch (err) {
      // No HTTP answer at all: the server is down or unreachable.
      throw new ApiError('NetworkError', `The nestbox server did not answer (${err instanceof Error ? err.message : String(err)}).`);
    }
  };

  return {
    region,
    async call(action, params = {}, options) {
      const body = formBody(action, params);
      let res = await send(body);
      let answer = await res.text();
      if (!res.ok) {
        const error = errorOf(res, answer);
        const serverDate = Date.parse(res.headers.get('date') ?? '');
        const skew = serverDate - Date.now();
        if (!CLOCK_ERRORS.has(error.code) || Number.isNaN(serverDate) || Math.abs(skew - clockOffsetMs) < FIVE_MINUTES) throw error;
        clockOffsetMs = skew;
        res = await send(body);
        answer = await res.text();
        if (!res.ok) throw errorOf(res, answer);
      }
      try {
        return parseXml(answer, options);
      } catch (err) {
        if (err instanceof XmlSyntaxError) throw new ApiError('InvalidResponse', `The answer to ${action} is not readable XML (${err.message}).`, res.status);
        throw err;
      }
    },
  };
}

/** EC2's error document (`<Response><Errors><Error><Code>…`), or what else came back. */
function errorOf(res: Response, answer: string): ApiError {
  try {
    const root = parseXml(answer);
    const error = root.name === 'Response' ? root.children.find((c) => c.name === 'Errors')?.children[0] : undefined;
    const code = text(error, 'Code');
    if (code) return new ApiError(code, text(error, 'Message') ?? '', res.status, text(root, 'RequestID') ?? text(root, 'RequestId'));
  } catch {
    // not XML: described below
  }
  const requestId = res.headers.get('x-amzn-requestid') ?? undefined;
  return new ApiError(`HTTP${res.status}`, `HTTP ${res.status} ${res.statusText}: ${answer.slice(0, 300)}`, res.status, requestId);
}
