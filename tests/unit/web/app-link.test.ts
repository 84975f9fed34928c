// Drives the browser's AppLink from Node against a tiny Noise responder built here from
// protocol/noise and a real `ws` server on loopback, so the link is tested without the companion.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { AddressInfo } from 'node:net';
import { b58encode, b64urlEncode, fromUtf8, utf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import type { KeyPair } from '../../../protocol/crypto/types.ts';
import { generateIdentity, type Identity } from '../../../protocol/identity.ts';
import { SecureTransport, XXHandshake } from '../../../protocol/noise/index.ts';
import { APP_LINK_PATH, APP_LINK_PROLOGUE_TEXT, AppCloseCode, type ServerFrame, type SessionStatus } from '../../../protocol/app/contract.ts';
import { keyFingerprint } from '../../../protocol/app/fingerprint.ts';
import { decodeClientFrame, encodeAppFrame } from '../../../protocol/app/frames.ts';
import {
  AppError,
  AppLink,
  deviceLabelFromUserAgent,
  type AppLinkOptions,
  type AppPush,
  type CompanionPin,
  type LinkState,
  type LinkStore,
  type WebSocketConstructor,
} from '../../../web/lib/link/app-link.ts';
import { newClientId } from '../../../web/lib/sync.ts';

// ---- a minimal companion: Noise XX responder + request handler ----

type Handler = (params: Record<string, unknown> | undefined) => unknown | typeof NO_ANSWER | { error: { status: number; message: string } };
const NO_ANSWER = Symbol('no answer');

interface ServerConnection {
  ws: WebSocket;
  transport: SecureTransport | null;
  deviceKey: Uint8Array | null;
  label: string | null;
  messagesReceived: number;
}

class TestCompanion {
  readonly identity: Identity;
  readonly wss: WebSocketServer;
  readonly connections: ServerConnection[] = [];
  readonly requests: { method: string; params: unknown }[] = [];
  readonly pongs: number[] = [];
  handlers: Record<string, Handler> = {};
  /** When false, the companion stops answering pings and requests (a silent, half-dead link). */
  answering = true;

  private constructor(identity: Identity, wss: WebSocketServer) {
    this.identity = identity;
    this.wss = wss;
    wss.on('connection', (ws, request) => this.#accept(ws, request.url ?? ''));
  }

  static async start(identity = generateIdentity(nobleCrypto)): Promise<TestCompanion> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new TestCompanion(identity, wss);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}${APP_LINK_PATH}`;
  }

  get open(): ServerConnection[] {
    return this.connections.filter((c) => c.transport && c.ws.readyState === WebSocket.OPEN);
  }

  send(conn: ServerConnection, frame: ServerFrame): void {
    conn.ws.send(conn.transport!.seal(encodeAppFrame(frame)));
  }

  push(topic: string, data: unknown): void {
    for (const conn of this.open) this.send(conn, { t: 'push', topic, data } as ServerFrame);
  }

  dropAll(): void {
    for (const conn of this.connections) conn.ws.terminate();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  #accept(ws: WebSocket, path: string): void {
    if (path !== APP_LINK_PATH) {
      ws.close(4404, 'wrong path');
      return;
    }
    const conn: ServerConnection = { ws, transport: null, deviceKey: null, label: null, messagesReceived: 0 };
    this.connections.push(conn);
    const handshake = new XXHandshake(nobleCrypto, {
      initiator: false,
      staticKey: this.identity.x25519,
      prologue: utf8(APP_LINK_PROLOGUE_TEXT),
    });
    let step = 0;
    ws.on('error', () => {});
    ws.on('message', (data: RawData) => {
      conn.messagesReceived++;
      const bytes = new Uint8Array(data as Buffer);
      try {
        if (step === 0) {
          handshake.readMessage(bytes);
          const hello = {
            peer_id: this.identity.peerId,
            ed25519_key: b58encode(this.identity.ed25519.publicKey),
            binding: b64urlEncode(this.identity.binding),
            canopy_version: 'test',
            protocol_version: 1,
          };
          ws.send(handshake.writeMessage(utf8(JSON.stringify(hello))));
          step = 1;
        } else if (step === 1) {
          const payload = JSON.parse(fromUtf8(handshake.readMessage(bytes))) as { label: string };
          conn.label = payload.label;
          conn.deviceKey = handshake.remoteStaticKey ?? null;
          conn.transport = SecureTransport.fromHandshake(handshake);
          step = 2;
        } else {
          const decoded = decodeClientFrame(conn.transport!.open(bytes));
          if (!decoded.ok) throw new Error(decoded.error);
          const frame = decoded.frame;
          if (!this.answering) return;
          if (frame.t === 'ping') this.send(conn, { t: 'pong', n: frame.n });
          else if (frame.t === 'pong') this.pongs.push(frame.n);
          else {
            this.requests.push({ method: frame.method, params: frame.params });
            const handler = this.handlers[frame.method];
            const outcome = handler ? handler(frame.params) : { error: { status: 404, message: `Unknown method ${frame.method}` } };
            if (outcome === NO_ANSWER) return;
            if (outcome && typeof outcome === 'object' && 'error' in outcome) {
              this.send(conn, { t: 'res', id: frame.id, ok: false, error: (outcome as { error: { status: number; message: string } }).error });
            } else {
              this.send(conn, { t: 'res', id: frame.id, ok: true, result: outcome });
            }
          }
        }
      } catch (error) {
        if (process.env.DEBUG_LINK) console.log('server error', error);
        ws.close(4000, 'bad frame');
      }
    });
  }
}

// ---- helpers ----

class MemoryStore implements LinkStore {
  deviceKey: KeyPair | undefined;
  pin: CompanionPin | undefined;
  async loadOrCreateDeviceKey(create: () => KeyPair): Promise<KeyPair> {
    this.deviceKey ??= create();
    return this.deviceKey;
  }
  async loadPin() {
    return this.pin;
  }
  async savePin(pin: CompanionPin) {
    this.pin = pin;
  }
}

const status: SessionStatus = {
  peer_id: 'x',
  canopy_version: 'test',
  setup_required: false,
  authenticated: true,
  username: 'alice',
  device_id: 'dev1',
};

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function companion(identity?: Identity): Promise<TestCompanion> {
  const server = await TestCompanion.start(identity);
  server.handlers['session.status'] = () => status;
  cleanups.push(() => server.close());
  return server;
}

function link(server: TestCompanion, store: LinkStore, extra: Partial<AppLinkOptions> = {}) {
  const states: LinkState[] = [];
  const pushes: AppPush[] = [];
  let opens = 0;
  const appLink = new AppLink({
    url: server.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    store,
    label: 'Test on Node',
    reconnectDelay: () => 50,
    onState: (state) => states.push(state),
    onPush: (push) => pushes.push(push),
    onOpen: () => opens++,
    ...extra,
  });
  cleanups.push(() => appLink.stop());
  appLink.start();
  return { appLink, states, pushes, opens: () => opens };
}

// ---- tests ----

describe('AppLink', () => {
  it('completes the handshake, pins the companion on first contact and round-trips a request', async () => {
    const server = await companion();
    const store = new MemoryStore();
    const { appLink, states, opens } = link(server, store);
    // The browser is open once it has sent message 3; the companion has it a moment later.
    await waitFor(() => appLink.state === 'open' && server.open.length === 1, 'open');

    expect(states).toEqual(['connecting', 'open']);
    expect(opens()).toBe(1);
    expect(server.connections[0]!.label).toBe('Test on Node');
    expect(server.connections[0]!.deviceKey).toEqual(store.deviceKey!.publicKey);

    const fingerprint = keyFingerprint(nobleCrypto, server.identity.x25519.publicKey);
    expect(store.pin).toMatchObject({
      x25519Key: b64urlEncode(server.identity.x25519.publicKey),
      peerId: server.identity.peerId,
      fingerprint,
    });
    expect(appLink.companion).toMatchObject({ peerId: server.identity.peerId, fingerprint, firstContact: true });

    await expect(appLink.request('session.status', {})).resolves.toEqual(status);
    expect(server.requests).toEqual([{ method: 'session.status', params: {} }]);
  });

  it('turns an error response into an AppError with status and details', async () => {
    const server = await companion();
    server.handlers['session.login'] = () => ({ error: { status: 401, message: 'Invalid username or password' } });
    const { appLink } = link(server, new MemoryStore());
    await waitFor(() => appLink.state === 'open', 'open');

    const error = await appLink.request('session.login', { username: 'a', password: 'b' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 401, message: 'Invalid username or password' });
  });

  it('reconnects to the same companion without complaint (pin matches)', async () => {
    const server = await companion();
    const store = new MemoryStore();
    const first = link(server, store);
    await waitFor(() => first.appLink.state === 'open', 'first open');
    first.appLink.stop();
    const pinnedAt = store.pin!.pinnedAt;

    const second = link(server, store);
    await waitFor(() => second.appLink.state === 'open', 'second open');
    expect(second.appLink.companion?.firstContact).toBe(false);
    expect(store.pin!.pinnedAt).toBe(pinnedAt);
  });

  it('refuses a companion whose key differs from the pinned one, and sends nothing to it', async () => {
    const original = await companion();
    const store = new MemoryStore();
    const first = link(original, store);
    await waitFor(() => first.appLink.state === 'open', 'open');
    first.appLink.stop();
    const pin = store.pin!;

    const impostor = await companion(); // a different identity answering at "the same" place
    const second = link(impostor, store);
    await waitFor(() => second.appLink.state === 'key_changed', 'key_changed');

    expect(second.appLink.keyChanged).toEqual({
      pinnedFingerprint: pin.fingerprint,
      presentedFingerprint: keyFingerprint(nobleCrypto, impostor.identity.x25519.publicKey),
      pinnedPeerId: original.identity.peerId,
      presentedPeerId: impostor.identity.peerId,
    });
    expect(second.appLink.lastError).toMatch(/key has changed/);
    expect(store.pin).toEqual(pin); // the pin is not replaced
    // Only handshake message 1 reached the impostor: no message 3 (device key), no request.
    await waitFor(() => impostor.connections[0]!.ws.readyState === WebSocket.CLOSED, 'impostor socket closed');
    expect(impostor.connections[0]!.messagesReceived).toBe(1);
    expect(impostor.connections[0]!.deviceKey).toBeNull();
    expect(impostor.requests).toEqual([]);
    await expect(second.appLink.request('session.status', {})).rejects.toMatchObject({ status: 0 });

    // And it stays refused: no reconnect attempts.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(impostor.connections).toHaveLength(1);
    expect(second.appLink.state).toBe('key_changed');
  });

  it('rejects a companion whose hello does not prove its key', async () => {
    const honest = generateIdentity(nobleCrypto);
    const other = generateIdentity(nobleCrypto);
    // Claims honest's identity but handshakes with another X25519 key: the binding does not verify.
    const forged: Identity = { ...honest, x25519: other.x25519 };
    const server = await companion(forged);
    const store = new MemoryStore();
    const { appLink } = link(server, store, { reconnectDelay: () => 60_000 });
    await waitFor(() => appLink.state === 'closed', 'closed');
    expect(appLink.lastError).toMatch(/not bound/);
    expect(store.pin).toBeUndefined();
    expect(server.connections[0]!.deviceKey).toBeNull();
  });

  it('delivers pushes to the callback and answers the companion’s pings', async () => {
    const server = await companion();
    const { appLink, pushes } = link(server, new MemoryStore());
    await waitFor(() => appLink.state === 'open' && server.open.length === 1, 'open');

    server.push('delivery', { id: 'm1', delivery_state: 'delivered' });
    server.push('some_future_topic', { x: 1 }); // ignored, not fatal
    server.send(server.open[0]!, { t: 'ping', n: 7 });
    await waitFor(() => pushes.length === 1 && server.pongs.length === 1, 'push and pong');
    expect(pushes[0]).toEqual({ topic: 'delivery', data: { id: 'm1', delivery_state: 'delivered' } });
    expect(server.pongs).toEqual([7]);
    expect(appLink.state).toBe('open');
  });

  it('reconnects after the companion drops the socket, and fails calls in flight', async () => {
    const server = await companion();
    server.handlers['network.status'] = () => NO_ANSWER;
    const { appLink, states, opens } = link(server, new MemoryStore());
    await waitFor(() => appLink.state === 'open', 'open');

    const inFlight = appLink.request('network.status', {}).catch((e: unknown) => e);
    await waitFor(() => server.requests.length === 1, 'request reached companion');
    server.dropAll();
    expect(await inFlight).toMatchObject({ status: 0, details: { reason: 'link_lost' } });

    await waitFor(() => opens() === 2 && appLink.state === 'open', 'reopened');
    expect(states).toEqual(['connecting', 'open', 'closed', 'connecting', 'open']);
    expect(server.connections).toHaveLength(2);
    await expect(appLink.request('session.status', {})).resolves.toEqual(status);
  });

  it('reconnects at once on reconnectNow() instead of waiting out the backoff', async () => {
    const server = await companion();
    const { appLink, opens } = link(server, new MemoryStore(), { reconnectDelay: () => 60_000 });
    await waitFor(() => appLink.state === 'open', 'open');
    server.dropAll();
    await waitFor(() => appLink.state === 'closed', 'closed');
    appLink.reconnectNow();
    await waitFor(() => opens() === 2 && appLink.state === 'open', 'reopened');
  });

  it('reconnects at once when the companion ends the login window, without waiting out the backoff', async () => {
    const server = await companion();
    const { appLink, opens } = link(server, new MemoryStore(), { reconnectDelay: () => 60_000 });
    await waitFor(() => appLink.state === 'open' && server.open.length === 1, 'open');
    server.open[0]!.ws.close(AppCloseCode.loginWindowOver, 'not logged in in time');
    await waitFor(() => opens() === 2 && appLink.state === 'open', 'reopened');
  });

  it('rejects a request the companion never answers with an AppError after the timeout', async () => {
    const server = await companion();
    server.handlers['network.status'] = () => NO_ANSWER;
    const { appLink } = link(server, new MemoryStore(), { requestTimeoutMs: 150 });
    await waitFor(() => appLink.state === 'open', 'open');

    const error = await appLink.request('network.status', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 0, details: { reason: 'timeout', method: 'network.status' } });
    // A late answer for a timed-out request is harmless; the link stays usable.
    await expect(appLink.request('session.status', {})).resolves.toEqual(status);
  });

  it('closes and reconnects on a frame that does not decrypt', async () => {
    const server = await companion();
    const { appLink, opens } = link(server, new MemoryStore());
    await waitFor(() => appLink.state === 'open' && server.open.length === 1, 'open');
    server.open[0]!.ws.send(new Uint8Array(40).fill(9));
    await waitFor(() => appLink.lastError !== null, 'drop');
    expect(appLink.lastError).toMatch(/decrypt|tamper|failed/i);
    await waitFor(() => opens() === 2 && appLink.state === 'open', 'reopened');
  });

  it('declares a silent link dead, pings while idle, and reconnects', async () => {
    const server = await companion();
    const { appLink, opens } = link(server, new MemoryStore(), { pingIntervalMs: 40, deadAfterMs: 200 });
    await waitFor(() => appLink.state === 'open', 'open');
    // Answered pings keep it alive well past deadAfterMs.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(opens()).toBe(1);
    expect(appLink.state).toBe('open');

    server.answering = false;
    await waitFor(() => appLink.lastError?.includes('no word') === true, 'declared dead');
    server.answering = true;
    await waitFor(() => opens() === 2 && appLink.state === 'open', 'reopened');
  });

  it('fails fast when not connected', async () => {
    const server = await companion();
    const store = new MemoryStore();
    const appLink = new AppLink({ url: server.url, WebSocket: WebSocket as unknown as WebSocketConstructor, store, label: 'x' });
    await expect(appLink.request('session.status', {})).rejects.toMatchObject({
      status: 0,
      message: 'Not connected to your Canopy companion',
    });
  });
});

describe('deviceLabelFromUserAgent', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Windows'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari on iOS'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0', 'Edge on macOS'],
    ['curl/8.0', 'Browser'],
  ])('%s → %s', (ua, label) => {
    expect(deviceLabelFromUserAgent(ua)).toBe(label);
  });
});

describe('newClientId', () => {
  const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('makes a v4 UUID without crypto.randomUUID (missing on insecure origins such as http://<LAN IP>)', () => {
    const { getRandomValues } = globalThis.crypto;
    vi.stubGlobal('crypto', { getRandomValues: getRandomValues.bind(globalThis.crypto) });
    try {
      const ids = Array.from({ length: 20 }, () => newClientId());
      for (const id of ids) expect(id).toMatch(UUID_V4);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('uses crypto.randomUUID where it exists', () => {
    expect(newClientId()).toMatch(UUID_V4);
  });
});
