import { describe, expect, it } from 'vitest';
import { MAX_VERIFIED_ENTRIES, RecentlyVerified } from '../../../companion/mesh/intake.ts';

describe('remembered batch signatures', () => {
  it(`holds at most ${MAX_VERIFIED_ENTRIES}, forgetting the oldest first`, () => {
    const verified = new RecentlyVerified();
    for (let i = 0; i <= MAX_VERIFIED_ENTRIES; i++) verified.add(`batch ${i}`);
    expect(verified.has('batch 0')).toBe(false);
    expect(verified.has('batch 1')).toBe(true);
    expect(verified.has(`batch ${MAX_VERIFIED_ENTRIES}`)).toBe(true);
  });
});
