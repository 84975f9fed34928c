import { describe, expect, it } from 'vitest';
import { nobleCrypto } from '../../protocol/crypto/noble.ts';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { identityFromSecrets, type Identity } from '../../protocol/identity.ts';
import { SafetyKeyMismatchError, safetyNumber, safetyNumberGroups, type SafetyParty } from '../../protocol/safety-number.ts';
import { contactTrust } from '../../web/lib/components/people/contact-trust.ts';

function party(identity: Identity): SafetyParty {
  return { peerId: identity.peerId, ed25519PublicKey: identity.ed25519.publicKey };
}

const halves = (number: string) => [number.slice(0, 30), number.slice(30)];
const secret = (byte: number) => new Uint8Array(32).fill(byte);
// Peer IDs 4XmjKEd9A96KhoMX (the upstream vector of identity.test.ts) and DGAMCcQXJNKo6NdM.
const alice = party(identityFromSecrets(nobleCrypto, secret(1), secret(2)));
const bob = party(identityFromSecrets(nobleCrypto, secret(3), secret(4)));
const carol = party(identityFromSecrets(nobleCrypto, secret(5), secret(6)));

// Computed once when the derivation was written, and checked then against a separate
// implementation (node:crypto SHA-512, BigInt arithmetic): a change here changes every number users compared.
const ALICE_BOB = '463604046938421849805919376067296795118142910545543099149708';

describe.each([nobleCrypto, nodeCrypto])('safety numbers ($name peer ID check)', (crypto) => {
  it('matches the pinned vector', () => {
    expect(alice.peerId).toBe('4XmjKEd9A96KhoMX');
    expect(bob.peerId).toBe('DGAMCcQXJNKo6NdM');
    expect(safetyNumber(crypto, alice, bob)).toBe(ALICE_BOB);
  });

  it('is the same on both sides', () => {
    expect(safetyNumber(crypto, bob, alice)).toBe(safetyNumber(crypto, alice, bob));
    expect(safetyNumber(crypto, carol, alice)).toBe(safetyNumber(crypto, alice, carol));
  });

  it('is 60 digits: 30 per party, whoever the other party is', () => {
    const number = safetyNumber(crypto, alice, bob);
    expect(number).toMatch(/^\d{60}$/);
    // Alice's peer ID sorts first here, so her half leads; it is the same with Carol.
    const [aliceHalf, bobHalf] = halves(number);
    expect(halves(safetyNumber(crypto, alice, carol))).toContain(aliceHalf);
    expect(halves(safetyNumber(crypto, alice, carol))).not.toContain(bobHalf);
  });

  it('differs when either key differs', () => {
    const number = safetyNumber(crypto, alice, bob);
    expect(safetyNumber(crypto, alice, carol)).not.toBe(number);
    expect(safetyNumber(crypto, carol, bob)).not.toBe(number);
  });

  it('rejects a key that does not match its peer ID', () => {
    // Bob's peer ID with Carol's key: what a peer lying about its key looks like.
    const impostor = { peerId: bob.peerId, ed25519PublicKey: carol.ed25519PublicKey };
    expect(() => safetyNumber(crypto, alice, impostor)).toThrow(SafetyKeyMismatchError);
    expect(() => safetyNumber(crypto, impostor, alice)).toThrow(/does not match/);
    expect(() => safetyNumber(crypto, alice, { peerId: bob.peerId, ed25519PublicKey: bob.ed25519PublicKey.subarray(0, 31) })).toThrow(
      SafetyKeyMismatchError,
    );
  });
});

describe('safetyNumberGroups', () => {
  it('splits the number into 12 groups of 5 digits', () => {
    const groups = safetyNumberGroups(ALICE_BOB);
    expect(groups).toHaveLength(12);
    expect(groups[0]).toBe('46360');
    expect(groups.join('')).toBe(ALICE_BOB);
  });
});

describe('contactTrust (the DM header and its warnings)', () => {
  const row = (peer_id: string, safety_number: string, display_name: string | null) => ({ peer_id, safety_number, display_name, verified_at: 1 });
  const NUMBER = ALICE_BOB;
  const OTHER = '1'.repeat(60);

  it('is verified while the stored number matches', () => {
    expect(contactTrust({ peerId: 'bob', name: 'Bob', number: NUMBER, verified: [row('bob', NUMBER, 'Bob')] })).toEqual({
      verified: true,
      warning: null,
    });
  });

  it('is neither verified nor warned about before the user verifies', () => {
    expect(contactTrust({ peerId: 'bob', name: 'Bob', number: NUMBER, verified: [] })).toEqual({ verified: false, warning: null });
  });

  it('warns and is no longer verified when the number changed', () => {
    expect(contactTrust({ peerId: 'bob', name: 'Bob', number: OTHER, verified: [row('bob', NUMBER, 'Bob')] })).toEqual({
      verified: false,
      warning: { kind: 'changed', name: 'Bob' },
    });
  });

  it('is not verified, and not warned about, while no number can be computed', () => {
    expect(contactTrust({ peerId: 'bob', name: 'Bob', number: null, verified: [row('bob', NUMBER, 'Bob')] })).toEqual({
      verified: false,
      warning: null,
    });
  });

  it('warns when another peer claims the name of a verified contact', () => {
    const verified = [row('bob', NUMBER, 'Bob')];
    expect(contactTrust({ peerId: 'mallory', name: ' bob ', number: OTHER, verified })).toEqual({
      verified: false,
      warning: { kind: 'impersonation', name: 'Bob' },
    });
    expect(contactTrust({ peerId: 'carol', name: 'Carol', number: OTHER, verified }).warning).toBeNull();
    expect(contactTrust({ peerId: 'nameless', name: null, number: OTHER, verified: [row('bob', NUMBER, null)] }).warning).toBeNull();
  });

  it('stops warning about a shared name once the user verified this peer too', () => {
    const verified = [row('bob', NUMBER, 'Bob'), row('other-bob', OTHER, 'Bob')];
    expect(contactTrust({ peerId: 'other-bob', name: 'Bob', number: OTHER, verified })).toEqual({ verified: true, warning: null });
  });
});
