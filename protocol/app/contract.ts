/**
 * The app link: what the PWA and its companion say to each other inside their Noise session
 * (ws://host:port/api/v1/app). Everything the web app does goes through these methods, so the
 * browser never sends a password or a message in clear, even on a plain-http LAN origin.
 *
 * Results mirror the REST API's JSON (snake_case fields) so agents and the UI see the same shapes.
 */

/** Prologue of the app-link handshake; differs from the mesh's so the two can never be confused. */
export const APP_LINK_PROLOGUE_TEXT = 'canopy/app/1';
export const APP_LINK_PATH = '/api/v1/app';

/** Close codes the companion uses on the app link (besides the shared ones of secure-channel). */
export const AppCloseCode = {
  /** Not logged in within the login window: the browser reconnects at once when it is ready to try. */
  loginWindowOver: 4010,
  /** Too many browsers connected or waiting to log in right now: retry later. */
  busy: 4011,
} as const;

/** Sent by the companion in handshake message 2. The browser pins `x25519_key` on first contact. */
export interface CompanionHello {
  peer_id: string;
  ed25519_key: string; // base58
  binding: string; // base64url Ed25519 signature over the X25519 key (see protocol/identity.ts)
  canopy_version: string;
  protocol_version: number;
}

/** Sent by the browser in handshake message 3. */
export interface DeviceHello {
  /** A human label for this browser, e.g. "Chrome on Linux". */
  label: string;
}

export interface ApiErrorBody {
  status: number;
  message: string;
  details?: Record<string, unknown>;
}

// ---- frames (JSON inside the Noise transport) ----
export type ClientFrame =
  | { t: 'req'; id: number; method: AppMethod; params?: Record<string, unknown> }
  | { t: 'ping'; n: number }
  | { t: 'pong'; n: number };

export type ServerFrame =
  | { t: 'res'; id: number; ok: true; result: unknown }
  | { t: 'res'; id: number; ok: false; error: ApiErrorBody }
  | { t: 'push'; topic: PushTopic; data: unknown }
  | { t: 'ping'; n: number }
  | { t: 'pong'; n: number };

// ---- shared data shapes ----
export type DeliveryState = 'queued' | 'sent' | 'delivered';

/** One message as the web replica stores it: channel posts and DMs in one stream, ordered by `cursor`. */
export interface AppMessage {
  id: string;
  /** The companion's local arrival order; sync resumes after the highest cursor seen. */
  cursor: number;
  /** 'general', another channel id, or 'dm:<peerA>:<peerB>'. */
  channel: string;
  kind: 'post' | 'dm';
  author: string;
  /** The author's name from its profile card (display name, else device name) when we hold one. */
  author_name?: string | null;
  content: string | null;
  metadata: Record<string, unknown>;
  /** Author's clock, ms since epoch (informational). */
  ts: number;
  received_at: number;
  /** For DMs, the other party; null for channel posts. */
  peer_id: string | null;
  direction: 'incoming' | 'outgoing';
  /** Own messages only: the lowest state across recipients. */
  delivery_state: DeliveryState | null;
  /** Own messages sent from a web outbox: the outbox entry's id, so the replica can replace it. */
  client_id: string | null;
}

export interface SessionStatus {
  peer_id: string;
  /**
   * base58, as in invites: with the peer's, it makes the safety number shown in DMs. Optional
   * because a browser may still hold a status saved from a companion that did not send it.
   */
  ed25519_public_key?: string;
  canopy_version: string;
  setup_required: boolean;
  authenticated: boolean;
  username: string | null;
  device_id: string;
}

export interface DeviceInfo {
  id: string;
  label: string;
  created_at: string;
  last_seen_at: string | null;
  current: boolean;
  connected: boolean;
}

export interface Profile {
  display_name: string;
  bio: string;
  avatar: string | null; // data: URL, small (<= 64 KiB)
}

export interface DeviceProfile {
  display_name: string;
  description: string;
  avatar: string | null;
}

/**
 * A peer's signed profile card as we hold it (verified; ours included), without its avatars:
 * GET /api/v1/profiles. `updated_at` (ms, the owner's) grows with every new card of that owner.
 */
export interface ProfileSummary {
  peer_id: string;
  display_name: string;
  bio: string;
  device_name: string;
  device_description: string;
  has_avatar: boolean;
  has_device_avatar: boolean;
  updated_at: number;
}

/** A card with its avatars (data: URLs or null): GET /api/v1/profiles/:peer_id, profiles.list, push `profile`. */
export interface ProfileCardView {
  peer_id: string;
  display_name: string;
  bio: string;
  avatar: string | null;
  device_name: string;
  device_description: string;
  device_avatar: string | null;
  updated_at: number;
}

export interface PeerSummary {
  peer_id: string;
  /** base58, as in invites; the browser checks it against `peer_id` before making a safety number of it. */
  ed25519_public_key: string;
  display_name: string | null;
  endpoints: string[];
  connected: boolean;
  /** How the link runs: straight to the peer, or through a relay's circuit (`via`). */
  connection: 'direct' | 'relayed' | null;
  /** The relay carrying the link when `connection` is 'relayed'. */
  via: string | null;
  source: 'invite' | 'inbound';
  /** Why this peer may link with us: we imported its invite, it used ours, we accepted it, or a trusted peer introduced it. */
  trust: PeerTrust;
  last_connected_at: string | null;
}

export type PeerTrust = 'invited' | 'invite_holder' | 'accepted' | 'introduced';

/** A circuit this node relays for two other peers (bytes each one sent through us). */
export interface CarriedCircuit {
  from: string;
  to: string;
  state: 'opening' | 'open';
  opened_at: string;
  bytes_from: number;
  bytes_to: number;
}

export type PromoteResult = { status: 'direct'; peer_id: string; endpoint: string | null; was_relayed: boolean };

/** Where a Connect on an introduced peer stands (pushed as `connect_progress`). */
export interface ConnectProgress {
  peer_id: string;
  stage: 'direct' | 'brokering' | 'relaying' | 'connected' | 'failed';
  /** The peer asked to broker or relay, or the relay of the link that came up. */
  via: string | null;
  message: string;
}

/** One connection event of GET /p2p/activity; `timestamp` in epoch seconds. */
export interface ActivityEvent {
  id: string;
  peer_id: string;
  kind: 'connection';
  timestamp: number;
  status: 'attempt' | 'connected' | 'failed' | 'disconnected' | 'request' | 'refused' | 'broker' | 'relay';
  detail: string;
  endpoint: string | null;
}

/** A stranger that linked without an invite of ours; it gets nothing until accepted. = GET /p2p/requests */
export interface PeerRequest {
  peer_id: string;
  display_name: string | null;
  /** The address it came from. */
  endpoint: string | null;
  requested_at: string;
}

/**
 * A peer a trusted peer told us about (guide §9), not linked with us. = one row of GET /p2p/introduced.
 * Names are what the introducer said (unsigned). `connect_strategy`: direct_or_broker (it has
 * endpoints), broker_only (none, but an introducer is connected), unreachable (neither).
 */
export interface IntroducedPeerSummary {
  peer_id: string;
  /** base58 keys as the introducer's frame carried them, verified: the ID derives from the Ed25519 key, which signed the X25519 key. */
  ed25519_public_key: string;
  x25519_public_key: string;
  display_name: string | null;
  device_name: string | null;
  endpoints: string[];
  endpoint_count: number;
  /** Peer IDs of the peers that introduced it, most recent first. */
  introduced_by: string[];
  /** Their display names, in the same order (null when we know none). */
  introduced_by_names: Array<string | null>;
  /** ISO times: first introduction, and the latest. */
  introduced_at: string;
  last_introduced_at: string;
  connect_strategy: 'direct_or_broker' | 'broker_only' | 'unreachable';
}

/** = GET /p2p/introduced */
export interface IntroducedPeersReport {
  introduced_peers: IntroducedPeerSummary[];
}

/** One row of GET /p2p/known_peers: linked (trusted) peers, then introduced ones (trust null). */
export interface KnownPeerSummary {
  peer_id: string;
  display_name: string | null;
  endpoints: string[];
  connected: boolean;
  trust: PeerTrust | null;
  introduced: boolean;
}

/**
 * Method name → params and result. Results named `Rest…` are the same JSON as the REST endpoint.
 * Unauthenticated sessions may call only session.status, session.setup and session.login.
 */
/** A peer seen on the LAN: what its mDNS record claims, not proven until a handshake. */
export interface DiscoveredPeerSummary {
  peer_id: string;
  display_name: string | null;
  endpoints: string[];
  version: string | null;
  capabilities: string[];
  connected: boolean;
  last_seen: string;
}

/** = GET /p2p/discovery: `state` as GET /p2p/status `discovery` (running, off, failed: reason). */
export interface DiscoveryReport {
  state: string;
  auto_connect: boolean;
  peers: DiscoveredPeerSummary[];
}

/** One channel as GET /api/v1/channels lists it; `origin_peer` is its creator (null for general). */
export interface ChannelSummary {
  id: string;
  name: string;
  description: string;
  origin_peer: string | null;
  /** The creator's display name when we know it. */
  origin_peer_name: string | null;
  created_at: string | null;
  message_count: number;
  last_message_at: string | null;
}

export interface AppMethods {
  'session.status': { params: Record<string, never>; result: SessionStatus };
  /**
   * First visit on a fresh instance: create the one local account; logs this browser in. Needs the
   * one-time setup code the companion prints at start (wrong → 403; too many wrong → 429).
   */
  'session.setup': { params: { username: string; password: string; setup_code: string }; result: SessionStatus };
  /**
   * Wrong password → error 401 "Invalid username or password"; too many tries → 429 with
   * details.retry_after_seconds; password checks saturated → 503 with retry_after_seconds.
   */
  'session.login': { params: { username: string; password: string }; result: SessionStatus };
  /** Forgets this browser's device key on the companion and closes the link. */
  'session.logout': { params: Record<string, never>; result: { status: 'logged_out' } };

  'network.status': { params: Record<string, never>; result: Record<string, unknown> }; // = GET /p2p/status
  'network.invite': { params: { public_host?: string; public_port?: number }; result: { invite_code: string; peer_id: string; endpoints: string[] } };
  /** = POST /p2p/invite/import: status 'connected' | 'imported_not_connected' with message. */
  'network.import': { params: { invite_code: string }; result: Record<string, unknown> & { status: string; peer_id: string } };
  'network.peers': { params: Record<string, never>; result: { peers: PeerSummary[] } };
  /** = POST /p2p/invite/regenerate: a new invite secret (older codes then lead to a request), then the invite. */
  'network.regenerate_invite': { params: { public_host?: string; public_port?: number }; result: { invite_code: string; peer_id: string; endpoints: string[] } };
  'network.requests': { params: Record<string, never>; result: { requests: PeerRequest[] } };
  /** Unknown peer → error 404. */
  'network.accept_request': { params: { peer_id: string }; result: { status: 'accepted'; peer_id: string; connected: boolean } };
  'network.decline_request': { params: { peer_id: string }; result: { status: 'declined'; peer_id: string } };
  'network.reconnect': { params: { peer_id: string }; result: Record<string, unknown> };
  /** = POST /p2p/disconnect: the peer stays down until network.reconnect. */
  'network.disconnect': { params: { peer_id: string }; result: { status: 'disconnected' | 'not_connected'; peer_id: string } };
  /** = POST /p2p/forget: no longer known or trusted; its messages stay. */
  'network.forget': {
    params: { peer_id: string };
    result: { success: true; status: 'forgotten' | 'not_found'; peer_id: string; removed_known_peer: boolean; disconnected: boolean };
  };
  /** = GET /p2p/activity: recent connection events, oldest first. */
  'network.activity': { params: { since?: number; limit?: number }; result: { server_time: number; events: ActivityEvent[] } };
  /** Peers seen on the LAN (mDNS), untrusted claims, most recently seen first; `state` as in GET /p2p/status `discovery`. */
  'network.discovered': { params: Record<string, never>; result: DiscoveryReport };
  /** = POST /p2p/discovery: Settings → Network, auto-connect to LAN peers (default off). */
  'network.set_discovery': { params: { auto_connect: boolean }; result: { status: 'ok'; auto_connect: boolean } };
  /** = POST /p2p/connect_discovered: dials expecting the peer ID; 404 if not discovered, 502 if it fails. */
  'network.connect_discovered': {
    params: { peer_id: string };
    result: { status: 'connected'; peer_id: string; endpoint?: string | null; already_connected?: boolean; awaiting_acceptance?: boolean; message?: string };
  };
  /** = GET /p2p/introduced: peers introduced to us by trusted peers that we are not linked with. */
  'network.introduced': { params: Record<string, never>; result: IntroducedPeersReport };
  /**
   * = POST /p2p/connect_introduced: dials the peer's introduced endpoints expecting its peer ID; it
   * is saved as trust 'introduced'. Not in the list → error 404 "Peer not found in introduced list";
   * no endpoints → 502 with details.diagnostic_code 'introduced_peer_has_no_direct_endpoints';
   * no endpoint answered → a mutual peer is asked to broker: `brokering` as soon as one forwards
   * (the rest is pushed as connect_progress), else a relay circuit is tried; when all fail, 502
   * 'introduced_peer_direct_connect_failed' with details.errors, details.tried and details.relay_refusals.
   */
  'network.connect_introduced': {
    params: { peer_id: string };
    result:
      | { status: 'connected'; peer_id: string; already_connected: true }
      | {
          status: 'connected';
          peer_id: string;
          endpoint: string | null;
          connection: 'direct' | 'relayed';
          via: string | null;
          direct_attempted: boolean;
          direct_attempt_count: number;
          forced_failover: false;
        }
      | { status: 'brokering'; peer_id: string; via_peer: string; via_peer_name: string | null; direct_attempted: boolean; diagnostic_code: string; message: string };
  };
  /** = POST /p2p/trust_introduced: Settings → Network, trust peers introduced by trusted peers (default on; GET /p2p/status shows it). */
  'network.set_trust_introduced': { params: { trust_introduced: boolean }; result: { status: 'ok'; trust_introduced: boolean } };
  /** = GET /p2p/relay_status: our relayed peers and their relays, and the circuits we carry for others. */
  'network.relay_status': {
    params: Record<string, never>;
    result: { relay_policy: string; active_relays: Record<string, string>; routing_table: Record<string, string>; carried_circuits: CarriedCircuit[] };
  };
  /** = POST /p2p/promote_direct: dials a relayed peer's own endpoints now. */
  'network.promote_direct': { params: { peer_id: string }; result: PromoteResult };
  'network.set_relay_policy': { params: { policy: string }; result: { status: 'ok'; relay_policy: string } };

  /**
   * = POST /p2p/send, or with `channel` = POST /channels/messages (404 for a channel we do not
   * know). `client_id` (a UUID made by the browser when the message entered its outbox) makes the
   * call idempotent: a retried send returns the first result, never a duplicate.
   */
  'messages.send': {
    params: { content: string; broadcast?: boolean; peer_id?: string; channel?: string; metadata?: Record<string, unknown>; client_id?: string };
    result: { success: true; message_id: string; message: AppMessage };
  };
  /** Everything with cursor > `cursor`, oldest first, at most `limit` (1..1000). */
  'messages.since': { params: { cursor: number; limit?: number }; result: { messages: AppMessage[]; cursor: number; has_more: boolean } };
  /**
   * A new replica's first view: the newest `per_conversation` (1..100, default 50) rows of each
   * of the 100 most recently active conversations, and the cursor to follow with `messages.since`.
   */
  'messages.recent': { params: { per_conversation?: number }; result: { messages: AppMessage[]; cursor: number } };
  /** Older history for scroll-back: rows of `channel` with cursor < before, newest first. */
  'messages.history': { params: { channel: string; before?: number; limit?: number }; result: { messages: AppMessage[]; has_more: boolean } };
  'messages.channels': { params: Record<string, never>; result: { channels: ChannelSummary[] } }; // = GET /channels
  /**
   * = POST /channels: a new channel of ours, spread through the mesh. Bad name → 400 (the message
   * says the rules); 'general' → 409; a name we already created returns that channel, created false.
   */
  'channels.create': { params: { name: string; description?: string }; result: { created: boolean; channel: ChannelSummary } };

  'keys.list': { params: Record<string, never>; result: Record<string, unknown> }; // = GET /keys
  'keys.create': { params: { permissions: string[]; name?: string; expires_days?: number }; result: Record<string, unknown> & { api_key: string; id: string } };
  'keys.revoke': { params: { id: string }; result: { status: 'revoked'; id: string } };

  'devices.list': { params: Record<string, never>; result: { devices: DeviceInfo[] } };
  /** Revoking a browser closes its link at once; it must log in again. */
  'devices.revoke': { params: { id: string }; result: { status: 'revoked'; id: string } };

  'profile.get': { params: Record<string, never>; result: { user: Profile; device: DeviceProfile } };
  'profile.set_user': { params: Partial<Profile>; result: { user: Profile } };
  'profile.set_device': { params: Partial<DeviceProfile>; result: { device: DeviceProfile } };

  /**
   * Every card we hold, with avatars, by peer ID, in pages that fit a frame: call again with
   * `after: next_after` until it is null. Cache by (peer_id, updated_at); the `profile` push
   * brings each newer card.
   */
  'profiles.list': { params: { after?: string }; result: { profiles: ProfileCardView[]; next_after: string | null } };
  /** One card with avatars; 404 when we hold none for the peer. */
  'profiles.get': { params: { peer_id: string }; result: ProfileCardView };
}

export type AppMethod = keyof AppMethods;
export type AppParams<M extends AppMethod> = AppMethods[M]['params'];
export type AppResult<M extends AppMethod> = AppMethods[M]['result'];

/** Pushed by the companion to authenticated sessions. */
export interface AppPushes {
  /** A message was stored (ours or a peer's). */
  message: AppMessage;
  /** A channel was created here or arrived from the mesh; the full list, as messages.channels returns it. */
  channels: { channels: ChannelSummary[] };
  /** An own message's overall delivery state changed. */
  delivery: { id: string; delivery_state: DeliveryState };
  /** Links went up or down; the full list, as network.peers returns it. */
  peers: { peers: PeerSummary[] };
  /** Pending requests changed; the full list, as network.requests returns it. */
  requests: { requests: PeerRequest[] };
  /** The LAN discovery list changed; the full list, as network.discovered returns it. */
  discovered: DiscoveryReport;
  /** Introduced peers changed (new, updated, linked, forgotten); the full list, as network.introduced returns it. */
  introduced: IntroducedPeersReport;
  /** A newer profile card was stored (a peer's, or ours after a change). */
  profile: ProfileCardView;
  /** A Connect on an introduced peer moved on: dialling, brokering, relaying, connected or failed. */
  connect_progress: ConnectProgress;
  /** This browser was revoked or logged out elsewhere; the link closes right after. */
  session: { revoked: true };
}
export type PushTopic = keyof AppPushes;

export const UNAUTHENTICATED_METHODS: readonly AppMethod[] = ['session.status', 'session.setup', 'session.login'];
