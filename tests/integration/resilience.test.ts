// Links come back on their own, and nothing sent while a peer was away is lost or shown twice.
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

const running: Instance[] = [];

async function start(options: Parameters<typeof startInstance>[0] = {}): Promise<Instance> {
  const instance = await startInstance(options);
  running.push(instance);
  return instance;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((instance) => instance.stop()));
});

interface Pair {
  a: Instance;
  b: Instance;
  apiA: ApiClient;
  apiB: ApiClient;
  keyB: string;
  peerA: string;
  peerB: string;
}

async function connectedPair(): Promise<Pair> {
  const [a, b] = await Promise.all([start(), start()]);
  const apiA = apiClient(a.url, await createKey(a.dataDir));
  const keyB = await createKey(b.dataDir);
  const apiB = apiClient(b.url, keyB);
  const invite = await apiA.get('/p2p/invite');
  const imported = await apiB.post('/p2p/invite/import', { invite_code: invite.body.invite_code });
  expect(imported.body.status).toBe('connected');
  const peerB = (await apiB.get('/p2p/peers')).body.known_peers.length && (await apiClient(b.url).get('/p2p/status')).body.peer_id;
  return { a, b, apiA, apiB, keyB, peerA: invite.body.peer_id, peerB };
}

const connectedTo = (api: ApiClient, peerId: string) =>
  eventually(`link to ${peerId}`, async () => (await api.get('/p2p/peers')).body.connected_peers.includes(peerId), 30_000);

async function restart(instance: Instance, how: 'stop' | 'kill'): Promise<Instance> {
  if (how === 'kill') await instance.kill();
  else await instance.stop({ keepData: true });
  running.splice(running.indexOf(instance), 1);
  return start({ dataDir: instance.dataDir, port: instance.port });
}

describe('reconnect and offline delivery', () => {
  it('reconnects on its own after the other instance restarts', async () => {
    const pair = await connectedPair();
    await connectedTo(pair.apiA, pair.peerB);
    const b2 = await restart(pair.b, 'stop');
    const apiB2 = apiClient(b2.url, pair.keyB);
    // B dials its known peers at start; A also retries on its backoff schedule.
    await connectedTo(apiB2, pair.peerA);
    await connectedTo(pair.apiA, pair.peerB);
  });

  it('delivers messages sent while the peer was down, exactly once', async () => {
    const pair = await connectedPair();
    await connectedTo(pair.apiA, pair.peerB);
    await pair.b.stop({ keepData: true });
    running.splice(running.indexOf(pair.b), 1);
    await eventually('A to notice B is gone', async () => (await pair.apiA.get('/p2p/peers')).body.total_connected === 0);

    const dm = await pair.apiA.post('/p2p/send', { content: 'while you were out', peer_id: pair.peerB });
    expect(dm.body.status).toBe('queued');
    const post = await pair.apiA.post('/p2p/send', { content: 'posted while B was down', broadcast: true });
    expect(post.body.delivery[pair.peerB]).toBe('queued');

    const b2 = await start({ dataDir: pair.b.dataDir, port: pair.b.port });
    const apiB2 = apiClient(b2.url, pair.keyB);
    const dms = await eventually('queued DM on B', async () => {
      const page = await apiB2.get(`/messages?peer_id=${pair.peerA}`);
      return page.body.messages.some((m: any) => m.content === 'while you were out') && page.body.messages;
    });
    await eventually('queued broadcast on B', async () =>
      (await apiB2.get('/channels/general/messages')).body.messages.some((m: any) => m.content === 'posted while B was down'),
    );
    await eventually('A to see delivered', async () => {
      const page = await pair.apiA.get(`/messages?peer_id=${pair.peerB}`);
      return page.body.messages.find((m: any) => m.id === dm.body.message_id)?.delivery_state === 'delivered';
    });

    expect(dms.filter((m: any) => m.content === 'while you were out')).toHaveLength(1);

    // A real drop and a new link (kill -9 of A, restarted on its port) re-runs catch-up both ways.
    await pair.a.kill();
    running.splice(running.indexOf(pair.a), 1);
    await eventually('B to notice A is gone', async () => !(await apiB2.get('/p2p/peers')).body.connected_peers.includes(pair.peerA));
    await start({ dataDir: pair.a.dataDir, port: pair.a.port });
    const apiA2 = pair.apiA; // same port, and its key lives in A's database
    await connectedTo(apiA2, pair.peerB);
    await connectedTo(apiB2, pair.peerA);
    // A message sent over the new link arrives after that link's catch-up started: once it is on
    // B, any copy catch-up was going to resend would be there too.
    await apiA2.post('/p2p/send', { content: 'after the reconnect', peer_id: pair.peerB });
    const afterReconnect = await eventually('the new DM on B', async () => {
      const page = await apiB2.get(`/messages?peer_id=${pair.peerA}`);
      return page.body.messages.some((m: any) => m.content === 'after the reconnect') && page.body.messages;
    });
    const count = (messages: any[], content: string) => messages.filter((m) => m.content === content).length;
    expect(count(afterReconnect, 'while you were out')).toBe(1);
    expect(count((await apiB2.get('/channels/general/messages')).body.messages, 'posted while B was down')).toBe(1);
    expect(count((await apiA2.get(`/messages?peer_id=${pair.peerB}`)).body.messages, 'while you were out')).toBe(1);
  });

  it('keeps a queued message across a crash of the sender and delivers it later', async () => {
    const pair = await connectedPair();
    await pair.b.stop({ keepData: true });
    running.splice(running.indexOf(pair.b), 1);
    await eventually('A to notice B is gone', async () => (await pair.apiA.get('/p2p/peers')).body.total_connected === 0);
    const keyA = await createKey(pair.a.dataDir);
    const dm = await pair.apiA.post('/p2p/send', { content: 'survives kill -9', peer_id: pair.peerB });
    expect(dm.body.status).toBe('queued');

    const a2 = await restart(pair.a, 'kill');
    const apiA2 = apiClient(a2.url, keyA);
    const b2 = await start({ dataDir: pair.b.dataDir, port: pair.b.port });
    const apiB2 = apiClient(b2.url, pair.keyB);
    await eventually('DM after sender crash', async () =>
      (await apiB2.get(`/messages?peer_id=${pair.peerA}`)).body.messages.some((m: any) => m.content === 'survives kill -9'),
    30_000);
    await eventually('delivered after crash', async () => {
      const page = await apiA2.get(`/messages?peer_id=${pair.peerB}`);
      return page.body.messages.find((m: any) => m.id === dm.body.message_id)?.delivery_state === 'delivered';
    });
  });

  it('answers POST /p2p/reconnect for connected, unknown and unreachable peers', async () => {
    const pair = await connectedPair();
    const already = await pair.apiB.post('/p2p/reconnect', { peer_id: pair.peerA });
    expect(already.body).toMatchObject({ status: 'connected', peer_id: pair.peerA, message: 'Already connected' });
    expect((await pair.apiB.post('/p2p/reconnect', { peer_id: '1111111111111111' })).status).toBe(404);
    expect((await pair.apiB.post('/p2p/reconnect', {})).body).toEqual({ error: 'peer_id required' });

    await pair.a.stop();
    running.splice(running.indexOf(pair.a), 1);
    await eventually('B to notice A is gone', async () => (await pair.apiB.get('/p2p/peers')).body.total_connected === 0);
    const failed = await pair.apiB.post('/p2p/reconnect', { peer_id: pair.peerA });
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({ status: 'failed', message: 'Could not reconnect to any endpoint' });
  });
});
