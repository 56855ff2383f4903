/** The real OpenSSH client against instances' public addresses, for the real-VM tests. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Instance } from '@aws-sdk/client-ec2';

export interface SshResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface SshTarget {
  readonly host: string;
  readonly port: number;
  /** the private key file (mode 0600) */
  readonly key: string;
  readonly user?: string;
}

/** Where `ssh` reaches an instance: its public address, on the port the server forwards to the guest's 22. */
export function sshTarget(i: Instance, key: string): SshTarget {
  if (!i.PublicIpAddress) throw new Error(`${i.InstanceId} has no public IP address`);
  const tagged = i.Tags?.find((t) => t.Key === 'nestbox:ssh-port')?.Value;
  return { host: i.PublicIpAddress, port: tagged ? Number(tagged) : 22, key };
}

/** Writes a private key as ssh wants it (mode 0600). */
export function writeKey(path: string, material: string): string {
  writeFileSync(path, material.endsWith('\n') ? material : `${material}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** Runs `command` on the instance as `admin` (no host-key prompts, no passwords, a connect deadline). */
export function ssh(target: SshTarget, command: string, timeoutMs = 120_000): Promise<SshResult> {
  const args = [
    '-i', target.key,
    '-p', String(target.port),
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR',
    '-o', 'ConnectTimeout=5',
    '-o', 'IdentitiesOnly=yes',
    `${target.user ?? 'admin'}@${target.host}`,
    command,
  ];
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `ssh`, retried until the guest's sshd answers (a boot under TCG), or fails after `timeoutMs`. */
export async function sshWhenUp(target: SshTarget, command: string, timeoutMs: number): Promise<SshResult & { waitedMs: number }> {
  const t0 = Date.now();
  for (;;) {
    const r = await ssh(target, command);
    // 255: ssh itself failed (connection refused, reset while sshd starts, auth not ready)
    if (r.code !== 255) return { ...r, waitedMs: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`ssh ${target.user ?? 'admin'}@${target.host} -p ${target.port} failed for ${timeoutMs} ms: ${r.stderr.trim()}`);
    }
    await new Promise((res) => setTimeout(res, 250));
  }
}

/**
 * What a TCP server at host:port says first, within 2 s: its first line (sshd's `SSH-2.0-OpenSSH_…`), ''
 * when it says nothing, `refused` when nothing listens there (a public address's port not forwarded).
 */
export function firstLine(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    const done = (line: string) => {
      socket.destroy();
      resolve(line);
    };
    socket.setTimeout(2000, () => done(text.trim()));
    socket.on('data', (b: Buffer) => {
      text += b.toString('latin1');
      if (text.includes('\n')) done(text.slice(0, text.indexOf('\n')).trim());
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : text.trim()));
    socket.on('close', () => done(text.trim()));
  });
}

/** Polls `firstLine` until it matches `pattern`; how long that took (fails once `timeoutMs` have passed). */
export async function firstLineWithin(host: string, port: number, pattern: RegExp, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const line = await firstLine(host, port);
    if (pattern.test(line)) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) assert.fail(`${host}:${port} said ${JSON.stringify(line)}, not ${pattern}, for ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 20));
  }
}
