// The guide's §4 (invite, import, connected), §6 (broadcast, DM) and §7 (status, peers) flows
// between two real companion processes on loopback, both ways, plus reading what arrived.
// One pair serves every test; each test that needs the link asks for it with connected(), so any
// test runs alone (`-t`) or in any order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, eventually, type ApiClient, type ApiResponse } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

let a: Instance;
let b: Instance;
let apiA: ApiClient;
let apiB: ApiClient;
let peerA: string;
let peerB: string;
let importOnce: Promise<ApiResponse> | undefined;

/** B imports A's invite, once for the whole file; the first import's answer. */
function connected(): Promise<ApiResponse> {
  importOnce ??= apiA.get('/p2p/invite').then((invite) => apiB.post('/p2p/invite/import', { invite_code: invite.body.invite_code }));
  return importOnce;
}

beforeAll(async () => {
  [a, b] = await Promise.all([startInstance(), startInstance()]);
  apiA = apiClient(a.url, await createKey(a.dataDir));
  apiB = apiClient(b.url, await createKey(b.dataDir));
  peerA = (await apiClient(a.url).get('/p2p/status')).body.peer_id;
  peerB = (await apiClient(b.url).get('/p2p/status')).body.peer_id;
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('two instances connect by invite code', () => {
  it('serves status without a key and without secrets', async () => {
    const status = await apiClient(a.url).get('/p2p/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ running: true, connected_peers: expect.any(Number) });
    expect(status.body.peer_id).toMatch(/^[1-9A-HJ-NP-Za-km-z]{16}$/);
    expect(status.body.peer_id).toBe(peerA);
    expect(JSON.stringify(status.body)).not.toMatch(/private|secret/i);
  });

  it('gives an invite code with loopback endpoints and accepts public_host/public_port', async () => {
    const invite = await apiA.get('/p2p/invite');
    expect(invite.status).toBe(200);
    expect(invite.body.invite_code).toMatch(/^canopy:[A-Za-z0-9_-]+$/);
    expect(invite.body.peer_id).toBe(peerA);
    expect(invite.body.endpoints).toEqual([`ws://127.0.0.1:${a.meshPort}`]);

    const withPublic = await apiA.get('/p2p/invite?public_host=198.51.100.1&public_port=7771');
    expect(withPublic.body.endpoints[0]).toBe('ws://198.51.100.1:7771');
    expect((await apiA.get('/p2p/invite?public_host=198.51.100.1&public_port=99999')).status).toBe(400);
  });

  it('imports the invite on B and reports connected with the endpoint used', async () => {
    const imported = await connected();
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({
      peer_id: peerA,
      endpoints: [`ws://127.0.0.1:${a.meshPort}`],
      status: 'connected',
      connected_endpoint: `ws://127.0.0.1:${a.meshPort}`,
    });
  });

  it('lists the peer as connected on both sides', async () => {
    await connected();
    const peersB = await apiB.get('/p2p/peers');
    expect(peersB.body.connected_peers).toEqual([peerA]);
    expect(peersB.body.total_connected).toBe(1);
    expect(peersB.body.connected_peer_details[0]).toMatchObject({ peer_id: peerA, compatible_protocol: true });
    // A learned B from the authenticated handshake: one import is enough for both directions.
    const peersA = await eventually('A to list B', async () => {
      const peers = await apiA.get('/p2p/peers');
      return peers.body.connected_peers.includes(peerB) && peers.body;
    });
    expect(peersA.known_peers[0]).toMatchObject({ peer_id: peerB, connected: true });
    expect((await apiClient(a.url).get('/p2p/status')).body.connected_peers).toBe(1);
  });

  it('a second import of the same peer updates it', async () => {
    await connected();
    const code = (await apiA.get('/p2p/invite')).body.invite_code;
    const again = await apiB.post('/p2p/invite/import', { invite_code: code });
    expect(again.body).toMatchObject({ status: 'connected', peer_id: peerA, updated: true });
    expect((await apiB.get('/p2p/peers')).body.total_known).toBe(1);
  });

  it('delivers a broadcast from B to the general channel on A, and back', async () => {
    await connected();
    const sent = await apiB.post('/p2p/send', { content: 'Hello from Machine B!', broadcast: true });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ success: true, broadcast: true, channel_id: 'general' });

    const onA = await eventually('broadcast on A', async () => {
      const page = await apiA.get('/channels/general/messages');
      return page.body.messages.find((m: any) => m.content === 'Hello from Machine B!');
    });
    expect(onA).toMatchObject({ author_peer_id: peerB, channel_id: 'general', origin: 'remote', id: sent.body.message_id });

    const reply = await apiA.post('/p2p/send', { content: 'Hello back from A', broadcast: true });
    expect(reply.status).toBe(200);
    await eventually('reply on B', async () => {
      const page = await apiB.get('/channels/general/messages');
      return page.body.messages.some((m: any) => m.content === 'Hello back from A' && m.author_peer_id === peerA);
    });
    const ownOnB = await eventually('B to see its broadcast delivered', async () => {
      const page = await apiB.get('/channels/general/messages');
      const own = page.body.messages.find((m: any) => m.id === sent.body.message_id);
      return own?.delivery_state === 'delivered' && own;
    });
    expect(ownOnB.origin).toBe('local');
  });

  it('delivers direct messages both ways, readable only by the two parties', async () => {
    await connected();
    const dm = await apiB.post('/p2p/send', { content: 'Hello peer!', peer_id: peerA });
    expect(dm.status).toBe(200);
    expect(dm.body).toMatchObject({ success: true, peer_id: peerA });

    const received = await eventually('DM on A', async () => {
      const page = await apiA.get(`/messages?peer_id=${peerB}`);
      return page.body.messages.find((m: any) => m.content === 'Hello peer!');
    });
    expect(received).toMatchObject({ sender_id: peerB, recipient_id: peerA, direction: 'incoming' });

    await apiA.post('/p2p/send', { content: 'Hi B, got it', peer_id: peerB });
    await eventually('DM reply on B', async () => {
      const page = await apiB.get('/messages');
      return page.body.messages.some((m: any) => m.content === 'Hi B, got it' && m.direction === 'incoming');
    });
    const outgoing = await eventually('B to see its DM delivered', async () => {
      const page = await apiB.get(`/messages?peer_id=${peerA}`);
      const own = page.body.messages.find((m: any) => m.id === dm.body.message_id);
      return own?.delivery_state === 'delivered' && own;
    });
    expect(outgoing.direction).toBe('outgoing');
    // DMs never appear in channel listings.
    const channels = await apiA.get('/channels');
    expect(channels.body.channels.map((c: any) => c.id)).toEqual(['general']);
  });

  it('pages through channel history with cursors', async () => {
    for (let i = 0; i < 7; i++) await apiA.post('/p2p/send', { content: `page ${i}`, broadcast: true });
    const first = await apiA.get('/channels/general/messages?limit=3');
    expect(first.body.messages).toHaveLength(3);
    expect(first.body.messages.map((m: any) => m.content)).toEqual(['page 6', 'page 5', 'page 4']);
    expect(first.body.has_more).toBe(true);
    const second = await apiA.get(`/channels/general/messages?limit=3&before=${first.body.next_before}`);
    expect(second.body.messages.map((m: any) => m.content)).toEqual(['page 3', 'page 2', 'page 1']);
    const forward = await apiA.get(`/channels/general/messages?limit=2&after=${second.body.messages[0].cursor}`);
    expect(forward.body.messages.map((m: any) => m.content)).toEqual(['page 4', 'page 5']);
  });

  it('shows full diagnostics in /info only with a key', async () => {
    await apiA.post('/p2p/send', { content: 'something to count', broadcast: true });
    expect((await apiClient(a.url).get('/info')).body).toEqual({ version: '0.1.0' });
    const info = await apiA.get('/info');
    expect(info.body).toMatchObject({ version: '0.1.0', p2p_network: { peer_id: peerA } });
    expect(info.body.database_stats.events).toBeGreaterThan(0);
  });
});
