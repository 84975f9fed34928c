// Issue 3, item 1: first visit → Setup; another browser → Login showing the companion's key
// fingerprint; a wrong password is refused with a clear error; the right one logs in; a reload
// stays logged in (the device key is remembered in IndexedDB).
// Issue 6: setup needs the one-time setup code (a wrong one is refused, the printed ?setup= link
// fills it in); repeated wrong passwords make the Login button count down before the next try.
// Issue 9: a warning before the waits begin, a live m:ss countdown, waits growing 1 s, 2 s, …
import { expect, test } from './helpers/fixtures.ts';
import { expectNoPageScroll, expectShell, navigate, PASSWORD, printedFingerprint, screenshot, setupAccount, USERNAME } from './helpers/app.ts';

test('setup on first visit, login from another browser, reload stays logged in', async ({ canopy }) => {
  test.slow(); // two browsers, a throttled login and its countdown
  const instance = await canopy.startInstance();
  const fingerprint = printedFingerprint(instance);

  // ---- first browser: Setup ----
  const first = await canopy.newUser();
  await first.page.goto(instance.url);
  await expect(first.page.getByRole('heading', { name: 'Welcome to Canopy' })).toBeVisible({ timeout: 20_000 });
  await expect(first.page.getByTestId('setup-submit')).toBeEnabled({ timeout: 20_000 });
  // Without the link, the code field is empty and says where to find the code.
  await expect(first.page.getByTestId('setup-code')).toHaveValue('');
  await expect(first.page.getByTestId('setup-code-hint')).toContainText('npx canopy setup-code');
  await screenshot(first.page, 'setup');
  await first.page.setViewportSize({ width: 375, height: 812 });
  await expectNoPageScroll(first.page);
  await screenshot(first.page, 'setup-phone');
  await first.page.setViewportSize({ width: 1280, height: 720 });

  // The form checks its input before asking the companion.
  await first.page.getByTestId('setup-code').fill('ABCD-EFGH-JKMN-PQRS');
  await first.page.getByTestId('setup-username').fill(USERNAME);
  await first.page.getByTestId('setup-password').fill(PASSWORD);
  await first.page.getByTestId('setup-confirm').fill(`${PASSWORD}!`);
  await first.page.getByTestId('setup-submit').click();
  await expect(first.page.getByTestId('setup-error')).toHaveText('The two passwords do not match.');
  // A wrong code is refused by the companion, with where to find the right one.
  await first.page.getByTestId('setup-confirm').fill(PASSWORD);
  await first.page.getByTestId('setup-submit').click();
  await expect(first.page.getByTestId('setup-error')).toContainText('Wrong setup code');
  await expect(first.page.getByTestId('setup-error')).toContainText('npx canopy setup-code');

  await setupAccount(first.page, instance.url);
  await expect(first.page.getByTestId('connection-status')).toHaveText('Online');
  await expect(first.page.getByTestId('own-name')).toHaveText(USERNAME);

  // ---- second browser (fresh context = new device key): Login with the fingerprint ----
  const second = await canopy.newUser();
  await second.page.goto(instance.url);
  await expect(second.page.getByRole('heading', { name: 'Log in to Canopy' })).toBeVisible({ timeout: 20_000 });
  await expect(second.page.getByTestId('setup-username')).toHaveCount(0);
  await expect(second.page.getByTestId('companion-fingerprint')).toContainText(fingerprint);
  await expect(second.page.getByTestId('login-submit')).toBeEnabled({ timeout: 20_000 });
  await screenshot(second.page, 'login');

  // Wrong password: the clear error, still on Login, password field emptied.
  await second.page.getByTestId('login-username').fill(USERNAME);
  await second.page.getByTestId('login-password').fill('not the password');
  await second.page.getByTestId('login-submit').click();
  await expect(second.page.getByTestId('login-error')).toHaveText('Invalid username or password');
  await expect(second.page.getByTestId('login-password')).toHaveValue('');
  await expect(second.page.getByRole('heading', { name: 'Log in to Canopy' })).toBeVisible();

  // More wrong passwords: a warning before the waits begin, then a live countdown on a disabled
  // button, waits growing 1 s, 2 s … (issue 9) instead of a long lockout.
  const submit = second.page.getByTestId('login-submit');
  const attemptsLeft = second.page.getByTestId('attempts-left');
  const wrong = async (password: string) => {
    await second.page.getByTestId('login-password').fill(password);
    await submit.click();
    await expect(second.page.getByTestId('login-password')).toHaveValue('');
  };
  await expect(attemptsLeft).toHaveCount(0); // one typo is not worth a warning
  await wrong('wrong 2');
  await expect(second.page.getByTestId('login-error')).toHaveText('Invalid username or password');
  await expect(attemptsLeft).toHaveCount(0);
  await wrong('wrong 3');
  await expect(attemptsLeft).toHaveText('2 attempts left before a short wait.');
  await wrong('wrong 4');
  await expect(attemptsLeft).toHaveText('1 attempt left before a short wait.');
  await expect(second.page.getByTestId('login-username')).toHaveAttribute('aria-invalid', 'true');
  await expect(second.page.getByTestId('login-password')).toHaveAttribute('aria-describedby', 'login-error');

  // Every state the button goes through, in order (a wait may be over before an assertion looks).
  await submit.evaluate((button: HTMLButtonElement) => {
    const seen: Array<{ text: string; disabled: boolean }> = [];
    Object.assign(window, { buttonStates: seen });
    const record = () => seen.push({ text: button.textContent?.trim() ?? '', disabled: button.disabled });
    new MutationObserver(record).observe(button, { childList: true, characterData: true, subtree: true, attributes: true });
  });
  await wrong('wrong 5');
  await expect(submit).toHaveText('Log in', { timeout: 20_000 });
  await wrong('wrong 6');
  // The 2 s wait: long enough to look at.
  await expect(submit).toBeDisabled();
  await expect(submit).toHaveText(/^Try again in 0:0[12]$/);
  await expect(second.page.getByTestId('throttle-wait')).toContainText('Too many wrong passwords in a row');
  await expect(second.page.getByTestId('login-error')).toHaveText('Invalid username or password');
  await expect(attemptsLeft).toHaveCount(0);
  await screenshot(second.page, 'login-throttled');
  await expect(submit).toHaveText('Log in', { timeout: 20_000 });
  const seen = await second.page.evaluate(() => (window as unknown as { buttonStates: Array<{ text: string; disabled: boolean }> }).buttonStates);
  const counting = seen.filter((state) => state.text.startsWith('Try again in'));
  expect(counting.every((state) => state.disabled), 'the button is disabled while it counts down').toBe(true);
  // The first text of each wait: 1 s after the 5th wrong password, 2 s after the 6th.
  const waits = seen.filter((state, i) => state.text.startsWith('Try again in') && !seen[i - 1]?.text.startsWith('Try again in'));
  expect(waits.map((state) => state.text)).toEqual(['Try again in 0:01', 'Try again in 0:02']);

  // Right password: the app shell.
  await second.page.getByTestId('login-password').fill(PASSWORD);
  await second.page.getByTestId('login-submit').click();
  await expectShell(second.page);
  await expect(second.page.getByTestId('own-name')).toHaveText(USERNAME);
  await expect(second.page.getByTestId('connection-status')).toHaveText('Online');

  // ---- reloads keep both browsers logged in (the companion recognises the stored device key) ----
  for (const page of [second.page, first.page]) {
    await page.reload();
    await expectShell(page);
    await expect(page.getByTestId('connection-status')).toHaveText('Online', { timeout: 20_000 });
    // The device list needs an authenticated link: the companion accepted the remembered device key.
    await navigate(page, 'settings');
    await expect(page.getByTestId('devices').getByTestId('this-browser')).toBeVisible({ timeout: 20_000 });
    await expect(page.getByTestId('devices').locator('li')).toHaveCount(2);
    await expect(page.getByTestId('login-username')).toHaveCount(0);
  }

  // A brand-new context still gets Login, not the shell: the session is per device key.
  const third = await canopy.newUser();
  await third.page.goto(`${instance.url}/settings`);
  await expect(third.page.getByRole('heading', { name: 'Log in to Canopy' })).toBeVisible({ timeout: 20_000 });
});
