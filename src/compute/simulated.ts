/**
 * The simulated driver: no VM, only timing. Boots, stops and terminations complete after a
 * configurable delay, and the console shows what a guest would print — including what `l2-smoke`
 * would report, which follows the nested-virtualization setting exactly as a real L1 would. User data
 * that powers the guest off (`poweroff`, `shutdown -h|-P`, `halt -p`) does so one delay after boot, as
 * a real guest's would: an instance-initiated shutdown.
 */
import { findImage } from '../domain/images.js';
import { virtualSecureMode } from '../domain/instance.js';
import { loadCatalog } from '../domain/instance-types.js';
import type { VmDriver, VmEventSink, VmSpec } from './driver.js';

/** A line of a user-data script that powers the guest off. */
const POWERS_OFF = /(?:^|[;&|])\s*(?:poweroff|shutdown\s+-[hP]\b[^\n]*|halt\s+-p)\s*$/m;

const runsScript = (spec: VmSpec) => spec.platform === 'linux' && spec.userData?.startsWith('#!') === true;

/**
 * A simulated instance has no network: its interface, addresses and open ports are recorded (the API
 * shows them) but nothing answers on them, so its console says so.
 */
function networkLine(spec: VmSpec): string {
  const n = spec.network;
  const prefix = n.subnetCidr.slice(n.subnetCidr.indexOf('/'));
  const ports = n.openTcpPorts.length > 0 ? `TCP ${n.openTcpPorts.join(', ')}` : 'no TCP ports';
  const reach = n.publicIp
    ? `; public IP ${n.publicIp} (${ports} open to the world) is not served`
    : '; it has no public IP';
  return (
    `[    0.000000] nestbox simulated driver: no network: a simulated instance cannot be reached. ` +
    `${n.eniId} (${n.mac}) ${n.privateIp}${prefix}${reach}\n`
  );
}

/**
 * The virtualization extension a guest's CPU reports on EC2 with nested virtualization enabled: Intel's
 * VT-x (`vmx`) on Intel types (c8i, m8i, r8i …), AMD-V (`svm`) on AMD ones — by the type's processor
 * (DescribeInstanceTypes' ProcessorInfo.Manufacturer).
 */
function virtualizationExtension(instanceType: string): 'vmx' | 'svm' {
  return loadCatalog().info(instanceType)?.ProcessorInfo?.Manufacturer === 'AMD' ? 'svm' : 'vmx';
}

export interface SimulatedOptions {
  /** pending → running, and stopping → stopped, after this long */
  readonly delayMs: number;
}

/** What a simulated VM keeps: its boot log (a reboot prints it again) and its console so far — no spec, so 100k adopted VMs stay small. */
interface SimVm {
  boot: string;
  timer?: NodeJS.Timeout | undefined;
  log: string;
}

export function createSimulatedDriver(events: VmEventSink, opts: SimulatedOptions): VmDriver {
  const vms = new Map<string, SimVm>();
  const destroying = new Set<NodeJS.Timeout>();

  const later = (vm: SimVm, fn: () => void) => {
    if (vm.timer) clearTimeout(vm.timer);
    vm.timer = setTimeout(() => {
      vm.timer = undefined;
      fn();
    }, opts.delayMs);
  };

  const bootLog = (spec: VmSpec) => {
    const ext = spec.nestedVirtualization ? virtualizationExtension(spec.instanceType) : 'none';
    let log =
      `[    0.000000] nestbox simulated driver: no VM is running for ${spec.instanceId}\n` +
      `[    0.000000] nestbox simulated driver: image ${spec.imageId} (${findImage(spec.imageId)?.name ?? 'unknown'}) is simulated: no operating system boots\n` +
      `[    0.000000] CPU topology: ${spec.coreCount} cores x ${spec.threadsPerCore} threads, virtualization extension: ${ext}\n` +
      networkLine(spec) +
      (spec.dataVolumes ?? [])
        .map((v) => `[    0.000000] nestbox simulated driver: data volume ${v.volumeId} (${v.device}, ${v.sizeGiB} GiB, serial ${v.serial}) is attached; no disk holds its data\n`)
        .join('');
    if (spec.platform === 'windows') {
      const vsm = virtualSecureMode({ platform: spec.platform, nestedVirtualization: spec.nestedVirtualization ? 'enabled' : undefined });
      log += `Virtual Secure Mode: ${vsm}${vsm === 'disabled' ? ' (nested virtualization is enabled; Credential Guard is unavailable)' : ''}\n`;
    }
    if (runsScript(spec) && /\bl2-smoke\b/.test(spec.userData!)) {
      log += spec.nestedVirtualization
        ? 'L2 OK (simulated: nested virtualization is enabled, /dev/kvm would be present)\n'
        : 'L2 FAIL: no /dev/kvm (simulated: nested virtualization is disabled)\n';
    }
    return `${log}nestbox: booted\n`;
  };

  return {
    name: 'simulated',
    adoptsLazily: true,
    async start(spec) {
      const boot = bootLog(spec);
      const vm = vms.get(spec.instanceId) ?? { boot, log: '' };
      vm.boot = boot;
      vms.set(spec.instanceId, vm);
      later(vm, () => {
        vm.log += boot;
        events(spec.instanceId, { kind: 'booted', runtime: { driver: 'simulated' } });
        if (runsScript(spec) && POWERS_OFF.test(spec.userData!)) {
          later(vm, () => {
            vm.log += 'nestbox: user data powered the guest off\n';
            events(spec.instanceId, { kind: 'halted', requested: false });
          });
        }
      });
    },
    async stop(id) {
      const vm = vms.get(id);
      if (!vm) {
        events(id, { kind: 'halted', requested: true });
        return;
      }
      later(vm, () => {
        vm.log += 'nestbox: power down\n';
        events(id, { kind: 'halted', requested: true });
      });
    },
    async reboot(id) {
      const vm = vms.get(id);
      if (vm) vm.log += `nestbox: reset\n${vm.boot}`;
    },
    async destroy(id) {
      const vm = vms.get(id);
      if (vm?.timer) clearTimeout(vm.timer);
      vms.delete(id);
      const timer = setTimeout(() => {
        destroying.delete(timer);
        events(id, { kind: 'destroyed' });
      }, opts.delayMs);
      destroying.add(timer);
    },
    async adopt(spec) {
      // Nothing survives a restart of the simulated driver: the VM comes back as if it had kept running.
      const existing = vms.get(spec.instanceId);
      if (existing?.timer) clearTimeout(existing.timer);
      const boot = bootLog(spec);
      vms.set(spec.instanceId, { boot, log: existing?.log ?? boot });
      return true;
    },
    async consoleOutput(id) {
      return vms.get(id)?.log;
    },
    async close() {
      for (const vm of vms.values()) if (vm.timer) clearTimeout(vm.timer);
      for (const timer of destroying) clearTimeout(timer);
      vms.clear();
      destroying.clear();
    },
  };
}
