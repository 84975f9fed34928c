import type { ServerResponse } from 'node:http';
import type { Session } from 'better-sse';
import { formatCursor, type EventFeed, type FeedCursor, type CursorGap } from '../service/event-feed.ts';
import { limitsFromEnv } from '../env-limits.ts';
import type { Logger } from '../logger.ts';

export interface EventStreamLimits {
  /** Open streams at once, over all keys; more are answered 503. */
  maxStreams: number;
  /** Bytes a stream may have written but not yet sent before it waits for the client to read. */
  bufferedBytes: number;
  /** How long a stream waits for a client that stopped reading before it drops it. */
  stallMs: number;
  /** A comment line this often, so proxies and clients see a live connection. */
  heartbeatMs: number;
}

export const DEFAULT_EVENT_STREAM_LIMITS: EventStreamLimits = {
  maxStreams: 32,
  bufferedBytes: 1024 * 1024,
  stallMs: 30_000,
  heartbeatMs: 15_000,
};

export function eventStreamLimitsFromEnv(env: NodeJS.ProcessEnv): EventStreamLimits {
  return limitsFromEnv(env, DEFAULT_EVENT_STREAM_LIMITS, {
    maxStreams: 'CANOPY_EVENT_STREAMS_MAX',
    bufferedBytes: 'CANOPY_EVENT_STREAM_BUFFER_BYTES',
    stallMs: 'CANOPY_EVENT_STREAM_STALL_MS',
    heartbeatMs: 'CANOPY_EVENT_STREAM_HEARTBEAT_MS',
  });
}

/** Events read from the store per turn; the buffer bound decides how many are written. */
const READ_PAGE = 200;
/** A revoked or expired key loses its stream within this long. */
const KEY_RECHECK_MS = 1_000;
/** After the final `dropped` event, how long the client has to read it before the socket goes. */
const DROP_GRACE_MS = 10_000;

export type DropReason = 'slow_consumer' | 'key_revoked' | 'shutting_down';

export interface StreamClient {
  session: Session;
  response: ServerResponse;
  permissions: readonly string[];
  /** Whether the key that opened the stream still holds (not revoked or expired). */
  keyStillValid(): boolean;
}

/**
 * The open event streams. Each one is a cursor and a pump: woken by the feed, it reads what is
 * new from the store and writes it until it is live or the client's unsent bytes reach the
 * buffer bound. Nothing is queued per client, so a slow client costs a cursor, never memory; one
 * that stops reading for `stallMs` is dropped with a reason and may resume from its last id.
 */
export class EventStreams {
  readonly #open = new Set<EventPump>();

  constructor(
    private readonly feed: EventFeed,
    readonly limits: EventStreamLimits,
    private readonly log: Logger,
  ) {}

  get count(): number {
    return this.#open.size;
  }

  get full(): boolean {
    return this.#open.size >= this.limits.maxStreams;
  }

  /** Starts streaming to `client` from `from`, first saying why when the cursor had a gap. */
  open(client: StreamClient, from: FeedCursor, gap: CursorGap | null): void {
    const pump = new EventPump(this.feed, this.limits, client, from, (dropped) => {
      this.#open.delete(pump);
      if (dropped) this.log.info('events', 'event stream dropped', { reason: dropped, open: this.#open.size });
    });
    this.#open.add(pump);
    void pump.run(gap);
  }

  closeAll(): void {
    for (const pump of [...this.#open]) pump.drop('shutting_down');
  }
}

class EventPump {
  #closed = false;
  /** Resolves the wait for news from the feed. */
  #wake: (() => void) | null = null;
  /** Ends a wait for the client to read, when the stream closes meanwhile. */
  #stopWaiting: (() => void) | null = null;
  readonly #onWake = () => this.#wake?.();
  readonly #keyCheck: NodeJS.Timeout;
  // Ours rather than better-sse's keep-alive, which would go on writing after a drop ends the response.
  readonly #heartbeat: NodeJS.Timeout;

  constructor(
    private readonly feed: EventFeed,
    private readonly limits: EventStreamLimits,
    private readonly client: StreamClient,
    private cursor: FeedCursor,
    /** Called once, with the reason when the stream was dropped rather than closed by the client. */
    private readonly closed: (dropped?: DropReason) => void,
  ) {
    feed.on('wake', this.#onWake);
    client.session.once('disconnected', () => this.#close());
    this.#keyCheck = setInterval(() => {
      if (!client.keyStillValid()) this.drop('key_revoked');
    }, KEY_RECHECK_MS);
    this.#heartbeat = setInterval(() => void client.session.batch((buffer) => void buffer.comment().dispatch()), limits.heartbeatMs);
  }

  async run(gap: CursorGap | null): Promise<void> {
    const { session, response } = this.client;
    if (gap) session.push({ reason: gap, cursor: formatCursor(this.cursor) }, 'reset', formatCursor(this.cursor));
    let live = false;
    while (!this.#closed) {
      // Armed before reading: news that arrives while this page is written is not missed.
      const woken = this.#nextWake();
      const page = this.feed.read(this.cursor, this.client.permissions, READ_PAGE);
      let full = false;
      for (const event of page.events) {
        session.push(event.data, event.type, formatCursor(event.cursor));
        this.cursor = event.cursor;
        if (response.writableLength >= this.limits.bufferedBytes) {
          full = true;
          break;
        }
      }
      if (full) {
        if (!(await this.#drained())) return this.drop('slow_consumer');
        continue;
      }
      this.cursor = page.cursor;
      if (!page.caughtUp) {
        // A long replay yields between pages, so the rest of the companion keeps running.
        await new Promise(setImmediate);
        continue;
      }
      if (!live) {
        live = true;
        session.push({ cursor: formatCursor(this.cursor) }, 'ready', formatCursor(this.cursor));
      }
      await woken;
    }
  }

  /** Ends the stream with a last `dropped` event; a client that never reads loses its socket later. */
  drop(reason: DropReason): void {
    if (this.#closed) return;
    const { session, response } = this.client;
    session.push({ reason, cursor: formatCursor(this.cursor) }, 'dropped', formatCursor(this.cursor));
    this.#close(reason);
    response.end();
    setTimeout(() => response.destroy(), DROP_GRACE_MS).unref();
  }

  #close(dropped?: DropReason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keyCheck);
    clearInterval(this.#heartbeat);
    this.feed.off('wake', this.#onWake);
    this.#wake?.();
    this.#stopWaiting?.();
    this.closed(dropped);
  }

  #nextWake(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = null;
        resolve();
      };
    });
  }

  /**
   * True once the client has read what was buffered; false when it read nothing for `stallMs`.
   * News from the feed does not end this wait: only the client can make room.
   */
  #drained(): Promise<boolean> {
    const { response } = this.client;
    return new Promise((resolve) => {
      const finish = (drained: boolean) => {
        clearTimeout(timer);
        response.off('drain', onDrain);
        this.#stopWaiting = null;
        resolve(drained);
      };
      const onDrain = () => finish(true);
      const timer = setTimeout(() => finish(false), this.limits.stallMs);
      response.on('drain', onDrain);
      this.#stopWaiting = () => finish(true);
    });
  }
}
