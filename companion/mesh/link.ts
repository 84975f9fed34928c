import type { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, type Frame } from '../../protocol/frames.ts';
import type { HandshakePayload } from '../../protocol/frames.ts';
import type { PublicIdentity } from '../../protocol/identity.ts';
import type { SecureTransport } from '../../protocol/noise/index.ts';
import type { WsInbox } from './inbox.ts';

/** WebSocket close codes for the reasons a link ends; the reason text is for humans. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolViolation: 4000,
  handshakeFailed: 4001,
  duplicate: 4003,
  decryptFailed: 4005,
  keepaliveTimeout: 4006,
} as const;

export interface KeepaliveTimes {
  intervalMs: number;
  /** A link that has received nothing (not even a pong) for this long is closed. */
  timeoutMs: number;
}

export const DEFAULT_KEEPALIVE: KeepaliveTimes = { intervalMs: 15_000, timeoutMs: 45_000 };

export type LinkFrame = Exclude<Frame, { t: 'ping' } | { t: 'pong' }>;

export interface LinkInfo {
  remote: PublicIdentity;
  direction: 'inbound' | 'outbound';
  /** The endpoint we dialled (outbound links only). */
  endpoint: string | null;
  remoteAddress: string | null;
  payload: HandshakePayload;
  connectedAt: number;
}

/**
 * One authenticated, encrypted connection to a peer. Frames in both directions go through the
 * Noise transport; keepalive pings travel inside it too, so a silent or dead peer is noticed.
 */
export class Link {
  readonly peerId: string;
  private closed = false;
  private lastReceivedAt = Date.now();
  private pingCounter = 0;
  private readonly keepalive: NodeJS.Timeout;
  private frameHandler: (frame: LinkFrame) => void = () => {};
  private closeHandlers: Array<(code: number, reason: string) => void> = [];

  constructor(
    private readonly ws: WebSocket,
    inbox: WsInbox,
    private readonly transport: SecureTransport,
    readonly info: LinkInfo,
    private readonly keepaliveTimes: KeepaliveTimes = DEFAULT_KEEPALIVE,
  ) {
    this.peerId = info.remote.peerId;
    ws.on('close', (code, reason) => this.finish(code, reason.toString() || 'connection closed'));
    inbox.drainTo((message) => this.receive(message));
    this.keepalive = setInterval(() => this.tick(), keepaliveTimes.intervalMs);
    this.keepalive.unref();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  onFrame(handler: (frame: LinkFrame) => void): void {
    this.frameHandler = handler;
  }

  onClose(handler: (code: number, reason: string) => void): void {
    this.closeHandlers.push(handler);
  }

  send(frame: Frame): boolean {
    if (this.closed) return false;
    try {
      this.ws.send(this.transport.seal(encodeFrame(frame)));
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
    const decoded = decodeFrame(plaintext);
    if (!decoded.ok) {
      this.close(CloseCode.protocolViolation, `protocol violation: ${decoded.error}`);
      return;
    }
    const frame = decoded.frame;
    if (frame.t === 'unknown') return; // newer peers may speak frames we do not know yet
    if (frame.t === 'ping') this.send({ t: 'pong', n: frame.n });
    else if (frame.t !== 'pong') this.frameHandler(frame);
  }
}
