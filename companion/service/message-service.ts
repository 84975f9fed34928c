import type { z } from 'zod';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import {
  CHANNEL_NAME_PATTERN,
  GENERAL_CHANNEL,
  MAX_CREATED_CHANNEL_NAME_LENGTH,
  channelIdFor,
  dmChannelId,
  dmCounterpart,
  isDmChannel,
  sealDm,
  type ChannelBody,
  type PostBody,
} from '../../protocol/events.ts';
import { CanopyEventSchema, PostBodySchema } from '../../protocol/frames.ts';
import { peerIdMatches, verifyBinding, type Identity } from '../../protocol/identity.ts';
import type { LinkManager } from '../mesh/link-manager.ts';
import type { Draft, Publisher } from '../mesh/publisher.ts';
import type { AppMessage, DeliveryState } from '../../protocol/app/contract.ts';
import type { MessageRow, Store } from '../store/index.ts';
import { ServiceError } from './errors.ts';

export interface SendRequest {
  content: string;
  metadata?: Record<string, unknown>;
  broadcast?: boolean;
  peerId?: string;
}

export interface ChannelPostRequest {
  channelId: string;
  content: string;
  metadata?: Record<string, unknown>;
}


export interface PageRequest {
  limit: number;
  before?: number;
  after?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Conversations a new replica starts with (`recent`); the others arrive as they get new messages. */
export const MAX_RECENT_CONVERSATIONS = 100;

/** Posting and reading: channel posts, DMs, and what each message's delivery state is. */
export class MessageService {
  constructor(
    private readonly crypto: CryptoBackend,
    private readonly identity: Identity,
    private readonly store: Store,
    private readonly manager: LinkManager,
    private readonly publisher: Publisher,
    /** A peer's name from its profile card (display name, else device name), or null. */
    private readonly nameOf: (peerId: string) => string | null = () => null,
  ) {}

  /** Web app sends waiting for their commit, by client id: a retry meanwhile joins the first. */
  private readonly appSendsInFlight = new Map<string, Promise<string>>();

  /**
   * A send from the web app's outbox. `clientId` makes it idempotent: the same outbox entry sent
   * again after a dropped link returns the first result instead of a second message. The client id
   * is recorded in the commit that stores the message.
   */
  async sendFromApp(request: SendRequest & { clientId?: string; channelId?: string }) {
    const { clientId, channelId } = request;
    const record = clientId ? (id: string) => this.store.clientSends.record(clientId, id, Date.now()) : undefined;
    const earlier = clientId ? (this.store.clientSends.eventFor(clientId) ?? this.appSendsInFlight.get(clientId)) : undefined;
    let messageId: string;
    if (earlier !== undefined) {
      messageId = await earlier;
    } else {
      const sending = (
        channelId
          ? this.postToChannel({ channelId, content: request.content, metadata: request.metadata }, record)
          : this.send(request, record)
      ).then((sent) => sent.message_id);
      if (clientId) {
        this.appSendsInFlight.set(clientId, sending);
        void sending.finally(() => this.appSendsInFlight.delete(clientId)).catch(() => {});
      }
      messageId = await sending;
    }
    return { success: true as const, message_id: messageId, message: this.appMessages([this.store.events.get(messageId)!])[0]! };
  }

  /** The replica's catch-up: every message with cursor > `cursor`, oldest first. */
  since(cursor: number, limit: number) {
    const rows = this.store.events.since(cursor, limit);
    return {
      messages: this.appMessages(rows),
      cursor: rows.length ? rows[rows.length - 1]!.cursor : cursor,
      has_more: rows.length === Math.min(limit, 500),
    };
  }

  /**
   * A new replica's starting point: the newest rows of each of the most recently active
   * conversations, and the cursor to follow from. Older history comes by `history` when scrolled
   * to, so a long history never stands between a login and the first messages on screen.
   */
  recent(perConversation: number) {
    const conversations = [...this.store.events.channelSummaries(), ...this.store.events.dmConversations()]
      .sort((a, b) => b.lastCursor - a.lastCursor)
      .slice(0, MAX_RECENT_CONVERSATIONS);
    // Read in one synchronous run, so no message stored by this process can fall between rows and cursor.
    return {
      messages: this.appMessages(conversations.flatMap(({ channel }) => this.store.events.page(channel, { limit: perConversation }))),
      cursor: this.store.events.latestCursor(),
    };
  }

  /** Scroll-back for one channel or conversation: rows before `before`, newest first. */
  history(channel: string, before: number | undefined, limit: number) {
    const rows = this.store.events.page(channel, { limit, ...(before !== undefined ? { before } : {}) });
    return { messages: this.appMessages(rows), has_more: rows.length === limit };
  }

  /** Rows in the shape the web app stores, with the delivery state of our own. */
  appMessages(rows: MessageRow[]): AppMessage[] {
    const me = this.identity.peerId;
    const own = rows.filter((r) => r.author === me).map((r) => r.id);
    const states = this.store.deliveries.summary(own);
    const clientIds = this.store.clientSends.clientIdsFor(own);
    return rows.map((row) => ({
      id: row.id,
      cursor: row.cursor,
      channel: row.channel,
      kind: row.kind,
      author: row.author,
      author_name: this.nameOf(row.author),
      content: row.content,
      metadata: row.metadata ?? {},
      ts: row.ts,
      received_at: row.receivedAt,
      peer_id: isDmChannel(row.channel) ? dmCounterpart(row.channel, me) : null,
      direction: row.author === me ? 'outgoing' : 'incoming',
      delivery_state: row.author === me ? ((states.get(row.id) as DeliveryState | undefined) ?? 'queued') : null,
      client_id: clientIds.get(row.id) ?? null,
    }));
  }

  /** The lowest delivery state across an own message's recipients. */
  overallDelivery(id: string): DeliveryState {
    return (this.store.deliveries.summary([id]).get(id) as DeliveryState | undefined) ?? 'queued';
  }

  /** `alsoInCommit` runs in the commit that stores the message (see Publisher). */
  async send(request: SendRequest, alsoInCommit?: (id: string) => void) {
    if (request.broadcast) return this.broadcast(request, alsoInCommit);
    if (!request.peerId) throw new ServiceError(400, 'peer_id required for direct message');
    return this.directMessage(request.peerId, request, alsoInCommit);
  }

  private async broadcast(request: SendRequest, alsoInCommit?: (id: string) => void) {
    const readable = readableBody(request);
    const id = await this.publish({ channel: GENERAL_CHANNEL, kind: 'post', body: readable, readable, alsoInCommit });
    const connected = this.manager.connected().length;
    return {
      success: true,
      broadcast: true,
      message: `Broadcast to ${connected} connected peer${connected === 1 ? '' : 's'}`,
      message_id: id,
      channel_id: GENERAL_CHANNEL,
      delivery: this.deliveryOf(id),
    };
  }

  /**
   * A new channel of ours: a signed metadata event in the channel it describes, stored and spread
   * like a post. Its id is the name plus a suffix derived from our peer id (channelIdFor), so two
   * peers that both create "random" get two channels, and only we can describe ours. Creating the
   * same name again returns the existing channel.
   */
  async createChannel(name: string, description: string) {
    if (!CHANNEL_NAME_PATTERN.test(name) || name.length > MAX_CREATED_CHANNEL_NAME_LENGTH) {
      throw new ServiceError(
        400,
        `Invalid channel name: use 1-${MAX_CREATED_CHANNEL_NAME_LENGTH} lowercase letters, digits, '-' or '_', starting with a letter or digit`,
      );
    }
    if (name === GENERAL_CHANNEL) throw new ServiceError(409, 'The general channel already exists');
    const id = channelIdFor(this.crypto, this.identity.peerId, name);
    const existing = this.store.channels.get(id);
    if (existing) return { created: false, channel: this.channelOut(id, existing, undefined) };
    const body: ChannelBody = { name, description };
    await this.publish({ channel: id, kind: 'channel', body, readable: null });
    return { created: true, channel: this.channelOut(id, this.store.channels.get(id), undefined) };
  }

  /** A post in any channel we know (`general`, ours, or one a peer's posts brought us). */
  async postToChannel(request: ChannelPostRequest, alsoInCommit?: (id: string) => void) {
    const { channelId } = request;
    if (isDmChannel(channelId) || !this.channelKnown(channelId)) {
      throw new ServiceError(404, 'Channel not found', { channel_id: channelId });
    }
    const readable = readableBody(request);
    const id = await this.publish({ channel: channelId, kind: 'post', body: readable, readable, alsoInCommit });
    return { success: true, message_id: id, channel_id: channelId, delivery: this.deliveryOf(id) };
  }

  private channelKnown(channelId: string): boolean {
    return (
      channelId === GENERAL_CHANNEL ||
      this.store.channels.get(channelId) !== undefined ||
      this.store.events.channelSummaries().some((s) => s.channel === channelId)
    );
  }

  private async directMessage(peerId: string, request: SendRequest, alsoInCommit?: (id: string) => void) {
    if (peerId === this.identity.peerId) throw new ServiceError(400, 'Cannot send a direct message to yourself');
    const recipientX25519PublicKey = this.recipientKey(peerId);
    if (!recipientX25519PublicKey) throw new ServiceError(404, 'Unknown peer: import its invite code first', { peer_id: peerId });
    // The sealed body is opaque to the event schema; the recipient checks it once opened.
    const readable = readableBody(request);
    const body = sealDm(this.crypto, {
      author: this.identity.peerId,
      to: peerId,
      recipientX25519PublicKey,
      content: request.content,
      metadata: request.metadata,
    });
    const id = await this.publish({ channel: dmChannelId(this.identity.peerId, peerId), kind: 'dm', body, readable, alsoInCommit });
    const state = this.store.deliveries.forEvent(id)[0]?.state ?? 'queued';
    return {
      success: true,
      peer_id: peerId,
      message:
        state === 'queued'
          ? 'Queued: the peer is offline; it will be delivered when the link comes back'
          : 'Sent to peer',
      message_id: id,
      status: state,
    };
  }

  /**
   * The X25519 key a DM to this peer is sealed to: a known peer's, else an introduced peer's, whose
   * binding is checked again here (the DM must not go to a key its owner did not sign). The DM then
   * waits in the outbox until a link to the peer exists.
   */
  private recipientKey(peerId: string): Uint8Array | undefined {
    const known = this.store.peers.get(peerId);
    if (known) return known.x25519PublicKey;
    const introduced = this.store.introduced.get(peerId);
    if (!introduced) return undefined;
    const { ed25519PublicKey, x25519PublicKey, binding } = introduced;
    const proven = peerIdMatches(this.crypto, peerId, ed25519PublicKey) && verifyBinding(this.crypto, ed25519PublicKey, x25519PublicKey, binding);
    return proven ? x25519PublicKey : undefined;
  }

  private publish(draft: Draft): Promise<string> {
    return this.publisher.publish(draft, (event) => {
      // Peers validate every event they receive with this schema and reject invalid ones, so an
      // event that would fail there (e.g. oversize metadata) must never be stored or leave here.
      const valid = CanopyEventSchema.safeParse(event);
      if (!valid.success) throw cannotSend(valid.error, 'event');
    });
  }

  private deliveryOf(id: string): Record<string, string> {
    return Object.fromEntries(this.store.deliveries.forEvent(id).map((d) => [d.peerId, d.state]));
  }

  channels() {
    const summaries = new Map(this.store.events.channelSummaries().map((s) => [s.channel, s]));
    const records = new Map(this.store.channels.list().map((c) => [c.id, c]));
    const ids = [...new Set([...records.keys(), ...summaries.keys()])].filter((id) => !isDmChannel(id)).sort();
    return {
      channels: ids.map((id) => this.channelOut(id, records.get(id), summaries.get(id))),
    };
  }

  private channelOut(
    id: string,
    record: { name: string; description: string; originPeer: string | null; createdAt: number } | undefined,
    summary: { count: number; lastTs: number } | undefined,
  ) {
    return {
      id,
      name: record?.name ?? id,
      description: record?.description ?? '',
      origin_peer: record?.originPeer ?? null,
      // The creator's name when it is a peer we know by name (ourselves: null, it is ours).
      origin_peer_name: record?.originPeer ? this.nameOf(record.originPeer) : null,
      created_at: record ? iso(record.createdAt) : null,
      message_count: summary?.count ?? 0,
      last_message_at: summary ? iso(summary.lastTs) : null,
    };
  }

  channelMessages(channelId: string, page: PageRequest) {
    if (isDmChannel(channelId)) throw new ServiceError(404, 'Channel not found; direct messages are read at /api/v1/messages');
    if (!this.channelKnown(channelId)) throw new ServiceError(404, 'Channel not found', { channel_id: channelId });
    const rows = this.store.events.page(channelId, page);
    const deliveries = this.store.deliveries.summary(rows.filter((r) => r.author === this.identity.peerId).map((r) => r.id));
    return {
      channel_id: channelId,
      messages: rows.map((row) => this.postOut(row, deliveries.get(row.id))),
      ...this.pageLinks(rows, page),
    };
  }

  directMessages(peerId: string | undefined, page: PageRequest) {
    const channels = peerId
      ? [dmChannelId(this.identity.peerId, peerId)]
      : this.store.events.dmConversations().map((c) => c.channel);
    const rows = channels
      .flatMap((channel) => this.store.events.page(channel, page))
      .sort((a, b) => (page.after !== undefined ? a.cursor - b.cursor : b.cursor - a.cursor))
      .slice(0, page.limit);
    const deliveries = this.store.deliveries.summary(rows.filter((r) => r.author === this.identity.peerId).map((r) => r.id));
    return {
      ...(peerId ? { peer_id: peerId } : {}),
      conversations: this.store.events.dmConversations().map((c) => ({
        peer_id: dmCounterpart(c.channel, this.identity.peerId),
        message_count: c.count,
        last_message_at: iso(c.lastTs),
      })),
      messages: rows.map((row) => this.directMessageOut(row, deliveries.get(row.id))),
      ...this.pageLinks(rows, page),
    };
  }

  /**
   * Rows in the REST shapes, each tagged with its kind: a post as `/channels/:id/messages` lists
   * it, a DM as `/messages` does (the event stream sends them so).
   */
  restMessages(rows: MessageRow[]): Array<{ kind: 'post'; message: ReturnType<MessageService['postOut']> } | { kind: 'dm'; message: ReturnType<MessageService['directMessageOut']> }> {
    const deliveries = this.store.deliveries.summary(rows.filter((r) => r.author === this.identity.peerId).map((r) => r.id));
    return rows.map((row) =>
      row.kind === 'dm'
        ? { kind: 'dm' as const, message: this.directMessageOut(row, deliveries.get(row.id)) }
        : { kind: 'post' as const, message: this.postOut(row, deliveries.get(row.id)) },
    );
  }

  private postOut(row: MessageRow, delivery: string | undefined) {
    const own = row.author === this.identity.peerId;
    return {
      id: row.id,
      channel_id: row.channel,
      author_peer_id: row.author,
      author_name: this.nameOf(row.author),
      content: row.content,
      metadata: row.metadata ?? {},
      created_at: iso(row.ts),
      received_at: iso(row.receivedAt),
      seq: row.seq,
      cursor: row.cursor,
      origin: own ? 'local' : 'remote',
      ...(own ? { delivery_state: delivery ?? 'sent' } : {}),
    };
  }

  private directMessageOut(row: MessageRow, delivery: string | undefined) {
    const outgoing = row.author === this.identity.peerId;
    const counterpart = dmCounterpart(row.channel, this.identity.peerId);
    return {
      id: row.id,
      peer_id: counterpart,
      sender_id: row.author,
      sender_name: this.nameOf(row.author),
      recipient_id: outgoing ? counterpart : this.identity.peerId,
      direction: outgoing ? 'outgoing' : 'incoming',
      content: row.content,
      metadata: row.metadata ?? {},
      created_at: iso(row.ts),
      received_at: iso(row.receivedAt),
      cursor: row.cursor,
      encrypted: true,
      ...(outgoing ? { delivery_state: delivery ?? 'queued' } : {}),
    };
  }

  /** Cursors for the next page in the same direction. */
  private pageLinks(rows: MessageRow[], page: PageRequest) {
    const full = rows.length === page.limit;
    if (page.after !== undefined) {
      return { has_more: full, next_after: rows.length ? rows[rows.length - 1]!.cursor : page.after };
    }
    return { has_more: full, next_before: full ? rows[rows.length - 1]!.cursor : null };
  }
}

/** A post's or DM's readable body, held to the limits every receiver applies (size, nesting). */
function readableBody(request: { content: string; metadata?: Record<string, unknown> }): PostBody {
  const body: PostBody = request.metadata ? { content: request.content, metadata: request.metadata } : { content: request.content };
  const valid = PostBodySchema.safeParse(body);
  if (!valid.success) throw cannotSend(valid.error, 'body');
  return body;
}

function cannotSend(error: z.ZodError, root: string): ServiceError {
  const issue = error.issues[0];
  const path = [root, ...(issue?.path ?? []).map(String)].join('.');
  return new ServiceError(400, `Message cannot be sent: ${path}: ${issue?.message ?? 'invalid'}`);
}
