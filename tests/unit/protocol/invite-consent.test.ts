// The invite's optional consent fields: "xsig" (X25519 binding, verified when present) and "sec"
// (invite secret, proven in the handshake by an HMAC over both static keys).
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { b64urlDecode, b64urlEncode, fromUtf8 } from '../../../protocol/bytes.ts';
import { generateIdentity } from '../../../protocol/identity.ts';
import { decodeInvite, encodeInvite, INVITE_PREFIX, InviteError } from '../../../protocol/invite.ts';
import { inviteProof, verifyInviteProof } from '../../../protocol/invite-proof.ts';

const identity = generateIdentity(nodeCrypto);
const secret = new Uint8Array(32).fill(9);
const base = {
  peerId: identity.peerId,
  ed25519PublicKey: identity.ed25519.publicKey,
  x25519PublicKey: identity.x25519.publicKey,
  endpoints: ['ws://127.0.0.1:7771'],
};
const payloadOf = (code: string) => JSON.parse(fromUtf8(b64urlDecode(code.slice(INVITE_PREFIX.length)))) as Record<string, unknown>;
const withPayload = (payload: Record<string, unknown>) => INVITE_PREFIX + b64urlEncode(new TextEncoder().encode(JSON.stringify(payload)));

describe('invite consent fields', () => {
  it('round-trips the binding and the secret as extra fields after the original ones', () => {
    const code = encodeInvite({ ...base, binding: identity.binding, inviteSecret: secret });
    expect(Object.keys(payloadOf(code))).toEqual(['v', 'pid', 'epk', 'xpk', 'ep', 'xsig', 'sec']);
    const invite = decodeInvite(nodeCrypto, code);
    expect(invite.binding).toEqual(identity.binding);
    expect(invite.inviteSecret).toEqual(secret);
  });

  it('an invite without them decodes as before', () => {
    const invite = decodeInvite(nodeCrypto, encodeInvite(base));
    expect(invite.binding).toBeUndefined();
    expect(invite.inviteSecret).toBeUndefined();
  });

  it('refuses a binding that does not sign this X25519 key', () => {
    const other = generateIdentity(nodeCrypto);
    const forged = encodeInvite({ ...base, x25519PublicKey: other.x25519.publicKey, binding: identity.binding });
    expect(() => decodeInvite(nodeCrypto, forged)).toThrow(new InviteError('bad_binding', "X25519 key is not signed by the peer's identity key"));
    const garbage = withPayload({ ...payloadOf(encodeInvite(base)), xsig: 'not-a-signature' });
    expect(() => decodeInvite(nodeCrypto, garbage)).toThrow(/not signed/);
  });

  it('refuses a malformed secret', () => {
    const code = withPayload({ ...payloadOf(encodeInvite(base)), sec: 'c2hvcnQ' });
    expect(() => decodeInvite(nodeCrypto, code)).toThrow(expect.objectContaining({ code: 'bad_secret' }));
  });
});

describe('invite proof', () => {
  const initiator = generateIdentity(nodeCrypto).x25519.publicKey;
  const responder = generateIdentity(nodeCrypto).x25519.publicKey;

  it('verifies only for the same secret and the same two static keys, in order', () => {
    const proof = inviteProof(nodeCrypto, secret, initiator, responder);
    expect(proof).toHaveLength(32);
    expect(verifyInviteProof(nodeCrypto, secret, initiator, responder, proof)).toBe(true);
    expect(verifyInviteProof(nodeCrypto, new Uint8Array(32), initiator, responder, proof)).toBe(false);
    expect(verifyInviteProof(nodeCrypto, secret, responder, initiator, proof)).toBe(false);
    expect(verifyInviteProof(nodeCrypto, secret, initiator, generateIdentity(nodeCrypto).x25519.publicKey, proof)).toBe(false);
    expect(verifyInviteProof(nodeCrypto, secret, initiator, responder, proof.slice(0, 16))).toBe(false);
  });
});
