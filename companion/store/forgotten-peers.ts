import type { Database } from './database.ts';
import { systemClock, type Clock } from './clock.ts';

/**
 * Peers the user forgot. Neither an invite secret nor an introduction trusts them again: they
 * become requests. The mark goes when the user links them again (imports their invite, accepts
 * their request, or connects to them). One row per forget the user did: user-bounded.
 */
export class ForgottenPeerRepository {
  readonly #now: Clock;
  readonly #has;
  readonly #add;
  readonly #clear;

  constructor(db: Database, now: Clock = systemClock) {
    this.#now = now;
    this.#has = db.prepare<[string], number>('SELECT 1 FROM forgotten_peers WHERE peer_id = ?').pluck();
    this.#add = db.prepare<[string, number]>(
      'INSERT INTO forgotten_peers (peer_id, forgotten_at) VALUES (?, ?) ON CONFLICT (peer_id) DO UPDATE SET forgotten_at = excluded.forgotten_at',
    );
    this.#clear = db.prepare<[string]>('DELETE FROM forgotten_peers WHERE peer_id = ?');
  }

  has(peerId: string): boolean {
    return this.#has.get(peerId) !== undefined;
  }

  add(peerId: string): void {
    this.#add.run(peerId, this.#now());
  }

  /** Returns false when the peer was not marked. */
  clear(peerId: string): boolean {
    return this.#clear.run(peerId).changes > 0;
  }
}
