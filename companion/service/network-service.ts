import type { PeerSummary } from '../../protocol/app/contract.ts';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import { b58encode, b64urlEncode } from '../../protocol/bytes.ts';
import { decodeInvite, encodeInvite, InviteError, canonicalizeEndpoint } from '../../protocol/invite.ts';
import type { Identity } from '../../protocol/identity.ts';
import { CANOPY_VERSION, PROTOCOL_VERSION } from '../../protocol/version.ts';
import { AutoConnect } from '../discovery/auto-connect.ts';
import type { LanDiscovery } from '../discovery/lan-discovery.ts';
import type { Logger } from '../logger.ts';
import type { PeerRecord } from '../store/peers.ts';
import type { ConsentGate } from '../mesh/consent.ts';
import { DIAL_CONCURRENCY, DIAL_DEADLINE_MS, dialFirst } from '../mesh/dial-race.ts';
import type { Link } from '../mesh/link.ts';
import type { LinkManager } from '../mesh/link-manager.ts';
import type { Reconnector } from '../mesh/reconnector.ts';
import { ProvenKeyConflictError, type Store } from '../store/index.ts';
import { meshEndpoint } from './endpoints.ts';
import { ServiceError } from './errors.ts';
import type { RelayPolicy } from './relay-service.ts';

export interface NetworkServiceOptions {
  crypto: CryptoBackend;
  identity: Identity;
  store: Store;
  manager: LinkManager;
  reconnector: Reconnector;
  consent: ConsentGate;
  discovery: LanDiscovery;
  log: Logger;
  meshPort: number;
  advertisedEndpoints: string[];
  /** The relay policy, for /p2p/status (relay-service.ts). */
  relayPolicy(): RelayPolicy;
  startedAt: number;
}

const NOT_CONNECTED_MESSAGE = 'Peer registered but could not connect to any endpoint.';
const DISCOVERED_REQUEST_MESSAGE =
  'Connected. They will see a request in their Connect page: nothing is exchanged until they accept it (or connect to you too).';
const AWAITING_ACCEPTANCE_MESSAGE =
  'Connected, but this invite code has no invite secret (an older Canopy made it): the other person must accept your request in their Connect page before anything is exchanged.';

/** Peers and links: invites, imports, reconnects, status. Shared by the REST API and the app link. */
export class NetworkService {
  private readonly autoConnect: AutoConnect;

  constructor(private readonly options: NetworkServiceOptions) {
    const { discovery, store, manager, log } = options;
    this.autoConnect = new AutoConnect({
      discovery,
      settings: store.settings,
      log,
      isKnown: (peerId) => Boolean(store.peers.get(peerId) || manager.get(peerId)),
      connect: (peerId) => this.connectDiscovered(peerId),
    });
  }

  get peerId(): string {
    return this.options.identity.peerId;
  }

  status() {
    const { manager, store, startedAt } = this.options;
    return {
      running: true,
      peer_id: this.peerId,
      canopy_version: CANOPY_VERSION,
      protocol_version: PROTOCOL_VERSION,
      connected_peers: manager.connected().length,
      discovered_peers: this.options.discovery.peers.list().length,
      discovery: this.options.discovery.state,
      known_peers: store.peers.list().length,
      pending_requests: store.requests.countPending(),
      trust_introduced: this.options.consent.trustIntroduced(),
      mesh_port: this.options.meshPort,
      relay_policy: this.options.relayPolicy(),
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
    };
  }

  /**
   * For supervisors and load balancers, asked without a key: alive, which version, how long up,
   * how many links. Nothing that names a peer or a key.
   */
  health() {
    const links = this.options.manager.connected();
    const relayed = links.filter((link) => link.info.via !== null).length;
    return {
      status: 'ok' as const,
      canopy_version: CANOPY_VERSION,
      protocol_version: PROTOCOL_VERSION,
      uptime_seconds: Math.round((Date.now() - this.options.startedAt) / 1000),
      links: { connected: links.length, direct: links.length - relayed, relayed },
    };
  }

  invite(options: { publicHost?: string; publicPort?: number }) {
    const { identity, meshPort, advertisedEndpoints } = this.options;
    const endpoints = [...advertisedEndpoints];
    if (options.publicHost) {
      let endpoint: string;
      try {
        endpoint = canonicalizeEndpoint(meshEndpoint(options.publicHost, options.publicPort ?? meshPort));
      } catch {
        throw new ServiceError(400, 'Invalid public_host: expected a hostname or IP address');
      }
      endpoints.unshift(endpoint);
    } else if (options.publicPort !== undefined) {
      throw new ServiceError(400, 'public_port needs public_host');
    }
    const unique = [...new Set(endpoints)];
    const inviteCode = encodeInvite({
      peerId: identity.peerId,
      ed25519PublicKey: identity.ed25519.publicKey,
      x25519PublicKey: identity.x25519.publicKey,
      endpoints: unique,
      binding: identity.binding,
      inviteSecret: this.options.consent.inviteSecret(),
    });
    return {
      invite_code: inviteCode,
      peer_id: identity.peerId,
      endpoints: unique,
      raw: {
        v: 1,
        pid: identity.peerId,
        epk: b58encode(identity.ed25519.publicKey),
        xpk: b58encode(identity.x25519.publicKey),
        ep: unique,
        xsig: b64urlEncode(identity.binding),
        sec: b64urlEncode(this.options.consent.inviteSecret()),
      },
    };
  }

  /** A new invite secret, then the invite: codes given out before now lead to a request. */
  regenerateInvite(options: { publicHost?: string; publicPort?: number }) {
    this.options.consent.regenerateInviteSecret();
    return this.invite(options);
  }

  async importInvite(code: string) {
    let invite;
    try {
      invite = decodeInvite(this.options.crypto, code);
    } catch (error) {
      if (error instanceof InviteError) {
        throw new ServiceError(400, `Invalid invite code: ${error.message}`, { reason: error.message, code: error.code });
      }
      throw error;
    }
    if (invite.peerId === this.peerId) {
      throw new ServiceError(400, 'Invalid invite code: this is your own invite code', { code: 'own_invite' });
    }
    const before = this.options.store.peers.get(invite.peerId);
    let created: boolean;
    try {
      ({ created } = this.options.store.peers.saveFromInvite({
        peerId: invite.peerId,
        ed25519PublicKey: invite.ed25519PublicKey,
        x25519PublicKey: invite.x25519PublicKey,
        endpoints: invite.endpoints,
        inviteSecret: invite.inviteSecret,
      }));
    } catch (error) {
      if (!(error instanceof ProvenKeyConflictError)) throw error;
      const name = error.peer.displayName ? `${error.peer.displayName} (${error.peer.peerId})` : error.peer.peerId;
      throw new ServiceError(
        409,
        `Invite not imported: ${name} already proved a different X25519 key in a handshake, so this invite code is not theirs or is out of date. Ask them for their current code.`,
        { peer_id: invite.peerId, code: 'key_conflict' },
      );
    }
    this.options.consent.imported(invite.peerId);
    const base = { peer_id: invite.peerId, endpoints: invite.endpoints, updated: !created };
    // Without an invite secret the other side cannot know we hold its invite, unless it linked with us before.
    const awaiting = !invite.inviteSecret && !before?.keyProven
      ? { awaiting_acceptance: true, message: AWAITING_ACCEPTANCE_MESSAGE }
      : {};
    if (invite.endpoints.length === 0) {
      return {
        ...base,
        status: 'imported_not_connected' as const,
        diagnostic_code: 'invite_has_no_usable_endpoints',
        message: NOT_CONNECTED_MESSAGE,
      };
    }
    const outcome = await this.options.reconnector.connectNow(invite.peerId);
    if (outcome.status === 'connected') {
      return {
        ...base,
        status: 'connected' as const,
        connected_endpoint: outcome.endpoint ?? this.connectedEndpoint(invite.peerId),
        ...(outcome.alreadyConnected ? { already_connected: true } : {}),
        ...awaiting,
      };
    }
    return {
      ...base,
      status: 'imported_not_connected' as const,
      diagnostic_code: 'direct_connect_failed',
      message: NOT_CONNECTED_MESSAGE,
      errors: outcome.status === 'failed' ? outcome.errors : [],
    };
  }

  private connectedEndpoint(peerId: string): string | null {
    const link = this.options.manager.get(peerId);
    return link?.info.endpoint ?? this.options.store.peers.get(peerId)?.lastEndpoint ?? null;
  }

  peers() {
    const { manager, store } = this.options;
    const links = manager.connected();
    const details = links.map((link) => ({
      peer_id: link.peerId,
      display_name: store.peers.get(link.peerId)?.displayName ?? null,
      canopy_version: link.info.payload.canopy_version,
      protocol_version: link.info.payload.protocol_version,
      compatible_protocol: link.info.payload.protocol_version === PROTOCOL_VERSION,
      capabilities: link.info.payload.capabilities,
      direction: link.info.direction,
      endpoint: link.info.endpoint,
      connection: link.info.via ? 'relayed' : 'direct',
      via: link.info.via,
      connected_at: new Date(link.info.connectedAt).toISOString(),
    }));
    const connected = new Set(links.map((link) => link.peerId));
    const known = store.peers.list().map((peer) => ({ ...knownPeerFields(peer), connected: connected.has(peer.peerId) }));
    const discovered = this.discoveredPeers();
    return {
      connected_peers: details.map((d) => d.peer_id),
      connected_peer_details: details,
      discovered_peers: discovered.map((d) => d.peer_id),
      discovered_peer_details: discovered,
      known_peers: known,
      peer_versions: Object.fromEntries(
        details.map((d) => [
          d.peer_id,
          { canopy_version: d.canopy_version, protocol_version: d.protocol_version, compatible_protocol: d.compatible_protocol, capabilities: d.capabilities },
        ]),
      ),
      total_discovered: discovered.length,
      total_connected: details.length,
      total_known: known.length,
      pending_requests: store.requests.countPending(),
    };
  }

  /** The discovery state and list, as the web app shows them. */
  discovered() {
    return { state: this.options.discovery.state, auto_connect: this.autoConnect.enabled, peers: this.discoveredPeers() };
  }

  /** Settings → Network: dial every discovered peer on its own (default off). */
  setDiscoverySettings(settings: { auto_connect: boolean }) {
    this.autoConnect.set(settings.auto_connect);
    return { status: 'ok' as const, auto_connect: this.autoConnect.enabled };
  }

  /** Peers seen on the LAN (untrusted claims), most recently seen first. */
  discoveredPeers() {
    const { manager, store } = this.options;
    return this.options.discovery.peers.list().map((peer) => ({
      peer_id: peer.peerId,
      display_name: store.peers.get(peer.peerId)?.displayName ?? null,
      endpoints: peer.endpoints,
      version: peer.version,
      capabilities: peer.capabilities,
      connected: Boolean(manager.get(peer.peerId)),
      last_seen: new Date(peer.lastSeen).toISOString(),
    }));
  }

  /**
   * Dials a peer seen on the LAN, expecting the peer ID its record claims: a record naming someone
   * else's ID fails the handshake, so nothing is linked. The user's click is their choice, like
   * importing an invite (`invited`); on the other side we are a request until they choose us too.
   */
  async connectDiscovered(peerId: string) {
    const { discovery, manager, consent, store } = this.options;
    if (manager.get(peerId)) return { status: 'connected' as const, peer_id: peerId, already_connected: true };
    const seen = discovery.peers.get(peerId);
    if (!seen) throw new ServiceError(404, 'No peer with this ID was discovered on the LAN (or its record expired)', { peer_id: peerId });
    const knownBefore = store.peers.get(peerId);
    const outcome = await consent.choose(peerId, () =>
      dialFirst(seen.endpoints, (endpoint, signal) => manager.dial(endpoint, peerId, { signal }), {
        concurrency: DIAL_CONCURRENCY,
        deadlineMs: DIAL_DEADLINE_MS,
        settledElsewhere: () => Boolean(manager.get(peerId)),
      }),
    );
    if (manager.get(peerId)) {
      return {
        status: 'connected' as const,
        peer_id: peerId,
        endpoint: outcome.status === 'connected' ? outcome.endpoint : this.connectedEndpoint(peerId),
        ...(knownBefore ? {} : { awaiting_acceptance: true, message: DISCOVERED_REQUEST_MESSAGE }),
      };
    }
    throw new ServiceError(502, 'Could not connect to the discovered peer', {
      status: 'failed',
      peer_id: peerId,
      errors: outcome.status === 'failed' ? outcome.errors : [],
    });
  }

  /** Strangers that linked without an invite of ours, oldest first. */
  requests() {
    return {
      requests: this.options.store.requests.list().map((request) => ({
        peer_id: request.peerId,
        display_name: request.displayName,
        endpoint: request.endpoint,
        requested_at: new Date(request.requestedAt).toISOString(),
      })),
    };
  }

  /** Accepts the request, then dials the peer at the endpoints it advertised (it also dials us again). */
  async acceptRequest(peerId: string) {
    if (!this.options.consent.accept(peerId)) throw noRequest(peerId);
    const outcome = await this.options.reconnector.connectNow(peerId);
    return { status: 'accepted' as const, peer_id: peerId, connected: outcome.status === 'connected' };
  }

  declineRequest(peerId: string) {
    if (!this.options.consent.decline(peerId)) throw noRequest(peerId);
    return { status: 'declined' as const, peer_id: peerId };
  }

  /** Known peers with their link state, as the web app lists them. */
  peerSummaries(): PeerSummary[] {
    const { manager, store } = this.options;
    return store.peers.list().map((peer) => {
      const link = manager.get(peer.peerId);
      return { ...knownPeerFields(peer), connected: Boolean(link), connection: connectionOf(link), via: link?.info.via ?? null };
    });
  }

  async reconnect(peerId: string) {
    const peer = this.options.store.peers.get(peerId);
    if (!peer) throw new ServiceError(404, 'Unknown peer: import its invite code first', { peer_id: peerId });
    if (peer.endpoints.length === 0) throw new ServiceError(400, 'No known endpoints for this peer', { peer_id: peerId });
    const outcome = await this.options.reconnector.connectNow(peerId);
    if (outcome.status === 'connected') {
      return outcome.alreadyConnected
        ? { status: 'connected', peer_id: peerId, message: 'Already connected' }
        : { status: 'connected', peer_id: peerId, endpoint: outcome.endpoint };
    }
    throw new ServiceError(502, 'Could not reconnect to any endpoint', {
      status: 'failed',
      peer_id: peerId,
      message: 'Could not reconnect to any endpoint',
      errors: outcome.status === 'failed' ? outcome.errors : [],
    });
  }

  reconnectAll() {
    for (const peer of this.options.store.peers.list()) {
      if (!this.options.manager.get(peer.peerId)) void this.options.reconnector.connectNow(peer.peerId);
    }
    return { status: 'scheduled' };
  }
}

/** What GET /p2p/status (`known_peers`) and the web app's peer list both say about a stored peer. */
function knownPeerFields(peer: PeerRecord) {
  return {
    peer_id: peer.peerId,
    ed25519_public_key: b58encode(peer.ed25519PublicKey),
    display_name: peer.displayName,
    endpoints: peer.endpoints,
    source: peer.source,
    trust: peer.trust,
    last_connected_at: peer.lastConnectedAt ? new Date(peer.lastConnectedAt).toISOString() : null,
  };
}

function connectionOf(link: Link | undefined): 'direct' | 'relayed' | null {
  return link ? (link.info.via ? 'relayed' : 'direct') : null;
}

function noRequest(peerId: string): ServiceError {
  return new ServiceError(404, 'No pending request from this peer', { peer_id: peerId });
}
