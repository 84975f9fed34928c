import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// `vite dev` serves the web app on :5173 and forwards the API and the app link (WebSocket) to a
// companion running on the default port (`npm start`).
const companion = process.env.CANOPY_DEV_COMPANION ?? 'http://127.0.0.1:7770';

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      '/api': { target: companion, ws: true, changeOrigin: true },
    },
  },
});
