// Shapes shared by many REST answers, and the error bodies. Response schemas are strict objects
// (no field beyond those listed), so the contract test catches a field renamed or added in a
// service without its documentation.
import { z } from 'zod';
import { PERMISSIONS } from '../../service/permissions.ts';
import { RELAY_POLICIES } from '../../service/relay-service.ts';

export const PeerId = z.string().meta({ description: 'A 16-character base58 peer ID', example: '3yQ6dJx5KfWz8mTq' });
export const IsoTime = z.string().meta({ description: 'ISO 8601 time (UTC)', example: '2026-01-02T03:04:05.678Z' });
export const Endpoint = z.string().meta({ description: 'A mesh endpoint, `ws://host:port`', example: 'ws://192.168.1.20:7771' });
export const Permission = z.enum(PERMISSIONS);
export const RelayPolicy = z.enum(RELAY_POLICIES);
export const PeerTrust = z
  .enum(['invited', 'invite_holder', 'accepted', 'introduced'])
  .meta({ description: 'Why the peer may link: we imported its invite, it used ours, we accepted its request, or a trusted peer introduced it' });
export const DeliveryState = z.enum(['queued', 'sent', 'delivered']);
/** Recipient peer ID → delivery state of one message. */
export const DeliveryMap = z.record(z.string(), DeliveryState);
export const Metadata = z.record(z.string(), z.unknown()).meta({ description: 'Free-form JSON the sender attached (at most 16 KiB, 32 levels deep)' });

/** One endpoint a dial tried and why it failed. */
export const DialError = z.strictObject({ endpoint: z.string(), error: z.string() }).meta({ id: 'DialError' });

// --- errors -------------------------------------------------------------------------------

/** Every failure: `error` says what went wrong; some add fields (`peer_id`, `code`, `path`, ...). */
export const ErrorBody = z
  .looseObject({ error: z.string().meta({ description: 'What went wrong, for people' }) })
  .meta({ id: 'Error', description: 'Every error answer: `error` always, plus fields some errors add (`peer_id`, `code`, `path`, ...)' });

export const MissingKey = z
  .strictObject({ error: z.literal('API key required'), message: z.string() })
  .meta({ id: 'MissingKey', description: 'No key in `X-API-Key` or `Authorization: Bearer`' });

export const PermissionRefused = z
  .strictObject({
    error: z.literal('Invalid or insufficient permissions'),
    reason: z.enum(['invalid_key', 'missing_permission']),
    required_permission: z.string().meta({ description: 'The permission needed; `a or b` when any one of several will do' }),
  })
  .meta({ id: 'PermissionRefused', description: 'The key is unknown, revoked or expired (`invalid_key`), or lacks `required_permission`' });

/** A browser page of another origin tried a state-changing request (companion/api/origin.ts). */
export const OriginRefused = z
  .strictObject({ error: z.string() })
  .meta({ id: 'OriginRefused', description: 'A browser request from another web page (its `Origin`), or to a host name outsiders control' });

export const NotFound = z
  .looseObject({ error: z.string() })
  .meta({ id: 'NotFound', description: 'No such route (`{"error": "Not found", "path"}`) or no such item (with the id asked for)' });
