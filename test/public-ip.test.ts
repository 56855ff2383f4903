/**
 * Instances you can use: every instance's primary network interface (EC2's full shape, derived from
 * the instance), its public IPv4 address (a loopback address of this host, assigned on `pending`,
 * released on `stopped`/`terminated`, a new one at every start), the DescribeInstances filters over
 * both, and what the driver is given (VmSpec network, root volume, image variant), the
 * `nestbox:ssh-port` tag and DeleteVolume reaching the driver. Through the real AWS SDK and boto3 where
 * the API is concerned; below it for the allocator and the reconciler.
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
import type { VmDriver, VmEvent } from '../src/compute/driver.js';
import { Reconciler, SSH_PORT_TAG, applyTrigger } from '../src/compute/reconciler.js';
import { createRoutingDriver } from '../src/compute/routing.js';
import { createSimulatedDriver } from '../src/compute/simulated.js';
import { IMAGES, findImage } from '../src/domain/images.js';
import { loadCatalog } from '../src/domain/instance-types.js';
import { privateIpFor } from '../src/domain/instance.js';
import { MAX_FORWARDED_TCP_PORTS, WELL_KNOWN_TCP_PORTS, openTcpPorts, macAddress } from '../src/domain/network.js';
import { PublicIpAllocator, heldPublicIps, inPublicIpPool, publicDnsName, withPublicIp } from '../src/domain/public-ip.js';
import { silentLogger } from '../src/logger.js';
import { Store } from '../src/store/store.js';
import { awsCli } from './aws-cli.js';
import { specFor } from './driver-contract.js';
import { instanceRecord } from './fixtures.js';
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
  test('hands out pool addresses, never .0/.255, skipping those held, always moving forward', () => {
    const alloc = new PublicIpAllocator('/data/a');
    const first = alloc.session(() => []).next();
    assertPoolAddress(first);
    // the next one, even with the first released, is another address
    const second = alloc.session(() => []).next();
    assertPoolAddress(second);
    assert.notEqual(second, first);
    // one session over many: all distinct, none ending in .0 or .255 (a run of 1,000 crosses several /24s)
    const source = alloc.session(() => []);
    const many = Array.from({ length: 1000 }, () => source.next());
    assert.equal(new Set(many).size, 1000);
    many.forEach(assertPoolAddress);
    // addresses held by instances are skipped
    const fresh = new PublicIpAllocator('/data/a');
    const expected = fresh.session(() => []).next();
    const again = new PublicIpAllocator('/data/a');
    assert.notEqual(again.session(() => [expected]).next(), expected);
  });

  test('the seed decides where the ring starts: the same data dir gives the same start, another one elsewhere', () => {
    const a1 = new PublicIpAllocator('/srv/one').session(() => []).next();
    const a2 = new PublicIpAllocator('/srv/one').session(() => []).next();
    const b = new PublicIpAllocator('/srv/two').session(() => []).next();
    assert.equal(a1, a2);
    assert.notEqual(a1, b);
  });

  test('after a restart the cursor resumes past the furthest address in use', () => {
    const before = new PublicIpAllocator('/srv/r');
    const source = before.session(() => []);
    const held = [source.next(), source.next(), source.next()];
    const after = new PublicIpAllocator('/srv/r').session(() => held).next();
    assert.ok(!held.includes(after));
    // it is the address the old allocator would have given next
    assert.equal(after, source.next());
  });

  test('withPublicIp: pending gets one when wanted, stopped and terminated release it, others keep it', () => {
    const source = new PublicIpAllocator('/srv/w').session(() => []);
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
    assert.equal(applyTrigger({ ...started, state: 'stopping' }, 'halted', new Date())!.publicIp, undefined);
    assert.deepEqual([...heldPublicIps([started, stopped])], [started.publicIp]);
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

describe('Reconciler', () => {
  test('specOf: the primary interface, the root volume and the image variant', async () => {
    const store = new Store({ dataDir: ':memory:' });
    const reconciler = new Reconciler(store, loadCatalog(), silentLogger, { terminatedRetentionMs: 1000, now: () => new Date() });
    const rec = instanceRecord({ availabilityZone: 'us-east-1b', privateIpAddress: '172.31.16.9', publicIp: '127.64.1.2' });
    const spec = reconciler.specOf(rec);
    assert.deepEqual(spec.network, {
      eniId: 'eni-0123456789abcdef0',
      mac: macAddress(rec),
      privateIp: '172.31.16.9',
      subnetCidr: '172.31.16.0/20',
      privateDnsName: 'ip-172-31-16-9.ec2.internal',
      publicIp: '127.64.1.2',
      openTcpPorts: [22],
    });
    assert.match(spec.network.mac, /^0e(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(spec.rootVolume, { volumeId: 'vol-0123456789abcdef0', sizeGiB: 8, deleteOnTermination: true });
    assert.equal(spec.imageVariant, 'base');
    const kept = reconciler.specOf(
      instanceRecord({
        imageId: CLOUD_INIT_AMI,
        rootVolume: { sizeGiB: 20, volumeType: 'gp3', deleteOnTermination: false, encrypted: false },
      }),
    );
    assert.deepEqual(kept.rootVolume, { volumeId: 'vol-0123456789abcdef0', sizeGiB: 20, deleteOnTermination: false });
    assert.equal(kept.imageVariant, 'cloud-init');
    assert.equal(kept.network.publicIp, undefined);
    // an image nestbox only simulates has no variant
    assert.equal(reconciler.specOf(instanceRecord({ imageId: 'ami-0b5e4a1f2c3d40003', platform: 'windows' })).imageVariant, undefined);
    await store.close();
  });

  test('the nestbox:ssh-port tag follows a booted VM\'s sshPort and goes when it stops', async () => {
    const store = new Store({ dataDir: ':memory:' });
    const reconciler = new Reconciler(store, loadCatalog(), silentLogger, { terminatedRetentionMs: 1000, now: () => new Date() });
    const id = 'i-0123456789abcdef0';
    store.commit({ instances: [instanceRecord({ id, publicIp: '127.64.0.9' })] });
    reconciler.onEvent(id, { kind: 'booted', runtime: { driver: 'qemu', sshPort: '2222' } });
    assert.equal(store.tagsOf(id)?.get(SSH_PORT_TAG), '2222');
    // booted again while running (the VM was gone after a restart): the new port
    reconciler.onEvent(id, { kind: 'booted', runtime: { driver: 'qemu', sshPort: '2223' } });
    assert.equal(store.tagsOf(id)?.get(SSH_PORT_TAG), '2223');
    store.commit({ instances: [{ ...store.instance(id)!, state: 'stopping' }] });
    reconciler.onEvent(id, { kind: 'halted', requested: true });
    assert.equal(store.instance(id)?.state, 'stopped');
    assert.equal(store.tagsOf(id)?.get(SSH_PORT_TAG), undefined);
    assert.equal(store.instance(id)?.publicIp, undefined, 'the public address is released');
    // a simulated VM reports no port: no tag
    const other = 'i-0123456789abcdef1';
    store.commit({ instances: [instanceRecord({ id: other })] });
    reconciler.onEvent(other, { kind: 'booted', runtime: { driver: 'simulated' } });
    assert.equal(store.tagsOf(other)?.get(SSH_PORT_TAG), undefined);
    await store.close();
  });

  test('deleteVolume reaches the driver; the routing driver sends it to the real one', async () => {
    const store = new Store({ dataDir: ':memory:' });
    const reconciler = new Reconciler(store, loadCatalog(), silentLogger, { terminatedRetentionMs: 1000, now: () => new Date() });
    const real = recordingDriver(reconciler.onEvent);
    const simulated = createSimulatedDriver(reconciler.onEvent, { delayMs: 1 });
    reconciler.attach(createRoutingDriver(real.driver, simulated, (spec) => findImage(spec.imageId)?.bootable === true));
    reconciler.deleteVolume('vol-0123456789abcdef0');
    await eventually(async () => (real.calls.length > 0 ? true : undefined), 1000, 'deleteVolume');
    assert.deepEqual(real.calls, ['deleteVolume:vol-0123456789abcdef0']);
    // a driver without disks has no deleteVolume: nothing happens
    reconciler.attach(simulated);
    reconciler.deleteVolume('vol-0123456789abcdef1');
    await reconciler.close();
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
    assert.equal(server.nestbox.services.store.instance(id)?.publicIp, undefined);

    await c.send(new StartInstancesCommand({ InstanceIds: [id] }));
    const rec = server.nestbox.services.store.instance(id);
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
    const held = [...heldPublicIps(server.nestbox.services.store.allInstances())];
    assert.equal(new Set(held).size, held.length, 'two instances hold one address');
    const restarted = some.map((id) => server.nestbox.services.store.instance(id)!.publicIp);
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
    const c = server.client('eu-north-1');
    const calls: string[] = [];
    const reconciler = server.nestbox.services.reconciler as unknown as { deleteVolume(id: string): void };
    const original = reconciler.deleteVolume.bind(reconciler);
    reconciler.deleteVolume = (id) => {
      calls.push(id);
      original(id);
    };
    try {
      const i = await launchOne(c, { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false } }] });
      const volumeId = i.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
      assert.ok(volumeId);
      await c.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));
      await waitForState(c, i.InstanceId!, 'terminated');
      await c.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
      assert.deepEqual(calls, [volumeId]);
    } finally {
      reconciler.deleteVolume = original;
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
