import type { Database } from './database.ts';

export type DeliveryState = 'queued' | 'sent' | 'delivered';

/** Stored as the index, so "never downgrade" and "lowest across peers" are plain comparisons. */
export const DELIVERY_STATES: readonly DeliveryState[] = ['queued', 'sent', 'delivered'];
const DELIVERED = DELIVERY_STATES.indexOf('delivered');

export interface DeliveryRecord {
  eventId: string;
  peerId: string;
  state: DeliveryState;
  updatedAt: number;
}

const stateName = (rank: number): DeliveryState => {
  const state = DELIVERY_STATES[rank];
  if (!state) throw new Error(`Unknown delivery state ${rank}`);
  return state;
};

/**
 * Per (event, peer) delivery progress: the durable outbox. A row that is not yet delivered is
 * work to do when a path to that peer appears.
 */
export class DeliveryRepository {
  readonly #set;
  readonly #forEvent;
  readonly #undelivered;
  readonly #summary;
  readonly #advance;
  readonly #advanceUpTo;
  readonly #advanceRange;
  readonly #dropUndelivered;

  constructor(db: Database) {
    this.#dropUndelivered = db.prepare<[string, number]>('DELETE FROM deliveries WHERE peer_id = ? AND state < ?');
    // Acknowledgements can overtake "sent" bookkeeping, so a lower state never overwrites a higher one.
    this.#set = db.prepare<[string, string, number, number]>(
      `INSERT INTO deliveries (event_id, peer_id, state, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (event_id, peer_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
       WHERE excluded.state > deliveries.state`,
    );
    this.#forEvent = db.prepare<[string], { peer_id: string; state: number; updated_at: number }>(
      'SELECT peer_id, state, updated_at FROM deliveries WHERE event_id = ? ORDER BY peer_id',
    );
    this.#undelivered = db
      .prepare<[string, number, number], string>(
        `SELECT d.event_id FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.peer_id = ? AND d.state < ? ORDER BY e.local_order LIMIT ?`,
      )
      .pluck();
    // Progress for a recipient the row already names; never creates a row, so a peer that was not
    // a recipient cannot make one by acknowledging.
    this.#advance = db.prepare<[number, number, string, string, number]>(
      'UPDATE deliveries SET state = ?, updated_at = ? WHERE event_id = ? AND peer_id = ? AND state < ?',
    );
    // Driven by the peer's pending rows (deliveries_peer_state), each checked by event id: the
    // cost follows what is in flight to this peer, not the author's whole history.
    this.#advanceUpTo = db
      .prepare<[number, number, string, number, string, string, number], string>(
        `UPDATE deliveries SET state = ?, updated_at = ?
         WHERE peer_id = ? AND state < ? AND EXISTS (
           SELECT 1 FROM events e WHERE e.id = deliveries.event_id AND e.author = ? AND e.channel = ? AND e.seq <= ?)
         RETURNING event_id`,
      )
      .pluck();
    // Driven by the author's events in (above, upTo], each looked up by the primary key: for a
    // cumulative ack, whose range is what the last one did not cover.
    this.#advanceRange = db
      .prepare<[number, number, string, string, number, number, string, number], string>(
        `UPDATE deliveries SET state = ?, updated_at = ?
         FROM (SELECT id FROM events WHERE author = ? AND channel = ? AND seq > ? AND seq <= ?) AS e
         WHERE deliveries.event_id = e.id AND deliveries.peer_id = ? AND deliveries.state < ?
         RETURNING event_id`,
      )
      .pluck();
    // One statement for any number of ids: the list travels as a JSON array.
    this.#summary = db.prepare<[string], { event_id: string; state: number }>(
      `SELECT event_id, MIN(state) AS state FROM deliveries
       WHERE event_id IN (SELECT value FROM json_each(?)) GROUP BY event_id`,
    );
  }

  /**
   * Records progress; returns false when the stored state was already as far or further.
   * The event must be stored (foreign key).
   */
  set(eventId: string, peerId: string, state: DeliveryState, at: number): boolean {
    return this.#set.run(eventId, peerId, rank(state), at).changes > 0;
  }

  /**
   * Moves an existing (event, peer) row forward; returns false when there is no such row (the peer
   * was not a recipient) or it was already as far.
   */
  advance(eventId: string, peerId: string, state: DeliveryState, at: number): boolean {
    const target = rank(state);
    return this.#advance.run(target, at, eventId, peerId, target).changes > 0;
  }

  /**
   * Moves every row of `peerId` for `author`'s events in `channel` up to `seq` to `state` (e.g.
   * the peer holds them all: delivered), never back. Returns the ids that moved.
   */
  advanceUpTo(peerId: string, author: string, channel: string, seq: number, state: DeliveryState, at: number): string[] {
    const target = rank(state);
    return this.#advanceUpTo.all(target, at, peerId, target, author, channel, seq);
  }

  /** As advanceUpTo, for `author`'s events with `above` < seq <= `upTo` only. */
  advanceRange(peerId: string, author: string, channel: string, above: number, upTo: number, state: DeliveryState, at: number): string[] {
    const target = rank(state);
    return this.#advanceRange.all(target, at, author, channel, above, upTo, peerId, target);
  }

  forEvent(eventId: string): DeliveryRecord[] {
    return this.#forEvent
      .all(eventId)
      .map((row) => ({ eventId, peerId: row.peer_id, state: stateName(row.state), updatedAt: row.updated_at }));
  }

  /** Drops what still waits for this peer (it was forgotten), so no event stays queued for it; returns how many. */
  dropUndelivered(peerId: string): number {
    return this.#dropUndelivered.run(peerId, DELIVERED).changes;
  }

  /** Ids of events queued or sent to this peer but not yet delivered, oldest first. */
  undelivered(peerId: string, limit = -1): string[] {
    return this.#undelivered.all(peerId, DELIVERED, limit);
  }

  /** Overall state per event: the least advanced across its peers. Events with no rows are absent. */
  summary(eventIds: readonly string[]): Map<string, DeliveryState> {
    const out = new Map<string, DeliveryState>();
    if (eventIds.length === 0) return out;
    for (const row of this.#summary.iterate(JSON.stringify(eventIds))) out.set(row.event_id, stateName(row.state));
    return out;
  }
}

function rank(state: DeliveryState): number {
  const index = DELIVERY_STATES.indexOf(state);
  if (index < 0) throw new Error(`Unknown delivery state ${String(state)}`);
  return index;
}
