import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../companion/logger.ts';
import { openStore } from '../../../companion/store/index.ts';

// Databases and logs hold message bodies and peer data: nobody but the owner may read them.
const modeOf = (file: string) => statSync(file).mode & 0o777;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-modes-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('data file modes', () => {
  it('creates the database and its WAL and SHM files readable by the owner only', () => {
    const file = join(dir, 'canopy.db');
    const store = openStore({ file, atRestKey: new Uint8Array(32).fill(1) });
    try {
      store.settings.set('probe', 'written'); // forces the WAL file into existence
      for (const path of [file, `${file}-wal`, `${file}-shm`]) {
        expect(existsSync(path), path).toBe(true);
        expect(modeOf(path), path).toBe(0o600);
      }
    } finally {
      store.close();
    }
  });

  it('tightens a database left world-readable by an earlier version', () => {
    const file = join(dir, 'old.db');
    openStore({ file, atRestKey: new Uint8Array(32).fill(1) }).close();
    writeFileSync(`${file}-wal`, '', { mode: 0o644 });
    for (const path of [file, `${file}-wal`]) chmodSync(path, 0o644);
    const store = openStore({ file, atRestKey: new Uint8Array(32).fill(1) });
    try {
      expect(modeOf(file)).toBe(0o600);
      expect(modeOf(`${file}-wal`)).toBe(0o600);
    } finally {
      store.close();
    }
  });

  it('writes the log owner-only, and tightens an old one', () => {
    const log = createLogger(dir, { quiet: true });
    log.info('test', 'first line');
    expect(modeOf(join(dir, 'canopy.log'))).toBe(0o600);

    const oldDir = mkdtempSync(join(dir, 'old-'));
    writeFileSync(join(oldDir, 'canopy.log'), 'old line\n', { mode: 0o644 });
    createLogger(oldDir, { quiet: true }).info('test', 'next line');
    expect(modeOf(join(oldDir, 'canopy.log'))).toBe(0o600);
  });
});
