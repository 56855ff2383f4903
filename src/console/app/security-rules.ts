/**
 * Security group rules as EC2's console shows and edits them, pure (no DOM; unit-tested in
 * test/console-logic.test.ts): the rule types (SSH, HTTP, Custom TCP, …) and how a rule maps to one,
 * protocol and port range as text, the editor's rows, and the difference between the rules a group has
 * and the rows the user saves: rules to revoke (by ID), rules to change (ModifySecurityGroupRules) and
 * rules to authorize. Only what the text cannot say is refused here (a port range that is not one);
 * every other rule — ranges, CIDR blocks, duplicates, limits — is the API's, shown as it answered.
 */
import type { SecurityGroupRule } from '@aws-sdk/client-ec2';

export type RuleTypeId =
  | 'all-traffic'
  | 'ssh'
  | 'http'
  | 'https'
  | 'rdp'
  | 'custom-tcp'
  | 'all-tcp'
  | 'custom-udp'
  | 'all-udp'
  | 'custom-icmp'
  | 'all-icmp'
  | 'all-icmpv6'
  | 'custom-protocol';

export interface RuleType {
  readonly id: RuleTypeId;
  readonly label: string;
  /** the protocol EC2 keeps ('-1': all); absent for Custom protocol, where it is typed */
  readonly protocol?: string;
  /** fixed ports (tcp/udp), or ICMP type and code; absent where the user types them or there are none */
  readonly ports?: readonly [number, number];
  /** the port range (or ICMP type/code) is typed */
  readonly editablePorts?: boolean;
}

/** The types the editor offers, in the EC2 console's order. */
export const RULE_TYPES: readonly RuleType[] = [
  { id: 'custom-tcp', label: 'Custom TCP', protocol: 'tcp', editablePorts: true },
  { id: 'custom-udp', label: 'Custom UDP', protocol: 'udp', editablePorts: true },
  { id: 'custom-icmp', label: 'Custom ICMP - IPv4', protocol: 'icmp', editablePorts: true },
  { id: 'custom-protocol', label: 'Custom protocol' },
  { id: 'all-tcp', label: 'All TCP', protocol: 'tcp', ports: [0, 65535] },
  { id: 'all-udp', label: 'All UDP', protocol: 'udp', ports: [0, 65535] },
  { id: 'all-icmp', label: 'All ICMP - IPv4', protocol: 'icmp', ports: [-1, -1] },
  { id: 'all-icmpv6', label: 'All ICMP - IPv6', protocol: 'icmpv6', ports: [-1, -1] },
  { id: 'all-traffic', label: 'All traffic', protocol: '-1' },
  { id: 'ssh', label: 'SSH', protocol: 'tcp', ports: [22, 22] },
  { id: 'http', label: 'HTTP', protocol: 'tcp', ports: [80, 80] },
  { id: 'https', label: 'HTTPS', protocol: 'tcp', ports: [443, 443] },
  { id: 'rdp', label: 'RDP', protocol: 'tcp', ports: [3389, 3389] },
];

export const ruleType = (id: RuleTypeId): RuleType => RULE_TYPES.find((t) => t.id === id) ?? RULE_TYPES[0]!;

/** Protocols whose rules have ports (tcp, udp) or an ICMP type and code (icmp, icmpv6), as EC2 keeps them. */
export const hasPorts = (protocol: string): boolean => protocol === 'tcp' || protocol === 'udp' || protocol === 'icmp' || protocol === 'icmpv6';

/** EC2's protocol as the API answers it (names for 6, 17, 1, 58; '-1' for all), from what is typed. */
export function normalizeProtocol(value: string): string {
  const p = value.trim().toLowerCase();
  if (p === 'all' || p === '-1') return '-1';
  const byNumber: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };
  if (/^\d+$/.test(p)) return byNumber[String(Number(p))] ?? String(Number(p));
  return p;
}

/** The type a rule is shown as: SSH for tcp 22, Custom TCP for another tcp range, and so on. */
export function typeOfRule(protocol: string | undefined, from: number | undefined, to: number | undefined): RuleTypeId {
  const p = normalizeProtocol(protocol ?? '-1');
  if (p === '-1') return 'all-traffic';
  const fixed = RULE_TYPES.find((t) => t.protocol === p && t.ports && t.ports[0] === from && t.ports[1] === to);
  if (fixed) return fixed.id;
  if (p === 'tcp') return 'custom-tcp';
  if (p === 'udp') return 'custom-udp';
  if (p === 'icmp') return 'custom-icmp';
  if (p === 'icmpv6' && (from ?? -1) === -1 && (to ?? -1) === -1) return 'all-icmpv6';
  return 'custom-protocol';
}

/** A protocol as the console names it: TCP, UDP, ICMP, ICMPv6, All, or its number. */
export function protocolLabel(protocol: string | undefined): string {
  const p = normalizeProtocol(protocol ?? '-1');
  if (p === '-1') return 'All';
  if (p === 'icmpv6') return 'ICMPv6';
  return /^\d+$/.test(p) ? p : p.toUpperCase();
}

/** The port range as the console shows it: 22, 8000 - 8100, All; ICMP as type/code (8/0, 8, All). */
export function portRangeLabel(protocol: string | undefined, from: number | undefined, to: number | undefined): string {
  const p = normalizeProtocol(protocol ?? '-1');
  if (!hasPorts(p)) return 'All';
  if (p === 'icmp' || p === 'icmpv6') {
    if ((from ?? -1) === -1) return 'All';
    return (to ?? -1) === -1 ? String(from) : `${from}/${to}`;
  }
  if (from === undefined || to === undefined) return 'All';
  return from === to ? String(from) : `${from} - ${to}`;
}

/** The text the editor puts in a port range field for a rule (what portRangeLabel shows, but typed back). */
const portText = (protocol: string, from: number | undefined, to: number | undefined): string =>
  hasPorts(protocol) ? portRangeLabel(protocol, from, to).replace(' - ', '-') : '';

export type PortsResult = { readonly ok: true; readonly from: number; readonly to: number } | { readonly ok: false; readonly message: string };

/**
 * Typed ports: `22` or `8000-8100` for TCP and UDP; `8`, `8/0` or `All` (-1) for ICMP's type and code.
 * Numbers out of range are the API's to refuse.
 */
export function parsePorts(protocol: string, text: string): PortsResult {
  const t = text.trim();
  if (protocol === 'icmp' || protocol === 'icmpv6') {
    if (t === '' || t.toLowerCase() === 'all') return { ok: true, from: -1, to: -1 };
    const m = /^(-?\d+)\s*(?:\/\s*(-?\d+))?$/.exec(t);
    if (!m) return { ok: false, message: 'Enter an ICMP type, or type/code (8/0).' };
    return { ok: true, from: Number(m[1]), to: m[2] === undefined ? -1 : Number(m[2]) };
  }
  const m = /^(\d+)\s*(?:-\s*(\d+))?$/.exec(t);
  if (!m) return { ok: false, message: t === '' ? 'Enter a port (22) or a port range (8000-8100).' : `“${t}” is not a port (22) or a port range (8000-8100).` };
  return { ok: true, from: Number(m[1]), to: Number(m[2] ?? m[1]) };
}

/** The other end of a rule: an IPv4 or IPv6 block, another security group, or a prefix list. */
export type Peer =
  | { readonly kind: 'cidr4'; readonly value: string }
  | { readonly kind: 'cidr6'; readonly value: string }
  | { readonly kind: 'group'; readonly value: string }
  | { readonly kind: 'prefix-list'; readonly value: string };

export function peerOfRule(r: SecurityGroupRule): Peer | undefined {
  if (r.CidrIpv4) return { kind: 'cidr4', value: r.CidrIpv4 };
  if (r.CidrIpv6) return { kind: 'cidr6', value: r.CidrIpv6 };
  if (r.ReferencedGroupInfo?.GroupId) return { kind: 'group', value: r.ReferencedGroupInfo.GroupId };
  if (r.PrefixListId) return { kind: 'prefix-list', value: r.PrefixListId };
  return undefined;
}

/** What is typed as a source or destination: `sg-…` is a group, `pl-…` a prefix list, with a colon IPv6, else IPv4. */
export function parsePeer(text: string): Peer | undefined {
  const t = text.trim().split(/\s+/)[0] ?? '';
  if (t === '') return undefined;
  if (t.startsWith('sg-')) return { kind: 'group', value: t };
  if (t.startsWith('pl-')) return { kind: 'prefix-list', value: t };
  if (t.includes(':')) return { kind: 'cidr6', value: t };
  return { kind: 'cidr4', value: t };
}

/** A rule as the API is asked for it. */
export interface RuleSpec {
  readonly protocol: string;
  /** only for protocols with ports (and ICMP's type and code) */
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly peer: Peer;
  readonly description: string;
}

/** The key two rules of a group's direction are the same rule by (as EC2 compares them): not the description. */
export const specKey = (s: RuleSpec): string =>
  [s.protocol, hasPorts(s.protocol) ? s.fromPort : '', hasPorts(s.protocol) ? s.toPort : '', s.peer.kind, s.peer.value.toLowerCase()].join('|');

export function specOfRule(r: SecurityGroupRule): RuleSpec | undefined {
  const peer = peerOfRule(r);
  if (!peer) return undefined;
  const protocol = normalizeProtocol(r.IpProtocol ?? '-1');
  return {
    protocol,
    ...(hasPorts(protocol) ? { fromPort: r.FromPort ?? -1, toPort: r.ToPort ?? -1 } : {}),
    peer,
    description: r.Description ?? '',
  };
}

// --- the editor's rows ------------------------------------------------------------------------------------

export interface RuleRow {
  /** the row's own key (stable while it is edited) */
  readonly key: string;
  /** the rule it edits; absent for a new rule */
  readonly ruleId?: string | undefined;
  readonly type: RuleTypeId;
  /** typed for Custom protocol; the type's own otherwise */
  readonly protocol: string;
  /** typed for Custom TCP/UDP/ICMP */
  readonly ports: string;
  readonly source: string;
  readonly description: string;
}

export function rowOfRule(r: SecurityGroupRule, key: string): RuleRow {
  const protocol = normalizeProtocol(r.IpProtocol ?? '-1');
  return {
    key,
    ruleId: r.SecurityGroupRuleId,
    type: typeOfRule(protocol, r.FromPort, r.ToPort),
    protocol,
    ports: portText(protocol, r.FromPort, r.ToPort),
    source: peerOfRule(r)?.value ?? '',
    description: r.Description ?? '',
  };
}

/** A new row (Add rule): Custom TCP with nothing typed yet, as in EC2's console. */
export const newRow = (key: string, source = ''): RuleRow => ({ key, type: 'custom-tcp', protocol: 'tcp', ports: '', source, description: '' });

/** A row whose type changed: the type's protocol and ports, what was typed kept where it still applies. */
export function withType(row: RuleRow, type: RuleTypeId): RuleRow {
  const t = ruleType(type);
  const protocol = t.protocol ?? (ruleType(row.type).protocol === undefined ? row.protocol : '');
  const was = ruleType(row.type);
  const portFamily = (p: string | undefined) => (p === 'tcp' || p === 'udp' ? 'ports' : p);
  // A typed range stays from Custom TCP to Custom UDP and back; not into ICMP's type/code.
  const keepPorts = t.editablePorts && was.editablePorts && portFamily(t.protocol) === portFamily(was.protocol);
  const ports = t.editablePorts ? (keepPorts ? row.ports : '') : t.ports ? portText(protocol, t.ports[0], t.ports[1]) : '';
  return { ...row, type, protocol, ports };
}

/** Whether the row's port range (or ICMP type/code) is typed: Custom TCP/UDP/ICMP, or a custom protocol that has ports. */
export function portsEditable(row: RuleRow): boolean {
  const t = ruleType(row.type);
  if (t.editablePorts) return true;
  return t.protocol === undefined && row.protocol.trim() !== '' && hasPorts(normalizeProtocol(row.protocol));
}

/** What the editor shows in a row's port range column when it is not typed. */
export function rowPortsLabel(row: RuleRow): string {
  const t = ruleType(row.type);
  if (t.ports) return portRangeLabel(t.protocol, t.ports[0], t.ports[1]);
  return 'All';
}

export interface RowErrors {
  readonly protocol?: string;
  readonly ports?: string;
  readonly source?: string;
}

export type RowResult = { readonly ok: true; readonly spec: RuleSpec } | { readonly ok: false; readonly errors: RowErrors };

/** The rule a row asks for, or what in it cannot be read. */
export function specOfRow(row: RuleRow): RowResult {
  const t = ruleType(row.type);
  const errors: { protocol?: string; ports?: string; source?: string } = {};
  const protocol = t.protocol ?? normalizeProtocol(row.protocol);
  if (protocol === '') errors.protocol = 'Enter a protocol: its number (0–255) or name.';
  let ports: { fromPort?: number; toPort?: number } = {};
  if (t.ports) ports = hasPorts(protocol) ? { fromPort: t.ports[0], toPort: t.ports[1] } : {};
  else if (t.editablePorts) {
    const parsed = parsePorts(protocol, row.ports);
    if (parsed.ok) ports = { fromPort: parsed.from, toPort: parsed.to };
    else errors.ports = parsed.message;
  } else if (hasPorts(protocol)) {
    // Custom protocol 6, 17, 1 or 58: EC2 keeps it as tcp, udp, icmp or icmpv6, with ports.
    const parsed = parsePorts(protocol, row.ports);
    if (parsed.ok) ports = { fromPort: parsed.from, toPort: parsed.to };
    else errors.ports = parsed.message;
  }
  const peer = parsePeer(row.source);
  if (!peer) errors.source = 'Enter a CIDR block (10.0.0.0/8), a security group ID (sg-…) or a prefix list ID.';
  if (errors.protocol || errors.ports || !peer) return { ok: false, errors };
  return { ok: true, spec: { protocol, ...ports, peer, description: row.description.trim() } };
}

/** Two specs ask for the same rule, description included. */
const sameSpec = (a: RuleSpec, b: RuleSpec) => specKey(a) === specKey(b) && a.description === b.description;

export interface RulePlan {
  /** rules that are no longer there: RevokeSecurityGroup{Ingress,Egress} by SecurityGroupRuleId */
  readonly revoke: readonly string[];
  /** rules whose row changed: ModifySecurityGroupRules */
  readonly modify: readonly { readonly ruleId: string; readonly spec: RuleSpec }[];
  /** new rows: AuthorizeSecurityGroup{Ingress,Egress} */
  readonly authorize: readonly { readonly rowKey: string; readonly spec: RuleSpec }[];
  /** rows that cannot be read, by row key: nothing is sent while there are any */
  readonly errors: ReadonlyMap<string, RowErrors>;
}

/** What Save sends to turn a direction's `rules` into `rows`. */
export function planRuleChanges(rules: readonly SecurityGroupRule[], rows: readonly RuleRow[]): RulePlan {
  const byId = new Map(rules.map((r) => [r.SecurityGroupRuleId ?? '', r]));
  const kept = new Set<string>();
  const modify: { ruleId: string; spec: RuleSpec }[] = [];
  const authorize: { rowKey: string; spec: RuleSpec }[] = [];
  const errors = new Map<string, RowErrors>();
  for (const row of rows) {
    const result = specOfRow(row);
    const rule = row.ruleId ? byId.get(row.ruleId) : undefined;
    if (rule) kept.add(row.ruleId!);
    if (!result.ok) {
      errors.set(row.key, result.errors);
      continue;
    }
    const before = rule && specOfRule(rule);
    if (!rule) authorize.push({ rowKey: row.key, spec: result.spec });
    else if (!before || !sameSpec(before, result.spec)) modify.push({ ruleId: row.ruleId!, spec: result.spec });
  }
  const revoke = rules.map((r) => r.SecurityGroupRuleId ?? '').filter((id) => id !== '' && !kept.has(id));
  return { revoke, modify, authorize, errors };
}

export const planIsEmpty = (p: RulePlan): boolean => p.revoke.length === 0 && p.modify.length === 0 && p.authorize.length === 0;
