/**
 * What the console can tell ahead of a request, from the catalog's facts (DescribeInstanceTypes) and
 * the instance's own fields. It holds no rule of its own: the nested-virtualization checks are the
 * server's pure functions from src/domain, run here over the same facts, so a hint reads exactly as
 * the API's refusal would. The API still decides; whatever it refuses is shown as it answered.
 */
import type { Instance, InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { resolveCpuSettings } from '../../domain/cpu-options.js';
import { Ec2Error } from '../../domain/errors.js';
import type { InstanceTypeFacts } from '../../domain/instance-types.js';
import { virtualSecureMode } from '../../domain/instance.js';
import { familyAndSize } from './format.js';

export type Platform = 'linux' | 'windows';
export type Toggle = 'enabled' | 'disabled';

export const supportsNestedVirtualization = (info: InstanceTypeInfo): boolean =>
  info.ProcessorInfo?.SupportedFeatures?.includes('nested-virtualization') ?? false;

export const architectureOf = (info: InstanceTypeInfo): string => info.ProcessorInfo?.SupportedArchitectures?.[0] ?? 'x86_64';

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
    architecture: architectureOf(info) === 'arm64' ? 'arm64' : 'x86_64',
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
