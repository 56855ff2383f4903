/**
 * DescribeInstanceAttribute and ModifyInstanceAttribute. What an attribute shows is read from the same
 * view DescribeInstances answers with (toInstance), so the two never disagree. Six attributes can be
 * changed: the instance type, user data, EBS optimisation (these three only while stopped), termination
 * and stop protection, and the instance-initiated shutdown behaviour; the rules live in
 * src/domain/instance-attributes.ts.
 */
import type {
  DescribeInstanceAttributeRequest,
  Instance,
  InstanceAttribute,
  InstanceAttributeName,
  ModifyInstanceAttributeRequest,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import type { InstanceRecord } from '../domain/instance.js';
import {
  type ShutdownBehavior,
  checkNotTerminating,
  checkUserData,
  parseShutdownBehavior,
  typeChange,
} from '../domain/instance-attributes.js';
import { type Services, launchLock } from '../services/context.js';
import { findSecurityGroups } from '../services/vpcs.js';
import { checkNetworkIds, defaultNetworkOf, instanceAttachment } from '../domain/network.js';
import { type Handler, type RequestContext, checkDryRun, required } from './context.js';
import { findInstances, toInstance } from '../services/instances.js';
import { NO_TAGS } from '../services/tags.js';

// --- DescribeInstanceAttribute ----------------------------------------------------------------------

type Describe = (rec: InstanceRecord, view: () => Instance) => Omit<InstanceAttribute, 'InstanceId'>;

/**
 * Every name of the SDK's InstanceAttributeName enum (the compiler checks none is missing). `undefined`:
 * the API reference says "The enaSupport attribute is not supported at this time."
 */
const DESCRIBE: Readonly<Record<InstanceAttributeName, Describe | undefined>> = {
  instanceType: (r) => ({ InstanceType: { Value: r.instanceType } }),
  // HVM instances have no kernel or RAM disk of their own: EC2 answers an empty value.
  kernel: () => ({ KernelId: {} }),
  ramdisk: () => ({ RamdiskId: {} }),
  userData: (r) => ({ UserData: r.userData ? { Value: r.userData } : {} }),
  disableApiTermination: (r) => ({ DisableApiTermination: { Value: r.disableApiTermination === true } }),
  disableApiStop: (r) => ({ DisableApiStop: { Value: r.disableApiStop === true } }),
  instanceInitiatedShutdownBehavior: (r) => ({ InstanceInitiatedShutdownBehavior: { Value: r.shutdownBehavior ?? 'stop' } }),
  rootDeviceName: (_, view) => ({ RootDeviceName: { Value: view().RootDeviceName } }),
  blockDeviceMapping: (_, view) => ({ BlockDeviceMappings: view().BlockDeviceMappings ?? [] }),
  productCodes: (_, view) => ({ ProductCodes: view().ProductCodes ?? [] }),
  sourceDestCheck: (_, view) => ({ SourceDestCheck: { Value: view().SourceDestCheck } }),
  groupSet: (_, view) => ({ Groups: view().SecurityGroups ?? [] }),
  ebsOptimized: (_, view) => ({ EbsOptimized: { Value: view().EbsOptimized } }),
  sriovNetSupport: (_, view) => {
    const value = view().SriovNetSupport;
    return { SriovNetSupport: value ? { Value: value } : {} };
  },
  enaSupport: undefined,
  enclaveOptions: (_, view) => ({ EnclaveOptions: view().EnclaveOptions ?? { Enabled: false } }),
};

const isAttributeName = (name: string): name is InstanceAttributeName => Object.hasOwn(DESCRIBE, name);

function attributeName(name: string): InstanceAttributeName {
  if (!isAttributeName(name)) throw Errors.unknownInstanceAttribute(name);
  return name;
}

export const describeInstanceAttribute: Handler<DescribeInstanceAttributeRequest, InstanceAttribute> = async (input, ctx, s) => {
  const id = required(input.InstanceId, 'InstanceId');
  const name = attributeName(required(input.Attribute, 'Attribute'));
  const describe = DESCRIBE[name];
  if (!describe) throw Errors.instanceAttributeNotDescribable(name);
  const [rec] = (await findInstances(s, ctx, [id])) as [InstanceRecord];
  checkDryRun(input);
  // No attribute shows the instance's tags: the view is made without them.
  return { InstanceId: rec.id, ...describe(rec, () => toInstance(rec, s, NO_TAGS)) };
};

// --- ModifyInstanceAttribute ------------------------------------------------------------------------

/** The request members that each name one attribute, and that attribute. */
const MEMBERS = {
  SourceDestCheck: 'sourceDestCheck',
  EnclaveOptions: 'enclaveOptions',
  DisableApiStop: 'disableApiStop',
  BlockDeviceMappings: 'blockDeviceMapping',
  DisableApiTermination: 'disableApiTermination',
  InstanceType: 'instanceType',
  Kernel: 'kernel',
  Ramdisk: 'ramdisk',
  UserData: 'userData',
  InstanceInitiatedShutdownBehavior: 'instanceInitiatedShutdownBehavior',
  Groups: 'groupSet',
  EbsOptimized: 'ebsOptimized',
  SriovNetSupport: 'sriovNetSupport',
  EnaSupport: 'enaSupport',
} as const satisfies Partial<Record<keyof ModifyInstanceAttributeRequest, InstanceAttributeName>>;
type Member = keyof typeof MEMBERS;

/** What the API reference lists as modifiable, minus what nestbox implements; the rest cannot be modified. */
const NOT_IMPLEMENTED: ReadonlySet<InstanceAttributeName> = new Set([
  'kernel',
  'ramdisk',
  'blockDeviceMapping',
  'sriovNetSupport',
  'enaSupport',
  'enclaveOptions',
]);

const IMPLEMENTED = [
  'instanceType',
  'userData',
  'disableApiTermination',
  'disableApiStop',
  'instanceInitiatedShutdownBehavior',
  'ebsOptimized',
  'sourceDestCheck',
  'groupSet',
] as const satisfies readonly InstanceAttributeName[];
const isImplemented = (name: InstanceAttributeName): name is (typeof IMPLEMENTED)[number] =>
  (IMPLEMENTED as readonly string[]).includes(name);

type Change =
  | { readonly attribute: 'instanceType'; readonly value: string }
  /** base64, checked */
  | { readonly attribute: 'userData'; readonly value: string }
  | { readonly attribute: 'disableApiTermination' | 'disableApiStop' | 'ebsOptimized' | 'sourceDestCheck'; readonly value: boolean }
  /** security group IDs, syntax checked */
  | { readonly attribute: 'groupSet'; readonly value: readonly string[] }
  | { readonly attribute: 'instanceInitiatedShutdownBehavior'; readonly value: ShutdownBehavior };

/** The one attribute a request changes and its value, checked for syntax (nothing about the instance yet). */
function requestedChange(input: ModifyInstanceAttributeRequest, s: Services): Change {
  if (input.Value !== undefined && input.Attribute === undefined) throw Errors.missingParameter('Attribute');
  const members = (Object.keys(MEMBERS) as Member[]).filter((m) => input[m] !== undefined);
  const named: InstanceAttributeName[] = members.map((m) => MEMBERS[m]);
  if (input.Attribute !== undefined) named.push(attributeName(input.Attribute));
  if (named.length === 0) throw Errors.noAttributesSpecified();
  if (named.length > 1) throw Errors.tooManyAttributes(named);
  const [attribute] = named as [InstanceAttributeName];
  if (NOT_IMPLEMENTED.has(attribute)) throw Errors.instanceAttributeNotImplemented(attribute);
  // rootDeviceName, productCodes
  if (!isImplemented(attribute)) throw Errors.instanceAttributeNotModifiable(attribute);

  if (attribute === 'groupSet') {
    // `--groups sg-1 sg-2`: a list of IDs, not a Value (EC2 takes groups in no other form).
    const ids = input.Groups ?? [];
    if (ids.length === 0) throw Errors.missingParameter('GroupId');
    checkNetworkIds('security-group', ids);
    return { attribute, value: [...new Set(ids)] };
  }
  // `Attribute=userData&Value=…` (the CLI's --attribute/--value) or the typed member `UserData.Value=…`.
  const [member] = members;
  const raw: unknown = member === undefined ? input.Value : (input[member] as { Value?: unknown } | undefined)?.Value;
  const param = member === undefined ? 'Value' : `${member}.Value`;
  if (raw === undefined || raw === '' || (raw instanceof Uint8Array && raw.length === 0)) throw Errors.missingParameter(param);
  const text = (v: unknown): string => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v));
  switch (attribute) {
    case 'instanceType': {
      const type = text(raw);
      if (!s.catalog.facts(type)) throw Errors.invalidInstanceTypeAttribute(type);
      return { attribute, value: type };
    }
    case 'userData':
      // The typed member is a blob: the wire carries it in base64 and the parser hands over the bytes.
      return { attribute, value: checkUserData(raw instanceof Uint8Array ? Buffer.from(raw).toString('base64') : text(raw)) };
    case 'disableApiTermination':
    case 'disableApiStop':
    case 'ebsOptimized':
    case 'sourceDestCheck':
      return { attribute, value: parseBoolean(raw, param) };
    case 'instanceInitiatedShutdownBehavior':
      return { attribute, value: parseShutdownBehavior(text(raw), param) };
  }
}

/** The typed members are booleans already; `Value` is a string. */
function parseBoolean(raw: unknown, param: string): boolean {
  if (typeof raw === 'boolean') return raw;
  const lower = String(raw).toLowerCase();
  if (lower !== 'true' && lower !== 'false') throw Errors.invalidValueFor(param, raw, 'Expected true or false.');
  return lower === 'true';
}

/** The record after the change (the same record when nothing changes), or the error about this instance. */
function applyChange(rec: InstanceRecord, change: Change, s: Services): InstanceRecord {
  switch (change.attribute) {
    case 'instanceType': {
      if (rec.state !== 'stopped') throw Errors.notInStoppedState(rec.id);
      if (change.value === rec.instanceType) return rec;
      const to = s.catalog.facts(change.value);
      if (!to) throw Errors.invalidInstanceTypeAttribute(change.value);
      const { cpu, nestedVirtualizationTurnedOff } = typeChange(rec, to);
      if (nestedVirtualizationTurnedOff) {
        const why = to.supportedFeatures.includes('nested-virtualization') ? '' : ` (${to.type} does not support it)`;
        s.log.warn(
          `instance ${rec.id}: changing the instance type from ${rec.instanceType} to ${to.type} reset its CPU options ` +
            `and turned nested virtualization off${why}; CpuOptions show NestedVirtualization=disabled`,
        );
      }
      return { ...rec, instanceType: to.type, cpu };
    }
    case 'userData':
      if (rec.state !== 'stopped') throw Errors.notInStoppedState(rec.id);
      return change.value === rec.userData ? rec : { ...rec, userData: change.value };
    // EC2 UG: EBS optimisation is changed on a stopped instance. `false` is recorded as absent, as at launch.
    case 'ebsOptimized':
      if (rec.state !== 'stopped') throw Errors.notInStoppedState(rec.id);
      return withAttribute(rec, 'ebsOptimized', change.value || undefined);
    // Protection and the shutdown behaviour change on a live instance too (EC2 UG), not on a terminating one.
    // EC2's defaults (false, 'stop') are recorded as absent, as RunInstances records them.
    case 'disableApiTermination':
    case 'disableApiStop':
      checkNotTerminating(rec);
      return withAttribute(rec, change.attribute, change.value || undefined);
    case 'instanceInitiatedShutdownBehavior':
      checkNotTerminating(rec);
      return withAttribute(rec, 'shutdownBehavior', change.value === 'terminate' ? 'terminate' : undefined);
    // The primary interface's check, on a live instance too; EC2's default (true) is recorded as absent.
    case 'sourceDestCheck':
      checkNotTerminating(rec);
      return rec.sourceDestCheck === (change.value ? undefined : false) ? rec : { ...rec, sourceDestCheck: change.value ? undefined : false };
    case 'groupSet':
      throw new Error('groupSet is applied by changeGroups');
  }
}

/**
 * ModifyInstanceAttribute `groupSet`: the groups replace the primary interface's, all of them groups of
 * the instance's VPC. Read and written under the Region's launch lock, so no group is deleted meanwhile.
 */
async function changeGroups(s: Services, ctx: RequestContext, id: string, ids: readonly string[], dryRun: boolean | undefined): Promise<void> {
  await s.store.transaction(
    async (tx) => {
      const [rec] = (await findInstances(s, ctx, [id])) as [InstanceRecord];
      const groups = await findSecurityGroups(s, ctx, ids, tx);
      checkDryRun({ DryRun: dryRun });
      checkNotTerminating(rec);
      const attachment = instanceAttachment(rec);
      for (const g of groups) if (g.vpcId !== attachment.vpcId) throw Errors.groupAndSubnetInDifferentVpcs(g.id, attachment.subnetId);
      const chosen = groups.map((g) => ({ id: g.id, name: g.name }));
      const justDefault = chosen.length === 1 && chosen[0]!.id === defaultNetworkOf(ctx).securityGroupId;
      tx.write({ instances: [{ ...rec, securityGroups: justDefault ? undefined : chosen }] });
    },
    { lock: launchLock(ctx) },
  );
}

function withAttribute<K extends 'disableApiTermination' | 'disableApiStop' | 'shutdownBehavior' | 'ebsOptimized'>(
  rec: InstanceRecord,
  key: K,
  value: InstanceRecord[K],
): InstanceRecord {
  return rec[key] === value ? rec : { ...rec, [key]: value };
}

export const modifyInstanceAttribute: Handler<ModifyInstanceAttributeRequest, Record<string, never>> = async (input, ctx, s) => {
  const id = required(input.InstanceId, 'InstanceId');
  const change = requestedChange(input, s);
  if (change.attribute === 'groupSet') {
    await changeGroups(s, ctx, id, change.value, input.DryRun);
    return {};
  }
  const [rec] = (await findInstances(s, ctx, [id])) as [InstanceRecord];
  checkDryRun(input);
  const next = applyChange(rec, change, s);
  // A conditional write: a record changed meanwhile (a stop finished, a start began) is decided again.
  if (next !== rec) await s.store.commit({ instances: [next] });
  return {};
};
