// The channel metadata event (kind 'channel'): its schema, and that only the creator named by the
// channel id can sign it.
import { describe, expect, it } from 'vitest';
import { b58encode } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { generateIdentity, type Identity } from '../../../protocol/identity.ts';
import {
  CREATED_CHANNEL_ID_PATTERN,
  MAX_CREATED_CHANNEL_NAME_LENGTH,
  channelIdFor,
  signEvent,
  verifyEvent,
  type CanopyEvent,
} from '../../../protocol/events.ts';
import { SignedEventSchema } from '../../../protocol/frames.ts';

const creator = generateIdentity(nodeCrypto);
const other = generateIdentity(nodeCrypto);

function channelEvent(identity: Identity, overrides: Partial<CanopyEvent> = {}, name = 'random'): CanopyEvent {
  return {
    v: 1,
    author: identity.peerId,
    author_key: b58encode(identity.ed25519.publicKey),
    channel: channelIdFor(nodeCrypto, identity.peerId, name),
    seq: 1,
    kind: 'channel',
    ts: 1712345678000,
    body: { name, description: 'Anything goes' },
    ...overrides,
  };
}

describe('channelIdFor', () => {
  it('is the name plus 12 hex digits of the creator, the same on every backend', () => {
    const id = channelIdFor(nodeCrypto, creator.peerId, 'random');
    expect(id).toMatch(/^random-[0-9a-f]{12}$/);
    expect(channelIdFor(nobleCrypto, creator.peerId, 'random')).toBe(id);
    expect(channelIdFor(nodeCrypto, other.peerId, 'random')).not.toBe(id);
    expect(CREATED_CHANNEL_ID_PATTERN.exec(id)?.[1]).toBe('random');
  });

  it('fits the channel-name pattern at the longest allowed name', () => {
    const id = channelIdFor(nodeCrypto, creator.peerId, 'n'.repeat(MAX_CREATED_CHANNEL_NAME_LENGTH));
    expect(id).toHaveLength(64);
    expect(SignedEventSchema.safeParse(signEvent(nodeCrypto, creator, channelEvent(creator, {}, 'n'.repeat(MAX_CREATED_CHANNEL_NAME_LENGTH)))).success).toBe(true);
  });
});

describe('channel event schema', () => {
  // Shape only (the schema does not verify): any well-formed signature will do, and a lone
  // surrogate could not be signed at all.
  const sig = signEvent(nodeCrypto, creator, channelEvent(creator)).sig;
  const valid = (event: CanopyEvent) => SignedEventSchema.safeParse({ event, sig }).success;

  it('accepts the creator describing its channel', () => {
    expect(valid(channelEvent(creator))).toBe(true);
  });

  it('refuses a body that does not match the channel it is in, or is malformed', () => {
    expect(valid(channelEvent(creator, { channel: 'general' }))).toBe(false);
    expect(valid(channelEvent(creator, { body: { name: 'other', description: '' } }))).toBe(false);
    expect(valid(channelEvent(creator, { channel: 'random-XYZ' }))).toBe(false);
    expect(valid(channelEvent(creator, { body: { name: 'random', description: 'd'.repeat(501) } }))).toBe(false);
    expect(valid(channelEvent(creator, { body: { name: 'random', description: '\ud800' } }))).toBe(false);
    expect(valid(channelEvent(creator, { body: { name: 'random' } as never }))).toBe(false);
    expect(valid(channelEvent(creator, { body: { name: 'random', description: '', extra: 1 } as never }))).toBe(false);
  });

  it('refuses an unknown kind (a newer peer) in the schema, so the receiver rejects that event alone', () => {
    expect(valid(channelEvent(creator, { kind: 'reaction' as never }))).toBe(false);
  });
});

describe('verifyEvent for channel events', () => {
  it('verifies the creator and refuses metadata signed by someone the id does not name', () => {
    expect(verifyEvent(nodeCrypto, signEvent(nodeCrypto, creator, channelEvent(creator))).ok).toBe(true);
    const stolen = channelEvent(other, { channel: channelIdFor(nodeCrypto, creator.peerId, 'random') });
    expect(SignedEventSchema.safeParse(signEvent(nodeCrypto, other, stolen)).success).toBe(true); // shape is fine
    expect(verifyEvent(nodeCrypto, signEvent(nodeCrypto, other, stolen))).toEqual({
      ok: false,
      reason: "channel metadata not signed by the channel's creator",
    });
  });

  it('refuses altered metadata', () => {
    const signed = signEvent(nodeCrypto, creator, channelEvent(creator));
    const altered = { ...signed, event: { ...signed.event, body: { name: 'random', description: 'changed' } } };
    expect(verifyEvent(nodeCrypto, altered)).toMatchObject({ ok: false, reason: 'signature does not verify' });
  });
});
