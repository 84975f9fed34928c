import type { AppPushes, ClientFrame, PushTopic, ServerFrame } from '../../protocol/app/contract.ts';
import { decodeClientFrame, encodeAppFrame } from '../../protocol/app/frames.ts';
import type { WebSocket } from 'ws';
import type { SecureTransport } from '../../protocol/noise/index.ts';
import type { DeviceRecord } from '../store/index.ts';
import type { MessageInbox } from '../transport/inbox.ts';
import { SecureChannel, type FrameCodec } from '../transport/secure-channel.ts';

export type AppRequest = Extract<ClientFrame, { t: 'req' }>;
type Outgoing = Exclude<ServerFrame, { t: 'ping' } | { t: 'pong' }>;

const appCodec: FrameCodec<AppRequest, Outgoing> = {
  encode: encodeAppFrame,
  decode: (bytes) => decodeClientFrame(bytes) as ReturnType<FrameCodec<AppRequest, Outgoing>['decode']>,
};

/**
 * One browser's encrypted session. `deviceKey` is the static key its Noise handshake proved; the
 * session is authenticated while that key belongs to a logged-in (not revoked) device.
 */
export class AppSession extends SecureChannel<AppRequest, Outgoing> {
  device: DeviceRecord | undefined;
  /** A setup or login of this session is being checked: one at a time per session. */
  loggingIn = false;

  constructor(
    ws: WebSocket,
    inbox: MessageInbox,
    transport: SecureTransport,
    readonly deviceKey: Uint8Array,
    readonly label: string,
    /** The remote IP address, for per-address limits. */
    readonly address: string,
    device: DeviceRecord | undefined,
  ) {
    super(ws, inbox, transport, appCodec);
    this.device = device;
  }

  get authenticated(): boolean {
    return this.device !== undefined;
  }

  push<T extends PushTopic>(topic: T, data: AppPushes[T]): void {
    this.send({ t: 'push', topic, data });
  }
}
