/** Request-level checks every layer shares: DryRun, and a parameter the request must give. */
import { Errors } from './errors.js';

/** DryRun: the request was valid and permitted, so EC2 answers DryRunOperation and changes nothing. */
export function checkDryRun(input: { readonly DryRun?: boolean | undefined }): void {
  if (input.DryRun) throw Errors.dryRun();
}

export function required<T>(value: T | undefined | null, name: string): T {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    throw Errors.missingParameter(name);
  }
  return value;
}

/** A count a request asks for (addresses, …): a whole number of at least `min`. */
export function checkCount(value: number | undefined, param: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min) throw Errors.invalidValueFor(param, value, `It must be a whole number of at least ${min}.`);
  return value;
}
