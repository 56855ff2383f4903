/**
 * Security group rules, pure: what an IpPermission (or a SecurityGroupRuleRequest) asks for as rules
 * of one protocol, port range and peer each, EC2's checks of them (protocol names and numbers, ports,
 * CIDR blocks, names and descriptions), the key two rules are "the same rule" by, EC2's wording of a
 * rule in InvalidPermission.Duplicate, and the Describe view that groups rules back into IpPermissions.
 *
 * A rule's peer is resolved elsewhere (a group named by name, or one that must exist): here it is an
 * unresolved `SourceRef` until the caller turns it into a rule record.
 */
import type { IpPermission, SecurityGroupRule, UserIdGroupPair } from '@aws-sdk/client-ec2';
import { Errors } from './errors.js';
import { checkText } from './text.js';
import { type SecurityGroupRecord, type SecurityGroupRuleRecord, cidrText, parseCidr } from './vpc.js';

// --- protocols and ports ----------------------------------------------------------------------------

/** The protocols EC2 names (and answers by name when given their numbers). */
const PROTOCOL_NAMES: Readonly<Record<string, string>> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };
const NAMED = new Set(['tcp', 'udp', 'icmp', 'icmpv6']);

/**
 * EC2's protocol: `tcp`, `udp`, `icmp`, `icmpv6` (also as 6, 17, 1, 58, answered by name), `-1` (all
 * traffic; `all` too) or another protocol number 0–255, kept as its number.
 */
export function normalizeProtocol(value: string | undefined, param = 'IpProtocol'): string {
  if (value === undefined || value === '') throw Errors.missingParameter(param);
  const p = value.trim().toLowerCase();
  if (NAMED.has(p)) return p;
  if (p === '-1' || p === 'all') return '-1';
  if (/^\d{1,3}$/.test(p) && Number(p) <= 255) return PROTOCOL_NAMES[String(Number(p))] ?? String(Number(p));
  throw Errors.unknownIpProtocol(value);
}

/** Whether a protocol's rules have ports (tcp, udp) or ICMP type and code (icmp, icmpv6). */
export const hasPorts = (protocol: string): boolean => NAMED.has(protocol);

/**
 * The rule's port range as EC2 keeps it: tcp/udp need both ports, 0–65535, from ≤ to; icmp needs both
 * (type and code, -1 to 255, -1: all); icmpv6 takes none (all) or both; every other protocol opens all
 * ports whatever was given (EC2 ignores them), kept as -1/-1.
 */
export function checkPorts(protocol: string, from: number | undefined, to: number | undefined): { fromPort: number; toPort: number } {
  if (!hasPorts(protocol)) return { fromPort: -1, toPort: -1 };
  if (protocol === 'icmpv6' && from === undefined && to === undefined) return { fromPort: -1, toPort: -1 };
  const tcpUdp = protocol === 'tcp' || protocol === 'udp';
  if (from === undefined || to === undefined) throw Errors.portRangeRequired(tcpUdp ? 'TCP/UDP' : 'ICMP');
  if (tcpUdp) {
    if (!Number.isInteger(from) || from < 0 || from > 65535) throw Errors.portOutOfRange('from', from);
    if (!Number.isInteger(to) || to < 0 || to > 65535) throw Errors.portOutOfRange('to', to);
    if (from > to) throw Errors.portRangeInverted(from, to);
  } else {
    if (!Number.isInteger(from) || from < -1 || from > 255) throw Errors.icmpOutOfRange('type', from);
    if (!Number.isInteger(to) || to < -1 || to > 255) throw Errors.icmpOutOfRange('code', to);
  }
  return { fromPort: from, toPort: to };
}

// --- peers --------------------------------------------------------------------------------------------

const IPV6_CIDR = /^([0-9a-f:]+(?::\d{1,3}(?:\.\d{1,3}){3})?)\/(\d{1,3})$/i;

export function checkIpv4Cidr(value: string | undefined, param: string): string {
  if (value === undefined || value === '') throw Errors.missingParameter(param);
  const c = parseCidr(value.trim());
  if (!c) throw Errors.invalidCidrBlock(param, value);
  return cidrText(c);
}

/** An IPv6 block, loosely checked (hex groups, at most one `::`, prefix 0–128), in lower case. */
export function checkIpv6Cidr(value: string | undefined, param: string): string {
  if (value === undefined || value === '') throw Errors.missingParameter(param);
  const m = IPV6_CIDR.exec(value.trim());
  const ok =
    m !== null &&
    Number(m[2]) <= 128 &&
    (m[1]!.match(/::/g) ?? []).length <= 1 &&
    m[1]!.split(':').every((g) => g.length <= 4 || g.includes('.')) &&
    m[1]!.split(':').length <= 8;
  if (!ok) throw Errors.invalidCidrBlock(param, value);
  return value.trim().toLowerCase();
}

const PREFIX_LIST_ID = /^pl-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export function checkPrefixListId(value: string | undefined): string {
  if (value === undefined || value === '') throw Errors.missingParameter('PrefixListId');
  if (!PREFIX_LIST_ID.test(value)) throw Errors.prefixListIdMalformed(value);
  return value;
}

/** EC2: rule descriptions are up to 255 characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*. */
const DESCRIPTION_CHARS = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
export function checkRuleDescription(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  checkText(value, 'Description');
  if (value.length > 255 || !DESCRIPTION_CHARS.test(value)) throw Errors.invalidRuleDescription(value);
  return value === '' ? undefined : value;
}

// --- group names and descriptions ---------------------------------------------------------------------

/** EC2 (VPC groups): up to 255 characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*. */
const GROUP_TEXT = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/;

export function checkGroupName(value: string | undefined): string {
  if (value === undefined || value === '') throw Errors.missingParameter('GroupName');
  checkText(value, 'GroupName');
  if (value.length > 255 || !GROUP_TEXT.test(value)) throw Errors.invalidGroupText('GroupName', value);
  if (value.startsWith('sg-')) throw Errors.groupNameReservedPrefix(value);
  return value;
}

export function checkGroupDescription(value: string | undefined): string {
  if (value === undefined || value === '') throw Errors.missingParameter('GroupDescription');
  checkText(value, 'GroupDescription');
  if (value.length > 255 || !GROUP_TEXT.test(value)) throw Errors.invalidGroupText('GroupDescription', value);
  return value;
}

// --- rules as asked for ---------------------------------------------------------------------------------

/** A peer as a request names it: resolved to a rule's peer by the caller (groups must exist). */
export type SourceRef =
  | { readonly kind: 'cidr4'; readonly cidr: string }
  | { readonly kind: 'cidr6'; readonly cidr: string }
  | { readonly kind: 'prefix-list'; readonly id: string }
  | { readonly kind: 'group'; readonly groupId?: string | undefined; readonly groupName?: string | undefined; readonly userId?: string | undefined };

/** One rule a request asks for, before its peer is resolved. */
export interface RuleSpec {
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly source: SourceRef;
  readonly description?: string | undefined;
}

/** A rule without its ID: what rules are compared by, and what a new rule is made of. */
export type RuleBody = Omit<SecurityGroupRuleRecord, 'id' | 'egress'>;

/** The rules one IpPermission asks for: one per peer, each with the permission's protocol and ports. */
export function rulesOfPermission(p: IpPermission): RuleSpec[] {
  const protocol = normalizeProtocol(p.IpProtocol, 'IpPermissions.IpProtocol');
  const { fromPort, toPort } = checkPorts(protocol, p.FromPort, p.ToPort);
  const base = { protocol, fromPort, toPort };
  const out: RuleSpec[] = [];
  for (const r of p.IpRanges ?? []) {
    out.push({ ...base, source: { kind: 'cidr4', cidr: checkIpv4Cidr(r.CidrIp, 'cidrIp') }, description: checkRuleDescription(r.Description) });
  }
  for (const r of p.Ipv6Ranges ?? []) {
    out.push({ ...base, source: { kind: 'cidr6', cidr: checkIpv6Cidr(r.CidrIpv6, 'cidrIpv6') }, description: checkRuleDescription(r.Description) });
  }
  for (const g of p.UserIdGroupPairs ?? []) out.push({ ...base, source: groupRef(g), description: checkRuleDescription(g.Description) });
  for (const l of p.PrefixListIds ?? []) {
    out.push({ ...base, source: { kind: 'prefix-list', id: checkPrefixListId(l.PrefixListId) }, description: checkRuleDescription(l.Description) });
  }
  if (out.length === 0) throw Errors.missingParameter('IpPermissions.N.IpRanges, Ipv6Ranges, UserIdGroupPairs or PrefixListIds');
  return out;
}

function groupRef(g: UserIdGroupPair): SourceRef {
  if (!g.GroupId && !g.GroupName) throw Errors.missingParameter('UserIdGroupPairs.N.GroupId');
  return { kind: 'group', groupId: g.GroupId || undefined, groupName: g.GroupId ? undefined : g.GroupName, userId: g.UserId || undefined };
}

/** The key two rules of one direction are the same rule by: protocol, ports and peer (not the description). */
export const ruleKey = (r: RuleBody): string =>
  [r.protocol, r.fromPort, r.toPort, r.cidrIpv4 ?? '', r.cidrIpv6 ?? '', r.referencedGroupId ?? '', r.prefixListId ?? ''].join('|');

/**
 * A rule in EC2's words, as InvalidPermission.Duplicate quotes it: `peer: 0.0.0.0/0, TCP, from port:
 * 22, to port: 22, ALLOW`, `peer: sg-…, ALL, ALLOW`, `peer: 0.0.0.0/0, protocol: 50, ALLOW`.
 */
export function describeRule(r: RuleBody): string {
  const peer = r.cidrIpv4 ?? r.cidrIpv6 ?? r.referencedGroupId ?? r.prefixListId ?? '?';
  let what: string;
  if (r.protocol === '-1') what = 'ALL';
  else if (r.protocol === 'tcp' || r.protocol === 'udp') what = `${r.protocol.toUpperCase()}, from port: ${r.fromPort}, to port: ${r.toPort}`;
  else if (r.protocol === 'icmp' || r.protocol === 'icmpv6') what = `${r.protocol.toUpperCase()}, type: ${r.fromPort}, code: ${r.toPort}`;
  else what = `protocol: ${r.protocol}`;
  return `peer: ${peer}, ${what}, ALLOW`;
}

// --- the API's views ------------------------------------------------------------------------------------

/**
 * One direction's rules as DescribeSecurityGroups shows them: rules of one protocol and port range
 * together in one IpPermission (in the order each range first appears), each peer with its description.
 */
export function ipPermissionsOf(rules: readonly SecurityGroupRuleRecord[]): IpPermission[] {
  const byRange = new Map<string, Required<Pick<IpPermission, 'UserIdGroupPairs' | 'IpRanges' | 'Ipv6Ranges' | 'PrefixListIds'>> & IpPermission>();
  for (const r of rules) {
    const key = `${r.protocol}|${r.fromPort}|${r.toPort}`;
    let p = byRange.get(key);
    if (!p) {
      p = {
        IpProtocol: r.protocol,
        ...(hasPorts(r.protocol) ? { FromPort: r.fromPort, ToPort: r.toPort } : {}),
        UserIdGroupPairs: [],
        IpRanges: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
      };
      byRange.set(key, p);
    }
    const d = r.description !== undefined ? { Description: r.description } : {};
    if (r.cidrIpv4 !== undefined) p.IpRanges.push({ CidrIp: r.cidrIpv4, ...d });
    else if (r.cidrIpv6 !== undefined) p.Ipv6Ranges.push({ CidrIpv6: r.cidrIpv6, ...d });
    else if (r.referencedGroupId !== undefined) p.UserIdGroupPairs.push({ ...d, UserId: r.referencedUserId, GroupId: r.referencedGroupId });
    else if (r.prefixListId !== undefined) p.PrefixListIds.push({ PrefixListId: r.prefixListId, ...d });
  }
  return [...byRange.values()];
}

/** A rule as the request that made it would state it (UnknownIpPermissions: a rule that was not there). */
export function permissionOfRule(r: RuleBody): IpPermission {
  return ipPermissionsOf([{ ...r, id: '', egress: false }])[0]!;
}

export const ruleArn = (g: SecurityGroupRecord, ruleId: string): string =>
  `arn:aws:ec2:${g.region}:${g.account}:security-group-rule/${ruleId}`;

/** A rule as DescribeSecurityGroupRules (and Authorize's answer) shows it. */
export function toSecurityGroupRule(g: SecurityGroupRecord, r: SecurityGroupRuleRecord): SecurityGroupRule {
  return {
    SecurityGroupRuleId: r.id,
    GroupId: g.id,
    GroupOwnerId: g.account,
    IsEgress: r.egress,
    IpProtocol: r.protocol,
    FromPort: r.fromPort,
    ToPort: r.toPort,
    ...(r.cidrIpv4 !== undefined ? { CidrIpv4: r.cidrIpv4 } : {}),
    ...(r.cidrIpv6 !== undefined ? { CidrIpv6: r.cidrIpv6 } : {}),
    ...(r.prefixListId !== undefined ? { PrefixListId: r.prefixListId } : {}),
    ...(r.referencedGroupId !== undefined ? { ReferencedGroupInfo: { GroupId: r.referencedGroupId, UserId: r.referencedUserId } } : {}),
    ...(r.description !== undefined ? { Description: r.description } : {}),
    SecurityGroupRuleArn: ruleArn(g, r.id),
  };
}
