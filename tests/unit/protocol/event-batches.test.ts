import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { b58encode } from '../../../protocol/bytes.ts';
import type { CryptoBackend } from '../../../protocol/crypto/types.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import {
  GENERAL_CHANNEL,
  MAX_SIGNED_BATCH,
  eventId,
  signEvent,
  signEvents,
  verifyEvent,
  type CanopyEvent,
  type SignedEvent,
  type VerifiedBatches,
} from '../../../protocol/events.ts';
import { SignedEventSchema } from '../../../protocol/frames.ts';
import { identityFromSecrets } from '../../../protocol/identity.ts';

const crypto = nodeCrypto;
const alice = identityFromSecrets(crypto, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
const mallory = identityFromSecrets(crypto, new Uint8Array(32).fill(7), new Uint8Array(32).fill(8));

function posts(n: number, author = alice, firstSeq = 1): CanopyEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    v: 1 as const,
    author: author.peerId,
    author_key: b58encode(author.ed25519.publicKey),
    channel: GENERAL_CHANNEL,
    seq: firstSeq + i,
    kind: 'post' as const,
    ts: 1712345678000 + i,
    body: { content: `post ${firstSeq + i}` },
  }));
}

function signBatch(events: CanopyEvent[], author = alice): SignedEvent[] {
  return signEvents(crypto, author, events, events.map((e) => eventId(crypto, e)));
}

/** A cache like the companion's, and a backend that counts signature checks. */
function cache(): VerifiedBatches {
  const seen = new Set<string>();
  return { has: (k) => seen.has(k), add: (k) => void seen.add(k) };
}
function counting(backend: CryptoBackend): CryptoBackend & { verifies: number; hashes: number } {
  const counted = Object.create(backend) as CryptoBackend & { verifies: number; hashes: number };
  counted.verifies = 0;
  counted.hashes = 0;
  counted.ed25519Verify = (...args) => {
    counted.verifies++;
    return backend.ed25519Verify(...args);
  };
  counted.sha256 = (data) => {
    counted.hashes++;
    return backend.sha256(data);
  };
  return counted;
}

describe('one signature per batch', () => {
  it.each([nodeCrypto, nobleCrypto])('every event of a batch verifies on its own, with its usual id ($name)', (backend) => {
    const events = posts(37);
    const signed = signEvents(backend, alice, events, events.map((e) => eventId(backend, e)));
    expect(new Set(signed.map((s) => s.sig)).size).toBe(1);
    signed.forEach((s, i) => {
      expect(SignedEventSchema.safeParse(s).success).toBe(true);
      expect(verifyEvent(backend, s)).toEqual({ ok: true, id: eventId(backend, events[i]!) });
    });
  });

  it('a lone event gets a plain signature, as before batches existed', () => {
    const [event] = posts(1);
    expect(signBatch([event!])).toEqual([signEvent(crypto, alice, event!)]);
  });

  it('a receiver checks one signature per batch, not per event', () => {
    const counted = counting(crypto);
    const verified = cache();
    for (const s of signBatch(posts(100))) expect(verifyEvent(counted, s, verified).ok).toBe(true);
    expect(counted.verifies).toBe(1);
  });

  it("a batch signature verified for one author proves nothing for an event claiming another author", () => {
    const verified = cache();
    const batch = signBatch(posts(8));
    expect(verifyEvent(crypto, batch[0]!, verified).ok).toBe(true);
    // Mallory's event, carrying alice's signature and path: checked against mallory's key, it fails.
    const [lure] = posts(1, mallory);
    const stolen = { event: lure!, sig: batch[1]!.sig, proof: batch[1]!.proof };
    expect(verifyEvent(crypto, stolen, verified)).toMatchObject({ ok: false });
  });

  it(`splits more than ${MAX_SIGNED_BATCH} events into several signed batches`, () => {
    const signed = signBatch(posts(MAX_SIGNED_BATCH + 3));
    expect(new Set(signed.map((s) => s.sig)).size).toBe(2);
    expect(signed.at(-1)!.proof).toMatchObject({ size: 3, index: 2 });
    expect(signed.every((s) => verifyEvent(crypto, s).ok)).toBe(true);
  });

  it('refuses to sign events of another author', () => {
    const events = [...posts(2), ...posts(1, mallory)];
    expect(() => signBatch(events)).toThrow(/not this identity/);
  });
});

describe('forged, reordered and truncated batches are rejected', () => {
  const signed = signBatch(posts(8));
  const verdict = (s: SignedEvent) => verifyEvent(crypto, s, cache());

  it('an event changed after signing (forged content) fails', () => {
    const forged = structuredClone(signed[3]!);
    (forged.event.body as { content: string }).content = 'I never said this';
    expect(verdict(forged)).toMatchObject({ ok: false });
  });

  it('an event with a proof of another of the batch, or another position, fails (reordered)', () => {
    const swapped = { ...signed[2]!, proof: signed[5]!.proof };
    expect(verdict(swapped)).toMatchObject({ ok: false });
    const moved = { ...signed[2]!, proof: { ...signed[2]!.proof!, index: 3 } };
    expect(verdict(moved)).toMatchObject({ ok: false });
  });

  it('a batch claimed smaller or larger than signed, or a path cut short, fails (truncated)', () => {
    for (const size of [7, 5, 4, 3, 9, 16]) {
      const resized = { ...signed[2]!, proof: { ...signed[2]!.proof!, size } };
      expect(verdict(resized), `size ${size}`).toMatchObject({ ok: false });
    }
    const cut = { ...signed[2]!, proof: { ...signed[2]!.proof!, path: signed[2]!.proof!.path.slice(0, 2) } };
    expect(verdict(cut)).toMatchObject({ ok: false, reason: expect.stringMatching(/proof path/) });
  });

  it('a batch signature moved onto another author, or re-signed by someone else, fails', () => {
    const relabelled = { ...signed[0]!, event: { ...signed[0]!.event, author: mallory.peerId, author_key: b58encode(mallory.ed25519.publicKey) } };
    expect(verdict(relabelled)).toMatchObject({ ok: false });
    const malloryBatch = signBatch(posts(8, mallory), mallory);
    expect(verdict({ ...signed[0]!, sig: malloryBatch[0]!.sig })).toMatchObject({ ok: false });
  });

  it('a cached batch signature does not let a forged event through', () => {
    const verified = cache();
    expect(verifyEvent(crypto, signed[0]!, verified).ok).toBe(true);
    const forged = structuredClone(signed[1]!);
    forged.event.seq = 99;
    expect(verifyEvent(crypto, forged, verified)).toMatchObject({ ok: false });
  });

  it('malformed proofs are refused by the schema before any hashing', () => {
    const bad = (proof: unknown) => SignedEventSchema.safeParse({ ...signed[0]!, proof }).success;
    expect(bad({ size: 1, index: 0, path: [] })).toBe(false);
    expect(bad({ size: 8, index: 8, path: [] })).toBe(false);
    expect(bad({ size: MAX_SIGNED_BATCH + 1, index: 0, path: [] })).toBe(false);
    expect(bad({ size: 8, index: 0, path: ['short'] })).toBe(false);
    expect(bad({ size: 8, index: 0, path: Array(11).fill(signed[0]!.proof!.path[0]) })).toBe(false);
    expect(bad({ ...signed[0]!.proof, extra: 1 })).toBe(false);
    expect(bad(signed[0]!.proof)).toBe(true);
  });
});
