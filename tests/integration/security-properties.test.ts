// The mesh claims of README's "How it is secured", each against real companions and a hostile raw
// client, written so that removing the check that makes the claim true fails the test
// (scripts/mutation-check.js removes each one in a throwaway worktree and expects exactly that).
// Expected peer IDs and replayed mesh handshakes/frames are held by mesh-abuse.test.ts and
// link-manager.test.ts; REST permissions by security-permissions.test.ts.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { APP_LINK_PROLOGUE_TEXT } from '../../protocol/app/contract.ts';
import { b58encode, b64urlDecode, fromUtf8, utf8 } from '../../protocol/bytes.ts';
import { generateKeyPair } from '../../protocol/crypto/types.ts';
import {
  dmChannelId,
  openDm,
  sealDm,
  signEvent,
  type CanopyEvent,
  type DmBody,
  type PostBody,
  type SignedEvent,
} from '../../protocol/events.ts';
import { encodeFrame, type Frame } from '../../protocol/frames.ts';
import { generateIdentity, signBinding, type Identity } from '../../protocol/identity.ts';
import { decodeInvite, encodeInvite } from '../../protocol/invite.ts';
import { XXHandshake } from '../../protocol/noise/index.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { openRaw, rawHandshake, type RawConnection } from '../helpers/raw-peer.ts';

interface Node {
  instance: Instance;
  api: ApiClient;
  peerId: string;
  meshUrl: string;
}

let a: Node;
let b: Node;

async function node(): Promise<Node> {
  const instance = await startInstance();
  const api = apiClient(instance.url, await createKey(instance.dataDir));
  const peerId = (await api.get('/p2p/status')).body.peer_id as string;
  return { instance, api, peerId, meshUrl: `ws://127.0.0.1:${instance.meshPort}/p2p` };
}

beforeAll(async () => {
  a = await node();
  b = await node();
  const invite = await a.api.get('/p2p/invite');
  const imported = await b.api.post('/p2p/invite/import', { invite_code: invite.body.invite_code });
  expect(imported.body.status).toBe('connected');
});
afterAll(async () => {
  await Promise.allSettled([a?.instance.stop(), b?.instance.stop()]);
});

const unique = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;

/** A raw peer the instance trusts: the instance imported its invite (no endpoints: it dials in). */
async function trustedRawPeer(host: Node): Promise<Identity> {
  const identity = generateIdentity(nodeCrypto);
  const code = encodeInvite({
    peerId: identity.peerId,
    ed25519PublicKey: identity.ed25519.publicKey,
    x25519PublicKey: identity.x25519.publicKey,
    endpoints: [],
  });
  const imported = await host.api.post('/p2p/invite/import', { invite_code: code });
  expect(imported.status).toBe(200);
  return identity;
}

interface Received {
  /** The decrypted frame exactly as it travelled, for "never in clear" checks. */
  text: string;
  frame: Frame;
}

/** A raw link that records every frame the instance sends it, answering pings. */
async function rawLink(host: Node, identity: Identity) {
  const connection = await rawHandshake(host.meshUrl, identity);
  const received: Received[] = [];
  const send = (frame: Frame) => connection.ws.send(connection.transport.seal(encodeFrame(frame)));
  void (async () => {
    for (;;) {
      const text = fromUtf8(connection.transport.open(await connection.next()));
      const frame = JSON.parse(text) as Frame;
      received.push({ text, frame });
      if (frame.t === 'ping') send({ t: 'pong', n: frame.n });
    }
  })().catch(() => {});
  const events = () => received.flatMap((r) => (r.frame.t === 'events' ? r.frame.events : []));
  const count = (t: Frame['t']) => received.filter((r) => r.frame.t === t).length;
  return { connection, received, send, events, count, close: () => connection.ws.close() };
}

type RawLink = Awaited<ReturnType<typeof rawLink>>;

/** Asks for a full catch-up (or one from `vectors`) and waits until the instance says it is done. */
async function catchUp(link: RawLink, vectors: Record<string, Record<string, number>> = {}): Promise<void> {
  const before = link.count('sync_done');
  link.send({ t: 'sync', vectors });
  await eventually('catch-up to finish', async () => link.count('sync_done') > before);
}

const hasPost = (link: RawLink, content: string) =>
  link.events().some((s) => s.event.kind === 'post' && (s.event.body as PostBody).content === content);

async function dm(from: Node, to: string, content: string): Promise<void> {
  const sent = await from.api.post('/p2p/send', { content, peer_id: to });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
}

async function post(from: Node, content: string): Promise<void> {
  const sent = await from.api.post('/p2p/send', { content, broadcast: true });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
}

const holdsDm = async (holder: Node, content: string) =>
  (await holder.api.get('/messages?limit=200')).body.messages.some((m: { content: string }) => m.content === content);

function signed(author: Identity, fields: Pick<CanopyEvent, 'channel' | 'seq' | 'kind' | 'body'>): SignedEvent {
  return signEvent(nodeCrypto, author, {
    v: 1,
    author: author.peerId,
    author_key: b58encode(author.ed25519.publicKey),
    ts: Date.now(),
    ...fields,
  });
}

/** True when `needle` occurs anywhere in `haystack`. */
function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

/**
 * How the instance ends a handshake whose last message we just sent. A garbage transport frame
 * follows it: a refused handshake closes with 4001, while an accepted one would get as far as
 * decrypting that frame (4005) — so acceptance shows without waiting for a timeout.
 */
async function handshakeOutcome(connection: RawConnection): Promise<{ code: number; reason: string }> {
  connection.ws.send(randomBytes(64));
  return connection.closed;
}

describe('binding: the X25519 key must be signed by the identity key', () => {
  it('refuses a peer that presents a trusted peer’s identity and binding with its own X25519 key', async () => {
    const victim = await trustedRawPeer(a);
    const attackerKey = generateKeyPair(nodeCrypto, 'x25519');
    // Everything public about the victim (peer ID, Ed25519 key, binding signature), but the
    // attacker's own Noise static key: without the binding check this is the victim.
    const impostor: Identity = { ...victim, ed25519: { publicKey: victim.ed25519.publicKey, secretKey: new Uint8Array(64) }, x25519: attackerKey };
    const attempt = await rawHandshake(a.meshUrl, impostor);
    const closed = await handshakeOutcome(attempt);
    expect(closed.code).toBe(4001);
    expect(closed.reason).toMatch(/not signed by its identity key/);
    const peers = (await a.api.get('/p2p/peers')).body;
    expect(peers.connected_peers).not.toContain(victim.peerId);
    expect(JSON.stringify(peers.connected_peer_details)).not.toContain(victim.peerId);
  });

  it('refuses a binding signature over a different X25519 key than the Noise static key', async () => {
    const liar = generateIdentity(nodeCrypto);
    const elsewhere = generateKeyPair(nodeCrypto, 'x25519');
    const attempt = await rawHandshake(a.meshUrl, {
      ...liar,
      binding: signBinding(nodeCrypto, liar.ed25519.secretKey, elsewhere.publicKey),
    });
    const closed = await handshakeOutcome(attempt);
    expect(closed.code).toBe(4001);
    expect(closed.reason).toMatch(/not signed by its identity key/);
    expect(JSON.stringify((await a.api.get('/p2p/peers')).body)).not.toContain(liar.peerId);
  });
});

describe('DM entitlement: a peer receives only its own conversations', () => {
  it('gives a trusted third party none of A–B’s DMs in catch-up or live, but the public posts', async () => {
    const dmAB = dmChannelId(a.peerId, b.peerId);
    const [aToB, bToA, publicBefore] = [unique('a-to-b'), unique('b-to-a'), unique('public-before')];
    await dm(a, b.peerId, aToB);
    await dm(b, a.peerId, bToA);
    await post(a, publicBefore);
    await eventually('B to hold A’s DM', () => holdsDm(b, aToB));
    await eventually('A to hold B’s DM', () => holdsDm(a, bToA));

    const c = await rawLink(a, await trustedRawPeer(a));
    await catchUp(c);
    expect(hasPost(c, publicBefore), 'C receives public history').toBe(true);
    // Naming the channel outright must not help either.
    await catchUp(c, { [dmAB]: { [a.peerId]: 0, [b.peerId]: 0 } });

    // Live: B's DM to A is followed on the same link by a public post, which A passes on to C;
    // anything A forwarded from the DM would have reached C before it.
    const [liveAToB, liveBToA, publicAfter] = [unique('live-a-to-b'), unique('live-b-to-a'), unique('public-after')];
    await dm(a, b.peerId, liveAToB);
    await dm(b, a.peerId, liveBToA);
    await post(b, publicAfter);
    await eventually('C to receive B’s public post through A', async () => hasPost(c, publicAfter));

    expect(c.events().filter((s) => s.event.channel === dmAB)).toEqual([]);
    const vectorsSent = c.received.filter((r) => r.frame.t === 'sync').map((r) => r.text);
    for (const text of vectorsSent) expect(text, 'A’s vector to C names the A–B conversation').not.toContain(dmAB);
    for (const secret of [aToB, bToA, liveAToB, liveBToA]) {
      for (const { text } of c.received) expect(text).not.toContain(secret);
    }
    c.close();
  });

  it('neither stores nor forwards DMs a third party sends into other people’s conversations', async () => {
    const cIdentity = await trustedRawPeer(a);
    const observer = await rawLink(a, await trustedRawPeer(a));
    await catchUp(observer);
    const bKey = decodeInvite(nodeCrypto, (await b.api.get('/p2p/invite')).body.invite_code).x25519PublicKey;

    // A DM from C to B sent through A: C is a party, but A is not its recipient and no relay.
    const cToB = unique('c-to-b');
    const throughA = signed(cIdentity, {
      channel: dmChannelId(cIdentity.peerId, b.peerId),
      seq: 1,
      kind: 'dm',
      body: sealDm(nodeCrypto, { author: cIdentity.peerId, to: b.peerId, recipientX25519PublicKey: bKey, content: cToB }),
    });
    // A DM C signs into A–B's conversation: the schema pins a dm channel to author and recipient.
    const forged = signed(cIdentity, {
      channel: dmChannelId(a.peerId, b.peerId),
      seq: 1,
      kind: 'dm',
      body: sealDm(nodeCrypto, { author: cIdentity.peerId, to: b.peerId, recipientX25519PublicKey: bKey, content: unique('forged') }),
    });
    const first = await rawLink(a, cIdentity);
    first.send({ t: 'events', events: [throughA] });
    first.send({ t: 'events', events: [forged] });
    // Whether A dropped that link for the forged event or not, a fresh one carries a public marker,
    // which A forwards after anything it would have forwarded from the frames before.
    const second = await rawLink(a, cIdentity);
    const marker = unique('c-marker');
    second.send({ t: 'events', events: [signed(cIdentity, { channel: 'general', seq: 1, kind: 'post', body: { content: marker } })] });
    await eventually('the observer to receive C’s public marker', async () => hasPost(observer, marker));
    await eventually('B to receive C’s public marker', async () =>
      (await b.api.get('/channels/general/messages?limit=200')).body.messages.some((m: { content: string }) => m.content === marker),
    );

    expect(observer.events().filter((s) => s.event.kind === 'dm')).toEqual([]);
    const bMessages = JSON.stringify((await b.api.get('/messages?limit=200')).body);
    expect(bMessages).not.toContain(cIdentity.peerId);
    expect(JSON.stringify((await a.api.get(`/messages?peer_id=${cIdentity.peerId}`)).body.messages)).toBe('[]');
    for (const link of [first, second, observer]) link.close();
  });
});

describe('sealed DMs: only the recipient can read them', () => {
  it('sends a DM to its recipient sealed, live and in catch-up, and never in clear to anyone', async () => {
    const cIdentity = await trustedRawPeer(a);
    const c = await rawLink(a, cIdentity);
    const bystander = await rawLink(a, await trustedRawPeer(a));
    await catchUp(bystander);
    const secret = unique('for-c-only');
    await dm(a, cIdentity.peerId, secret);
    await eventually('C to receive the DM live', async () => c.events().some((s) => s.event.kind === 'dm'));
    await catchUp(c); // and the same DM once more, served from A's store
    const dms = c.events().filter((s) => s.event.kind === 'dm');
    expect(dms.length).toBeGreaterThanOrEqual(2);

    for (const { event } of dms) {
      const body = event.body as DmBody;
      expect(body.to).toBe(cIdentity.peerId);
      expect(containsBytes(b64urlDecode(body.sealed), utf8(secret)), 'the sealed box holds the text in clear').toBe(false);
      expect(openDm(nodeCrypto, cIdentity.x25519, event).content).toBe(secret);
      expect(() => openDm(nodeCrypto, generateKeyPair(nodeCrypto, 'x25519'), event)).toThrow();
    }
    for (const { text } of [...c.received, ...bystander.received]) expect(text).not.toContain(secret);
    const afterDm = unique('after-dm');
    await post(a, afterDm); // A's frames are ordered: the bystander would have had the DM by now
    await eventually('the bystander to receive A’s next post', async () => hasPost(bystander, afterDm));
    expect(bystander.events().filter((s) => s.event.kind === 'dm')).toEqual([]);
    c.close();
    bystander.close();
  });
});

describe('replay: a recorded app-link handshake is worthless', () => {
  it('refuses a replayed browser handshake', async () => {
    const appUrl = `${a.instance.url.replace(/^http/, 'ws')}/api/v1/app`;
    const device = generateKeyPair(nodeCrypto, 'x25519');
    const recorded = await openRaw(appUrl);
    const noise = new XXHandshake(nodeCrypto, { initiator: true, staticKey: device, prologue: utf8(APP_LINK_PROLOGUE_TEXT) });
    const message1 = noise.writeMessage(new Uint8Array(0));
    recorded.ws.send(message1);
    noise.readMessage(await recorded.next());
    const message3 = noise.writeMessage(utf8(JSON.stringify({ label: 'recorded' })));
    recorded.ws.send(message3);
    recorded.ws.close();

    const replay = await openRaw(appUrl);
    replay.ws.send(message1);
    await replay.next(); // fresh ephemeral keys from the companion...
    replay.ws.send(message3); // ...so the recorded third message cannot authenticate
    const closed = await handshakeOutcome(replay);
    expect(closed.code).toBe(4001);
  });
});
