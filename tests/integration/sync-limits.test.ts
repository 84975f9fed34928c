// Bounded, fault-tolerant sync (issue 6: attacks 1, 3, 5, 10, 11): real companions on loopback,
// and trusted raw peers that send what no honest node would.
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../protocol/canonical.ts';
import { MAX_SYNC_CHANNELS, type RejectedEvent } from '../../protocol/frames.ts';
import type { VersionVector } from '../../protocol/mesh/vectors.ts';
import { utf8 } from '../../protocol/bytes.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance, type StartOptions } from '../helpers/instance.ts';
import { rawPost, rssMiB, trustedRawSession, type RawSession } from '../helpers/raw-session.ts';

// Real processes on two shared cores: starts, restarts and catch-ups take their time.
const SLOW = 180_000;
const running: Instance[] = [];
const sessions: RawSession[] = [];

async function start(options: StartOptions = {}): Promise<Instance> {
  const instance = await startInstance(options);
  running.push(instance);
  return instance;
}

/** An instance stopped by the test itself: afterEach has nothing left to stop. */
function forget(instance: Instance): void {
  const index = running.indexOf(instance);
  if (index >= 0) running.splice(index, 1);
}

afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  await Promise.all(running.splice(0).map((instance) => instance.stop()));
});

interface Node {
  instance: Instance;
  api: ApiClient;
  key: string;
  peerId: string;
}

async function node(options: StartOptions = {}): Promise<Node> {
  const instance = await start(options);
  const key = await createKey(instance.dataDir);
  const api = apiClient(instance.url, key);
  const peerId = (await api.get('/p2p/status')).body.peer_id as string;
  return { instance, api, key, peerId };
}

/** A and B linked by B importing A's invite. */
async function linkedPair(): Promise<[Node, Node]> {
  const [a, b] = await Promise.all([node(), node()]);
  const imported = await b.api.post('/p2p/invite/import', { invite_code: (await a.api.get('/p2p/invite')).body.invite_code });
  expect(imported.body.status).toBe('connected');
  await connected(a, b);
  return [a, b];
}

const connected = (from: Node, to: Node) =>
  eventually(`${from.peerId} linked to ${to.peerId}`, async () => (await from.api.get('/p2p/peers')).body.connected_peers.includes(to.peerId), 30_000);

/** Stops (or kills) and starts again on the same port and data. */
async function restart(n: Node, how: 'stop' | 'kill' = 'stop'): Promise<Node> {
  if (how === 'kill') await n.instance.kill();
  else await n.instance.stop({ keepData: true });
  forget(n.instance);
  const instance = await start({ dataDir: n.instance.dataDir, port: n.instance.port });
  return { ...n, instance, api: apiClient(instance.url, n.key) };
}

async function rawPeer(victim: Node): Promise<RawSession> {
  const session = await trustedRawSession(victim.instance, victim.api);
  sessions.push(session);
  // The victim's vector (its last page) says the link is up and trusted.
  await session.waitFor((f) => f.t === 'sync' && !f.more);
  return session;
}

const channelPosts = async (n: Node, channel = 'general') =>
  ((await n.api.get(`/channels/${channel}/messages?limit=500`)).body.messages ?? []) as Array<{ id: string; content: string }>;

const arrives = (n: Node, content: string, timeoutMs = 30_000) =>
  eventually(`"${content.slice(0, 40)}" on ${n.peerId}`, async () => (await channelPosts(n)).some((m) => m.content === content), timeoutMs);

describe('one peer cannot partition the mesh with channels (attack 1)', () => {
  it('caps the channels a peer introduces, reports the rest in acks, and A–B keep syncing, also after B restarts', async () => {
    const [a, b] = await linkedPair();
    const raw = await rawPeer(b);

    const flood = Array.from({ length: 4100 }, (_, i) => rawPost(raw.identity, `flood-${i}`, 1, 'one of many'));
    let acked = 0;
    const rejected: RejectedEvent[] = [];
    for (let i = 0; i < flood.length; i += 500) {
      raw.send({ t: 'events', events: flood.slice(i, i + 500) });
      const ack = await raw.waitFor((f) => f.t === 'ack');
      if (ack.t !== 'ack') throw new Error('unreachable');
      acked += ack.ids.length;
      rejected.push(...(ack.rejected ?? []));
    }
    expect(acked).toBe(32);
    expect(rejected).toHaveLength(4100 - 32);
    expect(rejected[0]!.reason).toMatch(/new channels from one peer are limited to 32 a day/);
    expect(raw.isOpen()).toBe(true);
    expect((await b.api.get('/channels')).body.channels.length).toBeLessThanOrEqual(33);

    // B restarts: its vector reaches A (in pages if it must) and the link holds both ways.
    const b2 = await restart(b);
    await connected(a, b2);
    await b2.api.post('/p2p/send', { content: 'B after restart', broadcast: true });
    await a.api.post('/p2p/send', { content: 'A after B restarted', broadcast: true });
    await arrives(a, 'B after restart');
    await arrives(b2, 'A after B restarted');
    expect(a.instance.output()).not.toMatch(/at most 4096 channels|protocol violation/);
  }, SLOW);

  it('answers a sync page over the limits with an error frame, and a paged vector with a catch-up, keeping the link', async () => {
    const v = await node();
    const raw = await rawPeer(v);
    const vector = (count: number, prefix: string): VersionVector =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}-${i}`, { [raw.identity.peerId]: 1 }]));

    raw.send({ t: 'sync', vectors: vector(MAX_SYNC_CHANNELS + 1, 'too-many'), more: true });
    const error = await raw.waitFor((f) => f.t === 'error');
    expect(error).toMatchObject({ t: 'error', about: 'sync', reason: expect.stringMatching(/at most 4096 channels/) });
    // 5,000 channels in two pages: more than one frame may carry, so more than any one page.
    raw.send({ t: 'sync', vectors: vector(2500, 'a'), more: true });
    raw.send({ t: 'sync', vectors: vector(2500, 'b') });
    await raw.waitFor((f) => f.t === 'sync_done');

    await v.api.post('/p2p/send', { content: 'still linked', broadcast: true });
    const pushed = await raw.waitFor((f) => f.t === 'events' && f.events.some((e) => (e.signed.event.body as { content?: string }).content === 'still linked'));
    expect(pushed.t).toBe('events');
    expect(raw.isOpen()).toBe(true);
  }, SLOW);
});

describe('sync frames cannot exhaust memory (attack 3)', () => {
  it('a flood of sync frames from a peer that never reads keeps RSS bounded, and honest messages still arrive', async () => {
    const [a, v] = await linkedPair();
    const raw = await rawPeer(v);
    // 400 posts of ~4 KB: each catch-up of them is ~1.6 MB, its first batch ~800 KB.
    const posts = Array.from({ length: 400 }, (_, i) => rawPost(raw.identity, 'general', i + 1, `${i} ${'p'.repeat(4000)}`));
    for (let i = 0; i < posts.length; i += 100) {
      raw.send({ t: 'events', events: posts.slice(i, i + 100) });
      await raw.waitFor((f) => f.t === 'ack');
    }
    const before = await rssMiB(v.instance.pid);

    raw.stopReading();
    for (let i = 0; i < 600; i++) raw.send({ t: 'sync', vectors: {} });
    let peak = before;
    const watch = setInterval(() => void rssMiB(v.instance.pid).then((rss) => (peak = Math.max(peak, rss)), () => {}), 100);
    try {
      await a.api.post('/p2p/send', { content: 'honest during the flood', broadcast: true });
      await arrives(v, 'honest during the flood');
      await v.api.post('/p2p/send', { content: 'victim still talks', broadcast: true });
      await arrives(a, 'victim still talks');
      // Give the flood time to do its worst: every sync frame has been read by now or soon after.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      peak = Math.max(peak, await rssMiB(v.instance.pid));
    } finally {
      clearInterval(watch);
    }
    // Unbounded, each sync frame would buffer its own first batch (600 x ~800 KB).
    expect(peak - before).toBeLessThan(120);
  }, SLOW);
});

describe('catch-up survives big posts (fault 5)', () => {
  it('20 posts of 60,000 characters reach a peer that was offline', async () => {
    const [a, b] = await linkedPair();
    await b.instance.stop({ keepData: true });
    forget(b.instance);
    await eventually('A to notice B is gone', async () => (await a.api.get('/p2p/peers')).body.total_connected === 0);
    for (let i = 0; i < 20; i++) {
      const sent = await a.api.post('/p2p/send', { content: `${i}:${'y'.repeat(60_000 - 4)}`, broadcast: true });
      expect(sent.status).toBe(200);
    }
    const b2 = await restart({ ...b, instance: b.instance });
    await eventually('all 20 big posts on B', async () => (await channelPosts(b2)).filter((m) => m.content.length >= 60_000 - 2).length === 20, 60_000);
  }, SLOW);
});

describe('delivery state survives a sender crash before the ack (fault 10)', () => {
  it('a DM the peer holds ends "delivered" after kill -9 of the sender and restarts of both', async () => {
    const [a, b] = await linkedPair();
    // B is frozen, so it cannot ack; A's DM waits in B's socket and A records it "sent".
    process.kill(b.instance.pid, 'SIGSTOP');
    let dm;
    try {
      dm = await a.api.post('/p2p/send', { content: 'ack me if you can', peer_id: b.peerId });
      expect(dm.body.status).toBe('sent');
      await a.instance.kill();
      forget(a.instance);
    } finally {
      process.kill(b.instance.pid, 'SIGCONT');
    }
    await eventually('B holds the DM', async () =>
      ((await b.api.get(`/messages?peer_id=${a.peerId}`)).body.messages as Array<{ content: string }>).some((m) => m.content === 'ack me if you can'),
    );
    const b2 = await restart(b);
    const a2 = await restart({ ...a, instance: a.instance }, 'stop');
    await connected(a2, b2);
    await eventually('the DM is delivered', async () => {
      const page = await a2.api.get(`/messages?peer_id=${b.peerId}`);
      return (page.body.messages as Array<{ id: string; delivery_state: string }>).find((m) => m.id === dm.body.message_id)?.delivery_state === 'delivered';
    });
  }, SLOW);
});

describe('nested metadata (attack 9, fault 11)', () => {
  /** JSON text of a send request whose metadata nests `depth` containers deep. */
  const deepSend = (depth: number) => `{"content":"deep","broadcast":true,"metadata":${'{"k":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}}`;

  it('refuses metadata nested too deep with 400 on send, at any depth, and accepts 32', async () => {
    const v = await node();
    for (const depth of [33, 1_900, 20_000]) {
      const result = await v.api.postRaw('/p2p/send', deepSend(depth));
      expect(result.status).toBe(400);
      expect(result.body.error).toMatch(/metadata must be nested at most 32 levels deep/);
    }
    expect((await v.api.postRaw('/p2p/send', deepSend(32))).status).toBe(200);
  }, SLOW);

  it('rejects a hand-crafted deep event alone, reports it in the ack, and keeps the link', async () => {
    const [a, v] = await linkedPair();
    const raw = await rawPeer(v);
    const good = rawPost(raw.identity, 'general', 1, 'good neighbour');
    // A deep event cannot even be signed (canonical JSON refuses it): it is sent as raw JSON text.
    const deep = JSON.stringify(rawPost(raw.identity, 'general', 2, 'deep')).replace(
      '"content":"deep"',
      `"content":"deep","metadata":${'{"k":'.repeat(1_900)}{}${'}'.repeat(1_900)}`,
    );
    raw.sendRaw(utf8(`{"t":"events","events":[${deep},${JSON.stringify(good)}]}`));
    const ack = await raw.waitFor((f) => f.t === 'ack');
    if (ack.t !== 'ack') throw new Error('unreachable');
    expect(ack.rejected).toEqual([{ index: 0, reason: expect.stringMatching(/metadata must be nested at most 32 levels deep/) }]);
    expect(ack.ids).toHaveLength(1);

    // The link stays up: later posts arrive, and the good one travelled on to A.
    raw.send({ t: 'events', events: [rawPost(raw.identity, 'general', 2, 'later post')] });
    await arrives(v, 'later post');
    await arrives(a, 'good neighbour');
    expect(raw.isOpen()).toBe(true);
    expect(() => canonicalJson(JSON.parse(deep))).toThrow(TypeError);
  }, SLOW);
});
