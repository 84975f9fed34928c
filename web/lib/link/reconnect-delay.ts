import { backoffDelayMs, reconnectDelayMs, type BackoffSchedule } from '../../../protocol/mesh/backoff.ts';

/** While the page is visible: 0.25 s, 0.5 s, … capped at 3 s. */
const VISIBLE_BACKOFF: BackoffSchedule = { baseMs: 250, capMs: 3_000 };

/**
 * Backoff for the browser's link to its own companion. While someone is looking at the page the
 * companion is usually one restart away, so retry fast: the user should see "Online" within a
 * few seconds of it answering. A hidden tab falls back to the mesh schedule (2 s … 60 s) and is
 * nudged at once when it becomes visible again.
 */
export function appLinkReconnectDelay(attempt: number, visible: boolean, random: () => number = Math.random): number {
  return visible ? backoffDelayMs(attempt, VISIBLE_BACKOFF, random) : reconnectDelayMs(attempt, random);
}
