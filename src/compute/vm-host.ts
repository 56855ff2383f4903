/**
 * A VM host: the part of a `nestbox serve` process (role `host` or `all`) that runs instances' VMs.
 *
 * - It **registers** in the store with its capacity and **heartbeats**; its ID is kept in its data
 *   directory, so a restarted process is the same host and adopts the VMs still running.
 * - It **takes the tasks** queued for it (start, stop, reboot, terminate, delete a volume), which every
 *   API server writes in the same transaction as the state change that needs them, and runs them
 *   through its driver — one at a time per instance, in the order they were queued.
 * - It turns its driver's **reports** into lifecycle transitions (`applyTrigger`), written as
 *   conditional writes: a report that lost a race with an API call is decided again on the new record.
 * - It keeps its VMs' **network** in line with the store while they run (a driver with `applyNetwork`):
 *   every NETWORK_POLL_MS it reads what the store wants now (src/compute/network.ts: public addresses,
 *   Elastic IPs, the ports and rules of the current security groups) and hands it to the driver.
 * - A **watchdog** (every API server runs one) declares a host dead once its heartbeat is older than
 *   `deadAfterMs`: its instances stop, with a state reason and a failed system status check, as EC2
 *   reports a failed host, and can be started again on another host.
 */
import { hostname } from 'node:os';
import { OCCUPYING_STATES, STATE_REASONS, guestHaltTrigger } from '../domain/lifecycle.js';
import { applyTrigger } from '../domain/instance-state.js';
import { type InstanceRecord, expired, hasRootVolume } from '../domain/instance.js';
import type { Catalog } from '../domain/instance-types.js';
import type { Logger } from '../logger.js';
import { type ClaimedTask, type Store, StoreConflict, type TagRecord, type VmHostRecord, type VmTaskKind } from '../store/types.js';
import type { VmDriver, VmEvent, VmSpec } from './driver.js';
import { hostNetworkOf, securityGroupsIn } from './network.js';
import { vmSpecOf } from './spec.js';
import { liveAttachment } from '../domain/volumes.js';

export interface VmHostOptions {
  readonly store: Store;
  readonly catalog: Catalog;
  readonly log: Logger;
  readonly now: () => Date;
  /** this host's ID (kept in its data directory: src/compute/host-id.ts) */
  readonly id: string;
  /** terminated instances stay visible this long */
  readonly terminatedRetentionMs: number;
  /**
   * How often it heartbeats and looks for tasks no notification announced; absent: never (SQLite: one
   * process is the only host, nobody else watches it, and the store's in-process notifications are sure).
   */
  readonly heartbeatMs?: number | undefined;
  readonly pollMs?: number | undefined;
}

const IN_TRANSITION = OCCUPYING_STATES.filter((s) => s !== 'running');
/** Instances recovered at a time after a restart. */
const RECOVERY_BATCH = 2000;
/** Tasks taken from the queue at a time. */
const CLAIM_BATCH = 64;
/** A report retried this many times against concurrent API writes before it is given up (and logged). */
const MAX_ATTEMPTS = 8;
/**
 * Tasks on EBS files run one at a time, in the order queued, on one queue (`EBS_QUEUE`): a restore before
 * a snapshot's deletion, a snapshot before its copy. A VM's start waits for the ones queued before it, so
 * it finds its data volumes' disks made.
 */
const EBS_TASKS: ReadonlySet<VmTaskKind> = new Set(['delete-volume', 'snapshot-volume', 'copy-snapshot', 'delete-snapshot', 'restore-volume']);
const EBS_QUEUE = 'ebs';
/** How often the network the store wants is handed to the driver (`applyNetwork`): a change is in force within about this long. */
const NETWORK_POLL_MS = 300;

export class VmHost {
  private driver!: VmDriver;
  private capacity = { vcpus: 0, memoryMiB: 0 };
  private readonly timers: NodeJS.Timeout[] = [];
  /** per instance (or volume): the tail of its queue of tasks and reports, so each runs after the one before */
  private readonly chains = new Map<string, Promise<void>>();
  private draining: Promise<void> | undefined;
  /** settles once the VMs found at start-up are adopted (tasks wait for it) */
  private recovered: Promise<void> = Promise.resolve();
  private drainAgain = false;
  /** the network pass under way, if any */
  private networkPass: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: VmHostOptions) {}

  get id(): string {
    return this.opts.id;
  }

  get driverName(): string {
    return this.driver.name;
  }

  /** The driver is created with this host's event sink (`onEvent`), then attached with what the host offers to placement. */
  attach(driver: VmDriver, capacity: { readonly vcpus: number; readonly memoryMiB: number }): void {
    this.driver = driver;
    this.capacity = { ...capacity };
  }

  /** What the driver needs to admit an instance's VM, all of it derived from the record (no data volumes, no open ports). */
  specOf(rec: InstanceRecord): VmSpec {
    return vmSpecOf(rec, this.opts.catalog);
  }

  /** Throws InsufficientInstanceCapacity when this host's driver cannot take these instances' VMs. */
  admit(recs: readonly InstanceRecord[]): void {
    this.driver.admit?.(recs.map((r) => this.specOf(r)));
  }

  /** The VM's console output; a driver that adopts lazily adopts a running instance's VM first. */
  async consoleOutput(id: string): Promise<string | undefined> {
    const output = await this.driver.consoleOutput(id);
    if (output !== undefined || !this.driver.adoptsLazily) return output;
    const rec = await this.opts.store.instance(id);
    if (rec?.state !== 'running' || rec.vmHost !== this.id) return undefined;
    await this.driver.adopt(await this.storedSpecOf(rec));
    return this.driver.consoleOutput(id);
  }

  /**
   * Registers (alive, with a fresh heartbeat), brings every VM of its instances in line with what was
   * recorded (running ones adopted or booted again, unfinished transitions finished, none orphaned),
   * then takes tasks as they come.
   */
  async start(): Promise<void> {
    const { store, now } = this.opts;
    const previous = await store.vmHost(this.id);
    const record: VmHostRecord = {
      id: this.id,
      name: `${hostname()} pid ${process.pid}`,
      driver: this.driver.name,
      vcpus: this.capacity.vcpus,
      memoryMiB: this.capacity.memoryMiB,
      startedAt: now().toISOString(),
      heartbeatAt: now().getTime(),
      state: 'alive',
      ...(previous ? { rev: previous.rev } : {}),
    };
    await store.commit({ putVmHosts: [record] });
    this.recovered = this.recover().catch((err: unknown) => this.opts.log.warn(`host ${this.id}: recovery failed: ${errorText(err)}`));
    store.onTasks(this.id, () => this.drain());
    if (this.opts.heartbeatMs !== undefined) this.every(this.opts.heartbeatMs, () => this.heartbeat());
    if (this.opts.pollMs !== undefined) this.every(this.opts.pollMs, () => this.drain());
    if (this.driver.applyNetwork) this.every(NETWORK_POLL_MS, () => this.applyNetwork());
    this.every(60_000, () => this.purge());
    this.drain();
  }

  private every(ms: number, fn: () => Promise<void> | void): void {
    const timer = setInterval(() => {
      if (!this.closed) void Promise.resolve(fn()).catch((err: unknown) => this.opts.log.warn(`host ${this.id}: ${errorText(err)}`));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async heartbeat(): Promise<void> {
    const alive = await this.opts.store.heartbeat(this.id, this.opts.now().getTime());
    if (!alive && !this.closed) {
      // Declared dead while it could not heartbeat (paused, cut off): its instances were stopped elsewhere.
      this.opts.log.warn(`host ${this.id}: declared dead by another server; registering again`);
      const rec = await this.opts.store.vmHost(this.id);
      if (rec) await this.opts.store.commit({ putVmHosts: [{ ...rec, state: 'alive', heartbeatAt: this.opts.now().getTime() }] });
      await this.sweep();
    }
  }

  /** Takes and runs queued tasks until none are left; one drain at a time, again if woken meanwhile. */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.draining) {
      this.drainAgain = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        await this.recovered;
        do {
          this.drainAgain = false;
          for (;;) {
            const tasks = await this.opts.store.claimTasks(this.id, CLAIM_BATCH);
            for (const task of tasks) this.enqueue(EBS_TASKS.has(task.kind) ? EBS_QUEUE : task.target, () => this.run(task));
            if (tasks.length < CLAIM_BATCH) break;
          }
        } while (this.drainAgain && !this.closed);
      } catch (err) {
        this.opts.log.warn(`host ${this.id}: taking tasks failed: ${errorText(err)}`);
      } finally {
        this.draining = undefined;
      }
    })();
    return this.draining;
  }

  private enqueue(key: string, fn: () => Promise<void>): void {
    const tail = (this.chains.get(key) ?? Promise.resolve()).then(fn).catch((err: unknown) => {
      this.opts.log.warn(`${key}: ${errorText(err)}`);
    });
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
  }

  /**
   * One network pass: what the store wants now for the network of every VM of this host, handed to the
   * driver (`applyNetwork`). One at a time: a pass that is due while one is under way is that one.
   */
  private applyNetwork(): Promise<void> {
    this.networkPass ??= (async () => {
      const recs = await this.opts.store.instancesOnVmHost(this.id, OCCUPYING_STATES);
      await this.driver.applyNetwork?.(await hostNetworkOf(this.opts.store, recs));
    })().finally(() => (this.networkPass = undefined));
    return this.networkPass;
  }

  /** An instance's VM spec as the store has it now: with the data volumes attached to it and its security groups' open ports. */
  private async storedSpecOf(rec: InstanceRecord): Promise<VmSpec> {
    const scope = { account: rec.account, region: rec.region };
    const [volumes, groups] = await Promise.all([this.opts.store.resources('volume', scope), securityGroupsIn(this.opts.store, [scope])]);
    const attached = volumes.filter((v) => liveAttachment(v, (id) => (id === rec.id ? rec : undefined)) !== undefined);
    return vmSpecOf(rec, this.opts.catalog, attached, groups);
  }

  /** What the driver needs to start an instance's VM: its spec as the store has it now, once the EBS work queued before is done. */
  private async startSpecOf(rec: InstanceRecord): Promise<VmSpec> {
    const spec = await this.storedSpecOf(rec);
    // EBS work queued before this start (a restore of one of its volumes) is done first.
    await this.chains.get(EBS_QUEUE);
    return spec;
  }

  /** An EBS file task: the driver does it; a snapshot's record then says `completed` (or `error`). */
  private async runEbs(task: ClaimedTask): Promise<void> {
    const { store } = this.opts;
    switch (task.kind) {
      case 'delete-volume':
        await this.driver.deleteVolume?.(task.target);
        return;
      case 'delete-snapshot':
        await this.driver.deleteSnapshot?.(task.target);
        return;
      case 'restore-volume': {
        const vol = await store.resource('volume', task.target);
        if (vol?.snapshotId !== undefined) await this.driver.restoreVolume?.(vol.snapshotId, vol.id, vol.sizeGiB);
        return;
      }
      case 'snapshot-volume':
      case 'copy-snapshot': {
        const snap = await store.resource('snapshot', task.target);
        if (!snap) return;
        let state: 'completed' | 'error' = 'completed';
        try {
          if (task.kind === 'snapshot-volume') await this.driver.snapshotVolume?.(snap.volumeId, snap.id);
          else if (snap.sourceSnapshotId !== undefined) await this.driver.copySnapshot?.(snap.sourceSnapshotId, snap.id);
        } catch (err) {
          this.opts.log.warn(`snapshot ${snap.id}: ${errorText(err)}`);
          state = 'error';
        }
        for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
          const current = await store.resource('snapshot', snap.id);
          if (!current) return; // deleted meanwhile (its file with it: delete-snapshot is queued behind)
          try {
            await store.commit({ putResources: [{ kind: 'snapshot', doc: { ...current, state } }] });
            return;
          } catch (err) {
            if (!(err instanceof StoreConflict)) throw err;
          }
        }
        return;
      }
      default:
        return;
    }
  }

  private async run(task: ClaimedTask): Promise<void> {
    if (EBS_TASKS.has(task.kind)) {
      await this.runEbs(task);
      return;
    }
    const rec = await this.opts.store.instance(task.target);
    if (!rec) return;
    const failed = (kind: 'crashed' | 'launch-failed') => (err: unknown) => this.onEvent(rec.id, { kind, detail: errorText(err) });
    switch (task.kind) {
      case 'start':
      case 'relaunch':
        // Only a record still waiting for its VM: a terminate queued behind the start finds it gone.
        if (rec.state === 'pending') {
          await this.startSpecOf(rec)
            .then((spec) => this.driver.start(spec))
            .catch(failed(task.kind === 'start' ? 'launch-failed' : 'crashed'));
        }
        return;
      case 'stop':
      case 'force-stop':
        await this.driver.stop(rec.id, { force: task.kind === 'force-stop' }).catch((err: unknown) => {
          this.opts.log.warn(`instance ${rec.id}: stop failed: ${errorText(err)}`);
          failed('crashed')(err);
        });
        return;
      case 'reboot':
        await this.driver.reboot(rec.id).catch((err: unknown) => this.opts.log.warn(`instance ${rec.id}: reboot failed: ${errorText(err)}`));
        return;
      case 'terminate':
        await this.driver.destroy(rec.id).catch((err: unknown) => {
          this.opts.log.warn(`instance ${rec.id}: destroy failed: ${errorText(err)}`);
          this.onEvent(rec.id, { kind: 'destroyed' });
        });
        return;
    }
  }

  /** The driver's report about a VM: queued behind the instance's earlier reports. */
  readonly onEvent = (id: string, event: VmEvent): void => {
    this.enqueue(`event:${id}`, () => this.record(id, event));
  };

  /** Writes what a report means for the instance, deciding again if an API call changed it meanwhile. */
  private async record(id: string, event: VmEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.recordOnce(id, event);
        return;
      } catch (err) {
        if (!(err instanceof StoreConflict) || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  private async recordOnce(id: string, event: VmEvent): Promise<void> {
    const { store, log } = this.opts;
    const rec = await store.instance(id);
    if (!rec || (rec.vmHost !== undefined && rec.vmHost !== this.id)) return;
    const now = this.opts.now();
    let next: InstanceRecord | undefined;
    switch (event.kind) {
      case 'booted':
        next = applyTrigger(rec, 'booted', now, { stateReason: undefined, stateTransitionReason: '', runtime: event.runtime, hasRun: true });
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
        log.warn(`instance ${id}: ${event.kind}: ${event.detail}`);
        next = applyTrigger(rec, event.kind, now, {
          stateReason: event.kind === 'crashed' ? STATE_REASONS.crashed : STATE_REASONS.internalError,
          stateTransitionReason: `Server.InternalError (${now.toISOString().slice(0, 19).replace('T', ' ')} GMT)`,
        });
        break;
      case 'destroyed':
        next = applyTrigger(rec, 'destroyed', now);
        break;
    }
    const tags = await store.tagsOf(id);
    if (next && next !== rec) {
      const summary = event.kind === 'booted' ? vmSummary(event.runtime) : undefined;
      const sshPort = sshPortTag(next, event, tags);
      // An instance its own VM put into shutting-down (shutdown behaviour `terminate`) goes on to terminated.
      const terminate = next.state === 'shutting-down';
      await store.commit({
        instances: [next],
        putTags: [...(summary ? [tagOf(next, VM_TAG, summary)] : []), ...sshPort.put],
        deleteTags: sshPort.delete,
        ...(terminate ? { tasks: [{ host: this.id, target: id, kind: 'terminate' as const }] } : {}),
      });
      if (terminate) void this.drain();
    } else if (event.kind === 'booted' && rec.state === 'running') {
      // A running VM booted again after a restart (it was gone): its forwarded SSH port may have changed.
      const sshPort = sshPortTag(rec, event, tags);
      if (sshPort.put.length > 0) await store.commit({ putTags: sshPort.put });
    }
  }

  /**
   * After a restart: every VM of this host's instances is brought in line with its recorded state
   * (running ones adopted or booted again, unfinished transitions finished), in batches, while the API
   * already answers; the host takes no task before it is done, so none overtakes it. Instances recorded
   * before hosts were (no `vmHost`) are this host's: one process ran them all.
   */
  private async recover(): Promise<void> {
    const { store } = this.opts;
    // A driver that adopts lazily needs only the instances in transition (few), not the running ones.
    const states = this.driver.adoptsLazily ? IN_TRANSITION : OCCUPYING_STATES;
    for (const host of ['', this.id]) {
      let afterSeq: number | undefined;
      for (;;) {
        const batch = await store.instancesOnVmHost(host, host === '' ? OCCUPYING_STATES : states, { afterSeq, limit: RECOVERY_BATCH });
        if (host === '' && batch.length > 0) {
          // One write for the batch; should an API call have changed one of them meanwhile, one at a time.
          const placed = batch.map((rec) => ({ ...rec, vmHost: this.id }));
          await store.commit({ instances: placed }).catch(async () => {
            for (const rec of placed) await store.commit({ instances: [rec] }).catch(() => {});
          });
        }
        await Promise.all(batch.map((rec) => this.recoverOne(rec)));
        if (batch.length < RECOVERY_BATCH) break;
        afterSeq = batch[batch.length - 1]!.seq;
        // Requests are answered between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await this.sweep();
    await this.purge();
  }

  private async recoverOne(rec: InstanceRecord): Promise<void> {
    const task = (kind: VmTaskKind) => this.enqueue(rec.id, () => this.run({ id: 0, host: this.id, target: rec.id, kind }));
    switch (rec.state) {
      case 'pending':
        return task('relaunch');
      case 'running':
        if (this.driver.adoptsLazily) return;
        if (!(await this.driver.adopt(await this.storedSpecOf(rec)))) {
          this.opts.log.info(`instance ${rec.id}: VM is gone after restart; booting it again`);
          await this.startSpecOf(rec)
            .then((spec) => this.driver.start(spec))
            .catch((err: unknown) => this.onEvent(rec.id, { kind: 'crashed', detail: errorText(err) }));
        }
        return;
      case 'stopping':
        return task('force-stop');
      case 'shutting-down':
        return task('terminate');
      default:
        return;
    }
  }

  /** Removes VMs and disks no instance of this host needs any more. */
  private async sweep(): Promise<void> {
    if (!this.driver.sweep) return;
    const records = await this.opts.store.instancesOnVmHost(this.id);
    const live = new Set(records.filter((r) => r.state !== 'stopped' && r.state !== 'terminated').map((r) => r.id));
    await this.driver.sweep?.(live, new Set(records.map((r) => r.id)));
  }

  /**
   * Terminated instances disappear once the retention has passed (the store drops their and their root
   * volumes' tags) — but a record stays while the root volume it carries outlives it (DeleteOnTermination
   * false), until DeleteVolume.
   */
  async purge(): Promise<void> {
    await purgeTerminated(this.opts.store, this.id, this.opts.now().getTime() - this.opts.terminatedRetentionMs);
  }

  /** Stops taking tasks and heartbeating; the VMs go on running (a restart adopts them). */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.recovered;
    await this.draining;
    await this.networkPass?.catch(() => undefined);
    await this.driver.close();
  }
}

/**
 * Declares dead the hosts whose heartbeat is older than `deadAfterMs`, and stops their instances as
 * EC2 stops the instances of a failed host: `stopped`, with a state reason, and a failed system status
 * check until they are started again (on another host). Every API server runs it; the conditional
 * write on the host record makes one of them do it.
 */
export async function declareDeadHosts(store: Store, now: Date, deadAfterMs: number, log: Logger): Promise<string[]> {
  const dead: string[] = [];
  for (const host of await store.vmHosts()) {
    if (host.state !== 'alive' || now.getTime() - host.heartbeatAt <= deadAfterMs) continue;
    try {
      await store.transaction(
        async (tx) => {
          const current = await tx.vmHost(host.id);
          if (!current || current.state !== 'alive' || now.getTime() - current.heartbeatAt <= deadAfterMs) return;
          const live = await tx.instancesOnVmHost(host.id, ['pending', 'running', 'stopping', 'shutting-down']);
          const stopped = live.flatMap((rec) => {
            const next = applyTrigger(rec, 'host-failed', now, {
              stateReason: STATE_REASONS.hostFailure,
              stateTransitionReason: `Server.InternalError (${now.toISOString().slice(0, 19).replace('T', ' ')} GMT)`,
            });
            return next && next !== rec ? [{ ...next, systemStatus: 'impaired' as const }] : [];
          });
          tx.write({
            putVmHosts: [{ ...current, state: 'dead' }],
            instances: stopped,
            deleteTags: stopped.map((r) => ({ resourceId: r.id, key: SSH_PORT_TAG })),
          });
        },
        { lock: `vm-host:${host.id}` },
      );
      log.warn(`host ${host.id} (${host.name}) stopped heartbeating ${now.getTime() - host.heartbeatAt} ms ago: declared dead, its instances stopped`);
      dead.push(host.id);
    } catch (err) {
      if (!(err instanceof StoreConflict)) throw err;
    }
  }
  return dead;
}

/**
 * Deletes a host's terminated instances that ended before `cutoffMs` (keeping those whose root volume
 * outlives them), and what was attached to them: data volumes and network interfaces that went with
 * them (DeleteOnTermination: unseen since the termination) are deleted, a volume's disk with a
 * `delete-volume` task for its host; the others lose their attachment (they showed as available since).
 */
export async function purgeTerminated(store: Store, host: string, cutoffMs: number): Promise<void> {
  const terminated = await store.instancesOnVmHost(host, ['terminated']);
  const gone = terminated.filter((r) => expired(r, cutoffMs) && !hasRootVolume(r));
  if (gone.length === 0) return;
  const ids = new Set(gone.map((r) => r.id));
  const scopes = [...new Map(gone.map((r) => [`${r.account}/${r.region}`, { account: r.account, region: r.region }])).values()];
  const [volumes, interfaces] = await Promise.all([
    Promise.all(scopes.map((q) => store.resources('volume', q))).then((v) => v.flat()),
    Promise.all(scopes.map((q) => store.resources('network-interface', q))).then((v) => v.flat()),
  ]);
  const attachedToGone = (x: { readonly attachment?: { readonly instanceId: string } | undefined }) =>
    x.attachment !== undefined && ids.has(x.attachment.instanceId);
  const goesWith = (x: { readonly attachment?: { readonly deleteOnTermination: boolean } | undefined }) => x.attachment!.deleteOnTermination;
  const ending = { volumes: volumes.filter(attachedToGone), interfaces: interfaces.filter(attachedToGone) };
  const detached = <T extends { readonly attachment?: unknown }>({ attachment: _ended, ...rest }: T) => rest as T;
  try {
    await store.commit({
      deleteInstances: [...ids],
      deleteResources: [
        ...ending.volumes.filter(goesWith).map((v) => ({ kind: 'volume' as const, id: v.id })),
        ...ending.interfaces.filter(goesWith).map((e) => ({ kind: 'network-interface' as const, id: e.id })),
      ],
      putResources: [
        ...ending.volumes.filter((v) => !goesWith(v)).map((v) => ({ kind: 'volume' as const, doc: detached(v) })),
        ...ending.interfaces.filter((e) => !goesWith(e)).map((e) => ({ kind: 'network-interface' as const, doc: detached(e) })),
      ],
      tasks: ending.volumes.flatMap((v) => (goesWith(v) && v.host !== undefined ? [{ host: v.host, target: v.id, kind: 'delete-volume' as const }] : [])),
    });
  } catch (err) {
    // Something attached changed meanwhile: the next purge decides again.
    if (!(err instanceof StoreConflict)) throw err;
  }
}

/**
 * A dead host purges nothing of its own: the API servers do it for it (their watchdog, now and then),
 * so its terminated instances disappear after the retention like any other.
 */
export async function purgeDeadHosts(store: Store, cutoffMs: number): Promise<void> {
  for (const host of await store.vmHosts()) if (host.state === 'dead') await purgeTerminated(store, host.id, cutoffMs);
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

const tagOf = (rec: InstanceRecord, key: string, value: string): TagRecord => ({
  resourceId: rec.id,
  resourceType: 'instance',
  account: rec.account,
  region: rec.region,
  key,
  value,
});

/**
 * The SSH_PORT_TAG change a report makes: set to the `sshPort` a booted VM's runtime reports (when it
 * differs), removed once the instance is stopped or terminated (no VM, so no port).
 */
function sshPortTag(
  next: InstanceRecord,
  event: VmEvent,
  tags: ReadonlyMap<string, string>,
): { put: TagRecord[]; delete: { resourceId: string; key: string }[] } {
  const current = tags.get(SSH_PORT_TAG);
  if (event.kind === 'booted') {
    const port = event.runtime?.sshPort;
    return port !== undefined && port !== current ? { put: [tagOf(next, SSH_PORT_TAG, port)], delete: [] } : { put: [], delete: [] };
  }
  const gone = next.state === 'stopped' || next.state === 'terminated';
  return gone && current !== undefined ? { put: [], delete: [{ resourceId: next.id, key: SSH_PORT_TAG }] } : { put: [], delete: [] };
}

/** e.g. `qemu tcg -cpu EPYC (svm): 1 vCPU, 256 MiB; scaled: vCPUs 2 (1 core x 2 threads) -> 1 …` */
export function vmSummary(runtime: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!runtime || runtime.driver !== 'qemu') return undefined;
  const ext = runtime.virtualizationExtension && runtime.virtualizationExtension !== 'none' ? ` (${runtime.virtualizationExtension})` : '';
  const base = `qemu ${runtime.accel ?? '?'} -cpu ${runtime.cpuModel ?? '?'}${ext}: ${runtime.vcpus ?? '?'} vCPU, ${runtime.memoryMiB ?? '?'} MiB`;
  const text = runtime.scaling && runtime.scaling !== 'none' ? `${base}; scaled: ${runtime.scaling}` : base;
  return text.slice(0, 256);
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
