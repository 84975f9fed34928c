// New connections per remote address, as a token bucket: `burst` at once, then `perSecond`. Caps
// on what is open at a time (HandshakeSlots, session caps) do not bound how fast a host may open
// and close: a flood of short sessions costs a handshake each and starves everyone else of CPU.

export interface AddressRateLimits {
  perSecond: number;
  burst: number;
  /** Addresses remembered at once; when full, the least recently seen is forgotten (its bucket refills). */
  maxAddresses: number;
}

export class AddressRate {
  // Map order is recency order: the first key is the address seen least recently.
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limits: AddressRateLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `address`; false when its bucket is empty. */
  take(address: string): boolean {
    const now = this.now();
    const { perSecond, burst, maxAddresses } = this.limits;
    const previous = this.buckets.get(address);
    const tokens = previous ? Math.min(burst, previous.tokens + ((now - previous.at) / 1000) * perSecond) : burst;
    this.buckets.delete(address);
    if (this.buckets.size >= maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
    const allowed = tokens >= 1;
    this.buckets.set(address, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed;
  }
}
