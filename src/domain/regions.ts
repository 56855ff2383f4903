/**
 * The commercial AWS Regions and their Availability Zones: the one table behind DescribeRegions,
 * DescribeAvailabilityZones, DescribeInstanceTypeOfferings and every zone check (RunInstances'
 * Placement.AvailabilityZone, its default zone).
 *
 * The list is the `aws` partition as of 2026 (the Regions botocore knows an EC2 endpoint for; the
 * announced me-west-1 and sa-west-1 are not open yet). Zone letters and zone IDs are those a real
 * account sees: a letter's zone ID differs between accounts in the older Regions, so one real mapping
 * is used (e.g. us-east-1a is use1-az6), and letters that new accounts do not get are absent
 * (us-west-1 has b and c; ap-northeast-1 a, c and d; ca-central-1 a, b and d).
 *
 * Requests are served only in the Regions of this table: a request signed (or, with `--no-auth`,
 * scoped) for any other name is refused by the HTTP layer before it reaches a handler, as AWS refuses
 * a credential scope naming a Region the endpoint does not serve ("Credential should be scoped to a
 * valid region", src/http/sigv4.ts isCatalogRegion), so no resource, quota or zone exists for such a
 * name. zonesIn still answers for a name outside the table (three zones, a to c, whose IDs follow the
 * same naming rule) so that pure callers never fail on one.
 */
import { Errors } from './errors.js';

export interface ZoneFacts {
  /** `us-east-1a` */
  readonly name: string;
  /** `use1-az6` */
  readonly id: string;
  readonly region: string;
}

export interface RegionFacts {
  readonly name: string;
  /** `US East (N. Virginia)`, as the SDKs' partition data names it */
  readonly description: string;
  /** Regions launched after 20 March 2019 must be enabled (opted in to) before use */
  readonly optIn: boolean;
  readonly zones: readonly ZoneFacts[];
}

/** name, description, opt-in, zones as `<letter><az number>` (the zone ID's suffix) */
type Row = readonly [name: string, description: string, optIn: boolean, zones: string];

const THREE = 'a1 b2 c3';

const ROWS: readonly Row[] = [
  ['af-south-1', 'Africa (Cape Town)', true, THREE],
  ['ap-east-1', 'Asia Pacific (Hong Kong)', true, THREE],
  ['ap-east-2', 'Asia Pacific (Taipei)', true, THREE],
  ['ap-northeast-1', 'Asia Pacific (Tokyo)', false, 'a4 c1 d2'],
  ['ap-northeast-2', 'Asia Pacific (Seoul)', false, 'a1 b2 c3 d4'],
  ['ap-northeast-3', 'Asia Pacific (Osaka)', false, THREE],
  ['ap-south-1', 'Asia Pacific (Mumbai)', false, 'a1 b3 c2'],
  ['ap-south-2', 'Asia Pacific (Hyderabad)', true, THREE],
  ['ap-southeast-1', 'Asia Pacific (Singapore)', false, THREE],
  ['ap-southeast-2', 'Asia Pacific (Sydney)', false, 'a1 b3 c2'],
  ['ap-southeast-3', 'Asia Pacific (Jakarta)', true, THREE],
  ['ap-southeast-4', 'Asia Pacific (Melbourne)', true, THREE],
  ['ap-southeast-5', 'Asia Pacific (Malaysia)', true, THREE],
  ['ap-southeast-6', 'Asia Pacific (New Zealand)', true, THREE],
  ['ap-southeast-7', 'Asia Pacific (Thailand)', true, THREE],
  ['ca-central-1', 'Canada (Central)', false, 'a1 b2 d4'],
  ['ca-west-1', 'Canada West (Calgary)', true, THREE],
  ['eu-central-1', 'Europe (Frankfurt)', false, 'a2 b3 c1'],
  ['eu-central-2', 'Europe (Zurich)', true, THREE],
  ['eu-north-1', 'Europe (Stockholm)', false, THREE],
  ['eu-south-1', 'Europe (Milan)', true, THREE],
  ['eu-south-2', 'Europe (Spain)', true, THREE],
  ['eu-west-1', 'Europe (Ireland)', false, 'a3 b1 c2'],
  ['eu-west-2', 'Europe (London)', false, 'a2 b3 c1'],
  ['eu-west-3', 'Europe (Paris)', false, THREE],
  ['il-central-1', 'Israel (Tel Aviv)', true, THREE],
  ['me-central-1', 'Middle East (UAE)', true, THREE],
  ['me-south-1', 'Middle East (Bahrain)', true, THREE],
  ['mx-central-1', 'Mexico (Central)', true, THREE],
  ['sa-east-1', 'South America (Sao Paulo)', false, THREE],
  ['us-east-1', 'US East (N. Virginia)', false, 'a6 b1 c2 d4 e3 f5'],
  ['us-east-2', 'US East (Ohio)', false, THREE],
  ['us-west-1', 'US West (N. California)', false, 'b3 c1'],
  ['us-west-2', 'US West (Oregon)', false, 'a2 b1 c3 d4'],
];

const COMPASS: Readonly<Record<string, string>> = { north: 'n', south: 's', east: 'e', west: 'w', central: 'c' };

/**
 * The zone-ID prefix of a Region: its area code, the initials of its compass words, its number
 * (`us-east-1` → `use1`, `ap-northeast-1` → `apne1`, `il-central-1` → `ilc1`).
 */
export function zoneIdPrefix(region: string): string {
  const parts = region.split('-');
  const area = parts[0] ?? '';
  const number = parts.length > 1 ? (parts[parts.length - 1] ?? '') : '';
  const middle = parts.slice(1, -1).map((word) => {
    let out = '';
    let rest = word;
    // northeast → n + e; a word that is no compass point contributes its first letter
    while (rest.length > 0) {
      const point = Object.keys(COMPASS).find((p) => rest.startsWith(p));
      if (!point) return out + rest[0];
      out += COMPASS[point];
      rest = rest.slice(point.length);
    }
    return out;
  });
  return `${area}${middle.join('')}${number}`;
}

function zonesFrom(region: string, spec: string): ZoneFacts[] {
  const prefix = zoneIdPrefix(region);
  return spec.split(' ').map((z) => ({ name: `${region}${z[0]}`, id: `${prefix}-az${z.slice(1)}`, region }));
}

/** Every commercial Region, by name. */
export const REGIONS: readonly RegionFacts[] = Object.freeze(
  ROWS.map(([name, description, optIn, zones]) => Object.freeze({ name, description, optIn, zones: zonesFrom(name, zones) })),
);

const byName = new Map(REGIONS.map((r) => [r.name, r]));

export const findRegion = (name: string): RegionFacts | undefined => byName.get(name);

const unlisted = new Map<string, readonly ZoneFacts[]>();

/** The zones of a Region, in letter order; a Region not in the table has a, b and c. */
export function zonesIn(region: string): readonly ZoneFacts[] {
  const known = byName.get(region);
  if (known) return known.zones;
  let zones = unlisted.get(region);
  if (!zones) {
    zones = Object.freeze(zonesFrom(region, THREE));
    if (unlisted.size > 1000) unlisted.clear();
    unlisted.set(region, zones);
  }
  return zones;
}

/**
 * The zone a request names by name or by ID (never both) in `region`, or undefined when it names
 * none; an unknown name or ID is InvalidParameterValue.
 */
export function zoneNamed(region: string, name: string | undefined, id: string | undefined): string | undefined {
  if (name !== undefined && id !== undefined) {
    throw Errors.invalidParameterCombination('You cannot specify both AvailabilityZone and AvailabilityZoneId.');
  }
  const zones = zonesIn(region);
  if (name !== undefined) {
    if (!zones.some((z) => z.name === name)) throw Errors.invalidAvailabilityZone(name);
    return name;
  }
  if (id === undefined) return undefined;
  const zone = zones.find((z) => z.id === id);
  if (!zone) throw Errors.invalidAvailabilityZoneId(id);
  return zone.name;
}

/** The EC2 endpoint of a Region. */
export const endpointOf = (region: string): string => `ec2.${region}.amazonaws.com`;

/** The account's opt-in status for a Region: every opt-in Region counts as enabled (opted in). */
export const optInStatusOf = (r: RegionFacts): 'opt-in-not-required' | 'opted-in' =>
  r.optIn ? 'opted-in' : 'opt-in-not-required';
