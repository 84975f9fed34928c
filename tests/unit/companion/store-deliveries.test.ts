import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openStore, type Store } from '../../../companion/store/index.ts';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-store-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1) });
  for (let seq = 1; seq <= 3; seq++) {
    store.events.insert(
      { event: { v: 1, author: 'Me', author_key: 'k', channel: 'general', seq, kind: 'post', ts: seq, body: { content: `m${seq}` } }, sig: 's' },
      { id: `e${seq}`, sourcePeer: null, readable: { content: `m${seq}` }, receivedAt: seq },
    );
  }
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('never downgrades a delivery state', () => {
  const d = store.deliveries;
  expect(d.set('e1', 'P', 'queued', 10)).toBe(true);
  expect(d.set('e1', 'P', 'delivered', 30)).toBe(true);
  expect(d.set('e1', 'P', 'sent', 40)).toBe(false);
  expect(d.set('e1', 'P', 'queued', 50)).toBe(false);
  expect(d.set('e1', 'P', 'delivered', 60)).toBe(false);
  expect(d.forEvent('e1')).toEqual([{ eventId: 'e1', peerId: 'P', state: 'delivered', updatedAt: 30 }]);
  expect(d.forEvent('e2')).toEqual([]);
});

it('lists undelivered events per peer, oldest first', () => {
  const d = store.deliveries;
  d.set('e3', 'P', 'queued', 1);
  d.set('e1', 'P', 'sent', 1);
  d.set('e2', 'P', 'delivered', 1);
  d.set('e2', 'Q', 'queued', 1);
  expect(d.undelivered('P')).toEqual(['e1', 'e3']);
  expect(d.undelivered('P', 1)).toEqual(['e1']);
  expect(d.undelivered('Q')).toEqual(['e2']);
  expect(d.undelivered('R')).toEqual([]);
});

it('summarises the least advanced state per event, in bulk', () => {
  const d = store.deliveries;
  d.set('e1', 'P', 'delivered', 1);
  d.set('e1', 'Q', 'sent', 1);
  d.set('e2', 'P', 'delivered', 1);
  d.set('e3', 'P', 'queued', 1);
  d.set('e3', 'Q', 'delivered', 1);
  expect(d.summary(['e1', 'e2', 'e3', 'unknown'])).toEqual(new Map([['e1', 'sent'], ['e2', 'delivered'], ['e3', 'queued']]));
  expect(d.summary([])).toEqual(new Map());
});

it('requires the event to exist', () => {
  expect(() => store.deliveries.set('ghost', 'P', 'queued', 1)).toThrow(/FOREIGN KEY/);
});

it('advances only rows that exist: a peer that was not a recipient cannot add one', () => {
  const d = store.deliveries;
  d.set('e1', 'P', 'sent', 1);
  expect(d.advance('e1', 'P', 'delivered', 2)).toBe(true);
  expect(d.advance('e1', 'P', 'sent', 3)).toBe(false);
  expect(d.advance('e1', 'Stranger', 'delivered', 4)).toBe(false);
  expect(d.forEvent('e1')).toEqual([{ eventId: 'e1', peerId: 'P', state: 'delivered', updatedAt: 2 }]);
});

it("moves an author's events up to a seq forward for one peer, never back, touching nothing else", () => {
  const d = store.deliveries;
  d.set('e1', 'P', 'sent', 1);
  d.set('e2', 'P', 'queued', 1);
  d.set('e3', 'P', 'sent', 1);
  d.set('e2', 'Q', 'sent', 1);
  expect(d.advanceUpTo('P', 'Someone else', 'general', 3, 'delivered', 5)).toEqual([]);
  expect(d.advanceUpTo('P', 'Me', 'elsewhere', 3, 'delivered', 5)).toEqual([]);
  expect(d.advanceUpTo('P', 'Me', 'general', 2, 'sent', 5)).toEqual(['e2']);
  expect(d.advanceUpTo('P', 'Me', 'general', 2, 'delivered', 5).sort()).toEqual(['e1', 'e2']);
  expect(d.advanceUpTo('P', 'Me', 'general', 2, 'delivered', 6)).toEqual([]);
  expect(d.forEvent('e2')).toEqual([
    { eventId: 'e2', peerId: 'P', state: 'delivered', updatedAt: 5 },
    { eventId: 'e2', peerId: 'Q', state: 'sent', updatedAt: 1 },
  ]);
  expect(d.forEvent('e3')[0]!.state).toBe('sent');
  // Only above a seq: what a later cumulative ack covers.
  d.set('e3', 'Q', 'sent', 1);
  expect(d.advanceRange('Q', 'Me', 'general', 2, 3, 'delivered', 7)).toEqual(['e3']);
  expect(d.forEvent('e2').find((r) => r.peerId === 'Q')!.state).toBe('sent');
  expect(d.advanceRange('P', 'Me', 'general', 0, 3, 'sent', 8)).toEqual([]);
});
