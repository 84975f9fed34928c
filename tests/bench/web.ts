/// <reference lib="dom" />
// Web app figures, measured in Debian Chromium against a real companion: the JS a first visit
// downloads (gzip), and how long a channel of 10,000 messages takes to render from IndexedDB.
import { gzipSync } from 'node:zlib';
import { chromium, type Page } from '@playwright/test';
import { startCompanion } from '../../companion/node.ts';
import { ensureSetupCode } from '../../companion/service/setup-code.ts';
import { freePort, HOST, now, type Row, type TempDirs } from './harness.ts';

const MESSAGES = 10_000;
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'];

export async function benchWebApp(dirs: TempDirs): Promise<Row[]> {
  const port = await freePort();
  const companion = await startCompanion({ host: HOST, port, meshPort: await freePort(), dataDir: dirs.make('web'), relayPolicy: 'broker_only', quiet: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const scripts = new Map<string, Buffer>();
    page.on('response', async (response) => {
      if (response.request().resourceType() === 'script') scripts.set(response.url(), await response.body().catch(() => Buffer.alloc(0)));
    });
    const url = `http://${HOST}:${port}`;
    // The owner's way in: the setup link the companion prints at start.
    await page.goto(`${url}/?setup=${ensureSetupCode(companion.store)}`);
    await page.getByTestId('setup-username').waitFor();
    const raw = [...scripts.values()].reduce((n, b) => n + b.length, 0);
    const gzipped = [...scripts.values()].reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0);

    await page.getByTestId('setup-username').fill('bench');
    await page.getByTestId('setup-password').fill('benchmark password');
    await page.getByTestId('setup-confirm').fill('benchmark password');
    await page.getByTestId('setup-submit').click();
    await page.waitForURL(/\/messages/);
    await seedMessages(page, MESSAGES);

    const canopyMs = await timeChannelRender(page, `${url}/messages`);
    const baselineMs = await timePlainRender(page, url);
    const section = '5. web app (Debian Chromium, real companion)';
    return [
      {
        section,
        measurement: `JS on first load, gzip (${scripts.size} files)`,
        unit: 'KiB',
        canopy: gzipped / 1024,
        baseline: raw / 1024,
        baselineName: 'same files uncompressed',
        detail: 'every script the Setup page loads on a first visit, gzip -9',
      },
      {
        section,
        measurement: `open a channel of ${MESSAGES.toLocaleString('en-US')} messages from IndexedDB`,
        unit: 'ms',
        canopy: canopyMs,
        baseline: baselineMs,
        baselineName: 'IndexedDB getAll + plain DOM list',
        detail: `Canopy: reload /messages until the newest of ${MESSAGES.toLocaleString('en-US')} rows shows (virtualised list, liveQuery); baseline: read the same rows with one getAll and render them all as <div>s`,
      },
    ];
  } finally {
    await browser.close();
    await companion.close();
  }
}

/** Writes rows straight into the app's IndexedDB, as a long-used replica would hold them. */
async function seedMessages(page: Page, count: number): Promise<void> {
  await page.evaluate(async (count) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('canopy');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const tx = db.transaction(['messages', 'meta'], 'readwrite');
    const store = tx.objectStore('messages');
    // Read already, as on a replica that has been in use: the channel opens at its newest message.
    tx.objectStore('meta').put({ key: 'readBaseline', value: 1_000_000 + count });
    const base = Date.now() - count * 1000;
    for (let i = 0; i < count; i++) {
      store.put({
        id: `bench-${String(i).padStart(6, '0')}`,
        cursor: 1_000_000 + i,
        channel: 'general',
        kind: 'post',
        author: 'BenchAuthor00001',
        content: `message ${i}: the quick brown fox jumps over the lazy dog`,
        metadata: {},
        ts: base + i * 1000,
        received_at: base + i * 1000,
        peer_id: null,
        direction: 'incoming',
        delivery_state: null,
        client_id: null,
      });
    }
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, count);
}

async function timeChannelRender(page: Page, url: string): Promise<number> {
  const newest = page.getByTestId('message-text').filter({ hasText: `message ${MESSAGES - 1}:` });
  await page.goto(url);
  await newest.waitFor({ timeout: 60_000 }); // warm-up: caches and compiled code, as for a returning user
  const started = now();
  await page.reload();
  await newest.waitFor({ timeout: 60_000 });
  return now() - started;
}

async function timePlainRender(page: Page, url: string): Promise<number> {
  // A same-origin document that is not the app (so the app does not run), with the app's IndexedDB.
  await page.goto(`${url}/manifest.webmanifest`);
  return page.evaluate(async () => {
    const started = performance.now();
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('canopy');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const rows = await new Promise<Array<{ content: string }>>((resolve, reject) => {
      const request = db.transaction('messages').objectStore('messages').getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const list = document.createElement('div');
    for (const row of rows) {
      const item = document.createElement('div');
      item.textContent = row.content;
      list.append(item);
    }
    document.body.replaceChildren(list);
    list.lastElementChild?.getBoundingClientRect(); // force layout, as a visible list would
    db.close();
    return performance.now() - started;
  });
}
