/**
 * One instance: state and reason, networking (addresses, DNS names, VPC, subnet, security groups,
 * primary network interface), CPU options with nested virtualization (and VSM on Windows), tags, and
 * the serial console, all refreshed while the page is open; Connect shows how to log in with SSH.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
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
/** States in which the guest may still write to its console. */
const LIVE_STATES = new Set(['pending', 'running', 'stopping', 'shutting-down']);

/** label, value (absent: –), and optionally the value's `data-field` */
type Fact = readonly [string, ComponentChildren, string?];

const absent = (value: ComponentChildren) => value === undefined || value === null || value === '';

function Facts(props: { items: readonly Fact[] }) {
  return (
    <dl class="facts">
      {props.items.map(([label, value, field]) => (
        <div class="fact" key={label}>
          <dt>{label}</dt>
          <dd data-field={field}>{absent(value) ? <span class="muted">–</span> : value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A monospace value, or – when the API gave none (EC2 sends some as empty strings). */
const mono = (value: string | undefined) => (value ? <span class="mono">{value}</span> : undefined);

function Section(props: { title: string; id: string; children: ComponentChildren; actions?: ComponentChildren; wide?: boolean }) {
  return (
    <section class={props.wide ? 'card span-all' : 'card'} aria-labelledby={props.id}>
      <div class="card-header">
        <h2 id={props.id}>{props.title}</h2>
        {props.actions}
      </div>
      <div class="card-body">{props.children}</div>
    </section>
  );
}

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
    <Facts
      items={[
        ['Public IPv4 address', mono(instance.PublicIpAddress), 'public-ip'],
        ['Public DNS', mono(instance.PublicDnsName), 'public-dns'],
        ['Private IPv4 address', mono(instance.PrivateIpAddress), 'private-ip'],
        ['Private DNS', mono(instance.PrivateDnsName), 'private-dns'],
        ['VPC ID', mono(instance.VpcId), 'vpc-id'],
        ['Subnet ID', mono(instance.SubnetId), 'subnet-id'],
        [
          'Security groups',
          groups.length > 0 ? (
            <ul class="plain-list">
              {groups.map((g) => (
                <li key={g.GroupId}>
                  <span class="mono">{g.GroupId}</span>
                  {g.GroupName && <span class="muted"> ({g.GroupName})</span>}
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
          <Section title="Networking" id="networking-title" wide>
            <Networking instance={instance} />
          </Section>
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
          <ConsoleOutput id={props.id} live={LIVE_STATES.has(instance.State?.Name ?? '')} />
        </div>
      )}
    </section>
  );
}
