/**
 * How a conversation's messages are laid out: a day divider where the date changes, the sender's
 * name and avatar only at the start of a run of messages from one sender (as Signal and Slack do),
 * and a "New messages" divider above the first message that was unread when the conversation opened.
 */

/** Messages from one sender closer together than this share one header. */
export const GROUP_GAP_MS = 5 * 60_000;

export interface LaidOutMessage<M> {
  message: M;
  /** "Today", "Yesterday" or a date, when this message opens a new day. */
  day: string | null;
  /** This message starts a run from its sender: show the name, avatar and time above it. */
  startsGroup: boolean;
  /** The "New messages" divider goes above this message. */
  firstUnread: boolean;
}

interface Placeable {
  id: string;
  author: string;
  direction: 'incoming' | 'outgoing';
  ts: number;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

function startOfDay(ts: number): number {
  const date = new Date(ts);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

/** "Today", "Yesterday", else the full date in the reader's locale. */
export function dayLabel(ts: number, now: number = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(ts)) / 86_400_000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return dayFormat.format(new Date(ts));
}

export function layOutMessages<M extends Placeable>(messages: readonly M[], firstUnreadId: string | null, now: number = Date.now()): LaidOutMessage<M>[] {
  let previous: M | null = null;
  return messages.map((message) => {
    const day = previous === null || startOfDay(previous.ts) !== startOfDay(message.ts) ? dayLabel(message.ts, now) : null;
    const firstUnread = message.id === firstUnreadId;
    const sameSender = previous !== null && previous.author === message.author && previous.direction === message.direction;
    const close = previous !== null && Math.abs(message.ts - previous.ts) < GROUP_GAP_MS;
    const startsGroup = day !== null || firstUnread || !sameSender || !close;
    previous = message;
    return { message, day, startsGroup, firstUnread };
  });
}
