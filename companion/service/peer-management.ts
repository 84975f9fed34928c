import type { ActivityLog } from '../mesh/activity.ts';
import { CloseCode } from '../mesh/link.ts';
import type { LinkManager } from '../mesh/link-manager.ts';
import type { Reconnector } from '../mesh/reconnector.ts';
import type { Store } from '../store/index.ts';

export interface PeerManagementOptions {
  store: Store;
  manager: LinkManager;
  reconnector: Reconnector;
  activity: ActivityLog;
  /** Tells the app the peer list changed. */
  changed: () => void;
}

export const ACTIVITY_PAGE = { defaultLimit: 100, maxLimit: 500 } as const;

/** Disconnect, forget, recent activity (upstream §7.2). Shared by the REST API and the app link. */
export class PeerManagement {
  constructor(private readonly options: PeerManagementOptions) {}

  /** Closes the link and stops dialling the peer until an explicit reconnect, an import, or a restart. */
  disconnect(peerId: string) {
    const { manager, reconnector } = this.options;
    reconnector.pause(peerId);
    const link = manager.get(peerId);
    link?.close(CloseCode.goingAway, 'disconnected by the user');
    return { status: link ? ('disconnected' as const) : ('not_connected' as const), peer_id: peerId };
  }

  /**
   * Drops the peer: link closed, no longer known or trusted (refused until a restart, then a
   * request even with our current invite or an introduction, until the user links it again), its
   * request rows and introductions (by it and of it) gone, and what still waits for it dropped so
   * no delivery stays queued for it. Events it authored stay.
   */
  forget(peerId: string) {
    const { store, manager, reconnector, activity } = this.options;
    const disconnected = this.disconnect(peerId).status === 'disconnected';
    const droppedPending = manager.dropPending(peerId, 'forgotten');
    const removed = store.db.transaction(() => {
      const known = store.peers.remove(peerId);
      const request = store.requests.remove(peerId);
      store.deliveries.dropUndelivered(peerId);
      const introductions = store.introduced.removeIntroducer(peerId) + (store.introduced.remove(peerId) ? 1 : 0);
      const found = known || request || introductions > 0 || disconnected || droppedPending;
      if (found) store.forgotten.add(peerId);
      return { known, request, introductions, found };
    })();
    reconnector.pause(peerId);
    activity.forget(peerId);
    const { found } = removed;
    if (found) this.options.changed();
    return {
      success: true,
      status: found ? ('forgotten' as const) : ('not_found' as const),
      peer_id: peerId,
      removed_known_peer: removed.known,
      removed_introductions: removed.introductions,
      disconnected,
    };
  }

  activityReport(options: { since?: number; limit?: number; kind?: string }) {
    const { activity } = this.options;
    return {
      server_time: Date.now() / 1000,
      peers: activity.peers(),
      events: activity.list({ since: options.since, limit: options.limit ?? ACTIVITY_PAGE.defaultLimit, kind: options.kind }),
    };
  }
}
