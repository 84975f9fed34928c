// Single-page app: everything renders in the browser, the companion serves build/index.html for
// every route (SPA fallback).
export const ssr = false;
export const prerender = false;
