/**
 * Registers web/service-worker.ts (built by SvelteKit) with workbox-window. Service workers exist
 * only on secure origins (localhost, https): opened over http://<LAN IP> the app runs without one,
 * and `new Workbox()` would throw there, so check first.
 */
import { dev } from '$app/environment';

export async function registerServiceWorker(): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  try {
    const { Workbox } = await import('workbox-window');
    // In dev Kit serves the worker as an ES module; the build bundles it as a classic script.
    const wb = new Workbox('/service-worker.js', { type: dev ? 'module' : 'classic' });
    // A new version takes over at once; the next navigation uses the fresh shell.
    wb.addEventListener('waiting', () => wb.messageSkipWaiting());
    await wb.register();
  } catch (error) {
    console.warn('Canopy: service worker not registered:', error);
  }
}

/** The service worker asks the app to show a conversation (a notification was clicked); returns the unsubscribe. */
export function onServiceWorkerOpen(open: (path: string) => void): () => void {
  const container = navigator.serviceWorker;
  if (!container) return () => {};
  const listener = (event: MessageEvent) => {
    const data = event.data as { type?: unknown; path?: unknown } | null;
    if (data?.type === 'canopy:open' && typeof data.path === 'string' && data.path.startsWith('/') && !data.path.startsWith('//')) open(data.path);
  };
  container.addEventListener('message', listener);
  return () => container.removeEventListener('message', listener);
}
