import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { APP_LINK_PATH, APP_LINK_PROLOGUE_TEXT, type CompanionHello, type PushTopic, type AppPushes } from '../../protocol/app/contract.ts';
import { b58encode, b64urlEncode, fromUtf8, utf8 } from '../../protocol/bytes.ts';
import type { CryptoBackend } from '../../protocol/crypto/types.ts';
import type { Identity } from '../../protocol/identity.ts';
import { MAX_FRAME_BYTES } from '../../protocol/noise/index.ts';
import { CANOPY_VERSION, PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { Logger } from '../logger.ts';
import { ServiceError } from '../service/errors.ts';
import type { Store } from '../store/index.ts';
import { WsInbox } from '../transport/inbox.ts';
import { HandshakeError, noiseExchange } from '../transport/noise-exchange.ts';
import { CloseCode } from '../transport/secure-channel.ts';
import { lookupMethod, type AppServices, type MethodContext } from './methods.ts';
import { AppSession, type AppRequest } from './session.ts';

const MAX_SESSIONS = 64;
const MAX_LABEL = 100;

/**
 * The web app's side door: `ws://host:port/api/v1/app` on the web port. Each browser runs Noise
 * XX with its own device key against the instance key, then calls methods and receives pushes
 * inside that session. Nothing else on this socket is accepted.
 */
export class AppServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES + 16 });
  private readonly sessions = new Set<AppSession>();

  constructor(
    private readonly crypto: CryptoBackend,
    private readonly identity: Identity,
    private readonly store: Store,
    private readonly services: AppServices,
    private readonly log: Logger,
  ) {}

  /** Takes over an HTTP upgrade for the app-link path; returns false for any other path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (new URL(request.url ?? '/', 'http://x').pathname !== APP_LINK_PATH) return false;
    if (this.sessions.size >= MAX_SESSIONS) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
      return true;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => void this.accept(ws));
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

  private async accept(ws: WebSocket): Promise<void> {
    const inbox = new WsInbox(ws);
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
      });
      const device = this.store.accounts.activeDevice(remoteStatic);
      const session = new AppSession(ws, inbox, transport, remoteStatic, label, device);
      this.sessions.add(session);
      session.onClose(() => this.sessions.delete(session));
      session.onFrame((request) => void this.dispatch(session, request));
      if (device) this.store.accounts.touchDevice(device.id);
    } catch (error) {
      const reason = error instanceof HandshakeError ? error.message : `Handshake failed: ${(error as Error).message}`;
      this.log.warn('app', 'browser handshake rejected', { reason });
      ws.close(CloseCode.handshakeFailed, reason.slice(0, 120));
      setTimeout(() => ws.terminate(), 1_000).unref();
    }
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
