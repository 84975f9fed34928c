import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { hexDecode, hexEncode, utf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { CipherState, chachaPolyNonce } from '../../../protocol/noise/cipher-state.ts';
import { NoiseError } from '../../../protocol/noise/errors.ts';
import { NOISE_PROTOCOL_NAME } from '../../../protocol/noise/index.ts';
import { SymmetricState } from '../../../protocol/noise/symmetric-state.ts';

const key = hexDecode('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const ad = utf8('associated');

describe('CipherState', () => {
  it('encodes the nonce as 4 zero bytes and a 64-bit little-endian counter', () => {
    expect(hexEncode(chachaPolyNonce(0))).toBe('000000000000000000000000');
    expect(hexEncode(chachaPolyNonce(1))).toBe('000000000100000000000000');
    expect(hexEncode(chachaPolyNonce(0x0102030405))).toBe('000000000504030201000000');
    expect(hexEncode(chachaPolyNonce(Number.MAX_SAFE_INTEGER))).toBe('00000000ffffffffffff1f00');
  });

  for (const crypto of [nobleCrypto, nodeCrypto]) {
    it(`${crypto.name}: uses nonces 0, 1, 2, ... with the AEAD`, () => {
      const cipher = new CipherState(crypto, key);
      for (let n = 0; n < 3; n++) {
        const expected = crypto.aeadEncrypt(key, chachaPolyNonce(n), utf8('m'), ad);
        expect(cipher.encryptWithAd(ad, utf8('m'))).toEqual(expected);
      }
    });

    it(`${crypto.name}: a failed decryption does not advance the nonce`, () => {
      const sender = new CipherState(crypto, key);
      const receiver = new CipherState(crypto, key);
      const first = sender.encryptWithAd(ad, utf8('first'));
      const second = sender.encryptWithAd(ad, utf8('second'));
      const tampered = first.slice();
      tampered[0]! ^= 0x80;
      expect(() => receiver.decryptWithAd(ad, tampered)).toThrow(NoiseError);
      expect(() => receiver.decryptWithAd(utf8('other ad'), first)).toThrow(NoiseError);
      expect(receiver.decryptWithAd(ad, first)).toEqual(utf8('first'));
      expect(receiver.decryptWithAd(ad, second)).toEqual(utf8('second'));
    });
  }

  it('passes data through unchanged while it has no key', () => {
    const cipher = new CipherState(nobleCrypto);
    expect(cipher.hasKey()).toBe(false);
    expect(cipher.encryptWithAd(ad, utf8('clear'))).toEqual(utf8('clear'));
    expect(cipher.decryptWithAd(ad, utf8('clear'))).toEqual(utf8('clear'));
  });

  it('refuses to use a nonce at the limit', () => {
    const sender = new CipherState(nobleCrypto, key, Number.MAX_SAFE_INTEGER - 1);
    const receiver = new CipherState(nobleCrypto, key, Number.MAX_SAFE_INTEGER - 1);
    expect(receiver.decryptWithAd(ad, sender.encryptWithAd(ad, utf8('last')))).toEqual(utf8('last'));
    expect(() => sender.encryptWithAd(ad, utf8('one more'))).toThrow(/Nonce exhausted/);
    expect(() => receiver.decryptWithAd(ad, new Uint8Array(16))).toThrow(/Nonce exhausted/);
  });
});

describe('SymmetricState', () => {
  it('uses a 32-byte protocol name as the initial hash, unhashed', () => {
    expect(utf8(NOISE_PROTOCOL_NAME).length).toBe(32);
    expect(new SymmetricState(nobleCrypto, NOISE_PROTOCOL_NAME).handshakeHash).toEqual(utf8(NOISE_PROTOCOL_NAME));
  });

  it('zero-pads a shorter name and hashes a longer one', () => {
    const short = new SymmetricState(nobleCrypto, 'Noise_NN_25519_AESGCM_SHA256');
    expect(short.handshakeHash).toEqual(new Uint8Array([...utf8('Noise_NN_25519_AESGCM_SHA256'), 0, 0, 0, 0]));
    const long = 'Noise_XXpsk3_25519_ChaChaPoly_SHA256';
    expect(new SymmetricState(nobleCrypto, long).handshakeHash).toEqual(nobleCrypto.sha256(utf8(long)));
  });

  it('gives the same results on both backends', () => {
    const run = (crypto: typeof nobleCrypto) => {
      const state = new SymmetricState(crypto, NOISE_PROTOCOL_NAME);
      state.mixHash(utf8('prologue'));
      state.mixKey(key);
      const ciphertext = state.encryptAndHash(utf8('payload'));
      const [c1, c2] = state.split();
      return [ciphertext, state.handshakeHash, c1.encryptWithAd(ad, utf8('a')), c2.encryptWithAd(ad, utf8('b'))];
    };
    expect(run(nodeCrypto)).toEqual(run(nobleCrypto));
  });
});
