import { streamEvents } from './events.ts';
import type { Json, RestClient } from './rest-client.ts';

/** Longest wait_for_message may block: MCP clients time tool calls out (often at 60 s), and a turn should end. */
export const MAX_WAIT_SECONDS = 300;
/** Messages kept that arrived during a filtered wait without matching it, for the next waits. */
export const MAX_HELD_MESSAGES = 100;
/** Pause before reopening a stream the server ended or dropped. */
const RECONNECT_DELAY_MS = 500;

export interface Incoming {
  kind: 'post' | 'dm';
  message: Json;
}

export interface WaitRequest {
  timeoutMs: number;
  channelId?: string;
  peerId?: string;
  signal: AbortSignal;
}

export interface WaitResult {
  incoming: Incoming | null;
  /** Held messages forgotten (MAX_HELD_MESSAGES) since the last wait reported it. */
  forgotten: number;
}

const matches = (incoming: Incoming, request: WaitRequest) =>
  (request.channelId === undefined && request.peerId === undefined) ||
  (incoming.kind === 'post' && incoming.message.channel_id === request.channelId) ||
  (incoming.kind === 'dm' && incoming.message.peer_id === request.peerId);

/** Our own posts and DMs come through the stream too; waiting is for what others write. */
const ours = (incoming: Incoming) => incoming.message.origin === 'local' || incoming.message.direction === 'outgoing';

/**
 * wait_for_message's memory: the stream cursor after the last event seen, so consecutive waits
 * neither miss nor repeat a message, and the messages a filtered wait passed over, so a later
 * wait with another filter (or none) still gets them, oldest first.
 */
export class MessageWaiter {
  private cursor: string | null = null;
  private held: Incoming[] = [];
  private forgotten = 0;
  private busy = false;

  constructor(private readonly rest: RestClient) {}

  async wait(request: WaitRequest): Promise<WaitResult> {
    // Two waits at once would race for the same messages and the one cursor.
    if (this.busy) throw new Error('Another wait_for_message is still running; wait for it to finish.');
    this.busy = true;
    try {
      const incoming = this.takeHeld(request) ?? (await this.follow(request));
      const forgotten = this.forgotten;
      this.forgotten = 0;
      return { incoming, forgotten };
    } finally {
      this.busy = false;
    }
  }

  private takeHeld(request: WaitRequest): Incoming | null {
    const index = this.held.findIndex((incoming) => matches(incoming, request));
    return index < 0 ? null : this.held.splice(index, 1)[0]!;
  }

  private hold(incoming: Incoming): void {
    this.held.push(incoming);
    if (this.held.length > MAX_HELD_MESSAGES) {
      this.held.shift();
      this.forgotten += 1;
    }
  }

  /** Reads the stream from the cursor until a matching message, the timeout or cancellation. */
  private async follow(request: WaitRequest): Promise<Incoming | null> {
    const timeout = AbortSignal.timeout(request.timeoutMs);
    const signal = AbortSignal.any([request.signal, timeout]);
    try {
      while (!signal.aborted) {
        for await (const event of streamEvents(this.rest, this.cursor, signal)) {
          if (event.event === 'ready') this.cursor = (JSON.parse(event.data) as { cursor: string }).cursor;
          else if (event.id) this.cursor = event.id;
          if (event.event === 'dropped') break;
          if (event.event !== 'post' && event.event !== 'dm') continue;
          const incoming: Incoming = { kind: event.event, message: JSON.parse(event.data) as Json };
          if (ours(incoming)) continue;
          if (matches(incoming, request)) return incoming;
          this.hold(incoming);
        }
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
    if (request.signal.aborted) throw new Error('wait_for_message was cancelled');
    return null;
  }
}
