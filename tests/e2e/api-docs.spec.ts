// Issue 11, item 1: the API reference at /api/docs works in a real browser under its CSP — it
// loads nothing from another host, logs no error, and "Try it out" with a key typed into
// Authorize calls this companion. Screenshots: reports/screenshots/api-docs-<width>.png.
import { createKey } from '../helpers/api.ts';
import { screenshot } from './helpers/app.ts';
import { expect, test } from './helpers/fixtures.ts';

for (const width of [1280, 375]) {
  test(`the API reference loads from the companion alone and tries a call with a key (${width} px)`, async ({ canopy }) => {
    const instance = await canopy.startInstance({ env: { CANOPY_DISCOVERY: 'off' } });
    const key = await createKey(instance.dataDir, 'read_messages');
    const { page } = await canopy.newUser({ viewport: { width, height: 900 } });
    const foreign: string[] = [];
    const logged: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(`${instance.url}/`) && !request.url().startsWith('data:')) foreign.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') logged.push(message.text());
    });

    await page.goto(`${instance.url}/api/docs`);
    await expect(page.getByRole('heading', { name: /Canopy companion API/ })).toBeVisible();
    const listChannels = page.locator('#operations-Messages-listChannels');
    await expect(listChannels).toBeVisible();
    await screenshot(page, `api-docs-${width}`, { tall: false });
    expect(await page.evaluate(() => document.documentElement.scrollWidth), 'no sideways scrolling').toBeLessThanOrEqual(width);

    await page.locator('.scheme-container button.authorize').click();
    await page.locator('.auth-container').filter({ hasText: 'X-API-Key' }).locator('input').fill(key);
    await page.locator('.auth-container').filter({ hasText: 'X-API-Key' }).getByRole('button', { name: 'Apply credentials' }).click();
    await page.getByRole('button', { name: 'Close' }).first().click();
    await listChannels.locator('.opblock-summary-control').click();
    await listChannels.getByRole('button', { name: 'Try it out' }).click();
    await listChannels.getByRole('button', { name: 'Execute' }).click();
    const live = listChannels.locator('.live-responses-table .response');
    await expect(live.locator('.response-col_status')).toHaveText('200');
    await expect(live.locator('.response-col_description')).toContainText('"general"');

    expect(foreign, 'requests to other hosts').toEqual([]);
    expect(logged, 'console errors and warnings (a CSP refusal shows here)').toEqual([]);
  });
}
