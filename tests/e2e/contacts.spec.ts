// Issue 9, items 5 and 6: who you talk to. Two people on two instances: each sees the other by
// username until a display name is set, with the avatar, bio and device name they set in
// Settings; each DM says it is end-to-end encrypted and shows the same safety number on both
// sides; a contact marked verified shows so, and one whose number no longer matches (or a key
// taking a verified contact's name) is flagged loudly.
import type { Locator, Page } from '@playwright/test';
import type { VerifiedRow } from '../../web/lib/db.ts';
import { expect, test } from './helpers/fixtures.ts';
import { navigate, openConversation, screenshot, twoConnectedUsers } from './helpers/app.ts';

test.describe.configure({ timeout: 150_000 });

// An 8×8 PNG, as a file picked in Settings (the browser re-encodes it as a JPEG data URL).
const AVATAR_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAcklEQVR4nA3JoQEEIQwAsB/shkCjq9HV6Gp0h2CIjPXE5uebxhRTTjX1dCfz5wsjRMhQocMN4sUyllhyqaWXu1gv0kiRMlXqdJN8sY0tttxq6+1u9osySpQsVbrcol4c44gjjzr6uIfzoo0WLVu1brfpP+4eccG6gKHEAAAAAElFTkSuQmCC',
  'base64',
);

/** The DM's header (avatar, name, encryption line). */
function chatHeader(page: Page): Locator {
  return page.locator('header').filter({ has: page.getByTestId('chat-title') });
}

function ownIdentity(page: Page): Locator {
  return page.getByRole('navigation', { name: 'Main' });
}

async function saveProfile(page: Page, kind: 'user' | 'device', fill: (form: Locator) => Promise<void>): Promise<void> {
  const form = page.getByTestId(`${kind}-profile`);
  await fill(form);
  await form.getByTestId(`${kind}-profile-save`).click();
  await expect(form.getByRole('status')).toHaveText('Saved');
}

/** Opens the Verify dialog of the open DM and returns the safety number as shown (groups of 5). */
async function readSafetyNumber(page: Page): Promise<string> {
  await chatHeader(page).getByTestId('verify-button').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  const number = (await dialog.getByTestId('safety-number').innerText()).replace(/\s+/g, ' ').trim();
  expect(number).toMatch(/^(\d{5} ){11}\d{5}$/);
  return number;
}

/** Changes db.verified behind the app's back (as a changed key would look), then reloads. */
async function rewriteVerified(page: Page, change: { put?: VerifiedRow[]; remove?: string[] }): Promise<void> {
  await page.evaluate(async ({ put = [], remove = [] }) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('canopy');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('verified', 'readwrite');
      for (const id of remove) tx.objectStore('verified').delete(id);
      for (const row of put) tx.objectStore('verified').put(row);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, change);
  await page.reload();
  await expect(page.getByTestId('chat-title')).toBeVisible({ timeout: 20_000 });
}

async function storedVerified(page: Page): Promise<VerifiedRow[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('canopy');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const rows = await new Promise<VerifiedRow[]>((resolve, reject) => {
      const request = db.transaction('verified').objectStore('verified').getAll();
      request.onsuccess = () => resolve(request.result as VerifiedRow[]);
      request.onerror = () => reject(request.error);
    });
    db.close();
    return rows;
  });
}

test('profiles show everywhere; both sides see one safety number; verified contacts and changed keys are flagged', async ({ canopy }) => {
  const { a, b } = await twoConnectedUsers(canopy);

  // Nobody set a display name: each side lists the other by its account's username.
  await expect(a.page.getByTestId('connected-peers').getByTestId(`peer-${b.peerId}`).getByTestId('peer-name')).toHaveText('bob');
  await expect(b.page.getByTestId('connected-peers').getByTestId(`peer-${a.peerId}`).getByTestId('peer-name')).toHaveText('alice');

  // Alice uploads an avatar in Settings: her own sidebar shows it at once.
  await expect(ownIdentity(a.page).getByTestId('avatar')).toHaveAttribute('data-has-picture', 'false');
  await navigate(a.page, 'settings');
  const order = ['Your Profile', 'Device Profile', 'Mesh Relay', 'Browsers'];
  const headings = await a.page.locator('.card > h2').allInnerTexts();
  expect(headings.filter((heading) => order.includes(heading))).toEqual(order);
  await saveProfile(a.page, 'user', (form) => form.getByLabel('Your Profile avatar').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: AVATAR_PNG }));
  await expect(ownIdentity(a.page).getByTestId('avatar')).toHaveAttribute('data-has-picture', 'true');
  await expect(ownIdentity(a.page).getByTestId('own-name')).toHaveText('alice');

  // Bob writes a bio and names his device.
  await navigate(b.page, 'settings');
  await saveProfile(b.page, 'user', (form) => form.getByTestId('user-profile-text').fill('Gardener, mostly offline on weekends.'));
  await saveProfile(b.page, 'device', (form) => form.getByTestId('device-profile-name').fill('Bob’s laptop'));

  // Alice clicks Bob's name in her peer list: his bio and device name.
  await navigate(a.page, 'connect');
  const bobRow = a.page.getByTestId('connected-peers').getByTestId(`peer-${b.peerId}`);
  await bobRow.getByTestId('peer-name-button').click();
  const detail = a.page.getByRole('dialog', { name: 'bob' });
  await expect(detail.getByTestId('peer-detail-bio')).toHaveText('Gardener, mostly offline on weekends.', { timeout: 20_000 });
  await expect(detail.getByTestId('peer-detail-device')).toHaveText('Bob’s laptop');
  await expect(detail.getByTestId('peer-detail-id')).toHaveText(b.peerId);
  await a.page.keyboard.press('Escape');
  await expect(detail).toBeHidden();

  // Both open the DM: Bob sees Alice's avatar in its header, and both see "End-to-end encrypted".
  await openConversation(a.page, { peer: b.peerId });
  await openConversation(b.page, { peer: a.peerId });
  await expect(chatHeader(b.page).getByTestId('avatar')).toHaveAttribute('data-has-picture', 'true', { timeout: 20_000 });
  for (const side of [a, b]) await expect(chatHeader(side.page).getByTestId('e2e-status')).toContainText('End-to-end encrypted');

  // The name in the DM header opens the same panel.
  await chatHeader(a.page).getByTestId('peer-name-button').click();
  await expect(a.page.getByRole('dialog', { name: 'bob' }).getByTestId('peer-detail-device')).toHaveText('Bob’s laptop');
  await a.page.keyboard.press('Escape');

  // One safety number, the same on both sides.
  const numberA = await readSafetyNumber(a.page);
  const numberB = await readSafetyNumber(b.page);
  expect(numberA).toBe(numberB);
  // The dialog took the focus, and Escape closes it.
  expect(await b.page.evaluate(() => Boolean(document.activeElement?.closest('dialog')))).toBe(true);
  await b.page.keyboard.press('Escape');
  await expect(b.page.getByRole('dialog')).toBeHidden();
  await expect(chatHeader(b.page).getByTestId('verified-mark')).toHaveCount(0);

  // Alice marks Bob as verified: the mark shows in her header, and the number is kept.
  const dialogA = a.page.getByRole('dialog');
  await dialogA.getByTestId('mark-verified').check();
  await screenshot(a.page, 'contacts-safety-number', { tall: false });
  await a.page.keyboard.press('Escape');
  await expect(chatHeader(a.page).getByTestId('verified-mark')).toHaveText('✓ Verified');
  const [kept] = await storedVerified(a.page);
  expect(kept).toMatchObject({ peer_id: b.peerId, safety_number: numberA.replace(/ /g, ''), display_name: 'bob' });

  // Bob's key "changes" (the number Alice verified no longer matches): a loud warning, no mark.
  await rewriteVerified(a.page, { put: [{ ...kept!, safety_number: '0'.repeat(60) }] });
  const warning = a.page.getByTestId('security-warning');
  await expect(warning).toContainText('bob’s safety number changed — verify again before trusting it');
  await expect(chatHeader(a.page).getByTestId('verified-mark')).toHaveCount(0);
  await screenshot(a.page, 'contacts-key-changed', { tall: false });
  // Verifying again from the warning clears it.
  await warning.getByTestId('reverify-button').click();
  await expect(a.page.getByRole('dialog').getByTestId('safety-changed')).toBeVisible();
  await a.page.getByRole('dialog').getByTestId('mark-verified').check();
  await expect(warning).toBeHidden();
  await a.page.keyboard.press('Escape');
  await expect(chatHeader(a.page).getByTestId('verified-mark')).toBeVisible();

  // Another key (peer ID) was verified as "bob" earlier, and this Bob is not verified: the name is called out.
  await rewriteVerified(a.page, {
    remove: [b.peerId],
    put: [{ peer_id: '1111111111111111', safety_number: '1'.repeat(60), display_name: 'Bob', verified_at: Date.now() }],
  });
  await expect(warning).toContainText('Another key claims the name Bob');
  await expect(chatHeader(a.page).getByTestId('verified-mark')).toHaveCount(0);

  // On a phone the warning and the Verify control fit the screen.
  await a.page.setViewportSize({ width: 375, height: 720 });
  await expect(warning.getByTestId('reverify-button')).toBeInViewport();
  await expect(chatHeader(a.page).getByTestId('verify-button')).toBeInViewport();
  const width = await a.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: innerWidth }));
  expect(width.scroll).toBeLessThanOrEqual(width.inner);
  await screenshot(a.page, 'contacts-name-claimed-phone', { tall: false });
});
