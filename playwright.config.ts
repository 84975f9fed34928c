import { defineConfig, devices } from '@playwright/test';

// Browser tests drive Debian's Chromium (`apt-get install chromium`), not a downloaded browser.
// There is no `webServer`: every test starts its own companion(s) with tests/e2e/helpers/instance.ts.
// Reports go to reports/, never test-results/ (Playwright empties that folder on start).
export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  retries: 0,
  workers: 1,
  fullyParallel: false,
  // A forgotten `.only` silently skips every other test: refuse it everywhere, not only in CI.
  forbidOnly: true,
  reporter: [['list'], ['json', { outputFile: 'reports/e2e.json' }]],
  use: {
    ...devices['Desktop Chrome'],
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
  },
});
