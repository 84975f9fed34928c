import { hexEncode } from '../bytes.ts';
import type { CryptoBackend } from '../crypto/types.ts';

/**
 * A short, human-comparable fingerprint of a companion's X25519 key: the first 16 bytes of its
 * SHA-256 in groups of four hex digits. Shown at login so a user can compare it with what the
 * companion prints at start.
 */
export function keyFingerprint(crypto: CryptoBackend, publicKey: Uint8Array): string {
  return hexEncode(crypto.sha256(publicKey).subarray(0, 16))
    .match(/.{4}/g)!
    .join(' ');
}
