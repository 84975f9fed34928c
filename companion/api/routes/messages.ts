import { ChannelCreateRequest, ChannelPostRequest, SendRequestSchema } from '../../service/requests.ts';
import { DirectMessagesQuery, PAGE_DEFAULT_LIMIT, PageQuery } from '../queries.ts';
import { defineRoute } from '../route.ts';
import { Channel, ChannelList, ChannelPage, DirectMessagePage, Posted, Sent } from '../schemas/messages.ts';
import { ChannelIdParam } from './params.ts';

/** The query's page with its default size, as the message service takes it. */
function page(query: { limit?: number | undefined; before?: number | undefined; after?: number | undefined }) {
  return {
    limit: query.limit ?? PAGE_DEFAULT_LIMIT,
    ...(query.before !== undefined ? { before: query.before } : {}),
    ...(query.after !== undefined ? { after: query.after } : {}),
  };
}

export const messageRoutes = [
  defineRoute({
    method: 'post',
    path: '/p2p/send',
    operationId: 'send',
    tag: 'Messages',
    summary: 'Broadcast a post, or send a direct message',
    description:
      '`broadcast: true` posts in `general` on every peer; otherwise `peer_id` gets a sealed DM (also an introduced peer: it waits, `queued`, until you are linked). Delivery goes `queued` → `sent` → `delivered`.',
    permission: 'write_messages',
    body: { schema: SendRequestSchema, missing: 'JSON data required' },
    responses: { 200: { description: 'Stored and on its way', schema: Sent } },
    errors: { 400: 'No `peer_id` for a direct message, your own peer ID, or content or metadata over the limits', 404: 'Unknown peer: import its invite code first' },
    handle: (_ctx, { body }, { messages }) =>
      messages.send({ content: body.content, metadata: body.metadata, broadcast: body.broadcast, peerId: body.peer_id || undefined }),
  }),
  defineRoute({
    method: 'get',
    path: '/channels',
    operationId: 'listChannels',
    tag: 'Messages',
    summary: 'List channels',
    description: 'Every channel known here (`general`, ours, and those peers\' posts brought), by id.',
    permission: 'read_messages',
    responses: { 200: { description: 'The channels', schema: ChannelList } },
    handle: (_ctx, _input, { messages }) => messages.channels(),
  }),
  defineRoute({
    method: 'post',
    path: '/channels',
    operationId: 'createChannel',
    tag: 'Messages',
    summary: 'Create a channel',
    description:
      'Its id is the name plus 12 hex digits derived from your peer ID; its metadata is a signed event that reaches every node like a post. The same name again answers 200 with the existing channel.',
    permission: 'write_messages',
    body: { schema: ChannelCreateRequest, missing: 'Channel name required' },
    responses: {
      201: { description: 'Created', schema: Channel },
      200: { description: 'A channel of ours with this name already exists: that one', schema: Channel },
    },
    errors: { 409: 'The name is `general`, which always exists' },
    handle: async (ctx, { body }, { messages }) => {
      const { created, channel } = await messages.createChannel(body.name, body.description ?? '');
      ctx.status = created ? 201 : 200;
      return channel;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/channels/messages',
    operationId: 'postToChannel',
    tag: 'Messages',
    summary: 'Post in a channel',
    description: 'A post in any known channel, spread to every peer.',
    permission: 'write_messages',
    body: { schema: ChannelPostRequest, missing: 'channel_id and content required' },
    responses: { 200: { description: 'Posted', schema: Posted } },
    errors: { 404: 'No channel with this id is known' },
    handle: (_ctx, { body }, { messages }) => messages.postToChannel({ channelId: body.channel_id, content: body.content, metadata: body.metadata }),
  }),
  defineRoute({
    method: 'get',
    path: '/channels/:id/messages',
    operationId: 'channelMessages',
    tag: 'Messages',
    summary: "Read a channel's posts",
    description: 'Newest first; page back with `before` = `next_before`, or forward (oldest first) with `after`.',
    permission: 'read_messages',
    params: ChannelIdParam,
    query: PageQuery,
    responses: { 200: { description: 'One page of posts', schema: ChannelPage } },
    errors: { 404: 'No channel with this id is known (direct messages are read at /api/v1/messages)' },
    handle: (ctx, { query }, { messages }) => messages.channelMessages(ctx.params.id!, page(query)),
  }),
  defineRoute({
    method: 'get',
    path: '/messages',
    operationId: 'directMessages',
    tag: 'Messages',
    summary: 'Read direct messages',
    description: 'Every conversation, and the messages of all of them or of one (`peer_id`), paged like channel posts.',
    permission: 'read_messages',
    query: DirectMessagesQuery,
    responses: { 200: { description: 'Conversations and one page of messages', schema: DirectMessagePage } },
    handle: (_ctx, { query }, { messages }) => messages.directMessages(query.peer_id, page(query)),
  }),
];
