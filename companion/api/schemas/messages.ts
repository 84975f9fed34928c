// Answers of the message and channel routes, as companion/service/message-service.ts builds them.
import { z } from 'zod';
import { DeliveryMap, DeliveryState, IsoTime, Metadata, PeerId } from './common.ts';

const cursor = z.int().min(0).meta({ description: 'Local arrival order; the paging cursor for `before`/`after`' });

/** `next_before` when paging back (null on the last page), `next_after` when paging forward. */
const pageLinks = [
  z.strictObject({ has_more: z.boolean(), next_before: cursor.nullable() }),
  z.strictObject({ has_more: z.boolean(), next_after: cursor }),
] as const;

export const Channel = z
  .strictObject({
    id: z.string().meta({ description: '`general`, or the name plus 12 hex digits derived from the creator', example: 'random-1a2b3c4d5e6f' }),
    name: z.string(),
    description: z.string(),
    origin_peer: PeerId.nullable().meta({ description: 'The creator; null for `general` and channels known only by their posts' }),
    origin_peer_name: z.string().nullable(),
    created_at: IsoTime.nullable(),
    message_count: z.int().min(0),
    last_message_at: IsoTime.nullable(),
  })
  .meta({ id: 'Channel' });

export const ChannelList = z.strictObject({ channels: z.array(Channel) }).meta({ id: 'ChannelList' });

export const ChannelMessage = z
  .strictObject({
    id: z.string(),
    channel_id: z.string(),
    author_peer_id: PeerId,
    author_name: z.string().nullable(),
    content: z.string().nullable(),
    metadata: Metadata,
    created_at: IsoTime,
    received_at: IsoTime,
    seq: z.int().min(0),
    cursor,
    origin: z.enum(['local', 'remote']),
    delivery_state: DeliveryState.optional().meta({ description: 'Our own posts only' }),
  })
  .meta({ id: 'ChannelMessage' });

const channelPage = { channel_id: z.string(), messages: z.array(ChannelMessage) };
export const ChannelPage = z
  .union(pageLinks.map((links) => links.extend(channelPage)))
  .meta({ id: 'ChannelPage', description: 'Newest first (oldest first with `after`)' });

export const DirectMessage = z
  .strictObject({
    id: z.string(),
    peer_id: PeerId.meta({ description: 'The other side of the conversation' }),
    sender_id: PeerId,
    sender_name: z.string().nullable(),
    recipient_id: PeerId,
    direction: z.enum(['incoming', 'outgoing']),
    content: z.string().nullable(),
    metadata: Metadata,
    created_at: IsoTime,
    received_at: IsoTime,
    cursor,
    encrypted: z.literal(true),
    delivery_state: DeliveryState.optional().meta({ description: 'Outgoing messages only' }),
  })
  .meta({ id: 'DirectMessage' });

const dmPage = {
  peer_id: PeerId.optional().meta({ description: 'Echoes the `peer_id` filter' }),
  conversations: z.array(z.strictObject({ peer_id: PeerId, message_count: z.int().min(0), last_message_at: IsoTime })),
  messages: z.array(DirectMessage),
};
export const DirectMessagePage = z
  .union(pageLinks.map((links) => links.extend(dmPage)))
  .meta({ id: 'DirectMessagePage', description: 'Every conversation, and its messages newest first (oldest first with `after`)' });

export const Sent = z
  .union([
    z.strictObject({
      success: z.literal(true),
      broadcast: z.literal(true),
      message: z.string(),
      message_id: z.string(),
      channel_id: z.literal('general'),
      delivery: DeliveryMap,
    }),
    z.strictObject({
      success: z.literal(true),
      peer_id: PeerId,
      message: z.string(),
      message_id: z.string(),
      status: DeliveryState.meta({ description: '`queued` while the peer is offline' }),
    }),
  ])
  .meta({ id: 'Sent', description: 'A broadcast post in `general`, or a sealed direct message' });

export const Posted = z
  .strictObject({ success: z.literal(true), message_id: z.string(), channel_id: z.string(), delivery: DeliveryMap })
  .meta({ id: 'Posted' });
