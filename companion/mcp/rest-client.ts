import type { KeySource } from './key.ts';

/** A request that does not answer within this is abandoned (an invite import dials, so not less). */
export const REQUEST_TIMEOUT_MS = 60_000;

export type Json = Record<string, unknown>;
type Query = Record<string, string | number | undefined>;

/** An answer other than 2xx, or no answer: `message` is the API's own `error` string when it gave one. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/** A refusal that a fresh key can fix: unknown, revoked or expired, as requirePermission reports it. */
function keyRefused(status: number, body: unknown): boolean {
  return status === 401 || (status === 403 && (body as { reason?: unknown } | null)?.reason === 'invalid_key');
}

/** The instance's REST API under /api/v1, with the MCP server's key; the only way it reaches Canopy. */
export class RestClient {
  constructor(
    readonly baseUrl: string,
    private readonly keys: KeySource,
  ) {}

  get(path: string, query: Query = {}, signal?: AbortSignal): Promise<Json> {
    return this.call('GET', path, { query, signal });
  }

  post(path: string, body: Json, signal?: AbortSignal): Promise<Json> {
    return this.call('POST', path, { body, signal });
  }

  /**
   * An authenticated request whose body the caller reads (the event stream): resolved once the
   * headers arrive; a non-2xx answer is thrown as a RestError like any other.
   */
  async open(path: string, query: Query, signal: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
    return this.withKey<Response>(async (key) => {
      const response = await this.fetch(path, query, { headers: { ...headers, 'X-API-Key': key }, signal });
      return response.ok ? { response } : { failed: response.status, body: await readJson(response) };
    });
  }

  /** Whether the instance accepts `key` (probed on a read every MCP key may make). */
  async accepts(key: string): Promise<boolean> {
    const response = await this.fetch('/channels', {}, { headers: { 'X-API-Key': key }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await response.body?.cancel();
    return response.ok;
  }

  private async call(method: 'GET' | 'POST', path: string, options: { query?: Query; body?: Json; signal?: AbortSignal }): Promise<Json> {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    return this.withKey<Json>(async (key) => {
      const headers: Record<string, string> = { 'X-API-Key': key };
      if (options.body) headers['Content-Type'] = 'application/json';
      const init = { method, headers, signal, body: options.body && JSON.stringify(options.body) };
      const response = await this.fetch(path, options.query ?? {}, init);
      const body = await readJson(response);
      return response.ok ? { response: body } : { failed: response.status, body };
    });
  }

  /** Runs `attempt` with the current key, once more with a fresh one if the instance refused the key. */
  private async withKey<T>(attempt: (key: string) => Promise<{ response: T } | { failed: number; body: unknown }>): Promise<T> {
    for (let retried = false; ; retried = true) {
      const key = await this.keys.key();
      const result = await attempt(key);
      if ('response' in result) return result.response;
      if (!retried && keyRefused(result.failed, result.body) && this.keys.refused(key)) continue;
      const error = (result.body as { error?: unknown } | null)?.error;
      throw new RestError(result.failed, typeof error === 'string' ? error : `HTTP ${result.failed}`, result.body);
    }
  }

  private async fetch(path: string, query: Query, init: RequestInit): Promise<Response> {
    const url = new URL(`/api/v1${path}`, this.baseUrl);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
    try {
      return await fetch(url, init);
    } catch (error) {
      if (init.signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new RestError(0, `Canopy is not reachable at ${this.baseUrl} (${cause}); is the instance running?`);
    }
  }
}

async function readJson(response: Response): Promise<Json> {
  const text = await response.text();
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : { value: parsed };
  } catch {
    return { error: `HTTP ${response.status}: ${text.slice(0, 200)}` };
  }
}
