import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { AeadError, type CryptoBackend } from './types.ts';

/** Pure-JS backend for the browser (and the reference the node backend is checked against). */
export const nobleCrypto: CryptoBackend = {
  name: 'noble',
  randomBytes: (length) => randomBytes(length),
  sha256: (data) => sha256(data),
  hmacSha256: (key, data) => hmac(sha256, key, data),
  hkdfSha256: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length),

  ed25519PublicKey: (secretKey) => ed25519.getPublicKey(secretKey),
  ed25519Sign: (message, secretKey) => ed25519.sign(message, secretKey),
  ed25519Verify(signature, message, publicKey) {
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    try {
      // zip215 false: strict RFC 8032 verification, matching OpenSSL in the node backend.
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },

  x25519PublicKey: (secretKey) => x25519.getPublicKey(secretKey),
  x25519: (secretKey, publicKey) => x25519.getSharedSecret(secretKey, publicKey),

  aeadEncrypt: (key, nonce, plaintext, aad) => chacha20poly1305(key, nonce, aad).encrypt(plaintext),
  aeadDecrypt(key, nonce, ciphertext, aad) {
    try {
      return chacha20poly1305(key, nonce, aad).decrypt(ciphertext);
    } catch {
      throw new AeadError();
    }
  },
};
