import type Koa from 'koa';
import type { Logger } from '../logger.ts';
import { ServiceError } from '../service/errors.ts';

/** An error answered as JSON `{"error": message, ...details}` with the given HTTP status. */
export class ApiError extends ServiceError {}

/**
 * Turns every failure into a JSON answer. Expected failures carry their status; anything else is a
 * bug, logged with its stack and answered with a bare 500 so no internals leak to the client.
 */
export function errorMiddleware(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null && ctx.path.startsWith('/api/')) {
        ctx.status = 404;
        // The path as asked, before the /api/ alias rewrote it.
        ctx.body = { error: 'Not found', path: new URL(ctx.originalUrl, 'http://x').pathname };
      }
    } catch (error) {
      if (error instanceof ServiceError) {
        ctx.status = error.status;
        ctx.body = { error: error.message, ...error.details };
        return;
      }
      const status = (error as { status?: number; expose?: boolean }).status;
      if (status && status >= 400 && status < 500) {
        ctx.status = status;
        ctx.body = { error: (error as Error).message };
        return;
      }
      log.error('api', 'unhandled error', { method: ctx.method, path: ctx.path, error: (error as Error).stack });
      ctx.status = 500;
      ctx.body = { error: 'Internal error' };
    }
  };
}
