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
import { z } from 'zod';
import { b58decode, b64urlDecode, b64urlEncode, equalBytes, utf8, fromUtf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { generateKeyPair, type CryptoBackend, type KeyPair } from '../../../protocol/crypto/types.ts';
import { peerIdMatches, verifyBinding } from '../../../protocol/identity.ts';
import { reconnectDelayMs } from '../../../protocol/mesh/backoff.ts';
import { FrameTooLargeError, SecureTransport, XXHandshake } from '../../../protocol/noise/index.ts';
import {
  APP_LINK_PROLOGUE_TEXT,
  type AppMethod,
  type AppParams,
  type AppPushes,
  type AppResult,
  type ClientFrame,
  type CompanionHello,
  type DeviceHello,
  type PushTopic,
} from '../../../protocol/app/contract.ts';
import { keyFingerprint } from '../../../protocol/app/fingerprint.ts';
import { decodeServerFrame, encodeAppFrame } from '../../../protocol/app/frames.ts';

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Every failed call surfaces as an AppError. `status` follows HTTP (401, 404, 429, ...) when the
 * companion answered; 0 means the companion was never reached or did not answer (not connected,
 * link lost mid-call, timeout) — callers such as the outbox treat 0 as "try again later".
 */
export class AppError extends Error {
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.status = status;
    this.details = details;
  }

  /** True when the request may not have reached the companion, so retrying can succeed. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export const NOT_CONNECTED_MESSAGE = 'Not connected to your Canopy companion';
export const KEY_CHANGED_MESSAGE =
  "This Canopy instance's key has changed since you last used it. This could mean someone is " +
  'intercepting the connection. Not continuing.';

// ---------------------------------------------------------------------------------------------
// Injected pieces

/**
 * The subset of the WebSocket API the link uses; the browser's WebSocket and the `ws` package's
 * both fit (handler parameters are `any` because their event types differ between the two).
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => unknown) | null;
  onmessage: ((event: any) => unknown) | null;
  onclose: ((event: any) => unknown) | null;
  onerror: ((event: any) => unknown) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const WS_OPEN = 1;

/** The companion key remembered on first contact (trust on first use). */
export interface CompanionPin {
  /** b64url of the companion's X25519 static key. */
  x25519Key: string;
  peerId: string;
  fingerprint: string;
  pinnedAt: number;
}

/** Where the device key and the pin live (IndexedDB in the browser, memory in tests). */
export interface LinkStore {
  /**
   * Returns this browser's device key pair, creating and saving it with `create` on first use.
   * Must be atomic: two tabs opening at once must end up with the same key.
   */
  loadOrCreateDeviceKey(create: () => KeyPair): Promise<KeyPair>;
  loadPin(): Promise<CompanionPin | undefined>;
  savePin(pin: CompanionPin): Promise<void>;
}

export type LinkState = 'connecting' | 'open' | 'closed' | 'key_changed';

/** What the link learnt about the companion in the handshake. */
export interface CompanionInfo {
  peerId: string;
  x25519Key: string;
  fingerprint: string;
  canopyVersion: string;
  protocolVersion: number;
  /** True when this handshake created the pin (first contact). */
  firstContact: boolean;
}

export interface KeyChangedDetail {
  pinnedFingerprint: string;
  presentedFingerprint: string;
  pinnedPeerId: string;
  presentedPeerId: string;
}

export type AppPush = { [T in PushTopic]: { topic: T; data: AppPushes[T] } }[PushTopic];

export interface AppLinkOptions {
  /** e.g. `ws://192.168.1.5:7770/api/v1/app`. */
  url: string;
  WebSocket: WebSocketConstructor;
  store: LinkStore;
  /** Human label for this browser, sent in handshake message 3 (e.g. "Chrome on Linux"). */
  label: string;
  crypto?: CryptoBackend;
  /** Called on every state change; `error` is the reason for the last drop, when there was one. */
  onState?: (state: LinkState, info: { error: string | null; keyChanged: KeyChangedDetail | null }) => void;
  /** Called once per completed handshake, before any other traffic: the place to (re)sync. */
  onOpen?: (companion: CompanionInfo) => void;
  onPush?: (push: AppPush) => void;
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
  /** No frame at all for this long → the link is dead (the companion pings too). */
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  /** After `reconnectNow()` on an open link: how long a probe ping may go unanswered. */
  probeTimeoutMs?: number;
  reconnectDelay?: (attempt: number) => number;
}

// ---------------------------------------------------------------------------------------------
// Handshake payload validation: the companion is not trusted until its hello checks out.

const CompanionHelloSchema = z.object({
  peer_id: z.string().min(1).max(64),
  ed25519_key: z.string().min(1).max(128),
  binding: z.string().min(1).max(256),
  canopy_version: z.string().max(64),
  protocol_version: z.number().int(),
});

/** Close codes in the application range (browsers only allow 1000 and 3000–4999). */
const CLOSE_NORMAL = 1000;
const CLOSE_PROTOCOL = 4000;
const CLOSE_KEY_CHANGED = 4001;
const CLOSE_TIMEOUT = 4002;

type Timer = ReturnType<typeof setTimeout>;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: AppError) => void;
  timer: Timer;
}

/** State of one socket attempt; a fresh one per (re)connect so late events of an old socket are ignored. */
interface Connection {
  socket: WebSocketLike | null;
  handshake: XXHandshake | null;
  transport: SecureTransport | null;
  deviceKey: KeyPair | null;
  /** Frames are processed strictly in order (the pin check awaits storage mid-handshake). */
  queue: Promise<void>;
  pending: Map<number, Pending>;
  handshakeTimer: Timer | undefined;
  pingTimer: ReturnType<typeof setInterval> | undefined;
  deadTimer: Timer | undefined;
  probeTimer: Timer | undefined;
  lastHeard: number;
  pingCounter: number;
}

class LinkFailure extends Error {
  constructor(
    message: string,
    readonly code: number = CLOSE_PROTOCOL,
  ) {
    super(message);
  }
}

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
    const conn: Connection = {
      socket: null,
      handshake: null,
      transport: null,
      deviceKey: null,
      queue: Promise.resolve(),
      pending: new Map(),
      handshakeTimer: undefined,
      pingTimer: undefined,
      deadTimer: undefined,
      probeTimer: undefined,
      lastHeard: Date.now(),
      pingCounter: 0,
    };
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

    let hello: CompanionHello;
    try {
      hello = CompanionHelloSchema.parse(JSON.parse(fromUtf8(payload)));
    } catch {
      throw new LinkFailure('the companion sent an invalid hello');
    }
    // The companion proves who it is: its peer id derives from its Ed25519 key, and that key
    // signed the X25519 key it just used in the handshake.
    let edKey: Uint8Array;
    let binding: Uint8Array;
    try {
      edKey = b58decode(hello.ed25519_key);
      binding = b64urlDecode(hello.binding);
    } catch {
      throw new LinkFailure('the companion sent an undecodable key or binding');
    }
    if (!peerIdMatches(this.#crypto, hello.peer_id, edKey)) throw new LinkFailure('the companion peer id does not match its key');
    if (!verifyBinding(this.#crypto, edKey, remoteKey, binding)) {
      throw new LinkFailure('the companion X25519 key is not bound to its identity');
    }

    const x25519Key = b64urlEncode(remoteKey);
    const fingerprint = keyFingerprint(this.#crypto, remoteKey);
    const pin = await this.#o.store.loadPin();
    if (this.#conn !== conn) return;
    let firstContact = false;
    if (pin) {
      const pinnedKey = safeB64(pin.x25519Key);
      if (!pinnedKey || !equalBytes(pinnedKey, remoteKey) || pin.peerId !== hello.peer_id) {
        // Trust on first use: a different key is refused outright. Message 3 is never sent, so
        // this device's key and label never reach whoever answered.
        this.#keyChanged = {
          pinnedFingerprint: pin.fingerprint,
          presentedFingerprint: fingerprint,
          pinnedPeerId: pin.peerId,
          presentedPeerId: hello.peer_id,
        };
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
    this.#setState('closed');
    if (this.#running) this.#scheduleRetry();
  }

  #closeConnection(conn: Connection, code: number, reason: string): void {
    if (this.#conn === conn) this.#conn = null;
    clearTimeout(conn.handshakeTimer);
    clearInterval(conn.pingTimer);
    clearTimeout(conn.deadTimer);
    clearTimeout(conn.probeTimer);
    conn.transport = null;
    conn.handshake = null;
    const socket = conn.socket;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.onerror = () => {};
      try {
        // Close reasons are limited to 123 bytes of UTF-8.
        socket.close(code, reason.slice(0, 100));
      } catch {
        /* already closed */
      }
    }
    for (const pending of conn.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new AppError(0, 'The connection to your Canopy companion was lost', { reason: 'link_lost' }));
    }
    conn.pending.clear();
  }

  #scheduleRetry(): void {
    this.#clearRetry();
    const delay = this.#o.reconnectDelay(this.#attempt++);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }

  #clearRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #setState(state: LinkState): void {
    const changed = this.#state !== state;
    this.#state = state;
    // 'closed' is re-announced so a new error reason reaches the UI; others only on change.
    if (changed || state === 'closed') {
      const info = { error: this.#lastError, keyChanged: this.#keyChanged };
      hook(() => this.#o.onState?.(state, info));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** A bug in a hook must not tear down the link it is observing. */
function hook(call: () => void): void {
  try {
    call();
  } catch (error) {
    console.error('app link hook failed', error);
  }
}

const PUSH_TOPICS: readonly string[] = ['message', 'delivery', 'peers', 'session'] satisfies PushTopic[];
function isPushTopic(topic: string): topic is PushTopic {
  return PUSH_TOPICS.includes(topic);
}

/** Binary message data as bytes; null for text frames (which the app link never uses). */
function toBytes(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data;
  if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') return new Uint8Array(data as ArrayBuffer);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

function safeB64(text: string): Uint8Array | null {
  try {
    return b64urlDecode(text);
  } catch {
    return null;
  }
}

/** "Chrome on Linux" and the like, from a user-agent string; the label the companion lists under Devices. */
export function deviceLabelFromUserAgent(ua: string): string {
  const browser = /Edg(e|A|iOS)?\//.test(ua)
    ? 'Edge'
    : /OPR\/|Opera/.test(ua)
      ? 'Opera'
      : /SamsungBrowser\//.test(ua)
        ? 'Samsung Internet'
        : /Firefox\/|FxiOS\//.test(ua)
          ? 'Firefox'
          : /Chrom(e|ium)\/|CriOS\//.test(ua)
            ? 'Chrome'
            : /Safari\//.test(ua)
              ? 'Safari'
              : 'Browser';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPod/.test(ua)
      ? 'iOS'
      : /iPad/.test(ua)
        ? 'iPadOS'
        : /CrOS/.test(ua)
          ? 'ChromeOS'
          : /Windows/.test(ua)
            ? 'Windows'
            : /Mac OS X|Macintosh/.test(ua)
              ? 'macOS'
              : /Linux/.test(ua)
                ? 'Linux'
                : null;
  return os ? `${browser} on ${os}` : browser;
}
