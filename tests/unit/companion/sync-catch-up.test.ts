// One catch-up per link at a time: extra sync frames merge into one pending run (issue 6, attack 3).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LinkCatchUp, MAX_REMOTE_VECTOR_ENTRIES, type CatchUpHost } from '../../../companion/mesh/catch-up.ts';
import type { Link } from '../../../companion/mesh/link.ts';
import { openStore, type Store } from '../../../companion/store/index.ts';
import type { Frame, ReceivedSync } from '../../../protocol/frames.ts';
import type { VersionVector } from '../../../protocol/mesh/vectors.ts';

const AUTHOR = 'AAAAAAAAAAAAAAAA';
let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-catchup-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1) });
  for (let seq = 1; seq <= 5; seq++) {
    store.events.insert(
      { event: { v: 1, author: AUTHOR, author_key: 'k', channel: 'general', seq, kind: 'post', ts: seq, body: { content: `m${seq}` } }, sig: 's' },
      { id: `e${seq}`, sourcePeer: null, readable: { content: `m${seq}` }, receivedAt: seq },
    );
  }
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A link whose socket "drains" only when the test says so. */
function fakeLink() {
  const sent: Frame[] = [];
  let release: () => void = () => {};
  let gate = new Promise<void>((resolve) => (release = resolve));
  const link = {
    peerId: 'PPPPPPPPPPPPPPPP',
    isOpen: true,
    bufferedAmount: 0,
    send: (frame: Frame) => (sent.push(frame), true),
    drained: () => gate,
  };
  const drain = () => {
    release();
    gate = Promise.resolve();
  };
  return { link: link as unknown as Link, sent, drain };
}

function host(overrides: Partial<CatchUpHost> = {}) {
  const vectors: VersionVector[] = [];
  const refusals: string[] = [];
  const h: CatchUpHost = {
    store,
    entitled: () => () => true,
    totalBuffered: () => 0,
    verifiableBy: (_link, events) => events,
    sent: () => {},
    vectorReceived: (_peer, vector) => vectors.push(structuredClone(vector)),
    refused: (_link, _about, reason) => refusals.push(reason),
    failed: (_peer, error) => {
      throw error;
    },
    done: () => {},
    ...overrides,
  };
  return { h, vectors, refusals };
}

const page = (vectors: VersionVector, more = false): ReceivedSync => ({ t: 'sync', more, page: { ok: true, vectors } });
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const count = (sent: Frame[], t: Frame['t']) => sent.filter((f) => f.t === t).length;

describe('LinkCatchUp', () => {
  it('assembles pages and starts one catch-up when the last page arrives', async () => {
    const { link, sent, drain } = fakeLink();
    const { h, vectors } = host();
    const catchUp = new LinkCatchUp(link, h);
    catchUp.receivePage(page({ general: { [AUTHOR]: 2 } }, true));
    catchUp.receivePage(page({ other: { [AUTHOR]: 1 } }, true));
    expect(vectors).toEqual([]);
    catchUp.receivePage(page({}));
    expect(vectors).toEqual([{ general: { [AUTHOR]: 2 }, other: { [AUTHOR]: 1 } }]);
    drain();
    await settle();
    const events = sent.filter((f) => f.t === 'events').flatMap((f) => (f.t === 'events' ? f.events.map((e) => e.event.seq) : []));
    expect(events).toEqual([3, 4, 5]);
    expect(count(sent, 'sync_done')).toBe(1);
  });

  it('waits for the socket to drain before the first batch, not after', async () => {
    const { link, sent, drain } = fakeLink();
    new LinkCatchUp(link, host().h).receivePage(page({}));
    await settle();
    expect(count(sent, 'events')).toBe(0);
    drain();
    await settle();
    expect(count(sent, 'events')).toBe(1);
  });

  it('merges a flood of sync frames into one pending run', async () => {
    const { link, sent, drain } = fakeLink();
    const { h, vectors } = host();
    const catchUp = new LinkCatchUp(link, h, 0);
    for (let i = 0; i < 1000; i++) catchUp.receivePage(page({ general: { [AUTHOR]: i % 3 } }));
    await settle();
    expect(count(sent, 'events')).toBe(0); // the first run waits for the socket
    drain();
    await settle();
    // The running catch-up, then one more from the merged vector (highest head: 2).
    expect(count(sent, 'sync_done')).toBe(2);
    const seqs = sent.filter((f) => f.t === 'events').map((f) => (f.t === 'events' ? f.events.map((e) => e.event.seq) : []));
    expect(seqs).toEqual([[1, 2, 3, 4, 5], [3, 4, 5]]);
    // Delivery states are reconciled once per run, not once per frame.
    expect(vectors).toEqual([{ general: { [AUTHOR]: 0 } }, { general: { [AUTHOR]: 2 } }]);
  });

  it('starts the run for a flood no sooner than the spacing after the previous one', async () => {
    const { link, sent, drain } = fakeLink();
    drain();
    const catchUp = new LinkCatchUp(link, host().h, 300);
    catchUp.receivePage(page({}));
    await settle();
    expect(count(sent, 'sync_done')).toBe(1);
    for (let i = 0; i < 100; i++) catchUp.receivePage(page({}));
    await settle();
    expect(count(sent, 'sync_done')).toBe(1); // the merged run waits for its turn
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(count(sent, 'sync_done')).toBe(2);
  });

  it('queues no sync_done for a peer that is not reading', async () => {
    const { link, sent, drain } = fakeLink();
    drain();
    (link as unknown as { bufferedAmount: number }).bufferedAmount = 2 * 1024 * 1024;
    new LinkCatchUp(link, host().h, 0).receivePage(page({ general: { [AUTHOR]: 5 } }));
    await settle();
    expect(count(sent, 'sync_done')).toBe(0);
  });

  it('reports a bad page and a vector over the entry bound, and still answers', async () => {
    const { link, sent, drain } = fakeLink();
    const { h, refusals } = host();
    const catchUp = new LinkCatchUp(link, h);
    catchUp.receivePage({ t: 'sync', more: true, page: { ok: false, error: 'vectors: at most 4096 channels' } });
    const big: VersionVector = {};
    for (let i = 0; i <= MAX_REMOTE_VECTOR_ENTRIES; i++) big[`c${i}`] = { [AUTHOR]: 1 };
    catchUp.receivePage(page(big));
    expect(refusals).toEqual(['vectors: at most 4096 channels', `version vector over ${MAX_REMOTE_VECTOR_ENTRIES} entries; the rest is ignored`]);
    drain();
    await settle();
    expect(count(sent, 'sync_done')).toBe(1);
  });

  it('re-sends from the last vector only once the peer has sent one', async () => {
    const { link, sent, drain } = fakeLink();
    drain();
    const catchUp = new LinkCatchUp(link, host().h, 0);
    catchUp.resend();
    await settle();
    expect(sent).toEqual([]);
    catchUp.receivePage(page({ general: { [AUTHOR]: 4 } }));
    await settle();
    catchUp.resend();
    await settle();
    expect(count(sent, 'sync_done')).toBe(2);
  });

  it('stops sending when the link closes', async () => {
    const { link, sent, drain } = fakeLink();
    const failures: string[] = [];
    new LinkCatchUp(link, host({ failed: (_p, e) => failures.push(e.message) }).h).receivePage(page({}));
    (link as unknown as { isOpen: boolean }).isOpen = false;
    drain();
    await settle();
    expect(count(sent, 'events')).toBe(0);
    expect(failures).toEqual(['link closed during catch-up']);
  });
});
