// Serves the built web app (build/, from `vite build` + adapter-static) next to the REST API.
//
// - Only GET/HEAD requests outside /api/ are handled; everything else goes to the next middleware.
// - SPA fallback: a path with no file behind it gets index.html, so deep links work. Missing
//   build assets (/_app/..., *.js, *.css, images, ...) stay a real 404: answering those with HTML
//   would only hide a stale or broken build.
// - Caching: /_app/immutable/ is content-hashed, so it is cached for a year; index.html and
//   service-worker.js are `no-cache` so a rebuilt app is picked up at once; the rest revalidates.
// - Path traversal is refused by @koa/send (403), undecodable paths get 400.
// - With no build at all, the answer is a 503 that says how to build it.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { send } from '@koa/send';
import type Koa from 'koa';

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

/** Paths that name a build asset; when such a file is missing the answer is 404, not the app shell. */
const ASSET_PATH =
  /^\/_app\/|\.(?:m?js|css|map|json|webmanifest|png|jpe?g|gif|webp|avif|svg|ico|woff2?|ttf|otf|wasm|txt|xml)$/i;

const NO_CACHE = new Set(['/', '/index.html', '/service-worker.js']);

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const s = typeof status === 'number' ? status : statusCode;
  return typeof s === 'number' ? s : undefined;
}

export function serveWebApp(buildDir: string): Koa.Middleware {
  const root = resolve(buildDir);
  const indexFile = join(root, 'index.html');

  return async (ctx, next) => {
    const { path } = ctx;
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || path === '/api' || path.startsWith('/api/')) {
      return next();
    }

    if (!existsSync(indexFile)) {
      ctx.status = 503;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Retry-After', '10');
      ctx.body = 'Web app not built: run npm run build\n';
      return;
    }

    const immutable = path.startsWith('/_app/immutable/');
    let served: string | undefined;
    try {
      served = await send(ctx, path, {
        root,
        index: 'index.html',
        immutable,
        maxage: immutable ? YEAR_MS : 0,
        setHeaders: (res, file) => {
          if (NO_CACHE.has(path) || file === indexFile) res.setHeader('Cache-Control', 'no-cache');
        },
      });
    } catch (err) {
      const status = statusOf(err);
      if (status === 400 || status === 403) {
        ctx.status = status;
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = status === 403 ? 'Forbidden\n' : 'Bad request path\n';
        return;
      }
      if (status !== 404) throw err;
    }
    if (served !== undefined) {
      ctx.set('X-Content-Type-Options', 'nosniff');
      return;
    }

    // Nothing behind this path (or a hidden dotfile): the SPA shell handles it, unless it names an asset.
    if (ASSET_PATH.test(path)) {
      ctx.status = 404;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'Not found\n';
      return;
    }
    await send(ctx, 'index.html', { root, index: false });
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
  };
}
