/**
 * The browser's own database (IndexedDB via Dexie): this device's key, the pinned companion key,
 * and a replica of history the UI renders from, so the app opens instantly and reads offline.
 * The companion stays the source of truth; everything here except `device`, `pins` and `outbox`
 * can be rebuilt by syncing again.
 */
import Dexie, { type EntityTable } from 'dexie';
import type { KeyPair } from '../../protocol/crypto/types.ts';
import type { AppMessage, ChannelSummary, DeviceProfile, PeerSummary, Profile, SessionStatus } from '../../protocol/app/contract.ts';
import type { CompanionPin, LinkStore } from './link/app-link.ts';

/** This browser's X25519 device key (the Noise static key of the app link). One row. */
export interface DeviceKeyRow {
  id: 'device';
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  createdAt: number;
}

/** The companion key pinned on first contact (trust on first use). One row. */
export interface PinRow extends CompanionPin {
  id: 'companion';
}

/** One entry of `messages.channels` (= GET /api/v1/channels). */
export type ChannelRow = ChannelSummary;

/**
 * A peer's profile card (name, bio, avatar and its device's) as the companion verified it (= the
 * contract's ProfileCardView): signed by that peer, so it is the same whichever relay brought it.
 * A newer `updated_at` replaces it.
 */
export interface PeerCardRow {
  peer_id: string;
  display_name: string;
  bio: string;
  avatar: string | null;
  device_name: string;
  device_description: string;
  device_avatar: string | null;
  /** The owner's clock (ms), strictly increasing per owner. */
  updated_at: number;
}

export type ProfileRow = ({ id: 'user' } & Profile) | ({ id: 'device' } & DeviceProfile);
export type ProfileId = ProfileRow['id'];

export type OutboxState = 'pending' | 'sending' | 'failed';

/**
 * A message written in this browser that the companion has not confirmed yet. It is written
 * before anything is sent, so it survives a closed tab or a dead link; `client_id` makes the
 * companion's `messages.send` idempotent when a send is retried.
 */
export interface OutboxRow {
  client_id: string;
  channel: string;
  /** DM recipient; null for channel posts. */
  peer_id: string | null;
  broadcast: boolean;
  content: string;
  metadata: Record<string, unknown>;
  created_at: number;
  state: OutboxState;
  /** Why a failed row was refused (shown next to it). */
  error: string | null;
}

/**
 * How far the user has read a conversation: the highest cursor seen while it was open and visible.
 * Messages above it (incoming ones) are unread. One row per channel (DM channels included).
 */
export interface ReadRow {
  channel: string;
  cursor: number;
}

/**
 * A contact whose safety number the user compared out of band and marked as verified. The number
 * is kept as it was then, so a contact whose key no longer matches it is flagged instead of
 * silently staying "verified".
 */
export interface VerifiedRow {
  peer_id: string;
  safety_number: string;
  /** The name the contact had when verified, to notice another key claiming it later. */
  display_name: string | null;
  verified_at: number;
}

/** Small key/value facts about this browser's state. */
export interface MetaValues {
  /** Highest cursor up to which the replica holds every message. */
  cursor: number;
  /** The username this browser last authenticated as; its presence means "render from the replica". */
  username: string;
  /** The companion's last session.status, so a browser that opens offline can still show who is logged in. */
  status: SessionStatus;
  /**
   * The cursor reached by this replica's first complete pull: history that was already there when
   * the browser logged in is not news, so only messages above it can be unread.
   */
  readBaseline: number;
  /** Which incoming messages raise a browser notification (opt-in, see notifications.ts). */
  notify: { dm: boolean; mention: boolean; channel: boolean };
}
export type MetaKey = keyof MetaValues;
export interface MetaRow {
  key: string;
  value: unknown;
}

export type CanopyDb = Dexie & {
  device: EntityTable<DeviceKeyRow, 'id'>;
  pins: EntityTable<PinRow, 'id'>;
  messages: EntityTable<AppMessage, 'id'>;
  channels: EntityTable<ChannelRow, 'id'>;
  peers: EntityTable<PeerSummary, 'peer_id'>;
  profiles: EntityTable<ProfileRow, 'id'>;
  cards: EntityTable<PeerCardRow, 'peer_id'>;
  outbox: EntityTable<OutboxRow, 'client_id'>;
  meta: EntityTable<MetaRow, 'key'>;
  reads: EntityTable<ReadRow, 'channel'>;
  verified: EntityTable<VerifiedRow, 'peer_id'>;
};

export const DB_NAME = 'canopy';

function createDb(): CanopyDb {
  const db = new Dexie(DB_NAME) as CanopyDb;
  db.version(1).stores({
    device: 'id',
    pins: 'id',
    // cursor: sync order; [channel+cursor]: a channel's newest page and scroll-back;
    // [channel+ts]: ordering by author time; peer_id: DM conversations (null is not indexed).
    messages: 'id, cursor, [channel+cursor], [channel+ts], peer_id',
    channels: 'id',
    peers: 'peer_id',
    profiles: 'id',
    outbox: 'client_id, created_at, channel, state',
    meta: 'key',
  });
  // 2: other peers' profile cards, so names and avatars show offline too.
  db.version(2).stores({ cards: 'peer_id' });
  // 3: read positions (unread counts) and verified contacts.
  db.version(3).stores({ reads: 'channel', verified: 'peer_id' });
  return db;
}

export const db: CanopyDb = createDb();

export async function getMeta<K extends MetaKey>(key: K): Promise<MetaValues[K] | undefined> {
  const row = await db.meta.get(key);
  return row?.value as MetaValues[K] | undefined;
}

export async function setMeta<K extends MetaKey>(key: K, value: MetaValues[K]): Promise<void> {
  await db.meta.put({ key, value });
}

export async function deleteMeta(key: MetaKey): Promise<void> {
  await db.meta.delete(key);
}

/** The app link's device key and pin, kept in IndexedDB. */
export const linkStore: LinkStore = {
  async loadOrCreateDeviceKey(create) {
    // One rw transaction: IndexedDB serialises it across tabs, so two tabs opening on first visit
    // agree on a single device key.
    return db.transaction('rw', db.device, async () => {
      const row = await db.device.get('device');
      if (row) return { publicKey: row.publicKey, secretKey: row.secretKey } satisfies KeyPair;
      const pair = create();
      await db.device.put({ id: 'device', publicKey: pair.publicKey, secretKey: pair.secretKey, createdAt: Date.now() });
      return pair;
    });
  },
  async loadPin() {
    const row = await db.pins.get('companion');
    if (!row) return undefined;
    const { id: _id, ...pin } = row;
    return pin;
  },
  async savePin(pin) {
    await db.pins.put({ id: 'companion', ...pin });
  },
};

/** Forgets the device key: the next handshake makes a new one, which the companion does not know. */
export async function rotateDeviceKey(): Promise<void> {
  await db.device.clear();
}

/** Drops the replica and the outbox (everything the companion can give back, plus unsent drafts). */
export async function clearReplica(): Promise<void> {
  const tables = [db.messages, db.channels, db.peers, db.profiles, db.cards, db.outbox, db.meta, db.reads, db.verified];
  await db.transaction('rw', tables, async () => {
    await Promise.all(tables.map((table) => table.clear()));
  });
}

/** Deletes the whole database, pin and device key included. Other tabs are closed out of it by Dexie. */
export async function deleteEverything(): Promise<void> {
  db.close();
  await Dexie.delete(DB_NAME);
}
