// Channels beyond `general` (issue 7, deliverable 4): creating one over REST, posting in it with
// the original's POST /channels/messages, and its posts crossing a line A–B–C exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

let a: Instance;
let b: Instance;
let c: Instance;
let apiA: ApiClient;
let apiB: ApiClient;
let apiC: ApiClient;
let peerA: string;

/** `importer` imports `inviter`'s invite and waits until the link is up. */
async function link(inviter: ApiClient, importer: ApiClient): Promise<void> {
  const invite = await inviter.get('/p2p/invite');
  const imported = await importer.post('/p2p/invite/import', { invite_code: invite.body.invite_code });
  expect(imported.body.status).toBe('connected');
}

beforeAll(async () => {
  [a, b, c] = await Promise.all([startInstance(), startInstance(), startInstance()]);
  [apiA, apiB, apiC] = await Promise.all([a, b, c].map(async (i) => apiClient(i.url, await createKey(i.dataDir))));
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
    expect(created.body.id).toMatch(/^random-[0-9a-f]{6}$/);
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
      [{ name: 'x'.repeat(58) }, /Invalid channel name/],
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
    expect((await apiA.post('/channels/messages', { channel_id: 'general' })).status).toBe(400);
    const dm = await apiA.post('/channels/messages', { channel_id: `dm:${peerA}:${peerA}`, content: 'hi' });
    expect(dm.status).toBe(404);
  });

  it("carries a post in A's new channel across two hops to C exactly once", async () => {
    const channel = (await apiA.post('/channels', { name: 'hops', description: 'Two hops away' })).body;
    const posted = await apiA.post('/channels/messages', { channel_id: channel.id, content: 'over two hops', metadata: { n: 1 } });
    expect(posted.status).toBe(200);
    expect(posted.body).toMatchObject({ success: true, channel_id: channel.id });

    for (const api of [apiB, apiC]) {
      const messages = await eventually('the post to arrive', async () => {
        const page = await api.get(`/channels/${channel.id}/messages`);
        return page.status === 200 && page.body.messages.length > 0 && page.body.messages;
      });
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({ id: posted.body.message_id, content: 'over two hops', author_peer_id: peerA, metadata: { n: 1 } });
    }
    const listed = await eventually('C to list the channel', async () => {
      const list = await apiC.get('/channels');
      return list.body.channels.find((ch: { id: string }) => ch.id === channel.id);
    });
    expect(listed).toMatchObject({ message_count: 1 });

    // C can answer in the channel it learned, and A gets the answer through B.
    const reply = await apiC.post('/channels/messages', { channel_id: channel.id, content: 'heard you' });
    expect(reply.status).toBe(200);
    await eventually('A to see the reply', async () => {
      const page = await apiA.get(`/channels/${channel.id}/messages`);
      return page.body.messages.some((m: { content: string }) => m.content === 'heard you');
    });
  });

  it('keeps /p2p/send broadcast posting to general', async () => {
    const sent = await apiA.post('/p2p/send', { content: 'still general', broadcast: true });
    expect(sent.body.channel_id).toBe('general');
  });
});
