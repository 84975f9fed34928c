import Router from '@koa/router';
import type { ApiKeyRepository } from '../../store/index.ts';
import type { MessageService } from '../../service/message-service.ts';
import { requirePermission } from '../auth.ts';
import { jsonBody, pageQuery } from '../body.ts';
import { ChannelCreateRequest, ChannelPostRequest } from '../../service/requests.ts';
import { ApiError } from '../errors.ts';

const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{16}$/;

export function messageRoutes(keys: ApiKeyRepository, messages: MessageService): Router {
  const router = new Router();
  const read = requirePermission(keys, 'read_messages');
  const write = requirePermission(keys, 'write_messages');

  router.get('/channels', read, (ctx) => {
    ctx.body = messages.channels();
  });
  router.post('/channels', write, async (ctx) => {
    const body = await jsonBody(ctx, ChannelCreateRequest, 'Channel name required');
    const { created, channel } = await messages.createChannel(body.name, body.description ?? '');
    ctx.status = created ? 201 : 200;
    ctx.body = channel;
  });
  router.post('/channels/messages', write, async (ctx) => {
    const body = await jsonBody(ctx, ChannelPostRequest, 'channel_id and content required');
    ctx.body = await messages.postToChannel({ channelId: body.channel_id, content: body.content, metadata: body.metadata });
  });
  router.get('/channels/:id/messages', read, (ctx) => {
    ctx.body = messages.channelMessages(ctx.params.id!, pageQuery(ctx));
  });
  router.get('/messages', read, (ctx) => {
    const peerId = typeof ctx.query.peer_id === 'string' ? ctx.query.peer_id.trim() : undefined;
    if (peerId && !PEER_ID.test(peerId)) throw new ApiError(400, 'Invalid peer_id');
    ctx.body = messages.directMessages(peerId || undefined, pageQuery(ctx));
  });
  return router;
}
