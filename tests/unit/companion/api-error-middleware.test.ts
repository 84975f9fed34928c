// The REST error edge: expected failures keep their status and message; anything else is a bug
// answered with a bare 500 that leaks nothing, and logged with its stack for the owner.
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, errorMiddleware } from '../../../companion/api/errors.ts';
import type { Logger, LogFields } from '../../../companion/logger.ts';

const servers: Array<{ close(): void }> = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

function recordingLogger() {
  const lines: Array<{ level: string; message: string; fields?: LogFields }> = [];
  const at = (level: string) => (_area: string, message: string, fields?: LogFields) => void lines.push({ level, message, fields });
  const log: Logger = { info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

async function serve(handler: Koa.Middleware, log: Logger): Promise<string> {
  const app = new Koa();
  app.silent = true;
  app.use(errorMiddleware(log));
  app.use(handler);
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('errorMiddleware', () => {
  it('answers an unexpected exception with a bare 500 and logs the stack, leaking nothing', async () => {
    const { log, lines } = recordingLogger();
    const url = await serve(() => {
      throw new Error('database file /secret/path is locked by key sk_live_123');
    }, log);
    const res = await fetch(`${url}/api/v1/anything`, { method: 'POST' });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'Internal error' });
    expect(text).not.toMatch(/secret|sk_live|Error:|at /);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('error');
    expect(String(lines[0]!.fields?.error)).toMatch(/database file/);
  });

  it('keeps the status, message and details of an expected failure', async () => {
    const { log, lines } = recordingLogger();
    const url = await serve(() => {
      throw new ApiError(409, 'Already there', { peer_id: 'abc' });
    }, log);
    const res = await fetch(`${url}/api/v1/x`);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: 'Already there', peer_id: 'abc' });
    expect(lines).toHaveLength(0);
  });

  it('answers an unknown API path with a JSON 404', async () => {
    const { log } = recordingLogger();
    const url = await serve(async () => {}, log);
    const res = await fetch(`${url}/api/v1/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'Not found', path: '/api/v1/nope' });
  });
});
