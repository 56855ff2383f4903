#!/usr/bin/env node
/**
 * Writes src/domain/instance-types.table.ts, the instance-type catalog's data, from the real
 * DescribeInstanceTypes and DescribeInstanceTypeOfferings output that moto ships:
 *   moto/ec2/resources/instance_types.json.gz                          (type → InstanceTypeInfo)
 *   moto/ec2/resources/instance_type_offerings/availability-zone-id/<region>.json.gz
 *   moto/ec2/resources/instance_type_offerings/region/<region>.json.gz
 * Run at generation time only: nothing reads moto at build or run time.
 *
 *   node scripts/gen-instance-types.mjs            (re)write the table
 *   node scripts/gen-instance-types.mjs --check    exit 1 when the committed table differs from what
 *                                                  would be written; 3 when moto is not installed
 *   MOTO_DIR=/path/to/moto                         moto's package directory (default: python3's moto)
 *
 * Encoding (compact, deterministic): each sub-structure that many types share (processor, vCPU info,
 * EBS info, network info, network cards, instance storage, accelerators, the other scalar members) is
 * a deduplicated list; an object in such a list is the array of its values in the order of that
 * list's KEYS (an absent member is a hole). ROWS holds one row per type, sorted by name, whose cells
 * are indexes into those lists (-1: absent). Offerings are bitsets over ROWS (bit i = ROWS[i]),
 * base64, per Region and per zone ID. Zone IDs, unlike zone names, name the same physical zone in
 * every account, so nestbox maps its own zone names to them (src/domain/regions.ts); moto's
 * per-zone-name files follow another account's letters and are only checked against the IDs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const EXPECTED_MOTO = '5.2.1';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'src', 'domain', 'instance-types.table.ts');
const check = process.argv.includes('--check');

function findMoto() {
  if (process.env.MOTO_DIR) {
    const init = join(process.env.MOTO_DIR, '__init__.py');
    if (!existsSync(init)) return undefined;
    const version = /__version__\s*=\s*["']([^"']+)/.exec(readFileSync(init, 'utf8'))?.[1];
    return { dir: process.env.MOTO_DIR, version };
  }
  try {
    const out = execFileSync('python3', ['-c', 'import moto,os;print(os.path.dirname(moto.__file__));print(moto.__version__)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [dir, version] = out.trim().split('\n');
    return { dir, version };
  } catch {
    return undefined;
  }
}

const moto = findMoto();
if (!moto || !existsSync(join(moto.dir, 'ec2', 'resources', 'instance_types.json.gz'))) {
  console.error('gen-instance-types: moto is not installed (python3 -c "import moto" fails); set MOTO_DIR or `pip install moto==5.2.1`');
  process.exit(3);
}
if (moto.version !== EXPECTED_MOTO) {
  console.error(`gen-instance-types: moto ${moto.version} found, the table is generated from moto ${EXPECTED_MOTO}`);
  process.exit(3);
}
const resources = join(moto.dir, 'ec2', 'resources');
const readGz = (file) => JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));

// --- instance types -------------------------------------------------------------------------------

/** @type {Record<string, any>} */
const infos = readGz(join(resources, 'instance_types.json.gz'));
const byCodePoint = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const names = Object.keys(infos).sort(byCodePoint);
const typeIndex = new Map(names.map((n, i) => [n, i]));

const fail = (msg) => {
  throw new Error(`gen-instance-types: ${msg}`);
};

/** A deduplicated list of values; `add` answers the value's index. */
class Pool {
  constructor(name, doc) {
    this.name = name;
    this.doc = doc;
    this.values = [];
    this.index = new Map();
  }
  add(value) {
    const key = JSON.stringify(value);
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(value);
      this.index.set(key, i);
    }
    return i;
  }
}

/** Strings, lists and objects that the record pools' cells refer to (keys marked "@"). */
const VALUES = new Pool('VALUES', 'the strings, lists and objects of the pools\' "@" members');

/**
 * A pool of objects stored as arrays over the union of their keys (sorted). A member with any value
 * other than a number or boolean is marked "@key": its cells are VALUES indexes.
 */
class RecordPool extends Pool {
  finish() {
    const keys = [...new Set(this.values.flatMap((v) => Object.keys(v)))].sort(byCodePoint);
    const interned = keys.map((k) => this.values.some((v) => v[k] !== undefined && typeof v[k] !== 'number' && typeof v[k] !== 'boolean'));
    this.keys = keys.map((k, i) => (interned[i] ? `@${k}` : k));
    this.rows = this.values.map((v) => keys.map((k, i) => (v[k] === undefined || !interned[i] ? v[k] : VALUES.add(v[k]))));
  }
}

const pools = {
  traits: new RecordPool('TRAITS', "InstanceTypeInfo's other members (not booleans, not one of the lists below)"),
  processors: new RecordPool('PROCESSORS', 'ProcessorInfo'),
  coreLists: new Pool('CORE_LISTS', 'VCpuInfo.ValidCores and ValidThreadsPerCore lists'),
  vcpus: new Pool('VCPUS', 'VCpuInfo: [DefaultVCpus, DefaultCores, DefaultThreadsPerCore, ValidCores, ValidThreadsPerCore] (CORE_LISTS, -1: absent)'),
  ebs: new RecordPool('EBS', 'EbsInfo without EbsOptimizedInfo'),
  ebsOptimized: new RecordPool('EBS_OPTIMIZED', 'EbsInfo.EbsOptimizedInfo'),
  networks: new RecordPool('NETWORKS', 'NetworkInfo without NetworkCards'),
  cards: new RecordPool('CARDS', 'NetworkInfo.NetworkCards[] without NetworkCardIndex (its position)'),
  cardLists: new Pool('CARD_LISTS', 'NetworkInfo.NetworkCards: CARDS indexes'),
  storage: new RecordPool('STORAGE', 'InstanceStorageInfo'),
  accelerators: new RecordPool('ACCELERATORS', 'GpuInfo, FpgaInfo, InferenceAcceleratorInfo, NeuronInfo, MediaAcceleratorInfo'),
};
const ACCELERATOR_KEYS = ['FpgaInfo', 'GpuInfo', 'InferenceAcceleratorInfo', 'MediaAcceleratorInfo', 'NeuronInfo'];
/** Members a row holds itself or through a pool; every other non-boolean member goes to TRAITS. */
const SPECIAL = new Set(['InstanceType', 'MemoryInfo', 'VCpuInfo', 'ProcessorInfo', 'EbsInfo', 'NetworkInfo', 'InstanceStorageInfo', ...ACCELERATOR_KEYS]);
const VCPU_KEYS = ['DefaultVCpus', 'DefaultCores', 'DefaultThreadsPerCore', 'ValidCores', 'ValidThreadsPerCore'];

const flagKeys = [...new Set(names.flatMap((n) => Object.keys(infos[n]).filter((k) => typeof infos[n][k] === 'boolean')))].sort(byCodePoint);
for (const n of names) {
  for (const k of flagKeys) if (typeof infos[n][k] !== 'boolean') fail(`${n}: ${k} is not a boolean`);
}

const omit = (obj, ...keys) => Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));

const rows = names.map((name) => {
  const t = infos[name];
  if (t.InstanceType !== name) fail(`${name}: InstanceType ${t.InstanceType}`);
  if (Object.keys(t.MemoryInfo).join() !== 'SizeInMiB') fail(`${name}: MemoryInfo ${JSON.stringify(t.MemoryInfo)}`);
  const vcpu = t.VCpuInfo;
  for (const k of Object.keys(vcpu)) if (!VCPU_KEYS.includes(k)) fail(`${name}: VCpuInfo.${k}`);
  const list = (l) => (l === undefined ? -1 : pools.coreLists.add(l));
  const flags = flagKeys.reduce((bits, k, i) => bits | (t[k] ? 1 << i : 0), 0);
  const traits = Object.fromEntries(Object.entries(t).filter(([k, v]) => typeof v !== 'boolean' && !SPECIAL.has(k)));
  const { EbsOptimizedInfo, ...ebs } = t.EbsInfo;
  const { NetworkCards, ...network } = t.NetworkInfo;
  const cards = (NetworkCards ?? []).map((c, i) => {
    if (c.NetworkCardIndex !== i) fail(`${name}: network card ${i} has index ${c.NetworkCardIndex}`);
    return pools.cards.add(omit(c, 'NetworkCardIndex'));
  });
  const accelerators = Object.fromEntries(ACCELERATOR_KEYS.filter((k) => t[k] !== undefined).map((k) => [k, t[k]]));
  return [
    name,
    flags,
    t.MemoryInfo.SizeInMiB,
    pools.vcpus.add([vcpu.DefaultVCpus, vcpu.DefaultCores, vcpu.DefaultThreadsPerCore, list(vcpu.ValidCores), list(vcpu.ValidThreadsPerCore)]),
    pools.processors.add(t.ProcessorInfo),
    pools.traits.add(traits),
    pools.ebs.add(ebs),
    EbsOptimizedInfo === undefined ? undefined : pools.ebsOptimized.add(EbsOptimizedInfo),
    pools.networks.add(network),
    NetworkCards === undefined ? undefined : pools.cardLists.add(cards),
    t.InstanceStorageInfo === undefined ? undefined : pools.storage.add(t.InstanceStorageInfo),
    Object.keys(accelerators).length === 0 ? undefined : pools.accelerators.add(accelerators),
  ];
});
for (const p of Object.values(pools)) if (p instanceof RecordPool) p.finish();
pools.values = VALUES;

// --- offerings ------------------------------------------------------------------------------------

const offeringsDir = join(resources, 'instance_type_offerings');
/** base64 of a little-endian bitset over ROWS */
function bitset(types, where) {
  const bytes = new Uint8Array(Math.ceil(names.length / 8));
  for (const type of types) {
    const i = typeIndex.get(type);
    if (i === undefined) fail(`${where} offers ${type}, which instance_types.json does not describe`);
    bytes[i >> 3] |= 1 << (i & 7);
  }
  return Buffer.from(bytes).toString('base64');
}
const byLocation = (offers) => {
  const out = new Map();
  for (const o of offers) {
    if (!out.has(o.Location)) out.set(o.Location, new Set());
    out.get(o.Location).add(o.InstanceType);
  }
  return out;
};
const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));
const notes = [];
const regionRows = readdirSync(join(offeringsDir, 'availability-zone-id'))
  .filter((f) => f.endsWith('.json.gz'))
  .map((f) => f.slice(0, -'.json.gz'.length))
  .sort(byCodePoint)
  .map((region) => {
    const byId = byLocation(readGz(join(offeringsDir, 'availability-zone-id', `${region}.json.gz`)));
    const byName = byLocation(readGz(join(offeringsDir, 'availability-zone', `${region}.json.gz`)));
    const inRegion = byLocation(readGz(join(offeringsDir, 'region', `${region}.json.gz`))).get(region) ?? new Set();
    // moto's zone-name files: the same zones under one account's letters
    const unmatched = [...byName.values()].filter((s) => ![...byId.values()].some((t) => sameSet(s, t)));
    if (unmatched.length > 0 || byName.size !== byId.size) notes.push(`${region}: zone-name and zone-ID offerings differ`);
    const union = new Set([...byId.values()].flatMap((s) => [...s]));
    if (!sameSet(union, inRegion)) notes.push(`${region}: the Region's offerings are not the union of its zones'`);
    const zones = [...byId.keys()].sort(byCodePoint).map((id) => [id, bitset(byId.get(id), id)]);
    return [region, bitset(inRegion, region), zones];
  });

// --- output ---------------------------------------------------------------------------------------

/** A JavaScript literal: JSON, but unquoted keys where possible and holes for undefined array items. */
function literal(v) {
  if (v === undefined) return '';
  if (Array.isArray(v)) {
    let end = v.length;
    while (end > 0 && v[end - 1] === undefined) end--;
    const items = v.slice(0, end).map(literal);
    return `[${items.join(',')}]`;
  }
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}:${literal(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
const lines = (items) => items.map((x) => `  ${literal(x)},`).join('\n');

const out = [];
out.push(
  `// generated by scripts/gen-instance-types.mjs from moto ${moto.version} (moto/ec2/resources/instance_types.json.gz and`,
  '// instance_type_offerings/): do not edit. Regenerate with `node scripts/gen-instance-types.mjs`.',
  '// Layout: see the script. Every pool entry is an array over its *_KEYS (a hole: the member is absent); "@key" cells are VALUES indexes.',
  '/* eslint-disable */',
  '',
  `export const MOTO_VERSION = ${JSON.stringify(moto.version)};`,
  '',
  'type Cells = readonly unknown[];',
  '/** [InstanceType, flags (bit i: FLAG_KEYS[i]), MemoryInfo.SizeInMiB, VCPUS, PROCESSORS, TRAITS, EBS, EBS_OPTIMIZED, NETWORKS, CARD_LISTS, STORAGE, ACCELERATORS]: pool indexes, a hole when absent */',
  'export type Row = readonly [type: string, flags: number, memoryMiB: number, vcpu: number, processor: number, traits: number, ebs: number, ebsOptimized: number | undefined, network: number, cards?: number | undefined, storage?: number | undefined, accelerators?: number | undefined];',
  '',
  `export const FLAG_KEYS: readonly string[] = ${literal(flagKeys)};`,
);
for (const p of Object.values(pools)) {
  out.push('', `/** ${p.doc} */`);
  if (p instanceof RecordPool) {
    out.push(`export const ${p.name}_KEYS: readonly string[] = ${literal(p.keys)};`);
    out.push(`export const ${p.name}: readonly Cells[] = [`, lines(p.rows), '];');
  } else if (p === VALUES) {
    out.push(`export const ${p.name}: readonly unknown[] = [`, lines(p.values), '];');
  } else {
    out.push(`export const ${p.name}: readonly (readonly number[])[] = [`, lines(p.values), '];');
  }
}
out.push('', `/** one row per type (${names.length}), sorted by name */`, 'export const ROWS: readonly Row[] = [', lines(rows), '];');
out.push(
  '',
  '/** [Region, types offered in it, [zone ID, types offered in it][]]: bitsets over ROWS, base64 (bit i of byte j: ROWS[8j + i]) */',
  'export const OFFERINGS: readonly (readonly [region: string, types: string, zones: readonly (readonly [zoneId: string, types: string])[]])[] = [',
  lines(regionRows),
  '];',
  '',
);
const text = out.join('\n');

if (check) {
  const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  if (current !== text) {
    console.error(`gen-instance-types: ${OUT} differs from what moto ${moto.version} gives; run node scripts/gen-instance-types.mjs`);
    process.exit(1);
  }
  console.log(`gen-instance-types: ${OUT} is up to date (${names.length} types, ${text.length} bytes)`);
} else {
  writeFileSync(OUT, text);
  const sizes = Object.values(pools).map((p) => `${p.name} ${p.values.length}`).join(', ');
  console.log(`gen-instance-types: wrote ${OUT}: ${names.length} types, ${regionRows.length} Regions, ${text.length} bytes (${sizes})`);
}
for (const n of notes) console.error(`note: ${n}`);
