import { z } from 'zod';
import type { AppMethod, SessionStatus } from '../../protocol/app/contract.ts';
import { ServiceError } from '../service/errors.ts';
import { DiscoverySettingsRequest } from '../discovery/auto-connect.ts';
import {
  ChannelCreateRequest,
  ImportRequest,
  KeyCreateRequest,
  PeerRequest,
  PolicyRequest,
  PublicEndpointRequest,
  SendRequestSchema,
  requiredString,
} from '../service/requests.ts';
import type { AccountService, Requester } from '../service/account-service.ts';
import type { KeyService } from '../service/key-service.ts';
import type { MessageService } from '../service/message-service.ts';
import type { NetworkService } from '../service/network-service.ts';
import { TrustIntroducedRequest, type IntroductionService } from '../service/introduction-service.ts';
import { ACTIVITY_PAGE, type PeerManagement } from '../service/peer-management.ts';
import type { RelayService } from '../service/relay-service.ts';
import type { ProfileService } from '../service/profile-service.ts';
import type { ProfileDirectory } from '../service/profile-directory.ts';
import type { AppSession } from './session.ts';

export interface AppServices {
  accounts: AccountService;
  network: NetworkService;
  relay: RelayService;
  peerManagement: PeerManagement;
  introductions: IntroductionService;
  messages: MessageService;
  keys: KeyService;
  profiles: ProfileService;
  profileCards: ProfileDirectory;
}

/** What a method handler may do besides calling services: know its session and reach the others. */
export interface MethodContext {
  session: AppSession;
  services: AppServices;
  /** The companion's Ed25519 public key (base58), the one its app-link handshake presents. */
  ownKey: string;
  /** Logs this session in as `device` (after setup or login). */
  authenticate(device: NonNullable<AppSession['device']>): void;
  /** Closes every session of a revoked device, this one included. */
  closeDevice(deviceId: string): void;
  connectedDeviceIds(): Set<string>;
  /** Refuses (throws) when no further browser may be logged in right now. */
  checkLoginCapacity(): void;
}

interface MethodSpec<S extends z.ZodType> {
  /** Callable before login (setup, login, status). */
  open?: boolean;
  params: S;
  handle(context: MethodContext, params: z.infer<S>): unknown;
}

const method = <S extends z.ZodType>(spec: MethodSpec<S>) => spec;
const none = z.object({});
const credentials = z.object({
  username: requiredString('Username required', 64),
  password: z.string({ error: 'Password required' }).min(1, { error: 'Password required' }).max(1024),
});
const setupParams = credentials.extend({
  setup_code: z.string({ error: 'Setup code required' }).max(64, { error: 'Setup code is too long' }),
});
const profileUpdate = z.record(z.string(), z.unknown());

/**
 * Every app-link method: its params schema (validated here, at the edge) and its handler, which
 * calls the same services as the REST API. Anything not marked `open` needs a logged-in browser.
 */
export const METHODS: Record<AppMethod, MethodSpec<z.ZodType>> = {
  'session.status': method({
    open: true,
    params: none,
    handle: (context) => sessionStatus(context, context.session.device, deviceKeyId(context.session)),
  }),
  'session.setup': method({
    open: true,
    params: setupParams,
    handle: (context, { username, password, setup_code }) =>
      logIn(context, (who) => context.services.accounts.setup(username, password, setup_code, who)),
  }),
  'session.login': method({
    open: true,
    params: credentials,
    handle: (context, { username, password }) => logIn(context, (who) => context.services.accounts.login(username, password, who)),
  }),
  'session.logout': method({
    params: none,
    handle(context) {
      const id = context.session.device!.id;
      context.services.accounts.revokeDevice(id);
      setTimeout(() => context.closeDevice(id), 0); // after the reply has gone out
      return { status: 'logged_out' };
    },
  }),

  'network.status': method({ params: none, handle: ({ services }) => services.network.status() }),
  'network.invite': method({
    params: PublicEndpointRequest,
    handle: ({ services }, p) => services.network.invite({ publicHost: p.public_host || undefined, publicPort: p.public_port }),
  }),
  'network.import': method({ params: ImportRequest, handle: ({ services }, p) => services.network.importInvite(p.invite_code) }),
  'network.peers': method({ params: none, handle: ({ services }) => ({ peers: services.network.peerSummaries() }) }),
  'network.regenerate_invite': method({
    params: PublicEndpointRequest,
    handle: ({ services }, p) => services.network.regenerateInvite({ publicHost: p.public_host || undefined, publicPort: p.public_port }),
  }),
  'network.requests': method({ params: none, handle: ({ services }) => services.network.requests() }),
  'network.accept_request': method({ params: PeerRequest, handle: ({ services }, p) => services.network.acceptRequest(p.peer_id) }),
  'network.decline_request': method({ params: PeerRequest, handle: ({ services }, p) => services.network.declineRequest(p.peer_id) }),
  'network.reconnect': method({ params: PeerRequest, handle: ({ services }, p) => services.network.reconnect(p.peer_id) }),
  'network.discovered': method({
    params: none,
    handle: ({ services }) => services.network.discovered(),
  }),
  'network.set_discovery': method({ params: DiscoverySettingsRequest, handle: ({ services }, p) => services.network.setDiscoverySettings(p) }),
  'network.connect_discovered': method({ params: PeerRequest, handle: ({ services }, p) => services.network.connectDiscovered(p.peer_id) }),
  'network.disconnect': method({ params: PeerRequest, handle: ({ services }, p) => services.peerManagement.disconnect(p.peer_id) }),
  'network.forget': method({ params: PeerRequest, handle: ({ services }, p) => services.peerManagement.forget(p.peer_id) }),
  'network.activity': method({
    params: z.object({ since: z.number().nonnegative().optional(), limit: z.number().int().min(1).max(ACTIVITY_PAGE.maxLimit).optional() }),
    handle: ({ services }, p) => {
      const { server_time, events } = services.peerManagement.activityReport(p);
      return { server_time, events };
    },
  }),
  'network.introduced': method({ params: none, handle: ({ services }) => services.introductions.introduced() }),
  'network.connect_introduced': method({ params: PeerRequest, handle: ({ services }, p) => services.introductions.connectIntroduced(p.peer_id) }),
  'network.set_trust_introduced': method({
    params: TrustIntroducedRequest,
    handle: ({ services }, p) => services.introductions.setTrustIntroduced(p.trust_introduced),
  }),
  'network.relay_status': method({ params: none, handle: ({ services }) => services.relay.status() }),
  'network.set_relay_policy': method({ params: PolicyRequest, handle: ({ services }, p) => services.relay.setPolicy(p.policy) }),
  'network.promote_direct': method({ params: PeerRequest, handle: ({ services }, p) => services.relay.promoteDirect(p.peer_id) }),

  'messages.send': method({
    params: SendRequestSchema.extend({
      client_id: z.string().min(8).max(64).optional(),
      channel: z.string({ error: 'channel must be a string' }).trim().min(1).max(256).optional(),
    }),
    handle: ({ services }, p) => {
      if (p.channel && (p.peer_id || p.broadcast)) {
        throw new ServiceError(400, 'A message goes to a channel or to a peer, not both: send channel alone');
      }
      return services.messages.sendFromApp({
        content: p.content,
        metadata: p.metadata,
        broadcast: p.broadcast,
        peerId: p.peer_id || undefined,
        channelId: p.channel,
        clientId: p.client_id,
      });
    },
  }),
  'messages.since': method({
    params: z.object({ cursor: z.number().int().min(0), limit: z.number().int().min(1).max(1000).optional() }),
    handle: ({ services }, p) => services.messages.since(p.cursor, p.limit ?? 500),
  }),
  'messages.recent': method({
    params: z.object({ per_conversation: z.number().int().min(1).max(100).optional() }),
    handle: ({ services }, p) => services.messages.recent(p.per_conversation ?? 50),
  }),
  'messages.history': method({
    params: z.object({
      channel: z.string().min(1).max(64),
      before: z.number().int().min(0).optional(),
      limit: z.number().int().min(1).max(500).optional(),
    }),
    handle: ({ services }, p) => services.messages.history(p.channel, p.before, p.limit ?? 100),
  }),
  'messages.channels': method({ params: none, handle: ({ services }) => services.messages.channels() }),
  'channels.create': method({
    params: ChannelCreateRequest,
    handle: ({ services }, p) => services.messages.createChannel(p.name, p.description ?? ''),
  }),

  'keys.list': method({ params: none, handle: ({ services }) => services.keys.list() }),
  'keys.create': method({
    params: KeyCreateRequest,
    handle: ({ services }, p) => services.keys.create({ permissions: p.permissions, name: p.name, expiresDays: p.expires_days }),
  }),
  'keys.revoke': method({ params: z.object({ id: requiredString('id required', 64) }), handle: ({ services }, p) => services.keys.revoke(p.id) }),

  'devices.list': method({
    params: none,
    handle: (context) => context.services.accounts.devices(context.session.device!.id, context.connectedDeviceIds()),
  }),
  'devices.revoke': method({
    params: z.object({ id: requiredString('id required', 64) }),
    handle(context, { id }) {
      const result = context.services.accounts.revokeDevice(id);
      setTimeout(() => context.closeDevice(id), 0);
      return result;
    },
  }),

  'profile.get': method({ params: none, handle: ({ services }) => services.profiles.get() }),
  'profile.set_user': method({ params: profileUpdate, handle: ({ services }, p) => services.profiles.setUser(p) }),
  'profile.set_device': method({ params: profileUpdate, handle: ({ services }, p) => services.profiles.setDevice(p) }),

  'profiles.list': method({
    params: z.object({ after: z.string({ error: 'after must be a peer ID' }).max(64).optional() }),
    handle: ({ services }, p) => services.profileCards.page(p.after),
  }),
  'profiles.get': method({ params: PeerRequest, handle: ({ services }, p) => services.profileCards.get(p.peer_id) }),
};

/**
 * Runs setup or login, one at a time per session (a pipeline of guesses gets 429 at once), then
 * this session acts as the device and learns its new status.
 */
async function logIn(context: MethodContext, register: (who: Requester) => Promise<NonNullable<AppSession['device']>>) {
  const { session } = context;
  if (session.loggingIn) {
    throw new ServiceError(429, 'A login is already being checked on this connection; wait for its answer', { retry_after_seconds: 1 });
  }
  context.checkLoginCapacity();
  session.loggingIn = true;
  try {
    const device = await register({ deviceKey: session.deviceKey, label: session.label, address: session.address });
    context.authenticate(device);
    return sessionStatus(context, device, device.id);
  } finally {
    session.loggingIn = false;
  }
}

/** The account's status plus our own key, so the browser can make safety numbers with its peers' keys. */
function sessionStatus(context: MethodContext, device: AppSession['device'], deviceKey: string): SessionStatus {
  return { ...context.services.accounts.status(device, deviceKey), ed25519_public_key: context.ownKey };
}

function deviceKeyId(session: AppSession): string {
  return Buffer.from(session.deviceKey).toString('base64url').slice(0, 16);
}

export function lookupMethod(name: string): MethodSpec<z.ZodType> {
  // Own keys only: `constructor` or `toString` would otherwise find Object.prototype's and fail as a 500.
  if (!Object.hasOwn(METHODS, name)) throw new ServiceError(404, `Unknown method: ${name}`);
  return METHODS[name as AppMethod];
}
