/**
 * What the UI renders, as Dexie liveQuery observables over the local replica. They re-run when
 * the tables they read change (sync, pushes, the outbox), and they work offline. Dexie's
 * Observable fits Svelte's store contract, so a component can write `$messages`:
 *
 *   const messages = $derived(messagesIn(channel));   // then {#each $messages ?? [] as m}
 *
 * Each call makes a new observable; create it once per channel, not on every render.
 */
import Dexie, { liveQuery, type Observable } from 'dexie';
import type { AppMessage, DeliveryState, PeerSummary } from '../../protocol/app/contract.ts';
import { db, type ChannelRow, type OutboxRow, type OutboxState, type ProfileId, type ProfileRow } from './db.ts';
import { GENERAL_CHANNEL } from './sync.ts';

/** A message as shown: stored rows, plus outbox rows not yet accepted by the companion. */
export interface DisplayMessage extends AppMessage {
  /** Set for outbox rows only. */
  outbox_state?: OutboxState;
  /** Why the companion refused a failed outbox row. */
  outbox_error?: string | null;
}

export interface Conversation {
  peer_id: string;
  channel: string;
  display_name: string | null;
  connected: boolean;
  /** Newest stored message, or null when only queued messages exist. */
  last: AppMessage | null;
  /** ms since epoch of the newest activity, for sorting. */
  last_at: number;
}

function outboxAsMessage(row: OutboxRow, me: string): DisplayMessage {
  const queued: DeliveryState = 'queued';
  return {
    id: `outbox:${row.client_id}`,
    // Not stored yet, so no cursor: sorts after everything the companion has confirmed.
    cursor: Number.POSITIVE_INFINITY,
    channel: row.channel,
    kind: row.peer_id ? 'dm' : 'post',
    author: me,
    content: row.content,
    metadata: row.metadata,
    ts: row.created_at,
    received_at: row.created_at,
    peer_id: row.peer_id,
    direction: 'outgoing',
    delivery_state: queued,
    client_id: row.client_id,
    outbox_state: row.state,
    outbox_error: row.error,
  };
}

async function ownPeerId(): Promise<string> {
  return (await db.pins.get('companion'))?.peerId ?? '';
}

function lastInChannel(channel: string): Promise<AppMessage | undefined> {
  return db.messages.where('[channel+cursor]').between([channel, Dexie.minKey], [channel, Dexie.maxKey]).last();
}

/** The newest `limit` messages of a channel (oldest first), then its queued outbox rows. */
export function messagesIn(channel: string, limit = 200): Observable<DisplayMessage[]> {
  return liveQuery(async () => {
    const [stored, queued, me] = await Promise.all([
      db.messages
        .where('[channel+cursor]')
        .between([channel, Dexie.minKey], [channel, Dexie.maxKey])
        .reverse()
        .limit(limit)
        .toArray(),
      db.outbox.where('channel').equals(channel).sortBy('created_at'),
      ownPeerId(),
    ]);
    stored.reverse();
    return [...stored, ...queued.map((row) => outboxAsMessage(row, me))];
  });
}

/** Channels (not DMs), #general first, then by name. */
export function channelsList(): Observable<ChannelRow[]> {
  return liveQuery(async () => {
    const rows = await db.channels.toArray();
    return rows.sort((a, b) =>
      a.id === GENERAL_CHANNEL ? -1 : b.id === GENERAL_CHANNEL ? 1 : a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
    );
  });
}

/** One channel's row (name, description, creator), undefined until the channel list has it. */
export function channelById(id: string): Observable<ChannelRow | undefined> {
  return liveQuery(() => db.channels.get(id));
}

/** DM conversations, most recent first: one per peer with stored or queued messages. */
export function conversations(): Observable<Conversation[]> {
  return liveQuery(async () => {
    const [peerIds, peers, queuedRows] = await Promise.all([
      // Rows with peer_id null (channel posts) are not in the index, so these are exactly the DM peers.
      db.messages.orderBy('peer_id').uniqueKeys() as Promise<string[]>,
      db.peers.toArray(),
      db.outbox.filter((row) => row.peer_id !== null).toArray(),
    ]);
    const peerInfo = new Map(peers.map((peer) => [peer.peer_id, peer]));
    const result = new Map<string, Conversation>();
    for (const peerId of peerIds) {
      const any = await db.messages.where('peer_id').equals(peerId).first();
      if (!any) continue;
      const last = (await lastInChannel(any.channel)) ?? any;
      result.set(peerId, {
        peer_id: peerId,
        channel: any.channel,
        display_name: peerInfo.get(peerId)?.display_name ?? null,
        connected: peerInfo.get(peerId)?.connected ?? false,
        last,
        last_at: Math.max(last.ts, last.received_at),
      });
    }
    for (const row of queuedRows) {
      const peerId = row.peer_id!;
      const conversation =
        result.get(peerId) ??
        ({
          peer_id: peerId,
          channel: row.channel,
          display_name: peerInfo.get(peerId)?.display_name ?? null,
          connected: peerInfo.get(peerId)?.connected ?? false,
          last: null,
          last_at: 0,
        } satisfies Conversation);
      conversation.last_at = Math.max(conversation.last_at, row.created_at);
      result.set(peerId, conversation);
    }
    return [...result.values()].sort((a, b) => b.last_at - a.last_at);
  });
}

/** Known peers: connected first, then by name. */
export function peersList(): Observable<PeerSummary[]> {
  return liveQuery(async () => {
    const rows = await db.peers.toArray();
    const name = (peer: PeerSummary) => peer.display_name ?? peer.peer_id;
    return rows.sort((a, b) => Number(b.connected) - Number(a.connected) || name(a).localeCompare(name(b)));
  });
}

export function profile<K extends ProfileId>(id: K): Observable<Extract<ProfileRow, { id: K }> | undefined> {
  return liveQuery(async () => (await db.profiles.get(id)) as Extract<ProfileRow, { id: K }> | undefined);
}

/** Messages written here and not yet accepted by the companion (pending, sending or failed). */
/** Whether the replica holds any message at all (undefined until known). */
export function holdsMessages(): Observable<boolean> {
  return liveQuery(async () => (await db.messages.limit(1).count()) > 0);
}

export function outboxCount(): Observable<number> {
  return liveQuery(() => db.outbox.count());
}
