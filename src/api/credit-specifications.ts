/**
 * DescribeInstanceCreditSpecifications and ModifyInstanceCreditSpecification: the CPU credit option
 * of burstable performance instances.
 *
 * An instance has the option RunInstances' CreditSpecification or ModifyInstanceCreditSpecification
 * gave it, else its type's default: `unlimited` for T3, T3a and T4g (`standard` for T3 on a Dedicated
 * Host), `standard` for T2. As EC2 documents, a listing without instance IDs holds only the instances
 * running `unlimited`; named instances are answered whatever their type, and a type that is not
 * burstable reports `standard` (what EC2 answers for one, e.g. an m5) unless it kept an option it was
 * given while it was burstable. The rules are in src/domain/launch-options.ts.
 */
import type {
  DescribeInstanceCreditSpecificationsRequest,
  DescribeInstanceCreditSpecificationsResult,
  InstanceCreditSpecification,
  ModifyInstanceCreditSpecificationRequest,
  ModifyInstanceCreditSpecificationResult,
  SuccessfulInstanceCreditSpecificationItem,
  UnsuccessfulInstanceCreditSpecificationErrorCode,
  UnsuccessfulInstanceCreditSpecificationItem,
} from '@aws-sdk/client-ec2';
import { Ec2Error, Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId } from '../domain/ids.js';
import type { InstanceRecord } from '../domain/instance.js';
import { STATE_NAMES } from '../domain/lifecycle.js';
import { type CpuCredits, checkCpuCredits, parseCpuCredits } from '../domain/launch-options.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import type { Services } from '../services/context.js';
import { type Handler, checkDryRun, required } from './context.js';
import { creditSubject, instanceCpuCredits } from '../services/credit-specifications.js';
import { findInstances, visibleInstances } from '../services/instances.js';

/** A listing without instance IDs: every instance but terminated ones. */
const LISTED_STATES = STATE_NAMES.filter((state) => state !== 'terminated');

/** EC2 takes at most this many explicit instance IDs in one call. */
const MAX_INSTANCE_IDS = 1000;

const creditFilters: FilterTable<InstanceCreditSpecification> = {
  fields: { 'instance-id': (c) => c.InstanceId },
};

export const describeInstanceCreditSpecifications: Handler<
  DescribeInstanceCreditSpecificationsRequest,
  DescribeInstanceCreditSpecificationsResult
> = async (input, ctx, s) => {
  const ids = input.InstanceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
  }
  if (ids.length > MAX_INSTANCE_IDS) {
    throw Errors.invalidParameterValue(`At most ${MAX_INSTANCE_IDS} instance IDs may be given; ${ids.length} were.`);
  }
  const predicate = compileFilters(creditFilters, input.Filters);
  const named = ids.length > 0 ? await findInstances(s, ctx, ids) : undefined;
  checkDryRun(input);
  const specs = (named ?? (await visibleInstances(s, ctx, { states: LISTED_STATES })))
    .map((r) => ({ InstanceId: r.id, CpuCredits: instanceCpuCredits(r, s) }))
    .filter((c) => (named !== undefined || c.CpuCredits === 'unlimited') && predicate(c));
  const page = paginate(specs, input, DESCRIBE_PAGE_LIMITS, { f: input.Filters, ids });
  return { InstanceCreditSpecifications: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- ModifyInstanceCreditSpecification ----------------------------------------------------------------

type Outcome = { readonly id: string; readonly next?: InstanceRecord } | { readonly id: string; readonly error: Ec2Error };

/**
 * What one item does: the record with its new option, or the per-instance error EC2 reports in
 * UnsuccessfulInstanceCreditSpecifications (a malformed or unknown ID, an instance that is shutting
 * down or gone, a type that is not burstable, `unlimited` for T3 on a Dedicated Host).
 */
function modifyOne(id: string, credits: CpuCredits, s: Services, found: ReadonlyMap<string, InstanceRecord>): Outcome {
  if (!isWellFormedId('instance', id)) return { id, error: Errors.instanceIdMalformed(id) };
  const rec = found.get(id);
  if (!rec) {
    return { id, error: Errors.instanceIdNotFound([id]) };
  }
  if (rec.state === 'shutting-down' || rec.state === 'terminated') {
    return { id, error: Errors.incorrectInstanceState(rec.id, 'modified', rec.state) };
  }
  try {
    checkCpuCredits(creditSubject(rec, s), credits);
  } catch (err) {
    if (err instanceof Ec2Error) return { id, error: err };
    throw err;
  }
  return rec.cpuCredits === credits ? { id } : { id, next: { ...rec, cpuCredits: credits } };
}

export const modifyInstanceCreditSpecification: Handler<ModifyInstanceCreditSpecificationRequest, ModifyInstanceCreditSpecificationResult> = async (
  input,
  ctx,
  s,
) => {
  const items = required(input.InstanceCreditSpecifications, 'InstanceCreditSpecification');
  if (items.length > MAX_INSTANCE_IDS) {
    throw Errors.invalidParameterValue(`At most ${MAX_INSTANCE_IDS} instances may be given; ${items.length} were.`);
  }
  const wanted = items.map((item, i) => ({
    id: required(item.InstanceId, `InstanceCreditSpecification.${i + 1}.InstanceId`),
    credits: parseCpuCredits(item.CpuCredits, `InstanceCreditSpecification.${i + 1}.CpuCredits`),
  }));
  checkDryRun(input);
  // The visible instances among the well-formed IDs, read at once.
  const wellFormed = [...new Set(wanted.map((w) => w.id).filter((id) => isWellFormedId('instance', id)))];
  const found = new Map((wellFormed.length > 0 ? await visibleInstances(s, ctx, { ids: wellFormed }) : []).map((r) => [r.id, r]));
  const outcomes = wanted.map((w) => modifyOne(w.id, w.credits, s, found));
  // An instance named twice is written once, with the last option asked for.
  const changed = new Map(outcomes.flatMap((o) => ('next' in o && o.next ? [[o.id, o.next] as const] : [])));
  if (changed.size > 0) await s.store.commit({ instances: [...changed.values()] });
  const successful: SuccessfulInstanceCreditSpecificationItem[] = [];
  const unsuccessful: UnsuccessfulInstanceCreditSpecificationItem[] = [];
  for (const o of outcomes) {
    if ('error' in o) {
      unsuccessful.push({
        InstanceId: o.id,
        Error: { Code: o.error.code as UnsuccessfulInstanceCreditSpecificationErrorCode, Message: o.error.message },
      });
    } else successful.push({ InstanceId: o.id });
  }
  return { SuccessfulInstanceCreditSpecifications: successful, UnsuccessfulInstanceCreditSpecifications: unsuccessful };
};
