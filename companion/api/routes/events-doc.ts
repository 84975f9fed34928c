// GET /api/v1/events is built in another branch (issue 11: Server-Sent Events with resume); its
// documentation lives here so openapi.json describes it already. That branch mounts the handler
// and keeps calling documentEventsRoute, so the route and its documentation meet in one document.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { Permission } from '../../service/permissions.ts';
import { ErrorBody, MissingKey } from '../schemas/common.ts';

export const EVENTS_PATH = '/api/v1/events';

/** A key needs one of these; which it holds decides which events it receives. */
export const EVENTS_PERMISSIONS: readonly Permission[] = ['read_messages', 'view_peers'];

const EVENT_NAMES = {
  post: 'a channel post (needs `read_messages`)',
  dm: 'a direct message (needs `read_messages`)',
  channel: 'a channel created or changed (needs `read_messages`)',
  delivery: 'the delivery state of one of your messages (needs `read_messages`)',
  peer: 'a peer linked, dropped or changed (needs `view_peers`)',
  request: 'a link request (needs `view_peers`)',
  introduction: 'a peer introduced to you (needs `view_peers`)',
  profile: 'a profile card (needs `view_peers`)',
  ready: 'the replay is done, what follows is live; `data` is `{"cursor"}`',
  reset: 'notices older than the retained window were dropped, so the replay is not complete: read the state afresh; `data` is `{"reason"}`',
  dropped: 'the last event before the server closes a client that stopped reading; `data` is `{"reason"}`',
} as const;

export function documentEventsRoute(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get',
    path: EVENTS_PATH,
    operationId: 'events',
    tags: ['Events'],
    summary: 'Live events (Server-Sent Events)',
    description: [
      'A `text/event-stream` of what changes, for agents that would otherwise poll. Each event has an `id` (an opaque cursor); reconnect with `Last-Event-ID` (or `?since=`) to get what you missed, then a `ready` event.',
      '',
      `Permission: a key holding \`${EVENTS_PERMISSIONS.join('` or `')}\` (403 otherwise); each event needs the permission named below.`,
      '',
      ...Object.entries(EVENT_NAMES).map(([name, what]) => `- \`${name}\` — ${what}`),
    ].join('\n'),
    security: [{ ApiKey: [] }, { Bearer: [] }],
    'x-required-permission': [...EVENTS_PERMISSIONS],
    request: {
      query: z.object({ since: z.string().optional().meta({ description: 'Resume after this cursor (an event `id`); the same as the `Last-Event-ID` header' }) }),
      headers: z.object({ 'Last-Event-ID': z.string().optional().meta({ description: 'The `id` of the last event received' }) }),
    },
    responses: {
      200: {
        description: `The stream; events: ${Object.keys(EVENT_NAMES).join(', ')}.`,
        content: { 'text/event-stream': { schema: z.string().meta({ description: 'Server-Sent Events: `id:`, `event:` and `data:` (JSON) lines' }) } },
      },
      401: { description: 'No API key', content: { 'application/json': { schema: MissingKey } } },
      403: { description: 'The key is invalid or holds neither `read_messages` nor `view_peers`', content: { 'application/json': { schema: ErrorBody } } },
    },
  });
}
