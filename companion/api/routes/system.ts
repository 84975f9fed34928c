import Router from '@koa/router';
import { CANOPY_VERSION } from '../../../protocol/version.ts';
import type { ApiKeyRepository, Store } from '../../store/index.ts';
import type { NetworkService } from '../../service/network-service.ts';
import { optionalKey } from '../auth.ts';

/**
 * `/health` for anyone (see NetworkService.health); `/info`: the version for anyone, diagnostics
 * only for a key allowed to view peers.
 */
export function systemRoutes(keys: ApiKeyRepository, store: Store, network: NetworkService): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = network.health();
  });
  router.get('/info', (ctx) => {
    const key = optionalKey(ctx, keys);
    if (!key?.permissions.includes('view_peers')) {
      ctx.body = { version: CANOPY_VERSION };
      return;
    }
    const summaries = store.events.channelSummaries();
    ctx.body = {
      version: CANOPY_VERSION,
      database_stats: {
        events: summaries.reduce((n, s) => n + s.count, 0),
        channels: summaries.filter((s) => !s.channel.startsWith('dm:')).length,
        dm_conversations: store.events.dmConversations().length,
        known_peers: store.peers.list().length,
      },
      p2p_network: network.status(),
      config: { max_message_size: 65_536, max_frame_bytes: 1024 * 1024 },
    };
  });
  return router;
}
