// Every REST route is declared once, as data: method, path, permission, request schemas, answers
// and the handler. The Koa router and openapi.json are both made from these declarations
// (mountRoutes here, documentRoutes in openapi.ts), so a route cannot exist undocumented, and
// the schemas that validate a request are the ones its documentation shows.
import type Koa from 'koa';
import type Router from '@koa/router';
import type { z } from 'zod';
import type { Permission } from '../service/permissions.ts';
import type { ApiDependencies } from './app.ts';
import { requirePermission } from './auth.ts';
import { jsonBody } from './body.ts';
import { ApiError } from './errors.ts';

export type Method = 'get' | 'post' | 'delete';

/** Tags group the reference page; their descriptions live in openapi.ts. */
export type Tag = 'System' | 'Peers' | 'Invites and requests' | 'Discovery' | 'Introductions' | 'Relay' | 'Messages' | 'Events' | 'Keys' | 'Profiles';

export interface Answer {
  description: string;
  schema: z.ZodType;
  /** Default `application/json`; a stream says `text/event-stream`. */
  contentType?: string;
}

export interface RouteDeclaration<Body, Query> {
  method: Method;
  /** Under /api/v1, Koa style: `:name` for a path parameter. */
  path: string;
  operationId: string;
  tag: Tag;
  summary: string;
  description: string;
  /** The one permission a key needs (or a list: any one of them will do), or null for a route anyone may call. */
  permission: Permission | readonly Permission[] | null;
  /** A route open to all that answers more to a key holding this permission (GET /info). */
  optionalPermission?: Permission;
  /** Path parameters, for the documentation (the router hands them over as text). */
  params?: z.ZodObject;
  query?: z.ZodType<Query>;
  /** `missing`: the 400 message for an absent or non-JSON body (see jsonBody). */
  body?: { schema: z.ZodType<Body>; missing?: string };
  /** Success answers by status. */
  responses: { [status: number]: Answer };
  /** Failures the route itself answers (400 for a bad body or query, 401, 403 and 413 are added from the declaration). */
  errors?: { [status: number]: string | Answer };
  /**
   * Returns the JSON body; sets ctx.status itself when the answer is not 200. A stream answers
   * on its own and sets `ctx.respond = false`.
   */
  handle(ctx: Koa.Context, input: { body: Body; query: Query }, deps: ApiDependencies): unknown;
}

// Handlers see their own Body and Query types; a list of routes holds them all.
export type ApiRoute = RouteDeclaration<any, any>;

/** Checks the declaration's types (body and query flow into handle) and returns it as a route. */
export function defineRoute<Body = undefined, Query = undefined>(route: RouteDeclaration<Body, Query>): ApiRoute {
  return route;
}

function parseQuery<Query>(schema: z.ZodType<Query>, query: unknown): Query {
  const result = schema.safeParse(query);
  if (!result.success) throw new ApiError(400, result.error.issues[0]?.message ?? 'Invalid query');
  return result.data;
}

/** Registers each route on `router`: the permission guard, then query and body validation, then the handler. */
export function mountRoutes(router: Router, routes: readonly ApiRoute[], deps: ApiDependencies): void {
  for (const route of routes) {
    const handler: Koa.Middleware = async (ctx) => {
      const query = route.query ? parseQuery(route.query, ctx.query) : undefined;
      const body = route.body ? await jsonBody(ctx, route.body.schema, route.body.missing) : undefined;
      const answer = await route.handle(ctx, { body, query }, deps);
      if (ctx.respond !== false) ctx.body = answer;
    };
    const guard = route.permission ? [requirePermission(deps.store.apiKeys, route.permission) as Koa.Middleware] : [];
    router[route.method](route.path, ...guard, handler);
  }
}
