/**
 * IMDSv2 session tokens: stateless, HMAC-signed with a key the service draws at random when it is
 * created, and bound to one instance. A token names its expiry and carries a nonce; its MAC covers
 * both and the instance ID, so a token issued on one instance's socket is worthless on another's, and
 * every token dies with the service (as EC2's die when the instance stops).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** EC2's limits for X-aws-ec2-metadata-token-ttl-seconds. */
export const MIN_TOKEN_TTL_SECONDS = 1;
export const MAX_TOKEN_TTL_SECONDS = 21_600;

const VERSION = 1;
const EXPIRY_BYTES = 6; // milliseconds since the epoch: enough until the year 10889
const NONCE_BYTES = 12;
const MAC_BYTES = 32;
const TOKEN_BYTES = 1 + EXPIRY_BYTES + NONCE_BYTES + MAC_BYTES;
/** base64 of TOKEN_BYTES; longer header values are refused before any decoding */
const MAX_TOKEN_CHARS = Math.ceil(TOKEN_BYTES / 3) * 4;

export interface TokenSigner {
  /** A token for `instanceId` valid for `ttlSeconds` from `nowMs`. */
  issue(instanceId: string, ttlSeconds: number, nowMs: number): string;
  /** The token's expiry (ms since the epoch) when it is a valid, unexpired token of `instanceId`; else undefined. */
  verify(instanceId: string, token: string, nowMs: number): number | undefined;
}

/** The TTL a token request asks for, or undefined when it is missing or not a whole number in 1..21600. */
export function parseTokenTtl(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^[0-9]{1,6}$/.test(header.trim())) return undefined;
  const ttl = Number(header.trim());
  return ttl >= MIN_TOKEN_TTL_SECONDS && ttl <= MAX_TOKEN_TTL_SECONDS ? ttl : undefined;
}

export function createTokenSigner(key: Uint8Array = randomBytes(32)): TokenSigner {
  const mac = (instanceId: string, head: Buffer): Buffer =>
    createHmac('sha256', key).update(head).update('\0').update(instanceId, 'utf8').digest();
  return {
    issue(instanceId, ttlSeconds, nowMs) {
      const head = Buffer.alloc(1 + EXPIRY_BYTES + NONCE_BYTES);
      head.writeUInt8(VERSION, 0);
      head.writeUIntBE(nowMs + ttlSeconds * 1000, 1, EXPIRY_BYTES);
      randomBytes(NONCE_BYTES).copy(head, 1 + EXPIRY_BYTES);
      return Buffer.concat([head, mac(instanceId, head)]).toString('base64');
    },
    verify(instanceId, token, nowMs) {
      if (token.length === 0 || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
      const raw = Buffer.from(token, 'base64');
      if (raw.length !== TOKEN_BYTES || raw.readUInt8(0) !== VERSION) return undefined;
      const head = raw.subarray(0, TOKEN_BYTES - MAC_BYTES);
      if (!timingSafeEqual(raw.subarray(TOKEN_BYTES - MAC_BYTES), mac(instanceId, head))) return undefined;
      const expiry = raw.readUIntBE(1, EXPIRY_BYTES);
      return nowMs < expiry ? expiry : undefined;
    },
  };
}
