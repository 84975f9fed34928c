import { z } from 'zod';
import { b58decode, b58encode, b64urlDecode, b64urlEncode, concatBytes, hexEncode, utf8 } from '../bytes.ts';
import { canonicalBytes } from '../canonical.ts';
import type { CryptoBackend } from '../crypto/types.ts';
import { PEER_ID_PATTERN } from '../events.ts';
import { peerIdMatches, type Identity } from '../identity.ts';

/**
 * A profile card: a peer's user profile and device profile, signed by the peer's own Ed25519
 * key, so it can travel through any number of relays, none of which can forge or alter it. Cards
 * replace each other by `updated_at`, which the owner increases strictly with every new card, so
 * a relay cannot replay an older card over a newer one either.
 *
 * This module is pure (no I/O) and runs in the browser and the companion alike. Its schemas are
 * strict: every byte of a card is signed and forwarded, so an unknown key is refused rather than
 * carried along. They avoid frames.ts's helpers because frames.ts registers these schemas.
 */

export const MAX_CARD_DISPLAY_NAME = 64;
export const MAX_CARD_BIO = 500;
export const MAX_CARD_DEVICE_NAME = 64;
export const MAX_CARD_DEVICE_DESCRIPTION = 200;
/** Characters of an avatar data: URL (user or device), as ProfileService accepts them. */
export const MAX_CARD_AVATAR_CHARS = 64 * 1024;
/**
 * Canonical JSON of a whole signed card. The field limits already imply about 136 KiB; this is the
 * bound a receiver relies on (what one stored card and one forwarded frame can cost).
 */
export const MAX_SIGNED_CARD_BYTES = 140 * 1024;
/** Entries of one `card_digest` page; a node holding more cards sends several pages. */
export const MAX_CARD_DIGEST_ENTRIES = 1000;
/** Peer IDs one `card_request` may ask for. */
export const MAX_CARD_REQUEST_IDS = 500;

export interface DeviceCard {
  name: string;
  description: string;
  /** data:image/(png|jpeg|webp|gif);base64,… or null. */
  avatar: string | null;
}

export interface ProfileCard {
  v: 1;
  peer_id: string;
  /** b58 Ed25519 public key: peer_id derives from it, and it verifies `sig`. */
  ed25519_key: string;
  /** ms; strictly increasing per owner, so the newest card wins everywhere. */
  updated_at: number;
  display_name: string;
  bio: string;
  avatar: string | null;
  device: DeviceCard;
}

export interface SignedProfileCard {
  card: ProfileCard;
  /** b64url of the 64-byte Ed25519 signature over profileCardSigningBytes(card). */
  sig: string;
}

export type CardVerifyResult = { ok: true; hash: string } | { ok: false; reason: string };

/** Distinct from events' domain, so a signature over one can never pass as the other. */
const CARD_DOMAIN = utf8('canopy/profile-card/v1\n');
const AVATAR_PATTERN = /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/=]+$/;
const LONE_SURROGATE = /\p{Cs}/u;

const decodesTo = (decode: (s: string) => Uint8Array, length: number) => (s: string) => {
  try {
    return decode(s).length === length;
  } catch {
    return false;
  }
};

const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !LONE_SURROGATE.test(s), 'must be valid Unicode text (it holds a lone surrogate)');

const AvatarSchema = z
  .string()
  .max(MAX_CARD_AVATAR_CHARS, `avatar must be at most ${MAX_CARD_AVATAR_CHARS} characters`)
  .regex(AVATAR_PATTERN, 'avatar must be a PNG, JPEG, WebP or GIF data: URL')
  .nullable();

export const ProfileCardSchema = z.strictObject({
  v: z.literal(1),
  peer_id: z.string().regex(PEER_ID_PATTERN, 'must be a 16-character base58 peer ID'),
  ed25519_key: z
    .string()
    .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, 'must be a base58 32-byte key')
    .refine(decodesTo(b58decode, 32), 'must be a base58 32-byte key'),
  updated_at: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  display_name: text(MAX_CARD_DISPLAY_NAME),
  bio: text(MAX_CARD_BIO),
  avatar: AvatarSchema,
  device: z.strictObject({
    name: text(MAX_CARD_DEVICE_NAME),
    description: text(MAX_CARD_DEVICE_DESCRIPTION),
    avatar: AvatarSchema,
  }),
});

export const SignedProfileCardSchema = z
  .strictObject({
    card: ProfileCardSchema,
    sig: z
      .string()
      .regex(/^[A-Za-z0-9_-]{86}$/, 'must be base64url of 64 bytes')
      .refine(decodesTo(b64urlDecode, 64), 'must be base64url of 64 bytes'),
  })
  .refine(
    (signed) => {
      try {
        return canonicalBytes(signed).length <= MAX_SIGNED_CARD_BYTES;
      } catch {
        return false;
      }
    },
    `a signed card must be at most ${MAX_SIGNED_CARD_BYTES} bytes`,
  );

/** One entry of a digest: which card (by owner and version) the sender holds. */
export const CardDigestEntrySchema = z.strictObject({
  peer_id: z.string().regex(PEER_ID_PATTERN, 'must be a 16-character base58 peer ID'),
  updated_at: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type CardDigestEntry = z.infer<typeof CardDigestEntrySchema>;

export function profileCardSigningBytes(card: ProfileCard): Uint8Array {
  return concatBytes(CARD_DOMAIN, canonicalBytes(card));
}

/** hex(SHA-256(signing bytes)): equal cards have equal hashes everywhere (for dedupe). */
export function profileCardHash(crypto: CryptoBackend, card: ProfileCard): string {
  return hexEncode(crypto.sha256(profileCardSigningBytes(card)));
}

export type ProfileCardContent = Omit<ProfileCard, 'v' | 'peer_id' | 'ed25519_key' | 'updated_at'>;

/** Our own card, signed; `updated_at` is the caller's (strictly above any card it signed before). */
export function signProfileCard(crypto: CryptoBackend, identity: Identity, content: ProfileCardContent, updatedAt: number): SignedProfileCard {
  const card: ProfileCard = {
    v: 1,
    peer_id: identity.peerId,
    ed25519_key: b58encode(identity.ed25519.publicKey),
    updated_at: updatedAt,
    display_name: content.display_name,
    bio: content.bio,
    avatar: content.avatar,
    device: { name: content.device.name, description: content.device.description, avatar: content.device.avatar },
  };
  return { card, sig: b64urlEncode(crypto.ed25519Sign(profileCardSigningBytes(card), identity.ed25519.secretKey)) };
}

/**
 * Ownership only: the peer ID derives from the carried key and the signature verifies with it.
 * Shape and limits are checked by SignedProfileCardSchema before this runs.
 */
export function verifyProfileCard(crypto: CryptoBackend, signed: SignedProfileCard): CardVerifyResult {
  const { card, sig } = signed;
  let key: Uint8Array;
  let signature: Uint8Array;
  try {
    key = b58decode(card.ed25519_key);
    signature = b64urlDecode(sig);
  } catch {
    return { ok: false, reason: 'key or signature is not valid' };
  }
  if (!peerIdMatches(crypto, card.peer_id, key)) return { ok: false, reason: 'peer_id does not derive from ed25519_key' };
  if (signature.length !== 64) return { ok: false, reason: 'sig must be 64 bytes' };
  const bytes = profileCardSigningBytes(card);
  if (!crypto.ed25519Verify(signature, bytes, key)) return { ok: false, reason: 'signature does not verify' };
  return { ok: true, hash: hexEncode(crypto.sha256(bytes)) };
}

/** The name a card shows: the display name, else the device name, else none. */
export function cardName(card: ProfileCard): string | null {
  return card.display_name.trim() || card.device.name.trim() || null;
}
