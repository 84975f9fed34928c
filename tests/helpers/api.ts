import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** Mints an API key the way a headless agent does: `canopy keys create`, key alone on stdout. */
export async function createKey(dataDir: string, permissions?: string): Promise<string> {
  const args = [join(ROOT, 'bin', 'canopy.js'), 'keys', 'create', '--data-dir', dataDir];
  if (permissions) args.push('--permissions', permissions);
  const { stdout } = await run(process.execPath, args, { cwd: ROOT });
  return stdout.trim();
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

/** A tiny REST client bound to one instance and (optionally) one API key. */
export function apiClient(baseUrl: string, key?: string) {
  const request = async <T = any>(method: string, path: string, body?: unknown, raw?: string): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = {};
    if (key) headers['X-API-Key'] = key;
    if (body !== undefined || raw !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${baseUrl}/api/v1${path}`, {
      method,
      headers,
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // non-JSON answers stay as text so a test can show them
    }
    return { status: response.status, body: parsed as T };
  };
  return {
    get: <T = any>(path: string) => request<T>('GET', path),
    post: <T = any>(path: string, body?: unknown) => request<T>('POST', path, body),
    postRaw: <T = any>(path: string, raw: string) => request<T>('POST', path, undefined, raw),
    delete: <T = any>(path: string) => request<T>('DELETE', path),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
