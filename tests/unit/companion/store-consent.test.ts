// Consent in the store: migration 3 keeps every peer linked before the rule trusted; pending
// requests are capped, expire, and declined peers are remembered for a while.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, migrations, openStore, PeerRequestRepository, ProvenKeyConflictError, type Store } from '../../../companion/store/index.ts';

const KEY = new Uint8Array(32).fill(7);
const key = (n: number) => new Uint8Array(32).fill(n);
let dir: string;
const stores: Store[] = [];
const open = (file: string, now?: () => number): Store => {
  const store = openStore({ file, atRestKey: KEY, now });
  stores.push(store);
  return store;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-consent-'));
});
afterEach(() => {
  for (const store of stores.splice(0)) if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('migration 3', () => {
  it('keeps peers of a migration-2 database trusted: imported ones invited, inbound ones accepted', () => {
    const file = join(dir, 'old.db');
    const old = new BetterSqlite3(file);
    expect(migrate(old, migrations.slice(0, 2))).toBe(2);
    const insert = old.prepare(
      `INSERT INTO peers (peer_id, ed25519_public_key, x25519_public_key, endpoints, source, created_at, updated_at, last_connected_at)
       VALUES (?, ?, ?, ?, ?, 1, 1, ?)`,
    );
    insert.run('Imported', Buffer.from(key(1)), Buffer.from(key(2)), '["ws://a:7771"]', 'invite', null);
    insert.run('ImportedLinked', Buffer.from(key(3)), Buffer.from(key(4)), '[]', 'invite', 5);
    insert.run('Inbound', Buffer.from(key(5)), Buffer.from(key(6)), '["ws://b:7771"]', 'inbound', 5);
    old.close();

    const store = open(file);
    expect(store.db.pragma('user_version', { simple: true })).toBe(migrations.length);
    expect(store.peers.get('Imported')).toMatchObject({ trust: 'invited', keyProven: false, endpoints: ['ws://a:7771'] });
    expect(store.peers.get('ImportedLinked')).toMatchObject({ trust: 'invited', keyProven: true });
    expect(store.peers.get('Inbound')).toMatchObject({ trust: 'accepted', keyProven: true, endpoints: ['ws://b:7771'] });
    expect(store.requests.list()).toEqual([]);
  });
});

describe('peers', () => {
  it('an invite never replaces a key a handshake proved; it may replace an unproven one', () => {
    const store = open(join(dir, 'canopy.db'));
    store.peers.saveFromInvite({ peerId: 'P', ed25519PublicKey: key(1), x25519PublicKey: key(2), endpoints: [] });
    store.peers.saveFromInvite({ peerId: 'P', ed25519PublicKey: key(1), x25519PublicKey: key(3), endpoints: [] });
    expect(store.peers.get('P')?.x25519PublicKey).toEqual(key(3));

    store.peers.saveFromHandshake({ peerId: 'P', ed25519PublicKey: key(1), x25519PublicKey: key(4), endpoints: [] }, 'accepted');
    expect(store.peers.get('P')).toMatchObject({ keyProven: true, trust: 'invited', x25519PublicKey: key(4) });
    expect(() => store.peers.saveFromInvite({ peerId: 'P', ed25519PublicKey: key(1), x25519PublicKey: key(9), endpoints: ['ws://evil:1'] })).toThrow(
      ProvenKeyConflictError,
    );
    expect(store.peers.get('P')).toMatchObject({ x25519PublicKey: key(4), endpoints: [] });
    // The same key is fine, and the invite's secret is kept for dialling.
    store.peers.saveFromInvite({ peerId: 'P', ed25519PublicKey: key(1), x25519PublicKey: key(4), endpoints: [], inviteSecret: key(8) });
    expect(store.peers.get('P')?.inviteSecret).toEqual(key(8));
  });
});

describe('pending requests', () => {
  const limits = { maxPending: 3, pendingTtlMs: 1_000, maxDeclined: 2, declinedTtlMs: 5_000 };
  let clock: number;
  let requests: PeerRequestRepository;
  const ask = (peerId: string, endpoint = '127.0.0.1') => requests.record({ peerId, ed25519PublicKey: key(1), x25519PublicKey: key(2) }, endpoint);

  beforeEach(() => {
    clock = 10_000;
    requests = new PeerRequestRepository(open(join(dir, 'canopy.db')).db, () => clock, limits);
  });

  it('keeps one row per peer, its first request time, and the oldest go past the cap', () => {
    expect(ask('A')).toBe('pending');
    clock += 10;
    ask('B');
    clock += 10;
    ask('A', '10.0.0.1'); // asks again: refreshed, keeps its place
    clock += 10;
    ask('C');
    clock += 10;
    ask('D');
    expect(requests.list().map((r) => r.peerId)).toEqual(['A', 'C', 'D']);
    expect(requests.pending('A')).toMatchObject({ requestedAt: 10_000, lastSeenAt: 10_020, endpoint: '10.0.0.1' });
    expect(requests.countPending()).toBe(3);
  });

  it('expire when not seen for the TTL', () => {
    ask('A');
    clock += 600;
    ask('B');
    clock += 500;
    expect(requests.list().map((r) => r.peerId)).toEqual(['B']);
    expect(requests.pending('A')).toBeUndefined();
  });

  it('declined peers are refused without a new request, capped, and forgotten after a while', () => {
    ask('A');
    ask('B');
    ask('C');
    expect(requests.decline('A')).toBe(true);
    expect(requests.decline('A')).toBe(false);
    expect(requests.decline('nobody')).toBe(false);
    expect(ask('A')).toBe('declined');
    expect(requests.isDeclined('A')).toBe(true);
    expect(requests.list().map((r) => r.peerId)).toEqual(['B', 'C']);

    clock += 1;
    requests.decline('B');
    clock += 1;
    requests.decline('C'); // past the cap of 2: A, the oldest refusal, is forgotten
    expect(requests.isDeclined('A')).toBe(false);
    expect(requests.isDeclined('C')).toBe(true);
    clock += 6_000;
    expect(requests.isDeclined('C')).toBe(false);
    expect(ask('C')).toBe('pending');
  });

  it('remove forgets a request or a refusal', () => {
    ask('A');
    requests.decline('A');
    expect(requests.remove('A')).toBe(true);
    expect(ask('A')).toBe('pending');
  });
});
