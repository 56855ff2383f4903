/**
 * Every resource belongs to one account. Account A makes one of everything (instance, its root volume,
 * launch template, fleet, Dedicated Host, key pair, tags); then account B calls EVERY operation nestbox
 * implements (src/api/operations.ts — the test fails when one has no case here) with A's resources as
 * IDs, names, filters and references (a launch template, key, host or fleet named inside another
 * request). B must get the NotFound error (or an unsuccessful item), see nothing of A's in any answer,
 * and afterwards A's resources must be exactly as they were.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as sdk from '@aws-sdk/client-ec2';
import { OPERATIONS } from '../src/api/operations.js';
import { accountsConfig } from '../src/config.js';
import { LINUX_AMI, type TestServer, describeOne, eventually, startTestServer } from './helpers.js';

const A = { accessKeyId: 'AKIDACCOUNTA', secretAccessKey: 'secret-a' };
const B = { accessKeyId: 'AKIDACCOUNTB', secretAccessKey: 'secret-b' };
const REGION = 'us-east-1';
const ZONE = 'us-east-1a';

let server: TestServer;
let dir: string;
let a: sdk.EC2Client;
let b: sdk.EC2Client;

/** A's resources. */
const r = {
  instance: '',
  volume: '',
  dataVolume: '',
  snapshot: '',
  image: '',
  imageName: 'a-only-image',
  template: '',
  templateName: 'a-only-template',
  sharedName: 'same-name-in-both',
  fleet: '',
  host: '',
  hostToken: 'a-host-token',
  keyName: 'a-only-key',
  keyId: '',
  keyFingerprint: '',
  sharedKeyId: '',
  vpc: '',
  subnet: '',
  sg: '',
  sgName: 'a-only-group',
  sgRule: '',
  igw: '',
  rtb: '',
  assoc: '',
  eip: '',
  eipIp: '',
  eipAssoc: '',
  eni: '',
  instanceEni: '',
};
/** B's own Elastic IP, to name A's instance with. */
let bEip = '';
let httpTokens: string | undefined;
let fleetInstance = '';
/** Every ID and name of A's that B must never see. */
let secrets: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nestbox-xacct-'));
  const file = join(dir, 'accounts.json');
  writeFileSync(
    file,
    JSON.stringify({
      accounts: [
        { id: '111111111111', keys: [{ ...A, permission: 'full' }] },
        { id: '222222222222', keys: [{ ...B, permission: 'full' }] },
      ],
    }),
  );
  server = await startTestServer({ ...accountsConfig(file), driver: 'simulated' });
  a = server.client(REGION, A);
  b = server.client(REGION, B);

  const key = await a.send(new sdk.CreateKeyPairCommand({ KeyName: r.keyName }));
  r.keyId = key.KeyPairId!;
  r.keyFingerprint = key.KeyFingerprint!;
  r.sharedKeyId = (await a.send(new sdk.CreateKeyPairCommand({ KeyName: 'shared-key' }))).KeyPairId!;
  const lt = await a.send(
    new sdk.CreateLaunchTemplateCommand({
      LaunchTemplateName: r.templateName,
      LaunchTemplateData: { ImageId: LINUX_AMI, InstanceType: 't3.micro', KeyName: r.keyName },
      TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'owner', Value: 'a' }] }],
    }),
  );
  r.template = lt.LaunchTemplate!.LaunchTemplateId!;
  await a.send(new sdk.CreateLaunchTemplateCommand({ LaunchTemplateName: r.sharedName, LaunchTemplateData: { InstanceType: 't3.micro' } }));
  const run = await a.send(
    new sdk.RunInstancesCommand({
      MinCount: 1,
      MaxCount: 1,
      LaunchTemplate: { LaunchTemplateId: r.template },
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'owner', Value: 'a' }] }],
    }),
  );
  r.instance = run.Instances![0]!.InstanceId!;
  await eventually(async () => ((await describeOne(a, r.instance)).State?.Name === 'running' ? true : undefined));
  const described = await describeOne(a, r.instance);
  r.volume = described.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
  httpTokens = described.MetadataOptions?.HttpTokens;
  const fleet = await a.send(
    new sdk.CreateFleetCommand({
      Type: 'instant',
      LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: r.template, Version: '1' } }],
      TargetCapacitySpecification: { TotalTargetCapacity: 1, DefaultTargetCapacityType: 'on-demand' },
    }),
  );
  r.fleet = fleet.FleetId!;
  fleetInstance = fleet.Instances?.[0]?.InstanceIds?.[0] ?? '';
  const hosts = await a.send(
    new sdk.AllocateHostsCommand({ AvailabilityZone: ZONE, InstanceFamily: 'm8i', ClientToken: r.hostToken, Quantity: 1 }),
  );
  r.host = hosts.HostIds![0]!;
  // A's network: a VPC with a subnet, a group with a rule, a gateway, a route table with a route and an association.
  r.vpc = (await a.send(new sdk.CreateVpcCommand({ CidrBlock: '10.77.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'owner', Value: 'a' }] }] }))).Vpc!.VpcId!;
  r.subnet = (await a.send(new sdk.CreateSubnetCommand({ VpcId: r.vpc, CidrBlock: '10.77.0.0/24' }))).Subnet!.SubnetId!;
  r.sg = (await a.send(new sdk.CreateSecurityGroupCommand({ VpcId: r.vpc, GroupName: r.sgName, Description: 'a' }))).GroupId!;
  const rule = await a.send(
    new sdk.AuthorizeSecurityGroupIngressCommand({ GroupId: r.sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] }),
  );
  r.sgRule = rule.SecurityGroupRules![0]!.SecurityGroupRuleId!;
  r.igw = (await a.send(new sdk.CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await a.send(new sdk.AttachInternetGatewayCommand({ InternetGatewayId: r.igw, VpcId: r.vpc }));
  r.rtb = (await a.send(new sdk.CreateRouteTableCommand({ VpcId: r.vpc }))).RouteTable!.RouteTableId!;
  await a.send(new sdk.CreateRouteCommand({ RouteTableId: r.rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: r.igw }));
  r.assoc = (await a.send(new sdk.AssociateRouteTableCommand({ RouteTableId: r.rtb, SubnetId: r.subnet }))).AssociationId!;
  // A's data volume (attached to A's instance) and a snapshot of it.
  r.dataVolume = (await a.send(new sdk.CreateVolumeCommand({ AvailabilityZone: described.Placement!.AvailabilityZone!, Size: 2, TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'owner', Value: 'a' }] }] }))).VolumeId!;
  await a.send(new sdk.AttachVolumeCommand({ VolumeId: r.dataVolume, InstanceId: r.instance, Device: '/dev/sdf' }));
  r.snapshot = (await a.send(new sdk.CreateSnapshotCommand({ VolumeId: r.dataVolume, TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'owner', Value: 'a' }] }] }))).SnapshotId!;
  // A's image of its instance (private).
  r.image = (
    await a.send(
      new sdk.CreateImageCommand({ InstanceId: r.instance, Name: r.imageName, NoReboot: true, TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'owner', Value: 'a' }] }] }),
    )
  ).ImageId!;
  // A's Elastic IP, associated with its instance.
  const eip = await a.send(new sdk.AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'owner', Value: 'a' }] }] }));
  r.eip = eip.AllocationId!;
  r.eipIp = eip.PublicIp!;
  r.eipAssoc = (await a.send(new sdk.AssociateAddressCommand({ AllocationId: r.eip, InstanceId: r.instance }))).AssociationId!;
  bEip = (await b.send(new sdk.AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!;
  // A's network interface of its own, and its instance's primary one.
  r.eni = (await a.send(new sdk.CreateNetworkInterfaceCommand({ SubnetId: r.subnet, TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'owner', Value: 'a' }] }] }))).NetworkInterface!.NetworkInterfaceId!;
  r.instanceEni = described.NetworkInterfaces![0]!.NetworkInterfaceId!;
  secrets = [
    fleetInstance, r.instance, r.volume, r.dataVolume, r.snapshot, r.image, r.imageName, r.template, r.templateName, r.fleet, r.host, r.keyName, r.keyId, r.keyFingerprint, r.sharedKeyId,
    r.vpc, r.subnet, r.sg, r.sgName, r.sgRule, r.igw, r.rtb, r.assoc, r.eip, r.eipIp, r.eipAssoc, r.eni, r.instanceEni,
  ];
  for (const s of secrets) assert.ok(s, 'every resource of A was made');
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

type Expect = 'notFound' | 'ok';
interface Case {
  readonly input: Record<string, unknown>;
  /** notFound: an error whose code ends in .NotFound (or .NotFoundException, as EC2 names a launch template's); ok: an answer (unsuccessful items, empty lists, B's own new resources) */
  readonly expect: Expect;
}

const tags = [{ Key: 'owner', Value: 'b' }];
const run = { ImageId: LINUX_AMI, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 };

/** For every operation: what B sends, naming A's resources (built when the IDs exist). */
function cases(): Record<string, Case[]> {
  const nf = (input: Record<string, unknown>): Case => ({ input, expect: 'notFound' });
  const ok = (input: Record<string, unknown>): Case => ({ input, expect: 'ok' });
  const byInstance = [nf({ InstanceIds: [r.instance] })];
  const instanceFilter = ok({ Filters: [{ Name: 'instance-id', Values: [r.instance] }] });
  return {
    RunInstances: [
      nf({ MinCount: 1, MaxCount: 1, LaunchTemplate: { LaunchTemplateId: r.template } }),
      nf({ MinCount: 1, MaxCount: 1, LaunchTemplate: { LaunchTemplateName: r.templateName } }),
      nf({ ...run, KeyName: r.keyName }),
      nf({ ...run, InstanceType: 'm8i.large', Placement: { HostId: r.host, Tenancy: 'host' } }),
      nf({ ...run, ImageId: r.image }),
      nf({ ...run, BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { SnapshotId: r.snapshot } }] }),
    ],
    DescribeInstances: [...byInstance, ok({}), instanceFilter, ok({ Filters: [{ Name: 'tag:owner', Values: ['a'] }] })],
    DescribeInstanceStatus: [...byInstance, ok({ IncludeAllInstances: true }), ok({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] })],
    StartInstances: byInstance,
    StopInstances: byInstance,
    RebootInstances: byInstance,
    TerminateInstances: byInstance,
    ModifyInstanceCpuOptions: [nf({ InstanceId: r.instance, CoreCount: 1, ThreadsPerCore: 1 })],
    DescribeInstanceAttribute: [nf({ InstanceId: r.instance, Attribute: 'instanceType' })],
    ModifyInstanceAttribute: [nf({ InstanceId: r.instance, DisableApiTermination: { Value: true } })],
    ModifyInstanceMetadataOptions: [nf({ InstanceId: r.instance, HttpTokens: httpTokens === 'required' ? 'optional' : 'required' })],
    MonitorInstances: byInstance,
    UnmonitorInstances: byInstance,
    GetConsoleOutput: [nf({ InstanceId: r.instance })],
    CreateTags: [r.instance, r.volume, r.dataVolume, r.snapshot, r.image, r.template, r.fleet, r.host, r.keyId, r.eip, r.eni, r.instanceEni].map((id) => nf({ Resources: [id], Tags: tags })),
    DeleteTags: [r.instance, r.volume, r.dataVolume, r.snapshot, r.image, r.template, r.fleet, r.host, r.keyId, r.eip, r.eni, r.instanceEni].map((id) => nf({ Resources: [id], Tags: [{ Key: 'owner' }] })),
    DescribeTags: [ok({}), ok({ Filters: [{ Name: 'resource-id', Values: [r.instance, r.template, r.host, r.volume, r.dataVolume, r.snapshot, r.image] }] })],
    DescribeInstanceTypes: [ok({ InstanceTypes: ['t3.micro'] })],
    DescribeImages: [
      ok({ ImageIds: [LINUX_AMI] }),
      nf({ ImageIds: [r.image] }),
      ok({}),
      ok({ Owners: ['111111111111'] }),
      ok({ ExecutableUsers: ['self'] }),
      ok({ Filters: [{ Name: 'name', Values: [r.imageName] }] }),
    ],
    // A's instance, snapshot and image are not B's to image, register, copy or change
    CreateImage: [nf({ InstanceId: r.instance, Name: 'b-image' })],
    RegisterImage: [nf({ Name: 'b-registered', RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: r.snapshot } }] })],
    DeregisterImage: [nf({ ImageId: r.image })],
    CopyImage: [nf({ SourceRegion: REGION, SourceImageId: r.image, Name: 'b-copy' })],
    DescribeImageAttribute: [nf({ ImageId: r.image, Attribute: 'launchPermission' }), nf({ ImageId: r.image, Attribute: 'description' })],
    ModifyImageAttribute: [
      nf({ ImageId: r.image, LaunchPermission: { Add: [{ UserId: '222222222222' }] } }),
      nf({ ImageId: r.image, Attribute: 'launchPermission', OperationType: 'add', UserGroups: ['all'] }),
    ],
    ResetImageAttribute: [nf({ ImageId: r.image, Attribute: 'launchPermission' })],
    CreateLaunchTemplate: [
      // names are per account: B's template of the same name is B's own, and A's key is still not B's
      ok({ LaunchTemplateName: r.sharedName, LaunchTemplateData: { InstanceType: 't3.micro', KeyName: r.keyName } }),
    ],
    CreateLaunchTemplateVersion: [
      nf({ LaunchTemplateId: r.template, LaunchTemplateData: { InstanceType: 't3.nano' } }),
      nf({ LaunchTemplateName: r.templateName, LaunchTemplateData: { InstanceType: 't3.nano' } }),
    ],
    DescribeLaunchTemplates: [
      nf({ LaunchTemplateIds: [r.template] }),
      nf({ LaunchTemplateNames: [r.templateName] }),
      ok({}),
      ok({ Filters: [{ Name: 'tag:owner', Values: ['a'] }] }),
    ],
    DescribeLaunchTemplateVersions: [nf({ LaunchTemplateId: r.template }), nf({ LaunchTemplateName: r.templateName })],
    ModifyLaunchTemplate: [nf({ LaunchTemplateId: r.template, DefaultVersion: '1' })],
    DeleteLaunchTemplate: [nf({ LaunchTemplateId: r.template }), nf({ LaunchTemplateName: r.templateName })],
    DeleteLaunchTemplateVersions: [nf({ LaunchTemplateId: r.template, Versions: ['1'] })],
    GetLaunchTemplateData: [nf({ InstanceId: r.instance })],
    CreateKeyPair: [ok({ KeyName: 'shared-key' })],
    ImportKeyPair: [
      ok({
        KeyName: 'shared-imported',
        PublicKeyMaterial: new TextEncoder().encode(
          'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl b@example',
        ),
      }),
    ],
    DescribeKeyPairs: [nf({ KeyNames: [r.keyName] }), nf({ KeyPairIds: [r.keyId] }), ok({}), ok({ Filters: [{ Name: 'key-name', Values: [r.keyName] }] })],
    DeleteKeyPair: [ok({ KeyPairId: r.keyId }), ok({ KeyName: r.keyName })],
    DescribeRegions: [ok({})],
    DescribeAvailabilityZones: [ok({})],
    DescribeInstanceTypeOfferings: [ok({})],
    DescribeAccountAttributes: [ok({})],
    DescribeInstanceCreditSpecifications: byInstance,
    ModifyInstanceCreditSpecification: [ok({ InstanceCreditSpecifications: [{ InstanceId: r.instance, CpuCredits: 'standard' }] })],
    DescribeVolumes: [
      nf({ VolumeIds: [r.volume] }),
      nf({ VolumeIds: [r.dataVolume] }),
      ok({}),
      ok({ Filters: [{ Name: 'attachment.instance-id', Values: [r.instance] }] }),
      ok({ Filters: [{ Name: 'tag:owner', Values: ['a'] }] }),
    ],
    DeleteVolume: [nf({ VolumeId: r.volume }), nf({ VolumeId: r.dataVolume })],
    // A's snapshot is not B's to restore; B's own volume is B's
    CreateVolume: [nf({ AvailabilityZone: ZONE, SnapshotId: r.snapshot }), ok({ AvailabilityZone: ZONE, Size: 1 })],
    AttachVolume: [nf({ VolumeId: r.dataVolume, InstanceId: r.instance, Device: '/dev/sdg' })],
    DetachVolume: [nf({ VolumeId: r.dataVolume }), nf({ VolumeId: r.volume })],
    ModifyVolume: [nf({ VolumeId: r.dataVolume, Size: 5 })],
    DescribeVolumesModifications: [nf({ VolumeIds: [r.dataVolume] }), ok({})],
    DescribeVolumeStatus: [nf({ VolumeIds: [r.dataVolume] }), nf({ VolumeIds: [r.volume] }), ok({})],
    CreateSnapshot: [nf({ VolumeId: r.dataVolume }), nf({ VolumeId: r.volume })],
    DescribeSnapshots: [
      nf({ SnapshotIds: [r.snapshot] }),
      ok({}),
      ok({ OwnerIds: ['111111111111'] }),
      ok({ RestorableByUserIds: ['222222222222'] }),
      ok({ Filters: [{ Name: 'volume-id', Values: [r.dataVolume] }] }),
    ],
    DeleteSnapshot: [nf({ SnapshotId: r.snapshot })],
    CopySnapshot: [nf({ SourceRegion: REGION, SourceSnapshotId: r.snapshot })],
    DescribeVpcs: [nf({ VpcIds: [r.vpc] }), ok({}), ok({ Filters: [{ Name: 'tag:owner', Values: ['a'] }] })],
    CreateVpc: [ok({ CidrBlock: '10.77.0.0/16' })],
    DeleteVpc: [nf({ VpcId: r.vpc })],
    ModifyVpcAttribute: [nf({ VpcId: r.vpc, EnableDnsHostnames: { Value: true } })],
    DescribeVpcAttribute: [nf({ VpcId: r.vpc, Attribute: 'enableDnsSupport' })],
    DescribeSubnets: [nf({ SubnetIds: [r.subnet] }), ok({}), ok({ Filters: [{ Name: 'vpc-id', Values: [r.vpc] }] })],
    CreateSubnet: [nf({ VpcId: r.vpc, CidrBlock: '10.77.1.0/24' })],
    DeleteSubnet: [nf({ SubnetId: r.subnet })],
    ModifySubnetAttribute: [nf({ SubnetId: r.subnet, MapPublicIpOnLaunch: { Value: true } })],
    DescribeInternetGateways: [nf({ InternetGatewayIds: [r.igw] }), ok({}), ok({ Filters: [{ Name: 'attachment.vpc-id', Values: [r.vpc] }] })],
    CreateInternetGateway: [ok({})],
    DeleteInternetGateway: [nf({ InternetGatewayId: r.igw })],
    AttachInternetGateway: [nf({ InternetGatewayId: r.igw, VpcId: r.vpc })],
    DetachInternetGateway: [nf({ InternetGatewayId: r.igw, VpcId: r.vpc })],
    DescribeRouteTables: [nf({ RouteTableIds: [r.rtb] }), ok({}), ok({ Filters: [{ Name: 'association.subnet-id', Values: [r.subnet] }] })],
    CreateRouteTable: [nf({ VpcId: r.vpc })],
    DeleteRouteTable: [nf({ RouteTableId: r.rtb })],
    CreateRoute: [nf({ RouteTableId: r.rtb, DestinationCidrBlock: '10.1.0.0/16', GatewayId: r.igw })],
    ReplaceRoute: [nf({ RouteTableId: r.rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: r.igw })],
    DeleteRoute: [nf({ RouteTableId: r.rtb, DestinationCidrBlock: '0.0.0.0/0' })],
    AssociateRouteTable: [nf({ RouteTableId: r.rtb, SubnetId: r.subnet })],
    DisassociateRouteTable: [nf({ AssociationId: r.assoc })],
    DescribeNetworkAcls: [ok({}), ok({ Filters: [{ Name: 'vpc-id', Values: [r.vpc] }] })],
    DescribeSecurityGroups: [nf({ GroupIds: [r.sg] }), ok({}), ok({ Filters: [{ Name: 'group-name', Values: [r.sgName] }] })],
    // B's group of the same name is B's own.
    CreateSecurityGroup: [ok({ GroupName: r.sgName, Description: 'b' })],
    DeleteSecurityGroup: [nf({ GroupId: r.sg })],
    AuthorizeSecurityGroupIngress: [nf({ GroupId: r.sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })],
    AuthorizeSecurityGroupEgress: [nf({ GroupId: r.sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })],
    RevokeSecurityGroupIngress: [nf({ GroupId: r.sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] })],
    RevokeSecurityGroupEgress: [nf({ GroupId: r.sg, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })],
    DescribeSecurityGroupRules: [nf({ SecurityGroupRuleIds: [r.sgRule] }), ok({}), ok({ Filters: [{ Name: 'group-id', Values: [r.sg] }] })],
    ModifySecurityGroupRules: [
      nf({ GroupId: r.sg, SecurityGroupRules: [{ SecurityGroupRuleId: r.sgRule, SecurityGroupRule: { IpProtocol: '-1', CidrIpv4: '0.0.0.0/0' } }] }),
    ],
    UpdateSecurityGroupRuleDescriptionsIngress: [nf({ GroupId: r.sg, SecurityGroupRuleDescriptions: [{ SecurityGroupRuleId: r.sgRule, Description: 'x' }] })],
    UpdateSecurityGroupRuleDescriptionsEgress: [nf({ GroupId: r.sg, SecurityGroupRuleDescriptions: [{ SecurityGroupRuleId: r.sgRule, Description: 'x' }] })],
    GetPasswordData: [nf({ InstanceId: r.instance })],
    // B's own allocation is B's; A's Elastic IP, association and instance are not found.
    AllocateAddress: [ok({ Domain: 'vpc' })],
    AssociateAddress: [
      nf({ AllocationId: r.eip, InstanceId: r.instance }),
      nf({ AllocationId: bEip, InstanceId: r.instance, AllowReassociation: true }),
      nf({ AllocationId: bEip, NetworkInterfaceId: `eni-${r.instance.slice(2)}` }),
    ],
    DisassociateAddress: [nf({ AssociationId: r.eipAssoc })],
    ReleaseAddress: [nf({ AllocationId: r.eip })],
    DescribeAddresses: [
      nf({ AllocationIds: [r.eip] }),
      nf({ PublicIps: [r.eipIp] }),
      ok({}),
      ok({ Filters: [{ Name: 'instance-id', Values: [r.instance] }] }),
      ok({ Filters: [{ Name: 'tag:owner', Values: ['a'] }] }),
    ],
    DescribeAddressesAttribute: [nf({ AllocationIds: [r.eip] }), ok({})],
    CreateNetworkInterface: [nf({ SubnetId: r.subnet })],
    DeleteNetworkInterface: [nf({ NetworkInterfaceId: r.eni }), nf({ NetworkInterfaceId: r.instanceEni })],
    DescribeNetworkInterfaces: [
      nf({ NetworkInterfaceIds: [r.eni] }),
      nf({ NetworkInterfaceIds: [r.instanceEni] }),
      ok({}),
      ok({ Filters: [{ Name: 'subnet-id', Values: [r.subnet] }] }),
      ok({ Filters: [{ Name: 'attachment.instance-id', Values: [r.instance] }] }),
    ],
    AttachNetworkInterface: [nf({ NetworkInterfaceId: r.eni, InstanceId: r.instance, DeviceIndex: 1 })],
    DetachNetworkInterface: [nf({ AttachmentId: `eni-attach-${r.instance.slice(2)}` })],
    ModifyNetworkInterfaceAttribute: [nf({ NetworkInterfaceId: r.eni, Description: { Value: 'b' } }), nf({ NetworkInterfaceId: r.instanceEni, SourceDestCheck: { Value: false } })],
    DescribeNetworkInterfaceAttribute: [nf({ NetworkInterfaceId: r.eni, Attribute: 'description' })],
    AssignPrivateIpAddresses: [nf({ NetworkInterfaceId: r.instanceEni, SecondaryPrivateIpAddressCount: 1 })],
    UnassignPrivateIpAddresses: [nf({ NetworkInterfaceId: r.eni, PrivateIpAddresses: ['10.77.0.4'] })],
    // A's ClientToken is A's: B's request with it allocates B's own host
    AllocateHosts: [ok({ AvailabilityZone: ZONE, InstanceFamily: 'm8i', ClientToken: r.hostToken, Quantity: 1 })],
    DescribeHosts: [nf({ HostIds: [r.host] }), ok({}), ok({ Filter: [{ Name: 'instance-type', Values: ['m8i.large'] }] })],
    ModifyHosts: [ok({ HostIds: [r.host], AutoPlacement: 'on' })],
    ReleaseHosts: [ok({ HostIds: [r.host] })],
    ModifyInstancePlacement: [nf({ InstanceId: r.instance, Tenancy: 'host' }), nf({ InstanceId: r.instance, HostId: r.host })],
    CreateFleet: [
      nf({
        Type: 'instant',
        LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: r.template, Version: '1' } }],
        TargetCapacitySpecification: { TotalTargetCapacity: 1, DefaultTargetCapacityType: 'on-demand' },
      }),
    ],
    DescribeFleets: [nf({ FleetIds: [r.fleet] }), ok({}), ok({ Filters: [{ Name: 'fleet-state', Values: ['active'] }] })],
    DeleteFleets: [ok({ FleetIds: [r.fleet], TerminateInstances: true })],
    DescribeFleetInstances: [nf({ FleetId: r.fleet })],
  };
}

/** A's IDs and names in an answer to B, other than those B itself sent (answers echo what was asked). */
function leaked(output: unknown, input: unknown): string[] {
  const sent = JSON.stringify(input);
  const text = JSON.stringify(output, (_k, v) => (v instanceof Uint8Array ? undefined : v));
  return secrets.filter((s) => !sent.includes(s) && appears(text, s));
}

/**
 * Whether `secret` appears in `text` as a whole value, not inside a longer one: A's address 127.79.148.1
 * is not leaked by B's own 127.79.148.10 (a substring match made this test fail at random, depending on
 * where the data directory's public address ring starts).
 */
function appears(text: string, secret: string): boolean {
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![0-9A-Za-z])${escaped}(?![0-9A-Za-z])`).test(text);
}

test('account B can never see, change, tag or delete account A’s resources, through any operation', async () => {
  const table = cases();
  assert.deepEqual(
    Object.keys(OPERATIONS).filter((op) => !table[op]),
    [],
    'every operation of src/api/operations.ts has cross-account cases here',
  );
  const problems: string[] = [];
  for (const action of Object.keys(OPERATIONS)) {
    for (const c of table[action]!) {
      const Command = (sdk as unknown as Record<string, new (input: unknown) => sdk.RunInstancesCommand>)[`${action}Command`];
      assert.ok(Command, `the SDK has ${action}Command`);
      const what = `${action} ${JSON.stringify(c.input, (_k, v) => (v instanceof Uint8Array ? '…' : v))}`;
      try {
        const out = await b.send(new Command(c.input));
        if (c.expect === 'notFound') problems.push(`${what}: succeeded, expected a NotFound error`);
        const seen = leaked(out, c.input);
        if (seen.length > 0) problems.push(`${what}: the answer shows A's ${seen.join(', ')}`);
        // Unsuccessful items only: nothing of A's was done.
        const o = out as unknown as Record<string, unknown>;
        for (const key of ['Successful', 'SuccessfulFleetDeletions', 'SuccessfulInstanceCreditSpecifications', 'Instances']) {
          const list = o[key] as unknown[] | undefined;
          if (action !== 'DescribeFleets' && Array.isArray(list) && JSON.stringify(list).match(/i-|h-|fleet-/) && key !== 'Instances') {
            problems.push(`${what}: ${key} is ${JSON.stringify(list)}`);
          }
        }
        if (action === 'CreateFleet' && ((o.Instances as unknown[] | undefined)?.length ?? 0) > 0) {
          problems.push(`${what}: launched from A's template: ${JSON.stringify(o.Instances)}`);
        }
      } catch (err) {
        const e = err as { name: string; message: string };
        if (c.expect === 'ok') problems.push(`${what}: ${e.name}: ${e.message}`);
        else if (!/\.NotFound(Exception)?$/.test(e.name)) problems.push(`${what}: ${e.name} (${e.message}), expected a NotFound error`);
        const seen = secrets.filter((s) => !JSON.stringify(c.input).includes(s) && e.message.includes(s));
        if (seen.length > 0) problems.push(`${what}: the error shows A's ${seen.join(', ')}`);
      }
    }
  }
  assert.deepEqual(problems, []);

  // A's resources are exactly as they were.
  const i = await describeOne(a, r.instance);
  assert.equal(i.State?.Name, 'running');
  assert.deepEqual(i.Tags?.filter((t) => !t.Key?.startsWith('aws:')), [{ Key: 'owner', Value: 'a' }]);
  assert.equal(i.MetadataOptions?.HttpTokens, httpTokens);
  assert.equal(i.Monitoring?.State, 'disabled');
  const attr = await a.send(new sdk.DescribeInstanceAttributeCommand({ InstanceId: r.instance, Attribute: 'disableApiTermination' }));
  assert.equal(attr.DisableApiTermination?.Value, false);
  const lts = await a.send(new sdk.DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [r.template] }));
  assert.equal(lts.LaunchTemplates?.[0]?.LatestVersionNumber, 1);
  assert.deepEqual(lts.LaunchTemplates?.[0]?.Tags, [{ Key: 'owner', Value: 'a' }]);
  const keys = await a.send(new sdk.DescribeKeyPairsCommand({ KeyPairIds: [r.keyId, r.sharedKeyId] }));
  assert.equal(keys.KeyPairs?.length, 2);
  assert.equal(keys.KeyPairs?.find((k) => k.KeyPairId === r.keyId)?.KeyFingerprint, r.keyFingerprint);
  const host = (await a.send(new sdk.DescribeHostsCommand({ HostIds: [r.host] }))).Hosts?.[0];
  assert.equal(host?.State, 'available');
  assert.equal(host?.AutoPlacement, 'off');
  const vol = await a.send(new sdk.DescribeVolumesCommand({ VolumeIds: [r.volume] }));
  assert.equal(vol.Volumes?.length, 1);
  const [data] = (await a.send(new sdk.DescribeVolumesCommand({ VolumeIds: [r.dataVolume] }))).Volumes!;
  assert.equal(data?.Size, 2);
  assert.equal(data?.Attachments?.[0]?.InstanceId, r.instance);
  assert.deepEqual(data?.Tags, [{ Key: 'owner', Value: 'a' }]);
  const [snap] = (await a.send(new sdk.DescribeSnapshotsCommand({ SnapshotIds: [r.snapshot] }))).Snapshots!;
  assert.deepEqual(snap?.Tags, [{ Key: 'owner', Value: 'a' }]);
  assert.equal((await b.send(new sdk.DescribeSnapshotsCommand({}))).Snapshots?.length, 0);
  // A's image is still A's, private, unshared, tagged as it was.
  const [img] = (await a.send(new sdk.DescribeImagesCommand({ ImageIds: [r.image] }))).Images!;
  assert.equal(img?.Name, r.imageName);
  assert.equal(img?.Public, false);
  assert.deepEqual(img?.Tags, [{ Key: 'owner', Value: 'a' }]);
  assert.deepEqual((await a.send(new sdk.DescribeImageAttributeCommand({ ImageId: r.image, Attribute: 'launchPermission' }))).LaunchPermissions, []);
  const fleets = await a.send(new sdk.DescribeFleetsCommand({ FleetIds: [r.fleet] }));
  assert.equal(fleets.Fleets?.length, 1);
  assert.notEqual(fleets.Fleets?.[0]?.FleetState, 'deleted');
  assert.notEqual(fleets.Fleets?.[0]?.FleetState, 'deleted_terminating');
  // A's network is as it was.
  const [vpc] = (await a.send(new sdk.DescribeVpcsCommand({ VpcIds: [r.vpc] }))).Vpcs!;
  assert.deepEqual(vpc?.Tags, [{ Key: 'owner', Value: 'a' }]);
  assert.equal((await a.send(new sdk.DescribeVpcAttributeCommand({ VpcId: r.vpc, Attribute: 'enableDnsHostnames' }))).EnableDnsHostnames?.Value, false);
  assert.equal((await a.send(new sdk.DescribeSubnetsCommand({ SubnetIds: [r.subnet] }))).Subnets?.[0]?.MapPublicIpOnLaunch, false);
  const [group] = (await a.send(new sdk.DescribeSecurityGroupsCommand({ GroupIds: [r.sg] }))).SecurityGroups!;
  assert.equal(group?.IpPermissions?.length, 1);
  assert.equal(group?.IpPermissionsEgress?.length, 1);
  const [gw] = (await a.send(new sdk.DescribeInternetGatewaysCommand({ InternetGatewayIds: [r.igw] }))).InternetGateways!;
  assert.equal(gw?.Attachments?.[0]?.VpcId, r.vpc);
  const [routeTable] = (await a.send(new sdk.DescribeRouteTablesCommand({ RouteTableIds: [r.rtb] }))).RouteTables!;
  assert.deepEqual(routeTable?.Routes?.map((x) => x.DestinationCidrBlock), ['10.77.0.0/16', '0.0.0.0/0']);
  assert.deepEqual(routeTable?.Associations?.map((x) => x.RouteTableAssociationId), [r.assoc]);
  // A's Elastic IP is still A's, associated with A's instance, tagged as it was.
  const [eipOfA] = (await a.send(new sdk.DescribeAddressesCommand({ AllocationIds: [r.eip] }))).Addresses!;
  assert.equal(eipOfA?.AssociationId, r.eipAssoc);
  assert.equal(eipOfA?.InstanceId, r.instance);
  assert.deepEqual(eipOfA?.Tags, [{ Key: 'owner', Value: 'a' }]);
  assert.equal(i.PublicIpAddress, r.eipIp);
  // DeleteFleets with TerminateInstances did not reach the fleet's instance
  assert.ok(fleetInstance);
  assert.notEqual((await describeOne(a, fleetInstance)).State?.Name, 'terminated');

  // …and B's own resources (same names, same ClientToken) are B's: A sees none of them.
  const bTemplates = (await b.send(new sdk.DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [];
  assert.deepEqual(bTemplates.map((t) => t.LaunchTemplateName), [r.sharedName]);
  const aTemplates = (await a.send(new sdk.DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [];
  assert.ok(!aTemplates.some((t) => bTemplates.some((bt) => bt.LaunchTemplateId === t.LaunchTemplateId)));
  const bHosts = (await b.send(new sdk.DescribeHostsCommand({}))).Hosts ?? [];
  assert.equal(bHosts.length, 1);
  assert.notEqual(bHosts[0]?.HostId, r.host);
  const aHosts = (await a.send(new sdk.DescribeHostsCommand({}))).Hosts ?? [];
  assert.deepEqual(aHosts.map((h) => h.HostId), [r.host]);
  const bKeys = (await b.send(new sdk.DescribeKeyPairsCommand({}))).KeyPairs ?? [];
  assert.deepEqual(bKeys.map((k) => k.KeyName).sort(), ['shared-imported', 'shared-key']);
  assert.ok(!bKeys.some((k) => k.KeyPairId === r.sharedKeyId));
});
