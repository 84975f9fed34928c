import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openStore, type Store } from '../../../companion/store/index.ts';

let dir: string;
let store: Store;
let clock = Date.now();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-store-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1), now: () => clock });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('settings round-trip JSON values and undefined deletes', () => {
  expect(store.settings.get('missing')).toBeUndefined();
  store.settings.set('policy', 'full_relay');
  store.settings.set('obj', { a: [1, 2], b: null });
  store.settings.set('policy', 'off');
  store.settings.set('zero', 0);
  expect(store.settings.get<string>('policy')).toBe('off');
  expect(store.settings.get('obj')).toEqual({ a: [1, 2], b: null });
  expect(store.settings.get('zero')).toBe(0);
  store.settings.set('zero', undefined);
  expect(store.settings.get('zero')).toBeUndefined();
  expect(store.settings.delete('obj')).toBe(true);
  expect(store.settings.delete('obj')).toBe(false);
});

it('channels: ensure creates once and keeps the first metadata', () => {
  clock = Date.now() + 5_000;
  const first = store.channels.ensure({ id: 'dev', name: 'Dev', description: 'builders', originPeer: 'PeerA' });
  expect(first).toEqual({ created: true, record: { id: 'dev', name: 'Dev', description: 'builders', originPeer: 'PeerA', createdAt: clock } });
  const again = store.channels.ensure({ id: 'dev', name: 'Renamed' });
  expect(again).toEqual({ created: false, record: first.record });
  clock += 1;
  expect(store.channels.ensure({ id: 'bare', name: 'bare' }).record).toMatchObject({ description: '', originPeer: null });
  expect(store.channels.list().map((c) => c.id)).toEqual(['general', 'dev', 'bare']);
  expect(store.channels.get('nope')).toBeUndefined();
});
