import type { CanopyEvent, PostBody, SignedEvent } from '../../protocol/events.ts';
import { defineOwn, headsIn, type VersionVector } from '../../protocol/mesh/vectors.ts';
import type { AtRestCipher } from './at-rest.ts';
import type { ChannelRepository } from './channels.ts';
import type { Database } from './database.ts';

export type { VersionVector };

export interface EventMeta {
  /** Content-derived event id, computed by the caller. */
  id: string;
  /** The peer we received it from; null for our own events. */
  sourcePeer: string | null;
  /** What the user reads: a post's body, or a DM's opened body; null when we cannot read it. */
  readable: PostBody | null;
  receivedAt: number;
  /**
   * The caller has just looked this id up and found nothing (or made the event itself): the
   * insert skips looking again before sealing. A clash on (author, channel, seq) still ends as
   * 'duplicate', after the sealing work.
   */
  unseen?: boolean;
}

export type MessageKind = Exclude<CanopyEvent['kind'], 'channel'>;

export interface MessageRow {
  /** local_order: stable, increasing in arrival order; use it as the paging cursor. */
  cursor: number;
  id: string;
  author: string;
  channel: string;
  seq: number;
  kind: MessageKind;
  ts: number;
  receivedAt: number;
  sourcePeer: string | null;
  content: string | null;
  metadata: Record<string, unknown> | null;
}

export interface PageOptions {
  limit: number;
  /** Rows with cursor < before, newest first. */
  before?: number;
  /** Rows with cursor > after, oldest first. */
  after?: number;
}

export interface ChannelSummary {
  channel: string;
  count: number;
  lastTs: number;
  lastCursor: number;
}

/** Who first brought a channel or an author here, and when (the row with the lowest local_order). */
export interface FirstSeen {
  name: string;
  /** The peer we received the first event from; null when it was ours. */
  via: string | null;
  at: number;
}

/** The same for one author in one channel (a head in the version vector). */
export interface FirstSeenPair {
  channel: string;
  author: string;
  via: string | null;
  at: number;
}

export const MAX_PAGE = 500;
const DM_PREFIX = 'dm:';

interface EventRow {
  local_order: number;
  id: string;
  author: string;
  channel: string;
  seq: number;
  kind: CanopyEvent['kind'];
  ts: number;
  received_at: number;
  source_peer: string | null;
  plain: Buffer | null;
}

const ROW_COLUMNS = 'local_order, id, author, channel, seq, kind, ts, received_at, source_peer, plain';
/** Messages are posts and DMs; a channel's metadata event is stored and synced like them but is not one. */
const IS_MESSAGE = "kind <> 'channel'";

// Associated data for the at-rest cipher: ties each blob to its event and column.
const signedContext = (id: string): string => `canopy/events.signed/${id}`;
const plainContext = (id: string): string => `canopy/events.plain/${id}`;

/**
 * Signed events, as received, plus their readable bodies; both encrypted at rest.
 *
 * `heads` keeps, per (channel, author), the highest seq up to which we hold every event. Events may
 * arrive with gaps; catch-up asks from the head, so a gap is re-requested and whatever we already
 * hold beyond it comes back as harmless duplicates.
 */
export class EventRepository {
  readonly #cipher: AtRestCipher;
  readonly #insertTx: (signed: SignedEvent, meta: EventMeta, sealed: Sealed) => 'inserted' | 'duplicate';
  readonly #channels: ChannelRepository;
  readonly #insert;
  readonly #head;
  readonly #latestCursor;
  readonly #seqsAfter;
  readonly #setHead;
  readonly #has;
  readonly #held;
  readonly #maxSeq;
  readonly #heads;
  readonly #range;
  readonly #pageLatest;
  readonly #pageBefore;
  readonly #pageAfter;
  readonly #pageBetween;
  readonly #summaries;
  readonly #dms;
  readonly #get;
  readonly #authorOf;
  readonly #since;
  readonly #firstChannels;
  readonly #firstAuthors;
  readonly #firstPairs;

  constructor(db: Database, cipher: AtRestCipher, channels: ChannelRepository) {
    this.#cipher = cipher;
    this.#channels = channels;
    // DO NOTHING (unlike INSERT OR IGNORE) skips only uniqueness conflicts, so a malformed row
    // (bad kind, seq < 1) still throws instead of vanishing.
    this.#insert = db.prepare(
      `INSERT INTO events (id, author, channel, seq, kind, ts, received_at, source_peer, signed, plain)
       VALUES (@id, @author, @channel, @seq, @kind, @ts, @receivedAt, @sourcePeer, @signed, @plain)
       ON CONFLICT DO NOTHING`,
    );
    this.#head = db.prepare<[string, string], number>('SELECT seq FROM heads WHERE channel = ? AND author = ?').pluck();
    this.#seqsAfter = db
      .prepare<[string, string, number], number>('SELECT seq FROM events WHERE author = ? AND channel = ? AND seq > ? ORDER BY seq')
      .pluck();
    this.#setHead = db.prepare<[string, string, number]>(
      `INSERT INTO heads (channel, author, seq) VALUES (?, ?, ?)
       ON CONFLICT (channel, author) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > heads.seq`,
    );
    this.#has = db.prepare<[string], number>('SELECT 1 FROM events WHERE id = ?').pluck();
    this.#held = db
      .prepare<[string, string, string, number], number>(
        'SELECT 1 FROM events WHERE id = ? OR (author = ? AND channel = ? AND seq = ?) LIMIT 1',
      )
      .pluck();
    this.#maxSeq = db.prepare<[string, string], number | null>('SELECT MAX(seq) FROM events WHERE author = ? AND channel = ?').pluck();
    this.#heads = db.prepare<[], { channel: string; author: string; seq: number }>('SELECT channel, author, seq FROM heads');
    this.#range = db.prepare<[string, string, number, number], { id: string; signed: Buffer }>(
      'SELECT id, signed FROM events WHERE author = ? AND channel = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
    this.#pageLatest = db.prepare<[string, number], EventRow>(
      `SELECT ${ROW_COLUMNS} FROM events WHERE channel = ? AND ${IS_MESSAGE} ORDER BY local_order DESC LIMIT ?`,
    );
    this.#pageBefore = db.prepare<[string, number, number], EventRow>(
      `SELECT ${ROW_COLUMNS} FROM events WHERE channel = ? AND ${IS_MESSAGE} AND local_order < ? ORDER BY local_order DESC LIMIT ?`,
    );
    this.#pageAfter = db.prepare<[string, number, number], EventRow>(
      `SELECT ${ROW_COLUMNS} FROM events WHERE channel = ? AND ${IS_MESSAGE} AND local_order > ? ORDER BY local_order ASC LIMIT ?`,
    );
    this.#pageBetween = db.prepare<[string, number, number, number], EventRow>(
      `SELECT ${ROW_COLUMNS} FROM events WHERE channel = ? AND ${IS_MESSAGE} AND local_order > ? AND local_order < ? ORDER BY local_order ASC LIMIT ?`,
    );
    // substr, not LIKE: LIKE is case-insensitive and would take 'DM:x' for a DM.
    this.#summaries = db.prepare<[], ChannelSummary>(
      `SELECT channel, COUNT(*) AS count, MAX(ts) AS lastTs, MAX(local_order) AS lastCursor
       FROM events WHERE substr(channel, 1, 3) <> '${DM_PREFIX}' AND ${IS_MESSAGE} GROUP BY channel ORDER BY channel`,
    );
    this.#dms = db.prepare<[], ChannelSummary>(
      `SELECT channel, COUNT(*) AS count, MAX(ts) AS lastTs, MAX(local_order) AS lastCursor
       FROM events WHERE substr(channel, 1, 3) = '${DM_PREFIX}' GROUP BY channel ORDER BY lastCursor DESC`,
    );
    this.#get = db.prepare<[string], EventRow>(`SELECT ${ROW_COLUMNS} FROM events WHERE id = ? AND ${IS_MESSAGE}`);
    this.#authorOf = db.prepare<[string], { author: string }>('SELECT author FROM events WHERE id = ?');
    this.#latestCursor = db.prepare<[], number>('SELECT COALESCE(MAX(local_order), 0) FROM events').pluck();
    this.#since = db.prepare<[number, number], EventRow>(
      `SELECT ${ROW_COLUMNS} FROM events WHERE local_order > ? AND ${IS_MESSAGE} ORDER BY local_order LIMIT ?`,
    );

    // SQLite takes bare columns from the row that holds MIN(): the first event of each group.
    this.#firstChannels = db.prepare<[], FirstSeen>(
      'SELECT channel AS name, source_peer AS via, received_at AS at, MIN(local_order) FROM events GROUP BY channel',
    );
    this.#firstAuthors = db.prepare<[], FirstSeen>(
      'SELECT author AS name, source_peer AS via, received_at AS at, MIN(local_order) FROM events GROUP BY author',
    );
    this.#firstPairs = db.prepare<[], FirstSeenPair>(
      'SELECT channel, author, source_peer AS via, received_at AS at, MIN(local_order) FROM events GROUP BY author, channel',
    );

    const insert = db.transaction((signed: SignedEvent, meta: EventMeta, sealed: Sealed) => this.#insertAndAdvance(signed, meta, sealed));
    // Inside a caller's transaction (a group commit, a received batch) a savepoint per event would
    // buy nothing and cost a fifth of the insert: the caller's transaction already makes it atomic.
    this.#insertTx = (signed, meta, sealed) =>
      db.inTransaction ? this.#insertAndAdvance(signed, meta, sealed) : insert.immediate(signed, meta, sealed);
  }

  /**
   * Stores a verified event. A duplicate (same id, or same author/channel/seq) changes nothing.
   * Bodies are sealed before the transaction starts: if sealing fails nothing is written.
   */
  insert(signed: SignedEvent, meta: EventMeta): 'inserted' | 'duplicate' {
    // Catch-up resends what we hold; skip the sealing work for those. The transaction still
    // decides, since another connection may insert in between.
    const { author, channel, seq } = signed.event;
    if (!meta.unseen && this.#held.get(meta.id, author, channel, seq) !== undefined) return 'duplicate';
    const sealed: Sealed = {
      signed: this.#cipher.seal(JSON.stringify(signed), signedContext(meta.id)),
      plain: meta.readable
        ? this.#cipher.seal(JSON.stringify({ content: meta.readable.content, metadata: meta.readable.metadata ?? null }), plainContext(meta.id))
        : null,
    };
    return this.#insertTx(signed, meta, sealed);
  }

  #insertAndAdvance(signed: SignedEvent, meta: EventMeta, sealed: Sealed): 'inserted' | 'duplicate' {
    const { author, channel, seq, kind, ts } = signed.event;
    const result = this.#insert.run({ id: meta.id, author, channel, seq, kind, ts, receivedAt: meta.receivedAt,
      sourcePeer: meta.sourcePeer, signed: sealed.signed, plain: sealed.plain });
    if (result.changes === 0) return 'duplicate';
    // In the same transaction: a channel is listed exactly when its signed metadata is held.
    if (signed.event.kind === 'channel') this.#channels.describedBy(signed.event);

    const head = this.#head.get(channel, author) ?? 0;
    if (seq !== head + 1) return 'inserted'; // a gap remains below this event
    let next = head;
    for (const held of this.#seqsAfter.iterate(author, channel, head)) {
      if (held !== next + 1) break;
      next = held;
    }
    this.#setHead.run(channel, author, next);
    return 'inserted';
  }

  has(id: string): boolean {
    return this.#has.get(id) !== undefined;
  }

  /** The highest seq up to which we hold every event of `author` in `channel` (0: not even seq 1). */
  head(channel: string, author: string): number {
    return this.#head.get(channel, author) ?? 0;
  }

  /** The seq our own next event in this channel takes: max held + 1. */
  nextSeq(author: string, channel: string): number {
    return (this.#maxSeq.get(author, channel) ?? 0) + 1;
  }

  /** Contiguous heads; (channel, author) pairs with nothing contiguous from seq 1 are absent (= 0). */
  vector(channelFilter?: (channel: string) => boolean): VersionVector {
    const vector: VersionVector = {};
    for (const { channel, author, seq } of this.#heads.iterate()) {
      if (channelFilter && !channelFilter(channel)) continue;
      defineOwn(headsIn(vector, channel), author, seq);
    }
    return vector;
  }

  /**
   * Held events of one author in one channel with seq > afterSeq, ascending; missing seqs are
   * skipped. `limit` is not capped (sync chooses its batch size); Infinity means all.
   */
  range(channel: string, author: string, afterSeq: number, limit: number): SignedEvent[] {
    // SQLite reads a negative LIMIT as "no limit".
    const max = Number.isFinite(limit) ? Math.max(1, Math.trunc(limit)) : -1;
    return this.#range
      .all(author, channel, afterSeq, max)
      .map((row) => JSON.parse(this.#cipher.open(row.signed, signedContext(row.id))) as SignedEvent);
  }

  /**
   * Newest first with `before` or with no cursor; oldest first with `after` (also when both are
   * given: the rows strictly between). `limit` is clamped to 1..500.
   */
  page(channel: string, options: PageOptions): MessageRow[] {
    const limit = clampLimit(options.limit);
    const { before, after } = options;
    let rows: EventRow[];
    if (after !== undefined && before !== undefined) rows = this.#pageBetween.all(channel, after, before, limit);
    else if (after !== undefined) rows = this.#pageAfter.all(channel, after, limit);
    else if (before !== undefined) rows = this.#pageBefore.all(channel, before, limit);
    else rows = this.#pageLatest.all(channel, limit);
    return rows.map((row) => this.#toMessage(row));
  }

  /** Non-DM channels holding at least one event. */
  channelSummaries(): ChannelSummary[] {
    return this.#summaries.all();
  }

  /** DM channels (`dm:` prefix), most recently active first. */
  dmConversations(): ChannelSummary[] {
    return this.#dms.all();
  }

  get(id: string): MessageRow | undefined {
    const row = this.#get.get(id);
    return row && this.#toMessage(row);
  }

  /** The cursor of the newest event held (0 when none). */
  latestCursor(): number {
    return this.#latestCursor.get() ?? 0;
  }

  /** Every channel's rows with cursor > after, oldest first: how a replica catches up. */
  since(after: number, limit: number): MessageRow[] {
    return this.#since.all(after, clampLimit(limit)).map((row) => this.#toMessage(row));
  }

  /** Every channel we hold events in, with who brought its first event and when. */
  firstSeenChannels(): FirstSeen[] {
    return this.#firstChannels.all().map(({ name, via, at }) => ({ name, via, at }));
  }

  /** Every author we hold events of, with who brought the first one and when. */
  firstSeenAuthors(): FirstSeen[] {
    return this.#firstAuthors.all().map(({ name, via, at }) => ({ name, via, at }));
  }

  /** Every (channel, author) we hold events of, with who brought the first one and when. */
  firstSeenPairs(): FirstSeenPair[] {
    return this.#firstPairs.all().map(({ channel, author, via, at }) => ({ channel, author, via, at }));
  }

  /** The author of a stored event, without decrypting anything (acks arrive by the thousand). */
  authorOf(id: string): string | undefined {
    return this.#authorOf.get(id)?.author;
  }

  #toMessage(row: EventRow): MessageRow {
    let content: string | null = null;
    let metadata: Record<string, unknown> | null = null;
    if (row.plain) {
      const readable = JSON.parse(this.#cipher.open(row.plain, plainContext(row.id))) as {
        content: string;
        metadata: Record<string, unknown> | null;
      };
      content = readable.content;
      metadata = readable.metadata;
    }
    return {
      cursor: row.local_order,
      id: row.id,
      author: row.author,
      channel: row.channel,
      seq: row.seq,
      kind: row.kind as MessageKind, // the message queries select posts and DMs only
      ts: row.ts,
      receivedAt: row.received_at,
      sourcePeer: row.source_peer,
      content,
      metadata,
    };
  }
}

interface Sealed {
  signed: Buffer;
  plain: Buffer | null;
}

function clampLimit(limit: number): number {
  if (!Number.isFinite(limit)) return MAX_PAGE;
  return Math.min(MAX_PAGE, Math.max(1, Math.trunc(limit)));
}
