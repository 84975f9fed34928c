/** A throttled key and how many failures it may have within the window. */
export interface ThrottleKey {
  key: string;
  maxFailures: number;
}

/**
 * Slows password guessing through the web app: once a key (a browser, a username) has had its
 * allowance of wrong passwords within `windowMs`, further tries are refused until the window
 * passes. In memory only: a restart forgets the count, which is itself a slow way to guess.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly windowMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until another try is allowed for all of these keys; 0 when allowed now. */
  retryAfter(keys: ThrottleKey[]): number {
    const now = this.now();
    let wait = 0;
    for (const { key, maxFailures } of keys) {
      const recent = this.recent(key, now);
      if (recent.length >= maxFailures) wait = Math.max(wait, recent[recent.length - maxFailures]! + this.windowMs - now);
    }
    return wait;
  }

  fail(keys: ThrottleKey[]): void {
    const now = this.now();
    for (const { key } of keys) this.failures.set(key, [...this.recent(key, now), now]);
  }

  succeed(keys: ThrottleKey[]): void {
    for (const { key } of keys) this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => now - at < this.windowMs);
  }
}
