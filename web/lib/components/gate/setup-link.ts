/**
 * The setup code from a `?setup=` link (the companion prints one at start). Read once when the app
 * loads and taken out of the address bar at once, so it does not stay in the history or travel
 * with a copied URL.
 */
export const setupCodeFromLink: string | null = takeSetupCode();

function takeSetupCode(): string | null {
  if (typeof location === 'undefined') return null;
  const url = new URL(location.href);
  const code = url.searchParams.get('setup');
  if (code === null) return null;
  url.searchParams.delete('setup');
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
  return code.trim() || null;
}
