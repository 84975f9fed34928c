import { describe, expect, it } from 'vitest';
import { b58encode, b64urlDecode, b64urlEncode, fromUtf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { generateIdentity, identityFromSecrets, type Identity } from '../../../protocol/identity.ts';
import { SealError } from '../../../protocol/seal.ts';
import {
  GENERAL_CHANNEL,
  dmChannelId,
  dmCounterpart,
  eventId,
  eventSigningBytes,
  isDmChannel,
  openDm,
  sealDm,
  signEvent,
  verifyEvent,
  type CanopyEvent,
  type DmBody,
  type SignedEvent,
} from '../../../protocol/events.ts';

const backends = [nobleCrypto, nodeCrypto];
const vectorIdentity = identityFromSecrets(nobleCrypto, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));

function post(identity: Identity, overrides: Partial<CanopyEvent> = {}): CanopyEvent {
  return {
    v: 1,
    author: identity.peerId,
    author_key: b58encode(identity.ed25519.publicKey),
    channel: GENERAL_CHANNEL,
    seq: 1,
    kind: 'post',
    ts: 1712345678000,
    body: { content: 'Hello, Canopy!', metadata: { lang: 'en' } },
    ...overrides,
  };
}

describe('event vector (seed 32x0x01)', () => {
  // Recorded once; a change here means the signed bytes changed and old events would no longer verify.
  const SIGNING_TEXT =
    'canopy/event/v1\n{"author":"4XmjKEd9A96KhoMX","author_key":"AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9",' +
    '"body":{"content":"Hello, Canopy!","metadata":{"lang":"en"}},"channel":"general","kind":"post","seq":1,"ts":1712345678000,"v":1}';
  const ID = 'bcf8a1e3af4f2ef2c45548bed47556c8e808e07ffeee305f6a46adbe113d9374';
  const SIG = 'mao6jP1t2-GlDUgn1edaHRwC0My3mMrfyVnaePakLYTQ_pBzKnwtRQMx8TZtL1j1U2Ed09xEU7lynfQIGoz3AA';

  it('has the recorded signing bytes', () => {
    expect(fromUtf8(eventSigningBytes(post(vectorIdentity)))).toBe(SIGNING_TEXT);
  });

  it.each(backends)('has the recorded id and signature ($name)', (crypto) => {
    const identity = identityFromSecrets(crypto, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
    const event = post(identity);
    expect(eventId(crypto, event)).toBe(ID);
    const signed = signEvent(crypto, identity, event);
    expect(signed.sig).toBe(SIG);
    expect(verifyEvent(crypto, { event, sig: SIG })).toEqual({ ok: true, id: ID });
  });

  it('does not depend on key order in the event object', () => {
    const e = post(vectorIdentity);
    const reordered = JSON.parse(
      JSON.stringify({ body: e.body, ts: e.ts, v: e.v, seq: e.seq, kind: e.kind, channel: e.channel, author_key: e.author_key, author: e.author }),
    ) as CanopyEvent;
    expect(verifyEvent(nobleCrypto, { event: reordered, sig: SIG })).toEqual({ ok: true, id: ID });
  });
});

describe.each(backends)('signed events ($name)', (crypto) => {
  const identity = generateIdentity(crypto);

  it('sign/verify round-trips and survives JSON transport', () => {
    const signed = signEvent(crypto, identity, post(identity));
    const result = verifyEvent(crypto, signed);
    expect(result).toEqual({ ok: true, id: eventId(crypto, signed.event) });
    expect(verifyEvent(crypto, JSON.parse(JSON.stringify(signed)) as SignedEvent)).toEqual(result);
    expect(b64urlDecode(signed.sig).length).toBe(64);
  });

  it.each(backends)('verifies across backends (verify with $name)', (verifier) => {
    const signed = signEvent(crypto, identity, post(identity));
    expect(verifyEvent(verifier, signed).ok).toBe(true);
  });

  it('signs the same event to the same id on both backends', () => {
    const event = post(identity, { seq: 7 });
    expect(eventId(crypto, event)).toBe(eventId(crypto === nodeCrypto ? nobleCrypto : nodeCrypto, event));
  });

  it('rejects tampered content, seq, channel, ts and author', () => {
    const signed = signEvent(crypto, identity, post(identity));
    const other = generateIdentity(crypto);
    const tampered: CanopyEvent[] = [
      { ...signed.event, body: { content: 'Hello, Canopy?', metadata: { lang: 'en' } } },
      { ...signed.event, body: { content: 'Hello, Canopy!' } },
      { ...signed.event, seq: 2 },
      { ...signed.event, channel: 'random' },
      { ...signed.event, ts: signed.event.ts + 1 },
      // Another author with their own key: the signature was not made by that key.
      { ...signed.event, author: other.peerId, author_key: b58encode(other.ed25519.publicKey) },
    ];
    for (const event of tampered) {
      expect(verifyEvent(crypto, { event, sig: signed.sig })).toEqual({ ok: false, reason: 'signature does not verify' });
    }
  });

  it('rejects an author that does not match author_key', () => {
    const signed = signEvent(crypto, identity, post(identity));
    const other = generateIdentity(crypto);
    expect(verifyEvent(crypto, { ...signed, event: { ...signed.event, author: other.peerId } })).toEqual({
      ok: false,
      reason: 'author does not match author_key',
    });
    expect(verifyEvent(crypto, { ...signed, event: { ...signed.event, author_key: b58encode(other.ed25519.publicKey) } }).ok).toBe(false);
    expect(verifyEvent(crypto, { ...signed, event: { ...signed.event, author_key: '0OIl' } })).toEqual({
      ok: false,
      reason: 'author_key is not valid base58',
    });
  });

  it('rejects malformed signatures', () => {
    const signed = signEvent(crypto, identity, post(identity));
    expect(verifyEvent(crypto, { ...signed, sig: 'not base64!' }).ok).toBe(false);
    expect(verifyEvent(crypto, { ...signed, sig: b64urlEncode(new Uint8Array(63)) })).toEqual({ ok: false, reason: 'sig must be 64 bytes' });
    const flipped = b64urlDecode(signed.sig);
    flipped[10]! ^= 1;
    expect(verifyEvent(crypto, { ...signed, sig: b64urlEncode(flipped) }).ok).toBe(false);
  });

  it('refuses to sign an event authored by someone else', () => {
    const other = generateIdentity(crypto);
    expect(() => signEvent(crypto, identity, post(other))).toThrow(/not this identity/);
  });
});

describe('DM channels', () => {
  const a = '4XmjKEd9A96KhoMX';
  const b = '2222222222222222';
  it('dmChannelId is order-independent', () => {
    expect(dmChannelId(a, b)).toBe(`dm:${b}:${a}`);
    expect(dmChannelId(b, a)).toBe(dmChannelId(a, b));
  });
  it('isDmChannel and dmCounterpart', () => {
    const channel = dmChannelId(a, b);
    expect(isDmChannel(channel)).toBe(true);
    expect(isDmChannel(GENERAL_CHANNEL)).toBe(false);
    expect(isDmChannel('dm:short:ids')).toBe(false);
    expect(dmCounterpart(channel, a)).toBe(b);
    expect(dmCounterpart(channel, b)).toBe(a);
    expect(dmCounterpart(channel, '3333333333333333')).toBeNull();
    expect(dmCounterpart(GENERAL_CHANNEL, a)).toBeNull();
  });
});

describe.each(backends)('sealed DMs ($name)', (crypto) => {
  const alice = generateIdentity(crypto);
  const bob = generateIdentity(crypto);
  const mallory = generateIdentity(crypto);

  function dmEvent(author: Identity, to: Identity, content: string, metadata?: Record<string, unknown>): SignedEvent {
    const body = sealDm(crypto, {
      author: author.peerId,
      to: to.peerId,
      recipientX25519PublicKey: to.x25519.publicKey,
      content,
      ...(metadata ? { metadata } : {}),
    });
    return signEvent(crypto, author, {
      ...post(author),
      channel: dmChannelId(author.peerId, to.peerId),
      kind: 'dm',
      body,
    });
  }

  it('seals to the recipient, who opens it', () => {
    const signed = dmEvent(alice, bob, 'secret for bob', { reply_to: 'x' });
    expect(verifyEvent(crypto, signed).ok).toBe(true);
    expect((signed.event.body as DmBody).to).toBe(bob.peerId);
    expect(JSON.stringify(signed)).not.toContain('secret for bob');
    expect(openDm(crypto, bob.x25519, signed.event)).toEqual({ content: 'secret for bob', metadata: { reply_to: 'x' } });
    expect(openDm(crypto, bob.x25519, dmEvent(alice, bob, 'no metadata').event)).toEqual({ content: 'no metadata' });
  });

  it.each(backends)('opens a DM sealed by the other backend ($name)', (other) => {
    const body = sealDm(other, { author: alice.peerId, to: bob.peerId, recipientX25519PublicKey: bob.x25519.publicKey, content: 'x' });
    const event: CanopyEvent = { ...post(alice), kind: 'dm', channel: dmChannelId(alice.peerId, bob.peerId), body };
    expect(openDm(crypto, bob.x25519, event)).toEqual({ content: 'x' });
  });

  it('cannot be opened by a third party or with the wrong key', () => {
    const signed = dmEvent(alice, bob, 'secret');
    expect(() => openDm(crypto, mallory.x25519, signed.event)).toThrow(SealError);
    expect(() => openDm(crypto, alice.x25519, signed.event)).toThrow(SealError);
  });

  it('fails when re-wrapped by another author (sender bound in aad)', () => {
    const original = dmEvent(alice, bob, 'from alice');
    const rewrapped = signEvent(crypto, mallory, {
      ...post(mallory),
      kind: 'dm',
      channel: dmChannelId(mallory.peerId, bob.peerId),
      body: original.event.body,
    });
    expect(verifyEvent(crypto, rewrapped).ok).toBe(true);
    expect(() => openDm(crypto, bob.x25519, rewrapped.event)).toThrow(SealError);
  });

  it('fails when redirected to another recipient id (recipient bound in aad)', () => {
    const original = dmEvent(alice, bob, 'for bob');
    const body = { ...(original.event.body as DmBody), to: mallory.peerId };
    expect(() => openDm(crypto, bob.x25519, { ...original.event, body })).toThrow(SealError);
  });

  it('fails on tampered or malformed sealed data and on non-DM events', () => {
    const signed = dmEvent(alice, bob, 'x');
    const body = signed.event.body as DmBody;
    const bytes = b64urlDecode(body.sealed);
    bytes[40]! ^= 1;
    expect(() => openDm(crypto, bob.x25519, { ...signed.event, body: { ...body, sealed: b64urlEncode(bytes) } })).toThrow(SealError);
    expect(() => openDm(crypto, bob.x25519, { ...signed.event, body: { ...body, sealed: '!!' } })).toThrow(SealError);
    expect(() => openDm(crypto, bob.x25519, post(alice))).toThrow('Not a direct-message event');
  });
});
