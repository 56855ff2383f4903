/**
 * What the console can tell ahead of a request, from the catalog's facts (DescribeInstanceTypes) and
 * the instance's own fields. It holds no rule of its own: the nested-virtualization checks are the
 * server's pure functions from src/domain, run here over the same facts, so a hint reads exactly as
 * the API's refusal would. The API still decides; whatever it refuses is shown as it answered.
 */
import type { Instance, InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { resolveCpuSettings } from '../../domain/cpu-options.js';
import { Ec2Error, Errors } from '../../domain/errors.js';
import type { InstanceTypeFacts } from '../../domain/instance-types.js';
import { virtualSecureMode } from '../../domain/instance.js';
import { familyAndSize } from './format.js';

export type Platform = 'linux' | 'windows';
export type Toggle = 'enabled' | 'disabled';

export const supportsNestedVirtualization = (info: InstanceTypeInfo): boolean =>
  info.ProcessorInfo?.SupportedFeatures?.includes('nested-virtualization') ?? false;

/** The architecture an AMI must have: x86_64 where listed (t2, m1… list i386 too), else the first (arm64, a Mac type's own). */
export const architectureOf = (info: InstanceTypeInfo): string => {
  const archs = info.ProcessorInfo?.SupportedArchitectures ?? [];
  return archs.includes('x86_64') ? 'x86_64' : (archs[0] ?? 'x86_64');
};

/** The catalog facts behind a DescribeInstanceTypes entry (the inverse of the server's describe()). */
export function factsOf(info: InstanceTypeInfo): InstanceTypeFacts {
  const [family, size] = familyAndSize(info);
  const cpu = info.VCpuInfo ?? {};
  return {
    type: info.InstanceType ?? '',
    family,
    size,
    vcpus: cpu.DefaultVCpus ?? 0,
    memoryMiB: info.MemoryInfo?.SizeInMiB ?? 0,
    defaultCores: cpu.DefaultCores ?? 0,
    defaultThreadsPerCore: cpu.DefaultThreadsPerCore ?? 1,
    ...(cpu.ValidCores ? { validCores: cpu.ValidCores } : {}),
    ...(cpu.ValidThreadsPerCore ? { validThreadsPerCore: cpu.ValidThreadsPerCore } : {}),
    bareMetal: info.BareMetal ?? false,
    hibernationSupported: info.HibernationSupported ?? false,
    architecture: architectureOf(info) as InstanceTypeFacts['architecture'],
    supportedFeatures: info.ProcessorInfo?.SupportedFeatures ?? [],
    currentGeneration: info.CurrentGeneration ?? false,
  };
}

/**
 * Why nested virtualization cannot be enabled for this type, platform and hibernation setting, in
 * the API's words — or undefined when the API would accept it.
 */
export function nestedVirtualizationBlocker(info: InstanceTypeInfo, platform: Platform, hibernation: boolean): string | undefined {
  try {
    resolveCpuSettings({ facts: factsOf(info), platform, hibernationConfigured: hibernation }, { NestedVirtualization: 'enabled' });
    return undefined;
  } catch (err) {
    if (err instanceof Ec2Error) return err.message;
    throw err;
  }
}

export const platformOf = (i: { Platform?: string | undefined }): Platform =>
  i.Platform?.toLowerCase() === 'windows' ? 'windows' : 'linux';

export const nestedVirtualizationOf = (i: Instance): Toggle | undefined => i.CpuOptions?.NestedVirtualization as Toggle | undefined;

/** Virtual Secure Mode as the server records it for a Windows instance; undefined on Linux. */
export const vsmOf = (i: Instance): 'enabled' | 'disabled' | undefined =>
  virtualSecureMode({ platform: platformOf(i), nestedVirtualization: nestedVirtualizationOf(i) });

/**
 * Why hibernation cannot be configured for this type with this nested-virtualization choice, in the
 * API's words — its own reason, not nested virtualization's — or undefined when it can.
 */
export function hibernationBlocker(info: InstanceTypeInfo, nested: Toggle | ''): string | undefined {
  if (!info.HibernationSupported) return Errors.hibernationNotSupported(info.InstanceType ?? '').message;
  if (nested === 'enabled') return Errors.nestedVirtualizationHibernation().message;
  return undefined;
}

/**
 * What ModifyInstanceAttribute InstanceType would do to this (stopped) instance: refuse it, with the API's
 * message, or change it — the CPU options go to the new type's defaults, which turns nested virtualization
 * off when it was on. The server's rule is typeChange (src/domain/instance-attributes.ts), which the
 * browser cannot import (that module also reads base64 with Node's Buffer); this is the same rule, and
 * test/console-logic.test.ts checks that the two agree for every type of the catalog.
 */
export function instanceTypeChange(i: Instance, to: InstanceTypeInfo): { readonly refused?: string; readonly nestedTurnedOff: boolean } {
  const from = i.InstanceType ?? '';
  const facts = factsOf(to);
  const architecture = i.Architecture === 'arm64' ? 'arm64' : 'x86_64';
  if (facts.architecture !== architecture) {
    const why = `The architecture '${facts.architecture}' of the instance type does not match the architecture '${architecture}' of the instance's AMI.`;
    return { refused: Errors.instanceTypeChangeNotAllowed(from, facts.type, why).message, nestedTurnedOff: false };
  }
  if (i.HibernationOptions?.Configured === true && !facts.hibernationSupported) {
    return { refused: Errors.hibernationNotSupported(facts.type).message, nestedTurnedOff: false };
  }
  return { nestedTurnedOff: nestedVirtualizationOf(i) === 'enabled' };
}
