import { CANOPY_VERSION } from '../../../protocol/version.ts';
import { optionalKey } from '../auth.ts';
import { defineRoute } from '../route.ts';
import { Health, Info } from '../schemas/system.ts';

/**
 * `/health` for anyone (see NetworkService.health); `/info`: the version for anyone, diagnostics
 * only for a key allowed to view peers.
 */
export const systemRoutes = [
  defineRoute({
    method: 'get',
    path: '/health',
    operationId: 'health',
    tag: 'System',
    summary: 'Liveness for supervisors',
    description: 'Alive, versions, uptime and link counts. Names no peer and no key. Never cached.',
    permission: null,
    responses: { 200: { description: 'Alive', schema: Health } },
    handle: (ctx, _input, { network }) => {
      ctx.set('Cache-Control', 'no-store');
      return network.health();
    },
  }),
  defineRoute({
    method: 'get',
    path: '/info',
    operationId: 'info',
    tag: 'System',
    summary: 'Version, and diagnostics for a key with view_peers',
    description:
      'Without a key (or with one lacking `view_peers`): only the version. With `view_peers`: database counts, the network status and size limits.',
    permission: null,
    optionalPermission: 'view_peers',
    responses: { 200: { description: 'The version, with diagnostics when the key allows', schema: Info } },
    handle: (ctx, _input, { store, network }) => {
      const key = optionalKey(ctx, store.apiKeys);
      if (!key?.permissions.includes('view_peers')) return { version: CANOPY_VERSION };
      const summaries = store.events.channelSummaries();
      return {
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
    },
  }),
];
