// Page-level steps shared by the browser tests: account setup and login, connecting two
// instances through the Connect page, sending and finding messages, screenshots.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContextOptions, Locator, Page } from '@playwright/test';
import { apiClient, createKey } from '../../helpers/api.ts';
import { readSetupCode } from '../../helpers/app-client.ts';
import type { Instance } from '../../helpers/instance.ts';
import { expect, startedInstance, type Canopy } from './fixtures.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SCREENSHOT_DIR = join(ROOT, 'reports', 'screenshots');

export const USERNAME = 'alice';
export const PASSWORD = 'correct horse battery';

/** Long enough for a mesh reconnect (backoff 2 s, 4 s, 8 s, … plus jitter) after a companion restart. */
export const RECONNECT_TIMEOUT = 45_000;

export interface Credentials {
  username?: string;
  password?: string;
}

/** The app shell is up: the Messages page with its conversation list (visible on phones too). */
export async function expectShell(page: Page): Promise<void> {
  await expect(page.getByTestId('channel-general')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('setup-username')).toHaveCount(0);
  await expect(page.getByTestId('login-username')).toHaveCount(0);
}

/**
 * First visit on a fresh instance, as the owner does it: the setup link the companion printed
 * (`/?setup=<code>`) opens the Setup view with the code filled in (and gone from the address bar);
 * create the account, land in the app shell.
 */
export async function setupAccount(page: Page, url: string, { username = USERNAME, password = PASSWORD }: Credentials = {}): Promise<void> {
  const code = await readSetupCode(startedInstance(url).dataDir);
  await page.goto(`${url}/?setup=${encodeURIComponent(code)}`);
  await expect(page.getByRole('heading', { name: 'Welcome to Canopy' })).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('setup-code')).toHaveValue(code);
  expect(page.url()).not.toContain('setup=');
  await page.getByTestId('setup-username').fill(username);
  await page.getByTestId('setup-password').fill(password);
  await page.getByTestId('setup-confirm').fill(password);
  // Enabled once the app link (Noise over WebSocket) is open.
  await expect(page.getByTestId('setup-submit')).toBeEnabled({ timeout: 20_000 });
  await page.getByTestId('setup-submit').click();
  await expectShell(page);
  await expect(page).toHaveURL(/\/messages/);
}

/** The Login view (another browser on an instance that has its account), then log in. */
export async function login(page: Page, url: string, { username = USERNAME, password = PASSWORD }: Credentials = {}): Promise<void> {
  await page.goto(url);
  await expect(page.getByRole('heading', { name: 'Log in to Canopy' })).toBeVisible({ timeout: 20_000 });
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await expect(page.getByTestId('login-submit')).toBeEnabled({ timeout: 20_000 });
  await page.getByTestId('login-submit').click();
  await expectShell(page);
}

/** The companion's peer id (GET /api/v1/p2p/status needs no key). */
export async function peerIdOf(instance: Instance): Promise<string> {
  const response = await fetch(`${instance.url}/api/v1/p2p/status`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { peer_id: string };
  return body.peer_id;
}

/** `from` imports `to`'s invite over REST and is connected. */
export async function linkOverRest(from: Instance, to: Instance): Promise<void> {
  const invite = (await apiClient(to.url, await createKey(to.dataDir)).get('/p2p/invite')).body;
  const imported = await apiClient(from.url, await createKey(from.dataDir)).post('/p2p/invite/import', { invite_code: invite.invite_code });
  expect(imported.body.status).toBe('connected');
}

/** The fingerprint the companion printed at start ("Key fingerprint: xxxx xxxx …"). */
export function printedFingerprint(instance: Instance): string {
  const match = /Key fingerprint:\s+((?:[0-9a-f]{4} ){7}[0-9a-f]{4})/.exec(instance.output());
  if (!match) throw new Error(`the companion did not print its key fingerprint:\n${instance.output()}`);
  return match[1]!;
}

/** Navigates inside the SPA with the sidebar (opening the menu first on narrow screens). */
export async function navigate(page: Page, to: 'connect' | 'messages' | 'settings' | 'keys'): Promise<void> {
  const link = page.getByTestId(`nav-${to}`);
  const menu = page.getByTestId('menu-button');
  // A closed drawer is judged by its button, not by the link: right after the window narrows, the
  // sidebar is still sliding away and its links count as visible for 0.2 s.
  const drawerClosed = (await menu.isVisible()) && (await menu.getAttribute('aria-expanded')) === 'false';
  if (drawerClosed || !(await link.isVisible())) {
    // In a conversation on a phone the chat's header replaces the top bar and its menu: back first.
    const back = page.getByRole('link', { name: 'All conversations' });
    if (await back.isVisible()) await back.click();
    await page.getByTestId('menu-button').click();
    await expect(link).toBeVisible();
  }
  await link.click();
  await expect(page).toHaveURL(new RegExp(`/${to}(\\?|$)`));
}

/** This browser's invite code, as shown in the read-only box on the Connect page. */
export async function readInviteCode(page: Page): Promise<string> {
  const box = page.getByTestId('invite-code');
  await expect(box).toHaveValue(/\S{20,}/, { timeout: 20_000 });
  return box.inputValue();
}

/**
 * Connects B to A through the Connect pages: copies A's invite code from A's page, pastes it
 * into B's import box and clicks Connect; then both list the other as connected, Direct.
 */
export async function connectPeers(
  pageA: Page,
  pageB: Page,
  ids: { a: string; b: string },
): Promise<void> {
  await navigate(pageA, 'connect');
  const code = await readInviteCode(pageA);

  await navigate(pageB, 'connect');
  await pageB.getByTestId('import-code').fill(code);
  await expect(pageB.getByTestId('import-submit')).toBeEnabled();
  await pageB.getByTestId('import-submit').click();
  await expect(pageB.getByTestId('import-result')).toContainText('Connected to', { timeout: 20_000 });

  await expectConnected(pageB, ids.a);
  await expectConnected(pageA, ids.b);
}

/** On the Connect page: `peerId` is under Connected Peers with a Direct badge. */
export async function expectConnected(page: Page, peerId: string, timeout = 20_000): Promise<void> {
  const row = page.getByTestId('connected-peers').getByTestId(`peer-${peerId}`);
  await expect(row).toBeVisible({ timeout });
  await expect(row.getByTestId('badge-direct')).toHaveText('Direct');
}

/** Opens a conversation from the Messages page's list: 'general', or a DM with `peer`. */
export async function openConversation(page: Page, target: { channel: 'general' } | { peer: string }): Promise<void> {
  if (!page.url().includes('/messages')) await navigate(page, 'messages');
  if ('channel' in target) {
    await page.getByTestId('channel-general').click();
    await expect(page.getByTestId('chat-title')).toHaveText('# general');
    return;
  }
  // An existing conversation, or "Start a conversation" for a connected peer without one.
  const link = page.getByTestId(`dm-${target.peer}`).or(page.getByTestId(`new-dm-${target.peer}`)).first();
  await expect(link).toBeVisible({ timeout: 20_000 });
  await link.click();
  await expect(page).toHaveURL(/[?&]c=dm(%3A|:)/);
}

/** Types in the composer and presses Send; the composer empties once the outbox has the message. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await page.getByTestId('send-button').click();
  await expect(composer).toHaveValue('');
}

/** The message row (article) whose text is exactly `text`. */
export function messageRow(page: Page, text: string): Locator {
  return page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
}

export function deliveryState(page: Page, text: string): Locator {
  return messageRow(page, text).getByTestId('delivery-state');
}

/** The service worker controls the page, so a reload works with the companion gone. */
export async function waitForServiceWorker(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 });
}

/**
 * Saves reports/screenshots/<name>.png (Playwright empties test-results/, so not there). The app
 * shell scrolls inside its main pane, so a "full page" shot would stop at the viewport: with
 * `tall` the viewport grows to the pane's content for the shot, then comes back.
 */
export async function screenshot(page: Page, name: string, { tall = true }: { tall?: boolean } = {}): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  const size = page.viewportSize();
  const needed = tall
    ? await page.evaluate(() => {
        const main = document.querySelector('.main');
        const height = main ? main.getBoundingClientRect().top + main.scrollHeight : document.documentElement.scrollHeight;
        return Math.ceil(Math.min(height, 4000));
      })
    : 0;
  if (!size || needed <= size.height) {
    await page.screenshot({ path });
    return;
  }
  await page.setViewportSize({ width: size.width, height: needed });
  try {
    await page.screenshot({ path });
  } finally {
    await page.setViewportSize(size);
  }
}

/** The document itself never scrolls: the shell keeps everything inside its panes. */
export async function expectNoPageScroll(page: Page): Promise<void> {
  const size = await page.evaluate(() => ({
    width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    innerWidth,
    innerHeight,
  }));
  expect(size.width, 'page is wider than the viewport').toBeLessThanOrEqual(size.innerWidth);
  expect(size.height, 'page is taller than the viewport').toBeLessThanOrEqual(size.innerHeight);
}

export interface Side {
  instance: Instance;
  page: Page;
  peerId: string;
}

/**
 * Two companions, one browser context each, accounts set up, B connected to A through the
 * Connect pages. Both pages are left on their Connect page.
 */
export async function twoConnectedUsers(
  canopy: Canopy,
  options: { pageOptions?: BrowserContextOptions } = {},
): Promise<{ a: Side; b: Side }> {
  const [instanceA, instanceB] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const [userA, userB] = await Promise.all([canopy.newUser(options.pageOptions), canopy.newUser()]);
  await Promise.all([setupAccount(userA.page, instanceA.url), setupAccount(userB.page, instanceB.url, { username: 'bob' })]);
  const [peerA, peerB] = await Promise.all([peerIdOf(instanceA), peerIdOf(instanceB)]);
  await connectPeers(userA.page, userB.page, { a: peerA, b: peerB });
  return {
    a: { instance: instanceA, page: userA.page, peerId: peerA },
    b: { instance: instanceB, page: userB.page, peerId: peerB },
  };
}
