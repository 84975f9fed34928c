import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { utf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { generateKeyPair, type CryptoBackend, type KeyPair } from '../../../protocol/crypto/types.ts';
import {
  CANOPY_NOISE_PROLOGUE,
  NoiseError,
  SecureTransport,
  XXHandshake,
} from '../../../protocol/noise/index.ts';

interface Party {
  crypto: CryptoBackend;
  staticKey: KeyPair;
}

const party = (crypto: CryptoBackend): Party => ({ crypto, staticKey: generateKeyPair(crypto, 'x25519') });

function start(initiator: Party, responder: Party, prologue = CANOPY_NOISE_PROLOGUE) {
  return {
    i: new XXHandshake(initiator.crypto, { initiator: true, staticKey: initiator.staticKey, prologue }),
    r: new XXHandshake(responder.crypto, { initiator: false, staticKey: responder.staticKey, prologue }),
  };
}

/** Runs a full handshake and returns the wire messages. */
function complete(i: XXHandshake, r: XXHandshake): Uint8Array[] {
  const m1 = i.writeMessage(utf8('hello'));
  expect(r.readMessage(m1)).toEqual(utf8('hello'));
  const m2 = r.writeMessage(utf8('responder identity'));
  expect(i.readMessage(m2)).toEqual(utf8('responder identity'));
  const m3 = i.writeMessage(utf8('initiator identity'));
  expect(r.readMessage(m3)).toEqual(utf8('initiator identity'));
  return [m1, m2, m3];
}

function flipByte(message: Uint8Array, index: number): Uint8Array {
  const copy = message.slice();
  copy[index]! ^= 0x01;
  return copy;
}

const pairings: [CryptoBackend, CryptoBackend][] = [
  [nobleCrypto, nobleCrypto],
  [nodeCrypto, nodeCrypto],
  [nobleCrypto, nodeCrypto],
  [nodeCrypto, nobleCrypto],
];

describe('XXHandshake between two instances', () => {
  for (const [initiatorCrypto, responderCrypto] of pairings) {
    it(`completes with random keys: ${initiatorCrypto.name} initiator, ${responderCrypto.name} responder`, () => {
      const alice = party(initiatorCrypto);
      const bob = party(responderCrypto);
      const { i, r } = start(alice, bob);
      expect(i.remoteStaticKey).toBeUndefined();

      const [m1, m2, m3] = complete(i, r);
      expect(m1!.length).toBe(32 + 5); // e, then the payload in the clear
      expect(m2!.length).toBe(32 + 48 + 18 + 16);
      expect(m3!.length).toBe(48 + 18 + 16);

      expect(i.isComplete && r.isComplete).toBe(true);
      expect(i.remoteStaticKey).toEqual(bob.staticKey.publicKey);
      expect(r.remoteStaticKey).toEqual(alice.staticKey.publicKey);
      expect(i.handshakeHash).toEqual(r.handshakeHash);

      const ti = SecureTransport.fromHandshake(i);
      const tr = SecureTransport.fromHandshake(r);
      expect(tr.open(ti.seal(utf8('ping')))).toEqual(utf8('ping'));
      expect(ti.open(tr.seal(utf8('pong')))).toEqual(utf8('pong'));
    });
  }

  it('produces different ephemerals, hashes and keys for every session', () => {
    const alice = party(nobleCrypto);
    const bob = party(nobleCrypto);
    const first = start(alice, bob);
    const second = start(alice, bob);
    const [a1] = complete(first.i, first.r);
    const [b1] = complete(second.i, second.r);
    expect(a1).not.toEqual(b1);
    expect(first.i.handshakeHash).not.toEqual(second.i.handshakeHash);
  });

  it('learns the remote static key of the initiator only at message 3', () => {
    const { i, r } = start(party(nobleCrypto), party(nobleCrypto));
    r.readMessage(i.writeMessage(new Uint8Array(0)));
    i.readMessage(r.writeMessage(new Uint8Array(0)));
    expect(i.remoteStaticKey).toBeDefined();
    expect(r.remoteStaticKey).toBeUndefined();
    r.readMessage(i.writeMessage(new Uint8Array(0)));
    expect(r.remoteStaticKey).toBeDefined();
  });
});

describe('XXHandshake rejects tampering and replay', () => {
  for (const crypto of [nobleCrypto, nodeCrypto]) {
    it(`${crypto.name}: a flipped bit anywhere in message 2 fails at the initiator`, () => {
      const alice = party(crypto);
      const bob = party(crypto);
      const reference = start(alice, bob);
      reference.r.readMessage(reference.i.writeMessage(new Uint8Array(0)));
      const length = reference.r.writeMessage(utf8('payload')).length;
      // Sample the ephemeral, the encrypted static key, its tag, the payload and its tag.
      for (const index of [0, 31, 32, 60, 79, 80, length - 1]) {
        const { i, r } = start(alice, bob);
        r.readMessage(i.writeMessage(new Uint8Array(0)));
        const m2 = r.writeMessage(utf8('payload'));
        expect(() => i.readMessage(flipByte(m2, index)), `byte ${index}`).toThrow(NoiseError);
        expect(i.isComplete).toBe(false);
      }
    });

    it(`${crypto.name}: a flipped bit in message 3 fails at the responder`, () => {
      const { i, r } = start(party(crypto), party(crypto));
      r.readMessage(i.writeMessage(new Uint8Array(0)));
      i.readMessage(r.writeMessage(new Uint8Array(0)));
      const m3 = i.writeMessage(utf8('identity'));
      expect(() => r.readMessage(flipByte(m3, 10))).toThrow(NoiseError);
      expect(r.remoteStaticKey).toBeUndefined();
    });
  }

  it('a tampered ephemeral in message 1 is accepted but the handshake fails at message 2', () => {
    const { i, r } = start(party(nobleCrypto), party(nobleCrypto));
    r.readMessage(flipByte(i.writeMessage(new Uint8Array(0)), 3));
    expect(() => i.readMessage(r.writeMessage(new Uint8Array(0)))).toThrow(NoiseError);
  });

  it('different prologues fail at message 2', () => {
    const alice = party(nobleCrypto);
    const bob = party(nobleCrypto);
    const i = new XXHandshake(nobleCrypto, { initiator: true, staticKey: alice.staticKey, prologue: utf8('canopy/noise/1') });
    const r = new XXHandshake(nobleCrypto, { initiator: false, staticKey: bob.staticKey, prologue: utf8('canopy/noise/2') });
    r.readMessage(i.writeMessage(new Uint8Array(0)));
    expect(() => i.readMessage(r.writeMessage(new Uint8Array(0)))).toThrow(NoiseError);
  });

  it('replaying a recorded session to a fresh responder fails at message 3', () => {
    const alice = party(nobleCrypto);
    const bob = party(nobleCrypto);
    const recorded = start(alice, bob);
    const [m1, m2, m3] = complete(recorded.i, recorded.r);

    const fresh = new XXHandshake(nobleCrypto, { initiator: false, staticKey: bob.staticKey, prologue: CANOPY_NOISE_PROLOGUE });
    expect(fresh.readMessage(m1!)).toEqual(utf8('hello'));
    expect(fresh.writeMessage(utf8('responder identity'))).not.toEqual(m2);
    expect(() => fresh.readMessage(m3!)).toThrow(NoiseError);
    expect(fresh.isComplete).toBe(false);
    expect(fresh.remoteStaticKey).toBeUndefined();
  });

  it('a low-order ephemeral key fails with a NoiseError', () => {
    const r = new XXHandshake(nobleCrypto, { initiator: false, staticKey: party(nobleCrypto).staticKey, prologue: CANOPY_NOISE_PROLOGUE });
    r.readMessage(new Uint8Array(32)); // all-zero point
    expect(() => r.writeMessage(new Uint8Array(0))).toThrow(NoiseError);
  });
});

describe('XXHandshake enforces order and well-formed messages', () => {
  it('throws on out-of-turn writes and reads', () => {
    const alice = party(nobleCrypto);
    const bob = party(nobleCrypto);
    expect(() => start(alice, bob).r.writeMessage(new Uint8Array(0))).toThrow(/Out of turn/);
    expect(() => start(alice, bob).i.readMessage(new Uint8Array(32))).toThrow(/Out of turn/);

    const { i, r } = start(alice, bob);
    const m1 = i.writeMessage(new Uint8Array(0));
    expect(() => i.writeMessage(new Uint8Array(0))).toThrow(NoiseError);
    r.readMessage(m1);
  });

  it('throws after completion and allows split() only once, after completion', () => {
    const { i, r } = start(party(nobleCrypto), party(nobleCrypto));
    expect(() => i.split()).toThrow(/not complete/);
    complete(i, r);
    i.split();
    expect(() => i.split()).toThrow(/only once/);
    expect(() => i.writeMessage(new Uint8Array(0))).toThrow(/already complete/);
    expect(() => r.readMessage(new Uint8Array(64))).toThrow(/already complete/);
  });

  it('is dead after any error', () => {
    const { i, r } = start(party(nobleCrypto), party(nobleCrypto));
    expect(() => i.readMessage(new Uint8Array(0))).toThrow(/Out of turn/);
    expect(() => i.writeMessage(new Uint8Array(0))).toThrow(/already failed/);

    const m1 = start(party(nobleCrypto), party(nobleCrypto)).i.writeMessage(new Uint8Array(0));
    expect(() => r.readMessage(m1.subarray(0, 31))).toThrow(/too short/);
    expect(() => r.readMessage(m1)).toThrow(/already failed/);
    expect(() => r.split()).toThrow(NoiseError);
  });

  it('rejects short and oversized messages', () => {
    const alice = party(nobleCrypto);
    const bob = party(nobleCrypto);
    expect(() => start(alice, bob).r.readMessage(new Uint8Array(10))).toThrow(/too short/);
    expect(() => start(alice, bob).r.readMessage(new Uint8Array(65536))).toThrow(/exceeds/);
    expect(() => start(alice, bob).i.writeMessage(new Uint8Array(65536))).toThrow(/exceeds/);

    for (const length of [32, 32 + 48, 32 + 48 + 15]) {
      const { i, r } = start(alice, bob);
      r.readMessage(i.writeMessage(new Uint8Array(0)));
      const m2 = r.writeMessage(new Uint8Array(0));
      expect(() => i.readMessage(m2.subarray(0, length)), `length ${length}`).toThrow(/too short/);
    }
  });

  it('rejects keys of the wrong size', () => {
    const bad = { publicKey: new Uint8Array(31), secretKey: new Uint8Array(32) };
    expect(() => new XXHandshake(nobleCrypto, { initiator: true, staticKey: bad, prologue: CANOPY_NOISE_PROLOGUE })).toThrow(NoiseError);
  });
});
