/**
 * Where a launch puts its instances: the subnet (named, or the zone's default subnet) and the security
 * groups (named by ID or name, or the VPC's `default` group), looked up in the caller's VPCs, and the
 * private addresses the instances take from the subnet.
 */
import { Errors } from '../domain/errors.js';
import type { InstanceGroup, InstanceRecord, InstanceSubnet, Scope } from '../domain/instance.js';
import type { StateName } from '../domain/lifecycle.js';
import { DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH, type LaunchNetworkRequest, defaultNetworkOf, launchNetworkNames, subnetOfZone } from '../domain/network.js';
import { type SubnetRecord, addressText, parseCidr, usableAddresses } from '../domain/vpc.js';
import type { StoreReader } from '../store/types.js';
import type { Services } from './context.js';
import { findSecurityGroups, findSecurityGroupsByName, findSubnet, findVpc } from './vpcs.js';

export interface LaunchNetwork {
  /** the subnet a request names (it decides the zone); undefined: the zone's default subnet */
  readonly namedSubnet: SubnetRecord | undefined;
  /** what the instances keep when they are not in their zone's default subnet */
  readonly subnet: InstanceSubnet | undefined;
  /** what the instances keep when their groups are not just the default VPC's `default` group */
  readonly securityGroups: readonly InstanceGroup[] | undefined;
  /**
   * The primary interface's AssociatePublicIpAddress; undefined: the subnet's MapPublicIpOnLaunch
   * (the caller reads it once the zone, and so the default subnet, is known: `mapsPublicIp`).
   */
  readonly associatePublicIp: boolean | undefined;
}

/**
 * A launch's subnet and groups in EC2's order: the request's shape and ID syntax, then existence in the
 * caller's account and Region, then the groups' VPC against the subnet's, then the subnet's zone
 * against Placement.AvailabilityZone.
 */
export async function resolveLaunchNetwork(s: Services, scope: Scope, req: LaunchNetworkRequest): Promise<LaunchNetwork> {
  const names = launchNetworkNames(req);
  const net = defaultNetworkOf(scope);
  const subnet = names.subnetId === undefined ? undefined : await findSubnet(s, scope, names.subnetId);
  const vpcId = subnet?.vpcId ?? net.vpcId;
  const byId = await findSecurityGroups(s, scope, names.groupIds);
  const byName = names.groupNames.length > 0 ? await findSecurityGroupsByName(s, scope, names.groupNames, undefined) : [];
  const groups = [...byId, ...byName.filter((g) => !byId.some((x) => x.id === g.id))];
  for (const g of groups) {
    if (g.vpcId !== vpcId) throw Errors.groupAndSubnetInDifferentVpcs(g.id, subnet?.id ?? subnetOfZone(net, req.Placement?.AvailabilityZone ?? '')?.id ?? net.subnets[0]!.id);
  }
  const zone = req.Placement?.AvailabilityZone;
  if (subnet && zone !== undefined && zone !== subnet.availabilityZone) throw Errors.subnetZoneMismatch(zone, subnet.id, subnet.availabilityZone);

  const isDefaultSubnet = subnet === undefined || net.subnets.some((x) => x.id === subnet.id);
  const vpc = isDefaultSubnet ? undefined : await findVpc(s, scope, vpcId);
  // No groups named: the VPC's `default` group.
  const chosen: readonly InstanceGroup[] =
    groups.length > 0
      ? groups.map((g) => ({ id: g.id, name: g.name }))
      : [{ id: vpc?.defaultSecurityGroupId ?? net.securityGroupId, name: 'default' }];
  const justDefault = chosen.length === 1 && chosen[0]!.id === net.securityGroupId;
  return {
    namedSubnet: subnet,
    subnet: isDefaultSubnet ? undefined : { vpcId, vpcCidr: vpc!.cidrBlock, subnetId: subnet.id, subnetCidr: subnet.cidrBlock },
    securityGroups: justDefault ? undefined : chosen,
    associatePublicIp: names.associatePublicIp,
  };
}

/** Whether a launch's instances get a public address: the interface's choice, else the subnet's MapPublicIpOnLaunch. */
export async function mapsPublicIp(s: Services, scope: Scope, network: LaunchNetwork, zone: string): Promise<boolean> {
  if (network.associatePublicIp !== undefined) return network.associatePublicIp;
  if (network.namedSubnet) return network.namedSubnet.mapPublicIpOnLaunch;
  // The zone's default subnet: its stored record (one primary-key read) once ModifySubnetAttribute changed it.
  const net = defaultNetworkOf(scope);
  const stored = await s.store.resource('subnet', (subnetOfZone(net, zone) ?? net.subnets[0]!).id);
  return stored?.mapPublicIpOnLaunch ?? DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH;
}

const HOLDING_ADDRESS: readonly StateName[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

/**
 * `count` free private addresses of a (non-default) subnet, the lowest free ones after the last one
 * given, wrapping around; InsufficientFreeAddressesInSubnet when there are not as many. Read under the
 * Region's launch lock, so no other launch takes the same addresses meanwhile.
 */
export async function freeAddresses(reader: StoreReader, scope: Scope, subnet: InstanceSubnet, count: number, start: number): Promise<string[]> {
  const cidr = parseCidr(subnet.subnetCidr)!;
  const holders: InstanceRecord[] = await reader.instances({ account: scope.account, region: scope.region, states: HOLDING_ADDRESS });
  const used = new Set(holders.filter((r) => r.subnet?.subnetId === subnet.subnetId).map((r) => r.privateIpAddress));
  const size = usableAddresses(cidr);
  if (used.size + count > size) throw Errors.insufficientFreeAddresses(subnet.subnetId);
  const out: string[] = [];
  for (let k = 0; out.length < count; k++) {
    const address = addressText(cidr.base + 4 + ((start + k) % size));
    if (!used.has(address)) out.push(address);
  }
  return out;
}
