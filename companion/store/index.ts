import { AccountRepository } from './accounts.ts';
import { ClientSendRepository } from './client-sends.ts';
import { AtRestCipher } from './at-rest.ts';
import { ApiKeyRepository } from './api-keys.ts';
import { ChannelRepository } from './channels.ts';
import { systemClock, type Clock } from './clock.ts';
import { openDatabase, type Database } from './database.ts';
import { DeliveryRepository } from './deliveries.ts';
import { EventRepository } from './events.ts';
import { ForgottenPeerRepository } from './forgotten-peers.ts';
import { IntroducedPeerRepository } from './introduced-peers.ts';
import { NoticeRepository } from './notices.ts';
import { PeerRepository } from './peers.ts';
import { ProfileCardRepository } from './profile-cards.ts';
import { PeerRequestRepository } from './peer-requests.ts';
import { SettingsRepository } from './settings.ts';

export { AtRestCipher } from './at-rest.ts';
export { openDatabase, type Database } from './database.ts';
export { migrate, migrations } from './migrations.ts';
export type { Clock } from './clock.ts';
export {
  PeerRepository,
  MAX_PEER_ENDPOINTS,
  PEER_TRUSTS,
  ProvenKeyConflictError,
  type PeerRecord,
  type PeerKeys,
  type PeerSource,
  type PeerTrust,
  type PeerSaveResult,
} from './peers.ts';
export { PeerRequestRepository, REQUEST_LIMITS, type PeerRequestRecord, type RequestLimits } from './peer-requests.ts';
export {
  EventRepository,
  MAX_PAGE,
  type VersionVector,
  type EventMeta,
  type MessageRow,
  type PageOptions,
  type ChannelSummary,
} from './events.ts';
export { DeliveryRepository, DELIVERY_STATES, type DeliveryState, type DeliveryRecord } from './deliveries.ts';
export { ApiKeyRepository, API_KEY_PREFIX, hashApiKey, type ApiKeyRecord, type NewApiKey } from './api-keys.ts';
export { SettingsRepository } from './settings.ts';
export { ChannelRepository, type ChannelRecord, type ChannelInput } from './channels.ts';
export { AccountRepository, type UserRecord, type DeviceRecord } from './accounts.ts';
export { ClientSendRepository } from './client-sends.ts';
export { ProfileCardRepository, type StoredProfileCard } from './profile-cards.ts';
export {
  IntroducedPeerRepository,
  INTRODUCED_LIMITS,
  type IntroducedLimits,
  type IntroducedPeerInput,
  type IntroducedPeerRecord,
  type IntroduceOutcome,
} from './introduced-peers.ts';
export { ForgottenPeerRepository } from './forgotten-peers.ts';
export { NoticeRepository, NOTICE_RETENTION, type Notice } from './notices.ts';

export interface Store {
  db: Database;
  peers: PeerRepository;
  requests: PeerRequestRepository;
  events: EventRepository;
  deliveries: DeliveryRepository;
  apiKeys: ApiKeyRepository;
  settings: SettingsRepository;
  channels: ChannelRepository;
  accounts: AccountRepository;
  clientSends: ClientSendRepository;
  profileCards: ProfileCardRepository;
  introduced: IntroducedPeerRepository;
  forgotten: ForgottenPeerRepository;
  notices: NoticeRepository;
  close(): void;
}

export interface StoreOptions {
  file: string;
  /** 32 bytes, derived from the identity by the caller. */
  atRestKey: Uint8Array;
  now?: Clock;
}

export function openStore({ file, atRestKey, now = systemClock }: StoreOptions): Store {
  const cipher = new AtRestCipher(atRestKey); // validates the key before the file is touched
  const db = openDatabase(file);
  const channels = new ChannelRepository(db, now);
  return {
    db,
    peers: new PeerRepository(db, now),
    requests: new PeerRequestRepository(db, now),
    events: new EventRepository(db, cipher, channels),
    deliveries: new DeliveryRepository(db),
    apiKeys: new ApiKeyRepository(db, now),
    settings: new SettingsRepository(db),
    channels,
    accounts: new AccountRepository(db, now),
    clientSends: new ClientSendRepository(db),
    profileCards: new ProfileCardRepository(db),
    introduced: new IntroducedPeerRepository(db, now),
    forgotten: new ForgottenPeerRepository(db, now),
    notices: new NoticeRepository(db, now),
    close: () => db.close(),
  };
}
