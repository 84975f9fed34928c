import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { b58encode } from '../../protocol/bytes.ts';
import type { ConnectProgress, IntroducedPeerSummary, KnownPeerSummary } from '../../protocol/app/contract.ts';
import type { ConsentGate } from '../mesh/consent.ts';
import { DIAL_CONCURRENCY, DIAL_DEADLINE_MS, dialFirst, type DialRaceOutcome } from '../mesh/dial-race.ts';
import type { Link } from '../mesh/link.ts';
import type { LinkManager } from '../mesh/link-manager.ts';
import type { Broker } from '../mesh/broker.ts';
import type { RelayRoutes } from '../mesh/relay-routes.ts';
import type { IntroducedPeerRecord, Store } from '../store/index.ts';
import { ServiceError } from './errors.ts';

export interface IntroductionServiceOptions {
  store: Store;
  manager: LinkManager;
  consent: ConsentGate;
  routes: RelayRoutes;
  /** Tells us when a target reports that its brokered dial back failed (so a relay is tried at once). */
  broker: Pick<Broker, 'on' | 'off'>;
  nameOf: (peerId: string) => string | null;
}

/** How long a brokered dial (the target dialling us) may take before a relay is tried, unless the target reports it failed. */
export const BROKERED_DIAL_WAIT_MS = 8_000;

export const TrustIntroducedRequest = z.object({ trust_introduced: z.boolean({ error: 'trust_introduced must be true or false' }) });

const NO_ENDPOINTS_MESSAGE = 'The peers who introduced this one know no address for it, so it cannot be dialled directly.';
const DIRECT_FAILED_MESSAGE = 'None of the introduced addresses answered as this peer.';

/** Introduced peers (guide §9): listing them and turning one into a link. REST and app link share it. */
export class IntroductionService extends EventEmitter<{ progress: [ConnectProgress] }> {
  constructor(private readonly options: IntroductionServiceOptions) {
    super();
  }

  /** = GET /p2p/introduced: peers introduced to us that we are not linked with. */
  introduced(): { introduced_peers: IntroducedPeerSummary[] } {
    const { store } = this.options;
    return {
      introduced_peers: store.introduced
        .list()
        .filter((row) => !store.peers.get(row.peerId))
        .map((row) => this.summary(row)),
    };
  }

  /** = GET /p2p/known_peers: peers we are linked with (trusted), then introduced ones. */
  knownPeers(): { known_peers: KnownPeerSummary[] } {
    const { store, manager } = this.options;
    const introduced = new Map(store.introduced.list().map((row) => [row.peerId, row]));
    const linked = store.peers.list().map((peer) => ({
      peer_id: peer.peerId,
      display_name: peer.displayName,
      endpoints: peer.endpoints,
      connected: Boolean(manager.get(peer.peerId)),
      trust: peer.trust,
      introduced: introduced.has(peer.peerId),
    }));
    const linkedIds = new Set(linked.map((peer) => peer.peer_id));
    const onlyIntroduced = [...introduced.values()]
      .filter((row) => !linkedIds.has(row.peerId))
      .map((row) => ({
        peer_id: row.peerId,
        display_name: row.displayName,
        endpoints: row.endpoints,
        connected: false,
        trust: null,
        introduced: true,
      }));
    return { known_peers: [...linked, ...onlyIntroduced] };
  }

  /** Settings → Network: whether peers introduced by a trusted peer may link to us (default on). */
  setTrustIntroduced(on: boolean) {
    this.options.consent.setTrustIntroduced(on);
    return { status: 'ok' as const, trust_introduced: this.options.consent.trustIntroduced() };
  }

  /**
   * Dials an introduced peer expecting its peer ID, so endpoints a lying introducer gave cannot
   * link us to anyone else. The click is the user's choice: the peer is saved as 'introduced'.
   * When no endpoint answers, mutual peers are asked to broker and then to relay (guide §8): the
   * answer is 202 `brokering` as soon as one forwards our request, and the rest goes on in the
   * background, reported as `progress` events.
   */
  async connectIntroduced(peerId: string) {
    const { store, manager } = this.options;
    if (manager.get(peerId)) return { status: 'connected' as const, peer_id: peerId, already_connected: true };
    const row = store.introduced.get(peerId);
    if (!row) throw new ServiceError(404, 'Peer not found in introduced list', { peer_id: peerId });
    let firstForward: (via: string) => void = () => {};
    const forwarded = new Promise<string>((resolve) => (firstForward = resolve));
    const attempt = this.options.consent.choose(peerId, () => this.reach(peerId, row.endpoints, firstForward), 'introduced');
    // Past a 202 nobody awaits it: a failure is reported as progress, never left unhandled.
    attempt.catch((error: Error) => this.emit('progress', { peer_id: peerId, stage: 'failed', via: null, message: error.message }));
    const first = await Promise.race([attempt, forwarded]);
    if (typeof first === 'string') {
      return {
        status: 'brokering' as const,
        peer_id: peerId,
        via_peer: first,
        via_peer_name: this.options.nameOf(first),
        direct_attempted: row.endpoints.length > 0,
        diagnostic_code: 'introduced_peer_broker_connect',
        message: `No address of this peer answered; ${this.options.nameOf(first) ?? first} is introducing you. If that fails too, a relay is tried.`,
      };
    }
    if (first.status === 'connected') return first;
    throw first.error;
  }

  /** Direct, then brokered, then relayed; reports each stage as `progress`. */
  private async reach(peerId: string, endpoints: string[], onForwarded: (via: string) => void) {
    const { manager, routes } = this.options;
    const progress = (stage: ConnectProgress['stage'], message: string, via: string | null = null) =>
      this.emit('progress', { peer_id: peerId, stage, via, message });
    let attempts = 0;
    progress('direct', endpoints.length ? `Dialling ${endpoints.length === 1 ? 'its address' : `its ${endpoints.length} addresses`}…` : 'It has no address of its own.');
    const direct = endpoints.length
      ? await dialFirst(
          endpoints,
          (endpoint, signal) => {
            attempts++;
            return manager.dial(endpoint, peerId, { signal });
          },
          { concurrency: DIAL_CONCURRENCY, deadlineMs: DIAL_DEADLINE_MS, settledElsewhere: () => Boolean(manager.get(peerId)) },
        )
      : null;
    const connected = () => {
      const link = manager.get(peerId);
      if (!link) return null;
      progress('connected', link.info.via ? `Connected through ${this.nameOrId(link.info.via)}.` : 'Connected directly.', link.info.via);
      return {
        status: 'connected' as const,
        peer_id: peerId,
        endpoint: link.info.endpoint,
        connection: link.info.via ? ('relayed' as const) : ('direct' as const),
        via: link.info.via,
        direct_attempted: endpoints.length > 0,
        direct_attempt_count: attempts,
        forced_failover: false,
      };
    };
    const done = connected();
    if (done) return done;

    const tried: string[] = [endpoints.length ? `direct (${attempts} of ${endpoints.length} addresses)` : 'direct (no address)'];
    if (routes.candidates(peerId).length === 0) {
      const error = unreachable(peerId, direct, tried);
      progress('failed', (error.details.message as string) ?? error.message);
      return { status: 'failed' as const, error };
    }
    for (const candidate of routes.candidates(peerId)) progress('brokering', `Asking ${this.nameOrId(candidate.peerId)} to introduce you…`, candidate.peerId);
    const answers = await routes.broker(peerId);
    const forward = answers.find(({ answer }) => answer.status === 'forwarded');
    for (const { via, answer } of answers) {
      tried.push(answer.status === 'forwarded' ? `introduction by ${this.nameOrId(via)}` : `introduction by ${this.nameOrId(via)} (${answer.reason || answer.code})`);
    }
    if (forward) {
      onForwarded(forward.via);
      await this.brokeredDial(peerId, BROKERED_DIAL_WAIT_MS);
      const brokered = connected();
      if (brokered) return brokered;
    }
    for (const candidate of routes.candidates(peerId)) progress('relaying', `Relaying through ${this.nameOrId(candidate.peerId)}…`, candidate.peerId);
    const circuit = await routes.circuit(peerId);
    const relayed = connected();
    if (relayed) return relayed;
    const refusals = circuit.status === 'failed' ? circuit.tried.map(({ via, code, reason }) => ({ via_peer: via, diagnostic_code: code, reason })) : [];
    for (const { via_peer, reason } of refusals) tried.push(`relay through ${this.nameOrId(via_peer)} (${reason})`);
    const error = unreachable(peerId, direct, tried, refusals);
    progress('failed', `Could not reach this peer. Tried: ${tried.join('; ')}.`);
    return { status: 'failed' as const, error };
  }

  private nameOrId(peerId: string): string {
    return this.options.nameOf(peerId) ?? peerId;
  }

  /** Resolves when a link to `peerId` is up, when the target reports its dial back failed, or after `ms`. */
  private brokeredDial(peerId: string, ms: number): Promise<void> {
    const { manager, broker } = this.options;
    if (manager.get(peerId)) return Promise.resolve();
    return new Promise((resolve) => {
      const onUp = (link: Link) => {
        if (link.peerId === peerId) finish();
      };
      const onFailed = (target: string) => {
        if (target === peerId) finish();
      };
      const timer = setTimeout(() => finish(), ms);
      const finish = () => {
        clearTimeout(timer);
        manager.off('up', onUp);
        broker.off('dialFailed', onFailed);
        resolve();
      };
      manager.on('up', onUp);
      broker.on('dialFailed', onFailed);
    });
  }

  private summary(row: IntroducedPeerRecord): IntroducedPeerSummary {
    const { store, manager } = this.options;
    const connectedIntroducer = row.introducedBy.some((id) => manager.get(id));
    return {
      peer_id: row.peerId,
      ed25519_public_key: b58encode(row.ed25519PublicKey),
      x25519_public_key: b58encode(row.x25519PublicKey),
      display_name: row.displayName,
      device_name: row.deviceName,
      endpoints: row.endpoints,
      endpoint_count: row.endpoints.length,
      introduced_by: row.introducedBy,
      introduced_by_names: row.introducedBy.map((id) => store.peers.get(id)?.displayName ?? null),
      introduced_at: new Date(row.introducedAt).toISOString(),
      last_introduced_at: new Date(row.updatedAt).toISOString(),
      connect_strategy: row.endpoints.length ? 'direct_or_broker' : connectedIntroducer ? 'broker_only' : 'unreachable',
    };
  }
}

/** Why each relay asked for a circuit refused it (its `diagnostic_code`, e.g. relay_disabled, peer_circuit_limit). */
type RelayRefusal = { via_peer: string; diagnostic_code: string; reason: string };

function unreachable(peerId: string, direct: DialRaceOutcome<unknown> | null, tried: string[], relayRefusals: RelayRefusal[] = []): ServiceError {
  if (!direct) {
    return new ServiceError(502, 'Introduced peer has no direct endpoints', {
      status: 'failed',
      peer_id: peerId,
      diagnostic_code: 'introduced_peer_has_no_direct_endpoints',
      message: tried.length > 1 ? `${NO_ENDPOINTS_MESSAGE} Tried: ${tried.join('; ')}.` : NO_ENDPOINTS_MESSAGE,
      tried,
      relay_refusals: relayRefusals,
    });
  }
  return new ServiceError(502, 'Could not connect to the introduced peer', {
    status: 'failed',
    peer_id: peerId,
    diagnostic_code: 'introduced_peer_direct_connect_failed',
    message: `${DIRECT_FAILED_MESSAGE} Tried: ${tried.join('; ')}.`,
    errors: direct.status === 'failed' ? direct.errors : [],
    tried,
    relay_refusals: relayRefusals,
  });
}
