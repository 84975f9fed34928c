import Router from '@koa/router';
import { createSession } from 'better-sse';
import type { ApiKeyRepository } from '../../store/index.ts';
import { parseCursor, type EventFeed } from '../../service/event-feed.ts';
import { presentedKey, requirePermission, type AuthState } from '../auth.ts';
import { ApiError } from '../errors.ts';
import type { EventStreams } from '../event-stream.ts';

/**
 * `GET /events`: Server-Sent Events of what happens, filtered by the key's permissions. A client
 * resumes with `Last-Event-ID` (browsers send it on their own) or `?since=`; without either it
 * starts now. See README "Live events".
 */
export function eventRoutes(keys: ApiKeyRepository, feed: EventFeed, streams: EventStreams): Router<AuthState> {
  const router = new Router<AuthState>();
  router.get('/events', requirePermission(keys, ['read_messages', 'view_peers']), async (ctx) => {
    // A browser's reconnect repeats the original URL: its Last-Event-ID is the newer position.
    const asked = ctx.get('last-event-id').trim() || (typeof ctx.query.since === 'string' ? ctx.query.since : '');
    const resumeFrom = asked ? parseCursor(asked) : feed.now();
    if (!resumeFrom) throw new ApiError(400, 'Invalid since: pass the id of the last event you received');
    if (streams.full) {
      ctx.set('Retry-After', '5');
      throw new ApiError(429, `Too many event streams open (limit ${streams.limits.maxStreams})`);
    }
    const gap = feed.gapAt(resumeFrom);
    const key = presentedKey(ctx)!;
    const permissions = ctx.state.apiKey!.permissions;
    ctx.respond = false;
    const session = await createSession(ctx.req, ctx.res, {
      // better-sse copies the response's status, which Koa leaves at 404 until a body is set.
      statusCode: 200,
      keepAlive: null,
      // The position is ours to read (above); better-sse need not trust it.
      trustClientEventId: false,
      headers: { 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' },
    });
    streams.open(
      { session, response: ctx.res, permissions, keyStillValid: () => keys.verify(key) !== null },
      gap ? feed.nearestFollowable(resumeFrom) : resumeFrom,
      gap,
    );
  });
  return router;
}
