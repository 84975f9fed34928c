const JITTER = 0.2;

export interface BackoffSchedule {
  baseMs: number;
  capMs: number;
}

/** Between peers: 2 s, 4 s, 8 s, ... capped at 60 s. */
export const MESH_BACKOFF: BackoffSchedule = { baseMs: 2_000, capMs: 60_000 };

/**
 * Delay before attempt `attempt` (0-based) on `schedule`: base, 2 × base, 4 × base, ... capped,
 * plus up to +20 % jitter so parties that lost each other at the same moment do not redial in
 * lockstep. Jitter only ever adds, so the schedule is a floor and 1.2 × cap a ceiling.
 */
export function backoffDelayMs(attempt: number, schedule: BackoffSchedule, random: () => number = Math.random): number {
  const n = attempt > 0 ? Math.floor(attempt) : 0; // NaN and negatives fail the comparison
  // 2^n overflows to Infinity for huge n; Math.min still yields the cap.
  const base = Math.min(schedule.baseMs * 2 ** n, schedule.capMs);
  const r = random();
  const fraction = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.floor(base * (1 + JITTER * fraction));
}

/** The mesh schedule (2 s … 60 s, 72 s at most with jitter). */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  return backoffDelayMs(attempt, MESH_BACKOFF, random);
}
