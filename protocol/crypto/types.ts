/**
 * The primitives Canopy needs, behind one interface so that the browser can use @noble
 * and the companion can use node:crypto (OpenSSL, 16-47x faster here). Both backends
 * must pass the same vectors; see protocol/crypto/*.test.ts and tests/unit/crypto-cross.test.ts.
 *
 * All keys are raw 32-byte values. Ed25519 secret keys are the 32-byte seed.
 */
export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface CryptoBackend {
  readonly name: string;
  randomBytes(length: number): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** RFC 5869 HKDF-SHA256. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  ed25519PublicKey(secretKey: Uint8Array): Uint8Array;
  ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Returns false (never throws) for malformed keys or signatures. */
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;

  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  /**
   * A fresh X25519 key pair, for backends that make one faster than from random bytes (OpenSSL
   * imports a raw private key ~8x slower than it generates one; every handshake and sealed DM
   * needs an ephemeral pair).
   */
  x25519KeyPair?(): KeyPair;
  /** Throws on a low-order public key (all-zero shared secret). */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;

  /** IETF ChaCha20-Poly1305 (12-byte nonce). Output is ciphertext || 16-byte tag. */
  aeadEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /** Throws AeadError when authentication fails. */
  aeadDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array;
}

export class AeadError extends Error {
  constructor() {
    super('Decryption failed: message was tampered with or the key is wrong');
    this.name = 'AeadError';
  }
}

export function generateKeyPair(crypto: CryptoBackend, kind: 'ed25519' | 'x25519'): KeyPair {
  if (kind === 'x25519' && crypto.x25519KeyPair) return crypto.x25519KeyPair();
  const secretKey = crypto.randomBytes(32);
  const publicKey = kind === 'ed25519' ? crypto.ed25519PublicKey(secretKey) : crypto.x25519PublicKey(secretKey);
  return { publicKey, secretKey };
}
