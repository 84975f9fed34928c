import { EventEmitter } from 'node:events';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import { isDmChannel, signEvent, type CanopyEvent, type DmBody, type PostBody, type SignedEvent } from '../../protocol/events.ts';
import { MAX_ACK_IDS, MAX_REASON_LENGTH, MAX_SYNC_PAGE_ENTRIES, type ReceivedEvents } from '../../protocol/frames.ts';
import type { Identity } from '../../protocol/identity.ts';
import { ACK_HEADS, BATCH_SIGNATURES } from '../../protocol/version.ts';
import { defineOwn, headsIn, pageVector, type VersionVector } from '../../protocol/mesh/vectors.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/index.ts';
import { batchesOf } from './batches.ts';
import { LinkCatchUp, MAX_LINK_BUFFERED_BYTES, type CatchUpHost } from './catch-up.ts';
import { EventIntake, type IntakeResult } from './intake.ts';
import { DEFAULT_INTRODUCTION_LIMITS, IntroductionLedger, type IntroductionLimits } from './introductions.ts';
import type { Link, LinkFrame, ReceivedLinkFrame } from './link.ts';
import type { LinkManager } from './link-manager.ts';

export type SyncFrame = Extract<ReceivedLinkFrame, { t: 'sync' | 'events' | 'ack' | 'sync_done' | 'error' }>;

/** A link whose socket holds more than this gets no live pushes; a catch-up sends them once it drains. */
export const MAX_LIVE_BUFFERED_BYTES = 4 * MAX_LINK_BUFFERED_BYTES;
/** One warning per link and topic per this long: a peer must not be able to flood our log. */
const WARN_INTERVAL_MS = 60_000;

export type DeliveryState = 'queued' | 'sent' | 'delivered';

interface SyncEvents {
  /** A new event was stored (ours or a peer's); `id` is its event id. */
  stored: [id: string, channel: string, kind: CanopyEvent['kind']];
  delivery: [id: string, peerId: string, state: DeliveryState];
  caughtUp: [peerId: string];
}

/**
 * Moves events between this node and its links. On every link-up both sides send their version
 * vectors (in pages) and each answers with exactly the events the other lacks, so catch-up is
 * exact and independent of clocks. New events are pushed live; every received batch is
 * acknowledged so the author sees "delivered", and the peer's vector settles what an ack lost to a
 * crash would have said.
 */
export class SyncEngine extends EventEmitter<SyncEvents> {
  private readonly catchUps = new WeakMap<Link, LinkCatchUp>();
  private readonly lastWarned = new Map<string, number>();
  private readonly introductions: IntroductionLedger;
  private readonly intake: EventIntake;
  private readonly catchUpHost: CatchUpHost;
  /** Live pushes waiting for the end of the current task, per link (see push). */
  private readonly livePending = new Map<Link, SignedEvent[]>();
  /**
   * Per linked peer and channel, the seq up to which everything of ours is known delivered there:
   * the next cumulative ack only needs to look above it. Dropped when the link closes.
   */
  private readonly deliveredThrough = new Map<string, Map<string, number>>();
  private liveFlushScheduled = false;

  constructor(
    private readonly crypto: CryptoBackend,
    private readonly identity: Identity,
    private readonly store: Store,
    private readonly manager: LinkManager,
    private readonly log: Logger,
    limits: IntroductionLimits = DEFAULT_INTRODUCTION_LIMITS,
  ) {
    super();
    this.introductions = new IntroductionLedger(
      { channels: store.events.firstSeenChannels(), authors: store.events.firstSeenAuthors(), heads: store.events.firstSeenPairs() },
      limits,
    );
    this.intake = new EventIntake(crypto, identity, store, this.introductions, (peerId) => this.entitled(peerId));
    this.catchUpHost = this.catchUpHostFor();
  }

  /** Which channels a peer may receive: public channels, and only its own DM conversations. */
  entitled(peerId: string): (channel: string) => boolean {
    return (channel) => !isDmChannel(channel) || channel.split(':').includes(peerId);
  }

  linkUp(link: Link): void {
    link.onClose(() => {
      this.deliveredThrough.delete(link.peerId);
      for (const key of this.lastWarned.keys()) if (key.startsWith(`${link.peerId}/`)) this.lastWarned.delete(key);
    });
    void this.sendVector(link).catch((error: Error) => this.log.warn('sync', 'sending our vector failed', { peer: link.peerId, error: error.message }));
  }

  /** Our vector in pages under the frame limits, the last one without `more`. */
  private async sendVector(link: Link): Promise<void> {
    const pages = pageVector(this.store.events.vector(this.entitled(link.peerId)), MAX_SYNC_PAGE_ENTRIES);
    for (const [i, page] of pages.entries()) {
      await link.drained(MAX_LINK_BUFFERED_BYTES);
      const last = i === pages.length - 1;
      if (!link.send(last ? { t: 'sync', vectors: page } : { t: 'sync', vectors: page, more: true })) return;
    }
  }

  /**
   * Stores our own new events with their delivery rows in one commit (with `alsoInCommit`), then
   * pushes them to every entitled peer: the frames are written before this returns.
   */
  publish(events: Array<{ signed: SignedEvent; id: string; readable: PostBody | null }>, alsoInCommit: () => void): void {
    const now = Date.now();
    let everyone: string[] | undefined;
    const recipientsOf = ({ event }: SignedEvent) => (event.kind === 'dm' ? [(event.body as DmBody).to] : (everyone ??= this.store.peers.ids()));
    const planned = events.map(({ signed, id, readable }) => ({
      signed,
      id,
      readable,
      deliveries: recipientsOf(signed).map((peerId) => {
        const link = this.manager.get(peerId);
        return { peerId, link, state: (link?.isOpen ? 'sent' : 'queued') as DeliveryState };
      }),
    }));
    // Stored with their delivery rows before anything leaves, so a crash cannot lose a message a
    // peer already has; a link that drops meanwhile is covered by catch-up.
    this.store.db.transaction(() => {
      for (const { signed, id, readable, deliveries } of planned) {
        this.store.events.insert(signed, { id, sourcePeer: null, readable, receivedAt: now, unseen: true });
        for (const { peerId, state } of deliveries) this.store.deliveries.set(id, peerId, state, now);
      }
      alsoInCommit();
    })();
    for (const { signed, id, deliveries } of planned) {
      this.introductions.stored(signed.event, null);
      this.emit('stored', id, signed.event.channel, signed.event.kind);
      for (const { peerId, link, state } of deliveries) {
        if (link) this.push(link, [signed]);
        this.emit('delivery', id, peerId, state);
      }
    }
    this.flushLive();
  }

  handleFrame(link: Link, frame: SyncFrame): void {
    switch (frame.t) {
      case 'sync':
        this.catchUpOf(link).receivePage(frame);
        break;
      case 'events':
        this.receive(link, frame);
        break;
      case 'ack':
        this.acknowledge(link.peerId, frame.ids);
        if (frame.heads) this.advanceUpTo(link.peerId, frame.heads, 'delivered');
        if (frame.rejected?.length) this.warn(link.peerId, 'rejected', 'peer rejected events we sent', { count: frame.rejected.length, first: frame.rejected[0]!.reason });
        break;
      case 'error':
        this.warn(link.peerId, 'error', 'peer refused a frame', { about: frame.about, reason: frame.reason });
        break;
      case 'sync_done':
        this.emit('caughtUp', link.peerId);
        break;
    }
  }

  /**
   * A live push, sent once the code that made it has run to its end (a microtask; publish flushes
   * at once): the events of one burst (a forwarded batch, one group commit) leave in one frame per
   * link, so the peer stores them in one commit and answers with one ack. A send's frames are
   * written before the API answers it: a sender killed right after "sent" has written them.
   */
  private push(link: Link, events: SignedEvent[]): void {
    if (!link.isOpen) return;
    const queued = this.livePending.get(link);
    if (queued) queued.push(...events);
    else this.livePending.set(link, [...events]);
    if (!this.liveFlushScheduled) {
      this.liveFlushScheduled = true;
      queueMicrotask(() => this.flushLive());
    }
  }

  private flushLive(): void {
    this.liveFlushScheduled = false;
    if (this.livePending.size === 0) return;
    const pending = [...this.livePending];
    this.livePending.clear();
    for (const [link, events] of pending) {
      // A microtask has no caller to report to: a failure here must cost one link's push, never the process.
      try {
        this.sendLive(link, events);
      } catch (error) {
        this.log.error('sync', 'live push failed', { peer: link.peerId, error: (error as Error).message });
      }
    }
  }

  /**
   * A peer that does not read gets nothing more buffered: once its socket drains, a catch-up from
   * its last vector sends what it missed.
   */
  private sendLive(link: Link, events: SignedEvent[]): void {
    if (!link.isOpen) return;
    if (link.bufferedAmount > MAX_LIVE_BUFFERED_BYTES) {
      this.catchUpOf(link).resend();
      return;
    }
    for (const batch of batchesOf(this.verifiableBy(link, events))) link.send({ t: 'events', events: batch });
  }

  /**
   * A peer from before batch signatures cannot check a BatchProof: it gets our own events signed
   * one by one, and other authors' batch-signed events wait until it upgrades (its next catch-up
   * after that brings them).
   */
  private verifiableBy(link: Link, events: SignedEvent[]): SignedEvent[] {
    if (link.info.payload.capabilities.includes(BATCH_SIGNATURES)) return events;
    return events.flatMap((signed) => {
      if (!signed.proof) return [signed];
      return signed.event.author === this.identity.peerId ? [signEvent(this.crypto, this.identity, signed.event)] : [];
    });
  }

  /** Made on first use: the peer's first frames may be handled before linkUp runs. */
  private catchUpOf(link: Link): LinkCatchUp {
    let catchUp = this.catchUps.get(link);
    if (!catchUp) {
      catchUp = new LinkCatchUp(link, this.catchUpHost);
      this.catchUps.set(link, catchUp);
    }
    return catchUp;
  }

  /** What each link's catch-up needs from the engine. */
  private catchUpHostFor(): CatchUpHost {
    return {
      store: this.store,
      entitled: (peerId) => this.entitled(peerId),
      totalBuffered: () => this.manager.connected().reduce((sum, link) => sum + link.bufferedAmount, 0),
      verifiableBy: (link, events) => this.verifiableBy(link, events),
      sent: (batch, peerId) => this.markSent(batch, peerId),
      // The peer's vector says what of ours it holds.
      vectorReceived: (peerId, vector) => this.advanceUpTo(peerId, vector, 'delivered'),
      refused: (link, about, reason) => {
        this.reply(link, { t: 'error', about, reason: reason.slice(0, MAX_REASON_LENGTH) });
        this.warn(link.peerId, `refused/${about}`, 'refused part of a frame', { about, reason });
      },
      failed: (peerId, error) => this.log.warn('sync', 'catch-up failed', { peer: peerId, error: error.message }),
      done: (peerId, events) => {
        if (events) this.log.info('sync', 'catch-up sent', { peer: peerId, events });
      },
    };
  }

  /**
   * A catch-up batch carries a run of each (channel, author) the peer lacked, so everything of
   * ours up to the highest seq sent in a channel is now at least "sent" (earlier ones went in an
   * earlier batch, or the peer's vector showed it held them).
   */
  private markSent(batch: SignedEvent[], peerId: string): void {
    const me = this.identity.peerId;
    const highest: VersionVector = {};
    for (const { event } of batch) {
      if (event.author !== me) continue;
      const heads = headsIn(highest, event.channel);
      defineOwn(heads, me, Math.max(Object.hasOwn(heads, me) ? heads[me]! : 0, event.seq));
    }
    this.advanceUpTo(peerId, highest, 'sent');
  }

  /**
   * Our events up to each of our heads in `heads` move to `state` for that peer. With the peer's
   * vector or a cumulative ack that is "delivered": the peer holds every seq up to its head of each
   * (channel, author), whether or not an ack for each reached us (the sender may have died first).
   * Only rows for recipients exist, and only channels the peer may receive count.
   */
  private advanceUpTo(peerId: string, heads: VersionVector, state: DeliveryState): void {
    const entitled = this.entitled(peerId);
    const me = this.identity.peerId;
    const now = Date.now();
    const known = state === 'delivered' ? (this.deliveredThrough.get(peerId) ?? new Map<string, number>()) : undefined;
    const moved = this.store.db.transaction(() =>
      Object.entries(heads).flatMap(([channel, authors]) => {
        if (!entitled(channel) || !Object.hasOwn(authors, me)) return [];
        const head = authors[me]!;
        const from = known?.get(channel);
        // Without a known start, the rows still pending for this peer are fewer than our history.
        const ids =
          from === undefined
            ? this.store.deliveries.advanceUpTo(peerId, me, channel, head, state, now)
            : this.store.deliveries.advanceRange(peerId, me, channel, from, head, state, now);
        // Only channels we post in, and never past our own last seq: a peer's claims cannot grow this.
        const through = Math.min(head, this.store.events.nextSeq(me, channel) - 1);
        if (known && through > (from ?? 0)) known.set(channel, through);
        return ids;
      }),
    )();
    if (known?.size && this.manager.get(peerId)?.isOpen) this.deliveredThrough.set(peerId, known);
    for (const id of moved) this.emit('delivery', id, peerId, state);
  }

  /** Moves existing delivery rows forward in one commit (catch-ups and acks come by the thousand). */
  private advance(ids: string[], peerId: string, state: DeliveryState): void {
    if (ids.length === 0) return;
    const now = Date.now();
    const moved = this.store.db.transaction(() => ids.filter((id) => this.store.deliveries.advance(id, peerId, state, now)))();
    for (const id of moved) this.emit('delivery', id, peerId, state);
  }

  private receive(link: Link, frame: ReceivedEvents): void {
    let result;
    try {
      result = this.intake.receive(link.peerId, frame);
    } catch (error) {
      // A store failure is ours, not the peer's: report the batch as not taken and keep the link.
      this.log.error('sync', 'storing a received batch failed', { peer: link.peerId, error: (error as Error).message });
      this.reply(link, { t: 'ack', ids: [], rejected: frame.events.map(({ index }) => ({ index, reason: 'could not be stored here' })) });
      return;
    }
    const { acked, fresh, rejected } = result;
    for (const { id, signed } of fresh) this.emit('stored', id, signed.event.channel, signed.event.kind);
    if (rejected.length) this.warn(link.peerId, 'invalid', 'rejected events', { count: rejected.length, first: rejected[0]!.reason });
    if (acked.length || rejected.length) this.reply(link, { ...this.ackOf(link, acked), rejected });
    this.forward(
      fresh.map((f) => f.signed),
      link.peerId,
    );
  }

  /**
   * What to acknowledge: to a peer that reads cumulative acks, our head for each (channel, author)
   * of the batch, plus the ids of events held beyond a gap; to others, every id (as many as fit:
   * the peer's next vector settles the rest).
   */
  private ackOf(link: Link, acked: IntakeResult['acked']): { t: 'ack'; ids: string[]; heads?: VersionVector } {
    if (!link.info.payload.capabilities.includes(ACK_HEADS)) return { t: 'ack', ids: acked.slice(0, MAX_ACK_IDS).map(({ id }) => id) };
    const heads: VersionVector = {};
    const beyond: string[] = [];
    for (const { id, event } of acked) {
      const authors = headsIn(heads, event.channel);
      const head = Object.hasOwn(authors, event.author) ? authors[event.author]! : defineOwn(authors, event.author, this.store.events.head(event.channel, event.author));
      if (event.seq > head) beyond.push(id);
    }
    return { t: 'ack', ids: beyond.slice(0, MAX_ACK_IDS), heads };
  }

  /**
   * Acks and error frames, unless the peer is not reading: a small invalid frame can earn a large
   * ack, so a peer that never reads must not make us buffer them. A lost ack costs nothing: the
   * peer's next vector settles delivery states.
   */
  private reply(link: Link, frame: Extract<LinkFrame, { t: 'ack' | 'error' }>): void {
    if (link.bufferedAmount > MAX_LIVE_BUFFERED_BYTES) {
      this.warn(link.peerId, 'backlog', 'peer is not reading; replies dropped', { buffered: link.bufferedAmount });
      return;
    }
    link.send(frame);
  }

  /**
   * Public posts and channel metadata spread through the mesh: each node passes new ones on to
   * its other links. (DMs never: they go to their recipient only.)
   */
  private forward(events: SignedEvent[], fromPeer: string): void {
    const posts = events.filter((e) => e.event.kind === 'post' && !isDmChannel(e.event.channel));
    const spreading = events.filter((e) => posts.includes(e) || e.event.kind === 'channel');
    if (spreading.length === 0) return;
    for (const link of this.manager.connected()) {
      if (link.peerId === fromPeer) continue;
      const relevant = spreading.filter((e) => e.event.author !== link.peerId);
      if (relevant.length) this.push(link, relevant);
    }
  }

  private acknowledge(peerId: string, ids: string[]): void {
    this.advance(
      ids.filter((id) => this.store.events.authorOf(id) === this.identity.peerId),
      peerId,
      'delivered',
    );
  }

  private warn(peerId: string, topic: string, message: string, fields: Record<string, unknown>): void {
    const key = `${peerId}/${topic}`;
    const now = Date.now();
    if (now - (this.lastWarned.get(key) ?? 0) < WARN_INTERVAL_MS) return;
    this.lastWarned.set(key, now);
    this.log.warn('sync', message, { peer: peerId, ...fields });
  }
}
