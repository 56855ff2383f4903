/**
 * CPU options and the nested-virtualization rules (spec §2.2), as pure functions over the instance
 * type's facts. Launch (RunInstances) and change (ModifyInstanceCpuOptions) share them, so a rule is
 * written once. Checks run in the spec's order: value syntax, bare metal, type capability, Windows
 * size, hibernation, then core/thread validity.
 */
import { Errors } from './errors.js';
import type { InstanceTypeFacts } from './instance-types.js';

export type Toggle = 'enabled' | 'disabled';
const TOGGLES: readonly string[] = ['enabled', 'disabled'];

export interface CpuOptionsInput {
  readonly CoreCount?: number | undefined;
  readonly ThreadsPerCore?: number | undefined;
  readonly AmdSevSnp?: string | undefined;
  readonly NestedVirtualization?: string | undefined;
}

/** What an instance records. `nestedVirtualization` is absent when it was never set (as EC2 shows it). */
export interface CpuSettings {
  readonly coreCount: number;
  readonly threadsPerCore: number;
  readonly amdSevSnp?: Toggle | undefined;
  readonly nestedVirtualization?: Toggle | undefined;
}

export interface CpuContext {
  readonly facts: InstanceTypeFacts;
  readonly platform: 'linux' | 'windows';
  readonly hibernationConfigured: boolean;
}

export const WINDOWS_NESTED_MAX_VCPUS = 192;

export function parseToggle(value: string | undefined, param: string): Toggle | undefined {
  if (value === undefined) return undefined;
  if (!TOGGLES.includes(value)) throw Errors.invalidValueFor(param, value, 'Valid values: enabled, disabled.');
  return value as Toggle;
}

export const defaultCpuSettings = (facts: InstanceTypeFacts): CpuSettings => ({
  coreCount: facts.defaultCores,
  threadsPerCore: facts.defaultThreadsPerCore,
});

/** Nested virtualization may be on for this platform, type and hibernation setting — or the error why not. */
export function checkNestedVirtualization(ctx: CpuContext): void {
  const { facts } = ctx;
  if (!facts.supportedFeatures.includes('nested-virtualization')) {
    throw Errors.nestedVirtualizationNotSupported(facts.type);
  }
  if (ctx.platform === 'windows' && facts.vcpus > WINDOWS_NESTED_MAX_VCPUS) {
    throw Errors.nestedVirtualizationWindowsVcpus(facts.type, facts.vcpus);
  }
  if (ctx.hibernationConfigured) throw Errors.nestedVirtualizationHibernation();
}

/**
 * The CPU settings that result from applying `input` on top of `current` (the type's defaults at
 * launch), or the EC2 error the request deserves. `paramPrefix` names parameters in messages
 * (`cpuOptions.` for RunInstances, '' for ModifyInstanceCpuOptions).
 */
export function resolveCpuSettings(
  ctx: CpuContext,
  input: CpuOptionsInput | undefined,
  current: CpuSettings = defaultCpuSettings(ctx.facts),
  paramPrefix = 'cpuOptions.',
): CpuSettings {
  if (!input || Object.values(input).every((v) => v === undefined)) return current;
  const nested = parseToggle(input.NestedVirtualization, `${paramPrefix}nestedVirtualization`);
  const amdSevSnp = parseToggle(input.AmdSevSnp, `${paramPrefix}amdSevSnp`);
  const { facts } = ctx;
  if (facts.bareMetal || !facts.validCores || !facts.validThreadsPerCore) throw Errors.cpuOptionsNotSupported(facts.type);
  if (nested === 'enabled') checkNestedVirtualization(ctx);
  if (amdSevSnp === 'enabled' && !facts.supportedFeatures.includes('amd-sev-snp')) {
    throw Errors.amdSevSnpNotSupported(facts.type);
  }

  const { CoreCount: cores, ThreadsPerCore: threads } = input;
  if ((cores === undefined) !== (threads === undefined)) {
    throw Errors.invalidParameterCombination('CoreCount and ThreadsPerCore must be specified together.');
  }
  if (cores !== undefined && !facts.validCores.includes(cores)) {
    throw Errors.invalidCoreCount(facts.type, cores, facts.validCores);
  }
  if (threads !== undefined && !facts.validThreadsPerCore.includes(threads)) {
    throw Errors.invalidThreadsPerCore(facts.type, threads, facts.validThreadsPerCore);
  }
  return {
    coreCount: cores ?? current.coreCount,
    threadsPerCore: threads ?? current.threadsPerCore,
    amdSevSnp: amdSevSnp ?? current.amdSevSnp,
    nestedVirtualization: nested ?? current.nestedVirtualization,
  };
}
