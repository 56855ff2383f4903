/**
 * Private networking between the qemu driver's VMs: instances of one VPC reach each other on their
 * private addresses, instances of different VPCs do not, and security groups are enforced on that
 * traffic (stateful, both directions, CIDRs and group references), with Linux's own machinery only.
 *
 * Layout (one VM host = one nestbox process with the qemu driver):
 *   - a network namespace `nestbox-<hostid>` that nestbox makes and owns; nothing of it is routed in
 *     the host's own namespace (no address, no route: the VPC ranges exist only inside it);
 *   - in it, one Linux bridge per VPC (no address on it: it switches, nothing routes);
 *   - per running VM one tap device on its VPC's bridge. QEMU must stay in the host's namespace (slirp's
 *     public forwards bind 127.x addresses there, and the metadata service is an abstract unix socket,
 *     which is per namespace), so the tap is made in the host namespace, opened by QEMU by name, and
 *     then moved into nestbox's namespace onto the bridge (a tap keeps its open file across the move).
 *     Until then it is down, without address: nothing crosses it.
 *   - The tap is the guest's second NIC (eth1, argv.ts). eth0 stays QEMU's user network (slirp, the
 *     instance's subnet: DHCP of the private address, the metadata service, the public address's
 *     forwards, as before). The guest's init (images/rc.sh, `nestbox.vpc=<VPC CIDR>` on the kernel
 *     command line) puts the private address on eth1 too and routes the subnet and the VPC there, the
 *     subnet's router, DNS and metadata addresses (base + 1, 2, 3) on eth0. (One NIC on a QEMU hub with
 *     both was tried: slirp sees every frame on the hub and answers TCP not meant for it with resets.)
 *   - nftables, inside the namespace:
 *       table bridge nestbox  per port: the frame's source MAC and IPv4 address must be the instance's
 *                             (no spoofing), ARP and IPv4 only, no DHCP, nothing to slirp's MACs
 *                             (52:55:…); a VPC's subnets share its bridge (the guests route the whole
 *                             VPC on-link: the VPC's implicit router).
 *       table inet nestbox    bridged IPv4 (br_netfilter, per namespace): conntrack zone per VPC bridge,
 *                             `ct state established,related accept`, then the sender's egress rules and
 *                             the receiver's ingress rules (the union of its groups'), default drop.
 *     Both are rendered from the store and loaded atomically (`nft -f`, delete + define in one
 *     transaction) whenever they differ from what is loaded: the VM host reads its instances' network
 *     from the store every NETWORK_POLL_MS (src/compute/vm-host.ts, src/compute/network.ts) and hands it
 *     to the driver, which hands it here (`apply`; the public forwards follow from the same read), so an
 *     Authorize/Revoke or a new member of a referenced group is in force within a second. Connections
 *     already tracked stay up after a revoke, as EC2's tracked connections do.
 *
 * Scope and limits: only instances on this VM host are reachable (another host's namespace is another
 * world); IPv4 only (IPv6 rules and prefix lists are ignored, as the guests have no IPv6).
 * Needs root, iproute2's `ip`, nftables' `nft`, /dev/net/tun and br_netfilter; `privateNetworkSupport()`
 * says what is missing.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import type { SecurityGroupRecord, SecurityGroupRuleRecord } from '../../domain/vpc.js';
import type { HostNetwork, VmSpec } from '../driver.js';
import { privateMac } from './argv.js';
import { which } from './exec.js';

const SLIRP_MAC_PREFIX = '52:55:00:00:00:00';

export type PrivateNetworkSupport = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Whether this process can build the private network: root, ip, nft, /dev/net/tun, br_netfilter. */
export function privateNetworkSupport(): PrivateNetworkSupport {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'nestbox does not run as root' };
  if (!which('ip')) return { ok: false, reason: 'iproute2 is not installed (`ip`; apt-get install iproute2)' };
  if (!which('nft')) return { ok: false, reason: 'nftables is not installed (`nft`; apt-get install nftables)' };
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return { ok: false, reason: 'there is no /dev/net/tun' };
  }
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    return { ok: false, reason: 'the kernel has no br_netfilter (modprobe br_netfilter)' };
  }
  return { ok: true };
}

/** One plugged VM as the rules see it. */
export interface NetworkPort {
  readonly instanceId: string;
  readonly tap: string;
  readonly vpcId: string;
  readonly subnetCidr: string;
  readonly privateIp: string;
  readonly mac: string;
  readonly groupIds: readonly string[];
}

export interface NetworkState {
  readonly ports: readonly NetworkPort[];
  /** every group a port is in or a rule references, by ID */
  readonly groups: ReadonlyMap<string, SecurityGroupRecord>;
}

const hash = (text: string, n: number) => createHash('sha256').update(text).digest('hex').slice(0, n);

/** The VPC's bridge inside the namespace (names are at most 15 bytes). */
export const bridgeName = (vpcId: string): string => `nbb${hash(vpcId, 12)}`;

/** nft's view of a rule's protocol and ports, or undefined for what IPv4 cannot carry (icmpv6). */
function protocolMatch(r: SecurityGroupRuleRecord): string | undefined {
  const p = r.protocol;
  if (p === '-1') return '';
  if (p === 'tcp' || p === 'udp') {
    if (r.fromPort <= 0 && r.toPort >= 65535) return `meta l4proto ${p}`;
    return r.fromPort === r.toPort ? `${p} dport ${r.fromPort}` : `${p} dport ${r.fromPort}-${r.toPort}`;
  }
  if (p === 'icmp') {
    const parts = ['meta l4proto icmp'];
    if (r.fromPort >= 0) parts.push(`icmp type ${r.fromPort}`);
    if (r.toPort >= 0) parts.push(`icmp code ${r.toPort}`);
    return parts.join(' ');
  }
  if (p === 'icmpv6') return undefined;
  if (/^\d+$/.test(p)) return `meta l4proto ${Number(p)}`;
  return undefined;
}

/**
 * The whole ruleset for these ports and groups (pure; test/qemu-network.test.ts checks its shape).
 * Applied with `nft -f`: the tables are made, emptied and defined in one transaction.
 */
export function renderRuleset(state: NetworkState): string {
  const ports = [...state.ports].sort((a, b) => a.tap.localeCompare(b.tap));
  const bridges = [...new Set(ports.map((p) => p.vpcId))].sort();
  const zone = new Map(bridges.map((v, i) => [v, i + 1]));
  // group → its members' addresses (on this host, in that group's VPC)
  const groupIndex = new Map<string, number>();
  const setOf = (groupId: string) => {
    let i = groupIndex.get(groupId);
    if (i === undefined) groupIndex.set(groupId, (i = groupIndex.size));
    return `g${i}`;
  };
  const out: string[] = [];
  // bridge family: anti-spoofing and the VPC router at layer 2
  out.push('table bridge nestbox {}', 'delete table bridge nestbox', 'table bridge nestbox {');
  out.push('  chain prerouting {', '    type filter hook prerouting priority -200; policy drop;');
  if (ports.length > 0) out.push(`    iifname vmap { ${ports.map((p, i) => `"${p.tap}" : jump port${i}`).join(', ')} }`);
  out.push('  }');
  ports.forEach((p, i) => {
    out.push(
      `  chain port${i} {`,
      `    ether saddr != ${p.mac} drop`,
      `    ether type arp arp saddr ether != ${p.mac} drop`,
      `    ether type arp arp saddr ip != ${p.privateIp} drop`,
      '    ether type arp accept',
      '    ether type != ip drop',
      `    ip saddr != ${p.privateIp} drop`,
      '    udp dport { 67, 68 } drop',
      `    ether daddr & ff:ff:00:00:00:00 == ${SLIRP_MAC_PREFIX} drop`,
      '    accept',
      '  }',
    );
  });
  out.push('}');

  // inet family (bridged IPv4 through br_netfilter): security groups
  const chains: string[] = [];
  const egressMap: string[] = [];
  const ingressMap: string[] = [];
  ports.forEach((p, i) => {
    const br = bridgeName(p.vpcId);
    const rules = p.groupIds.flatMap((g) => state.groups.get(g)?.rules ?? []);
    const lines = (egress: boolean) =>
      rules
        .filter((r) => r.egress === egress)
        .flatMap((r) => {
          const proto = protocolMatch(r);
          if (proto === undefined) return [];
          const dir = egress ? 'daddr' : 'saddr';
          let peer: string;
          if (r.cidrIpv4 !== undefined) peer = r.cidrIpv4 === '0.0.0.0/0' ? '' : `ip ${dir} ${r.cidrIpv4}`;
          else if (r.referencedGroupId !== undefined) peer = `ip ${dir} @${setOf(r.referencedGroupId)}`;
          else return [];
          const match = [peer, proto].filter((x) => x !== '').join(' ');
          return [`    ${match}${match ? ' ' : ''}${egress ? 'return' : 'accept'}`];
        });
    chains.push(`  chain egress${i} {`, ...lines(true), '    drop', '  }');
    chains.push(`  chain ingress${i} {`, ...lines(false), '    drop', '  }');
    egressMap.push(`"${br}" . ${p.privateIp} : jump egress${i}`);
    ingressMap.push(`"${br}" . ${p.privateIp} : jump ingress${i}`);
  });
  out.push('table inet nestbox {}', 'delete table inet nestbox', 'table inet nestbox {');
  for (const [groupId, i] of groupIndex) {
    const vpc = state.groups.get(groupId)?.vpcId;
    const members = ports.filter((p) => p.groupIds.includes(groupId) && (vpc === undefined || p.vpcId === vpc)).map((p) => p.privateIp);
    out.push(`  set g${i} {`, '    type ipv4_addr');
    if (members.length > 0) out.push(`    elements = { ${[...new Set(members)].join(', ')} }`);
    out.push('  }');
  }
  out.push('  chain raw {', '    type filter hook prerouting priority raw; policy accept;');
  if (bridges.length > 0) out.push(`    ct zone set iifname map { ${bridges.map((v) => `"${bridgeName(v)}" : ${zone.get(v)}`).join(', ')} }`);
  out.push('  }');
  out.push(
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    '    ct state established,related accept',
    '    ct state invalid drop',
  );
  if (ports.length > 0) {
    out.push(`    iifname . ip saddr vmap { ${egressMap.join(', ')} }`);
    out.push(`    oifname . ip daddr vmap { ${ingressMap.join(', ')} }`);
  }
  out.push('  }', ...chains, '}');
  return `${out.join('\n')}\n`;
}

/** Runs a command; resolves with stdout, rejects with stderr. `input` goes to its stdin. */
function exec(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${[cmd, ...args].join(' ')} failed (exit ${code}): ${Buffer.concat(err).toString('utf8').trim()}`));
    });
    if (input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // an early exit is reported by 'close'
      child.stdin.end(input);
    }
  });
}

/** The VM host's side: the namespace, its bridges and taps, and the rules, kept in line with the store. */
export interface PrivateNetwork {
  readonly namespace: string;
  /** the tap of an instance's VM (made by `prepare`, in the host's namespace until `plug`) */
  tapName(instanceId: string): string;
  /** Before QEMU starts: a fresh tap in the host's namespace, down and without address, for QEMU to open. */
  prepare(spec: VmSpec): Promise<string>;
  /** After QEMU opened the tap: moved into the namespace onto its VPC's bridge, and the rules renewed. */
  plug(spec: VmSpec): Promise<void>;
  /** An adopted VM (after a restart): its tap is still in the namespace; the rules include it again. */
  adopt(spec: VmSpec): Promise<boolean>;
  /** The VM is gone: its tap is deleted and the rules renewed. */
  unplug(instanceId: string): Promise<void>;
  /** Taps of instances not in `live` are deleted (after the VM host's recovery). */
  sweep(live: ReadonlySet<string>): Promise<void>;
  /** The network the store wants now (the VM host's pass): the rules are loaded when they changed. */
  apply(desired: HostNetwork): Promise<void>;
  /** Deletes the namespace when no VM's tap is left in it. */
  close(): Promise<void>;
}

export interface PrivateNetworkOptions {
  readonly hostId: string;
  readonly log: { info(line: string): void; warn(line: string): void };
}

/** The plugged VMs' ports as `desired` has their instances, with its groups; a VM it does not name has no port (nothing crosses its tap). */
export function networkStateOf(desired: HostNetwork, plugged: ReadonlyMap<string, string>): NetworkState {
  const ports = [...plugged].flatMap(([instanceId, tap]): NetworkPort[] => {
    const vm = desired.vms.get(instanceId);
    if (!vm) return [];
    const n = vm.network;
    return [{ instanceId, tap, vpcId: n.vpcId ?? '', subnetCidr: n.subnetCidr, privateIp: n.privateIp, mac: privateMac(n.mac), groupIds: vm.securityGroupIds }];
  });
  return { ports, groups: desired.groups };
}

export async function createPrivateNetwork(opts: PrivateNetworkOptions): Promise<PrivateNetwork> {
  const ns = `nestbox-${opts.hostId}`;
  const ip = (...args: string[]) => exec('ip', args);
  const inNs = (...args: string[]) => exec('ip', ['netns', 'exec', ns, ...args]);
  const tapName = (instanceId: string) => `nbt${hash(`${opts.hostId}/${instanceId}`, 12)}`;
  /** instance → tap, of the taps in the namespace (each on its VPC's bridge once a sync ran) */
  const plugged = new Map<string, string>();
  /** instance → VPC, of the plugged ones */
  const vpcOf = new Map<string, string>();
  /** bumped when taps are plugged or unplugged: a sync then checks the links too */
  let linkGen = 1;
  let linksDoneGen = 0;
  let applied = '';
  /** the network the last pass of the VM host read from the store */
  let desired: HostNetwork = { vms: new Map(), groups: new Map() };
  let closed = false;
  let syncing: Promise<void> | undefined;
  let again = false;

  const names = async (inside: boolean): Promise<string[]> => {
    const text = inside ? await ip('-n', ns, '-o', 'link', 'show') : await ip('-o', 'link', 'show');
    return text
      .split('\n')
      .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
  };

  const namespaces = (await ip('netns', 'list')).split('\n').map((l) => l.split(/\s/)[0]);
  if (!namespaces.includes(ns)) {
    await ip('netns', 'add', ns);
    opts.log.info(`private network: made the network namespace ${ns}`);
  }
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
  // bridged IPv4 through the inet table (per namespace), no IPv6 at all in the namespace
  // (/proc/sys/net is the namespace's own for a process in it; no sysctl binary needed)
  const b = '/proc/sys/net/bridge/bridge-nf-call';
  await inNs('sh', '-c', `echo 1 >${b}-iptables && echo 0 >${b}-ip6tables && echo 0 >${b}-arptables`);
  await inNs('sh', '-c', 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6').catch(() => undefined);
  // nothing passes until the first rules are loaded
  await exec('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], renderRuleset({ ports: [], groups: new Map() }));

  async function deleteLink(name: string): Promise<void> {
    await ip('-n', ns, 'link', 'del', name).catch(() => undefined);
    await ip('link', 'del', name).catch(() => undefined);
  }

  /**
   * The namespace's links as the plugged taps need them: a bridge per VPC in use (made, up), each tap on
   * its VPC's bridge and up, no bridge of a VPC without taps. Only syncs run it (one at a time).
   */
  async function reconcileLinks(): Promise<void> {
    const links = new Map<string, string | undefined>();
    for (const line of (await ip('-n', ns, '-o', 'link', 'show')).split('\n')) {
      const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
      if (name) links.set(name, / master (\S+)/.exec(line)?.[1]);
    }
    const wanted = new Set([...vpcOf.values()].map(bridgeName));
    for (const br of wanted) {
      if (!links.has(br)) await ip('-n', ns, 'link', 'add', br, 'type', 'bridge');
      await ip('-n', ns, 'link', 'set', br, 'up');
    }
    for (const [id, tap] of plugged) {
      const br = bridgeName(vpcOf.get(id) ?? '');
      if (links.has(tap) && links.get(tap) !== br) await ip('-n', ns, 'link', 'set', tap, 'master', br, 'up');
    }
    for (const name of links.keys()) if (name.startsWith('nbb') && !wanted.has(name)) await ip('-n', ns, 'link', 'del', name).catch(() => undefined);
  }

  async function syncOnce(): Promise<void> {
    if (closed) return;
    if (linksDoneGen !== linkGen) {
      const gen = linkGen;
      await reconcileLinks();
      linksDoneGen = gen;
    }
    const text = renderRuleset(networkStateOf(desired, plugged));
    if (text === applied || closed) return;
    await exec('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], text);
    applied = text;
  }

  /** One sync at a time; a request during one runs another right after. */
  function sync(): Promise<void> {
    if (syncing) {
      again = true;
      return syncing;
    }
    syncing = (async () => {
      try {
        do {
          again = false;
          await syncOnce();
        } while (again && !closed);
      } finally {
        syncing = undefined;
      }
    })();
    return syncing;
  }

  /** prepare/plug/adopt/unplug of one instance run one after the other (an exit's unplug before the next start's prepare) */
  const chains = new Map<string, Promise<unknown>>();
  function serial<T>(instanceId: string, fn: () => Promise<T>): Promise<T> {
    const next = (chains.get(instanceId) ?? Promise.resolve()).catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    chains.set(instanceId, tail);
    void tail.then(() => {
      if (chains.get(instanceId) === tail) chains.delete(instanceId);
    });
    return next;
  }

  return {
    namespace: ns,
    tapName,
    prepare: (spec) => serial(spec.instanceId, async () => {
      const tap = tapName(spec.instanceId);
      plugged.delete(spec.instanceId);
      vpcOf.delete(spec.instanceId);
      await deleteLink(tap);
      await ip('tuntap', 'add', 'name', tap, 'mode', 'tap');
      return tap;
    }),
    plug: (spec) => serial(spec.instanceId, async () => {
      const tap = tapName(spec.instanceId);
      await ip('link', 'set', tap, 'netns', ns);
      plugged.set(spec.instanceId, tap);
      vpcOf.set(spec.instanceId, spec.network.vpcId ?? '');
      linkGen++;
      await sync();
    }),
    adopt: (spec) => serial(spec.instanceId, async () => {
      const tap = tapName(spec.instanceId);
      if (!(await names(true)).includes(tap)) return false;
      plugged.set(spec.instanceId, tap);
      vpcOf.set(spec.instanceId, spec.network.vpcId ?? '');
      linkGen++;
      await sync();
      return true;
    }),
    unplug: (instanceId) => serial(instanceId, async () => {
      plugged.delete(instanceId);
      vpcOf.delete(instanceId);
      linkGen++;
      await deleteLink(tapName(instanceId));
      await sync();
    }),
    async sweep(live) {
      const keep = new Set([...live].map(tapName));
      for (const name of await names(true)) {
        if (name.startsWith('nbt') && !keep.has(name)) await ip('-n', ns, 'link', 'del', name).catch(() => undefined);
      }
      for (const id of [...plugged.keys()]) {
        if (!live.has(id)) {
          plugged.delete(id);
          vpcOf.delete(id);
        }
      }
      linkGen++;
      await sync();
    },
    apply(next) {
      desired = next;
      return sync();
    },
    async close() {
      closed = true;
      await syncing?.catch(() => undefined);
      // No VM left on it (they outlive nestbox, and their taps with them): the namespace goes too.
      const left = await names(true).catch(() => ['?nbt']);
      if (!left.some((n) => n.includes('nbt'))) await ip('netns', 'del', ns).catch(() => undefined);
    },
  };
}
