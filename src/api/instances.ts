/**
 * Instances: RunInstances, DescribeInstances, DescribeInstanceStatus, Start/Stop/Reboot/Terminate,
 * ModifyInstanceCpuOptions and GetConsoleOutput. Handlers validate in EC2's order (syntax, existence,
 * DryRun, state, capability), commit once, then hand the VM work to the reconciler.
 */
import type {
  DescribeInstanceStatusRequest,
  DescribeInstanceStatusResult,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  GetConsoleOutputRequest,
  GetConsoleOutputResult,
  Instance,
  InstanceNetworkInterface,
  InstanceStateChange,
  InstanceStatus,
  ModifyInstanceCpuOptionsRequest,
  ModifyInstanceCpuOptionsResult,
  RebootInstancesRequest,
  Reservation,
  RunInstancesRequest,
  StartInstancesRequest,
  StartInstancesResult,
  StopInstancesRequest,
  StopInstancesResult,
  TerminateInstancesRequest,
  TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import { applyTrigger } from '../compute/reconciler.js';
import { rootVolumeOf } from '../domain/block-devices.js';
import { type CpuSettings, parseToggle, resolveCpuSettings } from '../domain/cpu-options.js';
import { Errors } from '../domain/errors.js';
import { CLIENT_TOKEN_SYNTAX, xmlSafeText } from '../domain/text.js';
import { type FilterAccessor, type FilterTable, type FilterValue, compileFilters } from '../domain/filters.js';
import { checkApiProtection, checkUserData, parseShutdownBehavior } from '../domain/instance-attributes.js';
import { isWellFormedId, newId } from '../domain/ids.js';
import { affinityOf, checkNoPlacementGroup, parseTenancy } from '../domain/host.js';
import { type ImageFacts, ROOT_VOLUME, findImage } from '../domain/images.js';
import {
  type InstanceRecord,
  type Scope,
  expired,
  privateDnsName,
  privateIpFor,
  rootVolumeAttached,
  rootVolumeId,
} from '../domain/instance.js';
import type { InstanceTypeFacts } from '../domain/instance-types.js';
import type { KeyPairRecord } from '../domain/key-pair.js';
import {
  type LaunchSettings,
  checkRunInstancesMembers,
  checkSpotStop,
  metadataOptionsOf,
  metadataOptionsView,
  privateDnsNameOptionsView,
  resolveLaunchOptions,
} from '../domain/launch-options.js';
import { type LaunchTemplateRef, launchTemplateTags } from '../domain/launch-template.js';
import { ACTION_PARTICIPLE, STATE_CODES, STATE_REASONS, type UserAction, userInitiated } from '../domain/lifecycle.js';
import { defaultNetworkOf, resolveLaunchNetwork } from '../domain/network.js';
import { paginate } from '../domain/paging.js';
import { type PublicIpSource, heldPublicIps, publicDnsName, withPublicIp } from '../domain/public-ip.js';
import { zoneNamed } from '../domain/regions.js';
import { type Handler, type RequestContext, type Services, checkDryRun, quotasOf, requestFingerprint, required, zonesOf } from './context.js';
import { DEFAULT_QUOTAS } from '../accounts.js';
import { checkKeyForPlatform, keyPairByName } from './key-pairs.js';
import { type HostLaunchRequest, hostLaunchRequest, placeHostStarts, placeOnHost } from './hosts.js';
import { applyLaunchTemplate } from './launch-templates.js';
import { attachedNetworkOf, instanceNetworkInterfaces } from './network.js';
import { type KeyValue, tagList, tagsFromSpecifications } from './tags.js';

// --- lookups ----------------------------------------------------------------------------------------

const inScope = (rec: InstanceRecord, scope: Scope) => rec.account === scope.account && rec.region === scope.region;

/** Now minus the retention: terminated instances that ended before it no longer exist. */
export const retentionCutoff = (s: Services): number => s.now().getTime() - s.terminatedRetentionMs;

/** Instances that are visible: in scope, and terminated ones only within the retention window. */
export function visibleInstances(s: Services, scope: Scope): InstanceRecord[] {
  const cutoff = retentionCutoff(s);
  const out: InstanceRecord[] = [];
  for (const rec of s.store.allInstances()) {
    if (inScope(rec, scope) && !expired(rec, cutoff)) out.push(rec);
  }
  return out;
}

/** Every ID well-formed, then every ID found — or the EC2 error naming the offenders. */
export function findInstances(s: Services, scope: Scope, ids: readonly string[]): InstanceRecord[] {
  for (const id of ids) if (!isWellFormedId('instance', id)) throw Errors.instanceIdMalformed(id);
  const cutoff = retentionCutoff(s);
  const found: InstanceRecord[] = [];
  const missing: string[] = [];
  for (const id of new Set(ids)) {
    const rec = s.store.instance(id);
    if (rec && inScope(rec, scope) && !expired(rec, cutoff)) found.push(rec);
    else missing.push(id);
  }
  if (missing.length > 0) throw Errors.instanceIdNotFound(missing);
  return found;
}

/**
 * Where the public IPv4 addresses of one change (a launch, a start) come from: the server's allocator,
 * skipping every address an instance holds now, in any account and Region.
 */
const publicIpSource = (s: Services): PublicIpSource => s.publicIps.session(() => heldPublicIps(s.store.allInstances()));

function typeFacts(s: Services, type: string): InstanceTypeFacts {
  const facts = s.catalog.facts(type);
  if (!facts) throw Errors.invalidInstanceTypeValue(type);
  return facts;
}

// --- the API's view of an instance ------------------------------------------------------------------

export function toInstance(rec: InstanceRecord, s: Services): Instance {
  const tags = s.store.tagsOf(rec.id);
  const net = attachedNetworkOf(rec);
  const windows = rec.platform === 'windows';
  const rootDevice = ROOT_VOLUME[rec.platform].device;
  const root = rootVolumeOf(rec);
  const cpu = rec.cpu;
  const launched = new Date(rec.launchTime);
  return {
    InstanceId: rec.id,
    ImageId: rec.imageId,
    State: { Code: STATE_CODES[rec.state], Name: rec.state },
    PrivateDnsName: rec.state === 'terminated' ? '' : privateDnsName(rec.privateIpAddress, rec.region),
    // The public DNS name is EC2's form of the (loopback) public address; nothing resolves it.
    PublicDnsName: rec.publicIp !== undefined ? publicDnsName(rec.publicIp, rec.region) : '',
    ...(rec.publicIp !== undefined ? { PublicIpAddress: rec.publicIp } : {}),
    StateTransitionReason: rec.stateTransitionReason,
    ...(rec.keyName !== undefined ? { KeyName: rec.keyName } : {}),
    AmiLaunchIndex: rec.amiLaunchIndex,
    ProductCodes: [],
    InstanceType: rec.instanceType as Instance['InstanceType'],
    LaunchTime: launched,
    Placement: {
      AvailabilityZone: rec.availabilityZone,
      ...(rec.tenancy === 'host' ? { Affinity: affinityOf(rec) } : {}),
      GroupName: '',
      Tenancy: rec.tenancy as 'default',
      ...(rec.hostId !== undefined ? { HostId: rec.hostId } : {}),
    },
    // EC2 writes the platform in lower case on the wire, though the SDK's enum says 'Windows'.
    ...(windows ? { Platform: 'windows' as Instance['Platform'] } : {}),
    Monitoring: { State: rec.detailedMonitoring ? 'enabled' : 'disabled' },
    ...(net ? { SubnetId: net.subnetId, VpcId: net.vpcId, PrivateIpAddress: rec.privateIpAddress } : {}),
    Architecture: rec.architecture,
    RootDeviceType: 'ebs',
    RootDeviceName: rootDevice,
    BlockDeviceMappings: rootVolumeAttached(rec)
      ? [
          {
            DeviceName: rootDevice,
            Ebs: {
              AttachTime: launched,
              DeleteOnTermination: root.deleteOnTermination,
              Status: 'attached',
              VolumeId: rootVolumeId(rec),
            },
          },
        ]
      : [],
    VirtualizationType: 'hvm',
    ...(rec.iamInstanceProfile ? { IamInstanceProfile: { Arn: rec.iamInstanceProfile.arn, Id: rec.iamInstanceProfile.id } } : {}),
    ...(rec.clientToken !== undefined ? { ClientToken: rec.clientToken } : {}),
    ...(tags && tags.size > 0 ? { Tags: tagList(tags) } : {}),
    NetworkInterfaces: instanceNetworkInterfaces(rec),
    SecurityGroups: net ? [...net.securityGroups] : [],
    SourceDestCheck: true,
    Hypervisor: 'xen',
    ...(rec.instanceLifecycle ? { InstanceLifecycle: rec.instanceLifecycle } : {}),
    EbsOptimized: rec.ebsOptimized === true,
    EnaSupport: true,
    ...(rec.stateReason ? { StateReason: { Code: rec.stateReason.code, Message: rec.stateReason.message } } : {}),
    CpuOptions: {
      CoreCount: cpu.coreCount,
      ThreadsPerCore: cpu.threadsPerCore,
      ...(cpu.amdSevSnp ? { AmdSevSnp: cpu.amdSevSnp } : {}),
      ...(cpu.nestedVirtualization ? { NestedVirtualization: cpu.nestedVirtualization } : {}),
    },
    CapacityReservationSpecification: { CapacityReservationPreference: rec.capacityReservationsNone ? 'none' : 'open' },
    HibernationOptions: { Configured: rec.hibernationConfigured },
    // Changes apply at once here, so DescribeInstances never catches them `pending`.
    MetadataOptions: { State: 'applied', ...metadataOptionsView(metadataOptionsOf(rec)) },
    EnclaveOptions: { Enabled: rec.enclave === true },
    PlatformDetails: windows ? 'Windows' : 'Linux/UNIX',
    UsageOperation: windows ? 'RunInstances:0002' : 'RunInstances',
    UsageOperationUpdateTime: launched,
    BootMode: 'uefi-preferred',
    CurrentInstanceBootMode: 'uefi',
    PrivateDnsNameOptions: privateDnsNameOptionsView(rec),
    MaintenanceOptions: { AutoRecovery: rec.autoRecoveryDisabled ? 'disabled' : 'default' },
  };
}

// --- filters ----------------------------------------------------------------------------------------

/**
 * The `network-interface.*` filters (and the older `association.*` spellings), read from the
 * interfaces DescribeInstances shows, so a filter always agrees with the view. Members nestbox never
 * has (IPv6, prefixes, Elastic IP allocations, carrier and customer-owned addresses, requester-managed
 * interfaces) are valid filters that match nothing, or `false` where EC2 has a boolean.
 */
function networkInterfaceFilters(): FilterTable<InstanceRecord>['fields'] {
  const enis = (r: InstanceRecord) => instanceNetworkInterfaces(r);
  const each =
    (get: (eni: InstanceNetworkInterface) => FilterValue | readonly FilterValue[]): FilterAccessor<InstanceRecord> =>
    (r) =>
      enis(r).flatMap(get);
  const addresses = (eni: InstanceNetworkInterface) => eni.PrivateIpAddresses ?? [];
  const none = () => undefined;
  return {
    'network-interface.network-interface-id': each((e) => e.NetworkInterfaceId),
    'network-interface.mac-address': each((e) => e.MacAddress),
    'network-interface.private-ip-address': each((e) => e.PrivateIpAddress),
    'network-interface.private-dns-name': each((e) => e.PrivateDnsName),
    'network-interface.public-dns-name': each((e) => e.Association?.PublicDnsName),
    'network-interface.description': each((e) => e.Description),
    'network-interface.subnet-id': each((e) => e.SubnetId),
    'network-interface.vpc-id': each((e) => e.VpcId),
    'network-interface.availability-zone': (r) => (enis(r).length > 0 ? r.availabilityZone : undefined),
    'network-interface.owner-id': each((e) => e.OwnerId),
    'network-interface.requester-id': none,
    'network-interface.requester-managed': each(() => false),
    'network-interface.status': each((e) => e.Status),
    'network-interface.source-dest-check': each((e) => e.SourceDestCheck),
    'network-interface.group-id': each((e) => (e.Groups ?? []).map((g) => g.GroupId)),
    'network-interface.group-name': each((e) => (e.Groups ?? []).map((g) => g.GroupName)),
    'network-interface.attachment.attachment-id': each((e) => e.Attachment?.AttachmentId),
    'network-interface.attachment.instance-id': (r) => (enis(r).length > 0 ? r.id : undefined),
    'network-interface.attachment.instance-owner-id': (r) => (enis(r).length > 0 ? r.account : undefined),
    'network-interface.attachment.device-index': each((e) => e.Attachment?.DeviceIndex),
    'network-interface.attachment.network-card-index': each((e) => e.Attachment?.NetworkCardIndex),
    'network-interface.attachment.status': each((e) => e.Attachment?.Status),
    'network-interface.attachment.attach-time': each((e) => e.Attachment?.AttachTime?.toISOString()),
    'network-interface.attachment.delete-on-termination': each((e) => e.Attachment?.DeleteOnTermination),
    'network-interface.addresses.private-ip-address': each((e) => addresses(e).map((a) => a.PrivateIpAddress)),
    'network-interface.addresses.private-dns-name': each((e) => addresses(e).map((a) => a.PrivateDnsName)),
    'network-interface.addresses.primary': each((e) => addresses(e).map((a) => a.Primary)),
    'network-interface.addresses.association.public-ip': each((e) => addresses(e).map((a) => a.Association?.PublicIp)),
    'network-interface.addresses.association.public-dns-name': each((e) => addresses(e).map((a) => a.Association?.PublicDnsName)),
    'network-interface.addresses.association.ip-owner-id': each((e) => addresses(e).map((a) => a.Association?.IpOwnerId)),
    'network-interface.addresses.association.allocation-id': none,
    'network-interface.addresses.association.association-id': none,
    'network-interface.addresses.association.carrier-ip': none,
    'network-interface.addresses.association.customer-owned-ip': none,
    'network-interface.association.public-ip': each((e) => e.Association?.PublicIp),
    'network-interface.association.public-dns-name': each((e) => e.Association?.PublicDnsName),
    'network-interface.association.ip-owner-id': each((e) => e.Association?.IpOwnerId),
    'network-interface.association.allocation-id': none,
    'network-interface.association.association-id': none,
    'network-interface.association.carrier-ip': none,
    'network-interface.association.customer-owned-ip': none,
    // the older spellings, without the `network-interface.` prefix
    'association.public-ip': each((e) => e.Association?.PublicIp),
    'association.ip-owner-id': each((e) => e.Association?.IpOwnerId),
    'association.allocation-id': none,
    'association.association-id': none,
    'network-interface.ipv6-address': none,
    'network-interface.ipv6-addresses.ipv6-address': none,
    'network-interface.ipv6-addresses.is-primary-ipv6': none,
    'network-interface.ipv6-native': each(() => false),
    'network-interface.ipv4-prefixes.ipv4-prefix': none,
    'network-interface.ipv6-prefixes.ipv6-prefix': none,
    'network-interface.deny-all-igw-traffic': each(() => false),
    'network-interface.outpost-arn': none,
  };
}

export function instanceFilterTable(s: Services): FilterTable<InstanceRecord> {
  return {
    tags: (r) => s.store.tagsOf(r.id),
    fields: {
      ...networkInterfaceFilters(),
      'ip-address': (r) => r.publicIp,
      'dns-name': (r) => (r.publicIp !== undefined ? publicDnsName(r.publicIp, r.region) : undefined),
      'source-dest-check': (r) => (r.state === 'terminated' ? undefined : true),
      'instance-id': (r) => r.id,
      'instance-state-name': (r) => r.state,
      'instance-state-code': (r) => STATE_CODES[r.state],
      'instance-type': (r) => r.instanceType,
      'image-id': (r) => r.imageId,
      'availability-zone': (r) => r.availabilityZone,
      'reservation-id': (r) => r.reservationId,
      'owner-id': (r) => r.account,
      'architecture': (r) => r.architecture,
      'platform': (r) => (r.platform === 'windows' ? 'windows' : undefined),
      'platform-details': (r) => (r.platform === 'windows' ? 'Windows' : 'Linux/UNIX'),
      'key-name': (r) => r.keyName,
      'launch-time': (r) => r.launchTime,
      'private-ip-address': (r) => (r.state === 'terminated' ? undefined : r.privateIpAddress),
      'private-dns-name': (r) => privateDnsName(r.privateIpAddress, r.region),
      'client-token': (r) => r.clientToken,
      'tenancy': (r) => r.tenancy,
      'host-id': (r) => r.hostId,
      'affinity': (r) => affinityOf(r),
      'placement-group-name': () => undefined,
      'vpc-id': (r) => attachedNetworkOf(r)?.vpcId,
      'subnet-id': (r) => attachedNetworkOf(r)?.subnetId,
      'instance.group-id': (r) => attachedNetworkOf(r)?.securityGroups.map((g) => g.GroupId),
      'instance.group-name': (r) => attachedNetworkOf(r)?.securityGroups.map((g) => g.GroupName),
      'group-id': (r) => attachedNetworkOf(r)?.securityGroups.map((g) => g.GroupId),
      'group-name': (r) => attachedNetworkOf(r)?.securityGroups.map((g) => g.GroupName),
      'root-device-type': () => 'ebs',
      'virtualization-type': () => 'hvm',
      'hypervisor': () => 'xen',
      'hibernation-options.configured': (r) => r.hibernationConfigured,
      'state-reason-code': (r) => r.stateReason?.code,
      'state-reason-message': (r) => r.stateReason?.message,
      'ami-launch-index': (r) => r.amiLaunchIndex,
      // Spot Instances only: On-Demand ones have no lifecycle, as in EC2
      'instance-lifecycle': (r) => r.instanceLifecycle,
      'monitoring-state': (r) => (r.detailedMonitoring ? 'enabled' : 'disabled'),
      'ebs-optimized': (r) => r.ebsOptimized === true,
      'enclave-options.enabled': (r) => r.enclave === true,
      'iam-instance-profile.arn': (r) => r.iamInstanceProfile?.arn,
      'iam-instance-profile.id': (r) => r.iamInstanceProfile?.id,
      'maintenance-options.auto-recovery': (r) => (r.autoRecoveryDisabled ? 'disabled' : 'default'),
      'metadata-options.http-tokens': (r) => metadataOptionsOf(r).httpTokens,
      'metadata-options.http-put-response-hop-limit': (r) => metadataOptionsOf(r).hopLimit,
      'metadata-options.http-endpoint': (r) => metadataOptionsOf(r).httpEndpoint,
      'metadata-options.http-protocol-ipv6': (r) => metadataOptionsOf(r).httpProtocolIpv6,
      'metadata-options.instance-metadata-tags': (r) => metadataOptionsOf(r).instanceMetadataTags,
      'private-dns-name-options.hostname-type': (r) => privateDnsNameOptionsView(r).HostnameType,
      'block-device-mapping.device-name': (r) => (rootVolumeAttached(r) ? ROOT_VOLUME[r.platform].device : undefined),
      'block-device-mapping.volume-id': (r) => (rootVolumeAttached(r) ? rootVolumeId(r) : undefined),
      'block-device-mapping.status': (r) => (rootVolumeAttached(r) ? 'attached' : undefined),
      'block-device-mapping.delete-on-termination': (r) => (rootVolumeAttached(r) ? rootVolumeOf(r).deleteOnTermination : undefined),
    },
  };
}

// --- RunInstances -----------------------------------------------------------------------------------

/** Instances (not terminated) one account may have in one region, like EC2's instance quota: the default (src/accounts.ts). */
export const INSTANCE_LIMIT = DEFAULT_QUOTAS.instances;

/**
 * How many of MinCount..MaxCount fit under the account's quotas: as many as possible, at least
 * MinCount, or the error. The instance quota counts every instance that is not terminated; the On-Demand
 * vCPU quota (`vcpus`, for On-Demand launches not on a Dedicated Host) counts the vCPUs of the account's
 * pending and running On-Demand instances of the same bucket (vcpuBucketOf), as EC2 does.
 */
function launchCount(s: Services, scope: Scope, minCount: number, maxCount: number, vcpus?: { perInstance: number; bucket: string }): number {
  const quotas = quotasOf(s, scope.account);
  const limit = quotas.instances;
  let room = maxCount;
  // Fast path: when even every record there is leaves room, counting the live ones (O(n)) is not needed.
  if (limit - s.store.instanceCount() < maxCount) {
    let live = 0;
    for (const rec of s.store.allInstances()) if (inScope(rec, scope) && rec.state !== 'terminated') live++;
    room = limit - live;
    if (room < minCount) throw Errors.instanceLimitExceeded(live + minCount, limit);
  }
  if (vcpus && vcpus.perInstance > 0) {
    let used = 0;
    for (const rec of s.store.allInstances()) {
      if (!inScope(rec, scope) || rec.instanceLifecycle === 'spot' || rec.hostId !== undefined) continue;
      if (rec.state !== 'pending' && rec.state !== 'running') continue;
      const facts = s.catalog.facts(rec.instanceType);
      if (facts && vcpuBucketOf(facts.family) === vcpus.bucket) used += facts.vcpus;
    }
    const fit = Math.floor((quotas.vcpus - used) / vcpus.perInstance);
    if (fit < minCount) throw Errors.vcpuLimitExceeded(quotas.vcpus);
    room = Math.min(room, fit);
  }
  return Math.min(maxCount, room);
}

/**
 * EC2's On-Demand vCPU buckets ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", "… X
 * instances", "… G and VT …", "… P …", "… F …", "… Inf …", "… DL …", "… Trn …", "… HPC …", "… High Memory …"),
 * from the family's name.
 */
export function vcpuBucketOf(family: string): string {
  const f = family.toLowerCase();
  for (const [prefix, bucket] of [
    ['inf', 'inf'],
    ['trn', 'trn'],
    ['hpc', 'hpc'],
    ['dl', 'dl'],
    ['vt', 'g'],
    ['u-', 'high-memory'],
    ['x', 'x'],
    ['g', 'g'],
    ['p', 'p'],
    ['f', 'f'],
  ] as const) {
    if (f.startsWith(prefix)) return bucket;
  }
  return 'standard';
}

function reservationOf(s: Services, reservationId: string, recs: readonly InstanceRecord[], account: string): Reservation {
  return {
    ReservationId: reservationId,
    OwnerId: account,
    // EC2-Classic only ("Not supported"): a VPC instance's groups are in its own SecurityGroups.
    Groups: [],
    Instances: recs.map((r) => toInstance(r, s)),
  };
}

/** What a valid launch request asks for, once every rule has been checked. */
export interface LaunchPlan {
  readonly minCount: number;
  readonly maxCount: number;
  readonly image: ImageFacts;
  readonly facts: InstanceTypeFacts;
  readonly zone: string;
  readonly tenancy: string;
  readonly hibernation: boolean;
  readonly cpu: CpuSettings;
  readonly tags: readonly KeyValue[];
  /** tags for each instance's root volume (TagSpecification ResourceType `volume`) */
  readonly volumeTags: readonly KeyValue[];
  /** base64 without whitespace */
  readonly userData: string | undefined;
  readonly keyPair: KeyPairRecord | undefined;
  readonly disableApiTermination: boolean;
  readonly disableApiStop: boolean;
  readonly shutdownBehavior: 'stop' | 'terminate';
  /** the launch template version the request used, if any */
  readonly launchTemplate: LaunchTemplateRef | undefined;
  /** tenancy `host`: the named host or the zone to auto-place in; placed after DryRun */
  readonly host: HostLaunchRequest | undefined;
  /** the launch options (root volume, metadata, monitoring, credits, Spot, …) as each instance records them */
  readonly settings: LaunchSettings;
  /** whether each instance gets a public IPv4 address whenever it enters `pending` (src/domain/public-ip.ts) */
  readonly associatePublicIp: boolean;
}

/** Checks a RunInstances request against every rule, in EC2's order; changes nothing. */
export function planLaunch(raw: RunInstancesRequest, ctx: RequestContext, s: Services): LaunchPlan {
  // From a launch template: its data overlaid with the request's own parameters, then every rule below.
  const { request: input, launchTemplate } = applyLaunchTemplate(raw, ctx, s);
  const imageId = required(input.ImageId, 'ImageId');
  const minCount = required(input.MinCount, 'MinCount');
  const maxCount = required(input.MaxCount, 'MaxCount');
  if (!Number.isInteger(minCount) || minCount < 1) throw Errors.invalidValueFor('MinCount', minCount, 'MinCount must be at least 1.');
  if (!Number.isInteger(maxCount) || maxCount < minCount) {
    throw Errors.invalidValueFor('MaxCount', maxCount, `MaxCount must be at least MinCount (${minCount}).`);
  }
  // A member nestbox cannot honour is refused by name before anything else is looked at.
  checkRunInstancesMembers(input);
  if (!isWellFormedId('image', imageId)) throw Errors.amiIdMalformed(imageId);
  const image = findImage(imageId);
  if (!image) throw Errors.amiIdNotFound([imageId]);
  const facts = typeFacts(s, input.InstanceType ?? 't3.micro');
  if (facts.architecture !== image.architecture) {
    throw Errors.invalidParameterValue(
      `The architecture '${facts.architecture}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI.`,
    );
  }
  // The zone by name or by ID; from here on the placement names it.
  const { AvailabilityZoneId: zoneId, ...given } = input.Placement ?? {};
  const requestedZone = zoneNamed(ctx.region, given.AvailabilityZone, zoneId);
  const placement = input.Placement && { ...given, ...(requestedZone !== undefined ? { AvailabilityZone: requestedZone } : {}) };
  if (placement?.HostResourceGroupArn !== undefined) {
    throw Errors.invalidValueFor('Placement.HostResourceGroupArn', placement.HostResourceGroupArn, 'nestbox has no host resource groups.');
  }
  if (placement?.SpreadDomain !== undefined) throw Errors.launchOptionNotImplemented('Placement.SpreadDomain', 'nestbox has no placement groups');
  checkNoPlacementGroup(placement ?? {});
  // A subnet (SubnetId, or the primary network interface's) decides the zone; named security groups must exist.
  const { subnet, associatePublicIp } = resolveLaunchNetwork({ ...input, Placement: placement }, defaultNetworkOf(ctx));
  const zone = subnet?.zone.name ?? requestedZone ?? zonesOf(ctx.region)[0]!;
  // Naming a Dedicated Host implies tenancy `host`, as in EC2.
  const tenancy = parseTenancy(placement?.Tenancy ?? (placement?.HostId !== undefined ? 'host' : 'default'), 'placement.tenancy');
  const host = hostLaunchRequest(s, ctx, subnet ? { ...placement, AvailabilityZone: zone } : placement, tenancy);
  const hibernation = input.HibernationOptions?.Configured === true;
  if (hibernation && !facts.hibernationSupported) throw Errors.hibernationNotSupported(facts.type);
  const cpu = resolveCpuSettings({ facts, platform: image.platform, hibernationConfigured: hibernation }, input.CpuOptions);
  const tags = tagsFromSpecifications(input.TagSpecifications, 'instance');
  const volumeTags = tagsFromSpecifications(input.TagSpecifications, 'volume');
  const userData = input.UserData === undefined ? undefined : checkUserData(input.UserData);
  const keyPair = input.KeyName === undefined ? undefined : keyPairByName(s, ctx, input.KeyName);
  if (keyPair) checkKeyForPlatform(keyPair, image.platform);
  const shutdownBehavior = parseShutdownBehavior(input.InstanceInitiatedShutdownBehavior ?? 'stop', 'InstanceInitiatedShutdownBehavior');
  const settings = resolveLaunchOptions(input, {
    account: ctx.account,
    image,
    instanceType: facts.type,
    typeInfo: s.catalog.info(facts.type)!,
    tenancy,
    hibernation,
  });
  return {
    minCount,
    maxCount,
    image,
    facts,
    zone,
    tenancy,
    hibernation,
    cpu,
    // EC2 marks an instance launched from a template with system tags naming it.
    tags: launchTemplate ? [...tags, ...launchTemplateTags(launchTemplate)] : tags,
    volumeTags,
    userData,
    keyPair,
    disableApiTermination: input.DisableApiTermination === true,
    disableApiStop: input.DisableApiStop === true,
    shutdownBehavior,
    launchTemplate,
    host,
    settings,
    associatePublicIp,
  };
}

/** What a launch records beyond its plan: where RunInstances and CreateFleet differ. */
export interface LaunchOptions {
  /** DryRun: answered after the quota check, before a host is chosen or anything is recorded */
  readonly dryRun?: boolean | undefined;
  /** RunInstances' ClientToken: kept on every instance, and committed (with its fingerprint) with them */
  readonly clientToken?: { readonly token: string; readonly fingerprint: string } | undefined;
  /** `spot` for an EC2 Fleet's Spot Instances; absent: as the plan says (RunInstances' InstanceMarketOptions) */
  readonly lifecycle?: 'spot' | undefined;
  /** tags the launching service puts on every instance (EC2 Fleet: `aws:ec2:fleet-id`) */
  readonly systemTags?: readonly KeyValue[] | undefined;
}

/** The instances one launch recorded, all in one reservation. */
export interface Launched {
  readonly reservationId: string;
  readonly instances: readonly InstanceRecord[];
}

/**
 * The launch core RunInstances and CreateFleet share: a checked plan becomes instances. As many of
 * MinCount..MaxCount as the quota allows, DryRun, the Dedicated Host, the records, one commit, then
 * the VMs boot. An Ec2Error means nothing was recorded.
 */
export function launchPlanned(plan: LaunchPlan, ctx: RequestContext, s: Services, opts: LaunchOptions = {}): Launched {
  const spot = opts.lifecycle === 'spot' || (plan.settings as { instanceLifecycle?: string } | undefined)?.instanceLifecycle === 'spot';
  const onDemandVcpus = spot || plan.host ? undefined : { perInstance: plan.facts.vcpus, bucket: vcpuBucketOf(plan.facts.family) };
  const allowed = launchCount(s, ctx, plan.minCount, plan.maxCount, onDemandVcpus);
  checkDryRun({ DryRun: opts.dryRun });
  // Tenancy host: the host is chosen before anything is recorded, and may take fewer than allowed.
  const onHost = plan.host && placeOnHost(s, ctx, plan.host, plan.facts, plan.minCount, allowed);
  const count = onHost ? onHost.count : allowed;
  const zone = onHost ? onHost.zone : plan.zone;
  const zoneIndex = Math.max(0, zonesOf(ctx.region).indexOf(zone));
  const token = opts.clientToken?.token;
  const instanceTags = [...plan.tags, ...(opts.systemTags ?? [])];

  const launchTime = s.now().toISOString();
  const reservationId = newId('reservation');
  const publicIps = publicIpSource(s);
  const recs: InstanceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const seq = s.nextSeq();
    // A new record is `pending`: it gets its public address by the rule every state change follows.
    const rec: InstanceRecord = {
      id: newId('instance'),
      account: ctx.account,
      region: ctx.region,
      reservationId,
      seq,
      imageId: plan.image.id,
      instanceType: plan.facts.type,
      platform: plan.image.platform,
      architecture: plan.image.architecture,
      state: 'pending',
      stateReason: STATE_REASONS.pending,
      stateTransitionReason: '',
      launchTime,
      amiLaunchIndex: i,
      keyName: plan.keyPair?.name,
      publicKey: plan.keyPair?.publicKey,
      availabilityZone: zone,
      tenancy: plan.tenancy,
      ...(onHost ? { hostId: onHost.hostId } : {}),
      ...(plan.host?.affinity === 'host' ? { affinity: 'host' as const } : {}),
      cpu: plan.cpu,
      hibernationConfigured: plan.hibernation,
      userData: plan.userData,
      ...(plan.disableApiTermination ? { disableApiTermination: true } : {}),
      ...(plan.disableApiStop ? { disableApiStop: true } : {}),
      ...(plan.shutdownBehavior === 'terminate' ? { shutdownBehavior: 'terminate' as const } : {}),
      ...(plan.launchTemplate ? { launchTemplate: plan.launchTemplate } : {}),
      ...plan.settings,
      ...(opts.lifecycle ? { instanceLifecycle: opts.lifecycle } : {}),
      clientToken: token,
      privateIpAddress: privateIpFor(seq, zoneIndex),
      associatePublicIp: plan.associatePublicIp,
    };
    recs.push(withPublicIp(rec, publicIps));
  }
  s.reconciler.admit(recs);
  s.store.commit({
    instances: recs,
    putTags: recs.flatMap((r) => [
      ...instanceTags.map((t) => ({ resourceId: r.id, resourceType: 'instance', key: t.key, value: t.value })),
      ...plan.volumeTags.map((t) => ({ resourceId: rootVolumeId(r), resourceType: 'volume', key: t.key, value: t.value })),
    ]),
    ...(opts.clientToken ? { clientToken: { account: ctx.account, region: ctx.region, ...opts.clientToken, reservationId } } : {}),
  });
  s.reconciler.boot(recs, true);
  return { reservationId, instances: recs };
}

export const runInstances: Handler<RunInstancesRequest, Reservation> = (input, ctx, s) => {
  const plan = planLaunch(input, ctx, s);
  const token = input.ClientToken;
  if (token !== undefined && (token.length > 64 || !CLIENT_TOKEN_SYNTAX.test(token))) {
    throw Errors.invalidValueFor('clientToken', xmlSafeText(token), 'The client token must be at most 64 ASCII characters.');
  }
  const print = requestFingerprint(input);
  if (token !== undefined) {
    const previous = s.store.clientToken(ctx.account, ctx.region, token);
    if (previous) {
      if (previous.fingerprint !== print) throw Errors.idempotentParameterMismatch(token);
      checkDryRun(input);
      const recs = [...s.store.allInstances()].filter((r) => r.reservationId === previous.reservationId);
      return reservationOf(s, previous.reservationId, recs, ctx.account);
    }
  }
  const { reservationId, instances } = launchPlanned(plan, ctx, s, {
    dryRun: input.DryRun,
    clientToken: token === undefined ? undefined : { token, fingerprint: print },
  });
  return reservationOf(s, reservationId, instances, ctx.account);
};

// --- DescribeInstances ------------------------------------------------------------------------------

export const describeInstances: Handler<DescribeInstancesRequest, DescribeInstancesResult> = (input, ctx, s) => {
  const ids = input.InstanceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const predicate = compileFilters(instanceFilterTable(s), input.Filters);
  checkDryRun(input);
  const candidates = ids.length > 0 ? findInstances(s, ctx, ids) : visibleInstances(s, ctx);
  const matching = candidates.filter(predicate);
  const page = paginate(matching, input, { min: 5, max: 1000 }, { f: input.Filters, ids });
  // Instances are paged; the page is grouped into its reservations, in order of first appearance.
  const reservations = new Map<string, InstanceRecord[]>();
  for (const rec of page.items) {
    const group = reservations.get(rec.reservationId);
    if (group) group.push(rec);
    else reservations.set(rec.reservationId, [rec]);
  }
  return {
    Reservations: [...reservations].map(([id, recs]) => reservationOf(s, id, recs, ctx.account)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

// --- DescribeInstanceStatus -------------------------------------------------------------------------

function statusOf(rec: InstanceRecord): InstanceStatus {
  const check = rec.state === 'running' ? 'ok' : rec.state === 'pending' ? 'initializing' : 'not-applicable';
  const detail = rec.state === 'running' ? [{ Name: 'reachability' as const, Status: 'passed' as const }] : [];
  return {
    InstanceId: rec.id,
    AvailabilityZone: rec.availabilityZone,
    InstanceState: { Code: STATE_CODES[rec.state], Name: rec.state },
    InstanceStatus: { Status: check, Details: detail },
    SystemStatus: { Status: check, Details: detail },
    AttachedEbsStatus: { Status: check, Details: [] },
    Events: [],
  };
}

const statusFilters: FilterTable<InstanceStatus> = {
  fields: {
    'availability-zone': (x) => x.AvailabilityZone,
    'instance-state-name': (x) => x.InstanceState?.Name,
    'instance-state-code': (x) => x.InstanceState?.Code,
    'instance-status.status': (x) => x.InstanceStatus?.Status,
    'instance-status.reachability': (x) => x.InstanceStatus?.Details?.[0]?.Status,
    'system-status.status': (x) => x.SystemStatus?.Status,
    'system-status.reachability': (x) => x.SystemStatus?.Details?.[0]?.Status,
  },
};

export const describeInstanceStatus: Handler<DescribeInstanceStatusRequest, DescribeInstanceStatusResult> = (
  input,
  ctx,
  s,
) => {
  const ids = input.InstanceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const predicate = compileFilters(statusFilters, input.Filters);
  checkDryRun(input);
  const recs = ids.length > 0 ? findInstances(s, ctx, ids) : visibleInstances(s, ctx);
  const statuses = recs
    .filter((r) => input.IncludeAllInstances === true || r.state === 'running')
    .map(statusOf)
    .filter(predicate);
  const page = paginate(statuses, input, { min: 5, max: 1000 }, { f: input.Filters, ids, all: input.IncludeAllInstances });
  return { InstanceStatuses: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- state changes ----------------------------------------------------------------------------------

interface StateChangeOptions {
  readonly action: UserAction;
  readonly reason?: Partial<Pick<InstanceRecord, 'stateReason' | 'stateTransitionReason' | 'launchTime'>>;
  /** extra per-instance checks after the state check, given the record after the action (protection, hibernation) */
  readonly check?: (rec: InstanceRecord, after: InstanceRecord) => void;
  /**
   * a last check over the instances that will change, before anything is recorded (capacity); it may
   * return them amended (a Dedicated Host chosen again), and those are recorded
   */
  readonly admit?: (changed: readonly InstanceRecord[]) => readonly InstanceRecord[] | void;
}

/**
 * The shared core of Start/Stop/Reboot/Terminate: all instances must exist and allow the action, or
 * nothing changes. One commit for all of them, then the VM work.
 */
function changeStates(
  ids: readonly string[],
  ctx: RequestContext,
  s: Services,
  dryRun: boolean | undefined,
  opts: StateChangeOptions,
): { changes: InstanceStateChange[]; changed: InstanceRecord[]; previous: InstanceRecord[] } {
  const recs = findInstances(s, ctx, required(ids, 'InstanceId'));
  checkDryRun({ DryRun: dryRun });
  const now = s.now();
  const publicIps = publicIpSource(s);
  const next: InstanceRecord[] = [];
  for (const rec of recs) {
    const after = applyTrigger(rec, opts.action, now, opts.reason, publicIps);
    if (!after) throw Errors.incorrectInstanceState(rec.id, ACTION_PARTICIPLE[opts.action], rec.state);
    opts.check?.(rec, after);
    next.push(after);
  }
  const changing = next.filter((r, i) => r !== recs[i]);
  const changed = [...(opts.admit?.(changing) ?? changing)];
  if (changed.length > 0) s.store.commit({ instances: changed });
  return {
    changes: recs.map((rec, i) => ({
      InstanceId: rec.id,
      PreviousState: { Code: STATE_CODES[rec.state], Name: rec.state },
      CurrentState: { Code: STATE_CODES[next[i]!.state], Name: next[i]!.state },
    })),
    changed,
    previous: recs,
  };
}

export const startInstances: Handler<StartInstancesRequest, StartInstancesResult> = (input, ctx, s) => {
  const { changes, changed } = changeStates(input.InstanceIds ?? [], ctx, s, input.DryRun, {
    action: 'start',
    // EC2 reports the time of the latest start as LaunchTime.
    reason: { stateReason: STATE_REASONS.pending, stateTransitionReason: '', launchTime: s.now().toISOString() },
    admit: (starting) => {
      const placed = placeHostStarts(s, ctx, starting);
      s.reconciler.admit(placed);
      return placed;
    },
  });
  s.reconciler.boot(changed, false);
  return { StartingInstances: changes };
};

export const stopInstances: Handler<StopInstancesRequest, StopInstancesResult> = (input, ctx, s) => {
  const hibernate = input.Hibernate === true;
  const reason = hibernate ? STATE_REASONS.userHibernate : STATE_REASONS.userStop;
  const force = input.Force === true;
  const { changes, changed, previous } = changeStates(input.InstanceIds ?? [], ctx, s, input.DryRun, {
    action: 'stop',
    reason: { stateReason: reason, stateTransitionReason: userInitiated(s.now()) },
    check: (rec, after) => {
      // A pending instance may be stopped only when it has been running before (a restart, not a launch).
      if (rec.state === 'pending' && !rec.hasRun) throw Errors.neverRan(rec.id);
      // A one-time Spot Instance cannot be stopped; protection refuses starting a stop, not one already
      // under way (Force on a stopping instance still works).
      if (after !== rec) {
        checkSpotStop(rec);
        checkApiProtection(rec, 'stop');
      }
      if (!hibernate) return;
      if (rec.cpu.nestedVirtualization === 'enabled') throw Errors.nestedVirtualizationHibernation();
      if (!rec.hibernationConfigured) throw Errors.unsupportedHibernationStop(rec.id);
    },
  });
  for (const rec of changed) s.reconciler.stop(rec, force);
  // Force on an instance that is already stopping cuts a slow shutdown short.
  if (force) for (const rec of previous) if (rec.state === 'stopping') s.reconciler.stop(rec, true);
  return { StoppingInstances: changes };
};

export const rebootInstances: Handler<RebootInstancesRequest, Record<string, never>> = (input, ctx, s) => {
  const { previous } = changeStates(input.InstanceIds ?? [], ctx, s, input.DryRun, { action: 'reboot' });
  for (const rec of previous) s.reconciler.reboot(rec);
  return {};
};

/** TerminateInstances' core, which DeleteFleets shares: every instance must allow it, or nothing changes. */
export function terminate(ids: readonly string[], ctx: RequestContext, s: Services, dryRun?: boolean): InstanceStateChange[] {
  const { changes, changed } = changeStates(ids, ctx, s, dryRun, {
    action: 'terminate',
    reason: { stateReason: STATE_REASONS.userTerminate, stateTransitionReason: userInitiated(s.now()) },
    // One protected instance refuses the whole call; one already shutting down or terminated has nothing to protect.
    check: (rec, after) => {
      if (after !== rec) checkApiProtection(rec, 'terminate');
    },
  });
  for (const rec of changed) s.reconciler.terminate(rec);
  return changes;
}

export const terminateInstances: Handler<TerminateInstancesRequest, TerminateInstancesResult> = (input, ctx, s) => ({
  TerminatingInstances: terminate(input.InstanceIds ?? [], ctx, s, input.DryRun),
});

// --- ModifyInstanceCpuOptions -----------------------------------------------------------------------

export const modifyInstanceCpuOptions: Handler<ModifyInstanceCpuOptionsRequest, ModifyInstanceCpuOptionsResult> = (
  input,
  ctx,
  s,
) => {
  const id = required(input.InstanceId, 'InstanceId');
  parseToggle(input.NestedVirtualization, 'NestedVirtualization');
  const [rec] = findInstances(s, ctx, [id]) as [InstanceRecord];
  checkDryRun(input);
  if (rec.state !== 'stopped') throw Errors.notInStoppedState(rec.id);
  const cpu = resolveCpuSettings(
    { facts: typeFacts(s, rec.instanceType), platform: rec.platform, hibernationConfigured: rec.hibernationConfigured },
    { CoreCount: input.CoreCount, ThreadsPerCore: input.ThreadsPerCore, NestedVirtualization: input.NestedVirtualization },
    rec.cpu,
    '',
  );
  if (cpu !== rec.cpu) s.store.commit({ instances: [{ ...rec, cpu }] });
  return {
    InstanceId: rec.id,
    CoreCount: cpu.coreCount,
    ThreadsPerCore: cpu.threadsPerCore,
    ...(cpu.nestedVirtualization ? { NestedVirtualization: cpu.nestedVirtualization } : {}),
  };
};

// --- GetConsoleOutput -------------------------------------------------------------------------------

export const getConsoleOutput: Handler<GetConsoleOutputRequest, GetConsoleOutputResult> = async (input, ctx, s) => {
  const id = required(input.InstanceId, 'InstanceId');
  const [rec] = findInstances(s, ctx, [id]) as [InstanceRecord];
  checkDryRun(input);
  const output = (await s.reconciler.consoleOutput(rec.id)) ?? '';
  // EC2 keeps the most recent 64 KB; `Latest` asks for the newest output only, which is the same here.
  const tail = Buffer.from(output).subarray(-64 * 1024);
  return {
    InstanceId: rec.id,
    Timestamp: s.now(),
    ...(tail.length > 0 ? { Output: tail.toString('base64') } : {}),
  };
};
