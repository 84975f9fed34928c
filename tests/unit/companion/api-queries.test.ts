// The REST query strings are zod schemas now (companion/api/queries.ts): each answers a bad value
// with the 400 message the routes always gave, and reads a repeated parameter as they did.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ActivityQuery, DirectMessagesQuery, PageQuery, PublicEndpointQuery } from '../../../companion/api/queries.ts';

function read(schema: z.ZodType, query: Record<string, string | string[]>): unknown {
  const result = schema.safeParse(query);
  return result.success ? result.data : { error: result.error.issues[0]?.message };
}

describe('REST query schemas', () => {
  it('page: decimal integers in range, the first of a repeated value, one direction only', () => {
    expect(read(PageQuery, {})).toEqual({});
    expect(read(PageQuery, { limit: '', after: '7' })).toEqual({ after: 7 });
    expect(read(PageQuery, { limit: ['3', 'x'] })).toEqual({ limit: 3 });
    for (const limit of ['0', '501', 'x', '0x10', '1e3', ' 5 ', '-1']) {
      expect(read(PageQuery, { limit }), limit).toEqual({ error: 'Invalid limit: expected an integer from 1 to 500' });
    }
    expect(read(PageQuery, { before: '99999999999999999' })).toEqual({ error: `Invalid before: expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}` });
    expect(read(PageQuery, { before: '1', after: '2' })).toEqual({ error: 'Use either before or after, not both' });
    expect(read(PageQuery, { before: 'x', after: '2' })).toEqual({ error: `Invalid before: expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}` });
  });

  it('direct messages: peer_id trimmed and checked before the page, a repeated one ignored', () => {
    expect(read(DirectMessagesQuery, { peer_id: ' 3yQ6dJx5KfWz8mTq ', limit: '2' })).toEqual({ peer_id: '3yQ6dJx5KfWz8mTq', limit: 2 });
    expect(read(DirectMessagesQuery, { peer_id: '  ' })).toEqual({});
    expect(read(DirectMessagesQuery, { peer_id: ['bad'] })).toEqual({});
    expect(read(DirectMessagesQuery, { peer_id: 'bad', limit: '0' })).toEqual({ error: 'Invalid peer_id' });
  });

  it('public endpoint: host trimmed, port 1-65535 as a number, one message for every bad port', () => {
    expect(read(PublicEndpointQuery, { public_host: ' h.example ', public_port: '7771' })).toEqual({ public_host: 'h.example', public_port: 7771 });
    expect(read(PublicEndpointQuery, { public_host: '', public_port: '' })).toEqual({});
    for (const port of ['0', '65536', 'x', '1.5', ['5', '6']]) {
      expect(read(PublicEndpointQuery, { public_port: port }), String(port)).toEqual({ error: 'Invalid public_port: expected 1-65535' });
    }
  });

  it('activity: since in epoch seconds, limit 1-500, kind up to 32 characters, repeated values ignored', () => {
    expect(read(ActivityQuery, { since: '1.5', limit: '5', kind: 'connection' })).toEqual({ since: 1.5, limit: 5, kind: 'connection' });
    expect(read(ActivityQuery, { since: ['1'], limit: ['5'] })).toEqual({});
    expect(read(ActivityQuery, { since: '-1' })).toEqual({ error: 'Invalid since: expected epoch seconds' });
    expect(read(ActivityQuery, { limit: '501' })).toEqual({ error: 'Invalid limit: expected 1-500' });
    expect(read(ActivityQuery, { kind: 'k'.repeat(33) })).toEqual({ error: 'Invalid kind' });
  });
});
