import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8 } from './bytes.ts';
import type { CryptoBackend } from './crypto/types.ts';
import { peerIdMatches } from './identity.ts';

/**
 * Safety numbers: 60 digits two people read to each other (or compare on screen) to check that
 * the keys their instances hold for each other are the real ones. Signal's construction
 * (NumericFingerprintGenerator), with the peer ID as the stable identifier: per party, SHA-512
 * over a version, its Ed25519 public key and its peer ID, then iterated with the key appended, so
 * finding a key with a chosen number costs thousands of hashes per try. Each party gives 30
 * digits; the two halves are put in peer ID order, so both sides see the same number.
 */

export const SAFETY_NUMBER_VERSION = 0;
const ITERATIONS = 5200;
const GROUPS_PER_PARTY = 6;
const DIGITS_PER_GROUP = 5;
const BYTES_PER_GROUP = 5;

export interface SafetyParty {
  peerId: string;
  ed25519PublicKey: Uint8Array;
}

/** Thrown for a key that is not the one its peer ID was derived from: no number is shown for it. */
export class SafetyKeyMismatchError extends Error {
  constructor(readonly peerId: string) {
    super(`The key given for ${peerId} does not match that peer ID`);
    this.name = 'SafetyKeyMismatchError';
  }
}

/** One party's 30 digits. */
function partyDigits(party: SafetyParty): string {
  const version = new Uint8Array([SAFETY_NUMBER_VERSION >> 8, SAFETY_NUMBER_VERSION & 0xff]);
  let hash = sha512(concatBytes(version, party.ed25519PublicKey, utf8(party.peerId)));
  for (let i = 0; i < ITERATIONS; i++) hash = sha512(concatBytes(hash, party.ed25519PublicKey));
  let digits = '';
  for (let group = 0; group < GROUPS_PER_PARTY; group++) {
    // 5 bytes as a big-endian 40-bit number (exact in a double), reduced to 5 decimal digits.
    let value = 0;
    for (const byte of hash.subarray(group * BYTES_PER_GROUP, (group + 1) * BYTES_PER_GROUP)) value = value * 256 + byte;
    digits += String(value % 10 ** DIGITS_PER_GROUP).padStart(DIGITS_PER_GROUP, '0');
  }
  return digits;
}

/**
 * The 60-digit safety number of two parties, the same whichever of them asks. Throws
 * SafetyKeyMismatchError when a key does not hash to its peer ID.
 */
export function safetyNumber(crypto: CryptoBackend, a: SafetyParty, b: SafetyParty): string {
  for (const party of [a, b]) {
    if (!peerIdMatches(crypto, party.peerId, party.ed25519PublicKey)) throw new SafetyKeyMismatchError(party.peerId);
  }
  const [first, second] = a.peerId < b.peerId ? [a, b] : [b, a];
  return partyDigits(first) + partyDigits(second);
}

/** The number in groups of five digits, as it is shown and read aloud. */
export function safetyNumberGroups(number: string): string[] {
  return number.match(new RegExp(`\\d{1,${DIGITS_PER_GROUP}}`, 'g')) ?? [];
}
