import { concatBytes, equalBytes, utf8 } from './bytes.ts';
import type { CryptoBackend } from './crypto/types.ts';

/**
 * Proof that a dialer holds an invite secret we issued, carried in its encrypted handshake payload
 * (message 3). It binds both Noise static keys, so a responder that receives it cannot replay it
 * to anyone else, and another identity cannot reuse it; the secret itself never leaves the holder.
 */
const INVITE_PROOF_DOMAIN = 'canopy/invite-proof/v1\n';

export function inviteProof(crypto: CryptoBackend, secret: Uint8Array, initiatorStatic: Uint8Array, responderStatic: Uint8Array): Uint8Array {
  return crypto.hmacSha256(secret, concatBytes(utf8(INVITE_PROOF_DOMAIN), initiatorStatic, responderStatic));
}

export function verifyInviteProof(
  crypto: CryptoBackend,
  secret: Uint8Array,
  initiatorStatic: Uint8Array,
  responderStatic: Uint8Array,
  proof: Uint8Array,
): boolean {
  return equalBytes(inviteProof(crypto, secret, initiatorStatic, responderStatic), proof);
}
