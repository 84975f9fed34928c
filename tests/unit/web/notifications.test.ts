import { describe, expect, it } from 'vitest';
import { dmChannelId } from '../../../protocol/events.ts';
import { mentions, notificationText, notifyKindOf } from '../../../web/lib/notifications.ts';
import { presenceOf } from '../../../web/lib/ui/presence.ts';
import { appLinkReconnectDelay } from '../../../web/lib/link/reconnect-delay.ts';

const DM = dmChannelId('Hea85HqHaaaaaaaa', 'Zk3mQ9vbbbbbbbbb');

describe('which messages notify', () => {
  it('finds a mention of a name as a word, with or without @, in any case', () => {
    expect(mentions('hey @alice look', ['alice'])).toBe(true);
    expect(mentions('Alice, look', ['alice'])).toBe(true);
    expect(mentions('ask Zoë.', ['zoë'])).toBe(true);
    expect(mentions('malice and alicent', ['alice'])).toBe(false);
    expect(mentions('anything', ['', '  '])).toBe(false);
    expect(mentions('cost is 3$ (a+b)', ['a+b'])).toBe(true); // names are text, not patterns
    expect(mentions('hello Bob Smith!', ['Bob Smith'])).toBe(true);
  });

  it('classifies incoming messages and ignores our own', () => {
    expect(notifyKindOf({ channel: DM, direction: 'incoming', content: 'hi' }, ['alice'])).toBe('dm');
    expect(notifyKindOf({ channel: 'general', direction: 'incoming', content: 'hi @alice' }, ['alice'])).toBe('mention');
    expect(notifyKindOf({ channel: 'general', direction: 'incoming', content: 'hi all' }, ['alice'])).toBe('channel');
    expect(notifyKindOf({ channel: DM, direction: 'outgoing', content: 'hi' }, ['alice'])).toBeNull();
    expect(notifyKindOf({ channel: 'general', direction: 'incoming', content: null }, ['alice'])).toBe('channel');
  });

  it('titles a DM by its author and a post by author and channel, and links to the conversation', () => {
    expect(notificationText({ channel: DM, content: 'see you\nsoon' }, 'Bob', null)).toEqual({ title: 'Bob', body: 'see you soon', url: `/messages?c=${encodeURIComponent(DM)}` });
    expect(notificationText({ channel: 'c1', content: 'x' }, 'Bob', 'garden').title).toBe('Bob in # garden');
    expect(notificationText({ channel: 'c1', content: 'x' }, 'Bob', null).title).toBe('Bob in # c1');
  });
});

describe('presence', () => {
  it('is unknown whenever the companion is unreachable, whatever the last list said', () => {
    expect(presenceOf(true, false)).toBe('unknown');
    expect(presenceOf(false, false)).toBe('unknown');
    expect(presenceOf(true, true)).toBe('connected');
    expect(presenceOf(false, true)).toBe('not_connected');
  });
});

describe('reconnecting to the companion', () => {
  const noJitter = () => 0;
  it('retries fast while the page is visible, capped at 3 s', () => {
    expect([0, 1, 2, 3, 4, 10, 1e6].map((n) => appLinkReconnectDelay(n, true, noJitter))).toEqual([250, 500, 1000, 2000, 3000, 3000, 3000]);
    expect(appLinkReconnectDelay(20, true, () => 1)).toBe(3600);
    expect(appLinkReconnectDelay(Number.NaN, true, () => Number.NaN)).toBe(250);
  });

  it('falls back to the slow mesh schedule while hidden', () => {
    expect(appLinkReconnectDelay(0, false, noJitter)).toBe(2000);
    expect(appLinkReconnectDelay(10, false, noJitter)).toBe(60_000);
  });
});
