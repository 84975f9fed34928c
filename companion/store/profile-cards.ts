import { canonicalJson } from '../../protocol/canonical.ts';
import type { SignedProfileCard } from '../../protocol/mesh/profile-card.ts';
import type { Database } from './database.ts';

/** A verified card as held: the signed card exactly as received, and where it came from. */
export interface StoredProfileCard {
  peerId: string;
  updatedAt: number;
  hash: string;
  signed: SignedProfileCard;
  /** The link it arrived on; null for our own card. */
  receivedFrom: string | null;
  receivedAt: number;
}

interface CardRow {
  peer_id: string;
  updated_at: number;
  hash: string;
  signed: string;
  received_from: string | null;
  received_at: number;
}

/** A card's text fields and whether it has avatars: what a list shows, without the images. */
export interface ProfileCardSummary {
  peerId: string;
  updatedAt: number;
  displayName: string;
  bio: string;
  deviceName: string;
  deviceDescription: string;
  hasAvatar: boolean;
  hasDeviceAvatar: boolean;
}

/**
 * Signed profile cards, one per owner, stored only after verification (companion/mesh/
 * profile-cards.ts decides what gets here). The signed card is kept as its canonical JSON text,
 * the bytes its signature covers, so what we forward is what the owner signed; being JSON text,
 * lists can read its fields in SQL without loading the avatars.
 */
export class ProfileCardRepository {
  readonly #get;
  readonly #head;
  readonly #digest;
  readonly #all;
  readonly #put;
  readonly #count;
  readonly #privileged;
  readonly #oldestUnprivileged;
  readonly #delete;
  readonly #summaries;
  readonly #sizesAfter;
  readonly #names;

  constructor(db: Database) {
    this.#get = db.prepare<[string], CardRow>('SELECT * FROM profile_cards WHERE peer_id = ?');
    this.#head = db.prepare<[string], { updated_at: number; hash: string }>('SELECT updated_at, hash FROM profile_cards WHERE peer_id = ?');
    this.#digest = db.prepare<[], { peer_id: string; updated_at: number }>('SELECT peer_id, updated_at FROM profile_cards ORDER BY peer_id');
    this.#all = db.prepare<[], CardRow>('SELECT * FROM profile_cards ORDER BY peer_id');
    this.#put = db.prepare<[string, number, string, string, string | null, number]>(
      `INSERT INTO profile_cards (peer_id, updated_at, hash, signed, received_from, received_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (peer_id) DO UPDATE SET updated_at = excluded.updated_at, hash = excluded.hash, signed = excluded.signed,
         received_from = excluded.received_from, received_at = excluded.received_at`,
    );
    this.#count = db.prepare<[], number>('SELECT COUNT(*) FROM profile_cards').pluck();
    this.#privileged = db
      .prepare<[string, string], number>(
        'SELECT EXISTS (SELECT 1 FROM peers WHERE peer_id = ?) OR EXISTS (SELECT 1 FROM introduced_peers WHERE peer_id = ?)',
      )
      .pluck();
    this.#oldestUnprivileged = db
      .prepare<[string], string>(
        `SELECT peer_id FROM profile_cards
         WHERE peer_id <> ? AND peer_id NOT IN (SELECT peer_id FROM peers) AND peer_id NOT IN (SELECT peer_id FROM introduced_peers)
         ORDER BY received_at LIMIT 1`,
      )
      .pluck();
    this.#delete = db.prepare<[string]>('DELETE FROM profile_cards WHERE peer_id = ?');
    this.#summaries = db.prepare<[], SummaryRow>(
      `SELECT peer_id, updated_at,
         json_extract(signed, '$.card.display_name') AS display_name, json_extract(signed, '$.card.bio') AS bio,
         json_extract(signed, '$.card.device.name') AS device_name, json_extract(signed, '$.card.device.description') AS device_description,
         json_type(signed, '$.card.avatar') = 'text' AS has_avatar, json_type(signed, '$.card.device.avatar') = 'text' AS has_device_avatar
       FROM profile_cards ORDER BY peer_id`,
    );
    this.#names = db.prepare<[string], { display_name: string; device_name: string }>(
      `SELECT json_extract(signed, '$.card.display_name') AS display_name, json_extract(signed, '$.card.device.name') AS device_name
       FROM profile_cards WHERE peer_id = ?`,
    );
    this.#sizesAfter = db.prepare<[string], { peer_id: string; size: number }>(
      'SELECT peer_id, length(signed) AS size FROM profile_cards WHERE peer_id > ? ORDER BY peer_id',
    );
  }

  get(peerId: string): StoredProfileCard | undefined {
    const row = this.#get.get(peerId);
    return row && toRecord(row);
  }

  /** Version and hash only (no blob): enough to decide whether a received card is news. */
  head(peerId: string): { updatedAt: number; hash: string } | undefined {
    const row = this.#head.get(peerId);
    return row && { updatedAt: row.updated_at, hash: row.hash };
  }

  /** A card's two names, read without loading its avatars (message lists ask for every row). */
  names(peerId: string): { displayName: string; deviceName: string } | undefined {
    const row = this.#names.get(peerId);
    return row && { displayName: row.display_name, deviceName: row.device_name };
  }

  /** Every held card's owner and version, for `card_digest`. */
  digest(): Array<{ peer_id: string; updated_at: number }> {
    return this.#digest.all();
  }

  list(): StoredProfileCard[] {
    return this.#all.all().map(toRecord);
  }

  summaries(): ProfileCardSummary[] {
    return this.#summaries.all().map((row) => ({
      peerId: row.peer_id,
      updatedAt: row.updated_at,
      displayName: row.display_name,
      bio: row.bio,
      deviceName: row.device_name,
      deviceDescription: row.device_description,
      hasAvatar: row.has_avatar === 1,
      hasDeviceAvatar: row.has_device_avatar === 1,
    }));
  }

  /**
   * Cards after `after` (by peer ID) while their JSON adds up to at most `maxChars` (at least one),
   * so a page with avatars fits one app-link frame; `nextAfter` is null on the last page.
   */
  page(after: string, maxChars: number): { cards: StoredProfileCard[]; nextAfter: string | null } {
    const ids: string[] = [];
    let total = 0;
    let more = false;
    for (const row of this.#sizesAfter.iterate(after)) {
      if (ids.length > 0 && total + row.size > maxChars) {
        more = true;
        break;
      }
      ids.push(row.peer_id);
      total += row.size;
    }
    const cards = ids.map((id) => this.get(id)).filter((card): card is StoredProfileCard => card !== undefined);
    return { cards, nextAfter: more ? ids[ids.length - 1]! : null };
  }

  put(signed: SignedProfileCard, hash: string, receivedFrom: string | null, receivedAt: number): void {
    const { card } = signed;
    this.#put.run(card.peer_id, card.updated_at, hash, canonicalJson(signed), receivedFrom, receivedAt);
  }

  count(): number {
    return this.#count.get()!;
  }

  /** A peer we are or were linked with, or one introduced to us: its card outranks strangers'. */
  isPrivileged(peerId: string): boolean {
    return this.#privileged.get(peerId, peerId) === 1;
  }

  /** The card longest held whose owner is neither us (`self`) nor privileged: the first to make room. */
  oldestUnprivileged(self: string): string | undefined {
    return this.#oldestUnprivileged.get(self);
  }

  remove(peerId: string): boolean {
    return this.#delete.run(peerId).changes > 0;
  }
}

interface SummaryRow {
  peer_id: string;
  updated_at: number;
  display_name: string;
  bio: string;
  device_name: string;
  device_description: string;
  has_avatar: number;
  has_device_avatar: number;
}

function toRecord(row: CardRow): StoredProfileCard {
  return {
    peerId: row.peer_id,
    updatedAt: row.updated_at,
    hash: row.hash,
    signed: JSON.parse(row.signed) as SignedProfileCard,
    receivedFrom: row.received_from,
    receivedAt: row.received_at,
  };
}
