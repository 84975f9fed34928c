// Unreachable peers (issue 8): A and B advertise a closed port (--advertise ws://127.0.0.1:1), so
// either can dial out and nobody can dial in, as behind NAT. Both link to R (full_relay). A's
// Connect on B tries B's address, asks R to broker (B's dial back fails too), then opens a blind
// circuit through R and runs its own Noise handshake with B inside it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKERED_DIAL_WAIT_MS } from '../../companion/service/introduction-service.ts';
import { eventually } from '../helpers/api.ts';
import { introduced, link, nodePool, peerRow, UNREACHABLE, type TestNode as Node } from '../helpers/relay-nodes.ts';

const pool = nodePool();
const node = pool.start;
const restart = pool.restart;

/** Everything the relay wrote to disk: its database files and logs. */
function relayFiles(relay: Node): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(readFileSync(path).toString('latin1'));
    }
  };
  walk(relay.instance.dataDir);
  return out.join('\n');
}

let r: Node;
let a: Node;
let b: Node;

beforeAll(async () => {
  r = await node({ CANOPY_RELAY_POLICY: 'full_relay' });
  a = await node({ CANOPY_ADVERTISE: UNREACHABLE });
  b = await node({ CANOPY_ADVERTISE: UNREACHABLE });
  await link(r, a);
  await link(r, b);
  await eventually('R introduces B to A', () => introduced(a, b.peerId));
}, 120_000);

afterAll(pool.stopAll);

describe('relay circuits', () => {
  it('advertises only the --advertise endpoints', async () => {
    const invite = (await a.api.get('/p2p/invite')).body;
    expect(invite.endpoints).toEqual([UNREACHABLE]);
    const introduced = (await a.api.get('/p2p/introduced')).body.introduced_peers.find((p: any) => p.peer_id === b.peerId);
    expect(introduced.endpoints).toEqual([UNREACHABLE]);
  });

  it('connects two unreachable peers through R: brokering first, then a circuit', async () => {
    const answer = await a.api.post('/p2p/connect_introduced', { peer_id: b.peerId });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'brokering', peer_id: b.peerId, via_peer: r.peerId, diagnostic_code: 'introduced_peer_broker_connect' });
    // B reports through R that its dial back failed, so A opens the circuit without waiting out
    // BROKERED_DIAL_WAIT_MS (this bound only tells the report from the timeout; it takes ~0.2 s).
    const row = await eventually('A linked to B through R', async () => {
      const found = await peerRow(a, b.peerId);
      return found?.connection === 'relayed' && found;
    }, BROKERED_DIAL_WAIT_MS - 2_000);
    expect(row.via).toBe(r.peerId);
    expect((await peerRow(b, a.peerId))).toMatchObject({ connection: 'relayed', via: r.peerId });
    const status = (await a.api.get('/p2p/relay_status')).body;
    expect(status.active_relays).toEqual({ [b.peerId]: r.peerId });
    expect(status.routing_table).toEqual({ [b.peerId]: r.peerId });
  }, 60_000);

  it('carries DMs both ways, which the relay cannot read', async () => {
    const secretAB = `relayed secret ${Math.random().toString(36).slice(2)}`;
    const secretBA = `relayed answer ${Math.random().toString(36).slice(2)}`;
    const sent = await a.api.post('/p2p/send', { content: secretAB, peer_id: b.peerId });
    expect(sent.status).toBe(200);
    await b.api.post('/p2p/send', { content: secretBA, peer_id: a.peerId });
    await eventually('B has A’s DM', async () => (await b.api.get(`/messages?peer_id=${a.peerId}`)).body.messages.some((m: any) => m.content === secretAB));
    await eventually('A has B’s DM', async () => (await a.api.get(`/messages?peer_id=${b.peerId}`)).body.messages.some((m: any) => m.content === secretBA));
    await eventually('A sees its DM delivered', async () => {
      const page = await a.api.get(`/messages?peer_id=${b.peerId}`);
      return page.body.messages.find((m: any) => m.id === sent.body.message_id)?.delivery_state === 'delivered';
    });
    const carried = (await r.api.get('/p2p/relay_status')).body.carried_circuits;
    expect(carried).toHaveLength(1);
    expect(carried[0]).toMatchObject({ state: 'open' });
    expect(carried[0].bytes_from + carried[0].bytes_to).toBeGreaterThan(0);
    const onDisk = relayFiles(r);
    expect(onDisk).not.toContain(secretAB);
    expect(onDisk).not.toContain(secretBA);
    expect(r.instance.output()).not.toContain(secretAB);
  }, 60_000);

  it('catches up over the circuit after one end restarts', async () => {
    await b.instance.stop({ keepData: true });
    const dm = `while B was away ${Math.random().toString(36).slice(2)}`;
    const post = `a post B missed ${Math.random().toString(36).slice(2)}`;
    expect((await a.api.post('/p2p/send', { content: dm, peer_id: b.peerId })).body.status).toBe('queued');
    expect((await a.api.post('/p2p/send', { content: post, broadcast: true })).status).toBe(200);
    b = await restart(b, { CANOPY_ADVERTISE: UNREACHABLE });
    await eventually('B relayed to A again', async () => (await peerRow(b, a.peerId))?.connection === 'relayed', 60_000);
    await eventually('B has the DM', async () => (await b.api.get(`/messages?peer_id=${a.peerId}`)).body.messages.some((m: any) => m.content === dm));
    await eventually('B has the post', async () => (await b.api.get('/channels/general/messages')).body.messages.some((m: any) => m.content === post));
  }, 120_000);

  it('rebuilds the circuit after the relay restarts, and a DM sent meanwhile arrives', async () => {
    await r.instance.stop({ keepData: true });
    await eventually('A sees B gone with R', async () => !(await peerRow(a, b.peerId)));
    const dm = `while R was down ${Math.random().toString(36).slice(2)}`;
    expect((await a.api.post('/p2p/send', { content: dm, peer_id: b.peerId })).body.status).toBe('queued');
    r = await restart(r, { CANOPY_RELAY_POLICY: 'full_relay' });
    await eventually('A and B relayed through R again', async () => (await peerRow(a, b.peerId))?.via === r.peerId, 60_000);
    await eventually('B has the DM', async () => (await b.api.get(`/messages?peer_id=${a.peerId}`)).body.messages.some((m: any) => m.content === dm));
    expect(relayFiles(r)).not.toContain(dm);
  }, 120_000);

  it('moves to a direct link once the peer can be dialled, and closes the circuit', async () => {
    // B comes back reachable: it advertises its real mesh address from now on.
    await b.instance.stop({ keepData: true });
    b = await restart(b, {});
    await eventually('B linked to A (relayed or already direct)', async () => Boolean(await peerRow(a, b.peerId)), 60_000);
    const promoted = await a.api.post('/p2p/promote_direct', { peer_id: b.peerId });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    expect(promoted.body).toMatchObject({ status: 'direct', peer_id: b.peerId });
    await eventually('A links B directly', async () => (await peerRow(a, b.peerId))?.connection === 'direct');
    await eventually('B links A directly', async () => (await peerRow(b, a.peerId))?.connection === 'direct');
    await eventually('R carries no circuit', async () => (await r.api.get('/p2p/relay_status')).body.carried_circuits.length === 0);
    expect((await a.api.get('/p2p/relay_status')).body.active_relays).toEqual({});
    const dm = `direct now ${Math.random().toString(36).slice(2)}`;
    await a.api.post('/p2p/send', { content: dm, peer_id: b.peerId });
    await eventually('B has the direct DM', async () => (await b.api.get(`/messages?peer_id=${a.peerId}`)).body.messages.some((m: any) => m.content === dm));
  }, 120_000);

  it('promote_direct: 404 for an unknown peer, 400 without a peer_id', async () => {
    expect((await a.api.post('/p2p/promote_direct', { peer_id: 'NoSuchPeer123456' })).status).toBe(404);
    expect((await a.api.post('/p2p/promote_direct', {})).status).toBe(400);
  });
});
