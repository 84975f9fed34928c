// Issue 3, item 8: opened over plain http on a name that is not localhost (as on a LAN IP), the
// page is not a secure context: no service worker, no WebCrypto subtle, no randomUUID, no async
// clipboard. Setup, connecting and messaging must still work (noble crypto inside the app link).
import { expect, test } from './helpers/fixtures.ts';
import {
  deliveryState,
  expectConnected,
  messageRow,
  openConversation,
  peerIdOf,
  readInviteCode,
  screenshot,
  sendMessage,
  setupAccount,
} from './helpers/app.ts';

// A LAN name (mDNS), which the companion accepts as a Host for browser requests: any other DNS
// name could be an attacker's, rebound to this machine (see companion/api/origin.ts).
const HOST = 'canopy-lan.local';

test('plain-http origin: not secure, no service worker, setup and messaging work', async ({ canopy }) => {
  const [instanceA, instanceB] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const browser = await canopy.launchBrowser([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
  const a = await canopy.newUser({}, browser);
  const b = await canopy.newUser();
  const insecureUrl = `http://${HOST}:${instanceA.port}`;

  await setupAccount(a.page, insecureUrl);
  await setupAccount(b.page, instanceB.url, { username: 'bob' });
  expect(new URL(a.page.url()).host).toBe(`${HOST}:${instanceA.port}`);

  const facts = await a.page.evaluate(() => ({
    secure: window.isSecureContext,
    serviceWorkerApi: 'serviceWorker' in navigator,
    subtle: typeof globalThis.crypto?.subtle,
    randomUUID: typeof (globalThis.crypto as { randomUUID?: unknown }).randomUUID,
    clipboard: typeof navigator.clipboard,
  }));
  expect(facts).toEqual({
    secure: false,
    serviceWorkerApi: false,
    subtle: 'undefined',
    randomUUID: 'undefined',
    clipboard: 'undefined',
  });
  expect(a.context.serviceWorkers()).toEqual([]);
  // The control: the same app on 127.0.0.1 is a secure context with its service worker.
  expect(await b.page.evaluate(() => window.isSecureContext)).toBe(true);

  // ---- connect: copy A's invite (the clipboard falls back to execCommand here), import it on B ----
  await a.page.getByTestId('nav-connect').click();
  const code = await readInviteCode(a.page);
  await a.page.getByTestId('copy-invite').click();
  await expect(a.page.getByText('Copied', { exact: true })).toBeVisible();

  const [peerA, peerB] = await Promise.all([peerIdOf(instanceA), peerIdOf(instanceB)]);
  await b.page.getByTestId('nav-connect').click();
  await b.page.getByTestId('import-code').fill(code);
  await b.page.getByTestId('import-submit').click();
  await expect(b.page.getByTestId('import-result')).toContainText('Connected to', { timeout: 20_000 });
  await expectConnected(a.page, peerB);
  await expectConnected(b.page, peerA);

  // ---- messaging both ways; the outbox makes client ids without crypto.randomUUID ----
  await openConversation(a.page, { channel: 'general' });
  await openConversation(b.page, { channel: 'general' });
  const text = `Over plain http ${Date.now()}`;
  await sendMessage(a.page, text);
  await expect(messageRow(b.page, text)).toBeVisible({ timeout: 20_000 });
  await expect(deliveryState(a.page, text)).toHaveAttribute('data-state', 'delivered', { timeout: 20_000 });

  await openConversation(a.page, { peer: peerB });
  await openConversation(b.page, { peer: peerA });
  const dm = `DM to the http page ${Date.now()}`;
  await sendMessage(b.page, dm);
  await expect(messageRow(a.page, dm)).toBeVisible({ timeout: 20_000 });
  await screenshot(a.page, 'insecure-origin');

  // Notifications need a secure origin: Settings says so instead of offering a switch that cannot work.
  await a.page.getByTestId('nav-settings').click();
  await expect(a.page.getByTestId('notify-unavailable')).toContainText('Not available here');
  await expect(a.page.getByTestId('notify-on')).toHaveCount(0);
  await a.page.goBack();

  // Still no service worker after all that, and a reload logs back in from IndexedDB.
  expect(a.context.serviceWorkers()).toEqual([]);
  await a.page.reload();
  await expect(messageRow(a.page, dm)).toBeVisible({ timeout: 20_000 });
  await expect(a.page.getByTestId('connection-status')).toHaveText('Online', { timeout: 20_000 });
});
