/**
 * Dedicated Hosts: AllocateHosts, DescribeHosts, ModifyHosts, ReleaseHosts, ModifyInstancePlacement, and
 * where `Tenancy=host` instances go when they launch or start again. Capacity is never stored: it is
 * derived from the instance records (domain/host-capacity.ts) every time it is needed.
 */
import type {
  AllocateHostsRequest,
  AllocateHostsResult,
  DescribeHostsRequest,
  DescribeHostsResult,
  Host,
  ModifyHostsRequest,
  ModifyHostsResult,
  ModifyInstancePlacementRequest,
  ModifyInstancePlacementResult,
  ReleaseHostsRequest,
  ReleaseHostsResult,
  UnsuccessfulItem,
} from '@aws-sdk/client-ec2';
import { type Ec2Error, Errors } from '../domain/errors.js';
import { CLIENT_TOKEN_SYNTAX, xmlSafeText } from '../domain/text.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import {
  type HostLoad,
  availableVcpus,
  checkHostTakes,
  familyOfHost,
  familySupportsDedicatedHosts,
  roomFor,
  supportsDedicatedHosts,
  totalCapacity,
  typesOnHost,
} from '../domain/host-capacity.js';
import {
  type HostRecord,
  type OnOff,
  type PlacementChange,
  changePlacement,
  checkNoPlacementGroup,
  parseAffinity,
  parseTenancy,
} from '../domain/host.js';
import { newId } from '../domain/ids.js';
import type { InstanceRecord } from '../domain/instance.js';
import { paginate } from '../domain/paging.js';
import { zoneNamed, zonesIn } from '../domain/regions.js';
import type { ResourcePut } from '../store/types.js';
import { type Services, launchLock, quotasOf } from '../services/context.js';
import type { StoreTransaction } from '../store/types.js';
import { type Handler, type RequestContext, requestFingerprint, required } from './context.js';
import { DEFAULT_QUOTAS } from '../accounts.js';
import { checkHostIdSyntax, expiredHosts, findHosts, loadsOf, visibleHosts } from '../services/hosts.js';
import { findInstances } from '../services/instances.js';
import { NO_TAGS, tagList, tagsFromSpecifications } from '../services/tags.js';

/** Allocated (not released) hosts of one family one account may have in one region by default, like EC2's Dedicated Host quotas. */
export const HOST_LIMIT = DEFAULT_QUOTAS.dedicatedHostsPerFamily;

/** A host's instance family: the one it was allocated for, or its instance type's. */
const hostFamilyOf = (h: Pick<HostRecord, 'instanceFamily' | 'instanceType'>): string | undefined =>
  h.instanceFamily ?? h.instanceType?.split('.')[0];

// --- shared parameter checks ------------------------------------------------------------------------

function parseOnOff(value: string | undefined, param: string): OnOff | undefined {
  if (value === undefined) return undefined;
  if (value !== 'on' && value !== 'off') throw Errors.invalidValueFor(param, value, 'Valid values: on, off.');
  return value;
}

interface HostConfiguration {
  readonly instanceType?: string;
  readonly instanceFamily?: string;
}

/** InstanceType xor InstanceFamily (AllocateHosts, ModifyHosts), and it must run on Dedicated Hosts. */
function hostConfiguration(
  s: Services,
  input: { readonly InstanceType?: string | undefined; readonly InstanceFamily?: string | undefined },
): HostConfiguration | undefined {
  const { InstanceType: type, InstanceFamily: family } = input;
  if (type !== undefined && family !== undefined) {
    throw Errors.invalidParameterCombination('You cannot specify both InstanceType and InstanceFamily.');
  }
  if (type !== undefined) {
    if (!supportsDedicatedHosts(s.catalog, type)) throw Errors.invalidHostConfiguration('instance type', type);
    return { instanceType: type };
  }
  if (family !== undefined) {
    if (!familySupportsDedicatedHosts(s.catalog, family)) throw Errors.invalidHostConfiguration('instance family', family);
    return { instanceFamily: family };
  }
  return undefined;
}

/** AvailabilityZone or AvailabilityZoneId: one of them, naming a zone of the caller's region. */
function allocationZone(input: AllocateHostsRequest, region: string): string {
  const zone = zoneNamed(region, input.AvailabilityZone, input.AvailabilityZoneId);
  if (zone === undefined) throw Errors.missingParameter('AvailabilityZone');
  return zone;
}

/**
 * The lock a Dedicated Host decision holds until it is written: a host's quota and ClientToken
 * (AllocateHosts), and its occupants (ModifyHosts, ReleaseHosts) — the launch lock, which launches
 * placing instances on hosts hold too, so no launch lands on a host being released meanwhile.
 */
const hostLock = launchLock;

/** A per-host failure as ModifyHosts and ReleaseHosts report it: EC2 prefixes these codes with `Client.`. */
const failure = (id: string, err: Ec2Error): UnsuccessfulItem => ({
  ResourceId: id,
  Error: { Code: `Client.${err.code}`, Message: err.message },
});

// --- AllocateHosts ----------------------------------------------------------------------------------

export const allocateHosts: Handler<AllocateHostsRequest, AllocateHostsResult> = async (input, ctx, s) => {
  const zone = allocationZone(input, ctx.region);
  const config = hostConfiguration(s, input);
  if (!config) throw Errors.missingParameter('InstanceType or InstanceFamily');
  const quantity = input.Quantity ?? 1;
  if (!Number.isInteger(quantity) || quantity < 1) {
    throw Errors.invalidValueFor('Quantity', quantity, 'Quantity must be at least 1.');
  }
  const autoPlacement = parseOnOff(input.AutoPlacement, 'AutoPlacement') ?? 'off';
  const hostRecovery = parseOnOff(input.HostRecovery, 'HostRecovery') ?? 'off';
  const hostMaintenance = parseOnOff(input.HostMaintenance, 'HostMaintenance') ?? 'on';
  if (input.OutpostArn !== undefined) throw Errors.invalidValueFor('OutpostArn', input.OutpostArn, 'nestbox has no Outposts.');
  if (input.AssetIds !== undefined && input.AssetIds.length > 0) {
    throw Errors.invalidParameterCombination('AssetIds can be used only with OutpostArn.');
  }
  const tags = tagsFromSpecifications(input.TagSpecifications, 'dedicated-host', ['dedicated-host']);
  const token = input.ClientToken;
  if (token !== undefined && (token.length > 64 || !CLIENT_TOKEN_SYNTAX.test(token))) {
    throw Errors.invalidValueFor('clientToken', xmlSafeText(token), 'The client token must be at most 64 ASCII characters.');
  }

  const hash = requestFingerprint(input);
  const limit = quotasOf(s, ctx.account).dedicatedHostsPerFamily;
  const allocationTime = s.now().toISOString();
  const hosts: HostRecord[] = Array.from({ length: quantity }, () => ({
    id: newId('host'),
    account: ctx.account,
    region: ctx.region,
    availabilityZone: zone,
    ...config,
    autoPlacement,
    hostRecovery,
    hostMaintenance,
    state: 'available',
    allocationTime,
    ...(token !== undefined ? { clientToken: token, requestHash: hash } : {}),
  }));
  return s.store.transaction(
    async (tx) => {
      const visible = await visibleHosts(s, ctx, tx);
      if (token !== undefined) {
        const earlier = visible.filter((h) => h.clientToken === token);
        if (earlier.length > 0) {
          if (earlier[0]!.requestHash !== hash) throw Errors.idempotentParameterMismatch(token);
          return { HostIds: earlier.map((h) => h.id) };
        }
      }
      // The account's Dedicated Host quota counts the allocated hosts of the same instance family (src/accounts.ts).
      const allocated = visible.filter((h) => h.state === 'available' && hostFamilyOf(h) === hostFamilyOf(config)).length;
      if (allocated + quantity > limit) throw Errors.hostLimitExceeded(allocated + quantity, limit);
      tx.write({
        putResources: hosts.map((doc): ResourcePut => ({ kind: 'dedicated-host', doc })),
        putTags: hosts.flatMap((h) =>
          tags.map((t) => ({
            resourceId: h.id,
            resourceType: 'dedicated-host',
            account: ctx.account,
            region: ctx.region,
            key: t.key,
            value: t.value,
          })),
        ),
        deleteResources: await expiredHosts(s, tx),
      });
      return { HostIds: hosts.map((h) => h.id) };
    },
    { lock: hostLock(ctx) },
  );
};

// --- DescribeHosts ----------------------------------------------------------------------------------

/** `tagsOf`: the hosts' tags, read beforehand. */
function hostFilterTable(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<HostRecord> {
  return {
    tags: (h) => tagsOf(h.id),
    fields: {
      'auto-placement': (h) => h.autoPlacement,
      'availability-zone': (h) => h.availabilityZone,
      'client-token': (h) => h.clientToken,
      // nestbox has no host reservations: the filter exists and matches nothing
      'host-reservation-id': () => undefined,
      'instance-type': (h) => h.instanceType,
      'state': (h) => h.state,
    },
  };
}

/** The API's view of a host with what is on it, given its tags. */
function toHost(load: HostLoad, s: Services, tags: ReadonlyMap<string, string>): Host {
  const { host, hardware } = load;
  const zoneId = zonesIn(host.region).find((z) => z.name === host.availabilityZone)?.id;
  return {
    AutoPlacement: host.autoPlacement,
    AvailabilityZone: host.availabilityZone,
    ...(zoneId !== undefined ? { AvailabilityZoneId: zoneId } : {}),
    ...(host.state === 'available'
      ? {
          AvailableCapacity: {
            AvailableInstanceCapacity: typesOnHost(s.catalog, host).map((t) => ({
              InstanceType: t.type,
              AvailableCapacity: roomFor(s.catalog, load, t),
              TotalCapacity: totalCapacity(load, t),
            })),
            AvailableVCpus: availableVcpus(load),
          },
        }
      : {}),
    ...(host.clientToken !== undefined ? { ClientToken: host.clientToken } : {}),
    HostId: host.id,
    HostProperties: {
      Cores: hardware.cores,
      Sockets: hardware.sockets,
      TotalVCpus: hardware.totalVcpus,
      // EC2 names the one type of a single-type host, or the family of a multi-type host, never both.
      ...(host.instanceType !== undefined ? { InstanceType: host.instanceType } : { InstanceFamily: host.instanceFamily }),
    },
    Instances: load.occupants.map((r) => ({ InstanceId: r.id, InstanceType: r.instanceType, OwnerId: r.account })),
    State: host.state,
    AllocationTime: new Date(host.allocationTime),
    ...(host.releaseTime !== undefined ? { ReleaseTime: new Date(host.releaseTime) } : {}),
    ...(tags.size > 0 ? { Tags: tagList(tags) } : {}),
    HostRecovery: host.hostRecovery,
    AllowsMultipleInstanceTypes: host.instanceFamily !== undefined ? 'on' : 'off',
    OwnerId: host.account,
    MemberOfServiceLinkedResourceGroup: false,
    HostMaintenance: host.hostMaintenance,
  };
}

export const describeHosts: Handler<DescribeHostsRequest, DescribeHostsResult> = async (input, ctx, s) => {
  const ids = input.HostIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter HostId cannot be used with the parameter MaxResults');
  }
  let tags: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();
  const predicate = compileFilters(hostFilterTable((id) => tags.get(id)), input.Filter);
  const hosts = ids.length > 0 ? await findHosts(s, ctx, ids) : await visibleHosts(s, ctx);
  tags = await s.store.tagsOfMany(hosts.map((h) => h.id));
  const page = paginate(hosts.filter(predicate), input, { min: 5, max: 500 }, { f: input.Filter, ids });
  return {
    Hosts: (await loadsOf(s, page.items)).map((load) => toHost(load, s, tags.get(load.host.id) ?? NO_TAGS)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

// --- ModifyHosts ------------------------------------------------------------------------------------

/** The occupancy check and the write hold the launch lock: no launch places an instance on a host being reconfigured. */
export const modifyHosts: Handler<ModifyHostsRequest, ModifyHostsResult> = async (input, ctx, s) => {
  const ids = required(input.HostIds, 'HostId');
  const autoPlacement = parseOnOff(input.AutoPlacement, 'AutoPlacement');
  const hostRecovery = parseOnOff(input.HostRecovery, 'HostRecovery');
  const hostMaintenance = parseOnOff(input.HostMaintenance, 'HostMaintenance');
  const config = hostConfiguration(s, input);
  if (!autoPlacement && !hostRecovery && !hostMaintenance && !config) {
    throw Errors.invalidParameterCombination(
      'At least one of AutoPlacement, HostRecovery, HostMaintenance, InstanceType or InstanceFamily must be specified.',
    );
  }
  checkHostIdSyntax(ids);
  return s.store.transaction(async (tx) => modifyHostsIn(tx, ids, { autoPlacement, hostRecovery, hostMaintenance, config }, ctx, s), {
    lock: hostLock(ctx),
  });
};

/** ModifyHosts' changes, read and written in one transaction. */
async function modifyHostsIn(
  tx: StoreTransaction,
  ids: readonly string[],
  change: {
    readonly autoPlacement: OnOff | undefined;
    readonly hostRecovery: OnOff | undefined;
    readonly hostMaintenance: OnOff | undefined;
    readonly config: HostConfiguration | undefined;
  },
  ctx: RequestContext,
  s: Services,
): Promise<ModifyHostsResult> {
  const { autoPlacement, hostRecovery, hostMaintenance, config } = change;
  const loads = new Map((await loadsOf(s, await visibleHosts(s, ctx, tx), tx)).map((l) => [l.host.id, l]));
  const successful: string[] = [];
  const unsuccessful: UnsuccessfulItem[] = [];
  const changed: HostRecord[] = [];
  for (const id of new Set(ids)) {
    const load = loads.get(id);
    // A released host can no longer be named in a request (DescribeHosts aside).
    if (!load || load.host.state !== 'available') {
      unsuccessful.push(failure(id, Errors.hostIdNotFound([id])));
      continue;
    }
    const { host } = load;
    if (config) {
      const family = familyOfHost(s.catalog, host);
      const requested = config.instanceType ?? config.instanceFamily!;
      const requestedFamily = config.instanceFamily ?? s.catalog.facts(config.instanceType!)?.family;
      if (requestedFamily !== family) {
        unsuccessful.push(failure(id, Errors.hostFamilyMismatch(id, family, requested)));
        continue;
      }
      const reconfigures = config.instanceType !== host.instanceType || config.instanceFamily !== host.instanceFamily;
      if (reconfigures && load.occupants.length > 0) {
        unsuccessful.push(failure(id, Errors.hostOccupied(id, 'modified')));
        continue;
      }
    }
    changed.push({
      ...host,
      ...(autoPlacement ? { autoPlacement } : {}),
      ...(hostRecovery ? { hostRecovery } : {}),
      ...(hostMaintenance ? { hostMaintenance } : {}),
      ...(config ? { instanceType: config.instanceType, instanceFamily: config.instanceFamily } : {}),
    });
    successful.push(id);
  }
  if (changed.length > 0) tx.write({ putResources: changed.map((doc): ResourcePut => ({ kind: 'dedicated-host', doc })) });
  return { Successful: successful, Unsuccessful: unsuccessful };
}

// --- ReleaseHosts -----------------------------------------------------------------------------------

/** The occupancy check and the write hold the launch lock: no launch places an instance on a host being released. */
export const releaseHosts: Handler<ReleaseHostsRequest, ReleaseHostsResult> = async (input, ctx, s) => {
  const ids = required(input.HostIds, 'HostId');
  checkHostIdSyntax(ids);
  return s.store.transaction(async (tx) => releaseHostsIn(tx, ids, ctx, s), { lock: hostLock(ctx) });
};

/** ReleaseHosts' changes, read and written in one transaction. */
async function releaseHostsIn(tx: StoreTransaction, ids: readonly string[], ctx: RequestContext, s: Services): Promise<ReleaseHostsResult> {
  const loads = new Map((await loadsOf(s, await visibleHosts(s, ctx, tx), tx)).map((l) => [l.host.id, l]));
  const releaseTime = s.now().toISOString();
  const successful: string[] = [];
  const unsuccessful: UnsuccessfulItem[] = [];
  const released: HostRecord[] = [];
  for (const id of new Set(ids)) {
    const load = loads.get(id);
    if (!load || load.host.state !== 'available') {
      unsuccessful.push(failure(id, Errors.hostIdNotFound([id])));
    } else if (load.occupants.length > 0) {
      unsuccessful.push(failure(id, Errors.hostOccupied(id, 'released')));
    } else {
      released.push({ ...load.host, state: 'released', releaseTime });
      successful.push(id);
    }
  }
  if (released.length > 0) {
    tx.write({
      putResources: released.map((doc): ResourcePut => ({ kind: 'dedicated-host', doc })),
      deleteResources: await expiredHosts(s, tx),
    });
  }
  return { Successful: successful, Unsuccessful: unsuccessful };
}

// --- ModifyInstancePlacement ------------------------------------------------------------------------

/**
 * Changes a stopped instance's host, tenancy (dedicated ↔ host) or affinity — the affinity also while it
 * runs. A new host must exist, be available, be in the instance's zone and take its type; whether it has
 * room is checked when the instance starts, as in EC2. nestbox has no placement groups or host resource
 * groups: `GroupName=''` (out of any group) is accepted, any other group is unknown.
 */
export const modifyInstancePlacement: Handler<ModifyInstancePlacementRequest, ModifyInstancePlacementResult> = async (
  input,
  ctx,
  s,
) => {
  const id = required(input.InstanceId, 'InstanceId');
  const { Affinity, HostId, Tenancy, GroupName, GroupId, PartitionNumber, HostResourceGroupArn } = input;
  if ([Affinity, HostId, Tenancy, GroupName, GroupId, PartitionNumber, HostResourceGroupArn].every((v) => v === undefined)) {
    throw Errors.invalidParameterCombination(
      'At least one of Affinity, HostId, Tenancy, GroupName, GroupId, PartitionNumber or HostResourceGroupArn must be specified.',
    );
  }
  const change: PlacementChange = {
    affinity: Affinity === undefined ? undefined : parseAffinity(Affinity, 'Affinity'),
    tenancy: Tenancy === undefined ? undefined : parseTenancy(Tenancy, 'Tenancy'),
    hostId: HostId,
    groupName: GroupName,
  };
  if (HostId !== undefined) checkHostIdSyntax([HostId]);
  if (HostResourceGroupArn !== undefined) {
    throw Errors.invalidValueFor('HostResourceGroupArn', HostResourceGroupArn, 'nestbox has no host resource groups.');
  }
  const [rec] = (await findInstances(s, ctx, [id])) as [InstanceRecord];
  const [host] = HostId === undefined ? [] : await findHosts(s, ctx, [HostId]);
  checkNoPlacementGroup({ GroupName, GroupId, PartitionNumber });
  const facts = s.catalog.facts(rec.instanceType)!;
  const next = changePlacement(rec, change, facts.family);
  if (host) checkHostTakes(s.catalog, host, facts, rec.availabilityZone);
  // `next` keeps the record's `rev`: the change applies only to the instance as it was read (e.g. still stopped).
  if (next !== rec) await s.store.commit({ instances: [next] });
  return { Return: true };
};
