// Issue 7, items 2, 3 and 6 (web app): three companions in a line A–B–C, linked over REST.
// C's owner sets a name, an avatar and a device name; in A's web app C shows up under
// "Introduced Peers" by that name and picture (A never linked with C: it all came through B), and
// one click on Connect links A to C directly, after which C is a connected peer shown by name.
import { apiClient, createKey, eventually } from '../helpers/api.ts';
import { connectApp, setUpAccount } from '../helpers/app-client.ts';
import { expect, test } from './helpers/fixtures.ts';
import {
  expectConnected,
  expectNoPageScroll,
  linkOverRest,
  messageRow,
  navigate,
  openConversation,
  peerIdOf,
  screenshot,
  setupAccount,
} from './helpers/app.ts';

test.describe.configure({ timeout: 120_000 });

// An 8×8 PNG: a real image the card accepts, far below any size limit.
const AVATAR =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAcklEQVR4nA3JoQEEIQwAsB/shkCjq9HV6Gp0h2CIjPXE5uebxhRTTjX1dCfz5wsjRMhQocMN4sUyllhyqaWXu1gv0kiRMlXqdJN8sY0tttxq6+1u9osySpQsVbrcol4c44gjjzr6uIfzoo0WLVu1brfpP+4eccG6gKHEAAAAAElFTkSuQmCC';

test('A sees C, introduced by B, by name and avatar, and connects to C with one click', async ({ canopy }) => {
  const [a, b, c] = await Promise.all([canopy.startInstance(), canopy.startInstance(), canopy.startInstance()]);
  const [idB, idC] = await Promise.all([peerIdOf(b), peerIdOf(c)]);

  // C's owner: an account, a display name with an avatar (app link, as C's web app does), a device name (REST).
  const appC = await connectApp(c.url);
  expect((await setUpAccount(appC, c.dataDir, 'carol', 'a long password for carol')).ok).toBe(true);
  expect((await appC.call('profile.set_user', { display_name: 'Carol', avatar: AVATAR })).ok).toBe(true);
  appC.close();
  const restC = apiClient(c.url, await createKey(c.dataDir));
  expect((await restC.post('/device/profile', { display_name: 'Carol laptop' })).status).toBe(200);
  const restB = apiClient(b.url, await createKey(b.dataDir));
  expect((await restB.post('/device/profile', { display_name: 'Bob server' })).status).toBe(200);

  const user = await canopy.newUser();
  const page = user.page;
  await setupAccount(page, a.url);

  await linkOverRest(a, b);
  await linkOverRest(c, b);
  // B knows C by its card before A can hear of it.
  await eventually('C introduced to A', async () => {
    const list = (await apiClient(a.url, await createKey(a.dataDir)).get('/p2p/introduced')).body.introduced_peers;
    return list?.some((peer: { peer_id: string }) => peer.peer_id === idC);
  });

  await navigate(page, 'connect');
  const row = page.getByTestId(`introduced-${idC}`);
  await expect(row.getByTestId('introduced-name')).toHaveText('Carol', { timeout: 20_000 });
  await expect(row.getByTestId('avatar')).toHaveAttribute('data-has-picture', 'true');
  await expect(row.getByTestId('introduced-device')).toHaveText('Carol laptop');
  await expect(row.getByTestId('introduced-by')).toHaveText('Introduced by Bob server');
  await row.scrollIntoViewIfNeeded();
  await screenshot(page, 'mesh-introduced-1280', { tall: false });

  await page.setViewportSize({ width: 375, height: 740 });
  await row.scrollIntoViewIfNeeded();
  await expectNoPageScroll(page);
  await screenshot(page, 'mesh-introduced-375', { tall: false });

  // C away: Connect says so in plain words, naming what it tried (B, who does not relay, was asked
  // too), and the introduction stays for a later try.
  const { port: portC, dataDir: dirC } = c;
  await c.stop({ keepData: true });
  await row.getByTestId(`connect-introduced-${idC}`).click();
  await expect(row.getByTestId('introduced-error')).toHaveText(
    'Could not reach Carol. Tried their addresses, an introduction by Bob server and a relay through Bob server; none of it worked. They may be offline or behind a firewall; try again later.',
    { timeout: 20_000 },
  );
  await expect(row.getByTestId(`connect-introduced-${idC}`)).toHaveText('Connect');
  await row.getByTestId('introduced-error').scrollIntoViewIfNeeded();
  await screenshot(page, 'mesh-introduced-error-375', { tall: false });
  await page.setViewportSize({ width: 1280, height: 720 });
  await canopy.startInstance({ port: portC, dataDir: dirC });

  await row.getByTestId(`connect-introduced-${idC}`).click();
  await expect(page.getByTestId('introduced-notice')).toHaveText('Connected to Carol.', { timeout: 20_000 });
  await expectConnected(page, idC);
  // Linked now, so no longer an introduction; shown by name and picture among the connected peers.
  await expect(page.getByTestId(`introduced-${idC}`)).toHaveCount(0);
  const connected = page.getByTestId('connected-peers').getByTestId(`peer-${idC}`);
  await expect(connected.getByTestId('peer-name')).toHaveText('Carol');
  await expect(connected.getByTestId('peer-device')).toHaveText('Carol laptop');
  await expect(connected.getByTestId('avatar')).toHaveAttribute('data-has-picture', 'true');
  await expect(page.getByTestId('connected-peers').getByTestId(`peer-${idB}`).getByTestId('peer-name')).toHaveText('Bob server');
  await connected.scrollIntoViewIfNeeded();
  await screenshot(page, 'mesh-connected-1280', { tall: false });

  // A direct link, as C sees it too.
  const idA = await peerIdOf(a);
  const peersOfC = async () => (await restC.get('/p2p/peers')).body.connected_peers as string[];
  await eventually('C linked with A', async () => (await peersOfC()).includes(idA));

  // Messages from C carry C's name and picture: in #general, in the conversation list and the DM header.
  const post = `Hello mesh, Carol here ${Date.now()}`;
  expect((await restC.post('/p2p/send', { content: post, broadcast: true })).status).toBe(200);
  await openConversation(page, { channel: 'general' });
  const message = messageRow(page, post);
  await expect(message.getByTestId('message-author')).toHaveText('Carol', { timeout: 20_000 });
  await expect(message.getByTestId('avatar')).toHaveAttribute('data-has-picture', 'true');
  const dm = `Just for you ${Date.now()}`;
  expect((await restC.post('/p2p/send', { content: dm, peer_id: idA })).status).toBe(200);
  const conversation = page.getByTestId(`dm-${idC}`);
  await expect(conversation).toContainText('Carol', { timeout: 20_000 });
  await expect(conversation.getByTestId('avatar')).toHaveAttribute('data-has-picture', 'true');
  await conversation.click();
  await expect(page.getByTestId('chat-title')).toHaveText('Carol');
  await expect(page.getByTestId('chat-device')).toHaveText('Carol laptop');
  await expect(messageRow(page, dm)).toBeVisible();
  await screenshot(page, 'mesh-dm-1280', { tall: false });
  await page.setViewportSize({ width: 375, height: 740 });
  await expectNoPageScroll(page);
  await screenshot(page, 'mesh-dm-375', { tall: false });

  // A new card replaces the one the browser keeps: C's new name shows up live.
  const appC2 = await connectApp(c.url);
  expect((await appC2.call('session.login', { username: 'carol', password: 'a long password for carol' })).ok).toBe(true);
  expect((await appC2.call('profile.set_user', { display_name: 'Carol R.' })).ok).toBe(true);
  appC2.close();
  await expect(page.getByTestId('chat-title')).toHaveText('Carol R.', { timeout: 20_000 });
  await expect(messageRow(page, dm).getByTestId('message-author')).toHaveText('Carol R.');
});

test('Settings → Network: trusting introduced peers is on by default and can be switched off', async ({ canopy }) => {
  const instance = await canopy.startInstance();
  const { page } = await canopy.newUser({ viewport: { width: 375, height: 740 } });
  await setupAccount(page, instance.url);
  await navigate(page, 'settings');
  const toggle = page.getByTestId('trust-introduced');
  await expect(toggle).toBeChecked();
  await toggle.uncheck();
  await expect(toggle).not.toBeChecked();
  const rest = apiClient(instance.url, await createKey(instance.dataDir));
  await eventually('trust_introduced off', async () => (await rest.get('/p2p/status')).body.trust_introduced === false);
  await toggle.scrollIntoViewIfNeeded();
  await expectNoPageScroll(page);
  // The main pane clips rather than scrolls sideways: nothing may reach past the screen's edge.
  const widest = await page.evaluate(() => Math.max(...[...document.querySelectorAll('.card')].map((card) => card.getBoundingClientRect().right)));
  expect(widest).toBeLessThanOrEqual(375);
  await screenshot(page, 'mesh-settings-375');
  await page.reload();
  await expect(page.getByTestId('trust-introduced')).not.toBeChecked({ timeout: 20_000 });
});
