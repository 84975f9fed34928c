// Issue 9, item 4: the companion's precise errors become sentences for a person, and the precise
// words stay available for a "Details" disclosure.
import { describe, expect, it } from 'vitest';
import { AppError, NOT_CONNECTED_MESSAGE } from '../../../web/lib/link/app-link.ts';
import { describeError, endpointProblem, errorText, unreachableText } from '../../../web/lib/ui/error-text.ts';

const refused = (host: string) => ({ endpoint: `ws://${host}/p2p`, error: `Could not reach ws://${host}/p2p: connect ECONNREFUSED ${host}` });

describe('describeError', () => {
  it('says a damaged invite code is damaged, keeping the decoder words as details', () => {
    const error = new AppError(400, 'Invalid invite code: Invite code is not valid base64url-encoded JSON', {
      reason: 'Invite code is not valid base64url-encoded JSON',
      code: 'bad_encoding',
    });
    expect(describeError(error)).toEqual({
      text: 'This invite code is damaged or incomplete — copy it again.',
      detail: 'Invalid invite code: Invite code is not valid base64url-encoded JSON',
    });
    expect(errorText(new AppError(400, 'Invalid invite code: Peer ID does not match public key', { code: 'peer_id_mismatch' }))).toMatch(/altered/);
    expect(errorText(new AppError(400, 'Invalid invite code: this is your own invite code', { code: 'own_invite' }))).toMatch(/your own invite code/);
  });

  it('never shows a field name such as public_host', () => {
    const text = errorText(new AppError(400, 'Invalid public_host: expected a hostname or IP address'));
    expect(text).not.toContain('public_host');
    expect(text).toMatch(/host name or an IP address/);
  });

  it('names the address a peer was not reachable at and asks the useful question', () => {
    const one = new AppError(502, 'Could not reconnect to any endpoint', { errors: [refused('192.168.1.5:7771')] });
    expect(describeError(one)).toEqual({
      text: "Couldn't reach that peer at 192.168.1.5:7771 — is it running and reachable from here?",
      detail: 'Could not reconnect to any endpoint\nws://192.168.1.5:7771/p2p: Could not reach ws://192.168.1.5:7771/p2p: connect ECONNREFUSED 192.168.1.5:7771',
    });
    const three = [refused('192.168.1.5:7771'), refused('10.0.0.2:7771'), refused('127.0.0.1:7771')];
    expect(unreachableText(three)).toBe("Couldn't reach that peer at 192.168.1.5:7771 or its 2 other addresses — is it running and reachable from here?");
    expect(unreachableText([])).toBe("Couldn't reach that peer — is it running and reachable from here?");
  });

  it('explains socket errors instead of showing their codes', () => {
    expect(endpointProblem('Could not reach ws://127.0.0.1:9/p2p: connect ECONNREFUSED 127.0.0.1:9')).toMatch(/nothing is listening/);
    expect(endpointProblem('No answer within the 10 s deadline')).toMatch(/no answer in time/);
    expect(endpointProblem('Endpoint answered as AAAA, expected BBBB')).toMatch(/different Canopy/);
    expect(endpointProblem('something new')).toBe('something new');
  });

  it('keeps messages that are already written for people, with no details', () => {
    expect(describeError(new AppError(401, 'Invalid username or password'))).toEqual({ text: 'Invalid username or password', detail: null });
    expect(describeError(new Error('plain'))).toEqual({ text: 'plain', detail: null });
    expect(errorText(new AppError(0, NOT_CONNECTED_MESSAGE))).toMatch(/not reachable right now/);
  });
});
