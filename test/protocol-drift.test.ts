/**
 * Drift checks: the SDK schema members nestbox relies on, read through src/protocol/schema.ts (the only
 * importer of the SDK's internal schema exports). If an SDK upgrade renames or drops one of these,
 * this file fails before any wire test does. Also: the SDK packages are pinned exactly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type NormalizedSchema,
  enumValues,
  operationCount,
  operationSchema,
  queryKey,
  shapeSchema,
  xmlElementName,
  xmlItemName,
} from '../src/protocol/schema.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

function op(name: string) {
  const s = operationSchema(name);
  assert.ok(s, `the SDK has no operation ${name}`);
  return s;
}

function shape(name: string): NormalizedSchema {
  const s = shapeSchema(name);
  assert.ok(s, `the SDK has no shape ${name}`);
  return s;
}

/** A member of a structure, by its JS member name. */
function member(struct: NormalizedSchema, name: string): NormalizedSchema {
  assert.ok(struct.isStructSchema(), `${struct.getName() ?? '?'} is not a structure`);
  for (const [n, m] of struct.structIterator()) if (n === name) return m;
  assert.fail(`${struct.getName() ?? '?'} has no member ${name}`);
}

const memberNames = (struct: NormalizedSchema) => [...struct.structIterator()].map(([n]) => n);

test('the operation registry is complete and knows the actions nestbox serves', () => {
  assert.ok(operationCount() > 800, `only ${operationCount()} operations found`);
  for (const name of ['RunInstances', 'DescribeInstances', 'ModifyInstanceCpuOptions', 'DescribeInstanceTypes', 'CreateTags', 'CreateVpc']) {
    const s = op(name);
    assert.equal(s.name, name);
    assert.ok(s.input.isStructSchema(), `${name} input`);
  }
  assert.equal(operationSchema('DescribeUnicorns'), undefined);
  assert.equal(operationSchema('RunInstances'), operationSchema('RunInstances'), 'normalized once, then cached');
});

test('RunInstances input: CpuOptions (query key CpuOptions) whose shape has NestedVirtualization', () => {
  const input = op('RunInstances').input;
  const cpu = member(input, 'CpuOptions');
  assert.equal(queryKey('CpuOptions', cpu), 'CpuOptions');
  assert.ok(cpu.isStructSchema());
  assert.deepEqual(memberNames(cpu).sort(), ['AmdSevSnp', 'CoreCount', 'NestedVirtualization', 'ThreadsPerCore']);
  assert.equal(queryKey('NestedVirtualization', member(cpu, 'NestedVirtualization')), 'NestedVirtualization');
  assert.ok(member(cpu, 'NestedVirtualization').isStringSchema());
  assert.ok(member(cpu, 'CoreCount').isNumericSchema());
  // the other request keys the spec lists
  assert.equal(queryKey('TagSpecifications', member(input, 'TagSpecifications')), 'TagSpecification');
  assert.equal(queryKey('SecurityGroupIds', member(input, 'SecurityGroupIds')), 'SecurityGroupId');
  assert.equal(queryKey('BlockDeviceMappings', member(input, 'BlockDeviceMappings')), 'BlockDeviceMapping');
  assert.equal(queryKey('HibernationOptions', member(input, 'HibernationOptions')), 'HibernationOptions');
  assert.ok(member(input, 'ClientToken').isIdempotencyToken(), 'ClientToken is the idempotency token');
  const tagSpec = member(input, 'TagSpecifications').getValueSchema();
  assert.equal(queryKey('Tags', member(tagSpec, 'Tags')), 'Tag');
  const describe = op('DescribeInstances').input;
  assert.equal(queryKey('InstanceIds', member(describe, 'InstanceIds')), 'InstanceId');
  assert.equal(queryKey('Filters', member(describe, 'Filters')), 'Filter');
  assert.equal(queryKey('Values', member(shape('Filter'), 'Values')), 'Value');
});

test('Instance output: element names cpuOptions, instanceState, tagSet; reservationSet and instancesSet', () => {
  const instance = shape('Instance');
  const cpu = member(instance, 'CpuOptions');
  assert.equal(xmlElementName('CpuOptions', cpu), 'cpuOptions');
  assert.equal(xmlElementName('NestedVirtualization', member(cpu, 'NestedVirtualization')), 'nestedVirtualization');
  assert.equal(xmlElementName('CoreCount', member(cpu, 'CoreCount')), 'coreCount');
  assert.equal(xmlElementName('State', member(instance, 'State')), 'instanceState');
  assert.equal(xmlElementName('Tags', member(instance, 'Tags')), 'tagSet');
  assert.equal(xmlItemName(member(instance, 'Tags')), 'item');
  assert.equal(xmlElementName('StateReason', member(instance, 'StateReason')), 'stateReason');
  assert.equal(xmlElementName('LaunchTime', member(instance, 'LaunchTime')), 'launchTime');
  assert.ok(member(instance, 'LaunchTime').isTimestampSchema());
  assert.equal(xmlElementName('InstanceType', member(instance, 'InstanceType')), 'instanceType');

  const output = op('DescribeInstances').output;
  const reservations = member(output, 'Reservations');
  assert.equal(xmlElementName('Reservations', reservations), 'reservationSet');
  assert.equal(xmlItemName(reservations), 'item');
  assert.equal(xmlElementName('NextToken', member(output, 'NextToken')), 'nextToken');
  const reservation = reservations.getValueSchema();
  assert.equal(xmlElementName('Instances', member(reservation, 'Instances')), 'instancesSet');
  assert.equal(xmlElementName('Groups', member(reservation, 'Groups')), 'groupSet');
  // RunInstances answers a Reservation directly
  assert.deepEqual(memberNames(op('RunInstances').output), memberNames(reservation));
});

test('ModifyInstanceCpuOptions: input NestedVirtualization, output nestedVirtualization', () => {
  const s = op('ModifyInstanceCpuOptions');
  assert.equal(queryKey('NestedVirtualization', member(s.input, 'NestedVirtualization')), 'NestedVirtualization');
  assert.equal(queryKey('InstanceId', member(s.input, 'InstanceId')), 'InstanceId');
  assert.equal(queryKey('CoreCount', member(s.input, 'CoreCount')), 'CoreCount');
  assert.equal(xmlElementName('NestedVirtualization', member(s.output, 'NestedVirtualization')), 'nestedVirtualization');
  assert.equal(xmlElementName('InstanceId', member(s.output, 'InstanceId')), 'instanceId');
});

test("enumValues('NestedVirtualizationSpecification') is exactly enabled and disabled", () => {
  assert.deepEqual([...enumValues('NestedVirtualizationSpecification')].sort(), ['disabled', 'enabled']);
  assert.throws(() => enumValues('NoSuchEnumAnywhere'), /no enum NoSuchEnumAnywhere/);
});

test('SupportedAdditionalProcessorFeature includes nested-virtualization', () => {
  const values = enumValues('SupportedAdditionalProcessorFeature');
  assert.ok(values.includes('nested-virtualization'), values.join(', '));
  assert.ok(values.includes('amd-sev-snp'), values.join(', '));
});

test('DescribeInstanceTypes output: instanceTypeSet with <item> entries and processorInfo.supportedFeatures', () => {
  const output = op('DescribeInstanceTypes').output;
  const types = member(output, 'InstanceTypes');
  assert.equal(xmlElementName('InstanceTypes', types), 'instanceTypeSet');
  assert.equal(xmlItemName(types), 'item');
  const info = types.getValueSchema();
  const processor = member(info, 'ProcessorInfo');
  assert.equal(xmlElementName('ProcessorInfo', processor), 'processorInfo');
  const features = member(processor, 'SupportedFeatures');
  assert.equal(xmlElementName('SupportedFeatures', features), 'supportedFeatures');
  assert.equal(xmlItemName(features), 'item');
  const input = op('DescribeInstanceTypes').input;
  assert.equal(queryKey('InstanceTypes', member(input, 'InstanceTypes')), 'InstanceType');
  assert.equal(queryKey('Filters', member(input, 'Filters')), 'Filter');
  assert.equal(queryKey('MaxResults', member(input, 'MaxResults')), 'MaxResults');
});

test('@aws-sdk/client-ec2 and @smithy/core in node_modules are exactly the versions pinned in package.json', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const require = createRequire(join(repoRoot, 'package.json'));
  for (const name of ['@aws-sdk/client-ec2', '@smithy/core']) {
    const pinned = pkg.dependencies[name];
    assert.ok(pinned, `${name} is not a dependency`);
    assert.match(pinned, /^\d+\.\d+\.\d+$/, `${name} must be pinned to an exact version, not '${pinned}'`);
    const installed = (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
    assert.equal(installed, pinned, `${name}: installed ${installed}, pinned ${pinned}`);
  }
  // The SDK must resolve the same @smithy/core as nestbox: one copy of the schema classes.
  const fromSdk = createRequire(require.resolve('@aws-sdk/client-ec2/package.json'));
  const sdkCore = JSON.parse(readFileSync(fromSdk.resolve('@smithy/core/package.json'), 'utf8')) as { version: string };
  assert.equal(sdkCore.version, pkg.dependencies['@smithy/core']);
});
