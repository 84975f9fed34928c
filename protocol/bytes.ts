import { base58, base64urlnopad, hex } from '@scure/base';

/** Text and binary encodings used on the wire. base58 uses the Bitcoin alphabet, as the original Canopy. */
export const b58encode = (bytes: Uint8Array): string => base58.encode(bytes);
export const b58decode = (text: string): Uint8Array => base58.decode(text);
export const b64urlEncode = (bytes: Uint8Array): string => base64urlnopad.encode(bytes);
export const b64urlDecode = (text: string): Uint8Array => base64urlnopad.decode(text);
export const hexEncode = (bytes: Uint8Array): string => hex.encode(bytes);
export const hexDecode = (text: string): Uint8Array => hex.decode(text);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
export const utf8 = (text: string): Uint8Array => encoder.encode(text);
/** Strict UTF-8 decoding: invalid sequences throw instead of becoming U+FFFD. */
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes);

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The base64url alphabet, unpadded (what b64urlEncode writes). */
export const B64URL_PATTERN = /^[A-Za-z0-9_-]*$/;
