/**
 * DescribeInstanceCreditSpecifications: the CPU credit option of burstable performance instances.
 *
 * nestbox does not take a CreditSpecification at launch, so every instance has its type's default:
 * `unlimited` for T3, T3a and T4g, `standard` for T2. As EC2 documents, a listing without instance IDs
 * holds only the instances running `unlimited`; named instances are answered whatever their type,
 * and a type that is not burstable reports `standard` (what EC2 answers for one, e.g. an m5).
 */
import type {
  DescribeInstanceCreditSpecificationsRequest,
  DescribeInstanceCreditSpecificationsResult,
  InstanceCreditSpecification,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import type { InstanceRecord } from '../domain/instance.js';
import { paginate } from '../domain/paging.js';
import { type Handler, type Services, checkDryRun } from './context.js';
import { findInstances, visibleInstances } from './instances.js';

/** EC2 takes at most this many explicit instance IDs in one call. */
const MAX_INSTANCE_IDS = 1000;

export function cpuCreditsOf(rec: InstanceRecord, s: Services): 'standard' | 'unlimited' {
  const burstable = s.catalog.info(rec.instanceType)?.BurstablePerformanceSupported === true;
  // T2 launches with `standard`; the later burstable families with `unlimited`.
  return burstable && !rec.instanceType.startsWith('t2.') ? 'unlimited' : 'standard';
}

const creditFilters: FilterTable<InstanceCreditSpecification> = {
  fields: { 'instance-id': (c) => c.InstanceId },
};

export const describeInstanceCreditSpecifications: Handler<
  DescribeInstanceCreditSpecificationsRequest,
  DescribeInstanceCreditSpecificationsResult
> = (input, ctx, s) => {
  const ids = input.InstanceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
  }
  if (ids.length > MAX_INSTANCE_IDS) {
    throw Errors.invalidParameterValue(`At most ${MAX_INSTANCE_IDS} instance IDs may be given; ${ids.length} were.`);
  }
  const predicate = compileFilters(creditFilters, input.Filters);
  const named = ids.length > 0 ? findInstances(s, ctx, ids) : undefined;
  checkDryRun(input);
  const specs = (named ?? visibleInstances(s, ctx).filter((r) => r.state !== 'terminated'))
    .map((r) => ({ InstanceId: r.id, CpuCredits: cpuCreditsOf(r, s) }))
    .filter((c) => (named !== undefined || c.CpuCredits === 'unlimited') && predicate(c));
  const page = paginate(specs, input, { min: 5, max: 1000 }, { f: input.Filters, ids });
  return { InstanceCreditSpecifications: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
