// The web app's encrypted link, driven from Node: accounts, remembered browsers, revocation,
// idempotent outbox sends, cursor sync and live pushes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { b58decode } from '../../protocol/bytes.ts';
import { peerIdMatches } from '../../protocol/identity.ts';
import { apiClient, createKey, eventually } from '../helpers/api.ts';
import { connectApp, newDeviceKey, readSetupCode, setUpAccount } from '../helpers/app-client.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

let node: Instance;
const owner = newDeviceKey();
const PASSWORD = 'correct horse battery';

// Every test but the first-run one uses `node`, whose account `owner`'s browser created up front.
beforeAll(async () => {
  node = await startInstance();
  const app = await connectApp(node.url, owner);
  expect((await setUpAccount(app, node.dataDir, 'alice', PASSWORD)).ok).toBe(true);
  app.close();
});
afterAll(async () => node?.stop());

describe('app link', () => {
  it('on a fresh companion: verifiable identity, no calls before login, the account set up once, the browser remembered', async () => {
    const fresh = await startInstance();
    try {
      const app = await connectApp(fresh.url, owner);
      const status = (await apiClient(fresh.url).get('/p2p/status')).body;
      expect(app.hello.peer_id).toBe(status.peer_id);
      expect(peerIdMatches(nodeCrypto, app.hello.peer_id, b58decode(app.hello.ed25519_key))).toBe(true);
      const session = await app.call('session.status');
      expect(session.result).toMatchObject({ setup_required: true, authenticated: false, username: null });
      expect((await app.call('network.peers')).error).toMatchObject({ status: 401, message: 'Not logged in' });

      const setup_code = await readSetupCode(fresh.dataDir);
      expect((await app.call('session.setup', { username: 'alice', password: 'short', setup_code })).error?.message).toMatch(/at least 8/);
      const setup = await app.call('session.setup', { username: 'alice', password: PASSWORD, setup_code });
      expect(setup.result).toMatchObject({ authenticated: true, username: 'alice', setup_required: false });
      expect((await app.call('session.setup', { username: 'mallory', password: PASSWORD, setup_code })).error?.status).toBe(409);
      app.close();

      const again = await connectApp(fresh.url, owner);
      expect((await again.call('session.status')).result).toMatchObject({ authenticated: true, username: 'alice' });
      expect((await again.call('network.peers')).ok).toBe(true);
      again.close();
    } finally {
      await fresh.stop();
    }
  });

  it('rejects a wrong password clearly and rate-limits guessing', async () => {
    const guesser = await connectApp(node.url);
    // Each refusal says how many wrong tries are left; the last one also says the wait it started.
    for (let i = 0; i < 5; i++) {
      expect((await guesser.call('session.login', { username: 'alice', password: `wrong ${i}` })).error).toEqual({
        status: 401,
        message: 'Invalid username or password',
        details: i < 4 ? { attempts_left: 4 - i } : { attempts_left: 0, retry_after_seconds: 1 },
      });
    }
    const blocked = await guesser.call('session.login', { username: 'alice', password: PASSWORD });
    expect(blocked.error?.status).toBe(429);
    expect(blocked.error?.message).toMatch(/Too many failed logins/);
    // Another browser with the right password is not locked out.
    const laptop = await connectApp(node.url);
    expect((await laptop.call('session.login', { username: 'alice', password: PASSWORD })).result).toMatchObject({ authenticated: true });
    guesser.close();
    laptop.close();
  });

  it('validates parameters and names unknown methods', async () => {
    const app = await connectApp(node.url, owner);
    expect((await app.call('messages.send', { broadcast: true })).error).toMatchObject({ status: 400, message: 'Message content required' });
    expect((await app.call('messages.since', { cursor: -1 })).error?.status).toBe(400);
    expect((await app.call('no.such.method')).error).toMatchObject({ status: 404, message: 'Unknown method: no.such.method' });
    app.close();
  });

  it('makes outbox sends idempotent and syncs by cursor', async () => {
    const app = await connectApp(node.url, owner);
    const first = await app.call('messages.send', { content: 'from the outbox', broadcast: true, client_id: 'c-0000000001' });
    const retry = await app.call('messages.send', { content: 'from the outbox', broadcast: true, client_id: 'c-0000000001' });
    expect(retry.result.message_id).toBe(first.result.message_id);
    expect(first.result.message).toMatchObject({
      channel: 'general',
      content: 'from the outbox',
      direction: 'outgoing',
      kind: 'post',
      client_id: 'c-0000000001',
    });
    const pushed = await eventually('push of the outbox send', async () =>
      app.pushes.find((p) => p.topic === 'message' && p.data.id === first.result.message_id),
    );
    expect(pushed.data.client_id).toBe('c-0000000001');
    const all = await app.call('messages.since', { cursor: 0 });
    expect(all.result.messages.filter((m: any) => m.content === 'from the outbox')).toHaveLength(1);
    const after = await app.call('messages.since', { cursor: all.result.cursor });
    expect(after.result).toMatchObject({ messages: [], has_more: false, cursor: all.result.cursor });
    app.close();
  });

  it('sends the same outbox entry once when it is retried while the first send is still in flight', async () => {
    const app = await connectApp(node.url, owner);
    const params = { content: 'sent twice at once', broadcast: true, client_id: 'c-inflight-01' };
    const [first, second] = await Promise.all([app.call('messages.send', params), app.call('messages.send', params)]);
    expect(second.result.message_id).toBe(first.result.message_id);
    const all = await app.call('messages.since', { cursor: 0, limit: 1000 });
    expect(all.result.messages.filter((m: { content: string }) => m.content === 'sent twice at once')).toHaveLength(1);
    app.close();
  });

  it('starts a new replica from the newest rows of each conversation and the cursor to follow', async () => {
    const app = await connectApp(node.url, owner);
    const channelId: string = (await app.call('channels.create', { name: 'recent-first' })).result.channel.id;
    // Sent together: one group commit on the companion, in call order.
    await Promise.all(Array.from({ length: 60 }, (_, i) => app.call('messages.send', { content: `recent general ${i}`, broadcast: true })));
    for (const n of [1, 2]) await app.call('messages.send', { content: `recent channel ${n}`, channel: channelId });
    const recent = await app.call('messages.recent', { per_conversation: 50 });
    const contents = (recent.result.messages as Array<{ channel: string; content: string }>).map((m) => m.content);
    expect(contents.filter((c) => c.startsWith('recent general ')).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `recent general ${i + 10}`).sort());
    expect(contents.filter((c) => c.startsWith('recent channel '))).toEqual(['recent channel 2', 'recent channel 1']);
    expect((await app.call('messages.since', { cursor: recent.result.cursor })).result.messages).toEqual([]);
    expect((await app.call('messages.recent', { per_conversation: 0 })).error?.status).toBe(400);
    app.close();
  });

  it('creates channels as REST does, pushes the list, and posts into them idempotently', async () => {
    const app = await connectApp(node.url, owner);
    expect((await app.call('channels.create', { name: 'Bad Name' })).error).toMatchObject({ status: 400, message: expect.stringMatching(/^Invalid channel name/) });
    expect((await app.call('channels.create', { name: 'general' })).error?.status).toBe(409);
    expect((await app.call('channels.create', {})).error).toMatchObject({ status: 400, message: 'Channel name required' });

    const made = await app.call('channels.create', { name: 'book-club', description: 'What we read' });
    expect(made.result).toMatchObject({ created: true, channel: { name: 'book-club', description: 'What we read', origin_peer: expect.any(String) } });
    const channelId: string = made.result.channel.id;
    const again = await app.call('channels.create', { name: 'book-club' });
    expect(again.result).toMatchObject({ created: false, channel: { id: channelId } });
    const listed = await eventually('channels push', async () =>
      app.pushes.find((p) => p.topic === 'channels' && p.data.channels.some((c: { id: string }) => c.id === channelId)),
    );
    expect(listed.data.channels.find((c: { id: string }) => c.id === channelId)).toMatchObject({ description: 'What we read' });

    const params = { content: 'chapter one', channel: channelId, client_id: 'c-channel-0001' };
    const first = await app.call('messages.send', params);
    expect(first.result.message).toMatchObject({ channel: channelId, kind: 'post', content: 'chapter one', client_id: 'c-channel-0001' });
    expect((await app.call('messages.send', params)).result.message_id).toBe(first.result.message_id);
    const history = await app.call('messages.history', { channel: channelId });
    expect(history.result.messages.map((m: { content: string }) => m.content)).toEqual(['chapter one']);

    expect((await app.call('messages.send', { content: 'x', channel: 'no-such-channel' })).error).toMatchObject({ status: 404, message: 'Channel not found' });
    expect((await app.call('messages.send', { content: 'x', channel: channelId, broadcast: true })).error?.status).toBe(400);
    app.close();
  });

  it('pushes messages stored by other paths (here: the REST API) live', async () => {
    const app = await connectApp(node.url, owner);
    const rest = apiClient(node.url, await createKey(node.dataDir));
    await rest.post('/p2p/send', { content: 'via REST', broadcast: true });
    const push = await eventually('message push', async () => app.pushes.find((p) => p.topic === 'message' && p.data.content === 'via REST'));
    expect(push.data).toMatchObject({ channel: 'general', kind: 'post', direction: 'outgoing' });
    app.close();
  });

  it('lists browsers and revokes one, closing its link at once', async () => {
    const app = await connectApp(node.url, owner);
    const phoneKey = newDeviceKey();
    const phone = await connectApp(node.url, phoneKey, 'Phone');
    await phone.call('session.login', { username: 'alice', password: PASSWORD });
    const listed = await app.call('devices.list');
    const phoneEntry = listed.result.devices.find((d: any) => d.label === 'Phone');
    expect(phoneEntry).toMatchObject({ current: false, connected: true });
    expect(listed.result.devices.find((d: any) => d.current)).toBeTruthy();

    await app.call('devices.revoke', { id: phoneEntry.id });
    const closed = await phone.closed;
    expect(closed.code).toBe(4002);
    expect(phone.pushes.some((p) => p.topic === 'session' && p.data.revoked)).toBe(true);
    const back = await connectApp(node.url, phoneKey, 'Phone');
    expect((await back.call('session.status')).result.authenticated).toBe(false);
    back.close();
    app.close();
  });

  it('keeps profiles and validates avatars', async () => {
    const app = await connectApp(node.url, owner);
    const saved = await app.call('profile.set_user', { display_name: 'Alice', bio: 'hi' });
    expect(saved.result.user).toMatchObject({ display_name: 'Alice', bio: 'hi', avatar: null });
    expect((await app.call('profile.set_device', { avatar: 'javascript:alert(1)' })).error?.status).toBe(400);
    expect((await app.call('profile.get')).result.user.display_name).toBe('Alice');
    app.close();
  });

  it('closes a link that is not a Noise handshake', async () => {
    const { openRaw } = await import('../helpers/raw-peer.ts');
    const raw = await openRaw(`${node.url.replace('http', 'ws')}/api/v1/app`);
    raw.ws.send(new Uint8Array(100));
    expect((await raw.closed).code).toBe(4001);
  });
});
