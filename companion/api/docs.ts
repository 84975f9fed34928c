// The API reference page at /api/v1/docs (and /api/docs through the alias): Swagger UI reading
// /api/v1/openapi.json, served from the swagger-ui-dist package on this machine. Nothing comes
// from another host (the CSP forbids it), so the page works offline and tells no CDN who reads it.
// Open like the document it shows; "Try it out" asks for an API key (Authorize) and sends it only
// to this companion.
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Koa from 'koa';

export const DOCS_PATH = '/api/v1/docs';

// Scripts and styles are files of ours; Swagger UI styles elements through the DOM, which CSP allows.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Canopy API reference</title>
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png">
</head>
<body>
<main id="swagger-ui"><noscript>The reference needs JavaScript; the document itself is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript></main>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

// validatorUrl null: by default Swagger UI sends the document to validator.swagger.io.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

const ASSET_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

interface Served {
  type: string;
  cache: string;
  body: () => Koa.Context['body'];
  headers?: Record<string, string>;
}

const page: Served = {
  type: 'text/html; charset=utf-8',
  cache: 'no-cache',
  body: () => PAGE,
  headers: { 'Content-Security-Policy': CSP, 'Referrer-Policy': 'no-referrer' },
};
// swagger-ui-dist files are not content-hashed: revalidated after an hour rather than cached for good.
const asset = (name: string, type: string): [string, Served] => [
  `${DOCS_PATH}/${name}`,
  { type, cache: 'public, max-age=3600', body: () => createReadStream(join(ASSET_DIR, name)) },
];

/** Everything the page needs, by path; nothing else of swagger-ui-dist is served. */
const FILES = new Map<string, Served>([
  [DOCS_PATH, page],
  [`${DOCS_PATH}/`, page],
  [`${DOCS_PATH}/init.js`, { type: 'text/javascript; charset=utf-8', cache: 'no-cache', body: () => INIT }],
  asset('swagger-ui.css', 'text/css; charset=utf-8'),
  asset('swagger-ui-bundle.js', 'text/javascript; charset=utf-8'),
  asset('favicon-32x32.png', 'image/png'),
]);

export function serveApiDocs(): Koa.Middleware {
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? FILES.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', file.cache);
    for (const [name, value] of Object.entries(file.headers ?? {})) ctx.set(name, value);
    ctx.type = file.type;
    ctx.body = file.body();
  };
}
