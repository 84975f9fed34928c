// README "Permissions": every REST route is listed (tests/helpers/routes.ts) with the one permission it needs, and the
// list is checked against the routes the API really mounts, so a new route cannot slip in
// unguarded. For each route: no key → 401, a key holding every permission but the required one →
// 403 naming it, a key holding only that permission → let through (whatever the route then says).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission } from '../../companion/service/permissions.ts';
import { apiClient, createKey } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { DOCUMENTED_ROUTES, mountedRoutes, OPEN_ROUTES, REQUIRED_PERMISSION, STREAM_ROUTES } from '../helpers/routes.ts';

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
    const unlisted = mountedRoutes().filter((route) => !OPEN_ROUTES.has(route) && !(route in REQUIRED_PERMISSION) && !(route in STREAM_ROUTES));
    expect(unlisted, 'routes missing from REQUIRED_PERMISSION (add them with the permission README documents)').toEqual([]);
    const gone = DOCUMENTED_ROUTES.filter((route) => !mountedRoutes().includes(route));
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
