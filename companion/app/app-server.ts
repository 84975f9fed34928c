import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  APP_LINK_PATH,
  APP_LINK_PROLOGUE_TEXT,
  AppCloseCode,
  type AppPushes,
  type CompanionHello,
  type PushTopic,
} from '../../protocol/app/contract.ts';
import { b58encode, b64urlEncode, fromUtf8, utf8 } from '../../protocol/bytes.ts';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import type { Identity } from '../../protocol/identity.ts';
import { MAX_FRAME_BYTES } from '../../protocol/noise/index.ts';
import { CANOPY_VERSION, PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { OriginPolicy } from '../api/origin.ts';
import type { Logger } from '../logger.ts';
import { limitWarning } from '../rate-limited-log.ts';
import { ServiceError } from '../service/errors.ts';
import type { Store } from '../store/index.ts';
import { MessageInbox } from '../transport/inbox.ts';
import { HandshakeError, noiseExchange } from '../transport/noise-exchange.ts';
import { CloseCode } from '../transport/secure-channel.ts';
import { endWithJsonError } from '../http-server.ts';
import { AddressRate } from '../transport/address-rate.ts';
import { addressKey, HandshakeSlots } from '../transport/connection-limits.ts';
import { APP_LINK_LIMITS } from './admission.ts';
import { lookupMethod, type AppServices, type MethodContext } from './methods.ts';
import { AppSession, type AppRequest } from './session.ts';

const MAX_LABEL = 100;
const LIMITS = APP_LINK_LIMITS;

/**
 * The web app's side door: `ws://host:port/api/v1/app` on the web port. Each browser runs Noise
 * XX with its own device key against the instance key, then calls methods and receives pushes
 * inside that session. Nothing else on this socket is accepted.
 */
export class AppServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES + 16 });
  private readonly sessions = new Set<AppSession>();
  private readonly pending = new HandshakeSlots({ total: LIMITS.pendingHandshakes, perAddress: LIMITS.pendingHandshakesPerAddress });
  private readonly newConnections = new AddressRate({
    perSecond: LIMITS.newConnectionsPerSecond,
    burst: LIMITS.newConnectionsBurst,
    maxAddresses: 10_000,
  });
  private readonly warnOrigin;
  private readonly warnHandshake;
  /** One rate-limited warning per cap, so one cap's flood does not hide another's. */
  private readonly capWarnings = new Map<string, ReturnType<typeof limitWarning>>();

  constructor(
    private readonly crypto: CryptoBackend,
    private readonly identity: Identity,
    private readonly store: Store,
    private readonly services: AppServices,
    private readonly log: Logger,
    private readonly origins: OriginPolicy,
  ) {
    this.warnOrigin = limitWarning(log, 'app', 'app link upgrade from a foreign origin refused');
    // Silent or garbage sockets can come by the hundred: one line a minute says so.
    this.warnHandshake = limitWarning(log, 'app', 'browser handshake rejected');
  }

  /** Takes over an HTTP upgrade for the app-link path; returns false for any other path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (new URL(request.url ?? '/', 'http://x').pathname !== APP_LINK_PATH) return false;
    // Only the companion's own web app may open the link: another site's page could otherwise
    // create the account or act as a logged-in browser (see api/origin.ts).
    const refusal = this.origins.refusal({ origin: request.headers.origin, host: request.headers.host });
    if (refusal) {
      this.warnOrigin({ reason: refusal });
      endWithJsonError(socket, 403, refusal);
      return true;
    }
    const address = addressKey(request.socket.remoteAddress);
    if (!this.newConnections.take(address)) {
      this.warnCap('new connections per address', address);
      endWithJsonError(socket, 429, 'Too many connections from your address; try again in a few seconds');
      return true;
    }
    // When full, a newcomer takes the slot of the oldest socket that has not sent handshake message 1.
    const taken = this.pending.take(address, () => socket.destroy());
    if (!taken) {
      this.warnCap('pending handshakes', address);
      endWithJsonError(socket, 503, 'Too many connections are being set up right now; try again shortly');
      return true;
    }
    if (taken.evicted) this.warnCap('pending handshakes (a silent one was dropped)', address);
    const { slot } = taken;
    // Released when the handshake ends either way, or when the socket dies before the upgrade completes.
    socket.once('close', slot.release);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      ws.once('message', slot.started);
      void this.accept(ws, address, slot.release);
    });
    return true;
  }

  /** Whether any logged-in browser would receive a push (so callers can skip building one). */
  get hasListeners(): boolean {
    for (const session of this.sessions) if (session.authenticated) return true;
    return false;
  }

  /** Sends a push to every logged-in browser. */
  broadcast<T extends PushTopic>(topic: T, data: AppPushes[T]): void {
    for (const session of this.sessions) if (session.authenticated) session.push(topic, data);
  }

  close(): void {
    for (const session of this.sessions) session.close(CloseCode.goingAway, 'instance shutting down');
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }

  private async accept(ws: WebSocket, address: string, releasePending: () => void): Promise<void> {
    const inbox = new MessageInbox(ws);
    ws.on('error', () => {});
    const hello: CompanionHello = {
      peer_id: this.identity.peerId,
      ed25519_key: b58encode(this.identity.ed25519.publicKey),
      binding: b64urlEncode(this.identity.binding),
      canopy_version: CANOPY_VERSION,
      protocol_version: PROTOCOL_VERSION,
    };
    try {
      const { transport, remoteStatic, verified: label } = await noiseExchange(ws, inbox, {
        crypto: this.crypto,
        initiator: false,
        staticKey: this.identity.x25519,
        prologue: utf8(APP_LINK_PROLOGUE_TEXT),
        payload: utf8(JSON.stringify(hello)),
        verify: (payload) => deviceLabel(payload),
        timeoutMs: LIMITS.handshakeTimeoutMs,
        firstMessageTimeoutMs: LIMITS.firstMessageTimeoutMs,
      });
      releasePending();
      const device = this.store.accounts.activeDevice(remoteStatic);
      const full = this.sessionCapReached(device !== undefined, address);
      if (full) {
        this.warnCap(full, address);
        ws.close(AppCloseCode.busy, 'Too many browsers are connected right now; try again shortly');
        setTimeout(() => ws.terminate(), 1_000).unref();
        return;
      }
      const session = new AppSession(ws, inbox, transport, remoteStatic, label, address, device);
      this.sessions.add(session);
      session.onClose(() => this.sessions.delete(session));
      session.onFrame((request) => void this.dispatch(session, request));
      if (device) this.store.accounts.touchDevice(device.id);
      else this.closeUnlessLoggedIn(session, LIMITS.loginWindowMs);
    } catch (error) {
      releasePending();
      const reason = error instanceof HandshakeError ? error.message : `Handshake failed: ${(error as Error).message}`;
      this.warnHandshake({ reason });
      ws.close(CloseCode.handshakeFailed, reason.slice(0, 120));
      setTimeout(() => ws.terminate(), 1_000).unref();
    }
  }

  private warnCap(limit: string, address: string): void {
    let warn = this.capWarnings.get(limit);
    if (!warn) this.capWarnings.set(limit, (warn = limitWarning(this.log, 'app', 'app link limit reached')));
    warn({ limit, address });
  }

  /** Which cap a new session would break: logged-in browsers, or those still to log in (in total, per address). */
  private sessionCapReached(loggedIn: boolean, address: string): string | null {
    let loggedInCount = 0;
    let waiting = 0;
    let waitingHere = 0;
    for (const session of this.sessions) {
      if (session.authenticated) loggedInCount++;
      else {
        waiting++;
        if (session.address === address) waitingHere++;
      }
    }
    if (loggedIn) return loggedInCount >= LIMITS.loggedInSessions ? 'logged-in browsers' : null;
    if (waiting >= LIMITS.unauthenticatedSessions) return 'browsers not logged in';
    if (waitingHere >= LIMITS.unauthenticatedPerAddress) return 'browsers not logged in per address';
    return null;
  }

  /**
   * A session that has not logged in when its window is over is closed (a login being checked
   * gets a moment more): it would otherwise hold a slot and get pings forever.
   */
  private closeUnlessLoggedIn(session: AppSession, afterMs: number): void {
    setTimeout(() => {
      if (session.authenticated || !session.isOpen) return;
      if (session.loggingIn) return this.closeUnlessLoggedIn(session, 1_000);
      session.close(AppCloseCode.loginWindowOver, 'not logged in in time; reconnect to try again');
    }, afterMs).unref();
  }

  private async dispatch(session: AppSession, request: AppRequest): Promise<void> {
    try {
      const spec = lookupMethod(request.method);
      if (!spec.open && !session.authenticated) throw new ServiceError(401, 'Not logged in');
      const params = spec.params.safeParse(request.params ?? {});
      if (!params.success) throw new ServiceError(400, params.error.issues[0]?.message ?? 'Invalid parameters');
      const result = await spec.handle(this.context(session), params.data);
      session.send({ t: 'res', id: request.id, ok: true, result });
    } catch (error) {
      if (!(error instanceof ServiceError)) {
        this.log.error('app', 'method failed', { method: request.method, error: (error as Error).stack });
      }
      const failure =
        error instanceof ServiceError
          ? { status: error.status, message: error.message, details: error.details }
          : { status: 500, message: 'Internal error' };
      session.send({ t: 'res', id: request.id, ok: false, error: failure });
    }
  }

  private context(session: AppSession): MethodContext {
    return {
      session,
      services: this.services,
      ownKey: b58encode(this.identity.ed25519.publicKey),
      authenticate: (device) => {
        session.device = device;
        this.log.info('app', 'browser logged in', { device: device.id, label: session.label });
      },
      closeDevice: (deviceId) => {
        for (const other of this.sessions) {
          if (other.device?.id !== deviceId) continue;
          other.push('session', { revoked: true });
          other.device = undefined;
          other.close(CloseCode.unauthorized, 'this browser was logged out');
        }
      },
      connectedDeviceIds: () => new Set([...this.sessions].flatMap((s) => (s.device ? [s.device.id] : []))),
      checkLoginCapacity: () => {
        if (session.authenticated || this.sessionCapReached(true, session.address) === null) return;
        this.warnCap('logged-in browsers', session.address);
        throw new ServiceError(503, 'Too many browsers are logged in right now; log one out or try again later', { retry_after_seconds: 30 });
      },
    };
  }
}

function deviceLabel(payload: Uint8Array): string {
  try {
    const parsed = JSON.parse(fromUtf8(payload)) as { label?: unknown };
    const label = typeof parsed.label === 'string' ? parsed.label.trim().slice(0, MAX_LABEL) : '';
    return label || 'Browser';
  } catch {
    throw new HandshakeError('bad_payload', 'Handshake payload invalid: expected JSON with a label');
  }
}
