/**
 * The launch wizard's checks before RunInstances: the number of instances as typed, and the choices
 * the API would refuse (with the messages of the server's own rule functions, see capabilities.ts).
 * Pure, so the unit tests check them directly.
 */
import type { InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { type Platform, type Toggle, hibernationBlocker, nestedVirtualizationBlocker } from './capabilities.js';
import { count } from './format.js';

export type CountCheck = { readonly ok: true; readonly count: number } | { readonly ok: false; readonly message: string };

/**
 * The number of instances as typed: a whole number from 1 up to the account's instance quota (when it
 * is known). Nothing is rounded or capped behind the user's back: anything else is refused, saying why.
 */
export function parseInstanceCount(text: string, max: number | undefined): CountCheck {
  const t = text.trim();
  if (t === '') return { ok: false, message: 'Enter the number of instances to launch.' };
  if (!/^\d+$/.test(t) || Number(t) < 1) {
    return { ok: false, message: `“${t}” is not a number of instances: enter a whole number of at least 1.` };
  }
  const n = Number(t);
  if (max !== undefined && n > max) {
    return { ok: false, message: `At most ${count(max)}: that is this account's instance quota (max-instances) in this Region.` };
  }
  return { ok: true, count: n };
}

export interface LaunchChoices {
  readonly typeInfo: InstanceTypeInfo | undefined;
  readonly platform: Platform;
  readonly nested: Toggle | '';
  readonly hibernation: boolean;
  readonly count: CountCheck;
}

export interface LaunchCheck {
  /** why Enable is not possible for this type / platform / hibernation (shown whether or not it is chosen) */
  readonly nestedBlocker: string | undefined;
  /** why hibernation is not possible with this type and nested-virtualization choice */
  readonly hibernationBlocker: string | undefined;
  /** what stops the launch as chosen; empty: Launch is enabled */
  readonly problems: readonly string[];
}

export function checkLaunch(c: LaunchChoices): LaunchCheck {
  const nestedBlocker = c.typeInfo && nestedVirtualizationBlocker(c.typeInfo, c.platform, c.hibernation);
  const hibernation = c.typeInfo && hibernationBlocker(c.typeInfo, c.nested);
  const problems: string[] = [];
  if (!c.typeInfo) problems.push('Choose an instance type.');
  if (c.nested === 'enabled' && nestedBlocker) problems.push(`Nested virtualization: ${nestedBlocker}`);
  if (c.hibernation && hibernation && !(c.nested === 'enabled' && nestedBlocker === hibernation)) problems.push(`Hibernation: ${hibernation}`);
  if (!c.count.ok) problems.push(`Number of instances: ${c.count.message}`);
  return { nestedBlocker, hibernationBlocker: hibernation, problems };
}
