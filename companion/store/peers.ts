import type { Database } from './database.ts';
import { systemClock, type Clock } from './clock.ts';

export type PeerSource = 'invite' | 'inbound';

export interface PeerRecord {
  peerId: string;
  ed25519PublicKey: Uint8Array;
  x25519PublicKey: Uint8Array;
  endpoints: string[];
  displayName: string | null;
  source: PeerSource;
  createdAt: number;
  updatedAt: number;
  lastConnectedAt: number | null;
  lastEndpoint: string | null;
}

export interface PeerKeys {
  peerId: string;
  ed25519PublicKey: Uint8Array;
  x25519PublicKey: Uint8Array;
  endpoints: string[];
}

export interface PeerSaveResult {
  record: PeerRecord;
  created: boolean;
}

/** Enough to reach a peer from several networks without letting a peer bloat our table. */
export const MAX_PEER_ENDPOINTS = 16;

interface PeerRow {
  peer_id: string;
  ed25519_public_key: Buffer;
  x25519_public_key: Buffer;
  endpoints: string;
  display_name: string | null;
  source: PeerSource;
  created_at: number;
  updated_at: number;
  last_connected_at: number | null;
  last_endpoint: string | null;
}

/** Known peers: their keys, how to reach them, and where we learned of them. */
export class PeerRepository {
  readonly #now: Clock;
  readonly #get;
  readonly #list;
  readonly #insert;
  readonly #update;
  readonly #markConnected;
  readonly #setDisplayName;
  readonly #remove;
  readonly #inviteTx: (peer: PeerKeys) => PeerSaveResult;
  readonly #handshakeTx: (peer: PeerKeys) => PeerSaveResult;

  constructor(db: Database, now: Clock = systemClock) {
    this.#now = now;
    this.#get = db.prepare<[string], PeerRow>('SELECT * FROM peers WHERE peer_id = ?');
    this.#list = db.prepare<[], PeerRow>('SELECT * FROM peers ORDER BY created_at, peer_id');
    this.#insert = db.prepare(
      `INSERT INTO peers (peer_id, ed25519_public_key, x25519_public_key, endpoints, source, created_at, updated_at)
       VALUES (@peerId, @ed, @x, @endpoints, @source, @at, @at)`,
    );
    this.#update = db.prepare(
      `UPDATE peers SET ed25519_public_key = @ed, x25519_public_key = @x, endpoints = @endpoints,
         source = @source, updated_at = @at WHERE peer_id = @peerId`,
    );
    // A connection without a dialled endpoint (inbound) keeps the last endpoint that worked.
    this.#markConnected = db.prepare<[number, string | null, string]>(
      'UPDATE peers SET last_connected_at = ?, last_endpoint = COALESCE(?, last_endpoint) WHERE peer_id = ?',
    );
    this.#setDisplayName = db.prepare<[string | null, number, string]>(
      'UPDATE peers SET display_name = ?, updated_at = ? WHERE peer_id = ?',
    );
    this.#remove = db.prepare<[string]>('DELETE FROM peers WHERE peer_id = ?');
    // IMMEDIATE: these read then write, and another connection may write in between.
    const invite = db.transaction((peer: PeerKeys) => this.#saveFromInvite(peer));
    const handshake = db.transaction((peer: PeerKeys) => this.#saveFromHandshake(peer));
    this.#inviteTx = (peer) => invite.immediate(peer);
    this.#handshakeTx = (peer) => handshake.immediate(peer);
  }

  get(peerId: string): PeerRecord | undefined {
    const row = this.#get.get(peerId);
    return row && toRecord(row);
  }

  list(): PeerRecord[] {
    return this.#list.all().map(toRecord);
  }

  /**
   * The user vouched for these keys and endpoints, so they replace whatever we had, and a peer
   * first met inbound becomes an invited one.
   */
  saveFromInvite(peer: PeerKeys): PeerSaveResult {
    return this.#inviteTx(peer);
  }

  #saveFromInvite(peer: PeerKeys): PeerSaveResult {
    const created = !this.#get.get(peer.peerId);
    const params = { peerId: peer.peerId, ed: Buffer.from(peer.ed25519PublicKey), x: Buffer.from(peer.x25519PublicKey),
      endpoints: JSON.stringify(cleanEndpoints(peer.endpoints)), source: 'invite', at: this.#now() };
    (created ? this.#insert : this.#update).run(params);
    return { record: this.get(peer.peerId)!, created };
  }

  /**
   * The peer just proved these keys in a handshake. Its advertised endpoints go first (they are
   * the freshest) but the ones we already knew stay, since the peer may not know all its routes.
   */
  saveFromHandshake(peer: PeerKeys): PeerSaveResult {
    return this.#handshakeTx(peer);
  }

  #saveFromHandshake(peer: PeerKeys): PeerSaveResult {
    const existing = this.#get.get(peer.peerId);
    const known = existing ? parseEndpoints(existing.endpoints) : [];
    const params = { peerId: peer.peerId, ed: Buffer.from(peer.ed25519PublicKey), x: Buffer.from(peer.x25519PublicKey),
      endpoints: JSON.stringify(cleanEndpoints([...peer.endpoints, ...known])),
      source: existing?.source ?? 'inbound', at: this.#now() };
    (existing ? this.#update : this.#insert).run(params);
    return { record: this.get(peer.peerId)!, created: !existing };
  }

  /** Returns false when the peer is unknown. */
  markConnected(peerId: string, endpoint: string | null, at: number): boolean {
    return this.#markConnected.run(at, endpoint, peerId).changes > 0;
  }

  /** Returns false when the peer is unknown. */
  setDisplayName(peerId: string, displayName: string | null): boolean {
    return this.#setDisplayName.run(displayName, this.#now(), peerId).changes > 0;
  }

  remove(peerId: string): boolean {
    return this.#remove.run(peerId).changes > 0;
  }
}

function cleanEndpoints(endpoints: readonly string[]): string[] {
  const unique = [...new Set(endpoints.filter((e) => typeof e === 'string' && e.length > 0))];
  return unique.slice(0, MAX_PEER_ENDPOINTS);
}

function parseEndpoints(json: string): string[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((e): e is string => typeof e === 'string') : [];
}

function toRecord(row: PeerRow): PeerRecord {
  return {
    peerId: row.peer_id,
    // Plain Uint8Array copies: callers compare and hash keys, and must not hold a Buffer view.
    ed25519PublicKey: new Uint8Array(row.ed25519_public_key),
    x25519PublicKey: new Uint8Array(row.x25519_public_key),
    endpoints: parseEndpoints(row.endpoints),
    displayName: row.display_name,
    source: row.source,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastConnectedAt: row.last_connected_at,
    lastEndpoint: row.last_endpoint,
  };
}
