/**
 * One security group: its facts, and its inbound and outbound rules (DescribeSecurityGroupRules filtered
 * by group-id) and tags as tabs, with Edit inbound rules / Edit outbound rules and Delete.
 */
import { useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
import { Facts, mono } from '../components/Details.js';
import { RulesTable, sortRules } from '../components/RulesTable.js';
import { Tabs } from '../components/Tabs.js';
import { useApi, useTitle } from '../context.js';
import { regionName, tagValue } from '../format.js';
import { useResource } from '../hooks.js';
import { type RuleDirection, href, navigate, pageKey } from '../router.js';
import { DeleteSecurityGroups, TagPills } from './SecurityGroups.js';

type Tab = RuleDirection | 'tags';

export function SecurityGroupDetails(props: { id: string }) {
  const api = useApi();
  const groups = useResource(() => api.securityGroups(), [api]);
  const rules = useResource(() => api.securityGroupRules([props.id]), [api, props.id]);
  const [tab, setTab] = useState<Tab>('inbound');
  const [deleting, setDeleting] = useState(false);
  const group = groups.data?.find((g) => g.GroupId === props.id);
  const names = new Map((groups.data ?? []).map((g) => [g.GroupId ?? '', g.GroupName ?? '']));
  const inbound = sortRules((rules.data ?? []).filter((r) => !r.IsEgress));
  const outbound = sortRules((rules.data ?? []).filter((r) => r.IsEgress));
  const name = group ? (tagValue(group.Tags, 'Name') ?? group.GroupName ?? '') : '';
  useTitle(name ? `${name} (${props.id})` : props.id);
  const reload = () => {
    groups.reload();
    rules.reload();
  };

  const rulesTab = (direction: RuleDirection) => {
    const list = direction === 'inbound' ? inbound : outbound;
    return (
      <div class="card">
        <div class="card-header">
          <h2 id={`${direction}-rules-title`}>
            {direction === 'inbound' ? 'Inbound rules' : 'Outbound rules'} <span class="count">({rules.data ? list.length : '…'})</span>
          </h2>
          <a class="button" href={href({ page: 'edit-rules', id: props.id, direction })}>
            Edit {direction} rules
          </a>
        </div>
        {rules.error && <ApiErrorAlert title="DescribeSecurityGroupRules failed" error={rules.error} />}
        {rules.data ? (
          <RulesTable rules={list} egress={direction === 'outbound'} names={names} label={`${direction === 'inbound' ? 'Inbound' : 'Outbound'} rules`} testId={`${direction}-rules`} />
        ) : (
          <p class="empty muted">Loading rules…</p>
        )}
      </div>
    );
  };

  return (
    <section class="page" aria-labelledby="sg-details-title">
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <a href={href({ page: 'security-groups' })}>Security groups</a> <span aria-hidden="true">›</span> <span>{props.id}</span>
      </nav>
      <div class="page-header">
        <h1 id="sg-details-title">
          {name || props.id}
          {name && <span class="count mono"> {props.id}</span>}
        </h1>
        <div class="toolbar">
          <button type="button" class="button" onClick={reload} aria-label="Refresh security group" title="Refresh">
            ↻
          </button>
          <button type="button" class="button" disabled={!group} onClick={() => setDeleting(true)}>
            Delete
          </button>
        </div>
      </div>
      {groups.error && <ApiErrorAlert title="Could not describe security groups" error={groups.error} />}
      {!group && !groups.error && (
        <p class="muted">{groups.loading ? 'Loading…' : `No security group ${props.id} in ${regionName(api.region)} (${api.region}).`}</p>
      )}
      {group && (
        <>
          <section class="card" aria-labelledby="sg-facts-title">
            <div class="card-header">
              <h2 id="sg-facts-title">Details</h2>
            </div>
            <div class="card-body">
              <Facts
                items={[
                  ['Security group name', group.GroupName, 'group-name'],
                  ['Security group ID', mono(group.GroupId), 'group-id'],
                  ['Description', group.Description, 'description'],
                  ['VPC ID', mono(group.VpcId), 'vpc-id'],
                  ['Owner', mono(group.OwnerId)],
                  ['Inbound rules count', rules.data ? `${inbound.length} permission ${inbound.length === 1 ? 'entry' : 'entries'}` : undefined],
                  ['Outbound rules count', rules.data ? `${outbound.length} permission ${outbound.length === 1 ? 'entry' : 'entries'}` : undefined],
                ]}
              />
            </div>
          </section>
          <Tabs
            label="Security group"
            selected={tab}
            onSelect={setTab}
            tabs={[
              { id: 'inbound', label: 'Inbound rules' },
              { id: 'outbound', label: 'Outbound rules' },
              { id: 'tags', label: 'Tags' },
            ]}
          >
            {tab === 'tags' ? (
              <div class="card">
                <div class="card-header">
                  <h2 id="sg-tags-title">Tags</h2>
                </div>
                <div class="card-body">
                  <TagPills tags={group.Tags} />
                </div>
              </div>
            ) : (
              rulesTab(tab)
            )}
          </Tabs>
        </>
      )}
      {deleting && group && (
        <DeleteSecurityGroups
          groups={[group]}
          onClose={() => setDeleting(false)}
          onDeleted={() => navigate({ page: 'security-groups' })}
          noticeOn={pageKey(api.region, { page: 'security-groups' })}
        />
      )}
    </section>
  );
}
