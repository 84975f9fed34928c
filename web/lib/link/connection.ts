/** One socket attempt of the app link (see app-link.ts): its state and its teardown. */
import type { KeyPair } from '../../../protocol/crypto/types.ts';
import type { SecureTransport, XXHandshake } from '../../../protocol/noise/index.ts';
import { AppError, type WebSocketLike } from './types.ts';

export type Timer = ReturnType<typeof setTimeout>;

export interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: AppError) => void;
  timer: Timer;
}

/** State of one socket attempt; a fresh one per (re)connect so late events of an old socket are ignored. */
export interface Connection {
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

export function newConnection(): Connection {
  return {
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
}

/** Stops the connection's timers, closes its socket and fails its outstanding requests. */
export function teardownConnection(conn: Connection, code: number, reason: string): void {
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
