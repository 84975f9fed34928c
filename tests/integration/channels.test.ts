// Channels beyond `general` (issue 7, deliverable 4): creating one over REST (a signed metadata
// event from its creator), posting in it with the original's POST /channels/messages, and channel
// and posts crossing a line A–B–C exactly once, live and by catch-up; forged metadata is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b58encode } from '../../protocol/bytes.ts';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { channelIdFor, signEvent, type SignedEvent } from '../../protocol/events.ts';
import type { Identity } from '../../protocol/identity.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { rawPost, trustedRawSession } from '../helpers/raw-session.ts';

let a: Instance;
let b: Instance;
let c: Instance;
let apiA: ApiClient;
let apiB: ApiClient;
let apiC: ApiClient;
let peerA: string;
let keyB: string;

type Channel = { id: string; name: string; description: string; origin_peer: string; message_count: number };

const channelOn = (api: ApiClient, id: string) =>
  eventually(`channel ${id} to be listed`, async () => {
    const list = await api.get('/channels');
    // Listed with its metadata: a channel known only from its posts has no origin yet.
    return (list.body.channels as Channel[]).find((ch) => ch.id === id && ch.origin_peer);
  });

/** The posts of a channel once `count` have arrived (and the caller checks there are no more). */
const postsOn = (api: ApiClient, id: string, count: number) =>
  eventually(`${count} post(s) in ${id}`, async () => {
    const page = await api.get(`/channels/${id}/messages`);
    return page.status === 200 && page.body.messages.length >= count && (page.body.messages as Array<{ id: string; content: string }>);
  });

/** `importer` imports `inviter`'s invite and waits until the link is up. */
async function link(inviter: ApiClient, importer: ApiClient): Promise<void> {
  const invite = await inviter.get('/p2p/invite');
  const imported = await importer.post('/p2p/invite/import', { invite_code: invite.body.invite_code });
  expect(imported.body.status).toBe('connected');
}

beforeAll(async () => {
  [a, b, c] = await Promise.all([startInstance(), startInstance(), startInstance()]);
  keyB = await createKey(b.dataDir);
  [apiA, apiB, apiC] = [apiClient(a.url, await createKey(a.dataDir)), apiClient(b.url, keyB), apiClient(c.url, await createKey(c.dataDir))];
  peerA = (await apiClient(a.url).get('/p2p/status')).body.peer_id;
  // A line: A – B – C (C has no link to A).
  await link(apiA, apiB);
  await link(apiB, apiC);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
});

describe('channels', () => {
  it('creates a channel with an id that names its creator, and returns the same one again', async () => {
    const created = await apiA.post('/channels', { name: 'random', description: 'Anything goes' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'random', description: 'Anything goes', origin_peer: peerA, message_count: 0 });
    expect(created.body.id).toMatch(/^random-[0-9a-f]{12}$/);
    expect(typeof created.body.created_at).toBe('string');

    const again = await apiA.post('/channels', { name: 'random' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(created.body.id);

    // Another peer's "random" is another channel: no silent merge.
    const other = await apiC.post('/channels', { name: 'random' });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(created.body.id);

    const list = await apiA.get('/channels');
    expect(list.body.channels.map((ch: { id: string }) => ch.id)).toEqual(expect.arrayContaining(['general', created.body.id]));
  });

  it('refuses invalid channel requests in plain words', async () => {
    for (const [body, pattern] of [
      [{}, /Channel name required/],
      [{ name: 'Has Spaces' }, /Invalid channel name/],
      [{ name: 'x'.repeat(52) }, /Invalid channel name/],
      [{ name: 'ok', description: 'd'.repeat(501) }, /Description too long/],
      [{ name: 'ok', description: 5 }, /description must be a string/],
    ] as const) {
      const answer = await apiA.post('/channels', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toMatch(pattern);
    }
    expect((await apiA.post('/channels', { name: 'general' })).status).toBe(409);

    const unknown = await apiA.post('/channels/messages', { channel_id: 'nowhere-000000', content: 'hi' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('Channel not found');
    expect((await apiA.post('/channels', { name: 'x'.repeat(51) })).status).toBe(201);
    expect((await apiA.post('/channels/messages', { channel_id: 'general' })).status).toBe(400);
    const dm = await apiA.post('/channels/messages', { channel_id: `dm:${peerA}:${peerA}`, content: 'hi' });
    expect(dm.status).toBe(404);
  });

  it("carries A's new channel and its post across two hops to C exactly once", async () => {
    const channel = (await apiA.post('/channels', { name: 'hops', description: 'Two hops away' })).body as Channel;
    const posted = await apiA.post('/channels/messages', { channel_id: channel.id, content: 'over two hops', metadata: { n: 1 } });
    expect(posted.status).toBe(200);
    expect(posted.body).toMatchObject({ success: true, channel_id: channel.id });

    for (const api of [apiB, apiC]) {
      const listed = await channelOn(api, channel.id);
      expect(listed).toMatchObject({ name: 'hops', description: 'Two hops away', origin_peer: peerA });
      const messages = await postsOn(api, channel.id, 1);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({ id: posted.body.message_id, content: 'over two hops', author_peer_id: peerA, metadata: { n: 1 } });
      expect((await channelOn(api, channel.id)).message_count).toBe(1);
    }

    // C answers in the channel it learned, and A gets the answer through B.
    const reply = await apiC.post('/channels/messages', { channel_id: channel.id, content: 'heard you' });
    expect(reply.status).toBe(200);
    const onA = await postsOn(apiA, channel.id, 2);
    expect(onA.map((m) => m.content).sort()).toEqual(['heard you', 'over two hops']);
  });

  it('refuses forged channel metadata and unknown event kinds one by one, keeping the link', async () => {
    const raw = await trustedRawSession(a, apiA);
    try {
      await raw.waitFor((f) => f.t === 'sync' && !f.more);
      const metadata = (identity: Identity, channel: string, name: string): SignedEvent =>
        signEvent(nodeCrypto, identity, {
          v: 1,
          author: identity.peerId,
          author_key: b58encode(identity.ed25519.publicKey),
          channel,
          seq: 1,
          kind: 'channel',
          ts: Date.now(),
          body: { name, description: 'not yours' },
        });
      // Metadata for a channel whose id names A as creator, signed by the raw peer.
      const stolen = metadata(raw.identity, channelIdFor(nodeCrypto, peerA, 'stolen'), 'stolen');
      // Its own channel, with the signature broken.
      const own = metadata(raw.identity, channelIdFor(nodeCrypto, raw.identity.peerId, 'mine'), 'mine');
      const badSig: SignedEvent = { event: { ...own.event, body: { name: 'mine', description: 'altered' } }, sig: own.sig };
      // A kind from a newer peer.
      const future = { ...rawPost(raw.identity, 'general', 1, 'x'), event: { ...rawPost(raw.identity, 'general', 1, 'x').event, kind: 'reaction' } };
      const good = rawPost(raw.identity, 'general', 1, 'honest post beside forgeries');
      raw.send({ t: 'events', events: [stolen, badSig, future as unknown as SignedEvent, good] });
      const ack = await raw.waitFor((f) => f.t === 'ack');
      if (ack.t !== 'ack') throw new Error('unreachable');
      expect(ack.rejected?.map((r) => r.index).sort()).toEqual([0, 1, 2]);
      expect(ack.rejected?.find((r) => r.index === 0)?.reason).toMatch(/not signed by the channel's creator/);
      expect(ack.rejected?.find((r) => r.index === 1)?.reason).toMatch(/signature does not verify/);
      expect(ack.ids).toHaveLength(1);
      expect(raw.isOpen()).toBe(true);
      const ids = ((await apiA.get('/channels')).body.channels as Channel[]).map((ch) => ch.id);
      expect(ids).not.toContain(stolen.event.channel);
      expect(ids).not.toContain(own.event.channel);
      expect((await postsOn(apiA, 'general', 1)).some((m) => m.content === 'honest post beside forgeries')).toBe(true);
      // Well-formed own metadata is accepted from the same link.
      raw.send({ t: 'events', events: [own] });
      const accepted = await raw.waitFor((f) => f.t === 'ack');
      if (accepted.t !== 'ack') throw new Error('unreachable');
      expect(accepted.rejected ?? []).toEqual([]);
      expect(await channelOn(apiA, own.event.channel)).toMatchObject({ name: 'mine', description: 'not yours', origin_peer: raw.identity.peerId });
    } finally {
      raw.close();
    }
  });

  it('keeps /p2p/send broadcast posting to general', async () => {
    const sent = await apiA.post('/p2p/send', { content: 'still general', broadcast: true });
    expect(sent.body.channel_id).toBe('general');
  });

  it('catches up a channel created while B was offline, on B and on C beyond it, exactly once', async () => {
    await b.stop({ keepData: true });
    const channel = (await apiA.post('/channels', { name: 'while-away', description: 'made while B slept' })).body as Channel;
    const posted = await apiA.post('/channels/messages', { channel_id: channel.id, content: 'you missed this' });
    expect(posted.status).toBe(200);

    b = await startInstance({ dataDir: b.dataDir, port: b.port });
    apiB = apiClient(b.url, keyB);
    for (const api of [apiB, apiC]) {
      expect(await channelOn(api, channel.id)).toMatchObject({ name: 'while-away', description: 'made while B slept', origin_peer: peerA });
      const messages = await postsOn(api, channel.id, 1);
      expect(messages.map((m) => m.id)).toEqual([posted.body.message_id]);
    }
  }, 120_000);
});
