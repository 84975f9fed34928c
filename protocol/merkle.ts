import { concatBytes } from './bytes.ts';
import type { CryptoBackend } from './crypto/types.ts';

/**
 * The Merkle tree of RFC 9162 §2.1 (the same tree as RFC 6962, Certificate Transparency): leaves
 * hash as SHA-256(0x00 || data), inner nodes as SHA-256(0x01 || left || right), and a list of n
 * items splits at the largest power of two below n. A published, widely implemented shape, so our
 * roots and inclusion proofs can be checked against its test vectors.
 */

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);

export function leafHash(crypto: CryptoBackend, data: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(LEAF_PREFIX, data));
}

function nodeHash(crypto: CryptoBackend, left: Uint8Array, right: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(NODE_PREFIX, left, right));
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The root over `leaves` (already leaf-hashed) and every leaf's inclusion path, each listed from
 * the leaf's sibling up to the root's child, as RFC 9162 §2.1.3.1 orders them. One pass, n log n.
 */
export function treeWithPaths(crypto: CryptoBackend, leaves: readonly Uint8Array[]): { root: Uint8Array; paths: Uint8Array[][] } {
  if (leaves.length === 0) throw new Error('A Merkle tree needs at least one leaf');
  const paths: Uint8Array[][] = leaves.map(() => []);
  const subtree = (from: number, to: number): Uint8Array => {
    if (to - from === 1) return leaves[from]!;
    const split = from + largestPowerOfTwoBelow(to - from);
    const left = subtree(from, split);
    const right = subtree(split, to);
    for (let i = from; i < split; i++) paths[i]!.push(right);
    for (let i = split; i < to; i++) paths[i]!.push(left);
    return nodeHash(crypto, left, right);
  };
  return { root: subtree(0, leaves.length), paths };
}

/**
 * The root that `path` proves leaf `index` of a `size`-leaf tree hangs from (RFC 9162 §2.1.3.2),
 * or null when the path cannot belong to that position: wrong length, index out of range. The
 * caller compares the result with a root it trusts (here: one its author signed).
 */
export function rootFromInclusionPath(
  crypto: CryptoBackend,
  index: number,
  size: number,
  leaf: Uint8Array,
  path: readonly Uint8Array[],
): Uint8Array | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let root = leaf;
  for (const sibling of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      root = nodeHash(crypto, sibling, root);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      root = nodeHash(crypto, root, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? root : null;
}
