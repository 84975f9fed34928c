// Who may occupy the app link before proving anything. A handshake costs the companion a socket and
// a timer; an unauthenticated session costs a socket, keepalive pings and a place in the queue for
// password checks. Both are capped in total and per remote address, so neither a flood from one
// host nor one from many can keep the owner's browsers out; logged-in browsers have their own cap.

export const APP_LINK_LIMITS = {
  /** Handshakes in progress at once (WebSocket accepted, Noise not finished). */
  pendingHandshakes: 32,
  pendingHandshakesPerAddress: 8,
  /** A browser sends handshake message 1 as soon as the socket opens. */
  firstMessageTimeoutMs: 2_000,
  /** The whole handshake (the browser may compute with pure-JS crypto on a slow phone). */
  handshakeTimeoutMs: 10_000,
  /** Sessions that completed the handshake but are not logged in (setup and login pages). */
  unauthenticatedSessions: 64,
  unauthenticatedPerAddress: 8,
  /** An unauthenticated session is closed this long after it opened (the web app reconnects when needed). */
  loginWindowMs: 30_000,
  /** Logged-in browsers connected at once. */
  loggedInSessions: 64,
};

/** `::ffff:10.0.0.2` and `10.0.0.2` are one address. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Handshakes in progress, in total and per address. */
export class PendingHandshakes {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: { total: number; perAddress: number }) {}

  /** Takes a slot: its release function (safe to call twice), or why none is free. */
  take(address: string): { release: () => void } | { full: 'total' | 'address' } {
    const mine = this.byAddress.get(address) ?? 0;
    if (this.total >= this.limits.total) return { full: 'total' };
    if (mine >= this.limits.perAddress) return { full: 'address' };
    this.total++;
    this.byAddress.set(address, mine + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.byAddress.get(address) ?? 1) - 1;
        if (left > 0) this.byAddress.set(address, left);
        else this.byAddress.delete(address);
      },
    };
  }
}
