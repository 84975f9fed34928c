// Which browser pages may talk to this companion. A page's requests carry an `Origin` header; the
// companion answers state-changing ones (and the app link's WebSocket upgrade) only for its own
// origin, so a page on another site — or a LAN host serving one — cannot drive it. Clients that
// send no Origin (curl, agents, Node) are not browsers and are judged by their API key alone.
//
// DNS rebinding: a page on evil.example can re-point its name at 127.0.0.1, and then its requests
// carry `Origin: http://evil.example:7770` and `Host: evil.example:7770` — the same origin. So a
// browser request is also refused when its Host is a name an outsider could control: only IP
// literals, localhost, this machine's hostname and `*.local` (mDNS) pass, plus the origins listed
// in CANOPY_ALLOWED_ORIGINS (for a reverse proxy, a DNS name, or a dev server on another port).
import { isIP } from 'node:net';
import { hostname as machineHostname } from 'node:os';
import type Koa from 'koa';
import type { Logger } from '../logger.ts';
import { limitWarning } from '../rate-limited-log.ts';

export const ALLOWED_ORIGINS_ENV = 'CANOPY_ALLOWED_ORIGINS';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface RequestHeaders {
  origin?: string | undefined;
  host?: string | undefined;
}

/** Parses `http://a:1,https://b` into normalised origins; throws on anything that is not an origin. */
export function parseAllowedOrigins(value: string | undefined): string[] {
  if (!value?.trim()) return [];
  return value.split(',').map((entry) => {
    const text = entry.trim();
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error(`${ALLOWED_ORIGINS_ENV}: "${text}" is not an origin like http://canopy.example:7770`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== text.replace(/\/$/, '').toLowerCase()) {
      throw new Error(`${ALLOWED_ORIGINS_ENV}: "${text}" is not an origin like http://canopy.example:7770 (scheme, host and port only)`);
    }
    return url.origin;
  });
}

/** Host names no outside party can point at this machine through DNS. */
export function isLocalHostName(host: string, ownHostname: string = machineHostname()): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (isIP(bare)) return true;
  if (name === 'localhost' || name.endsWith('.localhost') || name.endsWith('.local')) return true;
  const own = ownHostname.toLowerCase();
  return own !== '' && (name === own || name === `${own}.local`);
}

/** The host name part of a Host header (`a:1` → `a`, `[::1]:1` → `[::1]`), or null when malformed. */
function hostNameOf(hostHeader: string): string | null {
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return null;
  }
}

export class OriginPolicy {
  private readonly allowed: Set<string>;

  constructor(
    allowedOrigins: readonly string[] = [],
    private readonly ownHostname: string = machineHostname(),
  ) {
    this.allowed = new Set(allowedOrigins);
  }

  /** Why this request must be refused, or null when it may proceed. Requests without Origin pass. */
  refusal({ origin, host }: RequestHeaders): string | null {
    if (origin === undefined) return null;
    if (this.allowed.has(origin.toLowerCase())) return null;
    const hostName = host ? hostNameOf(host) : null;
    if (!host || hostName === null) return 'Browser request without a valid Host header';
    if (origin.toLowerCase() !== `http://${host.toLowerCase()}`) {
      return `Requests from other web pages are not accepted (Origin ${origin.slice(0, 100)}); open the web app at http://${host} itself`;
    }
    if (!isLocalHostName(hostName, this.ownHostname)) {
      return `Browser requests to the host name "${hostName.slice(0, 100)}" are not accepted; use an IP address, localhost or a .local name, or list the origin in ${ALLOWED_ORIGINS_ENV}`;
    }
    return null;
  }
}

/** REST: a state-changing request from another origin gets 403 `{"error"}` before any route runs. */
export function refuseForeignOrigins(policy: OriginPolicy, log: Logger): Koa.Middleware {
  const logRefusal = limitWarning(log, 'http', 'browser request from a foreign origin refused');
  return async (ctx, next) => {
    if (STATE_CHANGING.has(ctx.method)) {
      const reason = policy.refusal({ origin: ctx.get('origin') || undefined, host: ctx.get('host') || undefined });
      if (reason) {
        logRefusal({ reason });
        ctx.status = 403;
        ctx.body = { error: reason };
        return;
      }
    }
    await next();
  };
}
