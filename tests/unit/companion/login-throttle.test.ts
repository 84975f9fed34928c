import { describe, expect, it } from 'vitest';
import { LoginThrottle, THROTTLE_LIMITS } from '../../../companion/service/login-throttle.ts';

const device = { key: 'device:a', freeFailures: 3 };

function throttleAt(start = 1_000_000) {
  const clock = { now: start };
  return { clock, throttle: new LoginThrottle(() => clock.now) };
}

/** One whole wrong attempt: counted first, then settled as a failure. */
function failOnce(throttle: LoginThrottle, keys = [device]): void {
  throttle.reserve(keys);
  throttle.fail(keys);
}

describe('LoginThrottle', () => {
  it('allows the free failures, then waits 1 s, 2 s, 4 s … capped', () => {
    const { clock, throttle } = throttleAt();
    for (let i = 0; i < 2; i++) failOnce(throttle);
    expect(throttle.retryAfter([device])).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      failOnce(throttle);
      const wait = throttle.retryAfter([device]);
      waits.push(wait);
      clock.now += wait;
    }
    expect(waits.slice(0, 4)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(Math.max(...waits)).toBe(THROTTLE_LIMITS.maxDelayMs);
  });

  it('tells how many wrong attempts are left before the waits begin, by the strictest key', () => {
    const { throttle } = throttleAt();
    const username = { key: 'user:alice', freeFailures: 5 };
    expect(throttle.attemptsLeft([device, username])).toBe(3);
    failOnce(throttle, [device, username]);
    expect(throttle.attemptsLeft([device, username])).toBe(2);
    expect(throttle.attemptsLeft([username])).toBe(4);
    failOnce(throttle, [device, username]);
    expect(throttle.retryAfter([device])).toBe(0);
    failOnce(throttle, [device, username]);
    expect(throttle.attemptsLeft([device, username])).toBe(0);
    expect(throttle.retryAfter([device])).toBe(1_000);
    failOnce(throttle, [device, username]); // past the allowance it stays at 0, never negative
    expect(throttle.attemptsLeft([device])).toBe(0);
  });

  it('counts attempts still being checked, so parallel guesses cannot all pass', () => {
    const { throttle } = throttleAt();
    let admitted = 0;
    for (let i = 0; i < 10; i++) {
      if (throttle.retryAfter([device]) > 0) continue;
      throttle.reserve([device]); // none settles: all are "being checked"
      admitted++;
    }
    expect(admitted).toBe(3);
  });

  it('forgets a key after a success, and refunds an attempt that was never checked', () => {
    const { throttle } = throttleAt();
    for (let i = 0; i < 3; i++) failOnce(throttle);
    expect(throttle.retryAfter([device])).toBeGreaterThan(0);
    throttle.succeed([device]);
    expect(throttle.retryAfter([device])).toBe(0);

    for (let i = 0; i < 2; i++) failOnce(throttle);
    throttle.reserve([device]);
    throttle.refund([device]);
    expect(throttle.retryAfter([device])).toBe(0);
  });

  it('starts a quiet key afresh and remembers a bounded number of keys', () => {
    const { clock, throttle } = throttleAt();
    for (let i = 0; i < 3; i++) failOnce(throttle);
    clock.now += THROTTLE_LIMITS.forgetAfterMs + 1;
    failOnce(throttle);
    expect(throttle.retryAfter([device])).toBe(0);

    const small = new LoginThrottle(() => clock.now, { ...THROTTLE_LIMITS, maxKeys: 2 });
    const keys = ['a', 'b', 'c'].map((key) => ({ key, freeFailures: 1 }));
    for (const key of keys) failOnce(small, [key]);
    expect(small.retryAfter([keys[0]!])).toBe(0); // the oldest was forgotten
    expect(small.retryAfter([keys[2]!])).toBeGreaterThan(0);
  });
});
