import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './paths.ts';

/**
 * `<root>/listening.json`: where a running instance answers, so tools started with only its data
 * dir (`canopy mcp --data-dir D`) find it without being told the port.
 */
const FILE = 'listening.json';

/** A URL a local client can dial: a wildcard bind answers on loopback; IPv6 needs brackets. */
export function dialableUrl(host: string, port: number): string {
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${local.includes(':') ? `[${local}]` : local}:${port}`;
}

export function recordListening(root: string, url: string): void {
  writeFileAtomic(join(root, FILE), JSON.stringify({ url, pid: process.pid }) + '\n');
}

export function forgetListening(root: string): void {
  rmSync(join(root, FILE), { force: true });
}

/** The URL the instance of `root` last said it answers on, or null when none is recorded. */
export function readListening(root: string): string | null {
  const file = join(root, FILE);
  if (!existsSync(file)) return null;
  try {
    const { url } = JSON.parse(readFileSync(file, 'utf8')) as { url?: unknown };
    return typeof url === 'string' && /^https?:\/\//.test(url) ? url : null;
  } catch {
    return null;
  }
}
