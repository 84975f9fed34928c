import { z } from 'zod';
import { b58decode, b58encode, b64urlDecode } from '../bytes.ts';
import type { CryptoBackend } from '../crypto/types.ts';
import { peerIdMatches, verifyBinding, type PublicIdentity } from '../identity.ts';
import { canonicalizeEndpoints, MAX_ENDPOINT_LENGTH, MAX_ENDPOINTS } from '../invite.ts';
import { Ed25519KeySchema, PeerIdSchema, PublicKeySchema, SignatureSchema } from '../key-schemas.ts';

/**
 * Introductions (guide §9): when a link comes up, each side tells the new peer about its other
 * linked peers and tells those about the new one, with the keys the handshakes proved. The
 * receiver trusts none of it until verifyIntroduction: the peer ID must derive from the Ed25519
 * key and the binding signature must cover the X25519 key. (The original Canopy stores announced
 * keys unchecked, so one peer can pair another's ID with its own key: its weakness §8.4.)
 */

/** Peers in one `introduce` frame; a node with more linked peers sends several frames. */
export const MAX_INTRODUCED_PER_FRAME = 64;
export const MAX_INTRODUCED_NAME_LENGTH = 64;
const MAX_REJECTION_LENGTH = 200;

export const IntroducedPeerSchema = z.object({
  peer_id: PeerIdSchema,
  ed25519_key: Ed25519KeySchema,
  x25519_key: PublicKeySchema,
  /** base64url Ed25519 signature over the X25519 key (protocol/identity.ts bindingMessage). */
  binding: SignatureSchema,
  endpoints: z.array(z.string().max(MAX_ENDPOINT_LENGTH)).max(MAX_ENDPOINTS),
  display_name: z.string().max(MAX_INTRODUCED_NAME_LENGTH),
  device_name: z.string().max(MAX_INTRODUCED_NAME_LENGTH),
});
export type IntroducedPeerEntry = z.infer<typeof IntroducedPeerSchema>;

/** The frame's envelope; its entries are checked one by one (checkIntroductions). */
export const IntroduceFrameSchema = z.object({
  t: z.literal('introduce'),
  peers: z.array(z.unknown()).min(1).max(MAX_INTRODUCED_PER_FRAME),
});

/** A received `introduce` frame: the well-formed entries, and why the others were dropped. */
export interface ReceivedIntroductions {
  t: 'introduce';
  peers: IntroducedPeerEntry[];
  rejected: Array<{ index: number; reason: string }>;
}

/** One malformed entry costs itself, not the frame or the link (as one bad event of a batch). */
export function checkIntroductions(candidates: unknown[]): ReceivedIntroductions {
  const peers: IntroducedPeerEntry[] = [];
  const rejected: ReceivedIntroductions['rejected'] = [];
  candidates.forEach((candidate, index) => {
    const result = IntroducedPeerSchema.safeParse(candidate);
    if (result.success) peers.push(result.data);
    else rejected.push({ index, reason: `peers.${index}.${describeIssue(result.error)}`.slice(0, MAX_REJECTION_LENGTH) });
  });
  return { t: 'introduce', peers, rejected };
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** An introduced peer as decoded from its entry: endpoints canonicalised (invalid ones dropped), names trimmed. */
export interface IntroducedPeer extends PublicIdentity {
  binding: Uint8Array;
  endpoints: string[];
  displayName: string;
  deviceName: string;
}

export type IntroductionVerdict = { ok: true; peer: IntroducedPeer } | { ok: false; reason: string };

/** The entry for a peer whose keys a handshake proved (what a sender puts in its frame). */
export function introductionEntry(
  peer: PublicIdentity & { binding: string },
  endpoints: readonly string[],
  names: { display_name: string; device_name: string },
): IntroducedPeerEntry {
  return {
    peer_id: peer.peerId,
    ed25519_key: b58encode(peer.ed25519PublicKey),
    x25519_key: b58encode(peer.x25519PublicKey),
    binding: peer.binding,
    endpoints: canonicalizeEndpoints(endpoints),
    display_name: names.display_name.slice(0, MAX_INTRODUCED_NAME_LENGTH),
    device_name: names.device_name.slice(0, MAX_INTRODUCED_NAME_LENGTH),
  };
}

/** Decodes a well-formed entry without checking its keys: only for one whose keys were verified before. */
export function decodeIntroduction(entry: IntroducedPeerEntry): IntroducedPeer {
  return {
    peerId: entry.peer_id,
    ed25519PublicKey: b58decode(entry.ed25519_key),
    x25519PublicKey: b58decode(entry.x25519_key),
    binding: b64urlDecode(entry.binding),
    endpoints: canonicalizeEndpoints(entry.endpoints),
    displayName: entry.display_name.trim(),
    deviceName: entry.device_name.trim(),
  };
}

/**
 * Checks a well-formed entry: its peer ID derives from its Ed25519 key, and that key signed its
 * X25519 key. One SHA-256 and one Ed25519 verification: callers bound how many a peer may cause.
 */
export function verifyIntroduction(crypto: CryptoBackend, entry: IntroducedPeerEntry): IntroductionVerdict {
  const peer = decodeIntroduction(entry);
  if (!peerIdMatches(crypto, peer.peerId, peer.ed25519PublicKey)) return { ok: false, reason: 'peer ID does not derive from the Ed25519 key' };
  if (!verifyBinding(crypto, peer.ed25519PublicKey, peer.x25519PublicKey, peer.binding)) {
    return { ok: false, reason: 'the X25519 key is not signed by the Ed25519 key' };
  }
  return { ok: true, peer };
}
