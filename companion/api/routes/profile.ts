import Router from '@koa/router';
import { z } from 'zod';
import type { ApiKeyRepository } from '../../store/index.ts';
import type { ProfileService } from '../../service/profile-service.ts';
import type { ProfileDirectory } from '../../service/profile-directory.ts';
import { requirePermission } from '../auth.ts';
import { jsonBody } from '../body.ts';

// The original's device-profile fields: the avatar travels as base64 plus its MIME type.
const DeviceProfileBody = z.object({
  display_name: z.string({ error: 'display_name must be text' }).optional(),
  description: z.string({ error: 'description must be text' }).optional(),
  avatar_b64: z.string({ error: 'avatar_b64 must be base64 text' }).optional(),
  avatar_mime: z.string({ error: 'avatar_mime must be text' }).optional(),
});
const UserProfileBody = z.object({
  display_name: z.string({ error: 'display_name must be text' }).optional(),
  bio: z.string({ error: 'bio must be text' }).optional(),
});

/**
 * `/device/profile` (the original's shape) and `/profile`: what peers see of this instance and its
 * user; `/profiles`: the signed cards of everyone in the mesh we know of.
 */
export function profileRoutes(keys: ApiKeyRepository, profiles: ProfileService, deviceId: string, cards: ProfileDirectory): Router {
  const router = new Router();
  const view = requirePermission(keys, 'view_peers');
  const manage = requirePermission(keys, 'manage_peers');

  router.get('/device/profile', view, (ctx) => {
    const { device } = profiles.get();
    const [, mime, b64] = /^data:([^;]+);base64,(.*)$/.exec(device.avatar ?? '') ?? [];
    ctx.body = {
      device_id: deviceId,
      display_name: device.display_name,
      description: device.description,
      avatar_b64: b64 ?? null,
      avatar_mime: mime ?? null,
    };
  });
  router.post('/device/profile', manage, async (ctx) => {
    const body = await jsonBody(ctx, DeviceProfileBody);
    const update: Record<string, unknown> = {};
    if (body.display_name !== undefined) update.display_name = body.display_name;
    if (body.description !== undefined) update.description = body.description;
    if (body.avatar_b64 !== undefined) {
      update.avatar = body.avatar_b64 ? `data:${body.avatar_mime ?? 'image/jpeg'};base64,${body.avatar_b64}` : null;
    }
    profiles.setDevice(update);
    ctx.body = { ok: true };
  });
  router.get('/profile', view, (ctx) => {
    ctx.body = profiles.get().user;
  });
  router.post('/profile', manage, async (ctx) => {
    const body = await jsonBody(ctx, UserProfileBody);
    ctx.body = profiles.setUser(body);
  });
  router.get('/profiles', view, (ctx) => {
    ctx.body = cards.list();
  });
  router.get('/profiles/:peer_id', view, (ctx) => {
    ctx.body = cards.get(ctx.params.peer_id!);
  });
  return router;
}
