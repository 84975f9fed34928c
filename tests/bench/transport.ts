// Loopback transports: bare `ws` (the baselines) and Canopy links (LinkManager: Noise XX over ws).
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { createLogger } from '../../companion/logger.ts';
import type { Link } from '../../companion/mesh/link.ts';
import { LinkManager } from '../../companion/mesh/link-manager.ts';
import { generateIdentity, type Identity } from '../../protocol/identity.ts';
import { freePort, HOST, now, until, yieldToLoop } from './harness.ts';

/** Messages sent between two yields to the event loop (sender and receiver share this thread). */
const BATCH = 128;
/** Above this many bytes queued in ws (the kernel buffer is full), the sender waits. */
const HIGH_WATER = 1 << 20;
/**
 * At most this many messages sent but not yet received. Sender and receiver share one thread, so
 * without it the sender can bury the receiver under a backlog of small TCP segments, and the
 * figure then measures kernel queue handling instead of the transport. Same for every transport.
 */
const WINDOW = 1024;

export interface WsPair {
  url: string;
  server: WebSocketServer;
  client: WebSocket;
  /** The server's side of `client`. */
  accepted: WebSocket;
  close(): Promise<void>;
}

export async function startWsServer(): Promise<{ server: WebSocketServer; url: string }> {
  const server = new WebSocketServer({ host: HOST, port: 0 });
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('bench: ws server has no address');
  return { server, url: `ws://${HOST}:${address.port}` };
}

export async function closeWsServer(server: WebSocketServer): Promise<void> {
  for (const client of server.clients) client.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** One bare ws connection to a fresh loopback server, the same options a Canopy dial uses. */
export async function openWsPair(): Promise<WsPair> {
  const { server, url } = await startWsServer();
  const accepted = once(server, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(url, { perMessageDeflate: false });
  const [[serverSide]] = await Promise.all([accepted, once(client, 'open')]);
  return { url, server, client, accepted: serverSide, close: () => closeWsServer(server) };
}

/** Open a connection, see it accepted, close it and see the server notice: one cycle. */
export async function wsConnectCycle(server: WebSocketServer, url: string): Promise<void> {
  const accepted = once(server, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(url, { perMessageDeflate: false });
  const [[serverSide]] = await Promise.all([accepted, once(client, 'open')]);
  const closed = once(serverSide, 'close');
  client.close();
  await closed;
}

export interface LinkPair {
  dialer: LinkManager;
  listener: LinkManager;
  listenerIdentity: Identity;
  endpoint: string;
  close(): Promise<void>;
}

/** Two in-process link managers with their own identities; `listener` listens on loopback. */
export async function startLinkPair(): Promise<LinkPair> {
  const log = createLogger(null, { quiet: true });
  const port = await freePort();
  const endpoint = `ws://${HOST}:${port}`;
  const listenerIdentity = generateIdentity(nodeCrypto);
  const listener = new LinkManager({ crypto: nodeCrypto, identity: listenerIdentity, log, advertisedEndpoints: () => [endpoint] });
  const dialer = new LinkManager({ crypto: nodeCrypto, identity: generateIdentity(nodeCrypto), log, advertisedEndpoints: () => [] });
  await listener.listen(HOST, port);
  return {
    dialer,
    listener,
    listenerIdentity,
    endpoint,
    close: async () => {
      await dialer.close();
      await listener.close();
    },
  };
}

/** Dial, until both sides have the link up (Noise + payload checks), close, until the listener sees it down. */
export async function linkConnectCycle(pair: LinkPair): Promise<void> {
  const up = once(pair.listener, 'up');
  const link = await pair.dialer.dial(pair.endpoint, pair.listenerIdentity.peerId);
  await up;
  const down = once(pair.listener, 'down');
  link.close(1000, 'bench');
  await down;
}

/** A dialled link and the listener's side of it. */
export async function openLink(pair: LinkPair): Promise<{ sender: Link; receiver: Link }> {
  const up = once(pair.listener, 'up') as Promise<[Link]>;
  const sender = await pair.dialer.dial(pair.endpoint, pair.listenerIdentity.peerId);
  const [receiver] = await up;
  return { sender, receiver };
}

/**
 * Sends `n` messages as fast as backpressure (ws bufferedAmount, plus the in-flight window)
 * allows and returns messages/s counted at the receiver, from the first send to the n-th arrival.
 */
export async function pumpRate(n: number, send: () => void, buffered: () => number, received: () => number): Promise<number> {
  const base = received();
  const start = now();
  let sent = 0;
  while (sent < n) {
    const batch = Math.min(BATCH, n - sent);
    for (let i = 0; i < batch; i++) send();
    sent += batch;
    do await yieldToLoop();
    while (buffered() > HIGH_WATER || sent - (received() - base) > WINDOW);
  }
  await until(() => received() - base >= n, `${n} messages at the receiver`);
  return n / ((now() - start) / 1000);
}

/** One-way latency samples (ms) of single messages over a bare ws, sender and receiver in this process. */
export async function wsOneWayLatency(pair: WsPair, samples: number, payload: Uint8Array): Promise<number[]> {
  let arrived: (() => void) | null = null;
  const onMessage = () => arrived?.();
  pair.accepted.on('message', onMessage);
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = now();
    const done = new Promise<void>((resolve) => (arrived = resolve));
    pair.client.send(payload);
    await done;
    out.push(now() - t0);
  }
  pair.accepted.off('message', onMessage);
  return out;
}
