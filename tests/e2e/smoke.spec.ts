import { mkdirSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { startInstance, type Instance } from '../helpers/instance.ts';

let instance: Instance | undefined;

test.afterEach(async () => {
  await instance?.stop();
  instance = undefined;
});

test('placeholder page shows the instance status', async ({ page }) => {
  instance = await startInstance();

  const status = (await (await fetch(`${instance.url}/api/v1/p2p/status`)).json()) as {
    peer_id: string;
    running: boolean;
  };
  expect(typeof status.peer_id).toBe('string');
  expect(status.peer_id.length).toBeGreaterThan(0);

  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));

  await page.goto(instance.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Canopy' })).toBeVisible();
  await expect(page.getByTestId('peer-id')).toHaveText(status.peer_id);
  await expect(page.getByTestId('running')).toHaveText(status.running ? 'Running' : 'Stopped');

  // A deep link is answered with the same app shell.
  await page.goto(`${instance.url}/some/deep/link`);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();

  await page.goto(instance.url);
  await expect(page.getByTestId('peer-id')).toHaveText(status.peer_id);
  mkdirSync('reports/screenshots', { recursive: true });
  await page.screenshot({ path: 'reports/screenshots/placeholder.png', fullPage: true });

  expect(pageErrors).toEqual([]);
});
