import { EventEmitter } from 'node:events';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import {
  eventId,
  isDmChannel,
  openDm,
  verifyEvent,
  type DmBody,
  type PostBody,
  type SignedEvent,
} from '../../protocol/events.ts';
import type { Identity } from '../../protocol/identity.ts';
import { missingFor, type VersionVector } from '../../protocol/mesh/vectors.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/index.ts';
import type { Link, LinkFrame } from './link.ts';

export type SyncFrame = Extract<LinkFrame, { t: 'sync' | 'events' | 'ack' | 'sync_done' }>;
import type { LinkManager } from './link-manager.ts';

const BATCH_SIZE = 200;

export type DeliveryState = 'queued' | 'sent' | 'delivered';

interface SyncEvents {
  /** A new event was stored (ours or a peer's); `id` is its event id. */
  stored: [id: string, channel: string];
  delivery: [id: string, peerId: string, state: DeliveryState];
  caughtUp: [peerId: string];
}

/**
 * Moves events between this node and its links. On every link-up both sides send their version
 * vectors and each answers with exactly the events the other lacks, so catch-up is exact and
 * independent of clocks. New events are pushed live; every received batch is acknowledged so the
 * author sees "delivered".
 */
export class SyncEngine extends EventEmitter<SyncEvents> {
  constructor(
    private readonly crypto: CryptoBackend,
    private readonly identity: Identity,
    private readonly store: Store,
    private readonly manager: LinkManager,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Which channels a peer may receive: public channels, and only its own DM conversations. */
  entitled(peerId: string): (channel: string) => boolean {
    return (channel) => !isDmChannel(channel) || channel.split(':').includes(peerId);
  }

  linkUp(link: Link): void {
    link.send({ t: 'sync', vectors: this.store.events.vector(this.entitled(link.peerId)) });
  }

  /** Stores one of our own new events and pushes it to every entitled peer, recording delivery state. */
  publish(signed: SignedEvent, id: string, readable: PostBody): void {
    const now = Date.now();
    const deliveries = this.recipientsOf(signed).map((peerId) => {
      const link = this.manager.get(peerId);
      return { peerId, link, state: (link?.isOpen ? 'sent' : 'queued') as DeliveryState };
    });
    // Stored with its delivery rows in one commit before anything leaves, so a crash cannot lose
    // a message a peer already has; a link that drops meanwhile is covered by catch-up.
    this.store.db.transaction(() => {
      this.store.events.insert(signed, { id, sourcePeer: null, readable, receivedAt: now });
      for (const { peerId, state } of deliveries) this.store.deliveries.set(id, peerId, state, now);
    })();
    this.emit('stored', id, signed.event.channel);
    for (const { peerId, link, state } of deliveries) {
      link?.send({ t: 'events', events: [signed] });
      this.emit('delivery', id, peerId, state);
    }
  }

  private recipientsOf(signed: SignedEvent): string[] {
    if (signed.event.kind === 'dm') return [(signed.event.body as DmBody).to];
    return this.store.peers.list().map((peer) => peer.peerId);
  }

  private setDelivery(id: string, peerId: string, state: DeliveryState, at: number): void {
    this.store.deliveries.set(id, peerId, state, at);
    this.emit('delivery', id, peerId, state);
  }

  handleFrame(link: Link, frame: SyncFrame): void {
    switch (frame.t) {
      case 'sync':
        void this.sendMissing(link, frame.vectors).catch((error: Error) =>
          this.log.warn('sync', 'catch-up failed', { peer: link.peerId, error: error.message }),
        );
        break;
      case 'events':
        this.receive(link, frame.events);
        break;
      case 'ack':
        this.acknowledge(link.peerId, frame.ids);
        break;
      case 'sync_done':
        this.emit('caughtUp', link.peerId);
        break;
    }
  }

  private async sendMissing(link: Link, remote: VersionVector): Promise<void> {
    const entitled = this.entitled(link.peerId);
    const ranges = missingFor(this.store.events.vector(entitled), remote, entitled);
    let sent = 0;
    for (const range of ranges) {
      let after = range.afterSeq;
      while (after < range.upToSeq && link.isOpen) {
        const batch = this.store.events
          .range(range.channel, range.author, after, BATCH_SIZE)
          .filter((e) => e.event.seq <= range.upToSeq);
        if (batch.length === 0) break;
        if (!link.send({ t: 'events', events: batch })) return;
        this.markSent(batch, link.peerId);
        sent += batch.length;
        after = batch[batch.length - 1]!.event.seq;
        await link.drained();
      }
    }
    link.send({ t: 'sync_done' });
    if (sent) this.log.info('sync', 'catch-up sent', { peer: link.peerId, events: sent });
  }

  private markSent(batch: SignedEvent[], peerId: string): void {
    const now = Date.now();
    const ours = batch
      .filter((signed) => signed.event.author === this.identity.peerId)
      .map((signed) => eventId(this.crypto, signed.event));
    // One commit per catch-up batch, as for acks, rather than one per event.
    this.store.db.transaction(() => {
      for (const id of ours) this.store.deliveries.set(id, peerId, 'sent', now);
    })();
    for (const id of ours) this.emit('delivery', id, peerId, 'sent');
  }

  private receive(link: Link, events: SignedEvent[]): void {
    // One transaction per batch: a catch-up of thousands of events must not cost a commit each.
    const { acked, fresh, rejected } = this.store.db.transaction(() => this.storeBatch(link.peerId, events))();
    for (const { id, signed } of fresh) this.emit('stored', id, signed.event.channel);
    if (rejected) this.log.warn('sync', 'dropped invalid events', { peer: link.peerId, count: rejected });
    if (acked.length) link.send({ t: 'ack', ids: acked });
    this.forward(
      fresh.map((f) => f.signed),
      link.peerId,
    );
  }

  private storeBatch(fromPeer: string, events: SignedEvent[]) {
    const acked: string[] = [];
    const fresh: Array<{ id: string; signed: SignedEvent }> = [];
    let rejected = 0;
    const entitled = this.entitled(fromPeer);
    const receivedAt = Date.now();
    for (const signed of events) {
      const verified = verifyEvent(this.crypto, signed);
      const readable = verified.ok && entitled(signed.event.channel) ? this.readable(signed) : undefined;
      if (!verified.ok || readable === undefined) {
        rejected++;
        continue;
      }
      const outcome = this.store.events.insert(signed, { id: verified.id, sourcePeer: fromPeer, readable, receivedAt });
      acked.push(verified.id);
      if (outcome === 'inserted') fresh.push({ id: verified.id, signed });
    }
    return { acked, fresh, rejected };
  }

  /**
   * The readable body: posts as they are, DMs opened with our key. `null` means stored but not
   * readable here (our own DM echoed back by a peer); `undefined` means reject.
   */
  private readable(signed: SignedEvent): PostBody | null | undefined {
    const { event } = signed;
    if (event.kind === 'post') return event.body as PostBody;
    const body = event.body as DmBody;
    if (event.author === this.identity.peerId) return null;
    if (body.to !== this.identity.peerId) return undefined;
    try {
      return openDm(this.crypto, this.identity.x25519, event);
    } catch {
      return undefined;
    }
  }

  /** Public posts spread through the mesh: each node passes new ones on to its other links. */
  private forward(events: SignedEvent[], fromPeer: string): void {
    const posts = events.filter((e) => e.event.kind === 'post' && !isDmChannel(e.event.channel));
    if (posts.length === 0) return;
    for (const link of this.manager.connected()) {
      if (link.peerId === fromPeer) continue;
      const relevant = posts.filter((e) => e.event.author !== link.peerId);
      if (relevant.length) link.send({ t: 'events', events: relevant });
    }
  }

  private acknowledge(peerId: string, ids: string[]): void {
    const now = Date.now();
    const ours = ids.filter((id) => this.store.events.authorOf(id) === this.identity.peerId);
    this.store.db.transaction(() => {
      for (const id of ours) this.store.deliveries.set(id, peerId, 'delivered', now);
    })();
    for (const id of ours) this.emit('delivery', id, peerId, 'delivered');
  }
}
