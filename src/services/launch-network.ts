/**
 * Where a launch puts its instances: the subnet (named, or the zone's default subnet) and the security
 * groups (named by ID or name, or the VPC's `default` group), looked up in the caller's VPCs, and the
 * private addresses the instances take from the subnet.
 */
import { Ec2Error, Errors } from '../domain/errors.js';
import { type InstanceGroup, type InstanceSubnet, type Scope, derivedInterfaceId } from '../domain/instance.js';
import { type NetworkInterfaceRecord, checkDescription, checkRequestedAddress } from '../domain/network-interface.js';
import {
  DEFAULT_SUBNET_MAP_PUBLIC_IP_ON_LAUNCH,
  DEFAULT_VPC_CIDR,
  type ExistingInterfaceRequest,
  type LaunchNetworkRequest,
  defaultNetworkOf,
  launchNetworkNames,
  subnetOfZone,
} from '../domain/network.js';
import type { SubnetRecord } from '../domain/vpc.js';
import type { StoreReader } from '../store/types.js';
import { type Services, zonesOf } from './context.js';
import { addressPositions, addressesInUseToTake, findInterfaces, freeAddressesIn, sequenceAddresses } from './network-interfaces.js';
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
  /** the primary private address asked for, checked against the subnet (whether it is free: under the launch lock) */
  readonly privateIp: string | undefined;
  readonly secondaryIps: readonly string[];
  readonly secondaryCount: number;
  /** existing interfaces the launch attaches: the primary (device index 0) and others, checked available when planned */
  readonly interfaces: readonly LaunchInterface[];
  /** new interfaces each instance gets at device indexes 1 and up */
  readonly newInterfaces: readonly NewLaunchInterface[];
}

/** A new interface each of a launch's instances gets, its subnet and groups looked up. */
export interface NewLaunchInterface {
  readonly deviceIndex: number;
  readonly subnet: InstanceSubnet;
  readonly availabilityZone: string;
  readonly groups: readonly InstanceGroup[];
  readonly description: string;
  readonly deleteOnTermination: boolean;
  readonly privateIp: string | undefined;
  readonly secondaryCount: number;
}

/** An existing interface a launch attaches, as found when planned. */
export interface LaunchInterface extends ExistingInterfaceRequest {
  readonly rec: NetworkInterfaceRecord;
}

/**
 * A launch's subnet and groups in EC2's order: the request's shape and ID syntax, then existence in the
 * caller's account and Region, then the groups' VPC against the subnet's, then the subnet's zone
 * against Placement.AvailabilityZone. An existing primary interface brings its subnet, groups and
 * address; every existing interface must be available, in the subnet's zone and VPC.
 */
export async function resolveLaunchNetwork(s: Services, scope: Scope, req: LaunchNetworkRequest): Promise<LaunchNetwork> {
  const names = launchNetworkNames(req);
  const net = defaultNetworkOf(scope);
  const wanted = [...(names.primary ? [names.primary] : []), ...names.extra];
  const interfaces = await existingInterfaces(s, scope, wanted, s.store);
  const primary = interfaces.find((x) => x.deviceIndex === 0)?.rec;
  const subnetId = primary?.subnetId ?? names.subnetId;
  const subnet = subnetId === undefined ? undefined : await findSubnet(s, scope, subnetId);
  const vpcId = subnet?.vpcId ?? net.vpcId;
  const byId = await findSecurityGroups(s, scope, names.groupIds);
  const byName = names.groupNames.length > 0 ? await findSecurityGroupsByName(s, scope, names.groupNames, undefined) : [];
  const groups = primary ? primary.groups : [...byId, ...byName.filter((g) => !byId.some((x) => x.id === g.id))];
  for (const g of byId.concat(byName)) {
    if (g.vpcId !== vpcId) throw Errors.groupAndSubnetInDifferentVpcs(g.id, subnet?.id ?? subnetOfZone(net, req.Placement?.AvailabilityZone ?? '')?.id ?? net.subnets[0]!.id);
  }
  const zone = req.Placement?.AvailabilityZone;
  if (subnet && zone !== undefined && zone !== subnet.availabilityZone) throw Errors.subnetZoneMismatch(zone, subnet.id, subnet.availabilityZone);
  for (const x of interfaces) {
    if (subnet && x.rec.availabilityZone !== subnet.availabilityZone) throw Errors.interfaceZoneMismatch();
    if (x.rec.vpcId !== vpcId) throw Errors.interfaceVpcMismatch(x.id, 'being launched');
  }

  const isDefaultSubnet = subnet === undefined || net.subnets.some((x) => x.id === subnet.id);
  const vpc = isDefaultSubnet ? undefined : await findVpc(s, scope, vpcId);
  // No groups named: the VPC's `default` group.
  const chosenDefault: InstanceGroup = { id: vpc?.defaultSecurityGroupId ?? net.securityGroupId, name: 'default' };
  const chosen: readonly InstanceGroup[] = groups.length > 0 ? groups.map((g) => ({ id: g.id, name: g.name })) : [chosenDefault];
  const justDefault = chosen.length === 1 && chosen[0]!.id === net.securityGroupId;
  const instanceSubnet = isDefaultSubnet ? undefined : { vpcId, vpcCidr: vpc!.cidrBlock, subnetId: subnet.id, subnetCidr: subnet.cidrBlock };
  // Addresses asked for: inside the subnet (the zone's default subnet when none is named) and not reserved.
  const within = instanceSubnet ?? defaultSubnetOf(scope, subnet?.availabilityZone ?? zone);
  const check = (ip: string, param: string) => checkRequestedAddress(within, ip, param);
  const newInterfaces = await Promise.all(
    names.extraNew.map(async (x): Promise<NewLaunchInterface> => {
      const other = x.subnetId === undefined ? undefined : await findSubnet(s, scope, x.subnetId);
      const at = other ?? subnet ?? (await findSubnet(s, scope, within.subnetId));
      if (at.vpcId !== vpcId) throw Errors.interfaceVpcMismatch(`NetworkInterface.${x.deviceIndex}`, 'being launched');
      if (at.availabilityZone !== (subnet?.availabilityZone ?? zone ?? zonesOf(scope.region)[0])) throw Errors.interfaceZoneMismatch();
      const vpcCidr = vpcId === net.vpcId ? DEFAULT_VPC_CIDR : (vpc ?? (await findVpc(s, scope, vpcId))).cidrBlock;
      const place = { vpcId, vpcCidr, subnetId: at.id, subnetCidr: at.cidrBlock };
      const named = await findSecurityGroups(s, scope, x.groupIds);
      for (const g of named) if (g.vpcId !== vpcId) throw Errors.groupAndSubnetInDifferentVpcs(g.id, at.id);
      return {
        deviceIndex: x.deviceIndex,
        subnet: place,
        availabilityZone: at.availabilityZone,
        groups: named.length > 0 ? named.map((g) => ({ id: g.id, name: g.name })) : [chosenDefault],
        description: checkDescription(x.description),
        deleteOnTermination: x.deleteOnTermination,
        privateIp: x.privateIp === undefined ? undefined : checkRequestedAddress(place, x.privateIp, `NetworkInterface.${x.deviceIndex}.PrivateIpAddress`),
        secondaryCount: x.secondaryCount,
      };
    }),
  );
  return {
    namedSubnet: subnet,
    subnet: instanceSubnet,
    securityGroups: justDefault ? undefined : chosen,
    associatePublicIp: names.associatePublicIp,
    privateIp: primary ? primary.privateIp : names.privateIp === undefined ? undefined : check(names.privateIp, 'PrivateIpAddress'),
    secondaryIps: names.secondaryIps.map((ip) => check(ip, 'PrivateIpAddresses.N.PrivateIpAddress')),
    secondaryCount: names.secondaryCount,
    interfaces,
    newInterfaces,
  };
}

/** The default subnet of a zone (the Region's first zone when none is given), as an instance keeps a subnet. */
export function defaultSubnetOf(scope: Scope, zone: string | undefined): InstanceSubnet {
  const net = defaultNetworkOf(scope);
  const subnet = (zone !== undefined ? subnetOfZone(net, zone) : undefined) ?? net.subnets[0]!;
  return { vpcId: net.vpcId, vpcCidr: DEFAULT_VPC_CIDR, subnetId: subnet.id, subnetCidr: subnet.cidr };
}

/** The existing interfaces a launch names, each a stored interface of the caller's that is available (else InvalidNetworkInterface.InUse). */
export async function existingInterfaces(
  s: Services,
  scope: Scope,
  wanted: readonly ExistingInterfaceRequest[],
  reader: StoreReader,
): Promise<LaunchInterface[]> {
  if (wanted.length === 0) return [];
  const found = await findInterfaces(s, scope, wanted.map((w) => w.id), reader);
  return wanted.map((w) => {
    const f = found.find((x) => (x.kind === 'stored' ? x.rec.id : derivedInterfaceId(x.instance)) === w.id)!;
    if (f.kind !== 'stored' || f.rec.attachment) throw Errors.networkInterfaceInUse(w.id);
    return { ...w, rec: f.rec };
  });
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

/** What a launch asks of its addresses and interfaces (a LaunchNetwork's part of its plan). */
export type LaunchAddressing = Pick<LaunchNetwork, 'privateIp' | 'secondaryIps' | 'secondaryCount' | 'interfaces' | 'newInterfaces'>;

/** The instance type's limits: interfaces per instance, and private IPv4 addresses per interface. */
export function checkInterfaceLimits(s: Services, instanceType: string, a: LaunchAddressing): void {
  const info = s.catalog.info(instanceType)?.NetworkInfo;
  const interfaces = 1 + a.interfaces.filter((x) => x.deviceIndex !== 0).length + a.newInterfaces.length;
  if (interfaces > (info?.MaximumNetworkInterfaces ?? 1)) throw Errors.interfaceLimitExceeded(interfaces, instanceType);
  const addresses = 1 + a.secondaryIps.length + a.secondaryCount;
  const max = info?.Ipv4AddressesPerInterface ?? 1;
  if (addresses > max) throw Errors.privateAddressLimitExceeded('the primary network interface', max);
  for (const x of a.newInterfaces) {
    if (1 + x.secondaryCount > max) throw Errors.privateAddressLimitExceeded(`NetworkInterface.${x.deviceIndex}`, max);
  }
}

/** Each instance's addresses: its primary private address and its secondary ones. */
export interface InstanceAddresses {
  readonly primary: string;
  readonly secondary: readonly string[];
}

/**
 * The private addresses of a launch's instances, read under the Region's launch lock. In a subnet of
 * the user's, or when addresses are named or counted: what was asked for, checked free
 * (InvalidIPAddress.InUse), and the lowest free ones for the rest. A plain launch into a zone's default
 * subnet takes its sequence's addresses (`sequenceAddresses`, from `position`, which the caller drew
 * with the launch's other sequences).
 */
export async function launchAddresses(
  s: Services,
  reader: StoreReader,
  scope: Scope,
  subnet: InstanceSubnet,
  isDefault: boolean,
  a: LaunchAddressing,
  seqs: readonly number[],
  zoneIndex: number,
  position: number | undefined,
): Promise<InstanceAddresses[]> {
  const primaryInterface = a.interfaces.find((x) => x.deviceIndex === 0);
  if (primaryInterface) return [{ primary: primaryInterface.rec.privateIp, secondary: [] }];
  if (isDefault && plainAddressing(a)) {
    const at = position ?? (await addressPositions(s, subnet.subnetId, seqs.length));
    return (await sequenceAddresses(s, reader, scope, subnet, zoneIndex, at, seqs.length)).map((primary) => ({ primary, secondary: [] }));
  }
  const used = await addressesInUseToTake(s, reader, scope, subnet.subnetId);
  const named = [...(a.privateIp !== undefined ? [a.privateIp] : []), ...a.secondaryIps];
  for (const ip of named) {
    if (used.has(ip)) throw Errors.addressInUse(ip);
    used.add(ip);
  }
  const take = (n: number): string[] => {
    const out = freeAddressesIn(subnet, used, n, seqs[0]!);
    for (const ip of out) used.add(ip);
    return out;
  };
  return seqs.map(() => ({
    primary: a.privateIp ?? take(1)[0]!,
    secondary: [...a.secondaryIps, ...take(a.secondaryCount)],
  }));
}

/** A launch that names no address, asks for no secondary ones and brings no interface. */
export const plainAddressing = (a: LaunchAddressing): boolean =>
  a.privateIp === undefined && a.secondaryIps.length === 0 && a.secondaryCount === 0 && a.interfaces.length === 0 && a.newInterfaces.length === 0;

/**
 * Where a launch's addresses come from and what they are: its zone's subnet, or — with more than one
 * zone given (a plain launch that named no zone) — the first of them, in order from `first`, whose
 * default subnet has room (InsufficientFreeAddressesInSubnet only when none has).
 */
export async function addressesInZones(
  s: Services,
  reader: StoreReader,
  scope: Scope,
  o: {
    readonly zones: readonly string[];
    readonly first: string;
    readonly subnet: InstanceSubnet | undefined;
    readonly addressing: LaunchAddressing;
    readonly seqs: readonly number[];
    readonly position: number | undefined;
  },
): Promise<{ zone: string; addresses: InstanceAddresses[] }> {
  const all = zonesOf(scope.region);
  const from = Math.max(0, o.zones.indexOf(o.first));
  const order = [...o.zones.slice(from), ...o.zones.slice(0, from)];
  for (const [k, zone] of order.entries()) {
    const zoneIndex = Math.max(0, all.indexOf(zone));
    try {
      const subnet = o.subnet ?? defaultSubnetOf(scope, zone);
      const addresses = await launchAddresses(s, reader, scope, subnet, o.subnet === undefined, o.addressing, o.seqs, zoneIndex, k === 0 ? o.position : undefined);
      return { zone, addresses };
    } catch (err) {
      if (k === order.length - 1 || !(err instanceof Ec2Error) || err.code !== 'InsufficientFreeAddressesInSubnet') throw err;
    }
  }
  throw new Error('no zone to launch in');
}

/** A new interface's addresses, for one instance of a launch. */
export interface NewInterfaceAddresses {
  readonly spec: NewLaunchInterface;
  readonly privateIp: string;
  readonly secondaryIps: readonly string[];
}

/**
 * The addresses of the new interfaces each of a launch's instances gets, from their subnets' free ones
 * (after `primaries`, the addresses this launch already gave in `primarySubnet`), read under the
 * Region's launch lock like every other allocation.
 */
export async function newInterfaceAddresses(
  s: Services,
  reader: StoreReader,
  scope: Scope,
  wanted: readonly NewLaunchInterface[],
  primarySubnet: string,
  primaries: readonly InstanceAddresses[],
): Promise<NewInterfaceAddresses[][]> {
  if (wanted.length === 0) return primaries.map(() => []);
  const used = new Map<string, Set<string>>();
  for (const subnetId of new Set(wanted.map((x) => x.subnet.subnetId))) {
    const inUse = await addressesInUseToTake(s, reader, scope, subnetId);
    if (subnetId === primarySubnet) for (const p of primaries) for (const ip of [p.primary, ...p.secondary]) inUse.add(ip);
    used.set(subnetId, inUse);
  }
  return primaries.map(() =>
    wanted.map((x) => {
      const inUse = used.get(x.subnet.subnetId)!;
      const take = (n: number) => {
        const out = freeAddressesIn(x.subnet, inUse, n);
        for (const ip of out) inUse.add(ip);
        return out;
      };
      if (x.privateIp !== undefined) {
        if (inUse.has(x.privateIp)) throw Errors.addressInUse(x.privateIp);
        inUse.add(x.privateIp);
      }
      return { spec: x, privateIp: x.privateIp ?? take(1)[0]!, secondaryIps: take(x.secondaryCount) };
    }),
  );
}
