/**
 * The instance-type catalog: what nestbox knows about each EC2 instance type, and the
 * DescribeInstanceTypes entry built from it.
 *
 * Source: real DescribeInstanceTypes output as dumped by getmoto/moto
 * (`moto/ec2/resources/instance_types.json` @ 34d6cad5ab, 2026-08-02). The launch profile's
 * SupportedFeatures follow the same file @ 9e7ed32bcb (2026-02-15); see spec §2.1 and §4.
 *
 * FAMILIES holds one row per family. Each size is expanded by the rules below (vCPUs from the size
 * name, memory per vCPU, ladders keyed by vCPU count), and the tables after FAMILIES list every type
 * whose real values depart from those rules. No entry is extrapolated: every type's values were
 * checked against the full 2026-08-02 file, not only the entries of the spec's reference JSON.
 */
import type { _InstanceType, InstanceTypeInfo, SupportedAdditionalProcessorFeature } from '@aws-sdk/client-ec2';

/** 'launch-2026-02': the 54 launch types report nested virtualization; '2026-07': the 166 of the expansion. */
export type CatalogProfile = 'launch-2026-02' | '2026-07';
const DEFAULT_PROFILE: CatalogProfile = 'launch-2026-02';
/** In chronological order: a feature reported from one profile on is reported in every later one. */
export const CATALOG_PROFILES: readonly CatalogProfile[] = [DEFAULT_PROFILE, '2026-07'];

export const isCatalogProfile = (s: string): s is CatalogProfile =>
  (CATALOG_PROFILES as readonly string[]).includes(s);

export interface InstanceTypeFacts {
  readonly type: string;
  readonly family: string;
  readonly size: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly defaultCores: number;
  readonly defaultThreadsPerCore: number;
  /** Absent when CPU options cannot be set: bare metal, and 1-vCPU Graviton. */
  readonly validCores?: readonly number[];
  readonly validThreadsPerCore?: readonly number[];
  readonly bareMetal: boolean;
  readonly hibernationSupported: boolean;
  readonly architecture: 'x86_64' | 'arm64';
  /** At the catalog's profile, e.g. ['nested-virtualization'], ['amd-sev-snp'] or []. */
  readonly supportedFeatures: readonly string[];
  readonly currentGeneration: boolean;
}

export interface Catalog {
  readonly profile: CatalogProfile;
  /** every type, sorted by family then size order (large < xlarge < 2xlarge ... < metal*) */
  readonly types: readonly InstanceTypeFacts[];
  facts(type: string): InstanceTypeFacts | undefined;
  /** the SDK-shaped DescribeInstanceTypes entry, built once per type and cached */
  info(type: string): InstanceTypeInfo | undefined;
  supportsNestedVirtualization(type: string): boolean;
}

// --- rules ---------------------------------------------------------------------------------------

type ProcessorFeature = SupportedAdditionalProcessorFeature;
const NESTED_VIRTUALIZATION: ProcessorFeature = 'nested-virtualization';

/** A value that grows with the vCPU count: each step applies from its vCPU count upward. */
type Step<T> = readonly [fromVcpus: number, value: T];
type Ladder<T> = readonly [Step<T>, ...Step<T>[]];
const onLadder = <T>(ladder: Ladder<T>, vcpus: number): T =>
  ladder.reduce((value, [from, next]) => (vcpus >= from ? next : value), ladder[0][1]);

/** [MaximumNetworkInterfaces, Ipv4AddressesPerInterface] */
type Interfaces = readonly [maxInterfaces: number, ipv4PerInterface: number];

const range = (from: number, to: number, step = 1): number[] =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

/** VCpuInfo.ValidCores as a function of the default core count; undefined = no CPU options. */
type CoreChoices = (cores: number) => readonly number[] | undefined;
const everyCount: CoreChoices = (cores) => range(1, cores);
/** Spec §4: every count up to 32 cores; above, steps of cores/32 (rounded up) from two steps. */
const gen8Cores: CoreChoices = (cores) => {
  const step = Math.ceil(cores / 32);
  return step === 1 ? range(1, cores) : range(2 * step, cores, step);
};
/** c7i/m7i/r7i and their flex, r7iz, i7i, i7ie: every count up to 48 cores; above, even counts from 4. */
const gen7Cores: CoreChoices = (cores) => (cores <= 48 ? range(1, cores) : range(4, cores, 2));
const m6iCores: CoreChoices = (cores) => (cores <= 2 ? range(1, cores) : range(2, cores, 2));
const t3Cores: CoreChoices = (cores) => (cores === 1 ? [1] : range(2, cores, 2));
/** A 1-vCPU Graviton type (c7g.medium) takes no CPU options at all. */
const gravitonCores: CoreChoices = (cores) => (cores === 1 ? undefined : range(1, cores));

/** Hibernation needs less than 150 GiB of memory (AWS user guide), unless the family says otherwise. */
const HIBERNATION_MEMORY_LIMIT_MIB = 150 * 1024;

interface Platform {
  readonly manufacturer: 'Intel' | 'AMD' | 'AWS';
  readonly architecture: 'x86_64' | 'arm64';
  readonly clockGhz: number;
  readonly threadsPerCore: 1 | 2;
  readonly coreChoices: CoreChoices;
  /** NetworkPerformance without the ' Gigabit' suffix */
  readonly bandwidth: Ladder<string>;
  readonly interfaces: Ladder<Interfaces>;
  readonly phc: boolean;
}

const GEN8: Platform = {
  manufacturer: 'Intel',
  architecture: 'x86_64',
  clockGhz: 3.9,
  threadsPerCore: 2,
  coreChoices: gen8Cores,
  bandwidth: [[1, 'Up to 12.5'], [8, 'Up to 15'], [32, '15'], [48, '22.5'], [64, '30'], [96, '40'],
    [128, '50'], [192, '75'], [256, '80'], [384, '100']],
  interfaces: [[1, [3, 20]], [4, [4, 30]], [16, [8, 50]], [32, [10, 50]], [48, [12, 50]],
    [64, [16, 64]], [128, [24, 64]]],
  phc: true,
};

/** The interface limits of the 7th-gen Intel families, m6i, m6a and c7g (1 vCPU: c7g.medium). */
const NITRO_INTERFACES: Ladder<Interfaces> = [[1, [2, 4]], [2, [3, 10]], [4, [4, 15]], [16, [8, 30]], [64, [15, 50]]];

const GEN7: Platform = {
  manufacturer: 'Intel',
  architecture: 'x86_64',
  clockGhz: 3.2,
  threadsPerCore: 2,
  coreChoices: gen7Cores,
  bandwidth: [[1, 'Up to 12.5'], [32, '12.5'], [48, '18.75'], [64, '25'], [96, '37.5'], [128, '50']],
  interfaces: NITRO_INTERFACES,
  phc: true,
};

/** One family: its platform, memory per vCPU, sizes, and the traits that set per-type values. */
interface FamilyRow {
  readonly family: string;
  readonly platform: Platform;
  readonly gibPerVcpu: number;
  readonly sizes: readonly string[];
  /** the first profile in which the family's virtual sizes report nested virtualization */
  readonly nestedFrom?: CatalogProfile;
  /** flex: "Up to" bandwidth, no dedicated hosts; both: no cluster placement, no Nitro Enclaves */
  readonly kind?: 'flex' | 'burstable';
  /** instance-store families (the *d and i families) report AutoRecoverySupported false */
  readonly instanceStore?: true;
  /** default: hibernation below HIBERNATION_MEMORY_LIMIT_MIB */
  readonly hibernation?: 'none' | 'any-memory';
  readonly previousGeneration?: true;
  readonly amdSevSnpMaxVcpus?: number;
}

const UP_TO_16XL = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];
const GEN8_SIZES = [...UP_TO_16XL, '24xlarge', '32xlarge', '48xlarge', '96xlarge', 'metal-48xl', 'metal-96xl'];
const GEN7_SIZES = [...UP_TO_16XL, '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'];
const LAUNCH: CatalogProfile = 'launch-2026-02';
const EXPANSION: CatalogProfile = '2026-07';
/** c8id/m8id/r8id: instance store, and no hibernation at any size */
const GEN8_INSTANCE_STORE = { instanceStore: true, hibernation: 'none' } as const;

const FAMILIES: readonly FamilyRow[] = [
  // The launch set (spec §4).
  { family: 'c8i', platform: GEN8, gibPerVcpu: 2, sizes: GEN8_SIZES, nestedFrom: LAUNCH },
  { family: 'm8i', platform: GEN8, gibPerVcpu: 4, sizes: GEN8_SIZES, nestedFrom: LAUNCH },
  { family: 'r8i', platform: GEN8, gibPerVcpu: 8, sizes: GEN8_SIZES, nestedFrom: LAUNCH },
  { family: 'c8i-flex', platform: GEN8, gibPerVcpu: 2, sizes: UP_TO_16XL, nestedFrom: LAUNCH, kind: 'flex' },
  { family: 'm8i-flex', platform: GEN8, gibPerVcpu: 4, sizes: UP_TO_16XL, nestedFrom: LAUNCH, kind: 'flex' },
  { family: 'r8i-flex', platform: GEN8, gibPerVcpu: 8, sizes: UP_TO_16XL, nestedFrom: LAUNCH, kind: 'flex' },
  // Added by the 2026-07 expansion (spec §2.1).
  { family: 'c8id', platform: GEN8, gibPerVcpu: 2, sizes: GEN8_SIZES, nestedFrom: EXPANSION, ...GEN8_INSTANCE_STORE },
  { family: 'm8id', platform: GEN8, gibPerVcpu: 4, sizes: GEN8_SIZES, nestedFrom: EXPANSION, ...GEN8_INSTANCE_STORE },
  { family: 'r8id', platform: GEN8, gibPerVcpu: 8, sizes: GEN8_SIZES, nestedFrom: EXPANSION, ...GEN8_INSTANCE_STORE },
  { family: 'x8i', platform: GEN8, gibPerVcpu: 16, sizes: [...GEN8_SIZES, '64xlarge'], nestedFrom: EXPANSION },
  { family: 'c7i', platform: GEN7, gibPerVcpu: 2, sizes: GEN7_SIZES, nestedFrom: EXPANSION },
  { family: 'm7i', platform: GEN7, gibPerVcpu: 4, sizes: GEN7_SIZES, nestedFrom: EXPANSION },
  { family: 'r7i', platform: GEN7, gibPerVcpu: 8, sizes: GEN7_SIZES, nestedFrom: EXPANSION },
  { family: 'c7i-flex', platform: GEN7, gibPerVcpu: 2, sizes: UP_TO_16XL, nestedFrom: EXPANSION, kind: 'flex' },
  {
    family: 'm7i-flex', platform: GEN7, gibPerVcpu: 4, sizes: UP_TO_16XL, nestedFrom: EXPANSION, kind: 'flex',
    hibernation: 'any-memory', // m7i-flex.12xlarge and .16xlarge (192 and 256 GiB) report it too
  },
  {
    family: 'r7iz', gibPerVcpu: 8, sizes: [...UP_TO_16XL, '32xlarge', 'metal-16xl', 'metal-32xl'], nestedFrom: EXPANSION,
    platform: { ...GEN7, clockGhz: 3.9, bandwidth: [[1, 'Up to 12.5'], [32, '12.5'], [48, '25'], [128, '50']], phc: false },
  },
  {
    family: 'i7i', gibPerVcpu: 8, sizes: GEN7_SIZES, nestedFrom: EXPANSION, instanceStore: true,
    platform: { ...GEN7, clockGhz: 2.4, bandwidth: [[1, 'Up to 10'], [8, 'Up to 12'], [16, 'Up to 25'],
      [48, 'Up to 28'], [64, 'Up to 37.5'], [96, 'Up to 56.25'], [192, 'Up to 100']] },
  },
  {
    family: 'i7ie', gibPerVcpu: 8, nestedFrom: EXPANSION, instanceStore: true,
    sizes: ['large', 'xlarge', '2xlarge', '3xlarge', '6xlarge', '12xlarge', '18xlarge', '24xlarge', '48xlarge',
      'metal-24xl', 'metal-48xl'],
    platform: { ...GEN7, clockGhz: 3.6, bandwidth: [[1, 'Up to 25'], [48, 'Up to 50'], [72, 'Up to 75'],
      [96, 'Up to 100'], [192, '100']] },
  },
  // Comparison families that never report nested virtualization.
  {
    family: 't3', gibPerVcpu: 4, sizes: ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'],
    kind: 'burstable',
    platform: { ...GEN7, clockGhz: 2.5, coreChoices: t3Cores, bandwidth: [[1, 'Up to 5']], phc: false },
  },
  {
    family: 'm6i', gibPerVcpu: 4, sizes: [...UP_TO_16XL, '24xlarge', '32xlarge', 'metal'], previousGeneration: true,
    platform: { ...GEN7, clockGhz: 3.5, coreChoices: m6iCores, phc: false },
  },
  {
    family: 'm6a', gibPerVcpu: 4, sizes: [...UP_TO_16XL, '24xlarge', '32xlarge', '48xlarge', 'metal'],
    amdSevSnpMaxVcpus: 32, // SEV-SNP on large..8xlarge only
    platform: { ...GEN7, manufacturer: 'AMD', clockGhz: 3.6, coreChoices: everyCount, phc: false },
  },
  {
    family: 'c7g', gibPerVcpu: 2, sizes: ['medium', ...UP_TO_16XL, 'metal'],
    platform: {
      manufacturer: 'AWS', architecture: 'arm64', clockGhz: 2.6, threadsPerCore: 1, coreChoices: gravitonCores,
      bandwidth: [[1, 'Up to 12.5'], [8, 'Up to 15'], [32, '15'], [48, '22.5'], [64, '30']],
      interfaces: NITRO_INTERFACES, phc: false,
    },
  },
];

/** Types whose shape departs from their family's rules. */
const TYPE_OVERRIDES: Readonly<Record<string, {
  readonly vcpus?: number;
  readonly memoryMiB?: number;
  readonly validCores?: readonly number[];
  readonly interfaces?: Interfaces;
}>> = {
  't3.nano': { vcpus: 2, memoryMiB: 512, interfaces: [2, 2] },
  't3.micro': { vcpus: 2, memoryMiB: 1024, interfaces: [2, 2] },
  't3.small': { vcpus: 2, memoryMiB: 2048, interfaces: [3, 4] },
  't3.medium': { vcpus: 2, memoryMiB: 4096, interfaces: [3, 6] },
  't3.large': { interfaces: [3, 12] },
  'i7ie.12xlarge': { interfaces: [8, 50] },
  'm6a.8xlarge': { validCores: range(4, 16, 2) },
  'm6a.12xlarge': { validCores: [...range(1, 8), 16, 24] },
  'm6a.16xlarge': { validCores: [...range(4, 16, 2), 32] },
  'm6a.24xlarge': { validCores: [...range(4, 16, 2), 32, 48] },
  'm6a.32xlarge': { validCores: [...range(8, 32, 4), 64] },
  'm6a.48xlarge': { validCores: [...range(8, 32, 4), 64, 96] },
};

const FREE_TIER = new Set(['t3.micro', 't3.small', 'c7i-flex.large', 'm7i-flex.large']);
/** Non-flex types that report DedicatedHostsSupported false. */
const NO_DEDICATED_HOSTS = new Set([
  'c7i.24xlarge', 'c7i.48xlarge', 'c7i.metal-24xl',
  'm7i.24xlarge', 'm7i.48xlarge', 'm7i.metal-24xl',
  'r7i.48xlarge', 'r7i.metal-24xl',
  'r7iz.16xlarge', 'r7iz.32xlarge',
]);

// --- expansion -----------------------------------------------------------------------------------

const isMetal = (size: string) => size === 'metal' || size.startsWith('metal-');

/** vCPUs named by the size: large = 2, xlarge = 4, Nxlarge and metal-Nxl = 4N (medium = 1, Graviton). */
function sizeVcpus(size: string): number {
  if (size === 'medium') return 1;
  if (size === 'large') return 2;
  const multiple = /^(\d*)xlarge$|^metal-(\d+)xl$/.exec(size);
  if (!multiple) throw new Error(`instance size ${size} names no vCPU count`);
  return 4 * Number(multiple[1] || multiple[2] || 1);
}

/** A plain "metal" size matches the family's largest virtual size. */
const familyVcpus = (row: FamilyRow, size: string): number =>
  size === 'metal' ? Math.max(...row.sizes.filter((s) => !isMetal(s)).map(sizeVcpus)) : sizeVcpus(size);

/** Flex types burst to their family's bandwidth, so theirs is "Up to" even where the family's is fixed. */
function networkPerformance(row: FamilyRow, vcpus: number): string {
  const bandwidth = onLadder(row.platform.bandwidth, vcpus);
  const upTo = row.kind === 'flex' && !bandwidth.startsWith('Up to');
  return `${upTo ? 'Up to ' : ''}${bandwidth} Gigabit`;
}

interface Entry {
  readonly facts: InstanceTypeFacts;
  readonly row: FamilyRow;
  /** facts.supportedFeatures, typed for the SDK */
  readonly features: readonly ProcessorFeature[];
  readonly networkPerformance: string;
  readonly interfaces: Interfaces;
}

function expand(row: FamilyRow, size: string, profile: CatalogProfile): Entry {
  const { platform } = row;
  const type = `${row.family}.${size}`;
  const override = TYPE_OVERRIDES[type] ?? {};
  const bareMetal = isMetal(size);
  const vcpus = override.vcpus ?? familyVcpus(row, size);
  const memoryMiB = override.memoryMiB ?? vcpus * row.gibPerVcpu * 1024;
  const defaultCores = vcpus / platform.threadsPerCore;
  const validCores = bareMetal ? undefined : (override.validCores ?? platform.coreChoices(defaultCores));

  const features: ProcessorFeature[] = [];
  if (!bareMetal && row.amdSevSnpMaxVcpus !== undefined && vcpus <= row.amdSevSnpMaxVcpus) {
    features.push('amd-sev-snp');
  }
  const since = row.nestedFrom;
  if (!bareMetal && since && CATALOG_PROFILES.indexOf(profile) >= CATALOG_PROFILES.indexOf(since)) {
    features.push(NESTED_VIRTUALIZATION);
  }

  const hibernationSupported =
    !bareMetal &&
    (row.hibernation === 'any-memory' ||
      (row.hibernation !== 'none' && memoryMiB < HIBERNATION_MEMORY_LIMIT_MIB));

  const facts: InstanceTypeFacts = deepFreeze({
    type,
    family: row.family,
    size,
    vcpus,
    memoryMiB,
    defaultCores,
    defaultThreadsPerCore: platform.threadsPerCore,
    ...(validCores && { validCores, validThreadsPerCore: range(1, platform.threadsPerCore) }),
    bareMetal,
    hibernationSupported,
    architecture: platform.architecture,
    supportedFeatures: features,
    currentGeneration: !row.previousGeneration,
  });
  return {
    facts,
    row,
    features,
    networkPerformance: networkPerformance(row, vcpus),
    interfaces: override.interfaces ?? onLadder(platform.interfaces, vcpus),
  };
}

function describe({ facts, row, features, networkPerformance, interfaces }: Entry): InstanceTypeInfo {
  const { platform, kind } = row;
  const { bareMetal, validCores, validThreadsPerCore } = facts;
  const [maxInterfaces, ipv4PerInterface] = interfaces;
  return {
    // Every catalog type is a member of the SDK's InstanceType enum (the tests check it).
    InstanceType: facts.type as _InstanceType,
    CurrentGeneration: facts.currentGeneration,
    FreeTierEligible: FREE_TIER.has(facts.type),
    SupportedUsageClasses: ['on-demand', 'spot'],
    SupportedRootDeviceTypes: ['ebs'],
    SupportedVirtualizationTypes: ['hvm'],
    BareMetal: bareMetal,
    ...(!bareMetal && { Hypervisor: 'nitro' }),
    ProcessorInfo: {
      SupportedArchitectures: [facts.architecture],
      SustainedClockSpeedInGhz: platform.clockGhz,
      ...(features.length > 0 && { SupportedFeatures: [...features] }),
      Manufacturer: platform.manufacturer,
    },
    VCpuInfo: {
      DefaultVCpus: facts.vcpus,
      DefaultCores: facts.defaultCores,
      DefaultThreadsPerCore: facts.defaultThreadsPerCore,
      ...(validCores && { ValidCores: [...validCores] }),
      ...(validThreadsPerCore && { ValidThreadsPerCore: [...validThreadsPerCore] }),
    },
    MemoryInfo: { SizeInMiB: facts.memoryMiB },
    InstanceStorageSupported: row.instanceStore === true,
    EbsInfo: { EbsOptimizedSupport: 'default', EncryptionSupport: 'supported', NvmeSupport: 'required' },
    NetworkInfo: {
      NetworkPerformance: networkPerformance,
      MaximumNetworkInterfaces: maxInterfaces,
      Ipv4AddressesPerInterface: ipv4PerInterface,
      Ipv6Supported: true,
      EnaSupport: 'required',
    },
    PlacementGroupInfo: { SupportedStrategies: kind ? ['partition', 'spread'] : ['cluster', 'partition', 'spread'] },
    HibernationSupported: facts.hibernationSupported,
    BurstablePerformanceSupported: kind === 'burstable',
    DedicatedHostsSupported: kind !== 'flex' && !NO_DEDICATED_HOSTS.has(facts.type),
    AutoRecoverySupported: row.instanceStore !== true,
    SupportedBootModes:
      facts.architecture === 'arm64' ? ['uefi'] : bareMetal ? ['legacy-bios'] : ['legacy-bios', 'uefi'],
    NitroEnclavesSupport: !bareMetal && !kind && facts.defaultCores >= 2 ? 'supported' : 'unsupported',
    NitroTpmSupport: bareMetal ? 'unsupported' : 'supported',
    PhcSupport: platform.phc ? 'supported' : 'unsupported',
  };
}

// --- catalogs ------------------------------------------------------------------------------------

/** Family by code point, then virtual before metal, then by vCPUs and memory (t3.nano < t3.micro). */
function bySize(a: InstanceTypeFacts, b: InstanceTypeFacts): number {
  if (a.family !== b.family) return a.family < b.family ? -1 : 1;
  return Number(a.bareMetal) - Number(b.bareMetal) || a.vcpus - b.vcpus || a.memoryMiB - b.memoryMiB;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

function buildCatalog(profile: CatalogProfile): Catalog {
  const entries = new Map<string, Entry>();
  for (const row of FAMILIES) {
    for (const size of row.sizes) {
      const entry = expand(row, size, profile);
      entries.set(entry.facts.type, entry);
    }
  }
  const infos = new Map<string, InstanceTypeInfo>();
  return {
    profile,
    types: Object.freeze([...entries.values()].map((e) => e.facts).sort(bySize)),
    facts: (type) => entries.get(type)?.facts,
    info(type) {
      const entry = entries.get(type);
      if (!entry) return undefined;
      let info = infos.get(type);
      if (!info) {
        info = deepFreeze(describe(entry));
        infos.set(type, info);
      }
      return info;
    },
    supportsNestedVirtualization: (type) =>
      entries.get(type)?.features.includes(NESTED_VIRTUALIZATION) ?? false,
  };
}

const catalogs = new Map<CatalogProfile, Catalog>();

export function loadCatalog(profile: CatalogProfile = DEFAULT_PROFILE): Catalog {
  let catalog = catalogs.get(profile);
  if (!catalog) {
    catalog = buildCatalog(profile);
    catalogs.set(profile, catalog);
  }
  return catalog;
}
