import { describe, expect, it } from 'vitest';
import { linkify } from '../../../web/lib/ui/linkify.ts';
import { dayLabel, GROUP_GAP_MS, layOutMessages } from '../../../web/lib/ui/chat-layout.ts';
import { excerptOf, readReply, REPLY_EXCERPT_CHARS, replyRef } from '../../../web/lib/ui/reply.ts';

describe('linkify', () => {
  it('turns http, https and www links into pieces and leaves the rest as text', () => {
    expect(linkify('see https://example.org/a?b=1 and www.canopy.test now')).toEqual([
      { text: 'see ' },
      { text: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' },
      { text: ' and ' },
      { text: 'www.canopy.test', href: 'https://www.canopy.test/' },
      { text: ' now' },
    ]);
  });

  it('keeps sentence punctuation and unopened brackets out of the link', () => {
    expect(linkify('(see http://x.test/a).')).toEqual([{ text: '(see ' }, { text: 'http://x.test/a', href: 'http://x.test/a' }, { text: ').' }]);
    expect(linkify('wiki http://w.test/A_(b)!')[1]).toEqual({ text: 'http://w.test/A_(b)', href: 'http://w.test/A_(b)' });
  });

  it('never links other schemes and never yields markup', () => {
    for (const text of ['javascript:alert(1)', 'data:text/html,<b>x</b>', '<a href="http://x">x</a>', 'file:///etc/passwd']) {
      const links = linkify(text).filter((piece) => piece.href);
      for (const link of links) expect(link.href).toMatch(/^https?:\/\//);
      expect(linkify(text).map((piece) => piece.text).join('')).toBe(text);
    }
    expect(linkify('javascript:alert(1)')).toEqual([{ text: 'javascript:alert(1)' }]);
  });

  it('returns no pieces for empty text', () => {
    expect(linkify('')).toEqual([]);
  });
});

describe('chat layout', () => {
  const noon = new Date(2026, 11, 2, 12, 0, 0).getTime();
  const msg = (id: string, author: string, ts: number, direction: 'incoming' | 'outgoing' = 'incoming') => ({ id, author, ts, direction });

  it('groups consecutive messages of one sender within the gap', () => {
    const laid = layOutMessages([msg('a', 'p1', noon), msg('b', 'p1', noon + 60_000), msg('c', 'p2', noon + 120_000), msg('d', 'p2', noon + 120_000 + GROUP_GAP_MS)], null, noon);
    expect(laid.map((row) => row.startsGroup)).toEqual([true, false, true, true]);
    expect(laid.map((row) => row.day)).toEqual(['Today', null, null, null]);
  });

  it('puts a day divider where the date changes and starts a new group there', () => {
    const lateYesterday = new Date(2026, 11, 1, 23, 59).getTime();
    const laid = layOutMessages([msg('a', 'p1', lateYesterday), msg('b', 'p1', lateYesterday + 2 * 60_000)], null, noon);
    expect(laid.map((row) => [row.day, row.startsGroup])).toEqual([
      ['Yesterday', true],
      ['Today', true],
    ]);
  });

  it('starts a group at the first unread message and marks it', () => {
    const laid = layOutMessages([msg('a', 'p1', noon), msg('b', 'p1', noon + 1_000)], 'b', noon);
    expect(laid[1]).toMatchObject({ firstUnread: true, startsGroup: true });
    expect(laid[0]!.firstUnread).toBe(false);
  });

  it('does not group my messages with the same peer id incoming', () => {
    const laid = layOutMessages([msg('a', 'me', noon, 'outgoing'), msg('b', 'me', noon + 1_000, 'incoming')], null, noon);
    expect(laid[1]!.startsGroup).toBe(true);
  });

  it('labels older days with a full date', () => {
    expect(dayLabel(new Date(2026, 0, 5, 9).getTime(), noon)).toContain('2026');
  });
});

describe('replies', () => {
  it('quotes a short flattened excerpt', () => {
    const long = `line one\n\n${'x'.repeat(400)}`;
    expect(excerptOf(long)).toHaveLength(REPLY_EXCERPT_CHARS);
    expect(excerptOf(long).startsWith('line one x')).toBe(true);
    expect(replyRef({ id: 'm1', author: 'p1', content: 'hi' })).toEqual({ id: 'm1', author: 'p1', excerpt: 'hi' });
  });

  it('reads back only well-formed quotes, cut to size', () => {
    expect(readReply({ reply_to: { id: 'm1', author: 'p1', excerpt: 'hi' } })).toEqual({ id: 'm1', author: 'p1', excerpt: 'hi' });
    expect(readReply({ reply_to: { id: 'm1', author: 'p1', excerpt: 'y'.repeat(5_000) } })!.excerpt).toHaveLength(REPLY_EXCERPT_CHARS);
    for (const bad of [undefined, null, {}, { reply_to: 'x' }, { reply_to: { id: 1, author: 'p', excerpt: '' } }, { reply_to: { id: 'i'.repeat(201), author: 'p', excerpt: '' } }]) {
      expect(readReply(bad as Record<string, unknown> | null | undefined)).toBeNull();
    }
  });
});
