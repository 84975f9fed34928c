import { reconnectDelayMs } from '../../../protocol/mesh/backoff.ts';

const VISIBLE_BASE_MS = 250;
const VISIBLE_CAP_MS = 3_000;

/**
 * Backoff for the browser's link to its own companion. While someone is looking at the page the
 * companion is usually one restart away, so retry fast (0.25 s, 0.5 s, … capped at 3 s): the user
 * should see "Online" within a few seconds of it answering. A hidden tab falls back to the mesh
 * schedule (2 s … 60 s) and is nudged at once when it becomes visible again.
 */
export function appLinkReconnectDelay(attempt: number, visible: boolean, random: () => number = Math.random): number {
  if (!visible) return reconnectDelayMs(attempt, random);
  const n = attempt > 0 ? Math.floor(attempt) : 0;
  const base = Math.min(VISIBLE_BASE_MS * 2 ** n, VISIBLE_CAP_MS);
  const r = random();
  const jitter = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) * 0.2 : 0;
  return Math.floor(base * (1 + jitter));
}
