// Issue 9, item 9: first run and safety.
// - After setup with nobody connected, Messages leads to Connect (invite, QR, LAN peers) instead of
//   an empty #general, which stays one click away; posting there says it waits for someone, and
//   it is delivered when someone connects.
// - Log out asks first, saying what this browser loses (history copy, unsent messages with their
//   number, verified marks) and that the account stays on the companion; Cancel keeps everything.
import { apiClient, createKey, eventually } from '../helpers/api.ts';
import { expect, test } from './helpers/fixtures.ts';
import {
  deliveryState,
  expectNoPageScroll,
  linkOverRest,
  login,
  messageRow,
  navigate,
  openConversation,
  screenshot,
  sendMessage,
  setupAccount,
} from './helpers/app.ts';

test('first run leads to Connect; a post with nobody connected waits and is delivered when someone connects', async ({ canopy }) => {
  const [a, b] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const { page } = await canopy.newUser();
  await setupAccount(page, a.url);

  const firstRun = page.getByTestId('first-run');
  await expect(firstRun).toBeVisible();
  await expect(firstRun.getByRole('heading', { name: 'Connect with someone to start' })).toBeVisible();
  await expect(page.getByTestId('chat-title')).toHaveCount(0);
  await expect(page.getByTestId('composer')).toHaveCount(0);
  await screenshot(page, 'first-run');

  // On a phone: the way forward first, the channel list still there, nothing sticking out.
  await page.setViewportSize({ width: 375, height: 740 });
  await expect(firstRun).toBeVisible();
  await expect(page.getByTestId('channel-general')).toBeAttached();
  const [guide, list] = await Promise.all([firstRun.boundingBox(), page.getByTestId('channel-general').boundingBox()]);
  expect(guide!.y).toBeLessThan(list!.y);
  await expectNoPageScroll(page);
  await screenshot(page, 'first-run-375', { tall: false });
  await page.setViewportSize({ width: 1280, height: 720 });

  // Each way leads to its part of the Connect page.
  await page.getByTestId('first-run-import').click();
  await expect(page).toHaveURL(/\/connect#import-title$/);
  await expect(page.getByTestId('import-code')).toBeVisible();
  await navigate(page, 'messages');
  await expect(firstRun).toBeVisible();

  // #general is still reachable, and says what happens to a post with nobody connected.
  await page.getByTestId('first-run-general').click();
  await expect(page.getByTestId('chat-title')).toHaveText('# general');
  const note = page.getByTestId('no-peers-note');
  await expect(note).toContainText('Nobody is connected yet: what you post here waits, and is delivered when someone connects.');
  const before = await page.getByTestId('composer').boundingBox();
  const noteBox = await note.boundingBox();
  expect(noteBox!.y + noteBox!.height).toBeLessThanOrEqual(before!.y + 1);
  const post = `Hello, anyone? ${Date.now()}`;
  await sendMessage(page, post);
  await expect(deliveryState(page, post)).toBeVisible();
  await screenshot(page, 'first-run-general-note');
  // With a message held, Messages opens on the conversation even with nobody connected.
  await navigate(page, 'connect');
  await navigate(page, 'messages');
  await expect(page.getByTestId('chat-title')).toHaveText('# general');
  await expect(firstRun).toHaveCount(0);

  // Someone connects: the note goes, and the post reaches them.
  await linkOverRest(b, a);
  await expect(note).toHaveCount(0, { timeout: 20_000 });
  const api = apiClient(b.url, await createKey(b.dataDir));
  await eventually('the post on the new peer', async () =>
    ((await api.get('/channels/general/messages')).body.messages as Array<{ content: string }>).some((m) => m.content === post),
  );
  // Known peers now: Messages opens on the conversation, not on the first-run guide.
  await navigate(page, 'connect');
  await navigate(page, 'messages');
  await expect(page.getByTestId('chat-title')).toHaveText('# general');
  await expect(firstRun).toHaveCount(0);
});

test('log out asks first, saying what this browser loses, and the account stays on the companion', async ({ canopy }) => {
  const a = await canopy.startInstance();
  const { page } = await canopy.newUser();
  await setupAccount(page, a.url);
  await openConversation(page, { channel: 'general' });
  const sent = `Sent before going offline ${Date.now()}`;
  await sendMessage(page, sent);
  // On the companion (no longer in this browser's outbox); with nobody connected it waits there.
  await expect(messageRow(page, sent)).not.toHaveAttribute('data-message-id', /^outbox:/, { timeout: 20_000 });

  // Two posts written while the companion is away wait in this browser's outbox.
  const { port, dataDir } = a;
  await a.stop({ keepData: true });
  await expect(page.getByTestId('offline-banner')).toBeVisible({ timeout: 20_000 });
  for (const text of ['queued one', 'queued two']) {
    await sendMessage(page, text);
    await expect(deliveryState(page, text)).toHaveAttribute('data-state', 'queued');
  }

  await navigate(page, 'settings');
  await page.getByTestId('logout').click();
  const dialog = page.getByTestId('logout-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('logout-dialog-cancel')).toBeFocused();
  await expect(dialog.getByTestId('logout-losses')).toContainText('its copy of your message history (1 message)');
  await expect(dialog.getByTestId('logout-unsent')).toContainText('2 unsent messages still waiting to be delivered: they are lost');
  await expect(dialog.getByTestId('logout-verified')).toContainText('“verified” marks');
  await expect(dialog).toContainText('Your account stays on your Canopy companion');
  await screenshot(page, 'logout-confirm', { tall: false });

  // Cancel (or Escape) keeps everything.
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await page.getByTestId('logout').click();
  await dialog.getByTestId('logout-dialog-cancel').click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('login-username')).toHaveCount(0);
  await navigate(page, 'messages');
  await openConversation(page, { channel: 'general' });
  await expect(deliveryState(page, 'queued two')).toHaveAttribute('data-state', 'queued');

  // Confirmed: logged out here; the account is still on the companion.
  await navigate(page, 'settings');
  await page.getByTestId('logout').click();
  await dialog.getByTestId('logout-dialog-confirm').click();
  await expect(page.getByRole('heading', { name: 'Log in to Canopy' })).toBeVisible({ timeout: 20_000 });
  await canopy.startInstance({ port, dataDir });
  await login(page, a.url);
  await openConversation(page, { channel: 'general' });
  await expect(page.getByTestId('message-text').getByText(sent, { exact: true })).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('message-text').getByText('queued two', { exact: true })).toHaveCount(0);
});
