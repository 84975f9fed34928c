import { decodeFrame, encodeFrame, type Frame, type HandshakePayload, type ReceivedFrame } from '../../protocol/frames.ts';
import type { PublicIdentity } from '../../protocol/identity.ts';
import type { SecureTransport } from '../../protocol/noise/index.ts';
import type { MessageInbox } from '../transport/inbox.ts';
import type { MessageSocket } from '../transport/message-socket.ts';
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
  /** The peer whose circuit carries this link (mesh/relay-circuits.ts); null for a direct link. */
  via: string | null;
  payload: HandshakePayload;
  connectedAt: number;
}

const meshCodec: FrameCodec<ReceivedLinkFrame, LinkFrame> = { encode: encodeFrame, decode: decodeFrame };

/** One authenticated, encrypted mesh connection to a peer. */
export class Link extends SecureChannel<ReceivedLinkFrame, LinkFrame> {
  readonly peerId: string;

  constructor(ws: MessageSocket, inbox: MessageInbox, transport: SecureTransport, readonly info: LinkInfo, keepalive?: KeepaliveTimes) {
    super(ws, inbox, transport, meshCodec, keepalive);
    this.peerId = info.remote.peerId;
  }
}
