// Both crypto backends against published vectors (RFC 8032, 7748, 8439, 5869, 4231, FIPS 180-2),
// then against each other on random inputs: the browser and the companion must agree bit for bit.
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { hexDecode as h, hexEncode, utf8 } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { AeadError, type CryptoBackend } from '../../../protocol/crypto/types.ts';

const backends: CryptoBackend[] = [nobleCrypto, nodeCrypto];
const hex = (bytes: Uint8Array) => hexEncode(bytes);

describe.each(backends)('$name backend against published vectors', (crypto) => {
  it('SHA-256 (FIPS 180-2 "abc") and HMAC-SHA256 (RFC 4231 case 1)', () => {
    expect(hex(crypto.sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hex(crypto.hmacSha256(new Uint8Array(20).fill(0x0b), utf8('Hi There')))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
  });

  it('HKDF-SHA256 (RFC 5869 case 1)', () => {
    const okm = crypto.hkdfSha256(new Uint8Array(22).fill(0x0b), h('000102030405060708090a0b0c'), h('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(hex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });

  it('Ed25519 (RFC 8032 test 1)', () => {
    const secret = h('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const publicKey = crypto.ed25519PublicKey(secret);
    expect(hex(publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = crypto.ed25519Sign(new Uint8Array(0), secret);
    expect(hex(signature)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(crypto.ed25519Verify(signature, new Uint8Array(0), publicKey)).toBe(true);
    expect(crypto.ed25519Verify(signature, utf8('x'), publicKey)).toBe(false);
    expect(crypto.ed25519Verify(signature.slice(1), new Uint8Array(0), publicKey)).toBe(false);
    expect(crypto.ed25519Verify(signature, new Uint8Array(0), publicKey.slice(1))).toBe(false);
  });

  it('X25519 (RFC 7748 section 6.1), refusing low-order points', () => {
    const alice = h('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = h('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    expect(hex(crypto.x25519PublicKey(alice))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(hex(crypto.x25519PublicKey(bob))).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(hex(crypto.x25519(alice, crypto.x25519PublicKey(bob)))).toBe(shared);
    expect(hex(crypto.x25519(bob, crypto.x25519PublicKey(alice)))).toBe(shared);
    expect(() => crypto.x25519(alice, new Uint8Array(32))).toThrow();
  });

  it('ChaCha20-Poly1305 AEAD (RFC 8439 section 2.8.2)', () => {
    const key = h('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = h('070000004041424344454647');
    const aad = h('50515253c0c1c2c3c4c5c6c7');
    const plaintext = utf8(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const sealed = crypto.aeadEncrypt(key, nonce, plaintext, aad);
    expect(hex(sealed)).toBe(
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
        '1ae10b594f09e26a7e902ecbd0600691',
    );
    expect(crypto.aeadDecrypt(key, nonce, sealed, aad)).toEqual(plaintext);
    const tampered = sealed.slice();
    tampered[0]! ^= 1;
    expect(() => crypto.aeadDecrypt(key, nonce, tampered, aad)).toThrow(AeadError);
    expect(() => crypto.aeadDecrypt(key, nonce, sealed, new Uint8Array(0))).toThrow(AeadError);
    expect(() => crypto.aeadDecrypt(key, nonce, sealed.slice(0, 10), aad)).toThrow(AeadError);
  });

  it("the original Canopy's pairwise encryption vector (upstream notes §3.5.1)", () => {
    const shared = crypto.x25519(new Uint8Array(32).fill(2), crypto.x25519PublicKey(new Uint8Array(32).fill(3)));
    expect(hex(shared)).toBe('7c425a51f6a7f2e60012b0a34dd6511017807708b502ee66a2a247f171fda96c');
    const key = crypto.hkdfSha256(shared, new Uint8Array(32), utf8('canopy-p2p-encryption'), 32);
    expect(hex(key)).toBe('3f03b12df73950a855c4420ce4496302f77f5108ebd8cab7111301586126638a');
    const sealed = crypto.aeadEncrypt(key, new Uint8Array(12), utf8('{"content": "hi", "metadata": {}}'));
    expect(hex(sealed)).toBe('d3bdfc8fdea851db39bea28652ab245133cedb9d60146b557fdbc9c425f9e591c845173cea5581eec53f7a21789b48cabb');
  });
});

describe('node and noble agree on random inputs', () => {
  const rounds = 25;
  it('Ed25519 keys and signatures, both ways', () => {
    for (let i = 0; i < rounds; i++) {
      const secret = nodeCrypto.randomBytes(32);
      const message = nodeCrypto.randomBytes(i * 7);
      const publicKey = nodeCrypto.ed25519PublicKey(secret);
      expect(nobleCrypto.ed25519PublicKey(secret)).toEqual(publicKey);
      const signature = nodeCrypto.ed25519Sign(message, secret);
      expect(nobleCrypto.ed25519Sign(message, secret)).toEqual(signature);
      expect(nobleCrypto.ed25519Verify(signature, message, publicKey)).toBe(true);
      expect(nodeCrypto.ed25519Verify(nobleCrypto.ed25519Sign(message, secret), message, publicKey)).toBe(true);
    }
  });

  it('X25519, HKDF and AEAD', () => {
    for (let i = 0; i < rounds; i++) {
      const [a, b] = [nodeCrypto.randomBytes(32), nodeCrypto.randomBytes(32)];
      const shared = nodeCrypto.x25519(a, nobleCrypto.x25519PublicKey(b));
      expect(nobleCrypto.x25519(b, nodeCrypto.x25519PublicKey(a))).toEqual(shared);
      const salt = nodeCrypto.randomBytes(i);
      const key = nodeCrypto.hkdfSha256(shared, salt, utf8(`round ${i}`), 32);
      expect(nobleCrypto.hkdfSha256(shared, salt, utf8(`round ${i}`), 32)).toEqual(key);
      const nonce = nodeCrypto.randomBytes(12);
      const aad = nodeCrypto.randomBytes(i % 3 === 0 ? 0 : i);
      const plaintext = nodeCrypto.randomBytes(i * 31);
      const sealed = nodeCrypto.aeadEncrypt(key, nonce, plaintext, aad);
      expect(nobleCrypto.aeadEncrypt(key, nonce, plaintext, aad)).toEqual(sealed);
      expect(nobleCrypto.aeadDecrypt(key, nonce, sealed, aad)).toEqual(plaintext);
      expect(nodeCrypto.hmacSha256(key, plaintext)).toEqual(nobleCrypto.hmacSha256(key, plaintext));
      expect(nodeCrypto.sha256(plaintext)).toEqual(nobleCrypto.sha256(plaintext));
    }
  });

  it('X25519 key pairs generated by OpenSSL are the pairs noble derives, and agree on shared secrets', () => {
    const seen = new Set<string>();
    for (let i = 0; i < rounds; i++) {
      const pair = nodeCrypto.x25519KeyPair!();
      expect(pair.secretKey).toHaveLength(32);
      expect(nobleCrypto.x25519PublicKey(pair.secretKey)).toEqual(pair.publicKey);
      const other = nobleCrypto.randomBytes(32);
      expect(nodeCrypto.x25519(pair.secretKey, nobleCrypto.x25519PublicKey(other))).toEqual(nobleCrypto.x25519(other, pair.publicKey));
      seen.add(Buffer.from(pair.secretKey).toString('hex'));
    }
    expect(seen.size).toBe(rounds);
  });
});
