/**
 * Who is who, for every component at once: each peer's name, avatar, bio and device, from its
 * signed profile card when we have one, else from what the peer list says, and the contacts the
 * user verified. One live query for the whole app (not one per row), read through
 * `people.name(id)` and friends, which are reactive.
 */
import { liveQuery } from 'dexie';
import type { PeerSummary } from '../../protocol/app/contract.ts';
import { db, type PeerCardRow, type VerifiedRow } from './db.ts';
import { peerNamer } from './ui/format.ts';

export interface Person {
  peer_id: string;
  /** The name the peer chose; null when we know none. */
  display_name: string | null;
  avatar: string | null;
  device_name: string | null;
  bio: string | null;
  device_description: string | null;
  /** base58, as the companion holds it for a linked peer; unchecked (see safety.svelte.ts). */
  ed25519_public_key: string | null;
}

const text = (value: string | null | undefined) => value?.trim() || null;

function merge(cards: PeerCardRow[], peers: PeerSummary[]): Map<string, Person> {
  const result = new Map<string, Person>();
  for (const peer of peers) {
    result.set(peer.peer_id, {
      peer_id: peer.peer_id,
      display_name: text(peer.display_name),
      avatar: null,
      device_name: null,
      bio: null,
      device_description: null,
      // Rows stored by an older companion lack it.
      ed25519_public_key: typeof peer.ed25519_public_key === 'string' ? peer.ed25519_public_key : null,
    });
  }
  for (const card of cards) {
    const known = result.get(card.peer_id);
    // The card is signed by the peer itself; the list's name is what a link told us.
    const name = text(card.display_name) ?? known?.display_name ?? null;
    const device = text(card.device_name);
    result.set(card.peer_id, {
      peer_id: card.peer_id,
      display_name: name,
      avatar: card.avatar,
      // A peer without a name of its own goes by its device's: saying it twice tells nothing.
      device_name: device && device.toLocaleLowerCase() !== name?.toLocaleLowerCase() ? device : null,
      bio: text(card.bio),
      device_description: text(card.device_description),
      ed25519_public_key: known?.ed25519_public_key ?? null,
    });
  }
  return result;
}

class People {
  #byId = $state.raw(new Map<string, Person>());
  #verified = $state.raw<VerifiedRow[]>([]);
  #namer = $derived(peerNamer(this.#byId.values()));
  #started = false;

  /** Starts following the database on first use (the browser only: the app has no SSR). */
  #follow(): void {
    if (this.#started || typeof indexedDB === 'undefined') return;
    this.#started = true;
    liveQuery(async () => merge(await db.cards.toArray(), await db.peers.toArray())).subscribe({
      next: (map) => (this.#byId = map),
      error: (error: unknown) => console.warn('people:', error),
    });
    liveQuery(() => db.verified.toArray()).subscribe({
      next: (rows) => (this.#verified = rows),
      error: (error: unknown) => console.warn('people (verified):', error),
    });
  }

  get(peerId: string): Person | undefined {
    this.#follow();
    return this.#byId.get(peerId);
  }

  /**
   * A peer's name for display: its card's or the list's name, else `fallback` (e.g. a name an
   * introduction carried), else its short ID; a name two peers share gets the start of each ID.
   */
  name(peerId: string, fallback?: string | null): string {
    this.#follow();
    return this.#namer(peerId, this.#byId.get(peerId)?.display_name ?? fallback);
  }

  avatar(peerId: string): string | null {
    return this.get(peerId)?.avatar ?? null;
  }

  deviceName(peerId: string, fallback?: string | null): string | null {
    return this.get(peerId)?.device_name ?? (fallback?.trim() || null);
  }

  /** The contacts whose safety number the user marked as verified, as they were then. */
  get verified(): readonly VerifiedRow[] {
    this.#follow();
    return this.#verified;
  }
}

export const people = new People();
