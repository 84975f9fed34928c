import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../../companion/crypto/node.ts';
import { hexDecode, hexEncode } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import type { CryptoBackend, KeyPair } from '../../../protocol/crypto/types.ts';
import { NOISE_PROTOCOL_NAME, SecureTransport, XXHandshake } from '../../../protocol/noise/index.ts';
import fixture from './fixtures/noise-xx-vectors.json' with { type: 'json' };

interface Vector {
  protocol_name: string;
  source: { repository: string; path: string; commit: string };
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

const vectors: Vector[] = fixture.vectors;
const HANDSHAKE_MESSAGES = 3;

function keyPair(crypto: CryptoBackend, secretHex: string): KeyPair {
  const secretKey = hexDecode(secretHex);
  return { secretKey, publicKey: crypto.x25519PublicKey(secretKey) };
}

function sides(crypto: CryptoBackend, vector: Vector): { initiator: XXHandshake; responder: XXHandshake } {
  const initiator = new XXHandshake(crypto, {
    initiator: true,
    prologue: hexDecode(vector.init_prologue),
    staticKey: keyPair(crypto, vector.init_static),
    ephemeralKey: keyPair(crypto, vector.init_ephemeral),
  });
  const responder = new XXHandshake(crypto, {
    initiator: false,
    prologue: hexDecode(vector.resp_prologue),
    staticKey: keyPair(crypto, vector.resp_static),
    ephemeralKey: keyPair(crypto, vector.resp_ephemeral),
  });
  return { initiator, responder };
}

describe('Noise XX published test vectors', () => {
  it('fixture holds only Noise_XX_25519_ChaChaPoly_SHA256 vectors from at least two sources', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(2);
    expect(new Set(vectors.map((v) => v.source.repository)).size).toBeGreaterThanOrEqual(2);
    for (const vector of vectors) {
      expect(vector.protocol_name).toBe(NOISE_PROTOCOL_NAME);
      expect(vector.messages.length).toBeGreaterThan(HANDSHAKE_MESSAGES);
    }
    expect(vectors.some((v) => v.handshake_hash !== undefined)).toBe(true);
  });

  for (const crypto of [nobleCrypto, nodeCrypto]) {
    for (const vector of vectors) {
      it(`${crypto.name}: ${vector.source.repository} ${vector.source.path}`, () => {
        const { initiator, responder } = sides(crypto, vector);

        vector.messages.slice(0, HANDSHAKE_MESSAGES).forEach((message, index) => {
          const [writer, reader] = index % 2 === 0 ? [initiator, responder] : [responder, initiator];
          const wire = writer.writeMessage(hexDecode(message.payload));
          expect(hexEncode(wire), `handshake message ${index + 1}`).toBe(message.ciphertext);
          expect(hexEncode(reader.readMessage(wire))).toBe(message.payload);
        });

        expect(initiator.isComplete && responder.isComplete).toBe(true);
        expect(hexEncode(initiator.handshakeHash)).toBe(hexEncode(responder.handshakeHash));
        if (vector.handshake_hash) expect(hexEncode(initiator.handshakeHash)).toBe(vector.handshake_hash);
        expect(initiator.remoteStaticKey).toEqual(keyPair(crypto, vector.resp_static).publicKey);
        expect(responder.remoteStaticKey).toEqual(keyPair(crypto, vector.init_static).publicKey);

        const initiatorTransport = SecureTransport.fromHandshake(initiator);
        const responderTransport = SecureTransport.fromHandshake(responder);
        vector.messages.slice(HANDSHAKE_MESSAGES).forEach((message, offset) => {
          const index = HANDSHAKE_MESSAGES + offset;
          const [writer, reader] =
            index % 2 === 0 ? [initiatorTransport, responderTransport] : [responderTransport, initiatorTransport];
          const wire = writer.seal(hexDecode(message.payload));
          expect(hexEncode(wire), `transport message ${index + 1}`).toBe(message.ciphertext);
          expect(hexEncode(reader.open(wire))).toBe(message.payload);
        });
      });
    }
  }
});
