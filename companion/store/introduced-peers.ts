import type { Database } from './database.ts';
import { systemClock, type Clock } from './clock.ts';

/**
 * Bounds of the introduced-peers table: any trusted peer can introduce, so one of them must not
 * be able to fill it. A full table refuses new rows (it never evicts one: a flooder would push out
 * honest introductions); rows nobody re-introduced within `expiryMs` go.
 */
export interface IntroducedLimits {
  /** Rows whose introducers include one peer: a new row past this from that peer is refused. */
  perIntroducer: number;
  total: number;
  /** Introducers remembered per row, most recent first. */
  introducersPerRow: number;
  endpointsPerRow: number;
  expiryMs: number;
}

export const INTRODUCED_LIMITS: IntroducedLimits = {
  perIntroducer: 256,
  total: 1000,
  introducersPerRow: 8,
  endpointsPerRow: 16,
  expiryMs: 30 * 24 * 60 * 60 * 1000,
};

export interface IntroducedPeerRecord {
  peerId: string;
  ed25519PublicKey: Uint8Array;
  x25519PublicKey: Uint8Array;
  binding: Uint8Array;
  endpoints: string[];
  displayName: string | null;
  deviceName: string | null;
  /** Most recent first. */
  introducedBy: string[];
  introducedAt: number;
  updatedAt: number;
}

/** A verified introduction (the caller checked peer ID and binding) to store. */
export interface IntroducedPeerInput {
  peerId: string;
  ed25519PublicKey: Uint8Array;
  x25519PublicKey: Uint8Array;
  binding: Uint8Array;
  endpoints: string[];
  displayName: string;
  deviceName: string;
}

/**
 * stored: a new row; merged: an existing row took a new introducer order, endpoints or names;
 * refreshed: only its time moved (nothing to show); full: refused.
 */
export type IntroduceOutcome = 'stored' | 'merged' | 'refreshed' | 'full_introducer' | 'full_total';

interface IntroducedRow {
  peer_id: string;
  ed25519_public_key: Buffer;
  x25519_public_key: Buffer;
  binding: Buffer;
  endpoints: string;
  display_name: string | null;
  device_name: string | null;
  introduced_by: string;
  introduced_at: number;
  updated_at: number;
}

/** Peers our trusted peers told us about (guide §9), with the keys they proved. */
export class IntroducedPeerRepository {
  readonly #now: Clock;
  readonly #get;
  readonly #list;
  readonly #count;
  readonly #countBy;
  readonly #insert;
  readonly #merge;
  readonly #prune;
  readonly #remove;
  readonly #withIntroducer;
  readonly #setIntroducers;
  readonly #introduceTx: (peer: IntroducedPeerInput, introducer: string) => IntroduceOutcome;
  readonly #removeIntroducerTx: (introducer: string) => number;

  constructor(
    db: Database,
    now: Clock = systemClock,
    private readonly limits: IntroducedLimits = INTRODUCED_LIMITS,
  ) {
    this.#now = now;
    this.#get = db.prepare<[string, number], IntroducedRow>('SELECT * FROM introduced_peers WHERE peer_id = ? AND updated_at >= ?');
    this.#list = db.prepare<[number], IntroducedRow>('SELECT * FROM introduced_peers WHERE updated_at >= ? ORDER BY introduced_at, peer_id');
    this.#count = db.prepare<[], number>('SELECT COUNT(*) FROM introduced_peers').pluck();
    this.#countBy = db
      .prepare<[string], number>('SELECT COUNT(*) FROM introduced_peers WHERE EXISTS (SELECT 1 FROM json_each(introduced_by) WHERE value = ?)')
      .pluck();
    this.#withIntroducer = db.prepare<[string], { peer_id: string; introduced_by: string }>(
      'SELECT peer_id, introduced_by FROM introduced_peers WHERE EXISTS (SELECT 1 FROM json_each(introduced_by) WHERE value = ?)',
    );
    this.#insert = db.prepare(
      `INSERT INTO introduced_peers (peer_id, ed25519_public_key, x25519_public_key, binding, endpoints, display_name,
         device_name, introduced_by, introduced_at, updated_at)
       VALUES (@peerId, @ed, @x, @binding, @endpoints, @displayName, @deviceName, @introducedBy, @at, @at)`,
    );
    this.#merge = db.prepare(
      `UPDATE introduced_peers SET endpoints = @endpoints, display_name = @displayName, device_name = @deviceName,
         introduced_by = @introducedBy, updated_at = @at WHERE peer_id = @peerId`,
    );
    this.#setIntroducers = db.prepare<[string, string]>('UPDATE introduced_peers SET introduced_by = ? WHERE peer_id = ?');
    this.#prune = db.prepare<[number]>('DELETE FROM introduced_peers WHERE updated_at < ?');
    this.#remove = db.prepare<[string]>('DELETE FROM introduced_peers WHERE peer_id = ?');
    const introduce = db.transaction((peer: IntroducedPeerInput, introducer: string) => this.#introduce(peer, introducer));
    this.#introduceTx = (peer, introducer) => introduce.immediate(peer, introducer);
    this.#removeIntroducerTx = db.transaction((introducer: string) => this.#removeIntroducer(introducer));
  }

  /** The row of a peer, unless it expired. */
  get(peerId: string): IntroducedPeerRecord | undefined {
    const row = this.#get.get(peerId, this.#cutoff());
    return row && toRecord(row);
  }

  /** Every row that has not expired, oldest introduction first. */
  list(): IntroducedPeerRecord[] {
    return this.#list.all(this.#cutoff()).map(toRecord);
  }

  /**
   * Records that `introducer` introduced `peer`. A stored peer keeps its keys (the caller checks
   * they match before calling): the introducer goes first in its list, the fresh endpoints in
   * front of the known ones, non-empty names replace the stored ones. Expired rows go first.
   */
  introduce(peer: IntroducedPeerInput, introducer: string): IntroduceOutcome {
    return this.#introduceTx(peer, introducer);
  }

  #introduce(peer: IntroducedPeerInput, introducer: string): IntroduceOutcome {
    const at = this.#now();
    this.#prune.run(at - this.limits.expiryMs);
    const existing = this.#get.get(peer.peerId, at - this.limits.expiryMs);
    if (existing) {
      const before = parseList(existing.introduced_by).filter((id) => id !== introducer);
      const merged = {
        peerId: peer.peerId,
        endpoints: JSON.stringify(unique([...peer.endpoints, ...parseList(existing.endpoints)]).slice(0, this.limits.endpointsPerRow)),
        displayName: peer.displayName || existing.display_name,
        deviceName: peer.deviceName || existing.device_name,
        introducedBy: JSON.stringify([introducer, ...before].slice(0, this.limits.introducersPerRow)),
        at,
      };
      this.#merge.run(merged);
      const same =
        merged.endpoints === existing.endpoints &&
        merged.displayName === existing.display_name &&
        merged.deviceName === existing.device_name &&
        merged.introducedBy === existing.introduced_by;
      return same ? 'refreshed' : 'merged';
    }
    if (this.#count.get()! >= this.limits.total) return 'full_total';
    if (this.#countBy.get(introducer)! >= this.limits.perIntroducer) return 'full_introducer';
    this.#insert.run({
      peerId: peer.peerId,
      ed: Buffer.from(peer.ed25519PublicKey),
      x: Buffer.from(peer.x25519PublicKey),
      binding: Buffer.from(peer.binding),
      endpoints: JSON.stringify(unique(peer.endpoints).slice(0, this.limits.endpointsPerRow)),
      displayName: peer.displayName || null,
      deviceName: peer.deviceName || null,
      introducedBy: JSON.stringify([introducer]),
      at,
    });
    return 'stored';
  }

  /** Takes a (forgotten) peer off every introducer list; rows left without an introducer go. Returns rows changed. */
  removeIntroducer(introducer: string): number {
    return this.#removeIntroducerTx(introducer);
  }

  #removeIntroducer(introducer: string): number {
    const rows = this.#withIntroducer.all(introducer);
    for (const row of rows) {
      const rest = parseList(row.introduced_by).filter((id) => id !== introducer);
      if (rest.length === 0) this.#remove.run(row.peer_id);
      else this.#setIntroducers.run(JSON.stringify(rest), row.peer_id);
    }
    return rows.length;
  }

  remove(peerId: string): boolean {
    return this.#remove.run(peerId).changes > 0;
  }

  #cutoff(): number {
    return this.#now() - this.limits.expiryMs;
  }
}

const unique = (items: readonly string[]): string[] => [...new Set(items)];

function parseList(json: string): string[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((e): e is string => typeof e === 'string') : [];
}

function toRecord(row: IntroducedRow): IntroducedPeerRecord {
  return {
    peerId: row.peer_id,
    ed25519PublicKey: new Uint8Array(row.ed25519_public_key),
    x25519PublicKey: new Uint8Array(row.x25519_public_key),
    binding: new Uint8Array(row.binding),
    endpoints: parseList(row.endpoints),
    displayName: row.display_name,
    deviceName: row.device_name,
    introducedBy: parseList(row.introduced_by),
    introducedAt: row.introduced_at,
    updatedAt: row.updated_at,
  };
}
