// Issue 9, item 11: a picture of every page, on a laptop (1280 px) and a phone (375 px), in the
// light and the dark theme, in reports/screenshots/page-<stop>-<width>-<theme>.png, for people to
// look at (the checks themselves are in accessibility.spec.ts and phone.spec.ts).
import type { BrowserContextOptions, Page } from '@playwright/test';
import { expect, test } from './helpers/fixtures.ts';
import { screenshot } from './helpers/app.ts';
import { tourEveryPage, type TourStop } from './helpers/tour.ts';

const SCREENS: { width: number; options: BrowserContextOptions }[] = [
  { width: 1280, options: { viewport: { width: 1280, height: 800 } } },
  {
    width: 375,
    options: { viewport: { width: 375, height: 740 }, screen: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  },
];

/** One shot per theme; the page goes back to the context's own scheme afterwards. */
async function shootBothThemes(page: Page, name: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await screenshot(page, `${name}-${colorScheme}`);
  }
  await page.emulateMedia({ colorScheme: null });
}

for (const { width, options } of SCREENS) {
  test(`every page at ${width} px, light and dark`, async ({ canopy }) => {
    test.setTimeout(180_000);
    const shot: TourStop[] = [];
    await tourEveryPage(canopy, options, async (page, stop) => {
      await shootBothThemes(page, `page-${stop}-${width}`);
      // On a phone the navigation is a drawer: show it open too.
      if (stop === 'messages' && width < 720) {
        await page.getByTestId('menu-button').click();
        await expect(page.locator('#sidebar')).toBeVisible();
        await page.waitForTimeout(300);
        await shootBothThemes(page, `page-menu-${width}`);
        await page.keyboard.press('Escape');
        await expect(page.locator('#sidebar')).toBeHidden();
      }
      shot.push(stop);
    });
    expect(shot).toHaveLength(10);
  });
}
