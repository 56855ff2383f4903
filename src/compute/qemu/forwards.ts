/**
 * A qemu VM's public address: QEMU user networking (slirp) `hostfwd` rules from a loopback address of
 * this host (the instance's public address) to the TCP ports its security groups open to the world, on
 * the guest's private address. One function (`publicForwards`) gives both the rules a VM starts with
 * (argv.ts: `-netdev user,…,hostfwd=…`) and the rules a running VM must have once the store changed (an
 * Elastic IP associated, a rule authorized or revoked: driver.ts applyNetwork), which the driver changes
 * in place with the human monitor's `hostfwd_remove` / `hostfwd_add` on the user netdev (QMP
 * `human-monitor-command`: QEMU 7.2 has no QMP command for them). `info usernet` lists what a running
 * QEMU forwards, which is how an adopted VM's forwards are known. Pure: no QEMU here.
 */
import type { VmNetwork } from '../driver.js';

/** The id of the VM's user-mode netdev (argv.ts), which the monitor's hostfwd commands name. */
export const USER_NETDEV = 'n0';
/** Ports below this need privileges; without them a public port p is forwarded from p + HIGH_PORT_OFFSET. */
export const LOW_PORT_LIMIT = 1024;
export const HIGH_PORT_OFFSET = 10000;

/** One TCP port of the public address, forwarded to the guest. */
export interface PublicForward {
  /** the public address: a loopback address of this host */
  readonly hostIp: string;
  /** the guest port, or a high one when this host may not bind low ports */
  readonly hostPort: number;
  /** the guest's private address */
  readonly guestIp: string;
  readonly guestPort: number;
}

/** The forwards a VM with this network has: each open port from its public address (none without one). */
export function publicForwards(network: VmNetwork, canBindLowPorts: boolean): PublicForward[] {
  const hostIp = network.publicIp;
  if (!hostIp) return [];
  return network.openTcpPorts.map((port) => ({
    hostIp,
    hostPort: port < LOW_PORT_LIMIT && !canBindLowPorts ? port + HIGH_PORT_OFFSET : port,
    guestIp: network.privateIp,
    guestPort: port,
  }));
}

/** slirp's rule text: `tcp:<host address>:<host port>-<guest address>:<guest port>` (the -netdev option's and hostfwd_add's). */
export const hostfwdRule = (f: PublicForward): string => `tcp:${f.hostIp}:${f.hostPort}-${f.guestIp}:${f.guestPort}`;

/** The monitor command that adds a forward to a running VM; it prints nothing when it worked. */
export const hostfwdAdd = (f: PublicForward): string => `hostfwd_add ${USER_NETDEV} ${hostfwdRule(f)}`;

/** The monitor command that removes a forward (by its host side); it prints `… removed` or `… not found`. */
export const hostfwdRemove = (f: PublicForward): string => `hostfwd_remove ${USER_NETDEV} tcp:${f.hostIp}:${f.hostPort}`;

/** What hostfwd_remove printed means the forward is gone (removed now, or not there at all). */
export const removedOutput = (output: string): boolean => /\b(removed|not found)\b/.test(output);

/** What turns `current` into `desired`: the forwards to remove (first: an address or port may move) and to add. */
export function forwardChanges(
  current: readonly PublicForward[],
  desired: readonly PublicForward[],
): { readonly remove: PublicForward[]; readonly add: PublicForward[] } {
  const has = (list: readonly PublicForward[], f: PublicForward) => list.some((g) => hostfwdRule(g) === hostfwdRule(f));
  return { remove: current.filter((f) => !has(desired, f)), add: desired.filter((f) => !has(current, f)) };
}

/**
 * The forwards `info usernet` lists, e.g.
 *   `  TCP[HOST_FORWARD]  13      127.64.0.5    22     172.31.0.10    22     0     0`
 * (protocol and state, socket, source address and port, destination address and port, queues).
 */
export function parseUsernetForwards(text: string): PublicForward[] {
  const forwards: PublicForward[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*TCP\[HOST_FORWARD\]\s+\S+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)/.exec(line);
    if (m) forwards.push({ hostIp: m[1]!, hostPort: Number(m[2]), guestIp: m[3]!, guestPort: Number(m[4]) });
  }
  return forwards;
}
