import type { SecureTransport } from '../../protocol/noise/index.ts';
import type { MessageInbox } from './inbox.ts';
import type { MessageSocket } from './message-socket.ts';

/** WebSocket close codes for the reasons a secure channel ends; the reason text is for humans. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolViolation: 4000,
  handshakeFailed: 4001,
  /** App link: this browser is not (or no longer) allowed. */
  unauthorized: 4002,
  duplicate: 4003,
  decryptFailed: 4005,
  keepaliveTimeout: 4006,
  /** Mesh: a stranger's request was declined, not answered in time, or had no room. */
  notAccepted: 4007,
} as const;

export interface KeepaliveTimes {
  intervalMs: number;
  /** A channel that has received nothing (not even a pong) for this long is closed. */
  timeoutMs: number;
}

export const DEFAULT_KEEPALIVE: KeepaliveTimes = { intervalMs: 15_000, timeoutMs: 45_000 };

type Ping = { t: 'ping'; n: number };
type Pong = { t: 'pong'; n: number };
type Decoded<In> = { ok: true; frame: In | Ping | Pong | { t: 'unknown' } } | { ok: false; error: string };

export interface FrameCodec<In, Out> {
  encode(frame: Out | Ping | Pong): Uint8Array;
  decode(bytes: Uint8Array): Decoded<In>;
}

/**
 * An authenticated, encrypted socket (a WebSocket or a relay circuit) after its Noise handshake: typed frames both ways through
 * the transport, keepalive pings inside it (so a silent or dead peer is noticed), and a close on
 * the first undecryptable or invalid frame. The mesh link and the app link are both one of these.
 */
export class SecureChannel<In, Out> {
  private closed = false;
  private lastReceivedAt = Date.now();
  private pingCounter = 0;
  private readonly keepalive: NodeJS.Timeout;
  private frameHandler: ((frame: In) => void) | undefined;
  private closeHandlers: Array<(code: number, reason: string) => void> = [];

  constructor(
    private readonly ws: MessageSocket,
    private readonly inbox: MessageInbox,
    private readonly transport: SecureTransport,
    private readonly codec: FrameCodec<In, Out>,
    private readonly keepaliveTimes: KeepaliveTimes = DEFAULT_KEEPALIVE,
  ) {
    ws.on('close', (code, reason) => this.finish(code, reason.toString() || 'connection closed'));
    this.keepalive = setInterval(() => this.tick(), keepaliveTimes.intervalMs);
    this.keepalive.unref();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /**
   * Sets the frame handler and starts reading. Frames that arrived right after the handshake wait
   * in the inbox until then, so none is lost before its owner is listening.
   */
  onFrame(handler: (frame: In) => void): void {
    const first = this.frameHandler === undefined;
    this.frameHandler = handler;
    if (first) this.inbox.drainTo((message) => this.receive(message));
  }

  onClose(handler: (code: number, reason: string) => void): void {
    this.closeHandlers.push(handler);
  }

  send(frame: Out | Ping | Pong): boolean {
    if (this.closed) return false;
    try {
      this.ws.send(this.transport.seal(this.codec.encode(frame)));
      return true;
    } catch (error) {
      this.close(CloseCode.protocolViolation, `send failed: ${(error as Error).message}`);
      return false;
    }
  }

  /** Resolves once buffered output drops below `bytes`, so bulk senders do not swamp memory. */
  async drained(bytes = 1 << 22): Promise<void> {
    while (!this.closed && this.ws.bufferedAmount > bytes) await new Promise((r) => setTimeout(r, 5));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason.slice(0, 120));
    this.finish(code, reason);
    // A peer that never completes the close handshake must not keep the socket alive.
    setTimeout(() => this.ws.terminate(), 2_000).unref();
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    for (const handler of this.closeHandlers) handler(code, reason);
  }

  private tick(): void {
    if (Date.now() - this.lastReceivedAt > this.keepaliveTimes.timeoutMs) {
      this.close(CloseCode.keepaliveTimeout, 'keepalive timeout');
      return;
    }
    this.send({ t: 'ping', n: ++this.pingCounter });
  }

  private receive(message: Uint8Array): void {
    if (this.closed) return;
    let plaintext: Uint8Array;
    try {
      plaintext = this.transport.open(message);
    } catch (error) {
      this.close(CloseCode.decryptFailed, `decryption failed: ${(error as Error).message}`);
      return;
    }
    this.lastReceivedAt = Date.now();
    const decoded = this.codec.decode(plaintext);
    if (!decoded.ok) {
      this.close(CloseCode.protocolViolation, `protocol violation: ${decoded.error}`);
      return;
    }
    const frame = decoded.frame as { t: string; n?: number };
    if (frame.t === 'unknown') return; // newer peers may speak frames we do not know yet
    if (frame.t === 'ping') this.send({ t: 'pong', n: frame.n! });
    else if (frame.t !== 'pong') this.frameHandler?.(decoded.frame as In);
  }
}
