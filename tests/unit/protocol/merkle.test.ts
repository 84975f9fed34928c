import { describe, expect, it } from 'vitest';
import { hexEncode } from '../../../protocol/bytes.ts';
import { nobleCrypto } from '../../../protocol/crypto/noble.ts';
import { leafHash, rootFromInclusionPath, treeWithPaths } from '../../../protocol/merkle.ts';

const crypto = nobleCrypto;
const fromHex = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

// RFC 6962's reference tree (certificate-transparency's merkle test data): eight leaves, the root
// of every prefix, and inclusion proofs (CT numbers leaves from 1; RFC 9162 and we from 0).
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f']
  .map(fromHex)
  .map((data) => leafHash(crypto, data));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_INCLUSION = [
  {
    index: 0,
    size: 8,
    path: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    path: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, path: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 0, size: 1, path: [] },
];

describe('Merkle tree (RFC 9162 / RFC 6962)', () => {
  it('gives the reference root for every prefix of the reference leaves', () => {
    for (let n = 1; n <= 8; n++) expect(hexEncode(treeWithPaths(crypto, CT_LEAVES.slice(0, n)).root), `size ${n}`).toBe(CT_ROOTS[n - 1]);
  });

  it('gives the reference inclusion paths, and they lead back to the reference root', () => {
    for (const { index, size, path } of CT_INCLUSION) {
      const built = treeWithPaths(crypto, CT_LEAVES.slice(0, size));
      expect(built.paths[index]!.map(hexEncode), `leaf ${index} of ${size}`).toEqual(path);
      const root = rootFromInclusionPath(crypto, index, size, CT_LEAVES[index]!, path.map(fromHex));
      expect(root && hexEncode(root)).toBe(CT_ROOTS[size - 1]);
    }
  });

  it('every leaf of every tree up to 70 leaves proves the root, and only at its own position', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => leafHash(crypto, Uint8Array.of(i, i * 3)));
    for (let size = 1; size <= leaves.length; size++) {
      const { root, paths } = treeWithPaths(crypto, leaves.slice(0, size));
      for (let index = 0; index < size; index++) {
        const path = paths[index]!;
        expect(hexEncode(rootFromInclusionPath(crypto, index, size, leaves[index]!, path)!)).toBe(hexEncode(root));
        if (size > 1) {
          // The same path at another position proves nothing about this root. (In a smaller tree
          // it can: the size is what the author signs with the root, see events.test.ts.)
          const elsewhere = rootFromInclusionPath(crypto, (index + 1) % size, size, leaves[index]!, path);
          expect(elsewhere && hexEncode(elsewhere)).not.toBe(hexEncode(root));
        }
      }
    }
  });

  it('refuses paths that cannot fit the position: too long, too short, index out of range', () => {
    const leaves = CT_LEAVES;
    const { paths } = treeWithPaths(crypto, leaves);
    const path = paths[3]!;
    expect(rootFromInclusionPath(crypto, 3, 8, leaves[3]!, [...path, path[0]!])).toBeNull();
    expect(rootFromInclusionPath(crypto, 3, 8, leaves[3]!, path.slice(0, 2))).toBeNull();
    expect(rootFromInclusionPath(crypto, 8, 8, leaves[3]!, path)).toBeNull();
    expect(rootFromInclusionPath(crypto, -1, 8, leaves[3]!, path)).toBeNull();
    expect(() => treeWithPaths(crypto, [])).toThrow();
  });
});
