/**
 * The browser's end of the app link (DESIGN §6): a Noise XX session the browser itself
 * establishes with its companion over a WebSocket, so nothing (passwords, messages) crosses the
 * wire in clear, even on a plain-http LAN origin.
 *
 * This module owns one job: keep an authenticated, encrypted request/response channel open
 * (handshake, trust-on-first-use pinning of the companion key, keepalive, reconnect). It does no
 * DOM access and no storage of its own — the socket constructor, the key store and the hooks are
 * injected — so the very same code runs in a Node test against a `ws` server.
 */
import { utf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { generateKeyPair, type CryptoBackend } from '../../../protocol/crypto/types.ts';
import { reconnectDelayMs } from '../../../protocol/mesh/backoff.ts';
import { FrameTooLargeError, SecureTransport, XXHandshake } from '../../../protocol/noise/index.ts';
import {
  APP_LINK_PROLOGUE_TEXT,
  AppCloseCode,
  type AppMethod,
  type AppParams,
  type AppResult,
  type ClientFrame,
  type DeviceHello,
} from '../../../protocol/app/contract.ts';
import { decodeServerFrame, encodeAppFrame } from '../../../protocol/app/frames.ts';
import { checkPin, verifyCompanionHello } from './companion-check.ts';
import {
  AppError,
  CLOSE_KEY_CHANGED,
  CLOSE_NORMAL,
  CLOSE_PROTOCOL,
  CLOSE_TIMEOUT,
  LinkFailure,
  NOT_CONNECTED_MESSAGE,
  KEY_CHANGED_MESSAGE,
  type AppLinkOptions,
  type AppPush,
  type CompanionInfo,
  type KeyChangedDetail,
  type LinkState,
} from './types.ts';
import { hook, isPushTopic, toBytes } from './util.ts';
import { newConnection, teardownConnection, type Connection, type Timer } from './connection.ts';

// The public API of the link lives at this path; the pieces are split out by job.
export { AppError, NOT_CONNECTED_MESSAGE, KEY_CHANGED_MESSAGE } from './types.ts';
export type {
  AppLinkOptions,
  AppPush,
  CompanionInfo,
  CompanionPin,
  KeyChangedDetail,
  LinkState,
  LinkStateInfo,
  LinkStore,
  WebSocketConstructor,
  WebSocketLike,
} from './types.ts';
export { deviceLabelFromUserAgent } from './util.ts';

const WS_OPEN = 1;

type Tunable = 'requestTimeoutMs' | 'pingIntervalMs' | 'deadAfterMs' | 'handshakeTimeoutMs' | 'probeTimeoutMs' | 'reconnectDelay';

export class AppLink {
  readonly #o: AppLinkOptions & Required<Pick<AppLinkOptions, Tunable>>;
  readonly #crypto: CryptoBackend;
  #state: LinkState = 'closed';
  #running = false;
  #conn: Connection | null = null;
  #companion: CompanionInfo | null = null;
  #lastError: string | null = null;
  #keyChanged: KeyChangedDetail | null = null;
  #attempt = 0;
  #retryTimer: Timer | undefined;
  /** When the scheduled redial fires (epoch ms), for a "retrying in …" hint; null when none is scheduled. */
  #retryAt: number | null = null;
  #nextId = 1;

  constructor(options: AppLinkOptions) {
    this.#o = {
      requestTimeoutMs: 30_000,
      pingIntervalMs: 15_000,
      deadAfterMs: 45_000,
      handshakeTimeoutMs: 20_000,
      probeTimeoutMs: 10_000,
      reconnectDelay: (attempt) => reconnectDelayMs(attempt),
      ...options,
    };
    this.#crypto = options.crypto ?? nobleCrypto;
  }

  get state(): LinkState {
    return this.#state;
  }

  /** The companion of the current (or last) handshake. */
  get companion(): CompanionInfo | null {
    return this.#companion;
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  get keyChanged(): KeyChangedDetail | null {
    return this.#keyChanged;
  }

  /** Starts connecting and keeps the link up (reconnecting with backoff) until stop(). */
  start(): void {
    this.#running = true;
    this.#keyChanged = null;
    this.#connect();
  }

  /** Closes the link for good (no reconnect) and fails outstanding requests. */
  stop(): void {
    this.#running = false;
    this.#clearRetry();
    const conn = this.#conn;
    if (conn) this.#drop(conn, 'stopped', CLOSE_NORMAL);
    else if (this.#state !== 'key_changed') this.#setState('closed');
  }

  /**
   * Called when the network may be back (`online`, tab visible again): a waiting link dials at
   * once instead of sitting out its backoff; an open link is probed with a ping, because a laptop
   * that slept may hold a socket the companion dropped long ago.
   */
  reconnectNow(): void {
    if (!this.#running) return;
    const conn = this.#conn;
    if (!conn) {
      this.#attempt = 0;
      this.#connect();
      return;
    }
    if (conn.transport && !conn.probeTimer) {
      const sentAt = Date.now();
      this.#safeSend(conn, { t: 'ping', n: ++conn.pingCounter });
      conn.probeTimer = setTimeout(() => {
        conn.probeTimer = undefined;
        if (conn.lastHeard < sentAt) this.#fail(conn, new LinkFailure('no answer to a probe ping', CLOSE_TIMEOUT));
      }, this.#o.probeTimeoutMs);
    }
  }

  /** Sends one request; resolves with the result or rejects with AppError. */
  request<M extends AppMethod>(method: M, params: AppParams<M>, options: { timeoutMs?: number } = {}): Promise<AppResult<M>> {
    const conn = this.#conn;
    if (!conn?.transport || this.#state !== 'open') return Promise.reject(new AppError(0, NOT_CONNECTED_MESSAGE));
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#o.requestTimeoutMs;
    return new Promise<AppResult<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.pending.delete(id);
        reject(
          new AppError(0, `Your Canopy companion did not answer within ${Math.round(timeoutMs / 1000)} s`, {
            reason: 'timeout',
            method,
          }),
        );
      }, timeoutMs);
      conn.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      try {
        this.#send(conn, { t: 'req', id, method, params: params as Record<string, unknown> });
      } catch (error) {
        clearTimeout(timer);
        conn.pending.delete(id);
        reject(
          error instanceof FrameTooLargeError
            ? new AppError(413, 'This is too large to send to your companion')
            : new AppError(0, NOT_CONNECTED_MESSAGE),
        );
      }
    });
  }

  // ---- connection lifecycle ----

  #connect(): void {
    if (!this.#running || this.#conn) return;
    this.#clearRetry();
    const conn = newConnection();
    this.#conn = conn;
    this.#setState('connecting');
    // Covers the device-key lookup, the TCP/WebSocket connect and all three handshake messages.
    conn.handshakeTimer = setTimeout(
      () => this.#fail(conn, new LinkFailure('the companion did not complete the handshake in time', CLOSE_TIMEOUT)),
      this.#o.handshakeTimeoutMs,
    );
    void this.#open(conn).catch((error: unknown) => this.#fail(conn, error));
  }

  async #open(conn: Connection): Promise<void> {
    // Loaded per connection, not cached: logout rotates the key and the next handshake must use the new one.
    const deviceKey = await this.#o.store.loadOrCreateDeviceKey(() => generateKeyPair(this.#crypto, 'x25519'));
    if (this.#conn !== conn) return;
    conn.deviceKey = deviceKey;
    const socket = new this.#o.WebSocket(this.#o.url);
    conn.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      if (this.#conn !== conn) return;
      this.#run(conn, () => {
        const handshake = new XXHandshake(this.#crypto, {
          initiator: true,
          staticKey: deviceKey,
          prologue: utf8(APP_LINK_PROLOGUE_TEXT),
        });
        conn.handshake = handshake;
        socket.send(handshake.writeMessage(new Uint8Array(0)));
      });
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (this.#conn !== conn) return;
      const bytes = toBytes(event.data);
      this.#run(conn, () => {
        if (!bytes) throw new LinkFailure('the companion sent a text frame; the app link is binary only');
        return this.#receive(conn, bytes);
      });
    };
    socket.onclose = (event: { code?: number; reason?: string }) => {
      const why = event.reason ? `${event.reason}` : `connection closed (code ${event.code ?? 'unknown'})`;
      this.#drop(conn, why);
      // The companion closes a link that has not logged in for a while; the login page needs one.
      if (event.code === AppCloseCode.loginWindowOver) this.reconnectNow();
    };
    // An error event is always followed by close; the close handler does the work.
    socket.onerror = () => {};
  }

  /** Runs a step after every earlier one for this connection; any throw closes the link. */
  #run(conn: Connection, step: () => void | Promise<void>): void {
    conn.queue = conn.queue
      .then(async () => {
        if (this.#conn === conn) await step();
      })
      .catch((error: unknown) => this.#fail(conn, error));
  }

  async #receive(conn: Connection, bytes: Uint8Array): Promise<void> {
    conn.lastHeard = Date.now();
    if (!conn.transport) {
      await this.#finishHandshake(conn, bytes);
      return;
    }
    this.#armDeadTimer(conn);
    // Any decryption failure poisons the transport (replayed, reordered or forged frame): close.
    const plaintext = conn.transport.open(bytes);
    const decoded = decodeServerFrame(plaintext);
    if (!decoded.ok) throw new LinkFailure(`the companion sent an ${decoded.error}`);
    const frame = decoded.frame;
    switch (frame.t) {
      case 'res': {
        const pending = conn.pending.get(frame.id);
        if (!pending) return; // answered after its timeout: nobody is waiting any more
        conn.pending.delete(frame.id);
        clearTimeout(pending.timer);
        if (frame.ok) pending.resolve(frame.result);
        else pending.reject(new AppError(frame.error.status, frame.error.message, frame.error.details));
        return;
      }
      case 'push':
        if (isPushTopic(frame.topic)) {
          const push = { topic: frame.topic, data: frame.data } as AppPush;
          hook(() => this.#o.onPush?.(push));
        }
        return; // unknown topics: a newer companion; ignore rather than break
      case 'ping':
        this.#send(conn, { t: 'pong', n: frame.n });
        return;
      case 'pong':
        return; // liveness already recorded above
    }
  }

  async #finishHandshake(conn: Connection, message2: Uint8Array): Promise<void> {
    const handshake = conn.handshake;
    if (!handshake || !conn.socket) throw new LinkFailure('unexpected frame before the handshake started');
    const payload = handshake.readMessage(message2);
    const remoteKey = handshake.remoteStaticKey;
    if (!remoteKey) throw new LinkFailure('handshake message 2 carried no static key');

    const verified = verifyCompanionHello(this.#crypto, payload, remoteKey);
    const { hello, x25519Key, fingerprint } = verified;
    const pin = await this.#o.store.loadPin();
    if (this.#conn !== conn) return;
    let firstContact = false;
    if (pin) {
      const keyChanged = checkPin(pin, remoteKey, verified);
      if (keyChanged) {
        // Trust on first use: a different key is refused outright. Message 3 is never sent, so
        // this device's key and label never reach whoever answered.
        this.#keyChanged = keyChanged;
        this.#running = false;
        this.#clearRetry();
        this.#closeConnection(conn, CLOSE_KEY_CHANGED, 'companion key changed');
        this.#lastError = KEY_CHANGED_MESSAGE;
        this.#setState('key_changed');
        return;
      }
    } else {
      firstContact = true;
      await this.#o.store.savePin({ x25519Key, peerId: hello.peer_id, fingerprint, pinnedAt: Date.now() });
      if (this.#conn !== conn) return;
    }

    const deviceHello: DeviceHello = { label: this.#o.label.slice(0, 100) };
    conn.socket.send(handshake.writeMessage(utf8(JSON.stringify(deviceHello))));
    conn.transport = SecureTransport.fromHandshake(handshake);
    conn.handshake = null;
    clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = undefined;

    this.#attempt = 0;
    this.#lastError = null;
    this.#companion = {
      peerId: hello.peer_id,
      x25519Key,
      fingerprint,
      canopyVersion: hello.canopy_version,
      protocolVersion: hello.protocol_version,
      firstContact,
    };
    conn.pingTimer = setInterval(() => this.#safeSend(conn, { t: 'ping', n: ++conn.pingCounter }), this.#o.pingIntervalMs);
    this.#armDeadTimer(conn);
    this.#setState('open');
    const companion = this.#companion;
    hook(() => this.#o.onOpen?.(companion));
  }

  #armDeadTimer(conn: Connection): void {
    clearTimeout(conn.deadTimer);
    conn.deadTimer = setTimeout(
      () => this.#fail(conn, new LinkFailure(`no word from the companion for ${Math.round(this.#o.deadAfterMs / 1000)} s`, CLOSE_TIMEOUT)),
      this.#o.deadAfterMs,
    );
  }

  #send(conn: Connection, frame: ClientFrame): void {
    if (!conn.transport || !conn.socket || conn.socket.readyState !== WS_OPEN) throw new AppError(0, NOT_CONNECTED_MESSAGE);
    conn.socket.send(conn.transport.seal(encodeAppFrame(frame)));
  }

  /** For keepalive frames: a failure to send is noticed by the dead timer or the close event. */
  #safeSend(conn: Connection, frame: ClientFrame): void {
    try {
      this.#send(conn, frame);
    } catch {
      /* see above */
    }
  }

  #fail(conn: Connection, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof LinkFailure ? error.code : CLOSE_PROTOCOL;
    this.#drop(conn, message, code);
  }

  /** Tears down one connection; schedules the next attempt unless stopped or refused. */
  #drop(conn: Connection, reason: string, closeCode = CLOSE_NORMAL): void {
    if (this.#conn !== conn) return;
    this.#closeConnection(conn, closeCode, reason);
    if (this.#state === 'key_changed') return;
    // A deliberate stop is not an error worth showing.
    this.#lastError = reason === 'stopped' ? null : reason;
    // Scheduled first so the 'closed' announcement can say when the next attempt is.
    if (this.#running) this.#scheduleRetry();
    this.#setState('closed');
  }

  #closeConnection(conn: Connection, code: number, reason: string): void {
    if (this.#conn === conn) this.#conn = null;
    teardownConnection(conn, code, reason);
  }

  #scheduleRetry(): void {
    this.#clearRetry();
    const delay = this.#o.reconnectDelay(this.#attempt++);
    this.#retryAt = Date.now() + delay;
    this.#retryTimer = setTimeout(() => {
      this.#clearRetry();
      this.#connect();
    }, delay);
  }

  #clearRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#retryAt = null;
  }

  #setState(state: LinkState): void {
    const changed = this.#state !== state;
    this.#state = state;
    // 'closed' is re-announced so a new error reason reaches the UI; others only on change.
    if (changed || state === 'closed') {
      const info = { error: this.#lastError, keyChanged: this.#keyChanged, retryAt: this.#retryAt };
      hook(() => this.#o.onState?.(state, info));
    }
  }
}
