/**
 * The L0 side: one interface every VM driver implements (simulated, qemu), checked by one contract
 * suite (test/driver-contract.ts). The API never touches a VM: the reconciler calls a driver, and the
 * driver reports what happened to the VM through its event sink; the lifecycle table decides what
 * each report means for the instance.
 */
export interface VmSpec {
  readonly instanceId: string;
  readonly imageId: string;
  readonly instanceType: string;
  readonly platform: 'linux' | 'windows';
  readonly architecture: 'x86_64' | 'arm64';
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly coreCount: number;
  readonly threadsPerCore: number;
  /** the L1 CPU exposes the host's virtualization extension (VT-x / SVM) exactly when true */
  readonly nestedVirtualization: boolean;
  /** raw user data (decoded from base64) */
  readonly userData?: string | undefined;
  /** the key pair's OpenSSH public key line (RunInstances KeyName), for the guest's root to authorize */
  readonly publicKey?: string | undefined;
}

export type VmEvent =
  | { readonly kind: 'booted'; readonly runtime?: Readonly<Record<string, string>> }
  /** the guest powered itself off, or a requested stop completed */
  | { readonly kind: 'halted'; readonly requested: boolean }
  /** the VM died without being asked */
  | { readonly kind: 'crashed'; readonly detail: string }
  | { readonly kind: 'launch-failed'; readonly detail: string }
  | { readonly kind: 'destroyed' };

export type VmEventSink = (instanceId: string, event: VmEvent) => void;

export interface VmDriver {
  readonly name: string;
  /**
   * Throws InsufficientInstanceCapacity when the host cannot take these VMs on top of the ones it
   * runs. Synchronous, so the API can refuse a launch before it records anything. Optional: a driver
   * without limits (simulated) admits everything.
   */
  admit?(specs: readonly VmSpec[]): void;
  /** Starts booting the VM; resolves once the launch is under way. Reports `booted` when the guest is up. */
  start(spec: VmSpec): Promise<void>;
  /** ACPI power-down with a deadline, then kill; `force` kills at once. Reports `halted` (requested). */
  stop(instanceId: string, opts: { readonly force: boolean }): Promise<void>;
  /** A hardware-style reset; the VM stays up. */
  reboot(instanceId: string): Promise<void>;
  /** Kills the VM and deletes its disk. Reports `destroyed`. */
  destroy(instanceId: string): Promise<void>;
  /**
   * After a nestbox restart: takes over a VM that was running. Resolves true when it is still up (the
   * driver watches it again), false when it is gone and must be started anew.
   */
  adopt(spec: VmSpec): Promise<boolean>;
  /**
   * After a restart, once every recorded VM was adopted or started: stops any VM of this driver whose
   * instance is not in `live`, and deletes what is left of instances not in `known` at all, so no VM
   * is left orphaned. Optional: a driver that keeps nothing across restarts has nothing to sweep.
   */
  sweep?(live: ReadonlySet<string>, known: ReadonlySet<string>): Promise<void>;
  /** The VM's serial console output so far, or undefined when the driver has none for it. */
  consoleOutput(instanceId: string): Promise<string | undefined>;
  /** Stops watching; VMs are left as they are so a restart can adopt them. */
  close(): Promise<void>;
}

export type DriverFactory = (events: VmEventSink) => VmDriver;
