import { z } from 'zod';
import { B64URL_PATTERN } from '../bytes.ts';
import { MAX_ENDPOINT_LENGTH, MAX_ENDPOINTS } from '../invite.ts';
import { PeerIdSchema } from '../key-schemas.ts';

/**
 * Brokering and blind relay circuits (guide §8). Two peers that cannot dial each other but are
 * both linked with R:
 *
 * - broker: A sends R `broker_request {target: B}`; R (policy broker_only or full_relay) sends B
 *   `broker_intro {requester: A, endpoints}` and answers A `broker_result`; B dials A's endpoints
 *   expecting A's peer ID.
 * - circuit: A sends R `circuit_open {id, target: B}`; R (full_relay) sends B
 *   `circuit_incoming {id', from: A}`; B answers `circuit_accept`, R tells A `circuit_accept`.
 *   Then `circuit_data` carries the bytes of A's and B's own Noise XX handshake and link, which R
 *   passes on without being able to read them: a relayed link is just a link. `circuit_close`
 *   ends it from any of the three.
 *
 * Circuit ids are chosen by whoever opens the circuit on a link: odd by the peer with the lower
 * peer ID, even by the other, so both sides of a link always know who opened an id.
 */

/** Raw bytes per `circuit_data` frame; a larger message (a link frame is up to 1 MiB) is split. */
export const CIRCUIT_CHUNK_BYTES = 192 * 1024;
const MAX_CHUNK_CHARS = Math.ceil((CIRCUIT_CHUNK_BYTES * 4) / 3);

/**
 * What a relay lets one circuit carry, per direction: a token bucket of bytes and one of frames.
 * Both ends pace themselves below it (mesh/circuit-socket.ts), so an honest circuit never hits it;
 * a circuit that does is closed with `rate_limited`.
 */
export const CIRCUIT_RATE: Rate = { bytesPerSecond: 2 * 1024 * 1024, burstBytes: 8 * 1024 * 1024, framesPerSecond: 2000, burstFrames: 4000 };
/** What the ends allow themselves: a margin under CIRCUIT_RATE for clock and scheduling jitter. */
export const CIRCUIT_PACE: Rate = { bytesPerSecond: 1.6 * 1024 * 1024, burstBytes: 4 * 1024 * 1024, framesPerSecond: 1600, burstFrames: 2000 };

export interface Rate {
  bytesPerSecond: number;
  burstBytes: number;
  framesPerSecond: number;
  burstFrames: number;
}

/** Why a relay or an end refused or closed a circuit (reported to the user as `diagnostic_code`). */
export const CIRCUIT_REFUSALS = [
  'relay_disabled',
  'target_unreachable',
  'circuit_limit',
  'peer_circuit_limit',
  'rate_limited',
  'byte_limit',
  'lifetime_limit',
  'not_accepted',
  'timeout',
  'link_closed',
  'closed',
  'protocol_error',
] as const;
export type CircuitRefusal = (typeof CIRCUIT_REFUSALS)[number];

export const BROKER_REFUSALS = ['relay_disabled', 'target_unreachable', 'rate_limited'] as const;
export type BrokerRefusal = (typeof BROKER_REFUSALS)[number];

const CircuitIdSchema = z.int().min(1).max(2 ** 31);
const ReasonSchema = z.string().max(200);

export const relayFrameSchemas = {
  circuit_open: z.object({ t: z.literal('circuit_open'), id: CircuitIdSchema, target: PeerIdSchema }),
  circuit_incoming: z.object({ t: z.literal('circuit_incoming'), id: CircuitIdSchema, from: PeerIdSchema }),
  circuit_accept: z.object({ t: z.literal('circuit_accept'), id: CircuitIdSchema }),
  circuit_data: z.object({
    t: z.literal('circuit_data'),
    id: CircuitIdSchema,
    data: z.string().regex(B64URL_PATTERN).max(MAX_CHUNK_CHARS),
    /** More chunks of the same message follow. */
    more: z.boolean().optional(),
  }),
  circuit_close: z.object({
    t: z.literal('circuit_close'),
    id: CircuitIdSchema,
    // A newer peer's code we do not know still closes the circuit.
    code: z.string().max(32),
    reason: ReasonSchema,
    /** The close code of the link inside, passed end to end (e.g. 4003 duplicate). */
    link_code: z.int().min(1000).max(4999).optional(),
  }),
  broker_request: z.object({ t: z.literal('broker_request'), target: PeerIdSchema }),
  broker_intro: z.object({
    t: z.literal('broker_intro'),
    requester: PeerIdSchema,
    endpoints: z.array(z.string().max(MAX_ENDPOINT_LENGTH)).max(MAX_ENDPOINTS),
  }),
  /** The target's brokered dial to the requester failed (target → broker; the broker tells the requester). */
  broker_dial_failed: z.object({ t: z.literal('broker_dial_failed'), requester: PeerIdSchema }),
  broker_result: z.object({
    t: z.literal('broker_result'),
    target: PeerIdSchema,
    status: z.enum(['forwarded', 'refused']),
    code: z.string().max(32).optional(),
    reason: ReasonSchema.optional(),
  }),
} as const;

type Schemas = typeof relayFrameSchemas;
export type RelayFrame = { [K in keyof Schemas]: z.infer<Schemas[K]> }[keyof Schemas];
export type CircuitFrame = Extract<RelayFrame, { t: `circuit_${string}` }>;
export type BrokerFrame = Extract<RelayFrame, { t: `broker_${string}` }>;

/** Whether the peer `opener` opened circuit `id` on its link with `other` (see the parity rule above). */
export function openedBy(id: number, opener: string, other: string): boolean {
  return (id % 2 === 1) === opener < other;
}
