/**
 * Instances as every handler sees them: the lookups (visible ones, by ID, the retention window of
 * terminated ones), pages of them read from the store with the filters it can answer pushed down to
 * it, the API's view of an instance and of a reservation, and DescribeInstances' filter table.
 */
import type { Instance, InstanceNetworkInterface, Reservation } from '@aws-sdk/client-ec2';
import { rootDeviceName, rootVolumeOf } from '../domain/block-devices.js';
import { type VolumeRecord, liveAttachment } from '../domain/volumes.js';
import { Errors } from '../domain/errors.js';
import type { FilterAccessor, FilterInput, FilterTable, FilterValue } from '../domain/filters.js';
import { affinityOf } from '../domain/host.js';
import { isWellFormedId } from '../domain/ids.js';
import {
  type InstanceRecord,
  type Scope,
  expired,
  privateDnsName,
  rootVolumeAttached,
  rootVolumeId,
} from '../domain/instance.js';
import type { InstanceTypeFacts } from '../domain/instance-types.js';
import { metadataOptionsOf, metadataOptionsView, privateDnsNameOptionsView } from '../domain/launch-options.js';
import { STATE_CODES, type StateName } from '../domain/lifecycle.js';
import { publicDnsName } from '../domain/public-ip.js';
import type { InstanceQuery } from '../store/types.js';
import type { Services } from './context.js';
import { attachedNetworkOf, instanceNetworkInterfaces } from './network.js';
import { interfacesAttachedTo } from './network-interfaces.js';
import type { NetworkInterfaceRecord } from '../domain/network-interface.js';
import { NO_TAGS, tagList } from './tags.js';

// --- lookups ----------------------------------------------------------------------------------------

export const inScope = (rec: InstanceRecord, scope: Scope) => rec.account === scope.account && rec.region === scope.region;

/** Now minus the retention: terminated instances that ended before it no longer exist. */
export const retentionCutoff = (s: Services): number => s.now().getTime() - s.terminatedRetentionMs;

/** Which of a scope's instances: an InstanceQuery without its account and region. */
export type InstanceSelection = Omit<InstanceQuery, 'account' | 'region'>;

/**
 * Instances that are visible: in scope, and terminated ones only within the retention window, in
 * creation order. `query` narrows them in the store (its indexes answer it).
 */
export async function visibleInstances(s: Services, scope: Scope, query: InstanceSelection = {}): Promise<InstanceRecord[]> {
  const cutoff = retentionCutoff(s);
  const recs = await s.store.instances({ ...query, account: scope.account, region: scope.region });
  return recs.filter((rec) => !expired(rec, cutoff));
}

/** Every ID well-formed, then every ID found — or the EC2 error naming the offenders. */
export async function findInstances(s: Services, scope: Scope, ids: readonly string[]): Promise<InstanceRecord[]> {
  for (const id of ids) if (!isWellFormedId('instance', id)) throw Errors.instanceIdMalformed(id);
  const unique = [...new Set(ids)];
  const byId = new Map((await visibleInstances(s, scope, { ids: unique })).map((rec) => [rec.id, rec]));
  const missing = unique.filter((id) => !byId.has(id));
  if (missing.length > 0) throw Errors.instanceIdNotFound(missing);
  return unique.map((id) => byId.get(id)!);
}

/** Reads per batch at most this many instances, however few match the filters the store cannot answer. */
const MAX_BATCH = 5000;

/** One page of instances, and whether more match after it. */
export interface InstancePage {
  readonly items: InstanceRecord[];
  readonly more: boolean;
}

/**
 * A page of visible instances in creation order, read from the store in `seq`-ordered batches after
 * `afterSeq` and narrowed by `selection` (the store's indexes), keeping those `match` accepts until
 * the page holds `size` (undefined: all of them). `tags`, when given, is filled with each batch's
 * tags before `match` sees it (for filters that read tags).
 */
export async function pageOfInstances(
  s: Services,
  scope: Scope,
  req: {
    readonly selection: InstanceSelection;
    readonly afterSeq: number | undefined;
    readonly size: number | undefined;
    readonly match: (rec: InstanceRecord) => boolean;
    readonly tags?: Map<string, ReadonlyMap<string, string>> | undefined;
  },
): Promise<InstancePage> {
  const cutoff = retentionCutoff(s);
  const { size } = req;
  const items: InstanceRecord[] = [];
  let after = req.afterSeq;
  // One more than the page, so that a page that is all matches also tells whether another follows.
  let batch = size === undefined ? undefined : Math.min(size + 1, MAX_BATCH);
  for (;;) {
    const recs = await s.store.instances({ ...req.selection, account: scope.account, region: scope.region, afterSeq: after, limit: batch });
    const visible = recs.filter((rec) => !expired(rec, cutoff));
    if (req.tags) {
      req.tags.clear();
      if (visible.length > 0) for (const [id, tags] of await s.store.tagsOfMany(visible.map((r) => r.id))) req.tags.set(id, tags);
    }
    for (const rec of visible) {
      if (!req.match(rec)) continue;
      if (size !== undefined && items.length === size) return { items, more: true };
      items.push(rec);
    }
    if (batch === undefined || recs.length < batch) return { items, more: false };
    after = recs[recs.length - 1]!.seq;
    batch = Math.min(batch * 2, MAX_BATCH);
  }
}

/** The filters the store can answer from its indexes, and the InstanceQuery list each fills. */
const PUSHED_FILTERS = {
  'instance-id': 'ids',
  'instance-state-name': 'states',
  'instance-type': 'instanceTypes',
  'reservation-id': 'reservationIds',
  'availability-zone': 'availabilityZones',
  'host-id': 'hostIds',
} as const satisfies Record<string, keyof InstanceSelection>;
type PushedList = (typeof PUSHED_FILTERS)[keyof typeof PUSHED_FILTERS];

/** A value the filter engine compares literally (no `*` or `?` wildcard, no `\` escape). */
const isExact = (value: string) => !/[*?\\]/.test(value);
const isStateName = (value: string): value is StateName => Object.hasOwn(STATE_CODES, value);

/**
 * What of Describe* filters the store can answer, as an InstanceQuery's lists: exact-valued
 * `instance-id`, `instance-state-name`, `instance-type`, `reservation-id`, `availability-zone`,
 * `host-id`, `tag:KEY` and a single `tag-key`. The result is a superset of what the filters match
 * (the filter engine still decides); undefined when no instance can match (two filters of one name
 * with no value in common, an unknown state name). Call it after compileFilters has checked the names.
 */
export function instanceSelectionOf(filters: readonly FilterInput[] | undefined): InstanceSelection | undefined {
  const lists = new Map<PushedList, Set<string>>();
  const tags: { key: string; values?: string[] }[] = [];
  for (const { Name: name, Values: values = [] } of filters ?? []) {
    // Values nobody can push (wildcards) or none at all (that filter matches nothing): the engine decides.
    if (!name || values.length === 0 || !values.every(isExact)) continue;
    if (name.startsWith('tag:')) {
      tags.push({ key: name.slice(4), values: [...new Set(values)] });
      continue;
    }
    if (name === 'tag-key') {
      if (values.length === 1) tags.push({ key: values[0]! });
      continue;
    }
    const list = Object.hasOwn(PUSHED_FILTERS, name) ? PUSHED_FILTERS[name as keyof typeof PUSHED_FILTERS] : undefined;
    if (!list) continue;
    const given = new Set(list === 'states' ? values.filter(isStateName) : values);
    // Filters are ANDed: two of one name keep the values they share.
    const previous = lists.get(list);
    const both = previous ? new Set([...previous].filter((v) => given.has(v))) : given;
    if (both.size === 0) return undefined;
    lists.set(list, both);
  }
  const listOf = (list: PushedList) => {
    const values = lists.get(list);
    return values ? [...values] : undefined;
  };
  return {
    ids: listOf('ids'),
    states: listOf('states') as StateName[] | undefined,
    instanceTypes: listOf('instanceTypes'),
    reservationIds: listOf('reservationIds'),
    availabilityZones: listOf('availabilityZones'),
    hostIds: listOf('hostIds'),
    tags: tags.length > 0 ? tags : undefined,
  };
}

/** Whether any of the filters reads tags (`tag:KEY`, `tag-key`, `tag-value`). */
export const filtersReadTags = (filters: readonly FilterInput[] | undefined): boolean =>
  (filters ?? []).some((f) => f.Name !== undefined && (f.Name.startsWith('tag:') || f.Name === 'tag-key' || f.Name === 'tag-value'));

export function typeFacts(s: Services, type: string): InstanceTypeFacts {
  const facts = s.catalog.facts(type);
  if (!facts) throw Errors.invalidInstanceTypeValue(type);
  return facts;
}

// --- the API's view of an instance ------------------------------------------------------------------

/** An instance as the API shows it; `tags` are its tags (read with the record, e.g. StoreReader.tagsOfMany). */
/**
 * An instance as the API shows it; `tags` are its tags (read with the record, e.g. StoreReader.tagsOfMany);
 * `dataVolumes`: the data volumes attached to it (src/services/volumes.ts dataVolumesAttachedTo), shown
 * after the root volume in BlockDeviceMappings with their own AttachTime.
 */
export function toInstance(rec: InstanceRecord, _s: Services, tags: ReadonlyMap<string, string>, attached: Attached = NOTHING_ATTACHED): Instance {
  const dataVolumes = attached.volumes;
  // Absent members are `undefined` (the XML writer leaves them out), not conditional spreads: V8 builds a
  // literal with spreads an order of magnitude slower, and a page holds a thousand of these.
  const net = attachedNetworkOf(rec);
  const windows = rec.platform === 'windows';
  const rootDevice = rootDeviceName(rec);
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
    PublicIpAddress: rec.publicIp,
    StateTransitionReason: rec.stateTransitionReason,
    KeyName: rec.keyName,
    AmiLaunchIndex: rec.amiLaunchIndex,
    ProductCodes: [],
    InstanceType: rec.instanceType as Instance['InstanceType'],
    LaunchTime: launched,
    Placement: {
      AvailabilityZone: rec.availabilityZone,
      Affinity: rec.tenancy === 'host' ? affinityOf(rec) : undefined,
      GroupName: '',
      Tenancy: rec.tenancy as 'default',
      HostId: rec.hostId,
    },
    // EC2 writes the platform in lower case on the wire, though the SDK's enum says 'Windows'.
    Platform: windows ? ('windows' as Instance['Platform']) : undefined,
    Monitoring: { State: rec.detailedMonitoring ? 'enabled' : 'disabled' },
    SubnetId: net?.subnetId,
    VpcId: net?.vpcId,
    PrivateIpAddress: net ? rec.privateIpAddress : undefined,
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
          ...dataVolumes.map((v) => ({
            DeviceName: v.attachment!.device,
            Ebs: {
              AttachTime: new Date(v.attachment!.attachTime),
              DeleteOnTermination: v.attachment!.deleteOnTermination,
              Status: 'attached' as const,
              VolumeId: v.id,
            },
          })),
        ]
      : [],
    VirtualizationType: 'hvm',
    IamInstanceProfile: rec.iamInstanceProfile ? { Arn: rec.iamInstanceProfile.arn, Id: rec.iamInstanceProfile.id } : undefined,
    ClientToken: rec.clientToken,
    Tags: tags.size > 0 ? tagList(tags) : undefined,
    NetworkInterfaces: instanceNetworkInterfaces(rec, attached.interfaces),
    SecurityGroups: net ? [...net.securityGroups] : [],
    SourceDestCheck: rec.sourceDestCheck ?? true,
    Hypervisor: 'xen',
    InstanceLifecycle: rec.instanceLifecycle,
    EbsOptimized: rec.ebsOptimized === true,
    EnaSupport: true,
    StateReason: rec.stateReason ? { Code: rec.stateReason.code, Message: rec.stateReason.message } : undefined,
    CpuOptions: {
      CoreCount: cpu.coreCount,
      ThreadsPerCore: cpu.threadsPerCore,
      AmdSevSnp: cpu.amdSevSnp,
      NestedVirtualization: cpu.nestedVirtualization,
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

/** What is attached to an instance besides its root volume and derived primary interface: stored records whose attachment names it. */
export interface Attached {
  readonly volumes: readonly VolumeRecord[];
  readonly interfaces: readonly NetworkInterfaceRecord[];
}
const NOTHING_ATTACHED: Attached = { volumes: [], interfaces: [] };

/** By instance ID; an instance with nothing attached is absent. */
export type AttachedById = ReadonlyMap<string, Attached>;

/**
 * A reservation with these of its instances. `tags` and `attached`: the instances' tags and what is
 * attached to them when already read (StoreReader.tagsOfMany, attachedTo); otherwise they are read here, at once.
 */
export async function reservationOf(
  s: Services,
  reservationId: string,
  recs: readonly InstanceRecord[],
  account: string,
  tags?: ReadonlyMap<string, ReadonlyMap<string, string>>,
  attached?: AttachedById,
): Promise<Reservation> {
  const scope = { account, region: recs[0]?.region ?? '' };
  const [tagsOf, attachedOf] = await Promise.all([
    tags ?? (recs.length > 0 ? s.store.tagsOfMany(recs.map((r) => r.id)) : new Map<string, ReadonlyMap<string, string>>()),
    attached ?? attachedTo(s, scope, recs),
  ]);
  return {
    ReservationId: reservationId,
    OwnerId: account,
    // EC2-Classic only ("Not supported"): a VPC instance's groups are in its own SecurityGroups.
    Groups: [],
    Instances: recs.map((r) => toInstance(r, s, tagsOf.get(r.id) ?? NO_TAGS, attachedOf.get(r.id))),
  };
}

/**
 * The data volumes and network interfaces attached to these instances (one read of the Region's
 * volumes and one of its interfaces, at once), by instance; volumes in attachment order.
 */
export async function attachedTo(s: Services, scope: Scope, recs: readonly InstanceRecord[]): Promise<Map<string, Attached>> {
  const out = new Map<string, Attached>();
  if (recs.length === 0) return out;
  const byId = new Map(recs.map((r) => [r.id, r]));
  const [volumes, interfaces] = await Promise.all([s.store.resources('volume', scope), interfacesAttachedTo(s, scope, recs)]);
  const volumesOf = new Map<string, VolumeRecord[]>();
  for (const vol of volumes) {
    const a = liveAttachment(vol, (id) => byId.get(id));
    if (a) volumesOf.set(a.instanceId, [...(volumesOf.get(a.instanceId) ?? []), vol]);
  }
  for (const list of volumesOf.values()) list.sort((x, y) => x.attachment!.attachTime.localeCompare(y.attachment!.attachTime));
  for (const id of new Set([...volumesOf.keys(), ...interfaces.keys()])) {
    out.set(id, { volumes: volumesOf.get(id) ?? [], interfaces: interfaces.get(id) ?? [] });
  }
  return out;
}

// --- filters ----------------------------------------------------------------------------------------

/**
 * The `network-interface.*` filters (and the older `association.*` spellings), read from the
 * interfaces DescribeInstances shows, so a filter always agrees with the view. Members nestbox never
 * has (IPv6, prefixes, carrier and customer-owned addresses, requester-managed
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
  // The Elastic IP associated with the primary interface (src/domain/elastic-ip.ts).
  const allocationId: FilterAccessor<InstanceRecord> = (r) => (enis(r).length > 0 ? r.elasticIp?.allocationId : undefined);
  const associationId: FilterAccessor<InstanceRecord> = (r) => (enis(r).length > 0 ? r.elasticIp?.associationId : undefined);
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
    'network-interface.addresses.association.allocation-id': allocationId,
    'network-interface.addresses.association.association-id': associationId,
    'network-interface.addresses.association.carrier-ip': none,
    'network-interface.addresses.association.customer-owned-ip': none,
    'network-interface.association.public-ip': each((e) => e.Association?.PublicIp),
    'network-interface.association.public-dns-name': each((e) => e.Association?.PublicDnsName),
    'network-interface.association.ip-owner-id': each((e) => e.Association?.IpOwnerId),
    'network-interface.association.allocation-id': allocationId,
    'network-interface.association.association-id': associationId,
    'network-interface.association.carrier-ip': none,
    'network-interface.association.customer-owned-ip': none,
    // the older spellings, without the `network-interface.` prefix
    'association.public-ip': each((e) => e.Association?.PublicIp),
    'association.ip-owner-id': each((e) => e.Association?.IpOwnerId),
    'association.allocation-id': allocationId,
    'association.association-id': associationId,
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

/** DescribeInstances' filters but the tag ones, built once: a table of ~100 accessors costs ~0.4 ms to make. */
let instanceFilterFields: FilterTable<InstanceRecord>['fields'] | undefined;

/**
 * DescribeInstances' filters. `tags`: the instances' tags, read before the filters run (a resource
 * without tags is absent).
 */
export function instanceFilterTable(tags: ReadonlyMap<string, ReadonlyMap<string, string>>): FilterTable<InstanceRecord> {
  instanceFilterFields ??= {
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
  'block-device-mapping.device-name': (r) => (rootVolumeAttached(r) ? rootDeviceName(r) : undefined),
  'block-device-mapping.volume-id': (r) => (rootVolumeAttached(r) ? rootVolumeId(r) : undefined),
  'block-device-mapping.status': (r) => (rootVolumeAttached(r) ? 'attached' : undefined),
  'block-device-mapping.delete-on-termination': (r) => (rootVolumeAttached(r) ? rootVolumeOf(r).deleteOnTermination : undefined),
};
  return { tags: (r) => tags.get(r.id), fields: instanceFilterFields };
}
