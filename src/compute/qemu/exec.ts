/** Small helpers to run programs without a shell: argv arrays only, output captured, errors that say what failed. */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (${code === null ? 'killed' : `exit ${code}`})${stderr.trim() ? `: ${lastLines(stderr, 5)}` : ''}`);
  }
}

export const lastLines = (text: string, n: number) => text.trim().split('\n').slice(-n).join('\n');

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cmd args`, resolves with its output when it exits 0, rejects with a CommandError otherwise. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.timeoutMs ? { timeout: opts.timeoutMs, killSignal: 'SIGKILL' as const } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandError([cmd, ...args].join(' '), code, stderr));
    });
  });
}

/** `a | b`: a's stdout into b's stdin; resolves when both exit 0. */
export function pipeline2(
  a: { cmd: string; args: readonly string[] },
  b: { cmd: string; args: readonly string[] },
  opts: { cwd?: string } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const first = spawn(a.cmd, a.args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const second = spawn(b.cmd, b.args, { cwd: opts.cwd, stdio: ['pipe', 'ignore', 'pipe'] });
    first.stdout.pipe(second.stdin);
    second.stdin.on('error', () => undefined); // EPIPE when b exits early; its exit code tells
    const errs = ['', ''];
    first.stderr.on('data', (d: Buffer) => (errs[0] += d.toString()));
    second.stderr.on('data', (d: Buffer) => (errs[1] += d.toString()));
    let pending = 2;
    let failed: Error | undefined;
    const done = (i: number, cmd: string, args: readonly string[]) => (code: number | null) => {
      if (code !== 0 && !failed) failed = new CommandError([cmd, ...args].join(' '), code, errs[i] ?? '');
      if (--pending === 0) (failed ? reject(failed) : resolve());
    };
    first.on('error', (e) => reject(new Error(`${a.cmd}: ${e.message}`)));
    second.on('error', (e) => reject(new Error(`${b.cmd}: ${e.message}`)));
    first.on('close', done(0, a.cmd, a.args));
    second.on('close', done(1, b.cmd, b.args));
  });
}

/** The absolute path of an executable found on PATH, or undefined. */
export function which(name: string, path = process.env.PATH ?? ''): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
