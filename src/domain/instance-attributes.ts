/**
 * Instance attributes (DescribeInstanceAttribute / ModifyInstanceAttribute) as pure rules: user data,
 * the shutdown behaviour, stop and termination protection, and what an instance-type change does.
 * RunInstances uses the same user-data and shutdown-behaviour checks, so each rule is written once.
 */
import { type CpuSettings, defaultCpuSettings } from './cpu-options.js';
import { Errors } from './errors.js';
import type { InstanceRecord } from './instance.js';
import type { InstanceTypeFacts } from './instance-types.js';

// --- user data ------------------------------------------------------------------------------------

/** EC2's limit, on the data before base64 encoding. */
export const MAX_USER_DATA_BYTES = 16 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** User data given as base64 (whitespace ignored): at most 16 KB once decoded. Returns it without whitespace. */
export function checkUserData(base64: string): string {
  const compact = base64.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1) throw Errors.userDataNotBase64();
  if (Buffer.byteLength(compact, 'base64') > MAX_USER_DATA_BYTES) throw Errors.userDataTooLarge(MAX_USER_DATA_BYTES);
  return compact;
}

// --- shutdown behaviour ---------------------------------------------------------------------------

export type ShutdownBehavior = 'stop' | 'terminate';

export function parseShutdownBehavior(value: string, param: string): ShutdownBehavior {
  if (value !== 'stop' && value !== 'terminate') throw Errors.invalidValueFor(param, value, 'Valid values: stop, terminate.');
  return value;
}

// --- stop and termination protection ----------------------------------------------------------------

/**
 * OperationNotPermitted when an API stop or terminate would change a protected instance. Stop
 * protection also refuses termination (EC2 UG "Enable stop protection"); termination protection is
 * named first when both are on. A shutdown from inside the guest is not an API call and is not refused.
 */
export function checkApiProtection(rec: InstanceRecord, action: 'stop' | 'terminate'): void {
  if (action === 'terminate' && rec.disableApiTermination) {
    throw Errors.operationNotPermitted(rec.id, 'terminated', 'disableApiTermination');
  }
  if (rec.disableApiStop) {
    throw Errors.operationNotPermitted(rec.id, action === 'stop' ? 'stopped' : 'terminated', 'disableApiStop');
  }
}

/**
 * What can change on a live instance (protection, the shutdown behaviour, metadata options, monitoring)
 * can change in any state but while it is shutting down or once it is terminated.
 */
export function checkNotTerminating(rec: Pick<InstanceRecord, 'id' | 'state'>): void {
  if (rec.state === 'shutting-down' || rec.state === 'terminated') {
    throw Errors.incorrectInstanceState(rec.id, 'modified', rec.state);
  }
}

// --- instance type change -------------------------------------------------------------------------

export interface TypeChange {
  readonly cpu: CpuSettings;
  /** nested virtualization was enabled and the change turned it off */
  readonly nestedVirtualizationTurnedOff: boolean;
}

/**
 * The CPU settings after a change to the type `to` (EC2 UG "CPU options rules": the CPU options change
 * to the new type's defaults), or the error that forbids the change. Core and thread counts become the
 * new type's defaults; a feature toggle that had been set (nested virtualization, AMD SEV-SNP) is off
 * afterwards and shows `disabled`, so a change that turned nested virtualization off says so instead
 * of dropping the key as if it had never been set.
 */
export function typeChange(
  rec: Pick<InstanceRecord, 'instanceType' | 'architecture' | 'hibernationConfigured' | 'cpu'>,
  to: InstanceTypeFacts,
): TypeChange {
  if (to.architecture !== rec.architecture) {
    throw Errors.instanceTypeChangeNotAllowed(
      rec.instanceType,
      to.type,
      `The architecture '${to.architecture}' of the instance type does not match ` +
        `the architecture '${rec.architecture}' of the instance's AMI.`,
    );
  }
  if (rec.hibernationConfigured && !to.hibernationSupported) throw Errors.hibernationNotSupported(to.type);
  const { amdSevSnp, nestedVirtualization } = rec.cpu;
  return {
    cpu: {
      ...defaultCpuSettings(to),
      ...(amdSevSnp ? { amdSevSnp: 'disabled' as const } : {}),
      ...(nestedVirtualization ? { nestedVirtualization: 'disabled' as const } : {}),
    },
    nestedVirtualizationTurnedOff: nestedVirtualization === 'enabled',
  };
}
