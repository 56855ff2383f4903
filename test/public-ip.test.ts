/**
 * Instances you can use: every instance's primary network interface (EC2's full shape, derived from
 * the instance), its public IPv4 address (a loopback address of this host, assigned on `pending`,
 * released on `stopped`/`terminated`, a new one at every start), the DescribeInstances filters over
 * both, and what the driver is given (VmSpec network, root volume, image variant), the
 * `nestbox:ssh-port` tag and DeleteVolume reaching the driver. Through the real AWS SDK and boto3 where
 * the API is concerned; below it for the allocator and the VM host.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type IpPermission,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { DesiredVmNetwork, HostNetwork, VmDriver, VmEvent } from '../src/compute/driver.js';
import { hostNetworkOf, openTcpPortsOf, securityGroupsIn } from '../src/compute/network.js';
import { createRoutingDriver } from '../src/compute/routing.js';
import { createSimulatedDriver } from '../src/compute/simulated.js';
import { vmSpecOf } from '../src/compute/spec.js';
import { SSH_PORT_TAG } from '../src/compute/vm-host.js';
import { IMAGES, findImage } from '../src/domain/images.js';
import { applyTrigger } from '../src/domain/instance-state.js';
import { loadCatalog } from '../src/domain/instance-types.js';
import { privateIpFor } from '../src/domain/instance.js';
import { MAX_FORWARDED_TCP_PORTS, WELL_KNOWN_TCP_PORTS, defaultNetworkOf, openTcpPorts, macAddress } from '../src/domain/network.js';
import { PublicIpAllocator, inPublicIpPool, publicDnsName, publicIpPositionsFor, withPublicIp } from '../src/domain/public-ip.js';
import { type SecurityGroupRecord, type SecurityGroupRuleRecord, defaultVpcGroupRecord } from '../src/domain/vpc.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';
import { awsCli } from './aws-cli.js';
import { specFor } from './driver-contract.js';
import { idleDriver, instanceRecord, testVmHost } from './fixtures.js';
import { LINUX_AMI, type TestServer, describeOne, eventually, launch, launchOne, startTestServer } from './helpers.js';

const ACCOUNT = '000000000000';
const CLOUD_INIT_AMI = 'ami-0b5e4a1f2c3d40004';
const f = (Name: string, ...Values: string[]): Filter => ({ Name, Values });

/** A loopback address of the pool (127.64.0.0/10) that a DHCP-style last octet allows. */
function assertPoolAddress(ip: string | undefined): asserts ip is string {
  assert.ok(ip, 'no public IP');
  assert.match(ip, /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/);
  assert.ok(inPublicIpPool(ip), `${ip} is outside 127.64.0.0/10`);
  const last = Number(ip.split('.')[3]);
  assert.ok(last !== 0 && last !== 255, `${ip} ends in .0 or .255`);
}

// --- the allocator, below the API ---------------------------------------------------------------------

describe('PublicIpAllocator', () => {
  /** Every address a source hands out until it refuses: the reserved positions are used up. */
  const drain = (source: { next(): string }): string[] => {
    const out: string[] = [];
    for (;;) {
      try {
        out.push(source.next());
      } catch (err) {
        assert.match((err as Error).message, /more than the \d+ reserved public IPv4 positions/);
        return out;
      }
    }
  };
  /** The ring positions (in the first 256) whose address would end in .0 or .255: none is ever handed out. */
  const unusable = (alloc: PublicIpAllocator) => Array.from({ length: 256 }, (_, p) => p).filter((p) => drain(alloc.sourceAt(p, 1)).length === 0);
  /** The position of a .255 (the .0 follows it). */
  const skippedPair = (alloc: PublicIpAllocator): number => {
    const [a, b] = unusable(alloc) as [number, number];
    return b === a + 1 ? a : b;
  };

  test('hands out pool addresses from consecutive ring positions, never .0/.255, never one twice', () => {
    const alloc = new PublicIpAllocator('/data/a');
    const first = alloc.sourceAt(0, publicIpPositionsFor(1)).next();
    assertPoolAddress(first);
    // the next positions (the store's sequence moves on) give another address
    const second = alloc.sourceAt(publicIpPositionsFor(1), publicIpPositionsFor(1)).next();
    assertPoolAddress(second);
    assert.notEqual(second, first);
    // a run of 1,000 (it crosses several /24s): all distinct, none ending in .0 or .255
    const many = drain(alloc.sourceAt(100, 1000));
    assert.ok(many.length >= 1000 - 2 * Math.ceil(1000 / 256), `${many.length} addresses from 1,000 positions`);
    assert.equal(new Set(many).size, many.length);
    many.forEach(assertPoolAddress);
    // exactly two positions of every 256, next to each other (.255 and the next .0), are skipped
    const skipped = unusable(alloc);
    assert.equal(skipped.length, 2);
    assert.ok(skipped[1] === skipped[0]! + 1 || (skipped[0] === 0 && skipped[1] === 255), String(skipped));
  });

  test('the seed decides where the ring starts: the same data dir gives the same start, another one elsewhere', () => {
    const at = (seed: string, position: number) => new PublicIpAllocator(seed).sourceAt(position, publicIpPositionsFor(1)).next();
    assert.equal(at('/srv/one', 0), at('/srv/one', 0));
    assert.notEqual(at('/srv/one', 0), at('/srv/two', 0));
    // positions, not the allocator, say where it is: after a restart (a new allocator) the sequence's next
    // position gives the address the old allocator would have given next
    const before = drain(new PublicIpAllocator('/srv/r').sourceAt(0, 20));
    const after = drain(new PublicIpAllocator('/srv/r').sourceAt(20, 20));
    assert.deepEqual([...before, ...after], drain(new PublicIpAllocator('/srv/r').sourceAt(0, 40)));
    assert.equal(new Set([...before, ...after]).size, before.length + after.length);
  });

  test('never hands out more than the positions reserved; publicIpPositionsFor(n) reserves enough for n wherever they start', () => {
    const alloc = new PublicIpAllocator('/srv/n');
    const bad = skippedPair(alloc);
    // .255 and .0 take two of three positions: one address, then it refuses
    assert.equal(drain(alloc.sourceAt(bad, 3)).length, 1);
    assert.throws(() => alloc.sourceAt(bad, 2).next(), /more than the 2 reserved public IPv4 positions/);
    assert.equal(drain(alloc.sourceAt(bad + 2, 3)).length, 3);
    for (const n of [1, 2, 253, 254, 255, 508, 1000]) {
      // every start modulo 256, the skipped pair included at the start, middle and end of the run
      for (let first = 0; first < 256; first++) {
        const source = alloc.sourceAt(first, publicIpPositionsFor(n));
        const got = Array.from({ length: n }, () => source.next());
        assert.equal(new Set(got).size, n);
      }
    }
  });

  test('withPublicIp: pending gets one when wanted, stopped and terminated release it, others keep it', () => {
    const source = new PublicIpAllocator('/srv/w').sourceAt(0, publicIpPositionsFor(10));
    const pending = withPublicIp(instanceRecord({ state: 'pending' }), source);
    assertPoolAddress(pending.publicIp);
    assert.equal(withPublicIp(pending, source), pending, 'a pending record that has one keeps it');
    assert.equal(withPublicIp({ ...pending, state: 'running' }, undefined).publicIp, pending.publicIp);
    for (const state of ['stopped', 'terminated'] as const) {
      const released = withPublicIp({ ...pending, state }, undefined);
      assert.equal(released.publicIp, undefined);
      assert.ok(!('publicIp' in released), 'the field is removed');
    }
    assert.equal(withPublicIp(instanceRecord({ state: 'pending', associatePublicIp: false }), source).publicIp, undefined);
    assert.throws(() => withPublicIp(instanceRecord({ state: 'pending' }), undefined), /public IPv4/);
    // applyTrigger is where it happens: a start from stopped gets a new one, a halt releases it
    const stopped = instanceRecord({ state: 'stopped' });
    const started = applyTrigger(stopped, 'start', new Date(), {}, source)!;
    assertPoolAddress(started.publicIp);
    assert.notEqual(started.publicIp, pending.publicIp);
    const halted = applyTrigger({ ...started, state: 'stopping' }, 'halted', new Date())!;
    assert.equal(halted.state, 'stopped');
    assert.ok(!('publicIp' in halted), 'released');
  });

  test('publicDnsName: EC2\'s format, compute-1 in us-east-1', () => {
    assert.equal(publicDnsName('127.64.0.5', 'us-east-1'), 'ec2-127-64-0-5.compute-1.amazonaws.com');
    assert.equal(publicDnsName('127.100.7.9', 'eu-west-1'), 'ec2-127-100-7-9.eu-west-1.compute.amazonaws.com');
  });
});

describe('openTcpPorts', () => {
  const world = (rule: Partial<IpPermission>): IpPermission => ({ IpRanges: [{ CidrIp: '0.0.0.0/0' }], ...rule });
  test('TCP rules open to the world, and only those', () => {
    assert.deepEqual(openTcpPorts([world({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22 })]), [22]);
    assert.deepEqual(openTcpPorts([world({ IpProtocol: '6', FromPort: 30, ToPort: 33 }), world({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22 })]), [22, 30, 31, 32, 33]);
    assert.deepEqual(openTcpPorts([world({ IpProtocol: 'udp', FromPort: 53, ToPort: 53 })]), []);
    assert.deepEqual(openTcpPorts([{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }]), []);
    assert.deepEqual(openTcpPorts([{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: 'sg-1' }], IpRanges: [] }]), []);
  });
  test('all traffic or a wide range: only the well-known ports in it, and never more than the cap', () => {
    assert.deepEqual(openTcpPorts([world({ IpProtocol: '-1' })]), [...WELL_KNOWN_TCP_PORTS].sort((a, b) => a - b));
    assert.deepEqual(openTcpPorts([world({ IpProtocol: 'tcp', FromPort: 8000, ToPort: 8100 })]), [8000, 8080]);
    assert.deepEqual(openTcpPorts([world({ IpProtocol: 'tcp', FromPort: 0, ToPort: 65535 })]), [...WELL_KNOWN_TCP_PORTS].sort((a, b) => a - b));
    const narrow = Array.from({ length: 5 }, (_, k) => world({ IpProtocol: 'tcp', FromPort: 1000 + 10 * k, ToPort: 1000 + 10 * k + 9 }));
    const ports = openTcpPorts(narrow);
    assert.equal(ports.length, MAX_FORWARDED_TCP_PORTS);
    assert.deepEqual(ports.slice(0, 3), [1000, 1001, 1002]);
  });
});

// --- the network the store wants for a VM, at its start and while it runs (src/compute/network.ts) -----

describe('the network a VM gets: its public address and the ports its current security groups open', () => {
  const scope = { account: ACCOUNT, region: 'us-east-1' };
  const net = defaultNetworkOf(scope);
  const rule = (id: string, r: Partial<SecurityGroupRuleRecord>): SecurityGroupRuleRecord => ({ id, egress: false, protocol: 'tcp', fromPort: -1, toPort: -1, ...r });
  const WEB = 'sg-0aaaaaaaaaaaaaaa1';
  const web = (rules: SecurityGroupRuleRecord[]): SecurityGroupRecord => ({
    ...scope,
    id: WEB,
    vpcId: net.vpcId,
    name: 'web',
    description: 'web',
    rules,
    createTime: new Date(0).toISOString(),
  });
  const webRules = [
    rule('sgr-1', { fromPort: 8080, toPort: 8080, cidrIpv4: '0.0.0.0/0' }),
    rule('sgr-2', { fromPort: 9000, toPort: 9000, cidrIpv4: '10.0.0.0/8' }),
    rule('sgr-3', { protocol: '-1', referencedGroupId: WEB, referencedUserId: ACCOUNT }),
    rule('sgr-4', { egress: true, fromPort: 443, toPort: 443, cidrIpv4: '0.0.0.0/0' }),
  ];
  const inWeb = { securityGroups: [{ id: WEB, name: 'web' }] };

  test('openTcpPortsOf: the ingress rules open to 0.0.0.0/0 of the groups given, by the openTcpPorts policy', () => {
    const groups = new Map([
      [net.securityGroupId, defaultVpcGroupRecord(net)],
      [WEB, web(webRules)],
    ]);
    assert.deepEqual(openTcpPortsOf([net.securityGroupId], groups), [22], 'the default group: SSH');
    assert.deepEqual(openTcpPortsOf([WEB], groups), [8080], 'not a narrower source, a group reference or an egress rule');
    assert.deepEqual(openTcpPortsOf([WEB, net.securityGroupId], groups), [22, 8080], 'the union of its groups');
    assert.deepEqual(openTcpPortsOf(['sg-0bbbbbbbbbbbbbbb2'], groups), [], 'a group it does not know opens nothing');
    const wide = new Map([[WEB, web([rule('sgr-5', { protocol: '-1', cidrIpv4: '0.0.0.0/0' })])]]);
    assert.deepEqual(openTcpPortsOf([WEB], wide), [...WELL_KNOWN_TCP_PORTS].sort((a, b) => a - b), 'all traffic: the well-known ports');
  });

  test('hostNetworkOf: user groups and a stored default group as the store has them now; the start spec is the same computation', async () => {
    const store = new SqliteStore({ dataDir: ':memory:' });
    const a = instanceRecord({ id: 'i-0000000000000000a', publicIp: '127.64.9.9' });
    const b = instanceRecord({ id: 'i-0000000000000000b', seq: 2, privateIpAddress: '172.31.0.5', ...inWeb });
    await store.commit({ putResources: [{ kind: 'security-group', doc: web(webRules) }] });
    let desired = await hostNetworkOf(store, [a, b]);
    assert.deepEqual(desired.vms.get(a.id)?.network.openTcpPorts, [22]);
    assert.equal(desired.vms.get(a.id)?.network.publicIp, '127.64.9.9');
    assert.deepEqual(desired.vms.get(a.id)?.securityGroupIds, [net.securityGroupId]);
    assert.deepEqual(desired.vms.get(b.id)?.network.openTcpPorts, [8080]);
    assert.deepEqual(desired.vms.get(b.id)?.securityGroupIds, [WEB]);
    assert.equal(desired.vms.get(b.id)?.network.publicIp, undefined);
    // what a VM starts with is what a pass wants for it
    const catalog = loadCatalog();
    for (const rec of [a, b]) assert.deepEqual(vmSpecOf(rec, catalog, [], await securityGroupsIn(store, [rec])).network, desired.vms.get(rec.id)?.network);

    // RevokeSecurityGroupIngress of the default group's SSH rule stores the group under its derived ID
    const derived = defaultVpcGroupRecord(net);
    const revoked = { ...derived, rules: derived.rules.filter((r) => !(r.protocol === 'tcp' && r.fromPort === 22)) };
    await store.commit({ putResources: [{ kind: 'security-group', doc: revoked }] });
    desired = await hostNetworkOf(store, [a, b]);
    assert.deepEqual(desired.vms.get(a.id)?.network.openTcpPorts, [], 'the stored default group wins over the derived one');
    assert.equal(desired.groups.get(net.securityGroupId)?.rules.length, revoked.rules.length);
    await store.close();
  });

  test('the VM host hands its driver the network of its instances on every pass, as the store changes it', async () => {
    const store = new SqliteStore({ dataDir: ':memory:' });
    const passes: HostNetwork[] = [];
    const host = testVmHost(store, { driver: () => ({ ...idleDriver(), applyNetwork: async (d) => void passes.push(d) }) });
    const mine = instanceRecord({ id: 'i-0000000000000000c', state: 'running', vmHost: 'nbh-test', publicIp: '127.64.9.10', ...inWeb });
    const stopped = instanceRecord({ id: 'i-0000000000000000d', seq: 2, state: 'stopped', vmHost: 'nbh-test' });
    const elsewhere = instanceRecord({ id: 'i-0000000000000000e', seq: 3, state: 'running', vmHost: 'nbh-other' });
    await store.commit({ instances: [mine, stopped, elsewhere], putResources: [{ kind: 'security-group', doc: web(webRules) }] });
    await host.start();
    try {
      const seen = (ok: (vm: DesiredVmNetwork) => boolean, what: string) =>
        eventually(async () => {
          const last = passes.at(-1)?.vms.get(mine.id);
          return last && ok(last) ? passes.at(-1) : undefined;
        }, 5000, what);
      const first = await seen((v) => v.network.openTcpPorts.join() === '8080', 'a pass with 8080 open');
      assert.deepEqual([...first.vms.keys()], [mine.id], 'only this host’s instances that have a VM');
      // AuthorizeSecurityGroupIngress: TCP 7000 from anywhere
      const stored = (await store.resource('security-group', WEB))!;
      const authorized = { ...stored, rules: [...webRules, rule('sgr-6', { fromPort: 7000, toPort: 7000, cidrIpv4: '0.0.0.0/0' })] };
      await store.commit({ putResources: [{ kind: 'security-group', doc: authorized }] });
      await seen((v) => v.network.openTcpPorts.join() === '7000,8080', 'a pass with 7000 open too');
      // AssociateAddress: the record's public address is the Elastic IP
      await store.commit({ instances: [{ ...(await store.instance(mine.id))!, publicIp: '127.64.9.11' }] });
      await seen((v) => v.network.publicIp === '127.64.9.11', 'a pass with the new address');
    } finally {
      await host.close();
      await store.close();
    }
  });
});

test('private addresses are DHCP-assignable in their subnet: never the network, router, DNS, reserved or broadcast address', () => {
  for (let zone = 0; zone < 6; zone++) {
    const base = 16 * zone;
    for (let seq = 0; seq < 4000; seq++) {
      const [a, b, c, d] = privateIpFor(seq, zone).split('.').map(Number) as [number, number, number, number];
      assert.deepEqual([a, b], [172, 31]);
      assert.ok(c >= base && c < base + 16, `${seq}: third octet ${c} outside 172.31.${base}.0/20`);
      const offset = (c - base) * 256 + d;
      assert.ok(offset > 3 && offset < 4095, `${seq}: ${a}.${b}.${c}.${d} is a reserved address of the subnet`);
    }
  }
});

// --- the driver's view: VmSpec, the ssh-port tag, DeleteVolume ------------------------------------------

/** A driver that records what reached it, on top of a simulated one. */
function recordingDriver(sink: (id: string, e: VmEvent) => void) {
  const calls: string[] = [];
  const inner = createSimulatedDriver(sink, { delayMs: 1 });
  const driver: VmDriver = {
    ...inner,
    name: 'recording',
    async deleteVolume(volumeId) {
      calls.push(`deleteVolume:${volumeId}`);
    },
  };
  return { driver, calls };
}

/** Waits until the stored record and its tags satisfy `ok` (the VM host writes reports as it gets to them). */
const settled = (store: Store, id: string, ok: (state: string | undefined, tags: ReadonlyMap<string, string>) => boolean, what: string) =>
  eventually(async () => (ok((await store.instance(id))?.state, await store.tagsOf(id)) ? true : undefined), 5000, what);

describe('VM host', () => {
  test('the VM spec: the primary interface, the root volume and the image variant', async () => {
    const catalog = loadCatalog();
    const rec = instanceRecord({ availabilityZone: 'us-east-1b', privateIpAddress: '172.31.16.9', publicIp: '127.64.1.2' });
    const store = new SqliteStore({ dataDir: ':memory:' });
    const spec = vmSpecOf(rec, catalog, [], await securityGroupsIn(store, [rec]));
    await store.close();
    assert.deepEqual(spec.network, {
      eniId: 'eni-0123456789abcdef0',
      mac: macAddress(rec),
      privateIp: '172.31.16.9',
      subnetCidr: '172.31.16.0/20',
      privateDnsName: 'ip-172-31-16-9.ec2.internal',
      publicIp: '127.64.1.2',
      openTcpPorts: [22],
      // the default VPC: its private network's bridge (src/compute/qemu/vpc-network.ts) and the block the guest routes there
      vpcId: defaultNetworkOf(rec).vpcId,
      vpcCidr: '172.31.0.0/16',
    });
    assert.match(spec.network.mac, /^0e(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(spec.rootVolume, { volumeId: 'vol-0123456789abcdef0', sizeGiB: 8, deleteOnTermination: true });
    assert.equal(spec.imageVariant, 'base');
    const kept = vmSpecOf(
      instanceRecord({
        imageId: CLOUD_INIT_AMI,
        rootVolume: { sizeGiB: 20, volumeType: 'gp3', deleteOnTermination: false, encrypted: false },
      }),
      catalog,
    );
    assert.deepEqual(kept.rootVolume, { volumeId: 'vol-0123456789abcdef0', sizeGiB: 20, deleteOnTermination: false });
    assert.equal(kept.imageVariant, 'cloud-init');
    assert.equal(kept.network.publicIp, undefined);
    // an image nestbox only simulates has no variant
    assert.equal(vmSpecOf(instanceRecord({ imageId: 'ami-0b5e4a1f2c3d40003', platform: 'windows' }), catalog).imageVariant, undefined);
  });

  test('the nestbox:ssh-port tag follows a booted VM\'s sshPort and goes when it stops', async () => {
    const store = new SqliteStore({ dataDir: ':memory:' });
    const host = testVmHost(store);
    const id = 'i-0123456789abcdef0';
    await store.commit({ instances: [instanceRecord({ id, publicIp: '127.64.0.9' })] });
    host.onEvent(id, { kind: 'booted', runtime: { driver: 'qemu', sshPort: '2222' } });
    await settled(store, id, (state, tags) => state === 'running' && tags.get(SSH_PORT_TAG) === '2222', 'running on port 2222');
    // booted again while running (the VM was gone after a restart): the new port
    host.onEvent(id, { kind: 'booted', runtime: { driver: 'qemu', sshPort: '2223' } });
    await settled(store, id, (_, tags) => tags.get(SSH_PORT_TAG) === '2223', 'port 2223');
    await store.commit({ instances: [{ ...(await store.instance(id))!, state: 'stopping' }] });
    host.onEvent(id, { kind: 'halted', requested: true });
    await settled(store, id, (state) => state === 'stopped', 'stopped');
    assert.equal((await store.tagsOf(id)).get(SSH_PORT_TAG), undefined);
    assert.equal((await store.instance(id))?.publicIp, undefined, 'the public address is released');
    // a simulated VM reports no port: no tag
    const other = 'i-0123456789abcdef1';
    await store.commit({ instances: [instanceRecord({ id: other, seq: 2 })] });
    host.onEvent(other, { kind: 'booted', runtime: { driver: 'simulated' } });
    await settled(store, other, (state) => state === 'running', 'running');
    assert.equal((await store.tagsOf(other)).get(SSH_PORT_TAG), undefined);
    await host.close();
    await store.close();
  });

  test('a delete-volume task reaches the driver; the routing driver sends it to the real one', async () => {
    const store = new SqliteStore({ dataDir: ':memory:' });
    let real: ReturnType<typeof recordingDriver> | undefined;
    let simulated: VmDriver | undefined;
    const host = testVmHost(store, {
      driver: (events) => {
        real = recordingDriver(events);
        simulated = createSimulatedDriver(events, { delayMs: 1 });
        return createRoutingDriver(real.driver, simulated, (spec) => findImage(spec.imageId)?.bootable === true);
      },
    });
    await store.commit({ tasks: [{ host: host.id, target: 'vol-0123456789abcdef0', kind: 'delete-volume' }] });
    await host.drain();
    await eventually(async () => (real!.calls.length > 0 ? true : undefined), 1000, 'deleteVolume');
    assert.deepEqual(real!.calls, ['deleteVolume:vol-0123456789abcdef0']);
    // a driver without disks has no deleteVolume: the task is done, nothing happens
    host.attach(simulated!, { vcpus: 64, memoryMiB: 65_536 });
    await store.commit({ tasks: [{ host: host.id, target: 'vol-0123456789abcdef1', kind: 'delete-volume' }] });
    await host.drain();
    assert.deepEqual(await store.claimTasks(host.id, 10), []);
    assert.deepEqual(real!.calls, ['deleteVolume:vol-0123456789abcdef0']);
    await host.close();
    await store.close();
  });

  test('the simulated driver\'s console says the instance has no network', async () => {
    const events: VmEvent[] = [];
    const driver = createSimulatedDriver((_id, e) => events.push(e), { delayMs: 1 });
    const spec = specFor({ network: { ...specFor().network, publicIp: '127.64.3.4' } });
    await driver.start(spec);
    await eventually(async () => (events.length > 0 ? true : undefined), 1000, 'booted');
    const out = (await driver.consoleOutput(spec.instanceId)) ?? '';
    assert.match(out, /no network: a simulated instance cannot be reached/);
    assert.match(out, /public IP 127\.64\.3\.4 \(TCP 22 open to the world\) is not served/);
    await driver.close();
  });
});

test('images: the cloud-init Debian image is bootable, IMDSv2, variant cloud-init; the base image is variant base', () => {
  const image = IMAGES.find((i) => i.id === CLOUD_INIT_AMI);
  assert.ok(image);
  assert.deepEqual(
    [image.name, image.bootable, image.imdsSupport, image.variant, image.platform, image.architecture],
    ['nestbox/debian-12-amd64-cloud-init', true, 'v2.0', 'cloud-init', 'linux', 'x86_64'],
  );
  assert.match(image.description, /cloud-init/);
  assert.equal(findImage(LINUX_AMI)?.variant, 'base');
});

// --- through the API ------------------------------------------------------------------------------------

describe('through the SDK', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ simulatedDelayMs: 50 });
  });
  after(async () => {
    await server.close();
  });

  const waitForState = (c: EC2Client, id: string, state: string) =>
    eventually(async () => ((await describeOne(c, id)).State?.Name === state ? true : undefined), 5000, `${id} ${state}`);

  async function ids(c: EC2Client, ...filters: Filter[]): Promise<string[]> {
    const r = await c.send(new DescribeInstancesCommand({ Filters: filters }));
    return (r.Reservations ?? []).flatMap((x) => x.Instances ?? []).map((i) => i.InstanceId!).sort();
  }

  test('the primary network interface in EC2\'s full shape, with the public address associated', async () => {
    const c = server.client('us-east-1');
    const launched = await launchOne(c);
    const id = launched.InstanceId!;
    // RunInstances answers pending, already with the address
    assert.equal(launched.State?.Name, 'pending');
    assertPoolAddress(launched.PublicIpAddress);
    await waitForState(c, id, 'running');
    const i = await describeOne(c, id);
    const ip = i.PublicIpAddress;
    assertPoolAddress(ip);
    assert.equal(ip, launched.PublicIpAddress);
    const dns = `ec2-${ip.replaceAll('.', '-')}.compute-1.amazonaws.com`;
    assert.equal(i.PublicDnsName, dns);
    const hex = id.slice(2);
    const association = { IpOwnerId: 'amazon', PublicDnsName: dns, PublicIp: ip };
    const [eni, ...more] = i.NetworkInterfaces ?? [];
    assert.equal(more.length, 0);
    assert.match(eni?.MacAddress ?? '', /^0e(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(eni, {
      Association: association,
      Attachment: {
        AttachTime: i.LaunchTime,
        AttachmentId: `eni-attach-${hex}`,
        DeleteOnTermination: true,
        DeviceIndex: 0,
        NetworkCardIndex: 0,
        Status: 'attached',
      },
      Description: '',
      Groups: i.SecurityGroups,
      Ipv6Addresses: [],
      MacAddress: eni?.MacAddress,
      NetworkInterfaceId: `eni-${hex}`,
      OwnerId: ACCOUNT,
      PrivateDnsName: i.PrivateDnsName,
      PrivateIpAddress: i.PrivateIpAddress,
      PrivateIpAddresses: [{ Association: association, Primary: true, PrivateDnsName: i.PrivateDnsName, PrivateIpAddress: i.PrivateIpAddress }],
      SourceDestCheck: true,
      Status: 'in-use',
      SubnetId: i.SubnetId,
      VpcId: i.VpcId,
      InterfaceType: 'interface',
    });
    // stable: the same MAC every time
    assert.equal((await describeOne(c, id)).NetworkInterfaces?.[0]?.MacAddress, eni?.MacAddress);
  });

  test('stop releases the address, start gets a new one (pending already has it), terminate leaves no interface', async () => {
    const c = server.client('us-east-1');
    const id = (await launchOne(c)).InstanceId!;
    await waitForState(c, id, 'running');
    const first = (await describeOne(c, id)).PublicIpAddress;
    assertPoolAddress(first);

    await c.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitForState(c, id, 'stopped');
    const stopped = await describeOne(c, id);
    assert.deepEqual([stopped.PublicIpAddress, stopped.PublicDnsName], [undefined, '']);
    const eni = stopped.NetworkInterfaces?.[0];
    assert.equal(eni?.NetworkInterfaceId, `eni-${id.slice(2)}`, 'a stopped instance keeps its interface');
    assert.equal(eni?.Association, undefined);
    assert.equal(eni?.PrivateIpAddresses?.[0]?.Association, undefined);
    assert.equal((await server.nestbox.services.store.instance(id))?.publicIp, undefined);

    await c.send(new StartInstancesCommand({ InstanceIds: [id] }));
    const rec = await server.nestbox.services.store.instance(id);
    assert.equal(rec?.state, 'pending');
    assertPoolAddress(rec?.publicIp);
    assert.notEqual(rec?.publicIp, first, 'a start gets a new address');
    await waitForState(c, id, 'running');
    const running = await describeOne(c, id);
    assert.equal(running.PublicIpAddress, rec?.publicIp);
    assert.equal(running.NetworkInterfaces?.[0]?.Association?.PublicIp, rec?.publicIp);

    await c.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitForState(c, id, 'terminated');
    const gone = await describeOne(c, id);
    assert.deepEqual([gone.PublicIpAddress, gone.PublicDnsName, gone.NetworkInterfaces], [undefined, '', []]);
  });

  test('AssociatePublicIpAddress=false: no address, at launch or after a restart of the instance; true: one', async () => {
    const c = server.client('us-east-2');
    const none = await launchOne(c, { NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false }] });
    const id = none.InstanceId!;
    await waitForState(c, id, 'running');
    let view = await describeOne(c, id);
    assert.deepEqual([view.PublicIpAddress, view.PublicDnsName, view.NetworkInterfaces?.[0]?.Association], [undefined, '', undefined]);
    assert.equal(view.NetworkInterfaces?.length, 1, 'it still has its interface');
    await c.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitForState(c, id, 'stopped');
    await c.send(new StartInstancesCommand({ InstanceIds: [id] }));
    await waitForState(c, id, 'running');
    view = await describeOne(c, id);
    assert.equal(view.PublicIpAddress, undefined, 'the decision is kept for every start');

    const withIp = await launchOne(c, { NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: true }] });
    assertPoolAddress(withIp.PublicIpAddress);
    // no interface given: the default subnet's MapPublicIpOnLaunch
    assertPoolAddress((await launchOne(c)).PublicIpAddress);
    // and in another Region, EC2's regional DNS name
    const eu = await launchOne(server.client('eu-west-1'));
    assert.equal(eu.PublicDnsName, `ec2-${eu.PublicIpAddress!.replaceAll('.', '-')}.eu-west-1.compute.amazonaws.com`);
  });

  test('public addresses are unique over hundreds of launches, stops and starts, across Regions', async () => {
    const c = server.client('ap-south-1');
    const batch = await launch(c, { MinCount: 300, MaxCount: 300 });
    assert.equal(batch.length, 300);
    const others = await launch(server.client('sa-east-1'), { MinCount: 20, MaxCount: 20 });
    const all = [...batch, ...others].map((i) => i.PublicIpAddress);
    all.forEach(assertPoolAddress);
    assert.equal(new Set(all).size, all.length, 'an address was handed out twice');

    // a stop/start of some: new addresses, still unique among everything held
    const some = batch.slice(0, 10).map((i) => i.InstanceId!);
    for (const id of some) await waitForState(c, id, 'running');
    await c.send(new StopInstancesCommand({ InstanceIds: some }));
    for (const id of some) await waitForState(c, id, 'stopped');
    await c.send(new StartInstancesCommand({ InstanceIds: some }));
    const store = server.nestbox.services.store;
    const held = (await store.instancesOnVmHost(server.nestbox.hostId!)).flatMap((r) => (r.publicIp ? [r.publicIp] : []));
    assert.ok(held.length >= all.length, `${held.length} addresses held`);
    assert.equal(new Set(held).size, held.length, 'two instances hold one address');
    const restarted = await Promise.all(some.map(async (id) => (await store.instance(id))!.publicIp));
    restarted.forEach(assertPoolAddress);
    for (const [k, ip] of restarted.entries()) assert.notEqual(ip, batch[k]!.PublicIpAddress);
    await c.send(new TerminateInstancesCommand({ InstanceIds: batch.map((i) => i.InstanceId!) }));
  });

  test('DescribeInstances filters on the interface and the public address', async () => {
    const c = server.client('ca-central-1');
    const a = await launchOne(c);
    const b = await launchOne(c, { NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false }] });
    const [ia, ib] = [await describeOne(c, a.InstanceId!), await describeOne(c, b.InstanceId!)] as [Instance, Instance];
    const ea = ia.NetworkInterfaces![0]!;
    const eb = ib.NetworkInterfaces![0]!;
    const A = [ia.InstanceId!];
    const both = [ia.InstanceId!, ib.InstanceId!].sort();
    const ip = ia.PublicIpAddress!;
    const cases: [Filter[], string[]][] = [
      [[f('ip-address', ip)], A],
      [[f('ip-address', '127.*')], A],
      [[f('dns-name', ia.PublicDnsName!)], A],
      [[f('network-interface.network-interface-id', ea.NetworkInterfaceId!)], A],
      [[f('network-interface.network-interface-id', 'eni-*')], both],
      [[f('network-interface.mac-address', eb.MacAddress!)], [ib.InstanceId!]],
      [[f('network-interface.private-ip-address', ib.PrivateIpAddress!)], [ib.InstanceId!]],
      [[f('network-interface.addresses.private-ip-address', ia.PrivateIpAddress!)], A],
      [[f('network-interface.addresses.primary', 'true')], both],
      [[f('network-interface.association.public-ip', ip)], A],
      [[f('network-interface.addresses.association.public-ip', ip)], A],
      [[f('network-interface.association.ip-owner-id', 'amazon')], A],
      [[f('association.public-ip', ip)], A],
      [[f('network-interface.attachment.attachment-id', eb.Attachment!.AttachmentId!)], [ib.InstanceId!]],
      [[f('network-interface.attachment.device-index', '0'), f('network-interface.attachment.status', 'attached')], both],
      [[f('network-interface.status', 'in-use'), f('network-interface.subnet-id', ia.SubnetId!)], both],
      [[f('network-interface.group-name', 'default'), f('network-interface.owner-id', ACCOUNT)], both],
      [[f('network-interface.attachment.instance-id', ib.InstanceId!)], [ib.InstanceId!]],
      [[f('network-interface.requester-managed', 'false'), f('source-dest-check', 'true')], both],
      [[f('network-interface.ipv6-address', '*')], []],
      [[f('network-interface.association.allocation-id', '*')], []],
      [[f('ip-address', '10.0.0.1')], []],
    ];
    for (const [filters, expected] of cases) assert.deepEqual(await ids(c, ...filters), expected.sort(), JSON.stringify(filters));
    // stopped: no address to filter on
    await waitForState(c, ia.InstanceId!, 'running');
    await c.send(new StopInstancesCommand({ InstanceIds: A }));
    await waitForState(c, ia.InstanceId!, 'stopped');
    assert.deepEqual(await ids(c, f('ip-address', ip)), []);
    assert.deepEqual(await ids(c, f('network-interface.network-interface-id', ea.NetworkInterfaceId!)), A);
  });

  test('DeleteVolume of a kept root volume asks the driver to delete its disk', async () => {
    // a server of its own, whose VM host runs a driver that records what reaches it
    const own = await startTestServer({ simulatedDelayMs: 20 });
    try {
      const host = own.nestbox.vmHost!;
      const real = recordingDriver(host.onEvent);
      host.attach(real.driver, { vcpus: 64, memoryMiB: 65_536 });
      const c = own.client('eu-north-1');
      const i = await launchOne(c, { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false } }] });
      const volumeId = i.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
      assert.ok(volumeId);
      await c.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));
      await waitForState(c, i.InstanceId!, 'terminated');
      assert.deepEqual(real.calls, [], 'the disk outlives the instance');
      await c.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
      await eventually(async () => (real.calls.length > 0 ? true : undefined), 5000, 'deleteVolume');
      assert.deepEqual(real.calls, [`deleteVolume:${volumeId}`]);
    } finally {
      await own.close();
    }
  });

  test('a restart keeps the addresses held, and new ones do not collide with them', async () => {
    const first = await startTestServer({ simulatedDelayMs: 20 });
    let second: TestServer | undefined;
    try {
      const c = first.client('us-west-1');
      const before = await launch(c, { MinCount: 3, MaxCount: 3 });
      second = await first.restart();
      const c2 = second.client('us-west-1');
      for (const i of before) assert.equal((await describeOne(c2, i.InstanceId!)).PublicIpAddress, i.PublicIpAddress);
      const after = await launch(c2, { MinCount: 3, MaxCount: 3 });
      const all = [...before, ...after].map((i) => i.PublicIpAddress);
      all.forEach(assertPoolAddress);
      assert.equal(new Set(all).size, 6);
    } finally {
      await (second ?? first).close();
    }
  });

  test('boto3: ec2.Instance(id).network_interfaces and the public address', async (t) => {
    const c = server.client('us-east-1');
    const i = await launchOne(c);
    await waitForState(c, i.InstanceId!, 'running');
    const view = await describeOne(c, i.InstanceId!);
    const script = [
      'import boto3, json, sys',
      "ec2 = boto3.resource('ec2', endpoint_url=sys.argv[1], region_name='us-east-1')",
      'inst = ec2.Instance(sys.argv[2])',
      'nis = [{"id": ni.id, "mac": ni.mac_address, "private": ni.private_ip_address, "status": ni.status,',
      '        "subnet": ni.subnet_id, "public": (ni.association_attribute or {}).get("PublicIp"),',
      '        "device": ni.attachment["DeviceIndex"]} for ni in inst.network_interfaces]',
      'print(json.dumps({"public_ip": inst.public_ip_address, "dns": inst.public_dns_name, "nis": nis}))',
    ].join('\n');
    const cli = awsCli(server.endpoint);
    try {
      const r = await cli.run('python3', ['-c', script, server.endpoint, i.InstanceId!]);
      if (r.code !== 0 && /No module named .?boto3/.test(r.stderr)) {
        t.skip('boto3 is not importable by python3');
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      const eni = view.NetworkInterfaces![0]!;
      assert.deepEqual(JSON.parse(r.stdout), {
        public_ip: view.PublicIpAddress,
        dns: view.PublicDnsName,
        nis: [
          {
            id: eni.NetworkInterfaceId,
            mac: eni.MacAddress,
            private: view.PrivateIpAddress,
            status: 'in-use',
            subnet: view.SubnetId,
            public: view.PublicIpAddress,
            device: 0,
          },
        ],
      });
    } finally {
      cli.close();
    }
  });
});
