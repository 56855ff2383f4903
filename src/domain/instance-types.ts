/**
 * The instance-type catalog: every EC2 instance type, the facts nestbox's rules run on, the
 * DescribeInstanceTypes entry of each, and where each is offered (DescribeInstanceTypeOfferings).
 *
 * Source: real DescribeInstanceTypes and DescribeInstanceTypeOfferings output as moto 5.2.1 ships it
 * (`moto/ec2/resources/instance_types.json.gz`, `instance_type_offerings/`), turned into the compact
 * table of ./instance-types.table.ts by scripts/gen-instance-types.mjs (regenerate there; never edit
 * the table). Each type's InstanceTypeInfo is built from the table the first time it is asked for.
 *
 * The one thing not taken from moto is the `nested-virtualization` processor feature, which depends
 * on the catalog profile (spec §2.1 and §4): 'launch-2026-02' reports it on the virtual sizes of the
 * six launch families (the 54 types moto 5.2.1 lists it on), '2026-07' also on the expansion's
 * families (166 types, as moto's file @ 34d6cad5ab, 2026-08-02, lists them).
 */
import type { _InstanceType, InstanceTypeInfo } from '@aws-sdk/client-ec2';
import * as table from './instance-types.table.js';

/** 'launch-2026-02': the 54 launch types report nested virtualization; '2026-07': the 166 of the expansion. */
export type CatalogProfile = 'launch-2026-02' | '2026-07';
const DEFAULT_PROFILE: CatalogProfile = 'launch-2026-02';
/** In chronological order: a feature reported from one profile on is reported in every later one. */
export const CATALOG_PROFILES: readonly CatalogProfile[] = [DEFAULT_PROFILE, '2026-07'];

export const isCatalogProfile = (s: string): s is CatalogProfile =>
  (CATALOG_PROFILES as readonly string[]).includes(s);

/** The moto release the catalog's data comes from. */
export const CATALOG_SOURCE = `moto ${table.MOTO_VERSION}`;

export interface InstanceTypeFacts {
  readonly type: string;
  readonly family: string;
  readonly size: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly defaultCores: number;
  readonly defaultThreadsPerCore: number;
  /** Absent when CPU options cannot be set: bare metal, 1-vCPU Graviton, and older generations. */
  readonly validCores?: readonly number[];
  readonly validThreadsPerCore?: readonly number[];
  readonly bareMetal: boolean;
  readonly hibernationSupported: boolean;
  /**
   * The architecture an AMI must have: x86_64 also for the types that support i386 too (t2, m1, …);
   * the Mac types' own x86_64_mac and arm64_mac, which no nestbox image has.
   */
  readonly architecture: 'x86_64' | 'arm64' | 'x86_64_mac' | 'arm64_mac';
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
  /**
   * Whether EC2 offers the type in the Region, or in the zone of that ID when one is given. A Region
   * (or zone) the offering data does not cover offers every type.
   */
  offered(type: string, region: string, zoneId?: string): boolean;
}

// --- nested virtualization per profile ------------------------------------------------------------

const NESTED_VIRTUALIZATION = 'nested-virtualization';
/** Spec §4: the launch families. */
const LAUNCH_FAMILIES = ['c8i', 'c8i-flex', 'm8i', 'm8i-flex', 'r8i', 'r8i-flex'];
/** Spec §2.1: the families the 2026-07 expansion adds. */
const EXPANSION_FAMILIES = [
  'c7i', 'c7i-flex', 'c8id', 'i7i', 'i7ie', 'm7i', 'm7i-flex', 'm8id', 'r7i', 'r7iz', 'r8id', 'x8i',
];
const NESTED_FROM: ReadonlyMap<string, CatalogProfile> = new Map([
  ...LAUNCH_FAMILIES.map((f) => [f, 'launch-2026-02'] as const),
  ...EXPANSION_FAMILIES.map((f) => [f, '2026-07'] as const),
]);

/** Whether the virtual sizes of a family report nested virtualization at this profile. */
function nestedAt(family: string, profile: CatalogProfile): boolean {
  const since = NESTED_FROM.get(family);
  return since !== undefined && CATALOG_PROFILES.indexOf(profile) >= CATALOG_PROFILES.indexOf(since);
}

// --- the table ------------------------------------------------------------------------------------

/** One table row, decoded enough for the facts; the rest waits for info(). */
interface Entry {
  readonly index: number;
  readonly row: table.Row;
  /** moto's SupportedFeatures without nested virtualization */
  readonly features: readonly string[];
  readonly architectures: readonly string[];
}

const flagBit = (key: string): number => {
  const i = table.FLAG_KEYS.indexOf(key);
  if (i < 0) throw new Error(`instance-types.table.ts has no flag ${key}`);
  return 1 << i;
};
const BARE_METAL = flagBit('BareMetal');
const HIBERNATION = flagBit('HibernationSupported');
const CURRENT_GENERATION = flagBit('CurrentGeneration');

const at = <T>(list: readonly T[], i: number | undefined, what: string): T => {
  const v = i === undefined ? undefined : list[i];
  if (v === undefined) throw new Error(`instance-types.table.ts: no ${what} ${i}`);
  return v;
};

/** A pool entry as the object it stands for ("@key" cells are VALUES indexes). */
function record(keys: readonly string[], cells: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  keys.forEach((key, i) => {
    const cell = cells[i];
    if (cell === undefined) return;
    if (key.startsWith('@')) out[key.slice(1)] = at(table.VALUES, cell as number, 'value');
    else out[key] = cell;
  });
  return out;
}

const poolRecord = (keys: readonly string[], pool: readonly (readonly unknown[])[], i: number | undefined, what: string) =>
  record(keys, at(pool, i, what));

let decoded: { readonly entries: ReadonlyMap<string, Entry>; readonly order: readonly Entry[] } | undefined;

function entries() {
  if (decoded) return decoded;
  const map = new Map<string, Entry>();
  const processors = table.PROCESSORS.map((_, i) => {
    const processor = poolRecord(table.PROCESSORS_KEYS, table.PROCESSORS, i, 'processor');
    return {
      features: ((processor.SupportedFeatures ?? []) as string[]).filter((f) => f !== NESTED_VIRTUALIZATION),
      architectures: (processor.SupportedArchitectures ?? []) as string[],
    };
  });
  table.ROWS.forEach((row, index) => {
    map.set(row[0], { index, row, ...at(processors, row[4], 'processor') });
  });
  decoded = { entries: map, order: [...map.values()] };
  return decoded;
}

const cores = (i: number | undefined): readonly number[] | undefined =>
  i === undefined || i < 0 ? undefined : at(table.CORE_LISTS, i, 'core list');

function factsOf(entry: Entry, profile: CatalogProfile): InstanceTypeFacts {
  const [type, flags, memoryMiB, vcpuIndex] = entry.row;
  const dot = type.indexOf('.');
  const family = type.slice(0, dot);
  const [vcpus, defaultCores, defaultThreadsPerCore, coresIndex, threadsIndex] = at(table.VCPUS, vcpuIndex, 'vCPU info');
  const validCores = cores(coresIndex);
  const validThreadsPerCore = cores(threadsIndex);
  const bareMetal = (flags & BARE_METAL) !== 0;
  const archs = entry.architectures;
  const architecture = (archs.includes('x86_64') ? 'x86_64' : (archs[0] ?? 'x86_64')) as InstanceTypeFacts['architecture'];
  return deepFreeze({
    type,
    family,
    size: type.slice(dot + 1),
    vcpus: vcpus ?? 0,
    memoryMiB,
    defaultCores: defaultCores ?? 0,
    defaultThreadsPerCore: defaultThreadsPerCore ?? 1,
    ...(validCores && { validCores }),
    ...(validThreadsPerCore && { validThreadsPerCore }),
    bareMetal,
    hibernationSupported: (flags & HIBERNATION) !== 0,
    architecture,
    supportedFeatures:
      !bareMetal && nestedAt(family, profile) ? [...entry.features, NESTED_VIRTUALIZATION] : entry.features,
    currentGeneration: (flags & CURRENT_GENERATION) !== 0,
  });
}

/** The DescribeInstanceTypes entry, as moto has it but for the profile's SupportedFeatures. */
function describe(entry: Entry, facts: InstanceTypeFacts): InstanceTypeInfo {
  const [type, flags, memoryMiB, , processorIndex, traits, ebs, ebsOptimized, network, cards, storage, accelerators] =
    entry.row;
  const info: Record<string, unknown> = { InstanceType: type as _InstanceType };
  table.FLAG_KEYS.forEach((key, i) => {
    info[key] = (flags & (1 << i)) !== 0;
  });
  Object.assign(info, poolRecord(table.TRAITS_KEYS, table.TRAITS, traits, 'traits'));
  const { SupportedFeatures: _, ...processor } = poolRecord(table.PROCESSORS_KEYS, table.PROCESSORS, processorIndex, 'processor');
  info.ProcessorInfo = { ...processor, ...(facts.supportedFeatures.length > 0 && { SupportedFeatures: [...facts.supportedFeatures] }) };
  info.VCpuInfo = {
    DefaultVCpus: facts.vcpus,
    DefaultCores: facts.defaultCores,
    DefaultThreadsPerCore: facts.defaultThreadsPerCore,
    ...(facts.validCores && { ValidCores: [...facts.validCores] }),
    ...(facts.validThreadsPerCore && { ValidThreadsPerCore: [...facts.validThreadsPerCore] }),
  };
  info.MemoryInfo = { SizeInMiB: memoryMiB };
  info.EbsInfo = {
    ...poolRecord(table.EBS_KEYS, table.EBS, ebs, 'EBS info'),
    ...(ebsOptimized !== undefined && {
      EbsOptimizedInfo: poolRecord(table.EBS_OPTIMIZED_KEYS, table.EBS_OPTIMIZED, ebsOptimized, 'EBS-optimized info'),
    }),
  };
  info.NetworkInfo = {
    ...poolRecord(table.NETWORKS_KEYS, table.NETWORKS, network, 'network info'),
    ...(cards !== undefined && {
      NetworkCards: at(table.CARD_LISTS, cards, 'card list').map((card, NetworkCardIndex) => ({
        ...poolRecord(table.CARDS_KEYS, table.CARDS, card, 'network card'),
        NetworkCardIndex,
      })),
    }),
  };
  if (storage !== undefined) info.InstanceStorageInfo = poolRecord(table.STORAGE_KEYS, table.STORAGE, storage, 'storage');
  if (accelerators !== undefined) {
    Object.assign(info, poolRecord(table.ACCELERATORS_KEYS, table.ACCELERATORS, accelerators, 'accelerators'));
  }
  // Fresh objects throughout: the table's shared VALUES are copied, so freezing one entry freezes nothing else.
  return structuredClone(info) as InstanceTypeInfo;
}

// --- offerings ------------------------------------------------------------------------------------

/** Bitsets over the table's rows, decoded on first use; by Region and by zone ID. */
const offeringBits = new Map<string, Uint8Array | null>();

function offeringsAt(region: string, zoneId: string | undefined): Uint8Array | undefined {
  const key = zoneId === undefined ? region : `${region}/${zoneId}`;
  let bits = offeringBits.get(key);
  if (bits === undefined) {
    const row = table.OFFERINGS.find(([r]) => r === region);
    const encoded = row && (zoneId === undefined ? row[1] : (row[2].find(([id]) => id === zoneId)?.[1] ?? row[1]));
    bits = encoded === undefined ? null : Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    offeringBits.set(key, bits);
  }
  return bits ?? undefined;
}

function offered(type: string, region: string, zoneId?: string): boolean {
  const entry = entries().entries.get(type);
  if (!entry) return false;
  const bits = offeringsAt(region, zoneId);
  return !bits || ((bits[entry.index >> 3] ?? 0) & (1 << (entry.index & 7))) !== 0;
}

// --- catalogs -------------------------------------------------------------------------------------

/** Family by code point, then virtual before metal, then by vCPUs and memory (t3.nano < t3.micro), then name. */
function bySize(a: InstanceTypeFacts, b: InstanceTypeFacts): number {
  if (a.family !== b.family) return a.family < b.family ? -1 : 1;
  return (
    Number(a.bareMetal) - Number(b.bareMetal) ||
    a.vcpus - b.vcpus ||
    a.memoryMiB - b.memoryMiB ||
    (a.size < b.size ? -1 : a.size > b.size ? 1 : 0)
  );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

function buildCatalog(profile: CatalogProfile): Catalog {
  const { entries: byType, order } = entries();
  const facts = new Map<string, InstanceTypeFacts>();
  for (const entry of order) facts.set(entry.row[0], factsOf(entry, profile));
  const infos = new Map<string, InstanceTypeInfo>();
  return {
    profile,
    types: Object.freeze([...facts.values()].sort(bySize)),
    facts: (type) => facts.get(type),
    info(type) {
      let info = infos.get(type);
      if (!info) {
        const entry = byType.get(type);
        const f = facts.get(type);
        if (!entry || !f) return undefined;
        info = deepFreeze(describe(entry, f));
        infos.set(type, info);
      }
      return info;
    },
    supportsNestedVirtualization: (type) => facts.get(type)?.supportedFeatures.includes(NESTED_VIRTUALIZATION) ?? false,
    offered,
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
