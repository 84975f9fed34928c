/** A throttled key (a browser, a username, an address) and how many failures it gets for free. */
export interface ThrottleKey {
  key: string;
  freeFailures: number;
}

export const THROTTLE_LIMITS = {
  /** The first wait after the free failures; it doubles with every further failure. */
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  /** A key with no attempt for this long starts afresh. */
  forgetAfterMs: 30 * 60_000,
  /** Keys remembered at once; the least recently tried is forgotten first. */
  maxKeys: 10_000,
};

interface Entry {
  /** Failed attempts, counting those still being checked. */
  failures: number;
  /** Attempts being checked now (counted in `failures` until they turn out right). */
  checking: number;
  blockedUntil: number;
  lastAttemptAt: number;
}

/**
 * Slows password (and setup code) guessing: each key has a few free failures, then must wait
 * 1 s, 2 s, 4 s, … (capped at 5 minutes) before each further try — progressive delays rather than
 * a long lockout, so a stranger cannot lock the owner out for long. An attempt is counted when it
 * starts (`reserve`), before the slow password hash, so guesses sent in parallel cannot all slip
 * through before the first one fails; a success clears its keys. In memory only: a restart
 * forgets the counts, which is itself a slow way to guess.
 */
export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits = THROTTLE_LIMITS,
  ) {}

  /** Milliseconds until every one of these keys may try again; 0 when allowed now. */
  retryAfter(keys: readonly ThrottleKey[]): number {
    const now = this.now();
    let wait = 0;
    for (const { key, freeFailures } of keys) {
      const entry = this.current(key, now);
      if (!entry) continue;
      wait = Math.max(wait, entry.blockedUntil - now);
      // The allowance is spent by attempts still being checked: wait for their outcome.
      if (entry.checking > 0 && entry.failures >= freeFailures) wait = Math.max(wait, this.limits.baseDelayMs);
    }
    return wait;
  }

  /**
   * Wrong attempts these keys may still make before one of them starts a wait (0: the next wrong
   * one waits), so the login form can warn before the waits begin.
   */
  attemptsLeft(keys: readonly ThrottleKey[]): number {
    const now = this.now();
    return Math.max(0, Math.min(...keys.map(({ key, freeFailures }) => freeFailures - (this.current(key, now)?.failures ?? 0))));
  }

  /** Counts one attempt against every key before it is checked; settle it with fail, succeed or refund. */
  reserve(keys: readonly ThrottleKey[]): void {
    const now = this.now();
    for (const { key } of keys) {
      const entry = this.current(key, now) ?? { failures: 0, checking: 0, blockedUntil: 0, lastAttemptAt: now };
      entry.failures++;
      entry.checking++;
      entry.lastAttemptAt = now;
      // Re-inserted so the map's order is least recently tried first.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    while (this.entries.size > this.limits.maxKeys) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The attempt was wrong: past the free failures, the next try waits 1 s, 2 s, 4 s, … */
  fail(keys: readonly ThrottleKey[]): void {
    const now = this.now();
    for (const { key, freeFailures } of keys) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      entry.checking = Math.max(0, entry.checking - 1);
      if (entry.failures >= freeFailures) {
        const delay = Math.min(this.limits.baseDelayMs * 2 ** (entry.failures - freeFailures), this.limits.maxDelayMs);
        entry.blockedUntil = Math.max(entry.blockedUntil, now + delay);
      }
    }
  }

  /** The attempt was never checked (refused as busy): it does not count. */
  refund(keys: readonly ThrottleKey[]): void {
    for (const { key } of keys) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      entry.failures = Math.max(0, entry.failures - 1);
      entry.checking = Math.max(0, entry.checking - 1);
    }
  }

  /** The attempt was right: these keys start afresh. */
  succeed(keys: readonly ThrottleKey[]): void {
    for (const { key } of keys) this.entries.delete(key);
  }

  private current(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.checking === 0 && now - entry.lastAttemptAt > this.limits.forgetAfterMs && now >= entry.blockedUntil) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
