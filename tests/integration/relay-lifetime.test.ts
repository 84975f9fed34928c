// A circuit that reaches its relay's lifetime limit is closed, and the ends open a new one on their
// own (issue 8, items 3 and 4): R runs full_relay with circuits limited to 6 s.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../helpers/api.ts';
import { introduced, link, nodePool, peerRow, UNREACHABLE, type TestNode as Node } from '../helpers/relay-nodes.ts';

const pool = nodePool();
const node = pool.start;

const carried = async (relay: Node) => (await relay.api.get('/p2p/relay_status')).body.carried_circuits as Array<{ opened_at: string; state: string }>;

let r: Node;
let a: Node;
let b: Node;

beforeAll(async () => {
  [r, a, b] = await Promise.all([
    node({ CANOPY_RELAY_POLICY: 'full_relay', CANOPY_RELAY_MAX_CIRCUIT_LIFETIME_MS: '6000' }),
    node({ CANOPY_ADVERTISE: UNREACHABLE }),
    node({ CANOPY_ADVERTISE: UNREACHABLE }),
  ]);
  await link(r, a);
  await link(r, b);
  await eventually('R introduces B to A', () => introduced(a, b.peerId));
}, 120_000);

afterAll(pool.stopAll);

it('closes a circuit at its lifetime; the ends open a new one and keep talking', async () => {
  await a.api.post('/p2p/connect_introduced', { peer_id: b.peerId });
  const [first] = await eventually('a circuit is open', async () => {
    const circuits = await carried(r);
    return circuits.length === 1 && circuits[0]!.state === 'open' && circuits;
  }, 40_000);
  const next = await eventually('a new circuit replaced it', async () => {
    const circuits = await carried(r);
    return circuits.find((c) => c.state === 'open' && c.opened_at !== first!.opened_at);
  }, 60_000);
  expect(Date.parse(next.opened_at) - Date.parse(first!.opened_at)).toBeGreaterThanOrEqual(6_000);
  const closedEvents = (await a.api.get('/p2p/activity?limit=500')).body.events.filter(
    (e: { peer_id: string; status: string }) => e.peer_id === b.peerId && e.status === 'disconnected',
  );
  expect(closedEvents.length).toBeGreaterThanOrEqual(1);
  const dm = `over the new circuit ${Math.random().toString(36).slice(2)}`;
  await eventually('A relayed to B again', async () => (await peerRow(a, b.peerId))?.via === r.peerId);
  await a.api.post('/p2p/send', { content: dm, peer_id: b.peerId });
  await eventually('B has the DM', async () => (await b.api.get(`/messages?peer_id=${a.peerId}`)).body.messages.some((m: any) => m.content === dm));
}, 150_000);
