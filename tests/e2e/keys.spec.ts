// Issue 3, item 6: an API key made on the API Keys page (permissions chosen there, key copied
// from the page) works against the REST API, and only within the permissions chosen.
import { apiClient } from '../helpers/api.ts';
import { expect, test } from './helpers/fixtures.ts';
import { expectNoPageScroll, navigate, screenshot, setupAccount } from './helpers/app.ts';

test('a key created in the UI works with REST, limited to its permissions', async ({ canopy }) => {
  const instance = await canopy.startInstance();
  const { context, page } = await canopy.newUser();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: instance.url });
  await setupAccount(page, instance.url);
  await navigate(page, 'keys');
  await expect(page.getByRole('heading', { name: 'API Keys', level: 1 })).toBeVisible();
  await expect(page.getByText('No API keys yet.')).toBeVisible();

  // Read-only key: read_messages on, write_messages off (it is on by default), view_peers off.
  await expect(page.getByTestId('perm-write_messages')).toBeChecked();
  await page.getByTestId('perm-write_messages').uncheck();
  await page.getByTestId('perm-view_peers').uncheck();
  await expect(page.getByTestId('perm-read_messages')).toBeChecked();
  await page.getByTestId('key-name').fill('reader');
  await page.getByTestId('create-key').click();

  const notice = page.getByTestId('new-key');
  await expect(notice).toBeVisible();
  await expect(notice.getByRole('heading')).toHaveText('New API key: reader');
  const shown = page.getByTestId('new-key-value');
  await expect(shown).toHaveValue(/\S{16,}/);
  const readKey = await shown.inputValue();

  // The Copy button puts exactly that key on the clipboard.
  await page.getByTestId('copy-key').click();
  await expect(notice.getByText('Copied')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(readKey);

  // The list shows the key with just that permission, never the key itself.
  const listed = page.getByTestId('key-list').locator('li').filter({ hasText: 'reader' });
  await expect(listed).toBeVisible();
  await expect(listed.locator('code')).toHaveText(['read_messages']);
  await expect(page.getByTestId('key-list')).not.toContainText(readKey);
  await expectNoPageScroll(page);
  await screenshot(page, 'api-keys');

  const reader = apiClient(instance.url, readKey);
  const channels = await reader.get('/channels');
  expect(channels.status).toBe(200);
  expect(JSON.stringify(channels.body)).toContain('general');
  const send = await reader.post('/p2p/send', { content: 'should be refused', broadcast: true });
  expect(send.status).toBe(403);
  expect(send.body).toMatchObject({ reason: 'missing_permission', required_permission: 'write_messages' });
  const peers = await reader.get('/p2p/peers');
  expect(peers.status).toBe(403);
  // Without a key at all: 401.
  expect((await apiClient(instance.url).get('/channels')).status).toBe(401);

  // A second key with write_messages may send; the message then shows up in the browser, live.
  await page.getByRole('button', { name: 'I saved it' }).click();
  await expect(notice).toHaveCount(0);
  await page.getByTestId('perm-write_messages').check();
  await page.getByTestId('key-name').fill('writer');
  await page.getByTestId('create-key').click();
  await expect(page.getByTestId('new-key').getByRole('heading')).toHaveText('New API key: writer');
  const writeKey = await page.getByTestId('new-key-value').inputValue();
  expect(writeKey).not.toBe(readKey);
  await expect(page.getByTestId('key-list').locator('li')).toHaveCount(2);

  const text = `Sent with an API key ${Date.now()}`;
  const sent = await apiClient(instance.url, writeKey).post('/p2p/send', { content: text, broadcast: true });
  expect(sent.status).toBe(200);
  await navigate(page, 'messages');
  await page.getByTestId('channel-general').click();
  await expect(page.getByTestId('message-text').getByText(text, { exact: true })).toBeVisible({ timeout: 20_000 });

  // Revoking in the UI stops the key at once.
  await navigate(page, 'keys');
  page.once('dialog', (dialog) => void dialog.accept());
  const writerRow = page.getByTestId('key-list').locator('li').filter({ hasText: 'writer' });
  await writerRow.getByTestId('revoke-key').click();
  await expect(writerRow.getByText('Revoked')).toBeVisible();
  const revoked = await apiClient(instance.url, writeKey).get('/channels');
  expect(revoked.status).toBe(403);
  expect(revoked.body.reason).toBe('invalid_key');
});
