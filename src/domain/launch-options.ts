/**
 * RunInstances' launch options beyond the image, type, CPU options and network: the root volume
 * (src/domain/block-devices.ts), instance metadata, detailed monitoring, CPU credits, Spot, EBS
 * optimisation, auto-recovery, private DNS names, Nitro Enclaves, the IAM instance profile and the
 * capacity-reservation preference. Each is checked, recorded on the instance (absent = EC2's default)
 * and shown back the way EC2 shows it, so a tool that reads back what it asked for (Terraform's
 * `aws_instance`) sees no drift.
 *
 * RUN_INSTANCES_MEMBERS says for every member of RunInstances what nestbox does with it; the compiler
 * keeps it exhaustive, so a member is either honoured or refused by name, never dropped.
 */
import type {
  InstanceMarketOptionsRequest,
  InstanceMetadataOptionsRequest,
  InstanceTypeInfo,
  PrivateDnsNameOptionsRequest,
  RunInstancesRequest,
} from '@aws-sdk/client-ec2';
import { createHash } from 'node:crypto';
import { type RootVolumeSettings, resolveRootVolume } from './block-devices.js';
import { parseToggle } from './cpu-options.js';
import { Errors } from './errors.js';
import { type ImageFacts, findImage } from './images.js';
import type { InstanceRecord } from './instance.js';
import type { CpuCredits, IamInstanceProfileRecord, MetadataOptions, PrivateDnsNameSettings, SpotSettings } from './launch-settings.js';

export type { CpuCredits, IamInstanceProfileRecord, MetadataOptions, PrivateDnsNameSettings, SpotSettings };

// --- instance metadata ----------------------------------------------------------------------------

export const MAX_HOP_LIMIT = 64;

/** EC2's defaults: IMDSv2 only with a hop limit of 2 for an image whose ImdsSupport is `v2.0`, else IMDSv1 allowed. */
export function defaultMetadataOptions(image: Pick<ImageFacts, 'imdsSupport'> | undefined): MetadataOptions {
  const v2 = image?.imdsSupport === 'v2.0';
  return {
    httpTokens: v2 ? 'required' : 'optional',
    hopLimit: v2 ? 2 : 1,
    httpEndpoint: 'enabled',
    httpProtocolIpv6: 'disabled',
    instanceMetadataTags: 'disabled',
  };
}

/**
 * `base` with the options a request gives, each checked (RunInstances: `prefix` `MetadataOptions.`;
 * ModifyInstanceMetadataOptions: none). Options not given keep their value.
 */
export function applyMetadataOptions(base: MetadataOptions, req: InstanceMetadataOptionsRequest | undefined, prefix: string): MetadataOptions {
  if (!req) return base;
  const tokens = req.HttpTokens as string | undefined;
  if (tokens !== undefined && tokens !== 'optional' && tokens !== 'required') {
    throw Errors.invalidValueFor(`${prefix}HttpTokens`, tokens, 'Valid values: optional, required.');
  }
  const hops = req.HttpPutResponseHopLimit;
  if (hops !== undefined && (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOP_LIMIT)) {
    throw Errors.invalidValueFor(`${prefix}HttpPutResponseHopLimit`, hops, `Valid values are whole numbers from 1 to ${MAX_HOP_LIMIT}.`);
  }
  return {
    httpTokens: tokens ?? base.httpTokens,
    hopLimit: hops ?? base.hopLimit,
    httpEndpoint: parseToggle(req.HttpEndpoint, `${prefix}HttpEndpoint`) ?? base.httpEndpoint,
    httpProtocolIpv6: parseToggle(req.HttpProtocolIpv6, `${prefix}HttpProtocolIpv6`) ?? base.httpProtocolIpv6,
    instanceMetadataTags: parseToggle(req.InstanceMetadataTags, `${prefix}InstanceMetadataTags`) ?? base.instanceMetadataTags,
  };
}

/** An instance's metadata options: recorded, or its image's defaults (records from before they were kept). */
export const metadataOptionsOf = (rec: Pick<InstanceRecord, 'metadataOptions' | 'imageId'>): MetadataOptions =>
  rec.metadataOptions ?? defaultMetadataOptions(findImage(rec.imageId));

/** The options as DescribeInstances, ModifyInstanceMetadataOptions and launch-template data spell them. */
export const metadataOptionsView = (m: MetadataOptions) => ({
  HttpTokens: m.httpTokens,
  HttpPutResponseHopLimit: m.hopLimit,
  HttpEndpoint: m.httpEndpoint,
  HttpProtocolIpv6: m.httpProtocolIpv6,
  InstanceMetadataTags: m.instanceMetadataTags,
});

// --- CPU credits ----------------------------------------------------------------------------------

export function parseCpuCredits(value: string | undefined, param: string): CpuCredits {
  if (value === undefined || value === '') throw Errors.missingParameter(param);
  if (value !== 'standard' && value !== 'unlimited') throw Errors.invalidValueFor(param, value, 'Valid values: standard, unlimited.');
  return value;
}

/** What the credit rules need to know of an instance. */
export interface CreditSubject {
  readonly instanceType: string;
  /** the type's BurstablePerformanceSupported */
  readonly burstable: boolean;
  readonly tenancy: string;
}

/** T3 on a Dedicated Host runs `standard` only (EC2 UG: "T3 instances with host tenancy do not support the unlimited CPU credit option"). */
const t3OnHost = (i: CreditSubject): boolean => i.tenancy === 'host' && /^t3a?\./.test(i.instanceType);

/** The option a burstable instance launches with: T2 and T3 on a host `standard`, the later families `unlimited`. */
export function defaultCpuCredits(i: CreditSubject): CpuCredits {
  return i.burstable && !i.instanceType.startsWith('t2.') && !t3OnHost(i) ? 'unlimited' : 'standard';
}

/** A credit option for an instance (at launch or ModifyInstanceCreditSpecification): only burstable types take one. */
export function checkCpuCredits(i: CreditSubject, credits: CpuCredits): void {
  if (!i.burstable) throw Errors.creditSpecificationNotSupported(i.instanceType);
  if (credits === 'unlimited' && t3OnHost(i)) throw Errors.unlimitedOnDedicatedHost(i.instanceType);
}

/**
 * An instance's credit option: the one set for it, else its type's default. A set option outlives a
 * type change (EC2: an `unlimited` T2 resized to an M4 is still listed as `unlimited`); a type that is
 * not burstable and never had one reports `standard`.
 */
export const cpuCreditsOf = (rec: Pick<InstanceRecord, 'cpuCredits'>, i: CreditSubject): CpuCredits =>
  rec.cpuCredits ?? defaultCpuCredits(i);

// --- Spot -----------------------------------------------------------------------------------------

/** An EC2 Fleet's Spot Instances (instant fleets make one-time requests), and Spot records that predate SpotSettings. */
const FLEET_SPOT: SpotSettings = { requestType: 'one-time', interruptionBehavior: 'terminate' };

export const spotSettingsOf = (rec: Pick<InstanceRecord, 'instanceLifecycle' | 'spot'>): SpotSettings | undefined =>
  rec.instanceLifecycle === 'spot' ? (rec.spot ?? FLEET_SPOT) : undefined;

const SPOT_TYPES: readonly string[] = ['one-time', 'persistent'];
const INTERRUPTION_BEHAVIORS: readonly string[] = ['hibernate', 'stop', 'terminate'];
const PRICE = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

/**
 * InstanceMarketOptions: `spot` makes a Spot Instance (undefined: On-Demand). RunInstances takes a
 * persistent request only with the interruption behaviour `stop` or `hibernate`, and a one-time request
 * only with `terminate`; Spot Instances cannot run on Dedicated Hosts.
 */
export function parseInstanceMarketOptions(opts: InstanceMarketOptionsRequest | undefined, tenancy: string): SpotSettings | undefined {
  if (!opts || (opts.MarketType === undefined && opts.SpotOptions === undefined)) return undefined;
  const market = opts.MarketType as string | undefined;
  if (market === undefined || market === '') throw Errors.missingParameter('InstanceMarketOptions.MarketType');
  if (market === 'capacity-block' || market === 'interruptible-capacity-reservation') {
    throw Errors.launchOptionNotImplemented(`InstanceMarketOptions.MarketType=${market}`, 'nestbox has no capacity reservations');
  }
  if (market !== 'spot' && market !== 'on-demand') {
    throw Errors.invalidValueFor('InstanceMarketOptions.MarketType', market, 'Valid values: spot, on-demand, capacity-block, interruptible-capacity-reservation.');
  }
  const o = opts.SpotOptions ?? {};
  if (market === 'on-demand') {
    if (opts.SpotOptions !== undefined) {
      throw Errors.invalidParameterCombination('InstanceMarketOptions.SpotOptions can be given only with MarketType spot.');
    }
    return undefined;
  }
  const type = (o.SpotInstanceType as string | undefined) ?? 'one-time';
  if (!SPOT_TYPES.includes(type)) throw Errors.invalidValueFor('InstanceMarketOptions.SpotOptions.SpotInstanceType', type, 'Valid values: one-time, persistent.');
  const behavior = (o.InstanceInterruptionBehavior as string | undefined) ?? (type === 'persistent' ? undefined : 'terminate');
  if (behavior !== undefined && !INTERRUPTION_BEHAVIORS.includes(behavior)) {
    throw Errors.invalidValueFor('InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior', behavior, 'Valid values: hibernate, stop, terminate.');
  }
  if (o.MaxPrice !== undefined && (!PRICE.test(o.MaxPrice) || Number(o.MaxPrice) <= 0)) {
    throw Errors.invalidValueFor('InstanceMarketOptions.SpotOptions.MaxPrice', o.MaxPrice, 'Specify a price in USD per hour, such as 0.05.');
  }
  if (o.BlockDurationMinutes !== undefined) {
    throw Errors.launchOptionNotImplemented('InstanceMarketOptions.SpotOptions.BlockDurationMinutes', 'Spot blocks (defined-duration Spot Instances) are no longer offered');
  }
  if (type === 'one-time' && behavior !== 'terminate') throw Errors.spotRequestTypeBehavior(type, behavior!);
  if (type === 'persistent' && (behavior === undefined || behavior === 'terminate')) throw Errors.spotRequestTypeBehavior(type, behavior ?? 'terminate');
  if (tenancy === 'host') throw Errors.spotOnDedicatedHost();
  return {
    requestType: type as SpotSettings['requestType'],
    interruptionBehavior: behavior as SpotSettings['interruptionBehavior'],
    ...(o.MaxPrice !== undefined ? { maxPrice: o.MaxPrice } : {}),
  };
}

/** StopInstances: a Spot Instance stops only when its request is persistent (EC2: UnsupportedOperation otherwise). */
export function checkSpotStop(rec: InstanceRecord): void {
  if (spotSettingsOf(rec)?.requestType === 'one-time') throw Errors.oneTimeSpotStop(rec.id);
}

// --- private DNS names ----------------------------------------------------------------------------

/** What the default subnets give (PrivateDnsNameOptionsOnLaunch). */
export const DEFAULT_PRIVATE_DNS_NAME_OPTIONS: PrivateDnsNameSettings = { hostnameType: 'ip-name', aRecord: false, aaaaRecord: false };

function parsePrivateDnsNameOptions(req: PrivateDnsNameOptionsRequest | undefined): PrivateDnsNameSettings | undefined {
  if (!req) return undefined;
  const type = req.HostnameType as string | undefined;
  if (type !== undefined && type !== 'ip-name' && type !== 'resource-name') {
    throw Errors.invalidValueFor('PrivateDnsNameOptions.HostnameType', type, 'Valid values: ip-name, resource-name.');
  }
  if (req.EnableResourceNameDnsAAAARecord === true) {
    throw Errors.launchOptionNotImplemented('PrivateDnsNameOptions.EnableResourceNameDnsAAAARecord=true', IPV6);
  }
  const d = DEFAULT_PRIVATE_DNS_NAME_OPTIONS;
  const settings: PrivateDnsNameSettings = {
    hostnameType: type ?? d.hostnameType,
    aRecord: req.EnableResourceNameDnsARecord ?? d.aRecord,
    aaaaRecord: false,
  };
  return settings.hostnameType === d.hostnameType && settings.aRecord === d.aRecord ? undefined : settings;
}

export const privateDnsNameOptionsView = (rec: Pick<InstanceRecord, 'privateDnsNameOptions'>) => {
  const o = rec.privateDnsNameOptions ?? DEFAULT_PRIVATE_DNS_NAME_OPTIONS;
  return { HostnameType: o.hostnameType, EnableResourceNameDnsARecord: o.aRecord, EnableResourceNameDnsAAAARecord: o.aaaaRecord };
};

// --- IAM instance profile -------------------------------------------------------------------------

const PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const PROFILE_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile\/(?:[\x21-\x7e]{0,510}\/)?[\w+=,.@-]{1,128}$/;

/**
 * IamInstanceProfile by ARN or by name (not both). nestbox has no IAM: any well-formed profile is
 * taken as it is named, and a name becomes the caller's account's ARN, so DescribeInstances answers
 * `IamInstanceProfile {Arn, Id}` as EC2 would.
 */
export function parseIamInstanceProfile(
  spec: { readonly Arn?: string | undefined; readonly Name?: string | undefined } | undefined,
  account: string,
): IamInstanceProfileRecord | undefined {
  if (!spec || (spec.Arn === undefined && spec.Name === undefined)) return undefined;
  if (spec.Arn !== undefined && spec.Name !== undefined) throw Errors.iamProfileNameAndArn();
  if (spec.Name !== undefined && !PROFILE_NAME.test(spec.Name)) throw Errors.iamProfileInvalid('name', spec.Name);
  if (spec.Arn !== undefined && !PROFILE_ARN.test(spec.Arn)) throw Errors.iamProfileInvalid('arn', spec.Arn);
  const arn = spec.Arn ?? `arn:aws:iam::${account}:instance-profile/${spec.Name}`;
  const id = `AIPA${createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase()}`;
  return { arn, id };
}

// --- RunInstances ---------------------------------------------------------------------------------

const IPV6 = "the default subnets have no IPv6 CIDR block, so nestbox's instances have IPv4 addresses only";

/** `honoured`: planLaunch acts on it; `no-effect`: EC2 itself shows nothing of it here; a function: the refusal, if any. */
type Handling = 'honoured' | 'no-effect' | ((req: RunInstancesRequest) => readonly [what: string, why: string] | undefined);

const refuse =
  (member: keyof RunInstancesRequest, why: string): Handling =>
  (req) =>
    req[member] === undefined ? undefined : [member, why];

/**
 * Every member of RunInstances and what nestbox does with it. The members a launch option's own
 * parser refuses in part (a CapacityReservationTarget, a Spot block, …) are `honoured` here.
 */
export const RUN_INSTANCES_MEMBERS: Readonly<Record<keyof RunInstancesRequest, Handling>> = {
  BlockDeviceMappings: 'honoured',
  ImageId: 'honoured',
  InstanceType: 'honoured',
  Ipv6AddressCount: (r) => (r.Ipv6AddressCount ? ['Ipv6AddressCount', IPV6] : undefined),
  Ipv6Addresses: (r) => (r.Ipv6Addresses?.length ? ['Ipv6Addresses', IPV6] : undefined),
  KernelId: refuse('KernelId', 'the images are HVM images, which boot their own kernel'),
  KeyName: 'honoured',
  MaxCount: 'honoured',
  MinCount: 'honoured',
  Monitoring: 'honoured',
  Placement: 'honoured',
  RamdiskId: refuse('RamdiskId', 'the images are HVM images, which boot their own RAM disk'),
  SecurityGroupIds: 'honoured',
  SecurityGroups: 'honoured',
  SubnetId: 'honoured',
  UserData: 'honoured',
  ElasticGpuSpecification: (r) => (r.ElasticGpuSpecification?.length ? ['ElasticGpuSpecification', 'Amazon Elastic Graphics has been retired'] : undefined),
  ElasticInferenceAccelerators: (r) =>
    r.ElasticInferenceAccelerators?.length ? ['ElasticInferenceAccelerators', 'Amazon Elastic Inference has been retired'] : undefined,
  TagSpecifications: 'honoured',
  LaunchTemplate: 'honoured',
  InstanceMarketOptions: 'honoured',
  CreditSpecification: 'honoured',
  CpuOptions: 'honoured',
  CapacityReservationSpecification: 'honoured',
  HibernationOptions: 'honoured',
  LicenseSpecifications: (r) => (r.LicenseSpecifications?.length ? ['LicenseSpecifications', 'nestbox has no License Manager configurations'] : undefined),
  MetadataOptions: 'honoured',
  EnclaveOptions: 'honoured',
  PrivateDnsNameOptions: 'honoured',
  MaintenanceOptions: 'honoured',
  DisableApiStop: 'honoured',
  EnablePrimaryIpv6: (r) => (r.EnablePrimaryIpv6 === true ? ['EnablePrimaryIpv6=true', IPV6] : undefined),
  NetworkPerformanceOptions: (r) => {
    const w = r.NetworkPerformanceOptions?.BandwidthWeighting as string | undefined;
    return w === undefined || w === 'default'
      ? undefined
      : [`NetworkPerformanceOptions.BandwidthWeighting=${w}`, 'instance bandwidth is not modelled, so only the default weighting is offered'];
  },
  Operator: refuse('Operator', 'nestbox has no managed instances'),
  SecondaryInterfaces: (r) => (r.SecondaryInterfaces?.length ? ['SecondaryInterfaces', 'each instance has one primary network interface'] : undefined),
  DryRun: 'honoured',
  DisableApiTermination: 'honoured',
  InstanceInitiatedShutdownBehavior: 'honoured',
  PrivateIpAddress: 'honoured',
  ClientToken: 'honoured',
  // "Reserved." in the API reference.
  AdditionalInfo: 'no-effect',
  NetworkInterfaces: 'honoured',
  IamInstanceProfile: 'honoured',
  EbsOptimized: 'honoured',
};

/** NotImplemented naming the first member of the request nestbox cannot honour. */
export function checkRunInstancesMembers(req: RunInstancesRequest): void {
  for (const [member, handling] of Object.entries(RUN_INSTANCES_MEMBERS) as [keyof RunInstancesRequest, Handling][]) {
    if (typeof handling !== 'function' || req[member] === undefined) continue;
    const refusal = handling(req);
    if (refusal) throw Errors.launchOptionNotImplemented(refusal[0], refusal[1]);
  }
}

/** What the launch options need to know about the launch they belong to. */
export interface LaunchOptionContext {
  readonly account: string;
  readonly image: ImageFacts;
  readonly instanceType: string;
  /** the type's DescribeInstanceTypes entry: burstable performance, Nitro Enclaves, EBS optimisation */
  readonly typeInfo: InstanceTypeInfo;
  readonly tenancy: string;
  readonly hibernation: boolean;
}

/** The record fields the launch options set. */
export type LaunchSettings = Pick<
  InstanceRecord,
  | 'rootVolume'
  | 'metadataOptions'
  | 'detailedMonitoring'
  | 'cpuCredits'
  | 'instanceLifecycle'
  | 'spot'
  | 'ebsOptimized'
  | 'autoRecoveryDisabled'
  | 'privateDnsNameOptions'
  | 'enclave'
  | 'iamInstanceProfile'
  | 'capacityReservationsNone'
>;

/** Every launch option of a request, checked against the image and type; the fields to record. */
export function resolveLaunchOptions(input: RunInstancesRequest, c: LaunchOptionContext): LaunchSettings {
  const type = c.instanceType;
  const rootVolume: RootVolumeSettings | undefined = resolveRootVolume(input.BlockDeviceMappings, c.image);
  const metadataOptions = applyMetadataOptions(defaultMetadataOptions(c.image), input.MetadataOptions, 'MetadataOptions.');

  const credits = input.CreditSpecification?.CpuCredits;
  const cpuCredits = credits === undefined ? undefined : parseCpuCredits(credits, 'CreditSpecification.CpuCredits');
  if (cpuCredits) checkCpuCredits({ instanceType: type, burstable: c.typeInfo.BurstablePerformanceSupported === true, tenancy: c.tenancy }, cpuCredits);

  const spot = parseInstanceMarketOptions(input.InstanceMarketOptions, c.tenancy);

  if (input.EbsOptimized === true && c.typeInfo.EbsInfo?.EbsOptimizedSupport === 'unsupported') {
    throw Errors.invalidParameterCombination(`EBS-optimized instances are not supported for your requested configuration (${type}).`);
  }

  const autoRecovery = input.MaintenanceOptions?.AutoRecovery as string | undefined;
  if (autoRecovery !== undefined && autoRecovery !== 'default' && autoRecovery !== 'disabled') {
    throw Errors.invalidValueFor('MaintenanceOptions.AutoRecovery', autoRecovery, 'Valid values: default, disabled.');
  }

  const privateDnsNameOptions = parsePrivateDnsNameOptions(input.PrivateDnsNameOptions);

  const enclave = input.EnclaveOptions?.Enabled === true;
  if (enclave) {
    if (c.typeInfo.NitroEnclavesSupport !== 'supported') throw Errors.enclaveNotSupported(type);
    if (c.hibernation) throw Errors.enclaveWithHibernation();
  }

  const iamInstanceProfile = parseIamInstanceProfile(input.IamInstanceProfile, c.account);

  const reservations = input.CapacityReservationSpecification;
  const preference = reservations?.CapacityReservationPreference as string | undefined;
  if (reservations?.CapacityReservationTarget !== undefined) {
    throw Errors.launchOptionNotImplemented('CapacityReservationSpecification.CapacityReservationTarget', 'nestbox has no capacity reservations');
  }
  if (preference === 'capacity-reservations-only') {
    throw Errors.launchOptionNotImplemented('CapacityReservationSpecification.CapacityReservationPreference=capacity-reservations-only', 'nestbox has no capacity reservations');
  }
  if (preference !== undefined && preference !== 'open' && preference !== 'none') {
    throw Errors.invalidValueFor('CapacityReservationSpecification.CapacityReservationPreference', preference, 'Valid values: open, none, capacity-reservations-only.');
  }

  return {
    ...(rootVolume ? { rootVolume } : {}),
    // Like every other option, recorded only when asked for: absent means the image's default.
    ...(input.MetadataOptions ? { metadataOptions } : {}),
    ...(input.Monitoring?.Enabled === true ? { detailedMonitoring: true as const } : {}),
    ...(cpuCredits ? { cpuCredits } : {}),
    ...(spot ? { instanceLifecycle: 'spot' as const, spot } : {}),
    ...(input.EbsOptimized === true ? { ebsOptimized: true as const } : {}),
    ...(autoRecovery === 'disabled' ? { autoRecoveryDisabled: true as const } : {}),
    ...(privateDnsNameOptions ? { privateDnsNameOptions } : {}),
    ...(enclave ? { enclave: true as const } : {}),
    ...(iamInstanceProfile ? { iamInstanceProfile } : {}),
    ...(preference === 'none' ? { capacityReservationsNone: true as const } : {}),
  };
}
