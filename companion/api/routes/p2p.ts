import Router from '@koa/router';
import type { ApiKeyRepository } from '../../store/index.ts';
import type { MessageService } from '../../service/message-service.ts';
import type { RelayService } from '../../service/relay-service.ts';
import type { NetworkService } from '../../service/network-service.ts';
import { activityQuery, type PeerManagement } from '../../service/peer-management.ts';
import { TrustIntroducedRequest, type IntroductionService } from '../../service/introduction-service.ts';
import { DiscoverySettingsRequest } from '../../discovery/auto-connect.ts';
import { requirePermission } from '../auth.ts';
import { jsonBody } from '../body.ts';
import { ImportRequest, PeerRequest, PolicyRequest, SendRequestSchema } from '../../service/requests.ts';
import { ApiError } from '../errors.ts';

function optionalPort(raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ApiError(400, 'Invalid public_port: expected 1-65535');
  return port;
}

export function p2pRoutes(
  keys: ApiKeyRepository,
  network: NetworkService,
  messages: MessageService,
  peers: PeerManagement,
  introductions: IntroductionService,
  relay: RelayService,
): Router {
  const router = new Router();
  const view = requirePermission(keys, 'view_peers');
  const manage = requirePermission(keys, 'manage_peers');

  router.get('/p2p/status', (ctx) => {
    ctx.body = network.status();
  });
  router.get('/p2p/peers', view, (ctx) => {
    ctx.body = network.peers();
  });
  router.get('/p2p/invite', view, (ctx) => {
    const host = typeof ctx.query.public_host === 'string' ? ctx.query.public_host.trim() : undefined;
    ctx.body = network.invite({ publicHost: host || undefined, publicPort: optionalPort(ctx.query.public_port) });
  });
  router.post('/p2p/invite/regenerate', manage, (ctx) => {
    const host = typeof ctx.query.public_host === 'string' ? ctx.query.public_host.trim() : undefined;
    ctx.body = network.regenerateInvite({ publicHost: host || undefined, publicPort: optionalPort(ctx.query.public_port) });
  });
  router.get('/p2p/requests', view, (ctx) => {
    ctx.body = network.requests();
  });
  router.post('/p2p/requests/:peer_id/accept', manage, async (ctx) => {
    ctx.body = await network.acceptRequest(ctx.params.peer_id!);
  });
  router.post('/p2p/requests/:peer_id/decline', manage, (ctx) => {
    ctx.body = network.declineRequest(ctx.params.peer_id!);
  });
  router.post('/p2p/invite/import', manage, async (ctx) => {
    const body = await jsonBody(ctx, ImportRequest, 'invite_code required');
    ctx.body = await network.importInvite(body.invite_code);
  });
  router.post('/p2p/reconnect', manage, async (ctx) => {
    const body = await jsonBody(ctx, PeerRequest, 'peer_id required');
    ctx.body = await network.reconnect(body.peer_id);
  });
  router.post('/p2p/connect_discovered', manage, async (ctx) => {
    const body = await jsonBody(ctx, PeerRequest, 'peer_id required');
    ctx.body = await network.connectDiscovered(body.peer_id);
  });
  router.get('/p2p/introduced', view, (ctx) => {
    ctx.body = introductions.introduced();
  });
  router.get('/p2p/known_peers', view, (ctx) => {
    ctx.body = introductions.knownPeers();
  });
  router.post('/p2p/connect_introduced', manage, async (ctx) => {
    const body = await jsonBody(ctx, PeerRequest, 'peer_id required');
    const result = await introductions.connectIntroduced(body.peer_id);
    if (result.status === 'brokering') ctx.status = 202;
    ctx.body = result;
  });
  router.post('/p2p/trust_introduced', manage, async (ctx) => {
    const body = await jsonBody(ctx, TrustIntroducedRequest, 'trust_introduced must be true or false');
    ctx.body = introductions.setTrustIntroduced(body.trust_introduced);
  });
  router.post('/p2p/reconnect_all', manage, (ctx) => {
    ctx.status = 202;
    ctx.body = network.reconnectAll();
  });
  router.post('/p2p/disconnect', manage, async (ctx) => {
    const body = await jsonBody(ctx, PeerRequest, 'peer_id required');
    ctx.body = peers.disconnect(body.peer_id);
  });
  // The original asks for delete_data here; we have no such permission, so manage_peers (README).
  router.post('/p2p/forget', manage, async (ctx) => {
    const body = await jsonBody(ctx, PeerRequest, 'peer_id required');
    ctx.body = peers.forget(body.peer_id);
  });
  router.get('/p2p/activity', view, (ctx) => {
    ctx.body = peers.activityReport(activityQuery(ctx.query));
  });
  router.get('/p2p/relay_status', view, (ctx) => {
    ctx.body = relay.status();
  });
  router.post('/p2p/promote_direct', manage, async (ctx) => {
    const body = await jsonBody(ctx, PeerRequest, 'peer_id required');
    ctx.body = await relay.promoteDirect(body.peer_id);
  });
  router.get('/p2p/discovery', view, (ctx) => {
    ctx.body = network.discovered();
  });
  router.post('/p2p/discovery', manage, async (ctx) => {
    ctx.body = network.setDiscoverySettings(await jsonBody(ctx, DiscoverySettingsRequest, 'auto_connect must be true or false'));
  });
  router.post('/p2p/relay_policy', manage, async (ctx) => {
    const body = await jsonBody(ctx, PolicyRequest, 'Invalid policy. Use: off, broker_only, full_relay');
    ctx.body = relay.setPolicy(body.policy);
  });
  router.post('/p2p/send', requirePermission(keys, 'write_messages'), async (ctx) => {
    const body = await jsonBody(ctx, SendRequestSchema, 'JSON data required');
    ctx.body = await messages.send({
      content: body.content,
      metadata: body.metadata,
      broadcast: body.broadcast,
      peerId: body.peer_id || undefined,
    });
  });
  return router;
}
