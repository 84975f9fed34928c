// Issue 10: events signed once per batch and acknowledged cumulatively, between a real companion
// and raw peers that either speak these additions or come from before them.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { b58encode } from '../../protocol/bytes.ts';
import { eventId, signEvents, verifyEvent, type CanopyEvent, type SignedEvent } from '../../protocol/events.ts';
import { CAPABILITIES } from '../../protocol/version.ts';
import type { Identity } from '../../protocol/identity.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { trustedRawSession, type RawSession } from '../helpers/raw-session.ts';

const SLOW = 120_000;
const running: Instance[] = [];
const sessions: RawSession[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  await Promise.all(running.splice(0).map((instance) => instance.stop()));
});

async function companion(): Promise<{ instance: Instance; api: ApiClient; peerId: string }> {
  const instance = await startInstance();
  running.push(instance);
  const api = apiClient(instance.url, await createKey(instance.dataDir));
  return { instance, api, peerId: (await api.get('/p2p/status')).body.peer_id as string };
}

async function rawPeer(victim: { instance: Instance; api: ApiClient }, capabilities: string[]): Promise<RawSession> {
  const session = await trustedRawSession(victim.instance, victim.api, undefined, { capabilities });
  sessions.push(session);
  await session.waitFor((f) => f.t === 'sync' && !f.more);
  return session;
}

function posts(identity: Identity, n: number, content = (seq: number) => `batched ${seq}`): CanopyEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    v: 1 as const,
    author: identity.peerId,
    author_key: b58encode(identity.ed25519.publicKey),
    channel: 'general',
    seq: i + 1,
    kind: 'post' as const,
    ts: Date.now(),
    body: { content: content(i + 1) },
  }));
}

const signedBatch = (identity: Identity, events: CanopyEvent[]): SignedEvent[] =>
  signEvents(nodeCrypto, identity, events, events.map((e) => eventId(nodeCrypto, e)));

const generalPosts = async (api: ApiClient) =>
  ((await api.get('/channels/general/messages?limit=500')).body.messages ?? []) as Array<{ id: string; content: string; delivery_state?: string }>;

describe('batch signatures and cumulative acks on the wire', () => {
  it('stores a batch signed once and acknowledges it with one head; a forged or reordered member is rejected alone', async () => {
    const v = await companion();
    const raw = await rawPeer(v, [...CAPABILITIES]);
    const batch = signedBatch(raw.identity, posts(raw.identity, 40));
    const forged = structuredClone(batch[10]!);
    (forged.event.body as { content: string }).content = 'words never signed';
    const reordered = { ...batch[20]!, proof: batch[21]!.proof };
    raw.send({ t: 'events', events: [...batch.slice(0, 10), forged, ...batch.slice(11, 20), reordered, ...batch.slice(21)] });
    const ack = await raw.waitFor((f) => f.t === 'ack');
    if (ack.t !== 'ack') throw new Error('unreachable');
    expect(ack.rejected?.map((r) => r.index).sort((a, b) => a - b)).toEqual([10, 20]);
    expect(ack.rejected?.every((r) => /signature does not verify/.test(r.reason))).toBe(true);
    // Seq 11 is missing, so the head stops at 10 and the events held beyond it are listed.
    expect(ack.heads).toEqual({ general: { [raw.identity.peerId]: 10 } });
    expect(ack.ids).toHaveLength(38 - 10);
    const stored = await generalPosts(v.api);
    expect(stored.filter((m) => m.content.startsWith('batched '))).toHaveLength(38);
    expect(stored.some((m) => m.content === 'words never signed')).toBe(false);
  }, SLOW);

  it('sends a burst of REST posts that all verify, and takes a cumulative ack as delivery of all of them', async () => {
    const v = await companion();
    const raw = await rawPeer(v, [...CAPABILITIES]);
    const sends = await Promise.all(Array.from({ length: 30 }, (_, i) => v.api.post('/p2p/send', { content: `burst ${i}`, broadcast: true })));
    expect(sends.every((r) => r.status === 200)).toBe(true);
    const received: SignedEvent[] = [];
    while (received.length < 30) {
      const frame = await raw.waitFor((f) => f.t === 'events');
      if (frame.t !== 'events') throw new Error('unreachable');
      received.push(...frame.events.map((e) => e.signed));
    }
    const verdicts = received.map((s) => verifyEvent(nodeCrypto, s));
    expect(verdicts.every((v) => v.ok)).toBe(true);
    // How many share a signature depends on which requests the companion read in one turn of its
    // event loop (tests/unit/companion/publisher.test.ts pins the batching itself).
    raw.send({ t: 'ack', ids: [], heads: { general: { [v.peerId]: 30 } } });
    await eventually('every burst post delivered', async () => {
      const own = (await generalPosts(v.api)).filter((m) => m.content.startsWith('burst '));
      return own.length === 30 && own.every((m) => m.delivery_state === 'delivered');
    });
    // The next ack covers only what came after the first.
    for (let i = 0; i < 5; i++) expect((await v.api.post('/p2p/send', { content: `later ${i}`, broadcast: true })).status).toBe(200);
    raw.send({ t: 'ack', ids: [], heads: { general: { [v.peerId]: 33 } } });
    await eventually('the later posts up to the head delivered, the rest sent', async () => {
      const later = (await generalPosts(v.api)).filter((m) => m.content.startsWith('later '));
      const states = later.sort((a, b) => a.content.localeCompare(b.content)).map((m) => m.delivery_state);
      return JSON.stringify(states) === JSON.stringify(['delivered', 'delivered', 'delivered', 'sent', 'sent']);
    });
  }, SLOW);

  it('signs one by one for a peer from before batch signatures, and acknowledges it id by id', async () => {
    const v = await companion();
    const legacy = await rawPeer(v, []);
    await Promise.all(Array.from({ length: 20 }, (_, i) => v.api.post('/p2p/send', { content: `old-style ${i}`, broadcast: true })));
    const received: SignedEvent[] = [];
    while (received.length < 20) {
      const frame = await legacy.waitFor((f) => f.t === 'events');
      if (frame.t !== 'events') throw new Error('unreachable');
      received.push(...frame.events.map((e) => e.signed));
    }
    expect(received.every((s) => s.proof === undefined && verifyEvent(nodeCrypto, s).ok)).toBe(true);
    const [single] = signedBatch(legacy.identity, posts(legacy.identity, 1, () => 'from an old peer'));
    legacy.send({ t: 'events', events: [single!] });
    const ack = await legacy.waitFor((f) => f.t === 'ack');
    if (ack.t !== 'ack') throw new Error('unreachable');
    expect(ack.heads).toBeUndefined();
    expect(ack.ids).toEqual([eventId(nodeCrypto, single!.event)]);
  }, SLOW);
});
