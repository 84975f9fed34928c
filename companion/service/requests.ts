import { z } from 'zod';
import { MAX_CHANNEL_DESCRIPTION_LENGTH } from '../../protocol/events.ts';
import { MetadataSchema } from '../../protocol/frames.ts';

/**
 * Request shapes shared by the REST API and the app link: one schema per operation, with the
 * error message each missing field gets (the original Canopy's strings where it had one).
 */
export const requiredString = (message: string, max = 4096) =>
  z.string({ error: message }).trim().min(1, { error: message }).max(max, { error: `Value too long (max ${max} characters)` });

// A custom check has no JSON Schema of its own: say what the documentation should show.
const OptionalMetadata = MetadataSchema.optional().meta({
  type: 'object',
  description: 'Free-form JSON carried with the message (at most 16 KiB, 32 levels deep)',
});

// `example`s are what the API reference (openapi.json) pre-fills in "Try it out".
export const ImportRequest = z.object({
  invite_code: requiredString('invite_code required', 16 * 1024).meta({ description: "A peer's invite code (GET /p2p/invite on their side)", example: 'canopy:eyJ2IjoxLC…' }),
});
export const PeerRequest = z.object({ peer_id: requiredString('peer_id required', 64).meta({ example: '3yQ6dJx5KfWz8mTq' }) });
export const PolicyRequest = z.object({
  policy: z.string({ error: 'Invalid policy. Use: off, broker_only, full_relay' }).meta({ description: '`off`, `broker_only` or `full_relay`', example: 'broker_only' }),
});
export const SendRequestSchema = z.object({
  content: requiredString('Message content required', 65_536).meta({ example: 'Hello from an agent' }),
  broadcast: z.boolean({ error: 'broadcast must be true or false' }).optional().meta({ description: 'Post in `general` on every peer', example: true }),
  peer_id: z.string({ error: 'peer_id must be a string' }).trim().max(64).optional().meta({ description: 'The recipient of a direct message (without `broadcast`)' }),
  // The same schema peers apply to received events: what passes here passes there (size, nesting).
  metadata: OptionalMetadata,
});
export const ChannelCreateRequest = z.object({
  name: requiredString('Channel name required', 256).meta({ description: 'Lowercase letters, digits, `-` or `_`', example: 'random' }),
  description: z
    .string({ error: 'description must be a string' })
    .trim()
    .max(MAX_CHANNEL_DESCRIPTION_LENGTH, { error: `Description too long (max ${MAX_CHANNEL_DESCRIPTION_LENGTH} characters)` })
    .optional(),
});
export const ChannelPostRequest = z.object({
  channel_id: requiredString('channel_id required', 256).meta({ example: 'general' }),
  content: requiredString('Message content required', 65_536).meta({ example: 'Hello, channel' }),
  metadata: OptionalMetadata,
});
export const KeyCreateRequest = z.object({
  permissions: z
    .array(z.string(), { error: 'permissions must be a list' })
    .max(32)
    .meta({ description: 'Permission names, or `all`', example: ['read_messages', 'write_messages'] }),
  name: z.string().trim().max(100).optional(),
  expires_days: z.number().int().min(1, { error: 'expires_days must be a positive integer' }).max(3650).optional(),
});
const INVALID_PORT = { error: 'Invalid public_port: expected 1-65535' };
export const PublicEndpointRequest = z.object({
  public_host: z.string().trim().max(253).optional(),
  // One message for every way a port can be wrong (REST reads it from the query string: NaN, 1.5, 0).
  public_port: z.number(INVALID_PORT).int(INVALID_PORT).min(1, INVALID_PORT).max(65535, INVALID_PORT).optional(),
});
