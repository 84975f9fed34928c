import { b58decode, b58encode, b64urlDecode, b64urlEncode, fromUtf8, utf8 } from './bytes.ts';
import type { CryptoBackend } from './crypto/types.ts';
import { peerIdMatches, verifyBinding } from './identity.ts';

/**
 * Invite codes, wire-compatible with the original Canopy:
 *   "canopy:" + unpadded base64url(compact JSON {"v":1,"pid","epk","xpk","ep":[...]})
 * pid must be the hash of epk, and the Noise handshake later proves possession of the keys.
 * Two optional fields, which the original's decoder ignores:
 *   "xsig": the Ed25519 signature binding xpk to epk (as in the handshake), checked when present,
 *           so a forged invite cannot pair someone's peer ID with another X25519 key;
 *   "sec":  a random invite secret; whoever holds the code proves it in the handshake (never in
 *           clear) and is let in without a request. Regenerating the invite replaces it.
 */

export interface Invite {
  version: number;
  peerId: string;
  ed25519PublicKey: Uint8Array;
  x25519PublicKey: Uint8Array;
  endpoints: string[];
  /** Present and verified when the invite carried "xsig". */
  binding?: Uint8Array;
  /** Present when the invite carried "sec". */
  inviteSecret?: Uint8Array;
}

export interface InviteInput {
  peerId: string;
  ed25519PublicKey: Uint8Array;
  x25519PublicKey: Uint8Array;
  endpoints: readonly string[];
  binding?: Uint8Array;
  inviteSecret?: Uint8Array;
}

export type InviteErrorCode =
  | 'bad_encoding'
  | 'missing_field'
  | 'bad_key'
  | 'bad_binding'
  | 'bad_secret'
  | 'peer_id_mismatch'
  | 'bad_endpoint'
  | 'unsupported_version'
  | 'too_long';

export class InviteError extends Error {
  readonly code: InviteErrorCode;
  constructor(code: InviteErrorCode, message: string) {
    super(message);
    this.name = 'InviteError';
    this.code = code;
  }
}

export const INVITE_PREFIX = 'canopy:';
export const INVITE_VERSION = 1;
/** A real invite is ~400 characters (~250 without xsig and sec); the cap only keeps a hostile paste from costing anything. */
export const MAX_INVITE_LENGTH = 16 * 1024;
export const MAX_ENDPOINTS = 16;
export const MAX_ENDPOINT_LENGTH = 256;
export const INVITE_SECRET_BYTES = 32;
const BINDING_BYTES = 64;

const NOT_B64_JSON = 'Invite code is not valid base64url-encoded JSON';
// Case-insensitive because phones like to capitalise the first word of a paste.
const INVITE_TOKEN = /canopy:([A-Za-z0-9_-]+)/i;

export function encodeInvite(input: InviteInput): string {
  for (const [field, key] of [['epk', input.ed25519PublicKey], ['xpk', input.x25519PublicKey]] as const) {
    if (key.length !== 32) throw new InviteError('bad_key', `Cannot encode invite: ${field} must be 32 bytes`);
  }
  // Key order matters only for reproducing the original's bytes; decoders do not care.
  const payload = {
    v: INVITE_VERSION,
    pid: input.peerId,
    epk: b58encode(input.ed25519PublicKey),
    xpk: b58encode(input.x25519PublicKey),
    ep: canonicalizeEndpointList(input.endpoints, true),
    ...(input.binding ? { xsig: b64urlEncode(input.binding) } : {}),
    ...(input.inviteSecret ? { sec: b64urlEncode(input.inviteSecret) } : {}),
  };
  return INVITE_PREFIX + b64urlEncode(utf8(JSON.stringify(payload)));
}

/**
 * Accepts "canopy:<b64url>", bare b64url, or raw JSON, possibly wrapped in other text.
 * Unknown fields are ignored. Endpoints that fail canonicalisation are dropped rather than
 * failing the whole invite (the original does the same): the identity is still worth importing,
 * and the peer can announce working endpoints once connected. An invite whose endpoints are all
 * bad therefore decodes with `endpoints: []`.
 */
export function decodeInvite(crypto: CryptoBackend, text: string): Invite {
  if (typeof text !== 'string') throw new InviteError('bad_encoding', 'Invite code must be text');
  if (text.length > MAX_INVITE_LENGTH) {
    throw new InviteError('too_long', `Invite code is too long (at most ${MAX_INVITE_LENGTH} characters)`);
  }
  const payload = parsePayload(text.trim());

  const version = payload['v'] ?? INVITE_VERSION;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new InviteError('bad_encoding', 'Invite code has an invalid version (v must be a positive integer)');
  }
  // Checked before the fields: a future version may not have the same required fields.
  if (version > INVITE_VERSION) {
    throw new InviteError('unsupported_version', `Invite code version ${version} is not supported (this Canopy reads version ${INVITE_VERSION})`);
  }

  for (const field of ['pid', 'epk', 'xpk']) {
    const value = payload[field];
    if (value === undefined || value === null || value === '') {
      throw new InviteError('missing_field', `Invite code is missing required field "${field}"`);
    }
  }
  const peerId = payload['pid'];
  if (typeof peerId !== 'string') {
    throw new InviteError('bad_key', 'Invite code has an invalid peer ID (pid must be a string)');
  }
  const ed25519PublicKey = decodeKey(payload['epk'], 'epk', 'Ed25519');
  const x25519PublicKey = decodeKey(payload['xpk'], 'xpk', 'X25519');
  if (!peerIdMatches(crypto, peerId, ed25519PublicKey)) {
    throw new InviteError('peer_id_mismatch', 'Peer ID does not match public key');
  }

  const ep = payload['ep'] ?? [];
  if (!Array.isArray(ep) || !ep.every((e): e is string => typeof e === 'string')) {
    throw new InviteError('bad_endpoint', 'Invite code has an invalid endpoint list (ep must be an array of strings)');
  }
  const invite: Invite = { version, peerId, ed25519PublicKey, x25519PublicKey, endpoints: canonicalizeEndpoints(ep) };
  if (payload['xsig'] !== undefined) {
    const binding = decodeOptionalBytes(payload['xsig'], BINDING_BYTES);
    if (!binding || !verifyBinding(crypto, ed25519PublicKey, x25519PublicKey, binding)) {
      throw new InviteError('bad_binding', "X25519 key is not signed by the peer's identity key");
    }
    invite.binding = binding;
  }
  if (payload['sec'] !== undefined) {
    const secret = decodeOptionalBytes(payload['sec'], INVITE_SECRET_BYTES);
    if (!secret) throw new InviteError('bad_secret', `Invite code has an invalid invite secret (sec must be ${INVITE_SECRET_BYTES} bytes of base64url)`);
    invite.inviteSecret = secret;
  }
  return invite;
}

function decodeOptionalBytes(value: unknown, length: number): Uint8Array | null {
  if (typeof value !== 'string') return null;
  try {
    const bytes = b64urlDecode(value);
    return bytes.length === length ? bytes : null;
  } catch {
    return null;
  }
}

function parsePayload(text: string): Record<string, unknown> {
  if (text === '') throw new InviteError('bad_encoding', 'Invite code is empty');
  let json: string;
  const raw = text.startsWith('{') || text.startsWith('[');
  if (raw) {
    json = text;
  } else {
    const token = INVITE_TOKEN.exec(text)?.[1] ?? text.replace(/=+$/, '');
    try {
      json = fromUtf8(b64urlDecode(token));
    } catch {
      throw new InviteError('bad_encoding', NOT_B64_JSON);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new InviteError('bad_encoding', raw ? 'Invite code is not valid JSON' : NOT_B64_JSON);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InviteError('bad_encoding', 'Invite code must contain a JSON object');
  }
  return value as Record<string, unknown>;
}

function decodeKey(value: unknown, field: string, kind: string): Uint8Array {
  const error = () => new InviteError('bad_key', `Invite code has an invalid ${kind} public key (${field} must be 32 bytes of base58)`);
  if (typeof value !== 'string') throw error();
  let bytes: Uint8Array;
  try {
    bytes = b58decode(value);
  } catch {
    throw error();
  }
  if (bytes.length !== 32) throw error();
  return bytes;
}

/** Canonicalises, de-duplicates (keeping first occurrence) and caps at MAX_ENDPOINTS, dropping invalid entries. */
export function canonicalizeEndpoints(endpoints: readonly string[]): string[] {
  return canonicalizeEndpointList(endpoints, false);
}

function canonicalizeEndpointList(endpoints: readonly string[], strict: boolean): string[] {
  const out: string[] = [];
  for (const endpoint of endpoints) {
    let canonical: string;
    try {
      canonical = canonicalizeEndpoint(endpoint);
    } catch (error) {
      // Our own invites must not silently lose an address we were asked to advertise.
      if (strict) throw error;
      continue;
    }
    if (!out.includes(canonical)) out.push(canonical);
    if (out.length === MAX_ENDPOINTS) break;
  }
  return out;
}

/**
 * Normalises a mesh endpoint to "scheme://host:port" so equal addresses compare equal.
 * Unlike the original, loopback is allowed: tests and single-machine setups dial 127.0.0.1.
 */
export function canonicalizeEndpoint(text: string): string {
  const fail = (why: string) => {
    const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    return new InviteError('bad_endpoint', `Invalid endpoint "${shown}": ${why}`);
  };
  if (typeof text !== 'string') throw new InviteError('bad_endpoint', 'Invalid endpoint: must be a string');
  const input = text.trim();
  if (input === '') throw fail('it is empty');
  if (input.length > MAX_ENDPOINT_LENGTH) throw fail(`longer than ${MAX_ENDPOINT_LENGTH} characters`);

  let scheme: 'ws' | 'wss';
  let rest: string;
  let explicitScheme = true;
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(input);
  if (schemeMatch) {
    const name = schemeMatch[1]!.toLowerCase();
    if (name !== 'ws' && name !== 'wss') throw fail('scheme must be ws:// or wss://');
    scheme = name;
    rest = input.slice(schemeMatch[0].length);
  } else {
    scheme = 'ws';
    rest = input;
    explicitScheme = false;
  }

  // Any path, query or fragment is dropped: the mesh path is fixed by the protocol.
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  if (authority.includes('@')) throw fail('credentials are not allowed');

  let hostText: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) throw fail('unterminated IPv6 address');
    hostText = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw fail('unexpected text after the IPv6 address');
      portText = after.slice(1);
    }
  } else {
    const colons = authority.split(':').length - 1;
    if (colons > 1) throw fail('IPv6 addresses must be written in brackets, e.g. ws://[fe80::1]:7771');
    const colon = authority.indexOf(':');
    hostText = colon === -1 ? authority : authority.slice(0, colon);
    if (colon !== -1) portText = authority.slice(colon + 1);
  }

  const host = canonicalHost(hostText, authority.startsWith('['), fail);

  let port: number;
  if (portText === undefined) {
    if (!explicitScheme) throw fail('a port is required when no ws:// or wss:// scheme is given');
    port = scheme === 'wss' ? 443 : 80;
  } else {
    if (!/^[0-9]{1,5}$/.test(portText)) throw fail('port must be a number from 1 to 65535');
    port = Number(portText);
    if (port < 1 || port > 65535) throw fail('port must be a number from 1 to 65535');
  }
  return `${scheme}://${host}:${port}`;
}

function canonicalHost(text: string, bracketed: boolean, fail: (why: string) => InviteError): string {
  if (text === '') throw fail('host is empty');
  const lower = text.toLowerCase();
  if (bracketed) {
    const groups = parseIpv6(lower);
    if (!groups) throw fail('not a valid IPv6 address');
    if (groups.every((g) => g === 0)) throw fail('the unspecified address :: cannot be dialled');
    return `[${formatIpv6(groups)}]`;
  }
  if (/^[0-9.]+$/.test(lower)) {
    const octets = parseIpv4(lower);
    if (!octets) throw fail('not a valid IPv4 address');
    // 0.0.0.0/8 means "this host/network": a listen address, never something a peer can dial.
    if (octets[0] === 0) throw fail(`${lower} cannot be dialled`);
    return octets.join('.');
  }
  if (lower.length > 253) throw fail('host name is too long');
  const labels = lower.split('.');
  if (!labels.every((l) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l))) throw fail('not a valid host name');
  // A name ending in a number is a malformed address, not a name (WHATWG URL rule).
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) throw fail('not a valid host name');
  return lower;
}

/** Strict dotted decimal; leading zeros are refused because some resolvers read them as octal. */
function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    octets.push(n);
  }
  return octets;
}

function parseIpv6(text: string): number[] | null {
  if (!/^[0-9a-f:.]+$/.test(text)) return null;
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) return null;
  const pieces = (part: string, allowIpv4Tail: boolean): number[] | null => {
    if (part === '') return [];
    const items = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (allowIpv4Tail && i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  if (gap === -1) {
    const all = pieces(text, true);
    return all && all.length === 8 ? all : null;
  }
  const head = pieces(text.slice(0, gap), false);
  const tail = pieces(text.slice(gap + 2), true);
  if (!head || !tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 text form, so different spellings of one address de-duplicate. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hexes.join(':');
  return `${hexes.slice(0, bestStart).join(':')}::${hexes.slice(bestStart + bestLength).join(':')}`;
}
