/** `nestbox …` as a child process (the real CLI, through tsx), for the start-up tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  /** everything written so far */
  stdout(): string;
  stderr(): string;
  /** resolves with the endpoint once the server has printed its banner; rejects if it exits first */
  listening(timeoutMs?: number): Promise<string>;
  /** resolves with the exit code (or the signal's name) */
  exited(timeoutMs?: number): Promise<number | string>;
}

export function nestboxCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const deadline = <T>(p: Promise<T>, ms: number, what: string) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms\nstdout: ${out}\nstderr: ${err}`)), ms).unref()),
    ]);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    listening: (timeoutMs = 20_000) =>
      deadline(
        new Promise<string>((resolve, reject) => {
          const check = () => {
            // the whole banner: its last line is the `try` example
            const m = /listening on (http:\/\/\S+)/.exec(out);
            if (m && /  try      : .*\n/.test(out)) {
              child.stdout?.off('data', check);
              resolve(m[1] as string);
            }
          };
          child.stdout?.on('data', check);
          check();
          void exit.then((code) => reject(new Error(`nestbox exited (${code}) before listening\nstdout: ${out}\nstderr: ${err}`)));
        }),
        timeoutMs,
        'nestbox serve',
      ),
    exited: (timeoutMs = 20_000) => deadline(exit, timeoutMs, 'nestbox exit'),
  };
}
