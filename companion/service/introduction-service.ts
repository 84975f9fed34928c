import { z } from 'zod';
import { b58encode } from '../../protocol/bytes.ts';
import type { IntroducedPeerSummary, KnownPeerSummary } from '../../protocol/app/contract.ts';
import type { ConsentGate } from '../mesh/consent.ts';
import { DIAL_CONCURRENCY, DIAL_DEADLINE_MS, dialFirst, type DialRaceOutcome } from '../mesh/dial-race.ts';
import type { LinkManager } from '../mesh/link-manager.ts';
import type { IntroducedPeerRecord, Store } from '../store/index.ts';
import { ServiceError } from './errors.ts';

export interface IntroductionServiceOptions {
  store: Store;
  manager: LinkManager;
  consent: ConsentGate;
}

export const TrustIntroducedRequest = z.object({ trust_introduced: z.boolean({ error: 'trust_introduced must be true or false' }) });

const NO_ENDPOINTS_MESSAGE = 'The peers who introduced this one know no address for it, so it cannot be dialled directly.';
const DIRECT_FAILED_MESSAGE = 'None of the introduced addresses answered as this peer.';

/** Introduced peers (guide §9): listing them and turning one into a link. REST and app link share it. */
export class IntroductionService {
  constructor(private readonly options: IntroductionServiceOptions) {}

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
   */
  async connectIntroduced(peerId: string) {
    const { store, manager, consent } = this.options;
    if (manager.get(peerId)) return { status: 'connected' as const, peer_id: peerId, already_connected: true };
    const row = store.introduced.get(peerId);
    if (!row) throw new ServiceError(404, 'Peer not found in introduced list', { peer_id: peerId });
    let attempts = 0;
    const direct = row.endpoints.length
      ? await consent.choose(
          peerId,
          () =>
            dialFirst(
              row.endpoints,
              (endpoint, signal) => {
                attempts++;
                return manager.dial(endpoint, peerId, { signal });
              },
              { concurrency: DIAL_CONCURRENCY, deadlineMs: DIAL_DEADLINE_MS, settledElsewhere: () => Boolean(manager.get(peerId)) },
            ),
          'introduced',
        )
      : null;
    if (manager.get(peerId)) {
      return {
        status: 'connected' as const,
        peer_id: peerId,
        endpoint: direct?.status === 'connected' ? direct.endpoint : (manager.get(peerId)?.info.endpoint ?? null),
        direct_attempted: true,
        direct_attempt_count: attempts,
        forced_failover: false,
      };
    }
    // The direct dial failed or was impossible: the broker/relay fallback (next issue) goes here.
    throw unreachable(peerId, direct);
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

function unreachable(peerId: string, direct: DialRaceOutcome<unknown> | null): ServiceError {
  if (!direct) {
    return new ServiceError(502, 'Introduced peer has no direct endpoints', {
      status: 'failed',
      peer_id: peerId,
      diagnostic_code: 'introduced_peer_has_no_direct_endpoints',
      message: NO_ENDPOINTS_MESSAGE,
    });
  }
  return new ServiceError(502, 'Could not connect to the introduced peer', {
    status: 'failed',
    peer_id: peerId,
    diagnostic_code: 'introduced_peer_direct_connect_failed',
    message: DIRECT_FAILED_MESSAGE,
    errors: direct.status === 'failed' ? direct.errors : [],
  });
}
