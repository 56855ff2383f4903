/** The QEMU argv builder (src/compute/qemu/argv.ts): pure, no QEMU needed. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VmSpec } from '../src/compute/driver.js';
import {
  type ArgvInput,
  type HostFacts,
  buildQemuPlan,
  cpuModel,
  scaleMemory,
  scaleTopology,
} from '../src/compute/qemu/argv.js';
import { cpioArchive } from '../src/compute/qemu/cpio.js';
import {
  type PublicForward,
  forwardChanges,
  hostfwdAdd,
  hostfwdRemove,
  parseUsernetForwards,
  publicForwards,
  removedOutput,
} from '../src/compute/qemu/forwards.js';
import { specFor } from './driver-contract.js';

const spec = (overrides: Partial<VmSpec> = {}): VmSpec =>
  specFor({ instanceId: 'i-0123456789abcdef0', nestedVirtualization: true, ...overrides });

const smallHost: HostFacts = { cpus: 2, memTotalMiB: 24576, virtExtension: 'svm' };
const bigIntelHost: HostFacts = { cpus: 64, memTotalMiB: 262144, virtExtension: 'vmx' };

const input = (overrides: Partial<ArgvInput> = {}): ArgvInput => ({
  spec: spec(),
  accel: 'tcg',
  host: smallHost,
  limits: { maxVcpus: 2, maxMemoryMiB: 256, minMemoryMiB: 128 },
  image: { vmlinux: '/img/vmlinux', initrd: '/vms/i-1/initramfs.cpio', hash: '0123456789abcdef', kernelRelease: '6.1.0-56-amd64' },
  ...overrides,
});

/** The value after `flag` (the first occurrence). */
function opt(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

describe('qemu argv: nested virtualization decides the L1 CPU model', () => {
  test('TCG: EPYC (svm + npt) when enabled, EPYC without svm when disabled', () => {
    assert.equal(opt(buildQemuPlan(input({ spec: spec({ nestedVirtualization: true }) })).argv, '-cpu'), 'EPYC');
    assert.equal(opt(buildQemuPlan(input({ spec: spec({ nestedVirtualization: false }) })).argv, '-cpu'), 'EPYC,-svm');
  });

  test('KVM: the host CPU (keeps vmx/svm) when enabled, without both extensions when disabled', () => {
    const on = buildQemuPlan(input({ accel: 'kvm', host: bigIntelHost, spec: spec({ nestedVirtualization: true }) }));
    const off = buildQemuPlan(input({ accel: 'kvm', host: bigIntelHost, spec: spec({ nestedVirtualization: false }) }));
    assert.equal(opt(on.argv, '-cpu'), 'host');
    assert.equal(opt(off.argv, '-cpu'), 'host,-vmx,-svm');
    assert.equal(on.runtime.virtualizationExtension, 'vmx');
    assert.equal(off.runtime.virtualizationExtension, 'none');
    assert.equal(cpuModel('kvm', true), 'host');
  });

  test('the runtime info says which accelerator and CPU model the VM got', () => {
    const plan = buildQemuPlan(input({ spec: spec({ nestedVirtualization: true }) }));
    assert.equal(plan.runtime.accel, 'tcg');
    assert.equal(plan.runtime.cpuModel, 'EPYC');
    assert.equal(plan.runtime.virtualizationExtension, 'svm');
    assert.equal(plan.runtime.machine, 'microvm');
    for (const v of Object.values(plan.runtime)) assert.equal(typeof v, 'string');
  });
});

describe('qemu argv: accelerator', () => {
  test('KVM: -accel kvm, no TCG-only kernel options', () => {
    const { argv } = buildQemuPlan(input({ accel: 'kvm' }));
    assert.equal(opt(argv, '-accel'), 'kvm');
    assert.doesNotMatch(opt(argv, '-append') ?? '', /tsc_early_khz/);
  });

  test('TCG: a bounded translation cache, and the early TSC frequency microvm needs under TCG', () => {
    const { argv } = buildQemuPlan(input({ accel: 'tcg', tcgTbSizeMiB: 32 }));
    assert.equal(opt(argv, '-accel'), 'tcg,tb-size=32');
    assert.match(opt(argv, '-append') ?? '', /\btsc_early_khz=2000000\b/);
  });
});

describe('qemu argv: topology and memory scaling', () => {
  test('CpuOptions give the -smp topology when the host is big enough', () => {
    const plan = buildQemuPlan(
      input({ host: bigIntelHost, limits: { maxVcpus: 64, maxMemoryMiB: 8192, minMemoryMiB: 128 }, spec: spec({ coreCount: 4, threadsPerCore: 2, vcpus: 8, memoryMiB: 8192 }) }),
    );
    assert.equal(opt(plan.argv, '-smp'), '8,sockets=1,cores=4,threads=2');
    assert.equal(opt(plan.argv, '-m'), '8192M');
    assert.equal(plan.runtime.scaling, 'none');
  });

  test('on a small host the topology is scaled down to fit, and the scaling is visible', () => {
    const plan = buildQemuPlan(input({ spec: spec({ coreCount: 4, threadsPerCore: 2, vcpus: 8, memoryMiB: 16384 }) }));
    assert.equal(opt(plan.argv, '-smp'), '2,sockets=1,cores=1,threads=2');
    assert.equal(plan.vcpus, 2);
    assert.equal(opt(plan.argv, '-m'), '256M');
    assert.equal(plan.runtime.vcpus, '2');
    assert.equal(plan.runtime.requestedVcpus, '8');
    assert.equal(plan.runtime.memoryMiB, '256');
    assert.equal(plan.runtime.requestedMemoryMiB, '16384');
    assert.match(plan.runtime.scaling ?? '', /vCPUs 8 .*-> 2/);
    assert.match(plan.runtime.scaling ?? '', /memory 16384 MiB -> 256 MiB/);
  });

  test('scaleTopology keeps threads per core when it can, then fits cores; never below 1 x 1', () => {
    assert.deepEqual(scaleTopology(4, 2, 2), { cores: 1, threads: 2 });
    assert.deepEqual(scaleTopology(3, 1, 2), { cores: 2, threads: 1 });
    assert.deepEqual(scaleTopology(1, 2, 1), { cores: 1, threads: 1 });
    assert.deepEqual(scaleTopology(2, 2, 8), { cores: 2, threads: 2 });
    assert.deepEqual(scaleTopology(8, 2, 5), { cores: 2, threads: 2 });
    assert.deepEqual(scaleTopology(1, 1, 0), { cores: 1, threads: 1 });
  });

  test('scaleMemory caps per VM, keeps a floor, and rounds to 2 MiB', () => {
    const limits = { maxVcpus: 2, maxMemoryMiB: 512, minMemoryMiB: 128 };
    assert.equal(scaleMemory(4096, limits), 512);
    assert.equal(scaleMemory(300, limits), 300);
    assert.equal(scaleMemory(301, limits), 300);
    assert.equal(scaleMemory(64, limits), 128);
  });
});

describe('qemu argv: machine, files and lifecycle flags', () => {
  test('microvm with ACPI (power button, power-off), PVH kernel and initramfs, no -no-reboot', () => {
    const { argv } = buildQemuPlan(input());
    assert.equal(opt(argv, '-M'), 'microvm,acpi=on');
    assert.equal(opt(argv, '-kernel'), '/img/vmlinux');
    assert.equal(opt(argv, '-initrd'), '/vms/i-1/initramfs.cpio');
    assert.ok(!argv.includes('-no-reboot'), 'with -no-reboot a QMP system_reset would end the VM');
    assert.ok(argv.includes('-nodefaults'));
    assert.equal(opt(argv, '-monitor'), 'none');
  });

  test('serial log, QMP socket and pid file are relative to the instance directory', () => {
    const { argv } = buildQemuPlan(input());
    assert.equal(opt(argv, '-serial'), 'file:serial.log');
    assert.equal(opt(argv, '-qmp'), 'unix:qmp.sock,server=on,wait=off');
    assert.equal(opt(argv, '-pidfile'), 'pid');
  });

  test('the kernel command line carries the console and the instance id, made safe', () => {
    const append = opt(buildQemuPlan(input({ spec: spec({ instanceId: 'i-abc def,x' }) })).argv, '-append') ?? '';
    assert.match(append, /\bconsole=ttyS0\b/);
    assert.match(append, /\bnestbox\.instance=i-abc_def_x\b/);
    assert.equal(opt(buildQemuPlan(input({ spec: spec({ instanceId: 'i-abc def,x' }) })).argv, '-name'), 'i-abc_def_x,debug-threads=off');
  });

  test('argv is a list of plain strings (no shell)', () => {
    for (const a of buildQemuPlan(input()).argv) assert.equal(typeof a, 'string');
  });
});

describe('qemu: the public address\'s forwards (forwards.ts), at start and while the VM runs', () => {
  const network = { ...spec().network, privateIp: '172.31.0.10', publicIp: '127.64.0.5', openTcpPorts: [22, 8080] };
  const fwd = (hostIp: string, hostPort: number, guestPort = hostPort): PublicForward => ({ hostIp, hostPort, guestIp: '172.31.0.10', guestPort });

  test('publicForwards: each open port from the public address; a high port for a low one when low ones cannot be bound; none without an address', () => {
    assert.deepEqual(publicForwards(network, true), [fwd('127.64.0.5', 22), fwd('127.64.0.5', 8080)]);
    assert.deepEqual(publicForwards(network, false), [fwd('127.64.0.5', 10022, 22), fwd('127.64.0.5', 8080)]);
    assert.deepEqual(publicForwards({ ...network, publicIp: undefined }, true), []);
  });

  test('the -netdev option forwards exactly what publicForwards gives, and the runtime names the SSH port', () => {
    const forwards = publicForwards(network, false);
    const plan = buildQemuPlan(input({ spec: spec({ network }), attach: { disk: '/d.qcow2', imdsSocket: 'imds/x', forwards } }));
    const netdev = (opt(plan.argv, '-netdev') ?? '').split(',');
    assert.ok(netdev.includes('id=n0'));
    assert.deepEqual(netdev.filter((p) => p.startsWith('hostfwd=')), ['hostfwd=tcp:127.64.0.5:10022-172.31.0.10:22', 'hostfwd=tcp:127.64.0.5:8080-172.31.0.10:8080']);
    assert.equal(plan.runtime.sshPort, '10022');
  });

  test('forwardChanges: what to remove and what to add; nothing when they agree', () => {
    const now = [fwd('127.64.0.5', 22), fwd('127.64.0.5', 8080)];
    assert.deepEqual(forwardChanges(now, [...now].reverse()), { remove: [], add: [] });
    // an Elastic IP associated: every forward moves to the new address
    assert.deepEqual(forwardChanges(now, [fwd('127.64.0.9', 22), fwd('127.64.0.9', 8080)]), {
      remove: now,
      add: [fwd('127.64.0.9', 22), fwd('127.64.0.9', 8080)],
    });
    // SSH revoked, 7000 authorized
    assert.deepEqual(forwardChanges(now, [fwd('127.64.0.5', 7000), fwd('127.64.0.5', 8080)]), { remove: [now[0]], add: [fwd('127.64.0.5', 7000)] });
  });

  test('the monitor commands on the user netdev, and what QEMU 7.2 prints for them', () => {
    assert.equal(hostfwdAdd(fwd('127.64.0.5', 10022, 22)), 'hostfwd_add n0 tcp:127.64.0.5:10022-172.31.0.10:22');
    assert.equal(hostfwdRemove(fwd('127.64.0.5', 10022, 22)), 'hostfwd_remove n0 tcp:127.64.0.5:10022');
    assert.ok(removedOutput('host forwarding rule for tcp:127.64.0.5:10022 removed\r\n'));
    assert.ok(removedOutput('host forwarding rule for tcp:127.64.0.5:10022 not found\r\n'));
    assert.ok(!removedOutput("unrecognized netdev id 'n1'\r\n"));
  });

  test('parseUsernetForwards: the host forwards `info usernet` lists (QEMU 7.2), not its connections', () => {
    const text =
      'Hub -1 (n0):\r\n' +
      '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n' +
      '  TCP[HOST_FORWARD]  13      127.64.0.5    22     172.31.0.10    22     0     0\r\n' +
      '  TCP[HOST_FORWARD]  14      127.64.0.5  8080     172.31.0.10  8080     0     0\r\n' +
      '  TCP[ESTABLISHED]   21       127.0.0.1 51234     172.31.0.10    22     0     0\r\n';
    assert.deepEqual(parseUsernetForwards(text), [fwd('127.64.0.5', 22), fwd('127.64.0.5', 8080)]);
    assert.deepEqual(parseUsernetForwards('Hub -1 (n0):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n'), []);
  });
});

describe('cpio (initramfs) writer', () => {
  test('newc records, 4-byte alignment, a trailer, 512-byte padding', () => {
    const a = cpioArchive([
      { kind: 'dir', path: 'nestbox' },
      { kind: 'file', path: 'nestbox/user-data', data: '#!/bin/sh\nl2-smoke\n', mode: 0o600 },
      { kind: 'symlink', path: 'init', target: 'bin/busybox' },
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    ]);
    assert.equal(a.length % 512, 0);
    const text = a.toString('latin1');
    assert.equal(text.slice(0, 6), '070701');
    assert.ok(text.includes('nestbox/user-data\0'));
    assert.ok(text.includes('#!/bin/sh\nl2-smoke\n'));
    assert.ok(text.includes('TRAILER!!!\0'));
    // the file's mode field: regular file, 0600
    const at = text.indexOf('nestbox/user-data\0') - 110;
    assert.equal(text.slice(at, at + 6), '070701');
    assert.equal(Number.parseInt(text.slice(at + 14, at + 22), 16), 0o100600);
    // the data starts 4-byte aligned after the name
    const dataAt = text.indexOf('#!/bin/sh');
    assert.equal(dataAt % 4, 0);
  });

  test('refuses paths that climb out of the archive', () => {
    assert.throws(() => cpioArchive([{ kind: 'file', path: '../etc/passwd', data: '' }]), /bad path/);
  });
});
