// Peer management (issue 7 deliverable 5, upstream §7.2): disconnect keeps a peer down until the
// user reconnects it, forget drops it (no redial, a stranger after a restart, nothing left waiting
// for it), and /p2p/activity reports connection events, bounded under a flood of strangers.
// Real companion processes on loopback.
import { afterAll, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { ACTIVITY_LIMITS } from '../../companion/mesh/activity.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { rawHandshake } from '../helpers/raw-peer.ts';

interface Node {
  instance: Instance;
  api: ApiClient;
  peerId: string;
}

const nodes: Node[] = [];

async function startNode(options: { dataDir?: string; port?: number } = {}): Promise<Node> {
  const instance = await startInstance(options);
  const api = apiClient(instance.url, await createKey(instance.dataDir));
  const peerId = (await api.get('/p2p/status')).body.peer_id as string;
  const node = { instance, api, peerId };
  nodes.push(node);
  return node;
}

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.instance.stop()));
});

/** `dialler` imports `host`'s invite: a mutual, trusted link. */
async function link(dialler: Node, host: Node): Promise<void> {
  const invite = (await host.api.get('/p2p/invite')).body.invite_code;
  const imported = await dialler.api.post('/p2p/invite/import', { invite_code: invite });
  expect(imported.body.status).toBe('connected');
  await eventually('link on both sides', async () => (await host.api.get('/p2p/peers')).body.connected_peers.includes(dialler.peerId));
}

const connectedTo = async (node: Node, peerId: string) => (await node.api.get('/p2p/peers')).body.connected_peers.includes(peerId) as boolean;

/** Events of `peerId` with `status` in node's activity log. */
async function events(node: Node, peerId: string, status: string): Promise<any[]> {
  const body = (await node.api.get('/p2p/activity?limit=500')).body;
  return body.events.filter((event: any) => event.peer_id === peerId && event.status === status);
}

describe('disconnect', () => {
  it('closes the link; the peer stays down, also when it redials, until an explicit reconnect', async () => {
    const a = await startNode();
    const b = await startNode();
    await link(b, a);
    const refusedBefore = (await events(b, a.peerId, 'refused')).length;

    const answer = await b.api.post('/p2p/disconnect', { peer_id: a.peerId });
    expect(answer).toEqual({ status: 200, body: { status: 'disconnected', peer_id: a.peerId } });
    await eventually('A sees the link down', async () => !(await connectedTo(a, b.peerId)));
    // A's reconnector dials B again; B turns it away (an outcome, not a wait).
    await eventually('A redials and is refused', async () => (await events(b, a.peerId, 'refused')).length > refusedBefore, 30_000);
    expect(await connectedTo(b, a.peerId)).toBe(false);
    const known = (await b.api.get('/p2p/peers')).body.known_peers.map((peer: any) => peer.peer_id);
    expect(known).toContain(a.peerId);

    expect((await b.api.post('/p2p/disconnect', { peer_id: a.peerId })).body.status).toBe('not_connected');
    expect((await b.api.post('/p2p/reconnect', { peer_id: a.peerId })).body.status).toBe('connected');
    await eventually('link back on both sides', async () => (await connectedTo(a, b.peerId)) && (await connectedTo(b, a.peerId)));
  });
});

describe('forget', () => {
  it('drops the peer: no redial, no longer known, nothing left waiting for it, a request after a restart', async () => {
    const a = await startNode();
    const b = await startNode();
    const c = await startNode();
    await link(b, a);
    await link(b, c);

    // A down (disconnected), then a broadcast: C gets it, A's copy waits.
    await b.api.post('/p2p/disconnect', { peer_id: a.peerId });
    await eventually('A down', async () => !(await connectedTo(b, a.peerId)));
    const sent = await b.api.post('/p2p/send', { content: 'while A is away', broadcast: true });
    expect(sent.status).toBe(200);
    const stateOfPost = async () =>
      (await b.api.get('/channels/general/messages')).body.messages.find((m: any) => m.content === 'while A is away')?.delivery_state;
    await eventually('C got the post; A still owes it', async () => {
      const onC = (await c.api.get('/channels/general/messages')).body.messages.some((m: any) => m.content === 'while A is away');
      return onC && (await stateOfPost()) === 'queued';
    });

    const forgotten = await b.api.post('/p2p/forget', { peer_id: a.peerId });
    expect(forgotten.status).toBe(200);
    expect(forgotten.body).toEqual({
      success: true,
      status: 'forgotten',
      peer_id: a.peerId,
      removed_known_peer: true,
      removed_introductions: 0,
      disconnected: false,
    });
    const peers = (await b.api.get('/p2p/peers')).body;
    expect(peers.known_peers.map((peer: any) => peer.peer_id)).not.toContain(a.peerId);
    await eventually('the broadcast no longer waits on A', async () => (await stateOfPost()) === 'delivered');
    // A redials and is turned away: the link stays down.
    await eventually('A redials and is refused', async () => (await events(b, a.peerId, 'refused')).length > 0, 30_000);
    expect(await connectedTo(b, a.peerId)).toBe(false);
    expect((await b.api.post('/p2p/forget', { peer_id: a.peerId })).body.status).toBe('not_found');

    // After a restart A is a stranger (it never held B's invite): its redial is a pending request.
    await b.instance.stop({ keepData: true });
    const b2 = await startNode({ dataDir: b.instance.dataDir, port: b.instance.port });
    await eventually('A asks as a stranger', async () =>
      (await b2.api.get('/p2p/requests')).body.requests.some((request: any) => request.peer_id === a.peerId), 60_000);
    expect(await connectedTo(b2, a.peerId)).toBe(false);
  }, 120_000);
});

describe('activity', () => {
  it('lists attempts and connections with endpoints and times, pages by since and limit', async () => {
    const a = await startNode();
    const b = await startNode();
    await link(b, a);
    const report = (await b.api.get('/p2p/activity')).body;
    expect(typeof report.server_time).toBe('number');
    const mine = report.events.filter((event: any) => event.peer_id === a.peerId);
    const attempt = mine.find((event: any) => event.status === 'attempt');
    const connected = mine.find((event: any) => event.status === 'connected');
    expect(attempt).toMatchObject({ kind: 'connection', endpoint: `ws://127.0.0.1:${a.instance.meshPort}` });
    expect(connected).toMatchObject({ kind: 'connection', endpoint: `ws://127.0.0.1:${a.instance.meshPort}` });
    expect(connected.timestamp).toBeGreaterThanOrEqual(attempt.timestamp);
    expect(report.peers[a.peerId].connected_at).toBe(connected.timestamp);

    await b.api.post('/p2p/disconnect', { peer_id: a.peerId });
    await eventually('disconnected event', async () => (await events(b, a.peerId, 'disconnected')).length > 0);

    const all = (await b.api.get('/p2p/activity')).body.events;
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect((await b.api.get('/p2p/activity?limit=1')).body.events).toEqual([all.at(-1)]);
    const since = all[0].timestamp;
    const after = (await b.api.get(`/p2p/activity?since=${since}`)).body.events;
    expect(after.every((event: any) => event.timestamp > since)).toBe(true);
    expect((await b.api.get('/p2p/activity?kind=relay')).body.events).toEqual([]);
    expect((await b.api.get('/p2p/activity?limit=0')).status).toBe(400);
    expect((await b.api.get('/p2p/activity?limit=501')).status).toBe(400);
    expect((await b.api.get('/p2p/activity?since=yesterday')).status).toBe(400);
  });

  it('a flood of strangers keeps within its share and does not push out a trusted peer', async () => {
    const a = await startNode();
    const b = await startNode();
    await link(b, a);
    const flood = ACTIVITY_LIMITS.strangers + 30;
    for (let i = 0; i < flood; i++) {
      const stranger = generateIdentity(nodeCrypto);
      const connection = await rawHandshake(`ws://127.0.0.1:${b.instance.meshPort}/p2p`, stranger, { from: `127.0.0.${2 + (i % 8)}` });
      // Wait for the request to be recorded, then go, so the strangers' open-link cap does not hide it.
      await eventually('request recorded', async () => (await events(b, stranger.peerId, 'request')).length > 0 || null);
      connection.ws.close();
    }
    const log = (await b.api.get('/p2p/activity?limit=500')).body.events;
    expect(log.filter((event: any) => event.status === 'request').length).toBeLessThanOrEqual(ACTIVITY_LIMITS.strangers);
    expect(log.some((event: any) => event.peer_id === a.peerId && event.status === 'connected')).toBe(true);
  }, 120_000);
});

describe('permissions', () => {
  it('disconnect and forget need manage_peers, activity view_peers', async () => {
    const a = await startNode();
    const viewer = apiClient(a.instance.url, await createKey(a.instance.dataDir, 'view_peers'));
    const reader = apiClient(a.instance.url, await createKey(a.instance.dataDir, 'read_messages'));
    expect((await viewer.post('/p2p/disconnect', { peer_id: 'x' })).status).toBe(403);
    expect((await viewer.post('/p2p/forget', { peer_id: 'x' })).status).toBe(403);
    expect((await viewer.get('/p2p/activity')).status).toBe(200);
    expect((await reader.get('/p2p/activity')).status).toBe(403);
    expect((await a.api.post('/p2p/forget', {})).status).toBe(400);
  });
});
