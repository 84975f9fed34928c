/**
 * Unread state, kept in the browser (db.reads): a conversation's unread messages are the incoming
 * ones above its read cursor, which moves when the user has seen the newest message with the
 * conversation open in a visible tab. Only messages above the replica's first-sync baseline count,
 * so logging in on a new browser does not flag years of history as new.
 */
import Dexie, { liveQuery } from 'dexie';
import { readable, type Readable } from 'svelte/store';
import { dmChannelId } from '../../protocol/events.ts';
import { db, getMeta, setMeta } from './db.ts';

/** Counting stops here ("999+"): an unread count is read at a glance, not audited. */
export const UNREAD_COUNT_CAP = 1_000;

/** Unread messages per channel id (DM channels included); channels with none are absent. */
export type UnreadCounts = Readonly<Record<string, number>>;

/** Called after each complete pull; only the first one (per login) sets the baseline. */
export async function setReadBaselineOnce(): Promise<void> {
  await db.transaction('rw', db.meta, async () => {
    if ((await getMeta('readBaseline')) !== undefined) return;
    await setMeta('readBaseline', (await getMeta('cursor')) ?? 0);
  });
}

/** The cursor above which incoming messages of `channel` are unread; Infinity before the first sync. */
export async function readFloor(channel: string): Promise<number> {
  const [baseline, read] = await Promise.all([getMeta('readBaseline'), db.reads.get(channel)]);
  if (baseline === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(baseline, read?.cursor ?? 0);
}

/** Records that everything in `channel` up to `cursor` has been seen (the read cursor only moves up). */
export async function markRead(channel: string, cursor: number): Promise<void> {
  await db.transaction('rw', db.reads, async () => {
    const held = await db.reads.get(channel);
    if ((held?.cursor ?? -1) < cursor) await db.reads.put({ channel, cursor });
  });
}

async function unreadIn(channel: string): Promise<number> {
  const floor = await readFloor(channel);
  if (!Number.isFinite(floor)) return 0;
  return db.messages
    .where('[channel+cursor]')
    .between([channel, floor], [channel, Dexie.maxKey], false, true)
    .filter((message) => message.direction === 'incoming')
    .limit(UNREAD_COUNT_CAP)
    .count();
}

/** Every conversation this replica knows: channels, and a DM channel per peer with messages. */
async function knownChannels(): Promise<string[]> {
  const [channels, dmPeers, pin] = await Promise.all([
    db.channels.toCollection().primaryKeys(),
    db.messages.orderBy('peer_id').uniqueKeys() as Promise<string[]>,
    db.pins.get('companion'),
  ]);
  const me = pin?.peerId;
  const dms = me ? dmPeers.map((peer) => dmChannelId(me, peer)) : [];
  return [...new Set([...channels, ...dms])];
}

async function countAll(): Promise<UnreadCounts> {
  const channels = await knownChannels();
  const counts = await Promise.all(channels.map(unreadIn));
  const result: Record<string, number> = {};
  channels.forEach((channel, i) => {
    if (counts[i]) result[channel] = counts[i]!;
  });
  return result;
}

/** Live unread counts, one query shared by every subscriber (sidebar, list, title, pill). */
export const unreadCounts: Readable<UnreadCounts> = readable<UnreadCounts>({}, (set) => {
  const subscription = liveQuery(countAll).subscribe({ next: set, error: (error) => console.warn('Canopy unread:', error) });
  return () => subscription.unsubscribe();
});

export function totalUnread(counts: UnreadCounts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** "999+" past the cap, so a badge stays small. */
export function unreadLabel(count: number): string {
  return count >= UNREAD_COUNT_CAP ? `${UNREAD_COUNT_CAP - 1}+` : String(count);
}

/** A tab title that shows news from any page: "(3) Messages · Canopy". */
export function tabTitle(page: string, counts: UnreadCounts): string {
  const total = totalUnread(counts);
  return `${total ? `(${unreadLabel(total)}) ` : ''}${page} · Canopy`;
}
