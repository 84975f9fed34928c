import { AeadError, type CryptoBackend } from '../crypto/types.ts';
import { NoiseError } from './errors.ts';

/**
 * Noise caps the nonce at 2^64-2 (2^64-1 is reserved). A JS number is exact only up to 2^53-1,
 * so we stop there: no session will ever send 9 * 10^15 messages.
 */
const NONCE_LIMIT = Number.MAX_SAFE_INTEGER;
const TWO_POW_32 = 2 ** 32;

/** ChaChaPoly nonce: 32 bits of zeros followed by the 64-bit little-endian counter. */
export function chachaPolyNonce(n: number): Uint8Array {
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(4, n % TWO_POW_32, true);
  view.setUint32(8, Math.floor(n / TWO_POW_32), true);
  return nonce;
}

/** Noise CipherState (spec §5.1): a key plus a counter nonce. */
export class CipherState {
  readonly #crypto: CryptoBackend;
  #key: Uint8Array | undefined;
  #nonce: number;

  /** `initialNonce` exists only so tests can reach the nonce limit. */
  constructor(crypto: CryptoBackend, key?: Uint8Array, initialNonce = 0) {
    this.#crypto = crypto;
    this.#key = key?.slice();
    this.#nonce = initialNonce;
  }

  hasKey(): boolean {
    return this.#key !== undefined;
  }

  initializeKey(key: Uint8Array): void {
    this.#key = key.slice();
    this.#nonce = 0;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (!this.#key) return plaintext.slice();
    const nonce = this.#takeNonce();
    return this.#crypto.aeadEncrypt(this.#key, chachaPolyNonce(nonce), plaintext, ad);
  }

  /** On failure the nonce is not advanced (spec §5.1). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (!this.#key) return ciphertext.slice();
    this.#checkNonce();
    let plaintext: Uint8Array;
    try {
      plaintext = this.#crypto.aeadDecrypt(this.#key, chachaPolyNonce(this.#nonce), ciphertext, ad);
    } catch (error) {
      if (error instanceof AeadError) throw new NoiseError('Decryption failed', { cause: error });
      throw error;
    }
    this.#nonce++;
    return plaintext;
  }

  #checkNonce(): void {
    if (this.#nonce >= NONCE_LIMIT) throw new NoiseError('Nonce exhausted: the session must be re-established');
  }

  #takeNonce(): number {
    this.#checkNonce();
    return this.#nonce++;
  }
}
