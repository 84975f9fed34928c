/** A token bucket: up to `burst` at once, refilled at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Takes `cost` tokens if there are that many. A cost above the burst is allowed once the bucket is full. */
  take(cost = 1): boolean {
    this.refill();
    if (this.tokens < Math.min(cost, this.burst)) return false;
    this.tokens -= cost;
    return true;
  }

  /** Milliseconds until `cost` tokens are there (0 if they are now). */
  waitMs(cost = 1): number {
    this.refill();
    const missing = Math.min(cost, this.burst) - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing / this.perSecond) * 1000);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
  }
}

/**
 * One token bucket per linked peer. Only linked peers ask, so the map is bounded by our links;
 * should it still grow past MAX_PEERS (links churned), it starts over.
 */
export class PeerBudgets {
  private static readonly MAX_PEERS = 1024;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {}

  /** Takes `cost` from `peerId`'s bucket; false when it has not that much left. */
  take(peerId: string, cost = 1): boolean {
    let bucket = this.buckets.get(peerId);
    if (!bucket) {
      if (this.buckets.size > PeerBudgets.MAX_PEERS) this.buckets.clear();
      bucket = new TokenBucket(this.burst, this.perSecond);
      this.buckets.set(peerId, bucket);
    }
    return bucket.take(cost);
  }
}
