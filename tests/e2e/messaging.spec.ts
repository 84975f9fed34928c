// Issue 3, items 2 and 3: two real instances, one browser context each. Connect them through the
// Connect page; a broadcast in #general and a DM each appear live (no reload) on the other side,
// and the sender's message reaches "delivered".
import { expect, test } from './helpers/fixtures.ts';
import {
  connectPeers,
  deliveryState,
  expectNoPageScroll,
  messageRow,
  openConversation,
  peerIdOf,
  screenshot,
  sendMessage,
  setupAccount,
} from './helpers/app.ts';

test('two instances connect through the Connect page', async ({ canopy }) => {
  const [instanceA, instanceB] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const [a, b] = await Promise.all([canopy.newUser(), canopy.newUser()]);
  await Promise.all([setupAccount(a.page, instanceA.url), setupAccount(b.page, instanceB.url, { username: 'bob' })]);
  const [peerA, peerB] = await Promise.all([peerIdOf(instanceA), peerIdOf(instanceB)]);

  // Nobody is connected yet.
  await a.page.getByTestId('nav-connect').click();
  await expect(a.page.getByRole('heading', { name: /Connected Peers \(0\)/ })).toBeVisible();

  await connectPeers(a.page, b.page, { a: peerA, b: peerB });

  // B says so in the import result, and lists A under Connected Peers with a Direct badge
  // (connectPeers checked the rows); A learnt about B without any action on its side.
  await expect(b.page.getByTestId('import-result')).toContainText(`Connected to`);
  await expect(b.page.getByTestId('import-code')).toHaveValue('');
  await expect(b.page.getByRole('heading', { name: /Connected Peers \(1\)/ })).toBeVisible();
  await expect(a.page.getByRole('heading', { name: /Connected Peers \(1\)/ })).toBeVisible();
  await expect(b.page.getByTestId('connected-peers').getByTestId(`peer-${peerA}`)).toContainText(peerA);
  await expect(a.page.getByTestId('connected-peers').getByTestId(`peer-${peerB}`)).toContainText(peerB);
  // The REST view agrees with the pages.
  for (const instance of [instanceA, instanceB]) {
    const status = (await (await fetch(`${instance.url}/api/v1/p2p/status`)).json()) as { connected_peers: number };
    expect(status.connected_peers).toBe(1);
  }
  await expectNoPageScroll(b.page);
  await screenshot(b.page, 'connect');
});

test('broadcast and DM appear live on the other side and reach "delivered"', async ({ canopy }) => {
  const [instanceA, instanceB] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const [a, b] = await Promise.all([canopy.newUser(), canopy.newUser()]);
  await Promise.all([setupAccount(a.page, instanceA.url), setupAccount(b.page, instanceB.url, { username: 'bob' })]);
  const [peerA, peerB] = await Promise.all([peerIdOf(instanceA), peerIdOf(instanceB)]);
  await connectPeers(a.page, b.page, { a: peerA, b: peerB });

  await openConversation(a.page, { channel: 'general' });
  await openConversation(b.page, { channel: 'general' });

  // Reloads would hide a missing push: mark B's document and check the mark survives.
  await b.page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
  await a.page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

  // ---- broadcast A → everyone, in #general ----
  const broadcast = `Hello from A in general ${Date.now()}`;
  await sendMessage(a.page, broadcast);
  await expect(messageRow(a.page, broadcast)).toBeVisible();
  await expect(messageRow(b.page, broadcast)).toBeVisible({ timeout: 20_000 });
  await expect(messageRow(b.page, broadcast).getByTestId('message-author')).not.toHaveText('You');
  await expect(messageRow(a.page, broadcast).getByTestId('message-author')).toHaveText('You');
  await expect(deliveryState(a.page, broadcast)).toHaveAttribute('data-state', 'delivered', { timeout: 20_000 });
  await expect(deliveryState(a.page, broadcast)).toHaveText('Delivered');
  // Incoming messages carry no delivery badge.
  await expect(messageRow(b.page, broadcast).getByTestId('delivery-state')).toHaveCount(0);

  // ---- DM B → A; A has the conversation with B open ----
  await openConversation(a.page, { peer: peerB });
  await expect(a.page.getByTestId('no-messages')).toBeVisible();
  await openConversation(b.page, { peer: peerA });
  const dm = `Private hello from B ${Date.now()}`;
  await sendMessage(b.page, dm);
  await expect(messageRow(a.page, dm)).toBeVisible({ timeout: 20_000 });
  await expect(deliveryState(b.page, dm)).toHaveAttribute('data-state', 'delivered', { timeout: 20_000 });
  // The DM stays out of #general, and A's list now has a conversation with B.
  await expect(a.page.getByTestId(`dm-${peerB}`)).toBeVisible();
  await expect(b.page.getByTestId(`dm-${peerA}`)).toBeVisible();

  // A answers in the DM; B (still on the DM) sees it live.
  const reply = `Reply from A ${Date.now()}`;
  await sendMessage(a.page, reply);
  await expect(messageRow(b.page, reply)).toBeVisible({ timeout: 20_000 });
  await expect(deliveryState(a.page, reply)).toHaveAttribute('data-state', 'delivered', { timeout: 20_000 });

  await openConversation(b.page, { channel: 'general' });
  await expect(messageRow(b.page, broadcast)).toBeVisible();
  await expect(messageRow(b.page, dm)).toHaveCount(0);

  for (const page of [a.page, b.page]) {
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  }
  // A broadcast the other way, B → A, with A on #general.
  await openConversation(a.page, { channel: 'general' });
  const back = `Hello back from B ${Date.now()}`;
  await sendMessage(b.page, back);
  await expect(messageRow(a.page, back)).toBeVisible({ timeout: 20_000 });
  await expect(deliveryState(b.page, back)).toHaveAttribute('data-state', 'delivered', { timeout: 20_000 });
  await expect(a.page.getByTestId('message-text')).toHaveText([broadcast, back]);
  await expectNoPageScroll(a.page);
  await screenshot(a.page, 'messages');
});
