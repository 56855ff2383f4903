/**
 * Elastic network interfaces (ENIs) of their own: plain data and rules, no I/O.
 *
 * Every instance has a primary interface (device index 0). Most are derived from the instance record
 * (`eni-` and the instance's own digits: src/domain/instance.ts), made and deleted with it. An interface
 * a user creates (CreateNetworkInterface) is a stored record (kind `network-interface`): it lives in one
 * subnet, keeps its ID, MAC and addresses, and is attached to one instance at a time — at a device index
 * above 0 (AttachNetworkInterface), or as the primary interface of an instance launched with it
 * (RunInstances `NetworkInterface.N.NetworkInterfaceId`). While it is an instance's primary interface,
 * the instance record names it (`primaryInterface`) and keeps the subnet, groups and primary address the
 * VM runs with; the stored record keeps the rest (description, secondary addresses, tags).
 *
 * An attachment ends when its instance is terminated: as with data volumes, nothing is written at
 * termination — an interface whose attachment names a terminated (or purged) instance is read as
 * deleted when the attachment said DeleteOnTermination, otherwise as `available` again (`standing`).
 */
import type { InstanceGroup, InstanceSubnet, Scope } from './instance.js';
import { Errors } from './errors.js';
import { type Cidr, addressIn, isUsableAddress, parseCidr } from './vpc.js';

export interface InterfaceAttachmentRecord {
  readonly instanceId: string;
  /** `eni-attach-…` */
  readonly attachmentId: string;
  readonly deviceIndex: number;
  readonly attachTime: string;
  readonly deleteOnTermination: boolean;
}

export interface NetworkInterfaceRecord extends Scope, InstanceSubnet {
  /** `eni-…` */
  readonly id: string;
  readonly availabilityZone: string;
  readonly description: string;
  readonly groups: readonly InstanceGroup[];
  /** the primary private IPv4 address */
  readonly privateIp: string;
  /** secondary private IPv4 addresses (AssignPrivateIpAddresses), in the order assigned */
  readonly secondaryIps: readonly string[];
  readonly mac: string;
  /** false: ModifyNetworkInterfaceAttribute turned the check off; absent: EC2's default, true */
  readonly sourceDestCheck?: false | undefined;
  readonly createTime: string;
  readonly attachment?: InterfaceAttachmentRecord | undefined;
}

/** What an interface is as it stands: attached, `available`, or gone with its instance. */
export function standing<T extends NetworkInterfaceRecord>(
  eni: T,
  instanceOf: (id: string) => { readonly state: string } | undefined,
): T | undefined {
  const a = eni.attachment;
  if (!a) return eni;
  const instance = instanceOf(a.instanceId);
  if (instance && instance.state !== 'terminated') return eni;
  if (a.deleteOnTermination) return undefined;
  const { attachment: _ended, ...rest } = eni;
  return rest as T;
}

/** EC2's `Status`: `in-use` while attached, else `available`. */
export const interfaceStatus = (eni: Pick<NetworkInterfaceRecord, 'attachment'>): 'in-use' | 'available' =>
  eni.attachment ? 'in-use' : 'available';

/** Every private address an interface holds: its primary and its secondaries. */
export const addressesOf = (eni: Pick<NetworkInterfaceRecord, 'privateIp' | 'secondaryIps'>): string[] => [eni.privateIp, ...eni.secondaryIps];

/** Description: at most 255 characters, as EC2 takes it. */
export function checkDescription(text: string | undefined): string {
  const description = text ?? '';
  if (description.length > 255) throw Errors.invalidValueFor('Description', description, 'Descriptions are at most 255 characters.');
  return description;
}

/**
 * A private address a request names for a subnet: a dotted quad inside the subnet's block, and not one
 * of the five addresses AWS reserves (the first four and the last).
 */
export function checkRequestedAddress(subnet: Pick<InstanceSubnet, 'subnetId' | 'subnetCidr'>, ip: string, param: string): string {
  const cidr: Cidr = parseCidr(subnet.subnetCidr)!;
  if (parseCidr(`${ip}/32`) === undefined) throw Errors.invalidValueFor(param, ip, 'It is not a valid IPv4 address.');
  if (!addressIn(cidr, ip)) {
    throw Errors.invalidParameterValue(`Address ${ip} does not fall within the subnet's address range (${subnet.subnetCidr}, ${subnet.subnetId}).`);
  }
  if (!isUsableAddress(cidr, ip)) {
    throw Errors.invalidParameterValue(`Address ${ip} is reserved by AWS in subnet ${subnet.subnetId} (the first four addresses and the last of ${subnet.subnetCidr}).`);
  }
  return ip;
}
