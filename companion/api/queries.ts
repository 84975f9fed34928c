// Query strings of the REST routes as zod schemas: they validate the request (the first issue's
// message is the 400 answer) and document the parameters in openapi.json. Koa hands a repeated
// parameter over as an array; each schema says which reading it keeps, as the routes always did.
import { z } from 'zod';
import { PEER_ID_PATTERN } from '../../protocol/events.ts';
import { ACTIVITY_PAGE } from '../service/peer-management.ts';
import { PublicEndpointRequest } from '../service/requests.ts';

/** The first value of a repeated parameter; an empty one counts as absent. */
const firstValue = (raw: unknown) => {
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === '' ? undefined : value;
};
/** Text trimmed, absent when empty; a repeated parameter is ignored. */
const trimmedText = (raw: unknown) => (typeof raw === 'string' ? raw.trim() || undefined : undefined);

/** Decimal digits only: Number() would also read "0x10", "1e3" or " 5 ". */
function integerParam(name: string, min: number, max: number, description: string) {
  const message = `Invalid ${name}: expected an integer from ${min} to ${max}`;
  return z
    .preprocess(firstValue, z.string().regex(/^\d{1,16}$/, message).transform(Number).pipe(z.number().int().min(min, message).max(max, message)).optional())
    .meta({ description });
}

const pageFields = {
  limit: integerParam('limit', 1, 500, 'Messages per page, 1-500 (default 50)'),
  before: integerParam('before', 0, Number.MAX_SAFE_INTEGER, 'Only messages older than this cursor (newest first); a page answer\'s `next_before`'),
  after: integerParam('after', 0, Number.MAX_SAFE_INTEGER, 'Only messages newer than this cursor (oldest first); a page answer\'s `next_after`'),
};
const oneDirection = (page: { before?: number | undefined; after?: number | undefined }) => page.before === undefined || page.after === undefined;
const ONE_DIRECTION = { error: 'Use either before or after, not both' };

export const PAGE_DEFAULT_LIMIT = 50;

/** ?limit=&before=&after= for a channel's messages. */
export const PageQuery = z.object(pageFields).refine(oneDirection, ONE_DIRECTION);

/** GET /messages: an optional conversation, then the page. */
export const DirectMessagesQuery = z
  .object({
    peer_id: z
      .preprocess(trimmedText, z.string().regex(PEER_ID_PATTERN, 'Invalid peer_id').optional())
      .meta({ description: 'Only the conversation with this peer' }),
    ...pageFields,
  })
  .refine(oneDirection, ONE_DIRECTION);

/** ?public_host=&public_port=: an address to put first in the invite (e.g. a router's public one). */
export const PublicEndpointQuery = z.object({
  public_host: z
    .preprocess(trimmedText, z.string().optional())
    .meta({ description: 'A host name or IP address peers can reach you at; put first in the invite' }),
  public_port: z
    .preprocess((raw) => (raw === undefined || raw === '' ? undefined : Number(raw)), PublicEndpointRequest.shape.public_port)
    .meta({ description: 'Its mesh port, 1-65535 (default: this instance\'s mesh port); needs `public_host`' }),
});

const activityText = (raw: unknown) => (typeof raw === 'string' && raw !== '' ? raw : undefined);
const limitMessage = `Invalid limit: expected 1-${ACTIVITY_PAGE.maxLimit}`;

/** GET /p2p/activity. */
export const ActivityQuery = z.object({
  since: z
    .preprocess(activityText, z.string().regex(/^\d+(\.\d+)?$/, 'Invalid since: expected epoch seconds').transform(Number).pipe(z.number().refine(Number.isFinite, 'Invalid since: expected epoch seconds')).optional())
    .meta({ description: 'Only events after this time, in epoch seconds' }),
  limit: z
    .preprocess(activityText, z.string().regex(/^\d{1,3}$/, limitMessage).transform(Number).pipe(z.number().min(1, limitMessage).max(ACTIVITY_PAGE.maxLimit, limitMessage)).optional())
    .meta({ description: `Events at most, 1-${ACTIVITY_PAGE.maxLimit} (default ${ACTIVITY_PAGE.defaultLimit}); the newest are kept` }),
  kind: z
    .preprocess(activityText, z.string().max(32, 'Invalid kind').optional())
    .meta({ description: 'Only events of this kind (`connection` is the only one)' }),
});

/** GET /events: where to resume (the `Last-Event-ID` header says the same and wins). */
export const EventsQuery = z.object({
  since: z
    .preprocess((raw) => trimmedText(firstValue(raw)), z.string().optional())
    .meta({ description: 'Resume after this event `id` (`0.0`: from the start); the `Last-Event-ID` header does the same' }),
});
