/**
 * Safety numbers in the browser: made here from our companion's key (session.status) and the
 * peer's (the peer list), each checked against its peer ID first, so a companion or a link that
 * hands over a wrong key gets no number at all. Verified contacts live in IndexedDB (db.verified).
 */
import { b58decode } from '../../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../../protocol/crypto/noble.ts';
import { peerIdMatches } from '../../../../protocol/identity.ts';
import { safetyNumber } from '../../../../protocol/safety-number.ts';
import { db } from '$lib/db';
import { people } from '$lib/people.svelte';
import { session } from '$lib/session.svelte';
import { contactTrust, type ContactTrust } from './contact-trust';

export type SafetyCheck = { ok: true; number: string } | { ok: false; problem: string };

/** By both peer IDs and keys: the number costs thousands of hashes, and every render asks for it. */
const computed = new Map<string, SafetyCheck>();

function keyOf(peerId: string, encoded: string | null | undefined): Uint8Array | null {
  if (typeof encoded !== 'string') return null;
  try {
    const key = b58decode(encoded);
    return peerIdMatches(nobleCrypto, peerId, key) ? key : null;
  } catch {
    return null;
  }
}

function compute(ownId: string, ownKey: string | undefined, peerId: string, peerKey: string | null, name: string): SafetyCheck {
  if (!ownKey) return { ok: false, problem: 'This browser does not have your companion’s key yet. It comes with the next connection to your companion.' };
  if (!peerKey) return { ok: false, problem: `Canopy does not have ${name}’s key yet. It comes once you have been connected to ${name}.` };
  const own = keyOf(ownId, ownKey);
  if (!own) return { ok: false, problem: 'The key your companion reports does not match its peer ID. Do not trust this conversation.' };
  const theirs = keyOf(peerId, peerKey);
  if (!theirs) return { ok: false, problem: `The key held for ${name} does not match ${name}’s peer ID. Do not trust this contact.` };
  return { ok: true, number: safetyNumber(nobleCrypto, { peerId: ownId, ed25519PublicKey: own }, { peerId, ed25519PublicKey: theirs }) };
}

/** The safety number of this browser's account and `peerId`, or why there is none. Reactive. */
export function safetyCheck(peerId: string): SafetyCheck {
  const status = session.status;
  const peerKey = people.get(peerId)?.ed25519_public_key ?? null;
  const name = people.name(peerId);
  if (!status) return { ok: false, problem: 'Waiting for your companion…' };
  const cacheKey = [status.peer_id, status.ed25519_public_key, peerId, peerKey, name].join(' ');
  let check = computed.get(cacheKey);
  if (!check) {
    check = compute(status.peer_id, status.ed25519_public_key, peerId, peerKey, name);
    computed.set(cacheKey, check);
  }
  return check;
}

/** Whether `peerId` is verified now, and what the user must be warned about. Reactive. */
export function trustOf(peerId: string): ContactTrust {
  const check = safetyCheck(peerId);
  return contactTrust({
    peerId,
    name: people.get(peerId)?.display_name ?? null,
    number: check.ok ? check.number : null,
    verified: people.verified,
  });
}

/** Marks `peerId` verified with the number the user compared, or forgets that it was. */
export async function setVerified(peerId: string, number: string | null): Promise<void> {
  if (number === null) {
    await db.verified.delete(peerId);
    return;
  }
  await db.verified.put({ peer_id: peerId, safety_number: number, display_name: people.get(peerId)?.display_name ?? null, verified_at: Date.now() });
}
