import { describe, expect, it } from 'vitest';
import { advanceHead, missingFor, type VersionVector } from '../../../../protocol/mesh/vectors.ts';

const A = 'AAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBB';
const all = () => true;

describe('missingFor', () => {
  it('returns nothing when the remote is level or ahead', () => {
    const local: VersionVector = { general: { [A]: 3 } };
    expect(missingFor(local, { general: { [A]: 3 } }, all)).toEqual([]);
    expect(missingFor(local, { general: { [A]: 9 } }, all)).toEqual([]);
    expect(missingFor({}, { general: { [A]: 9 } }, all)).toEqual([]);
  });

  it('returns the exact gap per author', () => {
    const local: VersionVector = { general: { [A]: 10, [B]: 4 } };
    const remote: VersionVector = { general: { [A]: 7, [B]: 4 } };
    expect(missingFor(local, remote, all)).toEqual([{ channel: 'general', author: A, afterSeq: 7, upToSeq: 10 }]);
  });

  it('counts unmentioned channels and authors from 0', () => {
    const local: VersionVector = { general: { [A]: 2, [B]: 1 }, random: { [B]: 5 } };
    const remote: VersionVector = { general: { [A]: 2 } };
    expect(missingFor(local, remote, all)).toEqual([
      { channel: 'general', author: B, afterSeq: 0, upToSeq: 1 },
      { channel: 'random', author: B, afterSeq: 0, upToSeq: 5 },
    ]);
  });

  it('skips channels the remote is not entitled to', () => {
    const dm = `dm:${A}:${B}`;
    const local: VersionVector = { general: { [A]: 1 }, [dm]: { [A]: 3 } };
    const seen: string[] = [];
    const ranges = missingFor(local, {}, (channel) => {
      seen.push(channel);
      return channel === 'general';
    });
    expect(ranges).toEqual([{ channel: 'general', author: A, afterSeq: 0, upToSeq: 1 }]);
    expect(seen).toEqual(['general', dm]);
  });

  it('ignores zero heads and nonsense values', () => {
    const local: VersionVector = { general: { [A]: 0, [B]: 2 } };
    const remote = { general: { [B]: -5 } } as VersionVector;
    expect(missingFor(local, remote, all)).toEqual([{ channel: 'general', author: B, afterSeq: 0, upToSeq: 2 }]);
    expect(missingFor({ general: { [A]: 1.5 } }, {}, all)).toEqual([]);
  });

  it('is not fooled by channel or author names that exist on Object.prototype', () => {
    const local: VersionVector = { constructor: { toString: 2 }, tostring: { [A]: 1 } };
    expect(missingFor(local, {}, all)).toEqual([
      { channel: 'constructor', author: 'toString', afterSeq: 0, upToSeq: 2 },
      { channel: 'tostring', author: A, afterSeq: 0, upToSeq: 1 },
    ]);
    const remote = JSON.parse('{"general":{}}') as VersionVector;
    expect(missingFor({ general: { hasOwnProperty: 1 } }, remote, all)).toEqual([
      { channel: 'general', author: 'hasOwnProperty', afterSeq: 0, upToSeq: 1 },
    ]);
  });
});

describe('advanceHead', () => {
  it('advances over contiguous seqs and stops at the first gap', () => {
    expect(advanceHead(0, new Set([1, 2, 3, 5]))).toBe(3);
    expect(advanceHead(3, new Set([1, 2, 3, 5]))).toBe(3);
    expect(advanceHead(3, new Set([4, 5, 7]))).toBe(5);
    expect(advanceHead(0, new Set())).toBe(0);
    expect(advanceHead(0, new Set([2, 3]))).toBe(0);
  });

  it('accepts a predicate', () => {
    const stored = new Set([1, 2, 3, 4]);
    const asked: number[] = [];
    expect(
      advanceHead(1, (seq) => {
        asked.push(seq);
        return stored.has(seq);
      }),
    ).toBe(4);
    expect(asked).toEqual([2, 3, 4, 5]);
  });
});
