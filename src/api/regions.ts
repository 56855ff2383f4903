/**
 * Where things are: DescribeRegions, DescribeAvailabilityZones (the caller's Region) and
 * DescribeInstanceTypeOfferings, all read from the one Region table in domain/regions.ts (and, for where
 * each type is offered, the catalog's offering data, domain/instance-types.ts).
 */
import type {
  AvailabilityZone,
  DescribeAvailabilityZonesRequest,
  DescribeAvailabilityZonesResult,
  DescribeInstanceTypeOfferingsRequest,
  DescribeInstanceTypeOfferingsResult,
  DescribeRegionsRequest,
  DescribeRegionsResult,
  InstanceTypeOffering,
  Region,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { paginate } from '../domain/paging.js';
import { REGIONS, type ZoneFacts, endpointOf, findRegion, optInStatusOf, zonesIn } from '../domain/regions.js';
import { type Handler, checkDryRun } from './context.js';

// --- DescribeRegions --------------------------------------------------------------------------------

const ALL_REGIONS: readonly Region[] = REGIONS.map((r) => ({
  RegionName: r.name,
  Endpoint: endpointOf(r.name),
  OptInStatus: optInStatusOf(r),
}));

const regionFilters: FilterTable<Region> = {
  fields: {
    'region-name': (r) => r.RegionName,
    endpoint: (r) => r.Endpoint,
    'opt-in-status': (r) => r.OptInStatus,
  },
};

export const describeRegions: Handler<DescribeRegionsRequest, DescribeRegionsResult> = (input) => {
  const names = [...new Set(input.RegionNames ?? [])];
  const unknown = names.filter((n) => !findRegion(n));
  if (unknown.length > 0) throw Errors.invalidRegion(unknown);
  const predicate = compileFilters(regionFilters, input.Filters);
  checkDryRun(input);
  // AllRegions adds the Regions not enabled for the account; here every Region is enabled, so the
  // list is the same with or without it.
  const candidates = names.length > 0 ? ALL_REGIONS.filter((r) => names.includes(r.RegionName!)) : ALL_REGIONS;
  return { Regions: candidates.filter(predicate) };
};

// --- DescribeAvailabilityZones ----------------------------------------------------------------------

function zoneInfo(z: ZoneFacts): AvailabilityZone {
  const regionLongName = findRegion(z.region)?.description ?? z.region;
  return {
    OptInStatus: 'opt-in-not-required',
    Messages: [],
    RegionName: z.region,
    ZoneName: z.name,
    ZoneId: z.id,
    GroupName: `${z.region}-zg-1`,
    GroupLongName: `${regionLongName} 1`,
    NetworkBorderGroup: z.region,
    ZoneType: 'availability-zone',
    State: 'available',
  };
}

const zoneFilters: FilterTable<AvailabilityZone> = {
  fields: {
    'zone-name': (z) => z.ZoneName,
    'zone-id': (z) => z.ZoneId,
    'zone-type': (z) => z.ZoneType,
    state: (z) => z.State,
    'region-name': (z) => z.RegionName,
    'group-name': (z) => z.GroupName,
    'group-long-name': (z) => z.GroupLongName,
    'opt-in-status': (z) => z.OptInStatus,
    message: (z) => (z.Messages ?? []).map((m) => m.Message),
    'parent-zone-id': (z) => z.ParentZoneId,
    'parent-zone-name': (z) => z.ParentZoneName,
  },
};

export const describeAvailabilityZones: Handler<DescribeAvailabilityZonesRequest, DescribeAvailabilityZonesResult> = (
  input,
  ctx,
) => {
  const zones = zonesIn(ctx.region);
  const names = [...new Set(input.ZoneNames ?? [])];
  const ids = [...new Set(input.ZoneIds ?? [])];
  const unknownNames = names.filter((n) => !zones.some((z) => z.name === n));
  if (unknownNames.length > 0) throw Errors.invalidAvailabilityZone(unknownNames.join(', '));
  const unknownIds = ids.filter((id) => !zones.some((z) => z.id === id));
  if (unknownIds.length > 0) throw Errors.invalidAvailabilityZoneId(unknownIds.join(', '));
  const predicate = compileFilters(zoneFilters, input.Filters);
  checkDryRun(input);
  // Zones named by either list; AllAvailabilityZones would add Local and Wavelength Zones, which nestbox has none of.
  const named = names.length > 0 || ids.length > 0;
  const candidates = named ? zones.filter((z) => names.includes(z.name) || ids.includes(z.id)) : zones;
  return { AvailabilityZones: candidates.map(zoneInfo).filter(predicate) };
};

// --- DescribeInstanceTypeOfferings ------------------------------------------------------------------

const LOCATION_TYPES = ['region', 'availability-zone', 'availability-zone-id', 'outpost'] as const;
type LocationType = (typeof LOCATION_TYPES)[number];

const offeringFilters: FilterTable<InstanceTypeOffering> = {
  fields: {
    location: (o) => o.Location,
    'instance-type': (o) => o.InstanceType,
  },
};

/** Offerings answered per page when MaxResults is not given (and the most a page may hold). */
const MAX_OFFERINGS_PER_PAGE = 1000;

export const describeInstanceTypeOfferings: Handler<
  DescribeInstanceTypeOfferingsRequest,
  DescribeInstanceTypeOfferingsResult
> = (input, ctx, s) => {
  const locationType = (input.LocationType ?? 'region') as LocationType;
  if (!LOCATION_TYPES.includes(locationType)) {
    throw Errors.invalidValueFor('LocationType', locationType, `Valid values: ${LOCATION_TYPES.join(', ')}.`);
  }
  const predicate = compileFilters(offeringFilters, input.Filters);
  checkDryRun(input);
  // Where EC2 offers each type (the catalog's offering data, per Region and per zone ID: a zone name
  // is looked up by the ID nestbox gives it); nestbox has no Outposts.
  const locations: readonly { readonly location: string; readonly zoneId?: string }[] =
    locationType === 'region'
      ? [{ location: ctx.region }]
      : locationType === 'outpost'
        ? []
        : zonesIn(ctx.region).map((z) => ({ location: locationType === 'availability-zone' ? z.name : z.id, zoneId: z.id }));
  const offerings: InstanceTypeOffering[] = [];
  for (const t of s.catalog.types) {
    for (const { location: Location, zoneId } of locations) {
      const offering: InstanceTypeOffering = {
        InstanceType: t.type as InstanceTypeOffering['InstanceType'],
        LocationType: locationType,
        Location,
      };
      if (predicate(offering) && s.catalog.offered(t.type, ctx.region, zoneId)) offerings.push(offering);
    }
  }
  const page = paginate(
    offerings,
    { MaxResults: input.MaxResults ?? MAX_OFFERINGS_PER_PAGE, NextToken: input.NextToken },
    { min: 5, max: MAX_OFFERINGS_PER_PAGE },
    { f: input.Filters, l: locationType, r: ctx.region, p: s.catalog.profile },
  );
  return { InstanceTypeOfferings: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
