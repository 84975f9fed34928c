import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, migrations, openDatabase, openStore, type Store } from '../../../companion/store/index.ts';

const KEY = new Uint8Array(32).fill(7);
let dir: string;
const stores: Store[] = [];
const open = (file = join(dir, 'canopy.db')): Store => {
  const store = openStore({ file, atRestKey: KEY });
  stores.push(store);
  return store;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-store-'));
});
afterEach(() => {
  for (const store of stores.splice(0)) if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('openDatabase', () => {
  it('sets WAL, NORMAL sync, foreign keys and a busy timeout', () => {
    const db = openDatabase(join(dir, 'a.db'));
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    } finally {
      db.close();
    }
  });

  it('migrations are idempotent on reopen and create the general channel once', () => {
    const file = join(dir, 'canopy.db');
    const first = open(file);
    const general = first.channels.get('general');
    expect(general).toMatchObject({ id: 'general', name: 'general', originPeer: null });
    first.close();

    const second = open(file);
    expect(second.db.pragma('user_version', { simple: true })).toBe(migrations.length);
    expect(migrate(second.db)).toBe(migrations.length);
    expect(second.channels.list().filter((c) => c.id === 'general')).toEqual([general]);
  });

  it('refuses a file from a newer schema', () => {
    const file = join(dir, 'future.db');
    const db = openDatabase(file);
    db.pragma(`user_version = ${migrations.length + 1}`);
    db.close();
    expect(() => openDatabase(file)).toThrow(/newer/);
  });

  it('applies only pending migrations, each with its version bump', () => {
    const db = openDatabase(join(dir, 'b.db'));
    try {
      const extra = [...migrations, 'CREATE TABLE later (x INTEGER)'];
      expect(migrate(db, extra)).toBe(extra.length);
      expect(migrate(db, extra)).toBe(extra.length); // second run: nothing to do, no "table exists" error
      const broken = [...extra, 'CREATE TABLE ok (x INTEGER); THIS IS NOT SQL'];
      expect(() => migrate(db, broken)).toThrow();
      expect(db.pragma('user_version', { simple: true })).toBe(extra.length);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'ok'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });

  it('rejects an at-rest key that is not 32 bytes before touching the file', () => {
    expect(() => openStore({ file: join(dir, 'x.db'), atRestKey: new Uint8Array(16) })).toThrow(/32 bytes/);
  });
});

describe('two connections and restarts', () => {
  it('a second connection creates keys while the first is open and writing', () => {
    const file = join(dir, 'canopy.db');
    const instance = open(file);
    const cli = open(file);

    const { key } = cli.apiKeys.create({ permissions: ['read_messages'], name: 'agent' });
    expect(instance.apiKeys.verify(key)?.name).toBe('agent');

    // Interleaved writes from both connections.
    instance.settings.set('relay_policy', 'broker_only');
    const second = cli.apiKeys.create({ permissions: ['manage_keys'] });
    instance.channels.ensure({ id: 'ops', name: 'ops' });
    expect(instance.apiKeys.list().map((k) => k.id)).toContain(second.record.id);
    expect(cli.settings.get('relay_policy')).toBe('broker_only');
    expect(cli.channels.get('ops')?.name).toBe('ops');
  });

  it('a writer waits for another process holding the write lock', async () => {
    const file = join(dir, 'canopy.db');
    const instance = open(file);
    // A real second thread holds the write lock, as the CLI would, until the instance has begun its
    // own write (flag 1), and a little longer; it marks the moment it commits (flag 2).
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const holder = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const Database = require(workerData.module);
       const db = new Database(workerData.file);
       db.exec('BEGIN IMMEDIATE');
       db.prepare("INSERT INTO settings (key, value) VALUES ('from_cli', 'true')").run();
       parentPort.postMessage('locked');
       Atomics.wait(workerData.flags, 0, 0);
       Atomics.wait(workerData.flags, 0, 1, 200);
       Atomics.store(workerData.flags, 0, 2);
       db.exec('COMMIT');
       db.close();`,
      { eval: true, workerData: { file, flags, module: createRequire(import.meta.url).resolve('better-sqlite3') } },
    );
    const exited = once(holder, 'exit');
    await once(holder, 'message');
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    instance.settings.set('from_instance', true); // blocks in the busy handler, then succeeds
    // It returned only after the holder committed: it waited for the lock instead of failing.
    expect(Atomics.load(flags, 0)).toBe(2);
    expect(instance.settings.get('from_cli')).toBe(true);
    expect(instance.settings.get('from_instance')).toBe(true);
    await exited;
  });

  it('gives up with SQLITE_BUSY when the lock is never released, and writes nothing', () => {
    const file = join(dir, 'canopy.db');
    const instance = open(file);
    const cli = open(file);
    cli.db.pragma('busy_timeout = 100');
    instance.db.exec('BEGIN IMMEDIATE');
    instance.settings.set('held', true);
    // The lock is held synchronously here, so the CLI times out rather than deadlocking the test.
    expect(() => cli.apiKeys.create({ permissions: [] })).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    instance.db.exec('COMMIT');
    expect(cli.apiKeys.list()).toEqual([]);
    expect(cli.apiKeys.create({ permissions: [] }).key).toMatch(/^cnp_/);
    expect(cli.settings.get('held')).toBe(true);
  });

  it('what was acknowledged survives kill -9', () => {
    const file = join(dir, 'canopy.db');
    // .mts: an ES module like the companion (the store's dependencies export only `import`).
    const script = join(dir, 'crash.mts');
    writeFileSync(
      script,
      `import { openStore } from ${JSON.stringify(resolve('companion/store/index.ts'))};
       const store = openStore({ file: ${JSON.stringify(file)}, atRestKey: new Uint8Array(32).fill(7) });
       store.settings.set('acknowledged', 42);
       process.kill(process.pid, 'SIGKILL');`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), encoding: 'utf8' });
    const firstError = child.error?.message ?? child.stderr.split('\n').find((line) => /Error/.test(line));
    expect(child.signal, `the crash script exited ${child.status}: ${firstError}`).toBe('SIGKILL');
    expect(open(file).settings.get('acknowledged')).toBe(42);
  });

  it('data survives close and reopen', () => {
    const file = join(dir, 'canopy.db');
    const a = open(file);
    a.peers.saveFromInvite({ peerId: 'PeerA', ed25519PublicKey: new Uint8Array(32).fill(1), x25519PublicKey: new Uint8Array(32).fill(2), endpoints: ['ws://a:7771'] });
    a.settings.set('profile', { name: 'me', n: 1 });
    const { key } = a.apiKeys.create({ permissions: ['read_messages'] });
    a.events.insert(
      { event: { v: 1, author: 'Me', author_key: 'k', channel: 'general', seq: 1, kind: 'post', ts: 1, body: { content: 'persisted' } }, sig: 's' },
      { id: 'e1', sourcePeer: null, readable: { content: 'persisted' }, receivedAt: 2 },
    );
    a.close();

    const b = open(file);
    expect(b.peers.get('PeerA')?.endpoints).toEqual(['ws://a:7771']);
    expect(b.settings.get('profile')).toEqual({ name: 'me', n: 1 });
    expect(b.apiKeys.verify(key)).not.toBeNull();
    expect(b.events.get('e1')?.content).toBe('persisted');
    expect(b.events.vector()).toEqual({ general: { Me: 1 } });
  });
});
