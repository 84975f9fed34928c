/**
 * A Connect on an introduced peer as its `connect_progress` pushes tell it (dial the peer's
 * addresses, ask a mutual peer to introduce us, relay through one), in words for people. Pure:
 * the Introduced Peers card keeps one attempt per peer and shows these texts.
 */
import type { ConnectProgress } from '../../../protocol/app/contract.ts';

export interface ConnectAttempt {
  stage: ConnectProgress['stage'];
  /** The peer asked at this stage, or the relay of the link that came up. */
  via: string | null;
  /** Everyone asked so far to introduce us, and to relay for us, in order: a failure names them. */
  brokers: string[];
  relays: string[];
  /** The companion's own words for the latest step (a failure shows them under Details). */
  detail: string;
}

/** Display names by peer id, and the name of the peer being connected to. */
export interface AttemptNames {
  peer: string;
  of: (peerId: string) => string;
}

/** A Connect just clicked, before the companion reports anything. */
export function startAttempt(): ConnectAttempt {
  return { stage: 'direct', via: null, brokers: [], relays: [], detail: '' };
}

/** The attempt after one push; a `direct` push starts a new attempt (Connect clicked again). */
export function advance(attempt: ConnectAttempt | undefined, push: ConnectProgress): ConnectAttempt {
  const from = push.stage === 'direct' || !attempt ? startAttempt() : attempt;
  const adding = (list: string[]) => (push.via && !list.includes(push.via) ? [...list, push.via] : list);
  return {
    stage: push.stage,
    via: push.via,
    brokers: push.stage === 'brokering' ? adding(from.brokers) : from.brokers,
    relays: push.stage === 'relaying' ? adding(from.relays) : from.relays,
    detail: push.message,
  };
}

/** Still going: neither connected nor failed. */
export function isUnderWay(attempt: ConnectAttempt | undefined): boolean {
  return attempt !== undefined && attempt.stage !== 'connected' && attempt.stage !== 'failed';
}

/** "Rita", "Rita and Sam", "Rita, Sam or Dave". */
function nameList(names: string[], conjunction: 'and' | 'or'): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} ${conjunction} ${names.at(-1)}`;
}

/** The line under the row while the attempt is under way, e.g. "Asking Rita to introduce you…"; null once it ended. */
export function progressText(attempt: ConnectAttempt, names: AttemptNames, hadAddresses: boolean): string | null {
  switch (attempt.stage) {
    case 'direct':
      return hadAddresses ? `Trying ${names.peer}'s addresses…` : `Looking for a way to reach ${names.peer}…`;
    case 'brokering':
      return `Asking ${nameList(attempt.brokers.map(names.of), 'and') || 'a mutual connection'} to introduce you…`;
    case 'relaying':
      return `Relaying through ${nameList(attempt.relays.map(names.of), 'or') || 'a mutual connection'}…`;
    case 'connected':
    case 'failed':
      return null;
  }
}

export function connectedText(via: string | null, names: AttemptNames): string {
  return via ? `Connected to ${names.peer} through ${names.of(via)}.` : `Connected to ${names.peer}.`;
}

/** Why the attempt failed, naming everything that was tried. */
export function failureText(attempt: ConnectAttempt | undefined, names: AttemptNames, hadAddresses: boolean): string {
  const advice = 'They may be offline or behind a firewall; try again later.';
  const brokers = nameList((attempt?.brokers ?? []).map(names.of), 'or');
  const relays = nameList((attempt?.relays ?? []).map(names.of), 'or');
  if (!brokers && !relays) {
    const why = hadAddresses ? 'none of their addresses answered' : 'no address of theirs is known and none of your connections can help';
    return `Could not reach ${names.peer}: ${why}. ${advice}`;
  }
  const tried = [
    hadAddresses ? 'their addresses' : null,
    brokers ? `an introduction by ${brokers}` : null,
    relays ? `a relay through ${relays}` : null,
  ].filter((step): step is string => step !== null);
  return `Could not reach ${names.peer}. Tried ${nameList(tried, 'and')}; none of it worked. ${advice}`;
}
