#!/usr/bin/env node
/** The command-line entry point: `nestbox serve [options]`, `nestbox images …`, `nestbox help`. */
import { DEFAULT_CREDENTIALS, USAGE, UsageError, parseArgs } from '../config.js';
import { createLogger } from '../logger.js';
import { resolve } from 'node:path';
import { StartupError, startNestbox } from '../main.js';
import { AccountsFileError } from '../accounts.js';
import { FAULTS_USAGE, faultsCommand } from './faults.js';

async function serve(argv: readonly string[]): Promise<void> {
  const config = parseArgs(argv);
  const log = createLogger({ quiet: config.quiet });
  const nestbox = await startNestbox(config, log);
  // Before anything is printed: whoever reads the banner may stop the server at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    nestbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.warn(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const creds = config.credentials?.[0];
  // The secret is never printed: only where it comes from (the built-in default is no secret: it is documented).
  const fromEnv = config.secretSource !== 'default';
  const secretShown = fromEnv ? `from ${config.secretSource} (not shown)` : `the default, '${DEFAULT_CREDENTIALS.secretAccessKey}'`;
  const secretForShell = fromEnv ? `"$${config.secretSource}"` : DEFAULT_CREDENTIALS.secretAccessKey;
  log.info(`nestbox listening on ${nestbox.endpoint}`);
  log.info(`  console  : ${nestbox.endpoint}/console`);
  log.info(`  data dir : ${config.dataDir}`);
  const store = nestbox.services.store;
  log.info(`  state    : ${store.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${store.location}`);
  if (config.role !== 'all' || nestbox.hostId) log.info(`  role     : ${config.role}${nestbox.hostId ? `, VM host ${nestbox.hostId}` : ''}`);
  log.info(`  driver   : ${nestbox.driverName}${config.driver === 'auto' ? ' (auto)' : ''}`);
  log.info(`  catalog  : ${config.catalog}`);
  if (config.accounts && creds) {
    // --accounts: the accounts and their access keys with their permissions; secrets stay in the file.
    log.info(`  auth     : SigV4, ${config.accounts.length} account(s) from ${config.accountsFile} (secrets not shown)`);
    for (const a of config.accounts) {
      log.info(`    account ${a.id}: ${a.keys.map((k) => `'${k.accessKeyId}' (${k.permission})`).join(', ')}`);
    }
  } else {
    log.info(
      creds
        ? `  auth     : SigV4, access key '${creds.accessKeyId}', secret: ${secretShown}, account ${creds.accountId}`
        : `  auth     : off (--no-auth)${config.accounts ? `, every request is account ${config.defaultAccount}` : ''}`,
    );
  }
  if (config.consoleSourceMaps) log.info('  console  : source maps served (--console-source-maps)');
  log.info(
    creds
      ? `  try      : AWS_ACCESS_KEY_ID=${shellWord(creds.accessKeyId)} AWS_SECRET_ACCESS_KEY=${config.accounts ? '…' : secretForShell} aws --region ${config.defaultRegion} --endpoint-url ${nestbox.endpoint} ec2 describe-instances`
      : `  try      : AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws --region ${config.defaultRegion} --endpoint-url ${nestbox.endpoint} ec2 describe-instances`,
  );
}

/** A word as a POSIX shell reads it back: bare when it is plain, else single-quoted. */
const shellWord = (s: string) => (/^[A-Za-z0-9_./:@%+=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      // No command starts nothing: a bare `nestbox` must never become a second server by accident.
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = 2;
      return;
    case 'serve':
      return serve(rest);
    case 'images': {
      // The qemu driver's code is loaded only for the commands that use it, not by `serve`.
      const { imagesCommand } = await import('../compute/qemu/index.js');
      process.exitCode = await imagesCommand(rest, {
        dataDir: resolve('.nestbox'),
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
      });
      return;
    }
    case 'faults':
      process.exitCode = await faultsCommand(rest, {
        env: process.env,
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
      });
      return;
    case 'help':
    case '--help':
    case '-h': {
      const { IMAGES_USAGE } = await import('../compute/qemu/index.js');
      process.stdout.write(`${USAGE}\n\n${IMAGES_USAGE}\n\n${FAULTS_USAGE}\n`);
      return;
    }
    default:
      if (command.startsWith('-')) throw new UsageError(`no command given (to run the server: nestbox serve ${argv.join(' ')})`);
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof StartupError || err instanceof AccountsFileError) {
    process.stderr.write(`nestbox: ${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`nestbox: ${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') process.stderr.write(`nestbox: the port is already in use (${e.message}); pick another with --port\n`);
  else process.stderr.write(`nestbox: ${e.stack ?? String(err)}\n`);
  process.exit(1);
});
