/**
 * Security groups: CreateSecurityGroup, DeleteSecurityGroup, DescribeSecurityGroups, the rule calls
 * (Authorize/Revoke ingress and egress, DescribeSecurityGroupRules, ModifySecurityGroupRules,
 * UpdateSecurityGroupRuleDescriptions*), over the default VPC's derived `default` group and the
 * stored ones (src/services/vpcs.ts). A change to a derived group stores it under its derived ID.
 *
 * Every change holds the scope's security-group lock (src/services/security-groups.ts) and writes the
 * group it read (conditionally on its revision; a derived group's first write is an insert).
 */
import type {
  AuthorizeSecurityGroupEgressRequest,
  AuthorizeSecurityGroupEgressResult,
  AuthorizeSecurityGroupIngressRequest,
  AuthorizeSecurityGroupIngressResult,
  CreateSecurityGroupRequest,
  CreateSecurityGroupResult,
  DeleteSecurityGroupRequest,
  DeleteSecurityGroupResult,
  DescribeSecurityGroupRulesRequest,
  DescribeSecurityGroupRulesResult,
  DescribeSecurityGroupsRequest,
  DescribeSecurityGroupsResult,
  IpPermission,
  ModifySecurityGroupRulesRequest,
  ModifySecurityGroupRulesResult,
  RevokeSecurityGroupEgressRequest,
  RevokeSecurityGroupEgressResult,
  RevokeSecurityGroupIngressRequest,
  RevokeSecurityGroupIngressResult,
  SecurityGroup,
  SecurityGroupRule,
  TagSpecification,
  UpdateSecurityGroupRuleDescriptionsEgressRequest,
  UpdateSecurityGroupRuleDescriptionsEgressResult,
  UpdateSecurityGroupRuleDescriptionsIngressRequest,
  UpdateSecurityGroupRuleDescriptionsIngressResult,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterAccessor, type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId, newId } from '../domain/ids.js';
import { DEFAULT_GROUP_NAME, checkNetworkIds, defaultNetworkOf } from '../domain/network.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import {
  type RuleBody,
  type RuleSpec,
  checkGroupDescription,
  checkGroupName,
  checkIpv4Cidr,
  checkIpv6Cidr,
  checkPorts,
  checkPrefixListId,
  checkRuleDescription,
  describeRule,
  hasPorts,
  ipPermissionsOf,
  normalizeProtocol,
  permissionOfRule,
  ruleKey,
  rulesOfPermission,
  toSecurityGroupRule,
} from '../domain/security-groups.js';
import {
  RULES_PER_DIRECTION,
  SECURITY_GROUPS_PER_REGION,
  type SecurityGroupRecord,
  type SecurityGroupRuleRecord,
  newRuleId,
} from '../domain/vpc.js';
import type { Services } from '../services/context.js';
import { groupsInUse, inDefaultVpc, resolveRule, securityGroupLock, targetGroup } from '../services/security-groups.js';
import { NO_TAGS, tagList, tagMapOf, tagRecordsOf, tagsFromSpecifications, type TagsById } from '../services/tags.js';
import { findSecurityGroups, findSecurityGroupsByName, findVpc, forWrite, securityGroupsOf } from '../services/vpcs.js';
import type { StoreTransaction } from '../store/types.js';
import { type Handler, type RequestContext, checkDryRun, required } from './context.js';

const groupArn = (g: SecurityGroupRecord) => `arn:aws:ec2:${g.region}:${g.account}:security-group/${g.id}`;


/** Deletes of every tag the given rules have (a rule's tags go with it). */
async function ruleTagDeletes(tx: StoreTransaction, ruleIds: readonly string[]): Promise<{ resourceId: string; key: string }[]> {
  if (ruleIds.length === 0) return [];
  const tags = await tx.tagsOfMany(ruleIds);
  return [...tags].flatMap(([resourceId, map]) => [...map.keys()].map((key) => ({ resourceId, key })));
}

const withRules = (g: SecurityGroupRecord, rules: readonly SecurityGroupRuleRecord[]): SecurityGroupRecord => ({ ...forWrite(g), rules });

const inDirection = (g: SecurityGroupRecord, egress: boolean) => g.rules.filter((r) => r.egress === egress);

// --- CreateSecurityGroup -------------------------------------------------------------------------------

export const createSecurityGroup: Handler<CreateSecurityGroupRequest, CreateSecurityGroupResult> = async (input, ctx, s) => {
  const name = checkGroupName(input.GroupName);
  const description = checkGroupDescription(input.Description);
  if (input.VpcId !== undefined && input.VpcId !== '') checkNetworkIds('vpc', [input.VpcId]);
  const tags = tagsFromSpecifications(input.TagSpecifications, 'security-group', ['security-group']);
  return s.store.transaction(
    async (tx) => {
      const vpc = input.VpcId ? await findVpc(s, ctx, input.VpcId, tx) : undefined;
      const vpcId = vpc?.id ?? defaultNetworkOf(ctx).vpcId;
      checkDryRun(input);
      const groups = await securityGroupsOf(s, ctx, tx);
      if (groups.some((g) => g.vpcId === vpcId && g.name === name)) throw Errors.securityGroupDuplicate(name, vpcId);
      if (groups.length >= SECURITY_GROUPS_PER_REGION) throw Errors.securityGroupLimitExceeded(SECURITY_GROUPS_PER_REGION);
      const rec: SecurityGroupRecord = {
        id: newId('securityGroup'),
        account: ctx.account,
        region: ctx.region,
        vpcId,
        name,
        description,
        // EC2's default for a new group: no inbound rules, all traffic out.
        rules: [{ id: newRuleId(), egress: true, protocol: '-1', fromPort: -1, toPort: -1, cidrIpv4: '0.0.0.0/0' }],
        createTime: s.now().toISOString(),
      };
      tx.write({ putResources: [{ kind: 'security-group', doc: rec }], putTags: tagRecordsOf(ctx, rec.id, 'security-group', tags) });
      return {
        GroupId: rec.id,
        ...(tags.length > 0 ? { Tags: tagList(tagMapOf(tags)) } : {}),
        SecurityGroupArn: groupArn(rec),
      };
    },
    { lock: securityGroupLock(ctx) },
  );
};

// --- DeleteSecurityGroup -------------------------------------------------------------------------------

/**
 * A VPC's `default` group cannot be deleted (CannotDelete); a group another group's rule references,
 * or an instance that is not terminated uses, is DependencyViolation. Its tags and its rules' go with it.
 */
export const deleteSecurityGroup: Handler<DeleteSecurityGroupRequest, DeleteSecurityGroupResult> = async (input, ctx, s) => {
  if (!input.GroupId && !input.GroupName) throw Errors.missingParameter('GroupId');
  if (input.GroupId) checkNetworkIds('security-group', [input.GroupId]);
  return s.store.transaction(
    async (tx) => {
      const g = await targetGroup(s, ctx, input, tx);
      if (g.name === DEFAULT_GROUP_NAME) throw Errors.cannotDeleteDefaultGroup(g.id);
      const groups = await securityGroupsOf(s, ctx, tx);
      const referenced = groups.some((o) => o.id !== g.id && o.rules.some((r) => r.referencedGroupId === g.id));
      if (referenced || (await groupsInUse(s, ctx, tx)).has(g.id)) throw Errors.securityGroupInUse(g.id);
      checkDryRun(input);
      tx.write({
        deleteResources: [{ kind: 'security-group', id: g.id }],
        deleteTags: await ruleTagDeletes(tx, g.rules.map((r) => r.id)),
      });
      return { Return: true, GroupId: g.id };
    },
    { lock: securityGroupLock(ctx) },
  );
};

// --- DescribeSecurityGroups ---------------------------------------------------------------------------

function toSecurityGroup(g: SecurityGroupRecord, tags: TagsById): SecurityGroup {
  const own = tags.get(g.id);
  return {
    GroupId: g.id,
    IpPermissionsEgress: ipPermissionsOf(inDirection(g, true)),
    ...(own && own.size > 0 ? { Tags: tagList(own) } : {}),
    VpcId: g.vpcId,
    SecurityGroupArn: groupArn(g),
    OwnerId: g.account,
    GroupName: g.name,
    Description: g.description,
    IpPermissions: ipPermissionsOf(inDirection(g, false)),
  };
}

/** The `ip-permission.*` (or `egress.ip-permission.*`) filters over one direction's rules. */
function permissionFilters(
  prefix: string,
  egress: boolean,
  groupName: (id: string | undefined) => string | undefined,
): Record<string, FilterAccessor<SecurityGroupRecord>> {
  const rules = (g: SecurityGroupRecord) => inDirection(g, egress);
  // Ports as the Describe view shows them: protocols without ports have none to match.
  const port = (r: SecurityGroupRuleRecord, p: number) => (hasPorts(r.protocol) ? p : undefined);
  return {
    [`${prefix}.cidr`]: (g) => rules(g).map((r) => r.cidrIpv4),
    [`${prefix}.from-port`]: (g) => rules(g).map((r) => port(r, r.fromPort)),
    [`${prefix}.to-port`]: (g) => rules(g).map((r) => port(r, r.toPort)),
    [`${prefix}.protocol`]: (g) => rules(g).map((r) => r.protocol),
    [`${prefix}.group-id`]: (g) => rules(g).map((r) => r.referencedGroupId),
    [`${prefix}.group-name`]: (g) => rules(g).map((r) => groupName(r.referencedGroupId)),
    [`${prefix}.user-id`]: (g) => rules(g).map((r) => r.referencedUserId),
    [`${prefix}.ipv6-cidr`]: (g) => rules(g).map((r) => r.cidrIpv6),
    [`${prefix}.prefix-list-id`]: (g) => rules(g).map((r) => r.prefixListId),
  };
}

function securityGroupFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined, names: ReadonlyMap<string, string>): FilterTable<SecurityGroupRecord> {
  const groupName = (id: string | undefined) => (id === undefined ? undefined : names.get(id));
  return {
    tags: (g) => tagsOf(g.id),
    fields: {
      description: (g) => g.description,
      'group-id': (g) => g.id,
      'group-name': (g) => g.name,
      'owner-id': (g) => g.account,
      'vpc-id': (g) => g.vpcId,
      ...permissionFilters('ip-permission', false, groupName),
      ...permissionFilters('egress.ip-permission', true, groupName),
    },
  };
}

export const describeSecurityGroups: Handler<DescribeSecurityGroupsRequest, DescribeSecurityGroupsResult> = async (input, ctx, s) => {
  const ids = input.GroupIds ?? [];
  const names = input.GroupNames ?? [];
  checkNetworkIds('security-group', ids);
  let tags: TagsById = new Map();
  const groupNames = new Map<string, string>();
  const predicate = compileFilters(securityGroupFilters((id) => tags.get(id), groupNames), input.Filters);
  const all = await securityGroupsOf(s, ctx);
  let wanted: SecurityGroupRecord[] = all;
  if (ids.length > 0 || names.length > 0) {
    const byId = ids.length > 0 ? await findSecurityGroups(s, ctx, ids) : [];
    const byName = names.length > 0 ? await findSecurityGroupsByName(s, ctx, names, undefined) : [];
    const picked = new Set([...byId, ...byName].map((g) => g.id));
    wanted = all.filter((g) => picked.has(g.id));
  }
  checkDryRun(input);
  for (const g of all) groupNames.set(g.id, g.name);
  tags = await s.store.tagsOfMany(wanted.map((g) => g.id));
  const page = paginate(wanted.filter(predicate), input, DESCRIBE_PAGE_LIMITS, { f: input.Filters, ids, names });
  return { SecurityGroups: page.items.map((g) => toSecurityGroup(g, tags)), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- Authorize / Revoke: the rules a request asks for -----------------------------------------------------

interface RuleRequest {
  readonly IpPermissions?: IpPermission[] | undefined;
  readonly CidrIp?: string | undefined;
  readonly IpProtocol?: string | undefined;
  readonly FromPort?: number | undefined;
  readonly ToPort?: number | undefined;
  readonly SourceSecurityGroupName?: string | undefined;
  readonly SourceSecurityGroupOwnerId?: string | undefined;
}

const LEGACY = ['CidrIp', 'IpProtocol', 'FromPort', 'ToPort', 'SourceSecurityGroupName', 'SourceSecurityGroupOwnerId'] as const;

/**
 * The rules of IpPermissions, or of the older top-level parameters (one protocol and port range from a
 * CIDR block or a group named by name; a group without a protocol: all traffic). Not both.
 */
function requestedRules(input: RuleRequest): RuleSpec[] {
  const perms = input.IpPermissions ?? [];
  const legacy = LEGACY.filter((k) => input[k] !== undefined && input[k] !== '');
  if (perms.length > 0 && legacy.length > 0) {
    throw Errors.invalidParameterCombination(`The parameter IpPermissions cannot be used with the parameter ${legacy[0]}`);
  }
  if (legacy.length === 0) return perms.flatMap(rulesOfPermission);
  const byGroup = input.SourceSecurityGroupName !== undefined && input.SourceSecurityGroupName !== '';
  if (input.CidrIp && byGroup) {
    throw Errors.invalidParameterCombination('The parameter CidrIp cannot be used with the parameter SourceSecurityGroupName');
  }
  if (!input.CidrIp && !byGroup) throw Errors.missingParameter('CidrIp');
  return rulesOfPermission({
    IpProtocol: input.IpProtocol ?? (byGroup ? '-1' : undefined),
    FromPort: input.FromPort,
    ToPort: input.ToPort,
    ...(input.CidrIp ? { IpRanges: [{ CidrIp: input.CidrIp }] } : {}),
    ...(byGroup ? { UserIdGroupPairs: [{ GroupName: input.SourceSecurityGroupName, UserId: input.SourceSecurityGroupOwnerId }] } : {}),
  });
}

const ruleTags = (specs: readonly TagSpecification[] | undefined) =>
  tagsFromSpecifications(specs, 'security-group-rule', ['security-group-rule']);

/** Authorize and Revoke name their group by ID, or (ingress, in the default VPC) by name. */
function checkGroupNamed(input: { readonly GroupId?: string | undefined; readonly GroupName?: string | undefined }, egress: boolean): void {
  if (input.GroupId) checkNetworkIds('security-group', [input.GroupId]);
  else if (egress || !input.GroupName) throw Errors.missingParameter('GroupId');
}

/** The group a rule change names, read in the transaction, and the rules asked for, resolved against the Region's groups. */
async function groupAndRules(
  s: Services,
  ctx: RequestContext,
  input: { readonly GroupId?: string | undefined; readonly GroupName?: string | undefined },
  specs: readonly RuleSpec[],
  tx: StoreTransaction,
) {
  const g = await targetGroup(s, ctx, input, tx);
  const groups = await securityGroupsOf(s, ctx, tx);
  return { g, bodies: specs.map((spec) => resolveRule(spec, g, groups, ctx)) };
}

interface AuthorizeInput extends RuleRequest {
  readonly GroupId?: string | undefined;
  readonly GroupName?: string | undefined;
  readonly TagSpecifications?: TagSpecification[] | undefined;
  readonly DryRun?: boolean | undefined;
}

async function authorize(input: AuthorizeInput, ctx: RequestContext, s: Services, egress: boolean): Promise<AuthorizeSecurityGroupIngressResult> {
  checkGroupNamed(input, egress);
  const specs = requestedRules(input);
  if (specs.length === 0) throw Errors.missingParameter('IpPermissions');
  const tags = ruleTags(input.TagSpecifications);
  return s.store.transaction(
    async (tx) => {
      const { g, bodies } = await groupAndRules(s, ctx, input, specs, tx);
      checkDryRun(input);
      const existing = inDirection(g, egress);
      const keys = new Set(existing.map(ruleKey));
      for (const b of bodies) {
        const key = ruleKey(b);
        if (keys.has(key)) throw Errors.permissionDuplicate(describeRule(b));
        keys.add(key);
      }
      if (existing.length + bodies.length > RULES_PER_DIRECTION) {
        throw Errors.rulesPerGroupLimitExceeded(RULES_PER_DIRECTION, egress ? 'outbound' : 'inbound');
      }
      const made: SecurityGroupRuleRecord[] = bodies.map((b) => ({ id: newRuleId(), egress, ...withoutUndefined(b) }));
      tx.write({
        putResources: [{ kind: 'security-group', doc: withRules(g, [...g.rules, ...made]) }],
        putTags: made.flatMap((r) => tagRecordsOf(ctx, r.id, 'security-group-rule', tags)),
      });
      const tagged = tags.length > 0 ? { Tags: tagList(tagMapOf(tags)) } : {};
      return { Return: true, SecurityGroupRules: made.map((r) => ({ ...toSecurityGroupRule(g, r), ...tagged })) };
    },
    { lock: securityGroupLock(ctx) },
  );
}

/** A rule body without undefined members (what a stored JSON document keeps anyway). */
function withoutUndefined(b: RuleBody): RuleBody {
  return Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as unknown as RuleBody;
}

export const authorizeSecurityGroupIngress: Handler<AuthorizeSecurityGroupIngressRequest, AuthorizeSecurityGroupIngressResult> = (input, ctx, s) =>
  authorize(input, ctx, s, false);

export const authorizeSecurityGroupEgress: Handler<AuthorizeSecurityGroupEgressRequest, AuthorizeSecurityGroupEgressResult> = (input, ctx, s) =>
  authorize(input, ctx, s, true);

// --- Revoke --------------------------------------------------------------------------------------------

function checkRuleIds(ids: readonly string[]): void {
  for (const id of ids) if (!isWellFormedId('securityGroupRule', id)) throw Errors.securityGroupRuleIdMalformed(id);
}

interface RevokeInput extends RuleRequest {
  readonly GroupId?: string | undefined;
  readonly GroupName?: string | undefined;
  readonly SecurityGroupRuleIds?: string[] | undefined;
  readonly DryRun?: boolean | undefined;
}

/**
 * Removes rules named by ID (each must be one of the group's in this direction) or by what they are
 * (protocol, ports, peer: matched exactly, descriptions aside). A rule that is not there: in the default
 * VPC EC2 answers it in UnknownIpPermissions and revokes the rest; elsewhere InvalidPermission.NotFound
 * and nothing is revoked (the API reference for RevokeSecurityGroupIngress).
 */
async function revoke(input: RevokeInput, ctx: RequestContext, s: Services, egress: boolean): Promise<RevokeSecurityGroupIngressResult> {
  checkGroupNamed(input, egress);
  const ruleIds = input.SecurityGroupRuleIds ?? [];
  checkRuleIds(ruleIds);
  const specs = requestedRules(input);
  if (specs.length === 0 && ruleIds.length === 0) throw Errors.missingParameter('IpPermissions');
  return s.store.transaction(
    async (tx) => {
      const { g, bodies } = await groupAndRules(s, ctx, input, specs, tx);
      const rules = inDirection(g, egress);
      const missingIds = [...new Set(ruleIds)].filter((id) => !rules.some((r) => r.id === id));
      if (missingIds.length > 0) throw Errors.securityGroupRuleIdNotFound(missingIds);
      const removed = new Set(ruleIds);
      const unknown: RuleBody[] = [];
      for (const b of bodies) {
        const hit = rules.find((r) => ruleKey(r) === ruleKey(b));
        if (hit) removed.add(hit.id);
        else unknown.push(b);
      }
      if (unknown.length > 0 && !inDefaultVpc(g, ctx)) throw Errors.permissionNotFound();
      checkDryRun(input);
      const gone = g.rules.filter((r) => removed.has(r.id));
      if (gone.length > 0) {
        tx.write({
          putResources: [{ kind: 'security-group', doc: withRules(g, g.rules.filter((r) => !removed.has(r.id))) }],
          deleteTags: await ruleTagDeletes(tx, gone.map((r) => r.id)),
        });
      }
      return {
        Return: true,
        ...(unknown.length > 0 ? { UnknownIpPermissions: unknown.map(permissionOfRule) } : {}),
        ...(gone.length > 0
          ? {
              RevokedSecurityGroupRules: gone.map((r) => {
                const { GroupOwnerId: _o, ReferencedGroupInfo: ref, SecurityGroupRuleArn: _a, Tags: _t, ...rest } = toSecurityGroupRule(g, r);
                return { ...rest, ...(ref?.GroupId ? { ReferencedGroupId: ref.GroupId } : {}) };
              }),
            }
          : {}),
      };
    },
    { lock: securityGroupLock(ctx) },
  );
}

export const revokeSecurityGroupIngress: Handler<RevokeSecurityGroupIngressRequest, RevokeSecurityGroupIngressResult> = (input, ctx, s) =>
  revoke(input, ctx, s, false);

export const revokeSecurityGroupEgress: Handler<RevokeSecurityGroupEgressRequest, RevokeSecurityGroupEgressResult> = (input, ctx, s) =>
  revoke(input, ctx, s, true);

// --- DescribeSecurityGroupRules --------------------------------------------------------------------------

interface RuleOfGroup {
  readonly group: SecurityGroupRecord;
  readonly rule: SecurityGroupRuleRecord;
}

function ruleFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<RuleOfGroup> {
  return {
    tags: (x) => tagsOf(x.rule.id),
    fields: {
      'group-id': (x) => x.group.id,
      'security-group-rule-id': (x) => x.rule.id,
    },
  };
}

export const describeSecurityGroupRules: Handler<DescribeSecurityGroupRulesRequest, DescribeSecurityGroupRulesResult> = async (input, ctx, s) => {
  const ids = input.SecurityGroupRuleIds ?? [];
  checkRuleIds(ids);
  let tags: TagsById = new Map();
  const predicate = compileFilters(ruleFilters((id) => tags.get(id)), input.Filters);
  const all = (await securityGroupsOf(s, ctx)).flatMap((group) => group.rules.map((rule) => ({ group, rule })));
  let wanted = all;
  if (ids.length > 0) {
    const missing = [...new Set(ids)].filter((id) => !all.some((x) => x.rule.id === id));
    if (missing.length > 0) throw Errors.securityGroupRuleIdNotFound(missing);
    const named = new Set(ids);
    wanted = all.filter((x) => named.has(x.rule.id));
  }
  checkDryRun(input);
  tags = await s.store.tagsOfMany(wanted.map((x) => x.rule.id));
  const page = paginate(wanted.filter(predicate), input, DESCRIBE_PAGE_LIMITS, { f: input.Filters, ids });
  const view = ({ group, rule }: RuleOfGroup): SecurityGroupRule => {
    const own = tags.get(rule.id) ?? NO_TAGS;
    return { ...toSecurityGroupRule(group, rule), Tags: tagList(own) };
  };
  return { SecurityGroupRules: page.items.map(view), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- ModifySecurityGroupRules ----------------------------------------------------------------------------

/** Replaces rules by ID, each keeping its ID and direction: protocol, ports, one peer and description anew. */
export const modifySecurityGroupRules: Handler<ModifySecurityGroupRulesRequest, ModifySecurityGroupRulesResult> = async (input, ctx, s) => {
  const groupId = required(input.GroupId, 'GroupId');
  checkNetworkIds('security-group', [groupId]);
  const updates = required(input.SecurityGroupRules, 'SecurityGroupRules').map((u) => {
    const id = required(u.SecurityGroupRuleId, 'SecurityGroupRule.N.SecurityGroupRuleId');
    checkRuleIds([id]);
    const req = required(u.SecurityGroupRule, 'SecurityGroupRule.N.SecurityGroupRule');
    const protocol = normalizeProtocol(req.IpProtocol, 'SecurityGroupRule.IpProtocol');
    const ports = checkPorts(protocol, req.FromPort, req.ToPort);
    const peers = (['CidrIpv4', 'CidrIpv6', 'ReferencedGroupId', 'PrefixListId'] as const).filter((k) => req[k] !== undefined && req[k] !== '');
    if (peers.length === 0) throw Errors.missingParameter('SecurityGroupRule.CidrIpv4, CidrIpv6, ReferencedGroupId or PrefixListId');
    if (peers.length > 1) throw Errors.invalidParameterCombination(`The parameter ${peers[0]} cannot be used with the parameter ${peers[1]}`);
    const spec: RuleSpec = {
      protocol,
      ...ports,
      description: checkRuleDescription(req.Description),
      source:
        peers[0] === 'CidrIpv4'
          ? { kind: 'cidr4', cidr: checkIpv4Cidr(req.CidrIpv4, 'CidrIpv4') }
          : peers[0] === 'CidrIpv6'
            ? { kind: 'cidr6', cidr: checkIpv6Cidr(req.CidrIpv6, 'CidrIpv6') }
            : peers[0] === 'PrefixListId'
              ? { kind: 'prefix-list', id: checkPrefixListId(req.PrefixListId) }
              : { kind: 'group', groupId: req.ReferencedGroupId },
    };
    return { id, spec };
  });
  return s.store.transaction(
    async (tx) => {
      const g = (await findSecurityGroups(s, ctx, [groupId], tx))[0]!;
      const groups = await securityGroupsOf(s, ctx, tx);
      const missing = [...new Set(updates.map((u) => u.id))].filter((id) => !g.rules.some((r) => r.id === id));
      if (missing.length > 0) throw Errors.securityGroupRuleIdNotFound(missing);
      const replaced = new Map(updates.map((u) => [u.id, withoutUndefined(resolveRule(u.spec, g, groups, ctx))]));
      checkDryRun(input);
      const rules = g.rules.map((r) => {
        const body = replaced.get(r.id);
        return body ? { id: r.id, egress: r.egress, ...body } : r;
      });
      for (const egress of [false, true]) {
        const seen = new Set<string>();
        for (const r of rules.filter((x) => x.egress === egress)) {
          const key = ruleKey(r);
          if (seen.has(key)) throw Errors.permissionDuplicate(describeRule(r));
          seen.add(key);
        }
      }
      tx.write({ putResources: [{ kind: 'security-group', doc: withRules(g, rules) }] });
      return { Return: true };
    },
    { lock: securityGroupLock(ctx) },
  );
};

// --- UpdateSecurityGroupRuleDescriptions{Ingress,Egress} -------------------------------------------------

type UpdateDescriptionsInput = UpdateSecurityGroupRuleDescriptionsIngressRequest | UpdateSecurityGroupRuleDescriptionsEgressRequest;

/** Sets rules' descriptions, named by ID or by what they are (each must exist: InvalidPermission.NotFound). */
async function updateDescriptions(input: UpdateDescriptionsInput, ctx: RequestContext, s: Services, egress: boolean): Promise<{ Return: boolean }> {
  if (input.GroupId) checkNetworkIds('security-group', [input.GroupId]);
  else if (!input.GroupName) throw Errors.missingParameter('GroupId');
  const byId = (input.SecurityGroupRuleDescriptions ?? []).map((d) => {
    const id = required(d.SecurityGroupRuleId, 'SecurityGroupRuleDescription.N.SecurityGroupRuleId');
    checkRuleIds([id]);
    return { id, description: checkRuleDescription(d.Description ?? '') };
  });
  const specs = (input.IpPermissions ?? []).flatMap(rulesOfPermission);
  if (byId.length === 0 && specs.length === 0) throw Errors.missingParameter('IpPermissions');
  return s.store.transaction(
    async (tx) => {
      const g = await targetGroup(s, ctx, input, tx);
      const groups = await securityGroupsOf(s, ctx, tx);
      const rules = inDirection(g, egress);
      const descriptions = new Map<string, string | undefined>();
      const missing = byId.filter((d) => !rules.some((r) => r.id === d.id)).map((d) => d.id);
      if (missing.length > 0) throw Errors.securityGroupRuleIdNotFound(missing);
      for (const d of byId) descriptions.set(d.id, d.description);
      for (const spec of specs) {
        const body = resolveRule(spec, g, groups, ctx);
        const hit = rules.find((r) => ruleKey(r) === ruleKey(body));
        if (!hit) throw Errors.permissionNotFound();
        descriptions.set(hit.id, body.description);
      }
      checkDryRun(input);
      const next = g.rules.map((r) => {
        if (!descriptions.has(r.id)) return r;
        const { description: _old, ...rest } = r;
        const d = descriptions.get(r.id);
        return d === undefined ? rest : { ...rest, description: d };
      });
      tx.write({ putResources: [{ kind: 'security-group', doc: withRules(g, next) }] });
      return { Return: true };
    },
    { lock: securityGroupLock(ctx) },
  );
}

export const updateSecurityGroupRuleDescriptionsIngress: Handler<
  UpdateSecurityGroupRuleDescriptionsIngressRequest,
  UpdateSecurityGroupRuleDescriptionsIngressResult
> = (input, ctx, s) => updateDescriptions(input, ctx, s, false);

export const updateSecurityGroupRuleDescriptionsEgress: Handler<
  UpdateSecurityGroupRuleDescriptionsEgressRequest,
  UpdateSecurityGroupRuleDescriptionsEgressResult
> = (input, ctx, s) => updateDescriptions(input, ctx, s, true);
