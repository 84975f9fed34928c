// Hostile or broken input on the mesh port closes that one connection; the instance keeps serving.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { b58encode, b64urlEncode, utf8 } from '../../protocol/bytes.ts';
import { generateIdentity, type Identity } from '../../protocol/identity.ts';
import { CANOPY_NOISE_PROLOGUE, SecureTransport, XXHandshake } from '../../protocol/noise/index.ts';
import { encodeFrame } from '../../protocol/frames.ts';
import { apiClient, createKey, eventually } from '../helpers/api.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';

let target: Instance;
let meshUrl: string;

beforeAll(async () => {
  target = await startInstance();
  meshUrl = `ws://127.0.0.1:${target.meshPort}/p2p`;
});
afterAll(async () => target?.stop());

/** A raw mesh client: a socket plus a queue of what it received and how it closed. */
async function open(url = meshUrl) {
  const ws = new WebSocket(url);
  const received: Buffer[] = [];
  const waiters: Array<() => void> = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data) => {
    received.push(data as Buffer);
    waiters.splice(0).forEach((w) => w());
  });
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = async (): Promise<Uint8Array> => {
    while (received.length === 0) await new Promise<void>((r) => waiters.push(r));
    return new Uint8Array(received.shift()!);
  };
  return { ws, next, closed };
}

function payloadFor(identity: Identity): Uint8Array {
  return utf8(
    JSON.stringify({
      peer_id: identity.peerId,
      ed25519_key: b58encode(identity.ed25519.publicKey),
      binding: b64urlEncode(identity.binding),
      protocol_version: 1,
      canopy_version: 'test',
      capabilities: [],
      endpoints: [],
    }),
  );
}

/** Runs a full, honest initiator handshake and returns the two messages it sent. */
async function honestHandshake(identity: Identity) {
  const client = await open();
  const noise = new XXHandshake(nodeCrypto, { initiator: true, staticKey: identity.x25519, prologue: CANOPY_NOISE_PROLOGUE });
  const message1 = noise.writeMessage(new Uint8Array(0));
  client.ws.send(message1);
  noise.readMessage(await client.next());
  const message3 = noise.writeMessage(payloadFor(identity));
  client.ws.send(message3);
  return { client, message1, message3, transport: SecureTransport.fromHandshake(noise) };
}

async function stillServing(): Promise<void> {
  const status = await apiClient(target.url).get('/p2p/status');
  expect(status.status).toBe(200);
  const { client, transport } = await honestHandshake(generateIdentity(nodeCrypto));
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
    recorded.client.ws.close();

    const replay = await open();
    replay.ws.send(recorded.message1);
    await replay.next(); // the responder answers with fresh ephemeral keys...
    replay.ws.send(recorded.message3); // ...so the recorded third message cannot authenticate
    const closed = await replay.closed;
    expect(closed.code).toBe(4001);
    await stillServing();
  });

  it('closes a link on a tampered or replayed transport frame', async () => {
    const { client, transport } = await honestHandshake(generateIdentity(nodeCrypto));
    const frame = transport.seal(encodeFrame({ t: 'ping', n: 1 }));
    client.ws.send(frame);
    transport.open(await client.next());
    client.ws.send(frame); // replay of an already-accepted frame
    const closed = await client.closed;
    expect(closed.code).toBe(4005);
    await stillServing();
  });

  it('closes a link that sends a malformed frame after the handshake', async () => {
    const { client, transport } = await honestHandshake(generateIdentity(nodeCrypto));
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
    const { client } = await honestHandshake(liar);
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
