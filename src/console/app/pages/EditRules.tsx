/**
 * Edit inbound rules / Edit outbound rules, as in EC2's console: the direction's rules as rows of type,
 * protocol, port range, source (or destination: a CIDR block or another group) and description; rows
 * are added and deleted, and Save sends the difference (security-rules.ts): RevokeSecurityGroup* for
 * the rows deleted, ModifySecurityGroupRules for the rows changed, AuthorizeSecurityGroup* for the new
 * ones. A refusal is shown where Save is, as EC2 gave it; what was done before it is kept, so saving
 * again sends only what is still to do.
 */
import type { SecurityGroupRule } from '@aws-sdk/client-ec2';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { ApiErrorAlert } from '../components/Alert.js';
import { useNotify } from '../components/Notifications.js';
import { useApi, useTitle } from '../context.js';
import { asApiError, useResource } from '../hooks.js';
import { type RuleDirection, href, navigate, pageKey } from '../router.js';
import {
  RULE_TYPES,
  type RuleRow,
  type RuleSpec,
  type RuleTypeId,
  newRow,
  planIsEmpty,
  planRuleChanges,
  portsEditable,
  protocolLabel,
  rowOfRule,
  rowPortsLabel,
  ruleType,
  withType,
} from '../security-rules.js';

let nextKey = 1;
const key = () => `row-${nextKey++}`;

/** The rule a spec describes, as DescribeSecurityGroupRules would show it (after a change went through). */
function ruleOfSpec(ruleId: string, groupId: string, egress: boolean, spec: RuleSpec): SecurityGroupRule {
  const peer = spec.peer;
  return {
    SecurityGroupRuleId: ruleId,
    GroupId: groupId,
    IsEgress: egress,
    IpProtocol: spec.protocol,
    FromPort: spec.fromPort ?? -1,
    ToPort: spec.toPort ?? -1,
    ...(peer.kind === 'cidr4' ? { CidrIpv4: peer.value } : {}),
    ...(peer.kind === 'cidr6' ? { CidrIpv6: peer.value } : {}),
    ...(peer.kind === 'group' ? { ReferencedGroupInfo: { GroupId: peer.value } } : {}),
    ...(peer.kind === 'prefix-list' ? { PrefixListId: peer.value } : {}),
    ...(spec.description ? { Description: spec.description } : {}),
  };
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export function EditRules(props: { id: string; direction: RuleDirection }) {
  const api = useApi();
  const notify = useNotify();
  const egress = props.direction === 'outbound';
  const title = egress ? 'Edit outbound rules' : 'Edit inbound rules';
  useTitle(`${title} · ${props.id}`);
  const groups = useResource(() => api.securityGroups(), [api]);
  const loaded = useResource(() => api.securityGroupRules([props.id]), [api, props.id]);
  /** the direction's rules as they are now (what Save compares against) */
  const [rules, setRules] = useState<readonly SecurityGroupRule[]>();
  const [rows, setRows] = useState<readonly RuleRow[]>([]);
  const [showErrors, setShowErrors] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ action: string; error: ApiError; done: string }>();
  const table = useRef<HTMLTableElement>(null);

  useEffect(() => {
    if (!loaded.data || rules) return;
    const own = loaded.data.filter((r) => (r.IsEgress ?? false) === egress);
    setRules(own);
    setRows(own.map((r) => rowOfRule(r, key())));
  }, [loaded.data]);

  const group = groups.data?.find((g) => g.GroupId === props.id);
  const others = (groups.data ?? []).filter((g) => g.VpcId === group?.VpcId);
  const plan = rules ? planRuleChanges(rules, rows) : undefined;
  const peerHeader = egress ? 'Destination' : 'Source';

  const update = (k: string, change: (r: RuleRow) => RuleRow) => setRows((rs) => rs.map((r) => (r.key === k ? change(r) : r)));
  const addRow = () => {
    const row = newRow(key());
    setRows((rs) => [...rs, row]);
    // The new row's type is where its editing starts.
    requestAnimationFrame(() => table.current?.querySelector<HTMLElement>(`[data-row="${row.key}"] select`)?.focus());
  };

  const save = async () => {
    if (!plan || !rules || busy) return;
    if (plan.errors.size > 0) {
      setShowErrors(true);
      requestAnimationFrame(() => table.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    setBusy(true);
    setFailure(undefined);
    let current = [...rules];
    const done: string[] = [];
    let action = '';
    try {
      if (plan.revoke.length > 0) {
        action = egress ? 'RevokeSecurityGroupEgress' : 'RevokeSecurityGroupIngress';
        await api.revokeRules(props.id, egress, plan.revoke);
        current = current.filter((r) => !plan.revoke.includes(r.SecurityGroupRuleId ?? ''));
        setRules(current);
        done.push(`${plural(plan.revoke.length, 'rule')} deleted`);
      }
      if (plan.modify.length > 0) {
        action = 'ModifySecurityGroupRules';
        await api.modifyRules(props.id, plan.modify);
        const changed = new Map(plan.modify.map((m) => [m.ruleId, m.spec]));
        current = current.map((r) => {
          const spec = changed.get(r.SecurityGroupRuleId ?? '');
          return spec ? ruleOfSpec(r.SecurityGroupRuleId ?? '', props.id, egress, spec) : r;
        });
        setRules(current);
        done.push(`${plural(plan.modify.length, 'rule')} changed`);
      }
      if (plan.authorize.length > 0) {
        action = egress ? 'AuthorizeSecurityGroupEgress' : 'AuthorizeSecurityGroupIngress';
        // The last step: when it goes through, the editor closes.
        await api.authorizeRules(props.id, egress, plan.authorize.map((a) => a.spec));
        done.push(`${plural(plan.authorize.length, 'rule')} added`);
      }
    } catch (err) {
      setBusy(false);
      setFailure({ action, error: asApiError(err), done: done.join(', ') });
      return;
    }
    const route = { page: 'security-group', id: props.id } as const;
    notify.success(
      <>
        {egress ? 'Outbound' : 'Inbound'} rules of <code>{props.id}</code> saved{done.length > 0 ? `: ${done.join(', ')}` : ''}.
      </>,
      { on: pageKey(api.region, route) },
    );
    navigate(route);
  };

  const summary = plan
    ? planIsEmpty(plan)
      ? 'No changes.'
      : [
          plan.revoke.length > 0 ? `${plural(plan.revoke.length, 'rule')} to delete` : '',
          plan.modify.length > 0 ? `${plural(plan.modify.length, 'rule')} to change` : '',
          plan.authorize.length > 0 ? `${plural(plan.authorize.length, 'rule')} to add` : '',
        ]
          .filter((s) => s !== '')
          .join(', ') + '.'
    : '';

  return (
    <section class="page" aria-labelledby="edit-rules-title">
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <a href={href({ page: 'security-groups' })}>Security groups</a> <span aria-hidden="true">›</span>{' '}
        <a href={href({ page: 'security-group', id: props.id })}>{props.id}</a> <span aria-hidden="true">›</span> <span>{title}</span>
      </nav>
      <div class="page-header">
        <h1 id="edit-rules-title">
          {title}
          {group && <span class="count"> {group.GroupName}</span>}
        </h1>
      </div>
      <p class="muted">
        {egress
          ? 'Outbound rules control the traffic that can leave the instances the group is attached to.'
          : 'Inbound rules control the traffic that can reach the instances the group is attached to.'}{' '}
        A {peerHeader.toLowerCase()} is a CIDR block (10.0.0.0/8, ::/0) or another security group of the same VPC (sg-…).
      </p>
      {loaded.error && <ApiErrorAlert title="DescribeSecurityGroupRules failed" error={loaded.error} />}
      {groups.error && <ApiErrorAlert title="Could not describe security groups" error={groups.error} />}
      <form
        class="card"
        aria-labelledby="edit-rules-title"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <div class="card-header">
          <h2 id="rules-table-title">{egress ? 'Outbound rules' : 'Inbound rules'}</h2>
        </div>
        <datalist id="rule-peers">
          <option value="0.0.0.0/0">Anywhere-IPv4</option>
          <option value="::/0">Anywhere-IPv6</option>
          {others.map((g) => (
            <option key={g.GroupId} value={g.GroupId}>
              {g.GroupName}
            </option>
          ))}
        </datalist>
        <div class="table-wrap">
          <table class="table table-compact rule-editor" aria-labelledby="rules-table-title" ref={table} data-testid="rule-editor">
            <thead>
              <tr>
                <th>Security group rule ID</th>
                <th>Type</th>
                <th>Protocol</th>
                <th>Port range</th>
                <th>{peerHeader}</th>
                <th>Description - optional</th>
                <th>
                  <span class="visually-hidden">Delete</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row, i) => {
                const n = i + 1;
                const errors = showErrors ? plan?.errors.get(row.key) : undefined;
                const t = ruleType(row.type);
                const errId = (field: string) => `rule-${row.key}-${field}-error`;
                return (
                  <tr key={row.key} data-row={row.key} data-rule-id={row.ruleId}>
                    <td class="mono">{row.ruleId ?? <span class="muted">–</span>}</td>
                    <td>
                      <select
                        aria-label={`Type of rule ${n}`}
                        value={row.type}
                        onChange={(e) => update(row.key, (r) => withType(r, e.currentTarget.value as RuleTypeId))}
                      >
                        {RULE_TYPES.map((rt) => (
                          <option key={rt.id} value={rt.id}>
                            {rt.label}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td>
                      {t.protocol === undefined ? (
                        <>
                          <input
                            class="input-narrow"
                            aria-label={`Protocol of rule ${n}`}
                            placeholder="50"
                            value={row.protocol}
                            aria-invalid={errors?.protocol ? 'true' : undefined}
                            aria-describedby={errors?.protocol ? errId('protocol') : undefined}
                            onInput={(e) => update(row.key, (r) => ({ ...r, protocol: e.currentTarget.value }))}
                          />
                          {errors?.protocol && (
                            <p class="field-error" id={errId('protocol')}>
                              {errors.protocol}
                            </p>
                          )}
                        </>
                      ) : (
                        <span data-col="protocol">{protocolLabel(t.protocol)}</span>
                      )}
                    </td>
                    <td>
                      {portsEditable(row) ? (
                        <>
                          <input
                            class="input-narrow"
                            aria-label={`Port range of rule ${n}`}
                            placeholder={t.protocol === 'icmp' ? '8/0' : '8000-8100'}
                            value={row.ports}
                            aria-invalid={errors?.ports ? 'true' : undefined}
                            aria-describedby={errors?.ports ? errId('ports') : undefined}
                            onInput={(e) => update(row.key, (r) => ({ ...r, ports: e.currentTarget.value }))}
                          />
                          {errors?.ports && (
                            <p class="field-error" id={errId('ports')}>
                              {errors.ports}
                            </p>
                          )}
                        </>
                      ) : (
                        <span data-col="ports">{rowPortsLabel(row)}</span>
                      )}
                    </td>
                    <td>
                      <input
                        aria-label={`${peerHeader} of rule ${n}`}
                        list="rule-peers"
                        placeholder="CIDR block or sg-…"
                        value={row.source}
                        aria-invalid={errors?.source ? 'true' : undefined}
                        aria-describedby={errors?.source ? errId('source') : undefined}
                        onInput={(e) => update(row.key, (r) => ({ ...r, source: e.currentTarget.value }))}
                      />
                      {errors?.source && (
                        <p class="field-error" id={errId('source')}>
                          {errors.source}
                        </p>
                      )}
                    </td>
                    <td>
                      <input
                        aria-label={`Description of rule ${n}`}
                        value={row.description}
                        onInput={(e) => update(row.key, (r) => ({ ...r, description: e.currentTarget.value }))}
                      />
                    </td>
                    <td>
                      <button
                        type="button"
                        class="button button-small"
                        aria-label={`Delete rule ${n}`}
                        onClick={() => setRows((rs) => rs.filter((r) => r.key !== row.key))}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {rules && rows.length === 0 && <p class="empty muted">No {props.direction} rules: add one, or save to remove them all.</p>}
          {!rules && !loaded.error && <p class="empty muted">Loading rules…</p>}
        </div>
        <div class="card-toolbar">
          <button type="button" class="button" onClick={addRow} disabled={!rules}>
            Add rule
          </button>
        </div>
        {failure && (
          <div class="card-body">
            <ApiErrorAlert title={`${failure.action} failed${failure.done ? ` (already done: ${failure.done})` : ''}`} error={failure.error} />
          </div>
        )}
        <div class="form-footer">
          <span class="muted small" data-testid="rules-plan">
            {summary}
          </span>
          <a class="button" href={href({ page: 'security-group', id: props.id })}>
            Cancel
          </a>
          <button type="submit" class="button button-primary" disabled={!plan || busy || (planIsEmpty(plan) && plan.errors.size === 0)}>
            {busy ? 'Saving…' : 'Save rules'}
          </button>
        </div>
      </form>
    </section>
  );
}
