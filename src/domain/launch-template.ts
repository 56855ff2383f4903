/**
 * Launch templates as nestbox records them, and the pure rules over them: name and version syntax,
 * version selection, how a new version inherits from its source, how RunInstances merges a template
 * with its own parameters, and the template data an existing instance yields (GetLaunchTemplateData).
 *
 * Template data is kept exactly as given (EC2 does not validate it against the instance type at
 * creation); every launch rule applies when RunInstances uses it.
 */
import type {
  LaunchTemplate,
  LaunchTemplateVersion,
  RequestLaunchTemplateData,
  ResponseLaunchTemplateData,
  RunInstancesRequest,
  Tag,
  TagSpecification,
} from '@aws-sdk/client-ec2';
import { rootDeviceName, rootVolumeOf } from './block-devices.js';
import type { CpuSettings } from './cpu-options.js';
import { Errors } from './errors.js';
import { affinityOf } from './host.js';
import { rootSnapshotId } from './images.js';
import type { InstanceRecord, Scope } from './instance.js';
import {
  type CpuCredits,
  metadataOptionsOf,
  metadataOptionsView,
  privateDnsNameOptionsView,
  spotSettingsOf,
} from './launch-options.js';

export interface LaunchTemplateVersionRecord {
  readonly number: number;
  readonly description?: string | undefined;
  readonly createTime: string;
  /** the data exactly as given (templates are not validated against instance types at creation) */
  readonly data: RequestLaunchTemplateData;
  /** CreateLaunchTemplateVersion's idempotency token and a fingerprint of the rest of its request */
  readonly clientToken?: string | undefined;
  readonly fingerprint?: string | undefined;
}

export interface LaunchTemplateRecord extends Scope {
  /** `lt-…` */
  readonly id: string;
  readonly name: string;
  readonly createTime: string;
  /** ARN of the caller, e.g. `arn:aws:iam::000000000000:root` */
  readonly createdBy: string;
  readonly defaultVersion: number;
  /** the highest version number ever given: numbers are never reused, even after a delete */
  readonly lastVersionNumber: number;
  /** CreateLaunchTemplate's idempotency token and a fingerprint of the rest of its request */
  readonly clientToken?: string | undefined;
  readonly fingerprint?: string | undefined;
}

/**
 * A template's versions, ascending by number, never empty (the default version cannot be deleted).
 * The store keeps them apart from the template, one row each (Store.templateVersions).
 */
export type TemplateVersions = readonly LaunchTemplateVersionRecord[];

/** EC2's quota: "up to 10,000 versions per launch template" (User Guide, launch template restrictions). */
export const MAX_VERSIONS_PER_TEMPLATE = 10_000;

/** The template and version an instance was launched from (InstanceRecord.launchTemplate). */
export interface LaunchTemplateRef {
  readonly id: string;
  readonly version: number;
}

// --- syntax -----------------------------------------------------------------------------------------

/** EC2's rule for template names: 3–128 of letters, digits and `( ) . - / _`. */
const NAME_SYNTAX = /^[a-zA-Z0-9().\-/_]{3,128}$/;
export const MAX_VERSION_DESCRIPTION = 255;

export function checkTemplateName(name: string): void {
  if (!NAME_SYNTAX.test(name)) throw Errors.launchTemplateNameMalformed(name);
}

/** A version as requests name it: a number, or the template's latest or default version. */
export type VersionSelector = number | '$Latest' | '$Default';

/** Parses a version parameter; `allowAliases` false accepts numbers only (DeleteLaunchTemplateVersions, ModifyLaunchTemplate). */
export function parseVersion(value: string, param: string, allowAliases = true): VersionSelector {
  if (allowAliases && (value === '$Latest' || value === '$Default')) return value;
  if (/^[0-9]{1,18}$/.test(value) && Number(value) >= 1) return Number(value);
  throw Errors.invalidValueFor(
    param,
    value,
    allowAliases ? 'Valid values are version numbers, $Latest and $Default.' : 'Specify a version number.',
  );
}

// --- versions ---------------------------------------------------------------------------------------

export const latestVersion = (versions: TemplateVersions): LaunchTemplateVersionRecord => versions[versions.length - 1]!;

/** The version a selector names in the template's versions (binary search: they are ascending). */
export function findVersion(t: LaunchTemplateRecord, versions: TemplateVersions, v: VersionSelector): LaunchTemplateVersionRecord | undefined {
  if (v === '$Latest') return versions.length > 0 ? latestVersion(versions) : undefined;
  const n = v === '$Default' ? t.defaultVersion : v;
  let lo = 0;
  let hi = versions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = versions[mid]!;
    if (at.number === n) return at;
    if (at.number < n) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** The version a selector names, or InvalidLaunchTemplateId.VersionNotFound. */
export function resolveVersion(t: LaunchTemplateRecord, versions: TemplateVersions, v: VersionSelector): LaunchTemplateVersionRecord {
  const found = findVersion(t, versions, v);
  if (!found) throw Errors.launchTemplateVersionNotFound(t.id, String(v));
  return found;
}

/**
 * A new version's data: the source version's launch parameters, except those the request gives,
 * which replace the source's whole (EC2: "inherits … except for parameters that you specify").
 */
export function inheritData(source: RequestLaunchTemplateData | undefined, given: RequestLaunchTemplateData): RequestLaunchTemplateData {
  return { ...source, ...definedMembers(given) };
}

function definedMembers<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

// --- the API's view ---------------------------------------------------------------------------------

/** `latest`: the highest version number the template has (undefined: none left, which a default version prevents). */
export function toLaunchTemplate(t: LaunchTemplateRecord, latest: number | undefined, tags: readonly Tag[]): LaunchTemplate {
  return {
    LaunchTemplateId: t.id,
    LaunchTemplateName: t.name,
    CreateTime: new Date(t.createTime),
    CreatedBy: t.createdBy,
    DefaultVersionNumber: t.defaultVersion,
    LatestVersionNumber: latest ?? t.defaultVersion,
    ...(tags.length > 0 ? { Tags: [...tags] } : {}),
  };
}

export function toLaunchTemplateVersion(t: LaunchTemplateRecord, v: LaunchTemplateVersionRecord): LaunchTemplateVersion {
  return {
    LaunchTemplateId: t.id,
    LaunchTemplateName: t.name,
    VersionNumber: v.number,
    ...(v.description !== undefined ? { VersionDescription: v.description } : {}),
    CreateTime: new Date(v.createTime),
    CreatedBy: t.createdBy,
    DefaultVersion: v.number === t.defaultVersion,
    LaunchTemplateData: responseData(v.data),
  };
}

/**
 * The request and response shapes of template data have the same members with the same wire names
 * (the response adds only read-only extras), so stored request data is written back as it is; the
 * TypeScript types differ only in enum and Date typing.
 */
const responseData = (data: RequestLaunchTemplateData): ResponseLaunchTemplateData => data as ResponseLaunchTemplateData;

// --- RunInstances from a template -------------------------------------------------------------------

/** Template data members whose RunInstances parameter is spelled differently. */
const RUN_INSTANCES_NAME: Readonly<Record<string, string | null>> = {
  RamDiskId: 'RamdiskId',
  ElasticGpuSpecifications: 'ElasticGpuSpecification',
  // Attribute-based type selection belongs to fleets; RunInstances has no such parameter.
  InstanceRequirements: null,
};

/**
 * The RunInstances request a template version and a request make together: each parameter the
 * request gives replaces the template's whole (CpuOptions, Placement, … are not merged member by
 * member), except TagSpecifications, where the request's tags for a resource type replace the
 * template's tags for that type and the template's tags for other types are kept.
 */
export function mergeLaunchRequest(data: RequestLaunchTemplateData, request: RunInstancesRequest): RunInstancesRequest {
  const merged: Record<string, unknown> = {};
  for (const [member, value] of Object.entries(data)) {
    if (value === undefined) continue;
    const name = Object.hasOwn(RUN_INSTANCES_NAME, member) ? RUN_INSTANCES_NAME[member] : member;
    if (name) merged[name] = value;
  }
  const tags = mergeTagSpecifications(data.TagSpecifications as TagSpecification[] | undefined, request.TagSpecifications);
  // The member names are RunInstances' own (see RUN_INSTANCES_NAME); only the SDK's TypeScript types differ.
  const fromTemplate = merged as Partial<RunInstancesRequest>;
  return { ...fromTemplate, ...definedMembers(request), ...(tags ? { TagSpecifications: tags } : {}) } as RunInstancesRequest;
}

function mergeTagSpecifications(
  fromTemplate: readonly TagSpecification[] | undefined,
  fromRequest: readonly TagSpecification[] | undefined,
): TagSpecification[] | undefined {
  if (!fromTemplate || !fromRequest) return fromRequest ? [...fromRequest] : fromTemplate ? [...fromTemplate] : undefined;
  const given = new Set(fromRequest.map((s) => s.ResourceType));
  return [...fromTemplate.filter((s) => !given.has(s.ResourceType)), ...fromRequest];
}

/** The system tags EC2 puts on an instance launched from a template. */
export const launchTemplateTags = (ref: LaunchTemplateRef): { key: string; value: string }[] => [
  { key: 'aws:ec2launchtemplate:id', value: ref.id },
  { key: 'aws:ec2launchtemplate:version', value: String(ref.version) },
];

// --- GetLaunchTemplateData --------------------------------------------------------------------------

export interface InstanceFacts {
  readonly rec: InstanceRecord;
  /** the instance's tags, system (`aws:`) tags included */
  readonly tags: ReadonlyMap<string, string> | undefined;
  /** its root volume's tags */
  readonly volumeTags?: ReadonlyMap<string, string> | undefined;
  readonly subnetId: string;
  /** the security groups of its primary network interface */
  readonly securityGroupIds: readonly string[];
  /** its CPU credit option, for a burstable type only (another type would refuse a template carrying one) */
  readonly cpuCredits?: CpuCredits | undefined;
}

const cpuOptionsOf = (cpu: CpuSettings) => ({
  CoreCount: cpu.coreCount,
  ThreadsPerCore: cpu.threadsPerCore,
  ...(cpu.amdSevSnp ? { AmdSevSnp: cpu.amdSevSnp } : {}),
  ...(cpu.nestedVirtualization ? { NestedVirtualization: cpu.nestedVirtualization } : {}),
});

/**
 * An instance's configuration as launch template data, ready to create a template from (EC2 leaves
 * out its `aws:` tags, which a template may not carry, and the addresses, which would pin them).
 */
export function launchTemplateDataOf({ rec, tags, volumeTags, subnetId, securityGroupIds, cpuCredits }: InstanceFacts): ResponseLaunchTemplateData {
  const root = rootVolumeOf(rec);
  const spot = spotSettingsOf(rec);
  const userTags = [...(tags ?? [])]
    .filter(([key]) => !key.toLowerCase().startsWith('aws:'))
    .map(([Key, Value]) => ({ Key, Value }));
  // The root volume's tags too, so a template made from the instance tags its volumes the same way.
  const tagSpecifications = [
    ...(userTags.length > 0 ? [{ ResourceType: 'instance' as const, Tags: userTags }] : []),
    ...(volumeTags && volumeTags.size > 0
      ? [{ ResourceType: 'volume' as const, Tags: [...volumeTags].map(([Key, Value]) => ({ Key, Value })) }]
      : []),
  ];
  return {
    ImageId: rec.imageId,
    InstanceType: rec.instanceType as ResponseLaunchTemplateData['InstanceType'],
    ...(rec.keyName !== undefined ? { KeyName: rec.keyName } : {}),
    EbsOptimized: rec.ebsOptimized === true,
    ...(rec.iamInstanceProfile ? { IamInstanceProfile: { Arn: rec.iamInstanceProfile.arn } } : {}),
    BlockDeviceMappings: [
      {
        DeviceName: rootDeviceName(rec),
        Ebs: {
          DeleteOnTermination: root.deleteOnTermination,
          Encrypted: root.encrypted,
          ...(root.kmsKeyId !== undefined ? { KmsKeyId: root.kmsKeyId } : {}),
          SnapshotId: root.snapshotId ?? rootSnapshotId(rec.imageId),
          VolumeSize: root.sizeGiB,
          VolumeType: root.volumeType,
          // Provisioned values only: gp2's baseline IOPS would be refused by a launch from the template.
          ...(root.iops !== undefined ? { Iops: root.iops } : {}),
          ...(root.throughputMiBps !== undefined ? { Throughput: root.throughputMiBps } : {}),
        },
      },
    ],
    NetworkInterfaces: [
      { DeviceIndex: 0, NetworkCardIndex: 0, SubnetId: subnetId, Groups: [...securityGroupIds], DeleteOnTermination: true },
    ],
    Monitoring: { Enabled: rec.detailedMonitoring === true },
    Placement: {
      AvailabilityZone: rec.availabilityZone,
      ...(rec.tenancy === 'host' ? { Affinity: affinityOf(rec) } : {}),
      GroupName: '',
      Tenancy: rec.tenancy as 'default',
      ...(rec.hostId !== undefined ? { HostId: rec.hostId } : {}),
    },
    DisableApiTermination: rec.disableApiTermination === true,
    DisableApiStop: rec.disableApiStop === true,
    InstanceInitiatedShutdownBehavior: rec.shutdownBehavior ?? 'stop',
    ...(rec.userData !== undefined ? { UserData: rec.userData } : {}),
    ...(tagSpecifications.length > 0 ? { TagSpecifications: tagSpecifications } : {}),
    ...(spot
      ? {
          InstanceMarketOptions: {
            MarketType: 'spot' as const,
            SpotOptions: {
              SpotInstanceType: spot.requestType,
              InstanceInterruptionBehavior: spot.interruptionBehavior,
              ...(spot.maxPrice !== undefined ? { MaxPrice: spot.maxPrice } : {}),
            },
          },
        }
      : {}),
    ...(cpuCredits ? { CreditSpecification: { CpuCredits: cpuCredits } } : {}),
    CpuOptions: cpuOptionsOf(rec.cpu),
    CapacityReservationSpecification: { CapacityReservationPreference: rec.capacityReservationsNone ? 'none' : 'open' },
    HibernationOptions: { Configured: rec.hibernationConfigured },
    MetadataOptions: metadataOptionsView(metadataOptionsOf(rec)),
    EnclaveOptions: { Enabled: rec.enclave === true },
    PrivateDnsNameOptions: privateDnsNameOptionsView(rec),
    MaintenanceOptions: { AutoRecovery: rec.autoRecoveryDisabled ? 'disabled' : 'default' },
  };
}
