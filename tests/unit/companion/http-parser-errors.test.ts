// What Node's HTTP parser refuses before Koa runs (malformed requests, oversized headers) still
// gets a JSON `{"error"}` answer, as every other error does.
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLimitedServer, DEFAULT_SOCKET_LIMITS } from '../../../companion/http-server.ts';
import type { Logger } from '../../../companion/logger.ts';

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const servers: Array<{ close(): void }> = [];
afterEach(() => servers.splice(0).forEach((server) => server.close()));

async function rawExchange(request: string): Promise<{ status: number; contentType: string; body: string }> {
  const server = createLimitedServer('web', DEFAULT_SOCKET_LIMITS, quiet, (_req, res) => res.end('ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  socket.on('error', () => {});
  socket.write(request);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  await new Promise((resolve) => socket.on('close', resolve));
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
    contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '',
    body,
  };
}

describe('HTTP parser errors', () => {
  it('answers a malformed request with 400 and a JSON error', async () => {
    const answer = await rawExchange('NOT HTTP AT ALL\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.contentType).toBe('application/json');
    expect(JSON.parse(answer.body)).toEqual({ error: 'Malformed HTTP request' });
  });

  it('answers headers over the limit with 431 and a JSON error', async () => {
    const answer = await rawExchange(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toEqual({ error: 'Request headers too large' });
  });
});
