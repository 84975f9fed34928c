/** Small display helpers shared by the pages. */

/** The first characters of a peer id, enough to tell peers apart at a glance. */
export function shortId(id: string, length = 8): string {
  return id.length > length ? `${id.slice(0, length)}…` : id;
}

/** A peer's name for display: its display name, else its short peer id. */
export function peerName(peerId: string, displayName: string | null | undefined): string {
  return displayName?.trim() || shortId(peerId);
}

/** Characters of the peer id appended to a shared name: enough that grinding a look-alike id is costly. */
const NAME_SUFFIX_LENGTH = 6;

/**
 * Names for one set of peers. Display names are chosen by each peer, so two can claim "Alice":
 * a name that more than one peer holds (ignoring case and spaces) is shown with the start of each
 * holder's peer id, e.g. "Alice (Hea85H)".
 */
export function peerNamer(
  peers: Iterable<{ peer_id: string; display_name: string | null }>,
): (peerId: string, displayName: string | null | undefined) => string {
  const holders = new Map<string, Set<string>>();
  for (const peer of peers) {
    const key = peer.display_name?.trim().toLocaleLowerCase();
    if (!key) continue;
    const ids = holders.get(key) ?? new Set<string>();
    ids.add(peer.peer_id);
    holders.set(key, ids);
  }
  return (peerId, displayName) => {
    const name = peerName(peerId, displayName);
    const others = [...(holders.get(name.toLocaleLowerCase()) ?? [])].filter((id) => id !== peerId);
    return displayName?.trim() && others.length ? `${name} (${peerId.slice(0, NAME_SUFFIX_LENGTH)})` : name;
  };
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function toDate(value: number | string): Date {
  return new Date(value);
}

/** "14:05" today, "12 Mar 2026, 14:05" otherwise. */
export function formatMessageTime(value: number | string): string {
  const date = toDate(value);
  const now = new Date();
  return date.toDateString() === now.toDateString() ? timeFormat.format(date) : dateTimeFormat.format(date);
}

/** A full date and time, or a dash for "never". */
export function formatDateTime(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const date = toDate(value);
  return Number.isNaN(date.getTime()) ? '—' : dateTimeFormat.format(date);
}

/** Anything thrown, in words for a person (see error-text.ts). */
export { errorText } from './error-text.ts';
