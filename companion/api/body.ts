import type Koa from 'koa';
import { z } from 'zod';
import { ApiError } from './errors.ts';

export const MAX_BODY_BYTES = 256 * 1024;

async function readRaw(ctx: Koa.Context): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_BODY_BYTES) throw new ApiError(413, `Request body too large (limit ${MAX_BODY_BYTES} bytes)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new ApiError(413, `Request body too large (limit ${MAX_BODY_BYTES} bytes)`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads and validates a JSON body against `schema`: the one place request bodies are checked.
 * `missingMessage` is the error for an absent or non-JSON body (the original's "JSON data required").
 */
export async function jsonBody<T>(ctx: Koa.Context, schema: z.ZodType<T>, missingMessage = 'JSON body required'): Promise<T> {
  const raw = await readRaw(ctx);
  if (raw.length === 0) throw new ApiError(400, missingMessage);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError(400, `${missingMessage}: body is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, `${missingMessage}: body must be a JSON object`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new ApiError(400, result.error.issues[0]?.message ?? 'Invalid request body');
  return result.data;
}
