// The activity log's bounds (docs/LIMITS.md): per peer, strangers together, and in all.
import { describe, expect, it } from 'vitest';
import { ACTIVITY_LIMITS, ActivityLog } from '../../../companion/mesh/activity.ts';

describe('ActivityLog', () => {
  it('keeps at most perPeer events of one peer, its newest', () => {
    const log = new ActivityLog();
    log.record('friend', 'connected', 'up');
    for (let i = 0; i < ACTIVITY_LIMITS.perPeer + 5; i++) log.record('noisy', 'attempt', `try ${i}`, 'ws://127.0.0.1:1');
    const events = log.list({ limit: 500 });
    expect(events.filter((event) => event.peer_id === 'noisy')).toHaveLength(ACTIVITY_LIMITS.perPeer);
    expect(events.at(-1)!.detail).toBe(`try ${ACTIVITY_LIMITS.perPeer + 4}`);
    expect(events.some((event) => event.peer_id === 'friend')).toBe(true);
  });

  it('strangers share one quota and never evict a trusted peer; the whole log is capped', () => {
    const log = new ActivityLog();
    log.record('friend', 'connected', 'up');
    for (let i = 0; i < ACTIVITY_LIMITS.total * 2; i++) log.record(`stranger${i}`, 'request', 'asked');
    const events = log.list({ limit: 500 });
    expect(events.filter((event) => event.status === 'request')).toHaveLength(ACTIVITY_LIMITS.strangers);
    expect(events.some((event) => event.peer_id === 'friend')).toBe(true);
    expect(Object.keys(log.peers())).toEqual(['friend']);
    for (let i = 0; i < ACTIVITY_LIMITS.total * 2; i++) log.record(`peer${i}`, 'attempt', 'dial');
    expect(log.list({ limit: 500 }).length).toBeLessThanOrEqual(ACTIVITY_LIMITS.total);
    expect(Object.keys(log.peers()).length).toBeLessThanOrEqual(ACTIVITY_LIMITS.total + 1);
  });

  it('pages by since and limit, and knows only the connection kind', () => {
    let now = 1_000_000;
    const log = new ActivityLog(() => now);
    for (let i = 0; i < 5; i++) {
      now += 1000;
      log.record('p', 'attempt', `${i}`);
    }
    expect(log.list({ since: 1_002, limit: 500 }).map((event) => event.detail)).toEqual(['2', '3', '4']);
    expect(log.list({ limit: 2 }).map((event) => event.detail)).toEqual(['3', '4']);
    expect(log.list({ limit: 5, kind: 'relay' })).toEqual([]);
  });
});
