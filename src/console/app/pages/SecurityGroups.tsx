/**
 * Security groups (DescribeSecurityGroups): the list with a filter, create (name, description, VPC,
 * tags) and delete, each refusal shown as EC2 gave it (DependencyViolation for a group in use or
 * referenced, CannotDelete for a VPC's `default`).
 */
import type { SecurityGroup, Vpc } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import type { TagInput } from '../api.js';
import { ApiErrorAlert } from '../components/Alert.js';
import { DeleteDialog } from '../components/DeleteDialog.js';
import { FormDialog } from '../components/FormDialog.js';
import { useNotify } from '../components/Notifications.js';
import { useApi, useTitle } from '../context.js';
import { ruleCount } from '../ec2/network.js';
import { count, matches, regionName, tagValue } from '../format.js';
import { useResource, useSubmit } from '../hooks.js';
import { toggled } from '../list/model.js';
import { href, navigate, pageKey } from '../router.js';
import { TagsField } from './launch/TagsField.js';

/** A VPC as the pickers show it: its ID, Name tag and block, "default" for the default VPC. */
export const vpcLabel = (v: Vpc): string => {
  const name = tagValue(v.Tags, 'Name');
  return `${v.VpcId}${name ? ` (${name})` : ''} · ${v.CidrBlock ?? ''}${v.IsDefault ? ' · default' : ''}`;
};

export function TagPills(props: { tags: SecurityGroup['Tags'] }) {
  const tags = props.tags ?? [];
  if (tags.length === 0) return <span class="muted">–</span>;
  return (
    <span class="tag-pills">
      {tags.map((t) => (
        <span class="pill" key={t.Key}>
          {t.Key}
          {t.Value ? `: ${t.Value}` : ''}
        </span>
      ))}
    </span>
  );
}

export function SecurityGroups() {
  const api = useApi();
  useTitle('Security groups');
  const groups = useResource(() => api.securityGroups(), [api]);
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const all = groups.data ?? [];
  const shown = all.filter((g) =>
    matches(query, [g.GroupId, g.GroupName, g.VpcId, g.Description, ...(g.Tags ?? []).flatMap((t) => [t.Key, t.Value])]),
  );
  // Only what the filter shows stays selected (as in the instance list).
  const chosen = shown.filter((g) => selected.has(g.GroupId ?? ''));
  const toggle = (id: string, on: boolean) => setSelected((s) => toggled(s, id, on));
  const allChecked = shown.length > 0 && chosen.length === shown.length;

  return (
    <section class="page" aria-labelledby="sg-title">
      <div class="page-header">
        <h1 id="sg-title">
          Security groups <span class="count">({groups.data ? count(all.length) : '…'})</span>
        </h1>
        <div class="toolbar">
          <button type="button" class="button" onClick={groups.reload} disabled={groups.loading} aria-label="Refresh security groups" title="Refresh">
            ↻
          </button>
          <button type="button" class="button" disabled={chosen.length === 0} onClick={() => setDeleting(true)}>
            Delete
          </button>
          <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
            Create security group
          </button>
        </div>
      </div>
      {groups.error && <ApiErrorAlert title="Could not describe security groups" error={groups.error} />}
      <div class="card">
        <div class="card-toolbar">
          <input
            type="search"
            class="filter"
            aria-label="Filter security groups"
            placeholder="Filter security groups by ID, name, VPC, description or tag"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
          <span class="muted small" role="status" data-testid="sg-status">
            {chosen.length > 0 ? `${chosen.length} selected · ` : ''}
            {groups.data ? `${count(shown.length)} of ${count(all.length)}` : 'Loading…'}
          </span>
        </div>
        <div class="table-wrap">
          <table class="table table-compact" aria-labelledby="sg-title" data-testid="sg-table">
            <thead>
              <tr>
                <th class="col-check">
                  <input
                    type="checkbox"
                    aria-label="Select all security groups"
                    checked={allChecked}
                    indeterminate={chosen.length > 0 && !allChecked}
                    disabled={shown.length === 0}
                    onChange={() => setSelected(allChecked ? new Set() : new Set(shown.map((g) => g.GroupId ?? '')))}
                  />
                </th>
                <th>Name</th>
                <th>Security group ID</th>
                <th>Security group name</th>
                <th>VPC ID</th>
                <th>Description</th>
                <th class="num">Inbound rules</th>
                <th class="num">Outbound rules</th>
                <th>Tags</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((g) => {
                const id = g.GroupId ?? '';
                const isSelected = selected.has(id);
                return (
                  <tr
                    key={id}
                    data-group-id={id}
                    class={isSelected ? 'selected' : undefined}
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a, input, button')) return;
                      setSelected(new Set([id]));
                    }}
                  >
                    <td class="col-check">
                      <input type="checkbox" aria-label={`Select ${id}`} checked={isSelected} onChange={(e) => toggle(id, e.currentTarget.checked)} />
                    </td>
                    <td class="nowrap">{tagValue(g.Tags, 'Name') ?? <span class="muted">–</span>}</td>
                    <td class="nowrap">
                      <a class="mono" href={href({ page: 'security-group', id })}>
                        {id}
                      </a>
                    </td>
                    <td data-col="name">{g.GroupName}</td>
                    <td class="mono">{g.VpcId}</td>
                    <td data-col="description">{g.Description}</td>
                    <td class="num" data-col="inbound">
                      {ruleCount(g.IpPermissions)}
                    </td>
                    <td class="num" data-col="outbound">
                      {ruleCount(g.IpPermissionsEgress)}
                    </td>
                    <td>
                      <TagPills tags={g.Tags} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {groups.data && shown.length === 0 && (
            <p class="empty muted">
              {all.length === 0 ? `No security groups in ${regionName(api.region)} (${api.region}).` : 'No security group matches the filter.'}
            </p>
          )}
          {!groups.data && groups.loading && <p class="empty muted">Loading security groups…</p>}
        </div>
      </div>
      {creating && <CreateSecurityGroup onClose={() => setCreating(false)} />}
      {deleting && (
        <DeleteSecurityGroups
          groups={chosen}
          onClose={() => setDeleting(false)}
          onDeleted={(ids) => {
            setSelected((s) => new Set([...s].filter((id) => !ids.includes(id))));
            groups.reload();
          }}
        />
      )}
    </section>
  );
}

/** Create security group: name, description, VPC (DescribeVpcs, the default first) and tags; then the group's page. */
export function CreateSecurityGroup(props: { onClose: () => void }) {
  const api = useApi();
  const notify = useNotify();
  const vpcs = useResource(() => api.vpcs(), [api]);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [vpcId, setVpcId] = useState('');
  const [tags, setTags] = useState<readonly TagInput[]>([]);
  const state = useSubmit();
  const choices = [...(vpcs.data ?? [])].sort((a, b) => Number(b.IsDefault ?? false) - Number(a.IsDefault ?? false));
  const vpc = vpcId || choices[0]?.VpcId || '';

  const create = () =>
    state.submit(async () => {
      const id = await api.createSecurityGroup({ name: name.trim(), description, vpcId: vpc || undefined, tags });
      const route = { page: 'security-group', id } as const;
      notify.success(
        <>
          Security group <code>{id}</code> ({name.trim()}) created. Add its inbound rules with <strong>Edit inbound rules</strong>.
        </>,
        { on: pageKey(api.region, route) },
      );
      navigate(route);
    });

  return (
    <FormDialog
      title="Create security group"
      wide
      onClose={props.onClose}
      onSubmit={create}
      ready={name.trim() !== '' && description !== '' && vpc !== ''}
      state={state}
      errorTitle="CreateSecurityGroup failed"
      submitLabel="Create security group"
      busyLabel="Creating…"
    >
      <div class="field">
        <label for="sg-name">Security group name</label>
        <input id="sg-name" name="group-name" value={name} onInput={(e) => setName(e.currentTarget.value)} autoComplete="off" />
        <p class="field-note">Up to 255 characters: a–z, A–Z, 0–9, spaces and ._-:/()#,@[]+=&amp;;{'{}'}!$*. Cannot start with sg-.</p>
      </div>
      <div class="field">
        <label for="sg-description">Description</label>
        <input id="sg-description" name="group-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="sg-vpc">VPC</label>
        <select id="sg-vpc" name="vpc" value={vpc} disabled={!vpcs.data} onChange={(e) => setVpcId(e.currentTarget.value)}>
          {!vpcs.data && <option value="">Loading VPCs…</option>}
          {choices.map((v) => (
            <option key={v.VpcId} value={v.VpcId}>
              {vpcLabel(v)}
            </option>
          ))}
        </select>
        {vpcs.error && <ApiErrorAlert title="Could not describe VPCs" error={vpcs.error} />}
      </div>
      <p class="hint">A new group has no inbound rules and one outbound rule: all traffic to 0.0.0.0/0.</p>
      <TagsField tags={tags} onChange={setTags} legend="Tags" hint="No tags. A Name tag names the group in the list." />
    </FormDialog>
  );
}

/** Delete security groups: each one asked of the API; what it refuses is listed with EC2's code and message. */
export function DeleteSecurityGroups(props: {
  groups: readonly SecurityGroup[];
  onClose: () => void;
  onDeleted: (ids: string[]) => void;
  /** the page the notice of what was deleted goes to (default: this one) */
  noticeOn?: string;
}) {
  const api = useApi();
  return (
    <DeleteDialog
      noun={['security group', 'security groups']}
      items={props.groups.map((g) => ({ id: g.GroupId ?? '', label: g.GroupName }))}
      remove={api.deleteSecurityGroup}
      intro="These security groups and their rules are deleted for good:"
      hint="EC2 refuses to delete a VPC’s default group, a group an instance uses, and a group another group’s rule refers to."
      onClose={props.onClose}
      onDeleted={props.onDeleted}
      noticeOn={props.noticeOn}
    />
  );
}
