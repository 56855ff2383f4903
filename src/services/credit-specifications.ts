/**
 * An instance's CPU credit option as the API reports it (DescribeInstanceCreditSpecifications,
 * GetLaunchTemplateData), from the rules in src/domain/launch-options.ts.
 */
import type { InstanceRecord } from '../domain/instance.js';
import { type CpuCredits, type CreditSubject, cpuCreditsOf } from '../domain/launch-options.js';
import type { Services } from './context.js';

export const creditSubject = (rec: InstanceRecord, s: Services): CreditSubject => ({
  instanceType: rec.instanceType,
  burstable: s.catalog.info(rec.instanceType)?.BurstablePerformanceSupported === true,
  tenancy: rec.tenancy,
});

/** An instance's CPU credit option (also what GetLaunchTemplateData gives a burstable instance). */
export const instanceCpuCredits = (rec: InstanceRecord, s: Services): CpuCredits => cpuCreditsOf(rec, creditSubject(rec, s));

/** Whether the instance's type is burstable, so that a template made from it may carry its credit option. */
export const isBurstable = (rec: InstanceRecord, s: Services): boolean => creditSubject(rec, s).burstable;
