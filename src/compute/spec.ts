/** What a driver needs to run an instance's VM, all of it derived from the instance's record. */
import { rootVolumeOf } from '../domain/block-devices.js';
import { findImage } from '../domain/images.js';
import type { Catalog } from '../domain/instance-types.js';
import { type InstanceRecord, rootVolumeId } from '../domain/instance.js';
import { volumeSerial } from '../domain/volumes.js';
import type { VolumeRecord } from '../domain/volumes.js';
import type { VmDataVolume, VmSpec } from './driver.js';
import { type SecurityGroups, vmNetworkOf } from './network.js';

/** The data volumes a VM gets: those attached to its instance (src/services/volumes.ts dataVolumesAttachedTo), oldest attachment first. */
export function vmDataVolumesOf(volumes: readonly VolumeRecord[]): VmDataVolume[] {
  return [...volumes]
    .filter((v) => v.attachment !== undefined)
    .sort((a, b) => a.attachment!.attachTime.localeCompare(b.attachment!.attachTime))
    .map((v) => ({ volumeId: v.id, device: v.attachment!.device, sizeGiB: v.sizeGiB, serial: volumeSerial(v.id) }));
}

const NO_GROUPS: SecurityGroups = new Map();

/**
 * `volumes`: the data volumes attached to the instance (none: a VM with its root disk only). `groups`:
 * the security groups of its account and Region (src/compute/network.ts securityGroupsIn), which decide
 * the ports forwarded from its public address; without them none is (admission and the metadata
 * service, which need no ports, read no groups).
 */
export function vmSpecOf(rec: InstanceRecord, catalog: Catalog, volumes: readonly VolumeRecord[] = [], groups: SecurityGroups = NO_GROUPS): VmSpec {
  const facts = catalog.facts(rec.instanceType);
  const root = rootVolumeOf(rec);
  // A user image's instance boots the kernel of the built image its root file system came from.
  const variant = root.bootVariant ?? findImage(rec.imageId)?.variant;
  return {
    instanceId: rec.id,
    imageId: rec.imageId,
    instanceType: rec.instanceType,
    platform: rec.platform,
    architecture: rec.architecture,
    vcpus: rec.cpu.coreCount * rec.cpu.threadsPerCore,
    memoryMiB: facts?.memoryMiB ?? 1024,
    coreCount: rec.cpu.coreCount,
    threadsPerCore: rec.cpu.threadsPerCore,
    nestedVirtualization: rec.cpu.nestedVirtualization === 'enabled',
    userData: rec.userData === undefined ? undefined : Buffer.from(rec.userData, 'base64').toString('utf8'),
    publicKey: rec.publicKey,
    network: vmNetworkOf(rec, groups),
    rootVolume: {
      volumeId: rootVolumeId(rec),
      sizeGiB: root.sizeGiB,
      deleteOnTermination: root.deleteOnTermination,
      ...(root.snapshotId !== undefined ? { snapshotId: root.snapshotId } : {}),
    },
    ...(variant !== undefined ? { imageVariant: variant } : {}),
    ...(volumes.length > 0 ? { dataVolumes: vmDataVolumesOf(volumes) } : {}),
  };
}
