const BASE_MS = 2_000;
const CAP_MS = 60_000;
const JITTER = 0.2;

/**
 * Delay before reconnect attempt `attempt` (0-based): 2 s, 4 s, 8 s, ... capped at 60 s, plus up
 * to +20 % jitter so peers that lost each other at the same moment do not redial in lockstep.
 * Jitter only ever adds, so the schedule is a floor and 72 s a ceiling.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const n = attempt > 0 ? Math.floor(attempt) : 0; // NaN and negatives fail the comparison
  // 2^n overflows to Infinity for huge n; Math.min still yields the cap.
  const base = Math.min(BASE_MS * 2 ** n, CAP_MS);
  const r = random();
  const fraction = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.floor(base * (1 + JITTER * fraction));
}
