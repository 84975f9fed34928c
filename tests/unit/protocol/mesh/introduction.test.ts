import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../../companion/crypto/node.ts';
import { nobleCrypto } from '../../../../protocol/crypto/noble.ts';
import { decodeFrame, encodeFrame } from '../../../../protocol/frames.ts';
import { b58encode, utf8 } from '../../../../protocol/bytes.ts';
import {
  introductionEntry,
  MAX_INTRODUCED_PER_FRAME,
  verifyIntroduction,
  type IntroducedPeerEntry,
} from '../../../../protocol/mesh/introduction.ts';

// Fixed vectors: the identity of reference/upstream-canopy.md §1.2 (Ed25519 seed 32×0x01, X25519
// secret 32×0x02), whose peer ID the original Canopy derives too, and a second identity (seed
// 32×0x04, X25519 secret 32×0x03). Ed25519 signatures are deterministic, so the bindings are fixed.
const ALICE: IntroducedPeerEntry = {
  peer_id: '4XmjKEd9A96KhoMX',
  ed25519_key: 'AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9',
  x25519_key: 'EuHtd9yCn95edmJqLKFeyXeoPw9nPzp1HTwdJEWEw9YL',
  binding: '1SWQ8Q1Zjb4nicK6pih76VCM-1OdGI-HUSZ8XJ9_S078dbVGzxiaYxe8Unda_Pz2_i5I4R6GhtcU7VoJGCmlAw',
  endpoints: ['ws://127.0.0.1:7771', 'WS://LOCALHOST:7771/p2p', 'not an endpoint'],
  display_name: ' Alice ',
  device_name: 'laptop',
};
const BOB = {
  peer_id: 'EJqA2mtBtojbX4xq',
  ed25519_key: 'EdmxWPmx2WH6WgFfTdu9xfkYf3k1g5wD1zccTVySEEh1',
  x25519_key: '7KvKWMhhPmcDk7Coj9VEeWRHhSrce7vPjp4cS6wBctdw',
  binding: 'w7VTcTwa-gSgvT1QUCqwSc36ygXgWylb4ZwK5U-PMLung9a7CeucOu6QTr5UjhvRfzVQqQWiMVOukfOrWItIBw',
};

describe.each([nodeCrypto, nobleCrypto])('verifyIntroduction ($name)', (crypto) => {
  it('accepts the vector entries, with endpoints canonicalised and names trimmed', () => {
    const verdict = verifyIntroduction(crypto, ALICE);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.peer.peerId).toBe(ALICE.peer_id);
    expect(b58encode(verdict.peer.x25519PublicKey)).toBe(ALICE.x25519_key);
    expect(verdict.peer.endpoints).toEqual(['ws://127.0.0.1:7771', 'ws://localhost:7771']);
    expect(verdict.peer.displayName).toBe('Alice');
    expect(verifyIntroduction(crypto, { ...ALICE, ...BOB }).ok).toBe(true);
  });

  it('refuses a peer ID that does not derive from the Ed25519 key (someone else\'s ID)', () => {
    expect(verifyIntroduction(crypto, { ...ALICE, peer_id: BOB.peer_id })).toEqual({ ok: false, reason: 'peer ID does not derive from the Ed25519 key' });
  });

  it('refuses a binding the Ed25519 key did not make (forged, or another peer\'s)', () => {
    const forged = { ...ALICE, binding: 'A'.repeat(86) };
    expect(verifyIntroduction(crypto, forged)).toEqual({ ok: false, reason: 'the X25519 key is not signed by the Ed25519 key' });
    expect(verifyIntroduction(crypto, { ...ALICE, binding: BOB.binding }).ok).toBe(false);
  });

  it('refuses a swapped X25519 key: the §8.4 key injection of the original', () => {
    // Alice's ID and signing key with Bob's X25519 key: DMs sealed to it would be Bob's to read.
    expect(verifyIntroduction(crypto, { ...ALICE, x25519_key: BOB.x25519_key })).toEqual({
      ok: false,
      reason: 'the X25519 key is not signed by the Ed25519 key',
    });
  });
});

describe('introduce frame', () => {
  it('round-trips through encodeFrame/decodeFrame', () => {
    const decoded = decodeFrame(encodeFrame({ t: 'introduce', peers: [ALICE] }));
    expect(decoded).toEqual({ ok: true, frame: { t: 'introduce', peers: [ALICE], rejected: [] } });
  });

  it('drops a malformed entry on its own and keeps the rest of the frame', () => {
    const bad = [
      { ...ALICE, peer_id: 'short' },
      { ...ALICE, endpoints: Array.from({ length: 17 }, (_, i) => `ws://h:${i + 1}`) },
      { ...ALICE, endpoints: ['ws://' + 'a'.repeat(260)] },
      { ...ALICE, display_name: 'x'.repeat(65) },
      { ...ALICE, x25519_key: 'not base58 0OIl' },
      'not an object',
    ];
    const decoded = decodeFrame(encodeFrame({ t: 'introduce', peers: [...bad, ALICE] as IntroducedPeerEntry[] }));
    if (!decoded.ok || decoded.frame.t !== 'introduce') throw new Error('expected an introduce frame');
    expect(decoded.frame.peers).toEqual([ALICE]);
    expect(decoded.frame.rejected.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(decoded.frame.rejected[0]!.reason).toMatch(/^peers\.0\.peer_id/);
  });

  it('refuses an empty or oversized frame as a whole', () => {
    expect(decodeFrame(utf8(JSON.stringify({ t: 'introduce', peers: [] }))).ok).toBe(false);
    const many = Array.from({ length: MAX_INTRODUCED_PER_FRAME + 1 }, () => ALICE);
    expect(decodeFrame(utf8(JSON.stringify({ t: 'introduce', peers: many }))).ok).toBe(false);
    expect(decodeFrame(utf8(JSON.stringify({ t: 'introduce', peers: 'x' }))).ok).toBe(false);
  });

  it('introductionEntry builds what verifyIntroduction accepts, with names capped', () => {
    const entry = introductionEntry(
      {
        peerId: ALICE.peer_id,
        ed25519PublicKey: verifyOk(ALICE).ed25519PublicKey,
        x25519PublicKey: verifyOk(ALICE).x25519PublicKey,
        binding: ALICE.binding,
      },
      ['ws://127.0.0.1:7771', 'bad endpoint'],
      { display_name: 'n'.repeat(100), device_name: 'phone' },
    );
    expect(entry.endpoints).toEqual(['ws://127.0.0.1:7771']);
    expect(entry.display_name).toHaveLength(64);
    expect(verifyIntroduction(nodeCrypto, entry).ok).toBe(true);
  });
});

function verifyOk(entry: IntroducedPeerEntry) {
  const verdict = verifyIntroduction(nodeCrypto, entry);
  if (!verdict.ok) throw new Error(verdict.reason);
  return verdict.peer;
}
