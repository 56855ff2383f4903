/**
 * Launching instances: the quotas a launch counts against (instances, On-Demand vCPU buckets), the
 * plan of a RunInstances request (every rule checked in EC2's order, nothing changed), and the launch
 * core RunInstances and CreateFleet share (DryRun, the Dedicated Host, the VM hosts, the records and
 * their `start` tasks in one transaction).
 */
import type { RunInstancesRequest } from '@aws-sdk/client-ec2';
import { DEFAULT_QUOTAS } from '../accounts.js';
import { type CpuSettings, resolveCpuSettings } from '../domain/cpu-options.js';
import { Errors } from '../domain/errors.js';
import { checkNoPlacementGroup, parseTenancy } from '../domain/host.js';
import { isWellFormedId, newId } from '../domain/ids.js';
import { type LaunchDataVolume, resolveDataVolumes } from '../domain/block-devices.js';
import { type ImageFacts, imageRoot, isUserImage } from '../domain/images.js';
import { MAX_DATA_VOLUMES, type VolumeRecord } from '../domain/volumes.js';
import { launchableImage, snapshotsOf } from './images.js';
import { findSnapshots } from './volumes.js';
import { type InstanceGroup, type InstanceRecord, type InstanceSubnet, type Scope, rootVolumeId } from '../domain/instance.js';
import { checkUserData, parseShutdownBehavior } from '../domain/instance-attributes.js';
import type { InstanceTypeFacts } from '../domain/instance-types.js';
import type { KeyPairRecord } from '../domain/key-pair.js';
import { type LaunchSettings, checkRunInstancesMembers, resolveLaunchOptions } from '../domain/launch-options.js';
import { type LaunchTemplateRef, launchTemplateTags } from '../domain/launch-template.js';
import { STATE_REASONS } from '../domain/lifecycle.js';
import {
  type LaunchAddressing,
  addressesInZones,
  checkInterfaceLimits,
  defaultSubnetOf,
  existingInterfaces,
  mapsPublicIp,
  newInterfaceAddresses,
  plainAddressing,
  resolveLaunchNetwork,
} from './launch-network.js';
import { addressPositions } from './network-interfaces.js';
import type { NetworkInterfaceRecord } from '../domain/network-interface.js';
import { macAddress } from '../domain/network.js';
import { findSubnet } from './vpcs.js';
import { wantsPublicIp, withPublicIp } from '../domain/public-ip.js';
import { zoneNamed } from '../domain/regions.js';
import { checkDryRun, required } from '../domain/request.js';
import { StoreConflict, type StoreReader, type TagRecord } from '../store/types.js';
import { type Services, launchLock, nextSeqs, publicIpSource, quotasOf, zonesOf } from './context.js';
import { avoidingElasticIps } from './elastic-ips.js';
import { type HostLaunchRequest, hostLaunchRequest, placeOnHost } from './hosts.js';
import { type AttachedById, typeFacts } from './instances.js';
import { checkKeyForPlatform, keyPairByName } from './key-pairs.js';
import { applyLaunchTemplate } from './launch-templates.js';
import { type KeyValue, tagsFromSpecifications } from './tags.js';
import { placeOnVmHosts } from './vm-placement.js';

// --- quotas -----------------------------------------------------------------------------------------

/** Instances (not terminated) one account may have in one region, like EC2's instance quota: the default (src/accounts.ts). */
export const INSTANCE_LIMIT = DEFAULT_QUOTAS.instances;

/**
 * How many of MinCount..MaxCount fit under the account's quotas: as many as possible, at least
 * MinCount, or the error. The instance quota counts every instance that is not terminated; the On-Demand
 * vCPU quota (`vcpus`, for On-Demand launches not on a Dedicated Host) counts the vCPUs of the account's
 * pending and running On-Demand instances of the same bucket (vcpuBucketOf), as EC2 does. `reader`: the
 * launch transaction's, so that no other launch in the account and region counts meanwhile.
 */
export async function launchCount(
  s: Services,
  scope: Scope,
  minCount: number,
  maxCount: number,
  vcpus?: { perInstance: number; bucket: string },
  reader: StoreReader = s.store,
): Promise<number> {
  const quotas = quotasOf(s, scope.account);
  const limit = quotas.instances;
  const usage = await reader.instanceUsage(scope.account, scope.region);
  let live = 0;
  for (const u of usage) if (u.state !== 'terminated') live += u.count;
  const room = limit - live;
  if (room < minCount) throw Errors.instanceLimitExceeded(live + minCount, limit);
  let fit = room;
  if (vcpus && vcpus.perInstance > 0) {
    let used = 0;
    for (const u of usage) {
      if (u.spot || u.dedicated || (u.state !== 'pending' && u.state !== 'running')) continue;
      const facts = s.catalog.facts(u.instanceType);
      if (facts && vcpuBucketOf(facts.family) === vcpus.bucket) used += facts.vcpus * u.count;
    }
    const vcpuFit = Math.floor((quotas.vcpus - used) / vcpus.perInstance);
    if (vcpuFit < minCount) throw Errors.vcpuLimitExceeded(quotas.vcpus);
    fit = Math.min(fit, vcpuFit);
  }
  return Math.min(maxCount, fit);
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

// --- the plan and the launch ------------------------------------------------------------------------

/** What a valid launch request asks for, once every rule has been checked. */
export interface LaunchPlan {
  readonly minCount: number;
  readonly maxCount: number;
  readonly image: ImageFacts;
  readonly facts: InstanceTypeFacts;
  readonly zone: string;
  /** the request named the zone (Placement, a subnet, a Dedicated Host); otherwise a full default subnet passes the launch on */
  readonly zoneChosen: boolean;
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
  /** the subnet the instances are in when it is not their zone's default subnet */
  readonly subnet: InstanceSubnet | undefined;
  /** their security groups when they are not just the default VPC's `default` group */
  readonly securityGroups: readonly InstanceGroup[] | undefined;
  /** the data volumes each instance gets at launch (BlockDeviceMappings other than the root's, and its user image's) */
  readonly dataVolumes: readonly LaunchDataVolume[];
  /** private addresses asked for, and existing interfaces to attach (src/services/launch-network.ts) */
  readonly addressing: LaunchAddressing;
}

/** Checks a RunInstances request against every rule, in EC2's order; changes nothing. */
export async function planLaunch(raw: RunInstancesRequest, ctx: Scope, s: Services): Promise<LaunchPlan> {
  // From a launch template: its data overlaid with the request's own parameters, then every rule below.
  const { request: input, launchTemplate } = await applyLaunchTemplate(raw, ctx, s);
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
  // A built-in image, or a user image the caller may launch (its own, shared with it, or public) that is available.
  const image = await launchableImage(s, ctx, imageId);
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
  const network = await resolveLaunchNetwork(s, ctx, { ...input, Placement: placement });
  const namesAddresses = network.privateIp !== undefined || network.secondaryIps.length > 0 || network.newInterfaces.some((x) => x.privateIp !== undefined);
  if ((namesAddresses || network.interfaces.length > 0) && maxCount !== 1) {
    throw Errors.oneInstancePerInterface(network.interfaces.length > 0 ? 'An existing network interface' : 'A private IP address');
  }
  const subnet = network.namedSubnet;
  const zone = subnet?.availabilityZone ?? requestedZone ?? zonesOf(ctx.region)[0]!;
  const associatePublicIp = await mapsPublicIp(s, ctx, network, zone);
  // Naming a Dedicated Host implies tenancy `host`, as in EC2.
  const tenancy = parseTenancy(placement?.Tenancy ?? (placement?.HostId !== undefined ? 'host' : 'default'), 'placement.tenancy');
  const host = await hostLaunchRequest(s, ctx, subnet ? { ...placement, AvailabilityZone: zone } : placement, tenancy);
  checkInterfaceLimits(s, facts.type, network);
  const hibernation = input.HibernationOptions?.Configured === true;
  if (hibernation && !facts.hibernationSupported) throw Errors.hibernationNotSupported(facts.type);
  const cpu = resolveCpuSettings({ facts, platform: image.platform, hibernationConfigured: hibernation }, input.CpuOptions);
  const tags = tagsFromSpecifications(input.TagSpecifications, 'instance');
  const volumeTags = tagsFromSpecifications(input.TagSpecifications, 'volume');
  const userData = input.UserData === undefined ? undefined : checkUserData(input.UserData);
  const keyPair = input.KeyName === undefined ? undefined : await keyPairByName(s, ctx, input.KeyName);
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
  // Extra EBS mappings: data volumes made and attached at launch; snapshots a mapping names are the caller's and completed.
  const named = [...new Set((input.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId !== undefined ? [m.Ebs.SnapshotId] : [])))];
  const imageSnapshots = new Set([imageRoot(image).snapshotId, ...(isUserImage(image) ? snapshotsOf(image.user) : [])]);
  const snapshots = await findSnapshots(s, ctx, named.filter((id) => !imageSnapshots.has(id)));
  for (const snap of snapshots) if (snap.state !== 'completed') throw Errors.snapshotNotReady(snap.id, snap.state);
  const sizes = new Map(snapshots.map((x) => [x.id, x.volumeSizeGiB]));
  const dataVolumes = resolveDataVolumes(input.BlockDeviceMappings, image, (id) => sizes.get(id));
  if (dataVolumes.length > MAX_DATA_VOLUMES) {
    throw Errors.invalidBlockDeviceMapping(`An instance here has at most ${MAX_DATA_VOLUMES} data volumes; the launch asks for ${dataVolumes.length}.`);
  }
  return {
    minCount,
    maxCount,
    image,
    facts,
    zone,
    zoneChosen: subnet !== undefined || requestedZone !== undefined || host !== undefined,
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
    subnet: network.subnet,
    securityGroups: network.securityGroups,
    dataVolumes,
    addressing: network,
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
  /** each instance's tags, as written (what the store would read back), so the answer needs no read */
  readonly tags: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** what is attached to each instance (data volumes, network interfaces), as written, likewise */
  readonly attached: AttachedById;
}

/**
 * The launch core RunInstances and CreateFleet share: a checked plan becomes instances, in one
 * transaction under the account and region's launch lock (so quotas and ClientTokens hold across
 * servers): the ClientToken still unused, as many of MinCount..MaxCount as the quota allows, DryRun,
 * the Dedicated Host, the VM hosts, the records — written with their tags, the ClientToken and a
 * `start` task for each VM host. An Ec2Error means nothing was recorded. A ClientToken another request
 * recorded meanwhile is a StoreConflict: the request is answered again, as a replay.
 */
export async function launchPlanned(plan: LaunchPlan, ctx: Scope, s: Services, opts: LaunchOptions = {}): Promise<Launched> {
  const spot = opts.lifecycle === 'spot' || (plan.settings as { instanceLifecycle?: string } | undefined)?.instanceLifecycle === 'spot';
  const onDemandVcpus = spot || plan.host ? undefined : { perInstance: plan.facts.vcpus, bucket: vcpuBucketOf(plan.facts.family) };
  const token = opts.clientToken?.token;
  const instanceTags = [...plan.tags, ...(opts.systemTags ?? [])];
  return s.store.transaction(
    async (tx) => {
      if (token !== undefined && (await tx.clientToken(ctx.account, ctx.region, token))) {
        throw new StoreConflict('unique', `ClientToken ${token} was used meanwhile`);
      }
      const allowed = await launchCount(s, ctx, plan.minCount, plan.maxCount, onDemandVcpus, tx);
      checkDryRun({ DryRun: opts.dryRun });
      // Tenancy host: the host is chosen before anything is recorded, and may take fewer than allowed.
      const onHost = plan.host && (await placeOnHost(s, ctx, plan.host, plan.facts, plan.minCount, allowed));
      const count = onHost ? onHost.count : allowed;
      const firstZone = onHost ? onHost.zone : plan.zone;
      const subnet = plan.subnet;
      // A plain launch into a default subnet draws its addresses' positions with the other sequences.
      const sequenced = subnet === undefined && plainAddressing(plan.addressing);

      const now = s.now();
      const launchTime = now.toISOString();
      const reservationId = newId('reservation');
      // The sequences and the VM hosts, read at once (on PostgreSQL, round trips in parallel).
      const [seqs, publicIps, hosts, position] = await Promise.all([
        nextSeqs(s, count),
        wantsPublicIp({ associatePublicIp: plan.associatePublicIp }) ? publicIpSource(s, count).then((src) => avoidingElasticIps(s, src)) : undefined,
        placeOnVmHosts(tx, Array.from({ length: count }, () => ({ instanceType: plan.facts.type, cpu: plan.cpu })), now, s.placement, s.store),
        sequenced ? addressPositions(s, defaultSubnetOf(ctx, firstZone).subnetId, count) : undefined,
      ]);
      // A subnet of the user's: its free addresses (a subnet deleted meanwhile is not found).
      if (subnet) await findSubnet(s, ctx, subnet.subnetId, tx);
      const interfaces = await existingInterfaces(s, ctx, plan.addressing.interfaces, tx);
      // No zone asked for (nor a subnet or host): a full default subnet passes the launch to the next zone's.
      const { zone, addresses } = await addressesInZones(s, tx, ctx, {
        zones: !plan.zoneChosen && !onHost && sequenced ? zonesOf(ctx.region) : [firstZone],
        first: firstZone,
        subnet,
        addressing: plan.addressing,
        seqs,
        position,
      });
      const extras = await newInterfaceAddresses(s, tx, ctx, plan.addressing.newInterfaces, (subnet ?? defaultSubnetOf(ctx, zone)).subnetId, addresses);
      const attachments = interfaces.map((x) => ({ ...x, attachmentId: newId('interfaceAttachment') }));
      const primaryInterface = attachments.find((x) => x.deviceIndex === 0);
      const recs: InstanceRecord[] = [];
      for (let i = 0; i < count; i++) {
        const seq = seqs[i]!;
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
          privateIpAddress: addresses[i]!.primary,
          ...(addresses[i]!.secondary.length > 0 ? { secondaryPrivateIps: addresses[i]!.secondary } : {}),
          ...(primaryInterface
            ? { primaryInterface: { id: primaryInterface.id, attachmentId: primaryInterface.attachmentId, mac: primaryInterface.rec.mac } }
            : {}),
          associatePublicIp: plan.associatePublicIp,
          subnet,
          securityGroups: plan.securityGroups,
        };
        recs.push(withPublicIp(rec, publicIps));
      }
      const placed = recs.map((rec, i) => ({ ...rec, vmHost: hosts[i]! }));
      s.vms.admit(placed);
      // Each instance's data volumes, attached from its launch; a restored one's disk is made before its VM starts.
      const volumes: VolumeRecord[] = placed.flatMap((r) =>
        plan.dataVolumes.map((d) => ({
          id: newId('volume'),
          account: ctx.account,
          region: ctx.region,
          availabilityZone: zone,
          sizeGiB: d.sizeGiB,
          volumeType: d.volumeType,
          ...(d.iops !== undefined ? { iops: d.iops } : {}),
          ...(d.throughputMiBps !== undefined ? { throughputMiBps: d.throughputMiBps } : {}),
          encrypted: d.encrypted,
          ...(d.snapshotId !== undefined ? { snapshotId: d.snapshotId } : {}),
          createTime: launchTime,
          attachment: { instanceId: r.id, device: d.device, attachTime: launchTime, deleteOnTermination: d.deleteOnTermination },
          host: r.vmHost,
        })),
      );
      const tag = (resourceId: string, resourceType: string, t: KeyValue): TagRecord => ({
        resourceId,
        resourceType,
        account: ctx.account,
        region: ctx.region,
        key: t.key,
        value: t.value,
      });
      // Existing interfaces, attached to the one instance such a launch makes, and each instance's new ones.
      const attached = [
        ...attachments.map((x) => ({
          ...x.rec,
          attachment: { instanceId: placed[0]!.id, attachmentId: x.attachmentId, deviceIndex: x.deviceIndex, attachTime: launchTime, deleteOnTermination: x.deleteOnTermination },
        })),
        ...placed.flatMap((r, i) =>
          extras[i]!.map(({ spec, privateIp, secondaryIps }): NetworkInterfaceRecord => {
            const id = newId('networkInterface');
            return {
              id,
              account: ctx.account,
              region: ctx.region,
              availabilityZone: zone,
              ...spec.subnet,
              description: spec.description,
              groups: spec.groups,
              privateIp,
              secondaryIps,
              mac: macAddress({ id }),
              createTime: launchTime,
              attachment: { instanceId: r.id, attachmentId: newId('interfaceAttachment'), deviceIndex: spec.deviceIndex, attachTime: launchTime, deleteOnTermination: spec.deleteOnTermination },
            };
          }),
        ),
      ].map((doc) => ({ kind: 'network-interface' as const, doc }));
      const puts = [...volumes.map((doc) => ({ kind: 'volume' as const, doc })), ...attached];
      tx.write({
        instances: placed,
        ...(puts.length > 0 ? { putResources: puts } : {}),
        putTags: [
          ...placed.flatMap((r) => [
            ...instanceTags.map((t) => tag(r.id, 'instance', t)),
            ...plan.volumeTags.map((t) => tag(rootVolumeId(r), 'volume', t)),
          ]),
          ...volumes.flatMap((v) => plan.volumeTags.map((t) => tag(v.id, 'volume', t))),
        ],
        ...(opts.clientToken ? { clientToken: { account: ctx.account, region: ctx.region, ...opts.clientToken, reservationId } } : {}),
        tasks: [
          // restores first: the host's EBS queue runs them before the VMs' starts (src/compute/vm-host.ts)
          ...volumes.flatMap((v) => (v.snapshotId !== undefined ? [{ host: v.host!, target: v.id, kind: 'restore-volume' as const }] : [])),
          ...placed.map((r) => ({ host: r.vmHost, target: r.id, kind: 'start' as const })),
        ],
      });
      // Written in this order: a key given twice keeps its first place and takes its last value, as the store's upsert does.
      const tagsOfOne = new Map(instanceTags.map((t) => [t.key, t.value]));
      const attachedOf = new Map(
        placed.map((r) => [
          r.id,
          { volumes: volumes.filter((v) => v.attachment!.instanceId === r.id), interfaces: attached.map((x) => x.doc).filter((e) => e.attachment!.instanceId === r.id) },
        ]),
      );
      return { reservationId, instances: placed, tags: new Map(placed.map((r) => [r.id, tagsOfOne])), attached: attachedOf };
    },
    { lock: launchLock(ctx) },
  );
}
