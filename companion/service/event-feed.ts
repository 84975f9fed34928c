import { EventEmitter } from 'node:events';
import type { CanopyEvent } from '../../protocol/events.ts';
import type { Store } from '../store/index.ts';
import type { MessageService } from './message-service.ts';
import type { Permission } from './permissions.ts';
import type { IntroducedPeerSummary, ProfileCardView } from '../../protocol/app/contract.ts';

/** What the event stream sends, and the permission a key needs to receive each. */
export const FEED_EVENT_PERMISSION = {
  post: 'read_messages',
  dm: 'read_messages',
  channel: 'read_messages',
  delivery: 'read_messages',
  peer: 'view_peers',
  request: 'view_peers',
  introduction: 'view_peers',
  profile: 'view_peers',
} as const satisfies Record<string, Permission>;
export type FeedEventType = keyof typeof FEED_EVENT_PERMISSION;
type NoticeType = Exclude<FeedEventType, 'post' | 'dm'>;

/**
 * A position in the feed: the last message (the events table's local order) and the last notice
 * (the notices journal) a client has had. Both only grow, and both survive a restart, so a
 * client that hands its last event id back misses nothing and receives nothing twice.
 */
export interface FeedCursor {
  messages: number;
  notices: number;
}

const CURSOR = /^(\d{1,15})\.(\d{1,15})$/;

export function formatCursor(cursor: FeedCursor): string {
  return `${cursor.messages}.${cursor.notices}`;
}

/** null when `text` is not a cursor this feed wrote. */
export function parseCursor(text: string): FeedCursor | null {
  const match = CURSOR.exec(text.trim());
  return match ? { messages: Number(match[1]), notices: Number(match[2]) } : null;
}

export interface FeedEvent {
  type: FeedEventType;
  /** The position right after this event: its SSE id. */
  cursor: FeedCursor;
  data: unknown;
}

export interface FeedPage {
  events: FeedEvent[];
  /** Where the next read starts (past events this key may not see, too). */
  cursor: FeedCursor;
  /** Nothing newer is held: the reader is live. */
  caughtUp: boolean;
}

/** Why a cursor cannot be followed exactly; the stream says so with a `reset` event. */
export type CursorGap = 'notices_trimmed' | 'cursor_unknown';

export interface FeedSources {
  store: Pick<Store, 'events' | 'notices'>;
  messages: Pick<MessageService, 'restMessages' | 'overallDelivery' | 'channels'>;
  nameOf(peerId: string): string | null;
  pendingRequests(): Array<{ peer_id: string; display_name: string | null; endpoint: string | null; requested_at: string }>;
  introducedPeers(): IntroducedPeerSummary[];
  profileCard(peerId: string): ProfileCardView | undefined;
}

/** Delivery changes journaled per notice: a catch-up acknowledges thousands at once. */
const DELIVERIES_PER_NOTICE = 64;

/**
 * The feed behind `GET /api/v1/events`. Messages are read straight from the event store by
 * cursor; everything else is journaled as a notice when it happens (references and states only)
 * and rendered with current names when read. Emits `wake` once per turn in which anything new
 * arrived, after the commit that stored it.
 */
export class EventFeed extends EventEmitter<{ wake: [] }> {
  #wakeScheduled = false;
  readonly #deliveryChanges = new Set<string>();
  #pendingRequests: Set<string>;
  #introduced: Set<string>;

  constructor(private readonly sources: FeedSources) {
    super();
    // One listener per open stream; their number is capped where streams are accepted.
    this.setMaxListeners(0);
    this.#pendingRequests = new Set(sources.pendingRequests().map((request) => request.peer_id));
    this.#introduced = new Set(sources.introducedPeers().map((peer) => peer.peer_id));
  }

  /** The position of a client that starts now. */
  now(): FeedCursor {
    return { messages: this.sources.store.events.latestCursor(), notices: this.sources.store.notices.latestId() };
  }

  /** Whether a client's cursor can be followed exactly, and if not, why. */
  gapAt(cursor: FeedCursor): CursorGap | null {
    const latest = this.now();
    if (cursor.messages > latest.messages || cursor.notices > latest.notices) return 'cursor_unknown';
    const oldest = this.sources.store.notices.oldestId();
    if (oldest !== null && cursor.notices < oldest - 1) return 'notices_trimmed';
    return null;
  }

  /** The same position with an unfollowable part moved to where the feed can follow it. */
  nearestFollowable(cursor: FeedCursor): FeedCursor {
    const latest = this.now();
    const oldest = this.sources.store.notices.oldestId();
    return {
      messages: Math.min(cursor.messages, latest.messages),
      notices: cursor.notices > latest.notices ? latest.notices : oldest !== null ? Math.max(cursor.notices, oldest - 1) : cursor.notices,
    };
  }

  /**
   * Up to `limit` events after `from` that `permissions` allow: messages first, then notices,
   * so a message always comes before the delivery changes about it.
   */
  read(from: FeedCursor, permissions: readonly string[], limit: number): FeedPage {
    const allowed = (type: FeedEventType) => permissions.includes(FEED_EVENT_PERMISSION[type]);
    const { events: store, notices } = this.sources.store;
    const cursor = { ...from };
    const events: FeedEvent[] = [];
    const latestMessage = store.latestCursor();
    if (allowed('post')) {
      const rows = store.since(cursor.messages, limit);
      for (const [index, { kind, message }] of this.sources.messages.restMessages(rows).entries()) {
        cursor.messages = rows[index]!.cursor;
        events.push({ type: kind, cursor: { ...cursor }, data: message });
      }
      if (rows.length === limit) return { events, cursor, caughtUp: false };
    }
    cursor.messages = latestMessage;
    const wanted = limit - events.length;
    const journal = notices.after(cursor.notices, wanted);
    const render = this.renderer();
    for (const notice of journal) {
      cursor.notices = notice.id;
      const type = notice.type as NoticeType;
      if (!(type in FEED_EVENT_PERMISSION) || !allowed(type)) continue;
      events.push({ type, cursor: { ...cursor }, data: render(type, notice.data) });
    }
    return { events, cursor, caughtUp: journal.length < wanted };
  }

  /** A new message or channel was stored (sync's `stored`). */
  stored(_id: string, channel: string, kind: CanopyEvent['kind']): void {
    if (kind === 'channel') this.#append('channel', { channel_id: channel });
    else this.#scheduleWake();
  }

  deliveryChanged(id: string): void {
    this.#deliveryChanges.add(id);
    this.#scheduleWake();
  }

  peerChanged(peerId: string, connected: boolean, reason?: string): void {
    this.#append('peer', { peer_id: peerId, connected, ...(reason ? { reason } : {}) });
  }

  profileChanged(peerId: string): void {
    this.#append('profile', { peer_id: peerId });
  }

  /** Requests may have come or gone (consent's `changed`): journals each difference. */
  requestsMayHaveChanged(): void {
    const now = new Set(this.sources.pendingRequests().map((request) => request.peer_id));
    for (const peerId of now) if (!this.#pendingRequests.has(peerId)) this.#append('request', { peer_id: peerId, state: 'pending' });
    for (const peerId of this.#pendingRequests) if (!now.has(peerId)) this.#append('request', { peer_id: peerId, state: 'resolved' });
    this.#pendingRequests = now;
  }

  /** Introduced peers may have come or gone (introductions, links up and down). */
  introductionsMayHaveChanged(): void {
    const now = new Set(this.sources.introducedPeers().map((peer) => peer.peer_id));
    for (const peerId of now) if (!this.#introduced.has(peerId)) this.#append('introduction', { peer_id: peerId, state: 'introduced' });
    for (const peerId of this.#introduced) if (!now.has(peerId)) this.#append('introduction', { peer_id: peerId, state: 'gone' });
    this.#introduced = now;
  }

  #append(type: NoticeType, data: Record<string, unknown>): void {
    this.sources.store.notices.append(type, data);
    this.#scheduleWake();
  }

  #scheduleWake(): void {
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    // After the current transaction: what woke us is committed by the time anyone reads.
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.#journalDeliveries();
      this.emit('wake');
    });
  }

  #journalDeliveries(): void {
    if (this.#deliveryChanges.size === 0) return;
    const changes = [...this.#deliveryChanges].map((id) => ({ id, delivery_state: this.sources.messages.overallDelivery(id) }));
    this.#deliveryChanges.clear();
    for (let start = 0; start < changes.length; start += DELIVERIES_PER_NOTICE) {
      this.sources.store.notices.append('delivery', { messages: changes.slice(start, start + DELIVERIES_PER_NOTICE) });
    }
  }

  /**
   * Renders notices as clients see them: the journaled facts, with names and details as they are
   * now. Lists are fetched once per read, when a notice needs them.
   */
  private renderer(): (type: NoticeType, data: Record<string, unknown>) => unknown {
    const once = <T>(load: () => T) => {
      let value: T | undefined;
      return () => (value ??= load());
    };
    const channels = once(() => new Map(this.sources.messages.channels().channels.map((channel) => [channel.id, channel])));
    const requests = once(() => new Map(this.sources.pendingRequests().map((request) => [request.peer_id, request])));
    const introduced = once(() => new Map(this.sources.introducedPeers().map((peer) => [peer.peer_id, peer])));
    return (type, data) => {
      const peerId = typeof data.peer_id === 'string' ? data.peer_id : '';
      switch (type) {
        case 'delivery':
          return data;
        case 'channel':
          return channels().get(String(data.channel_id)) ?? { id: data.channel_id };
        case 'peer':
          return { ...data, display_name: this.sources.nameOf(peerId) };
        case 'request':
          return { ...requests().get(peerId), ...data };
        case 'introduction':
          return { ...introduced().get(peerId), ...data };
        case 'profile': {
          const card = this.sources.profileCard(peerId);
          if (!card) return data;
          // Avatars stay out of the stream (up to tens of KB each): GET /api/v1/profiles/:peer_id has them.
          const { avatar, device_avatar, ...rest } = card;
          return { ...rest, has_avatar: Boolean(avatar), has_device_avatar: Boolean(device_avatar) };
        }
      }
    };
  }
}
