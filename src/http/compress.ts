/**
 * Response compression, as the client asks for it (RFC 9110 Accept-Encoding, q-values included):
 * Brotli or gzip, or the body as it is. The API's XML answers are compressed here when they are large
 * enough to gain from it (a page of a thousand instances is ~4 MB of XML and ~0.1 MB compressed); the
 * web console's static files choose their encoding with the same negotiation (src/http/console.ts).
 * Clients that send no Accept-Encoding — the AWS CLI sends `identity`, the SDK for JavaScript none — get
 * the body uncompressed, exactly as before.
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export type Encoding = 'br' | 'gzip';

/** In the server's order of preference when the client weighs them equally. */
const ENCODINGS: readonly Encoding[] = ['br', 'gzip'];

/** Bodies smaller than this are sent as they are: compressing them saves less than it costs. */
export const MIN_COMPRESSED_BYTES = 1024;

/** The encoding to answer with for this Accept-Encoding header, or undefined for the body as it is. */
export function preferredEncoding(acceptEncoding: string | readonly string[] | undefined): Encoding | undefined {
  if (acceptEncoding === undefined) return undefined;
  const weights = new Map<string, number>();
  for (const part of (typeof acceptEncoding === 'string' ? acceptEncoding : acceptEncoding.join(',')).split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim());
    if (name === '') continue;
    const q = params.find((p) => /^q=/i.test(p));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    weights.set(name.toLowerCase(), Number.isFinite(weight) ? Math.min(Math.max(weight, 0), 1) : 0);
  }
  let best: Encoding | undefined;
  let bestWeight = 0;
  for (const encoding of ENCODINGS) {
    const weight = weights.get(encoding) ?? weights.get('*') ?? 0;
    if (weight > bestWeight) [best, bestWeight] = [encoding, weight];
  }
  return best;
}

/**
 * Compresses with settings made for answers computed per request: fast (Brotli quality 4, gzip level 5)
 * rather than smallest; a static file, compressed once, may use `level: 'max'`.
 */
export function compress(body: Buffer, encoding: Encoding, level: 'fast' | 'max' = 'fast'): Buffer {
  if (encoding === 'br') {
    return brotliCompressSync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: level === 'max' ? constants.BROTLI_MAX_QUALITY : 4,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    });
  }
  return gzipSync(body, { level: level === 'max' ? constants.Z_BEST_COMPRESSION : 5 });
}

/**
 * An API answer's body as the client asked for it, with the headers that go with it (Content-Encoding;
 * Vary, since the answer depends on Accept-Encoding). Content-Length is the caller's, from the body returned.
 */
export function encodeResponse(
  acceptEncoding: string | readonly string[] | undefined,
  body: Buffer,
): { body: Buffer; headers: Record<string, string> } {
  const encoding = responseEncoding(acceptEncoding, body.length);
  if (!encoding) return { body, headers: { Vary: 'Accept-Encoding' } };
  return { body: compress(body, encoding), headers: { 'Content-Encoding': encoding, Vary: 'Accept-Encoding' } };
}

/**
 * How an API answer of `bytes` bytes is sent, as encodeResponse decides it: compressed with the encoding
 * returned, or undefined for the body as it is (too small, or not asked for). For a caller that writes
 * the body as text when it is not compressed (the API server), and needs no buffer then.
 */
export function responseEncoding(acceptEncoding: string | readonly string[] | undefined, bytes: number): Encoding | undefined {
  return bytes >= MIN_COMPRESSED_BYTES ? preferredEncoding(acceptEncoding) : undefined;
}
