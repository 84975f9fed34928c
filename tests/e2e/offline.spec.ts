// Issue 3, items 4 and 5: local-first behaviour with the companion gone.
// - A reload with the companion stopped still renders the history (from IndexedDB; the shell
//   comes from the service worker's cache) and says it is offline.
// - A message typed while offline waits in the outbox ("Queued"); when the companion comes back
//   on the same port and data dir the page reconnects on its own and sends it, and B receives it.
import { expect, test } from './helpers/fixtures.ts';
import {
  deliveryState,
  expectConnected,
  messageRow,
  navigate,
  openConversation,
  RECONNECT_TIMEOUT,
  sendMessage,
  twoConnectedUsers,
  waitForServiceWorker,
} from './helpers/app.ts';

// Waiting out reconnect backoffs (the page's link and the mesh link) can take a while.
test.describe.configure({ timeout: 120_000 });

test('reload with the companion stopped shows the saved history and an offline indicator', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy);
  await openConversation(a.page, { channel: 'general' });
  await openConversation(b.page, { channel: 'general' });

  const mine = `Before the outage, from A ${Date.now()}`;
  const theirs = `Before the outage, from B ${Date.now()}`;
  await sendMessage(a.page, mine);
  await expect(deliveryState(a.page, mine)).toHaveAttribute('data-state', 'delivered', { timeout: 20_000 });
  await sendMessage(b.page, theirs);
  await expect(messageRow(a.page, theirs)).toBeVisible({ timeout: 20_000 });

  // A DM too, so the conversation list has something that only IndexedDB can remember.
  await openConversation(b.page, { peer: a.peerId });
  const dm = `DM before the outage ${Date.now()}`;
  await sendMessage(b.page, dm);
  await expect(a.page.getByTestId(`dm-${b.peerId}`)).toBeVisible({ timeout: 20_000 });

  await waitForServiceWorker(a.page);
  await a.instance.stop({ keepData: true });
  await expect(a.page.getByTestId('offline-banner')).toBeVisible({ timeout: 20_000 });

  await a.page.reload();
  await expect(a.page.getByTestId('chat-title')).toHaveText('# general', { timeout: 20_000 });
  await expect(messageRow(a.page, mine)).toBeVisible();
  await expect(messageRow(a.page, theirs)).toBeVisible();
  await expect(deliveryState(a.page, mine)).toHaveAttribute('data-state', 'delivered');
  await expect(a.page.getByTestId('offline-banner')).toBeVisible();
  await expect(a.page.getByTestId('offline-banner')).toContainText('Offline');
  await expect(a.page.getByTestId('connection-status')).toHaveText('Offline');
  await expect(a.page.getByTestId('login-username')).toHaveCount(0);

  // Other conversations are there too, offline.
  await a.page.getByTestId(`dm-${b.peerId}`).click();
  await expect(messageRow(a.page, dm)).toBeVisible();

  // Pages other than Messages render offline as well (navigation is client-side).
  await navigate(a.page, 'settings');
  await expect(a.page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();
  await expect(a.page.getByTestId('offline-banner')).toBeVisible();
});

test('a message typed offline is queued, then sent when the companion returns', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy);
  await openConversation(a.page, { channel: 'general' });
  await openConversation(b.page, { channel: 'general' });

  const before = `Online first ${Date.now()}`;
  await sendMessage(a.page, before);
  await expect(messageRow(b.page, before)).toBeVisible({ timeout: 20_000 });

  const { port, dataDir } = a.instance;
  await a.instance.stop({ keepData: true });
  await expect(a.page.getByTestId('offline-banner')).toBeVisible({ timeout: 20_000 });

  const queued = `Typed while offline ${Date.now()}`;
  await sendMessage(a.page, queued);
  const row = messageRow(a.page, queued);
  await expect(row).toBeVisible();
  await expect(row.getByTestId('delivery-state')).toHaveAttribute('data-state', 'queued');
  await expect(row.getByTestId('delivery-state')).toHaveText('Queued');
  // Still only in the browser's outbox, not on the companion.
  await expect(row).toHaveAttribute('data-message-id', /^outbox:/);
  // Survives a reload while offline (the outbox is in IndexedDB).
  await waitForServiceWorker(a.page);
  await a.page.reload();
  await expect(messageRow(a.page, queued).getByTestId('delivery-state')).toHaveAttribute('data-state', 'queued', { timeout: 20_000 });
  await expect(messageRow(b.page, queued)).toHaveCount(0);

  // Same port and data dir: same identity and account, so the page's pinned key and device key still fit.
  await canopy.startInstance({ port, dataDir });

  // No reload, no click: the page's link reconnects by itself and flushes the outbox.
  await expect(a.page.getByTestId('offline-banner')).toHaveCount(0, { timeout: RECONNECT_TIMEOUT });
  await expect(a.page.getByTestId('connection-status')).toHaveText('Online');
  await expect(messageRow(a.page, queued)).not.toHaveAttribute('data-message-id', /^outbox:/, { timeout: 20_000 });
  await expect(messageRow(a.page, queued)).toHaveCount(1);

  // The mesh link A–B comes back too, and B gets the message live.
  await expect(messageRow(b.page, queued)).toBeVisible({ timeout: RECONNECT_TIMEOUT });
  await expect(deliveryState(a.page, queued)).toHaveAttribute('data-state', 'delivered', { timeout: RECONNECT_TIMEOUT });
  await expect(messageRow(b.page, queued)).toHaveCount(1);
  await navigate(a.page, 'connect');
  await expectConnected(a.page, b.peerId, RECONNECT_TIMEOUT);
});
