import { b58decode, b58encode, b64urlDecode, b64urlEncode, concatBytes, fromUtf8, hexDecode, hexEncode, utf8 } from './bytes.ts';
import { canonicalBytes } from './canonical.ts';
import type { CryptoBackend, KeyPair } from './crypto/types.ts';
import { peerIdMatches, type Identity } from './identity.ts';
import { leafHash, rootFromInclusionPath, treeWithPaths } from './merkle.ts';
import { openSeal, seal, SealError } from './seal.ts';

/**
 * The signed event: the unit of everything users author. An event is verified once on receipt,
 * stored, and forwarded byte-for-byte-equivalent by anyone; any third party can re-verify it
 * because the signed bytes are re-derived from the event itself (canonical JSON).
 */

export type EventKind = 'post' | 'dm' | 'channel';

export interface PostBody {
  content: string;
  metadata?: Record<string, unknown>;
}

export interface DmBody {
  to: string;
  /** b64url of a sealed box (protocol/seal.ts) holding canonical JSON {content, metadata?}. */
  sealed: string;
}

/**
 * A channel's metadata, in the channel it describes, signed by its creator. The channel id is
 * `channelIdFor(creator, name)`, so only the creator can sign metadata for it (verifyEvent checks).
 */
export interface ChannelBody {
  name: string;
  description: string;
}

export interface CanopyEvent {
  v: 1;
  author: string;
  /** b58 Ed25519 public key; carried so any holder can verify without a key directory. */
  author_key: string;
  channel: string;
  /** Per (author, channel), starting at 1 with no gaps: the basis of exact catch-up. */
  seq: number;
  kind: EventKind;
  /** ms since epoch, integer. Informational only: ordering and sync never depend on clocks. */
  ts: number;
  body: PostBody | DmBody | ChannelBody;
}

export interface SignedEvent {
  event: CanopyEvent;
  /**
   * b64url of a 64-byte Ed25519 signature: over the event itself, or, when `proof` is present,
   * over the root of the batch the event was signed in. Outside the event (and its id), so the
   * same event has the same id however it was signed.
   */
  sig: string;
  proof?: BatchProof;
}

/**
 * Where an event sits in the batch its author signed once: the batch is a Merkle tree (RFC 9162)
 * over its events' ids, the author signs (size, root), and each event carries the path from its id
 * to that root. So a receiver checks a whole batch with one signature, and any single event can
 * still be forwarded and checked on its own.
 */
export interface BatchProof {
  /** Events in the signed batch (≥ 2; a lone event is signed directly). */
  size: number;
  index: number;
  /** b64url of each 32-byte sibling hash, from the leaf up. */
  path: string[];
}

/** The most events one batch signature covers: every inclusion path then has at most 10 hashes. */
export const MAX_SIGNED_BATCH = 1024;
export const MAX_BATCH_PATH = 10;

export type VerifyResult = { ok: true; id: string } | { ok: false; reason: string };

export const GENERAL_CHANNEL = 'general';

const B58_CHAR = '[1-9A-HJ-NP-Za-km-z]';
export const PEER_ID_PATTERN = new RegExp(`^${B58_CHAR}{16}$`);
export const CHANNEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DM_CHANNEL_PATTERN = new RegExp(`^dm:${B58_CHAR}{16}:${B58_CHAR}{16}$`);

const EVENT_DOMAIN = utf8('canopy/event/v1\n');
const BATCH_DOMAIN = utf8('canopy/batch/v1\n');

/** Hex digits of the creator's hash in a created channel's id: 48 bits, too many to grind a key for. */
export const CHANNEL_ID_SUFFIX_LENGTH = 12;
/** A created channel's id (name, '-', suffix) must still fit CHANNEL_NAME_PATTERN's 64 characters. */
export const MAX_CREATED_CHANNEL_NAME_LENGTH = 64 - 1 - CHANNEL_ID_SUFFIX_LENGTH;
export const MAX_CHANNEL_DESCRIPTION_LENGTH = 500;
/** The shape of a created channel's id; the suffix's value is checked with the creator's key. */
export const CREATED_CHANNEL_ID_PATTERN = new RegExp(`^([a-z0-9][a-z0-9_-]{0,${MAX_CREATED_CHANNEL_NAME_LENGTH - 1}})-[0-9a-f]{${CHANNEL_ID_SUFFIX_LENGTH}}$`);

/**
 * A created channel's id: its name plus a suffix derived from the creator's peer id, so two peers
 * creating "random" get two channels instead of one silently shared, and so a channel's metadata
 * can only come from its creator.
 */
export function channelIdFor(crypto: CryptoBackend, creator: string, name: string): string {
  return `${name}-${hexEncode(crypto.sha256(utf8(`canopy/channel/v1\n${creator}`))).slice(0, CHANNEL_ID_SUFFIX_LENGTH)}`;
}

export function eventSigningBytes(event: CanopyEvent): Uint8Array {
  return concatBytes(EVENT_DOMAIN, canonicalBytes(event));
}

/** hex(SHA-256(signing bytes)): content-derived, so the same event has the same id everywhere. */
export function eventId(crypto: CryptoBackend, event: CanopyEvent): string {
  return hexEncode(crypto.sha256(eventSigningBytes(event)));
}

export function signEvent(crypto: CryptoBackend, identity: Identity, event: CanopyEvent): SignedEvent {
  assertAuthor(identity, event);
  return { event, sig: b64urlEncode(crypto.ed25519Sign(eventSigningBytes(event), identity.ed25519.secretKey)) };
}

// Signing an event that names someone else would produce something no peer accepts; fail loudly here.
function assertAuthor(identity: Identity, event: CanopyEvent): void {
  if (event.author !== identity.peerId || event.author_key !== b58encode(identity.ed25519.publicKey)) {
    throw new Error('Cannot sign an event whose author/author_key is not this identity');
  }
}

/** The size is signed with the root: a path into a smaller tree can reach the same root. */
function batchSigningBytes(size: number, root: Uint8Array): Uint8Array {
  const sizeBytes = new Uint8Array(4);
  new DataView(sizeBytes.buffer).setUint32(0, size);
  return concatBytes(BATCH_DOMAIN, sizeBytes, root);
}

/**
 * Signs `events` with one signature per MAX_SIGNED_BATCH (see BatchProof); a single event gets a
 * plain signature, exactly as signEvent makes. `ids` are the events' ids, in the same order.
 */
export function signEvents(crypto: CryptoBackend, identity: Identity, events: readonly CanopyEvent[], ids: readonly string[]): SignedEvent[] {
  const signed: SignedEvent[] = [];
  for (let from = 0; from < events.length; from += MAX_SIGNED_BATCH) {
    const batch = events.slice(from, from + MAX_SIGNED_BATCH);
    if (batch.length === 1) {
      signed.push(signEvent(crypto, identity, batch[0]!));
      continue;
    }
    batch.forEach((event) => assertAuthor(identity, event));
    const leaves = ids.slice(from, from + batch.length).map((id) => leafHash(crypto, hexDecode(id)));
    const { root, paths } = treeWithPaths(crypto, leaves);
    const sig = b64urlEncode(crypto.ed25519Sign(batchSigningBytes(batch.length, root), identity.ed25519.secretKey));
    batch.forEach((event, index) => {
      signed.push({ event, sig, proof: { size: batch.length, index, path: paths[index]!.map(b64urlEncode) } });
    });
  }
  return signed;
}

/**
 * What verifyEvent has already proven, so the rest of a batch costs hashes only: author keys that
 * match their peer ids, and batch signatures (key, size, root, signature) that verified. Only
 * successes are added; the holder bounds its size.
 */
export interface VerifiedBatches {
  has(key: string): boolean;
  add(key: string): void;
}

/** Authorship only; shape and limits are validated by the schemas in frames.ts before this runs. */
export function verifyEvent(crypto: CryptoBackend, signed: SignedEvent, verified?: VerifiedBatches): VerifyResult {
  const { event, sig, proof } = signed;
  let decodedKey: Uint8Array | undefined;
  const key = () => (decodedKey ??= b58decode(event.author_key));
  const authorChecked = `author/${event.author}/${event.author_key}`;
  if (!verified?.has(authorChecked)) {
    try {
      if (!peerIdMatches(crypto, event.author, key())) return { ok: false, reason: 'author does not match author_key' };
    } catch {
      return { ok: false, reason: 'author_key is not valid base58' };
    }
    verified?.add(authorChecked);
  }
  let signature: Uint8Array;
  try {
    signature = b64urlDecode(sig);
  } catch {
    return { ok: false, reason: 'sig is not valid base64url' };
  }
  if (signature.length !== 64) return { ok: false, reason: 'sig must be 64 bytes' };
  let bytes: Uint8Array;
  try {
    bytes = eventSigningBytes(event);
  } catch {
    return { ok: false, reason: 'event cannot be canonicalised' };
  }
  const idBytes = crypto.sha256(bytes);
  const check = proof ? checkBatchSignature(crypto, proof, idBytes, sig, key, event.author_key, verified) : crypto.ed25519Verify(signature, bytes, key());
  if (check !== true) return { ok: false, reason: check === false ? 'signature does not verify' : check };
  if (event.kind === 'channel' && event.channel !== channelIdFor(crypto, event.author, (event.body as ChannelBody).name)) {
    return { ok: false, reason: "channel metadata not signed by the channel's creator" };
  }
  return { ok: true, id: hexEncode(idBytes) };
}

/** true, false (the signature fails), or why the proof itself is unusable. */
function checkBatchSignature(
  crypto: CryptoBackend,
  proof: BatchProof,
  id: Uint8Array,
  sig: string,
  key: () => Uint8Array,
  authorKey: string,
  verified: VerifiedBatches | undefined,
): boolean | string {
  let path: Uint8Array[];
  try {
    path = proof.path.map(b64urlDecode);
  } catch {
    return 'proof path is not valid base64url';
  }
  if (path.some((hash) => hash.length !== 32)) return 'proof path hashes must be 32 bytes';
  // The whole path, every time: the event is stored and forwarded with this proof, so all of it
  // must hold, not just the part below some node seen before.
  const root = rootFromInclusionPath(crypto, proof.index, proof.size, leafHash(crypto, id), path);
  if (!root) return 'proof path does not fit its position in the batch';
  const batchKey = `batch/${authorKey}/${proof.size}/${hexEncode(root)}/${sig}`;
  if (verified?.has(batchKey)) return true;
  if (!crypto.ed25519Verify(b64urlDecode(sig), batchSigningBytes(proof.size, root), key())) return false;
  verified?.add(batchKey);
  return true;
}

/** Sorted so both parties derive the same channel id without coordinating. */
export function dmChannelId(a: string, b: string): string {
  return `dm:${[a, b].sort().join(':')}`;
}

export function isDmChannel(channel: string): boolean {
  return DM_CHANNEL_PATTERN.test(channel);
}

/** The other party of a DM channel, or null if the channel is not a DM channel that includes `me`. */
export function dmCounterpart(channel: string, me: string): string | null {
  if (!isDmChannel(channel)) return null;
  const [, a, b] = channel.split(':');
  if (a === me) return b ?? null;
  if (b === me) return a ?? null;
  return null;
}

export interface SealDmInput {
  author: string;
  to: string;
  recipientX25519PublicKey: Uint8Array;
  content: string;
  metadata?: Record<string, unknown>;
}

/**
 * Sender and recipient are bound into the AEAD's associated data, so a third party cannot lift
 * someone else's sealed body into an event signed by themselves (the recipient would otherwise
 * see the victim's words attributed to the attacker, or vice versa).
 */
function dmAad(author: string, to: string): Uint8Array {
  return utf8(`canopy/dm/v1\n${author}\n${to}`);
}

export function sealDm(crypto: CryptoBackend, input: SealDmInput): DmBody {
  const plain: PostBody = input.metadata === undefined ? { content: input.content } : { content: input.content, metadata: input.metadata };
  const sealed = seal(crypto, input.recipientX25519PublicKey, canonicalBytes(plain), dmAad(input.author, input.to));
  return { to: input.to, sealed: b64urlEncode(sealed) };
}

export function openDm(crypto: CryptoBackend, recipientX25519KeyPair: KeyPair, event: CanopyEvent): PostBody {
  const body = event.body as Partial<DmBody>;
  if (event.kind !== 'dm' || typeof body.to !== 'string' || typeof body.sealed !== 'string') {
    throw new SealError('Not a direct-message event');
  }
  let sealed: Uint8Array;
  try {
    sealed = b64urlDecode(body.sealed);
  } catch {
    throw new SealError();
  }
  const plain = openSeal(crypto, recipientX25519KeyPair, sealed, dmAad(event.author, body.to));
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(plain));
  } catch {
    throw new SealError('Sealed message opened but its content is malformed');
  }
  const v = value as Partial<PostBody> | null;
  const metadataOk =
    v?.metadata === undefined || (typeof v.metadata === 'object' && v.metadata !== null && !Array.isArray(v.metadata));
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof v.content !== 'string' || !metadataOk) {
    throw new SealError('Sealed message opened but its content is malformed');
  }
  return v.metadata === undefined ? { content: v.content } : { content: v.content, metadata: v.metadata };
}
