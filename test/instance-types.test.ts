import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
import * as table from '../src/domain/instance-types.table.js';

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
  // every type moto 5.2.1's DescribeInstanceTypes dump describes
  assert.equal(launch.types.length, 1263);
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
      assert.ok(info.ProcessorInfo?.SupportedArchitectures?.includes(facts.architecture), facts.type);
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
  // c8i m8i r8i (+flex, +d, +b, +n, c8ine m8ine) and x8i
  assert.equal(gen8.length, 177);
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
  assert.deepEqual(freeTier, ['c7i-flex.large', 'm7i-flex.large', 't3.micro', 't3.small', 't4g.micro', 't4g.small']);
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

// --- the whole of EC2's catalog, from moto 5.2.1 -----------------------------------------------------

test('the generated table is what scripts/gen-instance-types.mjs writes from moto 5.2.1', (t) => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'gen-instance-types.mjs'), '--check'], { encoding: 'utf8' });
  if (r.status === 3) {
    t.skip(`moto 5.2.1 is not installed, so the table cannot be regenerated: ${r.stderr.trim()}`);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
});

test('every EC2 family is in the catalog, old generations and Mac and high-memory types too', () => {
  const catalog = loadCatalog();
  for (const type of ['t2.micro', 't3a.nano', 't3a.2xlarge', 't4g.micro', 'm1.small', 'a1.medium', 'a1.metal',
    'p3dn.24xlarge', 'g4ad.xlarge', 'mac1.metal', 'mac2.metal', 'u-6tb1.112xlarge', 'u7in-32tb.224xlarge']) {
    assert.ok(catalog.facts(type), type);
    assert.equal(catalog.info(type)?.InstanceType, type);
  }
  assert.deepEqual(catalog.info('t2.micro')?.ProcessorInfo?.SupportedArchitectures, ['i386', 'x86_64']);
  assert.equal(catalog.facts('t2.micro')?.architecture, 'x86_64');
  assert.equal(catalog.facts('t2.micro')?.validCores, undefined);
  assert.equal(catalog.facts('m1.small')?.currentGeneration, false);
  assert.equal(catalog.info('m1.small')?.Hypervisor, 'xen');
  assert.equal(catalog.facts('t4g.micro')?.architecture, 'arm64');
  assert.equal(catalog.facts('mac1.metal')?.architecture, 'x86_64_mac');
  assert.equal(catalog.facts('mac2.metal')?.architecture, 'arm64_mac');
  const huge = catalog.facts('u7in-32tb.224xlarge');
  assert.deepEqual([huge?.vcpus, huge?.memoryMiB], [896, 32 * 1024 * 1024]);
  const p5 = catalog.info('p5.48xlarge');
  assert.equal(p5?.GpuInfo?.Gpus?.[0]?.Name, 'H100');
  assert.deepEqual(p5?.NetworkInfo?.NetworkCards?.map((c) => c.NetworkCardIndex), Array.from({ length: 32 }, (_, i) => i));
  assert.equal(p5?.InstanceStorageInfo?.TotalSizeInGB, 30400);
  // an info() entry is its own: freezing one shares nothing with another
  assert.ok(Object.isFrozen(p5?.NetworkInfo?.NetworkCards?.[0]));
  assert.notEqual(catalog.info('p5.48xlarge')?.PlacementGroupInfo, catalog.info('c8i.large')?.PlacementGroupInfo);
});

test('moto 5.2.1 lists nested-virtualization on exactly the launch profile types', () => {
  const keys = table.PROCESSORS_KEYS;
  const features = keys.indexOf('@SupportedFeatures');
  const motoNested = table.ROWS.filter((row) => {
    const cell = table.PROCESSORS[row[4]]?.[features];
    return cell !== undefined && (table.VALUES[cell as number] as string[]).includes('nested-virtualization');
  }).map((row) => row[0]);
  const launch = loadCatalog('launch-2026-02');
  assert.deepEqual(motoNested.sort(), nestedTypes('launch-2026-02').map((t) => t.type).sort());
  assert.equal(motoNested.length, 54);
  assert.deepEqual(launch.facts('m6a.large')?.supportedFeatures, ['amd-sev-snp']);
});

test('offerings: by Region and by zone ID, as moto 5.2.1 has them; a Region without data offers everything', () => {
  const catalog = loadCatalog();
  assert.ok(catalog.offered('c8i.large', 'us-east-1'));
  assert.ok(catalog.offered('t2.micro', 'us-east-1'));
  // us-east-1's use1-az3 (us-east-1e in nestbox) is the constrained zone: 58 types
  const az3 = catalog.types.filter((t) => catalog.offered(t.type, 'us-east-1', 'use1-az3'));
  assert.equal(az3.length, 58);
  assert.ok(!catalog.offered('c8i.large', 'us-east-1', 'use1-az3'));
  const inRegion = catalog.types.filter((t) => catalog.offered(t.type, 'us-east-1'));
  assert.equal(inRegion.length, 1243);
  // mac2-m2pro is in some Regions only; af-south-1 offers fewer than 500 types
  assert.ok(catalog.types.filter((t) => catalog.offered(t.type, 'af-south-1')).length < 500);
  // no data for mx-central-1: every type, in every zone
  assert.ok(catalog.types.every((t) => catalog.offered(t.type, 'mx-central-1', 'mxc1-az1')));
  assert.ok(!catalog.offered('c8i.huge', 'us-east-1'));
});
