import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtRestCipher, openStore, type Store } from '../../../companion/store/index.ts';
import type { SignedEvent } from '../../../protocol/events.ts';

const KEY = new Uint8Array(32).fill(9);
let dir: string;
let file: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-store-'));
  file = join(dir, 'canopy.db');
  store = openStore({ file, atRestKey: KEY });
});
afterEach(() => {
  if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (author: string, channel: string, seq: number, content = `${author}/${channel}/${seq}`): SignedEvent => ({
  event: { v: 1, author, author_key: `key-${author}`, channel, seq, kind: 'post', ts: 1_000 + seq, body: { content } },
  sig: `sig-${author}-${seq}`,
});
const idOf = (s: SignedEvent): string => `${s.event.author}:${s.event.channel}:${s.event.seq}`;
const add = (s: SignedEvent, sourcePeer: string | null = null) =>
  store.events.insert(s, { id: idOf(s), sourcePeer, readable: s.event.body as { content: string }, receivedAt: 5_000 + s.event.seq });

describe('AtRestCipher', () => {
  it('round-trips, varies its nonce, and fails closed', () => {
    const cipher = new AtRestCipher(KEY);
    const a = cipher.seal('hello', 'ctx');
    const b = cipher.seal('hello', 'ctx');
    expect(a.equals(b)).toBe(false);
    expect(a.length).toBe(12 + 5 + 16);
    expect(cipher.open(a, 'ctx')).toBe('hello');
    expect(() => cipher.open(a, 'other')).toThrow();
    expect(() => cipher.open(a)).toThrow();
    expect(() => new AtRestCipher(new Uint8Array(32).fill(1)).open(a, 'ctx')).toThrow();
    const tampered = Buffer.from(a);
    tampered[14]! ^= 1;
    expect(() => cipher.open(tampered, 'ctx')).toThrow();
    expect(() => cipher.open(Buffer.alloc(20))).toThrow();
    expect(() => new AtRestCipher(new Uint8Array(31))).toThrow();
  });
});

describe('EventRepository', () => {
  it('inserts, reports duplicates by id or by (author, channel, seq), and changes nothing on duplicate', () => {
    const e = post('A', 'general', 1);
    expect(add(e)).toBe('inserted');
    expect(add(e)).toBe('duplicate');
    const sameSlot = post('A', 'general', 1, 'a different body');
    expect(store.events.insert(sameSlot, { id: 'other-id', sourcePeer: 'P', readable: { content: 'x' }, receivedAt: 1 })).toBe('duplicate');
    expect(store.events.insert(post('A', 'general', 9), { id: idOf(e), sourcePeer: null, readable: null, receivedAt: 1 })).toBe('duplicate');
    // A caller that says it looked first still cannot make a second row for either.
    expect(store.events.insert(sameSlot, { id: 'other-id', sourcePeer: 'P', readable: { content: 'x' }, receivedAt: 1, unseen: true })).toBe('duplicate');
    expect(store.events.insert(e, { id: idOf(e), sourcePeer: null, readable: null, receivedAt: 1, unseen: true })).toBe('duplicate');
    expect(store.events.has(idOf(e))).toBe(true);
    expect(store.events.has('other-id')).toBe(false);
    expect(store.events.get(idOf(e))).toMatchObject({ content: 'A/general/1', sourcePeer: null, seq: 1 });
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM events').get()).toEqual({ n: 1 });
  });

  it('rejects malformed rows instead of silently dropping them', () => {
    expect(() => add(post('A', 'general', 0))).toThrow();
  });

  it('heads advance only over contiguous runs and jump when a gap fills', () => {
    add(post('A', 'general', 1));
    add(post('A', 'general', 3));
    add(post('A', 'general', 4));
    add(post('A', 'general', 6));
    expect(store.events.vector()).toEqual({ general: { A: 1 } });
    expect(store.events.nextSeq('A', 'general')).toBe(7);

    add(post('A', 'general', 2));
    expect(store.events.vector()).toEqual({ general: { A: 4 } });
    add(post('A', 'general', 5));
    expect(store.events.vector()).toEqual({ general: { A: 6 } });
    expect(add(post('A', 'general', 5))).toBe('duplicate');
    expect(store.events.vector()).toEqual({ general: { A: 6 } });
  });

  it('an author without seq 1 has no head yet', () => {
    add(post('B', 'general', 2));
    expect(store.events.vector()).toEqual({});
    add(post('B', 'general', 1));
    expect(store.events.vector()).toEqual({ general: { B: 2 } });
  });

  it('nextSeq is 1 for a new author/channel', () => {
    expect(store.events.nextSeq('Z', 'general')).toBe(1);
    add(post('Z', 'other', 1));
    expect(store.events.nextSeq('Z', 'general')).toBe(1);
    expect(store.events.nextSeq('Z', 'other')).toBe(2);
  });

  it('vector covers channels and authors, with a filter', () => {
    add(post('A', 'general', 1));
    add(post('B', 'general', 1));
    add(post('B', 'general', 2));
    add(post('A', 'dev', 1));
    add(post('A', 'dm:A:B', 1));
    expect(store.events.vector()).toEqual({ general: { A: 1, B: 2 }, dev: { A: 1 }, 'dm:A:B': { A: 1 } });
    expect(store.events.vector((c) => !c.startsWith('dm:'))).toEqual({ general: { A: 1, B: 2 }, dev: { A: 1 } });
  });

  it('vector keeps hostile names as own properties', () => {
    add(post('__proto__', '__proto__', 1));
    const vector = store.events.vector();
    expect(Object.keys(vector)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(vector)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(vector))).toEqual(JSON.parse('{"__proto__":{"__proto__":1}}'));
  });

  it('range returns held signed events after a seq, ascending, limited', () => {
    for (const seq of [1, 2, 3, 5, 6]) add(post('A', 'general', seq));
    add(post('B', 'general', 4));
    add(post('A', 'dev', 4));
    const seqs = (list: SignedEvent[]) => list.map((s) => s.event.seq);
    expect(seqs(store.events.range('general', 'A', 0, 100))).toEqual([1, 2, 3, 5, 6]);
    expect(seqs(store.events.range('general', 'A', 2, 2))).toEqual([3, 5]);
    expect(seqs(store.events.range('general', 'A', 6, 10))).toEqual([]);
    expect(seqs(store.events.range('general', 'A', 0, Infinity))).toEqual([1, 2, 3, 5, 6]);
    expect(store.events.range('general', 'A', 0, 1)).toEqual([post('A', 'general', 1)]);
  });

  it('pages backwards and forwards with cursors', () => {
    for (let seq = 1; seq <= 10; seq++) add(post('A', 'general', seq));
    add(post('A', 'dev', 1));
    const newest = store.events.page('general', { limit: 4 });
    expect(newest.map((m) => m.seq)).toEqual([10, 9, 8, 7]);
    const older = store.events.page('general', { limit: 4, before: newest.at(-1)!.cursor });
    expect(older.map((m) => m.seq)).toEqual([6, 5, 4, 3]);
    const oldest = store.events.page('general', { limit: 4, before: older.at(-1)!.cursor });
    expect(oldest.map((m) => m.seq)).toEqual([2, 1]);

    const forward = store.events.page('general', { limit: 3, after: oldest.at(-1)!.cursor });
    expect(forward.map((m) => m.seq)).toEqual([2, 3, 4]);
    const next = store.events.page('general', { limit: 100, after: forward.at(-1)!.cursor });
    expect(next.map((m) => m.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(store.events.page('general', { limit: 10, after: next.at(-1)!.cursor })).toEqual([]);
    const between = store.events.page('general', { limit: 10, after: forward[0]!.cursor, before: next[1]!.cursor });
    expect(between.map((m) => m.seq)).toEqual([3, 4, 5]);

    const row = newest[0]!;
    expect(row).toEqual({
      cursor: row.cursor, id: 'A:general:10', author: 'A', channel: 'general', seq: 10, kind: 'post',
      ts: 1_010, receivedAt: 5_010, sourcePeer: null, content: 'A/general/10', metadata: null,
    });
  });

  it('clamps page limits to 1..500', () => {
    for (let seq = 1; seq <= 502; seq++) add(post('A', 'general', seq));
    expect(store.events.page('general', { limit: 0 })).toHaveLength(1);
    expect(store.events.page('general', { limit: -5 })).toHaveLength(1);
    expect(store.events.page('general', { limit: 10_000 })).toHaveLength(500);
    expect(store.events.page('general', { limit: 2.9 })).toHaveLength(2);
  });

  it('keeps metadata, and DMs carry their opened body while unreadable events have none', () => {
    const dm: SignedEvent = {
      event: { v: 1, author: 'A', author_key: 'k', channel: 'dm:A:B', seq: 1, kind: 'dm', ts: 7, body: { to: 'B', sealed: 'opaque' } },
      sig: 's',
    };
    store.events.insert(dm, { id: 'dm1', sourcePeer: 'A', readable: { content: 'secret hi', metadata: { mood: 'ok' } }, receivedAt: 8 });
    expect(store.events.get('dm1')).toMatchObject({ kind: 'dm', content: 'secret hi', metadata: { mood: 'ok' }, sourcePeer: 'A' });
    expect(store.events.range('dm:A:B', 'A', 0, 10)).toEqual([dm]);

    store.events.insert(post('C', 'general', 1), { id: 'opaque', sourcePeer: 'C', readable: null, receivedAt: 9 });
    expect(store.events.get('opaque')).toMatchObject({ content: null, metadata: null });
    expect(store.events.get('nope')).toBeUndefined();
  });

  it('summarises channels and DM conversations separately', () => {
    add(post('A', 'general', 1));
    add(post('B', 'general', 1));
    add(post('A', 'dev', 1));
    add(post('A', 'dm:A:B', 1));
    add(post('A', 'dm:A:C', 1));
    add(post('B', 'dm:A:B', 1));
    const byId = (id: string) => store.events.get(id)!;
    expect(store.events.channelSummaries()).toEqual([
      { channel: 'dev', count: 1, lastTs: 1_001, lastCursor: byId('A:dev:1').cursor },
      { channel: 'general', count: 2, lastTs: 1_001, lastCursor: byId('B:general:1').cursor },
    ]);
    expect(store.events.dmConversations()).toEqual([
      { channel: 'dm:A:B', count: 2, lastTs: 1_001, lastCursor: byId('B:dm:A:B:1').cursor },
      { channel: 'dm:A:C', count: 1, lastTs: 1_001, lastCursor: byId('A:dm:A:C:1').cursor },
    ]);
  });

  it('does not store bodies in clear', () => {
    const secret = 'the eagle lands at midnight';
    const s = post('A', 'general', 1, secret);
    store.events.insert(s, { id: 'e', sourcePeer: null, readable: { content: secret, metadata: { tag: 'xyzzy-meta' } }, receivedAt: 1 });
    const raw = store.db.prepare('SELECT * FROM events').raw().get() as unknown[];
    const dump = raw.map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v))).join('|');
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain('xyzzy-meta');
    expect(dump).not.toContain(s.sig);
    store.close();
    // Nor anywhere in the file or its WAL.
    for (const f of [file, `${file}-wal`]) if (existsSync(f)) expect(readFileSync(f).includes(secret)).toBe(false);
  });

  it('a wrong at-rest key throws instead of returning garbage', () => {
    add(post('A', 'general', 1, 'only with the right key'));
    store.close();
    store = openStore({ file, atRestKey: new Uint8Array(32).fill(10) });
    expect(() => store.events.get('A:general:1')).toThrow();
    expect(() => store.events.page('general', { limit: 10 })).toThrow();
    expect(() => store.events.range('general', 'A', 0, 10)).toThrow();
    // Metadata that is not secret still works: sync can tell what it holds.
    expect(store.events.vector()).toEqual({ general: { A: 1 } });
    store.close();
    store = openStore({ file, atRestKey: KEY });
    expect(store.events.get('A:general:1')?.content).toBe('only with the right key');
  });

  it('a body swapped into another row fails to open', () => {
    add(post('A', 'general', 1, 'first'));
    add(post('A', 'general', 2, 'second'));
    store.db.exec(`UPDATE events SET plain = (SELECT plain FROM events WHERE id = 'A:general:1') WHERE id = 'A:general:2'`);
    expect(store.events.get('A:general:1')?.content).toBe('first');
    expect(() => store.events.get('A:general:2')).toThrow();
  });
});

describe('first seen', () => {
  it('names, per channel and per author, the peer that brought the first event and when', () => {
    add(post('Alice', 'general', 2), 'P');
    add(post('Alice', 'general', 1), 'Q');
    add(post('Bob', 'news', 1), 'Q');
    add(post('Me', 'news', 2), null);
    expect(store.events.firstSeenChannels()).toEqual([
      { name: 'general', via: 'P', at: 5_002 },
      { name: 'news', via: 'Q', at: 5_001 },
    ]);
    expect(store.events.firstSeenAuthors().sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'Alice', via: 'P', at: 5_002 },
      { name: 'Bob', via: 'Q', at: 5_001 },
      { name: 'Me', via: null, at: 5_002 },
    ]);
    const pairs = store.events.firstSeenPairs().sort((a, b) => `${a.channel}${a.author}`.localeCompare(`${b.channel}${b.author}`));
    expect(pairs).toEqual([
      { channel: 'general', author: 'Alice', via: 'P', at: 5_002 },
      { channel: 'news', author: 'Bob', via: 'Q', at: 5_001 },
      { channel: 'news', author: 'Me', via: null, at: 5_002 },
    ]);
  });
});
