/**
 * The query keys of an operation's input, walked from its Smithy schema: shared by the robustness test
 * (junk in every member) and the XML-safety property test (random Unicode in every string member).
 */
import { type NormalizedSchema, type ScalarKind, queryKey, scalarKind } from '../src/protocol/schema.js';

export interface ScalarKey {
  /** e.g. `TagSpecification.1.Tag.1.Value` */
  readonly key: string;
  readonly kind: ScalarKind;
}

/** Query keys that reach a scalar of the input: `K`, `K.1`, `K.Sub`, `K.1.Sub`, … (three levels deep). */
export function scalarKeysOf(schema: NormalizedSchema): ScalarKey[] {
  const out: ScalarKey[] = [];
  const walk = (s: NormalizedSchema, prefix: string, depth: number) => {
    if (s.isStructSchema()) {
      if (depth > 2) return;
      for (const [name, member] of s.structIterator()) {
        const key = queryKey(name, member);
        walk(member, prefix ? `${prefix}.${key}` : key, depth + 1);
      }
    } else if (s.isListSchema()) {
      walk(s.getValueSchema(), `${prefix}.1`, depth);
    } else if (!s.isMapSchema()) {
      out.push({ key: prefix, kind: scalarKind(s) });
    }
  };
  walk(schema, '', 0);
  return out;
}

/** The keys alone. */
export const keysOf = (schema: NormalizedSchema): string[] => scalarKeysOf(schema).map((k) => k.key);
