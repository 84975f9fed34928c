// Profile cards travel over direct links: a name set in one web app shows up on the peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { connectApp } from '../helpers/app-client.ts';
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
  it('shows a display name set after connecting, and the device name as a fallback', async () => {
    const app = await connectApp(a.url);
    await app.call('session.setup', { username: 'alice', password: 'a long password' });
    await app.call('profile.set_device', { display_name: 'Alice laptop' });
    expect(await eventually('device name on B', async () => (await nameOfA()) === 'Alice laptop')).toBe(true);
    await app.call('profile.set_user', { display_name: 'Alice' });
    expect(await eventually('user name on B', async () => (await nameOfA()) === 'Alice')).toBe(true);
    app.close();
  });

  it('sends the card again on every new link', async () => {
    await b.stop({ keepData: true });
    const b2 = await startInstance({ dataDir: b.dataDir, port: b.port });
    b = b2;
    const key = await createKey(b2.dataDir);
    apiB = apiClient(b2.url, key);
    await eventually('reconnected', async () => (await apiB.get('/p2p/peers')).body.connected_peers.includes(peerA), 30_000);
    expect(await nameOfA()).toBe('Alice');
  });
});
