// Answers of /health, /info, /keys and the profile routes (companion/api/routes/system.ts,
// service/key-service.ts, service/profile-service.ts, service/profile-directory.ts).
import { z } from 'zod';
import { IsoTime, Permission, PeerId } from './common.ts';
import { NetworkStatus } from './peers.ts';

const count = z.int().min(0);

export const Health = z
  .strictObject({
    status: z.literal('ok'),
    canopy_version: z.string(),
    protocol_version: z.int(),
    uptime_seconds: count,
    links: z.strictObject({ connected: count, direct: count, relayed: count }),
  })
  .meta({ id: 'Health' });

export const Info = z
  .union([
    z.strictObject({
      version: z.string(),
      database_stats: z.strictObject({ events: count, channels: count, dm_conversations: count, known_peers: count }),
      p2p_network: NetworkStatus,
      config: z.strictObject({ max_message_size: z.int(), max_frame_bytes: z.int() }),
    }),
    z.strictObject({ version: z.string() }),
  ])
  .meta({ id: 'Info', description: 'The version for anyone; diagnostics for a key with `view_peers`' });

const keyFields = {
  id: z.string().meta({ description: 'Public identifier, used to revoke' }),
  name: z.string().nullable(),
  permissions: z.array(Permission),
  created_at: IsoTime,
  expires_at: IsoTime.nullable(),
  last_used_at: IsoTime.nullable(),
  revoked: z.boolean(),
};
export const KeyList = z.strictObject({ keys: z.array(z.strictObject(keyFields).meta({ id: 'ApiKey' })) }).meta({ id: 'KeyList' });
export const KeyCreated = z
  .strictObject({
    api_key: z.string().meta({ description: 'The key itself, shown this once' }),
    ...keyFields,
    expires_days: z.int().nullable(),
  })
  .meta({ id: 'KeyCreated' });
export const KeyRevoked = z.strictObject({ status: z.literal('revoked'), id: z.string() });

export const DeviceProfile = z
  .strictObject({
    device_id: z.string(),
    display_name: z.string(),
    description: z.string(),
    avatar_b64: z.string().nullable(),
    avatar_mime: z.string().nullable(),
  })
  .meta({ id: 'DeviceProfile' });
export const Ok = z.strictObject({ ok: z.literal(true) });

const avatar = z.string().nullable().meta({ description: 'A PNG, JPEG, WebP or GIF `data:` URL (at most 64 KiB), or null' });
export const UserProfile = z.strictObject({ display_name: z.string(), bio: z.string(), avatar }).meta({ id: 'UserProfile' });
export const UserProfileSaved = z.strictObject({ user: UserProfile });

const updatedAt = z.number().meta({ description: "Epoch milliseconds, the owner's; grows with each new card" });
/** A profile card without its avatars (GET /profiles/:peer_id has them). */
export const ProfileSummary = z
  .strictObject({
    peer_id: PeerId,
    display_name: z.string(),
    bio: z.string(),
    device_name: z.string(),
    device_description: z.string(),
    has_avatar: z.boolean(),
    has_device_avatar: z.boolean(),
    updated_at: updatedAt,
  })
  .meta({ id: 'ProfileSummary' });
export const ProfileCards = z
  .strictObject({
    profiles: z.array(ProfileSummary),
  })
  .meta({ id: 'ProfileCards' });
export const ProfileCard = z
  .strictObject({
    peer_id: PeerId,
    display_name: z.string(),
    bio: z.string(),
    avatar,
    device_name: z.string(),
    device_description: z.string(),
    device_avatar: avatar,
    updated_at: updatedAt,
  })
  .meta({ id: 'ProfileCard' });
