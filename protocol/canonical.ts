import canonicalize from 'canonicalize';
import { utf8 } from './bytes.ts';

/**
 * RFC 8785 (JCS) canonical JSON: the bytes every signature and event id is computed over, so
 * two implementations that agree on the value agree on the bytes.
 *
 * Values JSON cannot represent faithfully throw instead of being silently coerced (JSON.stringify
 * would turn NaN into null and drop functions), because a signature over a coerced value would
 * not verify on a peer that re-derives the bytes from what it received. One exception: an object
 * property whose value is undefined is omitted, exactly as JSON.stringify omits it on the wire,
 * so `{ metadata: undefined }` signs the same bytes the receiver sees.
 */
export function canonicalJson(value: unknown): string {
  assertJsonValue(value, '$');
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('Value cannot be represented as canonical JSON');
  return text;
}

export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}

function assertJsonValue(value: unknown, path: string, seen: Set<object> = new Set()): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Canonical JSON cannot encode the non-finite number at ${path}`);
      return;
    case 'undefined':
      throw new TypeError(`Canonical JSON cannot encode undefined at ${path}`);
    case 'object':
      break;
    default:
      throw new TypeError(`Canonical JSON cannot encode a ${typeof value} at ${path}`);
  }
  if (value === null) return;
  if (seen.has(value)) throw new TypeError(`Canonical JSON cannot encode the circular reference at ${path}`);
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertJsonValue(item, `${path}[${i}]`, seen));
  } else {
    // Typed arrays, Maps, Dates and class instances serialise to something other than what the
    // caller probably meant (a Uint8Array becomes {"0":..}); refuse them rather than sign surprises.
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`Canonical JSON only encodes plain objects and arrays (found a non-plain object at ${path})`);
    }
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) assertJsonValue(item, `${path}.${key}`, seen);
    }
  }
  seen.delete(value);
}
