#!/usr/bin/env node
/** `nestbox serve [options]`: the command-line entry point. */
import { USAGE, UsageError, parseArgs } from '../config.js';
import { createLogger } from '../logger.js';
import { resolve } from 'node:path';
import { IMAGES_USAGE, imagesCommand } from '../compute/qemu/index.js';
import { StartupError, startNestbox } from '../main.js';

async function serve(argv: readonly string[]): Promise<void> {
  const config = parseArgs(argv);
  const log = createLogger({ quiet: config.quiet });
  const nestbox = await startNestbox(config, log);
  const creds = config.credentials?.[0];
  log.info(`nestbox listening on ${nestbox.endpoint}`);
  log.info(`  console  : ${nestbox.endpoint}/console`);
  log.info(`  data dir : ${config.dataDir}`);
  log.info(`  driver   : ${nestbox.driverName}${config.driver === 'auto' ? ' (auto)' : ''}`);
  log.info(`  catalog  : ${config.catalog}`);
  log.info(
    creds
      ? `  auth     : SigV4, access key '${creds.accessKeyId}' / secret '${creds.secretAccessKey}', account ${creds.accountId}`
      : '  auth     : off (--no-auth)',
  );
  log.info(`  try      : AWS_ACCESS_KEY_ID=${creds?.accessKeyId ?? 'test'} AWS_SECRET_ACCESS_KEY=${creds?.secretAccessKey ?? 'test'} aws --region ${config.defaultRegion} --endpoint-url ${nestbox.endpoint} ec2 describe-instances`);
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
}

async function main(argv: readonly string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'images':
      process.exitCode = await imagesCommand(rest, {
        dataDir: resolve('.nestbox'),
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
      });
      return;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n\n${IMAGES_USAGE}\n`);
      return;
    default:
      // `nestbox --port 4600` is `nestbox serve --port 4600`.
      if (command.startsWith('--')) return serve(argv);
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof StartupError) {
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
