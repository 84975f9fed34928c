// Run by tests/integration/discovery-auto-connect.test.ts inside its own network namespace
// (`unshare -n`, loopback only): an instance with auto-connect on dials every peer it discovers,
// which in the shared namespace would send requests to other test files' instances.
// Prints one JSON line with what it saw; the test asserts on it.
import { apiClient, createKey, eventually } from '../../helpers/api.ts';
import { startInstance } from '../../helpers/instance.ts';

const DEADLINE_MS = 60_000;

async function node() {
  const instance = await startInstance();
  const api = apiClient(instance.url, await createKey(instance.dataDir));
  const peerId = (await api.get('/p2p/status')).body.peer_id as string;
  return { instance, api, peerId };
}

const [a, b] = await Promise.all([node(), node()]);
try {
  const knows = async (from: typeof a, peerId: string) =>
    (await from.api.get('/p2p/peers')).body.known_peers.find((p: { peer_id: string }) => p.peer_id === peerId);
  await eventually('A discovers B', async () => (await a.api.get('/p2p/peers')).body.discovered_peers.includes(b.peerId), DEADLINE_MS);
  const defaultSetting = (await a.api.get('/p2p/discovery')).body.auto_connect;
  // Both have seen each other with auto-connect off: give a wrong auto-dial a browse round to happen.
  await eventually('B discovers A', async () => (await b.api.get('/p2p/peers')).body.discovered_peers.includes(a.peerId), DEADLINE_MS);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const linkedWhileOff = Boolean(await knows(a, b.peerId)) || Boolean(await knows(b, a.peerId));
  const set = (await a.api.post('/p2p/discovery', { auto_connect: true })).body;
  const trusted = await eventually('A links B on its own', async () => {
    const peers = (await a.api.get('/p2p/peers')).body;
    return peers.connected_peers.includes(b.peerId) && (await knows(a, b.peerId));
  }, DEADLINE_MS);
  const request = await eventually('B holds A as a request', async () =>
    (await b.api.get('/p2p/requests')).body.requests.find((r: { peer_id: string }) => r.peer_id === a.peerId), DEADLINE_MS);
  const rejected = (await a.api.post('/p2p/discovery', { auto_connect: 'yes' })).status;
  process.stdout.write(`${JSON.stringify({ defaultSetting, linkedWhileOff, set, trust: trusted.trust, request: Boolean(request), rejected })}\n`);
} finally {
  await Promise.all([a.instance.stop(), b.instance.stop()]);
}
