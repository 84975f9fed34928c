import type { Database } from './database.ts';
import { systemClock, type Clock } from './clock.ts';
import type { PeerKeys } from './peers.ts';

/**
 * Strangers that completed a handshake without an invite of ours: pending requests until the user
 * accepts or declines them. Kept apart from `peers`, so neither a request nor a restart makes a
 * stranger a known peer. One row per peer ID; the totals are capped and old rows expire, so a
 * flood of fresh identities costs a bounded table.
 */
export interface RequestLimits {
  maxPending: number;
  pendingTtlMs: number;
  /** Declined peers are remembered so their redials are closed at once, without a new request. */
  maxDeclined: number;
  declinedTtlMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
export const REQUEST_LIMITS: RequestLimits = { maxPending: 100, pendingTtlMs: 7 * DAY_MS, maxDeclined: 1000, declinedTtlMs: 30 * DAY_MS };

export interface PeerRequestRecord {
  peerId: string;
  ed25519PublicKey: Uint8Array;
  x25519PublicKey: Uint8Array;
  displayName: string | null;
  /** The remote address it came from. */
  endpoint: string | null;
  requestedAt: number;
  lastSeenAt: number;
}

export type RequestOutcome = 'pending' | 'declined';

interface RequestRow {
  peer_id: string;
  ed25519_public_key: Buffer;
  x25519_public_key: Buffer;
  display_name: string | null;
  endpoint: string | null;
  requested_at: number;
  last_seen_at: number;
  declined_at: number | null;
}

export class PeerRequestRepository {
  readonly #now: Clock;
  readonly #limits: RequestLimits;
  readonly #get;
  readonly #pending;
  readonly #countPending;
  readonly #upsert;
  readonly #setDisplayName;
  readonly #decline;
  readonly #remove;
  readonly #expire;
  readonly #trim;
  readonly #recordTx: (peer: Pick<PeerKeys, 'peerId' | 'ed25519PublicKey' | 'x25519PublicKey'>, endpoint: string | null) => RequestOutcome;

  constructor(db: Database, now: Clock = systemClock, limits: RequestLimits = REQUEST_LIMITS) {
    this.#now = now;
    this.#limits = limits;
    // Reads skip expired rows instead of deleting them, so a read (GET /p2p/status needs no key) never writes.
    this.#get = db.prepare<[string], RequestRow>('SELECT * FROM peer_requests WHERE peer_id = ?');
    this.#pending = db.prepare<[number], RequestRow>(
      'SELECT * FROM peer_requests WHERE declined_at IS NULL AND last_seen_at >= ? ORDER BY requested_at, peer_id',
    );
    this.#countPending = db
      .prepare<[number], number>('SELECT COUNT(*) FROM peer_requests WHERE declined_at IS NULL AND last_seen_at >= ?')
      .pluck();
    // A peer that asks again refreshes its key, address and expiry, but keeps its place in line.
    this.#upsert = db.prepare(
      `INSERT INTO peer_requests (peer_id, ed25519_public_key, x25519_public_key, endpoint, requested_at, last_seen_at)
       VALUES (@peerId, @ed, @x, @endpoint, @at, @at)
       ON CONFLICT (peer_id) DO UPDATE SET ed25519_public_key = excluded.ed25519_public_key,
         x25519_public_key = excluded.x25519_public_key, endpoint = excluded.endpoint, last_seen_at = excluded.last_seen_at`,
    );
    this.#setDisplayName = db.prepare<[string | null, string]>(
      'UPDATE peer_requests SET display_name = ? WHERE peer_id = ? AND declined_at IS NULL',
    );
    this.#decline = db.prepare<[number, string]>('UPDATE peer_requests SET declined_at = ? WHERE peer_id = ? AND declined_at IS NULL');
    this.#remove = db.prepare<[string]>('DELETE FROM peer_requests WHERE peer_id = ?');
    this.#expire = db.prepare<[number, number]>(
      `DELETE FROM peer_requests
       WHERE (declined_at IS NULL AND last_seen_at < ?) OR (declined_at IS NOT NULL AND declined_at < ?)`,
    );
    // Oldest first out, pending and declined each within their own cap.
    this.#trim = db.prepare<[number, number]>(
      `DELETE FROM peer_requests WHERE
         (declined_at IS NULL AND peer_id NOT IN
           (SELECT peer_id FROM peer_requests WHERE declined_at IS NULL ORDER BY last_seen_at DESC, peer_id LIMIT ?))
         OR (declined_at IS NOT NULL AND peer_id NOT IN
           (SELECT peer_id FROM peer_requests WHERE declined_at IS NOT NULL ORDER BY declined_at DESC, peer_id LIMIT ?))`,
    );
    const record = db.transaction((peer: Pick<PeerKeys, 'peerId' | 'ed25519PublicKey' | 'x25519PublicKey'>, endpoint: string | null) => {
      this.#prune();
      if (this.#get.get(peer.peerId)?.declined_at != null) return 'declined' as const;
      this.#upsert.run({ peerId: peer.peerId, ed: Buffer.from(peer.ed25519PublicKey), x: Buffer.from(peer.x25519PublicKey), endpoint, at: this.#now() });
      this.#trim.run(this.#limits.maxPending, this.#limits.maxDeclined);
      return 'pending' as const;
    });
    this.#recordTx = (peer, endpoint) => record.immediate(peer, endpoint);
  }

  /** A stranger linked (again): records or refreshes its request, unless it was declined. */
  record(peer: Pick<PeerKeys, 'peerId' | 'ed25519PublicKey' | 'x25519PublicKey'>, endpoint: string | null): RequestOutcome {
    return this.#recordTx(peer, endpoint);
  }

  isDeclined(peerId: string): boolean {
    const declinedAt = this.#get.get(peerId)?.declined_at;
    return declinedAt != null && declinedAt >= this.#now() - this.#limits.declinedTtlMs;
  }

  /** The pending request of a peer, or undefined (none, expired or declined). */
  pending(peerId: string): PeerRequestRecord | undefined {
    const row = this.#get.get(peerId);
    return row && row.declined_at == null && row.last_seen_at >= this.#pendingCutoff() ? toRecord(row) : undefined;
  }

  list(): PeerRequestRecord[] {
    return this.#pending.all(this.#pendingCutoff()).map(toRecord);
  }

  countPending(): number {
    return this.#countPending.get(this.#pendingCutoff()) ?? 0;
  }

  setDisplayName(peerId: string, displayName: string | null): boolean {
    return this.#setDisplayName.run(displayName, peerId).changes > 0;
  }

  /** Returns false when there is no pending request. */
  decline(peerId: string): boolean {
    const declined = this.pending(peerId) !== undefined && this.#decline.run(this.#now(), peerId).changes > 0;
    if (declined) this.#trim.run(this.#limits.maxPending, this.#limits.maxDeclined);
    return declined;
  }

  /** Forgets the peer's request or refusal (it became a trusted peer). */
  remove(peerId: string): boolean {
    return this.#remove.run(peerId).changes > 0;
  }

  #pendingCutoff(): number {
    return this.#now() - this.#limits.pendingTtlMs;
  }

  #prune(): void {
    const now = this.#now();
    this.#expire.run(now - this.#limits.pendingTtlMs, now - this.#limits.declinedTtlMs);
  }
}

function toRecord(row: RequestRow): PeerRequestRecord {
  return {
    peerId: row.peer_id,
    ed25519PublicKey: new Uint8Array(row.ed25519_public_key),
    x25519PublicKey: new Uint8Array(row.x25519_public_key),
    displayName: row.display_name,
    endpoint: row.endpoint,
    requestedAt: row.requested_at,
    lastSeenAt: row.last_seen_at,
  };
}
