/**
 * The only module that touches the AWS SDK's Smithy schemas. Everything else sees compiled plans.
 *
 * `@aws-sdk/client-ec2` exports a static schema for every operation (`RunInstances$`) and shape; the
 * exports are marked internal, so the SDK and `@smithy/core` versions are pinned exactly in package.json
 * and `test/protocol-drift.test.ts` checks the members nestbox depends on.
 */
import * as ec2 from '@aws-sdk/client-ec2';
import { NormalizedSchema } from '@smithy/core/schema';

export type { NormalizedSchema };

export interface OperationSchema {
  readonly name: string;
  readonly input: NormalizedSchema;
  readonly output: NormalizedSchema;
}

type StaticOperation = readonly [9, string, string, unknown, unknown, unknown];

const isOperation = (v: unknown): v is StaticOperation => Array.isArray(v) && v[0] === 9 && typeof v[2] === 'string';

/** Every EC2 operation the SDK knows, by action name. Scanning the exports takes ~2 ms. */
const operations: ReadonlyMap<string, StaticOperation> = new Map(
  Object.entries(ec2)
    .filter(([key, value]) => key.endsWith('$') && isOperation(value))
    .map(([, value]) => [(value as StaticOperation)[2], value as StaticOperation]),
);

const normalized = new Map<string, OperationSchema>();

/** The schema of one EC2 operation, or undefined when EC2 has no such action. */
export function operationSchema(action: string): OperationSchema | undefined {
  const cached = normalized.get(action);
  if (cached) return cached;
  const op = operations.get(action);
  if (!op) return undefined;
  const schema: OperationSchema = {
    name: action,
    input: NormalizedSchema.of(op[4] as Parameters<typeof NormalizedSchema.of>[0]),
    output: NormalizedSchema.of(op[5] as Parameters<typeof NormalizedSchema.of>[0]),
  };
  normalized.set(action, schema);
  return schema;
}

export const operationCount = (): number => operations.size;

/** Normalized schema of a named shape (for tests and drift checks). */
export function shapeSchema(name: string): NormalizedSchema | undefined {
  const value = (ec2 as Record<string, unknown>)[`${name}$`];
  return value === undefined ? undefined : NormalizedSchema.of(value as Parameters<typeof NormalizedSchema.of>[0]);
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
  const value = (ec2 as Record<string, unknown>)[name];
  if (!value || typeof value !== 'object') throw new Error(`no enum ${name} in @aws-sdk/client-ec2`);
  return Object.values(value as Record<string, string>);
}
