/**
 * What every handler gets besides the services (src/services/context.ts): the request's own context, the
 * Handler type, and the request-level checks (DryRun, required parameters, ClientToken fingerprints).
 */
import { createHash } from 'node:crypto';
import type { Permission } from '../accounts.js';
import type { Scope } from '../domain/instance.js';
import type { Services } from '../services/context.js';

export { checkDryRun, required } from '../domain/request.js';

export interface RequestContext extends Scope {
  readonly requestId: string;
  readonly action: string;
  /** what the caller's key may do (src/accounts.ts; the server refuses the rest before a handler runs); absent: full */
  readonly permission?: Permission;
}

export type Handler<I, O> = (input: I, ctx: RequestContext, services: Services) => O | Promise<O>;

/**
 * A request as it matters for ClientToken idempotency: everything but the token itself and DryRun. A
 * replay with the same token and another fingerprint is IdempotentParameterMismatch.
 */
export function requestFingerprint(input: { readonly ClientToken?: string | undefined; readonly DryRun?: boolean | undefined }): string {
  const { ClientToken: _token, DryRun: _dryRun, ...rest } = input;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}
