import type { VerifiedRow } from '../../db.ts';

/**
 * What the DM header says about a contact's key, from the safety number computed now and the
 * contacts the user verified. Loud on purpose: a verified contact whose number changed is no
 * longer shown as verified, and another key taking a verified contact's name is called out.
 */
export type TrustWarning = { kind: 'changed'; name: string | null } | { kind: 'impersonation'; name: string };

export interface ContactTrust {
  verified: boolean;
  warning: TrustWarning | null;
}

export interface ContactTrustInput {
  peerId: string;
  /** The name the contact goes by now (its card's), null when it has none. */
  name: string | null;
  /** The safety number computed from both keys now; null when it cannot be (a key is missing or wrong). */
  number: string | null;
  verified: readonly VerifiedRow[];
}

/** Names compared as people read them: case, surrounding spaces and width variants do not count. */
function sameName(a: string | null, b: string | null): boolean {
  const norm = (name: string | null) => name?.normalize('NFKC').trim().toLocaleLowerCase() || null;
  return norm(a) !== null && norm(a) === norm(b);
}

export function contactTrust({ peerId, name, number, verified }: ContactTrustInput): ContactTrust {
  const own = verified.find((row) => row.peer_id === peerId);
  if (own && number !== null && own.safety_number !== number) {
    return { verified: false, warning: { kind: 'changed', name: own.display_name ?? name } };
  }
  if (own && number !== null) return { verified: true, warning: null };
  const claimed = verified.find((row) => row.peer_id !== peerId && sameName(row.display_name, name));
  return { verified: false, warning: claimed?.display_name ? { kind: 'impersonation', name: claimed.display_name } : null };
}
