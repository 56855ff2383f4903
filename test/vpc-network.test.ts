/**
 * The private network's nftables ruleset (src/compute/qemu/vpc-network.ts renderRuleset), pure: what
 * each port lets through, group references as sets of members, and — as root with nft — that nft
 * accepts it (`nft -c`, in a throwaway namespace).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import type { HostNetwork } from '../src/compute/driver.js';
import { type NetworkState, bridgeName, networkStateOf, privateNetworkSupport, renderRuleset } from '../src/compute/qemu/vpc-network.js';
import type { SecurityGroupRecord, SecurityGroupRuleRecord } from '../src/domain/vpc.js';

const group = (id: string, vpcId: string, rules: Partial<SecurityGroupRuleRecord>[]): SecurityGroupRecord => ({
  id,
  vpcId,
  account: '000000000000',
  region: 'us-east-1',
  name: id,
  description: id,
  createTime: '2026-01-01T00:00:00.000Z',
  rules: rules.map((r, i) => ({ id: `sgr-${id}-${i}`, egress: false, protocol: '-1', fromPort: -1, toPort: -1, ...r })),
});

const state: NetworkState = {
  ports: [
    { instanceId: 'i-a', tap: 'nbta', vpcId: 'vpc-1', subnetCidr: '10.0.1.0/24', privateIp: '10.0.1.4', mac: '0a:00:00:00:00:0a', groupIds: ['sg-client'] },
    { instanceId: 'i-b', tap: 'nbtb', vpcId: 'vpc-1', subnetCidr: '10.0.2.0/24', privateIp: '10.0.2.4', mac: '0a:00:00:00:00:0b', groupIds: ['sg-server'] },
    { instanceId: 'i-x', tap: 'nbtx', vpcId: 'vpc-2', subnetCidr: '10.0.1.0/24', privateIp: '10.0.1.4', mac: '0a:00:00:00:00:0c', groupIds: [] },
  ],
  groups: new Map([
    ['sg-client', group('sg-client', 'vpc-1', [{ egress: true, cidrIpv4: '0.0.0.0/0' }])],
    [
      'sg-server',
      group('sg-server', 'vpc-1', [
        { protocol: 'tcp', fromPort: 7000, toPort: 7000, referencedGroupId: 'sg-client' },
        { protocol: 'icmp', fromPort: 8, toPort: -1, cidrIpv4: '10.0.0.0/16' },
        { protocol: 'tcp', fromPort: 22, toPort: 22, cidrIpv6: '::/0' },
      ]),
    ],
  ]),
};

test('renderRuleset: anti-spoofing per port, group references as member sets, CIDRs, default drop', () => {
  const text = renderRuleset(state);
  // each port: its own MAC and address only
  assert.match(text, /ether saddr != 0a:00:00:00:00:0a drop/);
  assert.match(text, /ip saddr != 10\.0\.2\.4 drop/);
  // the reference: a set holding the client's address
  assert.match(text, /set g0 \{\n\s+type ipv4_addr\n\s+elements = \{ 10\.0\.1\.4 \}/);
  assert.match(text, /ip saddr @g0 tcp dport 7000 accept/);
  assert.match(text, /ip saddr 10\.0\.0\.0\/16 meta l4proto icmp icmp type 8 accept/);
  assert.doesNotMatch(text, /::\/0/, 'IPv6 rules are left out');
  // the two VPCs' equal addresses are told apart by their bridges
  assert.ok(text.includes(`"${bridgeName('vpc-1')}" . 10.0.1.4 : jump`));
  assert.ok(text.includes(`"${bridgeName('vpc-2')}" . 10.0.1.4 : jump`));
  assert.match(text, /ct state established,related accept/);
  assert.match(text, /policy drop/);
  // a group-less port: nothing in, nothing out
  const x = /chain ingress2 \{\n([^}]*)\}/.exec(text)?.[1] ?? '';
  assert.equal(x.trim(), 'drop');
});

test("networkStateOf: the plugged VMs' ports as the VM host's pass has their instances; one it does not name has none", () => {
  const network = { eniId: 'eni-a', mac: '0e:00:00:00:00:0a', privateIp: '10.0.1.4', subnetCidr: '10.0.1.0/24', vpcId: 'vpc-1', privateDnsName: 'a', openTcpPorts: [] };
  const desired: HostNetwork = { vms: new Map([['i-a', { network, securityGroupIds: ['sg-client'] }]]), groups: state.groups };
  const got = networkStateOf(desired, new Map([['i-a', 'nbta'], ['i-gone', 'nbtg']]));
  assert.deepEqual(got.ports, [state.ports[0]], "the private NIC's MAC is the ENI's with 0a first");
  assert.equal(got.groups, state.groups);
});

test('renderRuleset: nft accepts it (as root with nft)', { skip: privateNetworkSupport().ok ? undefined : 'needs root with ip and nft' }, () => {
  const ns = `nestbox-test-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    for (const s of [state, { ports: [], groups: new Map() }]) {
      execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: renderRuleset(s) });
      execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: renderRuleset(s) }); // again: replaces itself
    }
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});
