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
import type { ResourcePut } from '../store/store.js';
import { type Services, quotasOf } from '../services/context.js';
import { type Handler, requestFingerprint, required } from './context.js';
import { DEFAULT_QUOTAS } from '../accounts.js';
import { checkHostIdSyntax, expiredHosts, findHosts, loadsOf, visibleHosts } from '../services/hosts.js';
import { findInstances } from '../services/instances.js';
import { tagList, tagsFromSpecifications } from '../services/tags.js';

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

/** A per-host failure as ModifyHosts and ReleaseHosts report it: EC2 prefixes these codes with `Client.`. */
const failure = (id: string, err: Ec2Error): UnsuccessfulItem => ({
  ResourceId: id,
  Error: { Code: `Client.${err.code}`, Message: err.message },
});

// --- AllocateHosts ----------------------------------------------------------------------------------

export const allocateHosts: Handler<AllocateHostsRequest, AllocateHostsResult> = (input, ctx, s) => {
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

  const visible = visibleHosts(s, ctx);
  const hash = requestFingerprint(input);
  if (token !== undefined) {
    const earlier = visible.filter((h) => h.clientToken === token);
    if (earlier.length > 0) {
      if (earlier[0]!.requestHash !== hash) throw Errors.idempotentParameterMismatch(token);
      return { HostIds: earlier.map((h) => h.id) };
    }
  }
  // The account's Dedicated Host quota counts the allocated hosts of the same instance family (src/accounts.ts).
  const limit = quotasOf(s, ctx.account).dedicatedHostsPerFamily;
  const allocated = visible.filter((h) => h.state === 'available' && hostFamilyOf(h) === hostFamilyOf(config)).length;
  if (allocated + quantity > limit) throw Errors.hostLimitExceeded(allocated + quantity, limit);

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
  s.store.commit({
    putResources: hosts.map((doc): ResourcePut => ({ kind: 'dedicated-host', doc })),
    putTags: hosts.flatMap((h) =>
      tags.map((t) => ({ resourceId: h.id, resourceType: 'dedicated-host', key: t.key, value: t.value })),
    ),
    deleteResources: expiredHosts(s),
  });
  return { HostIds: hosts.map((h) => h.id) };
};

// --- DescribeHosts ----------------------------------------------------------------------------------

function hostFilterTable(s: Services): FilterTable<HostRecord> {
  return {
    tags: (h) => s.store.tagsOf(h.id),
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

function toHost(load: HostLoad, s: Services): Host {
  const { host, hardware } = load;
  const tags = s.store.tagsOf(host.id);
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
    ...(tags && tags.size > 0 ? { Tags: tagList(tags) } : {}),
    HostRecovery: host.hostRecovery,
    AllowsMultipleInstanceTypes: host.instanceFamily !== undefined ? 'on' : 'off',
    OwnerId: host.account,
    MemberOfServiceLinkedResourceGroup: false,
    HostMaintenance: host.hostMaintenance,
  };
}

export const describeHosts: Handler<DescribeHostsRequest, DescribeHostsResult> = (input, ctx, s) => {
  const ids = input.HostIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter HostId cannot be used with the parameter MaxResults');
  }
  const predicate = compileFilters(hostFilterTable(s), input.Filter);
  const hosts = ids.length > 0 ? findHosts(s, ctx, ids) : visibleHosts(s, ctx);
  const page = paginate(hosts.filter(predicate), input, { min: 5, max: 500 }, { f: input.Filter, ids });
  return {
    Hosts: loadsOf(s, page.items).map((load) => toHost(load, s)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

// --- ModifyHosts ------------------------------------------------------------------------------------

export const modifyHosts: Handler<ModifyHostsRequest, ModifyHostsResult> = (input, ctx, s) => {
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
  const loads = new Map(loadsOf(s, visibleHosts(s, ctx)).map((l) => [l.host.id, l]));
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
  if (changed.length > 0) s.store.commit({ putResources: changed.map((doc): ResourcePut => ({ kind: 'dedicated-host', doc })) });
  return { Successful: successful, Unsuccessful: unsuccessful };
};

// --- ReleaseHosts -----------------------------------------------------------------------------------

export const releaseHosts: Handler<ReleaseHostsRequest, ReleaseHostsResult> = (input, ctx, s) => {
  const ids = required(input.HostIds, 'HostId');
  checkHostIdSyntax(ids);
  const loads = new Map(loadsOf(s, visibleHosts(s, ctx)).map((l) => [l.host.id, l]));
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
    s.store.commit({
      putResources: released.map((doc): ResourcePut => ({ kind: 'dedicated-host', doc })),
      deleteResources: expiredHosts(s),
    });
  }
  return { Successful: successful, Unsuccessful: unsuccessful };
};

// --- ModifyInstancePlacement ------------------------------------------------------------------------

/**
 * Changes a stopped instance's host, tenancy (dedicated ↔ host) or affinity — the affinity also while it
 * runs. A new host must exist, be available, be in the instance's zone and take its type; whether it has
 * room is checked when the instance starts, as in EC2. nestbox has no placement groups or host resource
 * groups: `GroupName=''` (out of any group) is accepted, any other group is unknown.
 */
export const modifyInstancePlacement: Handler<ModifyInstancePlacementRequest, ModifyInstancePlacementResult> = (
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
  const [rec] = findInstances(s, ctx, [id]) as [InstanceRecord];
  const [host] = HostId === undefined ? [] : findHosts(s, ctx, [HostId]);
  checkNoPlacementGroup({ GroupName, GroupId, PartitionNumber });
  const facts = s.catalog.facts(rec.instanceType)!;
  const next = changePlacement(rec, change, facts.family);
  if (host) checkHostTakes(s.catalog, host, facts, rec.availabilityZone);
  if (next !== rec) s.store.commit({ instances: [next] });
  return { Return: true };
};
