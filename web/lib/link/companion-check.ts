/**
 * The companion is not trusted until its hello checks out: handshake message 2's payload is
 * validated, its identity binding verified, and its key compared with the pin (trust on first use).
 * Pure functions; the link decides what to do with the result.
 */
import { z } from 'zod';
import { b58decode, b64urlDecode, b64urlEncode, equalBytes, fromUtf8 } from '../../../protocol/bytes.ts';
import type { CryptoBackend } from '../../../protocol/crypto/types.ts';
import { peerIdMatches, verifyBinding } from '../../../protocol/identity.ts';
import type { CompanionHello } from '../../../protocol/app/contract.ts';
import { keyFingerprint } from '../../../protocol/app/fingerprint.ts';
import { LinkFailure, type CompanionPin, type KeyChangedDetail } from './types.ts';
import { safeB64 } from './util.ts';

const CompanionHelloSchema = z.object({
  peer_id: z.string().min(1).max(64),
  ed25519_key: z.string().min(1).max(128),
  binding: z.string().min(1).max(256),
  canopy_version: z.string().max(64),
  protocol_version: z.number().int(),
});

export interface VerifiedCompanion {
  hello: CompanionHello;
  /** b64url of the companion's X25519 static key. */
  x25519Key: string;
  fingerprint: string;
}

/**
 * Parses the companion's hello and checks that it proves who it is: its peer id derives from its
 * Ed25519 key, and that key signed the X25519 key it just used in the handshake (`remoteKey`).
 * Throws LinkFailure when anything is off.
 */
export function verifyCompanionHello(crypto: CryptoBackend, payload: Uint8Array, remoteKey: Uint8Array): VerifiedCompanion {
  let hello: CompanionHello;
  try {
    hello = CompanionHelloSchema.parse(JSON.parse(fromUtf8(payload)));
  } catch {
    throw new LinkFailure('the companion sent an invalid hello');
  }
  let edKey: Uint8Array;
  let binding: Uint8Array;
  try {
    edKey = b58decode(hello.ed25519_key);
    binding = b64urlDecode(hello.binding);
  } catch {
    throw new LinkFailure('the companion sent an undecodable key or binding');
  }
  if (!peerIdMatches(crypto, hello.peer_id, edKey)) throw new LinkFailure('the companion peer id does not match its key');
  if (!verifyBinding(crypto, edKey, remoteKey, binding)) {
    throw new LinkFailure('the companion X25519 key is not bound to its identity');
  }
  return { hello, x25519Key: b64urlEncode(remoteKey), fingerprint: keyFingerprint(crypto, remoteKey) };
}

/**
 * Compares the presented companion with the pin: null when it is the pinned one, otherwise what
 * changed (trust on first use: a different key is refused outright).
 */
export function checkPin(pin: CompanionPin, remoteKey: Uint8Array, presented: VerifiedCompanion): KeyChangedDetail | null {
  const pinnedKey = safeB64(pin.x25519Key);
  if (pinnedKey && equalBytes(pinnedKey, remoteKey) && pin.peerId === presented.hello.peer_id) return null;
  return {
    pinnedFingerprint: pin.fingerprint,
    presentedFingerprint: presented.fingerprint,
    pinnedPeerId: pin.peerId,
    presentedPeerId: presented.hello.peer_id,
  };
}
