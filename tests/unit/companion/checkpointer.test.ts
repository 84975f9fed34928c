// Issue 10: WAL checkpoints run on a second thread, so no commit on the event loop pays for them.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BackgroundCheckpointer, FALLBACK_AUTOCHECKPOINT_PAGES } from '../../../companion/store/checkpointer.ts';
import { openDatabase, type Database } from '../../../companion/store/database.ts';

let dir: string;
let file: string;
let db: Database;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-checkpoint-'));
  file = join(dir, 'canopy.db');
  db = openDatabase(file);
  db.exec('CREATE TABLE filler (body BLOB NOT NULL)');
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** ~2 MiB of committed rows: far below the fallback, far above SQLite's default 1,000 pages. */
function writeMegabytes(): void {
  const insert = db.prepare('INSERT INTO filler (body) VALUES (?)');
  for (let i = 0; i < 64; i++) db.transaction(() => {
    for (let j = 0; j < 8; j++) insert.run(Buffer.alloc(4096, i));
  })();
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('copies committed pages into the database file from its own thread, and stops cleanly', async () => {
  const checkpointer = new BackgroundCheckpointer(db, file, 20);
  expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(FALLBACK_AUTOCHECKPOINT_PAGES);
  const before = statSync(file).size;
  writeMegabytes();
  // The main connection checkpoints only past the fallback; the file grows because the thread did it.
  await until(() => statSync(file).size > before + 1024 * 1024);
  await checkpointer.close();
  expect(db.prepare('SELECT COUNT(*) FROM filler').pluck().get()).toBe(512);
});

it('without it, the same writes stay in the WAL until the fallback', () => {
  db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  const before = statSync(file).size;
  writeMegabytes();
  expect(statSync(file).size).toBe(before);
});
