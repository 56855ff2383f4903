/**
 * Runs each instance on the driver that can run its image: the built-in Debian image boots for real
 * under QEMU; images nestbox cannot boot (Windows, arm64) are simulated, which the instance's console
 * output says. Both drivers report through the same event sink.
 */
import type { VmDriver, VmSpec } from './driver.js';

export function createRoutingDriver(real: VmDriver, simulated: VmDriver, runsForReal: (spec: VmSpec) => boolean): VmDriver {
  const owner = new Map<string, VmDriver>();
  const pick = (spec: VmSpec) => {
    const driver = runsForReal(spec) ? real : simulated;
    owner.set(spec.instanceId, driver);
    return driver;
  };
  // An instance not seen since a restart (stopped ones) belongs to the real driver unless it was simulated.
  const of = (id: string) => owner.get(id) ?? real;

  return {
    name: real.name,
    admit(specs) {
      real.admit?.(specs.filter(runsForReal));
    },
    start: (spec) => pick(spec).start(spec),
    adopt: (spec) => pick(spec).adopt(spec),
    stop: (id, opts) => of(id).stop(id, opts),
    reboot: (id) => of(id).reboot(id),
    async destroy(id) {
      await of(id).destroy(id);
      owner.delete(id);
    },
    // Only the real driver keeps disks; a simulated instance's volume has none to delete.
    async deleteVolume(volumeId) {
      await real.deleteVolume?.(volumeId);
    },
    // EBS files are the real driver's too.
    snapshotVolume: async (volumeId, snapshotId) => (await real.snapshotVolume?.(volumeId, snapshotId)) ?? false,
    copySnapshot: async (from, to) => real.copySnapshot?.(from, to),
    deleteSnapshot: async (id) => real.deleteSnapshot?.(id),
    restoreVolume: async (snapshotId, volumeId, sizeGiB) => real.restoreVolume?.(snapshotId, volumeId, sizeGiB),
    // Only real VMs can be reached: the network is the real driver's to apply.
    applyNetwork: real.applyNetwork ? (desired) => real.applyNetwork!(desired) : undefined,
    async sweep(live, known) {
      await real.sweep?.(live, known);
    },
    async consoleOutput(id) {
      return (await of(id).consoleOutput(id)) ?? (await simulated.consoleOutput(id));
    },
    async close() {
      await Promise.all([real.close(), simulated.close()]);
    },
  };
}
