/// <reference lib="dom" />
// Measurement 5b: a browser logs in to a companion that holds 100,000 messages, and we time the
// login until the newest message is on screen, against the same with a companion holding one.
import { chromium, type Browser } from '@playwright/test';
import { startCompanion } from '../../companion/node.ts';
import { ensureSetupCode } from '../../companion/service/setup-code.ts';
import { fillDataDir, postContent } from './catch-up.ts';
import { freePort, HOST, now, scaledTargetStatus, type Row, type TempDirs } from './harness.ts';

export const FIRST_PAINT_MESSAGES = Number(process.env.CANOPY_BENCH_FIRST_PAINT ?? 100_000);
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'];
const USERNAME = 'bench';
const PASSWORD = 'benchmark password';

/** ms from "Log in" to the newest of `count` stored messages on screen, in a browser that never saw this companion. */
async function loginToNewest(browser: Browser, dirs: TempDirs, count: number): Promise<number> {
  const dataDir = dirs.make(`first-paint-${count}`);
  await fillDataDir(dataDir, count);
  const port = await freePort();
  const companion = await startCompanion({ host: HOST, port, meshPort: await freePort(), dataDir, relayPolicy: 'broker_only', quiet: true, discovery: false });
  const url = `http://${HOST}:${port}`;
  try {
    // The owner's account, made in a first browser profile (the Setup page also caches the app).
    const owner = await browser.newContext();
    const setup = await owner.newPage();
    await setup.goto(`${url}/?setup=${ensureSetupCode(companion.store)}`);
    await setup.getByTestId('setup-username').fill(USERNAME);
    await setup.getByTestId('setup-password').fill(PASSWORD);
    await setup.getByTestId('setup-confirm').fill(PASSWORD);
    await setup.getByTestId('setup-submit').click();
    await setup.waitForURL(/\/messages/);
    await owner.close();

    // A second browser profile: empty IndexedDB, as on a new phone.
    const fresh = await browser.newContext();
    const page = await fresh.newPage();
    await page.goto(url);
    await page.getByTestId('login-username').fill(USERNAME);
    await page.getByTestId('login-password').fill(PASSWORD);
    const newest = page.getByTestId('message-text').filter({ hasText: new RegExp(`#${count - 1}$`) });
    const started = now();
    await page.getByTestId('login-submit').click();
    await newest.waitFor({ timeout: 120_000 });
    const elapsed = now() - started;
    await fresh.close();
    return elapsed;
  } finally {
    await companion.close();
  }
}

export async function benchFirstPaint(dirs: TempDirs, bareWsRate: number): Promise<Row[]> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const baseline = await loginToNewest(browser, dirs, 1);
    const canopy = await loginToNewest(browser, dirs, FIRST_PAINT_MESSAGES);
    return [
      {
        section: '5b. first paint after login (Debian Chromium, real companion, empty browser profile)',
        measurement: `log in -> newest of ${FIRST_PAINT_MESSAGES.toLocaleString('en-US')} stored messages on screen`,
        unit: 'ms',
        canopy,
        baseline,
        baselineName: 'same, 1 message stored',
        detail: `a new browser profile logs in (password check included) and opens #general; the replica starts from the newest rows of each conversation (messages.recent), older history comes when scrolled to; ${scaledTargetStatus(canopy, 1000, 'ms', false, bareWsRate)}`,
      },
    ];
  } finally {
    await browser.close();
  }
}
