import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { MAX_PEER_ENDPOINTS, openStore, type Store } from '../../../companion/store/index.ts';

let dir: string;
let store: Store;
let clock = 1_000;
beforeEach(() => {
  clock = 1_000;
  dir = mkdtempSync(join(tmpdir(), 'canopy-store-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1), now: () => clock });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const key = (n: number) => new Uint8Array(32).fill(n);

it('saveFromInvite creates, then a second import replaces keys and endpoints', () => {
  const first = store.peers.saveFromInvite({ peerId: 'P1', ed25519PublicKey: key(1), x25519PublicKey: key(2), endpoints: ['ws://a:1', 'ws://b:1'] });
  expect(first.created).toBe(true);
  expect(first.record).toEqual({
    peerId: 'P1', ed25519PublicKey: key(1), x25519PublicKey: key(2), endpoints: ['ws://a:1', 'ws://b:1'],
    displayName: null, source: 'invite', trust: 'invited', keyProven: false, inviteSecret: null, createdAt: 1_000, updatedAt: 1_000, lastConnectedAt: null, lastEndpoint: null,
  });
  expect(first.record.ed25519PublicKey).toBeInstanceOf(Uint8Array);
  expect(Buffer.isBuffer(first.record.ed25519PublicKey)).toBe(false);

  clock = 2_000;
  const second = store.peers.saveFromInvite({ peerId: 'P1', ed25519PublicKey: key(3), x25519PublicKey: key(4), endpoints: ['ws://c:1', 'ws://c:1'] });
  expect(second.created).toBe(false);
  expect(second.record).toMatchObject({ ed25519PublicKey: key(3), x25519PublicKey: key(4), endpoints: ['ws://c:1'], createdAt: 1_000, updatedAt: 2_000 });
  expect(store.peers.list()).toHaveLength(1);
});

it('saveFromHandshake creates an inbound peer, then merges endpoints in front, de-duplicated and capped', () => {
  const created = store.peers.saveFromHandshake({ peerId: 'P2', ed25519PublicKey: key(1), x25519PublicKey: key(2), endpoints: ['ws://old:1', 'ws://old:2'] }, 'accepted');
  expect(created.created).toBe(true);
  expect(created.record.source).toBe('inbound');

  clock = 3_000;
  const merged = store.peers.saveFromHandshake({ peerId: 'P2', ed25519PublicKey: key(5), x25519PublicKey: key(6), endpoints: ['ws://new:1', 'ws://old:2'] }, 'accepted');
  expect(merged.created).toBe(false);
  expect(merged.record).toMatchObject({
    ed25519PublicKey: key(5), x25519PublicKey: key(6), endpoints: ['ws://new:1', 'ws://old:2', 'ws://old:1'], source: 'inbound', updatedAt: 3_000,
  });

  const many = Array.from({ length: 20 }, (_, i) => `ws://many:${i}`);
  const capped = store.peers.saveFromHandshake({ peerId: 'P2', ed25519PublicKey: key(5), x25519PublicKey: key(6), endpoints: many }, 'accepted');
  expect(capped.record.endpoints).toEqual(many.slice(0, MAX_PEER_ENDPOINTS));
});

it('a handshake keeps an invited peer invited; an invite upgrades an inbound one', () => {
  store.peers.saveFromInvite({ peerId: 'P3', ed25519PublicKey: key(1), x25519PublicKey: key(2), endpoints: ['ws://x:1'] });
  expect(store.peers.saveFromHandshake({ peerId: 'P3', ed25519PublicKey: key(1), x25519PublicKey: key(2), endpoints: [] }, 'accepted').record).toMatchObject({
    source: 'invite', endpoints: ['ws://x:1'],
  });
  store.peers.saveFromHandshake({ peerId: 'P4', ed25519PublicKey: key(1), x25519PublicKey: key(2), endpoints: ['ws://y:1'] }, 'accepted');
  expect(store.peers.saveFromInvite({ peerId: 'P4', ed25519PublicKey: key(1), x25519PublicKey: key(2), endpoints: ['ws://z:1'] }).record).toMatchObject({
    source: 'invite', endpoints: ['ws://z:1'],
  });
});

it('markConnected, setDisplayName, remove', () => {
  store.peers.saveFromInvite({ peerId: 'P5', ed25519PublicKey: key(1), x25519PublicKey: key(2), endpoints: [] });
  expect(store.peers.markConnected('P5', 'ws://lan:7771', 4_000)).toBe(true);
  expect(store.peers.get('P5')).toMatchObject({ lastConnectedAt: 4_000, lastEndpoint: 'ws://lan:7771' });
  expect(store.peers.markConnected('P5', null, 5_000)).toBe(true);
  expect(store.peers.get('P5')).toMatchObject({ lastConnectedAt: 5_000, lastEndpoint: 'ws://lan:7771' });
  expect(store.peers.markConnected('nobody', null, 1)).toBe(false);

  expect(store.peers.setDisplayName('P5', 'Alice')).toBe(true);
  expect(store.peers.get('P5')?.displayName).toBe('Alice');

  expect(store.peers.remove('P5')).toBe(true);
  expect(store.peers.remove('P5')).toBe(false);
  expect(store.peers.get('P5')).toBeUndefined();
  expect(store.peers.list()).toEqual([]);
});
