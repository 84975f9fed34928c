/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * Offline shell: precaches the built app and static files, serves them cache-first, and answers
 * navigations with the cached '/' shell when the network is gone (the SPA routes from there).
 * Never touches /api/: the app link and the REST API always go to the companion.
 */
import { build, files, version } from '$service-worker';

const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `canopy-${version}`;
const SHELL = '/';
const PRECACHE = [...build, ...files, SHELL];
const precached = new Set(PRECACHE);

sw.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)));
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === 'SKIP_WAITING') void sw.skipWaiting();
});

async function fromCache(path: string): Promise<Response | undefined> {
  return (await caches.open(CACHE)).match(path);
}

async function navigate(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch (error) {
    const shell = await fromCache(SHELL);
    if (shell) return shell;
    throw error;
  }
}

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin || url.pathname.startsWith('/api/')) return;

  if (precached.has(url.pathname) && request.mode !== 'navigate') {
    event.respondWith(fromCache(url.pathname).then((cached) => cached ?? fetch(request)));
    return;
  }
  if (request.mode === 'navigate') event.respondWith(navigate(request));
  // Everything else goes to the network as usual.
});

/** A click on a message notification brings the app forward on that conversation (or opens it). */
sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = (event.notification.data as { url?: unknown } | null)?.url;
  // Only paths of this app: a notification's data is ours, but never follow it off-origin.
  const path = typeof target === 'string' && target.startsWith('/') && !target.startsWith('//') ? target : '/messages';
  event.waitUntil(
    (async () => {
      const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((client) => new URL(client.url).origin === sw.location.origin);
      if (!open) {
        await sw.clients.openWindow(path);
        return;
      }
      open.postMessage({ type: 'canopy:open', path });
      await open.focus();
    })(),
  );
});
