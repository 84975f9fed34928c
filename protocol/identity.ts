import { b58decode, b58encode, concatBytes, utf8 } from './bytes.ts';
import type { CryptoBackend, KeyPair } from './crypto/types.ts';
import { generateKeyPair } from './crypto/types.ts';

/**
 * An instance identity: an Ed25519 signing key (the identity) and an X25519 key-agreement key
 * (the Noise static key), bound together by an Ed25519 signature so nobody can pair a peer ID
 * with someone else's X25519 key (the original Canopy does not bind them; its weakness 8.4/8.6).
 */
export interface Identity {
  peerId: string;
  ed25519: KeyPair;
  x25519: KeyPair;
  /** Ed25519 signature over bindingMessage(x25519.publicKey). */
  binding: Uint8Array;
}

/** What anyone may know about a peer: enough to verify its events and dial it. */
export interface PublicIdentity {
  peerId: string;
  ed25519PublicKey: Uint8Array;
  x25519PublicKey: Uint8Array;
}

export const PEER_ID_LENGTH = 16;
const BINDING_DOMAIN = 'canopy/x25519-binding/v1\n';

/** peer_id = base58(SHA-256(ed25519_public_key))[:16], identical to the original Canopy. */
export function derivePeerId(crypto: CryptoBackend, ed25519PublicKey: Uint8Array): string {
  return b58encode(crypto.sha256(ed25519PublicKey)).slice(0, PEER_ID_LENGTH);
}

export function peerIdMatches(crypto: CryptoBackend, peerId: string, ed25519PublicKey: Uint8Array): boolean {
  return ed25519PublicKey.length === 32 && derivePeerId(crypto, ed25519PublicKey) === peerId;
}

function bindingMessage(x25519PublicKey: Uint8Array): Uint8Array {
  return concatBytes(utf8(BINDING_DOMAIN), x25519PublicKey);
}

export function signBinding(crypto: CryptoBackend, ed25519SecretKey: Uint8Array, x25519PublicKey: Uint8Array): Uint8Array {
  return crypto.ed25519Sign(bindingMessage(x25519PublicKey), ed25519SecretKey);
}

export function verifyBinding(
  crypto: CryptoBackend,
  ed25519PublicKey: Uint8Array,
  x25519PublicKey: Uint8Array,
  signature: Uint8Array,
): boolean {
  return crypto.ed25519Verify(signature, bindingMessage(x25519PublicKey), ed25519PublicKey);
}

export function identityFromSecrets(crypto: CryptoBackend, ed25519Secret: Uint8Array, x25519Secret: Uint8Array): Identity {
  const ed25519 = { secretKey: ed25519Secret, publicKey: crypto.ed25519PublicKey(ed25519Secret) };
  const x25519 = { secretKey: x25519Secret, publicKey: crypto.x25519PublicKey(x25519Secret) };
  return {
    peerId: derivePeerId(crypto, ed25519.publicKey),
    ed25519,
    x25519,
    binding: signBinding(crypto, ed25519.secretKey, x25519.publicKey),
  };
}

export function generateIdentity(crypto: CryptoBackend): Identity {
  const ed = generateKeyPair(crypto, 'ed25519');
  const x = generateKeyPair(crypto, 'x25519');
  return identityFromSecrets(crypto, ed.secretKey, x.secretKey);
}

export function publicIdentity(identity: Identity): PublicIdentity {
  return { peerId: identity.peerId, ed25519PublicKey: identity.ed25519.publicKey, x25519PublicKey: identity.x25519.publicKey };
}

/** The on-disk form, field names as in the original's peer_identity.json. */
export interface IdentityFile {
  peer_id: string;
  ed25519_public_key: string;
  x25519_public_key: string;
  ed25519_private_key: string;
  x25519_private_key: string;
}

export function identityToFile(identity: Identity): IdentityFile {
  return {
    peer_id: identity.peerId,
    ed25519_public_key: b58encode(identity.ed25519.publicKey),
    x25519_public_key: b58encode(identity.x25519.publicKey),
    ed25519_private_key: b58encode(identity.ed25519.secretKey),
    x25519_private_key: b58encode(identity.x25519.secretKey),
  };
}

/** Rebuilds the identity from its secrets and refuses a file whose public parts disagree with them. */
export function identityFromFile(crypto: CryptoBackend, file: IdentityFile): Identity {
  const identity = identityFromSecrets(crypto, b58decode(file.ed25519_private_key), b58decode(file.x25519_private_key));
  if (identity.peerId !== file.peer_id || b58encode(identity.x25519.publicKey) !== file.x25519_public_key) {
    throw new Error('Identity file is inconsistent: its public keys do not match its private keys');
  }
  return identity;
}
