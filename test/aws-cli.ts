/**
 * The installed AWS CLI (v1) and Python, driven against a nestbox endpoint the way a user would: each
 * call is a fresh process with test credentials and config files that cannot be the user's.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why the CLI tests cannot run here, or false when they can. */
export function awsMissing(): string | false {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the AWS CLI (`aws`) is not on PATH' : false;
  }
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface AwsCli {
  /** any program (aws, python3) in the CLI's environment */
  run(file: string, args: readonly string[]): Promise<Run>;
  /** `aws ec2 <args> --endpoint-url … --output json`, exit code and output as they are */
  ec2(...args: string[]): Promise<Run>;
  /** the same, which must succeed; its JSON output parsed */
  ec2Json<T = any>(...args: string[]): Promise<T>;
  /** the same, which must fail; its stderr */
  ec2Fails(...args: string[]): Promise<string>;
  describeOne(id: string): Promise<any>;
  /** what `aws ec2 wait instance-<state>` does, polling quickly (the CLI's own waiter polls every 15 s) */
  waitFor(id: string, state: string, timeoutMs?: number): Promise<any>;
  /**
   * Polls `aws ec2 <args>` as quickly as waitFor until `pick` finds `want` in its JSON answer, which it
   * returns: what `aws ec2 wait snapshot-completed` / `image-available` / `volume-in-use` do, without
   * their 15 s delay between polls.
   */
  waitUntil(args: readonly string[], pick: (json: any) => unknown, want: unknown, timeoutMs?: number): Promise<any>;
  /** removes the CLI's home */
  close(): void;
}

export function awsCli(endpoint: string, region = 'us-east-1'): AwsCli {
  const home = mkdtempSync(join(tmpdir(), 'nestbox-awscli-'));
  writeFileSync(join(home, 'config'), '');
  writeFileSync(join(home, 'credentials'), '');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
  });

  const run = (file: string, args: readonly string[]): Promise<Run> =>
    new Promise((resolve, reject) => {
      execFile(file, args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      });
    });
  const ec2 = (...args: string[]) => run('aws', ['ec2', ...args, '--endpoint-url', endpoint, '--output', 'json']);
  const ec2Json = async <T = any>(...args: string[]): Promise<T> => {
    const r = await ec2(...args);
    assert.equal(r.code, 0, `aws ec2 ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  const describeOne = async (id: string) => (await ec2Json('describe-instances', '--instance-ids', id)).Reservations[0].Instances[0];

  return {
    run,
    ec2,
    ec2Json,
    async ec2Fails(...args) {
      const r = await ec2(...args);
      assert.notEqual(r.code, 0, `aws ec2 ${args.join(' ')} should have failed, but printed: ${r.stdout}`);
      return r.stderr;
    },
    describeOne,
    async waitFor(id, state, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const inst = await describeOne(id);
        if (inst.State.Name === state) return inst;
        if (Date.now() > deadline) assert.fail(`${id} still ${inst.State.Name}, never ${state}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async waitUntil(args, pick, want, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const json = await ec2Json(...args);
        const got = pick(json);
        if (got === want) return json;
        if (Date.now() > deadline) assert.fail(`aws ec2 ${args.join(' ')}: still ${String(got)}, never ${String(want)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => rmSync(home, { recursive: true, force: true }),
  };
}
