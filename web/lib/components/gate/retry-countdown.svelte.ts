import { AppError } from '$lib/session.svelte';

/**
 * "Try again in N s" after the companion refused a login as throttled (429) or busy (503): it says
 * how long in `retry_after_seconds`, and the form keeps its button disabled until then.
 */
export class RetryCountdown {
  seconds = $state(0);
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Starts counting when `error` carries a wait; returns whether it did. */
  startFrom(error: unknown): boolean {
    const wait = error instanceof AppError ? Number(error.details?.retry_after_seconds) : NaN;
    if (!(wait > 0)) return false;
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

  stop(): void {
    clearInterval(this.#timer);
    this.seconds = 0;
  }
}
