import { describe, expect, it } from 'vitest';
import type { ConnectProgress } from '../../../protocol/app/contract.ts';
import { advance, connectedText, failureText, isUnderWay, progressText, startAttempt, type ConnectAttempt } from '../../../web/lib/ui/connect-attempt.ts';

const BEN = 'BenPeerId0000001';
const RITA = 'RitaPeerId000001';
const SAM = 'SamPeerId0000001';
const NAMES: Record<string, string> = { [RITA]: 'Rita', [SAM]: 'Sam' };
const names = { peer: 'Ben', of: (id: string) => NAMES[id] ?? id };

const push = (stage: ConnectProgress['stage'], via: string | null = null): ConnectProgress => ({ peer_id: BEN, stage, via, message: `companion says ${stage}` });
const replay = (...pushes: ConnectProgress[]): ConnectAttempt => pushes.reduce<ConnectAttempt>((attempt, next) => advance(attempt, next), startAttempt());

describe('connect attempt', () => {
  it('tells each stage in plain words, with names', () => {
    expect(progressText(replay(push('direct')), names, true)).toBe("Trying Ben's addresses…");
    expect(progressText(replay(push('direct')), names, false)).toBe('Looking for a way to reach Ben…');
    expect(progressText(replay(push('direct'), push('brokering', RITA)), names, true)).toBe('Asking Rita to introduce you…');
    expect(progressText(replay(push('direct'), push('brokering', RITA), push('brokering', SAM)), names, true)).toBe('Asking Rita and Sam to introduce you…');
    expect(progressText(replay(push('direct'), push('brokering', RITA), push('relaying', RITA)), names, true)).toBe('Relaying through Rita…');
    expect(progressText(replay(push('connected', RITA)), names, true)).toBeNull();
    expect(connectedText(RITA, names)).toBe('Connected to Ben through Rita.');
    expect(connectedText(null, names)).toBe('Connected to Ben.');
  });

  it('is under way until connected or failed', () => {
    expect(isUnderWay(undefined)).toBe(false);
    expect(isUnderWay(replay(push('brokering', RITA)))).toBe(true);
    expect(isUnderWay(replay(push('brokering', RITA), push('connected', RITA)))).toBe(false);
    expect(isUnderWay(replay(push('relaying', RITA), push('failed')))).toBe(false);
  });

  it('names everything that was tried when it fails', () => {
    const all = replay(push('direct'), push('brokering', RITA), push('relaying', RITA), push('relaying', SAM), push('failed'));
    expect(failureText(all, names, true)).toBe(
      'Could not reach Ben. Tried their addresses, an introduction by Rita and a relay through Rita or Sam; none of it worked. They may be offline or behind a firewall; try again later.',
    );
    expect(all.detail).toBe('companion says failed');
    expect(failureText(replay(push('direct'), push('failed')), names, true)).toBe(
      'Could not reach Ben: none of their addresses answered. They may be offline or behind a firewall; try again later.',
    );
    expect(failureText(undefined, names, true)).toContain('none of their addresses answered');
  });

  it('starts over when Connect is clicked again', () => {
    const again = replay(push('brokering', RITA), push('failed'), push('direct'));
    expect(again.brokers).toEqual([]);
    expect(failureText(advance(again, push('failed')), names, true)).not.toContain('Rita');
  });
});
