import { replaceState } from '$app/navigation';

/**
 * The setup code from a `?setup=` link (the companion prints one at start), read once when the app
 * loads. `forgetSetupLink` takes it out of the address bar, so it does not stay in the history or
 * travel with a copied URL.
 */
export const setupCodeFromLink: string | null =
  typeof location === 'undefined' ? null : new URL(location.href).searchParams.get('setup')?.trim() || null;

/** Called when the Setup or Login view mounts (the router is running by then). */
export function forgetSetupLink(): void {
  const url = new URL(location.href);
  if (!url.searchParams.has('setup')) return;
  url.searchParams.delete('setup');
  replaceState(url, history.state ?? {});
}
