// The `canopy` fixture: everything a browser test starts (companions, browser contexts, extra
// browsers) is tracked here and torn down after the test, and every page's uncaught errors
// (`pageerror`) are collected — a test fails if any page threw, even when its assertions passed.
import { rmSync } from 'node:fs';
import { chromium, expect, test as base, type Browser, type BrowserContext, type BrowserContextOptions, type LaunchOptions, type Page } from '@playwright/test';
import { startInstance, type Instance, type StartOptions } from '../../helpers/instance.ts';

export interface CanopyUser {
  context: BrowserContext;
  page: Page;
}

/** Every instance a test started, by port: the setup helper reads its setup code from its data dir. */
const startedByPort = new Map<number, Instance>();

/** The instance a test started that serves `url` (whatever host name the URL uses). */
export function startedInstance(url: string): Instance {
  const instance = startedByPort.get(Number(new URL(url).port));
  if (!instance) throw new Error(`no instance started by this test serves ${url}`);
  return instance;
}

export class Canopy {
  readonly #browser: Browser;
  readonly #launchOptions: LaunchOptions;
  /** Every start, recorded before it is awaited: a start a failed Promise.all abandoned is still stopped. */
  readonly #starts: Promise<Instance>[] = [];
  readonly #contexts: BrowserContext[] = [];
  readonly #browsers: Browser[] = [];
  /** `label: message` of every uncaught page error so far. */
  readonly pageErrors: string[] = [];
  #pages = 0;

  constructor(browser: Browser, launchOptions: LaunchOptions) {
    this.#browser = browser;
    this.#launchOptions = launchOptions;
  }

  /** A real companion on 127.0.0.1; stopped (data dir removed) after the test. */
  async startInstance(options: StartOptions = {}): Promise<Instance> {
    const start = startInstance(options);
    this.#starts.push(start);
    const instance = await start;
    startedByPort.set(instance.port, instance);
    return instance;
  }

  /** A fresh browser context (its own IndexedDB, device key, service worker) with one page. */
  async newUser(options: BrowserContextOptions = {}, browser: Browser = this.#browser): Promise<CanopyUser> {
    const context = await browser.newContext(options);
    this.#contexts.push(context);
    const page = await context.newPage();
    this.watch(page);
    return { context, page };
  }

  /** Collects `pageerror`s of a page (newUser does it for its own pages). */
  watch(page: Page, label = `page ${++this.#pages}`): void {
    page.on('pageerror', (error) => this.pageErrors.push(`${label}: ${error.stack ?? error.message}`));
  }

  /** Another Chromium with extra command-line switches (e.g. --host-resolver-rules); closed after the test. */
  async launchBrowser(extraArgs: string[]): Promise<Browser> {
    const browser = await chromium.launch({
      ...this.#launchOptions,
      args: [...(this.#launchOptions.args ?? []), ...extraArgs],
    });
    this.#browsers.push(browser);
    return browser;
  }

  async dispose(): Promise<void> {
    for (const context of this.#contexts.splice(0)) await context.close().catch(() => {});
    for (const browser of this.#browsers.splice(0)) await browser.close().catch(() => {});
    const settled = await Promise.allSettled(this.#starts.splice(0));
    const instances = settled.flatMap((start) => (start.status === 'fulfilled' ? [start.value] : []));
    await Promise.all(instances.map((instance) => instance.stop().catch(() => {})));
    // An instance stopped with keepData (and not restarted) leaves its data dir behind: remove it.
    for (const dir of new Set(instances.map((instance) => instance.dataDir))) {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  }
}

export const test = base.extend<{ canopy: Canopy }>({
  canopy: async ({ browser, launchOptions }, use) => {
    const canopy = new Canopy(browser, launchOptions);
    try {
      await use(canopy);
    } finally {
      await canopy.dispose();
    }
    expect(canopy.pageErrors, 'uncaught errors in the pages (pageerror)').toEqual([]);
  },
});

export { expect };
