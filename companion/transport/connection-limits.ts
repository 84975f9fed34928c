// Who may hold a handshake slot before proving anything. A stranger's socket costs a file
// descriptor and a timer until the Noise handshake ends, so slots are capped in total and per
// remote address. When the pool is full, a newcomer takes the slot of the oldest connection that
// has not yet sent handshake message 1: a flood of silent sockets can then never keep an honest
// peer (who sends message 1 at once) out, even from the same address.

export interface HandshakeSlotLimits {
  total: number;
  perAddress: number;
}

export interface HandshakeSlot {
  /** The connection sent its first handshake message: from now on it cannot be evicted. */
  started(): void;
  /** Gives the slot back; safe to call twice, and a no-op once the slot was evicted. */
  release(): void;
}

interface Holder {
  address: string;
  silent: boolean;
  evict: () => void;
}

export class HandshakeSlots {
  // Insertion order is age order: the first silent holder found is the oldest.
  private readonly holders = new Set<Holder>();
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: HandshakeSlotLimits) {}

  get size(): number {
    return this.holders.size;
  }

  /**
   * Takes a slot for a connection from `address`; `evict` closes that connection if a newcomer later
   * needs its slot while it is still silent. Returns null when every slot is held by a connection
   * that has started its handshake.
   */
  take(address: string, evict: () => void): { slot: HandshakeSlot; evicted: boolean } | null {
    let evicted = false;
    if ((this.byAddress.get(address) ?? 0) >= this.limits.perAddress) {
      if (!this.evictOldestSilent(address)) return null;
      evicted = true;
    }
    if (this.holders.size >= this.limits.total) {
      if (!this.evictOldestSilent()) return null;
      evicted = true;
    }
    const holder: Holder = { address, silent: true, evict };
    this.add(holder);
    return {
      evicted,
      slot: {
        started: () => {
          holder.silent = false;
        },
        release: () => this.remove(holder),
      },
    };
  }

  private evictOldestSilent(address?: string): boolean {
    for (const holder of this.holders) {
      if (!holder.silent || (address !== undefined && holder.address !== address)) continue;
      this.remove(holder);
      holder.evict();
      return true;
    }
    return false;
  }

  private add(holder: Holder): void {
    this.holders.add(holder);
    this.byAddress.set(holder.address, (this.byAddress.get(holder.address) ?? 0) + 1);
  }

  private remove(holder: Holder): void {
    if (!this.holders.delete(holder)) return;
    const left = (this.byAddress.get(holder.address) ?? 1) - 1;
    if (left > 0) this.byAddress.set(holder.address, left);
    else this.byAddress.delete(holder.address);
  }
}

/**
 * The key one remote host is counted under: `::ffff:10.0.0.2` and `10.0.0.2` are one host, and an
 * IPv6 host is its /64 (one machine can use every address of its subnet).
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((group) => parseInt(group || '0', 16).toString(16)).join(':')}::/64`;
}
