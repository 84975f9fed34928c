// Issue 8, items 5 and 6 (web app): A and B advertise a closed port, so nobody can dial them (as
// behind NAT); both link to R ("Rita", full_relay). In A's web app, Connect on B (introduced by
// Rita) shows its progress in words: B's addresses, then Rita introducing them (B's dial back
// fails too), then a relay through Rita. B becomes a connected peer with a "Via Rita" badge, and
// DMs go both ways over the circuit.
import type { Page } from '@playwright/test';
import { apiClient, createKey, eventually } from '../helpers/api.ts';
import type { Instance } from '../helpers/instance.ts';
import { expect, test } from './helpers/fixtures.ts';
import {
  expectNoPageScroll,
  linkOverRest,
  messageRow,
  navigate,
  openConversation,
  peerIdOf,
  screenshot,
  sendMessage,
  setupAccount,
} from './helpers/app.ts';

test.describe.configure({ timeout: 180_000 });

const UNREACHABLE = 'ws://127.0.0.1:1';
const PHONE = { width: 375, height: 740 };
const DESKTOP = { width: 1280, height: 720 };

declare global {
  interface Window {
    progressSeen?: string[];
  }
}

/** Records every text the progress line of `peerId`'s row shows, as it changes (some last only milliseconds). */
async function recordProgress(page: Page, peerId: string): Promise<void> {
  await page.evaluate((id) => {
    const seen: string[] = [];
    window.progressSeen = seen;
    const note = () => {
      const text = document.querySelector(`[data-testid="introduced-${id}"] [data-testid="introduced-progress"]`)?.textContent?.trim();
      if (text && seen.at(-1) !== text) seen.push(text);
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, peerId);
}

test('A connects to unreachable B through Rita: progress in words, a Via badge, DMs both ways', async ({ canopy }) => {
  const [r, a, b] = await Promise.all([
    canopy.startInstance({ env: { CANOPY_RELAY_POLICY: 'full_relay' } }),
    canopy.startInstance({ env: { CANOPY_ADVERTISE: UNREACHABLE } }),
    canopy.startInstance({ env: { CANOPY_ADVERTISE: UNREACHABLE } }),
  ]);
  const [idR, idA, idB] = await Promise.all([peerIdOf(r), peerIdOf(a), peerIdOf(b)]);
  const rest = async (instance: Instance) => apiClient(instance.url, await createKey(instance.dataDir));
  const [restR, restA, restB] = await Promise.all([rest(r), rest(a), rest(b)]);
  // Names first, so the links carry their cards.
  expect((await restR.post('/profile', { display_name: 'Rita' })).status).toBe(200);
  expect((await restB.post('/profile', { display_name: 'Ben' })).status).toBe(200);

  const { page } = await canopy.newUser({ viewport: PHONE });
  await setupAccount(page, a.url);
  await linkOverRest(a, r);
  await linkOverRest(b, r);
  await eventually('Rita introduces Ben to A', async () =>
    (await restA.get('/p2p/introduced')).body.introduced_peers?.some((peer: { peer_id: string }) => peer.peer_id === idB),
  );

  await navigate(page, 'connect');
  const row = page.getByTestId(`introduced-${idB}`);
  await expect(row.getByTestId('introduced-name')).toHaveText('Ben', { timeout: 20_000 });
  await expect(row.getByTestId('introduced-by')).toHaveText('Introduced by Rita');
  await recordProgress(page, idB);
  await row.getByTestId(`connect-introduced-${idB}`).click();

  // Ben reports at once that his dial back failed, so the steps go by in a fraction of a second;
  // their words are unit-tested (tests/unit/web/connect-attempt.test.ts), here only their order.
  await page.setViewportSize(DESKTOP);

  const connected = page.getByTestId('connected-peers').getByTestId(`peer-${idB}`);
  await expect(connected.getByTestId('badge-via')).toHaveText('Via Rita', { timeout: 40_000 });
  await expect(connected.getByTestId('peer-name')).toHaveText('Ben');
  await expect(connected.getByTestId('badge-direct')).toHaveCount(0);
  await expect(page.getByTestId('connected-peers').getByTestId(`peer-${idR}`).getByTestId('badge-direct')).toHaveText('Direct');
  await expect(page.getByTestId('introduced-notice')).toHaveText('Connected to Ben through Rita.');
  await expect(row).toHaveCount(0);
  // Each line shown was one of these, in this order (a step can be replaced before it is rendered).
  const expectedLines = ["Trying Ben's addresses…", 'Asking Rita to introduce you…', 'Relaying through Rita…'];
  const seen = (await page.evaluate(() => window.progressSeen)) ?? [];
  const order = seen.map((line) => expectedLines.indexOf(line));
  expect(order).toEqual(order.filter((at) => at >= 0).sort((x, y) => x - y));
  expect((await restA.get('/p2p/peers')).body.connected_peer_details.find((peer: { peer_id: string }) => peer.peer_id === idB)).toMatchObject({
    connection: 'relayed',
    via: idR,
  });

  // Ben is still unreachable: Try direct says so, and the link stays relayed.
  await connected.getByTestId(`try-direct-${idB}`).click();
  await expect(connected.getByTestId('try-direct-outcome')).toHaveText('Ben still cannot be reached directly, so the link stays relayed.', {
    timeout: 20_000,
  });
  await expect(connected.getByTestId('badge-via')).toHaveText('Via Rita');
  await connected.scrollIntoViewIfNeeded();
  await screenshot(page, 'relay-connected-1280', { tall: false });
  await page.setViewportSize(PHONE);
  await connected.scrollIntoViewIfNeeded();
  await expectNoPageScroll(page);
  const badge = await connected.getByTestId('badge-via').boundingBox();
  expect(badge && badge.x + badge.width, 'the Via badge fits on the phone screen').toBeLessThanOrEqual(PHONE.width);
  await screenshot(page, 'relay-connected-375', { tall: false });

  // A DM from A's web app reaches Ben through the circuit, and Ben's answer shows in A's web app.
  const hello = `Hello Ben, through Rita ${Date.now()}`;
  await openConversation(page, { peer: idB });
  await sendMessage(page, hello);
  await eventually('Ben has the DM from A', async () =>
    (await restB.get(`/messages?peer_id=${idA}`)).body.messages?.some((message: { content: string }) => message.content === hello),
  );
  const answer = `Hi A, Ben here ${Date.now()}`;
  expect((await restB.post('/p2p/send', { content: answer, peer_id: idA })).status).toBe(200);
  await expect(messageRow(page, answer)).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('chat-title')).toHaveText('Ben');
  await expect(page.getByTestId('chat-link')).toHaveText('connected via Rita');
  await expectNoPageScroll(page);
  await screenshot(page, 'relay-dm-375', { tall: false });
});
