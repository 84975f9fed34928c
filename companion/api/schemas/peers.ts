// Answers of the /p2p routes, field for field as companion/service/network-service.ts,
// introduction-service.ts, peer-management.ts and relay-service.ts build them.
import { z } from 'zod';
import { DialError, Endpoint, IsoTime, PeerId, PeerTrust, RelayPolicy } from './common.ts';

const count = z.int().min(0);

export const NetworkStatus = z
  .strictObject({
    running: z.literal(true),
    peer_id: PeerId,
    canopy_version: z.string(),
    protocol_version: z.int(),
    connected_peers: count,
    discovered_peers: count,
    discovery: z.string().meta({ description: '`running`, `off` or `failed: <reason>`' }),
    known_peers: count,
    pending_requests: count,
    trust_introduced: z.boolean(),
    mesh_port: z.int(),
    relay_policy: RelayPolicy,
    uptime_seconds: count,
  })
  .meta({ id: 'NetworkStatus' });

const KnownPeer = z
  .strictObject({
    peer_id: PeerId,
    ed25519_public_key: z.string().meta({ description: 'base58, as in invites' }),
    display_name: z.string().nullable(),
    endpoints: z.array(Endpoint),
    source: z.enum(['invite', 'inbound']),
    trust: PeerTrust,
    last_connected_at: IsoTime.nullable(),
    connected: z.boolean(),
  })
  .meta({ id: 'KnownPeer' });

const PeerVersion = {
  canopy_version: z.string(),
  protocol_version: z.int(),
  compatible_protocol: z.boolean(),
  capabilities: z.array(z.string()),
};

const ConnectedPeer = z
  .strictObject({
    peer_id: PeerId,
    display_name: z.string().nullable(),
    ...PeerVersion,
    direction: z.enum(['inbound', 'outbound']),
    endpoint: z.string().nullable().meta({ description: 'The endpoint we dialled (outbound links only)' }),
    connection: z.enum(['direct', 'relayed']),
    via: PeerId.nullable().meta({ description: 'The relay carrying a relayed link' }),
    connected_at: IsoTime,
  })
  .meta({ id: 'ConnectedPeer' });

export const DiscoveredPeer = z
  .strictObject({
    peer_id: PeerId,
    display_name: z.string().nullable(),
    endpoints: z.array(Endpoint),
    version: z.string().nullable(),
    capabilities: z.array(z.string()),
    connected: z.boolean(),
    last_seen: IsoTime,
  })
  .meta({ id: 'DiscoveredPeer', description: 'A peer seen on the LAN: what its mDNS record claims, unproven until a handshake' });

export const PeersReport = z
  .strictObject({
    connected_peers: z.array(PeerId),
    connected_peer_details: z.array(ConnectedPeer),
    discovered_peers: z.array(PeerId),
    discovered_peer_details: z.array(DiscoveredPeer),
    known_peers: z.array(KnownPeer),
    peer_versions: z.record(z.string(), z.strictObject(PeerVersion)),
    total_discovered: count,
    total_connected: count,
    total_known: count,
    pending_requests: count,
  })
  .meta({ id: 'PeersReport' });

export const Invite = z
  .strictObject({
    invite_code: z.string().meta({ description: '`canopy:` + base64url JSON; give it to the peer that should link with you' }),
    peer_id: PeerId,
    endpoints: z.array(Endpoint),
    raw: z.strictObject({
      v: z.literal(1),
      pid: PeerId,
      epk: z.string(),
      xpk: z.string(),
      ep: z.array(Endpoint),
      xsig: z.string(),
      sec: z.string(),
    }),
  })
  .meta({ id: 'Invite' });

const ImportBase = { peer_id: PeerId, endpoints: z.array(Endpoint), updated: z.boolean().meta({ description: 'The peer was known before' }) };
export const ImportResult = z
  .union([
    z.strictObject({
      ...ImportBase,
      status: z.literal('connected'),
      connected_endpoint: z.string().nullable(),
      already_connected: z.literal(true).optional(),
      awaiting_acceptance: z.literal(true).optional().meta({ description: 'The invite had no secret: the peer must accept our request' }),
      message: z.string().optional(),
    }),
    z.strictObject({
      ...ImportBase,
      status: z.literal('imported_not_connected'),
      diagnostic_code: z.enum(['invite_has_no_usable_endpoints', 'direct_connect_failed']),
      message: z.string(),
      errors: z.array(DialError).optional(),
    }),
  ])
  .meta({ id: 'ImportResult' });

export const LinkRequest = z
  .strictObject({ peer_id: PeerId, display_name: z.string().nullable(), endpoint: z.string().nullable(), requested_at: IsoTime })
  .meta({ id: 'LinkRequest' });
export const RequestsList = z
  .strictObject({
    requests: z.array(LinkRequest),
  })
  .meta({ id: 'RequestsList' });

export const RequestAccepted = z.strictObject({ status: z.literal('accepted'), peer_id: PeerId, connected: z.boolean() });
export const RequestDeclined = z.strictObject({ status: z.literal('declined'), peer_id: PeerId });

export const Reconnected = z.union([
  z.strictObject({ status: z.literal('connected'), peer_id: PeerId, message: z.literal('Already connected') }),
  z.strictObject({ status: z.literal('connected'), peer_id: PeerId, endpoint: z.string().nullable() }),
]);
export const Scheduled = z.strictObject({ status: z.literal('scheduled') });

export const DiscoveredConnected = z.union([
  z.strictObject({ status: z.literal('connected'), peer_id: PeerId, already_connected: z.literal(true) }),
  z.strictObject({
    status: z.literal('connected'),
    peer_id: PeerId,
    endpoint: z.string().nullable(),
    awaiting_acceptance: z.literal(true).optional(),
    message: z.string().optional(),
  }),
]);

/** A dial that reached no endpoint (502), from reconnect and connect_discovered. */
export const DialFailed = z
  .strictObject({ error: z.string(), status: z.literal('failed'), peer_id: PeerId, message: z.string().optional(), errors: z.array(DialError) })
  .meta({ id: 'DialFailed' });

export const IntroducedPeer = z
  .strictObject({
    peer_id: PeerId,
    ed25519_public_key: z.string(),
    x25519_public_key: z.string(),
    display_name: z.string().nullable(),
    device_name: z.string().nullable(),
    endpoints: z.array(Endpoint),
    endpoint_count: count,
    introduced_by: z.array(PeerId).meta({ description: 'Most recent first' }),
    introduced_by_names: z.array(z.string().nullable()),
    introduced_at: IsoTime,
    last_introduced_at: IsoTime,
    connect_strategy: z.enum(['direct_or_broker', 'broker_only', 'unreachable']),
  })
  .meta({ id: 'IntroducedPeer' });

export const IntroducedList = z
  .strictObject({
    introduced_peers: z.array(IntroducedPeer),
  })
  .meta({ id: 'IntroducedList' });

export const KnownPeersList = z
  .strictObject({
    known_peers: z.array(
      z.strictObject({
        peer_id: PeerId,
        display_name: z.string().nullable(),
        endpoints: z.array(Endpoint),
        connected: z.boolean(),
        trust: PeerTrust.nullable().meta({ description: 'null for a peer only introduced' }),
        introduced: z.boolean(),
      }),
    ),
  })
  .meta({ id: 'KnownPeersList' });

export const IntroducedConnected = z.union([
  z.strictObject({ status: z.literal('connected'), peer_id: PeerId, already_connected: z.literal(true) }),
  z.strictObject({
    status: z.literal('connected'),
    peer_id: PeerId,
    endpoint: z.string().nullable(),
    connection: z.enum(['direct', 'relayed']),
    via: PeerId.nullable(),
    direct_attempted: z.boolean(),
    direct_attempt_count: count,
    forced_failover: z.boolean(),
  }),
]);
export const IntroducedBrokering = z.strictObject({
  status: z.literal('brokering'),
  peer_id: PeerId,
  via_peer: PeerId,
  via_peer_name: z.string().nullable(),
  direct_attempted: z.boolean(),
  diagnostic_code: z.literal('introduced_peer_broker_connect'),
  message: z.string(),
});
export const IntroducedFailed = z.strictObject({
  error: z.string(),
  status: z.literal('failed'),
  peer_id: PeerId,
  diagnostic_code: z.enum(['introduced_peer_has_no_direct_endpoints', 'introduced_peer_direct_connect_failed']),
  message: z.string(),
  errors: z.array(DialError).optional(),
  tried: z.array(z.string()),
  relay_refusals: z.array(z.strictObject({ via_peer: PeerId, diagnostic_code: z.string(), reason: z.string() })),
});

export const TrustIntroducedSet = z.strictObject({ status: z.literal('ok'), trust_introduced: z.boolean() });
export const Disconnected = z.strictObject({ status: z.enum(['disconnected', 'not_connected']), peer_id: PeerId });
export const Forgotten = z.strictObject({
  success: z.literal(true),
  status: z.enum(['forgotten', 'not_found']),
  peer_id: PeerId,
  removed_known_peer: z.boolean(),
  removed_introductions: count,
  disconnected: z.boolean(),
});

export const ActivityReport = z
  .strictObject({
    server_time: z.number().meta({ description: 'Epoch seconds' }),
    peers: z.record(z.string(), z.strictObject({ connected_at: z.number().nullable(), last_activity: z.number().nullable() })),
    events: z.array(
      z.strictObject({
        id: z.string(),
        peer_id: PeerId,
        kind: z.literal('connection'),
        timestamp: z.number().meta({ description: 'Epoch seconds' }),
        status: z.enum(['attempt', 'connected', 'failed', 'disconnected', 'request', 'refused', 'broker', 'relay']),
        detail: z.string(),
        endpoint: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'ActivityReport' });

export const RelayStatus = z
  .strictObject({
    relay_policy: RelayPolicy,
    active_relays: z.record(z.string(), PeerId).meta({ description: 'Relayed peer → the relay carrying it' }),
    routing_table: z.record(z.string(), PeerId),
    carried_circuits: z.array(
      z.strictObject({
        from: PeerId,
        to: PeerId,
        state: z.enum(['opening', 'open']),
        opened_at: IsoTime,
        bytes_from: count,
        bytes_to: count,
      }),
    ),
  })
  .meta({ id: 'RelayStatus' });

export const RelayPolicySet = z.strictObject({ status: z.literal('ok'), relay_policy: RelayPolicy });
export const Promoted = z.strictObject({ status: z.literal('direct'), peer_id: PeerId, endpoint: z.string().nullable(), was_relayed: z.boolean() });
export const PromoteFailed = z.strictObject({
  error: z.string(),
  status: z.enum(['failed', 'no_endpoints']),
  peer_id: PeerId,
  was_relayed: z.boolean(),
  endpoints_tried: z.array(Endpoint).optional(),
  errors: z.array(DialError).optional(),
});

export const DiscoveryReport = z
  .strictObject({
    state: z.string().meta({ description: '`running`, `off` or `failed: <reason>`' }),
    auto_connect: z.boolean(),
    peers: z.array(DiscoveredPeer),
  })
  .meta({ id: 'DiscoveryReport' });
export const DiscoverySet = z.strictObject({ status: z.literal('ok'), auto_connect: z.boolean() });
