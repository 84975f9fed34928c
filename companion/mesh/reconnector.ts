import { reconnectDelayMs } from '../../protocol/mesh/backoff.ts';
import type { Logger } from '../logger.ts';
import type { PeerRepository } from '../store/peers.ts';
import { DIAL_CONCURRENCY, DIAL_DEADLINE_MS, dialFirst } from './dial-race.ts';
import type { ActivityLog } from './activity.ts';
import type { LinkManager } from './link-manager.ts';

export type ConnectOutcome =
  | { status: 'connected'; endpoint: string | null; alreadyConnected: boolean; via?: string }
  | { status: 'no_endpoints' }
  | { status: 'failed'; errors: Array<{ endpoint: string; error: string }> };

/**
 * Keeps links to every known peer: dials them all at start, and after any failure or drop retries
 * on the backoff schedule (2 s, 4 s, ... 60 s, with jitter), forever, until the peer is reached.
 * Each attempt dials the peer's endpoints a few at a time and ends by its deadline (see dial-race.ts),
 * so an import or a reconnect answers in time however many endpoints stay silent.
 */
export class Reconnector {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<ConnectOutcome>>();
  /** Relayed peers: direct dials on the same backoff, until one works and replaces the circuit. */
  private readonly promotions = new Map<string, { timer: NodeJS.Timeout; attempt: number }>();
  /** When no endpoint answers: a relay circuit (mesh/relay-routes.ts), if one is set. */
  relayFallback: ((peerId: string) => Promise<{ via: string } | null>) | null = null;
  /** Peers the user disconnected or forgot: neither dialled nor let in until connectNow or a restart. */
  private readonly paused = new Set<string>();
  private stopped = false;

  constructor(
    private readonly manager: LinkManager,
    private readonly peers: PeerRepository,
    private readonly log: Logger,
    private readonly activity?: ActivityLog,
  ) {}

  /** Stops dialling the peer (the caller closes its link); an explicit reconnect or import resumes. */
  pause(peerId: string): void {
    this.paused.add(peerId);
    this.cancel(peerId);
    this.attempts.delete(peerId);
  }

  isPaused(peerId: string): boolean {
    return this.paused.has(peerId);
  }

  linkUp(peerId: string, via: string | null = null): void {
    this.cancel(peerId);
    this.attempts.delete(peerId);
    this.stopPromotion(peerId);
    if (via) this.schedulePromotion(peerId, 0);
  }

  linkDown(peerId: string): void {
    this.stopPromotion(peerId);
    this.schedule(peerId);
  }

  /** Tries a peer now if it is down and not paused (its relay came back, say); else leaves it be. */
  retrySoon(peerId: string): void {
    if (this.stopped || this.paused.has(peerId) || this.manager.get(peerId)) return;
    this.cancel(peerId);
    void this.attempt(peerId);
  }

  /**
   * Dials a relayed peer's endpoints now (POST /p2p/promote_direct). A direct link that comes up
   * replaces the relayed one (link-manager.ts), which closes the circuit.
   */
  async promoteNow(peerId: string): Promise<ConnectOutcome> {
    const outcome = await this.dialDirect(peerId);
    if (outcome.status === 'failed' && this.manager.get(peerId)?.info.via) this.schedulePromotion(peerId, this.promotions.get(peerId)?.attempt ?? 0);
    return outcome;
  }

  start(): void {
    for (const peer of this.peers.list()) if (peer.endpoints.length) void this.attempt(peer.peerId);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const peerId of [...this.promotions.keys()]) this.stopPromotion(peerId);
  }

  /** Tries the peer's endpoints now (one attempt at a time per peer) and keeps retrying on failure. */
  connectNow(peerId: string): Promise<ConnectOutcome> {
    this.paused.delete(peerId);
    this.cancel(peerId);
    return this.attempt(peerId);
  }

  private attempt(peerId: string): Promise<ConnectOutcome> {
    const running = this.inFlight.get(peerId);
    if (running) return running;
    const attempt = this.tryEndpoints(peerId).finally(() => this.inFlight.delete(peerId));
    this.inFlight.set(peerId, attempt);
    void attempt.then((outcome) => {
      if (outcome.status === 'failed') this.activity?.record(peerId, 'failed', `no endpoint answered (${outcome.errors.length} tried)`);
      if (outcome.status === 'failed') this.schedule(peerId);
    });
    return attempt;
  }

  private async tryEndpoints(peerId: string): Promise<ConnectOutcome> {
    const outcome = await this.dialDirect(peerId);
    if (outcome.status === 'connected' || !this.relayFallback || this.paused.has(peerId)) return outcome;
    const relayed = await this.relayFallback(peerId);
    return relayed ? { status: 'connected', endpoint: null, alreadyConnected: false, via: relayed.via } : outcome;
  }

  /** The peer's own endpoints only; a relayed link counts as not connected. */
  private async dialDirect(peerId: string): Promise<ConnectOutcome> {
    const direct = () => {
      const link = this.manager.get(peerId);
      return Boolean(link && !link.info.via);
    };
    if (direct()) return { status: 'connected', endpoint: null, alreadyConnected: true };
    const peer = this.peers.get(peerId);
    if (!peer || peer.endpoints.length === 0) return { status: 'no_endpoints' };
    const dial = (endpoint: string, signal: AbortSignal) => {
      this.activity?.record(peerId, 'attempt', 'dialling', endpoint);
      return this.manager.dial(endpoint, peerId, { signal });
    };
    const outcome = await dialFirst(peer.endpoints, dial, {
      concurrency: DIAL_CONCURRENCY,
      deadlineMs: DIAL_DEADLINE_MS,
      // The peer dialled us meanwhile: its endpoints need not answer.
      settledElsewhere: direct,
    });
    if (outcome.status === 'connected') return { status: 'connected', endpoint: outcome.endpoint, alreadyConnected: false };
    if (outcome.status === 'settled_elsewhere' || direct()) return { status: 'connected', endpoint: null, alreadyConnected: true };
    return outcome;
  }

  private schedulePromotion(peerId: string, attempt: number): void {
    if (this.stopped || this.paused.has(peerId)) return;
    this.stopPromotion(peerId);
    const timer = setTimeout(() => {
      void this.dialDirect(peerId).then((outcome) => {
        if (this.promotions.get(peerId)?.timer !== timer) return;
        this.promotions.delete(peerId);
        if (outcome.status !== 'connected' && this.manager.get(peerId)?.info.via) this.schedulePromotion(peerId, attempt + 1);
      });
    }, reconnectDelayMs(attempt));
    timer.unref();
    this.promotions.set(peerId, { timer, attempt });
  }

  private stopPromotion(peerId: string): void {
    const promotion = this.promotions.get(peerId);
    if (promotion) clearTimeout(promotion.timer);
    this.promotions.delete(peerId);
  }

  private schedule(peerId: string): void {
    if (this.stopped || this.paused.has(peerId) || this.timers.has(peerId) || this.manager.get(peerId)) return;
    const peer = this.peers.get(peerId);
    if (!peer || peer.endpoints.length === 0) return;
    const attempt = this.attempts.get(peerId) ?? 0;
    this.attempts.set(peerId, attempt + 1);
    const delay = reconnectDelayMs(attempt);
    this.log.info('mesh', 'reconnect scheduled', { peer: peerId, attempt: attempt + 1, delay_ms: delay });
    const timer = setTimeout(() => {
      this.timers.delete(peerId);
      void this.attempt(peerId);
    }, delay);
    timer.unref();
    this.timers.set(peerId, timer);
  }

  private cancel(peerId: string): void {
    clearTimeout(this.timers.get(peerId));
    this.timers.delete(peerId);
  }
}
