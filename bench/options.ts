/** What the benchmarks share: reading `--flag value` options, and order statistics. */

export interface FlagReader {
  /** the flag being read */
  readonly flag: string;
  /** the flag's value (the next argument) */
  value(): string;
  /** the flag's value as a whole number of at least `min` */
  int(min?: number): number;
}

/** Calls `onFlag` for each `--flag`; it reads the flag's value through the reader, or throws. */
export function readFlags(argv: readonly string[], onFlag: (r: FlagReader) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    onFlag({
      flag,
      value,
      int(min = 1) {
        const n = Number(value());
        if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs a whole number of at least ${min}`);
        return n;
      },
    });
  }
}

/** Nearest-rank quantile. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);
