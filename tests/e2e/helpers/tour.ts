// A walk through every page of the web app, as one user sees it, for the checks that apply to
// all of them alike (accessibility, phone overflow, screenshots): the gate views (setup, login,
// key changed) and every page of the app shell, with some content on each (messages both ways,
// a connected peer, an API key).
import type { BrowserContextOptions, Page } from '@playwright/test';
import { readSetupCode } from '../../helpers/app-client.ts';
import { expect, type Canopy } from './fixtures.ts';
import { connectPeers, messageRow, navigate, openConversation, peerIdOf, sendMessage, setupAccount } from './app.ts';

const FROM_BOB = 'Hi Alice, this is Bob on his desktop.';

export type TourStop =
  | 'setup'
  | 'messages'
  | 'new-channel'
  | 'general'
  | 'dm'
  | 'connect'
  | 'settings'
  | 'keys'
  | 'login'
  | 'key-changed';

/** Called at each stop once the page shows it; `page` is the page that shows it. */
export type Visit = (page: Page, stop: TourStop) => Promise<void>;

/**
 * Two companions: the tour user (a browser context made with `options`) on A, bob at a desktop on
 * B, connected. Visits every stop in order; the last one (key changed) replaces A with a new
 * companion on the same port, so nothing can be done with A after the tour.
 */
export async function tourEveryPage(canopy: Canopy, options: BrowserContextOptions, visit: Visit): Promise<void> {
  const [instanceA, instanceB] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const [user, bob] = await Promise.all([canopy.newUser(options), canopy.newUser()]);
  const page = user.page;

  const code = await readSetupCode(instanceA.dataDir);
  await page.goto(`${instanceA.url}/?setup=${encodeURIComponent(code)}`);
  await expect(page.getByRole('heading', { name: 'Welcome to Canopy' })).toBeVisible({ timeout: 20_000 });
  await visit(page, 'setup');

  await Promise.all([setupAccount(page, instanceA.url), setupAccount(bob.page, instanceB.url, { username: 'bob' })]);
  const [peerA, peerB] = await Promise.all([peerIdOf(instanceA), peerIdOf(instanceB)]);
  await connectPeers(page, bob.page, { a: peerA, b: peerB });
  // A message each way, so the chats show both kinds of message.
  await openConversation(bob.page, { peer: peerA });
  await sendMessage(bob.page, FROM_BOB);

  await navigate(page, 'messages');
  await expect(page.getByTestId(`dm-${peerB}`)).toBeVisible({ timeout: 20_000 });
  await visit(page, 'messages');

  // The new-channel button sits in the conversation list, which a phone shows only without a chat.
  await page.getByTestId('new-channel').click();
  await expect(page.getByTestId('new-channel-dialog')).toBeVisible();
  await page.getByTestId('new-channel-name').fill('Book Club');
  await visit(page, 'new-channel');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('new-channel-dialog')).toBeHidden();

  await openConversation(page, { channel: 'general' });
  await sendMessage(page, 'Hello everyone: a message long enough to wrap on a phone screen, to see how it breaks.');
  await visit(page, 'general');

  await navigate(page, 'messages');
  await openConversation(page, { peer: peerB });
  await expect(messageRow(page, FROM_BOB)).toBeVisible({ timeout: 20_000 });
  await visit(page, 'dm');

  await navigate(page, 'connect');
  await expect(page.getByTestId('connected-peers').getByTestId(`peer-${peerB}`)).toBeVisible();
  await visit(page, 'connect');

  await navigate(page, 'settings');
  await expect(page.getByTestId('relay-policy')).toBeEnabled({ timeout: 20_000 });
  await visit(page, 'settings');

  await navigate(page, 'keys');
  await page.getByTestId('key-name').fill('backup script');
  await page.getByTestId('create-key').click();
  await expect(page.getByTestId('new-key')).toBeVisible();
  await expect(page.getByTestId('key-list')).toBeVisible();
  await visit(page, 'keys');

  // Another browser on A: the login view (which also pins A's key in that browser).
  const other = await canopy.newUser(options);
  await other.page.goto(instanceA.url);
  await expect(other.page.getByRole('heading', { name: 'Log in to Canopy' })).toBeVisible({ timeout: 20_000 });
  await expect(other.page.getByTestId('login-submit')).toBeEnabled({ timeout: 20_000 });
  await visit(other.page, 'login');

  // A new companion (a new key) answers at A's address: that browser refuses it.
  await instanceA.stop();
  await canopy.startInstance({ port: instanceA.port });
  await other.page.reload();
  await expect(other.page.getByTestId('key-changed')).toBeVisible({ timeout: 20_000 });
  await visit(other.page, 'key-changed');
}
