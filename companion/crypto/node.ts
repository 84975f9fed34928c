import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { AeadError, type CryptoBackend } from '../../protocol/crypto/types.ts';

// DER prefixes that wrap a raw 32-byte private key as PKCS#8 for OpenSSL.
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

const rawPublic = (key: KeyObject): Uint8Array => new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(12));

/**
 * Importing a raw key into OpenSSL costs more than using it (a DER private key ~0.4 ms), so key
 * objects are kept in small LRU caches: our own keys are used for every signature and handshake,
 * and peers' public keys recur for every event they sign. Public keys are imported as JWK, about
 * ten times faster than DER.
 */
interface KeyCache {
  (raw: Uint8Array): KeyObject;
  /** Adds a key object made elsewhere (a freshly generated pair), so its first use costs nothing. */
  remember(raw: Uint8Array, key: KeyObject): void;
}

function lruCache(size: number, load: (raw: Uint8Array) => KeyObject): KeyCache {
  const cache = new Map<string, KeyObject>();
  const put = (id: string, key: KeyObject) => {
    cache.delete(id);
    if (cache.size >= size) cache.delete(cache.keys().next().value!);
    cache.set(id, key);
  };
  const get = (raw: Uint8Array) => {
    const id = Buffer.from(raw).toString('base64url');
    const key = cache.get(id) ?? load(raw);
    put(id, key);
    return key;
  };
  return Object.assign(get, { remember: (raw: Uint8Array, key: KeyObject) => put(Buffer.from(raw).toString('base64url'), key) });
}
const privateKey = (prefix: Buffer) => (raw: Uint8Array) =>
  createPrivateKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'pkcs8' });
const publicKey = (crv: 'Ed25519' | 'X25519') => (raw: Uint8Array) =>
  createPublicKey({ key: { kty: 'OKP', crv, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });

const b64url = (raw: Uint8Array) => Buffer.from(raw).toString('base64url');
/** The X25519 base point u = 9. Node's JWK import of a private key takes `d` and only type-checks `x`. */
const X25519_BASE_POINT_B64 = b64url(Uint8Array.of(9, ...new Uint8Array(31)));
const xBasePoint = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: X25519_BASE_POINT_B64 }, format: 'jwk' });

const edPrivate = lruCache(256, privateKey(ED25519_PKCS8));
const xPrivate = lruCache(256, privateKey(X25519_PKCS8));
const edPublic = lruCache(4096, publicKey('Ed25519'));
const xPublic = lruCache(1024, publicKey('X25519'));
const u8 = (buffer: Buffer): Uint8Array => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

/** OpenSSL-backed implementation for the companion. */
export const nodeCrypto: CryptoBackend = {
  name: 'node',
  randomBytes: (length) => u8(randomBytes(length)),
  sha256: (data) => u8(createHash('sha256').update(data).digest()),
  hmacSha256: (key, data) => u8(createHmac('sha256', key).update(data).digest()),
  hkdfSha256: (ikm, salt, info, length) => new Uint8Array(hkdfSync('sha256', ikm, salt, info, length)),

  ed25519PublicKey: (secretKey) => rawPublic(createPublicKey(edPrivate(secretKey))),
  ed25519Sign: (message, secretKey) => u8(sign(null, message, edPrivate(secretKey))),
  ed25519Verify(signature, message, key) {
    if (signature.length !== 64 || key.length !== 32) return false;
    try {
      return verify(null, message, edPublic(key), signature);
    } catch {
      return false;
    }
  },

  x25519PublicKey: (secretKey) => rawPublic(createPublicKey(xPrivate(secretKey))),
  x25519KeyPair() {
    // Not generateKeyPairSync + export: on Node 20 the garbage collector can finalize the keygen
    // job while export() holds the new key's mutex, and the process deadlocks (seen in CI). Any 32
    // random bytes are an X25519 secret (RFC 7748 §5); its public key is X25519(secret, 9).
    const secretKey = u8(randomBytes(32));
    const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(secretKey), x: X25519_BASE_POINT_B64 }, format: 'jwk' });
    xPrivate.remember(secretKey, key);
    return { secretKey, publicKey: u8(diffieHellman({ privateKey: key, publicKey: xBasePoint })) };
  },
  x25519(secretKey, theirPublic) {
    // OpenSSL rejects low-order points ("failed during derivation"), as noble does.
    return u8(diffieHellman({ privateKey: xPrivate(secretKey), publicKey: xPublic(theirPublic) }));
  },

  aeadEncrypt(key, nonce, plaintext, aad) {
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    if (aad) cipher.setAAD(aad, { plaintextLength: plaintext.length });
    return u8(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
  },
  aeadDecrypt(key, nonce, ciphertext, aad) {
    if (ciphertext.length < 16) throw new AeadError();
    const body = ciphertext.subarray(0, ciphertext.length - 16);
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
    if (aad) decipher.setAAD(aad, { plaintextLength: body.length });
    try {
      return u8(Buffer.concat([decipher.update(body), decipher.final()]));
    } catch {
      throw new AeadError();
    }
  },
};
