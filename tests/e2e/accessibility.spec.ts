// Issue 9, item 10: every page passes axe-core without a serious or critical violation (contrast,
// names, labels, ARIA), in the light and the dark theme, and the app has its landmarks; form
// errors are tied to their fields.
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, test } from './helpers/fixtures.ts';
import { navigate, setupAccount } from './helpers/app.ts';
import { tourEveryPage, type TourStop } from './helpers/tour.ts';

/** Structure rules axe rates only "moderate" that this app keeps all the same. */
const ALSO_REQUIRED = new Set(['landmark-one-main', 'page-has-heading-one', 'heading-order', 'landmark-unique']);

async function expectAccessible(page: Page, stop: TourStop): Promise<void> {
  // Let transitions (the drawer, dialogs) finish: axe reads colours as they are painted.
  await page.waitForTimeout(300);
  const results = await new AxeBuilder({ page }).analyze();
  const failures = results.violations.filter(
    (violation) => violation.impact === 'serious' || violation.impact === 'critical' || ALSO_REQUIRED.has(violation.id),
  );
  const report = failures.map((violation) => {
    const nodes = violation.nodes.map((node) => `    ${node.target.join(' ')}: ${node.failureSummary?.replace(/\s+/g, ' ')}`);
    return `${violation.id} (${violation.impact}): ${violation.help}\n${nodes.join('\n')}`;
  });
  expect.soft(report, `axe on "${stop}"`).toEqual([]);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`every page passes axe in the ${colorScheme} theme`, async ({ canopy }) => {
    test.setTimeout(180_000);
    const visited: TourStop[] = [];
    await tourEveryPage(canopy, { colorScheme }, async (page, stop) => {
      expect(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)).toBe(colorScheme === 'dark');
      await expectAccessible(page, stop);
      // Exactly one main landmark, and a first-level heading inside it.
      await expect(page.getByRole('main')).toHaveCount(1);
      await expect(page.getByRole('main').getByRole('heading', { level: 1 }).first()).toBeVisible();
      visited.push(stop);
    });
    expect(visited).toHaveLength(10);
  });
}

test('form errors are tied to their fields', async ({ canopy }) => {
  const instance = await canopy.startInstance();
  const { page } = await canopy.newUser();
  await setupAccount(page, instance.url);

  // A new channel's name: its rules, then its problem, are the field's description.
  await page.getByTestId('new-channel').click();
  const channelName = page.getByTestId('new-channel-name');
  await expect(channelName).toHaveAccessibleDescription(/Letters, digits, - and _/);
  await channelName.fill('general');
  await expect(channelName).toHaveAttribute('aria-invalid', 'true');
  await expect(channelName).toHaveAccessibleDescription('#general already exists; choose another name.');
  await page.keyboard.press('Escape');

  // API keys: no permission at all, then a bad expiry.
  await navigate(page, 'keys');
  for (const permission of ['read_messages', 'write_messages', 'view_peers']) await page.getByTestId(`perm-${permission}`).uncheck();
  await page.getByTestId('create-key').click();
  await expect(page.getByRole('group', { name: 'Permissions' })).toHaveAccessibleDescription('Choose at least one permission.');
  const expiry = page.getByTestId('key-expiry');
  await expect(expiry).not.toHaveAttribute('aria-invalid', 'true');
  await page.getByTestId('perm-read_messages').check();
  await expiry.fill('soon');
  await page.getByTestId('create-key').click();
  await expect(expiry).toHaveAttribute('aria-invalid', 'true');
  await expect(expiry).toHaveAccessibleDescription(/^Expiry must be a whole number of days/);
  await expect(page.getByRole('group', { name: 'Permissions' })).toHaveAccessibleDescription('');

  // Settings: the relay policy says what the chosen policy does; the avatar picker its limit.
  await navigate(page, 'settings');
  await expect(page.getByTestId('relay-policy')).toBeEnabled({ timeout: 20_000 });
  await expect(page.getByTestId('relay-policy')).toHaveAccessibleDescription(/peers/);
  await expect(page.getByLabel('Your Profile avatar')).toHaveAccessibleDescription('Scaled to at most 256 px.');
});
