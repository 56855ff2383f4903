/**
 * The schema-driven codec against the SDK itself: request bodies serialized by the real EC2 client are
 * parsed back into the command's input, and response XML written by nestbox is read by the real client
 * into exactly the object that was written. No network: the client's request handler is replaced.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CreateLaunchTemplateCommand,
  type CreateLaunchTemplateRequest,
  CreateLaunchTemplateVersionCommand,
  type CreateLaunchTemplateVersionResult,
  CreateTagsCommand,
  type CreateTagsRequest,
  DescribeInstanceTypesCommand,
  type DescribeInstanceTypesRequest,
  type DescribeInstanceTypesResult,
  DescribeInstancesCommand,
  type DescribeInstancesRequest,
  type DescribeInstancesResult,
  EC2Client,
  type EC2ClientConfig,
  GetConsoleOutputCommand,
  type GetConsoleOutputResult,
  type Instance,
  ModifyInstanceCpuOptionsCommand,
  type ModifyInstanceCpuOptionsRequest,
  type ModifyInstanceCpuOptionsResult,
  type Reservation,
  RunInstancesCommand,
  type RunInstancesRequest,
} from '@aws-sdk/client-ec2';
import { HttpResponse } from '@smithy/core/protocols';
import { parseForm } from '../src/http/server.js';
import { parseInput } from '../src/protocol/query-parser.js';
import { operationSchema } from '../src/protocol/schema.js';
import { successDocument } from '../src/protocol/xml-writer.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const REQUEST_ID = '3d2b8c9e-5f1a-4b7c-9d0e-1f2a3b4c5d6e';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

// --- plumbing ---------------------------------------------------------------------------------------

/** An EC2 client whose transport is `handle`: no sockets, no retries. */
function clientWith(handle: (req: { body?: unknown }) => Promise<{ response: HttpResponse }>): EC2Client {
  return new EC2Client({
    region: 'us-east-1',
    endpoint: 'http://nestbox.invalid',
    credentials: CREDENTIALS,
    maxAttempts: 1,
    requestHandler: { handle } as unknown as EC2ClientConfig['requestHandler'],
  });
}

/** Any EC2 command (the client's `send` overloads do not accept a union of them). */
type AnyCommand = object;

/** The form body the real client sends for `command`. */
async function bodyOf(command: AnyCommand): Promise<string> {
  let body: unknown;
  const client = clientWith(async (req) => {
    body = req.body;
    throw new Error('captured');
  });
  await assert.rejects(client.send(command as never), /captured/);
  client.destroy();
  assert.equal(typeof body, 'string');
  return body as string;
}

/** Serialize with the SDK, parse with nestbox. Returns the parsed input and the flat parameters. */
async function roundTripRequest(action: string, command: AnyCommand) {
  const body = await bodyOf(command);
  const params = parseForm(body);
  const schema = operationSchema(action);
  assert.ok(schema, action);
  const flat = new Map(params);
  assert.equal(flat.get('Action'), action);
  assert.equal(flat.get('Version'), '2016-11-15');
  return { input: parseInput(schema.input, params), flat, body };
}

/** Write `value` as the response of `action` with nestbox, read it back with the real client. */
async function roundTripResponse(action: string, command: AnyCommand, value: unknown): Promise<Record<string, unknown>> {
  const schema = operationSchema(action);
  assert.ok(schema, action);
  const xml = successDocument(action, REQUEST_ID, schema.output, value);
  const client = clientWith(async () => ({
    response: new HttpResponse({
      statusCode: 200,
      headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': REQUEST_ID },
      body: Buffer.from(xml),
    }),
  }));
  const out = (await client.send(command as never)) as unknown as Record<string, unknown> & { $metadata: { requestId?: string } };
  client.destroy();
  const { $metadata, ...rest } = out;
  assert.equal($metadata.requestId, REQUEST_ID);
  return rest;
}

// --- requests -------------------------------------------------------------------------------------------

const USER_DATA = Buffer.from('#!/bin/sh\necho "nested & ready" > /tmp/x\n').toString('base64');

test('RunInstances: CpuOptions.NestedVirtualization, TagSpecifications, Placement, HibernationOptions, UserData', async () => {
  const input: RunInstancesRequest = {
    ImageId: 'ami-0b5e4a1f2c3d40001',
    InstanceType: 'c8i.large',
    MinCount: 1,
    MaxCount: 3,
    KeyName: 'my key+1',
    CpuOptions: { CoreCount: 1, ThreadsPerCore: 2, NestedVirtualization: 'enabled', AmdSevSnp: 'disabled' },
    TagSpecifications: [
      {
        ResourceType: 'instance',
        Tags: [
          { Key: 'Name', Value: 'a b&c=d+e/f%g é 🚀' },
          { Key: 'empty', Value: '' },
          { Key: 'multi\nline', Value: 'x\r\ny' },
        ],
      },
      { ResourceType: 'volume', Tags: [{ Key: 'k', Value: 'v' }] },
    ],
    Placement: { AvailabilityZone: 'us-east-1b', Tenancy: 'default', GroupName: '' },
    HibernationOptions: { Configured: false },
    UserData: USER_DATA,
    Monitoring: { Enabled: true },
    DisableApiTermination: false,
    DryRun: false,
    SecurityGroupIds: ['sg-0123456789abcdef0', 'sg-0123456789abcdef1'],
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 8, VolumeType: 'gp3', DeleteOnTermination: true } }],
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
  };
  const { input: parsed, flat } = await roundTripRequest('RunInstances', new RunInstancesCommand(input));
  // The SDK fills the idempotency token itself.
  const token = flat.get('ClientToken');
  assert.match(token ?? '', UUID);
  assert.deepEqual(parsed, { ...input, ClientToken: token });
  // the wire keys the spec documents
  assert.equal(flat.get('CpuOptions.NestedVirtualization'), 'enabled');
  assert.equal(flat.get('TagSpecification.1.ResourceType'), 'instance');
  assert.equal(flat.get('TagSpecification.1.Tag.1.Key'), 'Name');
  assert.equal(flat.get('TagSpecification.2.Tag.1.Value'), 'v');
  assert.equal(flat.get('Placement.AvailabilityZone'), 'us-east-1b');
  assert.equal(flat.get('HibernationOptions.Configured'), 'false');
  assert.equal(flat.get('SecurityGroupId.2'), 'sg-0123456789abcdef1');
  assert.equal(flat.get('BlockDeviceMapping.1.Ebs.VolumeSize'), '8');

  // A token given by the caller is kept as is.
  const mine = await roundTripRequest('RunInstances', new RunInstancesCommand({ ...input, ClientToken: 'my-token' }));
  assert.deepEqual(mine.input, { ...input, ClientToken: 'my-token' });
});

test('DescribeInstances: Filters (with wildcards and escapes) and InstanceIds', async () => {
  const input: DescribeInstancesRequest = {
    InstanceIds: ['i-1234567890abcdef0', 'i-0fedcba9876543210'],
    Filters: [
      { Name: 'tag:Name', Values: ['web-*', 'db?', 'literal\\*star', 'a,b c'] },
      { Name: 'instance-state-name', Values: ['running'] },
    ],
    DryRun: true,
  };
  const { input: parsed, flat } = await roundTripRequest('DescribeInstances', new DescribeInstancesCommand(input));
  assert.deepEqual(parsed, input);
  assert.equal(flat.get('InstanceId.2'), 'i-0fedcba9876543210');
  assert.equal(flat.get('Filter.1.Name'), 'tag:Name');
  assert.equal(flat.get('Filter.1.Value.3'), 'literal\\*star');
  assert.equal(flat.get('Filter.2.Value.1'), 'running');

  // paging parameters, and empty lists, which the SDK leaves out (absent = empty)
  const paged: DescribeInstancesRequest = { MaxResults: 5, NextToken: 'tok/en+==', Filters: [], InstanceIds: [] };
  const p = await roundTripRequest('DescribeInstances', new DescribeInstancesCommand(paged));
  assert.deepEqual(p.input, { MaxResults: 5, NextToken: 'tok/en+==' });
});

test('ModifyInstanceCpuOptions: NestedVirtualization with core and thread counts', async () => {
  for (const nv of ['enabled', 'disabled'] as const) {
    const input: ModifyInstanceCpuOptionsRequest = {
      InstanceId: 'i-1234567890abcdef0',
      CoreCount: 2,
      ThreadsPerCore: 1,
      NestedVirtualization: nv,
      DryRun: false,
    };
    const { input: parsed, flat } = await roundTripRequest('ModifyInstanceCpuOptions', new ModifyInstanceCpuOptionsCommand(input));
    assert.deepEqual(parsed, input);
    assert.equal(flat.get('NestedVirtualization'), nv);
  }
  const only: ModifyInstanceCpuOptionsRequest = { InstanceId: 'i-1234567890abcdef0', NestedVirtualization: 'enabled' };
  assert.deepEqual((await roundTripRequest('ModifyInstanceCpuOptions', new ModifyInstanceCpuOptionsCommand(only))).input, only);
});

test('DescribeInstanceTypes: instance types and filters', async () => {
  const input: DescribeInstanceTypesRequest = {
    InstanceTypes: ['c8i.large', 'm8i-flex.xlarge'],
    Filters: [
      { Name: 'processor-info.supported-features', Values: ['nested-virtualization'] },
      { Name: 'instance-type', Values: ['c8i.*', 'r8i-flex.*'] },
      { Name: 'bare-metal', Values: ['false'] },
    ],
    MaxResults: 100,
    NextToken: 'abc',
  };
  const { input: parsed, flat } = await roundTripRequest('DescribeInstanceTypes', new DescribeInstanceTypesCommand(input));
  assert.deepEqual(parsed, input);
  assert.equal(flat.get('InstanceType.2'), 'm8i-flex.xlarge');
  assert.equal(flat.get('Filter.1.Value.1'), 'nested-virtualization');
});

test('CreateTags: resources and tags', async () => {
  const input: CreateTagsRequest = {
    Resources: ['i-1234567890abcdef0', 'i-0fedcba9876543210'],
    Tags: [
      { Key: 'Name', Value: `a&b<c>d"e'f` },
      { Key: 'owner', Value: '' },
    ],
  };
  const { input: parsed, flat } = await roundTripRequest('CreateTags', new CreateTagsCommand(input));
  assert.deepEqual(parsed, input);
  assert.equal(flat.get('ResourceId.1'), 'i-1234567890abcdef0');
  assert.equal(flat.get('Tag.1.Key'), 'Name');
});

test('CreateLaunchTemplate: LaunchTemplateData.CpuOptions nested two levels deep', async () => {
  const input: CreateLaunchTemplateRequest = {
    LaunchTemplateName: 'nested',
    VersionDescription: 'v1',
    LaunchTemplateData: {
      ImageId: 'ami-0b5e4a1f2c3d40001',
      InstanceType: 'c8i.large',
      CpuOptions: { CoreCount: 1, ThreadsPerCore: 2, NestedVirtualization: 'enabled' },
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'k', Value: 'v' }] }],
      NetworkInterfaces: [{ DeviceIndex: 0, Groups: ['sg-0123456789abcdef0'] }],
    },
  };
  const { input: parsed, flat } = await roundTripRequest('CreateLaunchTemplate', new CreateLaunchTemplateCommand(input));
  assert.deepEqual(parsed, { ...input, ClientToken: flat.get('ClientToken') });
  assert.equal(flat.get('LaunchTemplateData.CpuOptions.NestedVirtualization'), 'enabled');
  assert.equal(flat.get('LaunchTemplateData.NetworkInterface.1.SecurityGroupId.1'), 'sg-0123456789abcdef0');
});

// --- responses ------------------------------------------------------------------------------------------

const LAUNCH = new Date('2026-02-16T10:00:00.000Z');

function fullInstance(id = 'i-1234567890abcdef0'): Instance {
  return {
    InstanceId: id,
    ImageId: 'ami-0b5e4a1f2c3d40001',
    State: { Code: 16, Name: 'running' },
    PrivateDnsName: 'ip-10-0-0-5.ec2.internal',
    PublicDnsName: '',
    StateTransitionReason: 'User initiated (2026-02-16 10:00:00 GMT)',
    KeyName: 'my key',
    AmiLaunchIndex: 0,
    ProductCodes: [],
    InstanceType: 'c8i.large',
    LaunchTime: LAUNCH,
    Placement: { AvailabilityZone: 'us-east-1a', GroupName: '', Tenancy: 'default' },
    Monitoring: { State: 'disabled' },
    SubnetId: 'subnet-0123456789abcdef0',
    VpcId: 'vpc-0123456789abcdef0',
    PrivateIpAddress: '10.0.0.5',
    Architecture: 'x86_64',
    RootDeviceType: 'ebs',
    RootDeviceName: '/dev/xvda',
    BlockDeviceMappings: [
      {
        DeviceName: '/dev/xvda',
        Ebs: { AttachTime: LAUNCH, DeleteOnTermination: true, Status: 'attached', VolumeId: 'vol-0123456789abcdef0' },
      },
    ],
    VirtualizationType: 'hvm',
    ClientToken: 'token-1',
    Tags: [
      { Key: 'Name', Value: `web & "db" <1> 'x'\r\n` },
      { Key: 'empty', Value: '' },
    ],
    SecurityGroups: [{ GroupId: 'sg-0123456789abcdef0', GroupName: 'default' }],
    SourceDestCheck: true,
    Hypervisor: 'xen',
    NetworkInterfaces: [
      {
        NetworkInterfaceId: 'eni-0123456789abcdef0',
        Groups: [{ GroupId: 'sg-0123456789abcdef0', GroupName: 'default' }],
        PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: '10.0.0.5' }],
        Ipv6Addresses: [],
        Attachment: { AttachTime: LAUNCH, DeviceIndex: 0, Status: 'attached', DeleteOnTermination: true },
      },
    ],
    EbsOptimized: false,
    EnaSupport: true,
    StateReason: { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' },
    CpuOptions: { CoreCount: 1, ThreadsPerCore: 2, NestedVirtualization: 'enabled', AmdSevSnp: 'disabled' },
    HibernationOptions: { Configured: false },
    MetadataOptions: { State: 'applied', HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
    EnclaveOptions: { Enabled: false },
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    UsageOperationUpdateTime: LAUNCH,
    BootMode: 'uefi-preferred',
    CurrentInstanceBootMode: 'uefi',
    PrivateDnsNameOptions: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    MaintenanceOptions: { AutoRecovery: 'default' },
  };
}

test('RunInstances response: a Reservation with a fully populated Instance reads back deep-equal', async () => {
  const reservation: Reservation = {
    ReservationId: 'r-0123456789abcdef0',
    OwnerId: '000000000000',
    Groups: [],
    Instances: [fullInstance(), fullInstance('i-0fedcba9876543210')],
  };
  const out = await roundTripResponse('RunInstances', new RunInstancesCommand({ ImageId: 'ami-x', MinCount: 1, MaxCount: 1 }), reservation);
  assert.deepEqual(out, reservation);
});

test('DescribeInstances response: reservations and NextToken read back deep-equal', async () => {
  const result: DescribeInstancesResult = {
    Reservations: [
      { ReservationId: 'r-0123456789abcdef0', OwnerId: '000000000000', Groups: [], Instances: [fullInstance()] },
      { ReservationId: 'r-0123456789abcdef1', OwnerId: '000000000000', Groups: [{ GroupId: 'sg-1', GroupName: 'g' }], Instances: [] },
    ],
    NextToken: 'MTAwLmFiY2RlZmdoaWo',
  };
  assert.deepEqual(await roundTripResponse('DescribeInstances', new DescribeInstancesCommand({}), result), result);
  // an empty result: an empty reservationSet reads as [], no NextToken
  assert.deepEqual(await roundTripResponse('DescribeInstances', new DescribeInstancesCommand({}), { Reservations: [] }), {
    Reservations: [],
  });
});

test('DescribeInstanceTypes response: ProcessorInfo.SupportedFeatures and a `member`-itemed list read back deep-equal', async () => {
  const result: DescribeInstanceTypesResult = {
    InstanceTypes: [
      {
        InstanceType: 'c8i.large',
        CurrentGeneration: true,
        FreeTierEligible: false,
        SupportedUsageClasses: ['on-demand', 'spot'],
        SupportedRootDeviceTypes: ['ebs'],
        SupportedVirtualizationTypes: ['hvm'],
        BareMetal: false,
        Hypervisor: 'nitro',
        ProcessorInfo: {
          SupportedArchitectures: ['x86_64'],
          SustainedClockSpeedInGhz: 3.9,
          SupportedFeatures: ['nested-virtualization', 'amd-sev-snp'],
          Manufacturer: 'Intel',
        },
        VCpuInfo: { DefaultVCpus: 2, DefaultCores: 1, DefaultThreadsPerCore: 2, ValidCores: [1], ValidThreadsPerCore: [1, 2] },
        MemoryInfo: { SizeInMiB: 4096 },
        InstanceStorageSupported: false,
        EbsInfo: { EbsOptimizedSupport: 'default', EncryptionSupport: 'supported', NvmeSupport: 'required' },
        NetworkInfo: {
          NetworkPerformance: 'Up to 12.5 Gigabit',
          MaximumNetworkInterfaces: 3,
          MaximumNetworkCards: 1,
          DefaultNetworkCardIndex: 0,
          NetworkCards: [{ NetworkCardIndex: 0, NetworkPerformance: 'Up to 12.5 Gigabit', MaximumNetworkInterfaces: 3 }],
          Ipv4AddressesPerInterface: 10,
          Ipv6AddressesPerInterface: 10,
          Ipv6Supported: true,
          EnaSupport: 'required',
          EfaSupported: false,
          EncryptionInTransitSupported: true,
        },
        // The one list in this shape whose items are <member>, not <item>.
        InferenceAcceleratorInfo: { Accelerators: [{ Count: 1, Name: 'Inferentia', Manufacturer: 'AWS' }] },
        PlacementGroupInfo: { SupportedStrategies: ['cluster', 'partition', 'spread'] },
        HibernationSupported: true,
        BurstablePerformanceSupported: false,
        DedicatedHostsSupported: true,
        AutoRecoverySupported: true,
        SupportedBootModes: ['legacy-bios', 'uefi'],
      },
    ],
    NextToken: 'next',
  };
  const out = await roundTripResponse('DescribeInstanceTypes', new DescribeInstanceTypesCommand({}), result);
  assert.deepEqual(out, result);
});

test('ModifyInstanceCpuOptions response reads back deep-equal', async () => {
  const result: ModifyInstanceCpuOptionsResult = {
    InstanceId: 'i-1234567890abcdef0',
    CoreCount: 1,
    ThreadsPerCore: 2,
    NestedVirtualization: 'enabled',
  };
  const out = await roundTripResponse(
    'ModifyInstanceCpuOptions',
    new ModifyInstanceCpuOptionsCommand({ InstanceId: 'i-1234567890abcdef0', NestedVirtualization: 'enabled' }),
    result,
  );
  assert.deepEqual(out, result);
});

test('an output without members (CreateTags) is <return>true</return> and reads as {}', async () => {
  const schema = operationSchema('CreateTags');
  assert.ok(schema);
  assert.match(successDocument('CreateTags', REQUEST_ID, schema.output, {}), /<requestId>[^<]+<\/requestId><return>true<\/return><\/CreateTagsResponse>$/);
  assert.deepEqual(await roundTripResponse('CreateTags', new CreateTagsCommand({ Resources: ['i-1'], Tags: [] }), {}), {});
});

test('GetConsoleOutput response: timestamp and base64 output read back deep-equal', async () => {
  const result: GetConsoleOutputResult = {
    InstanceId: 'i-1234567890abcdef0',
    Timestamp: new Date('2026-02-16T10:00:01.250Z'),
    Output: Buffer.from('[    0.000000] Linux version 6.1\r\nkvm_intel: nested=1\n').toString('base64'),
  };
  const out = await roundTripResponse('GetConsoleOutput', new GetConsoleOutputCommand({ InstanceId: 'i-1234567890abcdef0' }), result);
  assert.deepEqual(out, result);
});

test('launch template network interface Groups are written as <groupId> items, as the SDK reads them', async () => {
  const result: CreateLaunchTemplateVersionResult = {
    LaunchTemplateVersion: {
      LaunchTemplateId: 'lt-0123456789abcdef0',
      LaunchTemplateName: 'nested',
      VersionNumber: 2,
      CreateTime: LAUNCH,
      DefaultVersion: false,
      LaunchTemplateData: {
        CpuOptions: { CoreCount: 1, ThreadsPerCore: 2, NestedVirtualization: 'enabled' },
        NetworkInterfaces: [{ DeviceIndex: 0, Groups: ['sg-0123456789abcdef0', 'sg-0123456789abcdef1'] }],
      },
    },
  };
  const out = await roundTripResponse(
    'CreateLaunchTemplateVersion',
    new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: 'lt-0123456789abcdef0', LaunchTemplateData: {} }),
    result,
  );
  assert.deepEqual(out, result);
  const schema = operationSchema('CreateLaunchTemplateVersion');
  assert.ok(schema);
  assert.match(successDocument('CreateLaunchTemplateVersion', REQUEST_ID, schema.output, result), /<groupSet><groupId>sg-0123456789abcdef0<\/groupId>/);
});

test('DescribeInstances XML for 1,000 instances: written, read back by the SDK, write time logged', async (t) => {
  const schema = operationSchema('DescribeInstances');
  assert.ok(schema);
  const hex = (n: number) => n.toString(16).padStart(17, '0');
  const result: DescribeInstancesResult = {
    Reservations: Array.from({ length: 1000 }, (_, i) => ({
      ReservationId: `r-${hex(i)}`,
      OwnerId: '000000000000',
      Groups: [],
      Instances: [fullInstance(`i-${hex(i)}`)],
    })),
  };
  successDocument('DescribeInstances', REQUEST_ID, schema.output, result); // warm-up: compiles the writers
  const runs: number[] = [];
  let xml = '';
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    xml = successDocument('DescribeInstances', REQUEST_ID, schema.output, result);
    runs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  runs.sort((a, b) => a - b);
  t.diagnostic(
    `DescribeInstances XML, 1,000 instances, ${(Buffer.byteLength(xml) / 1e6).toFixed(2)} MB: ` +
      `warm write median ${runs[2]!.toFixed(1)} ms (min ${runs[0]!.toFixed(1)}, max ${runs[4]!.toFixed(1)})`,
  );
  const out = await roundTripResponse('DescribeInstances', new DescribeInstancesCommand({}), result);
  assert.deepEqual(out, result);
});
