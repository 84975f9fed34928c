import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/index.ts';
import type { KeyService } from '../service/key-service.ts';
import type { MessageService } from '../service/message-service.ts';
import type { NetworkService } from '../service/network-service.ts';
import type { RelayService } from '../service/relay-service.ts';
import type { PeerManagement } from '../service/peer-management.ts';
import type { IntroductionService } from '../service/introduction-service.ts';
import type { ProfileService } from '../service/profile-service.ts';
import type { ProfileDirectory } from '../service/profile-directory.ts';
import type { EventFeed } from '../service/event-feed.ts';
import type { EventStreams } from './event-stream.ts';
import { errorMiddleware } from './errors.ts';
import { refuseForeignOrigins, type OriginPolicy } from './origin.ts';
import { serveApiDocs } from './docs.ts';
import { mountRoutes } from './route.ts';
import { API_ROUTES } from './routes/index.ts';
import { serveWebApp } from './static.ts';

export interface ApiDependencies {
  store: Store;
  network: NetworkService;
  relay: RelayService;
  peerManagement: PeerManagement;
  introductions: IntroductionService;
  messages: MessageService;
  keys: KeyService;
  profiles: ProfileService;
  profileCards: ProfileDirectory;
  feed: EventFeed;
  eventStreams: EventStreams;
  deviceId: string;
  log: Logger;
  buildDir: string;
  origins: OriginPolicy;
}

const QUIET_ERRORS = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE']);

/**
 * `/api/<route>` answers as `/api/v1/<route>`, as the original Canopy's API does, so scripts
 * written for it keep working. Only the path changes: method, key and body go through unchanged.
 */
const unversionedAlias: Koa.Middleware = async (ctx, next) => {
  if (ctx.path.startsWith('/api/') && !ctx.path.startsWith('/api/v1/') && ctx.path !== '/api/v1') ctx.path = `/api/v1${ctx.path.slice(4)}`;
  await next();
};

/** The HTTP side of the companion: REST under /api/v1 and the built web app for everything else. */
export function createApiApp(deps: ApiDependencies): Koa {
  const app = new Koa();
  app.silent = true;
  app.on('error', (error: NodeJS.ErrnoException) => {
    if (!QUIET_ERRORS.has(error.code ?? '')) deps.log.error('http', 'server error', { error: error.message });
  });
  const api = new Router({ prefix: '/api/v1' });
  mountRoutes(api, API_ROUTES, deps);
  app.use(errorMiddleware(deps.log));
  app.use(unversionedAlias);
  app.use(refuseForeignOrigins(deps.origins, deps.log));
  app.use(serveApiDocs());
  app.use(api.routes());
  app.use(api.allowedMethods({ throw: false }));
  app.use(serveWebApp(deps.buildDir));
  return app;
}
