// Profile cards between two linked peers: a name set in one web app shows up on the peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { connectApp, setUpAccount } from '../helpers/app-client.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

let a: Instance;
let b: Instance;
let apiB: ApiClient;
let peerA: string;

beforeAll(async () => {
  [a, b] = await Promise.all([startInstance(), startInstance()]);
  const apiA = apiClient(a.url, await createKey(a.dataDir));
  apiB = apiClient(b.url, await createKey(b.dataDir));
  const invite = (await apiA.get('/p2p/invite')).body;
  peerA = invite.peer_id;
  expect((await apiB.post('/p2p/invite/import', { invite_code: invite.invite_code })).body.status).toBe('connected');
});
afterAll(async () => Promise.all([a?.stop(), b?.stop()]));

const nameOfA = async () => (await apiB.get('/p2p/peers')).body.known_peers.find((p: any) => p.peer_id === peerA)?.display_name;

describe('profile exchange', () => {
  it('shows the device name, then the username, then the display name as each becomes known', async () => {
    const apiA = apiClient(a.url, await createKey(a.dataDir));
    // No account and no display name yet: the device name is all B can show.
    expect((await apiA.post('/device/profile', { display_name: 'Alice laptop' })).status).toBe(200);
    expect(await eventually('device name on B', async () => (await nameOfA()) === 'Alice laptop')).toBe(true);
    // Until a display name is set, peers see the account's username.
    const app = await connectApp(a.url);
    await setUpAccount(app, a.dataDir, 'alice', 'a long password');
    expect(await eventually('username on B', async () => (await nameOfA()) === 'alice')).toBe(true);
    await app.call('profile.set_user', { display_name: 'Alice' });
    expect(await eventually('user name on B', async () => (await nameOfA()) === 'Alice')).toBe(true);
    app.close();
  });

  it('sends the card again on every new link', async () => {
    // A is renamed while B is down: B can learn the new name only from the card on the new link.
    await b.stop({ keepData: true });
    const apiA = apiClient(a.url, await createKey(a.dataDir));
    expect((await apiA.post('/profile', { display_name: 'Alice, renamed meanwhile' })).status).toBe(200);
    b = await startInstance({ dataDir: b.dataDir, port: b.port });
    apiB = apiClient(b.url, await createKey(b.dataDir));
    await eventually('reconnected', async () => (await apiB.get('/p2p/peers')).body.connected_peers.includes(peerA), 30_000);
    expect(await eventually('the new name on B', async () => (await nameOfA()) === 'Alice, renamed meanwhile')).toBe(true);
  });

  it('sets the device profile over REST in the original shape', async () => {
    const keyA = await createKey(a.dataDir);
    const apiA = apiClient(a.url, keyA);
    const pixel = Buffer.from('89504e470d0a1a0a', 'hex').toString('base64');
    expect((await apiA.post('/device/profile', { display_name: 'A server', description: 'rack 3', avatar_b64: pixel, avatar_mime: 'image/png' })).body).toEqual({ ok: true });
    expect((await apiA.get('/device/profile')).body).toMatchObject({ display_name: 'A server', description: 'rack 3', avatar_b64: pixel, avatar_mime: 'image/png' });
    expect((await apiA.post('/device/profile', { avatar_b64: 'not base64!', avatar_mime: 'image/png' })).status).toBe(400);
    expect((await apiA.post('/device/profile', { display_name: 42 })).body.error).toBe('display_name must be text');
  });
});
