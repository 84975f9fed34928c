import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import { isDmChannel, openDm, verifyEvent, type CanopyEvent, type DmBody, type PostBody, type SignedEvent, type VerifiedBatches } from '../../protocol/events.ts';
import { MAX_REASON_LENGTH, PostBodySchema, type ReceivedEvents, type RejectedEvent } from '../../protocol/frames.ts';
import type { Identity } from '../../protocol/identity.ts';
import type { Store } from '../store/index.ts';
import type { IntroductionLedger } from './introductions.ts';

export interface IntakeResult {
  /** Events stored now or already held: the peer may count them delivered. */
  acked: Array<{ id: string; event: CanopyEvent }>;
  /** Events stored now for the first time. */
  fresh: Array<{ id: string; signed: SignedEvent }>;
  /** Events refused one by one (shape, signature, entitlement, limits), with the reason. */
  rejected: RejectedEvent[];
}

/**
 * What verification has proven (protocol/events.ts, VerifiedBatches: author keys, batch
 * signatures), so the rest of a batch costs hashes only, also when a catch-up splits it across
 * frames. Only what verified is added, and at most this many: the oldest is forgotten first.
 */
export const MAX_VERIFIED_ENTRIES = 4096;

export class RecentlyVerified implements VerifiedBatches {
  private readonly keys = new Set<string>();
  has(key: string): boolean {
    return this.keys.has(key);
  }
  add(key: string): void {
    this.keys.add(key);
    if (this.keys.size > MAX_VERIFIED_ENTRIES) this.keys.delete(this.keys.values().next().value!);
  }
}

/**
 * The receive side of sync: checks every event of a received batch on its own (signature, who may
 * send it, whether we can read it, introduction limits) and stores the good ones in one
 * transaction. A bad event is rejected alone and reported; it never costs the batch or the link.
 */
export class EventIntake {
  private readonly verified = new RecentlyVerified();

  constructor(
    private readonly crypto: CryptoBackend,
    private readonly identity: Identity,
    private readonly store: Store,
    private readonly introductions: IntroductionLedger,
    private readonly entitled: (peerId: string) => (channel: string) => boolean,
  ) {}

  receive(fromPeer: string, frame: ReceivedEvents): IntakeResult {
    // One transaction per batch: a catch-up of thousands of events must not cost a commit each.
    return this.store.db.transaction(() => this.storeBatch(fromPeer, frame))();
  }

  private storeBatch(fromPeer: string, frame: ReceivedEvents): IntakeResult {
    const acked: IntakeResult['acked'] = [];
    const fresh: IntakeResult['fresh'] = [];
    const rejected: RejectedEvent[] = [...frame.rejected];
    const entitled = this.entitled(fromPeer);
    const receivedAt = Date.now();
    for (const { index, signed } of frame.events) {
      const verified = verifyEvent(this.crypto, signed, this.verified);
      if (!verified.ok) {
        rejected.push({ index, reason: verified.reason });
        continue;
      }
      const refuse = (reason: string) => rejected.push({ index, id: verified.id, reason: reason.slice(0, MAX_REASON_LENGTH) });
      if (!entitled(signed.event.channel)) {
        refuse('not a channel this link may carry');
        continue;
      }
      const readable = this.readable(signed);
      if (readable === undefined) {
        refuse('direct message that is not ours or cannot be opened');
        continue;
      }
      const duplicate = this.store.events.has(verified.id);
      const refusal = duplicate ? null : this.introductions.refusal(signed.event, fromPeer);
      if (refusal) {
        refuse(refusal);
        continue;
      }
      const outcome = this.store.events.insert(signed, { id: verified.id, sourcePeer: fromPeer, readable, receivedAt, unseen: !duplicate });
      acked.push({ id: verified.id, event: signed.event });
      if (outcome === 'inserted') {
        this.introductions.stored(signed.event, fromPeer);
        fresh.push({ id: verified.id, signed });
      }
    }
    return { acked, fresh, rejected };
  }

  /**
   * The readable body: posts as they are, DMs opened with our key and held to the same limits as
   * a post's body. `null` means stored but not read as a message (our own DM echoed back by a
   * peer, a channel's metadata);
   * `undefined` means reject.
   */
  private readable(signed: SignedEvent): PostBody | null | undefined {
    const { event } = signed;
    if (event.kind === 'post') return isDmChannel(event.channel) ? undefined : (event.body as PostBody);
    // A channel's metadata: stored and spread like a post, listed as the channel, never read as a message.
    if (event.kind === 'channel') return null;
    const body = event.body as DmBody;
    if (event.author === this.identity.peerId) return null;
    if (body.to !== this.identity.peerId) return undefined;
    try {
      const opened = PostBodySchema.safeParse(openDm(this.crypto, this.identity.x25519, event));
      return opened.success ? opened.data : undefined;
    } catch {
      return undefined;
    }
  }
}
