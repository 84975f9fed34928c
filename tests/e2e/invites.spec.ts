// Issue 9, item 4: invites that work across machines, errors written for people, QR scanning.
// - An invite whose only addresses are loopback says it works on this computer only and how to fix
//   that; the Port field shows the real mesh port; a public host makes the warning go.
// - A damaged code, a refused public host and an unreachable peer are explained in plain words,
//   the companion's precise words under Details, the error tied to its field.
// - "Scan QR code" exists only where the browser has BarcodeDetector and a camera API (Chromium on
//   Linux has neither BarcodeDetector): a fake of that browser API surface (detector + camera
//   stream) proves the flow fills the invite field; the import that follows is real.
import { apiClient, createKey } from '../helpers/api.ts';
import type { Page } from '@playwright/test';
import { expect, test } from './helpers/fixtures.ts';
import { expectConnected, login, navigate, peerIdOf, readInviteCode, screenshot, setupAccount } from './helpers/app.ts';

test('a loopback invite says it works here only; the mesh port, field errors and unreachable peers in plain words', async ({ canopy }) => {
  const [a, gone] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  // An invite of a peer that is not running (any more): its mesh port refuses connections.
  const deadInvite = (await apiClient(gone.url, await createKey(gone.dataDir)).get('/p2p/invite')).body.invite_code as string;
  await gone.stop();

  const { page } = await canopy.newUser();
  await setupAccount(page, a.url);
  await navigate(page, 'connect');
  await readInviteCode(page);

  const localOnly = page.getByTestId('invite-local-only');
  await expect(localOnly).toContainText('This invite works on this computer only.');
  await expect(localOnly).toContainText(`ws://127.0.0.1:${a.meshPort}`);
  await expect(localOnly).toContainText('--host 0.0.0.0');
  await expect(page.getByTestId('public-port')).toHaveAttribute('placeholder', String(a.meshPort));
  await screenshot(page, 'invite-local-only');

  // A host the companion refuses: said for a person, tied to the field, precise words under Details.
  const host = page.getByTestId('public-host');
  await host.fill('not a host!');
  await page.getByTestId('regenerate-invite').click();
  const inviteError = page.getByTestId('invite-error');
  await expect(inviteError).toHaveText('The public IP or host must be a host name or an IP address, such as 198.51.100.1 or canopy.example.org.');
  await expect(host).toHaveAttribute('aria-invalid', 'true');
  await expect(host).toHaveAttribute('aria-describedby', /\binvite-error\b/);
  await expect(page.getByTestId('invite-error-detail')).toHaveText(/^Invalid public_host/);
  await expect(page.getByTestId('invite-error-detail')).toBeHidden(); // inside the closed Details

  // A public address (a documentation IP: only written into the code, never dialled) ends the warning.
  await host.fill('198.51.100.1');
  await page.getByTestId('regenerate-invite').click();
  await expect(page.getByTestId('invite-endpoints')).toContainText(`ws://198.51.100.1:${a.meshPort}`);
  await expect(localOnly).toHaveCount(0);
  await expect(inviteError).toHaveCount(0);
  await expect(host).not.toHaveAttribute('aria-invalid', 'true');

  // A damaged code.
  const code = page.getByTestId('import-code');
  await code.fill('canopy:this-is-not-an-invite');
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-error')).toHaveText('This invite code is damaged or incomplete — copy it again.');
  await expect(code).toHaveAttribute('aria-invalid', 'true');
  await expect(code).toHaveAttribute('aria-describedby', 'import-error');
  await page.getByTestId('import-result').getByText('Details').click();
  await expect(page.getByTestId('import-error-detail')).toContainText('not valid base64url-encoded JSON');

  // A peer that does not answer: where it was tried and what to check, no socket error codes.
  await code.fill(deadInvite);
  await page.getByTestId('import-submit').click();
  const unreachable = page.getByTestId('import-unreachable');
  await expect(unreachable).toHaveText(`Couldn't reach that peer at 127.0.0.1:${gone.meshPort} — is it running and reachable from here?`, {
    timeout: 20_000,
  });
  await expect(page.getByTestId('import-not-connected')).toContainText('nothing is listening there');
  await expect(code).not.toHaveAttribute('aria-invalid', 'true');
  await screenshot(page, 'invite-unreachable');

  // Settings → Network names the port to forward.
  await navigate(page, 'settings');
  await expect(page.getByTestId('mesh-port')).toContainText(`port ${a.meshPort}`);
});

/** Init script: the Barcode Detection API and a camera, as the page sees them; the test drives them through `window.fakeCamera`. */
function fakeCameraApi(invite: string): void {
  const state = { showInvite: false, deny: false, stopped: 0 };
  Object.assign(window, { fakeCamera: state });
  class FakeBarcodeDetector {
    static getSupportedFormats(): Promise<string[]> {
      return Promise.resolve(['qr_code']);
    }
    detect(): Promise<Array<{ rawValue: string }>> {
      // Some other QR code in view until the test shows the invite.
      return Promise.resolve([{ rawValue: state.showInvite ? invite : 'https://example.org/menu' }]);
    }
  }
  Object.assign(window, { BarcodeDetector: FakeBarcodeDetector });
  navigator.mediaDevices.getUserMedia = async () => {
    if (state.deny) throw new DOMException('Permission denied', 'NotAllowedError');
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 64;
    canvas.getContext('2d')!.fillRect(0, 0, 64, 64);
    const stream = canvas.captureStream(5);
    for (const track of stream.getTracks()) {
      const stop = track.stop.bind(track);
      track.stop = () => {
        state.stopped++;
        stop();
      };
    }
    return stream;
  };
}

interface FakeCamera {
  showInvite: boolean;
  deny: boolean;
  stopped: number;
}

/** The test's handle on the fake camera of `page`. */
function fakeCamera(page: Page) {
  return {
    set: (patch: Partial<FakeCamera>) =>
      page.evaluate((change) => void Object.assign((window as unknown as { fakeCamera: FakeCamera }).fakeCamera, change), patch),
    get: () => page.evaluate(() => ({ ...(window as unknown as { fakeCamera: FakeCamera }).fakeCamera })),
  };
}

test('Scan QR code: hidden without a barcode detector; with one, a scanned invite fills the field and connects', async ({ canopy }) => {
  const [a, b] = await Promise.all([canopy.startInstance(), canopy.startInstance()]);
  const peerB = await peerIdOf(b);
  const inviteB = (await apiClient(b.url, await createKey(b.dataDir)).get('/p2p/invite')).body.invite_code as string;

  // Plain Chromium on Linux: no BarcodeDetector, so no button; pasting is there.
  const plain = await canopy.newUser();
  await setupAccount(plain.page, a.url);
  await navigate(plain.page, 'connect');
  await expect(plain.page.getByTestId('import-code')).toBeVisible();
  expect(await plain.page.evaluate(() => 'BarcodeDetector' in window)).toBe(false);
  await expect(plain.page.getByTestId('scan-qr')).toHaveCount(0);

  // A browser that has the API (a phone): the button, a camera view, then the invite in the field.
  const phone = await canopy.newUser();
  await phone.context.addInitScript(fakeCameraApi, inviteB);
  const page = phone.page;
  const camera = fakeCamera(page);
  await login(page, a.url);
  await navigate(page, 'connect');

  // Camera refused: said so, with the way out.
  await camera.set({ deny: true });
  await page.getByTestId('scan-qr').click();
  const scanner = page.getByTestId('qr-scanner');
  await expect(scanner.getByTestId('qr-problem')).toContainText('may not use the camera');
  await expect(scanner.getByTestId('qr-problem')).toContainText('paste the invite code instead');
  await scanner.getByTestId('qr-cancel').click();
  await expect(scanner).toBeHidden();

  await camera.set({ deny: false });
  await page.getByTestId('scan-qr').click();
  await expect(scanner).toBeVisible();
  await expect(scanner.locator('video')).toBeVisible();
  // Another QR code in view: not taken, and the view says what it wants.
  await expect(scanner).toContainText('That QR code is not a Canopy invite.');
  await expect(page.getByTestId('import-code')).toHaveValue('');
  await screenshot(page, 'invite-scan', { tall: false });

  await camera.set({ showInvite: true });
  await expect(scanner).toBeHidden();
  await expect(page.getByTestId('import-code')).toHaveValue(inviteB);
  await expect(page.getByTestId('import-scanned')).toBeVisible();
  await expect(page.getByTestId('import-submit')).toBeFocused();
  // The camera is off once the code is read.
  expect((await camera.get()).stopped).toBeGreaterThan(0);

  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-result')).toContainText('Connected to', { timeout: 20_000 });
  await expectConnected(page, peerB);
});
