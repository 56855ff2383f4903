/**
 * The network the store wants an instance's VM to have, computed in one place for both moments a driver
 * needs it: when the VM starts (its spec, src/compute/spec.ts: the qemu driver's argv) and while it runs
 * (VmHost's network pass, every NETWORK_POLL_MS: `hostNetworkOf`, handed to the driver's `applyNetwork`).
 *
 * What it is made of: the instance's primary interface (addresses, MAC, subnet, VPC), its current public
 * address (its own or an associated Elastic IP: the record's `publicIp`), the TCP ports its current
 * security groups' ingress rules open to the world (domain/network.ts `openTcpPorts`: at most 16, only
 * well-known ports inside wide ranges), and the groups themselves (the qemu driver's private network
 * enforces them between VMs: src/compute/qemu/vpc-network.ts).
 *
 * Security groups a user made are stored records; the default VPC's `default` group is derived
 * (domain/vpc.ts defaultVpcGroupRecord) unless a change to it stored a record under its ID, which then wins.
 */
import { type InstanceRecord, type Scope, networkInterfaceId, privateDnsName } from '../domain/instance.js';
import { defaultNetworkOf, instanceAttachment, macAddress, openTcpPorts } from '../domain/network.js';
import { ipPermissionsOf } from '../domain/security-groups.js';
import { type SecurityGroupRecord, defaultVpcGroupRecord } from '../domain/vpc.js';
import type { StoreReader } from '../store/types.js';
import type { HostNetwork, VmNetwork } from './driver.js';

/** Security groups by ID. */
export type SecurityGroups = ReadonlyMap<string, SecurityGroupRecord>;

/** Every security group of these accounts' Regions, by ID: the default VPC's derived one unless a stored record overrides it. */
export async function securityGroupsIn(store: StoreReader, scopes: Iterable<Scope>): Promise<Map<string, SecurityGroupRecord>> {
  const distinct = new Map<string, Scope>();
  for (const s of scopes) distinct.set(`${s.account}/${s.region}`, { account: s.account, region: s.region });
  const groups = new Map<string, SecurityGroupRecord>();
  const stored = await Promise.all([...distinct.values()].map((scope) => store.resources('security-group', scope)));
  [...distinct.values()].forEach((scope, i) => {
    const net = defaultNetworkOf(scope);
    groups.set(net.securityGroupId, defaultVpcGroupRecord(net));
    for (const g of stored[i]!) groups.set(g.id, g);
  });
  return groups;
}

/** The IDs of the security groups an instance's primary interface is in. */
export const securityGroupIdsOf = (rec: InstanceRecord): string[] => instanceAttachment(rec).groups.map((g) => g.id);

/** The TCP ports these groups' ingress rules open to 0.0.0.0/0 (the policy of domain/network.ts openTcpPorts); an unknown group opens none. */
export function openTcpPortsOf(groupIds: readonly string[], groups: SecurityGroups): number[] {
  const ingress = groupIds.flatMap((id) => groups.get(id)?.rules.filter((r) => !r.egress) ?? []);
  return openTcpPorts(ipPermissionsOf(ingress));
}

/** The instance's primary interface as a driver sees it, its open ports from `groups` (securityGroupsIn of its scope). */
export function vmNetworkOf(rec: InstanceRecord, groups: SecurityGroups): VmNetwork {
  const attachment = instanceAttachment(rec);
  return {
    eniId: networkInterfaceId(rec),
    mac: macAddress(rec),
    privateIp: rec.privateIpAddress,
    subnetCidr: attachment.subnetCidr,
    vpcId: attachment.vpcId,
    vpcCidr: attachment.vpcCidr,
    privateDnsName: privateDnsName(rec.privateIpAddress, rec.region),
    publicIp: rec.publicIp,
    openTcpPorts: openTcpPortsOf(securityGroupIdsOf(rec), groups),
  };
}

/** The network the store wants now for these instances' VMs (one host's, in any state that has a VM), and their groups. */
export async function hostNetworkOf(store: StoreReader, recs: readonly InstanceRecord[]): Promise<HostNetwork> {
  const groups = await securityGroupsIn(store, recs);
  const vms = new Map(recs.map((rec) => [rec.id, { network: vmNetworkOf(rec, groups), securityGroupIds: securityGroupIdsOf(rec) }] as const));
  return { vms, groups };
}
