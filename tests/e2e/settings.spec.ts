// Issue 3, item 9: Settings. The relay policy chosen in the page is the companion's (it survives
// a reload and REST reports it); revoking another browser logs that browser out at once.
import { apiClient, createKey } from '../helpers/api.ts';
import { expect, test } from './helpers/fixtures.ts';
import type { Page } from '@playwright/test';
import { expectNoPageScroll, login, navigate, screenshot, setupAccount } from './helpers/app.ts';

test('relay policy change persists and agrees with REST', async ({ canopy }) => {
  const instance = await canopy.startInstance();
  const { page } = await canopy.newUser();
  await setupAccount(page, instance.url);
  await navigate(page, 'settings');

  const select = page.getByTestId('relay-policy');
  const saved = page.getByTestId('relay-saved');
  await expect(select).toBeEnabled({ timeout: 20_000 });
  const api = apiClient(instance.url, await createKey(instance.dataDir, 'view_peers'));
  const initial = (await api.get('/p2p/relay_status')).body.relay_policy as string;
  await expect(select).toHaveValue(initial);
  const target = initial === 'full_relay' ? 'off' : 'full_relay';
  const label = target === 'full_relay' ? 'Full relay' : 'Off';

  await select.selectOption(target);
  await expect(saved).toHaveText(`Saved: ${label}`);
  await expectNoPageScroll(page);
  await screenshot(page, 'settings');

  // REST agrees, right away.
  const rest = await api.get('/p2p/relay_status');
  expect(rest.status).toBe(200);
  expect(rest.body.relay_policy).toBe(target);
  expect((await (await fetch(`${instance.url}/api/v1/p2p/status`)).json()).relay_policy).toBe(target);

  // A reload reads it back from the companion.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible({ timeout: 20_000 });
  await expect(select).toBeEnabled({ timeout: 20_000 });
  await expect(select).toHaveValue(target);
  await expect(saved).toHaveText(`Current setting: ${label}`);

  // Once more to another value, so the test does not pass on a lucky default.
  await select.selectOption('broker_only');
  await expect(saved).toHaveText('Saved: Broker only');
  expect((await api.get('/p2p/relay_status')).body.relay_policy).toBe('broker_only');
  await page.reload();
  await expect(select).toHaveValue('broker_only', { timeout: 20_000 });
});

test('revoking another browser logs it out', async ({ canopy }) => {
  const instance = await canopy.startInstance();
  const owner = await canopy.newUser();
  const other = await canopy.newUser();
  await setupAccount(owner.page, instance.url);
  await login(other.page, instance.url);
  await navigate(other.page, 'settings');
  await expect(other.page.getByTestId('devices').locator('li')).toHaveCount(2, { timeout: 20_000 });

  await navigate(owner.page, 'settings');
  const devices = owner.page.getByTestId('devices');
  await expect(devices.locator('li')).toHaveCount(2, { timeout: 20_000 });
  const mine = devices.locator('li').filter({ has: owner.page.getByTestId('this-browser') });
  const theirs = devices.locator('li').filter({ hasNot: owner.page.getByTestId('this-browser') });
  await expect(mine).toHaveCount(1);
  await expect(theirs).toHaveCount(1);
  await expect(theirs.getByText('Online')).toBeVisible();

  let question = '';
  owner.page.once('dialog', (dialog) => {
    question = dialog.message();
    void dialog.accept();
  });
  await theirs.getByTestId('revoke-device').click();
  await expect(devices.locator('li')).toHaveCount(1);
  await expect(devices.getByTestId('this-browser')).toBeVisible();
  expect(question).toContain('logged out at once');

  // The other browser is shown Login without any action of its own.
  await expect(other.page.getByRole('heading', { name: 'Log in to Canopy' })).toBeVisible({ timeout: 20_000 });
  await expect(other.page.getByTestId('login-username')).toBeVisible();
  // And stays logged out after a reload (the revoked device key is not accepted again).
  await other.page.reload();
  await expect(other.page.getByRole('heading', { name: 'Log in to Canopy' })).toBeVisible({ timeout: 20_000 });

  // The owner is unaffected.
  await owner.page.reload();
  await expectShellOnSettings(owner.page);

  // The revoked browser can log in again, as a new device.
  await login(other.page, instance.url);
  await owner.page.reload();
  await expect(owner.page.getByTestId('devices').locator('li')).toHaveCount(2, { timeout: 20_000 });
});

async function expectShellOnSettings(page: Page): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('connection-status')).toHaveText('Online', { timeout: 20_000 });
  await expect(page.getByTestId('devices').getByTestId('this-browser')).toBeVisible({ timeout: 20_000 });
}
