import { concatBytes, utf8 } from './bytes.ts';
import type { CryptoBackend, KeyPair } from './crypto/types.ts';
import { generateKeyPair } from './crypto/types.ts';

/**
 * Sealed box to an X25519 key: anyone can seal, only the key's owner can open, and the sender is
 * anonymous at this layer (authorship comes from the signed event that carries the box).
 *
 * Layout: ephemeralPublic (32) || ChaCha20-Poly1305 ciphertext || tag (16).
 * key = HKDF-SHA256(X25519(ephemeral, recipient), salt = ephemeralPublic || recipientPublic,
 *                   info = "canopy/seal/v1", 32)
 * Both public keys go into the salt so a box cannot be re-targeted at another recipient key
 * that happens to yield the same shared secret (low-order/twist tricks).
 */
const SEAL_INFO = utf8('canopy/seal/v1');
const KEY_LENGTH = 32;
const TAG_LENGTH = 16;
// A constant nonce is safe only because every box uses a fresh ephemeral key, hence a fresh AEAD key.
const ZERO_NONCE = new Uint8Array(12);

export const SEAL_OVERHEAD = KEY_LENGTH + TAG_LENGTH;

export class SealError extends Error {
  constructor(message = 'Sealed message could not be opened: wrong key or tampered data') {
    super(message);
    this.name = 'SealError';
  }
}

function sealKey(crypto: CryptoBackend, shared: Uint8Array, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array): Uint8Array {
  return crypto.hkdfSha256(shared, concatBytes(ephemeralPublic, recipientPublic), SEAL_INFO, KEY_LENGTH);
}

export function seal(crypto: CryptoBackend, recipientPublicKey: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (recipientPublicKey.length !== KEY_LENGTH) throw new SealError('Cannot seal: recipient X25519 public key must be 32 bytes');
  const ephemeral = generateKeyPair(crypto, 'x25519');
  let shared: Uint8Array;
  try {
    shared = crypto.x25519(ephemeral.secretKey, recipientPublicKey);
  } catch {
    throw new SealError('Cannot seal: recipient X25519 public key is invalid (low-order point)');
  }
  const key = sealKey(crypto, shared, ephemeral.publicKey, recipientPublicKey);
  return concatBytes(ephemeral.publicKey, crypto.aeadEncrypt(key, ZERO_NONCE, plaintext, aad));
}

/** Every failure (short input, bad point, wrong key, tampering, wrong aad) is the same SealError. */
export function openSeal(crypto: CryptoBackend, recipientKeyPair: KeyPair, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < SEAL_OVERHEAD) throw new SealError();
  const ephemeralPublic = sealed.subarray(0, KEY_LENGTH);
  try {
    const shared = crypto.x25519(recipientKeyPair.secretKey, ephemeralPublic);
    const key = sealKey(crypto, shared, ephemeralPublic, recipientKeyPair.publicKey);
    return crypto.aeadDecrypt(key, ZERO_NONCE, sealed.subarray(KEY_LENGTH), aad);
  } catch {
    throw new SealError();
  }
}
