import { z } from 'zod';
import { b58decode, b64urlDecode } from './bytes.ts';
import { PEER_ID_PATTERN } from './events.ts';

// Schemas of identifiers and keys, shared by frames.ts and the modules whose schemas it registers
// (which cannot import frames.ts: it imports them).

const B58_32_PATTERN = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

const decodesTo = (decode: (s: string) => Uint8Array, length: number) => (s: string) => {
  try {
    return decode(s).length === length;
  } catch {
    return false;
  }
};

export const PeerIdSchema = z.string().regex(PEER_ID_PATTERN, 'must be a 16-character base58 peer ID');
// 32-byte keys are 43-44 base58 characters except for keys with leading zero bytes, which are
// shorter; length alone would wrongly reject about 1 identity in 65,000, so decode and count bytes.
export const PublicKeySchema = z
  .string()
  .regex(B58_32_PATTERN, 'must be a base58 32-byte key')
  .refine(decodesTo(b58decode, 32), 'must be a base58 32-byte key');
export const Ed25519KeySchema = PublicKeySchema;
export const SignatureSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{86}$/, 'must be base64url of 64 bytes')
  .refine(decodesTo(b64urlDecode, 64), 'must be base64url of 64 bytes');
