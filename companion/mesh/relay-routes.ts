import type { Logger } from '../logger.ts';
import type { Store } from '../store/index.ts';
import type { ActivityLog } from './activity.ts';
import type { BrokerAnswer, Broker } from './broker.ts';
import type { CircuitDialer } from './circuit-dialer.ts';
import { CircuitClosedError } from './circuit-socket.ts';
import type { Link } from './link.ts';
import type { LinkManager } from './link-manager.ts';

/** Peers asked to broker or relay, per attempt. */
export const MAX_RELAY_CANDIDATES = 4;

export type CircuitOutcome =
  | { status: 'relayed'; link: Link; via: string }
  | { status: 'failed'; tried: Array<{ via: string; code: string; reason: string }> };

/**
 * Reaching a peer we cannot dial (guide §8): whom to ask (its introducers first, then the relay
 * that carried it last, then any other direct link), asking them to broker, and opening a circuit
 * through the first that relays. Remembers which relay carries each relayed peer.
 */
export class RelayRoutes {
  private readonly lastVia = new Map<string, string>();

  constructor(
    private readonly options: {
      manager: LinkManager;
      store: Store;
      broker: Broker;
      dialer: CircuitDialer;
      activity: ActivityLog;
      log: Logger;
    },
  ) {}

  /** Direct links that might reach `target`, best first. */
  candidates(target: string): Link[] {
    const { manager, store } = this.options;
    const direct = (peerId: string | undefined) => {
      const link = peerId ? manager.get(peerId) : undefined;
      return link && !link.info.via && link.peerId !== target ? link : undefined;
    };
    const ordered = [
      ...(store.introduced.get(target)?.introducedBy ?? []).map(direct),
      direct(this.lastVia.get(target)),
      ...manager.connected().map((link) => direct(link.peerId)),
    ];
    return [...new Set(ordered.filter((link): link is Link => Boolean(link)))].slice(0, MAX_RELAY_CANDIDATES);
  }

  /** Asks each candidate in turn to broker until one forwards; every answer, in order. */
  async broker(target: string): Promise<Array<{ via: string; answer: BrokerAnswer }>> {
    const answers: Array<{ via: string; answer: BrokerAnswer }> = [];
    for (const link of this.candidates(target)) {
      this.options.activity.record(target, 'broker', `asking ${link.peerId} to introduce us`);
      const answer = await this.options.broker.ask(link, target);
      answers.push({ via: link.peerId, answer });
      if (answer.status === 'forwarded') break;
    }
    return answers;
  }

  /** Opens a circuit to `target` through the first candidate that relays. */
  async circuit(target: string): Promise<CircuitOutcome> {
    const tried: Array<{ via: string; code: string; reason: string }> = [];
    for (const relay of this.candidates(target)) {
      const current = this.options.manager.get(target);
      if (current) return current.info.via ? { status: 'relayed', link: current, via: current.info.via } : { status: 'failed', tried };
      this.options.activity.record(target, 'relay', `asking ${relay.peerId} to relay`);
      try {
        const link = await this.options.dialer.dialVia(relay, target);
        return { status: 'relayed', link, via: relay.peerId };
      } catch (error) {
        const code = error instanceof CircuitClosedError ? error.code : 'handshake_failed';
        tried.push({ via: relay.peerId, code, reason: (error as Error).message });
        this.options.activity.record(target, 'failed', `relay through ${relay.peerId} failed: ${(error as Error).message}`);
      }
    }
    return { status: 'failed', tried };
  }

  /** A relayed link came up: remember its relay, to ask it first next time. */
  noteRelayed(link: Link): void {
    if (!link.info.via) return;
    this.lastVia.delete(link.peerId);
    this.lastVia.set(link.peerId, link.info.via);
    // Bounded by the peers we know; drop the oldest beyond a generous cap.
    if (this.lastVia.size > 4096) this.lastVia.delete(this.lastVia.keys().next().value!);
  }

  /** Peers whose last relayed link went through `relay` (to try again when it is back). */
  relayedThrough(relay: string): string[] {
    return [...this.lastVia].filter(([, via]) => via === relay).map(([peerId]) => peerId);
  }

  /** = relay_status: our peers reached through a relay now, and the relay of each. */
  activeRelays(): Record<string, string> {
    const relays: Record<string, string> = {};
    for (const link of this.options.manager.connected()) if (link.info.via) relays[link.peerId] = link.info.via;
    return relays;
  }
}
