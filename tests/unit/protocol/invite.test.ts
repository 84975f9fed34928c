import { describe, expect, it } from 'vitest';
import { b58decode, b58encode, b64urlEncode, utf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { generateIdentity } from '../../../protocol/identity.ts';
import {
  InviteError,
  MAX_INVITE_LENGTH,
  canonicalizeEndpoint,
  canonicalizeEndpoints,
  decodeInvite,
  encodeInvite,
  type InviteErrorCode,
} from '../../../protocol/invite.ts';

// reference/upstream-canopy.md §2.1, built from the §1.2 keys.
const EXAMPLE =
  'canopy:eyJ2IjoxLCJwaWQiOiI0WG1qS0VkOUE5Nktob01YIiwiZXBrIjoiQUtuTDROTmYzREdXWkpTNmNQa25CdUVHblZzVjRBNG01dGdlYkxIYVJTWjkiLCJ4cGsiOiJFdUh0ZDl5Q245NWVkbUpxTEtGZXlYZW9QdzluUHpwMUhUd2RKRVdFdzlZTCIsImVwIjpbIndzOi8vMTkyLjE2OC4xLjEwOjc3NzEiXX0';
const PID = '4XmjKEd9A96KhoMX';
const EPK = 'AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9';
const XPK = 'EuHtd9yCn95edmJqLKFeyXeoPw9nPzp1HTwdJEWEw9YL';
const EXAMPLE_JSON = `{"v":1,"pid":"${PID}","epk":"${EPK}","xpk":"${XPK}","ep":["ws://192.168.1.10:7771"]}`;

const code = (payload: unknown): string => `canopy:${b64urlEncode(utf8(JSON.stringify(payload)))}`;
const base = { v: 1, pid: PID, epk: EPK, xpk: XPK, ep: ['ws://192.168.1.10:7771'] };

function inviteError(fn: () => unknown): InviteError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InviteError);
    return error as InviteError;
  }
  throw new Error('expected an InviteError');
}

describe('encodeInvite', () => {
  it('reproduces the upstream example byte for byte', () => {
    expect(
      encodeInvite({
        peerId: PID,
        ed25519PublicKey: b58decode(EPK),
        x25519PublicKey: b58decode(XPK),
        endpoints: ['ws://192.168.1.10:7771'],
      }),
    ).toBe(EXAMPLE);
  });

  it('canonicalises and de-duplicates its endpoints, and refuses bad ones', () => {
    const keys = { peerId: PID, ed25519PublicKey: b58decode(EPK), x25519PublicKey: b58decode(XPK) };
    const text = encodeInvite({ ...keys, endpoints: ['WS://Host.LAN:7771/p2p', 'ws://host.lan:7771'] });
    expect(decodeInvite(nobleCrypto, text).endpoints).toEqual(['ws://host.lan:7771']);
    expect(inviteError(() => encodeInvite({ ...keys, endpoints: ['http://x:1'] })).code).toBe('bad_endpoint');
    expect(inviteError(() => encodeInvite({ ...keys, ed25519PublicKey: new Uint8Array(31), endpoints: [] })).code).toBe('bad_key');
  });
});

describe.each([nobleCrypto, nodeCrypto])('decodeInvite ($name)', (crypto) => {
  it('decodes the upstream example to the documented fields', () => {
    const invite = decodeInvite(crypto, EXAMPLE);
    expect(invite.version).toBe(1);
    expect(invite.peerId).toBe(PID);
    expect(b58encode(invite.ed25519PublicKey)).toBe(EPK);
    expect(b58encode(invite.x25519PublicKey)).toBe(XPK);
    expect(invite.endpoints).toEqual(['ws://192.168.1.10:7771']);
  });

  it('accepts the three forms and surrounding whitespace', () => {
    for (const text of [EXAMPLE, EXAMPLE.slice('canopy:'.length), EXAMPLE_JSON, `  \n${EXAMPLE}\t\n`, `${EXAMPLE}==`]) {
      expect(decodeInvite(crypto, text).peerId).toBe(PID);
    }
  });

  it('extracts a code pasted inside a sentence', () => {
    expect(decodeInvite(crypto, `Hey! Here is my invite: ${EXAMPLE}. See you there`).peerId).toBe(PID);
    expect(decodeInvite(crypto, `join me (${EXAMPLE})`).peerId).toBe(PID);
    expect(decodeInvite(crypto, `Canopy:${EXAMPLE.slice(7)}`).peerId).toBe(PID);
  });

  it('round-trips a fresh identity', () => {
    const id = generateIdentity(crypto);
    const text = encodeInvite({
      peerId: id.peerId,
      ed25519PublicKey: id.ed25519.publicKey,
      x25519PublicKey: id.x25519.publicKey,
      endpoints: ['ws://127.0.0.1:7771', 'wss://[::1]:443'],
    });
    const invite = decodeInvite(crypto, text);
    expect(invite.peerId).toBe(id.peerId);
    expect(invite.x25519PublicKey).toEqual(id.x25519.publicKey);
    expect(invite.endpoints).toEqual(['ws://127.0.0.1:7771', 'wss://[::1]:443']);
  });

  it('ignores unknown fields, defaults v and ep', () => {
    const invite = decodeInvite(crypto, code({ ...base, mn: 'My mesh', mid: 'x', ts: '2026-01-01T00:00:00Z', pl: 'laptop' }));
    expect(invite.peerId).toBe(PID);
    const minimal = decodeInvite(crypto, code({ pid: PID, epk: EPK, xpk: XPK }));
    expect(minimal.version).toBe(1);
    expect(minimal.endpoints).toEqual([]);
  });

  it('drops bad endpoints and keeps good ones in order', () => {
    const invite = decodeInvite(crypto, code({ ...base, ep: ['http://a:1', 'ws://10.0.0.2:7771', 'ws://0.0.0.0:7771', '10.0.0.3:7771', 'ws://10.0.0.2:7771'] }));
    expect(invite.endpoints).toEqual(['ws://10.0.0.2:7771', 'ws://10.0.0.3:7771']);
    expect(decodeInvite(crypto, code({ ...base, ep: ['ftp://x', 'ws://0.0.0.0:1'] })).endpoints).toEqual([]);
  });

  it('keeps at most 16 endpoints', () => {
    const ep = Array.from({ length: 20 }, (_, i) => `ws://10.0.0.${i + 1}:7771`);
    expect(decodeInvite(crypto, code({ ...base, ep })).endpoints).toEqual(ep.slice(0, 16));
  });

  const cases: Array<[string, string, InviteErrorCode, string | RegExp]> = [
    ['empty string', '', 'bad_encoding', 'Invite code is empty'],
    ['whitespace only', '   \n ', 'bad_encoding', 'Invite code is empty'],
    ['garbage', 'hello world, not an invite!', 'bad_encoding', 'Invite code is not valid base64url-encoded JSON'],
    ['truncated code', EXAMPLE.slice(0, 120), 'bad_encoding', 'Invite code is not valid base64url-encoded JSON'],
    ['truncated by one character', EXAMPLE.slice(0, -1), 'bad_encoding', 'Invite code is not valid base64url-encoded JSON'],
    ['base64 of non-JSON', `canopy:${b64urlEncode(utf8('just some text'))}`, 'bad_encoding', 'Invite code is not valid base64url-encoded JSON'],
    ['base64 of invalid UTF-8', `canopy:${b64urlEncode(new Uint8Array([0xff, 0xfe, 0x7b]))}`, 'bad_encoding', 'Invite code is not valid base64url-encoded JSON'],
    ['broken raw JSON', '{"pid": ', 'bad_encoding', 'Invite code is not valid JSON'],
    ['JSON array', code([PID, EPK, XPK]), 'bad_encoding', 'Invite code must contain a JSON object'],
    ['raw JSON array', '[1,2]', 'bad_encoding', 'Invite code must contain a JSON object'],
    ['JSON string', code('canopy'), 'bad_encoding', 'Invite code must contain a JSON object'],
    ['missing pid', code({ ...base, pid: undefined }), 'missing_field', 'Invite code is missing required field "pid"'],
    ['missing epk', code({ ...base, epk: undefined }), 'missing_field', 'Invite code is missing required field "epk"'],
    ['missing xpk', code({ ...base, xpk: undefined }), 'missing_field', 'Invite code is missing required field "xpk"'],
    ['null epk', code({ ...base, epk: null }), 'missing_field', 'Invite code is missing required field "epk"'],
    ['numeric pid', code({ ...base, pid: 42 }), 'bad_key', /invalid peer ID \(pid must be a string\)/],
    ['31-byte epk', code({ ...base, epk: b58encode(b58decode(EPK).subarray(0, 31)) }), 'bad_key',
      'Invite code has an invalid Ed25519 public key (epk must be 32 bytes of base58)'],
    ['33-byte xpk', code({ ...base, xpk: b58encode(new Uint8Array(33).fill(9)) }), 'bad_key',
      'Invite code has an invalid X25519 public key (xpk must be 32 bytes of base58)'],
    ['non-base58 epk', code({ ...base, epk: `0${EPK.slice(1)}` }), 'bad_key', /Ed25519 public key/],
    ['epk as array', code({ ...base, epk: [1, 2] }), 'bad_key', /Ed25519 public key/],
    ['flipped character in pid', code({ ...base, pid: `4XmjKEd9A96KhoMY` }), 'peer_id_mismatch', 'Peer ID does not match public key'],
    ['pid of another key', code({ ...base, epk: XPK }), 'peer_id_mismatch', 'Peer ID does not match public key'],
    ['ep not an array', code({ ...base, ep: 'ws://1.2.3.4:5' }), 'bad_endpoint', /ep must be an array of strings/],
    ['ep with a number', code({ ...base, ep: ['ws://1.2.3.4:5', 7771] }), 'bad_endpoint', /ep must be an array of strings/],
    ['version 2', code({ ...base, v: 2 }), 'unsupported_version', /version 2 is not supported/],
    ['version 2 even without fields', code({ v: 2, something: 'else' }), 'unsupported_version', /not supported/],
    ['version as string', code({ ...base, v: '1' }), 'bad_encoding', /v must be a positive integer/],
    ['version 0', code({ ...base, v: 0 }), 'bad_encoding', /v must be a positive integer/],
    ['too long', `canopy:${'A'.repeat(MAX_INVITE_LENGTH)}`, 'too_long', /too long/],
  ];

  it.each(cases)('rejects %s', (_name, text, expectedCode, message) => {
    const error = inviteError(() => decodeInvite(crypto, text));
    expect(error.code).toBe(expectedCode);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
  });

  it('rejects a character flipped inside the encoded pid', () => {
    // Base64 character 27 carries the low 6 bits of pid[6] alone: 'k' -> 'l' turns "KEd" into "KEe",
    // so the code still decodes to valid JSON but names another peer.
    const i = 'canopy:'.length + 27;
    expect(EXAMPLE[i]).toBe('k');
    const flipped = `${EXAMPLE.slice(0, i)}l${EXAMPLE.slice(i + 1)}`;
    const error = inviteError(() => decodeInvite(crypto, flipped));
    expect(error.code).toBe('peer_id_mismatch');
  });
});

describe('canonicalizeEndpoint', () => {
  const good: Array<[string, string]> = [
    ['ws://192.168.1.10:7771', 'ws://192.168.1.10:7771'],
    ['192.168.1.10:7771', 'ws://192.168.1.10:7771'],
    ['  ws://192.168.1.10:7771/p2p?x=1#f ', 'ws://192.168.1.10:7771'],
    ['WSS://Example.COM', 'wss://example.com:443'],
    ['ws://example.com', 'ws://example.com:80'],
    ['ws://my-laptop.local:7771', 'ws://my-laptop.local:7771'],
    ['ws://127.0.0.1:7771', 'ws://127.0.0.1:7771'],
    ['localhost:7771', 'ws://localhost:7771'],
    ['ws://[::1]:7771', 'ws://[::1]:7771'],
    ['[::1]:7771', 'ws://[::1]:7771'],
    ['wss://[FE80:0:0:0:0:0:0:1]', 'wss://[fe80::1]:443'],
    ['ws://[2001:db8:0:0:1:0:0:1]:1', 'ws://[2001:db8::1:0:0:1]:1'],
    ['ws://[::ffff:192.168.1.1]:7771', 'ws://[::ffff:c0a8:101]:7771'],
    ['ws://10.0.0.1:65535', 'ws://10.0.0.1:65535'],
    ['ws://10.0.0.1:07771', 'ws://10.0.0.1:7771'],
  ];
  it.each(good)('%s -> %s', (input, output) => {
    expect(canonicalizeEndpoint(input)).toBe(output);
  });

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['http://example.com:80', /scheme must be ws/],
    ['tcp://1.2.3.4:5', /scheme must be ws/],
    ['192.168.1.10', /port is required/],
    ['example.com', /port is required/],
    ['ws://0.0.0.0:7771', /cannot be dialled/],
    ['0.0.0.0:7771', /cannot be dialled/],
    ['ws://[::]:7771', /unspecified/],
    ['ws://[0:0:0:0:0:0:0:0]:7771', /unspecified/],
    ['ws://:7771', /host is empty/],
    ['ws://user:pass@host:7771', /credentials/],
    ['ws://user@host:7771', /credentials/],
    ['ws://host:0', /port/],
    ['ws://host:65536', /port/],
    ['ws://host:port', /port/],
    ['ws://host:', /port/],
    ['ws://::1:7771', /brackets/],
    ['ws://[::1', /unterminated/],
    ['ws://[::1]x', /unexpected/],
    ['ws://[not-ipv6]:1', /IPv6/],
    ['ws://[1:2:3:4:5:6:7:8:9]:1', /IPv6/],
    ['ws://[1::2::3]:1', /IPv6/],
    ['ws://256.1.1.1:1', /IPv4/],
    ['ws://1.2.3:1', /IPv4/],
    ['ws://010.0.0.1:1', /IPv4/],
    ['ws://host_name!:1', /host name/],
    ['ws://-bad.example:1', /host name/],
    ['ws://foo.123:1', /host name/],
    ['ws://ex ample.com:1', /host name/],
    [`ws://${'a'.repeat(300)}:1`, /longer than/],
  ];
  it.each(bad)('rejects %s', (input, why) => {
    const error = inviteError(() => canonicalizeEndpoint(input));
    expect(error.code).toBe('bad_endpoint');
    expect(error.message).toMatch(why);
  });

  it('canonicalizeEndpoints de-duplicates across spellings, keeps order, drops bad ones', () => {
    expect(
      canonicalizeEndpoints(['ws://[::1]:7771', 'bad', 'ws://a:1', 'WS://[0:0::1]:7771/p2p', 'a:1', 'ws://b:2']),
    ).toEqual(['ws://[::1]:7771', 'ws://a:1', 'ws://b:2']);
  });
});
