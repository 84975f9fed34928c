import { fileURLToPath } from 'node:url';
import { utf8 } from '../protocol/bytes.ts';
import type { Identity } from '../protocol/identity.ts';
import { createApiApp } from './api/app.ts';
import { OriginPolicy } from './api/origin.ts';
import { AppServer } from './app/app-server.ts';
import { nodeCrypto } from './crypto/node.ts';
import { createLimitedServer, DEFAULT_SOCKET_LIMITS, listen, type SocketLimits } from './http-server.ts';
import { loadOrCreateIdentity } from './instance/identity-store.ts';
import { resolveInstancePaths, type InstancePaths } from './instance/paths.ts';
import { dialableUrl, forgetListening, recordListening } from './instance/listening.ts';
import { LanDiscovery } from './discovery/lan-discovery.ts';
import { createLogger, type Logger } from './logger.ts';
import { ConsentGate } from './mesh/consent.ts';
import { LinkManager } from './mesh/link-manager.ts';
import { ActivityLog, recordLinkActivity } from './mesh/activity.ts';
import { Reconnector } from './mesh/reconnector.ts';
import { Broker } from './mesh/broker.ts';
import { CircuitDialer } from './mesh/circuit-dialer.ts';
import { CircuitMux } from './mesh/circuit-mux.ts';
import { RelayCircuits, type RelayLimits } from './mesh/relay-circuits.ts';
import { RelayRoutes } from './mesh/relay-routes.ts';
import { ProfileCards } from './mesh/profile-cards.ts';
import { PeerIntroductions } from './mesh/peer-introductions.ts';
import { Publisher } from './mesh/publisher.ts';
import { BackgroundCheckpointer } from './store/checkpointer.ts';
import { SyncEngine } from './mesh/sync.ts';
import { advertisedEndpoints } from './service/endpoints.ts';
import { AccountService } from './service/account-service.ts';
import { KeyService } from './service/key-service.ts';
import { ProfileService } from './service/profile-service.ts';
import { cardView, ProfileDirectory } from './service/profile-directory.ts';
import { MessageService } from './service/message-service.ts';
import { NetworkService } from './service/network-service.ts';
import { RelayService, type RelayPolicy } from './service/relay-service.ts';
import { PeerManagement } from './service/peer-management.ts';
import { IntroductionService } from './service/introduction-service.ts';
import { EventFeed } from './service/event-feed.ts';
import { DEFAULT_EVENT_STREAM_LIMITS, EventStreams, type EventStreamLimits } from './api/event-stream.ts';
import { openStore, type Store } from './store/index.ts';

export interface CompanionConfig {
  host: string;
  port: number;
  meshPort: number;
  dataDir: string;
  relayPolicy: RelayPolicy;
  buildDir?: string;
  quiet?: boolean;
  /** Timeouts and socket caps of both ports (CANOPY_HEADERS_TIMEOUT_MS etc.; see http-server.ts). */
  socketLimits?: SocketLimits;
  /** Browser origins accepted besides the companion's own (CANOPY_ALLOWED_ORIGINS; see api/origin.ts). */
  allowedOrigins?: string[];
  /** LAN discovery over mDNS (default on; `--no-discovery` / CANOPY_DISCOVERY=off). */
  discovery?: boolean;
  /** Mesh endpoints to advertise instead of those derived from `host` (`--advertise`, CANOPY_ADVERTISE). */
  advertise?: string[];
  /** What this node carries as a relay (default DEFAULT_RELAY_LIMITS; CANOPY_RELAY_* in the CLI). */
  relayLimits?: RelayLimits;
  /** Bounds of GET /api/v1/events (CANOPY_EVENT_STREAM_* in the CLI; see api/event-stream.ts). */
  eventStreamLimits?: EventStreamLimits;
}

export interface Companion {
  paths: InstancePaths;
  identity: Identity;
  store: Store;
  network: NetworkService;
  messages: MessageService;
  keys: KeyService;
  sync: SyncEngine;
  log: Logger;
  close(): Promise<void>;
}

const DEFAULT_BUILD_DIR = fileURLToPath(new URL('../build', import.meta.url));

/** Opens the instance's files: paths, logger, identity and store. Shared by `start` and the keys CLI. */
export function openInstance(dataDir: string, options: { quiet?: boolean } = {}) {
  const paths = resolveInstancePaths(dataDir);
  const log = createLogger(paths.logDir, options);
  const identity = loadOrCreateIdentity(nodeCrypto, paths.identityFile, (message) => log.warn('identity', message));
  // Bodies at rest are sealed under a key derived from the identity (see README: what this protects).
  const atRestKey = nodeCrypto.hkdfSha256(identity.ed25519.secretKey, utf8('canopy/at-rest/v1'), utf8('canopy-local-storage'), 32);
  const store = openStore({ file: paths.databaseFile, atRestKey });
  return { paths, log, identity, store };
}

/** The composition root: builds every component, wires their events, and starts listening. */
export async function startCompanion(config: CompanionConfig): Promise<Companion> {
  const { paths, log, identity, store } = openInstance(config.dataDir, { quiet: config.quiet });
  const crypto = nodeCrypto;
  const endpoints = config.advertise ?? advertisedEndpoints(config.host, config.meshPort);
  const socketLimits = config.socketLimits ?? DEFAULT_SOCKET_LIMITS;
  const manager: LinkManager = new LinkManager({
    socketLimits,
    crypto,
    identity,
    log,
    advertisedEndpoints: () => endpoints,
    // A peer the user disconnected or forgot stays down, whoever dials, until they reconnect it.
    admit: (link) => {
      if (!reconnector.isPaused(link.peerId)) return consent.admit(link);
      activity.record(link.peerId, 'refused', 'disconnected by the user: not let in until reconnected', link.info.remoteAddress);
      return 'refused';
    },
    inviteSecretFor: (peerId) => consent.inviteSecretFor(peerId),
  });
  const consent = new ConsentGate({ crypto, identity, store, manager, log });
  const activity = new ActivityLog();
  const reconnector = new Reconnector(manager, store.peers, log, activity);
  const sync = new SyncEngine(crypto, identity, store, manager, log);
  const profiles = new ProfileService(store.settings);
  const profileCards = new ProfileCards({ crypto, identity, store, manager, profiles, log });
  const directory = new ProfileDirectory(store);
  profiles.onChange = () => profileCards.refreshOwn();
  const introductions = new PeerIntroductions({ crypto, identity, store, manager, log, describe: (peerId) => directory.describe(peerId) });
  // Brokering and relay circuits (guide §8); the policy is read when a request comes.
  const relayPolicy = (): RelayPolicy => relayService.policy();
  const circuits = new CircuitMux(identity.peerId);
  const relay = new RelayCircuits({ mux: circuits, manager, log, policy: relayPolicy, limits: config.relayLimits });
  const circuitDialer = new CircuitDialer({ mux: circuits, manager, log });
  const broker = new Broker({ manager, log, activity, policy: relayPolicy, mayDial: (peerId) => !reconnector.isPaused(peerId) && !store.forgotten.has(peerId) });
  const routes = new RelayRoutes({ manager, store, broker, dialer: circuitDialer, activity, log });
  reconnector.relayFallback = async (peerId) => {
    const outcome = await routes.circuit(peerId);
    return outcome.status === 'relayed' ? { via: outcome.via } : null;
  };

  // Only trusted links come up: the consent gate saved their keys and endpoints on admission.
  manager.on('up', (link) => {
    store.peers.markConnected(link.peerId, link.info.endpoint, Date.now());
    reconnector.linkUp(link.peerId, link.info.via);
    routes.noteRelayed(link);
    // A relay is back: the peers it carried are tried again now rather than at their next backoff.
    if (!link.info.via) for (const peerId of routes.relayedThrough(link.peerId)) reconnector.retrySoon(peerId);
    sync.linkUp(link);
    profileCards.linkUp(link);
    introductions.linkUp(link);
    // Last: onFrame delivers what already arrived at once, and the sync engine must know the link by then.
    link.onFrame((frame) => {
      switch (frame.t) {
        case 'card':
        case 'card_digest':
        case 'card_request':
        case 'profile':
          profileCards.receive(link, frame);
          break;
        case 'introduce':
          introductions.receive(link, frame);
          break;
        case 'circuit_open':
          relay.open(link, frame);
          break;
        case 'circuit_incoming':
          circuitDialer.accept(link, frame);
          break;
        case 'circuit_accept':
        case 'circuit_data':
        case 'circuit_close':
          circuits.dispatch(link, frame);
          break;
        case 'broker_request':
        case 'broker_intro':
        case 'broker_dial_failed':
        case 'broker_result':
          broker.receive(link, frame);
          break;
        default:
          sync.handleFrame(link, frame);
      }
    });
  });
  manager.on('down', (peerId) => {
    reconnector.linkDown(peerId);
    introductions.linkDown(peerId);
  });
  recordLinkActivity(manager, activity);

  const discovery = new LanDiscovery({ peerId: identity.peerId, host: config.host, meshPort: config.meshPort, advertise: config.advertise, log });
  const network = new NetworkService({
    discovery,
    log,
    crypto,
    identity,
    store,
    manager,
    reconnector,
    consent,
    meshPort: config.meshPort,
    advertisedEndpoints: endpoints,
    relayPolicy,
    startedAt: Date.now(),
  });
  const relayService = new RelayService({
    settings: store.settings,
    peers: store.peers,
    manager,
    reconnector,
    defaultPolicy: config.relayPolicy,
    activeRelays: () => routes.activeRelays(),
    carried: () => relay.carried(),
    policyChanged: (policy) => {
      if (policy !== 'full_relay') relay.closeAll('relay_disabled', 'the relay policy changed');
    },
  });
  const peerManagement = new PeerManagement({
    store,
    manager,
    reconnector,
    activity,
    changed: () => {
      pushPeers();
      pushIntroduced();
    },
  });
  const introductionService = new IntroductionService({ store, manager, consent, routes, broker, nameOf: (peerId) => directory.nameOf(peerId) });
  const messages = new MessageService(crypto, identity, store, manager, new Publisher(crypto, identity, store, sync), (peerId) => directory.nameOf(peerId));
  const keys = new KeyService(store.apiKeys);
  const accounts = new AccountService(store, identity.peerId, log);
  // Until a display name is set, our card carries the account's username.
  accounts.onAccountCreated = () => profileCards.refreshOwn();
  const origins = new OriginPolicy(config.allowedOrigins);
  const feed = new EventFeed({
    store,
    messages,
    nameOf: (peerId) => directory.nameOf(peerId),
    pendingRequests: () => network.requests().requests,
    introducedPeers: () => introductionService.introduced().introduced_peers,
    profileCard: (peerId) => {
      const held = store.profileCards.get(peerId);
      return held && cardView(held);
    },
  });
  const eventStreams = new EventStreams(feed, config.eventStreamLimits ?? DEFAULT_EVENT_STREAM_LIMITS, log);
  const app = createApiApp({
    feed,
    eventStreams,
    store,
    network,
    relay: relayService,
    peerManagement,
    introductions: introductionService,
    messages,
    keys,
    profiles,
    profileCards: directory,
    deviceId: paths.deviceId,
    log,
    buildDir: config.buildDir ?? DEFAULT_BUILD_DIR,
    origins,
  });
  const appServer = new AppServer(crypto, identity, store, { accounts, network, relay: relayService, peerManagement, introductions: introductionService, messages, keys, profiles, profileCards: directory }, log, origins);

  // The agents' event stream journals what happens, whether or not anyone listens now.
  sync.on('stored', (id, channel, kind) => feed.stored(id, channel, kind));
  sync.on('delivery', (id) => feed.deliveryChanged(id));
  manager.on('up', (link) => feed.peerChanged(link.peerId, true));
  manager.on('down', (peerId, reason) => feed.peerChanged(peerId, false, reason));
  const introducedMayHaveChanged = () => feed.introductionsMayHaveChanged();
  manager.on('up', introducedMayHaveChanged);
  manager.on('down', introducedMayHaveChanged);
  introductions.on('changed', introducedMayHaveChanged);
  consent.on('changed', () => {
    feed.requestsMayHaveChanged();
    feed.introductionsMayHaveChanged();
  });
  profileCards.on('changed', (peerId) => feed.profileChanged(peerId));

  // Live pushes to logged-in browsers.
  sync.on('stored', (id) => {
    // A catch-up stores thousands of events; with no browser open there is nothing to build.
    if (!appServer.hasListeners) return;
    // After the current transaction: an outbox send records its client id there, and the push carries it.
    setImmediate(() => {
      const row = store.events.get(id);
      if (row) appServer.broadcast('message', messages.appMessages([row])[0]!);
      // Not a message: a channel's signed metadata (a new channel, ours or from the mesh).
      else if (store.events.has(id)) appServer.broadcast('channels', messages.channels());
    });
  });
  sync.on('delivery', (id) => {
    if (appServer.hasListeners) appServer.broadcast('delivery', { id, delivery_state: messages.overallDelivery(id) });
  });
  const pushPeers = () => appServer.broadcast('peers', { peers: network.peerSummaries() });
  // Who is linked decides which introduced peers are listed and how they can be reached.
  const pushIntroduced = () => {
    if (appServer.hasListeners) appServer.broadcast('introduced', introductionService.introduced());
  };
  manager.on('up', pushPeers);
  manager.on('down', pushPeers);
  manager.on('up', pushIntroduced);
  manager.on('down', pushIntroduced);
  introductions.on('changed', pushIntroduced);
  introductionService.on('progress', (progress) => appServer.broadcast('connect_progress', progress));
  profileCards.on('changed', (peerId) => {
    // A linked peer's names may arrive through another link: its introductions follow them.
    introductions.namesMayHaveChanged(peerId);
    pushPeers();
    const held = appServer.hasListeners ? store.profileCards.get(peerId) : undefined;
    if (held) appServer.broadcast('profile', cardView(held));
  });
  discovery.on('changed', () => {
    if (appServer.hasListeners) appServer.broadcast('discovered', network.discovered());
  });
  consent.on('changed', () => {
    if (!appServer.hasListeners) return;
    appServer.broadcast('requests', { requests: network.requests().requests });
    pushPeers();
    pushIntroduced();
  });

  const server = createLimitedServer('web', socketLimits, log, app.callback());
  server.on('upgrade', (request, socket, head) => {
    if (!appServer.handleUpgrade(request, socket, head)) socket.destroy();
  });
  const checkpointer = new BackgroundCheckpointer(store.db, paths.databaseFile);
  try {
    await listen(server, config.host, config.port);
    await manager.listen(config.host, config.meshPort);
  } catch (error) {
    server.close();
    await manager.close();
    await checkpointer.close();
    store.close();
    throw error;
  }
  reconnector.start();
  if (config.discovery !== false) discovery.start();
  const bound = server.address();
  recordListening(paths.root, dialableUrl(config.host, typeof bound === 'object' && bound ? bound.port : config.port));
  log.info('node', 'started', { peer: identity.peerId, web: `${config.host}:${config.port}`, mesh: `${config.host}:${config.meshPort}` });

  let closed = false;
  return {
    paths,
    identity,
    store,
    network,
    messages,
    keys,
    sync,
    log,
    async close() {
      if (closed) return;
      closed = true;
      forgetListening(paths.root);
      reconnector.stop();
      profileCards.close();
      await discovery.stop();
      appServer.close();
      eventStreams.closeAll();
      await manager.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await checkpointer.close();
      store.close();
      log.info('node', 'stopped');
    },
  };
}
