// Measurements 1 and 2a: the crypto backends, and in-memory Noise XX handshakes on each.
import { localHandshakePayload } from '../../companion/mesh/handshake.ts';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { utf8 } from '../../protocol/bytes.ts';
import { nobleCrypto } from '../../protocol/crypto/noble.ts';
import { generateKeyPair, type CryptoBackend } from '../../protocol/crypto/types.ts';
import { generateIdentity } from '../../protocol/identity.ts';
import { CANOPY_NOISE_PROLOGUE, SecureTransport, XXHandshake } from '../../protocol/noise/index.ts';
import { compareRates, targetStatus, type Row } from './harness.ts';

const SECTION = '1. crypto backends (node:crypto vs @noble, same inputs)';
const HANDSHAKE_SECTION = '2a. Noise XX handshake in memory (both sides)';
const TURNS = { rounds: 3, warmupMs: 200, durationMs: 300 };

type Op = (crypto: CryptoBackend) => () => void;

/** Same keys and messages for both backends; the message is the size of an event's signing bytes. */
function cryptoOps(): Record<string, Op> {
  const message = utf8('x'.repeat(300));
  const ed = generateKeyPair(nodeCrypto, 'ed25519');
  const signature = nodeCrypto.ed25519Sign(message, ed.secretKey);
  const ours = generateKeyPair(nodeCrypto, 'x25519');
  const theirs = generateKeyPair(nodeCrypto, 'x25519');
  return {
    'Ed25519 sign (300 B)': (c) => () => void c.ed25519Sign(message, ed.secretKey),
    'Ed25519 verify (300 B)': (c) => () => {
      if (!c.ed25519Verify(signature, message, ed.publicKey)) throw new Error('bench: verify failed');
    },
    'X25519 shared secret': (c) => () => void c.x25519(ours.secretKey, theirs.publicKey),
  };
}

export async function benchCryptoBackends(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [name, op] of Object.entries(cryptoOps())) {
    const rates = await compareRates(op(nodeCrypto), op(nobleCrypto), TURNS);
    rows.push({
      section: SECTION,
      measurement: name,
      unit: '/s',
      ...rates,
      baselineName: 'noble',
      detail: 'canopy = node:crypto (OpenSSL) backend; baseline = @noble backend, same keys and messages',
    });
  }
  return rows;
}

/**
 * One complete XX handshake, both sides in memory: -> e / <- e, ee, s, es + payload /
 * -> s, se + payload, then split into transports. The payload is a real identity payload.
 */
function handshake(crypto: CryptoBackend, payload: Uint8Array): () => void {
  const initiatorKey = generateKeyPair(crypto, 'x25519');
  const responderKey = generateKeyPair(crypto, 'x25519');
  const empty = new Uint8Array(0);
  return () => {
    const i = new XXHandshake(crypto, { initiator: true, staticKey: initiatorKey, prologue: CANOPY_NOISE_PROLOGUE });
    const r = new XXHandshake(crypto, { initiator: false, staticKey: responderKey, prologue: CANOPY_NOISE_PROLOGUE });
    r.readMessage(i.writeMessage(empty));
    i.readMessage(r.writeMessage(payload));
    r.readMessage(i.writeMessage(payload));
    SecureTransport.fromHandshake(i);
    SecureTransport.fromHandshake(r);
  };
}

export async function benchNoiseHandshakes(): Promise<Row[]> {
  const identity = generateIdentity(nodeCrypto);
  const payload = utf8(JSON.stringify(localHandshakePayload(identity, ['ws://127.0.0.1:7771'])));
  const rates = await compareRates(handshake(nodeCrypto, payload), handshake(nobleCrypto, payload), {
    ...TURNS,
    durationMs: 500,
  });
  return [
    {
      section: HANDSHAKE_SECTION,
      measurement: `XX handshakes, ${payload.length} B payloads`,
      unit: '/s',
      ...rates,
      baselineName: 'noble',
      detail: `both sides of a 3-message XX handshake in one thread, 8 X25519 operations in all; one side's work on node:crypto: ${Math.round(rates.canopy * 2)}/s per core (${targetStatus('>= 1,000/s', rates.canopy * 2 >= 1000)})`,
    },
  ];
}
