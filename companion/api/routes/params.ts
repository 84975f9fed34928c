// Path parameters, for the documentation (the router hands them to handlers as text).
import { z } from 'zod';
import { PeerId } from '../schemas/common.ts';

export const PeerIdParam = z.object({ peer_id: PeerId });
export const IdParam = z.object({ id: z.string().meta({ description: 'The id the list answer shows' }) });
export const ChannelIdParam = z.object({ id: z.string().meta({ description: 'A channel id, e.g. `general`', example: 'general' }) });
