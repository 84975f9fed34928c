import type { ClientRequest, IncomingMessage } from 'node:http';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// `vite dev` serves the web app on :5173 and forwards the API and the app link (WebSocket) to a
// companion running on the default port (`npm start`).
const companion = process.env.CANOPY_DEV_COMPANION ?? 'http://127.0.0.1:7770';

// The companion accepts browser requests only from its own origin (companion/api/origin.ts), and
// pages served here have another one. The proxy vouches for its own pages only — an Origin that is
// this dev server on a loopback name — by presenting them as the companion's; any other page's
// Origin goes through unchanged and is refused there.
const LOOPBACK_HOST = /^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$/i;
function vouchForOwnPages(proxyReq: ClientRequest, req: IncomingMessage): void {
  const { origin, host } = req.headers;
  if (origin && host && LOOPBACK_HOST.test(host) && origin === `http://${host}`) {
    proxyReq.setHeader('origin', new URL(companion).origin);
  }
}

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      '/api': {
        target: companion,
        ws: true,
        changeOrigin: true,
        configure: (proxy) => {
          proxy.on('proxyReq', vouchForOwnPages);
          proxy.on('proxyReqWs', vouchForOwnPages);
        },
      },
    },
  },
});
