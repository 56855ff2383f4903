/** Types of scripts/ensure-built.mjs, for the tests (test/startup.test.ts). */
export declare const OUTPUTS: readonly string[];
export interface Fingerprint {
  readonly hash: string;
  readonly files: number;
  readonly newestMs: number;
  readonly newest: string | undefined;
}
export type Freshness = { readonly fresh: true } | { readonly fresh: false; readonly reason: string };
export declare function fingerprint(root: string): Fingerprint;
export declare function freshness(root: string): Freshness;
export declare function beginBuild(root: string): void;
export declare function finishBuild(root: string): void;
export declare function ensureBuilt(root: string, opts?: { readonly prepare?: boolean }): number;
