import type { CarriedCircuit } from '../../protocol/app/contract.ts';
import { CIRCUIT_RATE, type CircuitFrame, type CircuitRefusal } from '../../protocol/mesh/relay.ts';
import { limitsFromEnv } from '../env-limits.ts';
import type { Logger } from '../logger.ts';
import { limitWarning } from '../rate-limited-log.ts';
import { PeerBudgets, TokenBucket } from '../token-bucket.ts';
import type { CircuitMux } from './circuit-mux.ts';
import type { Link } from './link.ts';
import type { LinkManager } from './link-manager.ts';

/** What one relay carries for others (README "Relay limits", docs/LIMITS.md). */
export interface RelayLimits {
  /** Circuits carried at once, in all. */
  maxCircuits: number;
  /** Circuits carried at once with one peer as either end. */
  maxCircuitsPerPeer: number;
  /** Bytes one circuit may carry (both directions) before it is closed; the ends open a new one. */
  maxCircuitBytes: number;
  /** How long one circuit may live before it is closed; the ends open a new one. */
  maxCircuitLifetimeMs: number;
  /** How long the target has to accept a circuit. */
  acceptTimeoutMs: number;
  /** `circuit_open` requests per peer: a burst, then a steady rate. */
  opensBurst: number;
  opensPerSecond: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxCircuits: 64,
  maxCircuitsPerPeer: 8,
  maxCircuitBytes: 1024 * 1024 * 1024,
  maxCircuitLifetimeMs: 6 * 60 * 60_000,
  acceptTimeoutMs: 10_000,
  opensBurst: 8,
  opensPerSecond: 0.5,
};

/** Environment variables that override a relay limit (README "Relay limits"). */
export const RELAY_LIMIT_ENV = {
  maxCircuits: 'CANOPY_RELAY_MAX_CIRCUITS',
  maxCircuitsPerPeer: 'CANOPY_RELAY_MAX_CIRCUITS_PER_PEER',
  maxCircuitBytes: 'CANOPY_RELAY_MAX_CIRCUIT_BYTES',
  maxCircuitLifetimeMs: 'CANOPY_RELAY_MAX_CIRCUIT_LIFETIME_MS',
} as const satisfies Partial<Record<keyof RelayLimits, string>>;

export const relayLimitsFromEnv = (env: NodeJS.ProcessEnv): RelayLimits => limitsFromEnv(env, DEFAULT_RELAY_LIMITS, RELAY_LIMIT_ENV);

/**
 * Above this much unsent on the next link, a relay closes the circuit rather than queue more for it.
 * Twice a circuit's burst (CIRCUIT_RATE), so that one honest burst never trips it.
 */
const MAX_FORWARD_BUFFERED = 2 * CIRCUIT_RATE.burstBytes;

interface Leg {
  link: Link;
  id: number;
  /** What this side may still send through us. */
  bytes: TokenBucket;
  frames: TokenBucket;
  sent: number;
}

interface Circuit {
  from: Leg;
  to: Leg;
  open: boolean;
  openedAt: number;
  timer: NodeJS.Timeout;
}


/**
 * The relay's side of circuits (policy full_relay): pairs a requester's leg with one to the
 * target, passes `circuit_data` along unread, and closes a circuit that outgrows its limits. Only
 * direct links relay and are relayed to, so circuits never nest.
 */
export class RelayCircuits {
  private readonly circuits = new Set<Circuit>();
  private readonly opens: PeerBudgets;
  private readonly warnLimit;

  constructor(
    private readonly options: {
      mux: CircuitMux;
      manager: LinkManager;
      log: Logger;
      policy: () => string;
      limits?: RelayLimits;
    },
  ) {
    this.warnLimit = limitWarning(options.log, 'relay', 'relay limit reached: circuit refused or closed');
    this.opens = new PeerBudgets(this.limits.opensBurst, this.limits.opensPerSecond);
  }

  private get limits(): RelayLimits {
    return this.options.limits ?? DEFAULT_RELAY_LIMITS;
  }

  /** `circuit_open` from `link`: relay it to the target, or refuse with a reason. */
  open(link: Link, frame: Extract<CircuitFrame, { t: 'circuit_open' }>): void {
    const { mux, manager } = this.options;
    const refuse = (code: CircuitRefusal, reason: string): void => {
      if (code !== 'relay_disabled' && code !== 'target_unreachable') this.warnLimit({ peer: link.peerId, code });
      link.send({ t: 'circuit_close', id: frame.id, code, reason });
    };
    if (!mux.openedByPeer(link, frame.id) || mux.has(link, frame.id)) return refuse('protocol_error', 'circuit id taken or of the wrong parity');
    if (this.options.policy() !== 'full_relay') return refuse('relay_disabled', 'this peer does not relay (its relay policy is not full_relay)');
    if (link.info.via) return refuse('target_unreachable', 'circuits are not relayed over relayed links');
    if (!this.opens.take(link.peerId)) return refuse('rate_limited', 'too many circuit requests; try again later');
    const target = manager.get(frame.target);
    if (!target || target === link || target.info.via) return refuse('target_unreachable', 'the relay has no direct link to that peer');
    if (this.circuits.size >= this.limits.maxCircuits) return refuse('circuit_limit', `the relay carries ${this.limits.maxCircuits} circuits already`);
    if (this.countWith(link.peerId) >= this.limits.maxCircuitsPerPeer || this.countWith(target.peerId) >= this.limits.maxCircuitsPerPeer) {
      return refuse('peer_circuit_limit', `at most ${this.limits.maxCircuitsPerPeer} circuits per peer`);
    }
    const circuit: Circuit = {
      from: this.leg(link, frame.id),
      to: this.leg(target, mux.allocate(target)),
      open: false,
      openedAt: Date.now(),
      timer: setTimeout(() => this.close(circuit, 'timeout', 'the target did not accept in time'), this.limits.acceptTimeoutMs),
    };
    circuit.timer.unref();
    this.circuits.add(circuit);
    mux.register(circuit.from.link, circuit.from.id, this.legHandler(circuit, circuit.from));
    mux.register(circuit.to.link, circuit.to.id, this.legHandler(circuit, circuit.to));
    target.send({ t: 'circuit_incoming', id: circuit.to.id, from: link.peerId });
    this.options.log.info('relay', 'circuit requested', { from: link.peerId, to: target.peerId });
  }

  /** Circuits carried now, for /p2p/relay_status. */
  carried(): CarriedCircuit[] {
    return [...this.circuits].map((circuit) => ({
      from: circuit.from.link.peerId,
      to: circuit.to.link.peerId,
      state: circuit.open ? 'open' : 'opening',
      opened_at: new Date(circuit.openedAt).toISOString(),
      bytes_from: circuit.from.sent,
      bytes_to: circuit.to.sent,
    }));
  }

  /** Policy changed away from full_relay: every circuit carried is closed. */
  closeAll(code: CircuitRefusal, reason: string): void {
    for (const circuit of [...this.circuits]) this.close(circuit, code, reason);
  }

  private leg(link: Link, id: number): Leg {
    return {
      link,
      id,
      bytes: new TokenBucket(CIRCUIT_RATE.burstBytes, CIRCUIT_RATE.bytesPerSecond),
      frames: new TokenBucket(CIRCUIT_RATE.burstFrames, CIRCUIT_RATE.framesPerSecond),
      sent: 0,
    };
  }

  private legHandler(circuit: Circuit, leg: Leg) {
    const other = leg === circuit.from ? circuit.to : circuit.from;
    return {
      receive: (frame: Extract<CircuitFrame, { t: 'circuit_accept' | 'circuit_data' | 'circuit_close' }>) => {
        switch (frame.t) {
          case 'circuit_accept':
            if (leg !== circuit.to || circuit.open) return this.close(circuit, 'protocol_error', 'unexpected circuit_accept');
            circuit.open = true;
            clearTimeout(circuit.timer);
            circuit.timer = setTimeout(() => this.close(circuit, 'lifetime_limit', 'circuit lifetime reached'), this.limits.maxCircuitLifetimeMs);
            circuit.timer.unref();
            circuit.from.link.send({ t: 'circuit_accept', id: circuit.from.id });
            return;
          case 'circuit_data':
            return this.forward(circuit, leg, other, frame);
          case 'circuit_close':
            this.drop(circuit);
            other.link.send({ ...frame, id: other.id });
            return;
        }
      },
      linkClosed: () => this.close(circuit, 'link_closed', 'a link under the circuit closed'),
    };
  }

  private forward(circuit: Circuit, leg: Leg, other: Leg, frame: Extract<CircuitFrame, { t: 'circuit_data' }>): void {
    if (!circuit.open) return this.close(circuit, 'protocol_error', 'data before the circuit opened');
    const bytes = Math.floor((frame.data.length * 3) / 4);
    if (!leg.bytes.take(bytes) || !leg.frames.take()) return this.close(circuit, 'rate_limited', 'the circuit sent faster than the relay allows');
    leg.sent += bytes;
    if (circuit.from.sent + circuit.to.sent > this.limits.maxCircuitBytes) return this.close(circuit, 'byte_limit', 'the circuit carried its byte limit');
    if (other.link.bufferedAmount > MAX_FORWARD_BUFFERED) return this.close(circuit, 'rate_limited', 'the other end is not reading');
    other.link.send(frame.more ? { t: 'circuit_data', id: other.id, data: frame.data, more: true } : { t: 'circuit_data', id: other.id, data: frame.data });
  }

  private close(circuit: Circuit, code: CircuitRefusal, reason: string): void {
    if (!this.circuits.has(circuit)) return;
    if (code !== 'link_closed' && code !== 'timeout') this.warnLimit({ from: circuit.from.link.peerId, to: circuit.to.link.peerId, code });
    this.drop(circuit);
    for (const leg of [circuit.from, circuit.to]) leg.link.send({ t: 'circuit_close', id: leg.id, code, reason });
  }

  private drop(circuit: Circuit): void {
    if (!this.circuits.delete(circuit)) return;
    clearTimeout(circuit.timer);
    this.options.mux.unregister(circuit.from.link, circuit.from.id);
    this.options.mux.unregister(circuit.to.link, circuit.to.id);
    this.options.log.info('relay', 'circuit closed', {
      from: circuit.from.link.peerId,
      to: circuit.to.link.peerId,
      bytes: circuit.from.sent + circuit.to.sent,
    });
  }

  private countWith(peerId: string): number {
    let count = 0;
    for (const circuit of this.circuits) if (circuit.from.link.peerId === peerId || circuit.to.link.peerId === peerId) count++;
    return count;
  }
}
