/** Plain line logging to stderr/stdout; `quiet` silences per-request lines (tests, benchmarks). */
export interface Logger {
  info(line: string): void;
  warn(line: string): void;
  request(line: string): void;
}

export function createLogger(opts: { readonly quiet?: boolean } = {}): Logger {
  const stamp = () => new Date().toISOString();
  return {
    info: (line) => process.stdout.write(`${stamp()} ${line}\n`),
    warn: (line) => process.stderr.write(`${stamp()} WARN ${line}\n`),
    request: opts.quiet ? () => {} : (line) => process.stdout.write(`${stamp()} ${line}\n`),
  };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, request: () => {} };
