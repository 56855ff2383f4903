/**
 * EC2 Fleet: CreateFleet (Type=instant), DescribeFleets, DeleteFleets and DescribeFleetInstances.
 *
 * An instant fleet is a one-time, synchronous launch over launch templates and their overrides. Each
 * override is one launch through exactly RunInstances' path (planLaunch, then launchPlanned) with that
 * template and override, so every rule — nested virtualization, key pairs, Dedicated Hosts, capacity,
 * the template merge — applies as it does there. An override whose launch answers an Ec2Error becomes
 * an entry of the response's Errors (its code and message) and the fleet goes on with the next override
 * until the target capacity is met; anything else thrown is a bug and propagates. The rules of the fleet
 * itself (capacity split, allocation order, state) are in domain/fleet.ts.
 */
import type {
  CreateFleetRequest,
  CreateFleetResult,
  DeleteFleetErrorItem,
  DeleteFleetSuccessItem,
  DeleteFleetsRequest,
  DeleteFleetsResult,
  DescribeFleetError,
  DescribeFleetInstancesRequest,
  DescribeFleetInstancesResult,
  DescribeFleetsRequest,
  DescribeFleetsResult,
  FleetData,
  FleetLaunchTemplateConfigRequest,
  FleetOnDemandAllocationStrategy,
  FleetLaunchTemplateOverridesRequest,
  OnDemandOptionsRequest,
  Placement,
  RunInstancesRequest,
  SpotAllocationStrategy,
  SpotInstanceInterruptionBehavior,
  SpotOptionsRequest,
  TagSpecification,
} from '@aws-sdk/client-ec2';
import { Ec2Error, Errors } from '../domain/errors.js';
import { CLIENT_TOKEN_SYNTAX, checkTextDeep, xmlSafeText } from '../domain/text.js';
import {
  type CapacityPortion,
  type Candidate,
  FLEET_ID_TAG,
  type FleetLaunchRecord,
  type FleetRecord,
  type Lifecycle,
  MAX_INSTANT_FLEETS_PER_DELETE,
  MAX_LAUNCH_TEMPLATE_CONFIGS,
  activityStatus,
  allocationOrder,
  capacityPortions,
  checkAllocationStrategy,
  checkFleetType,
  fleetExpired,
  fleetState,
  launchTemplateAndOverrides,
  launchTemplateConfigResponse,
  overrideWeights,
} from '../domain/fleet.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId, newId } from '../domain/ids.js';
import { type InstanceRecord, type Scope, expired } from '../domain/instance.js';
import { checkTemplateName, parseVersion } from '../domain/launch-template.js';
import { paginate } from '../domain/paging.js';
import { zonesIn } from '../domain/regions.js';
import type { ResourcePut, Revisioned } from '../store/types.js';
import type { Services } from '../services/context.js';
import { type Handler, type RequestContext, checkDryRun, requestFingerprint, required } from './context.js';
import { retentionCutoff, toInstance } from '../services/instances.js';
import { type LaunchPlan, launchPlanned, planLaunch } from '../services/launch.js';
import { applyLaunchTemplate } from '../services/launch-templates.js';
import { terminate } from '../services/state-changes.js';
import { NO_TAGS, tagList, tagsFromSpecifications } from '../services/tags.js';

const KIND = 'fleet';
/** What an instant fleet's TagSpecifications may tag (the API reference's list for Type=instant). */
const FLEET_TAGGABLE: readonly string[] = ['fleet', 'instance', 'volume', 'network-interface'];
const MAX_CLIENT_TOKEN = 64;

// --- lookups ----------------------------------------------------------------------------------------

/** Fleets in the caller's scope that still exist (deleted ones within their retention), in creation order; `ids` narrows them. */
async function visibleFleets(s: Services, scope: Scope, ids?: readonly string[]): Promise<(FleetRecord & Revisioned)[]> {
  const now = s.now().getTime();
  const fleets = await s.store.resources(KIND, { account: scope.account, region: scope.region, ids });
  return fleets.filter((f) => !fleetExpired(f, now));
}

/** Every ID well-formed, then every ID found — or the EC2 error naming the offenders. */
async function findFleets(s: Services, scope: Scope, ids: readonly string[]): Promise<FleetRecord[]> {
  for (const id of ids) if (!isWellFormedId('fleet', id)) throw Errors.fleetIdMalformed(id);
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const visible = new Map((await visibleFleets(s, scope, unique)).map((f) => [f.id, f]));
  const missing = unique.filter((id) => !visible.has(id));
  if (missing.length > 0) throw Errors.fleetIdNotFound(missing);
  return unique.map((id) => visible.get(id)!);
}

/** Deleted fleets past their retention, in every scope: removed with the next fleet write. */
async function expiredFleets(s: Services): Promise<{ kind: 'fleet'; id: string }[]> {
  const now = s.now().getTime();
  return (await s.store.allResources(KIND)).filter((f) => fleetExpired(f, now)).map((f) => ({ kind: KIND, id: f.id }));
}

/** The fleet's instances that still exist and are not terminated (shutting-down ones included). */
async function liveInstanceIds(s: Services, f: FleetRecord): Promise<string[]> {
  const ids = f.instances.flatMap((g) => g.InstanceIds ?? []);
  if (ids.length === 0) return [];
  const cutoff = retentionCutoff(s);
  const recs = await s.store.instances({ account: f.account, region: f.region, ids });
  const live = new Set(recs.filter((rec) => !expired(rec, cutoff) && rec.state !== 'terminated').map((rec) => rec.id));
  return ids.filter((id) => live.has(id));
}

// --- the API's view of a fleet ----------------------------------------------------------------------

/** A fleet as DescribeFleets shows it, given its live instances' count and its tags. */
function view(f: FleetRecord, live: number, tags: ReadonlyMap<string, string>): FleetData {
  const state = fleetState(f, live);
  return {
    ActivityStatus: activityStatus(f, state),
    CreateTime: new Date(f.createTime),
    FleetId: f.id,
    FleetState: state,
    ...(f.clientToken !== undefined ? { ClientToken: f.clientToken } : {}),
    ExcessCapacityTerminationPolicy: f.excessCapacityTerminationPolicy as FleetData['ExcessCapacityTerminationPolicy'],
    FulfilledCapacity: f.fulfilledCapacity,
    FulfilledOnDemandCapacity: f.fulfilledOnDemandCapacity,
    LaunchTemplateConfigs: [...f.launchTemplateConfigs],
    TargetCapacitySpecification: f.targetCapacity,
    TerminateInstancesWithExpiration: f.terminateInstancesWithExpiration,
    Type: f.type,
    ...(f.validFrom !== undefined ? { ValidFrom: new Date(f.validFrom) } : {}),
    ...(f.validUntil !== undefined ? { ValidUntil: new Date(f.validUntil) } : {}),
    ReplaceUnhealthyInstances: f.replaceUnhealthyInstances,
    SpotOptions: {
      // 'lowestPrice' (what EC2 shows when none was given) is outside the SDK's enum, hence the casts.
      AllocationStrategy: f.spotAllocationStrategy as SpotAllocationStrategy,
      InstanceInterruptionBehavior: f.spotInterruptionBehavior as SpotInstanceInterruptionBehavior,
      ...(f.spotInstancePoolsToUseCount !== undefined ? { InstancePoolsToUseCount: f.spotInstancePoolsToUseCount } : {}),
    },
    OnDemandOptions: { AllocationStrategy: f.onDemandAllocationStrategy as FleetOnDemandAllocationStrategy },
    ...(tags.size > 0 ? { Tags: tagList(tags) } : {}),
    Errors: [...f.errors],
    Instances: f.instances.map(({ AvailabilityZone: _zone, SubnetId: _subnet, ...g }) => g),
    ...(f.context !== undefined ? { Context: f.context } : {}),
  };
}

const createResult = (f: FleetRecord): CreateFleetResult => ({ FleetId: f.id, Errors: [...f.errors], Instances: [...f.instances] });

/**
 * The filters DescribeFleets documents; states and statuses match in EC2's `_` form and its documented
 * `-` form. `live` (each fleet's live instances) and `tags` are read before the filters run.
 */
function fleetFilterTable(
  live: ReadonlyMap<string, number>,
  tags: ReadonlyMap<string, ReadonlyMap<string, string>>,
): FilterTable<FleetRecord> {
  const both = (v: string) => [v, v.replaceAll('_', '-')];
  const stateOf = (f: FleetRecord) => fleetState(f, live.get(f.id) ?? 0);
  return {
    tags: (f) => tags.get(f.id),
    fields: {
      'activity-status': (f) => both(activityStatus(f, stateOf(f))),
      'excess-capacity-termination-policy': (f) => [f.excessCapacityTerminationPolicy, f.excessCapacityTerminationPolicy === 'termination'],
      'fleet-state': (f) => both(stateOf(f)),
      'replace-unhealthy-instances': (f) => f.replaceUnhealthyInstances,
      'type': (f) => f.type,
    },
  };
}

// --- CreateFleet ------------------------------------------------------------------------------------

/** Options of OnDemandOptions / SpotOptions that nestbox does not implement (single type or zone, minimums, price caps). */
function checkPurchaseOptions(options: OnDemandOptionsRequest | SpotOptionsRequest | undefined, param: string): void {
  if (!options) return;
  if (options.SingleInstanceType === true) throw Errors.fleetFeatureNotImplemented(`${param}.SingleInstanceType=true`);
  if (options.SingleAvailabilityZone === true) throw Errors.fleetFeatureNotImplemented(`${param}.SingleAvailabilityZone=true`);
  if (options.MinTargetCapacity !== undefined) throw Errors.fleetFeatureNotImplemented(`${param}.MinTargetCapacity`);
  if (options.MaxTotalPrice !== undefined) throw Errors.fleetFeatureNotImplemented(`${param}.MaxTotalPrice`);
  if ('CapacityReservationOptions' in options && options.CapacityReservationOptions !== undefined) {
    throw Errors.fleetFeatureNotImplemented(`${param}.CapacityReservationOptions`);
  }
}

/** One launch template configuration whose template exists, with the version it resolved to. */
interface ResolvedConfig {
  readonly given: FleetLaunchTemplateConfigRequest;
  readonly template: { readonly id: string; readonly name?: string | undefined; readonly version: number };
  /** the template version's Placement, which an override's zone or placement refines */
  readonly templatePlacement: Placement | undefined;
  /** the template version's network interfaces: an override's subnet goes into the primary one */
  readonly templateInterfaces: RunInstancesRequest['NetworkInterfaces'];
}

/** A configuration's syntax, in the request's own parameter names; its existence is checked after all of them. */
function checkConfigSyntax(c: FleetLaunchTemplateConfigRequest, n: number): void {
  const param = `LaunchTemplateConfigs.${n}.LaunchTemplateSpecification`;
  const spec = c.LaunchTemplateSpecification;
  if (!spec) throw Errors.missingParameter(param);
  const { LaunchTemplateId: id, LaunchTemplateName: name, Version: version } = spec;
  if (id !== undefined && name !== undefined) {
    throw Errors.invalidParameterCombination(`The parameter ${param}.LaunchTemplateName cannot be used with the parameter ${param}.LaunchTemplateId`);
  }
  if (id === undefined && name === undefined) throw Errors.missingParameter(`${param}.LaunchTemplateId or ${param}.LaunchTemplateName`);
  if (id !== undefined && !isWellFormedId('launchTemplate', id)) throw Errors.launchTemplateIdMalformed(id);
  if (name !== undefined) checkTemplateName(name);
  // EC2: "You must specify a value, otherwise the request fails."
  parseVersion(required(version, `${param}.Version`), `${param}.Version`);
  for (const o of c.Overrides ?? []) {
    if (o.InstanceRequirements !== undefined) throw Errors.fleetFeatureNotImplemented('Overrides.InstanceRequirements (attribute-based instance type selection)');
    overrideWeights(o);
  }
}

/** The template a configuration names, found exactly as RunInstances finds it. */
async function resolveConfig(c: FleetLaunchTemplateConfigRequest, ctx: RequestContext, s: Services): Promise<ResolvedConfig> {
  const { LaunchTemplateId, LaunchTemplateName, Version } = c.LaunchTemplateSpecification!;
  const probe: RunInstancesRequest = { LaunchTemplate: { LaunchTemplateId, LaunchTemplateName, Version }, MinCount: 1, MaxCount: 1 };
  const { request, launchTemplate } = await applyLaunchTemplate(probe, ctx, s);
  // The fleet decides On-Demand or Spot for each instance; a template that decides it too is refused.
  if (request.InstanceMarketOptions?.MarketType !== undefined) {
    throw Errors.fleetFeatureNotImplemented(`a launch template with InstanceMarketOptions (${launchTemplate!.id} version ${launchTemplate!.version})`);
  }
  return {
    given: c,
    template: { id: launchTemplate!.id, name: LaunchTemplateName, version: launchTemplate!.version },
    templatePlacement: request.Placement,
    templateInterfaces: request.NetworkInterfaces,
  };
}

/** One override of one configuration: a launch the fleet can make. */
interface Slot {
  readonly index: number;
  readonly config: ResolvedConfig;
  /** undefined when the configuration has no overrides: the template as it is */
  readonly override: FleetLaunchTemplateOverridesRequest | undefined;
  readonly weight: number;
  readonly priority: number | undefined;
}

/**
 * The RunInstances request an override stands for: the template version the fleet resolved, with the
 * override's fields in place of the template's (its zone and placement refine the template's
 * Placement), the configuration's user data, and the fleet's instance and volume tags.
 */
function launchRequest(slot: Slot, region: string, launchTags: readonly TagSpecification[]): RunInstancesRequest {
  const o = slot.override ?? {};
  if (o.AvailabilityZone !== undefined && o.AvailabilityZoneId !== undefined) {
    throw Errors.invalidParameterCombination('Either AvailabilityZone or AvailabilityZoneId must be specified in an override, but not both.');
  }
  let zone = o.AvailabilityZone;
  if (o.AvailabilityZoneId !== undefined) {
    zone = zonesIn(region).find((z) => z.id === o.AvailabilityZoneId)?.name;
    if (zone === undefined) throw Errors.invalidAvailabilityZoneId(o.AvailabilityZoneId);
  }
  const placement =
    zone !== undefined || o.Placement !== undefined
      ? { ...slot.config.templatePlacement, ...o.Placement, ...(zone !== undefined ? { AvailabilityZone: zone, AvailabilityZoneId: undefined } : {}) }
      : undefined;
  const userData = slot.config.given.LaunchTemplateSpecification?.LaunchTemplateSpecificationUserData;
  // A template that defines the primary network interface gets the override's subnet there (as EC2
  // Fleet does); a top-level SubnetId next to interfaces would be a RunInstances parameter conflict.
  const interfaces = slot.config.templateInterfaces;
  const primary = interfaces?.some((n) => n.DeviceIndex === 0) === true;
  const subnet =
    o.SubnetId === undefined
      ? {}
      : primary
        ? { NetworkInterfaces: interfaces!.map((n) => (n.DeviceIndex === 0 ? { ...n, SubnetId: o.SubnetId } : n)) }
        : { SubnetId: o.SubnetId };
  return {
    LaunchTemplate: { LaunchTemplateId: slot.config.template.id, Version: String(slot.config.template.version) },
    MinCount: 1,
    MaxCount: 1,
    ...(o.InstanceType !== undefined ? { InstanceType: o.InstanceType } : {}),
    ...(o.ImageId !== undefined ? { ImageId: o.ImageId } : {}),
    ...subnet,
    ...(o.KeyName !== undefined ? { KeyName: o.KeyName } : {}),
    ...(placement !== undefined ? { Placement: placement } : {}),
    ...(userData !== undefined ? { UserData: userData } : {}),
    ...(launchTags.length > 0 ? { TagSpecifications: [...launchTags] } : {}),
  };
}

/** An Ec2Error becomes the value of the call; anything else is a bug and propagates. */
async function attempt<T>(fn: () => Promise<T>): Promise<T | Ec2Error> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Ec2Error) return err;
    throw err;
  }
}

/** Every override of every configuration, in the request's order. */
const slotsOf = (configs: readonly ResolvedConfig[]): Slot[] =>
  configs
    .flatMap((config) => (config.given.Overrides?.length ? config.given.Overrides : [undefined]).map((override) => ({ config, override })))
    .map(({ config, override }, index) => ({ index, config, override, ...(override ? overrideWeights(override) : { weight: 1, priority: undefined }) }));

/** What an instant fleet's launch got: DescribeFleets' record of it. */
type LaunchOutcome = Pick<FleetRecord, 'instances' | 'errors' | 'fulfilledCapacity' | 'fulfilledOnDemandCapacity'>;

/**
 * The instant fleet's launch. Every override is planned once, before any launch: one that breaks a
 * rule is reported whether or not the fleet would have come to it (Karpenter caches such a pool as
 * unfulfillable). Then each purchase option (On-Demand first, then Spot) takes the overrides that can
 * launch in its allocation order until its part of the target capacity is met; an override whose
 * launch fails is reported and the next one is tried.
 */
async function launchOverrides(
  slots: readonly Slot[],
  portions: readonly CapacityPortion[],
  strategies: Readonly<Record<Lifecycle, string | undefined>>,
  fleet: { readonly fleetId: string; readonly launchTags: readonly TagSpecification[] },
  ctx: RequestContext,
  s: Services,
): Promise<LaunchOutcome> {
  const plans: (LaunchPlan | Ec2Error)[] = [];
  for (const slot of slots) plans.push(await attempt(async () => planLaunch(launchRequest(slot, ctx.region, fleet.launchTags), ctx, s)));
  const systemTags = [{ key: FLEET_ID_TAG, value: fleet.fleetId }];
  const groups = new Map<string, FleetLaunchRecord & { InstanceIds: string[] }>();
  const errors: DescribeFleetError[] = [];
  const fulfilled: Record<Lifecycle, number> = { 'on-demand': 0, spot: 0 };
  const entryOf = (slot: Slot) => launchTemplateAndOverrides(slot.config.template, slot.override);
  const report = (slot: Slot, lifecycle: Lifecycle, err: Ec2Error) =>
    errors.push({ LaunchTemplateAndOverrides: entryOf(slot), Lifecycle: lifecycle, ErrorCode: err.code, ErrorMessage: err.message });
  const record = (slot: Slot, lifecycle: Lifecycle, instances: readonly InstanceRecord[]) => {
    const key = `${slot.index}/${lifecycle}`;
    const group = groups.get(key);
    if (group) {
      group.InstanceIds.push(...instances.map((r) => r.id));
      return;
    }
    const first = instances[0]!;
    const subnetId = toInstance(first, s, NO_TAGS).SubnetId;
    groups.set(key, {
      LaunchTemplateAndOverrides: entryOf(slot),
      Lifecycle: lifecycle,
      InstanceIds: instances.map((r) => r.id),
      InstanceType: first.instanceType as FleetLaunchRecord['InstanceType'],
      ...(first.platform === 'windows' ? { Platform: 'Windows' as const } : {}),
      AvailabilityZone: first.availabilityZone,
      ...(subnetId !== undefined ? { SubnetId: subnetId } : {}),
    });
  };

  for (const { lifecycle, capacity: target } of portions) {
    const candidates: (Candidate & { slot: Slot; plan: LaunchPlan })[] = [];
    slots.forEach((slot, i) => {
      const plan = plans[i]!;
      if (plan instanceof Ec2Error) report(slot, lifecycle, plan);
      else candidates.push({ index: i, priority: slot.priority, weight: slot.weight, vcpus: plan.facts.vcpus, memoryMiB: plan.facts.memoryMiB, slot, plan });
    });
    for (const { slot, plan } of allocationOrder(candidates, strategies[lifecycle] ?? 'lowest-price')) {
      // A launch may get fewer than asked (the quota, a full host): the same override is asked again
      // for the rest, until it answers an error (reported) or the target is met.
      while (fulfilled[lifecycle] < target) {
        const needed = Math.ceil((target - fulfilled[lifecycle]) / slot.weight);
        const launched = await attempt(() =>
          launchPlanned({ ...plan, minCount: 1, maxCount: needed }, ctx, s, {
            ...(lifecycle === 'spot' ? { lifecycle: 'spot' as const } : {}),
            systemTags,
          }),
        );
        if (launched instanceof Ec2Error) {
          report(slot, lifecycle, launched);
          break;
        }
        fulfilled[lifecycle] += launched.instances.length * slot.weight;
        record(slot, lifecycle, launched.instances);
      }
      if (fulfilled[lifecycle] >= target) break;
    }
  }
  return {
    instances: [...groups.values()],
    errors,
    fulfilledCapacity: fulfilled['on-demand'] + fulfilled.spot,
    fulfilledOnDemandCapacity: fulfilled['on-demand'],
  };
}

export const createFleet: Handler<CreateFleetRequest, CreateFleetResult> = async (input, ctx, s) => {
  const configs = required(input.LaunchTemplateConfigs, 'LaunchTemplateConfigs');
  const capacity = required(input.TargetCapacitySpecification, 'TargetCapacitySpecification');
  checkFleetType(input.Type);
  const { portions, resolved: targetCapacity } = capacityPortions(capacity);
  const strategies: Record<Lifecycle, string | undefined> = {
    'on-demand': checkAllocationStrategy(input.OnDemandOptions?.AllocationStrategy, 'on-demand'),
    spot: checkAllocationStrategy(input.SpotOptions?.AllocationStrategy, 'spot'),
  };
  checkPurchaseOptions(input.OnDemandOptions, 'OnDemandOptions');
  checkPurchaseOptions(input.SpotOptions, 'SpotOptions');
  if (input.ReservedCapacityOptions !== undefined) throw Errors.fleetFeatureNotImplemented('ReservedCapacityOptions');
  if (configs.length > MAX_LAUNCH_TEMPLATE_CONFIGS) {
    throw Errors.invalidValueFor('LaunchTemplateConfigs', `${configs.length} configurations`, `At most ${MAX_LAUNCH_TEMPLATE_CONFIGS} are allowed.`);
  }
  configs.forEach((c, i) => checkConfigSyntax(c, i + 1));
  // Kept and written back (DescribeFleets, the errors of this answer): every string must be sendable.
  checkTextDeep(configs, 'LaunchTemplateConfigs');
  const fleetTags = tagsFromSpecifications(input.TagSpecifications, 'fleet', FLEET_TAGGABLE);
  const launchTags = (input.TagSpecifications ?? []).filter((t) => t.ResourceType !== 'fleet');
  const token = input.ClientToken;
  if (token !== undefined && (token.length > MAX_CLIENT_TOKEN || !CLIENT_TOKEN_SYNTAX.test(token))) {
    throw Errors.invalidValueFor('ClientToken', xmlSafeText(token), `The client token must be at most ${MAX_CLIENT_TOKEN} ASCII characters.`);
  }
  const resolvedConfigs: ResolvedConfig[] = [];
  for (const c of configs) resolvedConfigs.push(await resolveConfig(c, ctx, s));
  const print = requestFingerprint(input);
  if (token !== undefined) {
    const previous = (await visibleFleets(s, ctx)).find((f) => f.clientToken === token);
    if (previous) {
      if (previous.fingerprint !== print) throw Errors.idempotentParameterMismatch(token);
      checkDryRun(input);
      return createResult(previous);
    }
  }
  checkDryRun(input);

  const id = newId('fleet');
  const outcome = await launchOverrides(slotsOf(resolvedConfigs), portions, strategies, { fleetId: id, launchTags }, ctx, s);
  const fleet: FleetRecord = {
    id,
    account: ctx.account,
    region: ctx.region,
    type: 'instant',
    createTime: s.now().toISOString(),
    clientToken: token,
    fingerprint: token !== undefined ? print : undefined,
    launchTemplateConfigs: configs.map(launchTemplateConfigResponse),
    targetCapacity,
    // What EC2 shows when no strategy was given (seen in DescribeFleets output).
    onDemandAllocationStrategy: strategies['on-demand'] ?? 'lowestPrice',
    spotAllocationStrategy: strategies.spot ?? 'lowestPrice',
    spotInterruptionBehavior: input.SpotOptions?.InstanceInterruptionBehavior ?? 'terminate',
    spotInstancePoolsToUseCount: input.SpotOptions?.InstancePoolsToUseCount ?? (strategies.spot === undefined ? 1 : undefined),
    excessCapacityTerminationPolicy: input.ExcessCapacityTerminationPolicy ?? 'termination',
    replaceUnhealthyInstances: input.ReplaceUnhealthyInstances === true,
    terminateInstancesWithExpiration: input.TerminateInstancesWithExpiration === true,
    validFrom: input.ValidFrom?.toISOString(),
    validUntil: input.ValidUntil?.toISOString(),
    context: input.Context,
    ...outcome,
  };
  await s.store.commit({
    putResources: [{ kind: KIND, doc: fleet }],
    putTags: fleetTags.map((t) => ({ resourceId: id, resourceType: KIND, account: ctx.account, region: ctx.region, key: t.key, value: t.value })),
    deleteResources: await expiredFleets(s),
  });
  return createResult(fleet);
};

// --- DescribeFleets ---------------------------------------------------------------------------------

export const describeFleets: Handler<DescribeFleetsRequest, DescribeFleetsResult> = async (input, ctx, s) => {
  const ids = input.FleetIds ?? [];
  // What the filters and the view read, filled once the fleets are found.
  const live = new Map<string, number>();
  const tags = new Map<string, ReadonlyMap<string, string>>();
  const predicate = compileFilters(fleetFilterTable(live, tags), input.Filters);
  const named = await findFleets(s, ctx, ids);
  checkDryRun(input);
  for (const f of named) live.set(f.id, (await liveInstanceIds(s, f)).length);
  if (named.length > 0) for (const [id, t] of await s.store.tagsOfMany(named.map((f) => f.id))) tags.set(id, t);
  // EC2 lists an instant fleet only when the request names it, and every nestbox fleet is instant.
  const page = paginate(named.filter(predicate), input, { min: 1, max: 1000 }, { f: input.Filters, ids });
  return {
    Fleets: page.items.map((f) => view(f, live.get(f.id) ?? 0, tags.get(f.id) ?? NO_TAGS)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

// --- DeleteFleets -----------------------------------------------------------------------------------

const unsuccessful = (FleetId: string, Code: NonNullable<DeleteFleetErrorItem['Error']>['Code'], Message: string): DeleteFleetErrorItem => ({
  FleetId,
  Error: { Code, Message },
});

/**
 * Deletes instant fleets with their instances (EC2 refuses to keep an instant fleet's instances
 * running), each reported on its own: a fleet is deleted only when all its live instances could be
 * terminated as TerminateInstances would (termination protection refuses).
 */
export const deleteFleets: Handler<DeleteFleetsRequest, DeleteFleetsResult> = async (input, ctx, s) => {
  const ids = [...new Set(required(input.FleetIds, 'FleetId'))];
  const withInstances = required(input.TerminateInstances, 'TerminateInstances');
  const wellFormed = ids.filter((id) => isWellFormedId('fleet', id));
  const visible = new Map((wellFormed.length > 0 ? await visibleFleets(s, ctx, wellFormed) : []).map((f) => [f.id, f]));
  const instant = ids.filter((id) => visible.has(id)).length;
  if (instant > MAX_INSTANT_FLEETS_PER_DELETE) throw Errors.tooManyInstantFleets(instant, MAX_INSTANT_FLEETS_PER_DELETE);
  checkDryRun(input);

  const now = s.now().toISOString();
  const successful: DeleteFleetSuccessItem[] = [];
  const failed: DeleteFleetErrorItem[] = [];
  const deleted: ResourcePut[] = [];
  for (const id of ids) {
    if (!isWellFormedId('fleet', id)) {
      failed.push(unsuccessful(id, 'fleetIdMalformed', Errors.fleetIdMalformed(id).message));
      continue;
    }
    const f = visible.get(id);
    if (!f) {
      failed.push(unsuccessful(id, 'fleetIdDoesNotExist', Errors.fleetIdNotFound([id]).message));
      continue;
    }
    if (f.deletedAt !== undefined) {
      failed.push(unsuccessful(id, 'fleetNotInDeletableState', `The fleet '${id}' is already deleted.`));
      continue;
    }
    if (!withInstances) {
      failed.push(
        unsuccessful(id, 'fleetNotInDeletableState', `The fleet '${id}' is of type instant: its instances must be terminated with it (TerminateInstances=true).`),
      );
      continue;
    }
    const live = await liveInstanceIds(s, f);
    const ended = live.length > 0 ? await attempt(() => terminate(live, ctx, s)) : [];
    if (ended instanceof Ec2Error) {
      failed.push(unsuccessful(id, 'unexpectedError', ended.message));
      continue;
    }
    deleted.push({ kind: KIND, doc: { ...f, deletedAt: now } });
    successful.push({ FleetId: id, PreviousFleetState: 'active', CurrentFleetState: live.length > 0 ? 'deleted_terminating' : 'deleted' });
  }
  if (deleted.length > 0) await s.store.commit({ putResources: deleted, deleteResources: await expiredFleets(s) });
  return { SuccessfulFleetDeletions: successful, UnsuccessfulFleetDeletions: failed };
};

// --- DescribeFleetInstances -------------------------------------------------------------------------

const fleetInstanceFilters: FilterTable<never> = { fields: { 'instance-type': () => undefined } };

/** EC2 does not describe an instant fleet's instances this way (DescribeFleets shows them), and every nestbox fleet is instant. */
export const describeFleetInstances: Handler<DescribeFleetInstancesRequest, DescribeFleetInstancesResult> = async (input, ctx, s) => {
  const id = required(input.FleetId, 'FleetId');
  compileFilters(fleetInstanceFilters, input.Filters);
  const [f] = (await findFleets(s, ctx, [id])) as [FleetRecord];
  checkDryRun(input);
  throw Errors.fleetInstancesOfInstantFleet(f.id);
};
