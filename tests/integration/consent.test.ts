// Consent (DESIGN §3a, issue 6 attacks 4 and 8): a stranger that completes a handshake gets a
// pending request and nothing else, until the user accepts it; invite holders, accepted and invited
// peers are trusted. Real companion processes and raw mesh clients on loopback.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { b58decode, b58encode, fromUtf8 } from '../../protocol/bytes.ts';
import { signEvent, type PostBody, type SignedEvent } from '../../protocol/events.ts';
import { encodeFrame, type Frame } from '../../protocol/frames.ts';
import { generateIdentity, type Identity } from '../../protocol/identity.ts';
import { decodeInvite, encodeInvite } from '../../protocol/invite.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { connectApp, setUpAccount } from '../helpers/app-client.ts';
import { rawHandshake, type RawHandshakeOptions } from '../helpers/raw-peer.ts';

interface Node {
  instance: Instance;
  api: ApiClient;
  peerId: string;
  meshUrl: string;
}

const nodes: Node[] = [];

async function startNode(dataDir?: string): Promise<Node> {
  const instance = await startInstance(dataDir ? { dataDir } : {});
  const api = apiClient(instance.url, await createKey(instance.dataDir));
  const peerId = (await api.get('/p2p/status')).body.peer_id as string;
  const node = { instance, api, peerId, meshUrl: `ws://127.0.0.1:${instance.meshPort}/p2p` };
  nodes.push(node);
  return node;
}

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.instance.stop()));
});

/** A raw mesh client that records every frame the instance sends it and answers its pings. */
async function rawLink(host: Node, identity: Identity, options: RawHandshakeOptions = {}) {
  const connection = await rawHandshake(host.meshUrl, identity, options);
  const received: Frame[] = [];
  const send = (frame: Frame) => connection.ws.send(connection.transport.seal(encodeFrame(frame)));
  void (async () => {
    for (;;) {
      const frame = JSON.parse(fromUtf8(connection.transport.open(await connection.next()))) as Frame;
      received.push(frame);
      if (frame.t === 'ping') send({ t: 'pong', n: frame.n });
    }
  })().catch(() => {});
  let pings = 1000;
  return {
    connection,
    received,
    send,
    /** Every frame the instance sent before it answered this ping has arrived. */
    async roundTrip(): Promise<void> {
      const n = ++pings;
      send({ t: 'ping', n });
      await eventually('pong', async () => received.some((f) => f.t === 'pong' && f.n === n));
    },
    /** What the instance sent besides keepalives. */
    content: () => received.filter((f) => f.t !== 'ping' && f.t !== 'pong'),
    posts: () =>
      received.flatMap((f) => (f.t === 'events' ? f.events : [])).map((e) => (e as SignedEvent).event.body as PostBody),
    close: () => connection.ws.close(),
  };
}

function post(author: Identity, seq: number, content: string): SignedEvent {
  return signEvent(nodeCrypto, author, {
    v: 1,
    author: author.peerId,
    author_key: b58encode(author.ed25519.publicKey),
    channel: 'general',
    seq,
    kind: 'post',
    ts: Date.now(),
    body: { content },
  });
}

/** An invite code for a raw identity (no endpoints: it dials in). */
function rawInvite(identity: Identity, extra: { binding?: boolean } = {}): string {
  return encodeInvite({
    peerId: identity.peerId,
    ed25519PublicKey: identity.ed25519.publicKey,
    x25519PublicKey: identity.x25519.publicKey,
    endpoints: [],
    ...(extra.binding ? { binding: identity.binding } : {}),
  });
}

const requestIds = async (node: Node): Promise<string[]> =>
  (await node.api.get('/p2p/requests')).body.requests.map((r: { peer_id: string }) => r.peer_id);
const knownPeer = async (node: Node, peerId: string) =>
  (await node.api.get('/p2p/peers')).body.known_peers.find((p: { peer_id: string }) => p.peer_id === peerId);
const generalContents = async (node: Node): Promise<string[]> =>
  (await node.api.get('/channels/general/messages?limit=200')).body.messages.map((m: { content: string }) => m.content);

async function broadcast(node: Node, content: string): Promise<string> {
  const sent = await node.api.post('/p2p/send', { content, broadcast: true });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  return sent.body.message_id as string;
}

/** Counts TCP connections: where a stranger's advertised endpoint points. */
async function connectionCounter(): Promise<{ endpoint: string; count: () => number; server: Server }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { endpoint: `ws://127.0.0.1:${port}`, count: () => count, server };
}

let a: Node;
let b: Node;

beforeAll(async () => {
  [a, b] = await Promise.all([startNode(), startNode()]);
  // B holds A's invite (with its secret): both sides trust each other after one import.
  const code = (await a.api.get('/p2p/invite')).body.invite_code;
  const imported = await b.api.post('/p2p/invite/import', { invite_code: code });
  expect(imported.body).toMatchObject({ status: 'connected' });
  expect(imported.body.awaiting_acceptance).toBeUndefined();
});

describe('trust by invite', () => {
  it('an invite carries a secret and the binding signature; the holder is trusted on both sides', async () => {
    const invite = decodeInvite(nodeCrypto, (await a.api.get('/p2p/invite')).body.invite_code);
    expect(invite.inviteSecret).toHaveLength(32);
    expect(invite.binding).toHaveLength(64);
    await eventually('A to list B as an invite holder', async () => (await knownPeer(a, b.peerId))?.trust === 'invite_holder');
    expect((await knownPeer(b, a.peerId))?.trust).toBe('invited');
    expect(await requestIds(a)).toEqual([]);
    const status = (await a.api.get('/p2p/status')).body;
    expect(status).toMatchObject({ pending_requests: 0 });
  });
});

describe('a stranger', () => {
  it('gets a pending request and nothing else', async () => {
    const counter = await connectionCounter();
    const stranger = generateIdentity(nodeCrypto);
    await broadcast(a, 'history before the stranger');
    const link = await rawLink(a, stranger, { endpoints: [counter.endpoint] });

    const requests = await eventually('the request', async () => {
      const list = (await a.api.get('/p2p/requests')).body.requests as Array<Record<string, unknown>>;
      return list.length === 1 && list;
    });
    expect(requests[0]).toMatchObject({ peer_id: stranger.peerId, display_name: null });
    expect(String(requests[0]!.endpoint)).toMatch(/127\.0\.0\.1/);
    expect(Date.parse(String(requests[0]!.requested_at))).not.toBeNaN();
    expect((await a.api.get('/p2p/status')).body.pending_requests).toBe(1);
    expect((await a.api.get('/p2p/peers')).body).toMatchObject({ pending_requests: 1 });
    expect(await knownPeer(a, stranger.peerId)).toBeUndefined();

    // Broadcasts do not wait for it: the one trusted recipient (B) acknowledges, and that is all.
    const id = await broadcast(a, 'for trusted peers only');
    await eventually('the broadcast to be delivered', async () => {
      const messages = (await a.api.get('/channels/general/messages?limit=50')).body.messages as Array<{ id: string; delivery_state: string }>;
      return messages.find((m) => m.id === id)?.delivery_state === 'delivered';
    });

    // A raw peer holding A's invite, to see what a trusted link gets meanwhile.
    const trusted = await rawLink(a, generateIdentity(nodeCrypto), { inviteCode: (await a.api.get('/p2p/invite')).body.invite_code });

    // No history: its sync request is ignored (and it was sent no sync of A's).
    link.send({ t: 'sync', vectors: {} });
    await link.roundTrip();
    // No live posts: the trusted raw peer receives the broadcast, the stranger does not.
    await broadcast(a, 'live post the stranger must not see');
    await eventually('the trusted peer to get the post', async () => trusted.posts().some((p) => p.content === 'live post the stranger must not see'));
    await link.roundTrip();
    expect(link.content()).toEqual([]);

    // Its posts are neither stored nor forwarded.
    link.send({ t: 'events', events: [post(stranger, 1, 'stranger spam')] });
    await link.roundTrip();
    await trusted.roundTrip();
    expect(await generalContents(a)).not.toContain('stranger spam');
    expect(trusted.posts().map((p) => p.content)).not.toContain('stranger spam');

    // Never dialled, never a peer: not even after a restart, whose start dials every known peer.
    expect((await a.api.post('/p2p/reconnect', { peer_id: stranger.peerId })).status).toBe(404);
    link.close();
    trusted.close();
    await a.instance.stop({ keepData: true });
    const restarted = await startInstance({ dataDir: a.instance.dataDir, port: a.instance.port });
    nodes.push({ ...a, instance: restarted });
    a = { ...a, instance: restarted };
    await eventually('A and B to link again', async () => (await knownPeer(a, b.peerId))?.connected === true);
    expect(await knownPeer(a, stranger.peerId)).toBeUndefined();
    expect(await requestIds(a)).toEqual([stranger.peerId]);
    expect(counter.count()).toBe(0);
    counter.server.close();
  });

  it('accepted: it is trusted and syncs', async () => {
    const stranger = generateIdentity(nodeCrypto);
    const pending = await rawLink(a, stranger);
    await eventually('the request', async () => (await requestIds(a)).includes(stranger.peerId));

    const accepted = await a.api.post(`/p2p/requests/${stranger.peerId}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'accepted', peer_id: stranger.peerId });
    expect((await pending.connection.closed).code).toBe(1001); // dial again: the next link is trusted
    expect(await requestIds(a)).not.toContain(stranger.peerId);
    expect((await knownPeer(a, stranger.peerId))?.trust).toBe('accepted');

    const link = await rawLink(a, stranger);
    link.send({ t: 'sync', vectors: {} });
    await eventually('its catch-up', async () => link.received.some((f) => f.t === 'sync_done'));
    expect(link.posts().map((p) => p.content)).toContain('history before the stranger');
    link.send({ t: 'events', events: [post(stranger, 1, 'accepted peer says hi')] });
    await eventually('its post to be stored', async () => (await generalContents(a)).includes('accepted peer says hi'));
    link.close();
  });

  it('declined: its link is closed and its redials are refused without a new request', async () => {
    const stranger = generateIdentity(nodeCrypto);
    const pending = await rawLink(a, stranger);
    await eventually('the request', async () => (await requestIds(a)).includes(stranger.peerId));
    expect((await a.api.post(`/p2p/requests/${stranger.peerId}/decline`)).body).toEqual({ status: 'declined', peer_id: stranger.peerId });
    expect((await pending.connection.closed).code).toBe(4007);

    const again = await rawLink(a, stranger);
    expect(await again.connection.closed).toEqual({ code: 4007, reason: 'request declined' });
    expect(await requestIds(a)).not.toContain(stranger.peerId);
    expect(await knownPeer(a, stranger.peerId)).toBeUndefined();
  });

  it('accept and decline answer 404 for a peer without a request, and need manage_peers', async () => {
    const nobody = generateIdentity(nodeCrypto).peerId;
    for (const action of ['accept', 'decline']) {
      const response = await a.api.post(`/p2p/requests/${nobody}/${action}`);
      expect(response.status).toBe(404);
      expect(response.body).toMatchObject({ error: 'No pending request from this peer' });
    }
    const viewer = apiClient(a.instance.url, await createKey(a.instance.dataDir, 'view_peers'));
    expect((await viewer.get('/p2p/requests')).status).toBe(200);
    expect((await viewer.post(`/p2p/requests/${nobody}/accept`)).status).toBe(403);
    expect((await viewer.post('/p2p/invite/regenerate')).status).toBe(403);
  });

  it('importing the invite of a pending request accepts it', async () => {
    const stranger = generateIdentity(nodeCrypto);
    const pending = await rawLink(a, stranger);
    await eventually('the request', async () => (await requestIds(a)).includes(stranger.peerId));
    const imported = await a.api.post('/p2p/invite/import', { invite_code: rawInvite(stranger, { binding: true }) });
    expect(imported.status).toBe(200);
    await pending.connection.closed;
    expect(await requestIds(a)).not.toContain(stranger.peerId);
    expect((await knownPeer(a, stranger.peerId))?.trust).toBe('invited');
    const link = await rawLink(a, stranger);
    await eventually('a trusted link (A sends its sync vector)', async () => link.received.some((f) => f.t === 'sync'));
    link.close();
  });

  it('pending requests are capped in total', async () => {
    // The cap is 100; fill past it with fresh identities (each closes right away).
    for (let i = 0; i < 105; i++) {
      const link = await rawHandshake(a.meshUrl, generateIdentity(nodeCrypto));
      link.ws.close();
    }
    await eventually('the cap to hold', async () => (await a.api.get('/p2p/status')).body.pending_requests === 100);
    expect((await requestIds(a)).length).toBe(100);
  });
});

describe('strangers held open', () => {
  it('at most 32 strangers keep a link open; the next is closed, its request still recorded', async () => {
    const host = await startNode();
    const held = [];
    for (let i = 0; i < 32; i++) held.push(await rawLink(host, generateIdentity(nodeCrypto)));
    await eventually('32 requests', async () => (await requestIds(host)).length === 32);
    const extra = generateIdentity(nodeCrypto);
    const refused = await rawHandshake(host.meshUrl, extra);
    expect(await refused.closed).toEqual({ code: 4007, reason: 'too many pending requests; ask again later' });
    expect(await requestIds(host)).toContain(extra.peerId);
    // The held ones are still open (they answer a round trip).
    await held[0]!.roundTrip();
    for (const link of held) link.close();
  });
});

describe('regenerating the invite', () => {
  it('revokes the old secret: a holder of the old code becomes a request', async () => {
    const oldCode = (await a.api.get('/p2p/invite')).body.invite_code;
    const regenerated = await a.api.post('/p2p/invite/regenerate');
    expect(regenerated.status).toBe(200);
    const newCode = regenerated.body.invite_code as string;
    expect(decodeInvite(nodeCrypto, newCode).inviteSecret).not.toEqual(decodeInvite(nodeCrypto, oldCode).inviteSecret);
    expect((await a.api.get('/p2p/invite')).body.invite_code).toBe(newCode);

    const late = generateIdentity(nodeCrypto);
    const stale = await rawLink(a, late, { inviteCode: oldCode });
    await eventually('a request from the old code', async () => (await requestIds(a)).includes(late.peerId));
    await stale.roundTrip();
    expect(stale.content()).toEqual([]);
    stale.close();

    const holder = generateIdentity(nodeCrypto);
    const fresh = await rawLink(a, holder, { inviteCode: newCode });
    await eventually('a trusted link', async () => fresh.received.some((f) => f.t === 'sync'));
    expect((await knownPeer(a, holder.peerId))?.trust).toBe('invite_holder');
    fresh.close();
  });
});

describe('a leaked invite', () => {
  it('admits at most 100 new peers; later holders become requests until the invite is regenerated', async () => {
    const host = await startNode();
    const code = (await host.api.get('/p2p/invite')).body.invite_code;
    for (let i = 0; i < 100; i++) {
      const link = await rawHandshake(host.meshUrl, generateIdentity(nodeCrypto), { inviteCode: code });
      link.ws.close();
    }
    await eventually('100 invite holders', async () => (await host.api.get('/p2p/peers')).body.known_peers.length === 100);

    const late = generateIdentity(nodeCrypto);
    const refused = await rawLink(host, late, { inviteCode: code });
    await eventually('a request from the 101st holder', async () => (await requestIds(host)).includes(late.peerId));
    await refused.roundTrip();
    expect(refused.content()).toEqual([]);
    expect(await knownPeer(host, late.peerId)).toBeUndefined();
    refused.close();

    const newCode = (await host.api.post('/p2p/invite/regenerate')).body.invite_code as string;
    const next = generateIdentity(nodeCrypto);
    const admitted = await rawLink(host, next, { inviteCode: newCode });
    await eventually('a trusted link under the new code', async () => admitted.received.some((f) => f.t === 'sync'));
    expect((await knownPeer(host, next.peerId))?.trust).toBe('invite_holder');
    admitted.close();
  });
});

describe('invites in the original format and forged invites', () => {
  it('an original-format invite connects, as a request on the other side until accepted', async () => {
    const c = await startNode();
    const raw = (await c.api.get('/p2p/invite')).body.raw;
    const original = encodeInvite({
      peerId: raw.pid,
      ed25519PublicKey: b58decode(raw.epk),
      x25519PublicKey: b58decode(raw.xpk),
      endpoints: raw.ep,
    });
    expect(decodeInvite(nodeCrypto, original).inviteSecret).toBeUndefined();

    const imported = await b.api.post('/p2p/invite/import', { invite_code: original });
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ status: 'connected', awaiting_acceptance: true });
    expect(imported.body.message).toMatch(/must accept your request in their Connect page/);
    await eventually('the request on C', async () => (await requestIds(c)).includes(b.peerId));
    expect(await knownPeer(c, b.peerId)).toBeUndefined();

    expect((await c.api.post(`/p2p/requests/${b.peerId}/accept`)).status).toBe(200);
    expect((await knownPeer(c, b.peerId))?.trust).toBe('accepted');
    await broadcast(b, 'from B once C accepted');
    await eventually('the post to reach C', async () => (await generalContents(c)).includes('from B once C accepted'), 30_000);
  });

  it('a forged invite cannot replace a key proven in a handshake (409); DMs keep going to the real key', async () => {
    await eventually('A to have proven B', async () => (await knownPeer(a, b.peerId))?.connected === true);
    const real = decodeInvite(nodeCrypto, (await b.api.get('/p2p/invite')).body.invite_code);
    const attacker = generateIdentity(nodeCrypto);
    const forged = encodeInvite({
      peerId: real.peerId,
      ed25519PublicKey: real.ed25519PublicKey,
      x25519PublicKey: attacker.x25519.publicKey,
      endpoints: ['ws://127.0.0.1:9'],
    });
    const response = await a.api.post('/p2p/invite/import', { invite_code: forged });
    expect(response.status).toBe(409);
    expect(response.body.error).toContain(b.peerId);
    expect(response.body.error).toMatch(/already proved a different X25519 key/);

    const sent = await a.api.post('/p2p/send', { content: 'still for the real B', peer_id: b.peerId });
    expect(sent.status).toBe(200);
    await eventually('B to read the DM', async () =>
      (await b.api.get(`/messages?peer_id=${a.peerId}`)).body.messages.some((m: { content: string }) => m.content === 'still for the real B'),
    );
  });

  it('an invite whose binding signature does not match its X25519 key is refused (400)', async () => {
    const peer = generateIdentity(nodeCrypto);
    const other = generateIdentity(nodeCrypto);
    const bad = encodeInvite({
      peerId: peer.peerId,
      ed25519PublicKey: peer.ed25519.publicKey,
      x25519PublicKey: other.x25519.publicKey,
      endpoints: [],
      binding: peer.binding,
    });
    const response = await a.api.post('/p2p/invite/import', { invite_code: bad });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("Invalid invite code: X25519 key is not signed by the peer's identity key");
    expect(await knownPeer(a, peer.peerId)).toBeUndefined();
  });
});

describe('the app link (the web app)', () => {
  it('lists requests, pushes changes, accepts and declines, regenerates the invite', async () => {
    const host = await startNode();
    const app = await connectApp(host.instance.url);
    expect((await setUpAccount(app, host.instance.dataDir, 'alice', 'correct horse battery')).ok).toBe(true);
    expect(await app.call('network.requests')).toEqual({ ok: true, result: { requests: [] } });

    const [first, second] = [generateIdentity(nodeCrypto), generateIdentity(nodeCrypto)];
    const links = [await rawLink(host, first), await rawLink(host, second)];
    await eventually('a push listing both requests', async () =>
      app.pushes.some((p) => p.topic === 'requests' && p.data.requests.length === 2),
    );
    const listed = await app.call('network.requests');
    expect(listed.ok && (listed.result as { requests: Array<{ peer_id: string }> }).requests.map((r) => r.peer_id).sort()).toEqual(
      [first.peerId, second.peerId].sort(),
    );

    expect(await app.call('network.accept_request', { peer_id: first.peerId })).toMatchObject({ ok: true, result: { status: 'accepted' } });
    expect(await app.call('network.decline_request', { peer_id: second.peerId })).toMatchObject({ ok: true, result: { status: 'declined' } });
    expect(await app.call('network.decline_request', { peer_id: second.peerId })).toMatchObject({ ok: false, error: { status: 404 } });
    await eventually('a push with no requests left', async () => app.pushes.some((p) => p.topic === 'requests' && p.data.requests.length === 0));
    const peers = await app.call('network.peers');
    expect(peers.ok && (peers.result as { peers: Array<{ peer_id: string; trust: string }> }).peers).toEqual([
      expect.objectContaining({ peer_id: first.peerId, trust: 'accepted' }),
    ]);

    const before = await app.call('network.invite');
    const after = await app.call('network.regenerate_invite');
    expect(after.ok).toBe(true);
    const code = (reply: typeof after) => (reply.result as { invite_code: string }).invite_code;
    expect(decodeInvite(nodeCrypto, code(after)).inviteSecret).not.toEqual(decodeInvite(nodeCrypto, code(before)).inviteSecret);
    for (const link of links) link.close();
    app.close();
  });
});
