// What GET /api/v1/events sends: each event's name and the JSON in its `data` line, as
// companion/service/event-feed.ts and companion/api/event-stream.ts make them.
import { z } from 'zod';
import { DeliveryState, PeerId } from './common.ts';
import { Channel, ChannelMessage, DirectMessage } from './messages.ts';
import { IntroducedPeer, LinkRequest } from './peers.ts';
import { ProfileSummary } from './system.ts';

const cursor = z.string().meta({ description: 'A position in the stream: resume after it with `Last-Event-ID` or `?since=`', example: '1042.17' });

/** The `data` of each event, by event name. */
export const EVENT_DATA = {
  post: ChannelMessage,
  dm: DirectMessage,
  channel: Channel,
  delivery: z
    .strictObject({ messages: z.array(z.strictObject({ id: z.string(), delivery_state: DeliveryState })) })
    .meta({ id: 'DeliveryEvent', description: 'Your messages whose delivery moved on' }),
  peer: z
    .strictObject({ peer_id: PeerId, display_name: z.string().nullable(), connected: z.boolean(), reason: z.string().optional() })
    .meta({ id: 'PeerEvent', description: 'A link came up or went down (`reason`: why it went down)' }),
  request: z
    .union([LinkRequest.extend({ state: z.literal('pending') }), z.strictObject({ peer_id: PeerId, state: z.enum(['pending', 'resolved']) })])
    .meta({ id: 'RequestEvent', description: 'A stranger asked to link (`pending`, with the request while it waits), or that was settled (`resolved`)' }),
  introduction: z
    .union([IntroducedPeer.extend({ state: z.literal('introduced') }), z.strictObject({ peer_id: PeerId, state: z.enum(['introduced', 'gone']) })])
    .meta({ id: 'IntroductionEvent', description: 'A linked peer introduced someone (`introduced`, with what it said while it stands), or that introduction is gone (linked, expired or forgotten)' }),
  profile: z
    .union([ProfileSummary, z.strictObject({ peer_id: PeerId })])
    .meta({ id: 'ProfileEvent', description: 'A profile card changed: the card as it is now, without avatars' }),
  ready: z.strictObject({ cursor }).meta({ id: 'ReadyEvent', description: 'Everything missed has been sent: what follows is live' }),
  reset: z
    .strictObject({ reason: z.enum(['notices_trimmed', 'cursor_unknown']), cursor })
    .meta({ id: 'ResetEvent', description: 'The position asked for cannot be followed exactly; the stream goes on from `cursor`' }),
  dropped: z
    .strictObject({ reason: z.enum(['slow_consumer', 'key_revoked', 'shutting_down']), cursor })
    .meta({ id: 'DroppedEvent', description: 'The last event before the companion ends the stream' }),
} as const;

export type StreamEventName = keyof typeof EVENT_DATA;

/** One SSE message of the stream, its fields as JSON would name them (the wire has `event:`, `id:` and `data:` lines). */
export const StreamEvent = z
  .union(
    (Object.entries(EVENT_DATA) as Array<[string, z.ZodType]>).map(([name, data]) =>
      z.strictObject({ event: z.literal(name), id: cursor, data }),
    ) as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]],
  )
  .meta({ id: 'StreamEvent', description: 'One event: `event:` its name, `id:` its position, `data:` one line of JSON' });
