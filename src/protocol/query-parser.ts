/**
 * EC2 Query protocol request parsing, derived from the operation's input schema.
 *
 * The flat `Key.N.Sub=value` parameters are first folded into a tree, then the tree is read against a
 * plan compiled once per input shape. Every key the schema does not know is refused (UnknownParameter),
 * list indexes are checked, and scalars are typed (numbers, booleans, timestamps) with an error that
 * names the parameter and the bad value.
 */
import { Errors } from '../domain/errors.js';
import { type NormalizedSchema, queryKey, type ScalarKind, scalarKind } from './schema.js';

type Plan = ScalarPlan | ListPlan | StructPlan | MapPlan;
interface ScalarPlan {
  readonly kind: ScalarKind;
}
interface ListPlan {
  readonly kind: 'list';
  readonly item: () => Plan;
}
interface MapPlan {
  readonly kind: 'map';
  readonly keyName: string;
  readonly valueName: string;
  readonly value: () => Plan;
}
interface StructPlan {
  readonly kind: 'struct';
  /** query key → JS member name and plan */
  readonly members: Map<string, { readonly name: string; readonly plan: () => Plan }>;
}

const SCALARS: Record<ScalarKind, ScalarPlan> = {
  string: { kind: 'string' },
  number: { kind: 'number' },
  boolean: { kind: 'boolean' },
  timestamp: { kind: 'timestamp' },
  blob: { kind: 'blob' },
};

/** Plans by schema identity; structures are registered before their members so recursion terminates. */
const plans = new Map<string, Plan>();

function planOf(schema: NormalizedSchema): Plan {
  if (schema.isStructSchema()) {
    const id = schema.getName(true) ?? '';
    const cached = plans.get(id);
    if (cached) return cached;
    const plan: StructPlan = { kind: 'struct', members: new Map() };
    plans.set(id, plan);
    for (const [name, member] of schema.structIterator()) {
      let memo: Plan | undefined;
      plan.members.set(queryKey(name, member), { name, plan: () => (memo ??= planOf(member)) });
    }
    return plan;
  }
  if (schema.isListSchema()) {
    const value = schema.getValueSchema();
    let memo: Plan | undefined;
    return { kind: 'list', item: () => (memo ??= planOf(value)) };
  }
  if (schema.isMapSchema()) {
    const value = schema.getValueSchema();
    let memo: Plan | undefined;
    const keyTraits = schema.getKeySchema().getMergedTraits();
    const valueTraits = value.getMergedTraits();
    return {
      kind: 'map',
      keyName: typeof keyTraits.xmlName === 'string' ? keyTraits.xmlName : 'key',
      valueName: typeof valueTraits.xmlName === 'string' ? valueTraits.xmlName : 'value',
      value: () => (memo ??= planOf(value)),
    };
  }
  return SCALARS[scalarKind(schema)];
}

/** A folded parameter tree: leaves are the raw strings. */
type Node = string | Branch;
interface Branch {
  [segment: string]: Node;
}

/** Parameters that belong to the envelope or the signature, never to the operation's input. */
const ENVELOPE = /^(Action|Version|X-Amz-[A-Za-z-]+|AWSAccessKeyId|SignatureVersion|SignatureMethod|Signature|Timestamp|Expires)$/;

export const MAX_LIST_INDEX = 10_000;
const INDEX = /^[1-9][0-9]{0,4}$/;

/**
 * A new, empty Branch. It has nothing to inherit ('constructor' or '__proto__' are parameter names like
 * any other, as on Object.create(null)), but comes from a constructor whose prototype is such an empty
 * object: V8 keeps it a fast object, on which adding a key just decoded from a request costs a fraction
 * of what it costs on Object.create(null)'s dictionary-mode object. Keys and their order are the same.
 */
const newBranch: () => Branch = (() => {
  function EmptyBranch(): void {}
  EmptyBranch.prototype = Object.create(null);
  const Ctor = EmptyBranch as unknown as new () => Branch;
  return () => new Ctor();
})();

export function foldParameters(params: Iterable<readonly [string, string]>): Branch {
  const root = newBranch();
  for (const [key, value] of params) {
    if (ENVELOPE.test(key)) continue;
    let node = root;
    // segment by segment, from `start` up to the next '.' (no array of them is made)
    for (let start = 0; ; ) {
      const dot = key.indexOf('.', start);
      const last = dot === -1;
      const segment = last ? key.slice(start) : key.slice(start, dot);
      if (segment === '') throw Errors.malformedQueryString(`The parameter name '${key}' is malformed.`);
      const existing = node[segment];
      if (last) {
        if (existing !== undefined) {
          throw Errors.invalidParameter(`The parameter ${key} was given more than once or conflicts with another.`);
        }
        node[segment] = value;
        break;
      }
      if (existing === undefined) {
        const child = newBranch();
        node[segment] = child;
        node = child;
      } else if (typeof existing === 'string') {
        throw Errors.invalidParameter(`The parameter ${key.slice(0, dot)} cannot be both a value and a structure.`);
      } else {
        node = existing;
      }
      start = dot + 1;
    }
  }
  return root;
}

const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
// No prototype: 'constructor' or '__proto__' must not read as a boolean.
const BOOLEAN: Readonly<Record<string, boolean>> = Object.assign(Object.create(null), { true: true, false: false });

function readScalar(kind: ScalarKind, raw: string, path: string): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'number': {
      if (!NUMBER.test(raw)) throw Errors.invalidValueFor(path, raw, 'Expected a number.');
      const n = Number(raw);
      if (!Number.isSafeInteger(n) && Number.isInteger(n)) throw Errors.invalidValueFor(path, raw, 'The number is out of range.');
      return n;
    }
    case 'boolean': {
      const b = BOOLEAN[raw.toLowerCase()];
      if (b === undefined) throw Errors.invalidValueFor(path, raw, 'Expected true or false.');
      return b;
    }
    case 'timestamp': {
      const d = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
      if (Number.isNaN(d.getTime())) throw Errors.invalidValueFor(path, raw, 'Expected an ISO 8601 timestamp.');
      return d;
    }
    case 'blob':
      return new Uint8Array(Buffer.from(raw, 'base64'));
  }
}

function read(plan: Plan, node: Node, path: string): unknown {
  switch (plan.kind) {
    case 'struct': {
      if (typeof node === 'string') throw Errors.invalidValueFor(path, node, 'Expected a structure.');
      return readStruct(plan, node, `${path}.`);
    }
    case 'list': {
      if (typeof node === 'string') throw Errors.invalidValueFor(path, node, `Expected a list (${path}.1, ${path}.2, ...).`);
      const indexed: [number, unknown][] = [];
      const item = plan.item();
      for (const index in node) {
        const n = INDEX.test(index) ? Number(index) : 0;
        if (n < 1 || n > MAX_LIST_INDEX) throw Errors.invalidParameter(`The list index in ${path}.${index} is not valid.`);
        indexed.push([n, read(item, node[index] as Node, `${path}.${index}`)]);
      }
      return indexed.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    }
    case 'map': {
      if (typeof node === 'string') throw Errors.invalidValueFor(path, node, 'Expected a map.');
      const out: Record<string, unknown> = Object.create(null);
      const value = plan.value();
      for (const index in node) {
        const entry = node[index] as Node;
        if (!INDEX.test(index) || typeof entry === 'string' || typeof entry[plan.keyName] !== 'string') {
          throw Errors.invalidParameter(`The map entry ${path}.${index} is not valid.`);
        }
        const key = entry[plan.keyName] as string;
        if (key === '__proto__') throw Errors.invalidParameter(`The map key in ${path}.${index} is not valid.`);
        const v = entry[plan.valueName];
        out[key] = v === undefined ? undefined : read(value, v, `${path}.${index}.${plan.valueName}`);
      }
      return out;
    }
    default:
      if (typeof node !== 'string') throw Errors.unknownParameter(`${path}.${Object.keys(node)[0] ?? ''}`);
      return readScalar(plan.kind, node, path);
  }
}

function readStruct(plan: StructPlan, node: Branch, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in node) {
    const member = plan.members.get(key);
    if (!member) throw Errors.unknownParameter(`${prefix}${key}`);
    out[member.name] = read(member.plan(), node[key] as Node, `${prefix}${key}`);
  }
  return out;
}

/**
 * Reads a request's parameters into the SDK-shaped input object of the operation
 * (e.g. `RunInstancesRequest`). The caller asserts the type; the shape follows the schema.
 */
export function parseInput(input: NormalizedSchema, params: Iterable<readonly [string, string]>): Record<string, unknown> {
  const plan = planOf(input);
  const tree = foldParameters(params);
  if (plan.kind !== 'struct') {
    const first = Object.keys(tree)[0];
    if (first !== undefined) throw Errors.unknownParameter(first);
    return {};
  }
  return readStruct(plan, tree, '');
}
