// LAN discovery (issue 7, deliverable 1): real companion processes on loopback advertise
// `_canopy._tcp` and find each other; Connect dials with the expected peer ID, so a spoofed record
// links nothing. Other test files run beside this one and their instances advertise too: every
// assertion filters by the peer IDs this file started, never exact list equality.
import { Bonjour } from 'bonjour-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { CANOPY_VERSION } from '../../protocol/version.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

interface Node {
  instance: Instance;
  api: ApiClient;
  peerId: string;
}

const DISCOVERY_DEADLINE_MS = 60_000;
const nodes: Node[] = [];

async function startNode(env: Record<string, string> = {}): Promise<Node> {
  const instance = await startInstance({ env });
  const api = apiClient(instance.url, await createKey(instance.dataDir));
  const peerId = (await api.get('/p2p/status')).body.peer_id as string;
  const node = { instance, api, peerId };
  nodes.push(node);
  return node;
}

async function discovered(node: Node): Promise<Array<{ peer_id: string; endpoints: string[] }>> {
  const { body } = await node.api.get('/p2p/peers');
  expect(body.discovered_peers).toEqual(body.discovered_peer_details.map((d: { peer_id: string }) => d.peer_id));
  expect(body.total_discovered).toBe(body.discovered_peers.length);
  return body.discovered_peer_details;
}

const sees = (node: Node, peerId: string) => async () => (await discovered(node)).find((d) => d.peer_id === peerId);

let a: Node;
let b: Node;
let hidden: Node;

beforeAll(async () => {
  [a, b, hidden] = await Promise.all([startNode(), startNode(), startNode({ CANOPY_DISCOVERY: 'off' })]);
}, 120_000);

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.instance.stop()));
});

describe('LAN discovery', () => {
  it('two instances on loopback find each other, never themselves, and report it in /p2p/status', async () => {
    const bSeenByA = await eventually('A discovers B', sees(a, b.peerId), DISCOVERY_DEADLINE_MS);
    await eventually('B discovers A', sees(b, a.peerId), DISCOVERY_DEADLINE_MS);
    expect(bSeenByA.endpoints).toEqual([`ws://127.0.0.1:${b.instance.meshPort}`]);
    expect(bSeenByA).toMatchObject({ version: CANOPY_VERSION, connected: false });
    expect((await discovered(a)).some((d) => d.peer_id === a.peerId)).toBe(false);
    const status = (await a.api.get('/p2p/status')).body;
    expect(status.discovery).toBe('running');
    expect(status.discovered_peers).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('an instance started with --advertise is found at the advertised endpoints, not its own', async () => {
    const advertised = ['ws://127.0.0.1:1', 'ws://127.0.0.2:9771'];
    const forwarded = await startNode({ CANOPY_ADVERTISE: advertised.join(',') });
    const seen = await eventually('A discovers the advertised endpoints', sees(a, forwarded.peerId), DISCOVERY_DEADLINE_MS);
    expect(seen.endpoints).toEqual(advertised);
  }, 90_000);

  it('CANOPY_DISCOVERY=off neither advertises nor browses', async () => {
    await eventually('A discovers B', sees(a, b.peerId), DISCOVERY_DEADLINE_MS);
    expect((await hidden.api.get('/p2p/status')).body).toMatchObject({ discovery: 'off', discovered_peers: 0 });
    expect(await discovered(hidden)).toEqual([]);
    expect((await discovered(a)).some((d) => d.peer_id === hidden.peerId)).toBe(false);
  }, 90_000);

  it('discovery alone links nobody: auto-connect is off by default', async () => {
    await eventually('A discovers B', sees(a, b.peerId), DISCOVERY_DEADLINE_MS);
    const peers = (await a.api.get('/p2p/peers')).body;
    expect(peers.connected_peers).not.toContain(b.peerId);
    expect(peers.known_peers.map((p: { peer_id: string }) => p.peer_id)).not.toContain(b.peerId);
  }, 90_000);

  it('a record claiming another peer ID at someone else\'s port links nothing: the handshake proves the wrong key', async () => {
    // The spoof claims `hidden`'s peer ID (it does not advertise itself) but points at B's mesh port.
    const spoofer = new Bonjour({ interface: '127.0.0.1', bind: '0.0.0.0' } as never, () => {});
    try {
      spoofer.publish({
        name: `canopy-${hidden.peerId}`,
        type: 'canopy',
        port: b.instance.meshPort,
        txt: { peer_id: hidden.peerId, version: CANOPY_VERSION, capabilities: 'chat' },
      });
      await eventually('A discovers the spoofed record', sees(a, hidden.peerId), DISCOVERY_DEADLINE_MS);
      const res = await a.api.post('/p2p/connect_discovered', { peer_id: hidden.peerId });
      expect(res.status).toBe(502);
      expect(JSON.stringify(res.body.errors)).toMatch(/peer id|mismatch|expected/i);
      const peers = (await a.api.get('/p2p/peers')).body;
      const known = peers.known_peers.map((p: { peer_id: string }) => p.peer_id);
      expect(known).not.toContain(hidden.peerId);
      expect(known).not.toContain(b.peerId);
      expect(peers.connected_peers).not.toContain(b.peerId);
    } finally {
      await new Promise<void>((resolve) => spoofer.unpublishAll(() => resolve()));
      spoofer.destroy();
    }
  }, 90_000);

  it('an ID nobody advertised is a 404', async () => {
    const stranger = generateIdentity(nodeCrypto).peerId;
    const res = await a.api.post('/p2p/connect_discovered', { peer_id: stranger });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/discovered/);
  });

  it('Connect on a discovered peer links it as the user\'s choice; the other side sees a request', async () => {
    await eventually('A discovers B', sees(a, b.peerId), DISCOVERY_DEADLINE_MS);
    const res = await a.api.post('/p2p/connect_discovered', { peer_id: b.peerId });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'connected', peer_id: b.peerId, awaiting_acceptance: true });
    expect(res.body.message).toMatch(/They will see a request/);
    const known = (await a.api.get('/p2p/peers')).body.known_peers.find((p: { peer_id: string }) => p.peer_id === b.peerId);
    expect(known).toMatchObject({ trust: 'invited' });
    await eventually('B holds A as a request', async () =>
      (await b.api.get('/p2p/requests')).body.requests.find((r: { peer_id: string }) => r.peer_id === a.peerId));
    expect((await b.api.get('/p2p/peers')).body.known_peers.map((p: { peer_id: string }) => p.peer_id)).not.toContain(a.peerId);
  }, 90_000);

  it('a stopped instance drops out of the list (goodbye)', async () => {
    await eventually('B discovers A', sees(b, a.peerId), DISCOVERY_DEADLINE_MS);
    await a.instance.stop();
    await eventually('A is gone from B\'s list', async () => !(await discovered(b)).some((d) => d.peer_id === a.peerId), DISCOVERY_DEADLINE_MS);
  }, 90_000);
});
