import { describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../../protocol/bytes.ts';
import { MAX_JSON_DEPTH, canonicalBytes, canonicalJson, nestedDeeperThan } from '../../../protocol/canonical.ts';

describe('canonicalJson', () => {
  it('sorts keys recursively and emits no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('sorts by UTF-16 code units and escapes per RFC 8785', () => {
    // RFC 8785 §3.2.3 ordering example keys, plus control characters and non-ASCII kept literal.
    const value = { '\u20ac': 'Euro', '\r': 'cr', '\ud83d\ude00': 'smiley', '1': 'one', '\u0080': 'ctl', '\u00f6': 'o' };
    expect(canonicalJson(value)).toBe('{"\\r":"cr","1":"one","\u0080":"ctl","\u00f6":"o","\u20ac":"Euro","\ud83d\ude00":"smiley"}');
    expect(canonicalJson('a\u0001"\\\n')).toBe('"a\\u0001\\"\\\\\\n"');
  });

  it('formats numbers as ECMAScript does (RFC 8785 §3.2.2.3)', () => {
    expect(canonicalJson([1.0, -0, 1e21, 1e-7, 0.1, 333333333.3333333, 2 ** 53])).toBe(
      '[1,0,1e+21,1e-7,0.1,333333333.3333333,9007199254740992]',
    );
  });

  it('omits undefined object properties, as JSON does on the wire', () => {
    expect(canonicalJson({ content: 'x', metadata: undefined })).toBe('{"content":"x"}');
  });

  it('throws on values JSON cannot carry faithfully', () => {
    expect(() => canonicalJson(undefined)).toThrow(/undefined/);
    expect(() => canonicalJson([1, undefined])).toThrow(/undefined at \$\[1\]/);
    expect(() => canonicalJson({ a: NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ a: [Infinity] })).toThrow(/non-finite/);
    expect(() => canonicalJson(-Infinity)).toThrow(/non-finite/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
    expect(() => canonicalJson(10n)).toThrow(/bigint/);
    expect(() => canonicalJson({ s: Symbol('x') })).toThrow(/symbol/);
    expect(() => canonicalJson({ b: new Uint8Array(2) })).toThrow(/non-plain object/);
    expect(() => canonicalJson(new Date(0))).toThrow(/non-plain object/);
    expect(() => canonicalJson('\ud800')).toThrow(/surrogate/i);
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    expect(() => canonicalJson(loop)).toThrow(/circular/);
  });

  it('allows a shared (non-circular) sub-object twice', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('accepts null-prototype objects', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o['k'] = null;
    expect(canonicalJson(o)).toBe('{"k":null}');
  });

  it('canonicalBytes is the UTF-8 of canonicalJson', () => {
    const bytes = canonicalBytes({ z: 'é', a: true });
    expect(fromUtf8(bytes)).toBe('{"a":true,"z":"é"}');
    expect(bytes.length).toBe(19);
  });
});

describe('nesting depth', () => {
  const nest = (depth: number): unknown => {
    let value: unknown = 'leaf';
    for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
    return value;
  };

  it('refuses values nested deeper than MAX_JSON_DEPTH with a TypeError, even 100,000 deep', () => {
    expect(canonicalJson(nest(MAX_JSON_DEPTH))).toContain('leaf');
    expect(() => canonicalJson(nest(MAX_JSON_DEPTH + 1))).toThrow(TypeError);
    expect(() => canonicalJson(nest(100_000))).toThrow(/nested more than 64 deep/);
  });

  it('nestedDeeperThan counts containers without recursion', () => {
    expect(nestedDeeperThan('x', 0)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(true);
    expect(nestedDeeperThan({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [1, { b: 2 }] }, 2)).toBe(true);
    expect(nestedDeeperThan(nest(200_000), 32)).toBe(true);
  });
});
