import { describe, expect, it } from 'vitest';
import { b58encode, hexEncode } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import {
  derivePeerId,
  generateIdentity,
  identityFromFile,
  identityFromSecrets,
  identityToFile,
  peerIdMatches,
  verifyBinding,
} from '../../../protocol/identity.ts';

// Vectors from reference/upstream-canopy.md §1.2 (same derivation as the original Canopy).
const ED_SEED = new Uint8Array(32).fill(1);
const X_SECRET = new Uint8Array(32).fill(2);
const ED_PUB = 'AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9';
const X_PUB = 'EuHtd9yCn95edmJqLKFeyXeoPw9nPzp1HTwdJEWEw9YL';
const PEER_ID = '4XmjKEd9A96KhoMX';

describe.each([nobleCrypto, nodeCrypto])('identity ($name)', (crypto) => {
  it('derives the upstream vector keys and peer id', () => {
    const id = identityFromSecrets(crypto, ED_SEED, X_SECRET);
    expect(b58encode(id.ed25519.publicKey)).toBe(ED_PUB);
    expect(b58encode(id.x25519.publicKey)).toBe(X_PUB);
    expect(hexEncode(crypto.sha256(id.ed25519.publicKey))).toBe('34750f98bd59fcfc946da45aaabe933be154a4b5094e1c4abf42866505f3c97e');
    expect(derivePeerId(crypto, id.ed25519.publicKey)).toBe(PEER_ID);
    expect(id.peerId).toBe(PEER_ID);
  });

  it('peerIdMatches accepts the right key and rejects others', () => {
    const id = identityFromSecrets(crypto, ED_SEED, X_SECRET);
    expect(peerIdMatches(crypto, PEER_ID, id.ed25519.publicKey)).toBe(true);
    expect(peerIdMatches(crypto, '4XmjKEd9A96KhoMY', id.ed25519.publicKey)).toBe(false);
    expect(peerIdMatches(crypto, PEER_ID, id.x25519.publicKey)).toBe(false);
    expect(peerIdMatches(crypto, PEER_ID, id.ed25519.publicKey.subarray(0, 31))).toBe(false);
  });

  it('binding verifies for its own x25519 key and fails for another', () => {
    const id = identityFromSecrets(crypto, ED_SEED, X_SECRET);
    expect(verifyBinding(crypto, id.ed25519.publicKey, id.x25519.publicKey, id.binding)).toBe(true);
    const other = crypto.x25519PublicKey(new Uint8Array(32).fill(3));
    expect(verifyBinding(crypto, id.ed25519.publicKey, other, id.binding)).toBe(false);
    const stranger = generateIdentity(crypto);
    expect(verifyBinding(crypto, stranger.ed25519.publicKey, id.x25519.publicKey, id.binding)).toBe(false);
  });

  it('binding signatures agree across backends', () => {
    const other = crypto === nobleCrypto ? nodeCrypto : nobleCrypto;
    const id = identityFromSecrets(crypto, ED_SEED, X_SECRET);
    expect(hexEncode(id.binding)).toBe(hexEncode(identityFromSecrets(other, ED_SEED, X_SECRET).binding));
    expect(verifyBinding(other, id.ed25519.publicKey, id.x25519.publicKey, id.binding)).toBe(true);
  });

  it('round-trips through the identity file', () => {
    const id = generateIdentity(crypto);
    const file = identityToFile(id);
    expect(Object.keys(file).sort()).toEqual(
      ['ed25519_private_key', 'ed25519_public_key', 'peer_id', 'x25519_private_key', 'x25519_public_key'],
    );
    const back = identityFromFile(crypto, JSON.parse(JSON.stringify(file)));
    expect(back.peerId).toBe(id.peerId);
    expect(hexEncode(back.ed25519.publicKey)).toBe(hexEncode(id.ed25519.publicKey));
    expect(hexEncode(back.x25519.secretKey)).toBe(hexEncode(id.x25519.secretKey));
    expect(verifyBinding(crypto, back.ed25519.publicKey, back.x25519.publicKey, back.binding)).toBe(true);
  });

  it('writes the vector identity file with the original field values', () => {
    const file = identityToFile(identityFromSecrets(crypto, ED_SEED, X_SECRET));
    expect(file.peer_id).toBe(PEER_ID);
    expect(file.ed25519_public_key).toBe(ED_PUB);
    expect(file.x25519_public_key).toBe(X_PUB);
  });

  it('rejects an inconsistent identity file', () => {
    const file = identityToFile(identityFromSecrets(crypto, ED_SEED, X_SECRET));
    const stranger = identityToFile(generateIdentity(crypto));
    expect(() => identityFromFile(crypto, { ...file, peer_id: stranger.peer_id })).toThrow(/inconsistent/);
    expect(() => identityFromFile(crypto, { ...file, x25519_public_key: stranger.x25519_public_key })).toThrow(/inconsistent/);
    expect(() => identityFromFile(crypto, { ...file, ed25519_private_key: stranger.ed25519_private_key })).toThrow(/inconsistent/);
  });
});
