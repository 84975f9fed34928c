import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWebApp } from '../../../companion/api/static.ts';

const INDEX = '<!doctype html><title>Canopy</title><div id="app"></div>';
const ASSET = 'console.log("canopy");';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Raw HTTP request: unlike fetch, it sends the path exactly as written (no `..` normalising). */
function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolvePromise({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(app: Koa): Promise<{ server: Server; port: number }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function close(server: Server): Promise<void> {
  return new Promise((ok) => server.close(() => ok()));
}

describe('serveWebApp', () => {
  let tmp: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'canopy-static-'));
    const build = join(tmp, 'build');
    mkdirSync(join(build, '_app', 'immutable', 'chunks'), { recursive: true });
    writeFileSync(join(build, 'index.html'), INDEX);
    writeFileSync(join(build, '_app', 'immutable', 'chunks', 'app.abc123.js'), ASSET);
    writeFileSync(join(build, 'manifest.webmanifest'), '{"name":"Canopy"}');
    writeFileSync(join(build, 'service-worker.js'), 'self.addEventListener("fetch", () => {});');
    writeFileSync(join(tmp, 'secret.txt'), 'outside the build dir');

    const app = new Koa();
    app.silent = true;
    app.use(serveWebApp(build));
    ({ server, port } = await listen(app));
  });

  afterAll(async () => {
    await close(server);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('serves a built asset with immutable caching', async () => {
    const res = await get(port, '/_app/immutable/chunks/app.abc123.js');
    expect(res.status).toBe(200);
    expect(res.body).toBe(ASSET);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('max-age=31536000,immutable');
  });

  it('serves index.html at / with no-cache', async () => {
    const res = await get(port, '/');
    expect(res.status).toBe(200);
    expect(res.body).toBe(INDEX);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('marks service-worker.js no-cache', async () => {
    const res = await get(port, '/service-worker.js');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('answers a deep link with the SPA shell', async () => {
    const res = await get(port, '/messages/some-channel?x=1');
    expect(res.status).toBe(200);
    expect(res.body).toBe(INDEX);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await get(port, '/settings', 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toBe('');
  });

  it('keeps a missing build asset a 404 instead of the shell', async () => {
    const res = await get(port, '/_app/immutable/chunks/gone.js');
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('<title>Canopy');
  });

  it('passes /api/ paths through to the next middleware', async () => {
    const res = await get(port, '/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('<title>Canopy');
    const bare = await get(port, '/api');
    expect(bare.status).toBe(404);
    expect(bare.body).not.toContain('<title>Canopy');
  });

  it('passes non-GET methods through', async () => {
    const res = await get(port, '/', 'POST');
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('<title>Canopy');
  });

  it('blocks path traversal', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/_app/..%2f..%2fsecret.txt']) {
      const res = await get(port, path);
      expect(res.status, path).toBe(403);
      expect(res.body, path).not.toContain('outside the build dir');
    }
  });

  it('answers 503 with a hint when the build is missing', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(serveWebApp(join(tmp, 'no-such-build')));
    const other = await listen(app);
    try {
      const res = await get(other.port, '/');
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/text\/plain/);
      expect(res.body).toContain('Web app not built: run npm run build');
      expect((await get(other.port, '/api/v1/p2p/status')).status).toBe(404);
    } finally {
      await close(other.server);
    }
  });
});
