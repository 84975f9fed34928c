/** One peer seen on the LAN. Nothing here is trusted: a TXT record can claim any peer ID. */
export interface DiscoveredPeer {
  peerId: string;
  /** ws:// endpoints built from the advertised addresses and port. */
  endpoints: string[];
  version: string | null;
  capabilities: string[];
  lastSeen: number;
}

export interface DiscoveredPeersLimits {
  /** Entries kept at most; past it the least recently seen is dropped (docs/LIMITS.md). */
  maxEntries: number;
  /** An entry not seen again for this long is gone (its record expired without a goodbye). */
  expireMs: number;
}

export const DEFAULT_DISCOVERED_LIMITS: DiscoveredPeersLimits = { maxEntries: 256, expireMs: 90_000 };

/** The bounded, expiring list of peers seen on the LAN, keyed by the peer ID their record claims. */
export class DiscoveredPeers {
  private readonly entries = new Map<string, DiscoveredPeer>();

  constructor(
    private readonly limits: DiscoveredPeersLimits = DEFAULT_DISCOVERED_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a sighting; returns true when the list changed in a way a viewer would notice. */
  seen(peer: Omit<DiscoveredPeer, 'lastSeen'>): boolean {
    const before = this.entries.get(peer.peerId);
    // Delete first so the Map's order stays least-recently-seen first.
    this.entries.delete(peer.peerId);
    this.entries.set(peer.peerId, { ...peer, lastSeen: this.now() });
    while (this.entries.size > this.limits.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    return !before || before.endpoints.join() !== peer.endpoints.join();
  }

  gone(peerId: string): boolean {
    return this.entries.delete(peerId);
  }

  get(peerId: string): DiscoveredPeer | undefined {
    this.expire();
    return this.entries.get(peerId);
  }

  /** Live entries, most recently seen first. */
  list(): DiscoveredPeer[] {
    this.expire();
    return [...this.entries.values()].reverse();
  }

  clear(): void {
    this.entries.clear();
  }

  private expire(): void {
    const cutoff = this.now() - this.limits.expireMs;
    for (const [peerId, peer] of this.entries) {
      if (peer.lastSeen < cutoff) this.entries.delete(peerId);
    }
  }
}
