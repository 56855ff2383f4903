#!/usr/bin/env node
/**
 * Writes dist/protocol/ec2-schemas.json: the static Smithy schemas of @aws-sdk/client-ec2 (every
 * operation, every shape they reach, every exported shape name) and its enums, as plain JSON. The
 * server reads that file (src/protocol/schema.ts) instead of loading the SDK client: the client's
 * 2 MB CommonJS index costs ~400 ms and ~90 MiB at start-up, this file (~1.1 MB) ~20 ms and ~13 MiB.
 *
 * Run by `npm run build` (so also by `npm install`/`npm ci` through `prepare`, and by `npm start`
 * when the sources changed), before tsc. A build artefact: never committed. Without it (or when it was
 * written for another SDK version or format), schema.ts loads the SDK client.
 *   node scripts/build-schemas.mjs [OUT]     (default dist/protocol/ec2-schemas.json)
 *
 * Encoding: the schemas are nested arrays and trait objects; a schema refers to another through a
 * thunk (`() => Shape$`), which may form cycles. Every schema a thunk points at, and every exported
 * one, becomes one entry of `nodes`; a thunk becomes `{"#": index}`, or `{"#=": value}` when it returns
 * a string or number (`() => __Unit`); no trait is named "#" or "#=".
 * schema.ts turns those back into thunks, so NormalizedSchema sees exactly what the SDK exports.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bumped when the layout below changes; schema.ts (its SCHEMA_FORMAT) ignores a file of another format. */
export const SCHEMA_FORMAT = 1;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMAS_FILE = join(root, 'dist', 'protocol', 'ec2-schemas.json');

export function buildSchemas(out = SCHEMAS_FILE) {
  const started = Date.now();
  const require = createRequire(join(root, 'package.json'));
  const sdk = require('@aws-sdk/client-ec2');
  const version = JSON.parse(readFileSync(require.resolve('@aws-sdk/client-ec2/package.json'), 'utf8')).version;

  const nodes = [];
  const index = new Map(); // schema array → its index in nodes
  const pending = [];
  const nodeOf = (schema) => {
    if (!Array.isArray(schema)) throw new Error(`a thunk returned ${typeof schema}, not a schema array`);
    let i = index.get(schema);
    if (i === undefined) {
      i = nodes.length;
      index.set(schema, i);
      nodes.push(undefined);
      pending.push(schema);
    }
    return i;
  };
  // An array or object reached other than through a thunk is copied where it is; each must be reached once.
  const inline = new Set();
  const encode = (v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`a schema holds ${v}, which JSON cannot`);
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    if (typeof v === 'function') {
      if (v.length !== 0) throw new Error(`a schema holds a function of ${v.length} arguments, not a thunk`);
      const target = v();
      // e.g. `() => __Unit`, the string "unit": the output of an operation that answers nothing
      if (typeof target === 'string' || typeof target === 'number') return { '#=': target };
      return { '#': nodeOf(target) };
    }
    if (typeof v !== 'object') throw new Error(`cannot encode a ${typeof v} in a schema`);
    if (index.has(v)) throw new Error('a schema array is referred to directly as well as through a thunk');
    if (inline.has(v)) throw new Error('a schema array or trait object is shared between two schemas');
    inline.add(v);
    if (Array.isArray(v)) return v.map(encode);
    if (Object.getPrototypeOf(v) !== Object.prototype) throw new Error(`cannot encode a ${v.constructor?.name} in a schema`);
    if ('#' in v || '#=' in v) throw new Error('a trait object has a key "#" or "#="');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
  };

  const operations = {};
  const shapes = {};
  const enums = {};
  for (const [key, value] of Object.entries(sdk)) {
    if (key.endsWith('$')) {
      if (!Array.isArray(value)) continue;
      shapes[key.slice(0, -1)] = nodeOf(value);
      if (value[0] === 9 && typeof value[2] === 'string') operations[value[2]] = nodeOf(value);
    } else if (value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((x) => typeof x === 'string')) {
      // enums: `export const InstanceState = { pending: "pending", … }`
      enums[key] = Object.values(value);
    }
  }
  while (pending.length > 0) {
    const schema = pending.pop();
    nodes[index.get(schema)] = schema.map(encode);
  }
  if (Object.keys(operations).length < 800) throw new Error(`only ${Object.keys(operations).length} operations in @aws-sdk/client-ec2`);

  const doc = { format: SCHEMA_FORMAT, sdk: version, operations, shapes, enums, nodes };
  mkdirSync(dirname(out), { recursive: true });
  const text = JSON.stringify(doc);
  writeFileSync(`${out}.tmp`, text);
  renameSync(`${out}.tmp`, out);
  return {
    out,
    bytes: Buffer.byteLength(text),
    operations: Object.keys(operations).length,
    nodes: nodes.length,
    enums: Object.keys(enums).length,
    ms: Date.now() - started,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = buildSchemas(process.argv[2] ?? SCHEMAS_FILE);
  process.stdout.write(
    `schemas: ${r.out} (${r.operations} operations, ${r.nodes} schemas, ${r.enums} enums, ${(r.bytes / 1024).toFixed(0)} KiB, ${r.ms} ms)\n`,
  );
}
