import { z } from 'zod';
import { B64URL_PATTERN, fromUtf8, utf8 } from './bytes.ts';
import { canonicalJson, nestedDeeperThan } from './canonical.ts';
import {
  CHANNEL_NAME_PATTERN,
  CREATED_CHANNEL_ID_PATTERN,
  DM_CHANNEL_PATTERN,
  MAX_CHANNEL_DESCRIPTION_LENGTH,
  MAX_BATCH_PATH,
  MAX_CREATED_CHANNEL_NAME_LENGTH,
  MAX_SIGNED_BATCH,
  dmChannelId,
  type SignedEvent,
} from './events.ts';
import { Ed25519KeySchema, PeerIdSchema, SignatureSchema } from './key-schemas.ts';
import { checkIntroductions, IntroduceFrameSchema, type IntroducedPeerEntry, type ReceivedIntroductions } from './mesh/introduction.ts';
import { relayFrameSchemas } from './mesh/relay.ts';
import type { VersionVector } from './mesh/vectors.ts';
import {
  CardDigestEntrySchema,
  MAX_CARD_DIGEST_ENTRIES,
  MAX_CARD_REQUEST_IDS,
  SignedProfileCardSchema,
  type SignedProfileCard,
} from './mesh/profile-card.ts';

export { Ed25519KeySchema, PeerIdSchema, SignatureSchema } from './key-schemas.ts';

/**
 * The one place where anything received from a peer is validated. Everything inside a Noise
 * transport message is UTF-8 JSON; code past decodeFrame/parseHandshakePayload may trust shapes
 * and limits (but not signatures: verifyEvent does that).
 *
 * Link frames and the handshake payload tolerate (and strip) unknown keys so newer peers can add
 * optional fields. Events are strict: every byte of an event is signed and forwarded as-is, so an
 * unvalidated extra key would be stored and propagated by peers that do not understand it.
 *
 * Two levels of failure: a frame whose envelope is wrong (not JSON, unknown shape) is a protocol
 * violation and costs the link; content a peer may legitimately get wrong (one bad event in a
 * batch, a version vector over our limits) is reported inside the decoded frame, so the receiver
 * rejects just that part and tells the peer, keeping the link.
 */

export const MAX_CONTENT_LENGTH = 65_536;
export const MAX_METADATA_BYTES = 16 * 1024;
/** Containers nested in metadata (`{}` is 1). Checked without recursion, before anything walks it. */
export const MAX_METADATA_DEPTH = 32;
export const MAX_SEALED_LENGTH = 96 * 1024;
export const MAX_EVENTS_PER_FRAME = 500;
export const MAX_ACK_IDS = 1000;
export const MAX_SYNC_CHANNELS = 4096;
export const MAX_SYNC_AUTHORS = 4096;
/** (channel, author) heads per `sync` frame: a vector larger than this travels in several pages. */
export const MAX_SYNC_PAGE_ENTRIES = 4096;
export const MAX_REASON_LENGTH = 200;


const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** Why a value is not acceptable metadata, or null. Depth first: the size check walks the value. */
function metadataProblem(v: unknown): string | null {
  if (!isPlainObject(v)) return 'metadata must be a JSON object';
  if (nestedDeeperThan(v, MAX_METADATA_DEPTH)) return `metadata must be nested at most ${MAX_METADATA_DEPTH} levels deep`;
  try {
    if (utf8(canonicalJson(v)).length <= MAX_METADATA_BYTES) return null;
  } catch {
    return 'metadata must be plain JSON';
  }
  return `metadata must be at most ${MAX_METADATA_BYTES} bytes of canonical JSON`;
}

export const ChannelIdSchema = z
  .string()
  .refine((s) => CHANNEL_NAME_PATTERN.test(s) || DM_CHANNEL_PATTERN.test(s), 'must be a channel name ([a-z0-9][a-z0-9_-]{0,63}) or a dm: channel');

/** Shared by REST, the app link and received events, so a sender refuses what its peers would. */
export const MetadataSchema = z.custom<Record<string, unknown>>().superRefine((value, ctx) => {
  const problem = metadataProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A lone UTF-16 surrogate (a paired one is one code point under /u): not Unicode text, and canonical JSON refuses it. */
const LONE_SURROGATE = /\p{Cs}/u;
export const isUnicodeText = (text: string): boolean => !LONE_SURROGATE.test(text);

export const PostBodySchema = z.strictObject({
  content: z
    .string()
    .max(MAX_CONTENT_LENGTH)
    .refine(isUnicodeText, 'must be valid Unicode text (it holds a lone surrogate)'),
  metadata: MetadataSchema.optional(),
});

export const DmBodySchema = z.strictObject({
  to: PeerIdSchema,
  sealed: z
    .string()
    .max(MAX_SEALED_LENGTH)
    .regex(B64URL_PATTERN, 'must be base64url')
    .refine((s) => s.length % 4 !== 1, 'must be base64url'),
});

const eventFields = {
  v: z.literal(1),
  author: PeerIdSchema,
  author_key: Ed25519KeySchema,
  channel: ChannelIdSchema,
  seq: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  ts: z.int().min(0),
};

const PostEventSchema = z
  .strictObject({ ...eventFields, kind: z.literal('post'), body: PostBodySchema })
  // Posts in a dm: channel would travel in clear to both parties' devices and confuse the DM view.
  .refine((e) => !DM_CHANNEL_PATTERN.test(e.channel), { path: ['channel'], message: 'a post cannot be in a dm: channel' });

const DmEventSchema = z
  .strictObject({ ...eventFields, kind: z.literal('dm'), body: DmBodySchema })
  // Pins the DM to its two parties so entitlement (who may receive it) follows from the channel.
  .refine((e) => e.channel === dmChannelId(e.author, e.body.to), {
    path: ['channel'],
    message: 'a dm must be in the channel dmChannelId(author, body.to)',
  });

export const ChannelBodySchema = z.strictObject({
  name: z.string().max(MAX_CREATED_CHANNEL_NAME_LENGTH).regex(CHANNEL_NAME_PATTERN, 'must be a channel name'),
  description: z
    .string()
    .max(MAX_CHANNEL_DESCRIPTION_LENGTH)
    .refine(isUnicodeText, 'must be valid Unicode text (it holds a lone surrogate)'),
});

const ChannelEventSchema = z
  .strictObject({ ...eventFields, kind: z.literal('channel'), body: ChannelBodySchema })
  // The id names the channel and its creator (verifyEvent checks the creator part with the key).
  .refine((e) => CREATED_CHANNEL_ID_PATTERN.exec(e.channel)?.[1] === e.body.name, {
    path: ['channel'],
    message: "channel metadata must be in the channel '<name>-<creator suffix>' it describes",
  });

export const CanopyEventSchema = z.discriminatedUnion('kind', [PostEventSchema, DmEventSchema, ChannelEventSchema]);

/** 32 bytes in unpadded base64url. */
const HashSchema = z.string().length(43, 'must be a 32-byte hash in base64url').regex(B64URL_PATTERN, 'must be base64url');

const BatchProofSchema = z
  .strictObject({
    size: z.int().min(2).max(MAX_SIGNED_BATCH),
    index: z.int().min(0),
    path: z.array(HashSchema).max(MAX_BATCH_PATH),
  })
  .refine((p) => p.index < p.size, { path: ['index'], message: 'must be below size' });

export const SignedEventSchema = z.strictObject({ event: CanopyEventSchema, sig: SignatureSchema, proof: BatchProofSchema.optional() });

// Compile-time guarantee that validated events are usable wherever events.ts types are expected.
type Assignable<T extends U, U> = T;
export type ValidatedSignedEvent = Assignable<z.infer<typeof SignedEventSchema>, SignedEvent>;

const countAtMost = (max: number) => (v: Record<string, unknown>) => Object.keys(v).length <= max;

export const VersionVectorSchema = z
  .record(
    ChannelIdSchema,
    z
      .record(PeerIdSchema, z.int().min(0))
      .refine(countAtMost(MAX_SYNC_AUTHORS), `at most ${MAX_SYNC_AUTHORS} authors per channel`),
  )
  .refine(countAtMost(MAX_SYNC_CHANNELS), `at most ${MAX_SYNC_CHANNELS} channels`);

const EventIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a 64-char lowercase hex event id');

/** One event of a received `events` frame that was not stored, and why (reported in the ack). */
export const RejectedEventSchema = z.object({
  index: z.int().min(0).max(MAX_EVENTS_PER_FRAME - 1),
  id: EventIdSchema.optional(),
  reason: z.string().max(MAX_REASON_LENGTH),
});
export type RejectedEvent = z.infer<typeof RejectedEventSchema>;

const frameSchemas = {
  ping: z.object({ t: z.literal('ping'), n: z.int() }),
  pong: z.object({ t: z.literal('pong'), n: z.int() }),
  // The page itself is checked apart (VersionVectorSchema) so a page over our limits is answered
  // with an `error` frame rather than a closed link. `more: true` = further pages follow.
  sync: z.object({
    t: z.literal('sync'),
    // Checked as parsed, not rebuilt: VersionVectorSchema alone decides what a page holds.
    vectors: z.custom<Record<string, unknown>>(isPlainObject, 'must be a JSON object'),
    more: z.boolean().optional(),
  }),
  // Each event is checked on its own (see decodeFrame): one bad event must not cost the batch.
  events: z.object({ t: z.literal('events'), events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_FRAME) }),
  sync_done: z.object({ t: z.literal('sync_done') }),
  // `heads` (peers with ACK_HEADS): the receiver now holds every event up to each head, so one
  // entry per (channel, author) acknowledges a whole run; `ids` then lists only events stored
  // beyond a gap. Without `heads`, `ids` lists every event taken.
  ack: z.object({
    t: z.literal('ack'),
    ids: z.array(EventIdSchema).max(MAX_ACK_IDS),
    heads: VersionVectorSchema.optional(),
    rejected: z.array(RejectedEventSchema).max(MAX_EVENTS_PER_FRAME).optional(),
  }),
  // Something the peer sent was refused without closing the link (e.g. a sync vector over limits).
  error: z.object({ t: z.literal('error'), about: z.string().max(32), reason: z.string().max(MAX_REASON_LENGTH) }),
  // Signed profile cards (protocol/mesh/profile-card.ts). `card` carries one card, checked on its
  // own so a bad card costs only itself; `card_digest` pages list the cards the sender holds;
  // `card_request` asks for the cards of the listed owners.
  card: z.object({ t: z.literal('card'), card: z.unknown() }),
  card_digest: z.object({
    t: z.literal('card_digest'),
    cards: z.array(CardDigestEntrySchema).max(MAX_CARD_DIGEST_ENTRIES),
    more: z.boolean().optional(),
  }),
  card_request: z.object({ t: z.literal('card_request'), peer_ids: z.array(PeerIdSchema).min(1).max(MAX_CARD_REQUEST_IDS) }),
  // Legacy: the unsigned card of Canopy versions before signed cards, sent over direct links only
  // (the Noise handshake proved who sent it). Kept for peers that have not upgraded yet; see
  // companion/mesh/profile-cards.ts for what it may still do.
  profile: z.object({
    t: z.literal('profile'),
    display_name: z.string().max(64),
    bio: z.string().max(500),
    device_name: z.string().max(64),
    device_description: z.string().max(200),
  }),
  // Peers the sender is linked with (protocol/mesh/introduction.ts); each entry is checked on its own.
  introduce: IntroduceFrameSchema,
  // Brokering and relay circuits (protocol/mesh/relay.ts).
  ...relayFrameSchemas,
} as const;

type WireFrame = { [K in keyof typeof frameSchemas]: z.infer<(typeof frameSchemas)[K]> }[keyof typeof frameSchemas];

/**
 * What we send. Events are typed with the events.ts interfaces rather than the schema's (narrower,
 * kind-correlated) inferred type, so code holding a plain SignedEvent can send it without casts.
 */
export type Frame =
  | Exclude<WireFrame, { t: 'card' | 'events' | 'sync' | 'introduce' }>
  | { t: 'events'; events: SignedEvent[] }
  | { t: 'card'; card: SignedProfileCard }
  | { t: 'sync'; vectors: VersionVector; more?: boolean }
  | { t: 'introduce'; peers: IntroducedPeerEntry[] };
export type FrameType = Frame['t'];

/** A valid event of a received `events` frame, with its position in the frame (acks name it). */
export interface IndexedEvent {
  index: number;
  signed: SignedEvent;
}
/** A received `events` frame: the valid events, and the invalid ones with their reasons. */
export interface ReceivedEvents {
  t: 'events';
  events: IndexedEvent[];
  rejected: RejectedEvent[];
}
/** A received page of a version vector, or why the page is refused. */
export interface ReceivedSync {
  t: 'sync';
  more: boolean;
  page: { ok: true; vectors: VersionVector } | { ok: false; error: string };
}
/** What decodeFrame yields: frames as sent, except `events`, `sync` and `introduce`, whose contents are checked apart. */
export type ReceivedFrame = ReceivedCard | Exclude<Frame, { t: 'card' | 'events' | 'sync' | 'introduce' }> | ReceivedEvents | ReceivedSync | ReceivedIntroductions;

/** A received `card` frame: the card, or why it is refused (the link stays). */
export interface ReceivedCard {
  t: 'card';
  check: { ok: true; signed: SignedProfileCard } | { ok: false; error: string };
}

/** A frame type this version does not know: ignored, never fatal, so newer peers can extend the protocol. */
export interface UnknownFrame {
  t: 'unknown';
  type: string;
}
export type DecodeFrameResult = { ok: true; frame: ReceivedFrame } | { ok: true; frame: UnknownFrame } | { ok: false; error: string };

export function encodeFrame(frame: Frame): Uint8Array {
  return utf8(JSON.stringify(frame));
}

function parseJsonObject(bytes: Uint8Array, what: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    return { ok: false, error: `${what} is not valid UTF-8` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: `${what} is not valid JSON` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: `${what} is not a JSON object` };
  return { ok: true, value: value as Record<string, unknown> };
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

export function decodeFrame(bytes: Uint8Array): DecodeFrameResult {
  const parsed = parseJsonObject(bytes, 'Frame');
  if (!parsed.ok) return parsed;
  const t = parsed.value['t'];
  if (typeof t !== 'string') return { ok: false, error: 'Frame has no string "t" field' };
  if (!Object.hasOwn(frameSchemas, t)) return { ok: true, frame: { t: 'unknown', type: t } };
  const result = frameSchemas[t as FrameType].safeParse(parsed.value);
  if (!result.success) return { ok: false, error: `Invalid "${t}" frame: ${describeIssue(result.error)}` };
  const frame = result.data;
  if (frame.t === 'events') return { ok: true, frame: checkEvents(frame.events) };
  if (frame.t === 'sync') return { ok: true, frame: checkSyncPage(frame.vectors, frame.more === true) };
  if (frame.t === 'card') return { ok: true, frame: checkCard(frame.card) };
  if (frame.t === 'introduce') return { ok: true, frame: checkIntroductions(frame.peers) };
  return { ok: true, frame };
}

function checkEvents(candidates: unknown[]): ReceivedEvents {
  const events: IndexedEvent[] = [];
  const rejected: RejectedEvent[] = [];
  candidates.forEach((candidate, index) => {
    const result = SignedEventSchema.safeParse(candidate);
    if (result.success) events.push({ index, signed: result.data });
    else rejected.push({ index, reason: `events.${index}.${describeIssue(result.error)}`.slice(0, MAX_REASON_LENGTH) });
  });
  return { t: 'events', events, rejected };
}

function checkCard(candidate: unknown): ReceivedCard {
  const result = SignedProfileCardSchema.safeParse(candidate);
  if (!result.success) return { t: 'card', check: { ok: false, error: `card.${describeIssue(result.error)}`.slice(0, MAX_REASON_LENGTH) } };
  return { t: 'card', check: { ok: true, signed: result.data } };
}

function checkSyncPage(vectors: Record<string, unknown>, more: boolean): ReceivedSync {
  const result = VersionVectorSchema.safeParse(vectors);
  if (!result.success) return { t: 'sync', more, page: { ok: false, error: `vectors: ${describeIssue(result.error)}`.slice(0, MAX_REASON_LENGTH) } };
  return { t: 'sync', more, page: { ok: true, vectors: result.data } };
}

export const HandshakePayloadSchema = z.object({
  peer_id: PeerIdSchema,
  ed25519_key: Ed25519KeySchema,
  binding: SignatureSchema,
  protocol_version: z.int().min(0),
  canopy_version: z.string().max(32),
  capabilities: z.array(z.string().max(64)).max(32),
  endpoints: z.array(z.string().max(256)).max(16),
  /** Initiator only: HMAC proving it holds an invite secret the responder issued (protocol/invite-proof.ts). */
  invite_proof: z.string().regex(B64URL_PATTERN).max(64).optional(),
});

export type HandshakePayload = z.infer<typeof HandshakePayloadSchema>;

export function encodeHandshakePayload(payload: HandshakePayload): Uint8Array {
  return utf8(JSON.stringify(payload));
}

/**
 * Shape only: the caller must still check peer_id against ed25519_key (peerIdMatches) and the
 * binding against the Noise static key (verifyBinding) before accepting the link.
 */
export function parseHandshakePayload(bytes: Uint8Array): { ok: true; payload: HandshakePayload } | { ok: false; error: string } {
  const parsed = parseJsonObject(bytes, 'Handshake payload');
  if (!parsed.ok) return parsed;
  const result = HandshakePayloadSchema.safeParse(parsed.value);
  if (!result.success) return { ok: false, error: `Invalid handshake payload: ${describeIssue(result.error)}` };
  return { ok: true, payload: result.data };
}
