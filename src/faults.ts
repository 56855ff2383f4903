/**
 * Faults on demand, for users' own automation tests (README "Faults on demand"), and the optional
 * EC2-style request throttling (`--throttle`).
 *
 * A fault belongs to the account that added it and applies only to that account's EC2 API calls. It is
 * checked after a request is authenticated and its input parsed, and before the handler runs: a call a
 * fault refuses runs no handler and records nothing (it never half-applies). Faults live in memory: a
 * restart clears them.
 *
 *   throttle        RequestLimitExceeded (503) on chosen actions: `rate` (a fraction of calls, spread
 *                   deterministically: with 0.5 the 1st, 3rd, 5th … call fails) or `perSecond` (at most
 *                   N calls a second pass, a token bucket of N refilled at N a second)
 *   capacity        InsufficientInstanceCapacity (500) on RunInstances / StartInstances / CreateFleet (or
 *                   the actions named) for an instance type and/or an Availability Zone
 *   internal-error  InternalError (500) on the next `count` calls of the chosen actions
 *
 * and crash(): an instance's VM dies now, as a real crash does (stopped, state reason Server.InternalError).
 */
import { randomBytes } from 'node:crypto';
import type { Services } from './services/context.js';
import { OPERATIONS } from './api/operations.js';
import { Ec2Error, Errors } from './domain/errors.js';
import type { InstanceRecord } from './domain/instance.js';
import { applyTrigger } from './domain/instance-state.js';
import { STATE_REASONS } from './domain/lifecycle.js';
import { StoreConflict } from './store/types.js';

export type FaultSpec =
  | { readonly kind: 'throttle'; readonly actions: readonly string[]; readonly rate?: number; readonly perSecond?: number }
  | { readonly kind: 'capacity'; readonly actions: readonly string[]; readonly instanceType?: string; readonly zone?: string }
  | { readonly kind: 'internal-error'; readonly actions: readonly string[]; readonly count: number };

export type Fault = FaultSpec & {
  readonly id: string;
  readonly account: string;
  readonly createdAt: string;
  /** calls this fault refused so far */
  readonly hits: number;
  /** internal-error: calls still to fail */
  readonly remaining?: number;
};

interface FaultState {
  spec: FaultSpec;
  id: string;
  account: string;
  createdAt: string;
  hits: number;
  /** throttle/rate: calls seen; internal-error: calls still to fail */
  counter: number;
  /** throttle/perSecond: its bucket */
  bucket?: TokenBucket;
}

/** A problem with an admin request (answered as JSON with this status). */
export class FaultRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The call a fault is checked against: who, where, which action, and its parsed input. */
export interface CallInfo {
  readonly account: string;
  readonly region: string;
  readonly action: string;
  readonly input: unknown;
}

export const DEFAULT_CAPACITY_ACTIONS = ['RunInstances', 'StartInstances', 'CreateFleet'] as const;
const MAX_FAULTS_PER_ACCOUNT = 100;

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly size: number,
    readonly refillPerSecond: number,
    now: number,
  ) {
    this.tokens = size;
    this.last = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.size, this.tokens + ((now - this.last) / 1000) * this.refillPerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * EC2's request-token buckets (EC2 Developer Guide, "Request throttling for the Amazon EC2 API": each
 * API is evaluated on its own, per account and Region, with a bucket sized by its category):
 *   non-mutating (Describe*, Get*)                           100 tokens, 20 a second
 *   unfiltered and unpaginated non-mutating (no IDs, names,
 *   Filters or MaxResults)                                    50 tokens, 10 a second
 *   mutating and everything else                              50 tokens,  5 a second
 * The resource-token buckets (RunInstances counting instances, …) are not modelled.
 */
export const THROTTLE_BUCKETS = Object.freeze({
  nonMutating: { size: 100, refillPerSecond: 20 },
  unfilteredNonMutating: { size: 50, refillPerSecond: 10 },
  mutating: { size: 50, refillPerSecond: 5 },
});

export function throttleCategory(action: string, input: unknown): keyof typeof THROTTLE_BUCKETS {
  if (!/^(Describe|Get)/.test(action)) return 'mutating';
  const given = Object.entries((input ?? {}) as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const narrowed = given.some(([k, v]) => (k === 'Filters' || k === 'MaxResults' || /(Ids|Names)$/.test(k)) && (!Array.isArray(v) || v.length > 0));
  return action.startsWith('Describe') && !narrowed ? 'unfilteredNonMutating' : 'nonMutating';
}

export interface FaultsOptions {
  /** EC2-style request throttling (`--throttle`); default off */
  readonly throttle?: boolean;
  readonly now?: () => number;
}

export class Faults {
  private readonly faults: FaultState[] = [];
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: () => number;
  readonly throttling: boolean;

  constructor(opts: FaultsOptions = {}) {
    this.throttling = opts.throttle === true;
    this.now = opts.now ?? Date.now;
  }

  list(account: string): Fault[] {
    return this.faults.filter((f) => f.account === account).map(view);
  }

  /** Validates and adds a fault for `account`. */
  add(account: string, body: unknown): Fault {
    if (this.faults.filter((f) => f.account === account).length >= MAX_FAULTS_PER_ACCOUNT) {
      throw new FaultRequestError('FaultLimitExceeded', `An account can have at most ${MAX_FAULTS_PER_ACCOUNT} faults; clear some first.`);
    }
    const spec = parseSpec(body);
    const state: FaultState = {
      spec,
      id: `fault-${randomBytes(8).toString('hex')}`,
      account,
      createdAt: new Date(this.now()).toISOString(),
      hits: 0,
      counter: spec.kind === 'internal-error' ? spec.count : 0,
      ...(spec.kind === 'throttle' && spec.perSecond !== undefined ? { bucket: new TokenBucket(spec.perSecond, spec.perSecond, this.now()) } : {}),
    };
    this.faults.push(state);
    return view(state);
  }

  remove(account: string, id: string): boolean {
    const i = this.faults.findIndex((f) => f.account === account && f.id === id);
    if (i === -1) return false;
    this.faults.splice(i, 1);
    return true;
  }

  /** Removes every fault of `account`; how many there were. */
  clear(account: string): number {
    let n = 0;
    for (let i = this.faults.length - 1; i >= 0; i--) {
      if (this.faults[i]!.account === account) {
        this.faults.splice(i, 1);
        n++;
      }
    }
    return n;
  }

  /**
   * Before the handler: throws (rejects with) the error a throttling bucket or a fault answers this call
   * with, or returns and the call goes on. The first fault that fires answers; the others are not
   * consulted (and count nothing). The store is read only when a capacity fault may refuse a
   * StartInstances (its instances' types and zones), and before any fault counts the call.
   */
  check(call: CallInfo, services: Pick<Services, 'store'>): Promise<void> | undefined {
    // Nothing to consult (no throttling, no faults): nothing to wait for either.
    return this.throttling || this.faults.length > 0 ? this.consult(call, services) : undefined;
  }

  private async consult(call: CallInfo, services: Pick<Services, 'store'>): Promise<void> {
    if (this.throttling) {
      const category = throttleCategory(call.action, call.input);
      const key = `${call.account}\n${call.region}\n${call.action}\n${category}`;
      let bucket = this.buckets.get(key);
      if (!bucket) {
        const b = THROTTLE_BUCKETS[category];
        bucket = new TokenBucket(b.size, b.refillPerSecond, this.now());
        this.buckets.set(key, bucket);
      }
      if (!bucket.take(this.now())) throw Errors.requestLimitExceeded(call.account, call.action);
    }
    const applies = (f: FaultState) => f.account === call.account && f.spec.actions.some((a) => a === '*' || a === call.action);
    const starting =
      call.action === 'StartInstances' && this.faults.some((f) => applies(f) && f.spec.kind === 'capacity')
        ? await startingInstances(call, services)
        : [];
    for (const f of this.faults) {
      if (!applies(f)) continue;
      const error = this.fire(f, call, starting);
      if (error) {
        f.hits++;
        if (f.spec.kind === 'internal-error' && f.counter <= 0) this.faults.splice(this.faults.indexOf(f), 1);
        throw error;
      }
    }
  }

  private fire(f: FaultState, call: CallInfo, starting: readonly InstanceRecord[]): Ec2Error | undefined {
    const spec = f.spec;
    switch (spec.kind) {
      case 'throttle': {
        if (f.bucket) return f.bucket.take(this.now()) ? undefined : Errors.requestLimitExceeded(call.account, call.action);
        const rate = spec.rate ?? 1;
        const n = f.counter++;
        // Deterministic: over any run of calls, the fraction `rate` fails, starting with the first.
        const fails = Math.ceil((n + 1) * rate - 1e-9) > Math.ceil(n * rate - 1e-9);
        return fails ? Errors.requestLimitExceeded(call.account, call.action) : undefined;
      }
      case 'internal-error':
        if (f.counter <= 0) return undefined;
        f.counter--;
        return Errors.internal();
      case 'capacity': {
        const type = capacityMatch(spec, call, starting);
        return type === undefined
          ? undefined
          : Errors.insufficientCapacity(type, 'Our system will be working on provisioning additional capacity.');
      }
    }
  }
}

/** StartInstances' instances of the caller's account and region that exist, in the order the call names them. */
async function startingInstances(call: CallInfo, services: Pick<Services, 'store'>): Promise<InstanceRecord[]> {
  const ids = ((call.input ?? {}) as { InstanceIds?: unknown }).InstanceIds;
  if (!Array.isArray(ids) || ids.length === 0) return [];
  const named = ids.filter((id): id is string => typeof id === 'string');
  const recs = await services.store.instances({ account: call.account, region: call.region, ids: named });
  const byId = new Map(recs.map((r) => [r.id, r]));
  return named.map((id) => byId.get(id)).filter((r): r is InstanceRecord => r !== undefined);
}

/**
 * The instance type a capacity fault refuses this call for, or undefined when the call does not ask for
 * the fault's type and zone. RunInstances: its InstanceType and Placement.AvailabilityZone (a fault with a
 * zone matches only a launch that names it). StartInstances: any of its instances (`starting`, read
 * beforehand). CreateFleet: when every override (type, zone) matches. Other actions: only a fault naming
 * neither type nor zone.
 */
function capacityMatch(
  spec: Extract<FaultSpec, { kind: 'capacity' }>,
  call: CallInfo,
  starting: readonly InstanceRecord[],
): string | undefined {
  const matches = (type: string | undefined, zone: string | undefined) =>
    (spec.instanceType === undefined || spec.instanceType === type) && (spec.zone === undefined || spec.zone === zone);
  const input = (call.input ?? {}) as Record<string, unknown>;
  switch (call.action) {
    case 'RunInstances': {
      const type = input.InstanceType as string | undefined;
      const zone = (input.Placement as { AvailabilityZone?: string } | undefined)?.AvailabilityZone;
      return matches(type, zone) ? (type ?? spec.instanceType ?? 'the requested') : undefined;
    }
    case 'StartInstances': {
      for (const rec of starting) if (matches(rec.instanceType, rec.availabilityZone)) return rec.instanceType;
      return undefined;
    }
    case 'CreateFleet': {
      type Override = { InstanceType?: string; AvailabilityZone?: string };
      const configs = (input.LaunchTemplateConfigs as { Overrides?: Override[] }[] | undefined) ?? [];
      const overrides = configs.flatMap((c) => c.Overrides ?? []);
      if (overrides.length === 0) return spec.instanceType === undefined && spec.zone === undefined ? 'the requested' : undefined;
      return overrides.every((o) => matches(o.InstanceType, o.AvailabilityZone)) ? (overrides[0]?.InstanceType ?? spec.instanceType ?? 'the requested') : undefined;
    }
    default:
      return spec.instanceType === undefined && spec.zone === undefined ? 'the requested' : undefined;
  }
}

function view(f: FaultState): Fault {
  return {
    ...f.spec,
    id: f.id,
    account: f.account,
    createdAt: f.createdAt,
    hits: f.hits,
    ...(f.spec.kind === 'internal-error' ? { remaining: f.counter } : {}),
  };
}

const KINDS = ['throttle', 'capacity', 'internal-error'] as const;

function parseSpec(body: unknown): FaultSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('The body must be a JSON object describing one fault.');
  const b = body as Record<string, unknown>;
  const kind = b.kind;
  if (!KINDS.includes(kind as (typeof KINDS)[number])) throw bad(`kind must be one of ${KINDS.join(', ')}; got ${JSON.stringify(kind)}.`);
  const allowed: Record<string, readonly string[]> = {
    throttle: ['kind', 'actions', 'rate', 'perSecond'],
    capacity: ['kind', 'actions', 'instanceType', 'zone'],
    'internal-error': ['kind', 'actions', 'count'],
  };
  for (const k of Object.keys(b)) if (!allowed[kind as string]!.includes(k)) throw bad(`A ${String(kind)} fault has no member '${k.slice(0, 64)}'.`);
  const actions = parseActions(b.actions, kind === 'capacity' ? [...DEFAULT_CAPACITY_ACTIONS] : undefined);
  switch (kind) {
    case 'throttle': {
      if (b.rate !== undefined && b.perSecond !== undefined) throw bad('Give rate or perSecond, not both.');
      if (b.rate !== undefined && !(typeof b.rate === 'number' && b.rate > 0 && b.rate <= 1)) throw bad('rate must be a number above 0 and at most 1.');
      if (b.perSecond !== undefined && !(Number.isInteger(b.perSecond) && (b.perSecond as number) >= 0 && (b.perSecond as number) <= 1_000_000)) {
        throw bad('perSecond must be a whole number from 0 to 1000000.');
      }
      return {
        kind,
        actions,
        ...(b.perSecond !== undefined ? { perSecond: b.perSecond as number } : { rate: (b.rate as number | undefined) ?? 1 }),
      };
    }
    case 'capacity': {
      for (const k of ['instanceType', 'zone'] as const) {
        if (b[k] !== undefined && !(typeof b[k] === 'string' && /^[a-z0-9.-]{1,64}$/.test(b[k] as string))) throw bad(`${k} must be a name such as c8i.large or us-east-1a.`);
      }
      return {
        kind,
        actions,
        ...(b.instanceType !== undefined ? { instanceType: b.instanceType as string } : {}),
        ...(b.zone !== undefined ? { zone: b.zone as string } : {}),
      };
    }
    default: {
      if (!(Number.isInteger(b.count) && (b.count as number) >= 1 && (b.count as number) <= 1_000_000)) throw bad('count must be a whole number from 1 to 1000000.');
      return { kind: 'internal-error', actions, count: b.count as number };
    }
  }
}

function parseActions(value: unknown, fallback: string[] | undefined): string[] {
  if (value === undefined && fallback) return fallback;
  if (!Array.isArray(value) || value.length === 0 || value.length > 100) throw bad('actions must be a list of 1 to 100 EC2 action names (or "*" for all).');
  for (const a of value) {
    if (a !== '*' && !(typeof a === 'string' && Object.hasOwn(OPERATIONS, a))) {
      throw bad(`${JSON.stringify(String(a).slice(0, 64))} is not an EC2 action nestbox implements.`);
    }
  }
  return [...new Set(value as string[])];
}

const bad = (message: string) => new FaultRequestError('InvalidFault', message);

/** How many times a crash is decided again when the instance changed between its read and its write. */
const CRASH_ATTEMPTS = 5;

/**
 * An instance's VM dies now, as a real crash does: the instance becomes stopped with state reason
 * Server.InternalError — the state change the VM host records for a driver's `crashed` report — and,
 * written with it, a `force-stop` task tells its VM host to kill what is left of the VM (the driver's
 * later report finds the instance already stopped and changes nothing).
 */
export async function crashInstance(
  account: string,
  instanceId: unknown,
  services: Pick<Services, 'store' | 'now' | 'log'>,
): Promise<{ instanceId: string; previousState: string; state: string }> {
  if (typeof instanceId !== 'string' || !/^i-[0-9a-f]{8,17}$/.test(instanceId)) throw bad('instanceId must be an instance ID (i-…).');
  // The record is written back conditionally: when it changed meanwhile (e.g. it finished booting), decide again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await crashOnce(account, instanceId, services);
    } catch (err) {
      if (!(err instanceof StoreConflict) || attempt >= CRASH_ATTEMPTS) throw err;
    }
  }
}

async function crashOnce(
  account: string,
  instanceId: string,
  services: Pick<Services, 'store' | 'now' | 'log'>,
): Promise<{ instanceId: string; previousState: string; state: string }> {
  const rec = await services.store.instance(instanceId);
  if (!rec || rec.account !== account) {
    throw new FaultRequestError('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`, 404);
  }
  if (rec.state !== 'running') {
    throw new FaultRequestError('IncorrectInstanceState', `The instance '${instanceId}' is ${rec.state}; only a running instance can crash.`, 409);
  }
  const now = services.now();
  // `crashed` leads from running to stopped; the record keeps rec's `rev` (a conditional write).
  const after = applyTrigger(rec, 'crashed', now, {
    stateReason: STATE_REASONS.crashed,
    stateTransitionReason: `Server.InternalError (${now.toISOString().slice(0, 19).replace('T', ' ')} GMT)`,
  })!;
  await services.store.commit({
    instances: [after],
    ...(rec.vmHost ? { tasks: [{ host: rec.vmHost, target: instanceId, kind: 'force-stop' as const }] } : {}),
  });
  services.log.warn(`instance ${instanceId}: crashed: crashed on demand (nestbox faults crash)`);
  return { instanceId, previousState: rec.state, state: after.state };
}
