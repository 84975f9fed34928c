// README "Permissions": every REST route is listed here with the one permission it needs, and the
// list is checked against the routes the API really mounts, so a new route cannot slip in
// unguarded. For each route: no key → 401, a key holding every permission but the required one →
// 403 naming it, a key holding only that permission → let through (whatever the route then says).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../companion/api/app.ts';
import { PERMISSIONS, type Permission } from '../../companion/service/permissions.ts';
import { apiClient, createKey } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

/** Routes anyone may call, as README's endpoint table documents them. */
const OPEN_ROUTES = new Set(['GET /api/v1/p2p/status', 'GET /api/v1/info']);

/** README's endpoint table, route by route. */
const REQUIRED_PERMISSION: Record<string, Permission> = {
  'GET /api/v1/p2p/peers': 'view_peers',
  'GET /api/v1/p2p/invite': 'view_peers',
  'POST /api/v1/p2p/invite/import': 'manage_peers',
  'POST /api/v1/p2p/invite/regenerate': 'manage_peers',
  'GET /api/v1/p2p/requests': 'view_peers',
  'POST /api/v1/p2p/requests/:peer_id/accept': 'manage_peers',
  'POST /api/v1/p2p/requests/:peer_id/decline': 'manage_peers',
  'POST /api/v1/p2p/reconnect': 'manage_peers',
  'POST /api/v1/p2p/reconnect_all': 'manage_peers',
  'GET /api/v1/p2p/relay_status': 'view_peers',
  'POST /api/v1/p2p/relay_policy': 'manage_peers',
  'POST /api/v1/p2p/send': 'write_messages',
  'GET /api/v1/channels': 'read_messages',
  'GET /api/v1/channels/:id/messages': 'read_messages',
  'GET /api/v1/messages': 'read_messages',
  'GET /api/v1/keys': 'manage_keys',
  'POST /api/v1/keys': 'manage_keys',
  'DELETE /api/v1/keys/:id': 'manage_keys',
  'GET /api/v1/device/profile': 'view_peers',
  'POST /api/v1/device/profile': 'manage_peers',
  'GET /api/v1/profile': 'view_peers',
  'POST /api/v1/profile': 'manage_peers',
};

/** Answers anything with itself, so the real API can be assembled without a store or services. */
const inert: any = new Proxy(function inertStub() {}, {
  get: (_target, property) => (property === 'then' ? undefined : property === Symbol.toPrimitive ? () => '' : inert),
  apply: () => inert,
});

/** `METHOD /api/v1/path` for every route the REST app mounts (HEAD is GET's twin). */
function mountedRoutes(): string[] {
  const app = createApiApp({
    store: inert,
    network: inert,
    messages: inert,
    keys: inert,
    profiles: inert,
    deviceId: 'route-listing',
    log: inert,
    buildDir: '/nonexistent',
  } as Parameters<typeof createApiApp>[0]);
  const routers = (app.middleware as Array<{ router?: { stack: Array<{ methods: string[]; path: string }> } }>)
    .map((middleware) => middleware.router)
    .filter((router) => router !== undefined);
  expect(routers.length).toBeGreaterThan(0);
  return routers.flatMap((router) =>
    router.stack.flatMap((layer) => layer.methods.filter((method) => method !== 'HEAD').map((method) => `${method} ${layer.path}`)),
  );
}

let instance: Instance;
/** `only[p]` holds exactly p; `allBut[p]` holds every permission except p. */
const only = {} as Record<Permission, string>;
const allBut = {} as Record<Permission, string>;

beforeAll(async () => {
  instance = await startInstance();
  const admin = apiClient(instance.url, await createKey(instance.dataDir, 'all'));
  for (const permission of PERMISSIONS) {
    const mint = async (permissions: Permission[]) => {
      const created = await admin.post('/keys', { permissions, name: `only-or-not-${permission}` });
      expect(created.status).toBe(201);
      return created.body.api_key as string;
    };
    only[permission] = await mint([permission]);
    allBut[permission] = await mint(PERMISSIONS.filter((p) => p !== permission));
  }
});
afterAll(async () => instance?.stop());

async function call(route: string, key?: string): Promise<{ status: number; body: any }> {
  const [method, template] = route.split(' ') as [string, string];
  const path = template.replace(/:[a-z_]+/gi, 'no-such-id');
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (key) headers['X-API-Key'] = key;
  const response = await fetch(`${instance.url}${path}`, { method, headers, body: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text for the failure message
  }
  return { status: response.status, body };
}

describe('REST permissions', () => {
  it('lists every mounted route as either open or guarded by a named permission', () => {
    const unlisted = mountedRoutes().filter((route) => !OPEN_ROUTES.has(route) && !(route in REQUIRED_PERMISSION));
    expect(unlisted, 'routes missing from REQUIRED_PERMISSION (add them with the permission README documents)').toEqual([]);
    const gone = [...OPEN_ROUTES, ...Object.keys(REQUIRED_PERMISSION)].filter((route) => !mountedRoutes().includes(route));
    expect(gone, 'routes listed here that the API no longer mounts').toEqual([]);
  });

  it('answers 401 without a key, 403 without the permission, and lets the permission through', async () => {
    for (const [route, permission] of Object.entries(REQUIRED_PERMISSION)) {
      const anonymous = await call(route);
      expect(anonymous.status, `${route} without a key`).toBe(401);

      const garbage = await call(route, 'not-a-real-key');
      expect(garbage.status, `${route} with an unknown key`).toBe(403);

      const lacking = await call(route, allBut[permission]);
      expect(lacking.status, `${route} with every permission but ${permission}`).toBe(403);
      expect(lacking.body.required_permission, route).toBe(permission);

      const allowed = await call(route, only[permission]);
      expect([401, 403], `${route} with only ${permission}: ${JSON.stringify(allowed.body)}`).not.toContain(allowed.status);
      expect(allowed.status, `${route} with only ${permission}`).toBeLessThan(500);
    }
  });

  it('keeps the open routes open, and /info diagnostics behind view_peers', async () => {
    for (const route of OPEN_ROUTES) expect((await call(route)).status, route).toBe(200);
    const anonymous = await call('GET /api/v1/info');
    expect(anonymous.body).not.toHaveProperty('database_stats');
    expect((await call('GET /api/v1/info', allBut.view_peers)).body).not.toHaveProperty('database_stats');
    expect((await call('GET /api/v1/info', only.view_peers)).body).toHaveProperty('database_stats');
  });
});
