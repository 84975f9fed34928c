import { openedBy, type CircuitFrame } from '../../protocol/mesh/relay.ts';
import type { Link } from './link.ts';

/** One side of a circuit on one link: a relay's leg (relay-circuits.ts) or an end's socket (circuit-socket.ts). */
export interface CircuitLeg {
  receive(frame: Extract<CircuitFrame, { t: 'circuit_accept' | 'circuit_data' | 'circuit_close' }>): void;
  /** The link under this leg closed: the circuit is gone. */
  linkClosed(): void;
}

/**
 * The circuits running over each link, by id, whatever our role in them (relay or end). An id is
 * unique on its link: whoever opens a circuit picks it, odd by the lower peer ID, even by the
 * other (protocol/mesh/relay.ts), so ids we open never meet ids the peer opens.
 */
export class CircuitMux {
  private readonly legs = new Map<Link, Map<number, CircuitLeg>>();
  private readonly nextIds = new WeakMap<Link, number>();

  constructor(private readonly self: string) {}

  /** A fresh id for a circuit we open on `link`. */
  allocate(link: Link): number {
    const first = this.self < link.peerId ? 1 : 2;
    const id = this.nextIds.get(link) ?? first;
    this.nextIds.set(link, id + 2 > 2 ** 31 ? first : id + 2);
    return id;
  }

  /** Whether the peer at the other end of `link` chose this id (it opened the circuit). */
  openedByPeer(link: Link, id: number): boolean {
    return openedBy(id, link.peerId, this.self);
  }

  has(link: Link, id: number): boolean {
    return Boolean(this.legs.get(link)?.has(id));
  }

  register(link: Link, id: number, leg: CircuitLeg): void {
    let onLink = this.legs.get(link);
    if (!onLink) {
      onLink = new Map();
      this.legs.set(link, onLink);
      link.onClose(() => {
        const closing = this.legs.get(link);
        this.legs.delete(link);
        for (const leg of closing?.values() ?? []) leg.linkClosed();
      });
    }
    onLink.set(id, leg);
  }

  unregister(link: Link, id: number): void {
    const onLink = this.legs.get(link);
    onLink?.delete(id);
    if (onLink?.size === 0 && !link.isOpen) this.legs.delete(link);
  }

  /** Hands a frame to its circuit; a frame for an id we do not know (closed meanwhile) is dropped. */
  dispatch(link: Link, frame: Extract<CircuitFrame, { t: 'circuit_accept' | 'circuit_data' | 'circuit_close' }>): void {
    this.legs.get(link)?.get(frame.id)?.receive(frame);
  }

  /** Circuits on `link` (any role). */
  countOn(link: Link): number {
    return this.legs.get(link)?.size ?? 0;
  }
}
