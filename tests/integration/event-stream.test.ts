// GET /api/v1/events (issue 11, item 2): Server-Sent Events over real HTTP between real companion
// processes — live posts, DMs, delivery and peer changes; resume by Last-Event-ID or ?since= after
// a disconnect and after a restart with nothing lost or repeated; filtering by the key's
// permissions; heartbeats; a client that stops reading is dropped with a reason (and resumes).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { openEventStream, type EventStreamClient, type StreamEvent } from '../helpers/event-stream.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { EVENT_DATA, StreamEvent as DocumentedEvent } from '../../companion/api/schemas/events.ts';

const FAST = { CANOPY_EVENT_STREAM_HEARTBEAT_MS: '200', CANOPY_DISCOVERY: 'off' };

let a: Instance;
let b: Instance;
let apiA: ApiClient;
let apiB: ApiClient;
let keyA: string;
let keyB: string;
let peerA: string;
let peerB: string;
const streams: EventStreamClient[] = [];

async function stream(on: Instance, key: string | undefined, options: Parameters<typeof openEventStream>[2] = {}) {
  const opened = await openEventStream(on.url, key, options);
  streams.push(opened);
  return opened;
}

async function link(inviter: ApiClient, importer: ApiClient): Promise<void> {
  const invite = await inviter.get('/p2p/invite');
  const imported = await importer.post('/p2p/invite/import', { invite_code: invite.body.invite_code });
  expect(imported.body.status).toBe('connected');
}

/** (messages, notices) of an event id, for ordering checks. */
const position = (id: string | undefined) => id!.split('.').map(Number) as [number, number];
const isAfter = (later: string | undefined, earlier: string | undefined) => {
  const [m1, n1] = position(later);
  const [m0, n0] = position(earlier);
  return m1 >= m0 && n1 >= n0 && (m1 > m0 || n1 > n0);
};

const dmContents = (events: StreamEvent[]) => events.filter((e) => e.event === 'dm').map((e) => e.data.content as string);

beforeAll(async () => {
  [a, b] = await Promise.all([startInstance({ env: FAST }), startInstance({ env: FAST })]);
  [keyA, keyB] = await Promise.all([createKey(a.dataDir), createKey(b.dataDir)]);
  [apiA, apiB] = [apiClient(a.url, keyA), apiClient(b.url, keyB)];
  peerA = (await apiA.get('/p2p/status')).body.peer_id;
  peerB = (await apiB.get('/p2p/status')).body.peer_id;
  await link(apiA, apiB);
}, 120_000);

afterAll(async () => {
  // Every event any stream received matches what openapi.json documents for it.
  const received = streams.flatMap((opened) => opened.events);
  expect(new Set(received.map((e) => e.event))).toEqual(new Set(Object.keys(EVENT_DATA)));
  for (const event of received) {
    const result = DocumentedEvent.safeParse(event);
    expect(result.success, `${event.event} ${JSON.stringify(event.data).slice(0, 300)}: ${JSON.stringify(result.error?.issues)}`).toBe(true);
  }
  for (const opened of streams) opened.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('event stream: access', () => {
  it('needs a key holding read_messages or view_peers, and a cursor it wrote', async () => {
    const anonymous = await stream(b, undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toBe('API key required');

    const writeOnly = await stream(b, await createKey(b.dataDir, 'write_messages,manage_keys'));
    expect(writeOnly.status).toBe(403);
    expect(writeOnly.body).toMatchObject({ error: 'Invalid or insufficient permissions', required_permission: 'read_messages or view_peers' });

    for (const permission of ['read_messages', 'view_peers']) {
      const allowed = await stream(b, await createKey(b.dataDir, permission));
      expect(allowed.status, permission).toBe(200);
      expect(allowed.contentType).toMatch(/^text\/event-stream/);
      await allowed.next((e) => e.event === 'ready');
      allowed.close();
    }

    for (const since of ['zz', '1', '1.2.3', '-1.0', '1e3.0']) {
      const bad = await stream(b, keyB, { since });
      expect(bad.status, since).toBe(400);
      expect(bad.body.error).toBe('Invalid since: pass the id of the last event you received');
    }
  });

  it('says so with a reset event when asked to resume from a position it never reached', async () => {
    const ahead = await stream(b, keyB, { since: '999999999.999999999' });
    const first = await ahead.next(() => true);
    expect(first).toMatchObject({ event: 'reset', data: { reason: 'cursor_unknown' } });
    const ready = await ahead.next((e) => e.event === 'ready');
    expect(ready.data.cursor).toBe(first.data.cursor);
    ahead.close();
  });

  it('sends heartbeats while nothing happens', async () => {
    const quiet = await stream(b, keyB);
    await quiet.next((e) => e.event === 'ready');
    await eventually('two heartbeats', async () => quiet.comments >= 2, 5_000);
    quiet.close();
  });
});

describe('event stream: live', () => {
  it('delivers posts and DMs as they arrive, and delivery changes to their sender', async () => {
    const onB = await stream(b, keyB);
    const onA = await stream(a, keyA);
    const readyB = await onB.next((e) => e.event === 'ready');
    await onA.next((e) => e.event === 'ready');

    const posted = await apiA.post('/channels/messages', { channel_id: 'general', content: 'live post' });
    const sent = await apiA.post('/p2p/send', { peer_id: peerB, content: 'live dm' });
    expect([posted.status, sent.status]).toEqual([200, 200]);

    const post = await onB.next((e) => e.event === 'post' && e.data.content === 'live post');
    expect(post.data).toMatchObject({ channel_id: 'general', author_peer_id: peerA, origin: 'remote', id: posted.body.message_id });
    const dm = await onB.next((e) => e.event === 'dm' && e.data.content === 'live dm');
    expect(dm.data).toMatchObject({ direction: 'incoming', sender_id: peerA, peer_id: peerA, id: sent.body.message_id });
    expect(isAfter(post.id, readyB.id)).toBe(true);

    // A sees its own messages, then B's acknowledgement as a delivery change.
    await onA.next((e) => e.event === 'dm' && e.data.id === sent.body.message_id && e.data.direction === 'outgoing');
    await onA.next((e) => e.event === 'delivery' && e.data.messages.some((m: any) => m.id === sent.body.message_id && m.delivery_state === 'delivered'));

    // A new channel reaches both sides as a `channel` event.
    const created = await apiA.post('/channels', { name: 'streamed', description: 'made while streaming' });
    expect(created.status).toBe(201);
    const channel = await onB.next((e) => e.event === 'channel' && e.data.id === created.body.id);
    expect(channel.data).toMatchObject({ name: 'streamed', description: 'made while streaming', origin_peer: peerA });

    // Every id moves forward.
    const ids = onB.events.map((e) => e.id);
    for (let i = 1; i < ids.length; i++) expect(isAfter(ids[i], ids[i - 1]), `${ids[i - 1]} → ${ids[i]}`).toBe(true);
    onA.close();
    onB.close();
  });

  it('shows each key only what its permissions allow', async () => {
    const messagesOnly = await stream(b, await createKey(b.dataDir, 'read_messages'));
    const peersOnly = await stream(b, await createKey(b.dataDir, 'view_peers'));
    const peersOnA = await stream(a, await createKey(a.dataDir, 'view_peers'));
    await Promise.all([messagesOnly, peersOnly, peersOnA].map((opened) => opened.next((e) => e.event === 'ready')));
    // A lets introduced peers in only as requests, so C's dial below becomes one.
    expect((await apiA.post('/p2p/trust_introduced', { trust_introduced: false })).status).toBe(200);

    // A peer event: a third instance links to B and names itself.
    const c = await startInstance({ env: FAST });
    try {
      const apiC = apiClient(c.url, await createKey(c.dataDir));
      const peerC = (await apiC.get('/p2p/status')).body.peer_id;
      await link(apiB, apiC);
      expect((await apiC.post('/profile', { display_name: 'Carol' })).status).toBe(200);
      await apiA.post('/p2p/send', { peer_id: peerB, content: 'for readers only' });

      const up = await peersOnly.next((e) => e.event === 'peer' && e.data.peer_id === peerC && e.data.connected === true);
      expect(up.data).not.toHaveProperty('content');
      await peersOnly.next((e) => e.event === 'profile' && e.data.peer_id === peerC && e.data.display_name === 'Carol');
      await messagesOnly.next((e) => e.event === 'dm' && e.data.content === 'for readers only');
      // B introduces C to A; C dials A, and A (not trusting introductions) holds it as a request.
      const introduced = await peersOnA.next((e) => e.event === 'introduction' && e.data.peer_id === peerC, { timeoutMs: 30_000 });
      expect(introduced.data).toMatchObject({ state: 'introduced', introduced_by: [peerB] });
      await apiC.post('/p2p/connect_introduced', { peer_id: peerA });
      await peersOnA.next((e) => e.event === 'request' && e.data.peer_id === peerC && e.data.state === 'pending', { timeoutMs: 30_000 });
      expect((await apiA.post(`/p2p/requests/${peerC}/decline`)).status).toBe(200);
      await peersOnA.next((e) => e.event === 'request' && e.data.peer_id === peerC && e.data.state === 'resolved');
      // Give the other stream time to (wrongly) receive what it must not.
      await c.stop();
      await peersOnly.next((e) => e.event === 'peer' && e.data.peer_id === peerC && e.data.connected === false);
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await c.stop();
      await apiA.post('/p2p/trust_introduced', { trust_introduced: true });
    }
    const kinds = (events: StreamEvent[]) => new Set(events.map((e) => e.event));
    for (const kind of ['post', 'dm', 'delivery', 'channel']) expect(kinds(peersOnly.events), kind).not.toContain(kind);
    for (const kind of ['peer', 'profile', 'request', 'introduction']) expect(kinds(messagesOnly.events), kind).not.toContain(kind);
    messagesOnly.close();
    peersOnly.close();
    peersOnA.close();
  }, 60_000);

  it('drops a stream whose key is revoked', async () => {
    const admin = apiClient(b.url, await createKey(b.dataDir, 'manage_keys'));
    const created = await admin.post('/keys', { permissions: ['read_messages'], name: 'to revoke' });
    const revocable = await stream(b, created.body.api_key);
    await revocable.next((e) => e.event === 'ready');
    expect((await admin.delete(`/keys/${created.body.id}`)).status).toBe(200);
    const dropped = await revocable.next((e) => e.event === 'dropped', { timeoutMs: 5_000 });
    expect(dropped.data.reason).toBe('key_revoked');
    await eventually('the stream to end', async () => revocable.ended(), 5_000);
  });
});

describe('event stream: resume', () => {
  it('resumes after a disconnect from Last-Event-ID or ?since= with nothing lost or repeated', async () => {
    const first = await stream(b, keyB);
    await first.next((e) => e.event === 'ready');
    for (const n of [1, 2, 3]) await apiA.post('/p2p/send', { peer_id: peerB, content: `before ${n}` });
    const last = await first.next((e) => e.event === 'dm' && e.data.content === 'before 3');
    first.close();

    for (const n of [4, 5, 6]) await apiA.post('/p2p/send', { peer_id: peerB, content: `missed ${n}` });
    await eventually('B to hold the missed DMs', async () => (await apiB.get(`/messages?peer_id=${peerA}&limit=3`)).body.messages.some((m: any) => m.content === 'missed 6'));

    for (const options of [{ lastEventId: last.id }, { since: last.id }]) {
      const resumed = await stream(b, keyB, options);
      await resumed.next((e) => e.event === 'ready');
      expect(dmContents(resumed.events), JSON.stringify(options)).toEqual(['missed 4', 'missed 5', 'missed 6']);
      expect(resumed.events[0]!.event).not.toBe('reset');
      resumed.close();
    }
  });

  it('resumes across a restart of the companion with nothing lost or repeated', async () => {
    const before = await stream(b, keyB);
    await before.next((e) => e.event === 'ready');
    await apiA.post('/p2p/send', { peer_id: peerB, content: 'just before the restart' });
    await before.next((e) => e.event === 'dm' && e.data.content === 'just before the restart');
    await b.stop({ keepData: true });
    await eventually('the stream to end with the companion', async () => before.ended(), 10_000);
    const lastId = before.events.filter((e) => e.id !== undefined).at(-1)!.id;

    // Sent while B is down: A queues them, and B catches up when it is back.
    for (const n of [1, 2, 3]) await apiA.post('/p2p/send', { peer_id: peerB, content: `while down ${n}` });
    b = await startInstance({ env: FAST, port: b.port, dataDir: b.dataDir });

    const after = await stream(b, keyB, { lastEventId: lastId });
    await after.next((e) => e.event === 'dm' && e.data.content === 'while down 3', { timeoutMs: 30_000 });
    await after.next((e) => e.event === 'peer' && e.data.peer_id === peerA && e.data.connected === true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(dmContents(after.events)).toEqual(['while down 1', 'while down 2', 'while down 3']);
    after.close();
  }, 90_000);
});

describe('event stream: bounds', () => {
  let s: Instance;
  let apiS: ApiClient;
  let keyS: string;

  beforeAll(async () => {
    s = await startInstance({
      env: { ...FAST, CANOPY_EVENT_STREAM_BUFFER_BYTES: '65536', CANOPY_EVENT_STREAM_STALL_MS: '1000', CANOPY_EVENT_STREAMS_MAX: '3' },
    });
    keyS = await createKey(s.dataDir);
    apiS = apiClient(s.url, keyS);
  }, 60_000);
  afterAll(async () => s?.stop());

  it('drops a client that stops reading, with a reason, and lets it resume with nothing lost', async () => {
    const slow = await stream(s, keyS);
    await slow.next((e) => e.event === 'ready');
    slow.pause();
    const filler = 'x'.repeat(60_000);
    const log = () => readFileSync(join(s.dataDir, 'logs', 'canopy.log'), 'utf8');
    let posted = 0;
    // Until the companion gives up on the client: the socket's buffers fill first.
    while (!log().includes('slow_consumer') && posted < 1_000) {
      await Promise.all(
        Array.from({ length: 20 }, () => apiS.post('/channels/messages', { channel_id: 'general', content: `${posted++} ${filler}` })),
      );
    }
    await eventually('the companion to drop the slow client', async () => log().includes('slow_consumer'), 10_000);
    slow.resume();
    await eventually('the dropped stream to end', async () => slow.ended(), 10_000);
    const dropped = slow.events.at(-1)!;
    expect(dropped).toMatchObject({ event: 'dropped', data: { reason: 'slow_consumer' } });
    const seen = slow.events.filter((e) => e.event === 'post').map((e) => Number.parseInt(e.data.content, 10));
    expect(seen.length).toBeLessThan(posted);

    const resumed = await stream(s, keyS, { lastEventId: dropped.id });
    await resumed.next((e) => e.event === 'ready', { timeoutMs: 30_000 });
    const rest = resumed.events.filter((e) => e.event === 'post').map((e) => Number.parseInt(e.data.content, 10));
    const all = [...seen, ...rest];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort((x, y) => x - y)).toEqual(Array.from({ length: posted }, (_, i) => i));
    resumed.close();
  }, 120_000);

  it('refuses more streams than its limit with 429', async () => {
    const open = [await stream(s, keyS), await stream(s, keyS), await stream(s, keyS)];
    for (const each of open) await each.next((e) => e.event === 'ready');
    const refused = await stream(s, keyS);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('Too many event streams open (limit 3)');
    open[0]!.close();
    await eventually('a slot to free up', async () => {
      const again = await stream(s, keyS);
      again.close();
      return again.status === 200;
    });
    for (const each of open) each.close();
  });
});
