/**
 * Security group rules as EC2's console lists them (DescribeSecurityGroupRules): rule ID, IP version,
 * type, protocol, port range, source or destination (a group links to its page), description.
 */
import type { SecurityGroupRule } from '@aws-sdk/client-ec2';
import { href } from '../router.js';
import { peerOfRule, portRangeLabel, protocolLabel, ruleType, typeOfRule } from '../security-rules.js';

export function GroupLink(props: { id: string; name?: string | undefined }) {
  return (
    <>
      <a class="mono nowrap" href={href({ page: 'security-group', id: props.id })}>
        {props.id}
      </a>
      {props.name && <span class="muted"> ({props.name})</span>}
    </>
  );
}

export function RulesTable(props: {
  rules: readonly SecurityGroupRule[];
  egress: boolean;
  /** group names by ID, to name the groups rules refer to */
  names?: ReadonlyMap<string, string>;
  /** a column with each rule's own group (the instance's Security tab, over several groups) */
  showGroup?: boolean;
  /** the table's accessible name */
  label: string;
  testId?: string;
}) {
  const peerHeader = props.egress ? 'Destination' : 'Source';
  return (
    <div class="table-wrap">
      <table class="table table-compact" aria-label={props.label} data-testid={props.testId}>
        <thead>
          <tr>
            {props.showGroup && <th>Security group</th>}
            <th>Security group rule ID</th>
            <th>IP version</th>
            <th>Type</th>
            <th>Protocol</th>
            <th>Port range</th>
            <th>{peerHeader}</th>
            <th>Description</th>
          </tr>
        </thead>
        <tbody>
          {props.rules.map((r) => {
            const peer = peerOfRule(r);
            return (
              <tr key={r.SecurityGroupRuleId} data-rule-id={r.SecurityGroupRuleId}>
                {props.showGroup && (
                  <td>
                    <GroupLink id={r.GroupId ?? ''} name={props.names?.get(r.GroupId ?? '')} />
                  </td>
                )}
                <td class="mono">{r.SecurityGroupRuleId}</td>
                <td>{peer?.kind === 'cidr4' ? 'IPv4' : peer?.kind === 'cidr6' ? 'IPv6' : '–'}</td>
                <td data-col="type">{ruleType(typeOfRule(r.IpProtocol, r.FromPort, r.ToPort)).label}</td>
                <td data-col="protocol">{protocolLabel(r.IpProtocol)}</td>
                <td data-col="ports">{portRangeLabel(r.IpProtocol, r.FromPort, r.ToPort)}</td>
                <td data-col="peer">
                  {peer?.kind === 'group' ? <GroupLink id={peer.value} name={props.names?.get(peer.value)} /> : <span class="mono">{peer?.value ?? '–'}</span>}
                </td>
                <td data-col="description">{r.Description ?? <span class="muted">–</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {props.rules.length === 0 && <p class="empty muted">No {props.egress ? 'outbound' : 'inbound'} rules.</p>}
    </div>
  );
}

/** Rules in a stable order: by type, then port, then peer (DescribeSecurityGroupRules' order is the server's). */
export function sortRules(rules: readonly SecurityGroupRule[]): SecurityGroupRule[] {
  return [...rules].sort(
    (a, b) =>
      (a.FromPort ?? -1) - (b.FromPort ?? -1) ||
      (a.IpProtocol ?? '').localeCompare(b.IpProtocol ?? '') ||
      (peerOfRule(a)?.value ?? '').localeCompare(peerOfRule(b)?.value ?? '') ||
      (a.SecurityGroupRuleId ?? '').localeCompare(b.SecurityGroupRuleId ?? ''),
  );
}
