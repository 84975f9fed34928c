// Issue 9, items 1, 2, 3 and 8: what makes Canopy behave like the messengers people know.
// - New messages are noticed: unread counts and bold rows, the Messages nav badge, "(N)" in the
//   tab title, a "New messages" divider, a "↓ N new" pill when scrolled up; read when seen, and
//   the read state survives a reload (IndexedDB).
// - Opt-in notifications for DMs and mentions while the tab is hidden, through the service worker.
// - The link to your own companion: back within seconds after a restart, "Retry now", and peers
//   shown as "unknown" instead of green while the companion is unreachable.
// - Chat: grouped runs, day dividers, safe clickable links, copy and reply, keyboard.
import type { Page } from '@playwright/test';
import { createKey, apiClient } from '../helpers/api.ts';
import { expect, test } from './helpers/fixtures.ts';
import { messageRow, navigate, openConversation, screenshot, sendMessage, twoConnectedUsers, waitForServiceWorker, type Side } from './helpers/app.ts';

test.describe.configure({ timeout: 120_000 });

/** B's companion sends `count` DMs to A over B's REST API (as an agent would), numbered. */
async function dmsFromB(b: Side, to: string, prefix: string, count: number): Promise<void> {
  const api = apiClient(b.instance.url, await createKey(b.instance.dataDir, 'write_messages'));
  for (let i = 1; i <= count; i++) {
    const sent = await api.post('/p2p/send', { content: `${prefix} ${i}`, peer_id: to });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  }
}

/** Makes the page believe its tab is hidden (a real headless tab is always "visible"). */
async function hideTab(page: Page): Promise<void> {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

test('new messages are noticed, and read once seen', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy);
  const page = a.page;
  await expect(page).toHaveTitle(/^Connect · Canopy$/);

  // Two DMs arrive while A is on the Connect page.
  await dmsFromB(b, a.peerId, 'Unread hello', 2);
  await expect(page.getByTestId('nav-unread')).toHaveText(/^2\b/, { timeout: 20_000 });
  await expect(page).toHaveTitle('(2) Connect · Canopy');

  await navigate(page, 'messages');
  const row = page.getByTestId(`dm-${b.peerId}`);
  await expect(row).toHaveClass(/\bunread\b/);
  await expect(row.getByTestId('unread-count')).toHaveText(/^2\b/);
  await screenshot(page, 'messenger-unread-1280', { tall: false });
  await expect(page.getByTestId('channel-general')).not.toHaveClass(/\bunread\b/);

  // Opening it shows where the new ones start, and marks them read.
  await row.click();
  await expect(messageRow(page, 'Unread hello 2')).toBeVisible();
  const divider = page.getByTestId('unread-divider');
  await expect(divider).toBeVisible();
  await expect(page.getByTestId('nav-unread')).toHaveCount(0);
  await expect(row.getByTestId('unread-count')).toHaveCount(0);
  await expect(row).not.toHaveClass(/\bunread\b/);
  await expect(page).toHaveTitle('Messages · Canopy');

  // Read state is the browser's own, kept across a reload.
  await page.reload();
  await expect(messageRow(page, 'Unread hello 2')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId(`dm-${b.peerId}`).getByTestId('unread-count')).toHaveCount(0);
  await expect(page).toHaveTitle('Messages · Canopy');
  // Opened again with nothing new: no divider.
  await expect(page.getByTestId('unread-divider')).toHaveCount(0);

  // Scrolled up in a long conversation, news shows as a pill instead of yanking the view down.
  await dmsFromB(b, a.peerId, 'Filler', 40);
  await expect(messageRow(page, 'Filler 40')).toBeVisible({ timeout: 20_000 });
  const viewport = page.getByTestId('message-list');
  await viewport.evaluate((el) => el.scrollTo({ top: 0 }));
  await expect(page.getByTestId('new-messages-pill')).toHaveCount(0);
  await dmsFromB(b, a.peerId, 'While scrolled up', 3);
  const pill = page.getByTestId('new-messages-pill');
  await expect(pill).toHaveText('↓ 3 new', { timeout: 20_000 });
  await screenshot(page, 'messenger-new-pill-1280', { tall: false });
  // Screen readers hear what arrived in the open conversation (a polite live region).
  await expect(page.getByTestId('message-announcer')).toHaveAttribute('aria-live', 'polite');
  await expect(page.getByTestId('message-announcer')).toHaveText('bob: While scrolled up 3');
  await expect(page).toHaveTitle('(3) Messages · Canopy');
  await pill.click();
  await expect(messageRow(page, 'While scrolled up 3')).toBeInViewport();
  await expect(pill).toHaveCount(0);
  await expect(page).toHaveTitle('Messages · Canopy');

  // A phone shows the count on its menu button.
  await page.setViewportSize({ width: 375, height: 740 });
  await page.getByRole('link', { name: 'All conversations' }).click();
  await expect(page.getByTestId('menu-unread')).toHaveCount(0);
  await dmsFromB(b, a.peerId, 'On the phone', 1);
  await expect(page.getByTestId('menu-unread')).toHaveText(/^1\b/, { timeout: 20_000 });
  await screenshot(page, 'messenger-menu-badge-375', { tall: false });
});

test('messages waiting to be sent show on the message, not as a count on the conversation', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy);
  await openConversation(a.page, { peer: b.peerId });
  await a.instance.stop({ keepData: true });
  await expect(a.page.getByTestId('offline-banner')).toBeVisible({ timeout: 20_000 });
  await sendMessage(a.page, 'Waiting for the companion');
  await expect(messageRow(a.page, 'Waiting for the companion').getByTestId('delivery-state')).toHaveText('Queued');
  await expect(a.page.getByTestId(`dm-${b.peerId}`).getByTestId('unread-count')).toHaveCount(0);
  await expect(a.page.getByTestId(`dm-${b.peerId}`).locator('.badge')).toHaveCount(0);
});

test('notifications: opt-in, for DMs and mentions, only while the tab is hidden', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy, { pageOptions: { permissions: ['notifications'] } });
  const page = a.page;
  await waitForServiceWorker(page);
  const shown = () =>
    page.evaluate(async () => {
      const registration = await navigator.serviceWorker.getRegistration();
      const list = (await registration?.getNotifications()) ?? [];
      return list.map((n) => ({ title: n.title, body: n.body, url: (n.data as { url?: string } | null)?.url ?? null }));
    });

  // Off until turned on: a hidden tab gets nothing yet.
  await navigate(page, 'settings');
  await expect(page.getByTestId('notify-on')).toBeVisible();
  await hideTab(page);
  await dmsFromB(b, a.peerId, 'Before opting in', 1);
  await expect(page.getByTestId('nav-unread')).toBeVisible({ timeout: 20_000 });
  expect(await shown()).toEqual([]);

  await page.reload();
  await page.getByTestId('notify-on').click();
  await expect(page.getByTestId('notify-dm')).toBeChecked();
  await expect(page.getByTestId('notify-mention')).toBeChecked();
  await expect(page.getByTestId('notify-channel')).not.toBeChecked();
  await page.getByTestId('notification-settings').scrollIntoViewIfNeeded();
  await screenshot(page, 'messenger-notification-settings', { tall: false });

  // Visible tab: no notification (the unread badge is enough).
  await dmsFromB(b, a.peerId, 'While looking', 1);
  await expect(page.getByTestId('nav-unread')).toHaveText(/^2\b/, { timeout: 20_000 });
  expect(await shown()).toEqual([]);

  // Hidden tab: a DM notifies, titled by its author, and leads to the conversation.
  await hideTab(page);
  await dmsFromB(b, a.peerId, 'While away', 1);
  await expect.poll(shown, { timeout: 20_000 }).toEqual([
    { title: 'bob', body: 'While away 1', url: expect.stringMatching(/^\/messages\?c=dm%3A/) },
  ]);

  // A channel post notifies only when it names you (channel posts are off by default).
  const bApi = apiClient(b.instance.url, await createKey(b.instance.dataDir, 'write_messages'));
  await bApi.post('/p2p/send', { content: 'Lunch, anyone?', broadcast: true });
  await bApi.post('/p2p/send', { content: 'Hey @alice, lunch?', broadcast: true });
  await expect.poll(async () => (await shown()).map((n) => n.title).sort(), { timeout: 20_000 }).toEqual(['bob', 'bob in # general']);
  expect((await shown()).find((n) => n.title === 'bob in # general')?.body).toBe('Hey @alice, lunch?');

  // Turned off: nothing more.
  await page.getByTestId('notify-off').click();
  await expect(page.getByTestId('notify-on')).toBeVisible();
  const unreadNow = async () => Number.parseInt((await page.getByTestId('nav-unread').textContent()) ?? '0', 10);
  await expect.poll(unreadNow).toBe(5); // 3 DMs, 2 posts in #general
  await dmsFromB(b, a.peerId, 'After turning off', 1);
  await expect.poll(unreadNow, { timeout: 20_000 }).toBe(6);
  expect((await shown()).some((n) => n.body.startsWith('After turning off'))).toBe(false);
});

test('the companion restarts: peers are unknown meanwhile, the page is back within seconds, Retry now works', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy);
  const page = a.page;
  await dmsFromB(b, a.peerId, 'Hello', 1);
  await openConversation(page, { peer: b.peerId });
  const dmRow = page.getByTestId(`dm-${b.peerId}`);
  await expect(dmRow.getByTestId('presence')).toHaveAttribute('data-presence', 'connected');
  await expect(page.getByTestId('chat-link')).toHaveAttribute('data-presence', 'connected');

  const { port, dataDir } = a.instance;
  await a.instance.stop({ keepData: true });
  const banner = page.getByTestId('offline-banner');
  await expect(banner).toBeVisible({ timeout: 20_000 });
  // Nothing is known about peers while our own companion cannot be asked: no green dots.
  await expect(dmRow.getByTestId('presence')).toHaveAttribute('data-presence', 'unknown');
  await expect(page.getByTestId('chat-link')).toHaveText('status unknown while your companion is unreachable');
  await screenshot(page, 'messenger-offline-1280', { tall: false });
  await navigate(page, 'connect');
  await expect(page.getByTestId('peers-unknown')).toBeVisible();
  await navigate(page, 'messages');

  // Several failed attempts later, a visible page still tries again within a few seconds.
  await page.waitForTimeout(8_000);
  await expect(banner.getByTestId('retry-in')).toHaveText(/Trying again in [1-4] s\./);
  const startedAgain = canopy.startInstance({ port, dataDir });
  await expect(banner).toHaveCount(0, { timeout: 6_000 + 5_000 /* the companion's own start */ });
  await expect(dmRow.getByTestId('presence')).toHaveAttribute('data-presence', 'connected', { timeout: 45_000 });

  // A hidden tab backs off like the mesh (2 s, 4 s, 8 s …); "Retry now" does not wait for it.
  const again = await startedAgain;
  await hideTab(page);
  await again.stop({ keepData: true });
  await expect(banner).toBeVisible({ timeout: 20_000 });
  await expect(banner.getByTestId('retry-in')).toHaveText(/Trying again in (1[3-9]|[2-9]\d) s\./, { timeout: 30_000 });
  await canopy.startInstance({ port, dataDir });
  await banner.getByTestId('retry-now').click();
  await expect(banner).toHaveCount(0, { timeout: 5_000 });
});

test('chat: runs are grouped under one name, links are safe, copy and reply work, keys move between messages', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy, { pageOptions: { permissions: ['clipboard-read', 'clipboard-write'] } });
  const page = a.page;
  const LINK_TEXT = 'Worth a look: https://example.org/path?q=1.';
  const HTML_TEXT = '<img src=x onerror="document.title=1"> stays text';
  const api = apiClient(b.instance.url, await createKey(b.instance.dataDir, 'write_messages'));
  for (const content of ['First of a run', LINK_TEXT, HTML_TEXT]) {
    expect((await api.post('/p2p/send', { content, peer_id: a.peerId })).status).toBe(200);
  }
  await openConversation(page, { peer: b.peerId });
  await expect(messageRow(page, HTML_TEXT)).toBeVisible({ timeout: 20_000 });

  // One name and avatar over the run; the others keep the name for screen readers only.
  await expect(messageRow(page, 'First of a run')).not.toHaveClass(/\bgrouped\b/);
  await expect(messageRow(page, LINK_TEXT)).toHaveClass(/\bgrouped\b/);
  await expect(messageRow(page, LINK_TEXT).locator('header')).toHaveCount(0);
  await expect(messageRow(page, LINK_TEXT).getByTestId('message-author')).toHaveText('bob');
  await expect(page.getByTestId('day-divider')).toHaveText(['Today']);

  // The URL is a link that opens apart from the app (the sentence's full stop is not part of it); markup stays text.
  const link = messageRow(page, LINK_TEXT).getByRole('link');
  await expect(link).toHaveText('https://example.org/path?q=1');
  await expect(link).toHaveAttribute('href', 'https://example.org/path?q=1');
  await expect(link).toHaveAttribute('target', '_blank');
  await expect(link).toHaveAttribute('rel', /\bnoopener\b.*\bnoreferrer\b/);
  await expect(messageRow(page, HTML_TEXT).locator('img')).toHaveCount(0);
  await expect(page).not.toHaveTitle('1');

  // Copy puts the message's text on the clipboard.
  await messageRow(page, LINK_TEXT).hover();
  await messageRow(page, LINK_TEXT).getByTestId('message-copy').click();
  await expect(messageRow(page, LINK_TEXT).getByTestId('message-copy')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(LINK_TEXT);

  // Reply quotes the message; Escape in the composer drops the quote.
  await messageRow(page, 'First of a run').hover();
  await messageRow(page, 'First of a run').getByTestId('message-reply').click();
  await expect(page.getByTestId('composer-reply')).toContainText('First of a run');
  await expect(page.getByTestId('composer')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('composer-reply')).toHaveCount(0);
  await messageRow(page, 'First of a run').hover();
  await messageRow(page, 'First of a run').getByTestId('message-reply').click();
  await sendMessage(page, 'An answer');
  await expect(page.getByTestId('composer-reply')).toHaveCount(0);
  await expect(messageRow(page, 'An answer').getByTestId('message-quote')).toContainText('First of a run');

  // The other side sees the quote too, under the author's name.
  await openConversation(b.page, { peer: a.peerId });
  const quote = messageRow(b.page, 'An answer').getByTestId('message-quote');
  await expect(quote).toContainText('You', { timeout: 20_000 });
  await expect(quote).toContainText('First of a run');

  // Keys: into the list at the newest message, up one, Home to the oldest, Escape back to the composer.
  await page.getByTestId('message-list').focus();
  await page.keyboard.press('ArrowUp');
  await expect(messageRow(page, 'An answer')).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect(messageRow(page, HTML_TEXT)).toBeFocused();
  await page.keyboard.press('Home');
  await expect(messageRow(page, 'First of a run')).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(messageRow(page, LINK_TEXT)).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('composer')).toBeFocused();
  // A click on a quote shows the quoted message.
  await messageRow(page, 'An answer').getByTestId('message-quote').click();
  await expect(messageRow(page, 'First of a run')).toBeFocused();
});
