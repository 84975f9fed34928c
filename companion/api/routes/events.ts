import { createSession } from 'better-sse';
import { parseCursor } from '../../service/event-feed.ts';
import { presentedKey, type AuthState } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { EventsQuery } from '../queries.ts';
import { defineRoute } from '../route.ts';
import { EVENT_DATA, StreamEvent } from '../schemas/events.ts';

const EVENTS = Object.entries(EVENT_DATA)
  .map(([name, data]) => `- \`${name}\`: ${data.meta()?.description ?? `as ${data.meta()?.id ?? 'documented'}`}`)
  .join('\n');

/**
 * `GET /events`: Server-Sent Events of what happens, filtered by the key's permissions. A client
 * resumes with `Last-Event-ID` (browsers send it on their own) or `?since=`; without either it
 * starts now. README "Live events" says more.
 */
export const eventRoutes = [
  defineRoute({
    method: 'get',
    path: '/events',
    operationId: 'events',
    tag: 'Events',
    summary: 'Live events (Server-Sent Events)',
    description: [
      'A `text/event-stream` of what happens, instead of polling. Each event has an `id`, its position: reconnect with it as `Last-Event-ID` (or `?since=`) to get exactly what you missed, in order, then `ready`, then live events; without either, the stream starts now. A key receives the events its permissions allow: posts, DMs, channels and delivery changes need `read_messages`; peers, requests, introductions and profiles need `view_peers`. A `:` comment line every 15 s keeps the connection open; at most 32 streams at once (429).',
      '',
      EVENTS,
    ].join('\n'),
    permission: ['read_messages', 'view_peers'],
    query: EventsQuery,
    responses: { 200: { description: 'The stream, one event after another', schema: StreamEvent, contentType: 'text/event-stream' } },
    errors: { 400: '`since` or `Last-Event-ID` is not an event id', 429: 'Too many event streams open' },
    handle: async (ctx, { query }, { store, feed, eventStreams }) => {
      // A browser's reconnect repeats the original URL: its Last-Event-ID is the newer position.
      const asked = ctx.get('last-event-id').trim() || query.since;
      const resumeFrom = asked ? parseCursor(asked) : feed.now();
      if (!resumeFrom) throw new ApiError(400, 'Invalid since: pass the id of the last event you received');
      if (eventStreams.full) {
        ctx.set('Retry-After', '5');
        throw new ApiError(429, `Too many event streams open (limit ${eventStreams.limits.maxStreams})`);
      }
      const gap = feed.gapAt(resumeFrom);
      const key = presentedKey(ctx)!;
      const permissions = (ctx.state as AuthState).apiKey!.permissions;
      ctx.respond = false;
      const session = await createSession(ctx.req, ctx.res, {
        // better-sse copies the response's status, which Koa leaves at 404 until a body is set.
        statusCode: 200,
        // Heartbeats are the pump's (event-stream.ts): better-sse's would go on after a drop ends the response.
        keepAlive: null,
        // The position is ours to read (above); better-sse need not trust it.
        trustClientEventId: false,
        headers: { 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' },
      });
      eventStreams.open(
        { session, response: ctx.res, permissions, keyStillValid: () => store.apiKeys.verify(key) !== null },
        gap ? feed.nearestFollowable(resumeFrom) : resumeFrom,
        gap,
      );
      return undefined;
    },
  }),
];
