/**
 * VPCs, read-mostly: each VPC (DescribeVpcs) with its subnets, route tables and internet gateways
 * (DescribeSubnets, DescribeRouteTables, DescribeInternetGateways), and Create VPC / Create subnet.
 */
import type { InternetGateway, RouteTable, Subnet, Vpc } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
import { FormDialog } from '../components/FormDialog.js';
import { useNotify } from '../components/Notifications.js';
import { useApi, useTitle } from '../context.js';
import { count, regionName, tagValue } from '../format.js';
import { useResource, useSubmit } from '../hooks.js';
import { nameTags } from '../tags.js';
import { vpcLabel } from './SecurityGroups.js';

interface Network {
  readonly vpcs: Vpc[];
  readonly subnets: Subnet[];
  readonly routeTables: RouteTable[];
  readonly gateways: InternetGateway[];
}

const nameOrDash = (tags: Vpc['Tags']) => tagValue(tags, 'Name') ?? <span class="muted">–</span>;

export function Vpcs() {
  const api = useApi();
  useTitle('VPCs');
  const network = useResource<Network>(async () => {
    const [vpcs, subnets, routeTables, gateways] = await Promise.all([api.vpcs(), api.subnets(), api.routeTables(), api.internetGateways()]);
    return { vpcs, subnets, routeTables, gateways };
  }, [api]);
  const [dialog, setDialog] = useState<'vpc' | 'subnet'>();
  const data = network.data;
  const vpcs = [...(data?.vpcs ?? [])].sort((a, b) => Number(b.IsDefault ?? false) - Number(a.IsDefault ?? false));

  return (
    <section class="page" aria-labelledby="vpcs-title">
      <div class="page-header">
        <h1 id="vpcs-title">
          VPCs <span class="count">({data ? count(vpcs.length) : '…'})</span>
        </h1>
        <div class="toolbar">
          <button type="button" class="button" onClick={network.reload} disabled={network.loading} aria-label="Refresh VPCs" title="Refresh">
            ↻
          </button>
          <button type="button" class="button" disabled={!data} onClick={() => setDialog('subnet')}>
            Create subnet
          </button>
          <button type="button" class="button button-primary" onClick={() => setDialog('vpc')}>
            Create VPC
          </button>
        </div>
      </div>
      {network.error && <ApiErrorAlert title="Could not describe the Region’s network" error={network.error} />}
      {!data && !network.error && <p class="muted">Loading…</p>}
      {data && vpcs.length === 0 && (
        <p class="muted">
          No VPCs in {regionName(api.region)} ({api.region}).
        </p>
      )}
      {data &&
        vpcs.map((vpc) => {
          const id = vpc.VpcId ?? '';
          const subnets = data.subnets.filter((s) => s.VpcId === id).sort((a, b) => (a.AvailabilityZone ?? '').localeCompare(b.AvailabilityZone ?? ''));
          const tables = data.routeTables.filter((t) => t.VpcId === id);
          const gateways = data.gateways.filter((g) => g.Attachments?.some((a) => a.VpcId === id));
          const titleId = `vpc-${id}-title`;
          return (
            <section class="card" aria-labelledby={titleId} key={id} data-vpc-id={id}>
              <div class="card-header">
                <h2 id={titleId}>
                  <span class="mono">{id}</span> {tagValue(vpc.Tags, 'Name') && <span>{tagValue(vpc.Tags, 'Name')}</span>}
                  {vpc.IsDefault && <span class="pill pill-yes">default</span>}
                </h2>
                <span class="muted small">
                  {vpc.CidrBlock} · {vpc.State} · tenancy {vpc.InstanceTenancy}
                </span>
              </div>
              <div class="card-body vpc-body">
                <h3 class="subheading">Subnets ({subnets.length})</h3>
                {subnets.length === 0 ? (
                  <p class="muted">No subnets.</p>
                ) : (
                  <div class="table-wrap">
                    <table class="table table-compact" aria-label={`Subnets of ${id}`}>
                      <thead>
                        <tr>
                          <th>Name</th>
                          <th>Subnet ID</th>
                          <th>IPv4 CIDR</th>
                          <th>Availability Zone</th>
                          <th class="num">Available IPv4 addresses</th>
                          <th>Default for AZ</th>
                          <th>Auto-assign public IPv4</th>
                          <th>Route table</th>
                        </tr>
                      </thead>
                      <tbody>
                        {subnets.map((s) => {
                          const table =
                            tables.find((t) => t.Associations?.some((a) => a.SubnetId === s.SubnetId)) ??
                            tables.find((t) => t.Associations?.some((a) => a.Main));
                          return (
                            <tr key={s.SubnetId} data-subnet-id={s.SubnetId}>
                              <td>{nameOrDash(s.Tags)}</td>
                              <td class="mono">{s.SubnetId}</td>
                              <td class="mono">{s.CidrBlock}</td>
                              <td>
                                {s.AvailabilityZone}
                                {s.AvailabilityZoneId && <span class="muted"> ({s.AvailabilityZoneId})</span>}
                              </td>
                              <td class="num">{s.AvailableIpAddressCount}</td>
                              <td>{s.DefaultForAz ? 'Yes' : 'No'}</td>
                              <td>{s.MapPublicIpOnLaunch ? 'Yes' : 'No'}</td>
                              <td class="mono">{table?.RouteTableId ?? '–'}</td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  </div>
                )}
                <h3 class="subheading">Route tables ({tables.length})</h3>
                {tables.length === 0 ? (
                  <p class="muted">No route tables.</p>
                ) : (
                  <div class="table-wrap">
                    <table class="table table-compact" aria-label={`Route tables of ${id}`}>
                      <thead>
                        <tr>
                          <th>Route table ID</th>
                          <th>Main</th>
                          <th>Explicit subnet associations</th>
                          <th>Routes (destination → target, state)</th>
                        </tr>
                      </thead>
                      <tbody>
                        {tables.map((t) => {
                          const explicit = (t.Associations ?? []).filter((a) => a.SubnetId).map((a) => a.SubnetId);
                          return (
                            <tr key={t.RouteTableId}>
                              <td class="mono">{t.RouteTableId}</td>
                              <td>{t.Associations?.some((a) => a.Main) ? 'Yes' : 'No'}</td>
                              <td class="mono">{explicit.length > 0 ? explicit.join(', ') : '–'}</td>
                              <td>
                                <ul class="plain-list">
                                  {(t.Routes ?? []).map((r) => (
                                    <li key={r.DestinationCidrBlock}>
                                      <span class="mono">{r.DestinationCidrBlock}</span> → <span class="mono">{r.GatewayId ?? r.InstanceId ?? '–'}</span>
                                      {r.State === 'blackhole' ? <strong> blackhole</strong> : <span class="muted"> {r.State}</span>}
                                    </li>
                                  ))}
                                </ul>
                              </td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  </div>
                )}
                <h3 class="subheading">Internet gateways ({gateways.length})</h3>
                {gateways.length === 0 ? (
                  <p class="muted">No internet gateway attached.</p>
                ) : (
                  <ul class="plain-list">
                    {gateways.map((g) => (
                      <li key={g.InternetGatewayId}>
                        <span class="mono">{g.InternetGatewayId}</span> {tagValue(g.Tags, 'Name') ?? ''}{' '}
                        <span class="muted">({g.Attachments?.find((a) => a.VpcId === id)?.State})</span>
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            </section>
          );
        })}
      {data && data.gateways.some((g) => (g.Attachments ?? []).length === 0) && (
        <section class="card" aria-labelledby="detached-igw-title">
          <div class="card-header">
            <h2 id="detached-igw-title">Detached internet gateways</h2>
          </div>
          <div class="card-body">
            <ul class="plain-list">
              {data.gateways
                .filter((g) => (g.Attachments ?? []).length === 0)
                .map((g) => (
                  <li key={g.InternetGatewayId} class="mono">
                    {g.InternetGatewayId}
                  </li>
                ))}
            </ul>
          </div>
        </section>
      )}
      {dialog === 'vpc' && <CreateVpc onClose={() => setDialog(undefined)} onCreated={network.reload} />}
      {dialog === 'subnet' && data && <CreateSubnet vpcs={vpcs} onClose={() => setDialog(undefined)} onCreated={network.reload} />}
    </section>
  );
}

function CreateVpc(props: { onClose: () => void; onCreated: () => void }) {
  const api = useApi();
  const notify = useNotify();
  const [cidr, setCidr] = useState('10.0.0.0/16');
  const [name, setName] = useState('');
  const state = useSubmit();
  return (
    <FormDialog
      title="Create VPC"
      onClose={props.onClose}
      onSubmit={() =>
        state.submit(async () => {
          const id = await api.createVpc(cidr.trim(), nameTags(name));
          notify.success(
            <>
              VPC <code>{id}</code> created, with its default security group and main route table.
            </>,
          );
          props.onCreated();
          props.onClose();
        })
      }
      ready={cidr.trim() !== ''}
      state={state}
      errorTitle="CreateVpc failed"
      submitLabel="Create VPC"
      busyLabel="Creating…"
    >
      <div class="field">
        <label for="vpc-name">Name tag - optional</label>
        <input id="vpc-name" value={name} onInput={(e) => setName(e.currentTarget.value)} autoComplete="off" />
      </div>
      <div class="field">
        <label for="vpc-cidr">IPv4 CIDR block</label>
        <input id="vpc-cidr" class="mono" value={cidr} onInput={(e) => setCidr(e.currentTarget.value)} />
        <p class="field-note">A block from /16 to /28, e.g. 10.0.0.0/16.</p>
      </div>
    </FormDialog>
  );
}

function CreateSubnet(props: { vpcs: readonly Vpc[]; onClose: () => void; onCreated: () => void }) {
  const api = useApi();
  const notify = useNotify();
  const zones = useResource(() => api.availabilityZones(), [api]);
  const [vpcId, setVpcId] = useState(props.vpcs.find((v) => !v.IsDefault)?.VpcId ?? props.vpcs[0]?.VpcId ?? '');
  const [cidr, setCidr] = useState('');
  const [zone, setZone] = useState('');
  const [name, setName] = useState('');
  const state = useSubmit();
  const vpc = props.vpcs.find((v) => v.VpcId === vpcId);
  return (
    <FormDialog
      title="Create subnet"
      onClose={props.onClose}
      onSubmit={() =>
        state.submit(async () => {
          const id = await api.createSubnet(vpcId, cidr.trim(), zone || undefined, nameTags(name));
          notify.success(
            <>
              Subnet <code>{id}</code> created in <code>{vpcId}</code>.
            </>,
          );
          props.onCreated();
          props.onClose();
        })
      }
      ready={vpcId !== '' && cidr.trim() !== ''}
      state={state}
      errorTitle="CreateSubnet failed"
      submitLabel="Create subnet"
      busyLabel="Creating…"
    >
      <div class="field">
        <label for="subnet-vpc">VPC</label>
        <select id="subnet-vpc" value={vpcId} onChange={(e) => setVpcId(e.currentTarget.value)}>
          {props.vpcs.map((v) => (
            <option key={v.VpcId} value={v.VpcId}>
              {vpcLabel(v)}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="subnet-name">Name tag - optional</label>
        <input id="subnet-name" value={name} onInput={(e) => setName(e.currentTarget.value)} autoComplete="off" />
      </div>
      <div class="field">
        <label for="subnet-zone">Availability Zone</label>
        <select id="subnet-zone" value={zone} onChange={(e) => setZone(e.currentTarget.value)}>
          <option value="">No preference</option>
          {(zones.data ?? []).map((z) => (
            <option key={z.ZoneName} value={z.ZoneName}>
              {z.ZoneName} ({z.ZoneId})
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="subnet-cidr">IPv4 subnet CIDR block</label>
        <input id="subnet-cidr" class="mono" value={cidr} placeholder={vpc?.CidrBlock} onInput={(e) => setCidr(e.currentTarget.value)} />
        <p class="field-note">A block inside the VPC’s {vpc?.CidrBlock ?? ''} that overlaps none of its subnets.</p>
      </div>
    </FormDialog>
  );
}
