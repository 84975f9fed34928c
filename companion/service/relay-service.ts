import type { CarriedCircuit, PromoteResult } from '../../protocol/app/contract.ts';
import type { LinkManager } from '../mesh/link-manager.ts';
import type { Reconnector } from '../mesh/reconnector.ts';
import type { SettingsRepository, PeerRepository } from '../store/index.ts';
import { ServiceError } from './errors.ts';

export const RELAY_POLICIES = ['off', 'broker_only', 'full_relay'] as const;
export type RelayPolicy = (typeof RELAY_POLICIES)[number];

const POLICY_SETTING = 'relay_policy';

export interface RelayServiceOptions {
  settings: SettingsRepository;
  peers: PeerRepository;
  manager: LinkManager;
  reconnector: Reconnector;
  /** CANOPY_RELAY_POLICY, until one is chosen in Settings or over REST (that choice is persisted). */
  defaultPolicy: RelayPolicy;
  /** Our relayed peers with their relays (mesh/relay-routes.ts). */
  activeRelays(): Record<string, string>;
  /** The circuits we carry for others (mesh/relay-circuits.ts). */
  carried(): CarriedCircuit[];
  /** Called after the policy changed, e.g. to close the circuits we carry. */
  policyChanged(policy: RelayPolicy): void;
}

/** Relaying for others and being relayed (guide §8): the policy, its status, promotion to direct. */
export class RelayService {
  constructor(private readonly options: RelayServiceOptions) {}

  policy(): RelayPolicy {
    return this.options.settings.get<RelayPolicy>(POLICY_SETTING) ?? this.options.defaultPolicy;
  }

  /** = POST /p2p/relay_policy. */
  setPolicy(policy: string) {
    if (!(RELAY_POLICIES as readonly string[]).includes(policy)) {
      throw new ServiceError(400, `Invalid policy. Use: ${RELAY_POLICIES.join(', ')}`);
    }
    this.options.settings.set(POLICY_SETTING, policy);
    this.options.policyChanged(policy as RelayPolicy);
    return { status: 'ok', relay_policy: policy };
  }

  /**
   * = GET /p2p/relay_status: our peers reached through a relay (`active_relays`, and the same as
   * next hops in `routing_table`), and the circuits this node carries for others with their bytes.
   */
  status() {
    const active = this.options.activeRelays();
    return {
      relay_policy: this.policy(),
      active_relays: active,
      routing_table: { ...active },
      carried_circuits: this.options.carried(),
    };
  }

  /**
   * = POST /p2p/promote_direct: dials a peer's own endpoints now; a direct link replaces a relayed
   * one (and closes its circuit). 404 for an unknown peer, 400 without endpoints, 502 if none answered.
   */
  async promoteDirect(peerId: string): Promise<PromoteResult> {
    const { peers, manager, reconnector } = this.options;
    const peer = peers.get(peerId);
    if (!peer) throw new ServiceError(404, 'Unknown peer', { peer_id: peerId });
    const wasRelayed = Boolean(manager.get(peerId)?.info.via);
    if (peer.endpoints.length === 0) {
      throw new ServiceError(400, 'No known endpoints for this peer', { status: 'no_endpoints', peer_id: peerId, was_relayed: wasRelayed });
    }
    const outcome = await reconnector.promoteNow(peerId);
    if (outcome.status === 'connected') {
      return { status: 'direct', peer_id: peerId, endpoint: outcome.endpoint ?? manager.get(peerId)?.info.endpoint ?? null, was_relayed: wasRelayed };
    }
    throw new ServiceError(502, 'Could not reach this peer directly', {
      status: 'failed',
      peer_id: peerId,
      was_relayed: wasRelayed,
      endpoints_tried: peer.endpoints,
      errors: outcome.status === 'failed' ? outcome.errors : [],
    });
  }
}
