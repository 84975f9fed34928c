import { describe, expect, it } from 'vitest';
import { b58encode, b64urlEncode, utf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { generateIdentity, identityFromSecrets } from '../../../protocol/identity.ts';
import { GENERAL_CHANNEL, dmChannelId, sealDm, signEvent, verifyEvent, type CanopyEvent, type SignedEvent } from '../../../protocol/events.ts';
import {
  MAX_CONTENT_LENGTH,
  SignedEventSchema,
  decodeFrame,
  encodeFrame,
  encodeHandshakePayload,
  parseHandshakePayload,
  type Frame,
  type HandshakePayload,
} from '../../../protocol/frames.ts';

const alice = identityFromSecrets(nodeCrypto, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
const bob = generateIdentity(nodeCrypto);

const baseEvent = (overrides: Partial<CanopyEvent> = {}): CanopyEvent => ({
  v: 1,
  author: alice.peerId,
  author_key: b58encode(alice.ed25519.publicKey),
  channel: GENERAL_CHANNEL,
  seq: 1,
  kind: 'post',
  ts: 1712345678000,
  body: { content: 'hi' },
  ...overrides,
});
const signed = (overrides: Partial<CanopyEvent> = {}): SignedEvent => signEvent(nodeCrypto, alice, baseEvent(overrides));
const dm = (): SignedEvent =>
  signed({
    kind: 'dm',
    channel: dmChannelId(alice.peerId, bob.peerId),
    body: sealDm(nodeCrypto, { author: alice.peerId, to: bob.peerId, recipientX25519PublicKey: bob.x25519.publicKey, content: 'psst' }),
  });

/** Metadata whose containers nest `depth` deep (the metadata object itself is level 1). */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { k: value };
  return value;
}

const raw = (value: unknown): Uint8Array => utf8(JSON.stringify(value));
const decodeJson = (value: unknown) => decodeFrame(raw(value));
function expectError(result: ReturnType<typeof decodeFrame>, pattern: RegExp): void {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.error).toMatch(pattern);
}

/** Validates an event (as mutated raw JSON) inside an events frame: its rejection reason, or null. */
function eventError(mutate: (e: Record<string, unknown>) => void, base: SignedEvent = signed()): string | null {
  const copy = JSON.parse(JSON.stringify(base)) as { event: Record<string, unknown>; sig: string };
  mutate(copy.event);
  const result = decodeJson({ t: 'events', events: [copy] });
  if (!result.ok || result.frame.t !== 'events') throw new Error('an events frame with one event must decode');
  return result.frame.rejected[0]?.reason ?? null;
}

describe('link frames', () => {
  it('round-trips every frame type', () => {
    const frames: Frame[] = [
      { t: 'ping', n: 1 },
      { t: 'pong', n: 1 },
      { t: 'sync_done' },
      { t: 'ack', ids: ['a'.repeat(64)] },
      { t: 'ack', ids: [], rejected: [{ index: 3, id: 'b'.repeat(64), reason: 'signature does not verify' }] },
      { t: 'error', about: 'sync', reason: 'too big' },
    ];
    for (const frame of frames) expect(decodeFrame(encodeFrame(frame))).toEqual({ ok: true, frame });
    const vectors = { general: { [alice.peerId]: 3 }, [dmChannelId(alice.peerId, bob.peerId)]: { [bob.peerId]: 0 } };
    expect(decodeFrame(encodeFrame({ t: 'sync', vectors }))).toEqual({ ok: true, frame: { t: 'sync', more: false, page: { ok: true, vectors } } });
    expect(decodeFrame(encodeFrame({ t: 'sync', vectors, more: true }))).toEqual({ ok: true, frame: { t: 'sync', more: true, page: { ok: true, vectors } } });
    const events = [signed(), dm()];
    expect(decodeFrame(encodeFrame({ t: 'events', events }))).toEqual({
      ok: true,
      frame: { t: 'events', events: events.map((e, index) => ({ index, signed: e })), rejected: [] },
    });
  });

  it('validated events still verify', () => {
    const result = decodeFrame(encodeFrame({ t: 'events', events: [signed(), dm()] }));
    expect(result.ok).toBe(true);
    if (result.ok && result.frame.t === 'events') {
      for (const e of result.frame.events) expect(verifyEvent(nobleCrypto, e.signed).ok).toBe(true);
    }
  });

  it('rejects one bad event alone, keeping its neighbours and their positions', () => {
    const good = signed();
    const result = decodeJson({ t: 'events', events: [good, { event: { nonsense: true }, sig: 'x' }, good] });
    expect(result.ok).toBe(true);
    if (!result.ok || result.frame.t !== 'events') return;
    expect(result.frame.events.map((e) => e.index)).toEqual([0, 2]);
    expect(result.frame.rejected).toHaveLength(1);
    expect(result.frame.rejected[0]).toMatchObject({ index: 1, reason: expect.stringMatching(/^events\.1\./) });
  });

  it('reports a sync page over the limits inside the frame instead of failing it', () => {
    const result = decodeJson({ t: 'sync', vectors: { general: { short: 1 } } });
    expect(result).toMatchObject({ ok: true, frame: { t: 'sync', page: { ok: false, error: expect.stringMatching(/^vectors: general/) } } });
  });

  it('tolerates unknown frame types (forward compatibility)', () => {
    expect(decodeJson({ t: 'relay', circuit: 3 })).toEqual({ ok: true, frame: { t: 'unknown', type: 'relay' } });
    expect(decodeJson({ t: 'toString' })).toEqual({ ok: true, frame: { t: 'unknown', type: 'toString' } });
    expect(decodeJson({ t: '__proto__' })).toEqual({ ok: true, frame: { t: 'unknown', type: '__proto__' } });
  });

  it('strips unknown keys on known link frames', () => {
    expect(decodeJson({ t: 'ping', n: 5, extra: true })).toEqual({ ok: true, frame: { t: 'ping', n: 5 } });
  });

  it('rejects undecodable frames with short clear errors', () => {
    expectError(decodeFrame(new Uint8Array([0xff, 0xfe])), /^Frame is not valid UTF-8$/);
    expectError(decodeFrame(utf8('{"t":')), /^Frame is not valid JSON$/);
    expectError(decodeFrame(utf8('')), /^Frame is not valid JSON$/);
    expectError(decodeJson([{ t: 'ping' }]), /^Frame is not a JSON object$/);
    expectError(decodeJson('ping'), /^Frame is not a JSON object$/);
    expectError(decodeJson(null), /^Frame is not a JSON object$/);
    expectError(decodeJson({ n: 1 }), /^Frame has no string "t" field$/);
    expectError(decodeJson({ t: 7 }), /^Frame has no string "t" field$/);
  });

  it('names the frame type and the first failing path', () => {
    expectError(decodeJson({ t: 'ping' }), /^Invalid "ping" frame: n: /);
    expectError(decodeJson({ t: 'pong', n: 1.5 }), /^Invalid "pong" frame: n: /);
    expectError(decodeJson({ t: 'ack', ids: ['xyz'] }), /^Invalid "ack" frame: ids\.0: must be a 64-char lowercase hex event id$/);
    expectError(decodeJson({ t: 'ack', ids: Array(1001).fill('a'.repeat(64)) }), /^Invalid "ack" frame: ids: /);
    expectError(decodeJson({ t: 'sync' }), /^Invalid "sync" frame: vectors: /);
    expectError(decodeJson({ t: 'sync', vectors: [] }), /^Invalid "sync" frame: vectors: /);
    expectError(decodeJson({ t: 'events', events: [] }), /^Invalid "events" frame: events: /);
    expectError(decodeJson({ t: 'events', events: 'not a list' }), /^Invalid "events" frame: events: /);
    expectError(decodeJson({ t: 'ack', ids: [], rejected: [{ index: 500, reason: 'x' }] }), /^Invalid "ack" frame: rejected\.0\.index/);
  });

  const pageError = (vectors: unknown): string | null => {
    const result = decodeJson({ t: 'sync', vectors });
    if (!result.ok || result.frame.t !== 'sync') throw new Error('a sync frame with an object must decode');
    return result.frame.page.ok ? null : result.frame.page.error;
  };

  it('names the failing path of a sync page', () => {
    expect(pageError({ general: { [alice.peerId]: -1 } })).toMatch(/^vectors: general\./);
    expect(pageError({ general: { short: 1 } })).toMatch(/^vectors: general/);
    expect(pageError({ 'Bad Channel': {} })).toMatch(/^vectors: /);
    // A "__proto__" channel is dropped, never a prototype.
    const proto = decodeFrame(utf8('{"t":"sync","vectors":{"__proto__":{"x":1}}}'));
    expect(proto).toMatchObject({ ok: true, frame: { page: { ok: true, vectors: {} } } });
    if (proto.ok && proto.frame.t === 'sync' && proto.frame.page.ok) expect(Object.getPrototypeOf(proto.frame.page.vectors)).toBe(Object.prototype);
  });

  it('caps channels in a sync page', () => {
    const vectors: Record<string, Record<string, number>> = {};
    for (let i = 0; i < 4097; i++) vectors[`c${i}`] = {};
    expect(pageError(vectors)).toMatch(/at most 4096 channels/);
    delete vectors['c0'];
    expect(pageError(vectors)).toBeNull();
  });

  it('rejects a 600-event batch, accepts 500', () => {
    const one = signed();
    expectError(decodeJson({ t: 'events', events: Array(600).fill(one) }), /^Invalid "events" frame: events: /);
    expect(decodeJson({ t: 'events', events: Array(500).fill(one) }).ok).toBe(true);
  });
});

describe('SignedEventSchema', () => {
  it('accepts posts and DMs, including metadata', () => {
    expect(SignedEventSchema.safeParse(signed({ body: { content: 'x', metadata: { a: [1, { b: null }] } } })).success).toBe(true);
    expect(SignedEventSchema.safeParse(dm()).success).toBe(true);
    expect(SignedEventSchema.safeParse(signed({ body: { content: 'x', metadata: nested(32) } })).success).toBe(true);
    expect(SignedEventSchema.safeParse(signed({ channel: 'a_b-9' })).success).toBe(true);
    expect(SignedEventSchema.safeParse(signed({ body: { content: 'x'.repeat(MAX_CONTENT_LENGTH) } })).success).toBe(true);
    // Surrogate pairs are text (an emoji); only a lone half is refused.
    expect(SignedEventSchema.safeParse(signed({ body: { content: 'ok \ud83d\udca9' } })).success).toBe(true);
  });

  it('accepts a key whose base58 form is shorter than 43 characters', () => {
    const key = new Uint8Array(32);
    key[1] = 1;
    const short = b58encode(key);
    expect(short.length).toBeLessThan(43);
    // Shape only: the signature no longer matches, but that is verifyEvent's job.
    expect(eventError((e) => (e['author_key'] = short))).toBeNull();
  });

  const violations: Array<[string, (e: Record<string, unknown>) => void, RegExp]> = [
    ['extra key in event', (e) => (e['extra'] = 1), /events\.0\.event: /],
    ['v 2', (e) => (e['v'] = 2), /events\.0\.event\.v: /],
    ['missing author', (e) => delete e['author'], /events\.0\.event\.author: /],
    ['short author', (e) => (e['author'] = 'abc'), /event\.author: must be a 16-character base58 peer ID/],
    ['author with 0', (e) => (e['author'] = '0XmjKEd9A96KhoMX'), /event\.author: /],
    ['author_key too short', (e) => (e['author_key'] = 'abc'), /event\.author_key: must be a base58 32-byte key/],
    ['author_key 33 bytes', (e) => (e['author_key'] = b58encode(new Uint8Array(33).fill(200))), /event\.author_key: /],
    ['uppercase channel', (e) => (e['channel'] = 'General'), /event\.channel: /],
    ['channel starting with -', (e) => (e['channel'] = '-x'), /event\.channel: /],
    ['65-char channel', (e) => (e['channel'] = 'a'.repeat(65)), /event\.channel: /],
    ['post in a dm channel', (e) => (e['channel'] = dmChannelId(alice.peerId, bob.peerId)), /event\.channel: a post cannot be in a dm: channel/],
    ['seq 0', (e) => (e['seq'] = 0), /event\.seq: /],
    ['seq 1.5', (e) => (e['seq'] = 1.5), /event\.seq: /],
    ['seq unsafe', (e) => (e['seq'] = 2 ** 53), /event\.seq: /],
    ['seq string', (e) => (e['seq'] = '1'), /event\.seq: /],
    ['negative ts', (e) => (e['ts'] = -1), /event\.ts: /],
    ['fractional ts', (e) => (e['ts'] = 1.5), /event\.ts: /],
    ['unknown kind', (e) => (e['kind'] = 'reaction'), /event\.kind: /],
    ['oversize content', (e) => (e['body'] = { content: 'x'.repeat(MAX_CONTENT_LENGTH + 1) }), /event\.body\.content: /],
    ['content not a string', (e) => (e['body'] = { content: 5 }), /event\.body\.content: /],
    ['content with a lone surrogate', (e) => (e['body'] = { content: 'a \ud800 b' }), /event\.body\.content: must be valid Unicode text/],
    ['extra body key', (e) => (e['body'] = { content: 'x', html: '<b>' }), /event\.body: /],
    ['metadata array', (e) => (e['body'] = { content: 'x', metadata: [1] }), /event\.body\.metadata: metadata must be a JSON object/],
    ['metadata too big', (e) => (e['body'] = { content: 'x', metadata: { big: 'x'.repeat(17000) } }), /event\.body\.metadata: metadata must be at most 16384 bytes/],
    ['metadata 33 deep', (e) => (e['body'] = { content: 'x', metadata: nested(33) }), /event\.body\.metadata: metadata must be nested at most 32 levels deep/],
    ['post with dm body', (e) => (e['body'] = { to: bob.peerId, sealed: 'AAAA' }), /event\.body/],
  ];
  it.each(violations)('rejects %s', (_name, mutate, pattern) => {
    expect(eventError(mutate)).toMatch(pattern);
  });

  const dmViolations: Array<[string, (e: Record<string, unknown>) => void, RegExp]> = [
    ['dm in general', (e) => (e['channel'] = GENERAL_CHANNEL), /event\.channel: a dm must be in the channel/],
    ['dm in a third party channel', (e) => (e['channel'] = dmChannelId(bob.peerId, '2222222222222222')), /event\.channel: /],
    ['dm bad to', (e) => ((e['body'] as Record<string, unknown>)['to'] = 'nobody'), /event\.body\.to: /],
    ['dm sealed not b64url', (e) => ((e['body'] as Record<string, unknown>)['sealed'] = 'a+b/'), /event\.body\.sealed: /],
    ['dm sealed too big', (e) => ((e['body'] as Record<string, unknown>)['sealed'] = 'A'.repeat(96 * 1024 + 4)), /event\.body\.sealed: /],
    ['dm with content', (e) => ((e['body'] as Record<string, unknown>)['content'] = 'leak'), /event\.body: /],
  ];
  it.each(dmViolations)('rejects %s', (_name, mutate, pattern) => {
    expect(eventError(mutate, dm())).toMatch(pattern);
  });

  it('rejects metadata nested 20,000 deep cleanly, as received JSON text (no RangeError)', () => {
    const depth = 20_000;
    const event = JSON.stringify(signed({ body: { content: 'x', metadata: { deep: 'HERE' } } }));
    const text = `{"t":"events","events":[${event.replace('"HERE"', '{"k":'.repeat(depth) + '{}' + '}'.repeat(depth))}]}`;
    const result = decodeFrame(utf8(text));
    expect(result).toMatchObject({
      ok: true,
      frame: { events: [], rejected: [{ index: 0, reason: 'events.0.event.body.metadata: metadata must be nested at most 32 levels deep' }] },
    });
  });

  it('rejects bad signatures in shape', () => {
    const e = signed();
    expect(SignedEventSchema.safeParse({ ...e, sig: e.sig.slice(1) }).success).toBe(false);
    expect(SignedEventSchema.safeParse({ ...e, sig: b64urlEncode(new Uint8Array(65)) }).success).toBe(false);
    expect(SignedEventSchema.safeParse({ ...e, extra: 1 }).success).toBe(false);
    expect(decodeJson({ t: 'events', events: [{ ...e, sig: 'x' }] })).toEqual({
      ok: true,
      frame: { t: 'events', events: [], rejected: [{ index: 0, reason: 'events.0.sig: must be base64url of 64 bytes' }] },
    });
  });
});

describe('handshake payload', () => {
  const valid: HandshakePayload = {
    peer_id: alice.peerId,
    ed25519_key: b58encode(alice.ed25519.publicKey),
    binding: b64urlEncode(alice.binding),
    protocol_version: 1,
    canopy_version: '0.1.0',
    capabilities: ['chat', 'dm_e2e_v1'],
    endpoints: ['ws://127.0.0.1:7771'],
  };

  it('round-trips and ignores unknown fields', () => {
    expect(parseHandshakePayload(encodeHandshakePayload(valid))).toEqual({ ok: true, payload: valid });
    expect(parseHandshakePayload(raw({ ...valid, future: 'field' }))).toEqual({ ok: true, payload: valid });
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not JSON', null, /^Handshake payload is not valid JSON$/],
    ['missing peer_id', { ...valid, peer_id: undefined }, /^Invalid handshake payload: peer_id: /],
    ['bad ed25519_key', { ...valid, ed25519_key: 'abc' }, /ed25519_key: must be a base58 32-byte key/],
    ['short binding', { ...valid, binding: b64urlEncode(new Uint8Array(63)) }, /binding: must be base64url of 64 bytes/],
    ['string protocol_version', { ...valid, protocol_version: '1' }, /protocol_version: /],
    ['long canopy_version', { ...valid, canopy_version: 'x'.repeat(33) }, /canopy_version: /],
    ['33 capabilities', { ...valid, capabilities: Array(33).fill('c') }, /capabilities: /],
    ['long capability', { ...valid, capabilities: ['c'.repeat(65)] }, /capabilities\.0: /],
    ['17 endpoints', { ...valid, endpoints: Array(17).fill('ws://a:1') }, /endpoints: /],
    ['long endpoint', { ...valid, endpoints: ['x'.repeat(257)] }, /endpoints\.0: /],
    ['array', [valid], /^Handshake payload is not a JSON object$/],
  ];
  it.each(bad)('rejects %s', (_name, value, pattern) => {
    const result = parseHandshakePayload(value === null ? utf8('{{') : raw(value));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(pattern);
  });
});
