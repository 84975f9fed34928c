import { GENERAL_CHANNEL, isDmChannel, type CanopyEvent } from '../../protocol/events.ts';
import type { FirstSeen, FirstSeenPair } from '../store/events.ts';

/**
 * How many channels and authors one linked peer may introduce (bring us the first event of), and
 * how many we hold in all. Without these one peer could post once into thousands of channels and
 * every node that stored and forwarded them would grow without bound (issue 6, attack 1).
 * (channel, author) pairs are the heads of our version vector: capping them keeps the vector we
 * send under what peers accept (MAX_REMOTE_VECTOR_ENTRIES). DM channels and a peer's own
 * authorship are exempt: both are bounded by the peers we link to.
 */
export interface IntroductionLimits {
  channelsPerPeerPerDay: number;
  authorsPerPeerPerDay: number;
  headsPerPeerPerDay: number;
  totalChannels: number;
  totalAuthors: number;
  totalHeads: number;
}

export const DEFAULT_INTRODUCTION_LIMITS: IntroductionLimits = {
  channelsPerPeerPerDay: 32,
  authorsPerPeerPerDay: 256,
  headsPerPeerPerDay: 4096,
  totalChannels: 1024,
  totalAuthors: 10_000,
  totalHeads: 60_000,
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** Recent introductions by each peer, pruned to the last 24 hours as they are read. */
class PerPeerWindow {
  private readonly byPeer = new Map<string, number[]>();

  countSince(peerId: string, since: number): number {
    const times = this.byPeer.get(peerId);
    if (!times) return 0;
    const recent = times.filter((at) => at > since);
    if (recent.length) this.byPeer.set(peerId, recent);
    else this.byPeer.delete(peerId);
    return recent.length;
  }

  record(peerId: string, at: number): void {
    const times = this.byPeer.get(peerId);
    if (times) times.push(at);
    else this.byPeer.set(peerId, [at]);
  }
}

/**
 * The channels and authors we know, and who introduced which recently. An index computed from the
 * events table at start (no schema of its own) and kept current as events are stored.
 */
export class IntroductionLedger {
  private readonly channels = new Set<string>();
  private readonly authors = new Set<string>();
  private readonly channelWindow = new PerPeerWindow();
  private readonly authorWindow = new PerPeerWindow();
  /** `channel\nauthor` of public channels: neither part can hold a newline. */
  private readonly heads = new Set<string>();
  private readonly headWindow = new PerPeerWindow();
  private publicChannels = 0;

  constructor(
    seen: { channels: FirstSeen[]; authors: FirstSeen[]; heads: FirstSeenPair[] },
    private readonly limits: IntroductionLimits = DEFAULT_INTRODUCTION_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    // `general` exists on every instance: no peer introduces it, even before its first post.
    this.addChannel(GENERAL_CHANNEL);
    const since = this.now() - DAY_MS;
    for (const { name, via, at } of seen.channels) {
      this.addChannel(name);
      if (via && at > since && !isDmChannel(name) && name !== GENERAL_CHANNEL) this.channelWindow.record(via, at);
    }
    for (const { name, via, at } of seen.authors) {
      this.authors.add(name);
      if (via && via !== name && at > since) this.authorWindow.record(via, at);
    }
    for (const { channel, author, via, at } of seen.heads) {
      if (isDmChannel(channel)) continue;
      this.heads.add(headKey(channel, author));
      if (via && at > since) this.headWindow.record(via, at);
    }
  }

  /** Why an event from `fromPeer` may not be stored, or null when it may. Records nothing. */
  refusal(event: Pick<CanopyEvent, 'channel' | 'author'>, fromPeer: string): string | null {
    const since = this.now() - DAY_MS;
    const { channel, author } = event;
    if (!this.channels.has(channel) && !isDmChannel(channel)) {
      if (this.publicChannels >= this.limits.totalChannels) return `this node holds its limit of ${this.limits.totalChannels} channels`;
      if (this.channelWindow.countSince(fromPeer, since) >= this.limits.channelsPerPeerPerDay) {
        return `new channels from one peer are limited to ${this.limits.channelsPerPeerPerDay} a day`;
      }
    }
    if (!this.authors.has(author) && author !== fromPeer) {
      if (this.authors.size >= this.limits.totalAuthors) return `this node holds its limit of ${this.limits.totalAuthors} authors`;
      if (this.authorWindow.countSince(fromPeer, since) >= this.limits.authorsPerPeerPerDay) {
        return `new authors from one peer are limited to ${this.limits.authorsPerPeerPerDay} a day`;
      }
    }
    if (!isDmChannel(channel) && !this.heads.has(headKey(channel, author))) {
      if (this.heads.size >= this.limits.totalHeads) return `this node holds its limit of ${this.limits.totalHeads} channel authors`;
      if (this.headWindow.countSince(fromPeer, since) >= this.limits.headsPerPeerPerDay) {
        return `new channel authors from one peer are limited to ${this.limits.headsPerPeerPerDay} a day`;
      }
    }
    return null;
  }

  /** Notes a stored event; `fromPeer` is null for our own. */
  stored(event: Pick<CanopyEvent, 'channel' | 'author'>, fromPeer: string | null): void {
    const at = this.now();
    const { channel, author } = event;
    if (!this.channels.has(channel)) {
      this.addChannel(channel);
      if (fromPeer && !isDmChannel(channel)) this.channelWindow.record(fromPeer, at);
    }
    if (!this.authors.has(author)) {
      this.authors.add(author);
      if (fromPeer && fromPeer !== author) this.authorWindow.record(fromPeer, at);
    }
    const head = headKey(channel, author);
    if (!isDmChannel(channel) && !this.heads.has(head)) {
      this.heads.add(head);
      if (fromPeer) this.headWindow.record(fromPeer, at);
    }
  }

  private addChannel(channel: string): void {
    if (this.channels.has(channel)) return;
    this.channels.add(channel);
    if (!isDmChannel(channel)) this.publicChannels++;
  }
}

const headKey = (channel: string, author: string): string => `${channel}\n${author}`;
