// Issue 9, item 7: a phone that fits. No page is wider than a 320, 375 or 414 px screen (nothing
// scrolls sideways, in the page or inside its panes), every control is at least 44 px to tap,
// an open conversation has one header, and the drawer behaves like one (Escape, focus).
import type { BrowserContextOptions, Page } from '@playwright/test';
import { expect, test } from './helpers/fixtures.ts';
import { openConversation, setupAccount } from './helpers/app.ts';
import { tourEveryPage, type TourStop } from './helpers/tour.ts';

const PHONE: BrowserContextOptions = {
  viewport: { width: 375, height: 740 },
  screen: { width: 375, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};
const PHONE_WIDTHS = [320, 375, 414];
/** Apple's and Google's smallest comfortable touch target (WCAG 2.5.5). */
const TOUCH = 44;

/** What sticks out sideways: the page itself, or any pane that would scroll sideways. */
function sidewaysOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > innerWidth) found.push(`the page is ${root.scrollWidth} px wide`);
    for (const element of document.querySelectorAll<HTMLElement>('body *')) {
      if (element.matches('input, textarea, select') || !element.checkVisibility()) continue;
      const overflowX = getComputedStyle(element).overflowX;
      if ((overflowX === 'auto' || overflowX === 'scroll') && element.scrollWidth > element.clientWidth + 1) {
        const name = `${element.tagName.toLowerCase()}.${[...element.classList].join('.')}`;
        found.push(`${name} scrolls sideways (${element.scrollWidth} px in ${element.clientWidth} px)`);
      }
    }
    return found;
  });
}

/**
 * Buttons, fields and navigation links smaller than a fingertip. Controls inside running text (a
 * name in a heading, a button in a line of text) are exempt, as WCAG 2.5.5 exempts inline targets.
 */
function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate((min) => {
    const controls = document.querySelectorAll<HTMLElement>(
      'button, select, textarea, input:not([type=checkbox]):not([type=radio]), label:has(> input[type=checkbox]), nav a, a.back',
    );
    const found: string[] = [];
    for (const control of controls) {
      if (!control.checkVisibility({ visibilityProperty: true }) || control.closest('p, h1, h2, h3, h4, strong')) continue;
      const box = control.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      if (box.height < min - 0.5 || box.width < min - 0.5) {
        const name = control.dataset.testid ?? control.getAttribute('aria-label') ?? control.textContent?.trim().slice(0, 30);
        found.push(`${control.tagName.toLowerCase()} "${name}" is ${Math.round(box.width)}×${Math.round(box.height)}`);
      }
    }
    return found;
  }, TOUCH);
}

test('no page is wider than a phone, and every control is big enough to tap', async ({ canopy }) => {
  test.setTimeout(180_000);
  const visited: TourStop[] = [];
  await tourEveryPage(canopy, PHONE, async (page, stop) => {
    for (const width of PHONE_WIDTHS) {
      await page.setViewportSize({ width, height: 740 });
      await page.evaluate(() => new Promise(requestAnimationFrame));
      expect.soft(await sidewaysOverflow(page), `"${stop}" at ${width} px`).toEqual([]);
      expect.soft(await smallTargets(page), `touch targets on "${stop}" at ${width} px`).toEqual([]);
    }
    await page.setViewportSize({ width: 375, height: 740 });
    visited.push(stop);
  });
  expect(visited).toHaveLength(10);
});

test('a conversation has one header, and the drawer closes on Escape and moves the focus', async ({ canopy }) => {
  const instance = await canopy.startInstance();
  const { page } = await canopy.newUser(PHONE);
  await setupAccount(page, instance.url);

  // ---- the drawer ----
  const menu = page.getByTestId('menu-button');
  const drawer = page.locator('#sidebar');
  const box = await menu.boundingBox();
  expect(box!.width).toBeGreaterThanOrEqual(TOUCH);
  expect(box!.height).toBeGreaterThanOrEqual(TOUCH);

  await menu.click();
  await expect(drawer).toBeVisible();
  await expect(page.getByTestId('nav-connect')).toBeFocused();
  expect(await smallTargets(page)).toEqual([]);
  // The page behind the drawer is out of reach until it closes.
  expect(await page.locator('.content').evaluate((content) => (content as HTMLElement).inert)).toBe(true);
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('nav-messages')).toBeFocused();

  await page.keyboard.press('Escape');
  await expect(drawer).toBeHidden();
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await expect(menu).toBeFocused();

  // Closed with the scrim: the focus comes back to the menu button too.
  await menu.click();
  await expect(page.getByTestId('nav-connect')).toBeFocused();
  await page.getByRole('button', { name: 'Close menu' }).click({ position: { x: 360, y: 400 } });
  await expect(drawer).toBeHidden();
  await expect(menu).toBeFocused();

  // ---- one header in a conversation ----
  await openConversation(page, { channel: 'general' });
  await expect(menu).toBeHidden();
  const header = page.locator('.chat > header');
  const headerBox = await header.boundingBox();
  expect(headerBox!.y).toBe(0);
  expect(headerBox!.height).toBeLessThanOrEqual(64);
  // Nothing but the chat's own header stands above the messages.
  await expect(page.locator('.topbar')).toBeHidden();
  // The way back is a full-size target, and the link state stays in sight.
  const back = page.getByRole('link', { name: 'All conversations' });
  const backBox = await back.boundingBox();
  expect(backBox!.width).toBeGreaterThanOrEqual(TOUCH);
  expect(backBox!.height).toBeGreaterThanOrEqual(TOUCH);
  await expect(header.getByRole('img', { name: 'Online' })).toBeVisible();

  await back.click();
  await expect(page.getByTestId('channel-general')).toBeVisible();
  await expect(menu).toBeVisible();

  // On a desktop the same conversation keeps the app's layout: no back link, no duplicate state.
  await page.setViewportSize({ width: 1280, height: 800 });
  await openConversation(page, { channel: 'general' });
  await expect(back).toBeHidden();
  await expect(header.getByRole('img', { name: 'Online' })).toBeHidden();
});
