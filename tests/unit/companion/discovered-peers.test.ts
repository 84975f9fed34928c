// The LAN discovery list (docs/LIMITS.md "LAN discovery"): capped, least recently seen dropped
// first, and entries not seen again within the expiry are gone.
import { describe, expect, it } from 'vitest';
import { DiscoveredPeers } from '../../../companion/discovery/discovered-peers.ts';

const sighting = (peerId: string, port = 7771) => ({
  peerId,
  endpoints: [`ws://127.0.0.1:${port}`],
  version: '0.1.0',
  capabilities: ['chat'],
});

describe('DiscoveredPeers', () => {
  it('keeps at most maxEntries, dropping the least recently seen', () => {
    let now = 0;
    const list = new DiscoveredPeers({ maxEntries: 3, expireMs: 1_000_000 }, () => now);
    for (const id of ['a', 'b', 'c']) {
      list.seen(sighting(id));
      now++;
    }
    list.seen(sighting('a')); // a is fresh again, so b is now the oldest
    now++;
    list.seen(sighting('d'));
    expect(list.list().map((p) => p.peerId)).toEqual(['d', 'a', 'c']);
  });

  it('a flood of records never grows it past the cap', () => {
    const list = new DiscoveredPeers({ maxEntries: 256, expireMs: 60_000 });
    for (let i = 0; i < 10_000; i++) list.seen(sighting(`peer-${i}`));
    expect(list.list()).toHaveLength(256);
    expect(list.get('peer-9999')).toBeDefined();
    expect(list.get('peer-0')).toBeUndefined();
  });

  it('entries not seen again within expireMs are gone; a new sighting refreshes them', () => {
    let now = 0;
    const list = new DiscoveredPeers({ maxEntries: 10, expireMs: 100 }, () => now);
    list.seen(sighting('a'));
    list.seen(sighting('b'));
    now = 80;
    list.seen(sighting('b'));
    now = 150;
    expect(list.list().map((p) => p.peerId)).toEqual(['b']);
    expect(list.get('a')).toBeUndefined();
    now = 181;
    expect(list.list()).toEqual([]);
  });

  it('reports changes a viewer would notice, and removes on goodbye', () => {
    const list = new DiscoveredPeers();
    expect(list.seen(sighting('a'))).toBe(true);
    expect(list.seen(sighting('a'))).toBe(false);
    expect(list.seen(sighting('a', 9999))).toBe(true);
    expect(list.gone('a')).toBe(true);
    expect(list.gone('a')).toBe(false);
    expect(list.list()).toEqual([]);
  });
});
