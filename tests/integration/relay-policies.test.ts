// What each relay policy stops (issue 8, items 2, 3 and 5): A and B cannot be dialled (--advertise a
// closed port) and both link to R. Under broker_only R introduces them but carries no circuit; under
// off it does neither; under full_relay it carries one, and switching away closes it at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/api.ts';
import { introduced, link, nodePool, peerRow, UNREACHABLE, type TestNode as Node } from '../helpers/relay-nodes.ts';

const pool = nodePool();
const node = pool.start;

const connection = peerRow;
const activity = async (on: Node, peerId: string) =>
  ((await on.api.get('/p2p/activity?limit=500')).body.events as Array<{ peer_id: string; status: string; detail: string }>).filter(
    (event) => event.peer_id === peerId,
  );
const setPolicy = async (policy: string) => expect((await r.api.post('/p2p/relay_policy', { policy })).body.relay_policy).toBe(policy);

let r: Node;
let a: Node;
let b: Node;

beforeAll(async () => {
  [r, a, b] = await Promise.all([node({ CANOPY_RELAY_POLICY: 'broker_only' }), node({ CANOPY_ADVERTISE: UNREACHABLE }), node({ CANOPY_ADVERTISE: UNREACHABLE })]);
  await link(r, a);
  await link(r, b);
  await eventually('R introduces B to A', () => introduced(a, b.peerId));
}, 120_000);

afterAll(pool.stopAll);

describe('relay policies', () => {
  it('broker_only: R introduces A to B, but carries no circuit', async () => {
    const answer = await a.api.post('/p2p/connect_introduced', { peer_id: b.peerId });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body).toMatchObject({ status: 'brokering', via_peer: r.peerId });
    // R passed A's endpoints to B, which dialled them (and failed: A cannot be reached).
    await eventually('R brokered', async () => (await activity(r, a.peerId)).some((e) => e.status === 'broker'));
    await eventually('B tried the brokered dial', async () => (await activity(b, a.peerId)).some((e) => e.status === 'broker'));
    const refused = await eventually(
      'A reports R refusing to relay',
      async () => (await activity(a, b.peerId)).find((e) => e.status === 'failed' && e.detail.includes(`relay through ${r.peerId}`)),
      30_000,
    );
    expect(refused.detail).toContain('does not relay');
    expect(await connection(a, b.peerId)).toBeUndefined();
    expect((await r.api.get('/p2p/relay_status')).body).toMatchObject({ relay_policy: 'broker_only', carried_circuits: [] });
  }, 60_000);

  it('off: R neither brokers nor relays, and A is told why', async () => {
    await setPolicy('off');
    const answer = await a.api.post('/p2p/connect_introduced', { peer_id: b.peerId });
    expect(answer.status, JSON.stringify(answer.body)).toBe(502);
    expect(answer.body).toMatchObject({
      status: 'failed',
      diagnostic_code: 'introduced_peer_direct_connect_failed',
      relay_refusals: [{ via_peer: r.peerId, diagnostic_code: 'relay_disabled' }],
    });
    expect(answer.body.tried).toHaveLength(3);
    expect(answer.body.tried[1]).toMatch(/^introduction by .*policy is off/);
    expect(answer.body.message).toContain('Tried:');
    expect((await activity(r, a.peerId)).filter((e) => e.status === 'broker')).toHaveLength(1);
    expect(await connection(a, b.peerId)).toBeUndefined();
  }, 60_000);

  it('full_relay carries the circuit; switching away closes it, switching back lets the ends rebuild it', async () => {
    await setPolicy('full_relay');
    await a.api.post('/p2p/connect_introduced', { peer_id: b.peerId });
    await eventually('A relayed to B through R', async () => (await connection(a, b.peerId))?.via === r.peerId, 40_000);
    expect((await r.api.get('/p2p/relay_status')).body.carried_circuits).toHaveLength(1);

    const refusalsOf = async () => (await activity(a, b.peerId)).filter((e) => e.status === 'failed' && e.detail.includes('does not relay')).length;
    const refusedBefore = await refusalsOf();
    await setPolicy('off');
    await eventually('the circuit is closed on both ends', async () => !(await connection(a, b.peerId)) && !(await connection(b, a.peerId)));
    expect((await r.api.get('/p2p/relay_status')).body.carried_circuits).toEqual([]);
    // The ends keep trying (backoff) and R keeps refusing.
    await eventually('A retried and was refused', async () => (await refusalsOf()) > refusedBefore, 30_000);

    await setPolicy('full_relay');
    await eventually('the ends rebuild the circuit', async () => (await connection(a, b.peerId))?.via === r.peerId, 90_000);
    const dm = `after the policy came back ${Math.random().toString(36).slice(2)}`;
    await b.api.post('/p2p/send', { content: dm, peer_id: a.peerId });
    await eventually('A has the DM', async () => (await a.api.get(`/messages?peer_id=${b.peerId}`)).body.messages.some((m: any) => m.content === dm));
  }, 150_000);
});
