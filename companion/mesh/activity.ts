import type { ActivityEvent } from '../../protocol/app/contract.ts';
import type { LinkManager } from './link-manager.ts';

/**
 * Recent connection events (upstream §7.2 `/p2p/activity`), in memory only. Bounded twice: the
 * whole log, and per peer, so a flood of strangers (each a new peer ID) or one noisy peer cannot
 * push every other peer's events out. Details are our own short words, never frame contents or keys.
 */
export type { ActivityEvent };
export type ActivityStatus = ActivityEvent['status'];

export const ACTIVITY_LIMITS = {
  /** Events kept in all. */
  total: 500,
  /** Events kept per peer: its oldest go first. */
  perPeer: 20,
  /** Events kept for peers we do not trust (requests, refusals), all together. */
  strangers: 100,
  /** Longest `detail` kept. */
  detailChars: 200,
} as const;

const STRANGER_STATUSES: ReadonlySet<ActivityStatus> = new Set(['request', 'refused']);

export class ActivityLog {
  private events: ActivityEvent[] = [];
  private readonly connectedAt = new Map<string, number>();
  private readonly lastActivity = new Map<string, number>();
  private sequence = 0;

  constructor(private readonly now: () => number = Date.now) {}

  record(peerId: string, status: ActivityStatus, detail: string, endpoint: string | null = null): void {
    const timestamp = this.now() / 1000;
    this.sequence += 1;
    const event: ActivityEvent = {
      id: `conn_${peerId}_${Math.round(timestamp * 1000)}_${this.sequence}`,
      peer_id: peerId,
      kind: 'connection',
      timestamp,
      status,
      detail: detail.slice(0, ACTIVITY_LIMITS.detailChars),
      endpoint,
    };
    this.events.push(event);
    if (status === 'connected') this.connectedAt.set(peerId, timestamp);
    if (status === 'disconnected') this.connectedAt.delete(peerId);
    if (!STRANGER_STATUSES.has(status)) this.lastActivity.set(peerId, timestamp);
    this.trim(event);
  }

  /** Oldest first after `since` (epoch seconds), at most `limit`, newest kept when more match. */
  list(options: { since?: number; limit: number; kind?: string }): ActivityEvent[] {
    if (options.kind && options.kind !== 'connection') return [];
    const since = options.since ?? 0;
    return this.events.filter((event) => event.timestamp > since).slice(-options.limit);
  }

  peers(): Record<string, { connected_at: number | null; last_activity: number | null }> {
    const result: Record<string, { connected_at: number | null; last_activity: number | null }> = {};
    for (const [peerId, at] of this.lastActivity) result[peerId] = { connected_at: this.connectedAt.get(peerId) ?? null, last_activity: at };
    return result;
  }

  forget(peerId: string): void {
    this.connectedAt.delete(peerId);
    this.lastActivity.delete(peerId);
  }

  private trim(added: ActivityEvent): void {
    const samePeer = this.events.filter((event) => event.peer_id === added.peer_id);
    if (samePeer.length > ACTIVITY_LIMITS.perPeer) this.drop(samePeer[0]!);
    if (STRANGER_STATUSES.has(added.status)) {
      const strangers = this.events.filter((event) => STRANGER_STATUSES.has(event.status));
      if (strangers.length > ACTIVITY_LIMITS.strangers) this.drop(strangers[0]!);
    }
    if (this.events.length > ACTIVITY_LIMITS.total) this.events = this.events.slice(-ACTIVITY_LIMITS.total);
    // lastActivity keeps only peers that still have events, so it is bounded like the log.
    if (this.lastActivity.size > ACTIVITY_LIMITS.total) {
      const present = new Set(this.events.map((event) => event.peer_id));
      for (const peerId of this.lastActivity.keys()) if (!present.has(peerId)) this.forget(peerId);
    }
  }

  private drop(event: ActivityEvent): void {
    this.events.splice(this.events.indexOf(event), 1);
  }
}

/** Feeds the log from the link manager: trusted links up and down, strangers' requests. */
export function recordLinkActivity(manager: LinkManager, activity: ActivityLog): void {
  manager.on('up', (link) => activity.record(link.peerId, 'connected', `${link.info.direction} link up`, link.info.endpoint ?? link.info.remoteAddress));
  manager.on('down', (peerId, reason) => activity.record(peerId, 'disconnected', reason || 'link closed'));
  manager.on('request', (link) => activity.record(link.peerId, 'request', 'a stranger asked to connect', link.info.remoteAddress));
}
