// Introductions (issue 7 deliverable 2, guide §9, DESIGN §3a): in a line A–B–C, B tells A about C
// and C about A, with keys the receivers verify; connect_introduced turns that into a direct link
// that C admits as 'introduced' (or as a request with trust_introduced off); a DM to an introduced
// peer waits in the outbox until then; forget removes introductions and keeps a forgotten invite
// holder out; a hostile linked peer's forged or flooding introductions store nothing or a bounded
// amount. Real companion processes on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { resolveInstancePaths } from '../../companion/instance/paths.ts';
import { INTRODUCTION_VERIFY_BUDGET } from '../../companion/mesh/peer-introductions.ts';
import { b58encode, b64urlEncode } from '../../protocol/bytes.ts';
import { generateIdentity, type Identity } from '../../protocol/identity.ts';
import { decodeInvite } from '../../protocol/invite.ts';
import type { IntroducedPeerEntry } from '../../protocol/mesh/introduction.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { connectApp, setUpAccount } from '../helpers/app-client.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { trustedRawSession } from '../helpers/raw-session.ts';

interface Node {
  instance: Instance;
  api: ApiClient;
  key: string;
  peerId: string;
}

const nodes: Node[] = [];

async function startNode(options: { dataDir?: string; port?: number; key?: string } = {}): Promise<Node> {
  const instance = await startInstance(options);
  const key = options.key ?? (await createKey(instance.dataDir));
  const api = apiClient(instance.url, key);
  const peerId = (await api.get('/p2p/status')).body.peer_id as string;
  const node = { instance, api, key, peerId };
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

async function name(node: Node, user: string, device: string): Promise<void> {
  expect((await node.api.post('/profile', { display_name: user })).status).toBe(200);
  expect((await node.api.post('/device/profile', { display_name: device })).status).toBe(200);
}

const introduced = async (node: Node): Promise<any[]> => (await node.api.get('/p2p/introduced')).body.introduced_peers;
const introducedRow = async (node: Node, peerId: string) => (await introduced(node)).find((row) => row.peer_id === peerId);
const knownPeer = async (node: Node, peerId: string) =>
  (await node.api.get('/p2p/known_peers')).body.known_peers.find((p: { peer_id: string }) => p.peer_id === peerId);
const connectedTo = async (node: Node, peerId: string) => (await node.api.get('/p2p/peers')).body.connected_peers.includes(peerId) as boolean;
const requestIds = async (node: Node): Promise<string[]> =>
  (await node.api.get('/p2p/requests')).body.requests.map((r: { peer_id: string }) => r.peer_id);

async function keysOf(node: Node) {
  const invite = decodeInvite(nodeCrypto, (await node.api.get('/p2p/invite')).body.invite_code);
  return { ed25519: b58encode(invite.ed25519PublicKey), x25519: b58encode(invite.x25519PublicKey) };
}

let a: Node;
let b: Node;
let c: Node;

beforeAll(async () => {
  [a, b, c] = await Promise.all([startNode(), startNode(), startNode()]);
  await Promise.all([name(a, 'Alice', 'alice-laptop'), name(b, 'Bob', 'bob-desktop'), name(c, 'Carol', 'carol-phone')]);
  // The line A–B–C: A and C each import B's invite; only B links to both.
  await link(a, b);
  await link(c, b);
});

describe('introductions in a line A–B–C', () => {
  it('A and C each list the other, introduced by B, with verified keys, names and endpoints', async () => {
    const rowOnA = await eventually('C introduced to A with names', async () => {
      const row = await introducedRow(a, c.peerId);
      return row?.display_name === 'Carol' && row.device_name === 'carol-phone' && row;
    });
    const rowOnC = await eventually('A introduced to C with names', async () => {
      const row = await introducedRow(c, a.peerId);
      return row?.display_name === 'Alice' && row.device_name === 'alice-laptop' && row;
    });
    const [keysA, keysC] = await Promise.all([keysOf(a), keysOf(c)]);
    expect(rowOnA).toMatchObject({
      ed25519_public_key: keysC.ed25519,
      x25519_public_key: keysC.x25519,
      endpoints: [`ws://127.0.0.1:${c.instance.meshPort}`],
      endpoint_count: 1,
      introduced_by: [b.peerId],
      introduced_by_names: ['Bob'],
      connect_strategy: 'direct_or_broker',
    });
    expect(Date.parse(rowOnA.introduced_at)).toBeGreaterThan(0);
    expect(rowOnC).toMatchObject({ ed25519_public_key: keysA.ed25519, x25519_public_key: keysA.x25519, introduced_by: [b.peerId] });
    // Never ourselves, never a peer we are linked with.
    expect((await introduced(a)).map((row) => row.peer_id)).toEqual([c.peerId]);
    expect((await introduced(b)).map((row) => row.peer_id)).toEqual([]);
    expect(await knownPeer(a, c.peerId)).toEqual({
      peer_id: c.peerId,
      display_name: 'Carol',
      endpoints: [`ws://127.0.0.1:${c.instance.meshPort}`],
      connected: false,
      trust: null,
      introduced: true,
    });
    expect(await knownPeer(a, b.peerId)).toMatchObject({ connected: true, trust: 'invited', introduced: false });
  });

  it('a DM to an introduced peer is queued, then delivered once connect_introduced links them; only C can read it', async () => {
    await eventually('C introduced to A', async () => introducedRow(a, c.peerId));
    const dm = await a.api.post('/p2p/send', { content: 'hello Carol, via an introduction', peer_id: c.peerId });
    expect(dm.status, JSON.stringify(dm.body)).toBe(200);
    expect(dm.body).toMatchObject({ success: true, peer_id: c.peerId, status: 'queued' });
    const stateOnA = async () =>
      (await a.api.get(`/messages?peer_id=${c.peerId}`)).body.messages.find((m: any) => m.id === dm.body.message_id)?.delivery_state;
    expect(await stateOnA()).toBe('queued');

    const connect = await a.api.post('/p2p/connect_introduced', { peer_id: c.peerId });
    expect(connect.status, JSON.stringify(connect.body)).toBe(200);
    expect(connect.body).toEqual({
      status: 'connected',
      peer_id: c.peerId,
      endpoint: `ws://127.0.0.1:${c.instance.meshPort}`,
      direct_attempted: true,
      direct_attempt_count: 1,
      forced_failover: false,
      connection: 'direct',
      via: null,
    });
    // C admitted A because B (whom C trusts) introduced it.
    await eventually('C to link A as introduced', async () => (await knownPeer(c, a.peerId))?.trust === 'introduced' && (await connectedTo(c, a.peerId)));
    expect(await requestIds(c)).not.toContain(a.peerId);
    expect(await knownPeer(a, c.peerId)).toMatchObject({ connected: true, trust: 'introduced', introduced: true });
    // Linked peers leave the introduced list.
    expect(await introducedRow(a, c.peerId)).toBeUndefined();

    const received = await eventually('the DM on C', async () =>
      (await c.api.get(`/messages?peer_id=${a.peerId}`)).body.messages.find((m: any) => m.content === 'hello Carol, via an introduction'),
    );
    expect(received).toMatchObject({ direction: 'incoming', sender_id: a.peerId });
    await eventually('A to see the DM delivered', async () => (await stateOnA()) === 'delivered');
    // C told A about B on link-up (before it acknowledged the DM): a peer we are linked with is no introduction.
    expect(await knownPeer(a, b.peerId)).toMatchObject({ trust: 'invited', introduced: false });
    // DMs go to their two parties only: B, which linked them, never holds it.
    expect((await b.api.get('/messages')).body.messages.some((m: any) => m.id === dm.body.message_id)).toBe(false);

    const again = await a.api.post('/p2p/connect_introduced', { peer_id: c.peerId });
    expect(again.body).toEqual({ status: 'connected', peer_id: c.peerId, already_connected: true });
  });

  it('with trust_introduced off, an introduced peer that connects becomes a request', async () => {
    const d = await startNode();
    await name(d, 'Dave', 'dave-tablet');
    const off = await c.api.post('/p2p/trust_introduced', { trust_introduced: false });
    expect(off.body).toEqual({ status: 'ok', trust_introduced: false });
    expect((await c.api.get('/p2p/status')).body.trust_introduced).toBe(false);
    try {
      await link(d, b);
      await eventually('C introduced to D', async () => introducedRow(d, c.peerId));
      await eventually('D introduced to C', async () => introducedRow(c, d.peerId));
      const connect = await d.api.post('/p2p/connect_introduced', { peer_id: c.peerId });
      expect(connect.status, JSON.stringify(connect.body)).toBe(200);
      await eventually('D to be a request on C', async () => (await requestIds(c)).includes(d.peerId));
      expect(await knownPeer(c, d.peerId)).toMatchObject({ trust: null, connected: false });
    } finally {
      await c.api.post('/p2p/trust_introduced', { trust_introduced: true });
    }
  });

  it('connect_introduced: 400 without peer_id, 404 for a peer nobody introduced, 502 when no endpoint answers', async () => {
    expect(await a.api.post('/p2p/connect_introduced', {})).toEqual({ status: 400, body: { error: 'peer_id required' } });
    const stranger = generateIdentity(nodeCrypto).peerId;
    expect(await a.api.post('/p2p/connect_introduced', { peer_id: stranger })).toEqual({
      status: 404,
      body: { error: 'Peer not found in introduced list', peer_id: stranger },
    });
    // E is introduced to A by B, then goes away: its endpoint no longer answers.
    const e = await startNode();
    await link(e, b);
    await eventually('E introduced to A', async () => introducedRow(a, e.peerId));
    await e.instance.stop();
    await eventually('B to see E gone', async () => !(await connectedTo(b, e.peerId)));
    const failed = await a.api.post('/p2p/connect_introduced', { peer_id: e.peerId });
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({
      error: 'Could not connect to the introduced peer',
      status: 'failed',
      diagnostic_code: 'introduced_peer_direct_connect_failed',
      errors: [{ endpoint: `ws://127.0.0.1:${e.instance.meshPort}` }],
    });
    expect(typeof failed.body.message).toBe('string');
  });
});

describe('the app link', () => {
  it('network.introduced, the introduced push and network.connect_introduced', async () => {
    const [x, y, hub] = await Promise.all([startNode(), startNode(), startNode()]);
    const app = await connectApp(x.instance.url);
    try {
      expect((await setUpAccount(app, x.instance.dataDir, 'xavier', 'correct horse battery')).ok).toBe(true);
      await link(x, hub);
      await link(y, hub);
      await eventually('an introduced push listing Y', async () =>
        app.pushes.some((p) => p.topic === 'introduced' && p.data.introduced_peers.some((row: any) => row.peer_id === y.peerId)),
      );
      const listed = await app.call('network.introduced');
      expect(listed).toMatchObject({ ok: true, result: { introduced_peers: [{ peer_id: y.peerId, introduced_by: [hub.peerId] }] } });
      expect(await app.call('network.connect_introduced', { peer_id: generateIdentity(nodeCrypto).peerId })).toMatchObject({
        ok: false,
        error: { status: 404, message: 'Peer not found in introduced list' },
      });
      expect(await app.call('network.connect_introduced', { peer_id: y.peerId })).toMatchObject({
        ok: true,
        result: { status: 'connected', peer_id: y.peerId, direct_attempted: true },
      });
      await eventually('an introduced push without Y', async () =>
        app.pushes.some((p) => p.topic === 'introduced' && p.data.introduced_peers.length === 0),
      );
      expect(await app.call('network.set_trust_introduced', { trust_introduced: false })).toEqual({
        ok: true,
        result: { status: 'ok', trust_introduced: false },
      });
      expect(await app.call('network.set_trust_introduced', { trust_introduced: 'no' })).toMatchObject({ ok: false, error: { status: 400 } });
    } finally {
      app.close();
    }
  });
});

// Three companions and a restart, with 40 s waits inside: the default 30 s is too short on a loaded 2-core machine.
describe('forget', { timeout: 90_000 }, () => {
  it('removes the introductions a peer made and the peer\'s own', async () => {
    const x = await startNode();
    const y = await startNode();
    const hub = await startNode();
    await link(x, hub);
    await link(y, hub);
    await eventually('Y introduced to X', async () => introducedRow(x, y.peerId));
    const forgotten = await x.api.post('/p2p/forget', { peer_id: hub.peerId });
    expect(forgotten.body).toMatchObject({ status: 'forgotten', removed_known_peer: true, removed_introductions: 1 });
    expect(await introduced(x)).toEqual([]);
    // Forgetting an introduced peer removes its row too.
    await eventually('X introduced to Y', async () => introducedRow(y, x.peerId));
    expect((await y.api.post('/p2p/forget', { peer_id: x.peerId })).body).toMatchObject({ status: 'forgotten', removed_introductions: 1 });
    expect(await introducedRow(y, x.peerId)).toBeUndefined();
  });

  it('a forgotten peer holding our current invite becomes a request after a restart', async () => {
    const host = await startNode();
    const holder = await startNode();
    await link(holder, host);
    expect((await host.api.post('/p2p/forget', { peer_id: holder.peerId })).body.status).toBe('forgotten');
    await host.instance.stop({ keepData: true });
    const restarted = await startNode({ dataDir: host.instance.dataDir, port: host.instance.port, key: host.key });
    // The holder redials with the invite secret it still holds; the forgotten mark outweighs it.
    await eventually('the holder to be a request', async () => (await requestIds(restarted)).includes(holder.peerId), 40_000);
    expect(await knownPeer(restarted, holder.peerId)).toBeUndefined();
    // Accepting it is the user linking it again: trusted from then on.
    const accepted = await restarted.api.post(`/p2p/requests/${holder.peerId}/accept`);
    expect(accepted.body).toMatchObject({ status: 'accepted' });
    await eventually('the holder linked again', async () => connectedTo(restarted, holder.peerId), 40_000);
    expect((await knownPeer(restarted, holder.peerId))?.trust).toBe('accepted');
  });
});

describe('a hostile linked peer', () => {
  const entry = (identity: Identity, overrides: Partial<IntroducedPeerEntry> = {}): IntroducedPeerEntry => ({
    peer_id: identity.peerId,
    ed25519_key: b58encode(identity.ed25519.publicKey),
    x25519_key: b58encode(identity.x25519.publicKey),
    binding: b64urlEncode(identity.binding),
    endpoints: ['ws://127.0.0.1:9'],
    display_name: 'Mallory says hi',
    device_name: 'evil',
    ...overrides,
  });

  it('gets nothing stored with forged entries, and keeps its link over malformed ones', async () => {
    const victim = await startNode();
    const mallory = await trustedRawSession(victim.instance, victim.api, undefined, { from: '127.0.0.2' });
    const target = generateIdentity(nodeCrypto);
    const other = generateIdentity(nodeCrypto);
    mallory.send({
      t: 'introduce',
      peers: [
        // Someone else's peer ID on Mallory's own keys.
        entry(mallory.identity, { peer_id: target.peerId }),
        // The target's ID and signing key with Mallory's X25519 key and a made-up binding.
        entry(target, { x25519_key: b58encode(mallory.identity.x25519.publicKey), binding: 'A'.repeat(86) }),
        // The target's real binding over its own key, paired with another X25519 key.
        entry(target, { x25519_key: b58encode(other.x25519.publicKey) }),
        // Malformed: dropped alone.
        { ...entry(other), peer_id: 'nope' },
      ],
    });
    const honest = generateIdentity(nodeCrypto);
    mallory.send({ t: 'introduce', peers: [entry(honest)] });
    await eventually('the honest entry to be stored', async () => introducedRow(victim, honest.peerId));
    expect((await introduced(victim)).map((row) => row.peer_id)).toEqual([honest.peerId]);
    expect(mallory.isOpen()).toBe(true);
    // Other keys under a stored peer's ID are dropped unchecked: no names or endpoints merge from them.
    mallory.send({ t: 'introduce', peers: [entry(honest, { x25519_key: b58encode(other.x25519.publicKey), display_name: 'forged', endpoints: ['ws://127.0.0.1:10'] })] });
    mallory.send({ t: 'ping', n: 76 });
    await mallory.waitFor((frame) => frame.t === 'pong' && frame.n === 76);
    expect(await introducedRow(victim, honest.peerId)).toMatchObject({ display_name: 'Mallory says hi', endpoints: ['ws://127.0.0.1:9'] });
    // A DM to the target is refused: no key of its was ever accepted.
    expect((await victim.api.post('/p2p/send', { content: 'x', peer_id: target.peerId })).status).toBe(404);

    // Never the victim itself (its own valid entry), never a peer the user forgot.
    const own = decodeInvite(nodeCrypto, (await victim.api.get('/p2p/invite')).body.invite_code);
    const ownEntry: IntroducedPeerEntry = {
      peer_id: own.peerId,
      ed25519_key: b58encode(own.ed25519PublicKey),
      x25519_key: b58encode(own.x25519PublicKey),
      binding: b64urlEncode(own.binding!),
      endpoints: [],
      display_name: 'you',
      device_name: '',
    };
    expect((await victim.api.post('/p2p/forget', { peer_id: honest.peerId })).body).toMatchObject({ status: 'forgotten', removed_introductions: 1 });
    mallory.send({ t: 'introduce', peers: [ownEntry, entry(honest)] });
    mallory.send({ t: 'ping', n: 77 });
    await mallory.waitFor((frame) => frame.t === 'pong' && frame.n === 77);
    expect(await introduced(victim)).toEqual([]);
    mallory.close();
  });

  it('a DM is sealed only to an introduced key whose binding verifies, even if one got into the table', async () => {
    const victim = await startNode();
    const target = generateIdentity(nodeCrypto);
    const impostor = generateIdentity(nodeCrypto);
    // A row no introduction could have stored: the target's ID and signing key, another X25519 key.
    const db = new Database(resolveInstancePaths(victim.instance.dataDir).databaseFile);
    try {
      db.prepare(
        `INSERT INTO introduced_peers (peer_id, ed25519_public_key, x25519_public_key, binding, endpoints, introduced_by, introduced_at, updated_at)
         VALUES (?, ?, ?, ?, '[]', '["someone"]', ?, ?)`,
      ).run(target.peerId, Buffer.from(target.ed25519.publicKey), Buffer.from(impostor.x25519.publicKey), Buffer.from(target.binding), Date.now(), Date.now());
    } finally {
      db.close();
    }
    expect(await introducedRow(victim, target.peerId)).toBeDefined();
    const dm = await victim.api.post('/p2p/send', { content: 'for the target only', peer_id: target.peerId });
    expect(dm).toEqual({ status: 404, body: { error: 'Unknown peer: import its invite code first', peer_id: target.peerId } });
  });

  it('a peer changing its name in a loop is re-announced to the others at most once per interval', async () => {
    const victim = await startNode();
    const changer = await trustedRawSession(victim.instance, victim.api, undefined, { from: '127.0.0.4' });
    const watcher = await trustedRawSession(victim.instance, victim.api, undefined, { from: '127.0.0.5' });
    // Announcements of the changer that reach the watcher, read up to the answer to a ping.
    const announced: string[] = [];
    const readWatcher = async (n: number) => {
      watcher.send({ t: 'ping', n });
      await watcher.waitFor((frame) => {
        if (frame.t === 'introduce') announced.push(...frame.peers.filter((p) => p.peer_id === changer.identity.peerId).map((p) => p.display_name));
        return frame.t === 'pong' && frame.n === n;
      });
    };
    await readWatcher(1);
    expect(announced).toEqual(['']);
    for (let i = 0; i < 20; i++) {
      changer.send({ t: 'profile', display_name: `name ${i}`, bio: '', device_name: '', device_description: '' });
    }
    changer.send({ t: 'ping', n: 2 });
    await changer.waitFor((frame) => frame.t === 'pong' && frame.n === 2);
    await readWatcher(3);
    // The first change goes out at once; the rest wait for the interval (30 s), not one frame each.
    expect(announced).toEqual(['', 'name 0']);
    changer.close();
    watcher.close();
  });

  it('a flood of valid introductions is bounded by the verification budget', async () => {
    const victim = await startNode();
    const mallory = await trustedRawSession(victim.instance, victim.api, undefined, { from: '127.0.0.3' });
    const flood = Array.from({ length: 4 * INTRODUCTION_VERIFY_BUDGET.burst }, () => entry(generateIdentity(nodeCrypto)));
    for (let i = 0; i < flood.length; i += 64) mallory.send({ t: 'introduce', peers: flood.slice(i, i + 64) });
    // Frames are handled in order: once the ping is answered, the whole flood was.
    mallory.send({ t: 'ping', n: 4242 });
    await mallory.waitFor((frame) => frame.t === 'pong' && frame.n === 4242);
    const stored = (await introduced(victim)).length;
    // The burst, plus what the budget refilled while the test ran (1 a second).
    expect(stored).toBeGreaterThanOrEqual(INTRODUCTION_VERIFY_BUDGET.burst);
    expect(stored).toBeLessThan(INTRODUCTION_VERIFY_BUDGET.burst + 30);
    expect(mallory.isOpen()).toBe(true);
    mallory.close();
  });
});
