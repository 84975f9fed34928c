import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openStore, type Store } from '../../../companion/store/index.ts';

let dir: string;
let store: Store;
let clock = 1_000_000;
beforeEach(() => {
  clock = 1_000_000;
  dir = mkdtempSync(join(tmpdir(), 'canopy-store-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1), now: () => clock });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('creates cnp_ keys and stores only their SHA-256', () => {
  const { key, record } = store.apiKeys.create({ permissions: ['read_messages', 'write_messages'], name: 'bot' });
  expect(key).toMatch(/^cnp_[A-Za-z0-9_-]{43}$/);
  expect(record).toEqual({
    id: record.id, name: 'bot', permissions: ['read_messages', 'write_messages'], createdAt: 1_000_000, expiresAt: null, revokedAt: null, lastUsedAt: null,
  });
  expect(record.id).toMatch(/^[0-9a-f]{16}$/);
  const raw = store.db.prepare('SELECT * FROM api_keys').all() as Record<string, unknown>[];
  expect(raw).toHaveLength(1);
  expect(raw[0]!.hash).toBe(createHash('sha256').update(key).digest('hex'));
  expect(JSON.stringify(raw)).not.toContain(key.slice(4));
  expect(store.apiKeys.create({ permissions: [] }).key).not.toBe(key);
});

it('verify accepts the key and rejects unknown, malformed, revoked and expired keys', () => {
  const { key, record } = store.apiKeys.create({ permissions: ['read_messages'] });
  expect(store.apiKeys.verify(key)).toMatchObject({ id: record.id, permissions: ['read_messages'] });
  expect(store.apiKeys.verify(`${key}x`)).toBeNull();
  expect(store.apiKeys.verify('cnp_nope')).toBeNull();
  expect(store.apiKeys.verify('')).toBeNull();
  expect(store.apiKeys.verify(key.slice(4))).toBeNull();

  const expiring = store.apiKeys.create({ permissions: [], expiresAt: clock + 1_000 });
  expect(store.apiKeys.verify(expiring.key)).not.toBeNull();
  clock += 1_000;
  expect(store.apiKeys.verify(expiring.key)).toBeNull();

  expect(store.apiKeys.revoke(record.id)).toBe(true);
  expect(store.apiKeys.verify(key)).toBeNull();
  const revokedAt = store.apiKeys.get(record.id)?.revokedAt;
  expect(revokedAt).toBe(clock);
  clock += 5;
  expect(store.apiKeys.revoke(record.id)).toBe(true);
  expect(store.apiKeys.get(record.id)?.revokedAt).toBe(revokedAt);
  expect(store.apiKeys.revoke('0000000000000000')).toBe(false);
});

it('updates last_used_at at most once a minute', () => {
  const { key, record } = store.apiKeys.create({ permissions: [] });
  expect(store.apiKeys.verify(key)?.lastUsedAt).toBe(1_000_000);
  clock += 30_000;
  expect(store.apiKeys.verify(key)?.lastUsedAt).toBe(1_000_000);
  expect(store.apiKeys.get(record.id)?.lastUsedAt).toBe(1_000_000);
  clock += 30_000;
  expect(store.apiKeys.verify(key)?.lastUsedAt).toBe(1_060_000);
});

it('list never includes the hash and includes revoked keys', () => {
  const a = store.apiKeys.create({ permissions: ['manage_keys'], name: 'a' });
  clock += 1;
  const b = store.apiKeys.create({ permissions: [] });
  store.apiKeys.revoke(b.record.id);
  const list = store.apiKeys.list();
  expect(list.map((k) => k.id)).toEqual([a.record.id, b.record.id]);
  for (const item of list) {
    expect(Object.keys(item).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'permissions', 'revokedAt']);
  }
  expect(list[1]!.revokedAt).not.toBeNull();
});

it('rejects non-string permissions', () => {
  expect(() => store.apiKeys.create({ permissions: [1] as unknown as string[] })).toThrow(TypeError);
});
