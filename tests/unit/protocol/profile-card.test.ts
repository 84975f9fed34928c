import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { eventSigningBytes, type CanopyEvent } from '../../../protocol/events.ts';
import { decodeFrame, encodeFrame } from '../../../protocol/frames.ts';
import { generateIdentity } from '../../../protocol/identity.ts';
import { b58encode, b64urlDecode, b64urlEncode, utf8 } from '../../../protocol/bytes.ts';
import {
  MAX_CARD_AVATAR_CHARS,
  MAX_CARD_DIGEST_ENTRIES,
  MAX_CARD_REQUEST_IDS,
  SignedProfileCardSchema,
  cardName,
  profileCardHash,
  profileCardSigningBytes,
  signProfileCard,
  verifyProfileCard,
  type ProfileCardContent,
  type SignedProfileCard,
} from '../../../protocol/mesh/profile-card.ts';

const PIXEL = `data:image/png;base64,${Buffer.from('89504e470d0a1a0a', 'hex').toString('base64')}`;
const content: ProfileCardContent = {
  display_name: 'Carol',
  bio: 'plants and packets',
  avatar: PIXEL,
  device: { name: 'Carol laptop', description: 'the grey one', avatar: null },
};
const owner = generateIdentity(nodeCrypto);
const signed = signProfileCard(nodeCrypto, owner, content, 1_700_000_000_000);
const clone = (value: SignedProfileCard): SignedProfileCard => JSON.parse(JSON.stringify(value));

describe('profile cards', () => {
  it('round-trip through a card frame and verify on both crypto backends', () => {
    const decoded = decodeFrame(encodeFrame({ t: 'card', card: signed }));
    expect(decoded.ok && decoded.frame.t === 'card' && decoded.frame.check).toEqual({ ok: true, signed });
    for (const crypto of [nodeCrypto, nobleCrypto]) {
      expect(verifyProfileCard(crypto, signed)).toEqual({ ok: true, hash: profileCardHash(crypto, signed.card) });
    }
    expect(cardName(signed.card)).toBe('Carol');
    expect(cardName({ ...signed.card, display_name: ' ' })).toBe('Carol laptop');
    expect(cardName({ ...signed.card, display_name: '', device: { ...signed.card.device, name: '' } })).toBeNull();
  });

  it('refuses a card with any field changed after signing', () => {
    const tampered = [
      (c: SignedProfileCard) => (c.card.display_name = 'Mallory'),
      (c: SignedProfileCard) => (c.card.bio = ''),
      (c: SignedProfileCard) => (c.card.avatar = null),
      (c: SignedProfileCard) => (c.card.updated_at += 1),
      (c: SignedProfileCard) => (c.card.device.name = 'not Carol'),
    ];
    for (const change of tampered) {
      const copy = clone(signed);
      change(copy);
      expect(SignedProfileCardSchema.safeParse(copy).success).toBe(true);
      expect(verifyProfileCard(nodeCrypto, copy)).toEqual({ ok: false, reason: 'signature does not verify' });
    }
  });

  it("refuses a card for another peer's ID signed with the attacker's key", () => {
    const attacker = generateIdentity(nodeCrypto);
    // Claims the victim's ID, carries the attacker's key and a valid signature by that key.
    const card = { ...signProfileCard(nodeCrypto, attacker, content, Date.now()).card, peer_id: owner.peerId };
    const forged = { card, sig: b64urlEncode(nodeCrypto.ed25519Sign(profileCardSigningBytes(card), attacker.ed25519.secretKey)) };
    expect(SignedProfileCardSchema.safeParse(forged).success).toBe(true);
    expect(verifyProfileCard(nodeCrypto, forged)).toEqual({ ok: false, reason: 'peer_id does not derive from ed25519_key' });
    // Claiming the victim's key as well leaves a signature that key did not make.
    const withVictimKey = { ...forged, card: { ...card, ed25519_key: b58encode(owner.ed25519.publicKey) } };
    expect(verifyProfileCard(nodeCrypto, withVictimKey)).toEqual({ ok: false, reason: 'signature does not verify' });
  });

  it('refuses an oversize or non-image avatar and unknown keys, at the frame edge, keeping the link', () => {
    const big = `data:image/png;base64,${'A'.repeat(MAX_CARD_AVATAR_CHARS)}`;
    const cases: unknown[] = [
      { ...clone(signed), card: { ...signed.card, avatar: big } },
      { ...clone(signed), card: { ...signed.card, device: { ...signed.card.device, avatar: big } } },
      { ...clone(signed), card: { ...signed.card, avatar: 'javascript:alert(1)' } },
      { ...clone(signed), card: { ...signed.card, extra: 'carried along unsigned' } },
      { ...clone(signed), card: { ...signed.card, device: { ...signed.card.device, extra: 1 } } },
      { ...clone(signed), extra: true },
      { ...clone(signed), card: { ...signed.card, display_name: 'x'.repeat(65) } },
    ];
    for (const card of cases) {
      const decoded = decodeFrame(utf8(JSON.stringify({ t: 'card', card })));
      expect(decoded.ok).toBe(true);
      expect(decoded.ok && decoded.frame.t === 'card' && decoded.frame.check.ok).toBe(false);
    }
    // The largest card the limits allow still fits a frame and verifies.
    const fullAvatar = `data:image/png;base64,${'A'.repeat(MAX_CARD_AVATAR_CHARS - 'data:image/png;base64,'.length)}`;
    const largest = signProfileCard(nodeCrypto, owner, { ...content, bio: 'é'.repeat(500), avatar: fullAvatar, device: { ...content.device, avatar: fullAvatar } }, 1);
    expect(SignedProfileCardSchema.safeParse(largest).success).toBe(true);
  });

  it("signs under its own domain: a card's signature never verifies as an event's", () => {
    const event = signed.card as unknown as CanopyEvent;
    expect(nodeCrypto.ed25519Verify(b64urlDecode(signed.sig), eventSigningBytes(event), owner.ed25519.publicKey)).toBe(false);
    expect(nodeCrypto.ed25519Verify(b64urlDecode(signed.sig), profileCardSigningBytes(signed.card), owner.ed25519.publicKey)).toBe(true);
  });

  it('bounds digests and requests', () => {
    const entry = { peer_id: owner.peerId, updated_at: 5 };
    const digest = (n: number) => decodeFrame(encodeFrame({ t: 'card_digest', cards: Array(n).fill(entry) }));
    expect(digest(MAX_CARD_DIGEST_ENTRIES).ok).toBe(true);
    expect(digest(MAX_CARD_DIGEST_ENTRIES + 1).ok).toBe(false);
    const request = (n: number) => decodeFrame(encodeFrame({ t: 'card_request', peer_ids: Array(n).fill(owner.peerId) }));
    expect(request(MAX_CARD_REQUEST_IDS).ok).toBe(true);
    expect(request(MAX_CARD_REQUEST_IDS + 1).ok).toBe(false);
    expect(decodeFrame(utf8(JSON.stringify({ t: 'card_digest', cards: [{ ...entry, extra: 1 }] }))).ok).toBe(false);
  });
});
