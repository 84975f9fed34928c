import { describe, expect, it } from 'vitest';
import { advanceHead, mergeVectorInto, missingFor, pageVector, vectorEntries, type VersionVector } from '../../../../protocol/mesh/vectors.ts';
import { MAX_FRAME_BYTES } from '../../../../protocol/noise/index.ts';
import { MAX_SYNC_PAGE_ENTRIES, decodeFrame, encodeFrame } from '../../../../protocol/frames.ts';

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

/** A base58 peer ID made from a number (16 characters, no 0/O/I/l). */
const peer = (n: number) => n.toString(36).replace(/[0oil]/g, 'z').padStart(16, 'Z');

describe('pageVector', () => {
  it('splits a vector into pages of at most N heads, together equal to the whole', () => {
    const vector: VersionVector = {};
    for (let c = 0; c < 30; c++) {
      vector[`c${c}`] = {};
      for (let a = 0; a < 7; a++) vector[`c${c}`]![peer(a)] = c + a + 1;
    }
    const pages = pageVector(vector, 50);
    expect(pages.map(vectorEntries)).toEqual([50, 50, 50, 50, 10]);
    const merged: VersionVector = {};
    for (const page of pages) mergeVectorInto(merged, page);
    expect(merged).toEqual(vector);
  });

  it('sends an empty vector as one empty page', () => {
    expect(pageVector({}, 10)).toEqual([{}]);
  });

  it('keeps a flooded vector (5,000 channels) under the frame cap and the receiver limits, page by page', () => {
    const vector: VersionVector = {};
    // The longest names there are: 64-character channels, and 16-character authors at a maximal head.
    for (let c = 0; c < 5000; c++) vector[`${c}`.padEnd(64, 'x')] = { [peer(c)]: Number.MAX_SAFE_INTEGER };
    const pages = pageVector(vector, MAX_SYNC_PAGE_ENTRIES);
    expect(pages.length).toBe(2);
    for (const [i, page] of pages.entries()) {
      const bytes = encodeFrame({ t: 'sync', vectors: page, more: i === 0 });
      expect(bytes.length).toBeLessThan(MAX_FRAME_BYTES);
      const decoded = decodeFrame(bytes);
      expect(decoded.ok && decoded.frame.t === 'sync' && decoded.frame.page.ok).toBe(true);
    }
  });
});

describe('mergeVectorInto', () => {
  it('keeps the higher head of each entry and counts what was added', () => {
    const into: VersionVector = { general: { [A]: 5 } };
    expect(mergeVectorInto(into, { general: { [A]: 3, [B]: 2 }, other: { [A]: 1 } })).toEqual({ added: 2, dropped: 0 });
    expect(into).toEqual({ general: { [A]: 5, [B]: 2 }, other: { [A]: 1 } });
    mergeVectorInto(into, { general: { [A]: 9 } });
    expect(into['general']![A]).toBe(9);
  });

  it('drops new entries past the bound but still raises known ones', () => {
    const into: VersionVector = { general: { [A]: 1 } };
    expect(mergeVectorInto(into, { general: { [A]: 4, [B]: 1 }, x: { [A]: 1 } }, 1)).toEqual({ added: 0, dropped: 2 });
    expect(into).toEqual({ general: { [A]: 4 } });
  });

  it('treats "__proto__" as a plain name', () => {
    const into: VersionVector = {};
    mergeVectorInto(into, JSON.parse('{"__proto__":{"AAAAAAAAAAAAAAAA":2}}') as VersionVector);
    expect(Object.getPrototypeOf(into)).toBe(Object.prototype);
    expect(Object.keys(into)).toEqual(['__proto__']);
  });
});
