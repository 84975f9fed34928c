/**
 * Keeps the browser's replica (web/lib/db.ts) in step with the companion, and owns the outbox.
 *
 * - Catch-up is by cursor: the stored `cursor` means "every message up to here is held, down to
 *   the oldest row held of each conversation", so a pull after any (re)connect fetches exactly
 *   what was missed, however long we were away.
 * - A new replica starts from the newest rows of each conversation (`messages.recent`) and the
 *   companion's cursor; older history is fetched when scrolled to (loadOlder). A long history
 *   never stands between a login and the first messages on screen.
 * - Pushes are applied at once for liveness; one that does not extend the cursor contiguously
 *   triggers a pull, which closes whatever gap there is.
 * - Writes go to the outbox first (durable across closed tabs and dead links) and are sent in
 *   order with a client_id, so a retried send is never a duplicate.
 */
import Dexie from 'dexie';
import type { AppMessage, AppMethod, AppParams, AppResult, ChannelSummary, PeerSummary } from '../../protocol/app/contract.ts';
import { nobleCrypto } from '../../protocol/crypto/noble.ts';
import { hexEncode } from '../../protocol/bytes.ts';
import { CHANNEL_NAME_PATTERN, dmChannelId, dmCounterpart, isDmChannel } from '../../protocol/events.ts';
import { db, getMeta, setMeta, type ChannelRow, type OutboxRow, type PeerCardRow } from './db.ts';
import { AppError, type AppPush } from './link/app-link.ts';
import { setReadBaselineOnce } from './unread.ts';

export const GENERAL_CHANNEL = 'general';
const SINCE_PAGE = 500;
const HISTORY_PAGE = 200;

export type CallFn = <M extends AppMethod>(method: M, params: AppParams<M>) => Promise<AppResult<M>>;

export interface ReplicaOptions {
  call: CallFn;
  /** True while the link is open and this browser is authenticated: only then is the outbox sent. */
  canSend: () => boolean;
  /** Reports background sync failures (they never throw to the caller). */
  onError?: (error: unknown) => void;
}

export interface SendInput {
  content: string;
  /** 'general' (the default), another channel's id, or a DM channel id 'dm:<a>:<b>'. */
  channel?: string;
  /** Direct message to this peer. */
  peer_id?: string;
  /** Post to the general channel. */
  broadcast?: boolean;
  metadata?: Record<string, unknown>;
}

/** Runs `task` one at a time; calls during a run coalesce into exactly one follow-up run. */
function serialized(task: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const run = (): Promise<void> => {
    if (!current) {
      current = task().finally(() => {
        current = null;
      });
      return current;
    }
    queued ??= current
      .catch(() => {})
      .then(() => {
        queued = null;
        return run();
      });
    return queued;
  };
  return run;
}

/** A client_id for the outbox. crypto.randomUUID exists only in secure contexts (not http://LAN-IP). */
export function newClientId(): string {
  const native = globalThis.crypto as { randomUUID?: () => string } | undefined;
  if (typeof native?.randomUUID === 'function') return native.randomUUID();
  const bytes = nobleCrypto.randomBytes(16); // noble uses crypto.getRandomValues, available everywhere
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // RFC 9562 version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10
  const hex = hexEncode(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function isAppMessage(value: unknown): value is AppMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return typeof m.id === 'string' && typeof m.cursor === 'number' && typeof m.channel === 'string';
}

function isChannelRow(value: unknown): value is ChannelRow {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string';
}

function isCardRow(value: unknown): value is PeerCardRow {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  const text = (key: string) => typeof c[key] === 'string';
  const image = (key: string) => c[key] === null || typeof c[key] === 'string';
  return (
    text('peer_id') && typeof c.updated_at === 'number' && text('display_name') && text('bio') && text('device_name') &&
    text('device_description') && image('avatar') && image('device_avatar')
  );
}

/** Stores cards unless the replica already holds a card of that peer at least as new. */
async function putNewerCards(cards: unknown[]): Promise<void> {
  const valid = cards.filter(isCardRow);
  if (!valid.length) return;
  await db.transaction('rw', db.cards, async () => {
    const held = await db.cards.bulkGet(valid.map((card) => card.peer_id));
    const newer = valid.filter((card, i) => (held[i]?.updated_at ?? -Infinity) < card.updated_at);
    if (newer.length) await db.cards.bulkPut(newer);
  });
}

/** A rejection the user should see on the row, as opposed to "could not reach the companion, try later". */
function isPermanentFailure(error: unknown): error is AppError {
  // 401: not logged in (yet) on this link; the message is fine, the session is not. 408/429/5xx: transient.
  return error instanceof AppError && !error.transient && error.status !== 401 && error.status !== 408;
}

/** Within a transaction on messages+meta: stores rows and advances the cursor only over a complete prefix. */
async function storeMessages(rows: AppMessage[], completeUpTo: number | null): Promise<{ gap: boolean }> {
  return db.transaction('rw', db.messages, db.meta, db.outbox, async () => {
    if (rows.length) await db.messages.bulkPut(rows);
    // A stored message that left this browser's outbox replaces its outbox entry at once.
    const sent = rows.flatMap((row) => (row.client_id ? [row.client_id] : []));
    if (sent.length) await db.outbox.bulkDelete(sent);
    const stored = (await getMeta('cursor')) ?? 0;
    if (completeUpTo !== null) {
      // A pull returns everything up to its cursor, so it is a complete prefix by construction.
      if (completeUpTo > stored) await setMeta('cursor', completeUpTo);
      return { gap: false };
    }
    // Single pushed rows: extend the prefix only if contiguous; otherwise a pull fills the gap.
    let cursor = stored;
    for (const row of [...rows].sort((a, b) => a.cursor - b.cursor)) if (row.cursor === cursor + 1) cursor = row.cursor;
    if (cursor > stored) await setMeta('cursor', cursor);
    return { gap: rows.some((row) => row.cursor > cursor) };
  });
}

export class Replica {
  readonly #o: ReplicaOptions;

  constructor(options: ReplicaOptions) {
    this.#o = options;
  }

  /** Everything after a (re)connect + authentication: catch up, refresh lists, send the outbox. */
  async syncAll(): Promise<void> {
    const steps = [this.pullSince(), this.refreshPeers(), this.refreshChannels(), this.refreshProfiles(), this.refreshCards(), this.flushOutbox()];
    const results = await Promise.allSettled(steps);
    for (const result of results) if (result.status === 'rejected') this.#report(result.reason);
  }

  /** Pulls `messages.since` from the stored cursor until the companion has nothing more. */
  readonly pullSince = serialized(async () => {
    if ((await getMeta('cursor')) === undefined) {
      const first = await this.#o.call('messages.recent', {});
      await storeMessages(first.messages.filter(isAppMessage), first.cursor);
    }
    for (;;) {
      const cursor = (await getMeta('cursor')) ?? 0;
      const page = await this.#o.call('messages.since', { cursor, limit: SINCE_PAGE });
      const rows = page.messages.filter(isAppMessage);
      await storeMessages(rows, page.cursor);
      // Stop on no progress too, so a confused companion cannot keep us looping.
      if (!page.has_more || page.cursor <= cursor) break;
    }
    await setReadBaselineOnce();
  });

  readonly refreshPeers = serialized(async () => {
    const { peers } = await this.#o.call('network.peers', {});
    await this.#replacePeers(peers);
  });

  readonly refreshChannels = serialized(async () => {
    const result = await this.#o.call('messages.channels', {});
    await this.#replaceChannels(result.channels);
  });

  readonly refreshProfiles = serialized(async () => {
    const { user, device } = await this.#o.call('profile.get', {});
    await db.profiles.bulkPut([
      { id: 'user', ...user },
      { id: 'device', ...device },
    ]);
  });

  /** Every profile card the companion holds, page by page; cards it no longer holds leave the replica. */
  readonly refreshCards = serialized(async () => {
    const cards: unknown[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#o.call('profiles.list', after === undefined ? {} : { after });
      if (Array.isArray(page.profiles)) cards.push(...page.profiles);
      // Stop on no progress too, so a confused companion cannot keep us looping.
      if (typeof page.next_after !== 'string' || page.next_after === after) break;
      after = page.next_after;
    }
    const listed = new Set(cards.filter(isCardRow).map((card) => card.peer_id));
    await db.transaction('rw', db.cards, async () => {
      await db.cards.filter((card) => !listed.has(card.peer_id)).delete();
      await putNewerCards(cards);
    });
  });

  /** Applies a live update from the companion. `session` pushes are the session's business, not ours. */
  async applyPush(push: AppPush): Promise<void> {
    try {
      switch (push.topic) {
        case 'message': {
          if (!isAppMessage(push.data)) return;
          const message = push.data;
          const { gap } = await storeMessages([message], null);
          if (gap) void this.pullSince().catch((error: unknown) => this.#report(error));
          if (!isDmChannel(message.channel) && !(await db.channels.get(message.channel))) {
            void this.refreshChannels().catch((error: unknown) => this.#report(error));
          }
          return;
        }
        case 'channels':
          await this.#replaceChannels(push.data?.channels);
          return;
        case 'profile':
          await putNewerCards([push.data]);
          return;
        case 'delivery':
          // If the row is not here yet, the pull that brings it carries the current state anyway.
          await db.messages.update(push.data.id, { delivery_state: push.data.delivery_state });
          return;
        case 'peers':
          if (Array.isArray(push.data?.peers)) await this.#replacePeers(push.data.peers);
          return;
        case 'session':
          return;
      }
    } catch (error) {
      this.#report(error);
    }
  }

  /**
   * Keeps the replica right after calls the UI makes directly (profile edits, imports) instead
   * of waiting for a push that the companion does not send for them.
   */
  afterCall<M extends AppMethod>(method: M, result: AppResult<M>): void {
    const refresh = (task: () => Promise<void>) => void task().catch((error: unknown) => this.#report(error));
    switch (method) {
      case 'profile.set_user':
        refresh(async () => {
          const { user } = result as AppResult<'profile.set_user'>;
          await db.profiles.put({ id: 'user', ...user });
        });
        return;
      case 'profile.set_device':
        refresh(async () => {
          const { device } = result as AppResult<'profile.set_device'>;
          await db.profiles.put({ id: 'device', ...device });
        });
        return;
      case 'network.peers':
        refresh(() => this.#replacePeers((result as AppResult<'network.peers'>).peers));
        return;
      case 'channels.create': {
        const { channel } = result as AppResult<'channels.create'>;
        if (isChannelRow(channel)) refresh(async () => void (await db.channels.put(channel)));
        return;
      }
      case 'network.import':
      case 'network.reconnect':
        refresh(this.refreshPeers);
        return;
      case 'messages.send': {
        const { message } = result as AppResult<'messages.send'>;
        if (isAppMessage(message)) refresh(async () => void (await storeMessages([message], null)));
        return;
      }
    }
  }

  // ---- outbox ----

  /**
   * Queues a message and tries to send it now. Resolves once it is safely in the outbox (not
   * when it reaches the companion): delivery shows up as the row's state.
   */
  async sendMessage(input: SendInput): Promise<OutboxRow> {
    const content = input.content;
    if (typeof content !== 'string' || content.trim() === '') throw new AppError(400, 'Write a message first');
    const target = await this.#target(input);
    const row: OutboxRow = {
      client_id: newClientId(),
      channel: target.channel,
      peer_id: target.peer_id,
      broadcast: target.peer_id === null,
      content,
      metadata: input.metadata ?? {},
      created_at: Date.now(),
      state: 'pending',
      error: null,
    };
    await db.outbox.add(row);
    void this.flushOutbox().catch((error: unknown) => this.#report(error));
    return row;
  }

  async #target(input: SendInput): Promise<{ channel: string; peer_id: string | null }> {
    const me = (await db.pins.get('companion'))?.peerId ?? null;
    let peer = input.peer_id ?? null;
    if (!peer && input.channel && isDmChannel(input.channel)) {
      peer = me ? dmCounterpart(input.channel, me) : null;
      if (!peer) throw new AppError(400, 'This conversation does not belong to this instance');
    }
    if (peer) {
      if (input.broadcast) throw new AppError(400, 'A message is either a broadcast or a direct message, not both');
      if (!me) throw new AppError(0, 'Connect to your Canopy companion once before sending direct messages');
      if (peer === me) throw new AppError(400, 'Cannot send a direct message to yourself');
      return { channel: dmChannelId(me, peer), peer_id: peer };
    }
    const channel = input.channel ?? GENERAL_CHANNEL;
    if (input.broadcast && channel !== GENERAL_CHANNEL) throw new AppError(400, 'A broadcast goes to #general; leave out the channel');
    // Every channel id has this shape; anything else would only fail later, when the outbox is sent.
    if (!CHANNEL_NAME_PATTERN.test(channel)) throw new AppError(400, 'This channel does not exist');
    return { channel, peer_id: null };
  }

  /** Sends pending rows oldest first. Stops at the first "try later" failure to keep order. */
  readonly flushOutbox = serialized(async () => {
    if (!this.#o.canSend()) return;
    // 'sending' rows were interrupted (closed tab, dropped link): client_id makes resending safe.
    const rows = (await db.outbox.orderBy('created_at').toArray()).filter((row) => row.state !== 'failed');
    for (const row of rows) {
      if (!this.#o.canSend()) return;
      const claimed = await db.outbox.update(row.client_id, { state: 'sending' });
      if (!claimed) continue; // discarded meanwhile
      const params: AppParams<'messages.send'> = { content: row.content, client_id: row.client_id };
      if (row.peer_id) params.peer_id = row.peer_id;
      else if (row.channel !== GENERAL_CHANNEL) params.channel = row.channel;
      else params.broadcast = true;
      if (Object.keys(row.metadata).length) params.metadata = row.metadata;
      try {
        const result = await this.#o.call('messages.send', params);
        const message = isAppMessage(result.message) ? result.message : null;
        await db.transaction('rw', db.outbox, db.messages, db.meta, async () => {
          await db.outbox.delete(row.client_id);
          if (message) await storeMessages([message], null);
        });
        if (!message) void this.pullSince().catch((error: unknown) => this.#report(error));
      } catch (error) {
        if (isPermanentFailure(error)) {
          await db.outbox.update(row.client_id, { state: 'failed', error: error.message });
          continue;
        }
        await db.outbox.update(row.client_id, { state: 'pending' });
        return; // flushed again on reconnect
      }
    }
  });

  /** Puts a failed row back in the queue (after the user fixed the cause, e.g. imported the peer). */
  async retryOutbox(clientId: string): Promise<void> {
    await db.outbox.update(clientId, { state: 'pending', error: null });
    await this.flushOutbox();
  }

  async discardOutbox(clientId: string): Promise<void> {
    await db.outbox.delete(clientId);
  }

  // ---- scroll-back ----

  /** Loads the page before the oldest message held for `channel`; resolves whether older ones exist. */
  async loadOlder(channel: string): Promise<boolean> {
    const oldest = await db.messages
      .where('[channel+cursor]')
      .between([channel, Dexie.minKey], [channel, Dexie.maxKey])
      .first();
    const params: AppParams<'messages.history'> = { channel, limit: HISTORY_PAGE };
    if (oldest) params.before = oldest.cursor;
    const page = await this.#o.call('messages.history', params);
    const rows = page.messages.filter(isAppMessage);
    // Older rows never move the cursor: it marks the newest complete prefix, and these lie inside it.
    if (rows.length) await db.messages.bulkPut(rows);
    return page.has_more;
  }

  async #replaceChannels(channels: ChannelSummary[] | undefined): Promise<void> {
    const list = Array.isArray(channels) ? channels.filter(isChannelRow) : [];
    await db.transaction('rw', db.channels, async () => {
      await db.channels.clear();
      await db.channels.bulkPut(list);
    });
  }

  async #replacePeers(peers: PeerSummary[]): Promise<void> {
    const valid = peers.filter((peer) => typeof peer?.peer_id === 'string');
    await db.transaction('rw', db.peers, async () => {
      await db.peers.clear();
      await db.peers.bulkPut(valid);
    });
  }

  #report(error: unknown): void {
    if (this.#o.onError) this.#o.onError(error);
    else console.warn('sync:', error);
  }
}
