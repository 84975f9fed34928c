// The HTTP servers under both ports (web + app link, mesh). Each one bounds what a connection that
// has proven nothing may hold: a silent socket, a request trickled in byte by byte, an idle
// keep-alive socket are all closed after a timeout, and the number of open sockets is capped so a
// flood cannot reach the process's file-descriptor limit. Upgraded WebSockets leave these timers
// (ws clears them); their Noise handshake has its own timeouts, and an authenticated link its
// keepalive pings.
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from './logger.ts';
import { limitsFromEnv } from './env-limits.ts';
import { limitWarning } from './rate-limited-log.ts';

export interface SocketLimits {
  /** Complete request headers (also of a WebSocket upgrade) within this time, or 408 and close. */
  headersTimeoutMs: number;
  /** The whole request, body included, within this time, or 408 and close. */
  requestTimeoutMs: number;
  /** A connection that has sent no request yet is closed after this much silence. */
  idleTimeoutMs: number;
  /** An idle keep-alive connection between two requests is closed after this time. */
  keepAliveTimeoutMs: number;
  /** Open sockets per port, authenticated links included; more are closed on arrival. */
  maxSockets: number;
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = {
  headersTimeoutMs: 10_000,
  // Longer than any handler runs: an invite import answers within its 10 s dial deadline.
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxSockets: 1_024,
};

/** Environment variables that override a limit (mainly so tests need not wait for the defaults). */
export const SOCKET_LIMIT_ENV = {
  headersTimeoutMs: 'CANOPY_HEADERS_TIMEOUT_MS',
  idleTimeoutMs: 'CANOPY_IDLE_TIMEOUT_MS',
  maxSockets: 'CANOPY_MAX_SOCKETS',
} as const satisfies Partial<Record<keyof SocketLimits, string>>;

/** The limits with any environment overrides applied; throws with the variable's name when one is not a positive integer. */
export function socketLimitsFromEnv(env: NodeJS.ProcessEnv): SocketLimits {
  const limits = limitsFromEnv(env, DEFAULT_SOCKET_LIMITS, SOCKET_LIMIT_ENV);
  // Node refuses a request timeout shorter than the headers timeout.
  limits.requestTimeoutMs = Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs);
  return limits;
}

/** An HTTP server with `limits` applied; `port` names it in the log line written when its socket cap is hit. */
export function createLimitedServer(port: 'web' | 'mesh', limits: SocketLimits, log: Logger, handler?: RequestListener): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node checks the two timeouts above (default 30 s, longer than either).
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 2))),
    },
    handler,
  );
  server.maxConnections = limits.maxSockets;
  const warnFull = limitWarning(log, 'net', 'socket limit reached: new connections refused until some close');
  server.on('drop', () => warnFull({ port, limit: limits.maxSockets }));
  // Node's headers and request timeouts start with the first byte; silence before it is bounded
  // here (Node destroys a socket whose timer fires outside a request). A request or an upgrade ends
  // this timer: from then on the timeouts above, keep-alive, or the Noise handshake apply.
  server.on('connection', (socket) => socket.setTimeout(limits.idleTimeoutMs));
  const requestArrived = (request: IncomingMessage) => request.socket.setTimeout(0);
  server.on('request', requestArrived);
  server.on('upgrade', requestArrived);
  // What Node's HTTP parser refuses before any handler runs still gets the JSON error shape.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, message] = PARSER_ERRORS[error.code ?? ''] ?? [400, 'Malformed HTTP request'];
    endWithJsonError(socket, status, message);
  });
  return server;
}

const PARSER_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request headers too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request timed out'],
};

/** Answers a raw socket (no HTTP response object yet: a refused upgrade, a parser error) and closes it. */
export function endWithJsonError(socket: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
