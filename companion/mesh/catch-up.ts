import type { SignedEvent } from '../../protocol/events.ts';
import type { ReceivedSync } from '../../protocol/frames.ts';
import { mergeVectorInto, missingFor, type VersionVector } from '../../protocol/mesh/vectors.ts';
import type { Store } from '../store/index.ts';
import { BATCH_BYTES, BatchBuilder } from './batches.ts';
import type { Link } from './link.ts';

/** Heads we accept in one peer's vector (all its pages together); beyond, entries are ignored. */
export const MAX_REMOTE_VECTOR_ENTRIES = 65_536;
/** A catch-up sends its next batch only once this link's socket holds at most this much. */
export const MAX_LINK_BUFFERED_BYTES = 1024 * 1024;
/** ...and all links' sockets together at most this much. */
export const MAX_TOTAL_BUFFERED_BYTES = 32 * 1024 * 1024;
/**
 * A link's catch-ups start at least this far apart. An honest peer sends one vector per link-up;
 * a peer flooding `sync` frames gets its merged vector answered once a second, not as fast as it
 * can type, since each run reads our whole vector and reconciles delivery states.
 */
export const CATCH_UP_SPACING_MS = 1_000;
/** Events read from the store at a time while building batches. */
const READ_CHUNK = 32;
const WAIT_STEP_MS = 10;

export interface CatchUpHost {
  store: Store;
  entitled(peerId: string): (channel: string) => boolean;
  /** Bytes buffered on every open link: the total bound across links. */
  totalBuffered(): number;
  /** The events as this link's peer can verify them (see SyncEngine.verifiableBy). */
  verifiableBy(link: Link, events: SignedEvent[]): SignedEvent[];
  /** A batch went out: record "sent" for our events in it. */
  sent(batch: SignedEvent[], peerId: string): void;
  /** A catch-up starts from this vector (complete, or several merged): reconcile delivery states. */
  vectorReceived(peerId: string, vector: VersionVector): void;
  /** Something the peer sent was refused without closing the link. */
  refused(link: Link, about: string, reason: string): void;
  failed(peerId: string, error: Error): void;
  done(peerId: string, events: number): void;
}

/**
 * Catch-up for one link. The peer's vector may come in pages (`more: true` until the last); a
 * complete vector starts a catch-up that sends exactly what the peer lacks, in batches built by
 * byte size, waiting for the socket to drain before each. At most one runs per link: a vector
 * arriving meanwhile is merged into one pending vector, run next (runs start `spacingMs` apart).
 * So no number of `sync` frames can make us hold more than one batch per link in memory, or spend
 * more than one catch-up's work per link per interval.
 */
export class LinkCatchUp {
  private assembling: VersionVector | null = null;
  private pending: VersionVector | null = null;
  private running = false;
  private lastStartedAt = -Infinity;
  /** Everything the peer told us it holds on this link: what a re-run starts from. */
  private readonly known: VersionVector = {};
  private heardVector = false;

  constructor(
    private readonly link: Link,
    private readonly host: CatchUpHost,
    private readonly spacingMs = CATCH_UP_SPACING_MS,
  ) {}

  receivePage(frame: ReceivedSync): void {
    const vector = (this.assembling ??= {});
    if (!frame.page.ok) {
      // The page is skipped; what it would have said counts as "holds nothing", which costs at
      // most duplicates the peer ignores.
      this.host.refused(this.link, 'sync', frame.page.error);
    } else if (mergeVectorInto(vector, frame.page.vectors, MAX_REMOTE_VECTOR_ENTRIES).dropped > 0) {
      this.host.refused(this.link, 'sync', `version vector over ${MAX_REMOTE_VECTOR_ENTRIES} entries; the rest is ignored`);
    }
    if (frame.more) return;
    this.assembling = null;
    this.heardVector = true;
    mergeVectorInto(this.known, vector, MAX_REMOTE_VECTOR_ENTRIES);
    this.schedule(vector);
  }

  /**
   * Runs a catch-up from what the peer last told us (e.g. after live pushes were held back).
   * Before its first vector there is nothing to do: that vector's catch-up reads our store when it
   * runs, so it includes whatever was held back.
   */
  resend(): void {
    if (this.heardVector) this.schedule(this.known);
  }

  private schedule(vector: VersionVector): void {
    if (this.pending) mergeVectorInto(this.pending, vector, MAX_REMOTE_VECTOR_ENTRIES);
    else this.pending = structuredClone(vector);
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    while (this.pending && this.link.isOpen) {
      const wait = this.lastStartedAt + this.spacingMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const vector = this.pending;
      this.pending = null;
      this.lastStartedAt = Date.now();
      this.host.vectorReceived(this.link.peerId, vector);
      try {
        this.host.done(this.link.peerId, await this.sendMissing(vector));
      } catch (error) {
        this.host.failed(this.link.peerId, error as Error);
      }
    }
    this.running = false;
  }

  private async sendMissing(remote: VersionVector): Promise<number> {
    const { store } = this.host;
    const entitled = this.host.entitled(this.link.peerId);
    const ranges = missingFor(store.events.vector(entitled), remote, entitled);
    const builder = new BatchBuilder(BATCH_BYTES);
    let sent = 0;
    const send = async (batch: SignedEvent[] | undefined): Promise<void> => {
      if (!batch) return;
      await this.roomToSend();
      if (!this.link.isOpen || !this.link.send({ t: 'events', events: batch })) throw new Error('link closed during catch-up');
      this.host.sent(batch, this.link.peerId);
      sent += batch.length;
    };
    for (const range of ranges) {
      let after = range.afterSeq;
      while (after < range.upToSeq) {
        const chunk = store.events.range(range.channel, range.author, after, READ_CHUNK).filter((e) => e.event.seq <= range.upToSeq);
        if (chunk.length === 0) break;
        for (const signed of this.host.verifiableBy(this.link, chunk)) await send(builder.add(signed));
        after = chunk[chunk.length - 1]!.event.seq;
      }
    }
    await send(builder.flush());
    // A peer that is not reading gets no more frames queued; its next vector earns a fresh answer.
    if (this.link.bufferedAmount <= MAX_LINK_BUFFERED_BYTES) this.link.send({ t: 'sync_done' });
    return sent;
  }

  /** Before every batch, not after: waits until this link and all links together have room. */
  private async roomToSend(): Promise<void> {
    await this.link.drained(MAX_LINK_BUFFERED_BYTES);
    while (this.link.isOpen && this.host.totalBuffered() > MAX_TOTAL_BUFFERED_BYTES) {
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    }
  }
}
