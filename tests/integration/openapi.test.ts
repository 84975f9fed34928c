// Issue 11, item 1: GET /api/v1/openapi.json describes the API as it is. Read from a running
// companion, it must lint clean (Redocly), list exactly the routes the API mounts with the
// permission each really needs, and every real answer must match its documented schema; the
// reference page at /api/docs must load from this companion alone.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedAnswers, openApiPath } from '../../companion/api/openapi.ts';
import { API_ROUTES } from '../../companion/api/routes/index.ts';
import { apiClient, createKey, eventually } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { mountedRoutes, OPEN_ROUTES, REQUIRED_PERMISSION, STREAM_ROUTES } from '../helpers/routes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

let a: Instance;
let b: Instance;
let keyA: string;
let peerB: string;
let document: any;

beforeAll(async () => {
  // Discovery off: other test files' companions on loopback must not show up as peers here.
  [a, b] = await Promise.all([startInstance({ env: { CANOPY_DISCOVERY: 'off' } }), startInstance({ env: { CANOPY_DISCOVERY: 'off' } })]);
  keyA = await createKey(a.dataDir, 'all');
  // B links with A, so lists have rows to check and a DM has a recipient.
  const apiA = apiClient(a.url, keyA);
  const apiB = apiClient(b.url, await createKey(b.dataDir, 'all'));
  const imported = await apiB.post('/p2p/invite/import', { invite_code: (await apiA.get('/p2p/invite')).body.invite_code });
  expect(imported.body.status).toBe('connected');
  peerB = (await apiB.get('/p2p/status')).body.peer_id;
  await eventually('A linked with B', async () => (await apiA.get('/p2p/peers')).body.connected_peers.includes(peerB));
  const response = await fetch(`${a.url}/api/v1/openapi.json`);
  expect(response.status).toBe(200);
  document = await response.json();
}, 60_000);
afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

/** `METHOD /api/v1/path` with `:param`, for every operation in the document. */
function documentedRoutes(): string[] {
  return Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
  );
}

function operation(route: string): any {
  const [method, path] = route.split(' ') as [string, string];
  return document.paths[path.replace(/:([A-Za-z_]+)/g, '{$1}')]?.[method.toLowerCase()];
}

describe('GET /api/v1/openapi.json', () => {
  it('is an OpenAPI 3.1 document, served without a key, that Redocly lints without errors', async () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes.ApiKey).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }));
    expect((await fetch(`${a.url}/api/openapi.json`)).status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'canopy-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(document));
      const lint = await promisify(execFile)(join(ROOT, 'node_modules/.bin/redocly'), ['lint', '--config', join(ROOT, 'redocly.yaml'), '--format', 'summary', file], {
        cwd: dir,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      }).catch((error: { stdout: string; stderr: string }) => ({ ...error, failed: true }));
      expect('failed' in lint, `redocly lint:\n${lint.stdout}\n${lint.stderr}`).toBe(false);
      expect(`${lint.stdout}${lint.stderr}`).toMatch(/valid/i);
      expect(`${lint.stdout}${lint.stderr}`).not.toMatch(/^(error|warning)\s/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('documents every route the API mounts, with the same method and path, and no other', () => {
    const mounted = mountedRoutes();
    const documented = documentedRoutes();
    const expected = [...new Set(mounted)];
    expect(documented.filter((route) => !expected.includes(route)), 'documented but not mounted').toEqual([]);
    expect(expected.filter((route) => !documented.includes(route)), 'mounted but not documented').toEqual([]);
  });

  it('names the permission each route needs, as the route list (README) has it', () => {
    const listed: Record<string, unknown> = {
      ...Object.fromEntries([...OPEN_ROUTES].map((route) => [route, null])),
      ...REQUIRED_PERMISSION,
      ...STREAM_ROUTES,
    };
    const documented = Object.fromEntries(documentedRoutes().map((route) => [route, operation(route)['x-required-permission']]));
    expect(documented).toEqual(listed);
    for (const route of documentedRoutes()) {
      const { security, description } = operation(route);
      const permission = documented[route];
      if (permission === null) {
        expect(description, route).toMatch(/No API key needed/);
        // No requirement at all, or an empty one among them (a key optional, as for /info).
        expect(security.length === 0 || security.some((requirement: object) => Object.keys(requirement).length === 0), route).toBe(true);
      } else {
        expect(security, route).toEqual(expect.arrayContaining([{ ApiKey: [] }, { Bearer: [] }]));
        for (const name of [permission].flat()) expect(description, route).toContain(`\`${name}\``);
        expect(Object.keys(operation(route).responses), route).toEqual(expect.arrayContaining(['401', '403']));
      }
    }
  });
});

describe('answers match their documentation', () => {
  const declared = new Map(API_ROUTES.map((route) => [`${route.method.toUpperCase()} ${openApiPath(route.path).replace(/\{([^}]+)\}/g, ':$1')}`, route]));
  const checked = new Set<string>();

  /** Calls `route` (its `:params` filled from `path`) and checks the answer against the schema documented for its status. */
  async function check(route: string, options: { path?: string; body?: unknown; raw?: string; key?: string | null; status?: number } = {}) {
    const [method, template] = route.split(' ') as [string, string];
    const headers: Record<string, string> = {};
    const key = options.key === undefined ? keyA : options.key;
    if (key) headers['X-API-Key'] = key;
    const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${a.url}${options.path ?? template}`, { method, headers, body: payload });
    const body = await response.json();
    if (options.status !== undefined) expect(response.status, `${route}: ${JSON.stringify(body)}`).toBe(options.status);
    const declaration = declared.get(route);
    expect(declaration, `${route} is not declared`).toBeDefined();
    expect(operation(route).responses[String(response.status)], `${route} answered ${response.status}, which openapi.json does not list: ${JSON.stringify(body)}`).toBeDefined();
    const answer = documentedAnswers(declaration!)[response.status]!;
    const result = answer.schema.safeParse(body);
    expect(result.success, `${route} ${response.status} does not match its schema: ${JSON.stringify(result.error?.issues)}\n${JSON.stringify(body).slice(0, 600)}`).toBe(true);
    checked.add(route);
    return body;
  }

  it('for reads, writes and their successes', async () => {
    const own = (await check('GET /api/v1/p2p/status', { key: null, status: 200 })).peer_id;
    await check('GET /api/v1/health', { key: null, status: 200 });
    await check('GET /api/v1/info', { key: null, status: 200 });
    expect(await check('GET /api/v1/info', { status: 200 })).toHaveProperty('database_stats');
    await check('GET /api/v1/openapi.json', { key: null, status: 200 });

    expect((await check('GET /api/v1/p2p/peers', { status: 200 })).connected_peer_details).toHaveLength(1);
    await check('GET /api/v1/p2p/invite', { status: 200 });
    await check('GET /api/v1/p2p/invite', { path: '/api/v1/p2p/invite?public_host=canopy.test&public_port=9000', status: 200 });
    await check('GET /api/v1/p2p/requests', { status: 200 });
    await check('GET /api/v1/p2p/known_peers', { status: 200 });
    await check('GET /api/v1/p2p/introduced', { status: 200 });
    await check('GET /api/v1/p2p/activity', { path: '/api/v1/p2p/activity?limit=5', status: 200 });
    await check('GET /api/v1/p2p/relay_status', { status: 200 });
    await check('POST /api/v1/p2p/relay_policy', { body: { policy: 'broker_only' }, status: 200 });
    await check('GET /api/v1/p2p/discovery', { status: 200 });
    await check('POST /api/v1/p2p/discovery', { body: { auto_connect: false }, status: 200 });
    await check('POST /api/v1/p2p/trust_introduced', { body: { trust_introduced: true }, status: 200 });
    await check('POST /api/v1/p2p/reconnect', { body: { peer_id: peerB }, status: 200 });
    await check('POST /api/v1/p2p/promote_direct', { body: { peer_id: peerB }, status: 200 });
    await check('POST /api/v1/p2p/connect_introduced', { body: { peer_id: peerB }, status: 200 });

    await check('POST /api/v1/p2p/send', { body: { content: 'to everyone', broadcast: true, metadata: { tag: 1 } }, status: 200 });
    await check('POST /api/v1/p2p/send', { body: { content: 'to B', peer_id: peerB }, status: 200 });
    const channel = await check('POST /api/v1/channels', { body: { name: 'contract', description: 'checked' }, status: 201 });
    await check('POST /api/v1/channels', { body: { name: 'contract' }, status: 200 });
    await check('POST /api/v1/channels/messages', { body: { channel_id: channel.id, content: 'in the channel' }, status: 200 });
    expect((await check('GET /api/v1/channels', { status: 200 })).channels.length).toBeGreaterThan(1);
    const page = await check('GET /api/v1/channels/:id/messages', { path: '/api/v1/channels/general/messages?limit=1', status: 200 });
    expect(page.messages).toHaveLength(1);
    await check('GET /api/v1/channels/:id/messages', { path: `/api/v1/channels/${channel.id}/messages?after=0`, status: 200 });
    expect((await check('GET /api/v1/messages', { status: 200 })).messages).toHaveLength(1);
    await check('GET /api/v1/messages', { path: `/api/v1/messages?peer_id=${peerB}&before=999999`, status: 200 });

    const created = await check('POST /api/v1/keys', { body: { permissions: ['read_messages'], name: 'contract', expires_days: 1 }, status: 201 });
    expect((await check('GET /api/v1/keys', { status: 200 })).keys.length).toBeGreaterThan(1);
    await check('DELETE /api/v1/keys/:id', { path: `/api/v1/keys/${created.id}`, status: 200 });

    await check('POST /api/v1/profile', { body: { display_name: 'Contract', bio: 'checked' }, status: 200 });
    await check('GET /api/v1/profile', { status: 200 });
    await check('POST /api/v1/device/profile', { body: { display_name: 'laptop', avatar_b64: 'iVBORw0KGgo=', avatar_mime: 'image/png' }, status: 200 });
    await check('GET /api/v1/device/profile', { status: 200 });
    expect((await check('GET /api/v1/profiles', { status: 200 })).profiles.length).toBeGreaterThan(0);
    await check('GET /api/v1/profiles/:peer_id', { path: `/api/v1/profiles/${own}`, status: 200 });

    await check('POST /api/v1/p2p/disconnect', { body: { peer_id: peerB }, status: 200 });
    await check('POST /api/v1/p2p/reconnect_all', { status: 202 });
    await check('POST /api/v1/p2p/forget', { body: { peer_id: '1111111111111111' }, status: 200 });
    await check('POST /api/v1/p2p/invite/regenerate', { status: 200 });
  }, 60_000);

  it('for failures: 400, 401, 403, 404, 409 and 413', async () => {
    const readOnly = await createKey(a.dataDir, 'read_messages');
    await check('GET /api/v1/p2p/peers', { key: null, status: 401 });
    await check('GET /api/v1/keys', { key: readOnly, status: 403 });
    await check('POST /api/v1/p2p/send', { key: 'not-a-key', body: { content: 'x', broadcast: true }, status: 403 });
    await check('POST /api/v1/p2p/send', { raw: '{not json', status: 400 });
    await check('POST /api/v1/p2p/send', { body: { content: 'to nobody' }, status: 400 });
    await check('POST /api/v1/p2p/invite/import', { body: { invite_code: 'canopy:nonsense' }, status: 400 });
    await check('GET /api/v1/channels/:id/messages', { path: '/api/v1/channels/general/messages?limit=0', status: 400 });
    await check('GET /api/v1/p2p/invite', { path: '/api/v1/p2p/invite?public_port=1', status: 400 });
    await check('GET /api/v1/channels/:id/messages', { path: '/api/v1/channels/nowhere/messages', status: 404 });
    await check('POST /api/v1/p2p/requests/:peer_id/accept', { path: '/api/v1/p2p/requests/1111111111111111/accept', status: 404 });
    await check('POST /api/v1/p2p/requests/:peer_id/decline', { path: '/api/v1/p2p/requests/1111111111111111/decline', status: 404 });
    await check('POST /api/v1/p2p/connect_discovered', { body: { peer_id: '1111111111111111' }, status: 404 });
    await check('POST /api/v1/p2p/connect_introduced', { body: { peer_id: '1111111111111111' }, status: 404 });
    await check('POST /api/v1/p2p/promote_direct', { body: { peer_id: '1111111111111111' }, status: 404 });
    await check('GET /api/v1/profiles/:peer_id', { path: '/api/v1/profiles/1111111111111111', status: 404 });
    await check('DELETE /api/v1/keys/:id', { path: '/api/v1/keys/0000000000000000', status: 404 });
    await check('POST /api/v1/channels', { body: { name: 'general' }, status: 409 });
    // The event stream's refusals (its events are checked against their schemas in event-stream.test.ts).
    await check('GET /api/v1/events', { key: null, status: 401 });
    await check('GET /api/v1/events', { key: await createKey(a.dataDir, 'write_messages'), status: 403 });
    await check('GET /api/v1/events', { path: '/api/v1/events?since=yesterday', status: 400 });
    await check('POST /api/v1/p2p/send', { raw: JSON.stringify({ content: 'x'.repeat(300 * 1024) }), status: 413 });
    // A route that does not exist answers with the documented NotFound shape too.
    const missing = await fetch(`${a.url}/api/v1/no/such/route`, { headers: { 'X-API-Key': keyA } });
    expect(missing.status).toBe(404);
    expect(documentedAnswers(declared.get('GET /api/v1/profiles/:peer_id')!)[404]!.schema.safeParse(await missing.json()).success).toBe(true);
  }, 60_000);

  it('checks an answer of every route', () => {
    const unchecked = [...declared.keys()].filter((route) => !checked.has(route));
    expect(unchecked, 'routes no answer of which was checked').toEqual([]);
  });
});

describe('GET /api/docs', () => {
  it('serves a page that loads only assets of this companion, without a key', async () => {
    for (const path of ['/api/docs', '/api/v1/docs', '/api/v1/docs/']) {
      const page = await fetch(`${a.url}${path}`);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      const html = await page.text();
      expect(html, 'no absolute URL anywhere in the page').not.toMatch(/\b(?:https?:)?\/\/[a-z0-9]/i);
      const assets = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
      expect(assets.length).toBeGreaterThanOrEqual(4);
      for (const asset of assets) {
        expect(asset, 'a local absolute path').toMatch(/^\/[^/]/);
        const loaded = await fetch(`${a.url}${asset}`);
        expect(loaded.status, asset).toBe(200);
        expect((await loaded.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
      }
    }
    const init = await (await fetch(`${a.url}/api/v1/docs/init.js`)).text();
    expect(init).toContain("url: '/api/v1/openapi.json'");
    expect(init, 'Swagger UI must not send the document to validator.swagger.io').toContain('validatorUrl: null');
    expect((await fetch(`${a.url}/api/v1/docs/package.json`)).status, 'only the listed files are served').toBe(404);
  });
});
