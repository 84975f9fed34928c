// Shared helpers for `npm run bench`: timing loops, percentiles, loopback servers, temp dirs and
// the result table. Everything binds and dials 127.0.0.1 only.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export { yieldToLoop };
export const HOST = '127.0.0.1';
export const now = (): number => performance.now();

/** One line of the table: a Canopy figure next to its baseline measured in the same run. */
export interface Row {
  section: string;
  measurement: string;
  unit: '/s' | 'ms' | 'KiB' | 'B';
  canopy: number;
  baseline: number;
  /** What the baseline is, e.g. "noble" or "bare ws". */
  baselineName: string;
  /** What was sent or measured, for the JSON report and the notes under the table. */
  detail?: string;
}

export const ratioOf = (row: Row): number => row.canopy / row.baseline;

/** Issue 10's targets are reported, never asserted: "target p99 <= 2 ms: met". */
export const targetStatus = (target: string, met: boolean): string => `target ${target}: ${met ? 'met' : 'NOT met'}`;

/**
 * Bare ws 200 B messages/s on this machine when issue 10 set its targets in absolute figures. The
 * same VM has since measured anywhere from 0.27x to 0.55x that, so each such target is also
 * reported scaled by this run's bare ws rate: the target as a ratio to bare ws, as the issue asks.
 */
export const TARGETS_SET_AT_BARE_WS = 423_016;

/** "target <= 2 ms: NOT met; at this run's speed (bare ws 0.27x of when it was set) <= 7.3 ms: met". */
export function scaledTargetStatus(value: number, target: number, unit: string, higherIsBetter: boolean, bareWsRate: number): string {
  const speed = bareWsRate / TARGETS_SET_AT_BARE_WS;
  const scaled = higherIsBetter ? target * speed : target / speed;
  const meets = (t: number) => (higherIsBetter ? value >= t : value <= t);
  const op = higherIsBetter ? '>=' : '<=';
  const show = (n: number) => `${n >= 100 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(3))} ${unit}`;
  return `${targetStatus(`${op} ${show(target)}`, meets(target))}; at this run's speed (bare ws ${speed.toFixed(2)}x of when it was set), ${op} ${show(scaled)}: ${meets(scaled) ? 'met' : 'NOT met'}`;
}

export interface RateOptions {
  warmupMs?: number;
  durationMs?: number;
}

/** Operations per second of a synchronous operation, after a warm-up. */
export function measureRate(op: () => void, { warmupMs = 250, durationMs = 1000 }: RateOptions = {}): number {
  const warmEnd = now() + warmupMs;
  while (now() < warmEnd) op();
  let count = 0;
  const start = now();
  const stop = start + durationMs;
  let t = start;
  while (t < stop) {
    op();
    count++;
    t = now();
  }
  return count / ((t - start) / 1000);
}

/** Operations per second of an asynchronous operation run one at a time, after a warm-up. */
export async function measureRateAsync(op: () => Promise<void>, { warmupMs = 300, durationMs = 2000 }: RateOptions = {}): Promise<number> {
  const warmEnd = now() + warmupMs;
  while (now() < warmEnd) await op();
  let count = 0;
  const start = now();
  const stop = start + durationMs;
  let t = start;
  while (t < stop) {
    await op();
    count++;
    t = now();
  }
  return count / ((t - start) / 1000);
}

export interface CompareOptions extends RateOptions {
  rounds?: number;
}

/**
 * Canopy and its baseline take turns (`rounds` times each, after one warm-up each) and each gets
 * the median of its rounds: load from elsewhere on the machine then hits both sides alike.
 */
export async function compareRates(
  canopy: () => void | Promise<void>,
  baseline: () => void | Promise<void>,
  { rounds = 3, warmupMs = 250, durationMs = 400 }: CompareOptions = {},
): Promise<{ canopy: number; baseline: number }> {
  // One call tells whether the operation is asynchronous (and counts as warm-up).
  const rateOf = async (op: () => void | Promise<void>) => {
    const probe = op();
    if (!(probe instanceof Promise)) return (options: RateOptions) => measureRate(op as () => void, options);
    await probe;
    return (options: RateOptions) => measureRateAsync(op as () => Promise<void>, options);
  };
  const sides = [await rateOf(canopy), await rateOf(baseline)] as const;
  for (const rate of sides) await rate({ warmupMs, durationMs: 1 });
  const rates: [number[], number[]] = [[], []];
  for (let round = 0; round < rounds; round++) {
    for (const [i, rate] of sides.entries()) rates[i]!.push(await rate({ warmupMs: 0, durationMs }));
  }
  return { canopy: percentile(rates[0], 50), baseline: percentile(rates[1], 50) };
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/**
 * A loopback port that was free a moment ago. Needed where the API takes a fixed port (the
 * companion advertises its mesh port in invites, so it cannot listen on port 0).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `done()` is true, checking after every turn of the event loop. */
export async function until(done: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!done()) {
    if (now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await yieldToLoop();
  }
}

/** Temp data dirs, all removed by cleanup() at the end of the run. */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), `canopy-bench-${prefix}-`));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

const formatNumber = (value: number, unit: Row['unit']): string => {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'ms') return `${value < 10 ? value.toFixed(3) : value.toFixed(1)} ms`;
  if (unit === 'KiB') return `${value.toFixed(1)} KiB`;
  if (unit === 'B') return `${Math.round(value).toLocaleString('en-US')} B`;
  return `${Math.round(value).toLocaleString('en-US')} /s`;
};

const formatRatio = (ratio: number): string => {
  if (!Number.isFinite(ratio)) return 'n/a';
  if (ratio >= 10) return `${ratio.toFixed(1)}x`;
  if (ratio >= 0.1) return `${ratio.toFixed(2)}x`;
  return `${ratio.toPrecision(2)}x`;
};

/** The human-readable table: measurement | canopy | baseline | ratio. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['measurement', 'canopy', 'baseline', 'ratio'];
  const cells: string[][] = [];
  let section = '';
  const sectionLines = new Map<number, string>();
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      sectionLines.set(cells.length, section);
    }
    cells.push([
      `  ${row.measurement}`,
      formatNumber(row.canopy, row.unit),
      `${formatNumber(row.baseline, row.unit)} (${row.baselineName})`,
      formatRatio(ratioOf(row)),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-+-')];
  cells.forEach((c, i) => {
    const title = sectionLines.get(i);
    if (title) out.push(title);
    out.push(line(c));
  });
  return out.join('\n');
}
