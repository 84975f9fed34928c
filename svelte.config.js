import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  // Runes for our own components only; libraries in node_modules keep whatever mode they were written in.
  compilerOptions: {
    runes: ({ filename }) => (filename.split(/[/\\]/).includes('node_modules') ? undefined : true),
  },
  kit: {
    // SPA: build/index.html is the shell the companion falls back to for every deep link.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    // The web app lives in web/ (not src/), next to companion/ and protocol/.
    files: {
      assets: 'static',
      hooks: { client: 'web/hooks.client', server: 'web/hooks.server', universal: 'web/hooks' },
      lib: 'web/lib',
      params: 'web/params',
      routes: 'web/routes',
      serviceWorker: 'web/service-worker',
      appTemplate: 'web/app.html',
      errorTemplate: 'web/error.html',
    },
    // Registered by our own code (workbox-window) once the service worker exists.
    serviceWorker: { register: false },
    typescript: {
      // svelte-check covers the web app (and whatever it imports, e.g. protocol/); protocol, companion
      // and tests are checked by `tsc -p tsconfig.node.json` with Node's types instead.
      config(config) {
        const include = (config.include ?? []).filter((p) => !/^\.\.\/(src|test|tests)\//.test(p));
        for (const ext of ['js', 'ts', 'svelte']) {
          if (!include.includes(`../web/**/*.${ext}`)) include.push(`../web/**/*.${ext}`);
        }
        config.include = include;
        return config;
      },
    },
  },
};
