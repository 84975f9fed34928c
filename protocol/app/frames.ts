import { z } from 'zod';
import { fromUtf8, utf8 } from '../bytes.ts';
import type { AppMethod, ClientFrame, ServerFrame } from './contract.ts';

/** The app link's frames, validated in this one place on both ends. Params are checked per method by the companion. */
const ClientFrameSchema = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('req'),
    id: z.number().int().nonnegative(),
    method: z.string().min(1).max(64),
    params: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({ t: z.literal('ping'), n: z.number().int() }),
  z.object({ t: z.literal('pong'), n: z.number().int() }),
]);

const ServerFrameSchema = z.discriminatedUnion('t', [
  // Two shapes share t: 'res', so they form their own union on `ok`.
  z.discriminatedUnion('ok', [
    z.object({ t: z.literal('res'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
    z.object({
      t: z.literal('res'),
      id: z.number().int(),
      ok: z.literal(false),
      error: z.object({ status: z.number().int(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
    }),
  ]),
  z.object({ t: z.literal('push'), topic: z.string(), data: z.unknown() }),
  z.object({ t: z.literal('ping'), n: z.number().int() }),
  z.object({ t: z.literal('pong'), n: z.number().int() }),
]);

type Decoded<T> = { ok: true; frame: T } | { ok: false; error: string };

function decodeWith<T>(schema: z.ZodType, bytes: Uint8Array): Decoded<T> {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch {
    return { ok: false, error: 'frame is not UTF-8 JSON' };
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    return { ok: false, error: `invalid frame: ${issue?.path.join('.') || 'frame'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, frame: result.data as T };
}

export const decodeClientFrame = (bytes: Uint8Array): Decoded<ClientFrame & { method?: AppMethod | string }> =>
  decodeWith(ClientFrameSchema, bytes);
export const decodeServerFrame = (bytes: Uint8Array): Decoded<ServerFrame> => decodeWith(ServerFrameSchema, bytes);
export const encodeAppFrame = (frame: ClientFrame | ServerFrame): Uint8Array => utf8(JSON.stringify(frame));
