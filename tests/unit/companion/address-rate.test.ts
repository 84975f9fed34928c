import { describe, expect, it } from 'vitest';
import { AddressRate } from '../../../companion/transport/address-rate.ts';

describe('AddressRate', () => {
  it('allows a burst, then refills at the rate, per address', () => {
    let now = 0;
    const rate = new AddressRate({ perSecond: 2, burst: 3, maxAddresses: 10 }, () => now);
    expect([1, 2, 3, 4].map(() => rate.take('a'))).toEqual([true, true, true, false]);
    expect(rate.take('b')).toBe(true); // another host has its own bucket
    now = 500; // half a second: one token back
    expect([rate.take('a'), rate.take('a')]).toEqual([true, false]);
    now = 10_000; // never more than the burst
    expect([1, 2, 3, 4].map(() => rate.take('a'))).toEqual([true, true, true, false]);
  });

  it('remembers at most maxAddresses, forgetting the least recently seen', () => {
    const rate = new AddressRate({ perSecond: 0, burst: 1, maxAddresses: 2 }, () => 0);
    expect(rate.take('a')).toBe(true);
    expect(rate.take('b')).toBe(true);
    expect(rate.take('a')).toBe(false); // a is now the most recent
    expect(rate.take('c')).toBe(true); // b is forgotten
    expect(rate.take('a')).toBe(false);
    expect(rate.take('b')).toBe(true); // a fresh bucket: b was forgotten
  });
});
