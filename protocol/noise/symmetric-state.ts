import { concatBytes, utf8 } from '../bytes.ts';
import type { CryptoBackend } from '../crypto/types.ts';
import { CipherState } from './cipher-state.ts';

const HASHLEN = 32;
const EMPTY = new Uint8Array(0);

/** Noise's HKDF (spec §4.3): an HMAC chain, not RFC 5869 (no info, no length-dependent counter). */
function noiseHkdf(crypto: CryptoBackend, chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const tempKey = crypto.hmacSha256(chainingKey, ikm);
  const output1 = crypto.hmacSha256(tempKey, Uint8Array.of(0x01));
  const output2 = crypto.hmacSha256(tempKey, concatBytes(output1, Uint8Array.of(0x02)));
  return [output1, output2];
}

/** A name of at most HASHLEN bytes is zero-padded, a longer one hashed (spec §5.2). */
function initialHash(crypto: CryptoBackend, protocolName: string): Uint8Array {
  const name = utf8(protocolName);
  if (name.length > HASHLEN) return crypto.sha256(name);
  const padded = new Uint8Array(HASHLEN);
  padded.set(name);
  return padded;
}

/** Noise SymmetricState (spec §5.2): chaining key, handshake hash and the current CipherState. */
export class SymmetricState {
  readonly #crypto: CryptoBackend;
  readonly #cipher: CipherState;
  #chainingKey: Uint8Array;
  #hash: Uint8Array;

  constructor(crypto: CryptoBackend, protocolName: string) {
    this.#crypto = crypto;
    this.#cipher = new CipherState(crypto);
    this.#hash = initialHash(crypto, protocolName);
    this.#chainingKey = this.#hash;
  }

  get handshakeHash(): Uint8Array {
    return this.#hash.slice();
  }

  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempKey] = noiseHkdf(this.#crypto, this.#chainingKey, inputKeyMaterial);
    this.#chainingKey = chainingKey;
    this.#cipher.initializeKey(tempKey);
  }

  mixHash(data: Uint8Array): void {
    this.#hash = this.#crypto.sha256(concatBytes(this.#hash, data));
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipher.encryptWithAd(this.#hash, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipher.decryptWithAd(this.#hash, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Returns [initiator-to-responder, responder-to-initiator] cipher states. */
  split(): [CipherState, CipherState] {
    const [key1, key2] = noiseHkdf(this.#crypto, this.#chainingKey, EMPTY);
    return [new CipherState(this.#crypto, key1), new CipherState(this.#crypto, key2)];
  }
}
