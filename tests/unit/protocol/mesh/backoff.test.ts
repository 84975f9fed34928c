import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from '../../../../protocol/mesh/backoff.ts';

describe('reconnectDelayMs', () => {
  it('doubles from 2 s and caps at 60 s without jitter', () => {
    const none = () => 0;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map((n) => reconnectDelayMs(n, none))).toEqual([
      2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('adds at most +20 % jitter', () => {
    expect(reconnectDelayMs(0, () => 0.5)).toBe(2_200);
    expect(reconnectDelayMs(2, () => 0.25)).toBe(8_400);
    expect(reconnectDelayMs(10, () => 0.999999)).toBeLessThanOrEqual(72_000);
    expect(reconnectDelayMs(10, () => 1)).toBe(72_000);
  });

  it('stays within [schedule, schedule * 1.2] for any random value', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const floor = Math.min(2_000 * 2 ** attempt, 60_000);
      for (let i = 0; i < 50; i++) {
        const d = reconnectDelayMs(attempt);
        expect(d).toBeGreaterThanOrEqual(floor);
        expect(d).toBeLessThanOrEqual(floor * 1.2);
      }
    }
  });

  it('treats nonsense inputs safely', () => {
    expect(reconnectDelayMs(-3, () => 0)).toBe(2_000);
    expect(reconnectDelayMs(Number.NaN, () => 0)).toBe(2_000);
    expect(reconnectDelayMs(Number.POSITIVE_INFINITY, () => 0)).toBe(60_000);
    expect(reconnectDelayMs(1e9, () => 0)).toBe(60_000);
    expect(reconnectDelayMs(0, () => 5)).toBe(2_400);
    expect(reconnectDelayMs(0, () => -1)).toBe(2_000);
    expect(reconnectDelayMs(0, () => Number.NaN)).toBe(2_000);
  });
});
