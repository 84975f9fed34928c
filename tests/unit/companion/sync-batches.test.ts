// Catch-up batches are built by encoded size, so no batch can outgrow the frame cap (issue 6, fault 5).
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { BATCH_BYTES, BatchBuilder, batchesOf, encodedSize } from '../../../companion/mesh/batches.ts';
import { b58encode } from '../../../protocol/bytes.ts';
import { dmChannelId, signEvent, type CanopyEvent, type SignedEvent } from '../../../protocol/events.ts';
import {
  MAX_CONTENT_LENGTH,
  MAX_EVENTS_PER_FRAME,
  MAX_METADATA_BYTES,
  MAX_SEALED_LENGTH,
  SignedEventSchema,
  encodeFrame,
} from '../../../protocol/frames.ts';
import { generateIdentity } from '../../../protocol/identity.ts';
import { MAX_FRAME_BYTES } from '../../../protocol/noise/index.ts';

const alice = generateIdentity(nodeCrypto);
const bob = generateIdentity(nodeCrypto);

function post(seq: number, content: string, metadata?: Record<string, unknown>): SignedEvent {
  const event: CanopyEvent = {
    v: 1,
    author: alice.peerId,
    author_key: b58encode(alice.ed25519.publicKey),
    channel: 'general',
    seq: Number.MAX_SAFE_INTEGER - seq,
    kind: 'post',
    ts: Number.MAX_SAFE_INTEGER,
    body: metadata ? { content, metadata } : { content },
  };
  return signEvent(nodeCrypto, alice, event);
}

describe('BatchBuilder', () => {
  it('cuts batches by bytes: 20 posts of 60,000 characters never make a frame over the cap', () => {
    const events = Array.from({ length: 20 }, (_, i) => post(i, 'x'.repeat(60_000)));
    const batches = batchesOf(events);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat()).toEqual(events);
    for (const batch of batches) expect(encodeFrame({ t: 'events', events: batch }).length).toBeLessThanOrEqual(BATCH_BYTES + 64);
  });

  it('cuts batches by count as well', () => {
    const events = Array.from({ length: MAX_EVENTS_PER_FRAME * 2 + 1 }, (_, i) => post(i, 'hi'));
    expect(batchesOf(events).map((b) => b.length)).toEqual([MAX_EVENTS_PER_FRAME, MAX_EVENTS_PER_FRAME, 1]);
  });

  it('hands back the full batch when the next event does not fit, and the rest on flush', () => {
    const small = post(1, 'a');
    const builder = new BatchBuilder(encodedSize(small) * 2 + 2, 100);
    expect(builder.add(small)).toBeUndefined();
    expect(builder.add(small)).toBeUndefined();
    expect(builder.add(small)).toEqual([small, small]);
    expect(builder.flush()).toEqual([small]);
    expect(builder.flush()).toBeUndefined();
  });
});

describe('the largest valid event', () => {
  // Worst case for JSON: every character escaped as \u00XX (6 bytes each).
  const worstContent = '\u0001'.repeat(MAX_CONTENT_LENGTH);
  const metadata = { m: '\u0001'.repeat(Math.floor((MAX_METADATA_BYTES - 16) / 6)) };

  it('is valid, and alone in a frame stays under BATCH_BYTES and the Noise frame cap', () => {
    const biggestPost = post(0, worstContent, metadata);
    expect(SignedEventSchema.safeParse(biggestPost).success).toBe(true);
    const dm = signEvent(nodeCrypto, alice, {
      ...biggestPost.event,
      kind: 'dm',
      channel: dmChannelId(alice.peerId, bob.peerId),
      body: { to: bob.peerId, sealed: 'A'.repeat(MAX_SEALED_LENGTH) },
    });
    expect(SignedEventSchema.safeParse(dm).success).toBe(true);
    for (const signed of [biggestPost, dm]) {
      expect(encodedSize(signed)).toBeLessThan(BATCH_BYTES);
      expect(encodeFrame({ t: 'events', events: [signed] }).length).toBeLessThan(MAX_FRAME_BYTES);
    }
  });

  it('three of them go in frames that all fit under the Noise frame cap (what seal() enforces)', () => {
    const big = post(0, worstContent, metadata);
    const batches = batchesOf([big, big, big]);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(encodeFrame({ t: 'events', events: batch }).length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });
});
