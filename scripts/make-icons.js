#!/usr/bin/env node
// Draws Canopy's icons (a tree canopy on a deep green tile) as SVG and PNG into static/.
// Dev-time only: the output is committed, so run it again only when the design changes:
//   node scripts/make-icons.js
// No dependencies: shapes are rasterised with 4x4 supersampling and encoded with node:zlib.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const STATIC = join(dirname(fileURLToPath(import.meta.url)), '..', 'static');

const BG = '#12372a';
const LEAF = '#3fb67a';
const LIGHT = '#6fd6a0';
const TRUNK = '#e2d3ad';

/** Shapes in a 100x100 box, painted in order. */
const TREE = [
  { kind: 'rect', x: 45.5, y: 50, w: 9, h: 30, r: 2, fill: TRUNK },
  { kind: 'circle', cx: 31, cy: 50, r: 15, fill: LEAF },
  { kind: 'circle', cx: 69, cy: 50, r: 15, fill: LEAF },
  { kind: 'circle', cx: 50, cy: 39, r: 22, fill: LEAF },
  { kind: 'circle', cx: 43, cy: 32, r: 8, fill: LIGHT },
];

/** @param {boolean} maskable full-bleed tile with the tree inside the 80 % safe zone */
function shapes(maskable) {
  const tile = maskable
    ? { kind: 'rect', x: 0, y: 0, w: 100, h: 100, r: 0, fill: BG }
    : { kind: 'rect', x: 0, y: 0, w: 100, h: 100, r: 22, fill: BG };
  if (!maskable) return [tile, ...TREE];
  // Shrink the tree around the centre so it stays inside the maskable safe circle.
  const k = 0.72;
  const t = (/** @type {number} */ v) => 50 + (v - 50) * k;
  return [
    tile,
    ...TREE.map((s) =>
      s.kind === 'circle'
        ? { ...s, cx: t(s.cx), cy: t(s.cy), r: s.r * k }
        : { ...s, x: t(s.x), y: t(s.y), w: s.w * k, h: s.h * k, r: s.r * k },
    ),
  ];
}

function svg(maskable) {
  const body = shapes(maskable)
    .map((s) =>
      s.kind === 'circle'
        ? `<circle cx="${s.cx}" cy="${s.cy}" r="${s.r}" fill="${s.fill}"/>`
        : `<rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" rx="${s.r}" fill="${s.fill}"/>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">${body}</svg>\n`;
}

function inside(s, x, y) {
  if (s.kind === 'circle') return (x - s.cx) ** 2 + (y - s.cy) ** 2 <= s.r ** 2;
  if (x < s.x || y < s.y || x > s.x + s.w || y > s.y + s.h) return false;
  // rounded corners
  const cx = Math.min(Math.max(x, s.x + s.r), s.x + s.w - s.r);
  const cy = Math.min(Math.max(y, s.y + s.r), s.y + s.h - s.r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= s.r ** 2;
}

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

function raster(size, maskable) {
  const list = shapes(maskable).map((s) => ({ ...s, rgb: rgb(s.fill) }));
  const px = Buffer.alloc(size * size * 4);
  const N = 4;
  for (let py = 0; py < size; py++) {
    for (let pxi = 0; pxi < size; pxi++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < N; sy++) {
        for (let sx = 0; sx < N; sx++) {
          const x = ((pxi + (sx + 0.5) / N) / size) * 100;
          const y = ((py + (sy + 0.5) / N) / size) * 100;
          let hit = null;
          for (const s of list) if (inside(s, x, y)) hit = s;
          if (hit) { r += hit.rgb[0]; g += hit.rgb[1]; b += hit.rgb[2]; a += 1; }
        }
      }
      const o = (py * size + pxi) * 4;
      // colour averaged over covered samples (straight alpha), alpha = coverage
      px[o] = a ? Math.round(r / a) : 0;
      px[o + 1] = a ? Math.round(g / a) : 0;
      px[o + 2] = a ? Math.round(b / a) : 0;
      px[o + 3] = Math.round((a / (N * N)) * 255);
    }
  }
  return png(size, size, px);
}

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(w, h, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((w * 4 + 1) * h);
  for (let y = 0; y < h; y++) rgba.copy(raw, y * (w * 4 + 1) + 1, y * w * 4, (y + 1) * w * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const out = {
  'icon.svg': svg(false),
  'favicon.png': raster(32, false),
  'apple-touch-icon.png': raster(180, true),
  'icon-192.png': raster(192, false),
  'icon-512.png': raster(512, false),
  'icon-maskable-512.png': raster(512, true),
};
for (const [name, data] of Object.entries(out)) writeFileSync(join(STATIC, name), data);
console.log(`icons written to static/: ${Object.keys(out).join(', ')}`);
