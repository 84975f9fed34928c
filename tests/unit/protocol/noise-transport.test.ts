import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { equalBytes, utf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { generateKeyPair, type CryptoBackend } from '../../../protocol/crypto/types.ts';
import {
  CANOPY_NOISE_PROLOGUE,
  CipherState,
  FrameTooLargeError,
  MAX_FRAME_BYTES,
  NoiseError,
  SecureTransport,
  XXHandshake,
} from '../../../protocol/noise/index.ts';

function connect(initiatorCrypto: CryptoBackend, responderCrypto = initiatorCrypto) {
  const prologue = CANOPY_NOISE_PROLOGUE;
  const i = new XXHandshake(initiatorCrypto, { initiator: true, staticKey: generateKeyPair(initiatorCrypto, 'x25519'), prologue });
  const r = new XXHandshake(responderCrypto, { initiator: false, staticKey: generateKeyPair(responderCrypto, 'x25519'), prologue });
  r.readMessage(i.writeMessage(new Uint8Array(0)));
  i.readMessage(r.writeMessage(new Uint8Array(0)));
  r.readMessage(i.writeMessage(new Uint8Array(0)));
  return { alice: SecureTransport.fromHandshake(i), bob: SecureTransport.fromHandshake(r) };
}

function expectPoisoned(transport: SecureTransport): void {
  expect(transport.failure).toBeInstanceOf(NoiseError);
  expect(() => transport.seal(utf8('x'))).toThrow(/earlier failure/);
  expect(() => transport.open(new Uint8Array(32))).toThrow(/earlier failure/);
}

describe('SecureTransport', () => {
  for (const [a, b] of [
    [nobleCrypto, nobleCrypto],
    [nodeCrypto, nodeCrypto],
    [nobleCrypto, nodeCrypto],
  ] as const) {
    it(`round-trips frames both ways: ${a.name} <-> ${b.name}`, () => {
      const { alice, bob } = connect(a, b);
      for (let n = 0; n < 20; n++) {
        const message = utf8(`message ${n}`);
        const sealed = alice.seal(message);
        expect(sealed.length).toBe(message.length + 16);
        expect(bob.open(sealed)).toEqual(message);
        expect(alice.open(bob.seal(message))).toEqual(message);
      }
      expect(bob.open(alice.seal(new Uint8Array(0)))).toEqual(new Uint8Array(0));
    });
  }

  it('seals the same plaintext differently each time (counter nonces)', () => {
    const { alice } = connect(nobleCrypto);
    expect(alice.seal(utf8('same'))).not.toEqual(alice.seal(utf8('same')));
  });

  it('carries a frame of exactly MAX_FRAME_BYTES, beyond the 65535-byte Noise limit', () => {
    const { alice, bob } = connect(nodeCrypto);
    const big = new Uint8Array(MAX_FRAME_BYTES).fill(7);
    const sealed = alice.seal(big);
    expect(sealed.length).toBe(MAX_FRAME_BYTES + 16);
    // equalBytes: vitest's deep equality is very slow on a 1 MiB array.
    expect(equalBytes(bob.open(sealed), big)).toBe(true);
  });

  for (const crypto of [nobleCrypto, nodeCrypto]) {
    it(`${crypto.name}: a tampered frame throws and poisons the transport`, () => {
      const { alice, bob } = connect(crypto);
      const sealed = alice.seal(utf8('transfer 10 coins'));
      const next = alice.seal(utf8('next'));
      sealed[3]! ^= 0x01;
      expect(() => bob.open(sealed)).toThrow(NoiseError);
      expect(() => bob.open(next)).toThrow(/earlier failure/);
      expectPoisoned(bob);
    });
  }

  it('a replayed frame throws and poisons the transport', () => {
    const { alice, bob } = connect(nobleCrypto);
    const sealed = alice.seal(utf8('once'));
    expect(bob.open(sealed)).toEqual(utf8('once'));
    expect(() => bob.open(sealed)).toThrow(NoiseError);
    expectPoisoned(bob);
  });

  it('reordered frames throw and poison the transport', () => {
    const { alice, bob } = connect(nobleCrypto);
    const first = alice.seal(utf8('first'));
    const second = alice.seal(utf8('second'));
    expect(() => bob.open(second)).toThrow(NoiseError);
    expect(() => bob.open(first)).toThrow(/earlier failure/);
    expectPoisoned(bob);
  });

  it('a truncated frame throws and poisons the transport', () => {
    const { alice, bob } = connect(nobleCrypto);
    const sealed = alice.seal(utf8('truncate me'));
    expect(() => bob.open(sealed.subarray(0, sealed.length - 1))).toThrow(NoiseError);
    expectPoisoned(bob);

    const other = connect(nodeCrypto);
    expect(() => other.bob.open(new Uint8Array(15))).toThrow(/shorter than/);
    expectPoisoned(other.bob);
  });

  it('a frame from the wrong direction throws', () => {
    const { alice } = connect(nobleCrypto);
    expect(() => alice.open(alice.seal(utf8('echo')))).toThrow(NoiseError);
  });

  it('refuses to seal an oversized frame without poisoning', () => {
    const { alice, bob } = connect(nobleCrypto);
    expect(() => alice.seal(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(FrameTooLargeError);
    expect(alice.failure).toBeUndefined();
    expect(bob.open(alice.seal(utf8('still fine')))).toEqual(utf8('still fine'));
  });

  it('rejects an oversized received frame without attempting decryption, and poisons', () => {
    let decryptions = 0;
    const counting: CryptoBackend = {
      ...nobleCrypto,
      aeadDecrypt: (...args) => {
        decryptions++;
        return nobleCrypto.aeadDecrypt(...args);
      },
    };
    const { bob } = connect(nobleCrypto, counting);
    const before = decryptions;
    expect(() => bob.open(new Uint8Array(MAX_FRAME_BYTES + 17))).toThrow(FrameTooLargeError);
    expect(decryptions).toBe(before);
    expectPoisoned(bob);
  });

  it('requires keyed cipher states', () => {
    expect(() => new SecureTransport({ send: new CipherState(nobleCrypto), receive: new CipherState(nobleCrypto) })).toThrow(
      NoiseError,
    );
  });
});
