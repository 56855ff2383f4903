/**
 * The only module that touches the AWS SDK's Smithy schemas. Everything else sees compiled plans.
 *
 * `@aws-sdk/client-ec2` exports a static schema for every operation (`RunInstances$`) and shape; the
 * exports are marked internal, so the SDK and `@smithy/core` versions are pinned exactly in package.json
 * and `test/protocol-drift.test.ts` checks the members nestbox depends on.
 *
 * Loading the SDK client costs ~400 ms and ~90 MiB (its 2 MB CommonJS index), so the server does not:
 * `npm run build` writes those schemas and the SDK's enums to dist/protocol/ec2-schemas.json
 * (scripts/build-schemas.mjs), which this module reads in ~20 ms and ~13 MiB. When that file is missing,
 * from another SDK version or another format (a fresh checkout, tests before any build), the schemas
 * come from the SDK itself, as before.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NormalizedSchema } from '@smithy/core/schema';

export type { NormalizedSchema };

export interface OperationSchema {
  readonly name: string;
  readonly input: NormalizedSchema;
  readonly output: NormalizedSchema;
}

type StaticOperation = readonly [9, string, string, unknown, unknown, unknown];
type SchemaRef = Parameters<typeof NormalizedSchema.of>[0];

const isOperation = (v: unknown): v is StaticOperation => Array.isArray(v) && v[0] === 9 && typeof v[2] === 'string';

/** dist/protocol/ec2-schemas.json at the package root, from both src/protocol (tsx) and dist/protocol (built). */
export const SCHEMAS_FILE = fileURLToPath(new URL('../../dist/protocol/ec2-schemas.json', import.meta.url));
/** The layout scripts/build-schemas.mjs writes (its SCHEMA_FORMAT). */
const SCHEMA_FORMAT = 1;

export interface Schemas {
  /** where they were read from */
  readonly source: 'file' | 'sdk';
  /** every EC2 operation the SDK knows, by action name */
  readonly operations: ReadonlyMap<string, StaticOperation>;
  shape(name: string): unknown;
  enum(name: string): readonly string[] | undefined;
}

interface SchemaFile {
  readonly format: number;
  readonly sdk: string;
  readonly operations: Record<string, number>;
  readonly shapes: Record<string, number>;
  readonly enums: Record<string, string[]>;
  readonly nodes: unknown[];
}

const require = createRequire(import.meta.url);
const sdkVersion = (): string =>
  (JSON.parse(readFileSync(require.resolve('@aws-sdk/client-ec2/package.json'), 'utf8')) as { version: string }).version;

/**
 * The schemas in `file` when it was written for the installed SDK in the current format, else undefined.
 * Each `{"#": i}` becomes a thunk of node i, each `{"#=": v}` a thunk of v: what the SDK's schemas hold.
 */
export function readSchemaFile(file: string = SCHEMAS_FILE): Schemas | undefined {
  let doc: SchemaFile;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as SchemaFile;
  } catch {
    return undefined;
  }
  if (doc.format !== SCHEMA_FORMAT || doc.sdk !== sdkVersion()) return undefined;
  const nodes = doc.nodes;
  const thunks: (() => unknown)[] = [];
  const thunk = (i: number) => (thunks[i] ??= () => nodes[i]);
  const decode = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = decode(v[i]);
      return v;
    }
    const o = v as Record<string, unknown>;
    if (typeof o['#'] === 'number') return thunk(o['#']);
    if ('#=' in o) {
      const value = o['#='];
      return () => value;
    }
    for (const k of Object.keys(o)) o[k] = decode(o[k]);
    return o;
  };
  for (const n of nodes) decode(n);
  return {
    source: 'file',
    operations: new Map(Object.entries(doc.operations).map(([name, i]) => [name, nodes[i] as StaticOperation])),
    shape: (name) => (Object.hasOwn(doc.shapes, name) ? nodes[doc.shapes[name] as number] : undefined),
    enum: (name) => (Object.hasOwn(doc.enums, name) ? doc.enums[name] : undefined),
  };
}

/** The schemas of the SDK client itself (~400 ms, ~90 MiB). */
function sdkSchemas(): Schemas {
  const ec2 = require('@aws-sdk/client-ec2') as Record<string, unknown>;
  return {
    source: 'sdk',
    // Scanning the exports takes ~2 ms.
    operations: new Map(
      Object.entries(ec2)
        .filter(([key, value]) => key.endsWith('$') && isOperation(value))
        .map(([, value]) => [(value as StaticOperation)[2], value as StaticOperation]),
    ),
    shape: (name) => ec2[`${name}$`],
    // `export const InstanceState = { pending: "pending", … }`: what scripts/build-schemas.mjs takes for an enum
    enum: (name) => {
      const value = ec2[name];
      if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
      const values = Object.values(value);
      return values.every((v) => typeof v === 'string') ? (values as string[]) : undefined;
    },
  };
}

const schemas: Schemas = readSchemaFile() ?? sdkSchemas();

/** Where this process's schemas come from: dist/protocol/ec2-schemas.json, or the SDK client. */
export const schemaSource = (): 'file' | 'sdk' => schemas.source;

const normalized = new Map<string, OperationSchema>();

/** The schema of one EC2 operation, or undefined when EC2 has no such action. */
export function operationSchema(action: string): OperationSchema | undefined {
  const cached = normalized.get(action);
  if (cached) return cached;
  const op = schemas.operations.get(action);
  if (!op) return undefined;
  const schema: OperationSchema = {
    name: action,
    input: NormalizedSchema.of(op[4] as SchemaRef),
    output: NormalizedSchema.of(op[5] as SchemaRef),
  };
  normalized.set(action, schema);
  return schema;
}

export const operationCount = (): number => schemas.operations.size;

/** Normalized schema of a named shape (for tests and drift checks). */
export function shapeSchema(name: string): NormalizedSchema | undefined {
  const value = schemas.shape(name);
  return value === undefined ? undefined : NormalizedSchema.of(value as SchemaRef);
}

/** The scalar kinds the wire distinguishes. The schemas carry no integer/float distinction. */
export type ScalarKind = 'string' | 'number' | 'boolean' | 'timestamp' | 'blob';

export function scalarKind(s: NormalizedSchema): ScalarKind {
  if (s.isBooleanSchema()) return 'boolean';
  if (s.isNumericSchema() || s.isBigIntegerSchema() || s.isBigDecimalSchema()) return 'number';
  if (s.isTimestampSchema()) return 'timestamp';
  if (s.isBlobSchema()) return 'blob';
  return 'string';
}

/** Request key of a member: ec2QueryName, else the capitalised xmlName or member name (CORE getKey). */
export function queryKey(memberName: string, member: NormalizedSchema): string {
  const traits = member.getMergedTraits();
  if (typeof traits.ec2QueryName === 'string') return traits.ec2QueryName;
  const key = typeof traits.xmlName === 'string' ? traits.xmlName : memberName;
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/** Response element of a member: the member's own xmlName, else its name (as the SDK's XML reader looks it up). */
export function xmlElementName(memberName: string, member: NormalizedSchema): string {
  const xmlName = member.getMemberTraits().xmlName;
  return typeof xmlName === 'string' ? xmlName : memberName;
}

/** Element name of each item of a list in a response: the item schema's xmlName, else `member`. */
export function xmlItemName(list: NormalizedSchema): string {
  const xmlName = list.getValueSchema().getMergedTraits().xmlName;
  return typeof xmlName === 'string' ? xmlName : 'member';
}

export const isFlattened = (s: NormalizedSchema): boolean => Boolean(s.getMergedTraits().xmlFlattened);

/** Enum values the SDK exports, e.g. enumValues('NestedVirtualizationSpecification') → ['disabled','enabled']. */
export function enumValues(name: string): readonly string[] {
  const values = schemas.enum(name);
  if (!values) throw new Error(`no enum ${name} in @aws-sdk/client-ec2`);
  return values;
}
