// Per-peer and total caps on the channels and authors a peer introduces (issue 6, attack 1).
import { describe, expect, it } from 'vitest';
import { IntroductionLedger, type IntroductionLimits } from '../../../companion/mesh/introductions.ts';
import { dmChannelId } from '../../../protocol/events.ts';

const P = 'PPPPPPPPPPPPPPPP';
const Q = 'QQQQQQQQQQQQQQQQ';
const author = (n: number) => `A${String(n).padStart(15, '1').replace(/0/g, 'z')}`;
const limits: IntroductionLimits = {
  channelsPerPeerPerDay: 2,
  authorsPerPeerPerDay: 2,
  headsPerPeerPerDay: 100,
  totalChannels: 4,
  totalAuthors: 5,
  totalHeads: 100,
};
const DAY = 24 * 60 * 60 * 1000;

function ledger(now = { t: 1_000_000 }) {
  return { now, ledger: new IntroductionLedger({ channels: [], authors: [], heads: [] }, limits, () => now.t) };
}

describe('IntroductionLedger', () => {
  it('lets a peer introduce N channels a day, then refuses, and again the next day', () => {
    const { now, ledger: l } = ledger();
    for (const channel of ['c1', 'c2']) {
      expect(l.refusal({ channel, author: P }, P)).toBeNull();
      l.stored({ channel, author: P }, P);
    }
    expect(l.refusal({ channel: 'c3', author: P }, P)).toMatch(/limited to 2 a day/);
    // Known channels and other peers are unaffected.
    expect(l.refusal({ channel: 'c1', author: P }, P)).toBeNull();
    expect(l.refusal({ channel: 'c3', author: Q }, Q)).toBeNull();
    now.t += DAY + 1;
    expect(l.refusal({ channel: 'c3', author: P }, P)).toBeNull();
  });

  it('caps channels in total; general and DM channels are never refused', () => {
    const { ledger: l } = ledger();
    l.stored({ channel: 'c1', author: P }, P);
    l.stored({ channel: 'c2', author: P }, P);
    l.stored({ channel: 'c3', author: Q }, Q);
    expect(l.refusal({ channel: 'c4', author: Q }, Q)).toMatch(/limit of 4 channels/);
    expect(l.refusal({ channel: 'general', author: Q }, Q)).toBeNull();
    expect(l.refusal({ channel: dmChannelId(P, Q), author: Q }, Q)).toBeNull();
  });

  it('caps new authors per peer and in total, but a peer may always author its own events', () => {
    const { ledger: l } = ledger();
    l.stored({ channel: 'general', author: author(1) }, P);
    l.stored({ channel: 'general', author: author(2) }, P);
    expect(l.refusal({ channel: 'general', author: author(3) }, P)).toMatch(/new authors from one peer are limited to 2 a day/);
    expect(l.refusal({ channel: 'general', author: P }, P)).toBeNull();
    l.stored({ channel: 'general', author: author(3) }, Q);
    l.stored({ channel: 'general', author: author(4) }, Q);
    l.stored({ channel: 'general', author: author(5) }, null);
    expect(l.refusal({ channel: 'general', author: author(6) }, 'RRRRRRRRRRRRRRRR')).toMatch(/limit of 5 authors/);
  });

  it('rebuilds recent introductions from what the store says came first', () => {
    const now = { t: 10 * DAY };
    const l = new IntroductionLedger(
      {
        channels: [
          { name: 'old', via: P, at: now.t - 2 * DAY },
          { name: 'new1', via: P, at: now.t - 1000 },
          { name: 'new2', via: P, at: now.t - 1000 },
        ],
        authors: [],
        heads: [],
      },
      { ...limits, totalChannels: 10 },
      () => now.t,
    );
    expect(l.refusal({ channel: 'new3', author: P }, P)).toMatch(/limited to 2 a day/);
    expect(l.refusal({ channel: 'new3', author: Q }, Q)).toBeNull();
  });

  it('caps new (channel, author) heads per peer a day and in total; DM channels exempt', () => {
    const now = { t: 1_000_000 };
    const l = new IntroductionLedger({ channels: [], authors: [], heads: [] }, { ...limits, totalChannels: 100, headsPerPeerPerDay: 3, totalHeads: 4 }, () => now.t);
    for (const channel of ['general', 'c1', 'c2']) l.stored({ channel, author: P }, P);
    expect(l.refusal({ channel: 'general', author: author(1) }, P)).toMatch(/new channel authors from one peer are limited to 3 a day/);
    l.stored({ channel: 'general', author: Q }, Q);
    expect(l.refusal({ channel: 'c1', author: Q }, Q)).toMatch(/limit of 4 channel authors/);
    expect(l.refusal({ channel: 'c1', author: P }, Q)).toBeNull(); // already held
    expect(l.refusal({ channel: dmChannelId(P, Q), author: Q }, Q)).toBeNull();
  });
});
