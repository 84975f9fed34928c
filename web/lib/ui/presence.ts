/**
 * Whether a peer is linked, as far as this browser can tell. The peers table is the companion's
 * word from the last time it was reachable: while it is not, nobody's state is known, and a green
 * dot would be a guess.
 */
export type Presence = 'connected' | 'not_connected' | 'unknown';

export function presenceOf(connected: boolean, companionReachable: boolean): Presence {
  if (!companionReachable) return 'unknown';
  return connected ? 'connected' : 'not_connected';
}

export const PRESENCE_WORDS: Record<Presence, string> = {
  connected: 'connected',
  not_connected: 'not connected',
  unknown: 'status unknown while your companion is unreachable',
};
