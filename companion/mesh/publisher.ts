import { b58encode } from '../../protocol/bytes.ts';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import { eventId, signEvents, type CanopyEvent, type PostBody, type SignedEvent } from '../../protocol/events.ts';
import type { Identity } from '../../protocol/identity.ts';
import type { Store } from '../store/index.ts';
import type { SyncEngine } from './sync.ts';

export interface Draft {
  channel: string;
  kind: CanopyEvent['kind'];
  body: CanopyEvent['body'];
  /** What we show for it (null: stored but not a message, e.g. channel metadata). */
  readable: PostBody | null;
  /** Runs inside the commit that stores the event (e.g. recording the web app's client id). */
  alsoInCommit?: (id: string) => void;
}

/** An event built and waiting for the commit it shares with the others of this loop turn. */
interface Pending {
  event: CanopyEvent;
  id: string;
  draft: Draft;
  settle: { resolve: (id: string) => void; reject: (error: Error) => void };
}

/**
 * Publishes our own events with group commit: every publish of one turn of the event loop (the
 * API calls that arrived together, a burst of sends) is signed with one signature per channel
 * (signEvents: a Merkle root over the batch), stored in one SQLite commit with its delivery rows,
 * and pushed in one frame per link. A lone publish on an idle node goes out on the next turn
 * (setImmediate: microseconds), never waiting for company. Each caller's promise settles after
 * the commit and after the frames are written, so an API that answers "sent" answers the truth.
 */
export class Publisher {
  private queue: Pending[] = [];
  /** The next seq per channel while events are queued (the store only knows committed ones). */
  private readonly nextSeqs = new Map<string, number>();

  constructor(
    private readonly crypto: CryptoBackend,
    private readonly identity: Identity,
    private readonly store: Store,
    private readonly sync: SyncEngine,
  ) {}

  /**
   * Builds the event (seq and ts fixed now, in call order) and resolves with its id once it is
   * committed. `check` sees the unsigned event first and throws to refuse it (nothing queued).
   */
  publish(draft: Draft, check: (event: CanopyEvent) => void): Promise<string> {
    const me = this.identity.peerId;
    const seq = this.nextSeqs.get(draft.channel) ?? this.store.events.nextSeq(me, draft.channel);
    const event: CanopyEvent = {
      v: 1,
      author: me,
      author_key: b58encode(this.identity.ed25519.publicKey),
      channel: draft.channel,
      seq,
      kind: draft.kind,
      ts: Date.now(),
      body: draft.body,
    };
    check(event);
    this.nextSeqs.set(draft.channel, seq + 1);
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ event, id: eventId(this.crypto, event), draft, settle: { resolve, reject } });
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    // Cleared before the commit: if it fails, nothing of this batch holds a seq any more.
    this.nextSeqs.clear();
    try {
      const signed = this.signByChannel(batch);
      this.sync.publish(
        batch.map(({ id, draft }, i) => ({ signed: signed[i]!, id, readable: draft.readable })),
        () => {
          for (const { id, draft } of batch) draft.alsoInCommit?.(id);
        },
      );
    } catch (error) {
      for (const { settle } of batch) settle.reject(error as Error);
      return;
    }
    for (const { id, settle } of batch) settle.resolve(id);
  }

  /**
   * One signature per channel rather than per turn: a DM's proof names the other events of its
   * batch by hash and tells their count, and that should say nothing about other conversations.
   */
  private signByChannel(batch: Pending[]): SignedEvent[] {
    const byChannel = new Map<string, number[]>();
    batch.forEach(({ event }, i) => {
      const positions = byChannel.get(event.channel);
      if (positions) positions.push(i);
      else byChannel.set(event.channel, [i]);
    });
    const signed: SignedEvent[] = new Array(batch.length);
    for (const positions of byChannel.values()) {
      const group = signEvents(
        this.crypto,
        this.identity,
        positions.map((i) => batch[i]!.event),
        positions.map((i) => batch[i]!.id),
      );
      positions.forEach((at, k) => (signed[at] = group[k]!));
    }
    return signed;
  }
}
