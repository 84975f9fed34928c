import type { Database } from './database.ts';
import { systemClock, type Clock } from './clock.ts';

export type PeerSource = 'invite' | 'inbound';
/** Why a peer may link with us (DESIGN §3a); only trusted peers are stored here. */
export const PEER_TRUSTS = ['invited', 'invite_holder', 'accepted', 'introduced'] as const;
export type PeerTrust = (typeof PEER_TRUSTS)[number];

export interface PeerRecord {
  peerId: string;
  ed25519PublicKey: Uint8Array;
  x25519PublicKey: Uint8Array;
  endpoints: string[];
  displayName: string | null;
  source: PeerSource;
  trust: PeerTrust;
  /** A handshake proved the X25519 key: an invite may no longer replace it. */
  keyProven: boolean;
  /** The secret from the peer's invite, if it carried one; proven when we dial the peer. */
  inviteSecret: Uint8Array | null;
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

export interface InvitedPeer extends PeerKeys {
  inviteSecret?: Uint8Array;
}

/** Thrown (and the import refused) when an invite names a different key than a handshake proved. */
export class ProvenKeyConflictError extends Error {
  constructor(readonly peer: PeerRecord) {
    super(`Peer ${peer.peerId} already proved a different X25519 key`);
    this.name = 'ProvenKeyConflictError';
  }
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
  trust: PeerTrust;
  key_proven: number;
  invite_secret: Buffer | null;
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
  readonly #ids;
  readonly #insert;
  readonly #update;
  readonly #markConnected;
  readonly #setDisplayName;
  readonly #remove;
  readonly #inviteTx: (peer: InvitedPeer) => PeerSaveResult;
  readonly #handshakeTx: (peer: PeerKeys, trust: PeerTrust) => PeerSaveResult;

  constructor(db: Database, now: Clock = systemClock) {
    this.#now = now;
    this.#get = db.prepare<[string], PeerRow>('SELECT * FROM peers WHERE peer_id = ?');
    this.#list = db.prepare<[], PeerRow>('SELECT * FROM peers ORDER BY created_at, peer_id');
    this.#ids = db.prepare<[], string>('SELECT peer_id FROM peers ORDER BY created_at, peer_id').pluck();
    this.#insert = db.prepare(
      `INSERT INTO peers (peer_id, ed25519_public_key, x25519_public_key, endpoints, source, trust, key_proven,
         invite_secret, created_at, updated_at)
       VALUES (@peerId, @ed, @x, @endpoints, @source, @trust, @proven, @secret, @at, @at)`,
    );
    this.#update = db.prepare(
      `UPDATE peers SET ed25519_public_key = @ed, x25519_public_key = @x, endpoints = @endpoints,
         source = @source, trust = @trust, key_proven = @proven, invite_secret = @secret, updated_at = @at
       WHERE peer_id = @peerId`,
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
    const invite = db.transaction((peer: InvitedPeer) => this.#saveFromInvite(peer));
    const handshake = db.transaction((peer: PeerKeys, trust: PeerTrust) => this.#saveFromHandshake(peer, trust));
    this.#inviteTx = (peer) => invite.immediate(peer);
    this.#handshakeTx = (peer, trust) => handshake.immediate(peer, trust);
  }

  get(peerId: string): PeerRecord | undefined {
    const row = this.#get.get(peerId);
    return row && toRecord(row);
  }

  list(): PeerRecord[] {
    return this.#list.all().map(toRecord);
  }

  /** Just the ids, in list() order: asked once per post we publish, where decoding every row showed in profiles. */
  ids(): string[] {
    return this.#ids.all();
  }

  /**
   * The user vouched for these endpoints, and for the keys unless a handshake already proved
   * others (then ProvenKeyConflictError: a forged invite must not redirect the peer's DMs). The
   * peer becomes an invited one, whatever it was.
   */
  saveFromInvite(peer: InvitedPeer): PeerSaveResult {
    return this.#inviteTx(peer);
  }

  #saveFromInvite(peer: InvitedPeer): PeerSaveResult {
    const existing = this.#get.get(peer.peerId);
    if (existing?.key_proven && !Buffer.from(peer.x25519PublicKey).equals(existing.x25519_public_key)) {
      throw new ProvenKeyConflictError(toRecord(existing));
    }
    const secret = peer.inviteSecret ? Buffer.from(peer.inviteSecret) : (existing?.invite_secret ?? null);
    const params = { peerId: peer.peerId, ed: Buffer.from(peer.ed25519PublicKey), x: Buffer.from(peer.x25519PublicKey),
      endpoints: JSON.stringify(cleanEndpoints(peer.endpoints)), source: 'invite', trust: 'invited',
      proven: existing?.key_proven ?? 0, secret, at: this.#now() };
    (existing ? this.#update : this.#insert).run(params);
    return { record: this.get(peer.peerId)!, created: !existing };
  }

  /**
   * The peer just proved these keys in a handshake. Its advertised endpoints go first (they are
   * the freshest) but the ones we already knew stay, since the peer may not know all its routes.
   * `trust` applies only to a peer not stored yet: a known peer keeps the trust it has.
   */
  saveFromHandshake(peer: PeerKeys, trust: PeerTrust): PeerSaveResult {
    return this.#handshakeTx(peer, trust);
  }

  #saveFromHandshake(peer: PeerKeys, trust: PeerTrust): PeerSaveResult {
    const existing = this.#get.get(peer.peerId);
    const known = existing ? parseEndpoints(existing.endpoints) : [];
    const params = { peerId: peer.peerId, ed: Buffer.from(peer.ed25519PublicKey), x: Buffer.from(peer.x25519PublicKey),
      endpoints: JSON.stringify(cleanEndpoints([...peer.endpoints, ...known])),
      source: existing?.source ?? 'inbound', trust: existing?.trust ?? trust, proven: 1,
      secret: existing?.invite_secret ?? null, at: this.#now() };
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
    trust: row.trust,
    keyProven: row.key_proven === 1,
    inviteSecret: row.invite_secret ? new Uint8Array(row.invite_secret) : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastConnectedAt: row.last_connected_at,
    lastEndpoint: row.last_endpoint,
  };
}
