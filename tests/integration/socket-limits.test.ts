// Sockets that prove nothing must not lock honest peers out or exhaust the process: half-open mesh
// handshakes, silent or trickling connections on both ports, more sockets than the cap, and
// invite endpoints that accept TCP and then never answer (issue 6, attacks 7, 12 and 13).
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { encodeInvite } from '../../protocol/invite.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { startInstance, type Instance, type StartOptions } from '../helpers/instance.ts';

const HOST = '127.0.0.1';
const started: Instance[] = [];
const servers: Server[] = [];
const sockets: Array<Socket | WebSocket> = [];

afterAll(async () => {
  for (const socket of sockets.splice(0)) socket instanceof WebSocket ? socket.terminate() : socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await Promise.all(started.splice(0).map((instance) => instance.stop()));
});

async function instanceWithKey(options: StartOptions = {}): Promise<{ instance: Instance; api: ApiClient; peerId: string }> {
  const instance = await startInstance(options);
  started.push(instance);
  const api = apiClient(instance.url, await createKey(instance.dataDir));
  const peerId = (await api.get('/p2p/status')).body.peer_id as string;
  return { instance, api, peerId };
}

/** A TCP connection that says nothing (or only `text`); `closed()` tells whether the other end hung up. */
async function rawSocket(port: number, text?: string) {
  const socket = createConnection({ host: HOST, port });
  sockets.push(socket);
  let isClosed = false;
  socket.on('close', () => (isClosed = true));
  socket.on('error', () => {});
  socket.on('data', () => {});
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  if (text !== undefined && !isClosed) socket.write(text);
  return { socket, closed: () => isClosed };
}

/** A WebSocket to the mesh port that never sends handshake message 1. */
function silentMeshSocket(meshPort: number) {
  const ws = new WebSocket(`ws://${HOST}:${meshPort}/p2p`);
  sockets.push(ws);
  let isClosed = false;
  ws.on('error', () => {});
  ws.on('close', () => (isClosed = true));
  const settled = new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
  });
  return { settled, closed: () => isClosed };
}

/** A server on 127.0.0.1 that accepts TCP and never answers, as a dead or hostile endpoint would. */
async function silentEndpoint() {
  const held = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    held.add(socket);
    socket.resume(); // reads (and drops) what arrives, so the dialler's hang-up is seen
    socket.on('error', () => {});
    socket.on('close', () => held.delete(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as { port: number }).port;
  return { port, endpoint: `ws://${HOST}:${port}`, accepted: () => accepted, held: () => [...held] };
}

describe('half-open mesh handshakes', () => {
  it('lets an honest peer connect while 100 silent sockets hold the mesh port, and closes them all', async () => {
    const [a, b] = await Promise.all([instanceWithKey(), instanceWithKey()]);
    const silent = Array.from({ length: 100 }, () => silentMeshSocket(a.instance.meshPort));
    await Promise.all(silent.map((s) => s.settled));

    const code = (await a.api.get('/p2p/invite')).body.invite_code;
    const imported = await b.api.post('/p2p/invite/import', { invite_code: code });
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ peer_id: a.peerId, status: 'connected' });

    await eventually('the server to close every silent socket', async () => silent.every((s) => s.closed()), 30_000);
    expect((await a.api.get('/p2p/status')).body.connected_peers).toBe(1);
  }, 90_000);
});

describe('idle and header timeouts', () => {
  it('closes silent and trickling connections on both ports, never an authenticated link', async () => {
    const env = { CANOPY_IDLE_TIMEOUT_MS: '1000', CANOPY_HEADERS_TIMEOUT_MS: '1000' };
    const [a, b] = await Promise.all([instanceWithKey({ env }), instanceWithKey({ env })]);
    const code = (await a.api.get('/p2p/invite')).body.invite_code;
    expect((await b.api.post('/p2p/invite/import', { invite_code: code })).body.status).toBe('connected');
    const linkedAt = (await b.api.get('/p2p/peers')).body.connected_peer_details[0].connected_at;

    const { port, meshPort } = a.instance;
    const partialUpgrade = (path: string) =>
      `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
    const idle = [
      await rawSocket(port),
      await rawSocket(meshPort),
      await rawSocket(port, partialUpgrade('/api/v1/app')),
      await rawSocket(meshPort, partialUpgrade('/p2p')),
      await rawSocket(port, 'GET /api/v1/p2p/status HTTP/1.1\r\n'),
    ];
    const upgradedButSilent = silentMeshSocket(meshPort);
    await upgradedButSilent.settled;

    await eventually('the server to close every idle connection', async () => idle.every((s) => s.closed()) && upgradedButSilent.closed(), 30_000);
    // Well past every timeout, the authenticated link is still the one made at import.
    const peers = (await b.api.get('/p2p/peers')).body;
    expect(peers.connected_peers).toEqual([a.peerId]);
    expect(peers.connected_peer_details[0].connected_at).toBe(linkedAt);
  }, 90_000);
});

describe('open-socket cap', () => {
  it('refuses sockets past the cap with one log line per port, keeps the link, and serves again once they close', async () => {
    const cap = 16;
    // A long idle timeout, so only the cap closes anything here.
    const a = await instanceWithKey({ env: { CANOPY_MAX_SOCKETS: String(cap), CANOPY_IDLE_TIMEOUT_MS: '120000' } });
    const b = await instanceWithKey();
    const code = (await a.api.get('/p2p/invite')).body.invite_code;
    expect((await b.api.post('/p2p/invite/import', { invite_code: code })).body.status).toBe('connected');
    const linkedAt = (await b.api.get('/p2p/peers')).body.connected_peer_details[0].connected_at;

    const flood: Array<Awaited<ReturnType<typeof rawSocket>>> = [];
    for (let i = 0; i < 3 * cap; i++) flood.push(await rawSocket(a.instance.port), await rawSocket(a.instance.meshPort));
    await eventually('sockets past the cap to be refused', async () => flood.filter((s) => s.closed()).length >= 2 * cap);
    const late = await rawSocket(a.instance.port);
    await eventually('a new connection while full to be refused', async () => late.closed());
    const warnings = a.instance.output().split('\n').filter((line) => line.includes('socket limit reached'));
    expect(warnings.filter((line) => line.includes('port=web'))).toHaveLength(1);
    expect(warnings.filter((line) => line.includes('port=mesh'))).toHaveLength(1);

    // The link made before the flood is untouched and still carries messages.
    const peersB = (await b.api.get('/p2p/peers')).body;
    expect(peersB.connected_peers).toEqual([a.peerId]);
    expect(peersB.connected_peer_details[0].connected_at).toBe(linkedAt);
    const sent = await b.api.post('/p2p/send', { content: 'still here', peer_id: a.peerId });
    expect(sent.status).toBe(200);

    for (const { socket } of flood) socket.destroy();
    await eventually('REST to answer once the flood is gone', async () => (await a.api.get('/p2p/status')).status === 200);
    await eventually('the message to arrive over the kept link', async () =>
      ((await a.api.get('/messages')).body.messages ?? []).some((m: { content: string }) => m.content === 'still here'),
    );
  }, 90_000);
});

describe('dialling endpoints that never answer', () => {
  it('answers an import and a reconnect by the deadline with one error per endpoint, and closes every socket', async () => {
    const b = await instanceWithKey();
    const silent = await Promise.all(Array.from({ length: 16 }, () => silentEndpoint()));
    const stranger = generateIdentity(nodeCrypto);
    const code = encodeInvite({
      peerId: stranger.peerId,
      ed25519PublicKey: stranger.ed25519.publicKey,
      x25519PublicKey: stranger.x25519.publicKey,
      endpoints: silent.map((s) => s.endpoint),
    });

    const imported = await b.api.post('/p2p/invite/import', { invite_code: code });
    const heldAtAnswer = silent.flatMap((s) => s.held());
    expect(imported.status).toBe(200);
    expect(imported.body.status).toBe('imported_not_connected');
    expect(imported.body.errors.map((e: { endpoint: string }) => e.endpoint)).toEqual(silent.map((s) => s.endpoint));
    for (const error of imported.body.errors) expect(error.error).toMatch(/\S/);

    const reconnect = await b.api.post('/p2p/reconnect', { peer_id: stranger.peerId });
    expect(reconnect.status).toBe(502);
    expect(reconnect.body).toMatchObject({ status: 'failed', peer_id: stranger.peerId });
    expect(reconnect.body.errors).toHaveLength(16);

    // Cancelled and timed-out dials close their sockets instead of leaving them to the endpoint
    // (the background reconnector keeps dialling meanwhile, so only the import's own are checked).
    expect(silent.some((s) => s.accepted() > 0)).toBe(true);
    await eventually('the import\'s sockets to be closed', async () => heldAtAnswer.every((socket) => socket.destroyed), 30_000);
  }, 90_000);

  it('connects through the good endpoint when the first one never answers', async () => {
    const [a, b] = await Promise.all([instanceWithKey(), instanceWithKey()]);
    const dead = await silentEndpoint();
    // public_host/public_port puts the dead endpoint first in the invite.
    const invite = (await a.api.get(`/p2p/invite?public_host=${HOST}&public_port=${dead.port}`)).body;
    const good = `ws://${HOST}:${a.instance.meshPort}`;
    expect(invite.endpoints).toEqual([dead.endpoint, good]);

    const imported = await b.api.post('/p2p/invite/import', { invite_code: invite.invite_code });
    expect(imported.body).toMatchObject({ status: 'connected', connected_endpoint: good });
    await eventually('the dead endpoint to be dialled and its socket closed', async () => dead.accepted() > 0 && dead.held().length === 0, 30_000);
  }, 60_000);
});
