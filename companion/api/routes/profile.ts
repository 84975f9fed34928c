import { z } from 'zod';
import { defineRoute } from '../route.ts';
import { DeviceProfile, Ok, ProfileCard, ProfileCards, UserProfile, UserProfileSaved } from '../schemas/system.ts';
import { PeerIdParam } from './params.ts';

// The original's device-profile fields: the avatar travels as base64 plus its MIME type.
const DeviceProfileBody = z.object({
  display_name: z.string({ error: 'display_name must be text' }).optional(),
  description: z.string({ error: 'description must be text' }).optional(),
  avatar_b64: z.string({ error: 'avatar_b64 must be base64 text' }).optional().meta({ description: 'The avatar image as base64; empty removes it' }),
  avatar_mime: z.string({ error: 'avatar_mime must be text' }).optional().meta({ description: 'Its MIME type (default image/jpeg)' }),
});
const UserProfileBody = z.object({
  display_name: z.string({ error: 'display_name must be text' }).optional(),
  bio: z.string({ error: 'bio must be text' }).optional(),
});

const PROFILE_400 = 'A field too long, not text, or an avatar that is not a PNG, JPEG, WebP or GIF under 64 KiB';

/**
 * `/device/profile` (the original's shape) and `/profile`: what peers see of this instance and its
 * user; `/profiles`: the signed cards of everyone in the mesh we know of.
 */
export const profileRoutes = [
  defineRoute({
    method: 'get',
    path: '/device/profile',
    operationId: 'getDeviceProfile',
    tag: 'Profiles',
    summary: "This device's profile",
    description: 'In the original Canopy\'s shape: the avatar as base64 and its MIME type.',
    permission: 'view_peers',
    responses: { 200: { description: 'The device profile', schema: DeviceProfile } },
    handle: (_ctx, _input, { profiles, deviceId }) => {
      const { device } = profiles.get();
      const [, mime, b64] = /^data:([^;]+);base64,(.*)$/.exec(device.avatar ?? '') ?? [];
      return {
        device_id: deviceId,
        display_name: device.display_name,
        description: device.description,
        avatar_b64: b64 ?? null,
        avatar_mime: mime ?? null,
      };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/device/profile',
    operationId: 'setDeviceProfile',
    tag: 'Profiles',
    summary: "Change this device's profile",
    description: 'Only the fields given change; the new profile card is signed and sent across the mesh.',
    permission: 'manage_peers',
    body: { schema: DeviceProfileBody },
    responses: { 200: { description: 'Saved', schema: Ok } },
    errors: { 400: PROFILE_400 },
    handle: (_ctx, { body }, { profiles }) => {
      const update: Record<string, unknown> = {};
      if (body.display_name !== undefined) update.display_name = body.display_name;
      if (body.description !== undefined) update.description = body.description;
      if (body.avatar_b64 !== undefined) {
        update.avatar = body.avatar_b64 ? `data:${body.avatar_mime ?? 'image/jpeg'};base64,${body.avatar_b64}` : null;
      }
      profiles.setDevice(update);
      return { ok: true };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/profile',
    operationId: 'getProfile',
    tag: 'Profiles',
    summary: "Your user profile",
    description: 'Display name, bio and avatar, as peers see them.',
    permission: 'view_peers',
    responses: { 200: { description: 'The profile', schema: UserProfile } },
    handle: (_ctx, _input, { profiles }) => profiles.get().user,
  }),
  defineRoute({
    method: 'post',
    path: '/profile',
    operationId: 'setProfile',
    tag: 'Profiles',
    summary: 'Change your user profile',
    description: 'Only the fields given change; the new profile card is signed and sent across the mesh.',
    permission: 'manage_peers',
    body: { schema: UserProfileBody },
    responses: { 200: { description: 'Saved', schema: UserProfileSaved } },
    errors: { 400: PROFILE_400 },
    handle: (_ctx, { body }, { profiles }) => profiles.setUser(body),
  }),
  defineRoute({
    method: 'get',
    path: '/profiles',
    operationId: 'listProfiles',
    tag: 'Profiles',
    summary: 'Profile cards of the mesh',
    description: 'Every verified, signed profile card held (yours included), without avatars.',
    permission: 'view_peers',
    responses: { 200: { description: 'The cards', schema: ProfileCards } },
    handle: (_ctx, _input, { profileCards }) => profileCards.list(),
  }),
  defineRoute({
    method: 'get',
    path: '/profiles/:peer_id',
    operationId: 'getProfileCard',
    tag: 'Profiles',
    summary: "One peer's profile card",
    description: 'With its avatars.',
    permission: 'view_peers',
    params: PeerIdParam,
    responses: { 200: { description: 'The card', schema: ProfileCard } },
    errors: { 404: 'No profile card known for this peer' },
    handle: (ctx, _input, { profileCards }) => profileCards.get(ctx.params.peer_id!),
  }),
];
