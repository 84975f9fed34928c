// Hostile or broken input on the mesh port closes that one connection; the instance keeps serving.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { utf8 } from '../../protocol/bytes.ts';
import { generateIdentity, type Identity } from '../../protocol/identity.ts';
import { encodeFrame } from '../../protocol/frames.ts';
import { apiClient, createKey, eventually } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { openRaw, rawHandshake } from '../helpers/raw-peer.ts';

let target: Instance;
let meshUrl: string;

beforeAll(async () => {
  target = await startInstance();
  meshUrl = `ws://127.0.0.1:${target.meshPort}/p2p`;
});
afterAll(async () => target?.stop());

const open = () => openRaw(meshUrl);
const honestHandshake = (identity: Identity) => rawHandshake(meshUrl, identity);

async function stillServing(): Promise<void> {
  const status = await apiClient(target.url).get('/p2p/status');
  expect(status.status).toBe(200);
  const { transport, ...client } = await honestHandshake(generateIdentity(nodeCrypto));
  client.ws.send(transport.seal(encodeFrame({ t: 'ping', n: 7 })));
  // The node opens with its own frames (its sync vector); the pong follows.
  let frame: { t: string; n?: number };
  do frame = JSON.parse(new TextDecoder().decode(transport.open(await client.next())));
  while (frame.t !== 'pong');
  expect(frame).toEqual({ t: 'pong', n: 7 });
  client.ws.close();
}

describe('mesh port under hostile input', () => {
  it('closes a connection that sends random bytes', async () => {
    const client = await open();
    client.ws.send(randomBytes(512));
    const closed = await client.closed;
    expect(closed.code).toBe(4001);
    expect(closed.reason).toMatch(/handshake failed/i);
    await stillServing();
  });

  it('closes a connection that sends text instead of binary frames', async () => {
    const client = await open();
    client.ws.send('{"type":"handshake","peer_id":"x"}');
    expect((await client.closed).code).toBe(4000);
    await stillServing();
  });

  it('refuses a replayed handshake', async () => {
    const identity = generateIdentity(nodeCrypto);
    const recorded = await honestHandshake(identity);
    recorded.ws.close();

    const replay = await open();
    replay.ws.send(recorded.message1);
    await replay.next(); // the responder answers with fresh ephemeral keys...
    replay.ws.send(recorded.message3); // ...so the recorded third message cannot authenticate
    const closed = await replay.closed;
    expect(closed.code).toBe(4001);
    await stillServing();
  });

  it('closes a link on a tampered or replayed transport frame', async () => {
    const { transport, ...client } = await honestHandshake(generateIdentity(nodeCrypto));
    const frame = transport.seal(encodeFrame({ t: 'ping', n: 1 }));
    client.ws.send(frame);
    transport.open(await client.next());
    client.ws.send(frame); // replay of an already-accepted frame
    const closed = await client.closed;
    expect(closed.code).toBe(4005);
    await stillServing();
  });

  it('closes a link that sends a malformed frame after the handshake', async () => {
    const { transport, ...client } = await honestHandshake(generateIdentity(nodeCrypto));
    client.ws.send(transport.seal(utf8('{"t":"events","events":"not a list"}')));
    const closed = await client.closed;
    expect(closed.code).toBe(4000);
    expect(closed.reason).toMatch(/protocol violation/);
    await stillServing();
  });

  it('refuses an oversize frame', async () => {
    const client = await open();
    client.ws.send(randomBytes(1024 * 1024 + 1024));
    expect((await client.closed).code).toBe(1009);
    await stillServing();
  });

  it('refuses an identity whose peer ID does not match its key', async () => {
    const identity = generateIdentity(nodeCrypto);
    const liar = { ...identity, peerId: generateIdentity(nodeCrypto).peerId };
    const client = await honestHandshake(liar);
    const closed = await client.closed;
    expect(closed.code).toBe(4001);
    expect(closed.reason).toMatch(/Peer ID does not match public key/);
  });

  it('reports imported_not_connected when an endpoint answers as a different peer', async () => {
    const other = await startInstance();
    try {
      const key = await createKey(other.dataDir);
      const api = apiClient(other.url, key);
      // An invite for a peer that does not live at the endpoint it names (target's mesh port).
      const impostor = generateIdentity(nodeCrypto);
      const { encodeInvite } = await import('../../protocol/invite.ts');
      const code = encodeInvite({
        peerId: impostor.peerId,
        ed25519PublicKey: impostor.ed25519.publicKey,
        x25519PublicKey: impostor.x25519.publicKey,
        endpoints: [`ws://127.0.0.1:${target.meshPort}`],
      });
      const result = await api.post('/p2p/invite/import', { invite_code: code });
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({ status: 'imported_not_connected', diagnostic_code: 'direct_connect_failed' });
      expect(result.body.errors[0].error).toMatch(/expected/);
      await eventually('no link to the impostor', async () => (await api.get('/p2p/peers')).body.total_connected === 0);
    } finally {
      await other.stop();
    }
  });
});
