// Bad input gets a clear 4xx and changes nothing; permissions are enforced on every route.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

let node: Instance;
let admin: ApiClient;
let anonymous: ApiClient;
let validInvite: string;

beforeAll(async () => {
  node = await startInstance();
  admin = apiClient(node.url, await createKey(node.dataDir, 'all'));
  anonymous = apiClient(node.url);
  const other = await startInstance();
  validInvite = (await apiClient(other.url, await createKey(other.dataDir)).get('/p2p/invite')).body.invite_code;
  await other.stop();
});
afterAll(async () => node?.stop());

describe('invite import rejects bad codes with the reason', () => {
  const flip = (code: string, index: number) =>
    code.slice(0, index) + (code[index] === 'A' ? 'B' : 'A') + code.slice(index + 1);

  it('tampered peer ID', async () => {
    const json = JSON.parse(Buffer.from(validInvite.slice('canopy:'.length), 'base64url').toString());
    json.pid = json.pid.slice(0, -1) + (json.pid.endsWith('A') ? 'B' : 'A');
    const tampered = 'canopy:' + Buffer.from(JSON.stringify(json)).toString('base64url');
    const result = await admin.post('/p2p/invite/import', { invite_code: tampered });
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('Invalid invite code: Peer ID does not match public key');
    expect(result.body.reason).toBe('Peer ID does not match public key');
  });

  it.each([
    ['truncated', () => validInvite.slice(0, 60), /not valid base64url-encoded JSON|missing/],
    ['garbage', () => 'canopy:!!!not-an-invite', /not valid|Invalid invite code/],
    ['random text', () => 'hello there', /Invalid invite code/],
    ['flipped key character', () => flip(validInvite, 120), /Invalid invite code/],
    ['JSON without keys', () => '{"v":1,"pid":"abc"}', /missing required field/],
  ])('%s', async (_name, code, message) => {
    const result = await admin.post('/p2p/invite/import', { invite_code: code() });
    expect(result.status).toBe(400);
    expect(result.body.error).toMatch(message);
  });

  it('its own invite', async () => {
    const own = (await admin.get('/p2p/invite')).body.invite_code;
    const result = await admin.post('/p2p/invite/import', { invite_code: own });
    expect(result.status).toBe(400);
    expect(result.body.error).toMatch(/your own invite/);
  });

  it('leaves no peer behind', async () => {
    expect((await admin.get('/p2p/peers')).body.total_known).toBe(0);
  });
});

describe('request bodies', () => {
  it.each([
    ['/p2p/invite/import', '{"invite_code": ', 'invite_code required: body is not valid JSON'],
    ['/p2p/invite/import', '', 'invite_code required'],
    ['/p2p/invite/import', '{}', 'invite_code required'],
    ['/p2p/invite/import', '[1,2]', 'invite_code required: body must be a JSON object'],
    ['/p2p/send', 'not json', 'JSON data required: body is not valid JSON'],
    ['/p2p/send', '{"broadcast": true}', 'Message content required'],
    ['/p2p/send', '{"content": "   ", "broadcast": true}', 'Message content required'],
    ['/p2p/send', '{"content": "hi"}', 'peer_id required for direct message'],
    ['/p2p/send', '{"content": "hi", "broadcast": "yes"}', 'broadcast must be true or false'],
    ['/p2p/relay_policy', '{"policy": "everything"}', 'Invalid policy. Use: off, broker_only, full_relay'],
    ['/keys', '{"permissions": "all"}', 'permissions must be a list'],
    ['/keys', '{"permissions": ["root"]}', 'Invalid permission: root'],
  ])('POST %s %s → 400', async (path, raw, message) => {
    const result = await admin.postRaw(path, raw);
    expect(result.status).toBe(400);
    expect(result.body.error).toContain(message);
  });

  it('refuses an oversize body with 413', async () => {
    const result = await admin.post('/p2p/send', { content: 'x'.repeat(300 * 1024), broadcast: true });
    expect(result.status).toBe(413);
    expect(result.body.error).toMatch(/too large/);
  });

  it('refuses a message that peers would reject, before it is stored', async () => {
    const metadata = { blob: 'x'.repeat(20 * 1024) };
    const result = await admin.post('/p2p/send', { content: 'big metadata', broadcast: true, metadata });
    expect(result.status).toBe(400);
    expect(result.body.error).toMatch(/metadata must be at most 16384 bytes/);
    const page = await admin.get('/channels/general/messages');
    expect(page.body.messages.some((m: any) => m.content === 'big metadata')).toBe(false);
  });

  it('refuses a DM to an unknown peer with 404', async () => {
    const result = await admin.post('/p2p/send', { content: 'hi', peer_id: '1111111111111111' });
    expect(result.status).toBe(404);
    expect(result.body.error).toMatch(/Unknown peer/);
  });

  it('rejects bad paging parameters', async () => {
    expect((await admin.get('/channels/general/messages?limit=0')).status).toBe(400);
    expect((await admin.get('/channels/general/messages?before=abc')).status).toBe(400);
    for (const odd of ['0x10', '1e3', '%205', '-1', '1.5']) {
      expect((await admin.get(`/channels/general/messages?limit=${odd}`)).status, odd).toBe(400);
    }
    expect((await admin.get('/channels/nope/messages')).status).toBe(404);
    expect((await admin.get('/messages?peer_id=bad')).status).toBe(400);
  });

  it('refuses profile text with a lone surrogate, as peers would receive it mangled', async () => {
    const result = await admin.postRaw('/profile', '{"display_name": "Al\\ud800ice"}');
    expect(result.status).toBe(400);
    expect(result.body.error).toMatch(/display_name must be valid Unicode text/);
  });

  it('answers unknown API paths with JSON 404', async () => {
    const result = await admin.get('/no/such/thing');
    expect(result.status).toBe(404);
    expect(result.body.error).toBe('Not found');
  });

  it('persists the relay policy', async () => {
    expect((await admin.post('/p2p/relay_policy', { policy: 'full_relay' })).body).toEqual({ status: 'ok', relay_policy: 'full_relay' });
    expect((await admin.get('/p2p/relay_status')).body.relay_policy).toBe('full_relay');
  });
});

describe('authentication and permissions', () => {
  const routes: Array<[string, string, string]> = [
    ['GET', '/p2p/peers', 'view_peers'],
    ['GET', '/p2p/invite', 'view_peers'],
    ['GET', '/p2p/relay_status', 'view_peers'],
    ['POST', '/p2p/invite/import', 'manage_peers'],
    ['POST', '/p2p/reconnect', 'manage_peers'],
    ['POST', '/p2p/relay_policy', 'manage_peers'],
    ['POST', '/p2p/send', 'write_messages'],
    ['GET', '/channels', 'read_messages'],
    ['GET', '/channels/general/messages', 'read_messages'],
    ['GET', '/messages', 'read_messages'],
    ['GET', '/keys', 'manage_keys'],
    ['POST', '/keys', 'manage_keys'],
    ['GET', '/device/profile', 'view_peers'],
    ['POST', '/device/profile', 'manage_peers'],
  ];

  it.each(routes)('%s %s without a key → 401', async (method, path) => {
    const result = method === 'GET' ? await anonymous.get(path) : await anonymous.post(path, {});
    expect(result.status).toBe(401);
    expect(result.body.error).toBe('API key required');
  });

  it.each(routes)('%s %s with a key lacking %s → 403', async (method, path, permission) => {
    const others = ['read_messages', 'write_messages', 'view_peers', 'manage_peers', 'manage_keys'].filter((p) => p !== permission);
    const limited = apiClient(node.url, await createKey(node.dataDir, others.join(',')));
    const result = method === 'GET' ? await limited.get(path) : await limited.post(path, {});
    expect(result.status).toBe(403);
    expect(result.body).toMatchObject({ error: 'Invalid or insufficient permissions', required_permission: permission });
  });

  it('rejects an unknown key and a revoked key with 403; accepts Authorization: Bearer', async () => {
    const bogus = apiClient(node.url, 'cnp_definitely-not-a-key');
    expect((await bogus.get('/channels')).status).toBe(403);

    const created = await admin.post('/keys', { permissions: ['read_messages'], name: 'temp' });
    expect(created.status).toBe(201);
    expect(created.body.api_key).toMatch(/^cnp_/);
    const bearer = await fetch(`${node.url}/api/v1/channels`, { headers: { Authorization: `Bearer ${created.body.api_key}` } });
    expect(bearer.status).toBe(200);

    const listed = await admin.get('/keys');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.api_key);
    expect(listed.body.keys.some((k: any) => k.id === created.body.id)).toBe(true);
    expect((await admin.delete(`/keys/${created.body.id}`)).body).toEqual({ status: 'revoked', id: created.body.id });
    expect((await apiClient(node.url, created.body.api_key).get('/channels')).status).toBe(403);
    expect((await admin.delete('/keys/0000000000000000')).status).toBe(404);
  });

  it('keeps secrets out of the keys file permissions and the logs', async () => {
    const { statSync, readFileSync, readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const deviceDir = join(node.dataDir, 'devices', readdirSync(join(node.dataDir, 'devices'))[0]!);
    const identityFile = join(deviceDir, 'peer_identity.json');
    expect(statSync(identityFile).mode & 0o777).toBe(0o600);
    const secret = JSON.parse(readFileSync(identityFile, 'utf8')).ed25519_private_key as string;
    const log = readFileSync(join(node.dataDir, 'logs', 'canopy.log'), 'utf8');
    expect(log).not.toContain(secret);
    expect(log).not.toMatch(/cnp_[A-Za-z0-9_-]{20,}/);
  });
});
