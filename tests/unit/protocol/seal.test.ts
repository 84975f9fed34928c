import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { generateKeyPair } from '../../../protocol/crypto/types.ts';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { SEAL_OVERHEAD, SealError, openSeal, seal } from '../../../protocol/seal.ts';

const MESSAGE = 'Sealed message could not be opened: wrong key or tampered data';
const backends = [nobleCrypto, nodeCrypto];

describe.each(backends)('seal ($name)', (crypto) => {
  const recipient = generateKeyPair(crypto, 'x25519');
  const aad = utf8('context');
  const plaintext = utf8('hello, sealed world');

  it('round-trips, with 48 bytes of overhead', () => {
    const sealed = seal(crypto, recipient.publicKey, plaintext, aad);
    expect(sealed.length).toBe(plaintext.length + SEAL_OVERHEAD);
    expect(openSeal(crypto, recipient, sealed, aad)).toEqual(plaintext);
  });

  it('round-trips an empty plaintext', () => {
    expect(openSeal(crypto, recipient, seal(crypto, recipient.publicKey, new Uint8Array(0), aad), aad)).toEqual(new Uint8Array(0));
  });

  it('uses a fresh ephemeral key each time', () => {
    const a = seal(crypto, recipient.publicKey, plaintext, aad);
    const b = seal(crypto, recipient.publicKey, plaintext, aad);
    expect(a.subarray(0, 32)).not.toEqual(b.subarray(0, 32));
    expect(a.subarray(32)).not.toEqual(b.subarray(32));
  });

  it.each(backends)('opens what the other backend sealed ($name)', (other) => {
    expect(openSeal(crypto, recipient, seal(other, recipient.publicKey, plaintext, aad), aad)).toEqual(plaintext);
  });

  const fails = (fn: () => unknown) => {
    expect(fn).toThrow(SealError);
    expect(fn).toThrow(MESSAGE);
  };

  it('fails with the wrong key', () => {
    const sealed = seal(crypto, recipient.publicKey, plaintext, aad);
    fails(() => openSeal(crypto, generateKeyPair(crypto, 'x25519'), sealed, aad));
    // Right secret but claiming another public key changes the HKDF salt.
    fails(() => openSeal(crypto, { ...recipient, publicKey: generateKeyPair(crypto, 'x25519').publicKey }, sealed, aad));
  });

  it('fails with the wrong aad', () => {
    const sealed = seal(crypto, recipient.publicKey, plaintext, aad);
    fails(() => openSeal(crypto, recipient, sealed, utf8('other context')));
    fails(() => openSeal(crypto, recipient, sealed, new Uint8Array(0)));
  });

  it('fails on any tampered byte', () => {
    const sealed = seal(crypto, recipient.publicKey, plaintext, aad);
    for (const i of [0, 31, 32, sealed.length - 17, sealed.length - 1]) {
      const copy = sealed.slice();
      copy[i]! ^= 0x01;
      fails(() => openSeal(crypto, recipient, copy, aad));
    }
  });

  it('fails when only the ignored top bit of the ephemeral key is flipped (it is in the HKDF salt)', () => {
    const sealed = seal(crypto, recipient.publicKey, plaintext, aad);
    sealed[31]! ^= 0x80;
    fails(() => openSeal(crypto, recipient, sealed, aad));
  });

  it('fails on truncated input, including shorter than the overhead', () => {
    const sealed = seal(crypto, recipient.publicKey, plaintext, aad);
    for (const length of [0, 10, 32, SEAL_OVERHEAD - 1, SEAL_OVERHEAD, sealed.length - 1]) {
      fails(() => openSeal(crypto, recipient, sealed.subarray(0, length), aad));
    }
  });

  it('fails on a low-order ephemeral key', () => {
    const sealed = seal(crypto, recipient.publicKey, plaintext, aad);
    sealed.fill(0, 0, 32);
    fails(() => openSeal(crypto, recipient, sealed, aad));
  });

  it('refuses to seal to a malformed or low-order key', () => {
    expect(() => seal(crypto, new Uint8Array(31), plaintext, aad)).toThrow(/32 bytes/);
    expect(() => seal(crypto, new Uint8Array(32), plaintext, aad)).toThrow(/low-order/);
  });
});
