import type Koa from 'koa';
import type { ApiKeyRecord, ApiKeyRepository } from '../store/index.ts';
import type { Permission } from '../service/permissions.ts';

export interface AuthState {
  apiKey?: ApiKeyRecord;
}

const BEARER = /^(?:Bearer|Token|ApiKey|Api-Key)\s+(.+)$/i;

/** The key from `X-API-Key` or `Authorization: Bearer <key>` (as the original accepted). */
export function presentedKey(ctx: Koa.Context): string | null {
  const header = ctx.get('x-api-key').trim();
  if (header) return header;
  const authorization = ctx.get('authorization').trim();
  if (!authorization) return null;
  return BEARER.exec(authorization)?.[1]?.trim() ?? authorization;
}

/** The verified key, or null when none or an invalid one was presented (for optional-auth routes). */
export function optionalKey(ctx: Koa.Context, keys: ApiKeyRepository): ApiKeyRecord | null {
  const key = presentedKey(ctx);
  return key ? keys.verify(key) : null;
}

/**
 * Guards a route: no key → 401, unknown/revoked/expired key or one without `permission` (or, given
 * several, without any of them) → 403, with the original's error strings.
 */
export function requirePermission(keys: ApiKeyRepository, permission: Permission | readonly Permission[]): Koa.Middleware<AuthState> {
  const accepted: readonly Permission[] = typeof permission === 'string' ? [permission] : permission;
  return async (ctx, next) => {
    const key = presentedKey(ctx);
    if (!key) {
      ctx.status = 401;
      ctx.body = { error: 'API key required', message: 'Provide an API key in the X-API-Key header' };
      return;
    }
    const record = keys.verify(key);
    if (!record || !accepted.some((needed) => record.permissions.includes(needed))) {
      ctx.status = 403;
      ctx.body = {
        error: 'Invalid or insufficient permissions',
        reason: record ? 'missing_permission' : 'invalid_key',
        required_permission: accepted.join(' or '),
      };
      return;
    }
    ctx.state.apiKey = record;
    await next();
  };
}
