import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import type { Identity } from '../../protocol/identity.ts';
import { MAX_FRAME_BYTES } from '../../protocol/noise/index.ts';
import { createLimitedServer, DEFAULT_SOCKET_LIMITS, listen, type SocketLimits } from '../http-server.ts';
import type { Logger } from '../logger.ts';
import { limitWarning } from '../rate-limited-log.ts';
import { addressKey, HandshakeSlots } from '../transport/connection-limits.ts';
import { HandshakeError, runHandshake } from './handshake.ts';
import { MessageInbox } from '../transport/inbox.ts';
import type { MessageSocket } from '../transport/message-socket.ts';
import { CloseCode, Link, type KeepaliveTimes } from './link.ts';

export const MESH_PATH = '/p2p';
/** Connecting and the whole handshake, per endpoint dialled. */
const DIAL_TIMEOUT_MS = 5_000;
/** Inbound handshakes in progress; per remote host (an IPv6 /64), so one host cannot take them all. */
const PENDING_HANDSHAKES = { total: 64, perAddress: 8 };
const DUPLICATE_GRACE_MS = 2_000;
/** A stranger's link stays open this long, only so its request shows as live; then it is closed. */
export const PENDING_LINK_MS = 5 * 60_000;
/** Open links of strangers at once; more are closed at once (their requests are still recorded). */
export const MAX_PENDING_LINKS = 32;
// Noise adds a 16-byte tag; anything bigger than a full frame is refused by ws itself (close 1009).
const MAX_WS_PAYLOAD = MAX_FRAME_BYTES + 16;

export interface LinkManagerOptions {
  crypto: CryptoBackend;
  identity: Identity;
  log: Logger;
  advertisedEndpoints: () => string[];
  keepalive?: KeepaliveTimes;
  /** Timeouts and the socket cap of the mesh port (see http-server.ts). */
  socketLimits?: SocketLimits;
  /** The consent rule (DESIGN §3a), asked once per authenticated link; without it every link is trusted. */
  admit?: (link: Link) => Admission;
  /** The invite secret to prove when dialling this peer, if we imported an invite that had one. */
  inviteSecretFor?: (peerId: string) => Uint8Array | undefined;
}

/** trusted: a normal link; pending: a stranger's request, held apart; refused: closed at once. */
export type Admission = 'trusted' | 'pending' | 'refused';

export class DialError extends Error {
  constructor(
    readonly endpoint: string,
    message: string,
  ) {
    super(message);
    this.name = 'DialError';
  }
}

interface LinkManagerEvents {
  up: [link: Link];
  down: [peerId: string, reason: string];
  /** A stranger's link is held open as a pending request. */
  request: [link: Link];
}

/**
 * Owns every mesh connection: the listener, outgoing dials, and the rule that there is at most
 * one link per peer. When two links to one peer meet (simultaneous dials, or a reconnect racing a
 * half-open old link), both sides keep the link dialled by the lower peer ID; when one side dialled
 * both, the newer link wins, as the old one is probably dead.
 */
export class LinkManager extends EventEmitter<LinkManagerEvents> {
  private readonly links = new Map<string, Link>();
  /** Strangers' links: never in `links`, so sync, forwarding and publishing never see them. */
  private readonly pendingLinks = new Map<string, { link: Link; timer: NodeJS.Timeout }>();
  private server: WebSocketServer | null = null;
  private httpServer: Server | null = null;
  private readonly handshakeSlots = new HandshakeSlots(PENDING_HANDSHAKES);
  private closing = false;
  private readonly warnHandshakesFull;
  private readonly warnHandshakeRejected;
  private readonly warnPendingFull;

  constructor(private readonly options: LinkManagerOptions) {
    super();
    this.warnHandshakesFull = limitWarning(options.log, 'mesh', 'pending handshake limit reached: silent connections closed or newcomers refused');
    this.warnHandshakeRejected = limitWarning(options.log, 'mesh', 'inbound handshake rejected');
    this.warnPendingFull = limitWarning(options.log, 'mesh', `${MAX_PENDING_LINKS} strangers' links open: newer ones closed (their requests are kept)`);
  }

  get(peerId: string): Link | undefined {
    return this.links.get(peerId);
  }

  connected(): Link[] {
    return [...this.links.values()];
  }

  /** The open link of a pending request, if any. */
  pendingLink(peerId: string): Link | undefined {
    return this.pendingLinks.get(peerId)?.link;
  }

  /**
   * Closes a pending request's link: declined (notAccepted), or accepted (goingAway), after which
   * either side dials again and the new link is trusted from its first frame, with a full sync.
   */
  dropPending(peerId: string, reason: string, code: number = CloseCode.notAccepted): boolean {
    const link = this.takePending(peerId);
    link?.close(code, reason);
    return Boolean(link);
  }

  private takePending(peerId: string): Link | undefined {
    const entry = this.pendingLinks.get(peerId);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.pendingLinks.delete(peerId);
    return entry.link;
  }

  async listen(host: string, port: number): Promise<void> {
    // Our own HTTP server under the WebSocket server, for its timeouts and socket cap.
    const httpServer = createLimitedServer('mesh', this.options.socketLimits ?? DEFAULT_SOCKET_LIMITS, this.options.log, (_request, response) => {
      response.writeHead(426, { 'Content-Type': 'text/plain' }).end('Upgrade Required');
    });
    const server = new WebSocketServer({ server: httpServer, path: MESH_PATH, maxPayload: MAX_WS_PAYLOAD });
    this.httpServer = httpServer;
    this.server = server;
    server.on('connection', (ws, request) => this.accept(ws, request));
    await listen(httpServer, host, port);
    httpServer.on('error', (error) => this.options.log.error('mesh', 'listener error', { error: error.message }));
  }

  /**
   * Connects to `endpoint` and runs the handshake, within DIAL_TIMEOUT_MS in all; `signal` cancels
   * it (another endpoint of the peer answered first). Either way the socket is closed.
   */
  async dial(endpoint: string, expectedPeerId?: string, options: { signal?: AbortSignal } = {}): Promise<Link> {
    const url = new URL(MESH_PATH, endpoint).toString();
    const ws = new WebSocket(url, { maxPayload: MAX_WS_PAYLOAD, perMessageDeflate: false });
    const inbox = new MessageInbox(ws);
    ws.on('error', () => {}); // surfaced through the open/handshake promises below
    let secured = false;
    let stopped: string | null = null;
    const stop = (reason: string) => {
      if (secured || stopped) return;
      stopped = reason;
      ws.terminate();
    };
    const timer = setTimeout(() => stop(`no answer within ${DIAL_TIMEOUT_MS / 1000} s`), DIAL_TIMEOUT_MS);
    const signal = options.signal;
    const cancel = () => stop(`cancelled: ${signal?.reason instanceof Error ? signal.reason.message : 'no longer needed'}`);
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      try {
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('close', (code) => reject(new Error(`connection closed (${code})`)));
          ws.once('error', reject);
        });
      } catch (error) {
        ws.terminate();
        throw new DialError(endpoint, `Could not reach ${endpoint}: ${stopped ?? (error as Error).message}`);
      }
      try {
        const link = await this.secure(ws, inbox, { direction: 'outbound', endpoint, remoteAddress: null, expectedPeerId });
        secured = true;
        return link;
      } catch (error) {
        throw new DialError(endpoint, stopped ? `Could not reach ${endpoint}: ${stopped}` : (error as Error).message);
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const link of this.links.values()) link.close(CloseCode.goingAway, 'instance shutting down');
    this.links.clear();
    for (const peerId of [...this.pendingLinks.keys()]) this.takePending(peerId)?.close(CloseCode.goingAway, 'instance shutting down');
    const server = this.server;
    const httpServer = this.httpServer;
    if (!server || !httpServer) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    httpServer.closeAllConnections();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  }

  private async accept(ws: WebSocket, request: IncomingMessage): Promise<void> {
    const remoteAddress = request.socket.remoteAddress ?? null;
    const inbox = new MessageInbox(ws);
    ws.on('error', () => {});
    if (this.closing) {
      ws.terminate();
      return;
    }
    // A silent connection loses its slot to a newcomer when the pool is full (connection-limits.ts).
    const taken = this.handshakeSlots.take(addressKey(remoteAddress ?? undefined), () => ws.terminate());
    if (!taken || taken.evicted) this.warnHandshakesFull({ limit: PENDING_HANDSHAKES.total, per_address: PENDING_HANDSHAKES.perAddress });
    if (!taken) {
      ws.close(CloseCode.goingAway, 'busy');
      setTimeout(() => ws.terminate(), 1_000).unref();
      return;
    }
    ws.once('message', taken.slot.started);
    try {
      await this.secure(ws, inbox, { direction: 'inbound', endpoint: null, remoteAddress });
    } catch (error) {
      this.warnHandshakeRejected({ from: remoteAddress, reason: (error as Error).message });
    } finally {
      taken.slot.release();
    }
  }

  /**
   * Runs the mesh handshake inside a relay circuit (mesh/circuit-dialer.ts) and adopts the link
   * like any other: the same checks of the peer's identity, the same consent. An inbound one takes
   * a handshake slot counted against the relay, as a socket's is against its host.
   */
  async secureCircuit(
    socket: MessageSocket,
    inbox: MessageInbox,
    where: { direction: 'inbound' | 'outbound'; via: string; expectedPeerId?: string },
  ): Promise<Link> {
    if (where.direction === 'outbound') return this.secure(socket, inbox, { ...where, endpoint: null, remoteAddress: null });
    const taken = this.handshakeSlots.take(`relay:${where.via}`, () => socket.terminate());
    if (!taken) {
      socket.close(CloseCode.goingAway, 'busy');
      throw new HandshakeError('timeout', 'Too many handshakes in progress');
    }
    taken.slot.started();
    try {
      return await this.secure(socket, inbox, { ...where, endpoint: null, remoteAddress: null });
    } finally {
      taken.slot.release();
    }
  }

  /** Runs the Noise handshake on an open socket and adopts the link; on failure closes the socket with the reason. */
  private async secure(
    ws: MessageSocket,
    inbox: MessageInbox,
    where: { direction: 'inbound' | 'outbound'; endpoint: string | null; remoteAddress: string | null; via?: string; expectedPeerId?: string },
  ): Promise<Link> {
    try {
      const result = await runHandshake(ws, inbox, {
        crypto: this.options.crypto,
        identity: this.options.identity,
        initiator: where.direction === 'outbound',
        advertisedEndpoints: this.options.advertisedEndpoints(),
        expectedPeerId: where.expectedPeerId,
        inviteSecret: where.expectedPeerId ? this.options.inviteSecretFor?.(where.expectedPeerId) : undefined,
      });
      const link = new Link(ws, inbox, result.transport, {
        remote: result.remote,
        direction: where.direction,
        endpoint: where.endpoint,
        remoteAddress: where.remoteAddress,
        via: where.via ?? null,
        payload: result.payload,
        connectedAt: Date.now(),
      }, this.options.keepalive);
      this.adopt(link);
      return link;
    } catch (error) {
      const reason = error instanceof HandshakeError ? error.message : `Handshake failed: ${(error as Error).message}`;
      ws.close(CloseCode.handshakeFailed, reason.slice(0, 120));
      setTimeout(() => ws.terminate(), 1_000).unref();
      throw new HandshakeError(error instanceof HandshakeError ? error.failure : 'noise_failed', reason);
    }
  }

  private initiatorOf(link: Link): string {
    return link.info.direction === 'outbound' ? this.options.identity.peerId : link.peerId;
  }

  private adopt(link: Link): void {
    if (this.closing) {
      link.close(CloseCode.goingAway, 'instance shutting down');
      return;
    }
    const admission = this.options.admit?.(link) ?? 'trusted';
    if (admission === 'refused') link.close(CloseCode.notAccepted, 'request declined');
    else if (admission === 'pending') this.holdPending(link);
    else this.adoptTrusted(link);
  }

  private holdPending(link: Link): void {
    this.takePending(link.peerId)?.close(CloseCode.duplicate, 'replaced by a newer link');
    if (this.pendingLinks.size >= MAX_PENDING_LINKS) {
      link.close(CloseCode.notAccepted, 'too many pending requests; ask again later');
      this.warnPendingFull({ peer: link.peerId });
      return;
    }
    const timer = setTimeout(() => this.dropPending(link.peerId, 'request not answered'), PENDING_LINK_MS);
    timer.unref();
    this.pendingLinks.set(link.peerId, { link, timer });
    link.onClose(() => {
      if (this.pendingLinks.get(link.peerId)?.link === link) this.takePending(link.peerId);
    });
    this.options.log.info('mesh', 'link request', { peer: link.peerId, from: link.info.remoteAddress ?? undefined });
    this.emit('request', link);
  }

  private adoptTrusted(link: Link): void {
    const existing = this.links.get(link.peerId);
    if (existing) {
      // A direct link always replaces a relayed one (both sides see the same), else the rule above.
      const keepNew =
        Boolean(link.info.via) !== Boolean(existing.info.via)
          ? !link.info.via
          : this.initiatorOf(link) === this.initiatorOf(existing) || this.initiatorOf(link) < this.initiatorOf(existing);
      const loser = keepNew ? existing : link;
      this.links.delete(link.peerId);
      loser.close(CloseCode.duplicate, 'duplicate link');
      if (!keepNew) {
        this.links.set(link.peerId, existing);
        return;
      }
    }
    this.links.set(link.peerId, link);
    link.onClose((code, reason) => {
      if (this.links.get(link.peerId) !== link) return; // replaced by a newer link: the peer is still up
      this.links.delete(link.peerId);
      const reportDown = () => {
        if (this.links.has(link.peerId) || this.closing) return;
        this.options.log.info('mesh', 'link down', { peer: link.peerId, code, reason });
        this.emit('down', link.peerId, reason);
      };
      // The peer dropped this link as a duplicate: the one it kept is still finishing its handshake here.
      if (code === CloseCode.duplicate) setTimeout(reportDown, DUPLICATE_GRACE_MS).unref();
      else reportDown();
    });
    this.options.log.info('mesh', 'link up', {
      peer: link.peerId,
      direction: link.info.direction,
      endpoint: link.info.endpoint ?? link.info.remoteAddress ?? undefined,
      via: link.info.via ?? undefined,
    });
    this.emit('up', link);
  }
}
