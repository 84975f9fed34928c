// Types for scripts/ensure-build.js (plain ESM so it runs without tsx), for the companion's TS code.
export interface EnsureBuildOptions {
  /** Repository root; defaults to the folder above scripts/. */
  root?: string;
  /** Build even when build/ looks up to date. */
  force?: boolean;
  /** Stream vite's output instead of printing only one line. */
  verbose?: boolean;
  /** Where the one-line summary goes; defaults to console.log. */
  log?: (line: string) => void;
}

export interface EnsureBuildResult {
  built: boolean;
  /** Why it built; null when it did not. */
  reason: string | null;
  ms: number;
}

/** Why a build is needed, or null when build/ is up to date. */
export function buildReason(root?: string): string | null;

/** Builds the web app into build/ when missing or stale. Rejects with vite's output if the build fails. */
export function ensureBuild(options?: EnsureBuildOptions): Promise<EnsureBuildResult>;
