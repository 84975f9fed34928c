// openapi.json: made from the route declarations (route.ts), the zod schemas that validate each
// request and the response schemas in schemas/. Served at GET /api/v1/openapi.json, read by the
// reference page (/api/docs, docs.ts) and by agents.
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { CANOPY_VERSION } from '../../protocol/version.ts';
import { MAX_BODY_BYTES } from './body.ts';
import { defineRoute, type Answer, type ApiRoute, type Tag } from './route.ts';
import { ErrorBody, MissingKey, NotFound, OriginRefused, PermissionRefused } from './schemas/common.ts';

export const API_PREFIX = '/api/v1';

const TAGS: Record<Tag, string> = {
  System: 'Health, version and this document',
  Peers: 'Your links and the peers you know',
  'Invites and requests': 'Invite codes, and strangers asking to link',
  Discovery: 'Peers on the LAN (mDNS)',
  Introductions: 'Peers your peers introduced',
  Relay: 'Relaying for others, and being relayed',
  Messages: 'Channels, posts and direct messages',
  Events: 'Live updates as Server-Sent Events',
  Keys: 'API keys',
  Profiles: 'Your profiles, and the signed cards of the mesh',
};

const DESCRIPTION = `The REST API of a Canopy companion, for agents and scripts (curl works).

**Keys.** Every route but a few open ones takes an API key in \`X-API-Key\` (or \`Authorization: Bearer <key>\`). Mint one with \`npx canopy keys create --data-dir <dir>\` (printed once) or \`POST /api/v1/keys\`. Each key holds permissions: \`read_messages\`, \`write_messages\`, \`view_peers\`, \`manage_peers\`, \`manage_keys\`. Each operation names the one it needs in its description and in \`x-required-permission\`: a permission name, \`null\` for a route anyone may call, or a list when any one of several will do. No key: 401. A key that is unknown, revoked, expired or without the permission: 403 with \`reason\` and \`required_permission\`.

**Errors** are JSON \`{"error": "..."}\`, some with more fields (\`peer_id\`, \`code\`, \`diagnostic_code\`, \`path\`). Bad JSON, missing fields or a bad query answer 400; a body over ${MAX_BODY_BYTES / 1024} KiB 413. Browsers may send state-changing requests only from the companion's own origin (403 otherwise).

\`/api/...\` answers the same as \`/api/v1/...\`.`;

/** `/p2p/requests/:peer_id/accept` → `/api/v1/p2p/requests/{peer_id}/accept`. */
export function openApiPath(koaPath: string): string {
  return API_PREFIX + koaPath.replace(/:([A-Za-z_]+)/g, '{$1}');
}

function permissionSentence(route: ApiRoute): string {
  if (typeof route.permission === 'string') return `Permission: \`${route.permission}\`.`;
  if (route.permission) return `Permission: any one of \`${route.permission.join('`, `')}\`.`;
  if (route.optionalPermission) return `No API key needed; a key with \`${route.optionalPermission}\` gets more.`;
  return 'No API key needed.';
}

const errorAnswer = (value: string | Answer, schema: z.ZodType): Answer => (typeof value === 'string' ? { description: value, schema } : value);

/**
 * Every answer a route can give, by status: its successes, the failures its declaration implies
 * (guard, body, query) and those it lists itself. The contract test checks real answers against these.
 */
export function documentedAnswers(route: ApiRoute): Record<number, Answer> {
  const { errors = {} } = route;
  const answers: Record<number, Answer> = { ...route.responses };
  const badRequest = [
    route.body && 'The body is missing, not a JSON object, or a field is invalid (`error` names it).',
    route.query && 'A query parameter is invalid.',
    typeof errors[400] === 'string' ? errors[400] : errors[400]?.description,
  ].filter(Boolean);
  if (badRequest.length) answers[400] = { description: badRequest.join(' '), schema: ErrorBody };
  if (route.permission) {
    answers[401] = { description: 'No API key', schema: MissingKey };
    answers[403] =
      route.method === 'get'
        ? { description: 'The key is invalid or lacks the permission', schema: PermissionRefused }
        : {
            description: 'The key is invalid or lacks the permission, or a browser page of another origin sent the request',
            schema: z.union([PermissionRefused, OriginRefused]),
          };
  }
  if (errors[404]) answers[404] = errorAnswer(errors[404], NotFound);
  if (route.body) answers[413] = { description: `The body is over ${MAX_BODY_BYTES} bytes`, schema: ErrorBody };
  for (const [status, value] of Object.entries(errors)) answers[Number(status)] ??= errorAnswer(value, ErrorBody);
  return answers;
}

function routeConfig(route: ApiRoute): RouteConfig {
  const path = openApiPath(route.path);
  const inPath = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((match) => match[1]).sort();
  const declared = Object.keys(route.params?.shape ?? {}).sort();
  if (inPath.join() !== declared.join()) throw new Error(`${route.method.toUpperCase()} ${path}: path parameters ${inPath.join()} but params declares ${declared.join()}`);
  if (route.query && !(route.query instanceof z.ZodObject)) throw new Error(`${route.method.toUpperCase()} ${path}: query must be a zod object`);
  const auth: Array<Record<string, string[]>> = [{ ApiKey: [] }, { Bearer: [] }];
  return {
    method: route.method,
    path,
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    description: `${route.description}\n\n${permissionSentence(route)}`,
    security: route.permission ? auth : route.optionalPermission ? [{}, ...auth] : [],
    'x-required-permission': route.permission,
    ...(route.optionalPermission ? { 'x-optional-permission': route.optionalPermission } : {}),
    request: {
      ...(route.params ? { params: route.params } : {}),
      ...(route.query ? { query: route.query as z.ZodObject } : {}),
      ...(route.body ? { body: { required: true, content: { 'application/json': { schema: route.body.schema } } } } : {}),
    },
    responses: Object.fromEntries(
      Object.entries(documentedAnswers(route)).map(([status, { description, schema, contentType = 'application/json' }]) => [
        status,
        { description, content: { [contentType]: { schema } } },
      ]),
    ),
  };
}

/** The OpenAPI 3.1 document of `routes`. */
export function openApiDocument(routes: readonly ApiRoute[]) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'ApiKey', { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (`canopy keys create`)' });
  registry.registerComponent('securitySchemes', 'Bearer', { type: 'http', scheme: 'bearer', description: 'The same API key as `Authorization: Bearer <key>`' });
  for (const route of routes) registry.registerPath(routeConfig(route));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Canopy companion API', version: CANOPY_VERSION, description: DESCRIPTION },
    // Relative: whichever address the document was read from (paths carry the /api/v1 prefix).
    servers: [{ url: '/', description: 'This companion' }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
  });
}

/** GET /openapi.json over `routes()` (which include this route), made on first request. */
export function openApiRoute(routes: () => readonly ApiRoute[]): ApiRoute {
  let document: ReturnType<typeof openApiDocument> | undefined;
  return defineRoute({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    tag: 'System',
    summary: 'This document',
    description: 'The OpenAPI 3.1 description of every route, made from the schemas that validate the requests. Read it as a page at /api/docs.',
    permission: null,
    responses: { 200: { description: 'An OpenAPI 3.1 document', schema: z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.record(z.string(), z.unknown()) }) } },
    handle: () => (document ??= openApiDocument(routes())),
  });
}
