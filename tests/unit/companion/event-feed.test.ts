// The event stream's feed over a real SQLite store: the notices journal keeps the newest rows with
// ids that never repeat, a cursor behind the kept window or ahead of the feed is recognised, reads
// pass over what a key may not see, and changes are journaled once per difference.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NoticeRepository, openStore, type Store } from '../../../companion/store/index.ts';
import { EventFeed, formatCursor, parseCursor, type FeedSources } from '../../../companion/service/event-feed.ts';

let dir: string;
let store: Store;
let notices: NoticeRepository;
let requests: Array<{ peer_id: string; display_name: string | null; endpoint: string | null; requested_at: string }>;

function feed(): EventFeed {
  const sources: FeedSources = {
    store: { events: store.events, notices },
    messages: {
      restMessages: () => [],
      overallDelivery: (id) => (id.endsWith('!') ? 'delivered' : 'sent'),
      channels: () => ({ channels: [] }),
    },
    nameOf: (peerId) => `name of ${peerId}`,
    pendingRequests: () => requests,
    introducedPeers: () => [],
    profileCard: () => undefined,
  };
  return new EventFeed(sources);
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-feed-'));
  store = openStore({ file: join(dir, 'canopy.db'), atRestKey: new Uint8Array(32).fill(1) });
  notices = new NoticeRepository(store.db, undefined, 300);
  requests = [];
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('notices journal', () => {
  it('keeps the newest rows, and ids keep growing past trimmed ones', () => {
    for (let i = 0; i < 600; i++) notices.append('peer', { peer_id: `p${i}` });
    expect(notices.latestId()).toBe(600);
    // Trimmed in steps (every 256 inserts): never fewer than the retention, never unbounded.
    expect(notices.oldestId()).toBe(512 - 300 + 1);
    expect(notices.after(0, 1)[0]).toMatchObject({ id: 213, type: 'peer', data: { peer_id: 'p212' } });
    store.db.exec('DELETE FROM notices');
    expect(notices.append('peer', {})).toBe(601);
  });
});

describe('event feed', () => {
  it('writes and reads back its cursors, and nothing else', () => {
    expect(parseCursor(formatCursor({ messages: 12, notices: 3 }))).toEqual({ messages: 12, notices: 3 });
    for (const text of ['', '1', '1.', '.1', '1.2.3', '-1.2', '1.2e3', '0x1.2', '1234567890123456.1']) expect(parseCursor(text), text).toBeNull();
  });

  it('tells a cursor behind the kept notices or ahead of the feed, and where to go on from', () => {
    const events = feed();
    for (let i = 0; i < 600; i++) notices.append('peer', { peer_id: `p${i}` });
    expect(events.gapAt({ messages: 0, notices: 212 })).toBeNull();
    expect(events.gapAt({ messages: 0, notices: 211 })).toBe('notices_trimmed');
    expect(events.nearestFollowable({ messages: 0, notices: 5 })).toEqual({ messages: 0, notices: 212 });
    expect(events.gapAt({ messages: 0, notices: 601 })).toBe('cursor_unknown');
    expect(events.gapAt({ messages: 1, notices: 0 })).toBe('cursor_unknown');
    expect(events.nearestFollowable({ messages: 7, notices: 9_000 })).toEqual({ messages: 0, notices: 600 });
  });

  it('reads only what the permissions allow, and moves past the rest', () => {
    const events = feed();
    events.peerChanged('A', true);
    events.deliveryChanged('m1!');
    return turn().then(() => {
      events.peerChanged('A', false, 'closed');
      const peers = events.read({ messages: 0, notices: 0 }, ['view_peers'], 50);
      expect(peers.events.map((e) => [e.type, e.data])).toEqual([
        ['peer', { peer_id: 'A', connected: true, display_name: 'name of A' }],
        ['peer', { peer_id: 'A', connected: false, reason: 'closed', display_name: 'name of A' }],
      ]);
      expect(peers.cursor).toEqual({ messages: 0, notices: 3 });
      expect(peers.caughtUp).toBe(true);
      const reader = events.read({ messages: 0, notices: 0 }, ['read_messages'], 50);
      expect(reader.events.map((e) => [e.type, e.data, formatCursor(e.cursor)])).toEqual([
        ['delivery', { messages: [{ id: 'm1!', delivery_state: 'delivered' }] }, '0.2'],
      ]);
      expect(reader.cursor).toEqual({ messages: 0, notices: 3 });
      const paged = events.read({ messages: 0, notices: 0 }, ['view_peers', 'read_messages'], 2);
      expect(paged.events).toHaveLength(2);
      expect(paged.caughtUp).toBe(false);
    });
  });

  it('journals delivery changes once per turn, in notices of at most 64', async () => {
    const events = feed();
    for (let i = 0; i < 100; i++) events.deliveryChanged(`m${i}`);
    events.deliveryChanged('m0');
    let woken = 0;
    events.on('wake', () => woken++);
    await turn();
    expect(woken).toBe(1);
    const journal = notices.after(0, 10);
    expect(journal.map((n) => (n.data.messages as unknown[]).length)).toEqual([64, 36]);
  });

  it('journals each request that comes or goes, once', () => {
    const events = feed();
    requests = [{ peer_id: 'R1', display_name: 'Rita', endpoint: null, requested_at: 'then' }];
    events.requestsMayHaveChanged();
    events.requestsMayHaveChanged();
    requests = [];
    events.requestsMayHaveChanged();
    expect(notices.after(0, 10).map((n) => n.data)).toEqual([
      { peer_id: 'R1', state: 'pending' },
      { peer_id: 'R1', state: 'resolved' },
    ]);
  });
});
