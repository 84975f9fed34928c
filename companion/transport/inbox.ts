import type { MessageSocket } from './message-socket.ts';

export class InboxClosedError extends Error {}
export class InboxTimeoutError extends Error {}

const toBytes = (data: Buffer | ArrayBuffer | Buffer[]): Uint8Array =>
  Array.isArray(data) ? new Uint8Array(Buffer.concat(data)) : new Uint8Array(data);

/**
 * Buffers a socket's binary messages from the moment it opens, so that nothing is lost between
 * the handshake (which pulls messages one at a time) and the link (which takes a push handler).
 * A text message is a protocol violation: every Canopy frame is binary.
 */
export class MessageInbox {
  private queue: Uint8Array[] = [];
  private waiter: ((message: Uint8Array | Error) => void) | null = null;
  private sink: ((message: Uint8Array) => void) | null = null;
  private closedReason: string | null = null;

  constructor(ws: MessageSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        ws.close(4000, 'protocol violation: text frame');
        return;
      }
      this.deliver(toBytes(data));
    });
    ws.on('close', (code, reason) => this.fail(`closed (${code}${reason.length ? ': ' + reason.toString() : ''})`));
    ws.on('error', (error) => this.fail(error.message));
  }

  private deliver(message: Uint8Array): void {
    if (this.sink) this.sink(message);
    else if (this.waiter) this.takeWaiter()(message);
    else this.queue.push(message);
  }

  private fail(reason: string): void {
    this.closedReason ??= reason;
    if (this.waiter) this.takeWaiter()(new InboxClosedError(`Connection ${reason}`));
  }

  private takeWaiter(): (message: Uint8Array | Error) => void {
    const waiter = this.waiter!;
    this.waiter = null;
    return waiter;
  }

  next(timeoutMs: number): Promise<Uint8Array> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedReason) return Promise.reject(new InboxClosedError(`Connection ${this.closedReason}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new InboxTimeoutError(`No message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (message) => {
        clearTimeout(timer);
        if (message instanceof Error) reject(message);
        else resolve(message);
      };
    });
  }

  /** Hands every queued and future message to `sink`, in order. */
  drainTo(sink: (message: Uint8Array) => void): void {
    this.sink = sink;
    for (const message of this.queue.splice(0)) sink(message);
  }
}
