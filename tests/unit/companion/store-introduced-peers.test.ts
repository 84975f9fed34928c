import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openDatabase, IntroducedPeerRepository, INTRODUCED_LIMITS, openStore, type Database, type IntroducedPeerInput } from '../../../companion/store/index.ts';

let dir: string;
let db: Database;
let clock = 1_000;
const limits = { ...INTRODUCED_LIMITS, perIntroducer: 3, total: 5, introducersPerRow: 2, endpointsPerRow: 3, expiryMs: 10_000 };
let repo: IntroducedPeerRepository;

beforeEach(() => {
  clock = 1_000;
  dir = mkdtempSync(join(tmpdir(), 'canopy-introduced-'));
  db = openDatabase(join(dir, 'canopy.db'));
  repo = new IntroducedPeerRepository(db, () => clock, limits);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const key = (n: number) => new Uint8Array(32).fill(n);
const peer = (n: number, extra: Partial<IntroducedPeerInput> = {}): IntroducedPeerInput => ({
  peerId: `P${n}`,
  ed25519PublicKey: key(n),
  x25519PublicKey: key(n + 100),
  binding: new Uint8Array(64).fill(n),
  endpoints: [`ws://p${n}:1`],
  displayName: `Peer ${n}`,
  deviceName: `device ${n}`,
  ...extra,
});

it('stores a new introduction with its introducer and times', () => {
  expect(repo.introduce(peer(1), 'B')).toBe('stored');
  expect(repo.get('P1')).toEqual({
    peerId: 'P1',
    ed25519PublicKey: key(1),
    x25519PublicKey: key(101),
    binding: new Uint8Array(64).fill(1),
    endpoints: ['ws://p1:1'],
    displayName: 'Peer 1',
    deviceName: 'device 1',
    introducedBy: ['B'],
    introducedAt: 1_000,
    updatedAt: 1_000,
  });
});

it('merges a re-introduction: introducer first (capped), fresh endpoints first (capped), names kept unless given', () => {
  repo.introduce(peer(1), 'B');
  clock = 2_000;
  expect(repo.introduce(peer(1, { endpoints: ['ws://new:1', 'ws://p1:1'], displayName: '', deviceName: 'phone' }), 'C')).toBe('merged');
  clock = 3_000;
  repo.introduce(peer(1, { endpoints: ['ws://a:1', 'ws://b:1'] }), 'D');
  const row = repo.get('P1')!;
  expect(row.introducedBy).toEqual(['D', 'C']);
  expect(row.endpoints).toEqual(['ws://a:1', 'ws://b:1', 'ws://new:1']);
  expect(row).toMatchObject({ displayName: 'Peer 1', deviceName: 'device 1', introducedAt: 1_000, updatedAt: 3_000 });
  // The same introducer again moves to the front instead of appearing twice.
  expect(repo.introduce(peer(1), 'C')).toBe('merged');
  expect(repo.get('P1')!.introducedBy).toEqual(['C', 'D']);
  // Nothing new but the time: refreshed (it still keeps the row from expiring).
  clock = 4_000;
  expect(repo.introduce(peer(1), 'C')).toBe('refreshed');
  expect(repo.get('P1')!.updatedAt).toBe(4_000);
});

it('refuses new rows past the per-introducer cap, leaving other introducers room', () => {
  for (let n = 1; n <= 3; n++) expect(repo.introduce(peer(n), 'FLOOD')).toBe('stored');
  expect(repo.introduce(peer(4), 'FLOOD')).toBe('full_introducer');
  expect(repo.introduce(peer(4), 'HONEST')).toBe('stored');
  // Merging into an existing row adds no row, so it is not refused.
  expect(repo.introduce(peer(4), 'FLOOD')).toBe('merged');
  expect(repo.list().map((r) => r.peerId)).toEqual(['P1', 'P2', 'P3', 'P4']);
});

it('refuses new rows past the total cap and never evicts a stored one', () => {
  for (let n = 1; n <= 5; n++) repo.introduce(peer(n), `I${n}`);
  expect(repo.introduce(peer(6), 'I6')).toBe('full_total');
  expect(repo.list()).toHaveLength(5);
  expect(repo.get('P1')).toBeDefined();
});

it('expires rows not re-introduced in time: hidden at once, deleted on the next write', () => {
  repo.introduce(peer(1), 'B');
  clock = 5_000;
  repo.introduce(peer(2), 'B');
  clock = 11_001;
  expect(repo.get('P1')).toBeUndefined();
  expect(repo.list().map((r) => r.peerId)).toEqual(['P2']);
  const rows = () => db.prepare('SELECT COUNT(*) FROM introduced_peers').pluck().get();
  expect(rows()).toBe(2);
  // A write prunes, and the expired row frees its place under the caps.
  for (let n = 3; n <= 6; n++) expect(repo.introduce(peer(n), `I${n}`)).toBe('stored');
  expect(rows()).toBe(5);
  // A re-introduction keeps a row alive.
  clock = 14_000;
  repo.introduce(peer(2), 'C');
  clock = 20_000;
  expect(repo.get('P2')).toBeDefined();
});

it('removeIntroducer takes a peer off every list and drops rows it alone introduced', () => {
  repo.introduce(peer(1), 'B');
  repo.introduce(peer(2), 'B');
  repo.introduce(peer(2), 'C');
  repo.introduce(peer(3), 'C');
  expect(repo.removeIntroducer('B')).toBe(2);
  expect(repo.list().map((r) => [r.peerId, r.introducedBy])).toEqual([
    ['P2', ['C']],
    ['P3', ['C']],
  ]);
  expect(repo.remove('P3')).toBe(true);
  expect(repo.remove('P3')).toBe(false);
});

it('the store exposes the repository and the forgotten marks', () => {
  const store = openStore({ file: join(dir, 'other.db'), atRestKey: new Uint8Array(32).fill(1), now: () => clock });
  try {
    expect(store.introduced.introduce(peer(1), 'B')).toBe('stored');
    expect(store.forgotten.has('P1')).toBe(false);
    store.forgotten.add('P1');
    expect(store.forgotten.has('P1')).toBe(true);
    expect(store.forgotten.clear('P1')).toBe(true);
    expect(store.forgotten.clear('P1')).toBe(false);
  } finally {
    store.close();
  }
});
