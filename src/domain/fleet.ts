/**
 * EC2 Fleets as nestbox records them, and the pure rules over them: which fleet types and options
 * nestbox implements, how a target capacity splits into On-Demand and Spot, the order an allocation
 * strategy tries overrides in, and the state DescribeFleets shows.
 *
 * nestbox implements `Type=instant` only: a one-time, synchronous launch whose result (instances and
 * errors) is the fleet's whole history. `request` and `maintain` need a fleet that keeps capacity over
 * time, which nestbox does not have, so they are refused rather than pretended.
 */
import type {
  CreateFleetInstance,
  DescribeFleetError,
  FleetLaunchTemplateConfig,
  FleetLaunchTemplateConfigRequest,
  FleetLaunchTemplateOverrides,
  FleetLaunchTemplateOverridesRequest,
  LaunchTemplateAndOverridesResponse,
  TargetCapacitySpecification,
  TargetCapacitySpecificationRequest,
} from '@aws-sdk/client-ec2';
import { Errors } from './errors.js';
import type { Scope } from './instance.js';

export type Lifecycle = 'on-demand' | 'spot';

/** One launch the fleet made: the override it used, and the instances it got (CreateFleet's own shape). */
export type FleetLaunchRecord = CreateFleetInstance;

export interface FleetRecord extends Scope {
  /** `fleet-` and a UUID */
  readonly id: string;
  readonly type: 'instant';
  readonly createTime: string;
  /** CreateFleet's idempotency token and a fingerprint of the rest of its request */
  readonly clientToken?: string | undefined;
  readonly fingerprint?: string | undefined;
  /** the launch template configurations as given (DescribeFleets echoes them) */
  readonly launchTemplateConfigs: readonly FleetLaunchTemplateConfig[];
  /** the target capacity, with its On-Demand and Spot parts resolved */
  readonly targetCapacity: TargetCapacitySpecification;
  readonly onDemandAllocationStrategy: string;
  readonly spotAllocationStrategy: string;
  readonly spotInterruptionBehavior: string;
  readonly spotInstancePoolsToUseCount?: number | undefined;
  readonly excessCapacityTerminationPolicy: string;
  readonly replaceUnhealthyInstances: boolean;
  readonly terminateInstancesWithExpiration: boolean;
  readonly validFrom?: string | undefined;
  readonly validUntil?: string | undefined;
  readonly context?: string | undefined;
  /** what the launch got, per override and lifecycle */
  readonly instances: readonly FleetLaunchRecord[];
  /** the overrides that could not launch, each with the error the launch answered */
  readonly errors: readonly DescribeFleetError[];
  readonly fulfilledCapacity: number;
  readonly fulfilledOnDemandCapacity: number;
  /** when DeleteFleets deleted it; it stays visible for FLEET_RETENTION_MS after */
  readonly deletedAt?: string | undefined;
}

/** EC2 keeps a deleted fleet visible for two days after its instances are terminated. */
export const FLEET_RETENTION_MS = 48 * 60 * 60 * 1000;
/** EC2's quotas: target capacity per fleet; instant fleets deleted per DeleteFleets call. */
export const MAX_TARGET_CAPACITY = 10_000;
export const MAX_INSTANT_FLEETS_PER_DELETE = 25;
/** CreateFleet's LaunchTemplateConfigs: at most 50 (the API reference's array bounds). */
export const MAX_LAUNCH_TEMPLATE_CONFIGS = 50;
/** The tag EC2 Fleet puts on every instance it launches. */
export const FLEET_ID_TAG = 'aws:ec2:fleet-id';

// --- the request's syntax ---------------------------------------------------------------------------

const FLEET_TYPES = ['instant', 'request', 'maintain'] as const;

/** `Type` (EC2's default is `maintain`): anything but `instant` is refused, naming what was asked for. */
export function checkFleetType(type: string | undefined): 'instant' {
  const value = type ?? 'maintain';
  if (!(FLEET_TYPES as readonly string[]).includes(value)) throw Errors.invalidValueFor('Type', value, `Valid values: ${FLEET_TYPES.join(', ')}.`);
  if (value !== 'instant') throw Errors.fleetTypeNotImplemented(value, type === undefined);
  return 'instant';
}

const ON_DEMAND_STRATEGIES = ['lowest-price', 'prioritized'] as const;
const SPOT_STRATEGIES = ['lowest-price', 'diversified', 'capacity-optimized', 'capacity-optimized-prioritized', 'price-capacity-optimized'] as const;

/** An allocation strategy as given, checked against the SDK's values for its purchase option. */
export function checkAllocationStrategy(value: string | undefined, lifecycle: Lifecycle): string | undefined {
  if (value === undefined) return undefined;
  const valid: readonly string[] = lifecycle === 'spot' ? SPOT_STRATEGIES : ON_DEMAND_STRATEGIES;
  const param = lifecycle === 'spot' ? 'SpotOptions.AllocationStrategy' : 'OnDemandOptions.AllocationStrategy';
  if (!valid.includes(value)) throw Errors.invalidValueFor(param, value, `Valid values: ${valid.join(', ')}.`);
  return value;
}

/** The part of the target capacity one purchase option is to launch. */
export interface CapacityPortion {
  readonly lifecycle: Lifecycle;
  readonly capacity: number;
}

const isCount = (v: number) => Number.isInteger(v) && v >= 0;

/**
 * The target capacity split into On-Demand and Spot: the parts given, and what is left of the total in
 * the default type (On-Demand when none is given). Capacity Blocks and reserved capacity are not
 * implemented; attribute-based unit types come only with InstanceRequirements, which is not either.
 */
export function capacityPortions(spec: TargetCapacitySpecificationRequest): {
  readonly portions: readonly CapacityPortion[];
  readonly resolved: TargetCapacitySpecification;
} {
  const total = spec.TotalTargetCapacity;
  if (total === undefined) throw Errors.missingParameter('TargetCapacitySpecification.TotalTargetCapacity');
  if (!isCount(total) || total < 1 || total > MAX_TARGET_CAPACITY) {
    throw Errors.invalidValueFor('TotalTargetCapacity', total, `Specify a whole number from 1 to ${MAX_TARGET_CAPACITY}.`);
  }
  const onDemand = spec.OnDemandTargetCapacity ?? 0;
  const spot = spec.SpotTargetCapacity ?? 0;
  if (!isCount(onDemand)) throw Errors.invalidValueFor('OnDemandTargetCapacity', onDemand, 'Specify a whole number of 0 or more.');
  if (!isCount(spot)) throw Errors.invalidValueFor('SpotTargetCapacity', spot, 'Specify a whole number of 0 or more.');
  if (onDemand + spot > total) throw Errors.fleetCapacitySplit(onDemand, spot, total);
  const defaultType = spec.DefaultTargetCapacityType ?? 'on-demand';
  if (defaultType === 'capacity-block' || defaultType === 'reserved-capacity') {
    throw Errors.fleetFeatureNotImplemented(`DefaultTargetCapacityType=${defaultType}`);
  }
  if (defaultType !== 'on-demand' && defaultType !== 'spot') {
    throw Errors.invalidValueFor('DefaultTargetCapacityType', defaultType, 'Valid values: on-demand, spot, capacity-block, reserved-capacity.');
  }
  if (spec.TargetCapacityUnitType !== undefined) {
    throw Errors.fleetFeatureNotImplemented(`TargetCapacityUnitType=${spec.TargetCapacityUnitType} (it comes with InstanceRequirements)`);
  }
  const rest = total - onDemand - spot;
  const parts = {
    'on-demand': onDemand + (defaultType === 'on-demand' ? rest : 0),
    spot: spot + (defaultType === 'spot' ? rest : 0),
  };
  return {
    portions: (['on-demand', 'spot'] as const).filter((l) => parts[l] > 0).map((lifecycle) => ({ lifecycle, capacity: parts[lifecycle] })),
    resolved: {
      TotalTargetCapacity: total,
      OnDemandTargetCapacity: parts['on-demand'],
      SpotTargetCapacity: parts.spot,
      DefaultTargetCapacityType: defaultType,
    },
  };
}

/** An override's WeightedCapacity (default 1) and Priority (none: the lowest), checked. */
export function overrideWeights(o: FleetLaunchTemplateOverridesRequest): { readonly weight: number; readonly priority: number | undefined } {
  const weight = o.WeightedCapacity ?? 1;
  if (!Number.isFinite(weight) || weight <= 0) throw Errors.invalidValueFor('WeightedCapacity', weight, 'Specify a number greater than 0.');
  const priority = o.Priority;
  if (priority !== undefined && (!Number.isFinite(priority) || priority < 0)) {
    throw Errors.invalidValueFor('Priority', priority, 'Valid values are whole numbers starting at 0.');
  }
  if (o.MaxPrice !== undefined && !(/^[0-9]*\.?[0-9]+$/.test(o.MaxPrice) && Number(o.MaxPrice) > 0)) {
    throw Errors.invalidValueFor('MaxPrice', o.MaxPrice, 'Specify a price in USD per hour, such as 0.05.');
  }
  return { weight, priority };
}

// --- allocation -------------------------------------------------------------------------------------

/** What the allocation order looks at in one override that can launch. */
export interface Candidate {
  /** the override's place in the request (configs in order, then their overrides) */
  readonly index: number;
  readonly priority: number | undefined;
  readonly weight: number;
  readonly vcpus: number;
  readonly memoryMiB: number;
}

/**
 * The order overrides are tried in. `prioritized` (On-Demand) and `capacity-optimized-prioritized`
 * (Spot) follow Priority, lowest number first and overrides without one last. nestbox has no prices,
 * so every other strategy is "lowest price" with a proxy: fewest vCPUs per unit of weighted capacity,
 * then least memory per unit (c8i.large before m8i.large before r8i.large). Ties keep the request's
 * order, so the result is deterministic.
 */
export function allocationOrder<C extends Candidate>(candidates: readonly C[], strategy: string): C[] {
  const prioritized = strategy === 'prioritized' || strategy === 'capacity-optimized-prioritized';
  const key = (c: Candidate): number[] =>
    prioritized
      ? [c.priority ?? Number.POSITIVE_INFINITY, c.index]
      : [c.vcpus / c.weight, c.memoryMiB / c.weight, c.index];
  return [...candidates].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    return 0;
  });
}

// --- the response's view ----------------------------------------------------------------------------

/** An override as the responses echo it (their shape has no Placement beyond GroupName). */
export function overridesResponse(o: FleetLaunchTemplateOverridesRequest): FleetLaunchTemplateOverrides {
  return {
    ...(o.InstanceType !== undefined ? { InstanceType: o.InstanceType } : {}),
    ...(o.MaxPrice !== undefined ? { MaxPrice: o.MaxPrice } : {}),
    ...(o.SubnetId !== undefined ? { SubnetId: o.SubnetId } : {}),
    ...(o.AvailabilityZone !== undefined ? { AvailabilityZone: o.AvailabilityZone } : {}),
    ...(o.AvailabilityZoneId !== undefined ? { AvailabilityZoneId: o.AvailabilityZoneId } : {}),
    ...(o.WeightedCapacity !== undefined ? { WeightedCapacity: o.WeightedCapacity } : {}),
    ...(o.Priority !== undefined ? { Priority: o.Priority } : {}),
    ...(o.ImageId !== undefined ? { ImageId: o.ImageId } : {}),
    ...(o.Placement?.GroupName !== undefined ? { Placement: { GroupName: o.Placement.GroupName } } : {}),
  };
}

/** A launch template configuration as DescribeFleets echoes it: as given, in the response's shape. */
export const launchTemplateConfigResponse = (c: FleetLaunchTemplateConfigRequest): FleetLaunchTemplateConfig => {
  const spec = c.LaunchTemplateSpecification;
  return {
    LaunchTemplateSpecification: {
      ...(spec?.LaunchTemplateId !== undefined ? { LaunchTemplateId: spec.LaunchTemplateId } : {}),
      ...(spec?.LaunchTemplateName !== undefined ? { LaunchTemplateName: spec.LaunchTemplateName } : {}),
      ...(spec?.Version !== undefined ? { Version: spec.Version } : {}),
    },
    ...(c.Overrides?.length ? { Overrides: c.Overrides.map(overridesResponse) } : {}),
  };
};

/** The state DescribeFleets shows: `active` until deleted, then `deleted_terminating` while its instances end. */
export function fleetState(f: FleetRecord, liveInstances: number): 'active' | 'deleted_terminating' | 'deleted' {
  if (f.deletedAt === undefined) return 'active';
  return liveInstances > 0 ? 'deleted_terminating' : 'deleted';
}

/** EC2's activity status: `fulfilled` once the launch met the target, `error` when it fell short. */
export function activityStatus(f: FleetRecord, state: ReturnType<typeof fleetState>): 'fulfilled' | 'error' | 'pending_termination' {
  if (state === 'deleted_terminating') return 'pending_termination';
  return f.fulfilledCapacity >= (f.targetCapacity.TotalTargetCapacity ?? 0) ? 'fulfilled' : 'error';
}

/** A deleted fleet is gone once its retention has passed, whether or not its record has been removed yet. */
export const fleetExpired = (f: Pick<FleetRecord, 'deletedAt'>, nowMs: number): boolean =>
  f.deletedAt !== undefined && Date.parse(f.deletedAt) + FLEET_RETENTION_MS < nowMs;

/**
 * The launch template and override a launch or an error entry names: the template by its ID (and by
 * its name when the request named it), and the version number that was used, `$Latest` and `$Default`
 * resolved.
 */
export const launchTemplateAndOverrides = (
  template: { readonly id: string; readonly name?: string | undefined; readonly version: number },
  override: FleetLaunchTemplateOverridesRequest | undefined,
): LaunchTemplateAndOverridesResponse => ({
  LaunchTemplateSpecification: {
    LaunchTemplateId: template.id,
    ...(template.name !== undefined ? { LaunchTemplateName: template.name } : {}),
    Version: String(template.version),
  },
  ...(override ? { Overrides: overridesResponse(override) } : {}),
});
