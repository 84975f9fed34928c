/**
 * Types, constants and errors of the app link (see app-link.ts). Import them from app-link.ts,
 * which re-exports the public ones; LinkFailure and the close codes are internal to web/lib/link.
 */
import type { CryptoBackend, KeyPair } from '../../../protocol/crypto/types.ts';
import type { AppPushes, PushTopic } from '../../../protocol/app/contract.ts';

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

export interface LinkStateInfo {
  error: string | null;
  keyChanged: KeyChangedDetail | null;
  /** Epoch ms of the next automatic reconnect attempt, when one is scheduled. */
  retryAt: number | null;
}

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
  onState?: (state: LinkState, info: LinkStateInfo) => void;
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
// Internal: close codes and the error that carries one

/** Close codes in the application range (browsers only allow 1000 and 3000–4999). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_PROTOCOL = 4000;
export const CLOSE_KEY_CHANGED = 4001;
export const CLOSE_TIMEOUT = 4002;

/** Why the link itself gave up on a connection, with the close code to send. */
export class LinkFailure extends Error {
  constructor(
    message: string,
    readonly code: number = CLOSE_PROTOCOL,
  ) {
    super(message);
  }
}
