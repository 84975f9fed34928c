// Issue 11, item 4: scripts written for the original Canopy call /api/... without the version;
// supervisors ask /api/v1/health without a key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

let node: Instance;
let key: string;
let api: ApiClient;

beforeAll(async () => {
  node = await startInstance();
  key = await createKey(node.dataDir);
  api = apiClient(node.url, key);
});
afterAll(async () => node?.stop());

/** A request to an exact path (the helper always adds /api/v1). */
async function raw(path: string, init: RequestInit = {}, withKey = true) {
  const headers = new Headers(init.headers);
  if (withKey) headers.set('X-API-Key', key);
  const response = await fetch(`${node.url}${path}`, { ...init, headers });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : null, headers: response.headers };
}

describe('/api/... answers as /api/v1/...', () => {
  it('reads the same answers, with the same permissions', async () => {
    const versioned = await api.get('/p2p/status');
    const alias = await raw('/api/p2p/status');
    expect(alias.status).toBe(200);
    expect(alias.body.peer_id).toBe(versioned.body.peer_id);
    const channels = await raw('/api/channels');
    expect(channels.body).toEqual((await api.get('/channels')).body);
    expect((await raw('/api/channels', {}, false)).status).toBe(401);
  });

  it('takes writes, query strings and the same error shape', async () => {
    const sent = await raw('/api/p2p/send', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ content: 'through the alias', broadcast: true }) });
    expect(sent.status).toBe(200);
    const page = await raw('/api/channels/general/messages?limit=1');
    expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual(['through the alias']);
    const missing = await raw('/api/no/such/route');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'Not found', path: '/api/no/such/route' });
    const bad = await raw('/api/p2p/send', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{not json' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toEqual(expect.any(String));
  });
});

describe('GET /api/v1/health', () => {
  it('answers without a key: alive, version, uptime and link counts, nothing that names a peer or a key', async () => {
    const health = await raw('/api/v1/health', {}, false);
    expect(health.status).toBe(200);
    expect(health.headers.get('cache-control')).toBe('no-store');
    expect(health.body).toEqual({
      status: 'ok',
      canopy_version: expect.any(String),
      protocol_version: expect.any(Number),
      uptime_seconds: expect.any(Number),
      links: { connected: 0, direct: 0, relayed: 0 },
    });
    const status = (await api.get('/p2p/status')).body;
    expect(JSON.stringify(health.body)).not.toContain(status.peer_id);
    expect(JSON.stringify(health.body)).not.toContain(key);
    expect((await raw('/api/health', {}, false)).body.status).toBe('ok');
  });

  it('counts a link once one is up', async () => {
    const other = await startInstance();
    try {
      const otherApi = apiClient(other.url, await createKey(other.dataDir));
      const imported = await otherApi.post('/p2p/invite/import', { invite_code: (await api.get('/p2p/invite')).body.invite_code });
      expect(imported.body.status).toBe('connected');
      const deadline = Date.now() + 20_000;
      let links;
      do {
        links = (await raw('/api/v1/health', {}, false)).body.links;
        if (links.connected === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      } while (Date.now() < deadline);
      expect(links).toEqual({ connected: 1, direct: 1, relayed: 0 });
    } finally {
      await other.stop();
    }
  });
});
