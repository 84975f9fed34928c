import { AppError } from '$lib/session.svelte';

/**
 * What the companion's refusals of a login (or setup) say about trying again: how many wrong tries
 * are left before the waits begin (`attempts_left`), and how long to wait (`retry_after_seconds`,
 * on the wrong try that starts a wait, on a 429 while waiting, on a 503 when busy). The form keeps
 * its button disabled and counts down until then.
 */
export class RetryCountdown {
  seconds = $state(0);
  /** Wrong tries left before a wait, as the last refusal said; null until one says. */
  attemptsLeft = $state<number | null>(null);
  /** Why the current wait: too many wrong tries, or the companion busy. */
  reason = $state<'throttled' | 'busy'>('throttled');
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Takes in what a refusal says; starts counting when it carries a wait, and returns whether it did. */
  startFrom(error: unknown): boolean {
    if (!(error instanceof AppError)) return false;
    const left = error.details?.attempts_left;
    if (typeof left === 'number' && Number.isInteger(left) && left >= 0) this.attemptsLeft = left;
    const wait = Number(error.details?.retry_after_seconds);
    if (!(wait > 0)) return false;
    this.reason = error.status === 503 ? 'busy' : 'throttled';
    const until = Date.now() + wait * 1000;
    clearInterval(this.#timer);
    const tick = () => {
      this.seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      if (this.seconds === 0) clearInterval(this.#timer);
    };
    tick();
    this.#timer = setInterval(tick, 250);
    return true;
  }

  get waiting(): boolean {
    return this.seconds > 0;
  }

  /** The wait as people read a timer: "0:42", "4:05". */
  get clock(): string {
    return `${Math.floor(this.seconds / 60)}:${String(this.seconds % 60).padStart(2, '0')}`;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.seconds = 0;
  }
}
