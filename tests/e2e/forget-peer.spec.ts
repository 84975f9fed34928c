// Peer management in the Connect page (issue 7 deliverable 5): Forget asks first, in plain words,
// then the peer leaves the list; "Recent activity" shows connection events in words.
import { expect, test } from './helpers/fixtures.ts';
import { connectPeers, peerIdOf, screenshot, setupAccount } from './helpers/app.ts';

test('forget: a confirmed Forget removes the peer; recent activity lists the connection', async ({ canopy }) => {
  const [instanceA, instanceB] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const [a, b] = await Promise.all([canopy.newUser(), canopy.newUser()]);
  await Promise.all([setupAccount(a.page, instanceA.url), setupAccount(b.page, instanceB.url, { username: 'bob' })]);
  const [peerA, peerB] = await Promise.all([peerIdOf(instanceA), peerIdOf(instanceB)]);
  await connectPeers(a.page, b.page, { a: peerA, b: peerB });

  const activity = a.page.getByTestId('recent-activity');
  await expect(activity).toContainText('Connected to');
  await screenshot(a.page, 'connect-activity');

  // Dismissing the question keeps the peer.
  a.page.once('dialog', (dialog) => void dialog.dismiss());
  await a.page.getByTestId(`forget-${peerB}`).click();
  await expect(a.page.getByTestId(`peer-${peerB}`)).toBeVisible();

  let question = '';
  a.page.once('dialog', (dialog) => {
    question = dialog.message();
    void dialog.accept();
  });
  await a.page.getByTestId(`forget-${peerB}`).click();
  await expect(a.page.getByTestId(`peer-${peerB}`)).toHaveCount(0);
  expect(question).toMatch(/^Forget .+\? Canopy stops connecting to them and they will need your invite again\. Messages stay\.$/);
  await expect(activity).toContainText('Disconnected from');

  await a.page.setViewportSize({ width: 375, height: 800 });
  await a.page.reload();
  await expect(a.page.getByTestId('recent-activity')).toBeVisible();
  const overflow = await a.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await screenshot(a.page, 'connect-activity-phone');
});
