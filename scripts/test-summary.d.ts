// Types for scripts/test-summary.js (plain ESM so `npm test` runs without tsx), for its tests.

/** As spawnSync returns it: `code` is null when the runner was killed or could not start. */
export interface ExitStatus {
  code: number | null;
  signal?: string | null;
}

export interface Summary {
  passed: number;
  failed: number;
  /** Skipped, pending and todo tests: reported, neither passed nor failed. */
  skipped: number;
  /** One line per reason the run is not green, prefixed with the runner's name. */
  problems: string[];
}

/** `report`: the parsed `--reporter=json` output of `vitest run`, or null when there is none. */
export function summarizeVitest(exit: ExitStatus, report: unknown): Summary;

/** `report`: the parsed output of Playwright's json reporter, or null when there is none. */
export function summarizePlaywright(exit: ExitStatus, report: unknown): Summary;
