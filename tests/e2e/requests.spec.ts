// Consent in the Connect page (issue 6): a stranger that connects without our invite code shows
// under "Requests" with where it came from; Accept makes it a peer ("You accepted"), Decline
// removes it. Peers that used our invite say so.
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { rawHandshake } from '../helpers/raw-peer.ts';
import { expect, test } from './helpers/fixtures.ts';
import { connectPeers, peerIdOf, screenshot, setupAccount } from './helpers/app.ts';

test('requests: accept and decline strangers; known peers show their trust', async ({ canopy }) => {
  const [instanceA, instanceB] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const [a, b] = await Promise.all([canopy.newUser(), canopy.newUser()]);
  await Promise.all([setupAccount(a.page, instanceA.url), setupAccount(b.page, instanceB.url, { username: 'bob' })]);
  const [peerA, peerB] = await Promise.all([peerIdOf(instanceA), peerIdOf(instanceB)]);
  await connectPeers(a.page, b.page, { a: peerA, b: peerB });
  await expect(a.page.getByTestId(`trust-${peerB}`)).toHaveText('Used your invite');
  await expect(b.page.getByTestId(`trust-${peerA}`)).toHaveText('You added them');

  // No requests, no section.
  await expect(a.page.getByTestId('requests')).toHaveCount(0);
  const meshUrl = `ws://127.0.0.1:${instanceA.meshPort}/p2p`;
  const [welcome, unwelcome] = [generateIdentity(nodeCrypto), generateIdentity(nodeCrypto)];
  const links = [await rawHandshake(meshUrl, welcome), await rawHandshake(meshUrl, unwelcome)];

  // The section appears live (pushed), with both strangers.
  const requests = a.page.getByTestId('requests');
  await expect(requests).toBeVisible();
  await expect(requests.getByTestId(`request-${welcome.peerId}`)).toContainText('From 127.0.0.1');
  await expect(requests.getByTestId(`request-${unwelcome.peerId}`)).toBeVisible();
  await screenshot(a.page, 'connect-requests');

  await requests.getByTestId(`decline-${unwelcome.peerId}`).click();
  await expect(requests.getByTestId(`request-${unwelcome.peerId}`)).toHaveCount(0);
  await requests.getByTestId(`accept-${welcome.peerId}`).click();
  await expect(a.page.getByTestId('requests')).toHaveCount(0);
  await expect(a.page.getByTestId(`trust-${welcome.peerId}`)).toHaveText('You accepted');
  for (const link of links) link.ws.close();

  // The same on a phone.
  await a.page.setViewportSize({ width: 375, height: 800 });
  const late = await rawHandshake(meshUrl, generateIdentity(nodeCrypto));
  await a.page.goto(`${instanceA.url}/connect`);
  await expect(a.page.getByTestId('requests')).toBeVisible();
  await screenshot(a.page, 'connect-requests-phone');
  late.ws.close();
});
