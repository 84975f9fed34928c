import { openApiRoute } from '../openapi.ts';
import type { ApiRoute } from '../route.ts';
import { eventRoutes } from './events.ts';
import { keyRoutes } from './keys.ts';
import { meshRoutes } from './mesh.ts';
import { messageRoutes } from './messages.ts';
import { p2pRoutes } from './p2p.ts';
import { profileRoutes } from './profile.ts';
import { systemRoutes } from './system.ts';

/** Every REST route under /api/v1, each declared once (route.ts), openapi.json among them. */
export const API_ROUTES: readonly ApiRoute[] = [
  ...systemRoutes,
  ...p2pRoutes,
  ...meshRoutes,
  ...messageRoutes,
  ...eventRoutes,
  ...keyRoutes,
  ...profileRoutes,
  openApiRoute(() => API_ROUTES),
];
