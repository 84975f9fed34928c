// A relay under a flood (issue 8, item 4): R runs full_relay and carries an honest circuit between
// A and B (both unreachable, --advertise a closed port). Two scripted peers M1 and M2, trusted by R
// (they hold its invite), then flood it: M1 asks for circuits to M2 far faster than allowed, and
// sends data through an accepted circuit far faster than allowed. R refuses and closes with the
// documented codes, while the honest circuit and R's own links keep working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import type { DecodeFrameResult } from '../../protocol/frames.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { CIRCUIT_RATE, openedBy } from '../../protocol/mesh/relay.ts';
import { eventually } from '../helpers/api.ts';
import { scriptedPeer } from '../helpers/raw-peer.ts';
import { introduced, link, nodePool, peerRow, UNREACHABLE, type TestNode as Node } from '../helpers/relay-nodes.ts';

const PER_PEER = 4;
const pool = nodePool();
const node = pool.start;

type Received = Extract<DecodeFrameResult, { ok: true }>['frame'];
type CircuitClose = Extract<Received, { t: 'circuit_close' }>;
type CircuitIncoming = Extract<Received, { t: 'circuit_incoming' }>;
type CircuitAccept = Extract<Received, { t: 'circuit_accept' }>;
const isClose = (frame: Received): frame is CircuitClose => frame.t === 'circuit_close';
const isIncoming = (frame: Received): frame is CircuitIncoming => frame.t === 'circuit_incoming';
const isAccept = (frame: Received): frame is CircuitAccept => frame.t === 'circuit_accept';

const relayedRow = async (on: Node, peerId: string) => {
  const row = await peerRow(on, peerId);
  return row?.connection === 'relayed' ? row : undefined;
};

async function dmArrives(from: Node, to: Node, content: string): Promise<void> {
  expect((await from.api.post('/p2p/send', { content, peer_id: to.peerId })).status).toBe(200);
  await eventually(`${content} arrives`, async () => (await to.api.get(`/messages?peer_id=${from.peerId}`)).body.messages.some((m: any) => m.content === content), 20_000);
}

/** Ids a scripted peer may choose for circuits it opens on its link with `other` (the parity rule). */
function idsFor(opener: string, other: string): () => number {
  let next = openedBy(1, opener, other) ? 1 : 2;
  return () => {
    const id = next;
    next += 2;
    return id;
  };
}

let r: Node;
let a: Node;
let b: Node;
let m1: Awaited<ReturnType<typeof scriptedPeer>>;
let m2: Awaited<ReturnType<typeof scriptedPeer>>;
let nextId: () => number;

beforeAll(async () => {
  r = await node({ CANOPY_RELAY_POLICY: 'full_relay', CANOPY_RELAY_MAX_CIRCUITS_PER_PEER: String(PER_PEER) });
  [a, b] = await Promise.all([node({ CANOPY_ADVERTISE: UNREACHABLE }), node({ CANOPY_ADVERTISE: UNREACHABLE })]);
  await link(r, a);
  await link(r, b);
  await eventually('R introduces B to A', () => introduced(a, b.peerId));
  await a.api.post('/p2p/connect_introduced', { peer_id: b.peerId });
  await eventually('A and B linked through R', async () => Boolean(await relayedRow(a, b.peerId)), 40_000);

  const invite = (await r.api.get('/p2p/invite')).body.invite_code as string;
  const meshUrl = `ws://127.0.0.1:${r.instance.meshPort}/p2p`;
  [m1, m2] = await Promise.all([
    scriptedPeer(meshUrl, generateIdentity(nodeCrypto), invite, '127.0.0.2'),
    scriptedPeer(meshUrl, generateIdentity(nodeCrypto), invite, '127.0.0.3'),
  ]);
  nextId = idsFor(m1.peerId, r.peerId);
  await eventually('R links M1 and M2', async () => {
    const connected = (await r.api.get('/p2p/peers')).body.connected_peers as string[];
    return connected.includes(m1.peerId) && connected.includes(m2.peerId);
  });
}, 120_000);

afterAll(async () => {
  m1?.close();
  m2?.close();
  await pool.stopAll();
});

describe('relay limits under a flood', () => {
  it('refuses a flood of circuit requests past the per-peer limit and the request rate', async () => {
    const requested = Array.from({ length: 30 }, () => nextId());
    for (const id of requested) m1.send({ t: 'circuit_open', id, target: m2.peerId });

    // The first PER_PEER reach M2; the rest of the burst (8 requests) hits the per-peer limit, and
    // everything after the burst the request rate.
    const incoming = await m2.waitFor(isIncoming, PER_PEER);
    expect(incoming.every((frame) => frame.from === m1.peerId)).toBe(true);
    const closes = await m1.waitFor(isClose, requested.length - PER_PEER);
    const codes = closes.map((frame) => frame.code);
    expect(codes.filter((code) => code === 'peer_circuit_limit')).toHaveLength(8 - PER_PEER);
    expect(codes.filter((code) => code === 'rate_limited')).toHaveLength(requested.length - 8);
    expect(new Set(closes.map((frame) => frame.id))).toEqual(new Set(requested.slice(PER_PEER)));
    expect(m2.received.filter(isIncoming)).toHaveLength(PER_PEER);

    // The honest circuit still carries DMs, and R's own links still work.
    await dmArrives(a, b, 'through R during a flood of requests');
    await dmArrives(r, a, 'from R itself during the flood');
    const carried = (await r.api.get('/p2p/relay_status')).body.carried_circuits as Array<{ from: string; to: string; state: string }>;
    expect(carried.filter((c) => c.state === 'open').map((c) => [c.from, c.to].sort())).toEqual([[a.peerId, b.peerId].sort()]);
    expect(carried.filter((c) => c.from === m1.peerId)).toHaveLength(PER_PEER);

    // M2 never accepts: R closes those circuits itself (10 s to accept) and frees their slots.
    const timedOut = await m1.waitFor((frame): frame is CircuitClose => isClose(frame) && frame.code === 'timeout', PER_PEER, 20_000);
    expect(timedOut.map((frame) => frame.id).sort()).toEqual(requested.slice(0, PER_PEER).sort());
    await eventually('R carries only the honest circuit', async () => (await r.api.get('/p2p/relay_status')).body.carried_circuits.length === 1);
  }, 60_000);

  it('closes a circuit whose data comes faster than the relay allows', async () => {
    // When it runs after the flood, over 10 s have passed: the request budget (1 per 2 s) has refilled.
    const id = nextId();
    const seen = m2.received.filter(isIncoming).length;
    m1.send({ t: 'circuit_open', id, target: m2.peerId });
    const [incoming] = (await m2.waitFor(isIncoming, seen + 1)).slice(-1);
    m2.send({ t: 'circuit_accept', id: incoming!.id });
    await m1.waitFor((frame): frame is CircuitAccept => isAccept(frame) && frame.id === id);

    // 20,000 small frames at once: far past the burst of 4,000 and the rate of 2,000/s (CIRCUIT_RATE),
    // even for a relay slowed down by a busy machine (a byte flood would not be, as the relay counts
    // what it reads: one slow enough to read under 2 MiB/s is never flooded).
    const frames = 20_000;
    const started = Date.now();
    for (let i = 0; i < frames; i++) m1.send({ t: 'circuit_data', id, data: 'AA' });
    const [closed] = await m1.waitFor((frame): frame is CircuitClose => isClose(frame) && frame.id === id, 1, 30_000);
    // The rate limit, not the relay's backpressure guard (same code, another reason).
    expect(closed).toMatchObject({ code: 'rate_limited', reason: 'the circuit sent faster than the relay allows' });
    const [closedForM2] = await m2.waitFor((frame): frame is CircuitClose => isClose(frame) && frame.id === incoming!.id, 1, 30_000);
    expect(closedForM2!.code).toBe('rate_limited');
    // What got through is the burst plus what the rate refilled meanwhile, not all that was sent.
    const seconds = (Date.now() - started) / 1000;
    const forwarded = m2.received.filter((frame) => frame.t === 'circuit_data').length;
    expect(forwarded).toBeLessThanOrEqual(CIRCUIT_RATE.burstFrames + CIRCUIT_RATE.framesPerSecond * seconds + 1);
    expect(forwarded).toBeLessThan(frames);

    // M1 stays linked (a limit is not a protocol error), the honest circuit works, R's links too.
    expect(m1.isOpen()).toBe(true);
    await dmArrives(b, a, 'through R after a data flood');
    await dmArrives(r, b, 'from R after the data flood');
    expect(await relayedRow(a, b.peerId)).toMatchObject({ via: r.peerId });
  }, 90_000);
});
