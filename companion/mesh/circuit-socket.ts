import { EventEmitter } from 'node:events';
import { b64urlDecode, b64urlEncode } from '../../protocol/bytes.ts';
import { MAX_FRAME_BYTES } from '../../protocol/noise/index.ts';
import { CIRCUIT_CHUNK_BYTES, CIRCUIT_PACE, type CircuitFrame, type CircuitRefusal } from '../../protocol/mesh/relay.ts';
import { TokenBucket } from '../token-bucket.ts';
import type { MessageSocket } from '../transport/message-socket.ts';
import type { CircuitLeg } from './circuit-mux.ts';
import type { Link } from './link.ts';

/** The largest message a circuit reassembles: a whole sealed link frame. */
const MAX_MESSAGE_BYTES = MAX_FRAME_BYTES + 16;
/** What the close of a circuit looks like to the link inside, when the circuit (not the peer) ended it. */
const CIRCUIT_GONE = 4010;

export class CircuitClosedError extends Error {
  constructor(
    readonly code: CircuitRefusal | string,
    message: string,
  ) {
    super(message);
    this.name = 'CircuitClosedError';
  }
}

/**
 * One end of a relay circuit, seen as a socket: what the link inside sends is cut into
 * `circuit_data` chunks on the link to the relay, paced under the relay's rate (CIRCUIT_PACE), and
 * put back together on the other side. The bytes are the two ends' own Noise messages, so the
 * relay carries them without being able to read or change them.
 */
export class CircuitSocket extends EventEmitter implements MessageSocket, CircuitLeg {
  private readonly queue: string[][] = [];
  private queuedBytes = 0;
  private readonly bytes = new TokenBucket(CIRCUIT_PACE.burstBytes, CIRCUIT_PACE.bytesPerSecond);
  private readonly frames = new TokenBucket(CIRCUIT_PACE.burstFrames, CIRCUIT_PACE.framesPerSecond);
  private pumpTimer: NodeJS.Timeout | null = null;
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private closed = false;
  private acceptWaiter: { resolve: () => void; reject: (error: CircuitClosedError) => void } | null = null;

  constructor(
    readonly relay: Link,
    readonly id: number,
    private readonly onFinished: () => void,
  ) {
    super();
  }

  get bufferedAmount(): number {
    return this.queuedBytes + this.relay.bufferedAmount;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Resolves when the relay reports the other end accepted; rejects if the circuit is refused first. */
  accepted(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acceptWaiter = null;
        this.close(CIRCUIT_GONE, 'no answer from the relay');
        reject(new CircuitClosedError('timeout', `The relay did not open the circuit within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.acceptWaiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
    });
  }

  send(data: Uint8Array): void {
    if (this.closed) return;
    const chunks: string[] = [];
    for (let at = 0; at < data.length || at === 0; at += CIRCUIT_CHUNK_BYTES) {
      chunks.push(b64urlEncode(data.subarray(at, at + CIRCUIT_CHUNK_BYTES)));
    }
    this.queue.push(chunks);
    this.queuedBytes += data.length;
    this.pump();
  }

  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.relay.send({ t: 'circuit_close', id: this.id, code: 'closed', reason: reason.slice(0, 200), link_code: code });
    this.finish(code, reason);
  }

  terminate(): void {
    this.close(CIRCUIT_GONE, 'terminated');
  }

  receive(frame: Extract<CircuitFrame, { t: 'circuit_accept' | 'circuit_data' | 'circuit_close' }>): void {
    if (this.closed) return;
    switch (frame.t) {
      case 'circuit_accept': {
        const waiter = this.acceptWaiter;
        this.acceptWaiter = null;
        waiter?.resolve();
        return;
      }
      case 'circuit_data':
        return this.receiveChunk(frame.data, frame.more === true);
      case 'circuit_close':
        return this.remoteClosed(frame.code, frame.reason, frame.link_code);
    }
  }

  linkClosed(): void {
    this.remoteClosed('link_closed', 'the link to the relay closed');
  }

  private receiveChunk(data: string, more: boolean): void {
    const chunk = b64urlDecode(data);
    this.partBytes += chunk.length;
    if (this.partBytes > MAX_MESSAGE_BYTES) {
      this.close(4000, 'circuit message too large');
      return;
    }
    this.parts.push(chunk);
    if (more) return;
    const message = this.parts.length === 1 ? Buffer.from(this.parts[0]!) : Buffer.concat(this.parts);
    this.parts = [];
    this.partBytes = 0;
    this.emit('message', message, true);
  }

  private remoteClosed(code: string, reason: string, linkCode?: number): void {
    if (this.closed) return;
    const waiter = this.acceptWaiter;
    this.acceptWaiter = null;
    waiter?.reject(new CircuitClosedError(code, reason || code));
    this.finish(linkCode ?? CIRCUIT_GONE, linkCode ? reason : `relay circuit closed (${code}${reason ? `: ${reason}` : ''})`);
  }

  private finish(code: number, reason: string): void {
    this.closed = true;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.onFinished();
    this.emit('close', code, Buffer.from(reason));
  }

  /** Sends queued chunks as fast as the pace allows; the rest waits, counted in bufferedAmount. */
  private pump(): void {
    if (this.pumpTimer || this.closed) return;
    while (this.queue.length) {
      const message = this.queue[0]!;
      const chunk = message[0]!;
      const cost = (chunk.length * 3) / 4;
      const wait = Math.max(this.bytes.waitMs(cost), this.frames.waitMs());
      if (wait > 0) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = null;
          this.pump();
        }, wait);
        return;
      }
      this.bytes.take(cost);
      this.frames.take();
      message.shift();
      const more = message.length > 0;
      if (!more) this.queue.shift();
      this.queuedBytes -= Math.min(this.queuedBytes, Math.floor(cost));
      this.relay.send(more ? { t: 'circuit_data', id: this.id, data: chunk, more } : { t: 'circuit_data', id: this.id, data: chunk });
    }
    this.queuedBytes = 0;
  }
}
