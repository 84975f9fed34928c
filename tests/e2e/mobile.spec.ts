// Issue 3, item 7: on a phone-sized screen the sidebar collapses behind a menu button,
// navigation works through it, and sending a message works.
import type { BrowserContextOptions } from '@playwright/test';
import { expect, test } from './helpers/fixtures.ts';
import { deliveryState, expectConnected, expectNoPageScroll, messageRow, openConversation, readInviteCode, screenshot, sendMessage, peerIdOf, setupAccount } from './helpers/app.ts';

const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  screen: { width: 390, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
  userAgent:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36',
};

test('phone layout: menu button, navigation, sending', async ({ canopy }) => {
  const [instanceA, instanceB] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const [phone, desk] = await Promise.all([canopy.newUser(PHONE), canopy.newUser()]);
  const page = phone.page;
  await Promise.all([setupAccount(page, instanceA.url), setupAccount(desk.page, instanceB.url, { username: 'bob' })]);
  const [peerA, peerB] = await Promise.all([peerIdOf(instanceA), peerIdOf(instanceB)]);

  // ---- the sidebar is collapsed behind the menu button ----
  const menu = page.getByTestId('menu-button');
  const navSettings = page.getByTestId('nav-settings');
  await expect(menu).toBeVisible();
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await expect(navSettings).toBeHidden();
  await expect(page.getByTestId('connection-status')).toBeHidden();
  // The sidebar does not eat the screen: the conversation list starts at the left edge.
  const listBox = await page.getByTestId('channel-general').boundingBox();
  expect(listBox?.x ?? 999).toBeLessThan(60);
  // Nothing sticks out of a 390 px screen.
  await expectNoPageScroll(page);

  await menu.click();
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await expect(navSettings).toBeVisible();
  await expect(page.getByTestId('connection-status')).toHaveText('Online');
  await screenshot(page, 'phone-menu', { tall: false });

  // ---- navigation through the menu; following a link closes it ----
  await navSettings.click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();
  await expect(navSettings).toBeHidden();
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await expectNoPageScroll(page);

  // The scrim closes the menu too.
  await menu.click();
  await expect(navSettings).toBeVisible();
  await page.getByRole('button', { name: 'Close menu' }).click({ position: { x: 370, y: 400 } });
  await expect(navSettings).toBeHidden();

  // Connect from the phone: paste the desktop's invite.
  await desk.page.getByTestId('nav-connect').click();
  const code = await readInviteCode(desk.page);
  await menu.click();
  await page.getByTestId('nav-connect').click();
  await expect(page.getByRole('heading', { name: 'Connect', level: 1 })).toBeVisible();
  await page.getByTestId('import-code').fill(code);
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-result')).toContainText('Connected to', { timeout: 20_000 });
  await expectConnected(page, peerB);
  await expectConnected(desk.page, peerA);
  await expectNoPageScroll(page);

  // ---- Messages: list first, then the chat alone, with a way back ----
  await menu.click();
  await page.getByTestId('nav-messages').click();
  await expect(page.getByTestId('channel-general')).toBeVisible();
  await expect(page.getByTestId('composer')).toBeHidden();
  await page.getByTestId('channel-general').click();
  await expect(page.getByTestId('chat-title')).toHaveText('# general');
  await expect(page.getByTestId('composer')).toBeVisible();
  await expect(page.getByTestId('channel-general')).toBeHidden();

  await openConversation(desk.page, { channel: 'general' });
  const text = `Sent from a phone ${Date.now()}`;
  await sendMessage(page, text);
  await expect(messageRow(page, text)).toBeVisible();
  await expect(messageRow(desk.page, text)).toBeVisible({ timeout: 20_000 });
  await expect(deliveryState(page, text)).toHaveAttribute('data-state', 'delivered', { timeout: 20_000 });
  // The message and the composer fit the screen.
  const bubble = await messageRow(page, text).getByTestId('message-text').boundingBox();
  expect(bubble).not.toBeNull();
  expect(bubble!.x + bubble!.width).toBeLessThanOrEqual(390);
  await expectNoPageScroll(page);
  await screenshot(page, 'phone', { tall: false });

  // Enter in the composer sends too (soft keyboards send Enter).
  const second = `Second from the phone ${Date.now()}`;
  await page.getByTestId('composer').fill(second);
  await page.getByTestId('composer').press('Enter');
  await expect(messageRow(desk.page, second)).toBeVisible({ timeout: 20_000 });

  await page.getByRole('link', { name: 'All conversations' }).click();
  await expect(page.getByTestId('channel-general')).toBeVisible();
  await expect(page.getByTestId('composer')).toBeHidden();
});
