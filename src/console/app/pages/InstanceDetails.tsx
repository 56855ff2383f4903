/**
 * One instance: its summary (state and reason, type, image, zone), then tabs as EC2's console has them —
 * Details (CPU options with nested virtualization, VSM on Windows, tags), Security (its groups and their
 * inbound and outbound rules), Networking (addresses, DNS names, VPC, subnet, network interfaces) and
 * Storage (root device and block devices with their volumes, each linked to the Volumes page) — and the serial console, all
 * refreshed while the page is open; Connect shows how to log in with SSH.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
import { GroupLink, RulesTable, sortRules } from '../components/RulesTable.js';
import { Tabs } from '../components/Tabs.js';
import { type Fact, Facts, Section, mono } from '../components/Details.js';
import { NestedBadge, StateBadge } from '../components/Badges.js';
import { platformOf, vsmOf } from '../capabilities.js';
import { useApi, useTitle } from '../context.js';
import { nameOf, regionName, stateTransition, when } from '../format.js';
import { useResource } from '../hooks.js';
import { href } from '../router.js';
import { ConnectDialog } from './ConnectDialog.js';
import { InstanceActions } from './InstanceActions.js';
import { POLL_MS } from './Instances.js';

const CONSOLE_POLL_MS = 3000;

type DetailsTabId = 'details' | 'security' | 'networking' | 'storage';
/** States in which the guest may still write to its console. */
const LIVE_STATES = new Set(['pending', 'running', 'stopping', 'shutting-down']);

function CpuOptions(props: { instance: Instance }) {
  const { instance } = props;
  const cpu = instance.CpuOptions ?? {};
  const vsm = vsmOf(instance);
  const items: Fact[] = [
    ['Core count', cpu.CoreCount],
    ['Threads per core', cpu.ThreadsPerCore],
    ['vCPUs', cpu.CoreCount !== undefined && cpu.ThreadsPerCore !== undefined ? cpu.CoreCount * cpu.ThreadsPerCore : undefined],
    [
      'Nested virtualization',
      <span data-testid="details-nested">
        <NestedBadge instance={instance} />
        {!cpu.NestedVirtualization && <span class="muted small"> not set (off)</span>}
      </span>,
    ],
  ];
  if (vsm) {
    items.push([
      'Virtual Secure Mode (VSM)',
      <span data-testid="details-vsm">
        <strong>{vsm === 'disabled' ? 'Off' : 'On'}</strong>
        <span class="block muted small">
          {vsm === 'disabled'
            ? 'Turned off because nested virtualization is enabled: Credential Guard is unavailable.'
            : 'Available (Credential Guard can be used).'}
        </span>
      </span>,
    ]);
  }
  return (
    <>
      <Facts items={items} />
      <p class="hint" data-testid="cpu-options-hint">
        {instance.State?.Name === 'terminated' || instance.State?.Name === 'shutting-down' ? (
          <>The instance is {instance.State.Name}: its CPU options can no longer be changed.</>
        ) : instance.State?.Name === 'stopped' ? (
          <>
            To change these, choose <strong>Actions → Instance settings → Change CPU options</strong>.
          </>
        ) : (
          <>
            To change these, stop the instance, then choose <strong>Actions → Instance settings → Change CPU options</strong>.
          </>
        )}
      </p>
    </>
  );
}

function Networking(props: { instance: Instance }) {
  const { instance } = props;
  const enis = instance.NetworkInterfaces ?? [];
  const primary = enis.find((n) => n.Attachment?.DeviceIndex === 0) ?? enis[0];
  const groups = instance.SecurityGroups ?? [];
  return (
    <>
      <Section title="Networking details" id="networking-title">
        <Facts
          items={[
            ['Public IPv4 address', mono(instance.PublicIpAddress), 'public-ip'],
            ['Public DNS', mono(instance.PublicDnsName), 'public-dns'],
            ['Private IPv4 address', mono(instance.PrivateIpAddress), 'private-ip'],
            ['Private DNS', mono(instance.PrivateDnsName), 'private-dns'],
            ['VPC ID', mono(instance.VpcId), 'vpc-id'],
            ['Subnet ID', mono(instance.SubnetId), 'subnet-id'],
            ['Availability Zone', instance.Placement?.AvailabilityZone, 'zone'],
            [
              'Security groups',
              groups.length > 0 ? (
                <ul class="plain-list">
                  {groups.map((g) => (
                    <li key={g.GroupId}>
                      <GroupLink id={g.GroupId ?? ''} name={g.GroupName} />
                    </li>
                  ))}
                </ul>
              ) : undefined,
              'security-groups',
            ],
            ['Primary network interface', mono(primary?.NetworkInterfaceId), 'eni-id'],
            ['MAC address', mono(primary?.MacAddress), 'mac'],
          ]}
        />
      </Section>
      <Section title="Network interfaces" id="enis-title">
        {enis.length === 0 ? (
          <p class="muted">No network interface (the instance is terminated, or its interfaces are not described yet).</p>
        ) : (
          <div class="table-wrap">
            <table class="table table-compact" aria-labelledby="enis-title" data-testid="network-interfaces">
              <thead>
                <tr>
                  <th>Interface ID</th>
                  <th class="num">Device index</th>
                  <th>MAC address</th>
                  <th>Private IPv4 address</th>
                  <th>Public IPv4 address</th>
                  <th>Subnet ID</th>
                  <th>Security groups</th>
                  <th>Status</th>
                  <th>Delete on termination</th>
                </tr>
              </thead>
              <tbody>
                {enis.map((n) => (
                  <tr key={n.NetworkInterfaceId}>
                    <td class="mono">{n.NetworkInterfaceId}</td>
                    <td class="num">{n.Attachment?.DeviceIndex ?? '–'}</td>
                    <td class="mono">{n.MacAddress ?? '–'}</td>
                    <td class="mono">{n.PrivateIpAddress ?? '–'}</td>
                    <td class="mono">{n.Association?.PublicIp ?? '–'}</td>
                    <td class="mono">{n.SubnetId ?? '–'}</td>
                    <td>
                      {(n.Groups ?? []).map((g, i) => (
                        <span key={g.GroupId}>
                          {i > 0 && ', '}
                          <GroupLink id={g.GroupId ?? ''} name={g.GroupName} />
                        </span>
                      ))}
                    </td>
                    <td>{n.Status ?? '–'}</td>
                    <td>{yesNo(n.Attachment?.DeleteOnTermination)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}

const yesNo = (v: boolean | undefined) => (v === undefined ? '–' : v ? 'Yes' : 'No');

/** The Security tab: the instance's groups, and their rules (DescribeSecurityGroupRules filtered by group-id). */
function Security(props: { instance: Instance }) {
  const api = useApi();
  const groups = props.instance.SecurityGroups ?? [];
  const ids = groups.map((g) => g.GroupId ?? '').filter((id) => id !== '');
  const rules = useResource(() => api.securityGroupRules(ids), [api, ids.join(' ')]);
  const names = new Map(groups.map((g) => [g.GroupId ?? '', g.GroupName ?? '']));
  const inbound = sortRules((rules.data ?? []).filter((r) => !r.IsEgress));
  const outbound = sortRules((rules.data ?? []).filter((r) => r.IsEgress));
  return (
    <>
      <Section title="Security details" id="security-title">
        <Facts
          items={[
            [
              'Security groups',
              groups.length > 0 ? (
                <ul class="plain-list">
                  {groups.map((g) => (
                    <li key={g.GroupId}>
                      <GroupLink id={g.GroupId ?? ''} name={g.GroupName} />
                    </li>
                  ))}
                </ul>
              ) : undefined,
              'instance-groups',
            ],
            ['Key pair', props.instance.KeyName],
          ]}
        />
        {rules.error && <ApiErrorAlert title="DescribeSecurityGroupRules failed" error={rules.error} />}
      </Section>
      {(['inbound', 'outbound'] as const).map((direction) => (
        <Section key={direction} title={direction === 'inbound' ? 'Inbound rules' : 'Outbound rules'} id={`instance-${direction}-title`}>
          {rules.data ? (
            <RulesTable
              rules={direction === 'inbound' ? inbound : outbound}
              egress={direction === 'outbound'}
              names={names}
              showGroup
              label={direction === 'inbound' ? 'Inbound rules' : 'Outbound rules'}
              testId={`instance-${direction}-rules`}
            />
          ) : (
            <p class="muted">{rules.loading ? 'Loading rules…' : ''}</p>
          )}
        </Section>
      ))}
    </>
  );
}

/** The Storage tab: the root device and every block device, with its volume from DescribeVolumes (attached and detached on the Volumes page). */
function Storage(props: { instance: Instance }) {
  const api = useApi();
  const { instance } = props;
  const id = instance.InstanceId ?? '';
  const volumes = useResource(() => api.volumesOf(id), [api, id]);
  const mappings = instance.BlockDeviceMappings ?? [];
  const byId = new Map((volumes.data ?? []).map((v) => [v.VolumeId ?? '', v]));
  // Every mapping, then any attached volume the mappings do not name.
  const rows = [
    ...mappings.map((m) => ({ device: m.DeviceName, volumeId: m.Ebs?.VolumeId, mapping: m, volume: byId.get(m.Ebs?.VolumeId ?? '') })),
    ...(volumes.data ?? [])
      .filter((v) => !mappings.some((m) => m.Ebs?.VolumeId === v.VolumeId))
      .map((v) => ({ device: v.Attachments?.find((a) => a.InstanceId === id)?.Device, volumeId: v.VolumeId, mapping: undefined, volume: v })),
  ];
  return (
    <>
      <Section title="Root device details" id="root-device-title">
        <Facts
          items={[
            ['Root device name', mono(instance.RootDeviceName), 'root-device'],
            ['Root device type', instance.RootDeviceType, 'root-device-type'],
          ]}
        />
      </Section>
      <Section title="Block devices" id="block-devices-title">
        {volumes.error && <ApiErrorAlert title="DescribeVolumes failed" error={volumes.error} />}
        {rows.length === 0 ? (
          <p class="muted">{volumes.loading ? 'Loading volumes…' : 'No block devices.'}</p>
        ) : (
          <div class="table-wrap">
            <table class="table table-compact" aria-labelledby="block-devices-title" data-testid="block-devices">
              <thead>
                <tr>
                  <th>Volume ID</th>
                  <th>Device name</th>
                  <th class="num">Volume size (GiB)</th>
                  <th>Volume type</th>
                  <th class="num">IOPS</th>
                  <th>Attachment status</th>
                  <th>Attachment time</th>
                  <th>Encrypted</th>
                  <th>Delete on termination</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const attachment = r.volume?.Attachments?.find((a) => a.InstanceId === id);
                  return (
                    <tr key={r.volumeId ?? r.device} data-volume-id={r.volumeId}>
                      <td>
                        {r.volumeId ? (
                          <a class="mono" href={href({ page: 'volumes', id: r.volumeId })}>
                            {r.volumeId}
                          </a>
                        ) : (
                          '–'
                        )}
                      </td>
                      <td class="mono">
                        {r.device}
                        {r.device === instance.RootDeviceName && <span class="pill">root</span>}
                      </td>
                      <td class="num" data-col="size">
                        {r.volume?.Size ?? (volumes.loading ? '…' : '–')}
                      </td>
                      <td data-col="type">{r.volume?.VolumeType ?? (volumes.loading ? '…' : '–')}</td>
                      <td class="num">{r.volume?.Iops ?? '–'}</td>
                      <td>{attachment?.State ?? r.mapping?.Ebs?.Status ?? '–'}</td>
                      <td>{when(attachment?.AttachTime ?? r.mapping?.Ebs?.AttachTime)}</td>
                      <td>{yesNo(r.volume?.Encrypted)}</td>
                      <td data-col="delete-on-termination">{yesNo(attachment?.DeleteOnTermination ?? r.mapping?.Ebs?.DeleteOnTermination)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <p class="hint">Volumes as DescribeVolumes gives them (filtered by attachment.instance-id).</p>
      </Section>
    </>
  );
}

function ConsoleOutput(props: { id: string; live: boolean }) {
  const api = useApi();
  const output = useResource(() => api.consoleOutput(props.id), [api, props.id, props.live], props.live ? CONSOLE_POLL_MS : undefined);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = pre.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [output.data]);
  return (
    <Section
      title="Console output"
      id="console-output-title"
      actions={
        <div class="toolbar">
          <span class="muted small">{props.live ? `refreshed every ${CONSOLE_POLL_MS / 1000} s` : 'instance not running'}</span>
          <button type="button" class="button button-small" onClick={output.reload}>
            Refresh
          </button>
        </div>
      }
    >
      {output.error && <ApiErrorAlert title="GetConsoleOutput failed" error={output.error} />}
      <pre class="console-output" ref={pre} tabIndex={0} aria-label="Serial console output" data-testid="console-output">
        {output.data || (output.loading ? 'Loading…' : 'No console output yet.')}
      </pre>
    </Section>
  );
}

export function InstanceDetails(props: { id: string }) {
  const api = useApi();
  const res = useResource(() => api.instance(props.id), [api, props.id], POLL_MS);
  const instance = res.data;
  const name = instance ? nameOf(instance) : '';
  const transition = instance ? stateTransition(instance) : {};
  const [connecting, setConnecting] = useState(false);
  const [tab, setTab] = useState<DetailsTabId>('details');
  useTitle(name ? `${name} (${props.id})` : props.id);

  return (
    <section class="page" aria-labelledby="details-title">
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <a href={href({ page: 'instances' })}>Instances</a> <span aria-hidden="true">›</span> <span>{props.id}</span>
      </nav>
      <div class="page-header">
        <h1 id="details-title">
          {name || props.id}
          {name && <span class="count mono"> {props.id}</span>}
        </h1>
        <div class="toolbar">
          {instance && <StateBadge state={instance.State?.Name} />}
          <button type="button" class="button" onClick={res.reload} aria-label="Refresh instance" title="Refresh">
            ↻
          </button>
          <button type="button" class="button" disabled={!instance} onClick={() => setConnecting(true)}>
            Connect
          </button>
          <InstanceActions instances={instance ? [instance] : []} onChanged={res.reload} />
        </div>
      </div>
      {connecting && instance && <ConnectDialog instance={instance} onClose={() => setConnecting(false)} />}
      {res.error && <ApiErrorAlert title={`Could not describe ${props.id}`} error={res.error} />}
      {!instance && !res.error && (
        <p class="muted">{res.loading ? 'Loading…' : `No instance ${props.id} in ${regionName(api.region)} (${api.region}).`}</p>
      )}
      {instance && (
        <div class="details-grid">
          <Section title="Instance summary" id="summary-title">
            <Facts
              items={[
                ['Instance ID', <span class="mono">{instance.InstanceId}</span>],
                ['Instance state', <span data-testid="details-state"><StateBadge state={instance.State?.Name} /></span>],
                ['State transition reason', transition.reason, 'state-reason'],
                ['State transition message', transition.message, 'state-message'],
                ['Instance type', <span class="mono">{instance.InstanceType}</span>],
                ['AMI ID', <span class="mono">{instance.ImageId}</span>],
                ['Platform', instance.PlatformDetails ?? (platformOf(instance) === 'windows' ? 'Windows' : 'Linux/UNIX')],
                ['Architecture', instance.Architecture],
                ['Launch time', when(instance.LaunchTime)],
                ['Availability Zone', instance.Placement?.AvailabilityZone],
                ['Key pair', instance.KeyName],
                ['Hibernation', instance.HibernationOptions?.Configured ? 'Configured' : 'Not configured'],
              ]}
            />
          </Section>
          <Tabs
            label="Instance details"
            selected={tab}
            onSelect={setTab}
            tabs={[
              { id: 'details', label: 'Details' },
              { id: 'security', label: 'Security' },
              { id: 'networking', label: 'Networking' },
              { id: 'storage', label: 'Storage' },
            ]}
          >
            {tab === 'details' && <DetailsTab instance={instance} />}
            {tab === 'security' && <div class="tab-stack"><Security instance={instance} /></div>}
            {tab === 'networking' && <div class="tab-stack"><Networking instance={instance} /></div>}
            {tab === 'storage' && <div class="tab-stack"><Storage instance={instance} /></div>}
          </Tabs>
          <ConsoleOutput id={props.id} live={LIVE_STATES.has(instance.State?.Name ?? '')} />
        </div>
      )}
    </section>
  );
}

function DetailsTab(props: { instance: Instance }) {
  const { instance } = props;
  return (
    <div class="details-pair">
          <Section title="CPU options" id="cpu-title">
            <CpuOptions instance={instance} />
          </Section>
          <Section title="Tags" id="tags-title">
            {(instance.Tags ?? []).length === 0 ? (
              <p class="muted">No tags.</p>
            ) : (
              <table class="table table-compact">
                <thead>
                  <tr>
                    <th>Key</th>
                    <th>Value</th>
                  </tr>
                </thead>
                <tbody>
                  {(instance.Tags ?? []).map((t) => (
                    <tr key={t.Key}>
                      <td>{t.Key}</td>
                      <td>{t.Value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
    </div>
  );
}
