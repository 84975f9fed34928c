import Router from '@koa/router';
import type { ApiKeyRepository } from '../../store/index.ts';
import type { KeyService } from '../../service/key-service.ts';
import { requirePermission } from '../auth.ts';
import { jsonBody } from '../body.ts';
import { KeyCreateRequest } from '../../service/requests.ts';

export function keyRoutes(keys: ApiKeyRepository, service: KeyService): Router {
  const router = new Router();
  const manage = requirePermission(keys, 'manage_keys');

  router.get('/keys', manage, (ctx) => {
    ctx.body = service.list();
  });
  router.post('/keys', manage, async (ctx) => {
    const body = await jsonBody(ctx, KeyCreateRequest, 'permissions must be a list');
    ctx.status = 201;
    ctx.body = service.create({ permissions: body.permissions, name: body.name, expiresDays: body.expires_days });
  });
  router.delete('/keys/:id', manage, (ctx) => {
    ctx.body = service.revoke(ctx.params.id!);
  });
  return router;
}
