/**
 * Security groups as the rule operations share them: the group a request names (by ID, or by name in
 * the default VPC, as EC2), the peers its rules name resolved against the caller's groups, the groups
 * instances use, and the one lock every change to a scope's groups holds.
 */
import { Errors } from '../domain/errors.js';
import type { Scope } from '../domain/instance.js';
import type { StateName } from '../domain/lifecycle.js';
import { checkNetworkIds, defaultNetworkOf } from '../domain/network.js';
import type { RuleBody, RuleSpec } from '../domain/security-groups.js';
import type { SecurityGroupRecord } from '../domain/vpc.js';
import type { Revisioned, StoreReader } from '../store/types.js';
import { type Services, launchLock } from './context.js';
import { storedInterfacesOf } from './network-interfaces.js';
import { findSecurityGroups, findSecurityGroupsByName } from './vpcs.js';

type Stored<T> = T & Partial<Revisioned>;

/**
 * The lock every change to an account's security groups in a Region holds (create, delete, rule
 * changes): a quota check, a duplicate check or a "nothing references it" check and the write that
 * follows never interleave with another's. It is the Region's launch lock, as for every network
 * change (src/api/vpcs.ts), so a group is never deleted while a launch is putting an instance in it.
 */
export const securityGroupLock = (scope: Scope): string => launchLock(scope);

/** The group a request names: GroupId, or GroupName in the default VPC (EC2's rule for names). */
export async function targetGroup(
  s: Services,
  scope: Scope,
  named: { readonly GroupId?: string | undefined; readonly GroupName?: string | undefined },
  reader: StoreReader = s.store,
): Promise<Stored<SecurityGroupRecord>> {
  if (named.GroupId) return (await findSecurityGroups(s, scope, [named.GroupId], reader))[0]!;
  if (named.GroupName) return (await findSecurityGroupsByName(s, scope, [named.GroupName], undefined, reader))[0]!;
  throw Errors.missingParameter('GroupId');
}

/** Whether a group is in the default VPC (where EC2's revoke of unknown rules answers instead of failing). */
export const inDefaultVpc = (g: SecurityGroupRecord, scope: Scope): boolean => g.vpcId === defaultNetworkOf(scope).vpcId;

/**
 * A requested rule of `group` with its peer resolved: a referenced group must be the caller's (by ID,
 * or by name in the default VPC) and in the same VPC; CIDR blocks and prefix lists are kept as given.
 */
export function resolveRule(spec: RuleSpec, group: SecurityGroupRecord, groups: readonly SecurityGroupRecord[], scope: Scope): RuleBody {
  const base = { protocol: spec.protocol, fromPort: spec.fromPort, toPort: spec.toPort, description: spec.description };
  const src = spec.source;
  switch (src.kind) {
    case 'cidr4':
      return { ...base, cidrIpv4: src.cidr };
    case 'cidr6':
      return { ...base, cidrIpv6: src.cidr };
    case 'prefix-list':
      return { ...base, prefixListId: src.id };
    case 'group': {
      const named = src.groupId ?? src.groupName ?? '';
      if (src.userId !== undefined && src.userId !== scope.account) throw Errors.foreignGroupReference(src.userId, named);
      let ref: SecurityGroupRecord | undefined;
      if (src.groupId !== undefined) {
        checkNetworkIds('security-group', [src.groupId]);
        ref = groups.find((g) => g.id === src.groupId);
        if (!ref) throw Errors.securityGroupNotFound([src.groupId]);
      } else {
        const vpc = defaultNetworkOf(scope).vpcId;
        ref = groups.find((g) => g.vpcId === vpc && g.name === src.groupName);
        if (!ref) throw Errors.securityGroupNameNotFound(named, vpc);
      }
      if (ref.vpcId !== group.vpcId) throw Errors.groupsInDifferentNetworks(group.id, ref.id);
      return { ...base, referencedGroupId: ref.id, referencedUserId: scope.account };
    }
  }
}

/** The states in which an instance keeps its network interface, and so its groups: all but `terminated`. */
const HOLDING_INTERFACE: readonly StateName[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

/**
 * The IDs of the groups the scope's instances use (every instance that is not terminated): an
 * instance's own groups, or the default VPC's default group for records that keep none.
 */
export async function groupsInUse(s: Services, scope: Scope, reader: StoreReader = s.store): Promise<Set<string>> {
  const used = new Set<string>();
  const fallback = defaultNetworkOf(scope).securityGroupId;
  const [holders, enis] = await Promise.all([
    reader.instances({ account: scope.account, region: scope.region, states: HOLDING_INTERFACE }),
    storedInterfacesOf(s, scope, reader),
  ]);
  for (const rec of holders) {
    for (const id of rec.securityGroups?.map((g) => g.id) ?? [fallback]) used.add(id);
  }
  // A network interface of its own, attached or not, uses its groups too.
  for (const e of enis) for (const g of e.groups) used.add(g.id);
  return used;
}
