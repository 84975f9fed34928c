import Router from '@koa/router';
import type { ApiKeyRepository } from '../../store/index.ts';
import type { MessageService } from '../../service/message-service.ts';
import { requirePermission } from '../auth.ts';
import { pageQuery } from '../body.ts';
import { ApiError } from '../errors.ts';

const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{16}$/;

export function messageRoutes(keys: ApiKeyRepository, messages: MessageService): Router {
  const router = new Router();
  const read = requirePermission(keys, 'read_messages');

  router.get('/channels', read, (ctx) => {
    ctx.body = messages.channels();
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
