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
  assertJsonValue(value);
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('Value cannot be represented as canonical JSON');
  return text;
}

export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}

/**
 * Containers (objects and arrays) nested deeper than this are refused. Everything signed here is
 * small and shallow; the bound keeps the recursive canonicalizer far from the stack limit, so a
 * hostile value is a clean TypeError, never a RangeError.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `value` nests objects/arrays more than `maxDepth` deep (`{}` is depth 1). Iterative,
 * so a value nested 100,000 deep is answered without touching the call stack.
 */
export function nestedDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value !== 'object' || item.value === null) continue;
    const depth = item.depth + 1;
    if (depth > maxDepth) return true;
    for (const child of Object.values(item.value)) stack.push({ value: child, depth });
  }
  return false;
}

type Visit = { value: unknown; path: string; depth: number } | { leave: object };

/** Iterative (explicit stack) so no input can overflow the call stack. */
function assertJsonValue(root: unknown): void {
  const stack: Visit[] = [{ value: root, path: '$', depth: 0 }];
  // The containers on the current path: a value met again below itself is a cycle; one shared by
  // two branches is not.
  const ancestors = new Set<object>();
  while (stack.length > 0) {
    const visit = stack.pop()!;
    if ('leave' in visit) {
      ancestors.delete(visit.leave);
      continue;
    }
    const { value, path, depth } = visit;
    switch (typeof value) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(value)) throw new TypeError(`Canonical JSON cannot encode the non-finite number at ${path}`);
        continue;
      case 'undefined':
        throw new TypeError(`Canonical JSON cannot encode undefined at ${path}`);
      case 'object':
        break;
      default:
        throw new TypeError(`Canonical JSON cannot encode a ${typeof value} at ${path}`);
    }
    if (value === null) continue;
    if (ancestors.has(value)) throw new TypeError(`Canonical JSON cannot encode the circular reference at ${path}`);
    if (depth >= MAX_JSON_DEPTH) throw new TypeError(`Canonical JSON cannot encode values nested more than ${MAX_JSON_DEPTH} deep`);
    ancestors.add(value);
    stack.push({ leave: value });
    const children: Visit[] = [];
    if (Array.isArray(value)) {
      value.forEach((item, i) => children.push({ value: item, path: `${path}[${i}]`, depth: depth + 1 }));
    } else {
      // Typed arrays, Maps, Dates and class instances serialise to something other than what the
      // caller probably meant (a Uint8Array becomes {"0":..}); refuse them rather than sign surprises.
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`Canonical JSON only encodes plain objects and arrays (found a non-plain object at ${path})`);
      }
      for (const [key, item] of Object.entries(value)) {
        if (item !== undefined) children.push({ value: item, path: `${path}.${key}`, depth: depth + 1 });
      }
    }
    // Reversed so the first offending value in document order is the one reported.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}
