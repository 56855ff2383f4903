/**
 * Private networking between real VMs (src/compute/qemu/vpc-network.ts), end to end through the AWS SDK
 * and `ssh`: three instances booted at once,
 *   A  default VPC, us-east-1a, group `client` (SSH in from anywhere, which forwards its public address's
 *      port 22 to it; egress: all)
 *   B  default VPC, us-east-1b (another subnet: the VPC routes between its subnets), group `server`
 *      (TCP 7000 in from group `client`)
 *   X  another VPC whose CIDR is the default VPC's (172.31.0.0/16), group `open` (everything in from
 *      0.0.0.0/0), its address on-link for A: only the separate bridge keeps them apart
 * each serving TCP 7000 (busybox nc, started by its user data). From A (ssh):
 *   1. B:7000 answers (a group reference; another subnet of the VPC); B:7001 is blocked (no rule);
 *      X:7000 never answers (another VPC)
 *   2. RevokeSecurityGroupIngress on `server` → B:7000 is blocked within a second or so (polled);
 *      AuthorizeSecurityGroupIngress again → it answers again
 *   3. RevokeSecurityGroupEgress of `client`'s all-traffic rule → blocked from A's side; authorized → back
 *   4. a nestbox restart while they run: B:7000 answers A again, B:7001 and X still do not
 *   5. the public address follows the store while they run (the adopted VMs' forwards changed in place):
 *      an Elastic IP associated with A → A's sshd answers on it within about a second and no more on
 *      its old address; disassociated → on A's new address of its own; TCP 7001 authorized from
 *      0.0.0.0/0 in B's group → B's listener answers on B's public address; revoked → it does not
 *   6. TerminateInstances → the taps are gone from nestbox's namespace; the server stops → the namespace goes
 * Needs what test/qemu-e2e.test.ts needs, and root with ip, nft, /dev/net/tun and br_netfilter; skipped
 * with the reason otherwise (failed when NESTBOX_QEMU_TESTS=require and only the image or QEMU is missing).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateKeyPairCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DisassociateAddressCommand,
  type EC2Client,
  type IpPermission,
  ReleaseAddressCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import { findImage } from '../src/compute/qemu/image.js';
import { findQemu } from '../src/compute/qemu/probe.js';
import { privateNetworkSupport } from '../src/compute/qemu/vpc-network.js';
import { type TestServer, describeOne, launchOne, startTestServer } from './helpers.js';
import { type SshTarget, firstLine, firstLineWithin, ssh, sshTarget, sshWhenUp, writeKey } from './ssh.js';

const imageDataDir = resolve(process.env.NESTBOX_IMAGE_DATA_DIR ?? '.nestbox');
const missingTool = ['qemu-img', 'socat', 'ssh'].find((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});
const support = privateNetworkSupport();
const vmsUnavailable = !findQemu()
  ? 'qemu-system-x86_64 is not installed'
  : missingTool
    ? `${missingTool} is not installed`
    : !findImage(imageDataDir)
      ? `no built-in image in ${imageDataDir}/images (nestbox images build --data-dir ${imageDataDir})`
      : undefined;
if (vmsUnavailable && process.env.NESTBOX_QEMU_TESTS === 'require') throw new Error(`NESTBOX_QEMU_TESTS=require, but ${vmsUnavailable}`);
const unavailable = vmsUnavailable ?? (support.ok ? undefined : `the private network needs what is missing here: ${support.reason}`);

const PORT = 7000;
/** each instance serves its hostname on PORT and PORT + 1, to anyone its groups let in */
const USER_DATA = Buffer.from(
  `#!/bin/sh\nfor p in ${PORT} ${PORT + 1}; do setsid busybox nc -ll -p $p -e /bin/hostname </dev/null >/dev/null 2>&1 & done\n`,
).toString('base64');
const BOOT_S = 240;
const waiter = (client: EC2Client) => ({ client, maxWaitTime: BOOT_S, minDelay: 0.25, maxDelay: 0.5 });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let server: TestServer | undefined;
let ec2: EC2Client;
const launched: string[] = [];

describe('private networking between real VMs: VPCs and security groups', { skip: unavailable }, () => {
  let dataDir = '';
  let a: SshTarget;
  let ipB = '';
  let ipX = '';
  let clientGroup = '';
  let serverGroup = '';
  const fromClient: IpPermission = { IpProtocol: 'tcp', FromPort: PORT, ToPort: PORT, UserIdGroupPairs: [{ GroupId: '' }] };

  /** One TCP connection from A to ip:port: what it answered ('' when nothing came back within 2 s). */
  async function probe(ip: string, port = PORT): Promise<string> {
    const r = await ssh(a, `busybox nc -w 2 ${ip} ${port} </dev/null 2>/dev/null; true`, 30_000);
    assert.equal(r.code, 0, `ssh to A failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Polls until `probe` answers (open) or stops answering (closed); how long that took. */
  async function until(open: boolean, ip: string, limitMs: number): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const got = await probe(ip);
      if ((got !== '') === open) return Date.now() - t0;
      if (Date.now() - t0 > limitMs) assert.fail(`${ip}:${PORT} from A is still ${open ? 'closed' : 'open'} after ${limitMs} ms`);
      await sleep(200);
    }
  }

  /** The security-group rules loaded in the server's namespace now. */
  const loaded = () => {
    const hostId = readFileSync(join(dataDir, 'host-id'), 'utf8').trim();
    return execFileSync('ip', ['netns', 'exec', `nestbox-${hostId}`, 'nft', 'list', 'table', 'inet', 'nestbox'], { encoding: 'utf8' });
  };

  /** Runs an API call; how long until the namespace's rules changed after it answered (polled, at most 5 s). */
  async function reloadAfter(call: () => Promise<unknown>): Promise<number> {
    const before = loaded();
    await call();
    const t0 = Date.now();
    while (loaded() === before) {
      if (Date.now() - t0 > 5000) assert.fail('the rules did not change within 5 s');
      await sleep(20);
    }
    return Date.now() - t0;
  }

  before(async () => {
    process.env.NESTBOX_PRIVATE_NETWORK = 'on';
    dataDir = mkdtempSync(join(tmpdir(), 'nestbox-qemu-net-'));
    server = await startTestServer({ driver: 'qemu', imagesDir: imageDataDir, vmMaxVcpus: 1, vmMemoryMiB: 384, stopTimeoutMs: 10_000 }, dataDir);
    ec2 = server.client();
  });

  after(async () => {
    try {
      if (server && launched.length > 0) {
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: launched })).catch(() => undefined);
        await waitUntilInstanceTerminated({ ...waiter(ec2), maxWaitTime: 60 }, { InstanceIds: launched }).catch(() => undefined);
      }
      await server?.stop();
    } finally {
      if (dataDir) {
        // the server deletes its namespace when no VM is left in it; whatever a failure left goes here
        try {
          execFileSync('ip', ['netns', 'del', `nestbox-${readFileSync(join(dataDir, 'host-id'), 'utf8').trim()}`], { stdio: 'ignore' });
        } catch {
          // already gone
        }
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  });

  test('one VPC reaches itself where its groups allow, another VPC never; Revoke/Authorize take effect at once', async (t) => {
    const key = await ec2.send(new CreateKeyPairCommand({ KeyName: 'net-e2e', KeyType: 'ed25519' }));
    const keyFile = writeKey(join(dataDir, 'net-e2e.pem'), key.KeyMaterial ?? '');
    clientGroup = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'client', Description: 'client' }))).GroupId!;
    serverGroup = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'server', Description: 'server' }))).GroupId!;
    fromClient.UserIdGroupPairs = [{ GroupId: clientGroup }];
    const sshFromAnywhere: IpPermission = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: clientGroup, IpPermissions: [sshFromAnywhere] }));
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: serverGroup, IpPermissions: [fromClient] }));
    const vpc2 = (await ec2.send(new CreateVpcCommand({ CidrBlock: '172.31.0.0/16' }))).Vpc!.VpcId!;
    const subnet2 = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc2, CidrBlock: '172.31.8.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    const open = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'open', Description: 'open', VpcId: vpc2 }))).GroupId!;
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: open, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }),
    );

    const t0 = Date.now();
    const common = { InstanceType: 't3.micro' as const, UserData: USER_DATA };
    const [ia, ib, ix] = await Promise.all([
      launchOne(ec2, { ...common, KeyName: 'net-e2e', SecurityGroupIds: [clientGroup], Placement: { AvailabilityZone: 'us-east-1a' } }),
      launchOne(ec2, { ...common, SecurityGroupIds: [serverGroup], Placement: { AvailabilityZone: 'us-east-1b' } }),
      launchOne(ec2, { ...common, SubnetId: subnet2, SecurityGroupIds: [open] }),
    ]);
    launched.push(ia.InstanceId!, ib.InstanceId!, ix.InstanceId!);
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: launched });
    t.diagnostic(`three VMs running after ${Date.now() - t0} ms`);
    const [da, db, dx] = await Promise.all(launched.map((id) => describeOne(ec2, id)));
    ipB = db!.PrivateIpAddress!;
    ipX = dx!.PrivateIpAddress!;
    t.diagnostic(`A ${da!.PrivateIpAddress}, B ${ipB}, X ${ipX} (another VPC)`);
    assert.notEqual(ipX, da!.PrivateIpAddress);
    assert.notEqual(ipX, ipB);
    a = sshTarget(da!, keyFile);
    await sshWhenUp(a, 'true', 120_000);

    // 1. allowed by the group reference (user data may still be starting the listener: polled)
    t.diagnostic(`B:${PORT} answered after ${await until(true, ipB, 120_000)} ms of polling`);
    assert.equal(await probe(ipB, PORT + 1), '', `B:${PORT + 1} has no rule, yet it answered`);
    assert.equal(await probe(ipX), '', 'an instance of another VPC answered');

    // 2. ingress revoked → blocked; authorized again → open
    // (`until`'s time includes an ssh login and, when blocked, nc's 2 s timeout; the rules' reload is timed apart)
    let ms = await reloadAfter(() => ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: serverGroup, IpPermissions: [fromClient] })));
    t.diagnostic(`RevokeSecurityGroupIngress: rules reloaded after ${ms} ms; B:${PORT} seen blocked after ${await until(false, ipB, 30_000)} ms more`);
    ms = await reloadAfter(() => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: serverGroup, IpPermissions: [fromClient] })));
    t.diagnostic(`AuthorizeSecurityGroupIngress: rules reloaded after ${ms} ms; B:${PORT} seen open after ${await until(true, ipB, 30_000)} ms more`);

    // 3. the sender's egress: all traffic out revoked → blocked; authorized again → open
    const allOut: IpPermission = { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
    ms = await reloadAfter(() => ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: clientGroup, IpPermissions: [allOut] })));
    t.diagnostic(`RevokeSecurityGroupEgress: rules reloaded after ${ms} ms; B:${PORT} seen blocked after ${await until(false, ipB, 30_000)} ms more`);
    ms = await reloadAfter(() => ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: clientGroup, IpPermissions: [allOut] })));
    t.diagnostic(`AuthorizeSecurityGroupEgress: rules reloaded after ${ms} ms; B:${PORT} seen open after ${await until(true, ipB, 30_000)} ms more`);
    assert.equal(await probe(ipX), '', 'an instance of another VPC answered');
  });

  test('a nestbox restart while they run: the same VMs adopted, their network and rules rebuilt from the store', async (t) => {
    assert.ok(server && a, 'the first step failed');
    server = await server.restart();
    ec2 = server.client();
    t.diagnostic(`B:${PORT} answered again ${await until(true, ipB, 60_000)} ms after the restart`);
    assert.equal(await probe(ipB, PORT + 1), '', `B:${PORT + 1} has no rule, yet it answered after the restart`);
    assert.equal(await probe(ipX), '', 'an instance of another VPC answered after the restart');
  });

  test('the public address follows the store while they run: an Elastic IP, and ports authorized to the world', async (t) => {
    assert.ok(server && a, 'the first step failed');
    const [idA, idB] = launched as [string, string];
    const SSH = /^SSH-2\.0-/;
    /** B's listener: its hostname */
    const LISTENER = /^(?!refused$)./;
    const GONE = /^refused$/;
    /** How long after `call` answered until `host:port` says `pattern` (polled; at most 2 s). */
    const timeAfter = async (call: () => Promise<unknown>, host: string, port: number, pattern: RegExp) => {
      await call();
      return firstLineWithin(host, port, pattern, 2000);
    };
    const own = a.host;
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    const eipIp = eip.PublicIp!;
    let associationId = '';
    let ms = await timeAfter(
      async () => (associationId = (await ec2.send(new AssociateAddressCommand({ InstanceId: idA, AllocationId: eip.AllocationId }))).AssociationId!),
      eipIp,
      a.port,
      SSH,
    );
    t.diagnostic(`AssociateAddress: A's sshd answers on the Elastic IP ${eipIp} after ${ms} ms`);
    await firstLineWithin(own, a.port, GONE, 2000);
    a = { ...a, host: eipIp };
    assert.equal((await ssh(a, 'true', 30_000)).code, 0, 'ssh to A by its Elastic IP');

    // disassociated: a new address of its own, at once
    await ec2.send(new DisassociateAddressCommand({ AssociationId: associationId }));
    const back = (await describeOne(ec2, idA)).PublicIpAddress!;
    assert.notEqual(back, eipIp);
    t.diagnostic(`DisassociateAddress: A's sshd answers on its new address ${back} after ${await firstLineWithin(back, a.port, SSH, 2000)} ms`);
    await firstLineWithin(eipIp, a.port, GONE, 2000);
    a = { ...a, host: back };
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId }));

    // B's group opens TCP 7001 to the world: B's listener answers on its public address; revoked: nothing listens there
    const publicB = (await describeOne(ec2, idB)).PublicIpAddress!;
    const world: IpPermission = { IpProtocol: 'tcp', FromPort: PORT + 1, ToPort: PORT + 1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
    assert.equal(await firstLine(publicB, PORT + 1), 'refused', `${publicB}:${PORT + 1} is forwarded before any rule opens it`);
    ms = await timeAfter(() => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: serverGroup, IpPermissions: [world] })), publicB, PORT + 1, LISTENER);
    t.diagnostic(`AuthorizeSecurityGroupIngress: B's listener answers on ${publicB}:${PORT + 1} after ${ms} ms`);
    ms = await timeAfter(() => ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: serverGroup, IpPermissions: [world] })), publicB, PORT + 1, GONE);
    t.diagnostic(`RevokeSecurityGroupIngress: ${publicB}:${PORT + 1} refused after ${ms} ms`);
  });

  test('TerminateInstances → their taps are gone; the server stops → its namespace is gone', async () => {
    assert.ok(server);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: launched }));
    await waitUntilInstanceTerminated({ ...waiter(ec2), maxWaitTime: 60 }, { InstanceIds: launched });
    const hostId = readFileSync(join(dataDir, 'host-id'), 'utf8').trim();
    for (let i = 0; ; i++) {
      const links = execFileSync('ip', ['-n', `nestbox-${hostId}`, '-o', 'link', 'show'], { encoding: 'utf8' });
      if (!/nbt[0-9a-f]{12}/.test(links)) break;
      if (i > 50) assert.fail(`taps left in the namespace:\n${links}`);
      await sleep(100);
    }
    await server.stop();
    server = undefined;
    assert.ok(!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(`nestbox-${hostId}`), 'the namespace outlived the server');
  });
});
