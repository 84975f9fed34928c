// Every REST route, as README's endpoint table documents it (with the one permission each needs),
// and the routes the API really mounts, so tests that walk every route (permissions, fuzz) share
// one list and notice a route added without them.
import { createApiApp } from '../../companion/api/app.ts';
import type { Permission } from '../../companion/service/permissions.ts';

/** Routes anyone may call, as README's endpoint table documents them. */
export const OPEN_ROUTES = new Set(['GET /api/v1/p2p/status', 'GET /api/v1/info', 'GET /api/v1/health', 'GET /api/v1/openapi.json']);

/** README's endpoint table, route by route. */
export const REQUIRED_PERMISSION: Record<string, Permission> = {
  'GET /api/v1/p2p/peers': 'view_peers',
  'GET /api/v1/p2p/invite': 'view_peers',
  'POST /api/v1/p2p/invite/import': 'manage_peers',
  'POST /api/v1/p2p/invite/regenerate': 'manage_peers',
  'GET /api/v1/p2p/requests': 'view_peers',
  'POST /api/v1/p2p/requests/:peer_id/accept': 'manage_peers',
  'POST /api/v1/p2p/requests/:peer_id/decline': 'manage_peers',
  'POST /api/v1/p2p/reconnect': 'manage_peers',
  'POST /api/v1/p2p/reconnect_all': 'manage_peers',
  'POST /api/v1/p2p/connect_discovered': 'manage_peers',
  'GET /api/v1/p2p/introduced': 'view_peers',
  'GET /api/v1/p2p/known_peers': 'view_peers',
  'POST /api/v1/p2p/connect_introduced': 'manage_peers',
  'POST /api/v1/p2p/trust_introduced': 'manage_peers',
  'POST /api/v1/p2p/disconnect': 'manage_peers',
  'POST /api/v1/p2p/forget': 'manage_peers',
  'GET /api/v1/p2p/activity': 'view_peers',
  'GET /api/v1/p2p/relay_status': 'view_peers',
  'POST /api/v1/p2p/relay_policy': 'manage_peers',
  'POST /api/v1/p2p/promote_direct': 'manage_peers',
  'GET /api/v1/p2p/discovery': 'view_peers',
  'POST /api/v1/p2p/discovery': 'manage_peers',
  'POST /api/v1/p2p/send': 'write_messages',
  'GET /api/v1/channels': 'read_messages',
  'GET /api/v1/channels/:id/messages': 'read_messages',
  'POST /api/v1/channels': 'write_messages',
  'POST /api/v1/channels/messages': 'write_messages',
  'GET /api/v1/messages': 'read_messages',
  'GET /api/v1/keys': 'manage_keys',
  'POST /api/v1/keys': 'manage_keys',
  'DELETE /api/v1/keys/:id': 'manage_keys',
  'GET /api/v1/device/profile': 'view_peers',
  'POST /api/v1/device/profile': 'manage_peers',
  'GET /api/v1/profile': 'view_peers',
  'POST /api/v1/profile': 'manage_peers',
  'GET /api/v1/profiles': 'view_peers',
  'GET /api/v1/profiles/:peer_id': 'view_peers',
};

/**
 * Streams: they answer with an endless body, and any one of several permissions opens them (each
 * sees what its permissions allow). Their guards are tested by tests/integration/event-stream.test.ts.
 */
export const STREAM_ROUTES: Record<string, Permission[]> = {
  'GET /api/v1/events': ['read_messages', 'view_peers'],
};

/** Every documented route, open or guarded: `METHOD /api/v1/path` with `:param` placeholders. */
export const DOCUMENTED_ROUTES: readonly string[] = [...OPEN_ROUTES, ...Object.keys(REQUIRED_PERMISSION), ...Object.keys(STREAM_ROUTES)];

/** Answers anything with itself, so the real API can be assembled without a store or services. */
const inert: any = new Proxy(function inertStub() {}, {
  get: (_target, property) => (property === 'then' ? undefined : property === Symbol.toPrimitive ? () => '' : inert),
  apply: () => inert,
});

/** `METHOD /api/v1/path` for every route the REST app mounts (HEAD is GET's twin). */
export function mountedRoutes(): string[] {
  const app = createApiApp({
    store: inert,
    network: inert,
    peerManagement: inert,
    introductions: inert,
    messages: inert,
    keys: inert,
    profiles: inert,
    feed: inert,
    eventStreams: inert,
    deviceId: 'route-listing',
    log: inert,
    buildDir: '/nonexistent',
  } as Parameters<typeof createApiApp>[0]);
  const routers = (app.middleware as Array<{ router?: { stack: Array<{ methods: string[]; path: string }> } }>)
    .map((middleware) => middleware.router)
    .filter((router) => router !== undefined);
  if (routers.length === 0) throw new Error('the REST app mounts no router: the route listing no longer matches createApiApp');
  return routers.flatMap((router) =>
    router.stack.flatMap((layer) => layer.methods.filter((method) => method !== 'HEAD').map((method) => `${method} ${layer.path}`)),
  );
}
