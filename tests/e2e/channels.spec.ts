// Issue 7, item 4 (web app): channels besides #general.
// - A creates a channel from the channel list's "New channel" dialog; it appears on B with who
//   made it; A's post in it shows on B in that channel, not in #general; the dialog fits a phone.
// - A post written in a channel while the companion is gone waits in the outbox and goes out to
//   that channel when it is back, as in #general.
import type { Page } from '@playwright/test';
import { expect, test } from './helpers/fixtures.ts';
import {
  deliveryState,
  expectNoPageScroll,
  messageRow,
  navigate,
  openConversation,
  RECONNECT_TIMEOUT,
  screenshot,
  sendMessage,
  twoConnectedUsers,
} from './helpers/app.ts';

test.describe.configure({ timeout: 120_000 });

/** Creates a channel through the dialog; resolves its id (from the address the app opens). */
async function createChannel(page: Page, typed: string, description: string): Promise<string> {
  await navigate(page, 'messages');
  await page.getByTestId('new-channel').click();
  const dialog = page.getByTestId('new-channel-dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByTestId('new-channel-name').fill(typed);
  await dialog.getByTestId('new-channel-description').fill(description);
  await dialog.getByTestId('new-channel-submit').click();
  await expect(dialog).toBeHidden();
  await expect(page).toHaveURL(/[?&]c=[a-z0-9_-]+-[0-9a-f]{12}$/);
  return new URL(page.url()).searchParams.get('c')!;
}

async function openChannel(page: Page, id: string): Promise<void> {
  if (!page.url().includes('/messages')) await navigate(page, 'messages');
  const link = page.getByTestId(`channel-${id}`);
  await expect(link).toBeVisible({ timeout: 20_000 });
  await link.click();
  await expect(page).toHaveURL(new RegExp(`[?&]c=${id}$`));
}

test('a channel made in the web app reaches the peer, with its creator, and carries posts', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy);

  await a.page.getByTestId('nav-messages').click();
  await a.page.getByTestId('new-channel').click();
  const dialog = a.page.getByTestId('new-channel-dialog');
  // The rules are shown up front, and what people type becomes a valid name.
  await expect(dialog).toContainText('Letters, digits, - and _');
  await dialog.getByTestId('new-channel-name').fill('Book Club');
  await expect(dialog).toContainText('Will be called #book-club');
  await dialog.getByTestId('new-channel-name').fill('book!club');
  await expect(dialog.getByTestId('new-channel-name-problem')).toHaveText('Use only letters, digits, - and _, starting with a letter or digit.');
  await expect(dialog.getByTestId('new-channel-submit')).toBeDisabled();
  await screenshot(a.page, 'channels-new-dialog-1280', { tall: false });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();

  const id = await createChannel(a.page, 'Book Club', 'What we are reading this month');
  expect(id).toMatch(/^book-club-[0-9a-f]{12}$/);
  await expect(a.page.getByTestId('chat-title')).toHaveText('# book-club');
  await expect(a.page.getByTestId('channel-description')).toHaveText('What we are reading this month');
  // Our own channel says nothing about who made it.
  await expect(a.page.getByTestId('channel-origin')).toHaveCount(0);

  // B learns of it through the mesh, named, described and attributed to A.
  await navigate(b.page, 'messages');
  await expect(b.page.getByTestId(`channel-${id}`)).toContainText('# book-club', { timeout: 20_000 });
  await expect(b.page.getByTestId(`channel-origin-${id}`)).toBeVisible();
  await openChannel(b.page, id);
  await expect(b.page.getByTestId('chat-title')).toHaveText('# book-club');
  await expect(b.page.getByTestId('channel-description')).toHaveText('What we are reading this month');
  await expect(b.page.getByTestId('channel-origin')).toContainText('Created by');

  const post = `Chapter one is great ${Date.now()}`;
  await sendMessage(a.page, post);
  await expect(deliveryState(a.page, post)).toHaveAttribute('data-state', 'delivered', { timeout: 20_000 });
  await expect(messageRow(b.page, post)).toBeVisible({ timeout: 20_000 });
  await screenshot(b.page, 'channels-remote-1280', { tall: false });
  // In that channel only.
  await openConversation(b.page, { channel: 'general' });
  await expect(messageRow(b.page, post)).toHaveCount(0);
  // B answers in the channel; A sees it there.
  await openChannel(b.page, id);
  const reply = `Agreed ${Date.now()}`;
  await sendMessage(b.page, reply);
  await expect(messageRow(a.page, reply)).toBeVisible({ timeout: 20_000 });

  // On a phone: the list with its + button, and a dialog that fits the screen.
  await a.page.setViewportSize({ width: 375, height: 740 });
  await a.page.goto(`${a.instance.url}/messages`);
  await a.page.getByTestId('new-channel').click();
  await expect(dialog).toBeVisible();
  await dialog.getByTestId('new-channel-name').fill('A very long channel name that will not fit at all in the limit');
  await expect(dialog.getByTestId('new-channel-name-problem')).toContainText('too long');
  const box = (await dialog.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(375);
  expect(box.y + box.height).toBeLessThanOrEqual(740);
  await expectNoPageScroll(a.page);
  await screenshot(a.page, 'channels-new-dialog-375', { tall: false });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await openChannel(a.page, id);
  await expect(messageRow(a.page, reply)).toBeVisible();
  await expectNoPageScroll(a.page);
  await screenshot(a.page, 'channels-chat-375', { tall: false });
});

test('a post written in a channel while the companion is away is sent to that channel when it returns', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy);
  const id = await createChannel(a.page, 'trips', '');
  await navigate(b.page, 'messages');
  await openChannel(b.page, id);

  const { port, dataDir } = a.instance;
  await a.instance.stop({ keepData: true });
  await expect(a.page.getByTestId('offline-banner')).toBeVisible({ timeout: 20_000 });
  const queued = `Written offline in #trips ${Date.now()}`;
  await sendMessage(a.page, queued);
  await expect(deliveryState(a.page, queued)).toHaveAttribute('data-state', 'queued');

  await canopy.startInstance({ port, dataDir });
  await expect(messageRow(a.page, queued)).not.toHaveAttribute('data-message-id', /^outbox:/, { timeout: RECONNECT_TIMEOUT });
  await expect(messageRow(b.page, queued)).toBeVisible({ timeout: RECONNECT_TIMEOUT });
  await expect(messageRow(b.page, queued)).toHaveCount(1);
  await openConversation(b.page, { channel: 'general' });
  await expect(messageRow(b.page, queued)).toHaveCount(0);
});
