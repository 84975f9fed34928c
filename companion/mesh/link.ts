import type { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, type Frame, type HandshakePayload, type ReceivedFrame } from '../../protocol/frames.ts';
import type { PublicIdentity } from '../../protocol/identity.ts';
import type { SecureTransport } from '../../protocol/noise/index.ts';
import type { WsInbox } from '../transport/inbox.ts';
import { SecureChannel, type FrameCodec, type KeepaliveTimes } from '../transport/secure-channel.ts';

export { CloseCode, DEFAULT_KEEPALIVE, type KeepaliveTimes } from '../transport/secure-channel.ts';

export type LinkFrame = Exclude<Frame, { t: 'ping' } | { t: 'pong' }>;
/** A frame as received: `events` and `sync` carry their per-part validation results. */
export type ReceivedLinkFrame = Exclude<ReceivedFrame, { t: 'ping' } | { t: 'pong' }>;

export interface LinkInfo {
  remote: PublicIdentity;
  direction: 'inbound' | 'outbound';
  /** The endpoint we dialled (outbound links only). */
  endpoint: string | null;
  remoteAddress: string | null;
  payload: HandshakePayload;
  connectedAt: number;
}

const meshCodec: FrameCodec<ReceivedLinkFrame, LinkFrame> = { encode: encodeFrame, decode: decodeFrame };

/** One authenticated, encrypted mesh connection to a peer. */
export class Link extends SecureChannel<ReceivedLinkFrame, LinkFrame> {
  readonly peerId: string;

  constructor(ws: WebSocket, inbox: WsInbox, transport: SecureTransport, readonly info: LinkInfo, keepalive?: KeepaliveTimes) {
    super(ws, inbox, transport, meshCodec, keepalive);
    this.peerId = info.remote.peerId;
  }
}
