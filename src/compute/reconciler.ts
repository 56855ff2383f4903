/**
 * The reconciler connects the recorded instances to the VMs: it asks the driver to boot, stop, reset
 * and destroy, turns the driver's reports into lifecycle transitions, and after a nestbox restart
 * brings every VM back in line with what was recorded (running ones running, none orphaned).
 */
import { rootVolumeOf } from '../domain/block-devices.js';
import { findImage } from '../domain/images.js';
import type { Catalog } from '../domain/instance-types.js';
import { type InstanceRecord, expired, hasRootVolume, networkInterfaceId, privateDnsName, rootVolumeId } from '../domain/instance.js';
import { STATE_REASONS, type Trigger, guestHaltTrigger, transition } from '../domain/lifecycle.js';
import { defaultNetworkOf, instanceOpenTcpPorts, subnetOfZone, macAddress } from '../domain/network.js';
import { type PublicIpSource, withPublicIp } from '../domain/public-ip.js';
import type { Logger } from '../logger.js';
import type { Store, TagRecord } from '../store/store.js';
import type { VmDriver, VmEvent, VmSpec } from './driver.js';

export interface ReconcilerOptions {
  /** terminated instances stay visible this long (EC2: about an hour) */
  readonly terminatedRetentionMs: number;
  readonly now: () => Date;
}

/**
 * The record after `trigger`, or undefined when the lifecycle table does not allow it. The one place
 * where an instance's state changes, for API actions and driver reports alike — and so where its
 * public IPv4 address follows the state (`withPublicIp`): released on `stopped` and `terminated`, a
 * new one from `publicIps` on entering `pending` (StartInstances; a trigger that can lead to `pending`
 * needs the source, the others do not).
 */
export function applyTrigger(
  rec: InstanceRecord,
  trigger: Trigger,
  at: Date,
  patch: Partial<Pick<InstanceRecord, 'stateReason' | 'stateTransitionReason' | 'runtime' | 'launchTime' | 'hasRun'>> = {},
  publicIps?: PublicIpSource,
): InstanceRecord | undefined {
  const t = transition(rec.state, trigger);
  if (!t) return undefined;
  if (!t.changed) return rec;
  return withPublicIp(
    {
      ...rec,
      ...patch,
      state: t.to,
      ...(t.to === 'terminated' ? { terminatedAt: at.toISOString() } : {}),
    },
    publicIps,
  );
}

export class Reconciler {
  private driver!: VmDriver;
  private purgeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly log: Logger,
    private readonly opts: ReconcilerOptions,
  ) {}

  /** The driver is created with this reconciler's event sink, then attached. */
  attach(driver: VmDriver): void {
    this.driver = driver;
  }

  get driverName(): string {
    return this.driver.name;
  }

  readonly onEvent = (id: string, event: VmEvent): void => {
    const rec = this.store.instance(id);
    if (!rec) return;
    const now = this.opts.now();
    let next: InstanceRecord | undefined;
    switch (event.kind) {
      case 'booted':
        next = applyTrigger(rec, 'booted', now, {
          stateReason: undefined,
          stateTransitionReason: '',
          runtime: event.runtime,
          hasRun: true,
        });
        break;
      case 'halted':
        next = event.requested
          ? applyTrigger(rec, 'halted', now)
          : applyTrigger(rec, guestHaltTrigger(rec.shutdownBehavior), now, {
              stateReason: STATE_REASONS.instanceShutdown,
              stateTransitionReason: STATE_REASONS.instanceShutdown.message,
            });
        break;
      case 'crashed':
      case 'launch-failed':
        this.log.warn(`instance ${id}: ${event.kind}: ${event.detail}`);
        next = applyTrigger(rec, event.kind, now, {
          stateReason: event.kind === 'crashed' ? STATE_REASONS.crashed : STATE_REASONS.internalError,
          stateTransitionReason: `Server.InternalError (${now.toISOString().slice(0, 19).replace('T', ' ')} GMT)`,
        });
        break;
      case 'destroyed':
        next = applyTrigger(rec, 'destroyed', now);
        break;
    }
    if (next && next !== rec) {
      const summary = event.kind === 'booted' ? vmSummary(event.runtime) : undefined;
      const sshPort = this.sshPortTag(next, event);
      this.store.commit({
        instances: [next],
        putTags: [
          ...(summary ? [{ resourceId: id, resourceType: 'instance', key: VM_TAG, value: summary }] : []),
          ...sshPort.put,
        ],
        deleteTags: sshPort.delete,
      });
      // An instance the VM's own report put into shutting-down (shutdown behaviour `terminate`) goes on to terminated.
      if (next.state === 'shutting-down') this.terminate(next);
    } else if (event.kind === 'booted' && rec.state === 'running') {
      // A running VM booted again after a restart (it was gone): its forwarded SSH port may have changed.
      const sshPort = this.sshPortTag(rec, event);
      if (sshPort.put.length > 0) this.store.commit({ putTags: sshPort.put });
    }
  };

  /**
   * The SSH_PORT_TAG change an event makes: set to the `sshPort` a booted VM's runtime reports (when it
   * differs), removed once the instance is stopped or terminated (no VM, so no port).
   */
  private sshPortTag(next: InstanceRecord, event: VmEvent): { put: TagRecord[]; delete: { resourceId: string; key: string }[] } {
    const current = this.store.tagsOf(next.id)?.get(SSH_PORT_TAG);
    if (event.kind === 'booted') {
      const port = event.runtime?.sshPort;
      return port !== undefined && port !== current
        ? { put: [{ resourceId: next.id, resourceType: 'instance', key: SSH_PORT_TAG, value: port }], delete: [] }
        : { put: [], delete: [] };
    }
    const gone = next.state === 'stopped' || next.state === 'terminated';
    return gone && current !== undefined ? { put: [], delete: [{ resourceId: next.id, key: SSH_PORT_TAG }] } : { put: [], delete: [] };
  }

  /** What the driver needs to run an instance's VM, all of it derived from the record. */
  specOf(rec: InstanceRecord): VmSpec {
    const facts = this.catalog.facts(rec.instanceType);
    // RunInstances accepts only the Region's zones, and every zone has a default subnet.
    const subnet = subnetOfZone(defaultNetworkOf(rec), rec.availabilityZone);
    const root = rootVolumeOf(rec);
    const variant = findImage(rec.imageId)?.variant;
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
      network: {
        eniId: networkInterfaceId(rec),
        mac: macAddress(rec),
        privateIp: rec.privateIpAddress,
        subnetCidr: subnet?.cidr ?? '172.31.0.0/20',
        privateDnsName: privateDnsName(rec.privateIpAddress, rec.region),
        publicIp: rec.publicIp,
        openTcpPorts: instanceOpenTcpPorts(rec),
      },
      rootVolume: { volumeId: rootVolumeId(rec), sizeGiB: root.sizeGiB, deleteOnTermination: root.deleteOnTermination },
      ...(variant !== undefined ? { imageVariant: variant } : {}),
    };
  }

  /** Throws InsufficientInstanceCapacity when the driver cannot take these instances' VMs. */
  admit(recs: readonly InstanceRecord[]): void {
    this.driver.admit?.(recs.map((r) => this.specOf(r)));
  }

  /** Boots instances that were just recorded as pending. `firstLaunch` failures terminate them. */
  boot(recs: readonly InstanceRecord[], firstLaunch: boolean): void {
    for (const rec of recs) {
      this.driver.start(this.specOf(rec)).catch((err: unknown) => {
        this.onEvent(rec.id, { kind: firstLaunch ? 'launch-failed' : 'crashed', detail: errorText(err) });
      });
    }
  }

  stop(rec: InstanceRecord, force: boolean): void {
    this.driver.stop(rec.id, { force }).catch((err: unknown) => {
      this.log.warn(`instance ${rec.id}: stop failed: ${errorText(err)}`);
      this.onEvent(rec.id, { kind: 'crashed', detail: errorText(err) });
    });
  }

  reboot(rec: InstanceRecord): void {
    this.driver.reboot(rec.id).catch((err: unknown) => this.log.warn(`instance ${rec.id}: reboot failed: ${errorText(err)}`));
  }

  terminate(rec: InstanceRecord): void {
    this.driver.destroy(rec.id).catch((err: unknown) => {
      this.log.warn(`instance ${rec.id}: destroy failed: ${errorText(err)}`);
      this.onEvent(rec.id, { kind: 'destroyed' });
    });
  }

  /** DeleteVolume removed a root volume that outlived its instance: the driver deletes its disk, if it keeps one. */
  deleteVolume(volumeId: string): void {
    this.driver.deleteVolume?.(volumeId).catch((err: unknown) => this.log.warn(`volume ${volumeId}: delete failed: ${errorText(err)}`));
  }

  consoleOutput(id: string): Promise<string | undefined> {
    return this.driver.consoleOutput(id);
  }

  /**
   * After a restart: every instance's VM is brought in line with its recorded state. Running VMs are
   * adopted (or booted again, staying `running` as EC2 would show them), unfinished transitions finish.
   */
  async recover(): Promise<void> {
    const now = this.opts.now();
    for (const rec of [...this.store.allInstances()]) {
      switch (rec.state) {
        case 'pending':
          this.boot([rec], false);
          break;
        case 'running':
          if (!(await this.driver.adopt(this.specOf(rec)))) {
            this.log.info(`instance ${rec.id}: VM is gone after restart; booting it again`);
            await this.driver.start(this.specOf(rec)).catch((err: unknown) =>
              this.onEvent(rec.id, { kind: 'crashed', detail: errorText(err) }),
            );
          }
          break;
        case 'stopping':
          this.stop(rec, true);
          break;
        case 'shutting-down':
          this.terminate(rec);
          break;
        case 'stopped':
        case 'terminated':
          break;
      }
    }
    const records = [...this.store.allInstances()];
    const live = new Set(records.filter((r) => r.state !== 'stopped' && r.state !== 'terminated').map((r) => r.id));
    await this.driver.sweep?.(live, new Set(records.map((r) => r.id)));
    this.purge(now);
    this.purgeTimer = setInterval(() => this.purge(this.opts.now()), 60_000);
    this.purgeTimer.unref();
  }

  /**
   * Terminated instances disappear once the retention has passed (the store drops their and their root
   * volumes' tags) — but a record stays while the root volume it carries outlives it (DeleteOnTermination
   * false), until DeleteVolume.
   */
  purge(now: Date): void {
    const cutoff = now.getTime() - this.opts.terminatedRetentionMs;
    const gone = [...this.store.allInstances()].filter((r) => expired(r, cutoff) && !hasRootVolume(r)).map((r) => r.id);
    if (gone.length > 0) this.store.commit({ deleteInstances: gone });
  }

  async close(): Promise<void> {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    await this.driver.close();
  }
}

/** The tag that shows what a real VM got: acceleration, CPU model, and any scaling to fit this host. */
export const VM_TAG = 'nestbox:vm';

/**
 * The tag that says which TCP port of the instance's public address reaches the guest's SSH server
 * (`ssh -p <port> root@<public IP>`): the `sshPort` the driver reports when the VM has booted (22 when
 * nestbox may bind low ports, else a high one). Removed once the instance is stopped or terminated.
 * The console's Connect dialog reads it.
 */
export const SSH_PORT_TAG = 'nestbox:ssh-port';

/** e.g. `qemu tcg -cpu EPYC (svm): 1 vCPU, 256 MiB; scaled: vCPUs 2 (1 core x 2 threads) -> 1 …` */
export function vmSummary(runtime: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!runtime || runtime.driver !== 'qemu') return undefined;
  const ext = runtime.virtualizationExtension && runtime.virtualizationExtension !== 'none' ? ` (${runtime.virtualizationExtension})` : '';
  const base = `qemu ${runtime.accel ?? '?'} -cpu ${runtime.cpuModel ?? '?'}${ext}: ${runtime.vcpus ?? '?'} vCPU, ${runtime.memoryMiB ?? '?'} MiB`;
  const text = runtime.scaling && runtime.scaling !== 'none' ? `${base}; scaled: ${runtime.scaling}` : base;
  return text.slice(0, 256);
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
