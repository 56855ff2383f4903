import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { _InstanceType, type InstanceTypeInfo } from '@aws-sdk/client-ec2';
import {
  CATALOG_PROFILES,
  type CatalogProfile,
  isCatalogProfile,
  loadCatalog,
} from '../src/domain/instance-types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const referencePath = path.resolve(repoRoot, '..', 'shared', 'spec', 'instance-types.reference.json');

const LAUNCH_FAMILIES = ['c8i', 'c8i-flex', 'm8i', 'm8i-flex', 'r8i', 'r8i-flex'];
/** Spec §2.1, MOTO 2026-07-02 and 2026-08-02. */
const EXPANSION_FAMILIES = [
  'c7i', 'c7i-flex', 'c8i', 'c8i-flex', 'c8id', 'i7i', 'i7ie', 'm7i', 'm7i-flex',
  'm8i', 'm8i-flex', 'm8id', 'r7i', 'r7iz', 'r8i', 'r8i-flex', 'r8id', 'x8i',
];

const nestedTypes = (profile: CatalogProfile) => {
  const catalog = loadCatalog(profile);
  return catalog.types.filter((t) => catalog.supportsNestedVirtualization(t.type));
};
const familiesOf = (types: readonly { family: string }[]) => [...new Set(types.map((t) => t.family))].sort();

test('profiles: the launch profile is the default', () => {
  assert.deepEqual(CATALOG_PROFILES, ['launch-2026-02', '2026-07']);
  assert.equal(loadCatalog(), loadCatalog('launch-2026-02'));
  assert.equal(loadCatalog().profile, 'launch-2026-02');
  assert.ok(isCatalogProfile('2026-07'));
  assert.ok(!isCatalogProfile('2026-08'));
});

test('launch-2026-02: exactly the 54 virtual c8i/m8i/r8i (+flex) types support nested virtualization', () => {
  const nested = nestedTypes('launch-2026-02');
  assert.equal(nested.length, 54);
  assert.deepEqual(familiesOf(nested), LAUNCH_FAMILIES);
  assert.deepEqual(nested.filter((t) => t.bareMetal), []);
  // every virtual size of those families, and nothing else
  const virtualLaunchTypes = loadCatalog('launch-2026-02').types.filter(
    (t) => LAUNCH_FAMILIES.includes(t.family) && !t.bareMetal,
  );
  assert.deepEqual(nested, virtualLaunchTypes);
});

test('2026-07: the expansion families support nested virtualization, 166 types as in MOTO 2026-08-02', () => {
  const nested = nestedTypes('2026-07');
  assert.equal(nested.length, 166);
  assert.deepEqual(familiesOf(nested), EXPANSION_FAMILIES);
  assert.deepEqual(nested.filter((t) => t.bareMetal), []);
  const perFamily = Object.fromEntries(EXPANSION_FAMILIES.map((f) => [f, nested.filter((t) => t.family === f).length]));
  assert.deepEqual(perFamily, {
    c7i: 9, 'c7i-flex': 7, c8i: 11, 'c8i-flex': 7, c8id: 11, i7i: 9, i7ie: 9, m7i: 9, 'm7i-flex': 7,
    m8i: 11, 'm8i-flex': 7, m8id: 11, r7i: 9, r7iz: 8, r8i: 11, 'r8i-flex': 7, r8id: 11, x8i: 12,
  });
});

test('profiles hold the same types and differ only in SupportedFeatures', () => {
  const [launch, later] = CATALOG_PROFILES.map((p) => loadCatalog(p));
  assert.ok(launch && later);
  assert.equal(launch.types.length, 229);
  assert.deepEqual(
    later.types.map((t) => ({ ...t, supportedFeatures: [] })),
    launch.types.map((t) => ({ ...t, supportedFeatures: [] })),
  );
  assert.deepEqual(launch.facts('m6a.large')?.supportedFeatures, ['amd-sev-snp']);
  assert.deepEqual(later.facts('m6a.large')?.supportedFeatures, ['amd-sev-snp']);
});

test('every entry of the reference data matches the catalog at both profiles', (t) => {
  if (!existsSync(referencePath)) {
    t.skip('reference data not present');
    return;
  }
  const reference = JSON.parse(readFileSync(referencePath, 'utf8')) as {
    _meta: { supportedFeaturesAtLaunch: Record<string, string[]> };
    InstanceTypes: InstanceTypeInfo[];
  };
  const expectedFeatures: Record<CatalogProfile, (ref: InstanceTypeInfo) => unknown> = {
    'launch-2026-02': (ref) => reference._meta.supportedFeaturesAtLaunch[ref.InstanceType ?? ''],
    '2026-07': (ref) => ref.ProcessorInfo?.SupportedFeatures ?? [],
  };
  const compared = (i: InstanceTypeInfo) => ({
    'VCpuInfo.DefaultVCpus': i.VCpuInfo?.DefaultVCpus,
    'VCpuInfo.DefaultCores': i.VCpuInfo?.DefaultCores,
    'VCpuInfo.DefaultThreadsPerCore': i.VCpuInfo?.DefaultThreadsPerCore,
    'VCpuInfo.ValidCores': i.VCpuInfo?.ValidCores,
    'VCpuInfo.ValidThreadsPerCore': i.VCpuInfo?.ValidThreadsPerCore,
    'MemoryInfo.SizeInMiB': i.MemoryInfo?.SizeInMiB,
    BareMetal: i.BareMetal,
    HibernationSupported: i.HibernationSupported,
    Hypervisor: i.Hypervisor,
    'ProcessorInfo.SupportedArchitectures': i.ProcessorInfo?.SupportedArchitectures,
    CurrentGeneration: i.CurrentGeneration,
  });

  const mismatches: string[] = [];
  for (const profile of CATALOG_PROFILES) {
    const catalog = loadCatalog(profile);
    for (const ref of reference.InstanceTypes) {
      const type = ref.InstanceType ?? '(no InstanceType)';
      const info = catalog.info(type);
      if (!info) {
        mismatches.push(`${type}@${profile}: not in the catalog`);
        continue;
      }
      const expected = { ...compared(ref), 'ProcessorInfo.SupportedFeatures': expectedFeatures[profile](ref) };
      const actual = { ...compared(info), 'ProcessorInfo.SupportedFeatures': info.ProcessorInfo?.SupportedFeatures ?? [] };
      for (const [field, value] of Object.entries(expected)) {
        const got = actual[field as keyof typeof actual];
        if (!isDeepStrictEqual(got, value)) {
          mismatches.push(`${type}@${profile} ${field}: expected ${JSON.stringify(value)}, got ${JSON.stringify(got)}`);
        }
      }
    }
  }
  assert.equal(mismatches.length, 0, `${mismatches.length} mismatches:\n${mismatches.join('\n')}`);
});

test('facts() and info() agree for every type at both profiles', () => {
  for (const profile of CATALOG_PROFILES) {
    const catalog = loadCatalog(profile);
    for (const facts of catalog.types) {
      const info = catalog.info(facts.type);
      assert.ok(info, facts.type);
      assert.equal(catalog.facts(facts.type), facts);
      assert.equal(catalog.info(facts.type), info, 'info() is cached');
      assert.equal(info.InstanceType, facts.type);
      assert.deepEqual(info.VCpuInfo, {
        DefaultVCpus: facts.vcpus,
        DefaultCores: facts.defaultCores,
        DefaultThreadsPerCore: facts.defaultThreadsPerCore,
        ...(facts.validCores && { ValidCores: facts.validCores }),
        ...(facts.validThreadsPerCore && { ValidThreadsPerCore: facts.validThreadsPerCore }),
      });
      assert.equal(info.MemoryInfo?.SizeInMiB, facts.memoryMiB);
      assert.equal(info.BareMetal, facts.bareMetal);
      assert.equal(info.HibernationSupported, facts.hibernationSupported);
      assert.equal(info.CurrentGeneration, facts.currentGeneration);
      assert.deepEqual(info.ProcessorInfo?.SupportedArchitectures, [facts.architecture]);
      assert.deepEqual(info.ProcessorInfo?.SupportedFeatures ?? [], facts.supportedFeatures);
      assert.equal(
        catalog.supportsNestedVirtualization(facts.type),
        facts.supportedFeatures.includes('nested-virtualization'),
      );
      assert.equal(facts.type, `${facts.family}.${facts.size}`);
      assert.equal(facts.vcpus, facts.defaultCores * facts.defaultThreadsPerCore);
    }
  }
});

test('bare metal: no Hypervisor, no CPU options, no nested virtualization at any profile', () => {
  for (const profile of CATALOG_PROFILES) {
    const catalog = loadCatalog(profile);
    const metal = catalog.types.filter((t) => t.bareMetal);
    assert.ok(metal.length > 0);
    for (const facts of metal) {
      const info = catalog.info(facts.type);
      assert.ok(info && !('Hypervisor' in info), facts.type);
      assert.ok(!('ValidCores' in (info.VCpuInfo ?? {})) && !('ValidThreadsPerCore' in (info.VCpuInfo ?? {})));
      assert.equal(facts.validCores, undefined);
      assert.equal(facts.hibernationSupported, false);
      assert.equal(catalog.supportsNestedVirtualization(facts.type), false, facts.type);
    }
  }
});

test('ValidCores of the 8th-gen Intel types follow the steps of spec §4', () => {
  const steps: Record<string, [from: number, step: number]> = {
    '24xlarge': [4, 2], '32xlarge': [4, 2], '48xlarge': [6, 3], '64xlarge': [8, 4], '96xlarge': [12, 6],
  };
  const gen8 = loadCatalog().types.filter((t) => /^[cmrx]8i/.test(t.family) && !t.bareMetal);
  assert.equal(gen8.length, 54 + 3 * 11 + 12);
  for (const t of gen8) {
    const [from, step] = steps[t.size] ?? [1, 1];
    const expected = Array.from({ length: (t.defaultCores - from) / step + 1 }, (_, i) => from + i * step);
    assert.deepEqual(t.validCores, expected, t.type);
    assert.deepEqual(t.validThreadsPerCore, [1, 2], t.type);
  }
});

test('the SDK-only fields of info() follow the reference rules', () => {
  const catalog = loadCatalog();
  const freeTier = catalog.types.filter((t) => catalog.info(t.type)?.FreeTierEligible).map((t) => t.type);
  assert.deepEqual(freeTier, ['c7i-flex.large', 'm7i-flex.large', 't3.micro', 't3.small']);
  assert.deepEqual(catalog.info('c7g.large')?.SupportedBootModes, ['uefi']);
  assert.deepEqual(catalog.info('c8i.large')?.SupportedBootModes, ['legacy-bios', 'uefi']);
  assert.equal(catalog.info('t3.micro')?.BurstablePerformanceSupported, true);
  assert.equal(catalog.info('c8id.large')?.InstanceStorageSupported, true);
  assert.equal(catalog.info('c8i.large')?.InstanceStorageSupported, false);
  assert.equal(catalog.info('c8i.large')?.ProcessorInfo?.SustainedClockSpeedInGhz, 3.9);
  assert.equal(catalog.info('m6a.large')?.ProcessorInfo?.Manufacturer, 'AMD');
  assert.equal(catalog.info('c8i-flex.8xlarge')?.NetworkInfo?.NetworkPerformance, 'Up to 15 Gigabit');
  assert.equal(catalog.info('c8i.8xlarge')?.NetworkInfo?.NetworkPerformance, '15 Gigabit');
  assert.ok(!('SupportedFeatures' in (catalog.info('t3.micro')?.ProcessorInfo ?? {})));
});

test('types are unique, sorted by family then size, and members of the SDK InstanceType enum', () => {
  const sdkTypes = new Set<string>(Object.values(_InstanceType));
  for (const profile of CATALOG_PROFILES) {
    const names = loadCatalog(profile).types.map((t) => t.type);
    assert.equal(new Set(names).size, names.length);
    assert.deepEqual(names.filter((n) => !sdkTypes.has(n)), []);
    assert.deepEqual(names.filter((n) => n.startsWith('c8i.')), [
      'c8i.large', 'c8i.xlarge', 'c8i.2xlarge', 'c8i.4xlarge', 'c8i.8xlarge', 'c8i.12xlarge', 'c8i.16xlarge',
      'c8i.24xlarge', 'c8i.32xlarge', 'c8i.48xlarge', 'c8i.96xlarge', 'c8i.metal-48xl', 'c8i.metal-96xl',
    ]);
    assert.deepEqual(names.filter((n) => n.startsWith('t3.')), [
      't3.nano', 't3.micro', 't3.small', 't3.medium', 't3.large', 't3.xlarge', 't3.2xlarge',
    ]);
    const families = names.map((n) => n.slice(0, n.indexOf('.')));
    assert.deepEqual(families, [...families].sort());
  }
});

test('unknown types are undefined and unsupported', () => {
  const catalog = loadCatalog('2026-07');
  for (const type of ['c8i.huge', 'nope', '', 'C8I.LARGE']) {
    assert.equal(catalog.facts(type), undefined);
    assert.equal(catalog.info(type), undefined);
    assert.equal(catalog.supportsNestedVirtualization(type), false);
  }
});
